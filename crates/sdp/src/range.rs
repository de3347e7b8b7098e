//! Time ranges: the value of SDP `a=range:` and of the RTSP `Range` header
//! (RFC 2326 §3.5–3.7 and §12.29; the same grammar in both places, RFC 2326 C.1.5).

use std::fmt;

use crate::error::{Error, Result};

/// One end of a normal-play-time range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NptTime {
    /// `now`: the live point.
    Now,
    /// Seconds from the start of the presentation (`123.45` or `h:mm:ss.frac` on the wire).
    Seconds(f64),
}

impl fmt::Display for NptTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NptTime::Now => f.write_str("now"),
            NptTime::Seconds(s) => {
                // Up to millisecond precision, without needless trailing zeros.
                let ms = (s * 1000.0).round();
                if ms.fract() == 0.0 && (ms % 1000.0) == 0.0 {
                    write!(f, "{}", (ms / 1000.0) as i64)
                } else {
                    let text = format!("{:.3}", s);
                    f.write_str(text.trim_end_matches('0'))
                }
            }
        }
    }
}

/// SMPTE time code flavour (RFC 2326 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmpteKind {
    /// `smpte`: 30 frames/s (non-drop).
    Smpte30,
    /// `smpte-30-drop`: 29.97 frames/s drop-frame.
    Smpte30Drop,
    /// `smpte-25`: 25 frames/s.
    Smpte25,
}

impl SmpteKind {
    fn name(self) -> &'static str {
        match self {
            SmpteKind::Smpte30 => "smpte",
            SmpteKind::Smpte30Drop => "smpte-30-drop",
            SmpteKind::Smpte25 => "smpte-25",
        }
    }
}

/// An SMPTE time code `hh:mm:ss[:frames[.subframes]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmpteTime {
    /// Hours.
    pub hours: u32,
    /// Minutes (0–59).
    pub minutes: u8,
    /// Seconds (0–59).
    pub seconds: u8,
    /// Frames within the second.
    pub frames: Option<u8>,
    /// Sub-frames (hundredths of a frame).
    pub subframes: Option<u8>,
}

impl fmt::Display for SmpteTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:02}:{:02}", self.hours, self.minutes, self.seconds)?;
        if let Some(fr) = self.frames {
            write!(f, ":{:02}", fr)?;
            if let Some(sf) = self.subframes {
                write!(f, ".{:02}", sf)?;
            }
        }
        Ok(())
    }
}

/// An absolute UTC time `YYYYMMDDThhmmss[.fraction]Z` (RFC 2326 §3.7), kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtcTime(String);

impl UtcTime {
    /// Validates and wraps `text`.
    pub fn parse(text: &str) -> Result<UtcTime> {
        let bad = Error::InvalidAttribute {
            attribute: "range",
            reason: "bad utc time",
        };
        let body = text.strip_suffix('Z').ok_or(bad.clone())?;
        let (date, time) = body.split_once('T').ok_or(bad.clone())?;
        let (whole, frac) = match time.split_once('.') {
            Some((w, fr)) => (w, Some(fr)),
            None => (time, None),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if date.len() != 8 || !digits(date) || whole.len() != 6 || !digits(whole) {
            return Err(bad);
        }
        if let Some(fr) = frac {
            if fr.is_empty() || !digits(fr) {
                return Err(bad);
            }
        }
        Ok(UtcTime(text.to_string()))
    }
    /// The wire text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A time range.
#[derive(Debug, Clone, PartialEq)]
pub enum Range {
    /// `npt=start-end`. Either end may be absent (`npt=0-`, `npt=-20`).
    Npt {
        /// Start, absent in `npt=-end`.
        start: Option<NptTime>,
        /// End, absent for an open range.
        end: Option<NptTime>,
    },
    /// `clock=start-[end]` in absolute UTC.
    Clock {
        /// Start.
        start: UtcTime,
        /// Optional end.
        end: Option<UtcTime>,
    },
    /// `smpte…=start-[end]`.
    Smpte {
        /// Which frame rate flavour.
        kind: SmpteKind,
        /// Start.
        start: SmpteTime,
        /// Optional end.
        end: Option<SmpteTime>,
    },
}

/// A range with the optional RTSP `;time=` parameter (when the range should take effect).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSpec {
    /// The range.
    pub range: Range,
    /// `time=` parameter, if present.
    pub time: Option<UtcTime>,
}

impl Range {
    /// `npt=0-`: from the start, open ended (what live servers announce).
    pub fn npt_from_start() -> Range {
        Range::Npt {
            start: Some(NptTime::Seconds(0.0)),
            end: None,
        }
    }

