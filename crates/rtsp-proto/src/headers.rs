//! Typed RTSP headers: `Session`, `Transport`, `RTP-Info`, `Public`, `Require`/`Unsupported`,
//! `Scale`/`Speed`, and the `Range` re-export from `weir-sdp`.

use std::fmt;

use crate::error::{Error, Result};
use crate::message::{Headers, Method};

pub use weir_sdp::{NptTime, Range, RangeSpec, SmpteKind, SmpteTime, UtcTime};

/// Splits `s` on `sep` outside double quotes.
pub(crate) fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(s.get(start..i).unwrap_or(""));
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

/// `Session: <id>[;timeout=<seconds>]` (RFC 2326 §12.37).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionHeader {
    /// Session identifier.
    pub id: String,
    /// Timeout in seconds, when given.
    pub timeout: Option<u32>,
}

impl SessionHeader {
    /// Parses the header value. Unknown parameters are ignored.
    pub fn parse(v: &str) -> Result<SessionHeader> {
        let bad = |reason| Error::InvalidHeader {
            header: "Session",
            reason,
        };
        let mut parts = v.split(';');
        let id = parts.next().unwrap_or("").trim();
        if id.is_empty() || id.len() > 256 || id.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(bad("bad session id"));
        }
        let mut timeout = None;
        for p in parts {
            if let Some((k, val)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("timeout") {
                    timeout = Some(val.trim().parse().map_err(|_| bad("bad timeout"))?);
                }
            }
        }
        Ok(SessionHeader {
            id: id.to_string(),
            timeout,
        })
    }
}

impl fmt::Display for SessionHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)?;
        if let Some(t) = self.timeout {
            write!(f, ";timeout={t}")?;
        }
        Ok(())
    }
}

/// Lower transport of a transport spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowerTransport {
    /// `RTP/AVP` or `RTP/AVP/UDP`.
    Udp,
    /// `RTP/AVP/TCP` (interleaved on the RTSP connection).
    Tcp,
}

/// `unicast` / `multicast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `unicast`.
    Unicast,
    /// `multicast`.
    Multicast,
}

/// A port or channel pair `a[-b]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<T> {
    /// First value (RTP).
    pub rtp: T,
    /// Second value (RTCP), when given.
    pub rtcp: Option<T>,
}

impl<T: Copy> Pair<T> {
    /// `a-b`.
    pub fn new(rtp: T, rtcp: T) -> Pair<T> {
        Pair {
            rtp,
            rtcp: Some(rtcp),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Pair<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.rtp)?;
        if let Some(r) = &self.rtcp {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

fn parse_pair<T: std::str::FromStr>(v: &str, what: &'static str) -> Result<Pair<T>> {
    let bad = Error::InvalidHeader {
        header: "Transport",
        reason: what,
    };
    let (a, b) = match v.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let rtp = a.trim().parse().map_err(|_| bad.clone())?;
    let rtcp = match b {
        Some(b) => Some(b.trim().parse().map_err(|_| bad)?),
        None => None,
    };
    Ok(Pair { rtp, rtcp })
}

/// `mode=` values of a transport spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportMode {
    /// `PLAY` (the default).
    Play,
    /// `RECORD` (ffmpeg writes `record` in lower case).
    Record,
    /// Anything else.
    Other(String),
}

/// One transport specification of a `Transport` header (RFC 2326 §12.39).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSpec {
    /// Transport protocol, `RTP`.
    pub protocol: String,
    /// Profile, `AVP` (or `AVPF`, `SAVP`…).
    pub profile: String,
    /// Lower transport; `None` when omitted (means UDP).
    pub lower: Option<LowerTransport>,
    /// `unicast` or `multicast`.
    pub delivery: Option<Delivery>,
    /// `destination=`.
    pub destination: Option<String>,
    /// `source=`.
    pub source: Option<String>,
    /// `interleaved=` channel pair.
    pub interleaved: Option<Pair<u8>>,
    /// `append` flag.
    pub append: bool,
    /// `ttl=`.
    pub ttl: Option<u8>,
    /// `layers=`.
    pub layers: Option<u32>,
    /// `port=` (multicast).
    pub port: Option<Pair<u16>>,
    /// `client_port=`.
    pub client_port: Option<Pair<u16>>,
    /// `server_port=`.
    pub server_port: Option<Pair<u16>>,
    /// `ssrc=` (hex).
    pub ssrc: Option<u32>,
    /// `mode=` values.
    pub mode: Vec<TransportMode>,
    /// Parameters this crate does not interpret, kept in order.
    pub other: Vec<(String, Option<String>)>,
}

impl TransportSpec {
    /// `RTP/AVP;unicast;client_port=<rtp>-<rtcp>`.
    pub fn udp_unicast(rtp: u16, rtcp: u16) -> TransportSpec {
        let mut t = Self::empty(None);
        t.delivery = Some(Delivery::Unicast);
        t.client_port = Some(Pair::new(rtp, rtcp));
        t
    }

