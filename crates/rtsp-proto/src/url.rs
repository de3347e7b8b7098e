//! RTSP URLs: split out credentials, compare authorities, resolve references and the
//! `Content-Base` values real servers send.

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

/// `scheme://authority` of an absolute URL (without a trailing `/`).
fn origin(url: &str) -> Option<&str> {
    let after = url.find("://")? + 3;
    let end = url
        .get(after..)
        .and_then(|r| r.find(['/', '?']))
        .map_or(url.len(), |p| p + after);
    url.get(..end)
}

fn has_scheme(v: &str) -> bool {
    v.find("://").is_some_and(|p| {
        p > 0
            && v.get(..p)
                .is_some_and(|s| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+'))
    })
}

/// Resolves a URL reference against the absolute URL `base` (RFC 3986 §5.2, without dot
/// segments): absolute references are kept, `/path` keeps the base's scheme and authority,
/// other relative references replace the base's last path segment.
///
/// ```
/// use weir_rtsp_proto::url::resolve_reference;
/// assert_eq!(resolve_reference("rtsp://h/live/a", "b"), "rtsp://h/live/b");
/// assert_eq!(resolve_reference("rtsp://h:554/live/a", "/x"), "rtsp://h:554/x");
/// assert_eq!(resolve_reference("rtsp://h/live/a", "rtsp://o/b"), "rtsp://o/b");
/// ```
pub fn resolve_reference(base: &str, reference: &str) -> String {
    let r = reference.trim();
    if r.is_empty() {
        return base.to_string();
    }
    if has_scheme(r) {
        return r.to_string();
    }
    let Some(origin) = origin(base) else {
        return r.to_string();
    };
    if let Some(rest) = r.strip_prefix("//") {
        let scheme = base.split("://").next().unwrap_or("rtsp");
        return format!("{scheme}://{rest}");
    }
    if r.starts_with('/') {
        return format!("{origin}{r}");
    }
    let path = base.get(origin.len()..).unwrap_or("");
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = match path.rfind('/') {
        Some(p) => path.get(..=p).unwrap_or("/"),
        None => "/",
    };
    format!("{origin}{dir}{r}")
}

/// The base URL of a DESCRIBE answer: its `Content-Base` (or `Content-Location`) value
/// resolved against the request URL, tolerating what real cameras send:
///
/// * a doubled scheme, `rtsp://rtsp://host:554/stream1/` (seen on several no-name cameras);
/// * no scheme, `192.168.1.87:1935/` (mobile "IP camera" apps, SV3C cameras): a first
///   segment that is `host:port` or the request's host is taken as the authority;
/// * a relative reference (`stream/`, `/live/cam/`), resolved per RFC 3986;
/// * credentials in the value, which are dropped (they never go on a request line).
///
/// `None` (no header) or an empty value gives the request URL.
///
/// ```
/// use weir_rtsp_proto::url::resolve_base;
/// let req = "rtsp://10.0.0.5:554/stream1";
/// assert_eq!(resolve_base(req, None), req);
/// assert_eq!(resolve_base(req, Some("rtsp://rtsp://10.0.0.5:554/stream1/")), "rtsp://10.0.0.5:554/stream1/");
/// assert_eq!(resolve_base(req, Some("10.0.0.5:554/stream1/")), "rtsp://10.0.0.5:554/stream1/");
/// assert_eq!(resolve_base(req, Some("/live/cam/")), "rtsp://10.0.0.5:554/live/cam/");
/// ```
pub fn resolve_base(request_url: &str, value: Option<&str>) -> String {
    let Some(mut v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return request_url.to_string();
    };
    // `rtsp://rtsp://…`: drop the repeated scheme.
    while let Some(rest) = v.find("://").and_then(|p| v.get(p + 3..)) {
        if !has_scheme(rest) {
            break;
        }
        v = rest;
    }
    let scheme = request_url
        .split("://")
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("rtsp");
    let resolved = if has_scheme(v) {
        v.to_string()
    } else {
        let first = v.split(['/', '?']).next().unwrap_or("");
        let req_host = RtspUrl::parse(request_url).ok().map(|u| u.host);
        let host_port = first.rsplit_once(':').is_some_and(|(h, p)| {
            !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
        });
        let same_host = req_host.is_some_and(|h| h.eq_ignore_ascii_case(first));
        if !v.starts_with('/') && (host_port || same_host) {
            format!("{scheme}://{v}")
        } else {
            resolve_reference(request_url, v)
        }
    };
    match RtspUrl::parse(&resolved) {
        Ok(u) => u.without_credentials(),
        Err(_) => request_url.to_string(),
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

    /// `Content-Base` values seen on real devices, resolved against the DESCRIBE URL.
    #[test]
    fn quirk_content_base_values() {
        let req = "rtsp://192.168.1.87:1935/live";
        for (value, want) in [
            (None, req),
            (Some(""), req),
            (
                Some("rtsp://192.168.1.87:1935/live/"),
                "rtsp://192.168.1.87:1935/live/",
            ),
            // go2rtc #208: doubled scheme.
            (
                Some("rtsp://rtsp://cam.lan:554/stream1/"),
                "rtsp://cam.lan:554/stream1/",
            ),
            // retina #135 / moonfire-nvr #356: no scheme.
            (Some("192.168.1.87:1935/"), "rtsp://192.168.1.87:1935/"),
            (Some("192.168.1.87/x/"), "rtsp://192.168.1.87/x/"),
            // Relative references.
            (Some("/other/"), "rtsp://192.168.1.87:1935/other/"),
            (Some("live/"), "rtsp://192.168.1.87:1935/live/"),
            (Some("base.sdp/"), "rtsp://192.168.1.87:1935/base.sdp/"),
            // Credentials never go on a request line.
            (Some("rtsp://u:p@192.168.1.87/a/"), "rtsp://192.168.1.87/a/"),
        ] {
            assert_eq!(resolve_base(req, value), want, "{value:?}");
        }
        assert_eq!(resolve_reference("rtsp://h/a/b?x=1", "c"), "rtsp://h/a/c");
        assert_eq!(resolve_reference("rtsp://h", "c"), "rtsp://h/c");
        assert_eq!(resolve_reference("rtsp://h/a", "//o:1/p"), "rtsp://o:1/p");
    }
}
