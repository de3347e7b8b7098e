//! Typed timestamps and timebase conversion.
//!
//! A [`Timestamp`] is a tick count plus the [`Timebase`] that gives the ticks meaning.
//! Converting between timebases ([`Timestamp::rescale`]) uses 128-bit intermediate
//! arithmetic and rounds to nearest, so it never overflows and never drifts: always convert
//! *absolute* timestamps (not accumulated deltas) and the error stays below half a tick.
//!
//! Wire formats carry truncated counters (RTP and RTMP 32 bits, MPEG PTS/DTS 33 bits, RTP
//! sequence numbers 16 bits); [`WrapExtender`] turns such a counter into a monotonic-ish
//! `i64` by picking the candidate nearest to the previous value.

use core::cmp::Ordering;
use core::fmt;
use core::time::Duration;

/// The length of one tick: `num / den` seconds. Both parts are non-zero.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timebase {
    num: u32,
    den: u32,
}

impl Timebase {
    /// Milliseconds (RTMP, FLV).
    pub const MILLIS: Timebase = Timebase { num: 1, den: 1000 };
    /// Microseconds.
    pub const MICROS: Timebase = Timebase {
        num: 1,
        den: 1_000_000,
    };
    /// Nanoseconds.
    pub const NANOS: Timebase = Timebase {
        num: 1,
        den: 1_000_000_000,
    };
    /// 90 kHz (MPEG-TS/PS PTS and DTS, RTP video).
    pub const MPEG: Timebase = Timebase {
        num: 1,
        den: 90_000,
    };

    /// `num / den` seconds per tick; `None` if either is zero.
    pub const fn new(num: u32, den: u32) -> Option<Timebase> {
        if num == 0 || den == 0 {
            None
        } else {
            Some(Timebase { num, den })
        }
    }

    /// A clock of `rate` ticks per second (`1 / rate`); `None` for 0.
    pub const fn hz(rate: u32) -> Option<Timebase> {
        Timebase::new(1, rate)
    }

    /// Numerator (seconds).
    pub const fn num(self) -> u32 {
        self.num
    }

    /// Denominator.
    pub const fn den(self) -> u32 {
        self.den
    }
}

impl fmt::Display for Timebase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// Rescales `ticks` from `from` to `to`, rounding half away from zero and saturating at the
/// `i64` range.
pub fn rescale(ticks: i64, from: Timebase, to: Timebase) -> i64 {
    if from == to {
        return ticks;
    }
    // ticks * from.num / from.den = x * to.num / to.den
    // x = ticks * from.num * to.den / (from.den * to.num)
    // |ticks| < 2^63, from.num * to.den < 2^64, product < 2^127: fits i128.
    let n = i128::from(ticks) * i128::from(from.num) * i128::from(to.den);
    let d = i128::from(from.den) * i128::from(to.num);
    let q = n / d;
    let r = n % d;
    let q = if 2 * r.abs() >= d { q + n.signum() } else { q };
    q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// A point in time: ticks of a [`Timebase`].
///
/// Equality and hashing compare the raw pair; use [`Timestamp::cmp_instant`] to compare
/// instants across timebases.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    ticks: i64,
    timebase: Timebase,
}

impl Timestamp {
    /// `ticks` of `timebase`.
    pub const fn new(ticks: i64, timebase: Timebase) -> Timestamp {
        Timestamp { ticks, timebase }
    }

    /// The tick count.
    pub const fn ticks(self) -> i64 {
        self.ticks
    }

    /// The timebase.
    pub const fn timebase(self) -> Timebase {
        self.timebase
    }

    /// The same instant in another timebase (nearest tick, saturating).
    ///
    /// ```
    /// use weir_media::{Timebase, Timestamp};
    /// let t = Timestamp::new(1001, Timebase::MILLIS);
    /// assert_eq!(t.rescale(Timebase::MPEG).ticks(), 90_090);
    /// assert_eq!(t.rescale(Timebase::hz(48_000).unwrap()).ticks(), 48_048);
    /// ```
    pub fn rescale(self, to: Timebase) -> Timestamp {
        Timestamp {
            ticks: rescale(self.ticks, self.timebase, to),
            timebase: to,
        }
    }