    /// `RTP/AVP/TCP;unicast;interleaved=<rtp>-<rtcp>`.
    pub fn tcp_interleaved(rtp: u8, rtcp: u8) -> TransportSpec {
        let mut t = Self::empty(Some(LowerTransport::Tcp));
        t.delivery = Some(Delivery::Unicast);
        t.interleaved = Some(Pair::new(rtp, rtcp));
        t
    }

    fn empty(lower: Option<LowerTransport>) -> TransportSpec {
        TransportSpec {
            protocol: "RTP".into(),
            profile: "AVP".into(),
            lower,
            delivery: None,
            destination: None,
            source: None,
            interleaved: None,
            append: false,
            ttl: None,
            layers: None,
            port: None,
            client_port: None,
            server_port: None,
            ssrc: None,
            mode: Vec::new(),
            other: Vec::new(),
        }
    }

    /// True when the lower transport is TCP (interleaved).
    pub fn is_tcp(&self) -> bool {
        self.lower == Some(LowerTransport::Tcp)
    }

    /// True when `mode` includes RECORD.
    pub fn is_record(&self) -> bool {
        self.mode.contains(&TransportMode::Record)
    }

    /// Parses one transport spec.
    pub fn parse(v: &str) -> Result<TransportSpec> {
        let bad = |reason| Error::InvalidHeader {
            header: "Transport",
            reason,
        };
        let parts = split_unquoted(v.trim(), ';');
        let mut it = parts.into_iter();
        let proto = it.next().unwrap_or("").trim();
        let mut p = proto.split('/');
        let protocol = p
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(bad("missing protocol"))?;
        let profile = p
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(bad("missing profile"))?;
        let lower = match p.next() {
            None => None,
            Some(l) if l.eq_ignore_ascii_case("UDP") => Some(LowerTransport::Udp),
            Some(l) if l.eq_ignore_ascii_case("TCP") => Some(LowerTransport::Tcp),
            Some(_) => return Err(bad("unknown lower transport")),
        };
        if p.next().is_some() {
            return Err(bad("too many `/` in transport-protocol"));
        }
        let mut t = Self::empty(lower);
        t.protocol = protocol.to_string();
        t.profile = profile.to_string();
        for param in it {
            let param = param.trim();
            if param.is_empty() {
                continue;
            }
            let (k, val) = match param.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (param, None),
            };
            match (k.to_ascii_lowercase().as_str(), val) {
                ("unicast", None) => t.delivery = Some(Delivery::Unicast),
                ("multicast", None) => t.delivery = Some(Delivery::Multicast),
                ("append", None) => t.append = true,
                ("destination", v) => t.destination = v.map(str::to_string),
                ("source", Some(v)) => t.source = Some(v.to_string()),
                ("interleaved", Some(v)) => t.interleaved = Some(parse_pair(v, "bad interleaved")?),
                ("ttl", Some(v)) => t.ttl = Some(v.parse().map_err(|_| bad("bad ttl"))?),
                ("layers", Some(v)) => t.layers = Some(v.parse().map_err(|_| bad("bad layers"))?),
                ("port", Some(v)) => t.port = Some(parse_pair(v, "bad port")?),
                ("client_port", Some(v)) => t.client_port = Some(parse_pair(v, "bad client_port")?),
                ("server_port", Some(v)) => t.server_port = Some(parse_pair(v, "bad server_port")?),
                ("ssrc", Some(v)) => {
                    // Hex per RFC 2326 (some servers prefix `0x`). Cameras also send decimal
                    // or over-long values: keep those verbatim in `other` instead of failing.
                    let h = v.trim_start_matches("0x");
                    match u32::from_str_radix(h, 16) {
                        Ok(x) if !h.is_empty() && h.len() <= 8 => t.ssrc = Some(x),
                        _ => t.other.push((k.to_string(), Some(v.to_string()))),
                    }
                }
                ("mode", Some(v)) => {
                    for m in v.split(',') {
                        let m = m.trim().trim_matches('"');
                        t.mode.push(if m.eq_ignore_ascii_case("play") {
                            TransportMode::Play
                        } else if m.eq_ignore_ascii_case("record")
                            || m.eq_ignore_ascii_case("receive")
                        {
                            TransportMode::Record
                        } else {
                            TransportMode::Other(m.to_string())
                        });
                    }
                }
                _ => t.other.push((k.to_string(), val.map(str::to_string))),
            }
        }
        Ok(t)
    }

