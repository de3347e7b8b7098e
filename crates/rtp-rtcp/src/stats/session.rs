//! The per-session RTCP state: the report schedule (RFC 3550 6.2, 6.3, A.7) over the
//! reception statistics of every remote source and our sender counters.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::{ReceiverStats, SenderStats, SeqStatus};
use crate::error::Result;
use crate::ntp::NtpTime;
use crate::rtcp::{
    Compound, Goodbye, ReceiverReport, ReportBlock, RtcpLimits, RtcpPacket, SourceDescription,
};
use crate::rtp::RtpPacket;

/// How often an [`RtcpSession`] reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReportInterval {
    /// Every fixed period (no randomisation).
    Fixed(Duration),
    /// RFC 3550 6.3.1 / A.7: RTCP gets 5 % of `session_bandwidth` (bits/s), a quarter of
    /// it for senders; minimum `min_interval` (5 s in RFC 3550, half of it before the first
    /// report), randomised over [0.5, 1.5] and divided by e − 3/2, with timer
    /// reconsideration.
    Rfc3550 {
        /// Session bandwidth in bits per second.
        session_bandwidth: u32,
        /// Minimum interval (RFC 3550 recommends 5 s).
        min_interval: Duration,
    },
}

/// Configuration of an [`RtcpSession`].
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Our SSRC.
    pub ssrc: u32,
    /// Our CNAME (sent in every compound).
    pub cname: String,
    /// Clock rate of the media (ours and the remote sources').
    pub clock_rate: u32,
    /// Reporting interval.
    pub interval: ReportInterval,
    /// Most remote sources tracked; packets from further sources are ignored.
    pub max_sources: usize,
    /// Packets in sequence before a source is counted (RFC 3550 A.1: 2).
    pub min_sequential: u16,
    /// A source silent this long is forgotten (RFC 3550 6.3.5 uses 5 intervals).
    pub source_timeout: Duration,
    /// Seed for the interval randomisation.
    pub seed: u64,
    /// Limits for parsing incoming compounds.
    pub limits: RtcpLimits,
}

impl SessionConfig {
    /// A configuration with RFC 3550 defaults (5 s minimum interval, 64 sources, probation
    /// of 2 packets, 30 s source timeout).
    pub fn new(
        ssrc: u32,
        cname: impl Into<String>,
        clock_rate: u32,
        session_bandwidth: u32,
    ) -> Self {
        SessionConfig {
            ssrc,
            cname: cname.into(),
            clock_rate,
            interval: ReportInterval::Rfc3550 {
                session_bandwidth,
                min_interval: Duration::from_secs(5),
            },
            max_sources: 64,
            min_sequential: 2,
            source_timeout: Duration::from_secs(30),
            seed: u64::from(ssrc) | 1,
            limits: RtcpLimits::default(),
        }
    }
}

/// Per-session RTCP state: reception statistics of every remote source, our sender
/// counters, and the report schedule. Sans-IO: feed packets and time in, poll reports out.
///
/// ```
/// use std::time::{Duration, Instant};
/// use weir_rtp_rtcp::stats::{RtcpSession, SessionConfig, ReportInterval};
/// use weir_rtp_rtcp::{Compound, NtpTime, RtcpLimits, RtcpPacket, RtpHeader, RtpPacket};
/// let t0 = Instant::now();
/// let mut cfg = SessionConfig::new(0x5151, "rx@weir", 8000, 64_000);
/// cfg.interval = ReportInterval::Fixed(Duration::from_secs(1));
/// cfg.min_sequential = 1;
/// let mut session = RtcpSession::new(cfg, t0);
/// for seq in 0..50u16 {
///     let pkt = RtpHeader::new(0, seq, u32::from(seq) * 160, 0xabcd).to_packet(&[0; 160])?;
///     session.handle_rtp(&RtpPacket::parse(pkt)?, t0 + Duration::from_millis(20 * u64::from(seq)));
/// }
/// let due = session.poll_timeout();
/// session.handle_timeout(due, NtpTime::new(3_900_000_000, 0));
/// let report = session.poll_transmit().expect("a report is due");
/// let compound = Compound::parse(report, &RtcpLimits::default())?;
/// let RtcpPacket::ReceiverReport(rr) = &compound.packets[0] else { panic!() };
/// assert_eq!(rr.reports[0].extended_highest_seq, 49);
/// # Ok::<(), weir_rtp_rtcp::Error>(())
/// ```
#[derive(Debug)]
pub struct RtcpSession {
    config: SessionConfig,
    /// Keyed by SSRC; ordered, so iteration and report contents never depend on a hasher.
    sources: BTreeMap<u32, ReceiverStats>,
    sender: SenderStats,
    /// Time of the last report sent (tp in RFC 3550 A.7).
    last_report: Instant,
    /// Time the next report is due (tn).
    next_report: Instant,
    initial: bool,
    /// Average compound size in bytes, UDP/IP headers included (avg_rtcp_size).
    avg_rtcp_size: f64,
    /// Whether we sent RTP during the current / previous report interval.
    sent_this_interval: bool,
    sent_prev_interval: bool,
    rng: u64,
    pending: Option<Bytes>,
    ignored_sources: u64,
    report_cursor: usize,
}

