//! Arbitrary PTS sequences through `DtsGenerator`: never panics, memory bounded, DTS
//! strictly increasing and not after the PTS except where the generator says so.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use weir_media::reorder::{DtsEvent, DtsGenerator, MAX_REORDER_DEPTH};
use weir_media::{Timebase, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let depth = u32::from(head & 0x1f);
    let dur_ms = u64::from(head >> 5) * 20;
    let mut gen = DtsGenerator::new(depth, Duration::from_millis(dur_ms));
    let mut last: Option<i64> = None;
    let mut walk = 0i64;
    for chunk in rest.chunks_exact(9) {
        let op = chunk[0];
        let raw = i64::from_le_bytes(chunk[1..9].try_into().unwrap());
        let pts = match op % 4 {
            // Absolute garbage.
            0 => raw,
            // A reordering walk around a rising clock.
            1 | 2 => {
                walk = walk.saturating_add((raw % 4096).abs());
                walk.saturating_sub(i64::from(op >> 4) * 1024)
            }
            _ => {
                gen.reset();
                last = None;
                walk
            }
        };
        let tb = if op & 0x08 != 0 {
            Timebase::MILLIS
        } else {
            Timebase::MPEG
        };
        let (dts, event) = gen.step(Timestamp::new(pts, tb));
        assert_eq!(dts.timebase(), tb);
        assert!(gen.depth() <= MAX_REORDER_DEPTH);
        let d = dts.ticks();
        match event {
            DtsEvent::RepeatedPts => assert_eq!(d, last.unwrap_or(pts)),
            DtsEvent::Jump { .. } | DtsEvent::TimebaseChanged => {
                assert!(d <= pts);
                last = Some(d);
            }
            DtsEvent::DepthRaised { pts_behind_dts, .. } | DtsEvent::Clamped { pts_behind_dts } => {
                assert_eq!(pts_behind_dts, d > pts);
                if let Some(l) = last {
                    assert!(d > l || d == i64::MAX);
                }
                last = Some(d);
            }
            _ => {
                assert!(d <= pts);
                if let Some(l) = last {
                    assert!(d > l);
                }
                last = Some(d);
            }
        }
    }
});
