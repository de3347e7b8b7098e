//! 64-bit NTP timestamps as used by RTCP sender reports (RFC 3550 4).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// A 64-bit NTP timestamp: seconds since 1900 in the high 32 bits, binary fraction in the low
/// 32 bits (RFC 3550 4). Wraps in 2036, as on the wire.
///
/// ```
/// use std::time::Duration;
/// use weir_rtp_rtcp::NtpTime;
/// let t = NtpTime::from_unix(Duration::from_millis(1_500));
/// assert_eq!(t.seconds(), 2_208_988_801);
/// assert_eq!(t.fraction(), 0x8000_0000);
/// assert_eq!(t.to_unix(), Duration::from_millis(1_500));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// From the whole seconds and the fraction.
    pub fn new(seconds: u32, fraction: u32) -> NtpTime {
        NtpTime((u64::from(seconds) << 32) | u64::from(fraction))
    }

    /// From time since the Unix epoch (the seconds wrap modulo 2^32, as NTP era 0/1 do).
    pub fn from_unix(since_epoch: Duration) -> NtpTime {
        let secs = since_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECS) & 0xFFFF_FFFF;
        let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((secs << 32) | frac)
    }

    /// From a wallclock reading supplied by the caller (times before 1970 map to the epoch).
    pub fn from_system_time(t: SystemTime) -> NtpTime {
        NtpTime::from_unix(t.duration_since(UNIX_EPOCH).unwrap_or_default())
    }

    /// Time since the Unix epoch, assuming NTP era 0 (1900–2036) for seconds at or after
    /// 1970 and era 1 (2036–2104) below that.
    pub fn to_unix(self) -> Duration {
        let secs = u64::from(self.seconds());
        let secs = if secs >= NTP_UNIX_OFFSET_SECS {
            secs - NTP_UNIX_OFFSET_SECS
        } else {
            secs + (1 << 32) - NTP_UNIX_OFFSET_SECS
        };
        // Round the fraction to the nearest nanosecond.
        let nanos = ((u64::from(self.fraction()) * 1_000_000_000) + (1 << 31)) >> 32;
        Duration::from_secs(secs) + Duration::from_nanos(nanos)
    }

    /// Whole seconds.
    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Fraction of a second in units of 2^-32 s.
    pub fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// The middle 32 bits (16.16 fixed point), as carried in the LSR field of report blocks.
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }

    /// `self` plus `d` (wrapping, like the wire format).
    pub fn add_duration(self, d: Duration) -> NtpTime {
        NtpTime(self.0.wrapping_add(duration_to_ntp_units(d)))
    }

    /// Signed difference `self - earlier` in nanoseconds, in the wrapping arithmetic of the
    /// 64-bit format (valid for instants within 68 years of each other).
    pub fn nanos_since(self, earlier: NtpTime) -> i128 {
        let diff = self.0.wrapping_sub(earlier.0) as i64;
        (i128::from(diff) * 1_000_000_000) >> 32
    }
}

/// A duration in NTP units of 2^-32 s (saturating).
pub(crate) fn duration_to_ntp_units(d: Duration) -> u64 {
    let secs = d.as_secs().min(u64::from(u32::MAX));
    (secs << 32) + ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// A duration in units of 1/65536 s, as in the DLSR field (saturating at `u32::MAX`).
pub fn duration_to_dlsr(d: Duration) -> u32 {
    let units = d.as_nanos().saturating_mul(65_536) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A DLSR-style value (1/65536 s units) as a duration.
pub fn dlsr_to_duration(units: u32) -> Duration {
    Duration::from_nanos((u64::from(units) * 1_000_000_000) >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_roundtrip_and_middle() {
        let d = Duration::new(1_700_000_000, 123_456_789);
        let t = NtpTime::from_unix(d);
        let back = t.to_unix();
        assert!(back.abs_diff(d) <= Duration::from_nanos(1));
        assert_eq!(
            t.middle32(),
            ((t.seconds() & 0xFFFF) << 16) | (t.fraction() >> 16)
        );
        let later = t.add_duration(Duration::from_millis(250));
        let n = later.nanos_since(t);
        assert!((n - 250_000_000).abs() <= 1, "{n}");
        assert_eq!(duration_to_dlsr(Duration::from_millis(500)), 32_768);
        assert_eq!(dlsr_to_duration(65_536), Duration::from_secs(1));
    }
}
