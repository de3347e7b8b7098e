//! Typed views of common attributes: `rtpmap`, `fmtp`, `control`, `range`, `framerate`,
//! direction, plus control-URL resolution.

use std::fmt;

use crate::error::{Error, Result};
use crate::range::RangeSpec;
use crate::session::{Attribute, MediaDescription, SessionDescription};

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]` (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// RTP payload type.
    pub payload_type: u8,
    /// Encoding name as written (`H264`, `MPEG4-GENERIC`, `opus`, …). Compare case-insensitively.
    pub encoding: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count (audio), when given.
    pub channels: Option<u16>,
}

impl RtpMap {
    /// Parses the attribute value (`96 H264/90000`).
    pub fn parse(value: &str) -> Result<RtpMap> {
        let bad = |reason| Error::InvalidAttribute {
            attribute: "rtpmap",
            reason,
        };
        let value = value.trim();
        let (pt, rest) = value
            .split_once([' ', '\t'])
            .ok_or(bad("missing encoding"))?;
        let payload_type = pt
            .parse::<u8>()
            .ok()
            .filter(|p| *p < 128)
            .ok_or(bad("bad payload type"))?;
        let mut parts = rest.trim().split('/');
        let encoding = parts
            .next()
            .filter(|e| !e.is_empty())
            .ok_or(bad("missing encoding name"))?;
        let clock_rate = parts
            .next()
            .and_then(|c| c.trim().parse::<u32>().ok())
            .ok_or(bad("missing or bad clock rate"))?;
        let channels = match parts.next() {
            Some(c) => Some(
                c.trim()
                    .parse::<u16>()
                    .map_err(|_| bad("bad channel count"))?,
            ),
            None => None,
        };
        if parts.next().is_some() {
            return Err(bad("too many `/` fields"));
        }
        Ok(RtpMap {
            payload_type,
            encoding: encoding.to_string(),
            clock_rate,
            channels,
        })
    }

    /// The static RTP/AVP payload type table (RFC 3551 §6), for `m=` lines without `rtpmap`.
    pub fn from_static(payload_type: u8) -> Option<RtpMap> {
        let (enc, rate, ch) = match payload_type {
            0 => ("PCMU", 8000, Some(1)),
            3 => ("GSM", 8000, Some(1)),
            4 => ("G723", 8000, Some(1)),
            5 => ("DVI4", 8000, Some(1)),
            6 => ("DVI4", 16000, Some(1)),
            7 => ("LPC", 8000, Some(1)),
            8 => ("PCMA", 8000, Some(1)),
            9 => ("G722", 8000, Some(1)),
            10 => ("L16", 44100, Some(2)),
            11 => ("L16", 44100, Some(1)),
            12 => ("QCELP", 8000, Some(1)),
            13 => ("CN", 8000, Some(1)),
            14 => ("MPA", 90000, None),
            15 => ("G728", 8000, Some(1)),
            16 => ("DVI4", 11025, Some(1)),
            17 => ("DVI4", 22050, Some(1)),
            18 => ("G729", 8000, Some(1)),
            25 => ("CelB", 90000, None),
            26 => ("JPEG", 90000, None),
            28 => ("nv", 90000, None),
            31 => ("H261", 90000, None),
            32 => ("MPV", 90000, None),
            33 => ("MP2T", 90000, None),
            34 => ("H263", 90000, None),
            _ => return None,
        };
        Some(RtpMap {
            payload_type,
            encoding: enc.to_string(),
            clock_rate: rate,
            channels: ch,
        })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<pt> <params>` with `key=value` parameters separated by `;` (RFC 8866 §6.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// RTP payload type.
    pub payload_type: u8,
    /// Parameters in order. A parameter without `=` has `None` as value.
    pub params: Vec<(String, Option<String>)>,
}