    /// Seconds as a float (for logs and statistics, not for arithmetic).
    pub fn as_secs_f64(self) -> f64 {
        self.ticks as f64 * f64::from(self.timebase.num) / f64::from(self.timebase.den)
    }

    /// Adds `ticks` of this timestamp's timebase; `None` on overflow.
    pub fn checked_add_ticks(self, ticks: i64) -> Option<Timestamp> {
        Some(Timestamp {
            ticks: self.ticks.checked_add(ticks)?,
            timebase: self.timebase,
        })
    }

    /// `self - earlier` as a [`Duration`]; `None` if `earlier` is later than `self`.
    pub fn duration_since(self, earlier: Timestamp) -> Option<Duration> {
        let a = rescale(self.ticks, self.timebase, Timebase::NANOS);
        let b = rescale(earlier.ticks, earlier.timebase, Timebase::NANOS);
        let d = a.checked_sub(b)?;
        u64::try_from(d).ok().map(Duration::from_nanos)
    }

    /// Orders two instants, whatever their timebases (exact, by cross-multiplication).
    pub fn cmp_instant(self, other: Timestamp) -> Ordering {
        let a =
            i128::from(self.ticks) * i128::from(self.timebase.num) * i128::from(other.timebase.den);
        let b = i128::from(other.ticks)
            * i128::from(other.timebase.num)
            * i128::from(self.timebase.den);
        a.cmp(&b)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.ticks, self.timebase)
    }
}

/// Extends a wrapping `bits`-bit counter (RTP/RTMP timestamps: 32, MPEG PTS/DTS: 33,
/// RTP sequence numbers: 16) to an `i64`.
///
/// Each value is placed in the wrap period that puts it nearest to the previous extended
/// value, so small steps backwards (B-frame PTS, reordered packets) stay backwards instead
/// of jumping a whole period, and forward wraps keep counting up.
///
/// ```
/// use weir_media::WrapExtender;
/// let mut ext = WrapExtender::new(32);
/// assert_eq!(ext.extend(0xFFFF_FFF0), 0xFFFF_FFF0);
/// assert_eq!(ext.extend(0x10), 0x1_0000_0010);     // wrapped forward
/// assert_eq!(ext.extend(0xFFFF_FFFF), 0xFFFF_FFFF); // small step back, before the wrap
/// ```
#[derive(Clone, Debug)]
pub struct WrapExtender {
    bits: u32,
    last: Option<i64>,
}

impl WrapExtender {
    /// An extender for a counter of `bits` bits (clamped to 1..=62).
    pub fn new(bits: u32) -> WrapExtender {
        WrapExtender {
            bits: bits.clamp(1, 62),
            last: None,
        }
    }

    /// The width of the counter.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The last extended value, if any.
    pub fn last(&self) -> Option<i64> {
        self.last
    }

    /// Forgets history: the next value is taken as is (use after a known discontinuity).
    pub fn reset(&mut self) {
        self.last = None;
    }

    /// Extends `raw` (only its low `bits` bits are used).
    pub fn extend(&mut self, raw: u64) -> i64 {
        let period: i64 = 1 << self.bits;
        let raw = (raw & (period as u64 - 1)) as i64;
        let value = match self.last {
            None => raw,
            Some(last) => {
                // Candidate in the same period as `last`, then move by one period if the
                // distance is more than half a period.
                let base = last - last.rem_euclid(period);
                let mut v = base.saturating_add(raw);
                let half = period / 2;
                if v - last > half {
                    v = v.saturating_sub(period);
                } else if last - v > half {
                    v = v.saturating_add(period);
                }
                v
            }
        };
        self.last = Some(value);
        value
    }

    /// The difference `raw - last` in the counter's modular arithmetic, as a signed value
    /// in `(-period/2, period/2]`, without updating state. `None` before the first value.
    pub fn peek_delta(&self, raw: u64) -> Option<i64> {
        let last = self.last?;
        let period: i64 = 1 << self.bits;
        let raw = (raw & (period as u64 - 1)) as i64;
        let mut d = (raw - last.rem_euclid(period)).rem_euclid(period);
        if d > period / 2 {
            d -= period;
        }
        Some(d)
    }
}
