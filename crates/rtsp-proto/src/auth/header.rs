//! `WWW-Authenticate` challenges and `Authorization` credentials: parsing and formatting.

use std::fmt;

use base64::Engine as _;

use super::DigestAlgorithm;
use crate::error::{Error, Result};
use crate::headers::split_unquoted;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Parses `k=v, k="quoted, value"` auth-params.
fn parse_params(s: &str) -> Vec<(String, String)> {
    split_unquoted(s, ',')
        .into_iter()
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), unquote(v.trim())))
        })
        .collect()
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut esc = false;
            for c in inner.chars() {
                if esc {
                    out.push(c);
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => v.to_string(),
    }
}

fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

fn get<'a>(params: &'a [(String, String)], k: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// A Digest challenge (`WWW-Authenticate: Digest …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`.
    pub opaque: Option<String>,
    /// `algorithm`; `None` means MD5 and is not echoed.
    pub algorithm: Option<DigestAlgorithm>,
    /// `qop` options offered (`auth`, `auth-int`).
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired, credentials were right.
    pub stale: bool,
}

/// A challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="…"`.
    Basic {
        /// `realm`.
        realm: String,
    },
    /// `Digest …`.
    Digest(DigestChallenge),
    /// A scheme this crate does not implement (kept for diagnostics).
    Other {
        /// Scheme name.
        scheme: String,
    },
}

impl Challenge {
    /// Parses one header value, which may hold several challenges.
    pub fn parse_list(v: &str) -> Result<Vec<Challenge>> {
        // Group the comma-separated pieces: a piece starting with `<scheme> ` (a token not followed
        // by `=`) starts a new challenge.
        let mut groups: Vec<(String, String)> = Vec::new();
        for piece in split_unquoted(v, ',') {
            let t = piece.trim();
            if t.is_empty() {
                continue;
            }
            let first_word = t.split([' ', '\t']).next().unwrap_or("");
            if !first_word.contains('=')
                && first_word
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                let rest = t.get(first_word.len()..).unwrap_or("").trim();
                groups.push((first_word.to_string(), rest.to_string()));
            } else if let Some(g) = groups.last_mut() {
                g.1.push(',');
                g.1.push_str(t);
            } else {
                return Err(Error::InvalidHeader {
                    header: "WWW-Authenticate",
                    reason: "missing scheme",
                });
            }
        }
        groups
            .into_iter()
            .map(|(scheme, rest)| Challenge::from_parts(&scheme, &rest))
            .collect()
    }

    fn from_parts(scheme: &str, rest: &str) -> Result<Challenge> {
        let params = parse_params(rest);
        let bad = |reason| Error::InvalidHeader {
            header: "WWW-Authenticate",
            reason,
        };
        if scheme.eq_ignore_ascii_case("basic") {
            Ok(Challenge::Basic {
                realm: get(&params, "realm").unwrap_or("").to_string(),
            })
        } else if scheme.eq_ignore_ascii_case("digest") {
            let algorithm = match get(&params, "algorithm") {
                Some(a) => {
                    Some(DigestAlgorithm::parse(a).ok_or(bad("unsupported digest algorithm"))?)
                }
                None => None,
            };
            Ok(Challenge::Digest(DigestChallenge {
                realm: get(&params, "realm")
                    .ok_or(bad("digest without realm"))?
                    .to_string(),
                nonce: get(&params, "nonce")
                    .ok_or(bad("digest without nonce"))?
                    .to_string(),
                opaque: get(&params, "opaque").map(str::to_string),
                algorithm,
                qop: get(&params, "qop")
                    .map(|q| {
                        q.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                stale: get(&params, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
            }))
        } else {
            Ok(Challenge::Other {
                scheme: scheme.to_string(),
            })
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Challenge::Basic { realm } => write!(f, "Basic realm={}", quote(realm)),
            Challenge::Digest(d) => {
                write!(
                    f,
                    "Digest realm={}, nonce={}",
                    quote(&d.realm),
                    quote(&d.nonce)
                )?;
                if let Some(a) = d.algorithm {
                    write!(f, ", algorithm={}", a.as_str())?;
                }
                if !d.qop.is_empty() {
                    write!(f, ", qop={}", quote(&d.qop.join(",")))?;
                }
                if let Some(o) = &d.opaque {
                    write!(f, ", opaque={}", quote(o))?;
                }
                if d.stale {
                    f.write_str(", stale=true")?;
                }
                Ok(())
            }
            Challenge::Other { scheme } => f.write_str(scheme),
        }
    }
}

/// Digest credentials (`Authorization: Digest …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri` (the request URI the client hashed).
    pub uri: String,
    /// `response` (hex).
    pub response: String,
    /// `algorithm`.
    pub algorithm: Option<DigestAlgorithm>,
    /// `cnonce`.
    pub cnonce: Option<String>,
    /// `opaque`.
    pub opaque: Option<String>,
    /// `qop` chosen.
    pub qop: Option<String>,
    /// `nc` nonce count.
    pub nc: Option<u32>,
}

/// The value of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic base64(user:pass)`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `Digest …`.
    Digest(DigestCredentials),
}

