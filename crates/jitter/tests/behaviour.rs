//! Scenario tests: reordering, gaps, NACK timing, wrap, resync, capacity, playout modes,
//! pre-buffer, RFC 3550 jitter.

use std::time::{Duration, Instant};

use weir_jitter::{
    nack_pairs, nack_seqs, Config, JitterBuffer, JitterEstimator, NackConfig, Output, Playout,
    PushOutcome,
};

const MS: Duration = Duration::from_millis(1);

fn drain<T>(jb: &mut JitterBuffer<T>) -> Vec<Output<T>> {
    let mut v = Vec::new();
    while let Some(o) = jb.pop() {
        v.push(o);
    }
    v
}

fn seqs<T>(out: &[Output<T>]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            Output::Packet(p) => p.seq.to_string(),
            Output::Lost { first, count } => format!("L{first}x{count}"),
            Output::Late(p) => format!("late{}", p.seq),
        })
        .collect()
}

fn reorder(latency_ms: u64) -> JitterBuffer<u32> {
    JitterBuffer::new(Config::reorder(90_000, Duration::from_millis(latency_ms))).unwrap()
}

#[test]
fn in_order_flows_through_after_startup() {
    let mut jb = reorder(20);
    let t0 = Instant::now();
    jb.push(100, 0, t0, 0);
    assert!(jb.pop().is_none(), "start-up waits one latency");
    assert_eq!(jb.poll_timeout(), Some(t0 + 20 * MS));
    jb.handle_timeout(t0 + 20 * MS);
    assert_eq!(seqs(&drain(&mut jb)), ["100"]);
    // From now on contiguous packets leave at once.
    jb.push(101, 3000, t0 + 21 * MS, 1);
    assert_eq!(seqs(&drain(&mut jb)), ["101"]);
    assert!(jb.is_empty());
}

#[test]
fn gap_waits_latency_then_reports_loss() {
    let mut jb = reorder(30);
    let t0 = Instant::now();
    jb.push(1, 0, t0, 0);
    jb.handle_timeout(t0 + 30 * MS);
    assert_eq!(seqs(&drain(&mut jb)), ["1"]);
    let t1 = t0 + 40 * MS;
    jb.push(4, 9000, t1, 0);
    jb.push(5, 12000, t1, 0);
    assert!(jb.pop().is_none());
    assert_eq!(jb.poll_timeout(), Some(t1 + 30 * MS));
    jb.handle_timeout(t1 + 29 * MS);
    jb.push(2, 3000, t1 + 29 * MS, 0); // in time
    assert_eq!(seqs(&drain(&mut jb)), ["2"]);
    jb.handle_timeout(t1 + 30 * MS);
    assert_eq!(seqs(&drain(&mut jb)), ["L3x1", "4", "5"]);
    // 3 arriving now is late.
    assert_eq!(jb.push(3, 6000, t1 + 31 * MS, 0), PushOutcome::Late);
    let s = jb.stats();
    assert_eq!((s.lost, s.late, s.released), (1, 1, 4));
}

#[test]
fn duplicates_are_dropped() {
    let mut jb = reorder(10);
    let t0 = Instant::now();
    assert_eq!(jb.push(7, 0, t0, 0), PushOutcome::Accepted);
    assert_eq!(jb.push(9, 0, t0, 0), PushOutcome::Accepted);
    assert_eq!(jb.push(9, 0, t0, 1), PushOutcome::Duplicate);
    assert_eq!(jb.push(7, 0, t0, 1), PushOutcome::Duplicate);
    jb.handle_timeout(t0 + 10 * MS);
    assert_eq!(seqs(&drain(&mut jb)), ["7", "L8x1", "9"]);
    assert_eq!(jb.push(7, 0, t0, 1), PushOutcome::Late);
    assert_eq!(jb.stats().duplicates, 2);
}

#[test]
fn sequence_wrap() {
    let mut jb = reorder(10);
    let t0 = Instant::now();
    for s in [65533u16, 65535, 65534, 1, 0, 2] {
        jb.push(s, u32::from(s), t0, 0);
    }
    jb.handle_timeout(t0 + 10 * MS);
    assert_eq!(
        seqs(&drain(&mut jb)),
        ["65533", "65534", "65535", "0", "1", "2"]
    );
}

