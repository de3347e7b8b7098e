//! Sans-IO WHEP/WHIP resource state: the URL shapes (`/{app}/{stream}/whep` and
//! `…/whip` to create, `…/whep/{token}` for the session resource), and the registry of live
//! resources — unguessable tokens, ETags, the session cap.

use std::collections::HashMap;

use crate::net::path::valid_key;

/// WHEP (play) or WHIP (publish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `…/whep`: a player.
    Whep,
    /// `…/whip`: a publisher.
    Whip,
}

impl Kind {
    /// The path segment.
    pub(crate) fn segment(self) -> &'static str {
        match self {
            Kind::Whep => "whep",
            Kind::Whip => "whip",
        }
    }
}

/// A WebRTC path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WebRtcPath {
    /// `POST /{app}/{stream}/whep|whip`: create a session.
    Endpoint(Kind, String),
    /// `/{app}/{stream}/whep|whip/{token}`: a session resource.
    Resource(Kind, String, String),
}

/// Reads a request path.
pub(crate) fn parse_path(path: &str) -> Option<WebRtcPath> {
    let p = path.strip_prefix('/')?;
    for kind in [Kind::Whep, Kind::Whip] {
        let seg = kind.segment();
        if let Some(key) = p.strip_suffix(seg).and_then(|k| k.strip_suffix('/')) {
            return valid_key(key).then(|| WebRtcPath::Endpoint(kind, key.to_string()));
        }
        let marker = format!("/{seg}/");
        if let Some(i) = p.rfind(&marker) {
            let (key, token) = (&p[..i], &p[i + marker.len()..]);
            let token_ok = !token.is_empty()
                && token.len() <= 64
                && token.bytes().all(|b| b.is_ascii_alphanumeric());
            if valid_key(key) && token_ok {
                return Some(WebRtcPath::Resource(
                    kind,
                    key.to_string(),
                    token.to_string(),
                ));
            }
        }
    }
    None
}

/// The resource URL of a session.
pub(crate) fn location(kind: Kind, key: &str, token: &str) -> String {
    format!("/{key}/{}/{token}", kind.segment())
}

/// A live resource.
#[derive(Debug, Clone)]
pub(crate) struct Resource<H> {
    /// WHEP or WHIP.
    pub(crate) kind: Kind,
    /// `app/stream`.
    pub(crate) key: String,
    /// The hub session id.
    pub(crate) session: u64,
    /// The entity tag (changes with an ICE restart; we have none).
    pub(crate) etag: String,
    /// What drives the session.
    pub(crate) handle: H,
}

/// Why a resource was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The session cap is reached.
    Full,
    /// The token is taken (a random collision: try again).
    Taken,
}

/// The live resources, by token.
#[derive(Debug)]
pub(crate) struct Registry<H> {
    by_token: HashMap<String, Resource<H>>,
    max: usize,
}

impl<H> Registry<H> {
    /// An empty registry of at most `max` resources.
    pub(crate) fn new(max: usize) -> Registry<H> {
        Registry {
            by_token: HashMap::new(),
            max,
        }
    }

    /// Resources now.
    #[allow(dead_code)] // tests and the fuzz target
    pub(crate) fn len(&self) -> usize {
        self.by_token.len()
    }

    /// Whether one more fits.
    pub(crate) fn has_room(&self) -> bool {
        self.by_token.len() < self.max
    }

    /// Adds `r` under `token`.
    pub(crate) fn insert(&mut self, token: &str, r: Resource<H>) -> Result<(), Refused> {
        if !self.has_room() {
            return Err(Refused::Full);
        }
        if self.by_token.contains_key(token) {
            return Err(Refused::Taken);
        }
        self.by_token.insert(token.to_string(), r);
        Ok(())
    }

    /// The resource at `token` if it is of `kind` for `key` (a token is only valid under
    /// its own URL).
    pub(crate) fn get(&self, kind: Kind, key: &str, token: &str) -> Option<&Resource<H>> {
        self.by_token
            .get(token)
            .filter(|r| r.kind == kind && r.key == key)
    }

    /// Removes and returns the resource at `token` (same rule as [`Registry::get`]).
    #[allow(dead_code)] // tests and the fuzz target
    pub(crate) fn take(&mut self, kind: Kind, key: &str, token: &str) -> Option<Resource<H>> {
        self.get(kind, key, token)?;
        self.by_token.remove(token)
    }

    /// Removes the resource of hub session `session`.
    pub(crate) fn remove_session(&mut self, session: u64) {
        self.by_token.retain(|_, r| r.session != session);
    }
}

/// A resource token: 128 random bits as 32 hex digits.
pub(crate) fn token(a: u64, b: u64) -> String {
    format!("{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("/live/cam/whep"),
            Some(WebRtcPath::Endpoint(Kind::Whep, "live/cam".into()))
        );
        assert_eq!(
            parse_path("/a/b/c/whip"),
            Some(WebRtcPath::Endpoint(Kind::Whip, "a/b/c".into()))
        );
        assert_eq!(
            parse_path("/live/cam/whep/0123abcd"),
            Some(WebRtcPath::Resource(
                Kind::Whep,
                "live/cam".into(),
                "0123abcd".into()
            ))
        );
        for bad in [
            "/whep",
            "/live/whep",
            "//x/whep",
            "/live/../x/whep",
            "/live/cam/whep/",
            "/live/cam/whep/a-b",
            "/live/cam/whepx",
            "/live/cam.flv",
            "live/cam/whep",
        ] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
        let long = format!("/live/cam/whep/{}", "a".repeat(65));
        assert_eq!(parse_path(&long), None);
        assert_eq!(location(Kind::Whip, "live/cam", "ab"), "/live/cam/whip/ab");
    }

    #[test]
    fn registry_caps_and_scopes_tokens() {
        let mut r = Registry::new(2);
        let res = |kind, key: &str, session| Resource {
            kind,
            key: key.to_string(),
            session,
            etag: "\"1\"".into(),
            handle: (),
        };
        assert_eq!(r.insert("t1", res(Kind::Whep, "live/a", 1)), Ok(()));
        assert_eq!(
            r.insert("t1", res(Kind::Whep, "live/a", 2)),
            Err(Refused::Taken)
        );
        assert_eq!(r.insert("t2", res(Kind::Whip, "live/b", 2)), Ok(()));
        assert_eq!(
            r.insert("t3", res(Kind::Whep, "live/a", 3)),
            Err(Refused::Full)
        );
        // A token only works under its own URL.
        assert!(r.get(Kind::Whep, "live/b", "t1").is_none());
        assert!(r.get(Kind::Whip, "live/a", "t1").is_none());
        assert!(r.take(Kind::Whep, "live/a", "t1").is_some());
        assert!(r.take(Kind::Whep, "live/a", "t1").is_none());
        r.remove_session(2);
        assert_eq!(r.len(), 0);
        assert_eq!(token(1, 2).len(), 32);
    }
}
