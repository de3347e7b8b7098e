//! Arbitrary timestamp sequences through the repair layer: never panics, output monotonic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_media::repair::{RepairConfig, TimestampRepair};
use weir_media::{Frame, Timebase, Timestamp, TrackId};

fuzz_target!(|data: &[u8]| {
    let wrap = data.first().map(|b| b % 4).unwrap_or(0);
    let config = match wrap {
        0 => RepairConfig::default(),
        1 => RepairConfig::rtmp(),
        2 => RepairConfig::mpeg(),
        _ => RepairConfig::default().with_rebase_to_zero(true),
    };
    let mut fix = TimestampRepair::new(config);
    let mut last: [Option<i64>; 4] = [None; 4];
    for chunk in data.get(1..).unwrap_or(&[]).chunks_exact(17) {
        let track = usize::from(chunk[0] % 4);
        let tb = match chunk[0] >> 6 {
            0 => Timebase::MILLIS,
            1 => Timebase::MPEG,
            2 => Timebase::hz(48_000).unwrap(),
            _ => Timebase::NANOS,
        };
        let dts = i64::from_le_bytes(chunk[1..9].try_into().unwrap());
        let pts = i64::from_le_bytes(chunk[9..17].try_into().unwrap());
        let mut f = Frame::new(
            TrackId(track as u32),
            Timestamp::new(pts, tb),
            Timestamp::new(dts, tb),
            Bytes::new(),
        );
        let _ = fix.repair(&mut f);
        assert!(f.pts.ticks() >= f.dts.ticks());
        if let Some(l) = last[track] {
            // Saturation at the top of the range is the only exception to strict growth.
            assert!(f.dts.rescale(Timebase::NANOS).ticks() >= l);
        }
        last[track] = Some(f.dts.rescale(Timebase::NANOS).ticks());
    }
});
