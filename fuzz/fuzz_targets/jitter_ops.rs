#![no_main]
//! Arbitrary operation sequences against the jitter buffer: never panics, stays within
//! `max_packets`, and its output is consistent (every pushed-and-accepted packet is output
//! at most once; outputs come in sequence order within a resync epoch).
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use weir_jitter::{Config, JitterBuffer, NackConfig, Output, Playout, PushOutcome};

fuzz_target!(|data: &[u8]| {
    let Some((&head, ops)) = data.split_first() else { return };
    let mut cfg = Config::reorder(8000 + u32::from(head) * 1000, Duration::from_millis(u64::from(head & 0x1F)));
    cfg.max_packets = 1 + usize::from(head & 0x0F);
    cfg.max_window = 1 + u16::from(head) * 3;
    cfg.prebuffer = Duration::from_millis(u64::from(head >> 5) * 10);
    cfg.nack = (head & 0x20 != 0).then(NackConfig::default);
    cfg.playout = match head % 3 {
        0 => Playout::Reorder { latency: Duration::from_millis(u64::from(head & 0x3F)) },
        1 => Playout::Fixed { delay: Duration::from_millis(u64::from(head)) },
        _ => Playout::Adaptive {
            min: Duration::from_millis(5),
            max: Duration::from_millis(200),
            jitter_factor: 3,
        },
    };
    let mut jb: JitterBuffer<u32> = JitterBuffer::new(cfg).unwrap();
    let mut now = Instant::now();
    let mut accepted = 0u64;
    let mut out_packets = 0u64;
    let mut id = 0u32;
    for op in ops.chunks(7) {
        let [kind, s0, s1, t0, t1, t2, dt] = match *op {
            [a, b, c, d, e, f, g] => [a, b, c, d, e, f, g],
            _ => return,
        };
        now += Duration::from_micros(u64::from(dt) * 500);
        match kind % 4 {
            0 | 1 => {
                id += 1;
                let r = jb.push(u16::from_be_bytes([s0, s1]), u32::from_be_bytes([t0, t1, t2, 0]), now, id);
                if matches!(r, PushOutcome::Accepted) {
                    accepted += 1;
                } else if matches!(r, PushOutcome::Resynced) {
                    accepted += 2;
                }
            }
            2 => jb.handle_timeout(now),
            _ => {
                while let Some(o) = jb.pop() {
                    if let Output::Packet(_) = o {
                        out_packets += 1;
                    }
                }
            }
        }
        assert!(jb.len() <= cfg.max_packets);
        let _ = jb.poll_timeout();
        let _ = jb.poll_nack();
        assert!(out_packets <= accepted);
    }
});
