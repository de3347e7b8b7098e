//! The jitter buffer itself.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::{Config, LatePolicy, Playout};
use crate::jitter::JitterEstimator;
use crate::Error;

/// Extended sequence numbers start here so that stepping back from the first packet never
/// goes negative.
const SEQ_ORIGIN: i64 = 1 << 32;

/// One packet as it comes out of the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<T> {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// When it arrived (as passed to [`JitterBuffer::push`]).
    pub arrival: Instant,
    /// The caller's payload.
    pub payload: T,
}

/// What [`JitterBuffer::pop`] yields, strictly in sequence order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output<T> {
    /// The next packet.
    Packet(Packet<T>),
    /// `count` sequence numbers starting at `first` (wrapping) will never be output: lost in
    /// the network, arrived too late to be waited for, or dropped because the buffer was
    /// full. A depacketizer should treat the following packet as a discontinuity.
    Lost {
        /// First missing sequence number.
        first: u16,
        /// How many (1 to 32767).
        count: u16,
    },
    /// A packet that arrived after its position was passed, handed out at once (only with
    /// [`LatePolicy::Deliver`]; out of order by definition).
    Late(Packet<T>),
}

/// What happened to a pushed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for output.
    Accepted,
    /// Already buffered: dropped.
    Duplicate,
    /// Behind the output position (already output or declared lost): dropped, or queued
    /// as [`Output::Late`] with [`LatePolicy::Deliver`].
    Late,
    /// Far outside the window: held as a resynchronisation candidate. If the next packet
    /// continues it, the buffer resynchronises to it; otherwise it is discarded.
    Probation,
    /// Confirmed a sequence jump: everything buffered before is flushed (output at once, in
    /// order, with its gaps reported) and the buffer restarted on the new numbering.
    Resynced,
}

/// Counters since creation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets pushed.
    pub received: u64,
    /// Packets stored for output.
    pub accepted: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Late packets dropped.
    pub late: u64,
    /// Packets output.
    pub released: u64,
    /// Sequence numbers reported lost (includes `overflow`).
    pub lost: u64,
    /// Packets dropped because `max_packets` was reached.
    pub overflow: u64,
    /// Resynchronisations after sequence jumps.
    pub resyncs: u64,
    /// Probation packets discarded (a stray far outside the window).
    pub discarded: u64,
    /// Sequence numbers put into NACK lists (each retry counts).
    pub nacks: u64,
    /// Missing packets that arrived after having been NACKed.
    pub recovered: u64,
}

#[derive(Clone, Copy, Debug)]
struct Missing {
    retries: u8,
    next_nack: Instant,
}

#[derive(Debug)]
struct Entry<T> {
    packet: Packet<T>,
    ext_ts: i64,
}

#[derive(Debug)]
enum Slot<T> {
    Missing(Missing),
    Present(Entry<T>),
}

/// A sans-IO RTP reorder/jitter buffer, generic over the payload `T`.
///
/// Push packets with [`push`](JitterBuffer::push) (sequence number, RTP timestamp, arrival
/// time, payload), pass time with [`handle_timeout`](JitterBuffer::handle_timeout), take
/// in-order output with [`pop`](JitterBuffer::pop), NACK lists with
/// [`poll_nack`](JitterBuffer::poll_nack), and sleep until
/// [`poll_timeout`](JitterBuffer::poll_timeout). Memory is bounded by `max_packets` stored
/// packets and a `max_window`-slot ring; nothing is allocated per packet beyond the ring.
#[derive(Debug)]
pub struct JitterBuffer<T> {
    cfg: Config,
    ring: VecDeque<Slot<T>>,
    /// Extended sequence number of `ring[0]`: the next one to output.
    head: i64,
    present: usize,
    initialized: bool,
    released_any: bool,
    output_started: bool,
    first_arrival: Option<Instant>,
    /// Extended sequence numbers below this are output without waiting.
    forced_until: i64,
    now: Option<Instant>,
    last_ext_ts: i64,
    /// Minimum-transit reference: (arrival, extended timestamp).
    base: Option<(Instant, i64)>,
    jitter: JitterEstimator,
    delay: Duration,
    probation: Option<Packet<T>>,
    flushed: VecDeque<Output<T>>,
    nacks: Vec<u16>,
    stats: Stats,
}

