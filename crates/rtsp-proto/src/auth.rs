//! Basic and Digest authentication (RFC 2617 / RFC 7616 with MD5 and SHA-256), client and
//! server side. Digest responses are compared in constant time.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::time::{Duration, Instant};

use base64::Engine as _;
use md5::Md5;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::headers::split_unquoted;
use crate::RandomSource;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Digest hash algorithm (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// `MD5` (the default when absent).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl DigestAlgorithm {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
        }
    }
    /// Parses a name (case-insensitive); `None` for unsupported ones (e.g. SHA-512-256).
    pub fn parse(s: &str) -> Option<DigestAlgorithm> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MD5" => Some(DigestAlgorithm::Md5),
            "MD5-SESS" => Some(DigestAlgorithm::Md5Sess),
            "SHA-256" => Some(DigestAlgorithm::Sha256),
            "SHA-256-SESS" => Some(DigestAlgorithm::Sha256Sess),
            _ => None,
        }
    }
    fn is_sess(self) -> bool {
        matches!(self, DigestAlgorithm::Md5Sess | DigestAlgorithm::Sha256Sess)
    }
    fn strength(self) -> u8 {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => 1,
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => 2,
        }
    }
    /// Lower-case hex hash of `data`.
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => to_hex(&Md5::digest(data)),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => to_hex(&Sha256::digest(data)),
        }
    }
}

fn to_hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

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

/// Inputs of a digest response computation.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// Algorithm.
    pub algorithm: DigestAlgorithm,
    /// User name.
    pub username: &'a str,
    /// Realm.
    pub realm: &'a str,
    /// Password.
    pub password: &'a str,
    /// Request method.
    pub method: &'a str,
    /// Digest URI.
    pub uri: &'a str,
    /// Server nonce.
    pub nonce: &'a str,
    /// `qop=auth` with `(nc, cnonce)`; `None` for the RFC 2069 form.
    pub qop_auth: Option<(u32, &'a str)>,
    /// Client nonce for the `-sess` algorithms when `qop_auth` is `None`.
    pub cnonce: Option<&'a str>,
}

/// Computes the digest `response` value (RFC 7616 §3.4.1).
pub fn digest_response(i: &DigestInput<'_>) -> String {
    let h = |s: &str| i.algorithm.hash_hex(s.as_bytes());
    let mut ha1 = h(&format!("{}:{}:{}", i.username, i.realm, i.password));
    if i.algorithm.is_sess() {
        let cnonce = i.qop_auth.map(|q| q.1).or(i.cnonce).unwrap_or("");
        ha1 = h(&format!("{ha1}:{}:{cnonce}", i.nonce));
    }
    let ha2 = h(&format!("{}:{}", i.method, i.uri));
    match i.qop_auth {
        Some((nc, cnonce)) => h(&format!("{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}", i.nonce)),
        None => h(&format!("{ha1}:{}:{ha2}", i.nonce)),
    }
}

/// Client-side state: answers challenges for every following request.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    username: String,
    password: String,
    challenge: Option<Challenge>,
    nc: u32,
}

impl ClientAuth {
    /// Credentials to use once the server challenges.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> ClientAuth {
        ClientAuth {
            username: username.into(),
            password: password.into(),
            challenge: None,
            nc: 0,
        }
    }

    /// True once a challenge has been accepted.
    pub fn has_challenge(&self) -> bool {
        self.challenge.is_some()
    }

    /// Picks the strongest supported challenge from a 401's `WWW-Authenticate` headers
    /// (SHA-256 over MD5 over Basic). Errors when none is usable.
    pub fn handle_challenges<'a>(&mut self, values: impl Iterator<Item = &'a str>) -> Result<()> {
        let mut best: Option<(u8, Challenge)> = None;
        for v in values {
            // A header we cannot parse may sit next to a usable one.
            let Ok(list) = Challenge::parse_list(v) else {
                continue;
            };
            for c in list {
                let score = match &c {
                    Challenge::Basic { .. } => 1,
                    Challenge::Digest(d) => {
                        if !d.qop.is_empty()
                            && !d.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"))
                        {
                            continue;
                        }
                        2 + d.algorithm.unwrap_or(DigestAlgorithm::Md5).strength()
                    }
                    Challenge::Other { .. } => continue,
                };
                let better = match &best {
                    Some((s, _)) => score > *s,
                    None => true,
                };
                if better {
                    best = Some((score, c));
                }
            }
        }
        let (_, c) = best.ok_or(Error::Auth {
            reason: "no supported challenge (Basic, Digest MD5/SHA-256 with qop=auth)",
        })?;
        self.challenge = Some(c);
        self.nc = 0;
        Ok(())
    }

    /// The `Authorization` value for a request, or `None` before any challenge.
    pub fn authorization(
        &mut self,
        method: &str,
        uri: &str,
        rng: &mut dyn RandomSource,
    ) -> Option<String> {
        match self.challenge.as_ref()? {
            Challenge::Basic { .. } => Some(
                Credentials::Basic {
                    username: self.username.clone(),
                    password: self.password.clone(),
                }
                .to_string(),
            ),
            Challenge::Digest(d) => {
                let algorithm = d.algorithm.unwrap_or(DigestAlgorithm::Md5);
                let use_qop = d.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"));
                let cnonce = format!("{:016x}", rng.next_u64());
                self.nc = self.nc.wrapping_add(1);
                let response = digest_response(&DigestInput {
                    algorithm,
                    username: &self.username,
                    realm: &d.realm,
                    password: &self.password,
                    method,
                    uri,
                    nonce: &d.nonce,
                    qop_auth: if use_qop {
                        Some((self.nc, &cnonce))
                    } else {
                        None
                    },
                    cnonce: Some(&cnonce),
                });
                let needs_cnonce = use_qop || algorithm.is_sess();
                Some(
                    Credentials::Digest(DigestCredentials {
                        username: self.username.clone(),
                        realm: d.realm.clone(),
                        nonce: d.nonce.clone(),
                        uri: uri.to_string(),
                        response,
                        algorithm: d.algorithm,
                        cnonce: if needs_cnonce { Some(cnonce) } else { None },
                        opaque: d.opaque.clone(),
                        qop: if use_qop { Some("auth".into()) } else { None },
                        nc: if use_qop { Some(self.nc) } else { None },
                    })
                    .to_string(),
                )
            }
            Challenge::Other { .. } => None,
        }
    }
}