    /// Parses a whole header value: one or more specs separated by `,` (quotes respected).
    pub fn parse_list(v: &str) -> Result<Vec<TransportSpec>> {
        let specs: Vec<TransportSpec> = split_unquoted(v, ',')
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .map(TransportSpec::parse)
            .collect::<Result<_>>()?;
        if specs.is_empty() {
            return Err(Error::InvalidHeader {
                header: "Transport",
                reason: "empty",
            });
        }
        Ok(specs)
    }

    /// Serializes a list of specs as one header value.
    pub fn list_to_string(specs: &[TransportSpec]) -> String {
        specs
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for TransportSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.protocol, self.profile)?;
        match self.lower {
            Some(LowerTransport::Tcp) => f.write_str("/TCP")?,
            Some(LowerTransport::Udp) => f.write_str("/UDP")?,
            None => {}
        }
        match self.delivery {
            Some(Delivery::Unicast) => f.write_str(";unicast")?,
            Some(Delivery::Multicast) => f.write_str(";multicast")?,
            None => {}
        }
        if let Some(d) = &self.destination {
            write!(f, ";destination={d}")?;
        }
        if let Some(s) = &self.source {
            write!(f, ";source={s}")?;
        }
        if let Some(i) = &self.interleaved {
            write!(f, ";interleaved={i}")?;
        }
        if self.append {
            f.write_str(";append")?;
        }
        if let Some(t) = self.ttl {
            write!(f, ";ttl={t}")?;
        }
        if let Some(l) = self.layers {
            write!(f, ";layers={l}")?;
        }
        if let Some(p) = &self.port {
            write!(f, ";port={p}")?;
        }
        if let Some(p) = &self.client_port {
            write!(f, ";client_port={p}")?;
        }
        if let Some(p) = &self.server_port {
            write!(f, ";server_port={p}")?;
        }
        if let Some(s) = self.ssrc {
            write!(f, ";ssrc={s:08X}")?;
        }
        if !self.mode.is_empty() {
            let names: Vec<&str> = self
                .mode
                .iter()
                .map(|m| match m {
                    TransportMode::Play => "PLAY",
                    // ffmpeg's Transport parser only recognises lower-case `record`
                    // (it writes it that way too); servers compare case-insensitively.
                    TransportMode::Record => "record",
                    TransportMode::Other(s) => s.as_str(),
                })
                .collect();
            if names.len() == 1 {
                write!(f, ";mode={}", names.join(","))?;
            } else {
                write!(f, ";mode=\"{}\"", names.join(","))?;
            }
        }
        for (k, v) in &self.other {
            match v {
                Some(v) => write!(f, ";{k}={v}")?,
                None => write!(f, ";{k}")?,
            }
        }
        Ok(())
    }
}

/// One entry of an `RTP-Info` header (RFC 2326 §12.33).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpInfo {
    /// Stream URL.
    pub url: String,
    /// Sequence number of the first packet after PLAY.
    pub seq: Option<u16>,
    /// RTP timestamp corresponding to the start of the range.
    pub rtptime: Option<u32>,
}

