//! RTCP statistics (sans-IO): reception statistics per source (RFC 3550 A.1, A.3, A.8),
//! sender counters and the NTP↔RTP mapping for sender reports, and a [`RtcpSession`] that
//! schedules compound reports (RFC 3550 6.2, 6.3, A.7).
//!
//! Time is always a parameter: `Instant`s for intervals and arrival times, an [`NtpTime`]
//! wallclock reading when a sender report is built.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::error::Result;
use crate::ntp::{duration_to_dlsr, NtpTime};
use crate::rtcp::{
    Compound, Goodbye, ReceiverReport, ReportBlock, RtcpLimits, RtcpPacket, SenderReport,
    SourceDescription,
};
use crate::rtp::RtpPacket;

/// Sequence-number gap beyond which a jump is not taken as loss (RFC 3550 A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// Backward distance up to which a packet is taken as reordered/duplicate (RFC 3550 A.1).
pub const MAX_MISORDER: u16 = 100;
const SEQ_MOD: u32 = 1 << 16;

/// What [`ReceiverStats::on_rtp`] made of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqStatus {
    /// Counted as received (in order, reordered within bounds, or a duplicate).
    Valid,
    /// The source is still on probation (RFC 3550 A.1): not counted yet.
    Probation,
    /// A large jump: not counted; a second packet continuing from it restarts the source.
    BadJump,
    /// The second packet after a large jump: the sequence was re-initialised here.
    Restarted,
}

/// Reception statistics of one remote source.
///
/// ```
/// use std::time::{Duration, Instant};
/// use weir_rtp_rtcp::stats::ReceiverStats;
/// let t0 = Instant::now();
/// let mut s = ReceiverStats::new(0xabc, 8000, 1, t0);
/// for (i, seq) in [10u16, 11, 13, 14].iter().enumerate() {
///     s.on_rtp(*seq, 160 * u32::from(*seq), t0 + Duration::from_millis(20 * i as u64));
/// }
/// let block = s.report_block(t0 + Duration::from_secs(1));
/// assert_eq!(block.extended_highest_seq, 14);
/// assert_eq!(block.cumulative_lost, 1);
/// assert_eq!(block.fraction_lost, 51); // 1 of 5 expected, in 1/256 units
/// ```
#[derive(Clone, Debug)]
pub struct ReceiverStats {
    ssrc: u32,
    clock_rate: u32,
    min_sequential: u16,
    probation: u16,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    origin: Option<Instant>,
    transit: Option<u32>,
    /// Jitter in timestamp units, scaled by 16 (RFC 3550 A.8).
    jitter_q4: u32,
    last_sr: Option<(SenderInfo, Instant)>,
    last_rtp: Option<Instant>,
    last_activity: Instant,
    cname: Option<Bytes>,
}

/// The sender information of the last SR received from a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderInfo {
    /// Wallclock time of the SR.
    pub ntp_time: NtpTime,
    /// The same instant in RTP timestamp units.
    pub rtp_time: u32,
    /// The sender's packet count.
    pub packet_count: u32,
    /// The sender's octet count.
    pub octet_count: u32,
}

impl ReceiverStats {
    /// Statistics for `ssrc` whose media clock runs at `clock_rate` Hz, created at `now` (the
    /// source's first activity, from which [`RtcpSession`]'s source timeout counts). A source
    /// must send `min_sequential` packets in sequence before it is counted (RFC 3550 A.1 uses
    /// 2; 0 or 1 counts from the first packet).
    pub fn new(ssrc: u32, clock_rate: u32, min_sequential: u16, now: Instant) -> ReceiverStats {
        ReceiverStats {
            ssrc,
            clock_rate: clock_rate.max(1),
            min_sequential: min_sequential.max(1),
            probation: 0,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            origin: None,
            transit: None,
            jitter_q4: 0,
            last_sr: None,
            last_rtp: None,
            last_activity: now,
            cname: None,
        }
    }