impl Fmtp {
    /// Parses the attribute value (`96 packetization-mode=1;profile-level-id=42e01f`).
    ///
    /// Tolerant of what cameras send: spaces around `;` and `=`, a trailing `;`, and `=` inside
    /// values (base64 padding).
    pub fn parse(value: &str) -> Result<Fmtp> {
        let bad = |reason| Error::InvalidAttribute {
            attribute: "fmtp",
            reason,
        };
        let value = value.trim();
        let (pt, rest) = match value.split_once([' ', '\t']) {
            Some((p, r)) => (p, r),
            None => (value, ""),
        };
        let payload_type = pt
            .parse::<u8>()
            .ok()
            .filter(|p| *p < 128)
            .ok_or(bad("bad payload type"))?;
        let mut params = Vec::new();
        for p in rest.split(';') {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            match p.split_once('=') {
                Some((k, v)) => params.push((k.trim().to_string(), Some(v.trim().to_string()))),
                None => params.push((p.to_string(), None)),
            }
        }
        Ok(Fmtp {
            payload_type,
            params,
        })
    }

    /// The value of parameter `key` (case-insensitive), first occurrence.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_deref())
    }

    /// Sets (replaces or appends) a parameter.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = Some(value.into());
        match self
            .params
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some(slot) => slot.1 = value,
            None => self.params.push((key.to_string(), value)),
        }
    }
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.payload_type)?;
        for (n, (k, v)) in self.params.iter().enumerate() {
            f.write_str(if n == 0 { " " } else { ";" })?;
            match v {
                Some(v) => write!(f, "{k}={v}")?,
                None => f.write_str(k)?,
            }
        }
        Ok(())
    }
}

/// Media direction attribute (RFC 8866 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn name(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    fn from_attributes(attrs: &[Attribute]) -> Option<Direction> {
        attrs
            .iter()
            .find_map(|a| match a.name.to_ascii_lowercase().as_str() {
                "sendrecv" => Some(Direction::SendRecv),
                "sendonly" => Some(Direction::SendOnly),
                "recvonly" => Some(Direction::RecvOnly),
                "inactive" => Some(Direction::Inactive),
                _ => None,
            })
    }
}

fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

fn parse_framerate(v: &str) -> Result<f64> {
    let f: f64 = v.trim().parse().map_err(|_| Error::InvalidAttribute {
        attribute: "framerate",
        reason: "not a number",
    })?;
    if !f.is_finite() || f <= 0.0 {
        return Err(Error::InvalidAttribute {
            attribute: "framerate",
            reason: "not a positive number",
        });
    }
    Ok(f)
}

/// Resolves an `a=control:` value against a base URL the way RTSP clients do
/// (RFC 2326 §C.1.1, with the behaviour of ffmpeg, live555 and GStreamer):
///
/// * `*` means the base itself (aggregate control);
/// * an absolute URL (`rtsp://…`, `rtsps://…`, `rtspu://…`) is used as is;
/// * a value starting with `/` replaces the path of the base;
/// * anything else is appended to the base, inserting `/` when the base has none at its end.
///   (RFC 3986 would replace the base's last path segment instead; servers write the control
///   as relative to the presentation URL itself, so clients append, and so do we.)
///
/// ```
/// use weir_sdp::resolve_control;
/// assert_eq!(resolve_control("rtsp://h/live/a/", "trackID=1"), "rtsp://h/live/a/trackID=1");
/// assert_eq!(resolve_control("rtsp://h/live/a", "trackID=1"), "rtsp://h/live/a/trackID=1");
/// assert_eq!(resolve_control("rtsp://h/live/a", "*"), "rtsp://h/live/a");
/// assert_eq!(resolve_control("rtsp://h:554/live/a", "/x/y"), "rtsp://h:554/x/y");
/// assert_eq!(resolve_control("rtsp://h/a", "rtsp://o/b"), "rtsp://o/b");
/// ```
pub fn resolve_control(base: &str, control: &str) -> String {
    let control = control.trim();
    if control.is_empty() || control == "*" {
        return base.to_string();
    }
    let lower = control.get(..8).unwrap_or(control).to_ascii_lowercase();
    if lower.starts_with("rtsp://")
        || lower.starts_with("rtsps://")
        || lower.starts_with("rtspu://")
    {
        return control.to_string();
    }
    if control.starts_with('/') {
        // Keep scheme and authority of the base.
        if let Some(scheme_end) = base.find("://") {
            let after = scheme_end + 3;
            let auth_end = base
                .get(after..)
                .and_then(|r| r.find('/'))
                .map(|p| p + after)
                .unwrap_or(base.len());
            return format!("{}{}", base.get(..auth_end).unwrap_or(base), control);
        }
        return control.to_string();
    }
    // Drop a query string from the base before appending (live555 behaviour).
    if base.ends_with('/') {
        format!("{base}{control}")
    } else {
        format!("{base}/{control}")
    }
}