impl RtpInfo {
    /// Parses the header value (a `,`-separated list). A `,` or `;` inside a URL is kept as part
    /// of the URL when what follows is not a new `url=` entry or a known parameter.
    pub fn parse_list(v: &str) -> Result<Vec<RtpInfo>> {
        let bad = |reason| Error::InvalidHeader {
            header: "RTP-Info",
            reason,
        };
        let mut entries: Vec<String> = Vec::new();
        for piece in v.split(',') {
            if piece.trim_start().to_ascii_lowercase().starts_with("url=") || entries.is_empty() {
                entries.push(piece.trim().to_string());
            } else if let Some(last) = entries.last_mut() {
                last.push(',');
                last.push_str(piece);
            }
        }
        let mut out = Vec::new();
        for e in entries {
            let mut url: Option<String> = None;
            let (mut seq, mut rtptime) = (None, None);
            for part in e.split(';') {
                let p = part.trim();
                let (k, val) = p.split_once('=').unwrap_or((p, ""));
                match k.trim().to_ascii_lowercase().as_str() {
                    "url" if url.is_none() => url = Some(val.trim().trim_matches('"').to_string()),
                    "seq" => seq = Some(val.trim().parse().map_err(|_| bad("bad seq"))?),
                    "rtptime" => {
                        rtptime = Some(val.trim().parse().map_err(|_| bad("bad rtptime"))?)
                    }
                    _ => match url.as_mut() {
                        Some(u) => {
                            u.push(';');
                            u.push_str(part);
                        }
                        None => return Err(bad("entry without url")),
                    },
                }
            }
            out.push(RtpInfo {
                url: url.ok_or(bad("entry without url"))?,
                seq,
                rtptime,
            });
        }
        Ok(out)
    }

    /// Serializes a list as one header value.
    pub fn list_to_string(list: &[RtpInfo]) -> String {
        list.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for RtpInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "url={}", self.url)?;
        if let Some(s) = self.seq {
            write!(f, ";seq={s}")?;
        }
        if let Some(t) = self.rtptime {
            write!(f, ";rtptime={t}")?;
        }
        Ok(())
    }
}

/// Parses a `,`-separated token list (`Public`, `Require`, `Unsupported`, `Proxy-Require`).
pub fn parse_token_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses a `Public` header into methods.
pub fn parse_public(v: &str) -> Vec<Method> {
    parse_token_list(v)
        .iter()
        .map(|m| Method::parse(m))
        .collect()
}

/// Parses `Scale` or `Speed` (a decimal, may be negative for Scale).
pub fn parse_scale(v: &str, header: &'static str) -> Result<f64> {
    let f: f64 = v.trim().parse().map_err(|_| Error::InvalidHeader {
        header,
        reason: "not a number",
    })?;
    if !f.is_finite() {
        return Err(Error::InvalidHeader {
            header,
            reason: "not finite",
        });
    }
    Ok(f)
}