    /// The source.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Updates the sequence state (RFC 3550 A.1 `update_seq`).
    fn update_seq(&mut self, seq: u16) -> SeqStatus {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SeqStatus::Valid;
                }
            } else {
                self.probation = self.min_sequential - 1;
                self.max_seq = seq;
            }
            return SeqStatus::Probation;
        }
        let mut status = SeqStatus::Valid;
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets after a jump: the source restarted.
                self.init_seq(seq);
                status = SeqStatus::Restarted;
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return SeqStatus::BadJump;
            }
        }
        // else: duplicate or reordered packet, counted as received.
        self.received += 1;
        status
    }

    /// Accounts an RTP packet with sequence number `seq` and timestamp `rtp_ts` that
    /// arrived at `arrival`.
    pub fn on_rtp(&mut self, seq: u16, rtp_ts: u32, arrival: Instant) -> SeqStatus {
        self.last_activity = arrival;
        self.last_rtp = Some(arrival);
        if self.origin.is_none() {
            self.origin = Some(arrival);
            // RFC 3550 A.1: start on probation with max_seq one before the first packet.
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = self.min_sequential;
        }
        let status = self.update_seq(seq);
        if matches!(status, SeqStatus::Valid | SeqStatus::Restarted) {
            self.update_jitter(rtp_ts, arrival);
        }
        status
    }

    /// RFC 3550 A.8: J += (|D| - J) / 16, with D the difference of relative transit times.
    fn update_jitter(&mut self, rtp_ts: u32, arrival: Instant) {
        let origin = self.origin.unwrap_or(arrival);
        let elapsed = arrival.saturating_duration_since(origin).as_nanos();
        let units = elapsed * u128::from(self.clock_rate) / 1_000_000_000;
        // Only differences matter, so the arrival clock may wrap like the RTP clock.
        let arrival_units = units as u32;
        let transit = arrival_units.wrapping_sub(rtp_ts);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
            // Integer form of A.8: jitter is kept scaled by 16.
            let j =
                i64::from(self.jitter_q4) + i64::from(d) - ((i64::from(self.jitter_q4) + 8) >> 4);
            self.jitter_q4 = u32::try_from(j.max(0)).unwrap_or(u32::MAX);
        }
        self.transit = Some(transit);
    }

    /// Records a sender report from this source, received at `arrival` (for LSR/DLSR and
    /// the NTP↔RTP mapping).
    pub fn on_sender_report(&mut self, sr: &SenderReport, arrival: Instant) {
        self.last_activity = arrival;
        self.last_sr = Some((
            SenderInfo {
                ntp_time: sr.ntp_time,
                rtp_time: sr.rtp_time,
                packet_count: sr.packet_count,
                octet_count: sr.octet_count,
            },
            arrival,
        ));
    }

    /// The last sender report's information and when it arrived.
    pub fn last_sender_report(&self) -> Option<(SenderInfo, Instant)> {
        self.last_sr
    }

    /// Wallclock time of an RTP timestamp of this source, from the last SR's NTP↔RTP
    /// mapping (timestamps within ±2^31 ticks of the SR's).
    pub fn rtp_to_ntp(&self, rtp_ts: u32) -> Option<NtpTime> {
        let (info, _) = self.last_sr?;
        let ticks = i64::from(rtp_ts.wrapping_sub(info.rtp_time) as i32);
        let units = (i128::from(ticks) << 32) / i128::from(self.clock_rate);
        Some(NtpTime(info.ntp_time.0.wrapping_add(units as u64)))
    }

    /// The source's CNAME, once an SDES carrying it was handled by an [`RtcpSession`].
    pub fn cname(&self) -> Option<&Bytes> {
        self.cname.as_ref()
    }

    /// Packets counted as received.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Extended highest sequence number received (RFC 3550 A.3).
    pub fn extended_highest_seq(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected: extended highest minus base, plus one.
    pub fn expected(&self) -> u64 {
        let ext = u64::from(self.cycles) + u64::from(self.max_seq);
        (ext + 1).saturating_sub(u64::from(self.base_seq))
    }

    /// Cumulative packets lost (expected − received; negative with duplicates).
    pub fn cumulative_lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Whether the source has passed probation and been counted.
    pub fn is_valid(&self) -> bool {
        self.origin.is_some() && self.probation == 0
    }

    /// A report block for this source as of `now`, and starts the next reporting interval
    /// (the fraction lost covers the packets since the previous call; RFC 3550 A.3).
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval as u64) * 256 / expected_interval).min(255) as u8
        };
        let cumulative_lost = self.cumulative_lost().clamp(
            i64::from(crate::rtcp::CUMULATIVE_LOST_MIN),
            i64::from(crate::rtcp::CUMULATIVE_LOST_MAX),
        ) as i32;
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((info, at)) => (
                info.ntp_time.middle32(),
                duration_to_dlsr(now.saturating_duration_since(at)),
            ),
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        }
    }
}