    /// Parses `npt=…`, `clock=…` or `smpte…=…` (without a `;time=` suffix; see [`RangeSpec::parse`]).
    pub fn parse(text: &str) -> Result<Range> {
        let bad = |reason| Error::InvalidAttribute {
            attribute: "range",
            reason,
        };
        let text = text.trim();
        let (unit, value) = text.split_once('=').ok_or(bad("missing `=`"))?;
        let unit = unit.trim();
        let value = value.trim();
        if unit.eq_ignore_ascii_case("npt") {
            let (a, b) = value.split_once('-').ok_or(bad("npt range without `-`"))?;
            let start = if a.trim().is_empty() {
                None
            } else {
                Some(parse_npt(a.trim())?)
            };
            let end = if b.trim().is_empty() {
                None
            } else {
                Some(parse_npt(b.trim())?)
            };
            if start.is_none() && end.is_none() {
                return Err(bad("empty npt range"));
            }
            Ok(Range::Npt { start, end })
        } else if unit.eq_ignore_ascii_case("clock") {
            let (a, b) = value
                .split_once('-')
                .ok_or(bad("clock range without `-`"))?;
            let start = UtcTime::parse(a.trim())?;
            let end = if b.trim().is_empty() {
                None
            } else {
                Some(UtcTime::parse(b.trim())?)
            };
            Ok(Range::Clock { start, end })
        } else {
            let kind = match unit.to_ascii_lowercase().as_str() {
                "smpte" => SmpteKind::Smpte30,
                "smpte-30-drop" => SmpteKind::Smpte30Drop,
                "smpte-25" => SmpteKind::Smpte25,
                _ => return Err(bad("unknown range unit")),
            };
            let (a, b) = value
                .split_once('-')
                .ok_or(bad("smpte range without `-`"))?;
            let start = parse_smpte(a.trim())?;
            let end = if b.trim().is_empty() {
                None
            } else {
                Some(parse_smpte(b.trim())?)
            };
            Ok(Range::Smpte { kind, start, end })
        }
    }
}

impl RangeSpec {
    /// Parses a range followed by optional `;time=…` (unknown parameters are ignored).
    pub fn parse(text: &str) -> Result<RangeSpec> {
        let mut parts = text.split(';');
        let range = Range::parse(parts.next().unwrap_or(""))?;
        let mut time = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("time") {
                    time = Some(UtcTime::parse(v.trim())?);
                }
            }
        }
        Ok(RangeSpec { range, time })
    }
}

impl fmt::Display for RangeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.range)?;
        if let Some(t) = &self.time {
            write!(f, ";time={}", t.as_str())?;
        }
        Ok(())
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_npt(s: &str) -> Result<NptTime> {
    let bad = Error::InvalidAttribute {
        attribute: "range",
        reason: "bad npt time",
    };
    if s.eq_ignore_ascii_case("now") {
        return Ok(NptTime::Now);
    }
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return Err(bad);
    }
    let frac_val: f64 = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse().map_err(|_| bad.clone())?
    };
    let secs: f64 = if whole.contains(':') {
        // npt-hhmmss = npt-hh ":" npt-mm ":" npt-ss
        let mut it = whole.split(':');
        let h = it.next().and_then(parse_u32).ok_or(bad.clone())?;
        let m = it.next().and_then(parse_u32).ok_or(bad.clone())?;
        let sec = it.next().and_then(parse_u32).ok_or(bad.clone())?;
        if it.next().is_some() || m > 59 || sec > 59 {
            return Err(bad);
        }
        f64::from(h) * 3600.0 + f64::from(m) * 60.0 + f64::from(sec)
    } else {
        // Up to 15 digits keeps the value exact in an f64.
        if whole.is_empty() || whole.len() > 15 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        whole.parse::<u64>().map_err(|_| bad.clone())? as f64
    };
    Ok(NptTime::Seconds(secs + frac_val))
}

