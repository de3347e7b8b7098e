//! The receiver statistics against a direct model of RFC 3550's definitions (A.3, A.8):
//! random loss, reordering (within MAX_MISORDER), duplicates, 16-bit wraps and jittery
//! arrival times.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use weir_rtp_rtcp::stats::{ReceiverStats, SeqStatus};

/// One received packet: its extended sequence number and its arrival delay (ms) beyond the
/// nominal 20 ms spacing.
#[derive(Clone, Debug)]
struct Arrival {
    ext_seq: i64,
    extra_ms: u64,
}

/// Random arrivals whose sequence numbers stay within the forward/backward windows of
/// RFC 3550 A.1 (forward < 3000, backward < 100), with interval boundaries.
fn scenario() -> impl Strategy<Value = (u16, Vec<Arrival>, Vec<usize>)> {
    let step = prop_oneof![
        6 => 1i64..=1,
        2 => 2i64..=20,   // loss
        1 => -40i64..=0,  // reorder / duplicate
        1 => 21i64..=500, // burst loss
    ];
    (
        any::<u16>(),
        prop::collection::vec((step, 0u64..30), 1..400),
        prop::collection::vec(0usize..400, 0..6),
    )
        .prop_map(|(start, steps, cuts)| {
            let mut max = i64::from(start);
            let mut cur = max;
            let mut arrivals = vec![Arrival {
                ext_seq: cur,
                extra_ms: 0,
            }];
            for (s, extra_ms) in steps {
                cur = (cur + s).clamp(max - 99, max + 2999);
                max = max.max(cur);
                arrivals.push(Arrival {
                    ext_seq: cur,
                    extra_ms,
                });
            }
            (start, arrivals, cuts)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn receiver_stats_match_model((start, arrivals, mut cuts) in scenario()) {
        cuts.sort_unstable();
        let t0 = Instant::now();
        let clock = 8000u32;
        let mut stats = ReceiverStats::new(0x77, clock, 1, t0);
        let base = i64::from(start);

        // Model state.
        let mut max_ext = base;
        let mut received = 0i64;
        let mut expected_prior = 0i64;
        let mut received_prior = 0i64;
        let mut jitter = 0f64;
        let mut prev_transit: Option<i64> = None;

        let mut cut_iter = cuts.iter().peekable();
        for (i, a) in arrivals.iter().enumerate() {
            // Packet i arrives at i*20 ms + extra (monotonic in i), carrying ts = 160·seq.
            let arrival_ms = i as u64 * 20 + a.extra_ms;
            let rtp_ts = (a.ext_seq * 160).rem_euclid(1 << 32) as u32;
            let seq = a.ext_seq.rem_euclid(65536) as u16;
            let st = stats.on_rtp(seq, rtp_ts, t0 + Duration::from_millis(arrival_ms));
            prop_assert_eq!(st, SeqStatus::Valid);
            received += 1;
            max_ext = max_ext.max(a.ext_seq);
            // A.8 in real arithmetic, arrival in timestamp units (8 per ms at 8 kHz).
            let transit = (arrival_ms as i64 - a_first_extra(&arrivals)) * 8 - a.ext_seq * 160;
            if let Some(p) = prev_transit {
                let d = (transit - p).abs() as f64;
                jitter += (d - jitter) / 16.0;
            }
            prev_transit = Some(transit);

            while cut_iter.peek().is_some_and(|c| **c == i) {
                cut_iter.next();
                let block = stats.report_block(t0 + Duration::from_millis(arrival_ms));
                let expected = max_ext - base + 1;
                let expected_interval = expected - expected_prior;
                let received_interval = received - received_prior;
                expected_prior = expected;
                received_prior = received;
                let lost_interval = expected_interval - received_interval;
                let fraction = if expected_interval == 0 || lost_interval <= 0 {
                    0
                } else {
                    (lost_interval * 256 / expected_interval).min(255)
                };
                prop_assert_eq!(i64::from(block.fraction_lost), fraction);
                prop_assert_eq!(i64::from(block.cumulative_lost), expected - received);
                prop_assert_eq!(i64::from(block.extended_highest_seq), max_ext);
            }
        }
        prop_assert_eq!(stats.received() as i64, received);
        prop_assert_eq!(stats.cumulative_lost(), (max_ext - base + 1) - received);
        prop_assert_eq!(i64::from(stats.extended_highest_seq()), max_ext);
        // The integer A.8 form tracks the real-valued one to within a couple of units.
        let ours = f64::from(stats.jitter());
        prop_assert!((ours - jitter).abs() <= 2.0, "ours {} model {}", ours, jitter);
    }
}

/// The arrival clock's origin: the first packet's arrival (0 ms + its extra, which is 0).
fn a_first_extra(arrivals: &[Arrival]) -> i64 {
    arrivals.first().map_or(0, |a| a.extra_ms as i64)
}