#[test]
fn packets_before_the_first_are_accepted_until_output_starts() {
    let mut jb = reorder(10);
    let t0 = Instant::now();
    jb.push(50, 0, t0, 0);
    jb.push(47, 0, t0 + MS, 0);
    jb.push(49, 0, t0 + 2 * MS, 0);
    jb.handle_timeout(t0 + 10 * MS);
    assert_eq!(seqs(&drain(&mut jb)), ["47"]);
    jb.handle_timeout(t0 + 12 * MS);
    assert_eq!(seqs(&drain(&mut jb)), ["L48x1", "49", "50"]);
}

#[test]
fn nack_generation_retries_and_recovery() {
    let mut cfg = Config::reorder(90_000, Duration::from_millis(500));
    cfg.nack = Some(NackConfig {
        initial_delay: 5 * MS,
        retry_interval: 20 * MS,
        max_retries: 2,
    });
    let mut jb: JitterBuffer<()> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    jb.push(10, 0, t0, ());
    jb.push(14, 0, t0, ());
    jb.handle_timeout(t0 + 4 * MS);
    assert_eq!(jb.poll_nack(), None);
    assert_eq!(jb.poll_timeout(), Some(t0 + 5 * MS));
    jb.handle_timeout(t0 + 5 * MS);
    assert_eq!(jb.poll_nack(), Some(vec![11, 12, 13]));
    assert_eq!(nack_pairs(&[11, 12, 13]), vec![(11, 0b11)]);
    jb.push(12, 0, t0 + 10 * MS, ()); // recovered
    jb.handle_timeout(t0 + 24 * MS);
    assert_eq!(jb.poll_nack(), None);
    jb.handle_timeout(t0 + 25 * MS);
    assert_eq!(jb.poll_nack(), Some(vec![11, 13]));
    jb.handle_timeout(t0 + 100 * MS);
    assert_eq!(jb.poll_nack(), None, "max_retries reached");
    let s = jb.stats();
    assert_eq!((s.nacks, s.recovered), (5, 1));
}

#[test]
fn nack_pair_encoding() {
    assert_eq!(nack_pairs(&[]), vec![]);
    assert_eq!(nack_pairs(&[5]), vec![(5, 0)]);
    assert_eq!(nack_pairs(&[5, 21, 22]), vec![(5, 1 << 15), (22, 0)]);
    assert_eq!(
        nack_pairs(&[65530, 65535, 3]),
        vec![(65530, (1 << 4) | (1 << 8))]
    );
    let seqs: Vec<u16> = (100..140).filter(|s| s % 3 != 0).collect();
    let back: Vec<u16> = nack_pairs(&seqs)
        .into_iter()
        .flat_map(|(p, b)| nack_seqs(p, b))
        .collect();
    assert_eq!(back, seqs);
}

#[test]
fn hostile_jump_needs_confirmation_then_resyncs() {
    let mut jb = reorder(10);
    let t0 = Instant::now();
    jb.push(1, 0, t0, 1);
    jb.push(3, 0, t0, 3);
    // A lone far packet is held on probation and discarded when the stream continues.
    assert_eq!(jb.push(30000, 0, t0, 99), PushOutcome::Probation);
    assert_eq!(jb.push(4, 0, t0, 4), PushOutcome::Accepted);
    assert_eq!(jb.stats().discarded, 1);
    // Two consecutive far packets: resync. Old content is flushed in order.
    assert_eq!(jb.push(40000, 0, t0, 5), PushOutcome::Probation);
    assert_eq!(jb.push(40001, 0, t0, 6), PushOutcome::Resynced);
    let out = drain(&mut jb);
    assert_eq!(seqs(&out), ["1", "L2x1", "3", "4"]);
    jb.handle_timeout(t0 + 10 * MS);
    assert_eq!(seqs(&drain(&mut jb)), ["40000", "40001"]);
    jb.push(40002, 0, t0 + 11 * MS, 7);
    assert_eq!(seqs(&drain(&mut jb)), ["40002"]);
    assert_eq!(jb.stats().resyncs, 1);
    assert!(jb.len() <= 3);
}

#[test]
fn capacity_drops_oldest_and_reports_it() {
    let mut cfg = Config::reorder(90_000, Duration::from_secs(10));
    cfg.max_packets = 3;
    let mut jb: JitterBuffer<u16> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    for s in [0u16, 2, 3, 4, 5] {
        jb.push(s, 0, t0, s);
        assert!(jb.len() <= 3);
    }
    // 0 and 2 had to go; they (and the gap 1) are reported lost at once.
    assert_eq!(seqs(&drain(&mut jb)), ["L0x3", "3", "4", "5"]);
    assert_eq!(jb.stats().overflow, 2);
}