/// Round-trip time from a report block about our stream, received at wallclock `now`
/// (RFC 3550 6.4.1: A − LSR − DLSR). `None` when the block carries no LSR.
pub fn round_trip_time(block: &ReportBlock, now: NtpTime) -> Option<Duration> {
    if block.last_sr == 0 {
        return None;
    }
    let rtt = now
        .middle32()
        .wrapping_sub(block.last_sr)
        .wrapping_sub(block.delay_since_last_sr);
    // A negative result (clock skew) shows up as a huge unsigned value.
    if rtt > 0x8000_0000 {
        return None;
    }
    Some(crate::ntp::dlsr_to_duration(rtt))
}

/// Sender-side counters and the NTP↔RTP mapping for sender reports.
///
/// The RTP time in an SR is the RTP timestamp of the SR's own instant, derived from the
/// most recent anchor (an explicit [`SenderStats::set_anchor`], else the last packet sent)
/// advanced at the clock rate (RFC 3550 6.4.1).
#[derive(Clone, Debug)]
pub struct SenderStats {
    ssrc: u32,
    clock_rate: u32,
    packet_count: u32,
    octet_count: u32,
    anchor: Option<(u32, Instant)>,
    explicit_anchor: bool,
    last_sent: Option<Instant>,
}

impl SenderStats {
    /// Counters for our source `ssrc` with a media clock of `clock_rate` Hz.
    pub fn new(ssrc: u32, clock_rate: u32) -> SenderStats {
        SenderStats {
            ssrc,
            clock_rate: clock_rate.max(1),
            packet_count: 0,
            octet_count: 0,
            anchor: None,
            explicit_anchor: false,
            last_sent: None,
        }
    }

    /// Fixes the mapping: RTP timestamp `rtp_ts` corresponds to `at`.
    pub fn set_anchor(&mut self, rtp_ts: u32, at: Instant) {
        self.anchor = Some((rtp_ts, at));
        self.explicit_anchor = true;
    }

    /// Accounts a sent packet with timestamp `rtp_ts` and `payload_len` payload bytes.
    pub fn on_rtp_sent(&mut self, rtp_ts: u32, payload_len: usize, now: Instant) {
        self.packet_count = self.packet_count.wrapping_add(1);
        // RFC 3550 6.4.1: the octet count wraps like the packet count.
        self.octet_count = self.octet_count.wrapping_add(payload_len as u32);
        if !self.explicit_anchor {
            self.anchor = Some((rtp_ts, now));
        }
        self.last_sent = Some(now);
    }

    /// Packets sent (wrapping 32-bit).
    pub fn packet_count(&self) -> u32 {
        self.packet_count
    }

    /// Payload octets sent (wrapping 32-bit).
    pub fn octet_count(&self) -> u32 {
        self.octet_count
    }

    /// When the last packet was sent.
    pub fn last_sent(&self) -> Option<Instant> {
        self.last_sent
    }

    /// The RTP timestamp of instant `now` by the current anchor.
    pub fn rtp_time_at(&self, now: Instant) -> Option<u32> {
        let (ts, at) = self.anchor?;
        let ticks = if now >= at {
            (now.duration_since(at).as_nanos() * u128::from(self.clock_rate) / 1_000_000_000)
                as i128
        } else {
            -((at.duration_since(now).as_nanos() * u128::from(self.clock_rate) / 1_000_000_000)
                as i128)
        };
        Some(ts.wrapping_add(ticks as u32))
    }

    /// A sender report at `now`, whose wallclock reading is `wallclock`.
    pub fn sender_report(
        &self,
        now: Instant,
        wallclock: NtpTime,
        reports: Vec<ReportBlock>,
    ) -> SenderReport {
        SenderReport {
            ssrc: self.ssrc,
            ntp_time: wallclock,
            rtp_time: self.rtp_time_at(now).unwrap_or(0),
            packet_count: self.packet_count,
            octet_count: self.octet_count,
            reports,
            profile_extension: Bytes::new(),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