impl Credentials {
    /// Parses an `Authorization` header value.
    pub fn parse(v: &str) -> Result<Credentials> {
        let bad = |reason| Error::InvalidHeader {
            header: "Authorization",
            reason,
        };
        let v = v.trim();
        let (scheme, rest) = v
            .split_once([' ', '\t'])
            .ok_or(bad("missing credentials"))?;
        if scheme.eq_ignore_ascii_case("basic") {
            let raw = B64.decode(rest.trim()).map_err(|_| bad("bad base64"))?;
            let text = String::from_utf8(raw).map_err(|_| bad("not UTF-8"))?;
            let (u, p) = text.split_once(':').ok_or(bad("missing `:`"))?;
            Ok(Credentials::Basic {
                username: u.to_string(),
                password: p.to_string(),
            })
        } else if scheme.eq_ignore_ascii_case("digest") {
            let params = parse_params(rest);
            let req = |k: &'static str| {
                get(&params, k)
                    .map(str::to_string)
                    .ok_or(bad("missing digest parameter"))
            };
            let algorithm = match get(&params, "algorithm") {
                Some(a) => {
                    Some(DigestAlgorithm::parse(a).ok_or(bad("unsupported digest algorithm"))?)
                }
                None => None,
            };
            let nc = match get(&params, "nc") {
                Some(n) => Some(u32::from_str_radix(n, 16).map_err(|_| bad("bad nc"))?),
                None => None,
            };
            Ok(Credentials::Digest(DigestCredentials {
                username: req("username")?,
                realm: req("realm")?,
                nonce: req("nonce")?,
                uri: req("uri")?,
                response: req("response")?,
                algorithm,
                cnonce: get(&params, "cnonce").map(str::to_string),
                opaque: get(&params, "opaque").map(str::to_string),
                qop: get(&params, "qop").map(str::to_string),
                nc,
            }))
        } else {
            Err(bad("unsupported scheme"))
        }
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, password } => {
                write!(f, "Basic {}", B64.encode(format!("{username}:{password}")))
            }
            Credentials::Digest(d) => {
                write!(
                    f,
                    "Digest username={}, realm={}, nonce={}, uri={}, response={}",
                    quote(&d.username),
                    quote(&d.realm),
                    quote(&d.nonce),
                    quote(&d.uri),
                    quote(&d.response)
                )?;
                if let Some(a) = d.algorithm {
                    write!(f, ", algorithm={}", a.as_str())?;
                }
                if let Some(o) = &d.opaque {
                    write!(f, ", opaque={}", quote(o))?;
                }
                if let Some(q) = &d.qop {
                    write!(f, ", qop={q}")?;
                }
                if let Some(nc) = d.nc {
                    write!(f, ", nc={nc:08x}")?;
                }
                if let Some(c) = &d.cnonce {
                    write!(f, ", cnonce={}", quote(c))?;
                }
                Ok(())
            }
        }
    }
}
