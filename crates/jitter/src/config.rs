//! Configuration and its validation.

use core::time::Duration;

use crate::Error;

/// How packets are scheduled for output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Playout {
    /// Low-latency reordering: a packet that continues the sequence goes out at once; a gap
    /// is waited for at most `latency` after the first packet behind it arrived, then
    /// reported lost. This is what a relay wants.
    Reorder {
        /// How long a gap may hold later packets back.
        latency: Duration,
    },
    /// Smooth playout: each packet goes out at `delay` after its expected arrival, derived
    /// from its RTP timestamp and the fastest transit seen so far (so late packets within
    /// `delay` are still in time and output is paced like the sender's clock).
    Fixed {
        /// Playout delay added to the minimum transit time.
        delay: Duration,
    },
    /// Like [`Playout::Fixed`], with a delay of `jitter_factor` × the RFC 3550 interarrival
    /// jitter estimate, clamped to `min..=max`.
    Adaptive {
        /// Smallest delay.
        min: Duration,
        /// Largest delay.
        max: Duration,
        /// Multiplier applied to the jitter estimate (typically 2 to 4).
        jitter_factor: u32,
    },
}

/// NACK (retransmission request) generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NackConfig {
    /// Wait this long after a gap is detected before the first request (tolerates plain
    /// reordering).
    pub initial_delay: Duration,
    /// Interval between repeated requests for the same packet (about one RTT).
    pub retry_interval: Duration,
    /// Requests per missing packet, at most.
    pub max_retries: u8,
}

impl Default for NackConfig {
    fn default() -> Self {
        NackConfig {
            initial_delay: Duration::from_millis(10),
            retry_interval: Duration::from_millis(50),
            max_retries: 3,
        }
    }
}

/// What to do with a packet that arrives after its sequence position was passed (already
/// output, or declared lost).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LatePolicy {
    /// Drop it (counted in `Stats::late`).
    #[default]
    Drop,
    /// Hand it out at once as [`Output::Late`](crate::Output::Late), out of order, for
    /// consumers that can still use it (recorders, FEC, retransmission statistics).
    Deliver,
}

/// Jitter buffer configuration. All limits are explicit; [`Config::validate`] checks them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// RTP clock rate of the stream (Hz), for timestamps → time.
    pub clock_rate: u32,
    /// Scheduling mode.
    pub playout: Playout,
    /// Startup pre-buffer: output starts only once this much media is buffered (by RTP
    /// timestamp span) or this long after the first packet arrived, whichever is first.
    pub prebuffer: Duration,
    /// Most packets held at once. When full, the oldest packet is dropped (and reported
    /// lost) to make room.
    pub max_packets: usize,
    /// Largest sequence-number span held (newest − next to output). A packet further ahead,
    /// or further behind than this, starts a resynchronisation probe (RFC 3550 A.1 style):
    /// it is accepted only when the next packet continues it.
    pub max_window: u16,
    /// NACK generation; `None` disables it.
    pub nack: Option<NackConfig>,
    /// Late-packet policy.
    pub late: LatePolicy,
}

impl Config {
    /// A relay-style config: reorder only, `latency` wait for gaps, 512 packets, window
    /// 1024, NACK off, late packets dropped.
    pub fn reorder(clock_rate: u32, latency: Duration) -> Config {
        Config {
            clock_rate,
            playout: Playout::Reorder { latency },
            prebuffer: Duration::ZERO,
            max_packets: 512,
            max_window: 1024,
            nack: None,
            late: LatePolicy::Drop,
        }
    }

    /// Checks ranges: clock rate > 0, 1 ≤ max_packets, 1 ≤ max_window ≤ 32767, adaptive
    /// `min ≤ max`.
    pub fn validate(&self) -> Result<(), Error> {
        if self.clock_rate == 0 {
            return Err(Error::InvalidConfig {
                field: "clock_rate",
                reason: "must be positive",
            });
        }
        if self.max_packets == 0 {
            return Err(Error::InvalidConfig {
                field: "max_packets",
                reason: "must be at least 1",
            });
        }
        if self.max_window == 0 || self.max_window > 0x7FFF {
            return Err(Error::InvalidConfig {
                field: "max_window",
                reason: "must be 1 to 32767 (half the sequence space)",
            });
        }
        if let Playout::Adaptive { min, max, .. } = self.playout {
            if min > max {
                return Err(Error::InvalidConfig {
                    field: "playout",
                    reason: "adaptive min delay exceeds max",
                });
            }
        }
        Ok(())
    }
}
