//! Fuzz the sans-IO RTCP session: an input byte stream drives a sequence of operations
//! (received RTP, received RTCP bytes, sent RTP, time passing, reports, BYE). Nothing may
//! panic, and every report it emits must parse as a valid compound.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_rtp_rtcp::stats::{ReportInterval, RtcpSession, SessionConfig};
use weir_rtp_rtcp::{Compound, NtpTime, RtcpLimits, RtpHeader, RtpPacket};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut cfg = SessionConfig::new(0x1234, "fuzz@weir", 8000, 64_000);
    if data.first().is_some_and(|b| b & 1 == 1) {
        cfg.interval = ReportInterval::Fixed(Duration::from_millis(500));
    }
    cfg.max_sources = 8;
    cfg.min_sequential = u16::from(data.get(1).copied().unwrap_or(0) % 3);
    let mut s = RtcpSession::new(cfg, t0);
    let mut now = t0;
    let mut i = 2;
    while let Some(&op) = data.get(i) {
        i += 1;
        let arg = |k: usize| data.get(i + k).copied().unwrap_or(0);
        match op % 6 {
            0 => {
                // Received RTP from one of a few SSRCs.
                let seq = u16::from_be_bytes([arg(0), arg(1)]);
                let ts = u32::from_be_bytes([arg(2), arg(3), arg(0), arg(1)]);
                let ssrc = u32::from(arg(4) % 12);
                if let Ok(p) = RtpPacket::parse(RtpHeader::new(0, seq, ts, ssrc).to_packet(&[]).unwrap()) {
                    let _ = s.handle_rtp(&p, now);
                }
                i += 5;
            }
            1 => {
                // Received RTCP: a length byte then that many bytes.
                let n = usize::from(arg(0));
                let end = (i + 1 + n).min(data.len());
                let bytes = Bytes::copy_from_slice(data.get(i + 1..end).unwrap_or(&[]));
                let _ = s.handle_rtcp(bytes, now);
                i = end;
            }
            2 => {
                s.on_rtp_sent(u32::from_be_bytes([arg(0), arg(1), arg(2), arg(3)]), usize::from(arg(4)), now);
                i += 5;
            }
            3 => {
                now += Duration::from_millis(u64::from(arg(0)) * 40);
                i += 1;
            }
            4 => {
                let due = s.poll_timeout();
                if due > now && due - now < Duration::from_secs(3600) {
                    now = due;
                }
                s.handle_timeout(now, NtpTime(u64::from(arg(0)) << 40));
                if let Some(report) = s.poll_transmit() {
                    Compound::parse(report, &RtcpLimits::default()).expect("own report parses");
                }
                i += 1;
            }
            _ => {
                let bye = s.goodbye(now, NtpTime(1 << 40), Some("fuzz")).expect("bye builds");
                Compound::parse(bye, &RtcpLimits::default()).expect("own BYE parses");
            }
        }
    }
});