fn ts_duration(ticks: u64, clock_rate: u32) -> Duration {
    let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(clock_rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl<T> JitterBuffer<T> {
    /// A buffer with a validated configuration.
    pub fn new(cfg: Config) -> Result<JitterBuffer<T>, Error> {
        cfg.validate()?;
        let delay = match cfg.playout {
            Playout::Reorder { .. } => Duration::ZERO,
            Playout::Fixed { delay } => delay,
            Playout::Adaptive { min, .. } => min,
        };
        Ok(JitterBuffer {
            cfg,
            ring: VecDeque::new(),
            head: SEQ_ORIGIN,
            present: 0,
            initialized: false,
            released_any: false,
            output_started: false,
            first_arrival: None,
            forced_until: SEQ_ORIGIN,
            now: None,
            last_ext_ts: 0,
            base: None,
            jitter: JitterEstimator::new(cfg.clock_rate),
            delay,
            probation: None,
            flushed: VecDeque::new(),
            nacks: Vec::new(),
            stats: Stats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Packets currently held (not counting flushed output waiting to be popped).
    pub fn len(&self) -> usize {
        self.present
    }

    /// True when nothing is held or waiting to be popped.
    pub fn is_empty(&self) -> bool {
        self.present == 0 && self.flushed.is_empty()
    }

    /// The RFC 3550 A.8 interarrival jitter estimate, in RTP timestamp units (the value an
    /// RTCP receiver report carries).
    pub fn jitter(&self) -> u32 {
        self.jitter.jitter()
    }

    /// The jitter estimate as a duration.
    pub fn jitter_duration(&self) -> Duration {
        ts_duration(u64::from(self.jitter.jitter()), self.cfg.clock_rate)
    }

    /// The playout delay in use (zero in [`Playout::Reorder`] mode).
    pub fn playout_delay(&self) -> Duration {
        self.delay
    }

    /// Media held, by RTP timestamp span from the oldest held packet to the newest.
    pub fn buffered_duration(&self) -> Duration {
        self.buffered_span()
    }

    /// Changes the NACK retry interval (e.g. to the measured round-trip time).
    pub fn set_nack_retry_interval(&mut self, interval: Duration) {
        if let Some(n) = self.cfg.nack.as_mut() {
            n.retry_interval = interval;
        }
    }

    /// The next sequence number to be output, once known.
    pub fn next_seq(&self) -> Option<u16> {
        self.initialized.then_some(self.head as u16)
    }

    fn observe(&mut self, t: Instant) {
        self.now = Some(match self.now {
            Some(n) if n > t => n,
            _ => t,
        });
    }

    /// The extended sequence number nearest to the newest one held (or the last output).
    fn extend_seq(&self, seq: u16) -> i64 {
        let reference = self.head + self.ring.len() as i64 - 1;
        let diff = seq.wrapping_sub(reference as u16) as i16;
        reference + i64::from(diff)
    }

    fn extend_ts(&self, ts: u32) -> i64 {
        let diff = ts.wrapping_sub(self.last_ext_ts as u32) as i32;
        self.last_ext_ts + i64::from(diff)
    }

    fn new_missing(&self, arrival: Instant) -> Slot<T> {
        let delay = self.cfg.nack.map_or(Duration::ZERO, |n| n.initial_delay);
        Slot::Missing(Missing {
            retries: 0,
            next_nack: arrival.checked_add(delay).unwrap_or(arrival),
        })
    }

    /// Offers one packet.
    pub fn push(&mut self, seq: u16, timestamp: u32, arrival: Instant, payload: T) -> PushOutcome {
        self.observe(arrival);
        self.stats.received += 1;
        let packet = Packet {
            seq,
            timestamp,
            arrival,
            payload,
        };
        if !self.initialized {
            self.restart(packet);
            return PushOutcome::Accepted;
        }
        let ext = self.extend_seq(seq);
        let window = i64::from(self.cfg.max_window);
        let far_ahead = ext >= self.head + window;
        let far_behind = ext < self.head - window;
        if far_ahead || far_behind {
            return self.probe(packet);
        }
        // A packet in the window clears any pending probation candidate.
        if self.probation.take().is_some() {
            self.stats.discarded += 1;
        }
        if ext < self.head {
            let back = (self.head - ext) as usize;
            if self.released_any || self.ring.len() + back > self.cfg.max_window as usize {
                self.stats.late += 1;
                if self.cfg.late == LatePolicy::Deliver {
                    self.flushed.push_back(Output::Late(packet));
                    self.bound_flushed();
                }
                return PushOutcome::Late;
            }
            // Before any output: a packet older than the first one extends the window back.
            for _ in 1..back {
                let m = self.new_missing(arrival);
                self.ring.push_front(m);
            }
            if self.forced_until <= self.head {
                self.forced_until = ext;
            }
            self.head = ext;
            let ext_ts = self.extend_ts(timestamp);
            self.ring
                .push_front(Slot::Present(Entry { packet, ext_ts }));
            self.accepted(ext_ts, arrival);
            return PushOutcome::Accepted;
        }
        let idx = (ext - self.head) as usize;
        let ext_ts = self.extend_ts(timestamp);
        if let Some(slot) = self.ring.get_mut(idx) {
            match slot {
                Slot::Present(_) => {
                    self.stats.duplicates += 1;
                    return PushOutcome::Duplicate;
                }
                Slot::Missing(m) => {
                    if m.retries > 0 {
                        self.stats.recovered += 1;
                    }
                    *slot = Slot::Present(Entry { packet, ext_ts });
                }
            }
        } else {
            while self.ring.len() < idx {
                let m = self.new_missing(arrival);
                self.ring.push_back(m);
            }
            self.ring.push_back(Slot::Present(Entry { packet, ext_ts }));
        }
        self.accepted(ext_ts, arrival);
        PushOutcome::Accepted
    }

    fn accepted(&mut self, ext_ts: i64, arrival: Instant) {
        self.stats.accepted += 1;
        self.present += 1;
        if ext_ts > self.last_ext_ts {
            self.last_ext_ts = ext_ts;
        }
        self.jitter.update(arrival, ext_ts);
        self.update_playout(arrival, ext_ts);
        // The latest time the caller has given (never the clock: this crate reads none).
        let now = self.now.map_or(arrival, |n| n.max(arrival));
        self.enforce_capacity(now);
    }

    fn update_playout(&mut self, arrival: Instant, ext_ts: i64) {
        match self.base {
            None => self.base = Some((arrival, ext_ts)),
            Some(_) => {
                // Re-base on the fastest transit seen (a packet earlier than predicted).
                if let Some(expected) = self.ts_instant(ext_ts) {
                    if arrival < expected {
                        self.base = Some((arrival, ext_ts));
                    }
                }
            }
        }
        if let Playout::Adaptive {
            min,
            max,
            jitter_factor,
        } = self.cfg.playout
        {
            let j = self.jitter_duration().saturating_mul(jitter_factor);
            self.delay = j.clamp(min, max);
        }
    }

    /// The expected arrival of `ext_ts` at minimum transit.
    fn ts_instant(&self, ext_ts: i64) -> Option<Instant> {
        let (t0, ts0) = self.base?;
        let diff = ext_ts.saturating_sub(ts0);
        let d = ts_duration(diff.unsigned_abs(), self.cfg.clock_rate);
        if diff >= 0 {
            t0.checked_add(d)
        } else {
            t0.checked_sub(d)
        }
    }

    fn enforce_capacity(&mut self, now: Instant) {
        while self.present > self.cfg.max_packets {
            let Some(i) = self.ring.iter().position(|s| matches!(s, Slot::Present(_))) else {
                break;
            };
            if let Some(slot) = self.ring.get_mut(i) {
                // Dropped, not lost: never NACKed (retries exhausted).
                *slot = Slot::Missing(Missing {
                    retries: u8::MAX,
                    next_nack: now,
                });
            }
            self.present -= 1;
            self.stats.overflow += 1;
            self.forced_until = self.forced_until.max(self.head + i as i64 + 1);
            tracing::debug!(
                seq = (self.head + i as i64) as u16,
                "jitter buffer full: dropped oldest"
            );
        }
    }

    /// Starts (or restarts) numbering at `packet`.
    fn restart(&mut self, packet: Packet<T>) {
        let arrival = packet.arrival;
        self.initialized = true;
        self.head = SEQ_ORIGIN + i64::from(packet.seq);
        self.forced_until = self.head;
        self.ring.clear();
        self.present = 0;
        self.last_ext_ts = i64::from(packet.timestamp);
        self.base = None;
        self.jitter.reset();
        if self.first_arrival.is_none() {
            self.first_arrival = Some(arrival);
        }
        let ext_ts = self.last_ext_ts;
        self.ring.push_back(Slot::Present(Entry { packet, ext_ts }));
        self.accepted(ext_ts, arrival);
    }

    fn probe(&mut self, packet: Packet<T>) -> PushOutcome {
        match self.probation.take() {
            Some(cand) if packet.seq == cand.seq.wrapping_add(1) => {
                tracing::debug!(
                    from = self.head as u16,
                    to = cand.seq,
                    "jitter buffer resync"
                );
                self.flush_ring();
                self.stats.resyncs += 1;
                self.restart(cand);
                // `packet` continues `cand`, which is now the only (head) slot.
                let ext_ts = self.extend_ts(packet.timestamp);
                let arrival = packet.arrival;
                self.ring.push_back(Slot::Present(Entry { packet, ext_ts }));
                self.accepted(ext_ts, arrival);
                PushOutcome::Resynced
            }
            old => {
                if old.is_some() {
                    self.stats.discarded += 1;
                }
                self.probation = Some(packet);
                PushOutcome::Probation
            }
        }
    }

    /// Moves everything held into the flushed output queue, in order, with gaps as `Lost`.
    fn flush_ring(&mut self) {
        let mut lost_run: Option<(u16, u16)> = None;
        let mut seq = self.head;
        while let Some(slot) = self.ring.pop_front() {
            match slot {
                Slot::Missing(_) => {
                    lost_run = match lost_run {
                        Some((f, c)) => Some((f, c + 1)),
                        None => Some((seq as u16, 1)),
                    };
                }
                Slot::Present(e) => {
                    if let Some((first, count)) = lost_run.take() {
                        self.stats.lost += u64::from(count);
                        self.flushed.push_back(Output::Lost { first, count });
                    }
                    self.stats.released += 1;
                    self.flushed.push_back(Output::Packet(e.packet));
                }
            }
            seq += 1;
        }
        if let Some((first, count)) = lost_run {
            self.stats.lost += u64::from(count);
            self.flushed.push_back(Output::Lost { first, count });
        }
        self.present = 0;
        self.released_any = true;
        self.bound_flushed();
    }

    /// Bounds the flushed queue if the caller is not popping.
    fn bound_flushed(&mut self) {
        let cap = 2 * self.cfg.max_packets + 2;
        while self.flushed.len() > cap {
            if let Some(Output::Packet(_) | Output::Late(_)) = self.flushed.pop_front() {
                self.stats.overflow += 1;
            }
        }
    }

    /// Advances time: generates due NACKs. Call it at [`poll_timeout`](Self::poll_timeout)
    /// (and whenever convenient); `pop` uses the latest time seen here or in `push`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
        let Some(nack) = self.cfg.nack else { return };
        let head = self.head;
        for (i, slot) in self.ring.iter_mut().enumerate() {
            if let Slot::Missing(m) = slot {
                if m.retries < nack.max_retries && m.next_nack <= now {
                    m.retries += 1;
                    m.next_nack = now.checked_add(nack.retry_interval).unwrap_or(now);
                    self.nacks.push((head + i as i64) as u16);
                    self.stats.nacks += 1;
                }
            }
        }
    }

    /// The sequence numbers to request again, in ascending order, if any are due (see
    /// [`nack_pairs`](crate::nack_pairs) for the RFC 4585 encoding).
    pub fn poll_nack(&mut self) -> Option<Vec<u16>> {
        if self.nacks.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.nacks))
        }
    }

    fn gate_delay(&self) -> Duration {
        match self.cfg.playout {
            Playout::Reorder { latency } => self.cfg.prebuffer.max(latency),
            _ => self.cfg.prebuffer,
        }
    }

    fn buffered_span(&self) -> Duration {
        let first = self.ring.iter().find_map(|s| match s {
            Slot::Present(e) => Some(e.ext_ts),
            Slot::Missing(_) => None,
        });
        match first {
            Some(f) => ts_duration(
                self.last_ext_ts.saturating_sub(f).max(0) as u64,
                self.cfg.clock_rate,
            ),
            None => Duration::ZERO,
        }
    }

    fn release_time(&self, e: &Entry<T>) -> Instant {
        match self.cfg.playout {
            Playout::Reorder { .. } => e.packet.arrival,
            _ => self
                .ts_instant(e.ext_ts)
                .and_then(|t| t.checked_add(self.delay))
                .unwrap_or(e.packet.arrival),
        }
    }

    fn gap_deadline(&self, e: &Entry<T>) -> Instant {
        match self.cfg.playout {
            Playout::Reorder { latency } => e
                .packet
                .arrival
                .checked_add(latency)
                .unwrap_or(e.packet.arrival),
            _ => self.release_time(e),
        }
    }

    fn first_present(&self) -> Option<(usize, &Entry<T>)> {
        self.ring.iter().enumerate().find_map(|(i, s)| match s {
            Slot::Present(e) => Some((i, e)),
            Slot::Missing(_) => None,
        })
    }

    /// The next output that is due at the current time, if any.
    pub fn pop(&mut self) -> Option<Output<T>> {
        if let Some(o) = self.flushed.pop_front() {
            return Some(o);
        }
        let now = self.now?;
        if self.ring.is_empty() {
            return None;
        }
        if !self.output_started {
            let gate = self
                .first_arrival
                .and_then(|t| t.checked_add(self.gate_delay()));
            let by_time = gate.is_some_and(|g| now >= g);
            let prebuffered =
                !self.cfg.prebuffer.is_zero() && self.buffered_span() >= self.cfg.prebuffer;
            if by_time || prebuffered || self.forced_until > self.head {
                self.output_started = true;
            } else {
                return None;
            }
        }
        let forced = self.head < self.forced_until;
        let (run, due) = match self.ring.front() {
            Some(Slot::Present(e)) => {
                if forced || self.release_time(e) <= now {
                    return self.release_head();
                }
                return None;
            }
            Some(Slot::Missing(_)) => match self.first_present() {
                Some((i, e)) => (i, forced || self.gap_deadline(e) <= now),
                None => (self.ring.len(), forced),
            },
            None => return None,
        };
        if !due {
            return None;
        }
        let run = if forced {
            run.min((self.forced_until - self.head) as usize)
        } else {
            run
        };
        let first = self.head as u16;
        self.ring.drain(..run);
        self.head += run as i64;
        self.released_any = true;
        self.stats.lost += run as u64;
        Some(Output::Lost {
            first,
            count: run as u16,
        })
    }

    fn release_head(&mut self) -> Option<Output<T>> {
        match self.ring.pop_front() {
            Some(Slot::Present(e)) => {
                self.head += 1;
                self.present -= 1;
                self.released_any = true;
                self.stats.released += 1;
                Some(Output::Packet(e.packet))
            }
            Some(other) => {
                self.ring.push_front(other);
                None
            }
            None => None,
        }
    }

    /// When something next becomes due (output, a gap deadline, the pre-buffer end, or a
    /// NACK), or `None` when nothing is pending. A time in the past means "now".
    pub fn poll_timeout(&self) -> Option<Instant> {
        let now = self.now?;
        if !self.flushed.is_empty() {
            return Some(now);
        }
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| {
            next = Some(next.map_or(t, |n: Instant| n.min(t)));
        };
        if let Some(nack) = self.cfg.nack {
            for slot in &self.ring {
                if let Slot::Missing(m) = slot {
                    if m.retries < nack.max_retries {
                        consider(m.next_nack);
                    }
                }
            }
        }
        if !self.ring.is_empty() {
            let forced = self.head < self.forced_until;
            let out = if forced {
                Some(now)
            } else {
                match self.ring.front() {
                    Some(Slot::Present(e)) => Some(self.release_time(e)),
                    _ => self.first_present().map(|(_, e)| self.gap_deadline(e)),
                }
            };
            let out = if self.output_started {
                out
            } else {
                let gate = self
                    .first_arrival
                    .and_then(|t| t.checked_add(self.gate_delay()));
                match (out, gate) {
                    (Some(o), Some(g)) => Some(o.max(g)),
                    (o, g) => o.or(g),
                }
            };
            if let Some(o) = out {
                consider(o);
            }
        }
        next
    }
}