#[test]
fn capacity_drops_are_timed_from_given_instants_and_never_nacked() {
    // Far from the real clock on purpose: the buffer must only use the instants it is given.
    let far = Instant::now() + Duration::from_secs(86_400);
    let mut cfg = Config::reorder(90_000, Duration::from_secs(10));
    cfg.max_packets = 3;
    cfg.nack = Some(NackConfig {
        initial_delay: 10 * MS,
        retry_interval: 50 * MS,
        max_retries: 3,
    });
    let mut jb: JitterBuffer<u16> = JitterBuffer::new(cfg).unwrap();
    for s in [0u16, 2, 3, 4, 5] {
        jb.push(s, 0, far, s);
    }
    assert_eq!(jb.stats().overflow, 2);
    // 0 and 2 were dropped (not lost in the network): only the real gap, 1, is requested.
    jb.handle_timeout(far + 20 * MS);
    assert_eq!(jb.poll_nack(), Some(vec![1]));
    assert!(jb.poll_timeout().is_some_and(|t| t >= far));
    jb.handle_timeout(far + 80 * MS);
    assert_eq!(jb.poll_nack(), Some(vec![1]));
    assert_eq!(seqs(&drain(&mut jb)), ["L0x3", "3", "4", "5"]);
}

#[test]
fn fixed_playout_paces_by_timestamp() {
    let mut cfg = Config::reorder(8000, Duration::ZERO);
    cfg.playout = Playout::Fixed { delay: 40 * MS };
    let mut jb: JitterBuffer<()> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    // 20 ms packets (160 ticks at 8 kHz) sent at 0, 20, 40… ms, arriving with 0-30 ms of
    // network jitter: at 0, 45, 45, 90, 90 ms.
    let arrivals = [0u64, 45, 45, 90, 90];
    let mut released = Vec::new();
    for step in 0..=200u64 {
        let now = t0 + Duration::from_millis(step);
        for (i, _) in arrivals.iter().enumerate().filter(|(_, &a)| a == step) {
            jb.push(i as u16, i as u32 * 160, now, ());
        }
        jb.handle_timeout(now);
        while let Some(Output::Packet(p)) = jb.pop() {
            released.push((p.seq, step));
        }
    }
    // Packet i leaves 40 ms after its send time (packet 0 had the minimum transit).
    assert_eq!(
        released,
        vec![(0, 40), (1, 60), (2, 80), (3, 100), (4, 120)]
    );
    // A burst (all at once, as from a non-paced sender) re-bases on the fastest transit:
    // the later timestamps say the earlier packets are already late, so they leave at once.
    let mut jb: JitterBuffer<()> = JitterBuffer::new(cfg).unwrap();
    for i in 0..5u16 {
        jb.push(i, u32::from(i) * 160, t0, ());
    }
    jb.handle_timeout(t0);
    assert_eq!(
        drain(&mut jb).len(),
        3,
        "0, 1 and 2 are due at once; 3 and 4 at 20 and 40 ms"
    );
}

#[test]
fn adaptive_delay_tracks_jitter_within_bounds() {
    let mut cfg = Config::reorder(8000, Duration::ZERO);
    cfg.playout = Playout::Adaptive {
        min: 10 * MS,
        max: 200 * MS,
        jitter_factor: 3,
    };
    let mut jb: JitterBuffer<()> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    assert_eq!(jb.playout_delay(), 10 * MS);
    // Arrivals alternate 0 / 30 ms late against a 20 ms cadence.
    for i in 0..200u32 {
        let late = if i % 2 == 0 { 0 } else { 30 };
        jb.push(
            i as u16,
            i * 160,
            t0 + Duration::from_millis(u64::from(i) * 20 + late),
            (),
        );
        jb.handle_timeout(t0 + Duration::from_millis(u64::from(i) * 20 + late));
        while jb.pop().is_some() {}
    }
    // |D| is 30 ms = 240 ticks every packet: the estimate converges to 240.
    assert!((230..=240).contains(&jb.jitter()), "jitter {}", jb.jitter());
    let d = jb.playout_delay();
    assert!(d >= 85 * MS && d <= 91 * MS, "delay {d:?}");
}

