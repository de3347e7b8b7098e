//! RFC 3550 A.8 interarrival jitter.

use std::time::Instant;

/// The interarrival jitter estimator of RFC 3550 section 6.4.1 / appendix A.8: the mean
/// deviation of the transit-time difference between consecutive packets, smoothed with
/// gain 1/16, in RTP timestamp units. Kept scaled by 16 (as in A.8) to avoid rounding drift.
#[derive(Clone, Debug)]
pub struct JitterEstimator {
    clock_rate: u32,
    epoch: Option<Instant>,
    last_transit: Option<i64>,
    jitter_q4: i64,
}

impl JitterEstimator {
    /// A new estimator for a stream with this RTP clock rate.
    pub fn new(clock_rate: u32) -> JitterEstimator {
        JitterEstimator {
            clock_rate: clock_rate.max(1),
            epoch: None,
            last_transit: None,
            jitter_q4: 0,
        }
    }

    /// Forgets the previous transit (after a stream restart); keeps the estimate.
    pub fn reset(&mut self) {
        self.last_transit = None;
    }

    /// Feeds one packet: its arrival time and its (extended) RTP timestamp.
    pub fn update(&mut self, arrival: Instant, rtp_ts: i64) {
        let epoch = *self.epoch.get_or_insert(arrival);
        let since = arrival.saturating_duration_since(epoch);
        let arrival_ts =
            since.as_nanos().saturating_mul(u128::from(self.clock_rate)) / 1_000_000_000;
        let arrival_ts = i64::try_from(arrival_ts).unwrap_or(i64::MAX);
        let transit = arrival_ts.saturating_sub(rtp_ts);
        if let Some(last) = self.last_transit {
            // Clamp d so that hostile timestamps cannot overflow the estimate.
            let d = transit.saturating_sub(last).saturating_abs().min(1 << 40);
            self.jitter_q4 += d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// The estimate in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }
}
