//! Client side: answering challenges.

use super::{
    digest_response, Challenge, Credentials, DigestAlgorithm, DigestCredentials, DigestInput,
};
use crate::error::{Error, Result};
use crate::RandomSource;

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
