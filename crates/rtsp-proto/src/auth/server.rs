//! Server side: issuing challenges and verifying credentials with nonce bookkeeping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{
    constant_time_eq, digest_response, Challenge, Credentials, DigestAlgorithm, DigestChallenge,
    DigestCredentials, DigestInput,
};
use crate::RandomSource;

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