fn parse_smpte(s: &str) -> Result<SmpteTime> {
    let bad = Error::InvalidAttribute {
        attribute: "range",
        reason: "bad smpte time",
    };
    let (main, sub) = match s.split_once('.') {
        Some((m, sub)) => (m, Some(sub)),
        None => (s, None),
    };
    let mut it = main.split(':');
    let hours = it.next().and_then(parse_u32).ok_or(bad.clone())?;
    let small = |v: Option<&str>| -> Option<u8> {
        v.and_then(parse_u32).and_then(|x| u8::try_from(x).ok())
    };
    let minutes = small(it.next()).filter(|m| *m < 60).ok_or(bad.clone())?;
    let seconds = small(it.next()).filter(|m| *m < 60).ok_or(bad.clone())?;
    let frames = match it.next() {
        Some(f) => Some(small(Some(f)).ok_or(bad.clone())?),
        None => None,
    };
    if it.next().is_some() {
        return Err(bad);
    }
    let subframes = match sub {
        Some(sf) if frames.is_some() => Some(small(Some(sf)).ok_or(bad.clone())?),
        Some(_) => return Err(bad),
        None => None,
    };
    Ok(SmpteTime {
        hours,
        minutes,
        seconds,
        frames,
        subframes,
    })
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::Npt { start, end } => {
                f.write_str("npt=")?;
                if let Some(s) = start {
                    write!(f, "{s}")?;
                }
                f.write_str("-")?;
                if let Some(e) = end {
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Range::Clock { start, end } => {
                write!(f, "clock={}-", start.as_str())?;
                if let Some(e) = end {
                    f.write_str(e.as_str())?;
                }
                Ok(())
            }
            Range::Smpte { kind, start, end } => {
                write!(f, "{}={}-", kind.name(), start)?;
                if let Some(e) = end {
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npt_forms() {
        assert_eq!(Range::parse("npt=0-").unwrap(), Range::npt_from_start());
        assert_eq!(
            Range::parse("npt=1:02:03.5-now").unwrap(),
            Range::Npt {
                start: Some(NptTime::Seconds(3723.5)),
                end: Some(NptTime::Now)
            }
        );
        assert_eq!(
            Range::parse("npt=-20").unwrap(),
            Range::Npt {
                start: None,
                end: Some(NptTime::Seconds(20.0))
            }
        );
        assert_eq!(
            Range::parse("npt=10.25-20").unwrap().to_string(),
            "npt=10.25-20"
        );
        assert!(Range::parse("npt=-").is_err());
        assert!(Range::parse("npt=1:99:00-").is_err());
        assert!(Range::parse("bogus=1-2").is_err());
    }

    #[test]
    fn clock_and_smpte() {
        let r = Range::parse("clock=19961108T142300Z-19961108T143520.25Z").unwrap();
        assert_eq!(r.to_string(), "clock=19961108T142300Z-19961108T143520.25Z");
        let r = Range::parse("smpte=10:07:33:05.01-").unwrap();
        assert_eq!(
            r,
            Range::Smpte {
                kind: SmpteKind::Smpte30,
                start: SmpteTime {
                    hours: 10,
                    minutes: 7,
                    seconds: 33,
                    frames: Some(5),
                    subframes: Some(1)
                },
                end: None
            }
        );
        assert_eq!(r.to_string(), "smpte=10:07:33:05.01-");
        assert!(Range::parse("smpte-25=10:07-").is_err());
        let spec = RangeSpec::parse("npt=0-;time=19970123T143720Z").unwrap();
        assert_eq!(spec.time.as_ref().unwrap().as_str(), "19970123T143720Z");
        assert_eq!(spec.to_string(), "npt=0-;time=19970123T143720Z");
    }
}