/// Typed accessors on a header list.
impl Headers {
    /// `Session` header.
    pub fn session(&self) -> Option<Result<SessionHeader>> {
        self.get("Session").map(SessionHeader::parse)
    }
    /// `Transport` header (all specs).
    pub fn transport(&self) -> Option<Result<Vec<TransportSpec>>> {
        self.get("Transport").map(TransportSpec::parse_list)
    }
    /// `Range` header.
    pub fn range(&self) -> Option<Result<RangeSpec>> {
        self.get("Range").map(|v| {
            RangeSpec::parse(v).map_err(|_| Error::InvalidHeader {
                header: "Range",
                reason: "bad range",
            })
        })
    }
    /// `RTP-Info` header.
    pub fn rtp_info(&self) -> Option<Result<Vec<RtpInfo>>> {
        self.get("RTP-Info").map(RtpInfo::parse_list)
    }
    /// `Public` header.
    pub fn public(&self) -> Option<Vec<Method>> {
        self.get("Public").map(parse_public)
    }
    /// `Require` header tokens.
    pub fn require(&self) -> Vec<String> {
        self.get_all("Require").flat_map(parse_token_list).collect()
    }
    /// `Unsupported` header tokens.
    pub fn unsupported(&self) -> Vec<String> {
        self.get_all("Unsupported")
            .flat_map(parse_token_list)
            .collect()
    }
    /// `Content-Base` header.
    pub fn content_base(&self) -> Option<&str> {
        self.get("Content-Base").map(str::trim)
    }
    /// `Content-Location` header.
    pub fn content_location(&self) -> Option<&str> {
        self.get("Content-Location").map(str::trim)
    }
    /// `Location` header (redirects).
    pub fn location(&self) -> Option<&str> {
        self.get("Location").map(str::trim)
    }
    /// All challenges of all `WWW-Authenticate` headers (unparsable ones are skipped).
    pub fn www_authenticate(&self) -> Vec<crate::auth::Challenge> {
        self.get_all("WWW-Authenticate")
            .filter_map(|v| crate::auth::Challenge::parse_list(v).ok())
            .flatten()
            .collect()
    }
    /// `Authorization` header.
    pub fn authorization(&self) -> Option<Result<crate::auth::Credentials>> {
        self.get("Authorization")
            .map(crate::auth::Credentials::parse)
    }
    /// `Scale` header.
    pub fn scale(&self) -> Option<Result<f64>> {
        self.get("Scale").map(|v| parse_scale(v, "Scale"))
    }
    /// `Speed` header.
    pub fn speed(&self) -> Option<Result<f64>> {
        self.get("Speed").map(|v| parse_scale(v, "Speed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_examples() {
        let list = TransportSpec::parse_list(
            "RTP/AVP;multicast;ttl=127;mode=\"PLAY\",RTP/AVP;unicast;client_port=3456-3457;mode=\"PLAY\"",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].delivery, Some(Delivery::Multicast));
        assert_eq!(list[0].ttl, Some(127));
        assert_eq!(list[1].client_port, Some(Pair::new(3456, 3457)));
        assert_eq!(list[1].mode, vec![TransportMode::Play]);
        let t =
            TransportSpec::parse("RTP/AVP/TCP;unicast;interleaved=0-1;mode=record;ssrc=DEADBEEF")
                .unwrap();
        assert!(t.is_tcp() && t.is_record());
        assert_eq!(t.ssrc, Some(0xdeadbeef));
        assert_eq!(
            t.to_string(),
            "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=DEADBEEF;mode=record"
        );
        let m = TransportSpec::parse("RTP/AVP;unicast;mode=\"PLAY,RECORD\"").unwrap();
        assert_eq!(m.mode, vec![TransportMode::Play, TransportMode::Record]);
        assert!(TransportSpec::parse("RTP/AVP/SCTP").is_err());
        assert!(TransportSpec::parse("RTP/AVP;client_port=a-b").is_err());
        // Quirk: decimal SSRC longer than 8 digits (seen on cameras) is kept, not fatal.
        let q =
            TransportSpec::parse("RTP/AVP;unicast;client_port=5000-5001;ssrc=1234567890").unwrap();
        assert_eq!(q.ssrc, None);
        assert_eq!(
            q.other,
            vec![("ssrc".to_string(), Some("1234567890".to_string()))]
        );
    }

    #[test]
    fn quirk_ffmpeg_mode_record_lowercase() {
        // ffmpeg's listen-mode server matches `mode=record` case-sensitively (and writes it
        // that way); RFC 2326 spells the method RECORD. Write lower case, accept any case.
        let mut t = TransportSpec::tcp_interleaved(0, 1);
        t.mode = vec![TransportMode::Record];
        assert!(t.to_string().ends_with(";mode=record"));
        for v in [
            "mode=record",
            "mode=RECORD",
            "mode=\"Record\"",
            "mode=receive",
        ] {
            assert!(
                TransportSpec::parse(&format!("RTP/AVP/TCP;interleaved=0-1;{v}"))
                    .unwrap()
                    .is_record(),
                "{v}"
            );
        }
    }

    #[test]
    fn rtp_info_and_session() {
        let l = RtpInfo::parse_list("url=rtsp://foo.com/bar.avi/streamid=0;seq=45102,url=rtsp://foo.com/bar.avi/streamid=1;seq=30211;rtptime=4000").unwrap();
        assert_eq!(
            l[1],
            RtpInfo {
                url: "rtsp://foo.com/bar.avi/streamid=1".into(),
                seq: Some(30211),
                rtptime: Some(4000)
            }
        );
        let s = SessionHeader::parse("47112344;timeout=60").unwrap();
        assert_eq!(
            s,
            SessionHeader {
                id: "47112344".into(),
                timeout: Some(60)
            }
        );
        assert_eq!(s.to_string(), "47112344;timeout=60");
        assert!(SessionHeader::parse("").is_err());
        let mut h = Headers::new();
        h.append(
            "WWW-Authenticate",
            "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256",
        );
        h.append("WWW-Authenticate", "Basic realm=\"r\"");
        h.append("Authorization", "Basic dTpw");
        assert_eq!(h.www_authenticate().len(), 2);
        assert_eq!(
            h.authorization().unwrap().unwrap(),
            crate::auth::Credentials::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
    }
}
