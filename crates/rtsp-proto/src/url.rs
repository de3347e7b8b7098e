//! Minimal RTSP URL handling: split out credentials, compare authorities.

use crate::error::{Error, Result};

/// The parts of an `rtsp://[user[:pass]@]host[:port][/path]` URL this crate needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspUrl {
    /// Scheme, lower-cased (`rtsp`, `rtsps`, `rtspu`).
    pub scheme: String,
    /// User name from the userinfo, percent-decoded.
    pub username: Option<String>,
    /// Password from the userinfo, percent-decoded.
    pub password: Option<String>,
    /// Host (IPv6 literals keep their brackets).
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
    /// Path with query, starting with `/` (empty when absent).
    pub path: String,
}

impl RtspUrl {
    /// Parses an absolute RTSP URL.
    pub fn parse(url: &str) -> Result<RtspUrl> {
        let bad = |reason| Error::InvalidUrl { reason };
        let (scheme, rest) = url.trim().split_once("://").ok_or(bad("missing scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "rtsp" | "rtsps" | "rtspu") {
            return Err(bad("not an rtsp URL"));
        }
        let (authority, path) = match rest.find('/') {
            Some(p) => (rest.get(..p).unwrap_or(""), rest.get(p..).unwrap_or("")),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(p) => (
                Some(authority.get(..p).unwrap_or("")),
                authority.get(p + 1..).unwrap_or(""),
            ),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((a, b)) => (Some(percent_decode(a)), Some(percent_decode(b))),
                None => (Some(percent_decode(u)), None),
            },
            None => (None, None),
        };
        let (host, port) = if let Some(end) = hostport.strip_prefix('[').and_then(|r| r.find(']')) {
            let host = hostport.get(..end + 2).unwrap_or("");
            let after = hostport.get(end + 2..).unwrap_or("");
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse().map_err(|_| bad("bad port"))?),
                None if after.is_empty() => None,
                None => return Err(bad("garbage after IPv6 host")),
            };
            (host.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.parse().map_err(|_| bad("bad port"))?)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        Ok(RtspUrl {
            scheme,
            username,
            password,
            host,
            port,
            path: path.to_string(),
        })
    }

    /// Port, or the scheme default (554 for rtsp, 322 for rtsps).
    pub fn port_or_default(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "rtsps" { 322 } else { 554 })
    }

    /// The URL without credentials (what goes on the request line).
    pub fn without_credentials(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{}{}", self.scheme, self.host, p, self.path),
            None => format!("{}://{}{}", self.scheme, self.host, self.path),
        }
    }

    /// True when `other` points at the same server (scheme, host, port).
    pub fn same_origin(&self, other: &RtspUrl) -> bool {
        self.scheme == other.scheme
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.port_or_default() == other.port_or_default()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = RtspUrl::parse("rtsp://us%40er:p:w@127.0.0.1:8554/live/a?x=1").unwrap();
        assert_eq!(u.username.as_deref(), Some("us@er"));
        assert_eq!(u.password.as_deref(), Some("p:w"));
        assert_eq!(u.port, Some(8554));
        assert_eq!(u.without_credentials(), "rtsp://127.0.0.1:8554/live/a?x=1");
        let v = RtspUrl::parse("rtsp://[::1]/x").unwrap();
        assert_eq!((v.host.as_str(), v.port_or_default()), ("[::1]", 554));
        assert!(RtspUrl::parse("http://x/").is_err());
        assert!(RtspUrl::parse("rtsp://h:99999/").is_err());
        assert!(u.same_origin(&RtspUrl::parse("RTSP://127.0.0.1:8554/other").unwrap()));
    }
}