/// Server authentication settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Realm shown to clients.
    pub realm: String,
    /// Accepted `(user, password)` pairs.
    pub users: Vec<(String, String)>,
    /// Digest algorithms to offer, strongest first (one `WWW-Authenticate` header each).
    /// ffmpeg only implements MD5, and uses the last Digest challenge it sees, so keep MD5 last.
    pub digest: Vec<DigestAlgorithm>,
    /// Also offer and accept Basic (only sensible over TLS).
    pub allow_basic: bool,
    /// How long a nonce stays valid; older ones get a `stale=true` challenge.
    pub nonce_lifetime: Duration,
    /// How many outstanding nonces to remember (oldest dropped first).
    pub max_nonces: usize,
}

impl AuthConfig {
    /// Digest with SHA-256 and MD5, one user, 60 s nonces.
    pub fn digest(
        realm: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> AuthConfig {
        AuthConfig {
            realm: realm.into(),
            users: vec![(user.into(), password.into())],
            digest: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            allow_basic: false,
            nonce_lifetime: Duration::from_secs(60),
            max_nonces: 64,
        }
    }
}

/// Result of checking a request's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Accepted, for this user.
    Granted {
        /// The authenticated user.
        username: String,
    },
    /// Rejected: answer 401 with these `WWW-Authenticate` values.
    Challenge(Vec<String>),
}

#[derive(Debug, Clone)]
struct NonceEntry {
    nonce: String,
    issued: Instant,
    last_nc: u32,
}

/// Server-side verifier with nonce bookkeeping. Time and randomness are passed in.
#[derive(Debug, Clone)]
pub struct Authenticator {
    config: AuthConfig,
    nonces: VecDeque<NonceEntry>,
}

