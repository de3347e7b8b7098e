//! `RtcpSession` under random operations: never panics, every report it emits is a valid
//! compound whose first packet matches whether we sent RTP, and blocks describe only sources
//! that sent RTP.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use weir_rtp_rtcp::stats::{ReportInterval, RtcpSession, SessionConfig};
use weir_rtp_rtcp::{Compound, NtpTime, RtcpLimits, RtcpPacket, RtpHeader, RtpPacket};

#[derive(Clone, Debug)]
enum Op {
    Rtp { ssrc: u32, seq: u16, ts: u32 },
    Rtcp(Vec<u8>),
    Sent { ts: u32, len: u16 },
    Wait(u16),
    Timeout,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u32..6, any::<u16>(), any::<u32>()).prop_map(|(ssrc, seq, ts)| Op::Rtp { ssrc, seq, ts }),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Op::Rtcp),
        2 => (any::<u32>(), any::<u16>()).prop_map(|(ts, len)| Op::Sent { ts, len }),
        2 => any::<u16>().prop_map(Op::Wait),
        2 => Just(Op::Timeout),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_operations_keep_reports_valid(fixed in any::<bool>(), ops in prop::collection::vec(op(), 0..200)) {
        let t0 = Instant::now();
        let mut cfg = SessionConfig::new(0x77, "prop@weir", 8000, 64_000);
        cfg.max_sources = 4;
        if fixed {
            cfg.interval = ReportInterval::Fixed(Duration::from_millis(300));
        }
        let mut s = RtcpSession::new(cfg, t0);
        let mut now = t0;
        let mut rtp_sources = HashSet::new();
        let mut sent_at: Option<Instant> = None;
        for op in ops {
            match op {
                Op::Rtp { ssrc, seq, ts } => {
                    let p = RtpPacket::parse(RtpHeader::new(0, seq, ts, ssrc).to_packet(&[1, 2]).unwrap()).unwrap();
                    if s.handle_rtp(&p, now).is_some() {
                        rtp_sources.insert(ssrc);
                    }
                }
                Op::Rtcp(bytes) => {
                    let _ = s.handle_rtcp(Bytes::from(bytes), now);
                }
                Op::Sent { ts, len } => {
                    s.on_rtp_sent(ts, usize::from(len), now);
                    sent_at = Some(now);
                }
                Op::Wait(ms) => now += Duration::from_millis(u64::from(ms)),
                Op::Timeout => {
                    now = now.max(s.poll_timeout());
                    s.handle_timeout(now, NtpTime::new(3_900_000_000, 0));
                    if let Some(report) = s.poll_transmit() {
                        let c = Compound::parse(report, &RtcpLimits::default()).unwrap();
                        prop_assert!(matches!(c.packets.last(), Some(RtcpPacket::SourceDescription(_))));
                        let blocks = match &c.packets[0] {
                            RtcpPacket::SenderReport(sr) => {
                                prop_assert!(sent_at.is_some());
                                prop_assert_eq!(sr.ssrc, 0x77);
                                &sr.reports
                            }
                            RtcpPacket::ReceiverReport(rr) => &rr.reports,
                            other => return Err(TestCaseError::fail(format!("first packet {other:?}"))),
                        };
                        for b in blocks {
                            prop_assert!(rtp_sources.contains(&b.ssrc));
                        }
                    }
                }
            }
        }
        prop_assert!(s.sources().count() <= 4);
    }
}
