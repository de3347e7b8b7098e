use super::*;
use crate::rtcp::{Compound, RtcpLimits, RtcpPacket};
use crate::rtp::RtpPacket;

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

#[test]
fn probation_then_counting_and_wrap() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(1, 8000, 2, t0);
    assert_eq!(s.on_rtp(65534, 0, t0), SeqStatus::Probation);
    assert_eq!(s.on_rtp(65535, 160, at(t0, 20)), SeqStatus::Valid);
    for (i, seq) in [0u16, 1, 3].into_iter().enumerate() {
        assert_eq!(
            s.on_rtp(seq, 320 + 160 * i as u32, at(t0, 40 + 20 * i as u64)),
            SeqStatus::Valid
        );
    }
    assert_eq!(s.extended_highest_seq(), 65536 + 3);
    assert_eq!(s.expected(), 5);
    assert_eq!(s.received(), 4);
    let b = s.report_block(at(t0, 100));
    assert_eq!(b.cumulative_lost, 1);
    assert_eq!(b.fraction_lost, 51);
    // Next interval: nothing new.
    let b = s.report_block(at(t0, 200));
    assert_eq!(b.fraction_lost, 0);
}

#[test]
fn big_jump_restarts_after_two() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(1, 8000, 1, t0);
    assert_eq!(s.on_rtp(100, 0, t0), SeqStatus::Valid);
    assert_eq!(s.on_rtp(20_000, 0, t0), SeqStatus::BadJump);
    assert_eq!(s.on_rtp(20_001, 0, t0), SeqStatus::Restarted);
    assert_eq!(s.extended_highest_seq(), 20_001);
    assert_eq!(s.received(), 1);
}

#[test]
fn jitter_of_constant_delay_is_zero_and_of_alternating_delay_converges() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(1, 8000, 1, t0);
    for i in 0..100u32 {
        s.on_rtp(i as u16, i * 160, at(t0, u64::from(i) * 20));
    }
    assert_eq!(s.jitter(), 0);
    let mut s = ReceiverStats::new(1, 8000, 1, t0);
    for i in 0..2000u32 {
        // Arrival alternates 0 / 5 ms late: |D| = 40 ticks each packet.
        let late = if i % 2 == 0 { 0 } else { 5 };
        s.on_rtp(i as u16, i * 160, at(t0, u64::from(i) * 20 + late));
    }
    assert!((38..=40).contains(&s.jitter()), "{}", s.jitter());
}

#[test]
fn lsr_dlsr_and_rtt() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(7, 90_000, 1, t0);
    s.on_rtp(1, 0, t0);
    let ntp = NtpTime::new(3_900_000_000, 0x4000_0000);
    let sr = SenderReport {
        ssrc: 7,
        ntp_time: ntp,
        rtp_time: 90_000,
        ..Default::default()
    };
    s.on_sender_report(&sr, t0);
    let b = s.report_block(at(t0, 500));
    assert_eq!(b.last_sr, ntp.middle32());
    assert_eq!(b.delay_since_last_sr, 32_768);
    // The sender gets the block 100 ms of network later: RTT = 2 × 50 ms.
    let back = ntp.add_duration(Duration::from_millis(600));
    let rtt = round_trip_time(&b, back).unwrap();
    assert!(
        rtt.abs_diff(Duration::from_millis(100)) < Duration::from_millis(1),
        "{rtt:?}"
    );
    // NTP↔RTP mapping: one second of 90 kHz later.
    let t = s.rtp_to_ntp(180_000).unwrap();
    assert_eq!(t.seconds(), 3_900_000_001);
}

#[test]
fn sender_mapping_advances_with_clock() {
    let t0 = Instant::now();
    let mut s = SenderStats::new(9, 48_000);
    s.on_rtp_sent(1000, 100, t0);
    s.on_rtp_sent(1960, 100, at(t0, 20));
    let sr = s.sender_report(at(t0, 520), NtpTime(0), vec![]);
    assert_eq!(sr.rtp_time, 1960 + 24_000);
    assert_eq!(sr.packet_count, 2);
    assert_eq!(sr.octet_count, 200);
}

#[test]
fn rfc3550_interval_bounds_and_sr_when_sending() {
    let t0 = Instant::now();
    let cfg = SessionConfig::new(1, "me", 8000, 64_000);
    let mut sess = RtcpSession::new(cfg, t0);
    // Initial: min 2.5 s, randomised [0.5,1.5] / 1.21828.
    let first = sess.poll_timeout() - t0;
    assert!(
        first >= Duration::from_secs_f64(1.25 / 1.2183)
            && first <= Duration::from_secs_f64(3.75 / 1.2182),
        "{first:?}"
    );
    sess.on_rtp_sent(0, 160, t0);
    let mut now = t0;
    let mut reports = 0;
    for _ in 0..100 {
        now = sess.poll_timeout();
        sess.on_rtp_sent(0, 160, now);
        sess.handle_timeout(now, NtpTime(1 << 40));
        if let Some(r) = sess.poll_transmit() {
            reports += 1;
            let c = Compound::parse(r, &RtcpLimits::default()).unwrap();
            assert!(matches!(c.packets[0], RtcpPacket::SenderReport(_)));
        }
    }
    assert!(reports >= 50);
    // Average interval is about 5 s (min_interval) after the first.
    let avg = (now - t0).as_secs_f64() / f64::from(reports);
    assert!((3.0..=7.0).contains(&avg), "{avg}");
}

