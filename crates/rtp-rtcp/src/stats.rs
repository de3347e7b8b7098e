//! RTCP statistics (sans-IO): reception statistics per source (RFC 3550 A.1, A.3, A.8),
//! sender counters and the NTP↔RTP mapping for sender reports, and a [`RtcpSession`] that
//! schedules compound reports (RFC 3550 6.2, 6.3, A.7).
//!
//! Time is always a parameter: `Instant`s for intervals and arrival times, an [`NtpTime`]
//! wallclock reading when a sender report is built.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ntp::{duration_to_dlsr, NtpTime};
use crate::rtcp::{ReportBlock, SenderReport};

mod session;
pub use session::{ReportInterval, RtcpSession, SessionConfig};

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

#[cfg(test)]
mod tests;
