//! Property tests: bounded reordering is undone without loss; random drop/duplicate/reorder
//! reports exactly the dropped sequence numbers; arbitrary operations never panic and stay
//! within the memory bounds.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use weir_jitter::{Config, JitterBuffer, NackConfig, Output, Playout};

const MS: Duration = Duration::from_millis(1);

/// Arrival order for packets `0..n` where packet i may move at most `d` places: sort by
/// `i + jitter[i]` with `jitter[i] <= d`.
fn arrival_order(n: usize, d: usize, jitter: &[usize]) -> Vec<usize> {
    let mut v: Vec<(usize, usize)> = (0..n)
        .map(|i| (i + jitter[i % jitter.len()] % (d + 1), i))
        .collect();
    v.sort();
    v.into_iter().map(|(_, i)| i).collect()
}

struct Run {
    delivered: Vec<u16>,
    lost: Vec<u16>,
}

fn run(start: u16, pushes: &[(usize, bool)], latency: Duration) -> Run {
    let mut cfg = Config::reorder(90_000, latency);
    cfg.nack = Some(NackConfig::default());
    let mut jb: JitterBuffer<u16> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    let mut delivered = Vec::new();
    let mut lost = Vec::new();
    let mut collect = |jb: &mut JitterBuffer<u16>| {
        while let Some(o) = jb.pop() {
            match o {
                Output::Packet(p) => {
                    assert_eq!(p.payload, p.seq, "payload travels with its packet");
                    delivered.push(p.seq)
                }
                Output::Lost { first, count } => {
                    lost.extend((0..count).map(|k| first.wrapping_add(k)))
                }
                Output::Late(p) => panic!("late packet {} delivered under LatePolicy::Drop", p.seq),
            }
        }
        let _ = jb.poll_nack();
    };
    for (k, &(i, _dup)) in pushes.iter().enumerate() {
        let now = t0 + MS * k as u32;
        let seq = start.wrapping_add(i as u16);
        jb.push(seq, (i as u32).wrapping_mul(3000), now, seq);
        jb.handle_timeout(now);
        collect(&mut jb);
    }
    jb.handle_timeout(t0 + Duration::from_secs(10));
    collect(&mut jb);
    assert!(jb.is_empty());
    Run { delivered, lost }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn bounded_permutation_comes_out_in_order_without_loss(
        start in prop_oneof![any::<u16>(), 65000u16..=65535],
        n in 1usize..300,
        d in 0usize..16,
        jitter in prop::collection::vec(0usize..16, 1..64),
    ) {
        let order = arrival_order(n, d, &jitter);
        let pushes: Vec<(usize, bool)> = order.into_iter().map(|i| (i, false)).collect();
        let r = run(start, &pushes, MS * (2 * d as u32 + 3));
        let expected: Vec<u16> = (0..n).map(|i| start.wrapping_add(i as u16)).collect();
        prop_assert_eq!(r.delivered, expected);
        prop_assert!(r.lost.is_empty(), "lost {:?}", r.lost);
    }

    #[test]
    fn drop_dup_reorder_reports_exactly_the_dropped(
        start in any::<u16>(),
        n in 2usize..300,
        d in 0usize..8,
        jitter in prop::collection::vec(0usize..8, 1..64),
        drops in prop::collection::vec(any::<bool>(), 1..64),
        dups in prop::collection::vec(0usize..12, 1..64),
    ) {
        let order = arrival_order(n, d, &jitter);
        let dropped = |i: usize| drops[i % drops.len()] && (i * 7) % 3 == 0;
        let mut pushes: Vec<(usize, bool)> = order.iter().filter(|&&i| !dropped(i)).map(|&i| (i, false)).collect();
        // Every 5th packet is sent twice, the copy up to d+3 places later.
        for k in (0..pushes.len()).rev() {
            let r = dups[k % dups.len()];
            if r % 5 == 0 {
                let at = (k + 1 + r % (d + 4)).min(pushes.len());
                let copy = (pushes[k].0, true);
                pushes.insert(at, copy);
            }
        }
        prop_assume!(!pushes.is_empty());
        let r = run(start, &pushes, MS * (2 * d as u32 + 12));
        let kept: BTreeSet<usize> = (0..n).filter(|&i| !dropped(i)).collect();
        let (lo, hi) = (*kept.first().unwrap(), *kept.last().unwrap());
        let expected_delivered: Vec<u16> = kept.iter().map(|&i| start.wrapping_add(i as u16)).collect();
        let expected_lost: Vec<u16> = (lo..=hi).filter(|&i| dropped(i)).map(|i| start.wrapping_add(i as u16)).collect();
        prop_assert_eq!(r.delivered, expected_delivered);
        prop_assert_eq!(r.lost, expected_lost);
    }

    #[test]
    fn arbitrary_operations_never_panic_and_stay_bounded(
        max_packets in 1usize..24,
        max_window in 1u16..200,
        mode in 0u8..3,
        prebuffer in 0u64..50,
        ops in prop::collection::vec((0u8..4, any::<u16>(), any::<u32>(), 0u64..40), 0..300),
    ) {
        let mut cfg = Config::reorder(8000, MS * 20);
        cfg.max_packets = max_packets;
        cfg.max_window = max_window;
        cfg.prebuffer = MS * prebuffer as u32;
        cfg.nack = Some(NackConfig { initial_delay: MS, retry_interval: MS * 5, max_retries: 2 });
        cfg.playout = match mode {
            0 => Playout::Reorder { latency: MS * 20 },
            1 => Playout::Fixed { delay: MS * 30 },
            _ => Playout::Adaptive { min: MS * 5, max: MS * 100, jitter_factor: 3 },
        };
        let mut jb: JitterBuffer<u8> = JitterBuffer::new(cfg).unwrap();
        let mut now = Instant::now();
        let mut last_seq = 0u16;
        for (op, a, b, dt) in ops {
            now += MS * dt as u32;
            match op {
                0 => { jb.push(a, b, now, 0); last_seq = a; }
                // Mostly-sequential pushes with small steps.
                1 => { last_seq = last_seq.wrapping_add(a % 4); jb.push(last_seq, b, now, 1); }
                2 => jb.handle_timeout(now),
                _ => { while jb.pop().is_some() {} }
            }
            prop_assert!(jb.len() <= max_packets);
            if let Some(t) = jb.poll_timeout() {
                let _ = t;
            }
            if let Some(n) = jb.poll_nack() {
                prop_assert!(n.len() <= usize::from(max_window) + 1);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Fixed playout: packets sent every 20 ms whose network delay varies by less than the
    /// playout delay all come out, in order, never before `send time + min delay + playout
    /// delay`, and evenly paced.
    #[test]
    fn fixed_playout_absorbs_jitter_below_the_delay(
        start in any::<u16>(),
        ts0 in any::<u32>(),
        delays in prop::collection::vec(0u64..40, 2..120),
    ) {
        let mut cfg = Config::reorder(8000, Duration::ZERO);
        cfg.playout = Playout::Fixed { delay: MS * 50 };
        let mut jb: JitterBuffer<usize> = JitterBuffer::new(cfg).unwrap();
        let t0 = Instant::now();
        let n = delays.len();
        // (arrival ms, index), in arrival order.
        let mut arrivals: Vec<(u64, usize)> = delays.iter().enumerate().map(|(i, d)| (i as u64 * 20 + d, i)).collect();
        arrivals.sort();
        let min_delay = *delays.iter().min().unwrap();
        let end = n as u64 * 20 + 200;
        let mut next = 0;
        let mut released: Vec<(usize, u64)> = Vec::new();
        for ms in 0..=end {
            let now = t0 + Duration::from_millis(ms);
            while next < arrivals.len() && arrivals[next].0 == ms {
                let i = arrivals[next].1;
                jb.push(start.wrapping_add(i as u16), ts0.wrapping_add(i as u32 * 160), now, i);
                next += 1;
            }
            jb.handle_timeout(now);
            while let Some(o) = jb.pop() {
                match o {
                    Output::Packet(p) => released.push((p.payload, ms)),
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
        prop_assert_eq!(released.iter().map(|r| r.0).collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
        // The schedule is send + (fastest transit seen so far) + delay: it only moves
        // earlier as faster packets arrive, so the first arrival's transit bounds it.
        let first_transit = delays[arrivals[0].1];
        for &(i, ms) in &released {
            let latest = i as u64 * 20 + first_transit + 50;
            prop_assert!(ms <= latest, "packet {} out at {} > {}", i, ms, latest);
            prop_assert!(ms >= i as u64 * 20 + delays[i], "packet {} out before it arrived", i);
        }
        // Once the fastest-transit packet has been seen, pacing is exact.
        let fastest = delays.iter().position(|&d| d == min_delay).unwrap();
        for &(i, ms) in released.iter().filter(|r| r.0 >= fastest && r.1 > arrivals.iter().find(|a| a.1 == fastest).unwrap().0) {
            prop_assert_eq!(ms, i as u64 * 20 + min_delay + 50, "packet {}", i);
        }
    }
}