#[test]
fn two_sessions_exchange_reports_and_measure_rtt() {
    let t0 = Instant::now();
    let mut cfg_a = SessionConfig::new(0xA, "a@weir", 8000, 64_000);
    cfg_a.interval = ReportInterval::Fixed(Duration::from_secs(1));
    let mut cfg_b = SessionConfig::new(0xB, "b@weir", 8000, 64_000);
    cfg_b.interval = ReportInterval::Fixed(Duration::from_secs(1));
    cfg_b.min_sequential = 1;
    let mut a = RtcpSession::new(cfg_a, t0);
    // B's schedule is offset from A's so that each report leaves after the other's arrived.
    let mut b = RtcpSession::new(cfg_b, t0 + Duration::from_millis(500));
    // Wallclock: NTP time = t0 + elapsed; one-way network delay 10 ms.
    let wall0 = NtpTime::new(3_900_000_000, 0);
    let wall = |t: Instant| wall0.add_duration(t - t0);
    let delay = Duration::from_millis(10);
    let mut rtt = None;
    for i in 0..250u32 {
        let now = t0 + Duration::from_millis(20 * u64::from(i));
        if i % 10 != 3 {
            // A sends; every 10th packet (i % 10 == 3) is lost in the network.
            let pkt = crate::RtpHeader::new(0, i as u16, i * 160, 0xA)
                .to_packet(&[0; 160])
                .unwrap();
            a.on_rtp_sent(i * 160, 160, now);
            b.handle_rtp(&RtpPacket::parse(pkt).unwrap(), now + delay);
        } else {
            a.on_rtp_sent(i * 160, 160, now);
        }
        for dir in 0..2 {
            let (from, to) = if dir == 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            from.handle_timeout(now, wall(now));
            if let Some(bytes) = from.poll_transmit() {
                let c = to.handle_rtcp(bytes, now + delay).unwrap();
                for p in &c.packets {
                    if let RtcpPacket::ReceiverReport(rr) = p {
                        for blk in &rr.reports {
                            assert_eq!(blk.ssrc, 0xA);
                            rtt = round_trip_time(blk, wall(now + delay)).or(rtt);
                        }
                    }
                }
            }
        }
    }
    // A was sending: its reports are SRs; B only receives: RRs with LSR echoing A's SR.
    let src = b.source(0xA).unwrap();
    assert!(src.last_sender_report().is_some());
    assert_eq!(src.cname().map(|c| &c[..]), Some(&b"a@weir"[..]));
    assert_eq!(src.extended_highest_seq(), 249);
    assert_eq!(src.cumulative_lost(), 25);
    let rtt = rtt.expect("an RR with LSR reached A");
    assert!(
        rtt.abs_diff(2 * delay) < Duration::from_millis(2),
        "{rtt:?}"
    );
    assert_eq!(a.sender().packet_count(), 250);
}

#[test]
fn more_than_31_sources_rotate_across_reports() {
    let t0 = Instant::now();
    let mut cfg = SessionConfig::new(1, "x", 8000, 64_000);
    cfg.min_sequential = 1;
    let mut sess = RtcpSession::new(cfg, t0);
    for ssrc in 100..140u32 {
        let pkt = crate::RtpHeader::new(0, 1, 0, ssrc).to_packet(&[]).unwrap();
        sess.handle_rtp(&RtpPacket::parse(pkt).unwrap(), t0);
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2 {
        let c = sess.report(t0, NtpTime(0)).unwrap();
        let RtcpPacket::ReceiverReport(rr) = &c.packets[0] else {
            panic!()
        };
        assert_eq!(rr.reports.len(), 31);
        seen.extend(rr.reports.iter().map(|b| b.ssrc));
    }
    assert_eq!(seen.len(), 40);
}

#[test]
fn extreme_rfc3550_configurations_do_not_panic() {
    let t0 = Instant::now();
    for (bw, min) in [
        (0, Duration::MAX),
        (u32::MAX, Duration::ZERO),
        (1, Duration::from_nanos(1)),
    ] {
        let mut cfg = SessionConfig::new(1, "x", 8000, bw);
        cfg.interval = ReportInterval::Rfc3550 {
            session_bandwidth: bw,
            min_interval: min,
        };
        let mut sess = RtcpSession::new(cfg, t0);
        let pkt = crate::RtpHeader::new(0, 1, 0, 9).to_packet(&[]).unwrap();
        sess.handle_rtp(&RtpPacket::parse(pkt).unwrap(), t0);
        sess.on_rtp_sent(0, 10, t0);
        for _ in 0..5 {
            let due = sess.poll_timeout();
            sess.handle_timeout(due, NtpTime(0));
            let _ = sess.poll_transmit();
        }
    }
}

#[test]
fn source_limit_and_huge_fixed_interval() {
    let t0 = Instant::now();
    let mut cfg = SessionConfig::new(1, "x", 8000, 64_000);
    cfg.max_sources = 2;
    cfg.interval = ReportInterval::Fixed(Duration::MAX);
    let mut sess = RtcpSession::new(cfg, t0);
    for ssrc in 0..5u32 {
        let pkt = crate::RtpHeader::new(0, 1, 0, ssrc).to_packet(&[]).unwrap();
        sess.handle_rtp(&RtpPacket::parse(pkt).unwrap(), t0);
    }
    assert_eq!(sess.sources().count(), 2);
    assert_eq!(sess.ignored_sources(), 3);
    assert!(sess.poll_timeout() > t0);
}