/// UDP + IPv4 header bytes counted in the average RTCP packet size (RFC 3550 6.2).
const LOWER_LAYER_OVERHEAD: f64 = 28.0;

impl RtcpSession {
    /// A new session at time `now`; the first report is scheduled per the interval rules.
    pub fn new(config: SessionConfig, now: Instant) -> RtcpSession {
        let sender = SenderStats::new(config.ssrc, config.clock_rate);
        let cname_len = config.cname.len().min(255);
        let mut s = RtcpSession {
            rng: config.seed | 1,
            config,
            sources: BTreeMap::new(),
            sender,
            last_report: now,
            next_report: now,
            initial: true,
            // An RR without blocks plus an SDES CNAME, as RFC 3550 A.7 suggests as start value.
            avg_rtcp_size: 8.0 + (4.0 + 2.0 + cname_len as f64 + 4.0) + LOWER_LAYER_OVERHEAD,
            sent_this_interval: false,
            sent_prev_interval: false,
            pending: None,
            ignored_sources: 0,
            report_cursor: 0,
        };
        s.next_report = later(now, s.interval());
        s
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Reception statistics of a remote source.
    pub fn source(&self, ssrc: u32) -> Option<&ReceiverStats> {
        self.sources.get(&ssrc)
    }

    /// All tracked remote members: sources of RTP and senders of RTCP, in ascending SSRC
    /// order.
    pub fn sources(&self) -> impl Iterator<Item = &ReceiverStats> {
        self.sources.values()
    }

    /// Our sender counters.
    pub fn sender(&self) -> &SenderStats {
        &self.sender
    }

    /// Mutable sender counters (e.g. to [`SenderStats::set_anchor`]).
    pub fn sender_mut(&mut self) -> &mut SenderStats {
        &mut self.sender
    }

    /// Packets ignored because [`SessionConfig::max_sources`] was reached.
    pub fn ignored_sources(&self) -> u64 {
        self.ignored_sources
    }

    fn source_entry(&mut self, ssrc: u32, now: Instant) -> Option<&mut ReceiverStats> {
        if !self.sources.contains_key(&ssrc) {
            if self.sources.len() >= self.config.max_sources {
                self.ignored_sources += 1;
                tracing::debug!(ssrc, "RTCP session: source limit reached, ignoring");
                return None;
            }
            let stats = ReceiverStats::new(
                ssrc,
                self.config.clock_rate,
                self.config.min_sequential,
                now,
            );
            self.sources.insert(ssrc, stats);
        }
        self.sources.get_mut(&ssrc)
    }

    /// Accounts a received RTP packet.
    pub fn handle_rtp(&mut self, pkt: &RtpPacket, now: Instant) -> Option<SeqStatus> {
        let src = self.source_entry(pkt.ssrc(), now)?;
        Some(src.on_rtp(pkt.sequence_number(), pkt.timestamp(), now))
    }

    /// Accounts a parsed compound received at `now`: SRs feed LSR/DLSR and the NTP↔RTP
    /// mapping, BYEs remove sources, the size feeds the interval computation.
    pub fn handle_compound(&mut self, compound: &Compound, wire_len: usize, now: Instant) {
        self.avg_rtcp_size =
            (wire_len as f64 + LOWER_LAYER_OVERHEAD) / 16.0 + self.avg_rtcp_size * 15.0 / 16.0;
        for p in &compound.packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    if let Some(src) = self.source_entry(sr.ssrc, now) {
                        src.on_sender_report(sr, now);
                    }
                }
                RtcpPacket::ReceiverReport(rr) => {
                    // An RR-only participant is a member too (it counts in the interval
                    // computation, and gets no report block until it sends RTP).
                    if let Some(src) = self.source_entry(rr.ssrc, now) {
                        src.last_activity = now;
                    }
                }
                RtcpPacket::SourceDescription(sdes) => {
                    for chunk in &sdes.chunks {
                        let cname = sdes.cname_of(chunk.ssrc).map(|i| i.value.clone());
                        if let (Some(src), Some(cname)) = (self.sources.get_mut(&chunk.ssrc), cname)
                        {
                            src.cname = Some(cname);
                            src.last_activity = now;
                        }
                    }
                }
                RtcpPacket::Goodbye(bye) => {
                    for s in &bye.sources {
                        self.sources.remove(s);
                    }
                }
                _ => {}
            }
        }
    }

    /// Parses and accounts a received compound.
    pub fn handle_rtcp(&mut self, data: Bytes, now: Instant) -> Result<Compound> {
        let len = data.len();
        let compound = Compound::parse(data, &self.config.limits)?;
        self.handle_compound(&compound, len, now);
        Ok(compound)
    }

    /// Accounts an RTP packet we sent.
    pub fn on_rtp_sent(&mut self, rtp_ts: u32, payload_len: usize, now: Instant) {
        self.sender.on_rtp_sent(rtp_ts, payload_len, now);
        self.sent_this_interval = true;
    }

    /// When the next report is due.
    pub fn poll_timeout(&self) -> Instant {
        self.next_report
    }

    /// Drives the schedule. When a report is due at `now` (after reconsideration for
    /// [`ReportInterval::Rfc3550`]), builds it with `wallclock` as the NTP time and queues it
    /// for [`RtcpSession::poll_transmit`].
    pub fn handle_timeout(&mut self, now: Instant, wallclock: NtpTime) {
        if now < self.next_report {
            return;
        }
        let timeout = self.config.source_timeout;
        self.sources
            .retain(|_, s| now.saturating_duration_since(s.last_activity) < timeout);
        if matches!(self.config.interval, ReportInterval::Rfc3550 { .. }) {
            // Timer reconsideration (RFC 3550 6.3.6, A.7 OnExpire).
            let t = self.interval();
            let candidate = later(self.last_report, t);
            if candidate > now {
                self.next_report = candidate;
                return;
            }
        }
        match self.build_report(now, wallclock) {
            Ok(bytes) => {
                self.avg_rtcp_size = (bytes.len() as f64 + LOWER_LAYER_OVERHEAD) / 16.0
                    + self.avg_rtcp_size * 15.0 / 16.0;
                self.pending = Some(bytes);
            }
            Err(e) => tracing::warn!(error = %e, "RTCP session: report not built"),
        }
        self.last_report = now;
        self.initial = false;
        self.sent_prev_interval = self.sent_this_interval;
        self.sent_this_interval = false;
        self.next_report = later(now, self.interval());
    }

    /// The report built by the last due [`RtcpSession::handle_timeout`], once.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.pending.take()
    }

    fn we_sent(&self) -> bool {
        self.sent_this_interval || self.sent_prev_interval
    }

    /// Builds a compound report now: an SR if we sent RTP in the last two intervals,
    /// else an RR, with up to 31 report blocks of valid sources, and an SDES CNAME.
    pub fn report(&mut self, now: Instant, wallclock: NtpTime) -> Result<Compound> {
        let mut ssrcs: Vec<u32> = self
            .sources
            .iter()
            .filter(|(_, s)| s.is_valid())
            .map(|(k, _)| *k)
            .collect(); // ascending: `sources` is ordered
        if ssrcs.len() > crate::rtcp::MAX_COUNT {
            // RFC 3550 6.4: with more sources than fit, report on a different subset in
            // successive reports (round robin over the sorted list).
            let start = self.report_cursor % ssrcs.len();
            ssrcs.rotate_left(start);
            ssrcs.truncate(crate::rtcp::MAX_COUNT);
            self.report_cursor = start + crate::rtcp::MAX_COUNT;
        }
        let blocks: Vec<ReportBlock> = ssrcs
            .iter()
            .filter_map(|k| self.sources.get_mut(k).map(|s| s.report_block(now)))
            .collect();
        let first = if self.we_sent() {
            RtcpPacket::SenderReport(self.sender.sender_report(now, wallclock, blocks))
        } else {
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: self.config.ssrc,
                reports: blocks,
                profile_extension: Bytes::new(),
            })
        };
        let cname = truncate_utf8(&self.config.cname, 255);
        let sdes = SourceDescription::cname(self.config.ssrc, cname);
        Ok(Compound::new(vec![
            first,
            RtcpPacket::SourceDescription(sdes),
        ]))
    }

    fn build_report(&mut self, now: Instant, wallclock: NtpTime) -> Result<Bytes> {
        let compound = self.report(now, wallclock)?;
        let mut out = BytesMut::with_capacity(compound.wire_len());
        compound.write(&mut out)?;
        Ok(out.freeze())
    }

    /// A BYE compound for leaving the session (a report, SDES, then BYE; RFC 3550 6.6).
    pub fn goodbye(
        &mut self,
        now: Instant,
        wallclock: NtpTime,
        reason: Option<&str>,
    ) -> Result<Bytes> {
        let mut compound = self.report(now, wallclock)?;
        compound.packets.push(RtcpPacket::Goodbye(Goodbye {
            sources: vec![self.config.ssrc],
            reason: reason.map(|r| Bytes::copy_from_slice(truncate_utf8(r, 255).as_bytes())),
        }));
        compound.to_bytes()
    }

    fn next_random(&mut self) -> f64 {
        // xorshift64*: deterministic from the configured seed.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The (randomised) interval until the next report (RFC 3550 A.7 `rtcp_interval`).
    fn interval(&mut self) -> Duration {
        match self.config.interval {
            ReportInterval::Fixed(d) => d,
            ReportInterval::Rfc3550 {
                session_bandwidth,
                min_interval,
            } => {
                // Clamped to a day so that no configuration overflows the arithmetic below.
                let configured = min_interval.as_secs_f64().min(86_400.0);
                let min = if self.initial {
                    configured / 2.0
                } else {
                    configured
                };
                let mut rtcp_bw = f64::from(session_bandwidth) / 8.0 * 0.05;
                let now_cutoff = self.last_report;
                let remote_senders = self
                    .sources
                    .values()
                    .filter(|s| {
                        s.last_rtp.is_some_and(|t| {
                            later(t, Duration::from_secs_f64(2.0 * min.max(1.0))) >= now_cutoff
                        })
                    })
                    .count() as f64;
                let we_sent = self.we_sent();
                let members = self.sources.len() as f64 + 1.0;
                let senders = remote_senders + if we_sent { 1.0 } else { 0.0 };
                let mut n = members;
                if senders <= members * 0.25 {
                    if we_sent {
                        rtcp_bw *= 0.25;
                        n = senders;
                    } else {
                        rtcp_bw *= 0.75;
                        n -= senders;
                    }
                }
                let mut t = if rtcp_bw > 0.0 {
                    self.avg_rtcp_size * n / rtcp_bw
                } else {
                    min
                };
                if t < min {
                    t = min;
                }
                let factor = 0.5 + self.next_random();
                // Compensation for timer reconsideration converging low (RFC 3550 A.7).
                let t = t * factor / (std::f64::consts::E - 1.5);
                Duration::from_secs_f64(t.min(86_400.0))
            }
        }
    }
}

/// `t + d`, saturating at a day after `t` (an `Instant` cannot represent arbitrary futures).
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(t)
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}
