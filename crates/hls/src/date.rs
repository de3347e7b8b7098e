//! `EXT-X-PROGRAM-DATE-TIME` values: ISO 8601 date-times with millisecond precision.

use std::fmt;
use std::time::Duration;

/// An absolute date and time, as milliseconds since 1970-01-01T00:00:00Z (leap seconds not
/// counted, like Unix time). Written as `YYYY-MM-DDThh:mm:ss.sssZ`; read with any UTC
/// offset (`Z`, `+08:00`, `-0500`) or none (UTC, §4.4.4.6).
///
/// ```
/// use weir_hls::DateTime;
/// let t: DateTime = "2010-02-19T14:54:23.031+08:00".parse()?;
/// assert_eq!(t.to_string(), "2010-02-19T06:54:23.031Z");
/// assert_eq!(t.unix_millis(), 1_266_562_463_031);
/// # Ok::<(), weir_hls::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(i64);

impl DateTime {
    /// From milliseconds since the Unix epoch.
    pub const fn from_unix_millis(ms: i64) -> DateTime {
        DateTime(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// This time plus `d` (saturating; sub-millisecond parts of `d` are rounded to the
    /// nearest millisecond).
    pub fn plus(self, d: Duration) -> DateTime {
        let ms = (d.as_micros().saturating_add(500) / 1000).min(i64::MAX as u128) as i64;
        DateTime(self.0.saturating_add(ms))
    }

    /// Parses an ISO 8601 date-time as HLS uses it.
    ///
    /// # Errors
    /// [`Error::Line`](crate::Error::Line) with line 0 when `s` is not one.
    pub fn parse(s: &str) -> crate::Result<DateTime> {
        parse(s).ok_or(crate::Error::Line {
            line: 0,
            tag: "EXT-X-PROGRAM-DATE-TIME",
            reason: "not an ISO 8601 date-time",
        })
    }
}

impl std::str::FromStr for DateTime {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<DateTime> {
        DateTime::parse(s)
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_date(y: i64, m: i64, d: i64) -> i64 {
    // Count from 0000-03-01 so the leap day is the last day of a year.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count from 1970-01-01.
fn date_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn digits(s: &str, n: usize) -> Option<i64> {
    let part = s.get(..n)?;
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

fn parse(s: &str) -> Option<DateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let y = digits(s, 4)?;
    let mo = digits(s.get(5..)?, 2)?;
    let d = digits(s.get(8..)?, 2)?;
    let h = digits(s.get(11..)?, 2)?;
    let mi = digits(s.get(14..)?, 2)?;
    let sec = digits(s.get(17..)?, 2)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        for (i, c) in frac.bytes().take(n.min(3)).enumerate() {
            ms += i64::from(c - b'0') * 10i64.pow(2 - i as u32);
        }
        rest = &frac[n..];
    }
    let offset_min = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let o = &rest[1..];
            let (oh, om) = match o.len() {
                5 if o.as_bytes()[2] == b':' => (digits(o, 2)?, digits(o.get(3..)?, 2)?),
                4 => (digits(o, 2)?, digits(o.get(2..)?, 2)?),
                2 => (digits(o, 2)?, 0),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    let days = days_from_date(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(DateTime(secs * 1000 + ms))
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = date_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let t = DateTime::parse("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(t.unix_millis(), 0);
        let t = DateTime::parse("2000-02-29T12:00:00.5Z").unwrap();
        assert_eq!(t.unix_millis(), 951_825_600_500);
        assert_eq!(t.to_string(), "2000-02-29T12:00:00.500Z");
        let t = DateTime::parse("2024-12-31T23:59:59.999-0130").unwrap();
        assert_eq!(t.to_string(), "2025-01-01T01:29:59.999Z");
        assert_eq!(
            DateTime::from_unix_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+1",
            "2024-01-01T00:00:00Zjunk",
            "２024-01-01T00:00:00Z",
        ] {
            assert!(DateTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn days_roundtrip() {
        for z in (-800_000..800_000).step_by(97) {
            let (y, m, d) = date_from_days(z);
            assert_eq!(days_from_date(y, m, d), z);
        }
    }
}
