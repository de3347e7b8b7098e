//! Extension of RTP's wrapping counters: 16-bit sequence numbers and 32-bit timestamps.

use weir_media::WrapExtender;

/// Extends 16-bit RTP sequence numbers to 64 bits.
///
/// Each number is placed nearest to the previous extended value, so reordered packets stay
/// behind and wraps keep counting up. The first number is taken as is; a packet that
/// precedes it across a wrap gets a negative value.
///
/// ```
/// use weir_rtp_rtcp::SequenceUnwrapper;
/// let mut u = SequenceUnwrapper::new();
/// assert_eq!(u.unwrap(65534), 65534);
/// assert_eq!(u.unwrap(1), 65537);       // wrapped
/// assert_eq!(u.unwrap(65535), 65535);   // late packet from before the wrap
/// ```
#[derive(Clone, Debug)]
pub struct SequenceUnwrapper(WrapExtender);

impl Default for SequenceUnwrapper {
    fn default() -> Self {
        Self::new()
    }
}

impl SequenceUnwrapper {
    /// A fresh unwrapper.
    pub fn new() -> Self {
        SequenceUnwrapper(WrapExtender::new(16))
    }
    /// Extends `seq`.
    pub fn unwrap(&mut self, seq: u16) -> i64 {
        self.0.extend(u64::from(seq))
    }
    /// The signed distance from the last number to `seq` (in `-32767..=32768`), without
    /// updating state; `None` before the first number.
    pub fn peek_delta(&self, seq: u16) -> Option<i64> {
        self.0.peek_delta(u64::from(seq))
    }
    /// The last extended value.
    pub fn last(&self) -> Option<i64> {
        self.0.last()
    }
    /// Forgets history (after a known discontinuity such as an SSRC change).
    pub fn reset(&mut self) {
        self.0.reset()
    }
}

/// Extends 32-bit RTP timestamps to 64 bits (same rules as [`SequenceUnwrapper`]).
///
/// ```
/// use weir_rtp_rtcp::TimestampUnwrapper;
/// let mut u = TimestampUnwrapper::new();
/// assert_eq!(u.unwrap(0xFFFF_FF00), 0xFFFF_FF00);
/// assert_eq!(u.unwrap(0x100), 0x1_0000_0100);
/// ```
#[derive(Clone, Debug)]
pub struct TimestampUnwrapper(WrapExtender);

impl Default for TimestampUnwrapper {
    fn default() -> Self {
        Self::new()
    }
}

impl TimestampUnwrapper {
    /// A fresh unwrapper.
    pub fn new() -> Self {
        TimestampUnwrapper(WrapExtender::new(32))
    }
    /// Extends `ts`.
    pub fn unwrap(&mut self, ts: u32) -> i64 {
        self.0.extend(u64::from(ts))
    }
    /// The signed distance from the last timestamp to `ts`, without updating state.
    pub fn peek_delta(&self, ts: u32) -> Option<i64> {
        self.0.peek_delta(u64::from(ts))
    }
    /// The last extended value.
    pub fn last(&self) -> Option<i64> {
        self.0.last()
    }
    /// Forgets history.
    pub fn reset(&mut self) {
        self.0.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_runs_across_many_wraps() {
        let mut u = SequenceUnwrapper::new();
        let start = 60_000u16;
        for i in 0..300_000i64 {
            let seq = start.wrapping_add(i as u16);
            assert_eq!(u.unwrap(seq), 60_000 + i);
        }
    }

    #[test]
    fn timestamp_backwards_step() {
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap(10), 10);
        assert_eq!(u.unwrap(0xFFFF_FFF0), -16);
        assert_eq!(u.unwrap(20), 20);
    }
}