impl Authenticator {
    /// A verifier for `config`.
    pub fn new(config: AuthConfig) -> Authenticator {
        Authenticator {
            config,
            nonces: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Fresh challenges (a new nonce, remembered with its issue time).
    pub fn challenges(
        &mut self,
        now: Instant,
        rng: &mut dyn RandomSource,
        stale: bool,
    ) -> Vec<String> {
        let nonce = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
        while self.nonces.len() >= self.config.max_nonces.max(1) {
            self.nonces.pop_front();
        }
        self.nonces.push_back(NonceEntry {
            nonce: nonce.clone(),
            issued: now,
            last_nc: 0,
        });
        let mut out: Vec<String> = self
            .config
            .digest
            .iter()
            .map(|a| {
                Challenge::Digest(DigestChallenge {
                    realm: self.config.realm.clone(),
                    nonce: nonce.clone(),
                    opaque: None,
                    algorithm: Some(*a),
                    qop: vec!["auth".into()],
                    stale,
                })
                .to_string()
            })
            .collect();
        if self.config.allow_basic {
            out.push(
                Challenge::Basic {
                    realm: self.config.realm.clone(),
                }
                .to_string(),
            );
        }
        out
    }

    /// Checks `authorization` (the header value, if any) for a request.
    pub fn verify(
        &mut self,
        method: &str,
        request_uri: &str,
        authorization: Option<&str>,
        now: Instant,
        rng: &mut dyn RandomSource,
    ) -> AuthOutcome {
        let creds = match authorization.map(Credentials::parse) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "rtsp auth: unparsable Authorization");
                return AuthOutcome::Challenge(self.challenges(now, rng, false));
            }
            None => return AuthOutcome::Challenge(self.challenges(now, rng, false)),
        };
        match creds {
            Credentials::Basic { username, password } => {
                if self.config.allow_basic
                    && self
                        .password_of(&username)
                        .is_some_and(|p| constant_time_eq(p.as_bytes(), password.as_bytes()))
                {
                    return AuthOutcome::Granted { username };
                }
                AuthOutcome::Challenge(self.challenges(now, rng, false))
            }
            Credentials::Digest(d) => self.verify_digest(method, request_uri, d, now, rng),
        }
    }

    fn password_of(&self, user: &str) -> Option<&str> {
        self.config
            .users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
    }

    fn verify_digest(
        &mut self,
        method: &str,
        request_uri: &str,
        d: DigestCredentials,
        now: Instant,
        rng: &mut dyn RandomSource,
    ) -> AuthOutcome {
        let algorithm = d.algorithm.unwrap_or(DigestAlgorithm::Md5);
        if !self.config.digest.contains(&algorithm) || d.realm != self.config.realm {
            return AuthOutcome::Challenge(self.challenges(now, rng, false));
        }
        if !uri_matches(&d.uri, request_uri) {
            tracing::debug!(digest_uri = %d.uri, request_uri, "rtsp auth: digest uri does not match the request");
            return AuthOutcome::Challenge(self.challenges(now, rng, false));
        }
        let Some(pos) = self
            .nonces
            .iter()
            .position(|n| constant_time_eq(n.nonce.as_bytes(), d.nonce.as_bytes()))
        else {
            // Unknown (forgotten or forged) nonce: ask again; stale so clients retry silently.
            return AuthOutcome::Challenge(self.challenges(now, rng, true));
        };
        let Some(password) = self.password_of(&d.username).map(str::to_string) else {
            return AuthOutcome::Challenge(self.challenges(now, rng, false));
        };
        let qop_auth = match (&d.qop, d.nc, &d.cnonce) {
            (Some(q), Some(nc), Some(c)) if q.eq_ignore_ascii_case("auth") => {
                Some((nc, c.as_str()))
            }
            (None, _, _) => None,
            _ => return AuthOutcome::Challenge(self.challenges(now, rng, false)),
        };
        let expected = digest_response(&DigestInput {
            algorithm,
            username: &d.username,
            realm: &self.config.realm,
            password: &password,
            method,
            uri: &d.uri,
            nonce: &d.nonce,
            qop_auth,
            cnonce: d.cnonce.as_deref(),
        });
        if !constant_time_eq(
            expected.as_bytes(),
            d.response.to_ascii_lowercase().as_bytes(),
        ) {
            return AuthOutcome::Challenge(self.challenges(now, rng, false));
        }
        let Some(entry) = self.nonces.get_mut(pos) else {
            return AuthOutcome::Challenge(self.challenges(now, rng, false));
        };
        if now.saturating_duration_since(entry.issued) > self.config.nonce_lifetime {
            // Right password, old nonce (RFC 7616 §3.3 `stale`).
            self.nonces.remove(pos);
            return AuthOutcome::Challenge(self.challenges(now, rng, true));
        }
        if let Some((nc, _)) = qop_auth {
            // Replay protection: the nonce count must grow.
            if nc <= entry.last_nc {
                return AuthOutcome::Challenge(self.challenges(now, rng, true));
            }
            entry.last_nc = nc;
        }
        AuthOutcome::Granted {
            username: d.username,
        }
    }
}

fn uri_matches(digest_uri: &str, request_uri: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
    if norm(digest_uri) == norm(request_uri) {
        return true;
    }
    // Some clients hash only the path.
    match request_uri
        .find("://")
        .and_then(|i| request_uri.get(i + 3..))
        .and_then(|r| r.find('/').map(|p| (r, p)))
    {
        Some((rest, p)) => norm(rest.get(p..).unwrap_or("")) == norm(digest_uri),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7616_section_3_9_1_vectors() {
        // RFC 7616 §3.9.1: user Mufasa, password "Circle of Life".
        let base = DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            qop_auth: Some((1, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
            cnonce: None,
        };
        assert_eq!(digest_response(&base), "8ca523f5e9506fed4657c9700eebdbec");
        let sha = DigestInput {
            algorithm: DigestAlgorithm::Sha256,
            ..base
        };
        assert_eq!(
            digest_response(&sha),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn rfc2617_vector() {
        // RFC 2617 §3.5.
        let i = DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop_auth: Some((1, "0a4f113b")),
            cnonce: None,
        };
        assert_eq!(digest_response(&i), "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn challenge_parsing() {
        let l = Challenge::parse_list("Digest realm=\"a, b\", nonce=\"n\", qop=\"auth,auth-int\", algorithm=SHA-256, Basic realm=\"x\"").unwrap();
        assert_eq!(l.len(), 2);
        match &l[0] {
            Challenge::Digest(d) => {
                assert_eq!(d.realm, "a, b");
                assert_eq!(d.qop, vec!["auth".to_string(), "auth-int".to_string()]);
                assert_eq!(d.algorithm, Some(DigestAlgorithm::Sha256));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(l[1], Challenge::Basic { realm: "x".into() });
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