macro_rules! common_accessors {
    () => {
        /// The first attribute named `name` (case-insensitive); `Some(None)` for a flag.
        pub fn attribute(&self, name: &str) -> Option<Option<&str>> {
            find(&self.attributes, name).map(|a| a.value.as_deref())
        }

        /// All values of attributes named `name` (duplicates are kept by the tolerant parser).
        pub fn attributes_named<'a>(
            &'a self,
            name: &'a str,
        ) -> impl Iterator<Item = Option<&'a str>> + 'a {
            self.attributes
                .iter()
                .filter(move |a| a.name.eq_ignore_ascii_case(name))
                .map(|a| a.value.as_deref())
        }

        /// Appends `a=name:value` (or `a=name` when `value` is `None`).
        pub fn push_attribute(&mut self, name: &str, value: Option<&str>) {
            self.attributes.push(Attribute {
                name: name.to_string(),
                value: value.map(str::to_string),
            });
        }

        /// Replaces every `a=name` by one with the given value (or appends it).
        pub fn set_attribute(&mut self, name: &str, value: Option<&str>) {
            self.attributes
                .retain(|a| !a.name.eq_ignore_ascii_case(name));
            self.push_attribute(name, value);
        }

        /// `a=control:` value.
        pub fn control(&self) -> Option<&str> {
            find(&self.attributes, "control")
                .and_then(|a| a.value.as_deref())
                .map(str::trim)
        }

        /// `a=range:` as a typed range (first occurrence).
        pub fn range(&self) -> Option<Result<RangeSpec>> {
            find(&self.attributes, "range")
                .and_then(|a| a.value.as_deref())
                .map(RangeSpec::parse)
        }

        /// The direction attribute at this level, if any.
        pub fn direction(&self) -> Option<Direction> {
            Direction::from_attributes(&self.attributes)
        }

        /// Replaces any direction attribute by `d`.
        pub fn set_direction(&mut self, d: Direction) {
            self.attributes.retain(|a| {
                !matches!(
                    a.name.to_ascii_lowercase().as_str(),
                    "sendrecv" | "sendonly" | "recvonly" | "inactive"
                )
            });
            self.attributes.push(Attribute::flag(d.name()));
        }
    };
}

impl SessionDescription {
    common_accessors!();
}

impl MediaDescription {
    common_accessors!();

    /// `a=framerate:` (RFC 8866 §6.12).
    pub fn framerate(&self) -> Option<Result<f64>> {
        find(&self.attributes, "framerate")
            .and_then(|a| a.value.as_deref())
            .map(parse_framerate)
    }

