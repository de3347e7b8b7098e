//! RFC 8216bis §4.2 value types: attribute lists, decimal integers, decimal floating-point
//! seconds (kept exact as [`Duration`]s), and their writing.

use std::fmt::{self, Write};
use std::time::Duration;

/// One attribute value: a quoted string (quotes removed) or anything else, verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Quoted(&'a str),
    Plain(&'a str),
}

impl<'a> Value<'a> {
    pub(crate) fn quoted(self) -> Option<&'a str> {
        match self {
            Value::Quoted(s) => Some(s),
            Value::Plain(_) => None,
        }
    }

    pub(crate) fn plain(self) -> Option<&'a str> {
        match self {
            Value::Plain(s) => Some(s),
            Value::Quoted(_) => None,
        }
    }
}

/// Splits an attribute list (`NAME=value,NAME="quoted, with comma"`) into pairs. `None`
/// when it is malformed (a name that is not `[A-Z0-9-]+`, no `=`, an unterminated quote,
/// junk after a quoted string).
pub(crate) fn attributes(list: &str) -> Option<Vec<(&str, Value<'_>)>> {
    let mut out = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let name = &rest[..eq];
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return None;
        }
        rest = &rest[eq + 1..];
        let value = if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"')?;
            let v = &q[..end];
            rest = &q[end + 1..];
            Value::Quoted(v)
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let v = &rest[..end];
            rest = &rest[end..];
            Value::Plain(v)
        };
        out.push((name, value));
        match rest.strip_prefix(',') {
            Some(r) if !r.is_empty() => rest = r,
            Some(_) => return None,
            None if rest.is_empty() => {}
            None => return None,
        }
    }
    Some(out)
}

/// A decimal-integer (§4.2): 1 to 20 digits, 0 to 2^64-1.
pub(crate) fn decimal_integer(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A non-negative decimal-floating-point number of seconds, exact to the nanosecond (more
/// digits are truncated). Integers are accepted.
pub(crate) fn seconds(s: &str) -> Option<Duration> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let secs: u64 = if int.is_empty() {
        0
    } else {
        // More than 12 digits of seconds (31,000 years) is not a duration.
        if int.len() > 12 {
            return None;
        }
        int.parse().ok()?
    };
    let mut nanos: u32 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    Some(Duration::new(secs, nanos))
}

/// Writes `d` in seconds, rounded to 10 µs, trailing zeros trimmed, at least one decimal
/// (`2.0`, `0.2`, `1.96`).
pub(crate) fn write_seconds(w: &mut impl Write, d: Duration) -> fmt::Result {
    // Round to the nearest 10 µs.
    let total = d.as_nanos().saturating_add(5_000) / 10_000;
    let secs = total / 100_000;
    let mut frac = (total % 100_000) as u32;
    let mut digits = 5;
    while digits > 1 && frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    write!(w, "{secs}.{frac:0digits$}")
}

/// A `<n>[@<o>]` byte range (EXT-X-BYTERANGE, and the BYTERANGE attribute of EXT-X-PART and
/// EXT-X-MAP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// Length in bytes.
    pub length: u64,
    /// Offset of the first byte; `None`: right after the previous range of the same resource.
    pub offset: Option<u64>,
}

impl ByteRange {
    pub(crate) fn parse(s: &str) -> Option<ByteRange> {
        let (n, o) = match s.split_once('@') {
            Some((n, o)) => (n, Some(decimal_integer(o)?)),
            None => (s, None),
        };
        Some(ByteRange {
            length: decimal_integer(n)?,
            offset: o,
        })
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{}@{o}", self.length),
            None => write!(f, "{}", self.length),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_lists() {
        let a = attributes(r#"DURATION=0.2,URI="a,b.m4s",INDEPENDENT=YES"#).unwrap();
        assert_eq!(
            a,
            vec![
                ("DURATION", Value::Plain("0.2")),
                ("URI", Value::Quoted("a,b.m4s")),
                ("INDEPENDENT", Value::Plain("YES")),
            ]
        );
        for bad in [
            "URI",
            "uri=1",
            r#"URI="x"#,
            r#"URI="x"y"#,
            "A=1,",
            "=1",
            "A=1,,B=2",
        ] {
            assert!(attributes(bad).is_none(), "{bad}");
        }
        assert_eq!(attributes("").unwrap(), vec![]);
    }

    #[test]
    fn numbers() {
        assert_eq!(decimal_integer("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "-1",
            "+1",
            "18446744073709551616",
            "1e3",
            " 1",
            "000000000000000000001",
        ] {
            assert_eq!(decimal_integer(bad), None, "{bad}");
        }
        assert_eq!(seconds("2"), Some(Duration::from_secs(2)));
        assert_eq!(seconds("0.2"), Some(Duration::from_millis(200)));
        assert_eq!(seconds(".5"), Some(Duration::from_millis(500)));
        assert_eq!(seconds("1.0000000019"), Some(Duration::new(1, 1)));
        for bad in ["", ".", "-1", "1.2.3", "1e3", "nan", "9999999999999"] {
            assert_eq!(seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn writing_seconds() {
        let s = |d| {
            let mut o = String::new();
            write_seconds(&mut o, d).unwrap();
            o
        };
        assert_eq!(s(Duration::from_secs(2)), "2.0");
        assert_eq!(s(Duration::from_millis(200)), "0.2");
        assert_eq!(s(Duration::from_micros(1_960_010)), "1.96001");
        assert_eq!(s(Duration::from_nanos(199_988_889)), "0.19999");
        assert_eq!(s(Duration::from_nanos(9_999_999_999)), "10.0");
    }
}