#[test]
fn rfc3550_jitter_estimator() {
    let mut j = JitterEstimator::new(1000);
    let t0 = Instant::now();
    // Constant transit: zero jitter.
    for i in 0..10u64 {
        j.update(t0 + Duration::from_millis(i * 10 + 5), (i * 10) as i64);
    }
    assert_eq!(j.jitter(), 0);
    // One packet 16 ms late: J = 16/16 = 1 tick, then decays by 15/16 per packet.
    j.update(t0 + Duration::from_millis(100 + 5 + 16), 100);
    assert_eq!(j.jitter(), 1);
}

#[test]
fn prebuffer_starts_after_enough_media() {
    let mut cfg = Config::reorder(1000, Duration::ZERO);
    cfg.prebuffer = Duration::from_millis(100);
    let mut jb: JitterBuffer<()> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    for i in 0..10u16 {
        jb.push(i, u32::from(i) * 10, t0, ());
        jb.handle_timeout(t0);
        assert!(jb.pop().is_none(), "only {} ms buffered", i * 10);
    }
    jb.push(10, 100, t0, ());
    assert_eq!(drain(&mut jb).len(), 11);
    // Or by time alone.
    let mut jb: JitterBuffer<()> = JitterBuffer::new(cfg).unwrap();
    jb.push(0, 0, t0, ());
    assert_eq!(jb.poll_timeout(), Some(t0 + Duration::from_millis(100)));
    jb.handle_timeout(t0 + Duration::from_millis(100));
    assert_eq!(drain(&mut jb).len(), 1);
}

#[test]
fn config_validation() {
    let mut c = Config::reorder(0, MS);
    assert!(JitterBuffer::<()>::new(c).is_err());
    c.clock_rate = 90_000;
    c.max_packets = 0;
    assert!(JitterBuffer::<()>::new(c).is_err());
    c.max_packets = 1;
    c.max_window = 40_000;
    assert!(JitterBuffer::<()>::new(c).is_err());
    c.max_window = 100;
    c.playout = Playout::Adaptive {
        min: 2 * MS,
        max: MS,
        jitter_factor: 1,
    };
    assert!(JitterBuffer::<()>::new(c).is_err());
}

/// The README example.
#[test]
fn readme_example() {
    let mut jb = JitterBuffer::new(Config::reorder(90_000, Duration::from_millis(50))).unwrap();
    let t0 = Instant::now();
    jb.push(7, 0, t0, "a");
    jb.push(9, 6000, t0, "c");
    jb.handle_timeout(t0 + Duration::from_millis(50));
    assert!(matches!(jb.pop(), Some(Output::Packet(p)) if p.payload == "a"));
    assert!(matches!(
        jb.pop(),
        Some(Output::Lost { first: 8, count: 1 })
    ));
    assert!(matches!(jb.pop(), Some(Output::Packet(p)) if p.payload == "c"));
}

#[test]
fn late_policy_deliver_hands_late_packets_out() {
    let mut cfg = Config::reorder(90_000, 10 * MS);
    cfg.late = weir_jitter::LatePolicy::Deliver;
    let mut jb: JitterBuffer<u16> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    jb.push(1, 0, t0, 1);
    jb.push(3, 0, t0, 3);
    jb.handle_timeout(t0 + 10 * MS);
    assert_eq!(seqs(&drain(&mut jb)), ["1", "L2x1", "3"]);
    assert_eq!(jb.push(2, 0, t0 + 11 * MS, 2), PushOutcome::Late);
    match jb.pop() {
        Some(Output::Late(p)) => assert_eq!((p.seq, p.payload), (2, 2)),
        other => panic!("expected a late packet, got {other:?}"),
    }
    assert!(jb.pop().is_none());
}

#[test]
fn buffered_duration_and_retry_interval() {
    let mut cfg = Config::reorder(1000, Duration::from_secs(1));
    cfg.nack = Some(NackConfig {
        initial_delay: Duration::ZERO,
        retry_interval: 100 * MS,
        max_retries: 5,
    });
    let mut jb: JitterBuffer<()> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    jb.push(0, 0, t0, ());
    jb.push(5, 250, t0, ());
    assert_eq!(jb.buffered_duration(), 250 * MS);
    jb.handle_timeout(t0);
    assert_eq!(jb.poll_nack(), Some(vec![1, 2, 3, 4]));
    jb.set_nack_retry_interval(20 * MS);
    jb.handle_timeout(t0 + 100 * MS);
    assert_eq!(jb.poll_nack(), Some(vec![1, 2, 3, 4]));
    jb.handle_timeout(t0 + 120 * MS);
    assert_eq!(
        jb.poll_nack(),
        Some(vec![1, 2, 3, 4]),
        "new interval in effect"
    );
}