    /// The formats that are RTP payload types.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|p| *p < 128)
    }

    /// The `rtpmap` for `pt`, falling back to the RFC 3551 static table when absent.
    /// A malformed `rtpmap` is an error; the first of duplicates wins.
    pub fn rtpmap(&self, pt: u8) -> Option<Result<RtpMap>> {
        for a in self
            .attributes
            .iter()
            .filter(|a| a.name.eq_ignore_ascii_case("rtpmap"))
        {
            let v = a.value.as_deref().unwrap_or("");
            if first_token(v) == Some(pt) {
                return Some(RtpMap::parse(v));
            }
        }
        RtpMap::from_static(pt).map(Ok)
    }

    /// The `rtpmap` of the first payload type of this media.
    pub fn first_rtpmap(&self) -> Option<Result<RtpMap>> {
        let pt = self.payload_types().next()?;
        self.rtpmap(pt)
    }

    /// The `fmtp` for `pt` (first of duplicates).
    pub fn fmtp(&self, pt: u8) -> Option<Result<Fmtp>> {
        self.attributes
            .iter()
            .filter(|a| a.name.eq_ignore_ascii_case("fmtp"))
            .map(|a| a.value.as_deref().unwrap_or(""))
            .find(|v| first_token(v) == Some(pt))
            .map(Fmtp::parse)
    }

    /// Direction of this media: its own attribute, else the session's, else `sendrecv`.
    pub fn effective_direction(&self, session: &SessionDescription) -> Direction {
        self.direction()
            .or_else(|| session.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// The URL to SETUP for this media: its `a=control` resolved against `base`
    /// (the Content-Base, Content-Location or request URL) and the session-level control.
    pub fn control_url(&self, session: &SessionDescription, base: &str) -> String {
        let session_base = match session.control() {
            Some(c) => resolve_control(base, c),
            None => base.to_string(),
        };
        match self.control() {
            Some(c) => {
                let lower = c.get(..8).unwrap_or(c).to_ascii_lowercase();
                if lower.starts_with("rtsp") || c.starts_with('/') || c == "*" {
                    resolve_control(base, c)
                } else {
                    resolve_control(&session_base, c)
                }
            }
            None => session_base,
        }
    }
}

fn first_token(v: &str) -> Option<u8> {
    v.trim()
        .split([' ', '\t'])
        .next()
        .and_then(|p| p.parse::<u8>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_forms() {
        let r = RtpMap::parse("96 H264/90000").unwrap();
        assert_eq!(
            (
                r.payload_type,
                r.encoding.as_str(),
                r.clock_rate,
                r.channels
            ),
            (96, "H264", 90000, None)
        );
        assert_eq!(RtpMap::parse("97 opus/48000/2").unwrap().channels, Some(2));
        assert_eq!(
            RtpMap::parse("97 opus/48000/2").unwrap().to_string(),
            "97 opus/48000/2"
        );
        assert!(RtpMap::parse("200 x/1").is_err());
        assert!(RtpMap::parse("96 H264").is_err());
        assert!(RtpMap::parse("96 H264/abc").is_err());
    }

    #[test]
    fn fmtp_forms() {
        let f = Fmtp::parse("96 packetization-mode=1; sprop-parameter-sets=Z0IACpZTBYmI,aMljiA==;profile-level-id=42000a;").unwrap();
        assert_eq!(f.get("PACKETIZATION-MODE"), Some("1"));
        assert_eq!(f.get("sprop-parameter-sets"), Some("Z0IACpZTBYmI,aMljiA=="));
        assert_eq!(f.to_string(), "96 packetization-mode=1;sprop-parameter-sets=Z0IACpZTBYmI,aMljiA==;profile-level-id=42000a");
        let t = Fmtp::parse("101 0-15").unwrap();
        assert_eq!(t.params, vec![("0-15".to_string(), None)]);
    }

    #[test]
    fn control_resolution() {
        assert_eq!(resolve_control("rtsp://h/live/a/", "*"), "rtsp://h/live/a/");
        assert_eq!(resolve_control("rtsp://h/live", "/abs"), "rtsp://h/abs");
        assert_eq!(resolve_control("rtsp://h", "t1"), "rtsp://h/t1");
        assert_eq!(resolve_control("rtsp://h/a", "RTSP://x/y"), "RTSP://x/y");
    }
}
