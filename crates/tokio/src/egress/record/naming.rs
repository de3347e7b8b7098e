//! Pure helpers: UTC times in file names and RFC 3339, stream patterns, safe relative
//! paths. No clock, no file system.

use std::path::{Component, Path, PathBuf};

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day number since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Splits Unix seconds into (y, m, d, hh, mm, ss).
fn split(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// The file-name form of a UTC time: `2026-12-07T10-00-00Z` (no `:`, which some file
/// systems and URLs dislike).
pub(crate) fn file_stamp(unix_secs: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix_secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}-{mi:02}-{s:02}Z")
}

/// RFC 3339 UTC with milliseconds: `2026-12-07T10:00:00.250Z`.
pub(crate) fn rfc3339_ms(unix_ms: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix_ms.div_euclid(1000));
    let ms = unix_ms.rem_euclid(1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

fn num(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD` + separator + `hh?mm?ss` where `?` is `sep`.
fn date_time(s: &str, sep: char) -> Option<(i64, &str)> {
    let date = s.get(..10)?;
    let t = s.get(10..11)?;
    if !t.eq_ignore_ascii_case("t") && t != " " {
        return None;
    }
    let time = s.get(11..19)?;
    let mut d = date.split('-');
    let (y, mo, da) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let mut t = time.split(sep);
    let (h, mi, se) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, da);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se);
    Some((secs, s.get(19..)?))
}

/// Parses an RFC 3339 time (`2026-12-07T10:00:00Z`, fractions, `+hh:mm` offsets) into
/// Unix milliseconds.
pub(crate) fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let (secs, mut rest) = date_time(s.trim(), ':')?;
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        let digits = frac.get(..n)?;
        if digits.is_empty() {
            return None;
        }
        let mut v = 0i64;
        for (i, b) in digits.bytes().take(3).enumerate() {
            v += i64::from(b - b'0') * 10i64.pow(2 - i as u32);
        }
        ms = v;
        rest = frac.get(n..)?;
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let (h, m) = rest.get(1..)?.split_once(':')?;
            let (h, m) = (num(h)?, num(m)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * i64::from(h * 3600 + m * 60)
        }
    };
    Some((secs - offset_secs) * 1000 + ms)
}

/// A recording file name: `{stamp}.{ext}` or `{stamp}_{n}.{ext}` (a second file started
/// within the same second). Returns (Unix seconds of the start, extension).
pub(crate) fn parse_file_name(name: &str) -> Option<(i64, &str)> {
    let (stem, ext) = name.rsplit_once('.')?;
    let stamp = match stem.split_once('_') {
        Some((s, n)) => {
            num(n)?;
            s
        }
        None => stem,
    };
    let (secs, rest) = date_time(stamp, '-')?;
    (rest == "Z" && matches!(ext, "mp4" | "flv" | "ts")).then_some((secs, ext))
}

/// The name of the `n`th file started in second `unix_secs` (0: no suffix).
pub(crate) fn file_name(unix_secs: i64, n: u32, ext: &str) -> String {
    match n {
        0 => format!("{}.{ext}", file_stamp(unix_secs)),
        n => format!("{}_{n}.{ext}", file_stamp(unix_secs)),
    }
}

/// Whether `key` (`app/stream`) matches `pattern`: `*` matches any run of characters
/// within one `/`-separated part, `**` any run across parts; everything else literally.
pub(crate) fn matches(pattern: &str, key: &str) -> bool {
    fn go(p: &[u8], k: &[u8]) -> bool {
        match p.split_first() {
            None => k.is_empty(),
            Some((b'*', rest)) => {
                let (across, rest) = match rest.split_first() {
                    Some((b'*', r)) => (true, r),
                    _ => (false, rest),
                };
                let mut i = 0;
                loop {
                    if go(rest, &k[i..]) {
                        return true;
                    }
                    match k.get(i) {
                        Some(b'/') if !across => return false,
                        Some(_) => i += 1,
                        None => return false,
                    }
                }
            }
            Some((c, rest)) => k.first() == Some(c) && go(rest, &k[1..]),
        }
    }
    go(pattern.as_bytes(), key.as_bytes())
}

/// A client-supplied relative path made safe: `/`-separated parts, none empty, `.` or
/// `..`, no backslash or NUL, not absolute. `None` when it is not.
pub(crate) fn safe_relative(path: &str) -> Option<PathBuf> {
    let path = path.trim_start_matches('/');
    if path.is_empty() || path.contains(['\\', '\0']) {
        return None;
    }
    let mut out = PathBuf::new();
    for part in path.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return None;
        }
        out.push(part);
    }
    // Belt and braces: what the platform makes of it must be plain names only.
    out.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(out)
}

/// `{dir}/{app}/{stream}` for a stream key (`None` when the key is not a safe path).
pub(crate) fn stream_dir(dir: &Path, key: &str) -> Option<PathBuf> {
    safe_relative(key).map(|rel| dir.join(rel))
}

/// Percent-decodes a URL path (`None` for malformed escapes or non-UTF-8 results).
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value of `name` in a query string (`a=1&b=2`), percent-decoded (a `+` stays a `+`:
/// times carry offsets like `+01:00`).
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v)).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_roundtrip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for d in [-800_000i64, -1, 0, 59, 60, 11_016, 20_794, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn stamps_and_names() {
        // 2026-12-07T10:00:00Z
        let t = days_from_civil(2026, 12, 7) * 86_400 + 36_000;
        assert_eq!(file_stamp(t), "2026-12-07T10-00-00Z");
        assert_eq!(file_name(t, 0, "mp4"), "2026-12-07T10-00-00Z.mp4");
        assert_eq!(file_name(t, 2, "flv"), "2026-12-07T10-00-00Z_2.flv");
        assert_eq!(
            parse_file_name("2026-12-07T10-00-00Z.mp4"),
            Some((t, "mp4"))
        );
        assert_eq!(
            parse_file_name("2026-12-07T10-00-00Z_2.ts"),
            Some((t, "ts"))
        );
        for bad in [
            "2026-12-07T10-00-00.mp4",
            "2026-12-07T10:00:00Z.mp4",
            "2026-13-07T10-00-00Z.mp4",
            "2026-12-07T10-00-00Z.txt",
            "2026-12-07T10-00-00Z_x.mp4",
            "x.mp4",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
        assert_eq!(rfc3339_ms(t * 1000 + 250), "2026-12-07T10:00:00.250Z");
    }

    #[test]
    fn rfc3339() {
        let t = (days_from_civil(2026, 12, 7) * 86_400 + 36_000) * 1000;
        assert_eq!(parse_rfc3339_ms("2026-12-07T10:00:00Z"), Some(t));
        assert_eq!(parse_rfc3339_ms("2026-12-07T10:00:00.5Z"), Some(t + 500));
        assert_eq!(
            parse_rfc3339_ms("2026-12-07T10:00:00.123456Z"),
            Some(t + 123)
        );
        assert_eq!(parse_rfc3339_ms("2026-12-07T11:30:00+01:30"), Some(t));
        assert_eq!(parse_rfc3339_ms("2026-12-07t09:00:00-01:00"), Some(t));
        for bad in [
            "2026-12-07",
            "2026-12-07T10:00:00",
            "2026-12-07T10:00Z",
            "x",
            "2026-12-07T10:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn patterns() {
        assert!(matches("live/*", "live/cam"));
        assert!(!matches("live/*", "live/a/cam"));
        assert!(matches("live/**", "live/a/cam"));
        assert!(matches("*/cam*", "x/cam12"));
        assert!(!matches("live/*", "other/cam"));
        assert!(matches("live/cam", "live/cam"));
        assert!(!matches("live/cam", "live/cam2"));
        assert!(matches("**", "a/b/c"));
    }

    #[test]
    fn hostile_paths_are_refused() {
        assert_eq!(
            safe_relative("live/cam/x.mp4"),
            Some(PathBuf::from("live/cam/x.mp4"))
        );
        assert_eq!(safe_relative("/clip.mp4"), Some(PathBuf::from("clip.mp4")));
        for bad in [
            "",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/.",
            "a\\..\\b",
            "a\0b",
            "//etc/passwd",
        ] {
            if bad == "//etc/passwd" {
                // Leading slashes are stripped: the rest is a plain relative path.
                assert_eq!(safe_relative(bad), Some(PathBuf::from("etc/passwd")));
                continue;
            }
            assert_eq!(safe_relative(bad), None, "{bad:?}");
        }
        assert_eq!(percent_decode("a%2F..%2Fb"), Some("a/../b".into()));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(
            query_param(Some("start=2026-12-07T10%3A00%3A00Z&duration=5"), "start").as_deref(),
            Some("2026-12-07T10:00:00Z")
        );
        assert_eq!(query_param(Some("a=1"), "duration"), None);
    }
}
