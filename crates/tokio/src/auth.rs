//! Who may publish and play: the authorization hook every ingest and egress consults.
//!
//! One asynchronous hook decides for every protocol — RTMP connect/publish/play, RTSP
//! ANNOUNCE/DESCRIBE, HTTP-FLV, WebSocket-FLV, HLS, and each new GB28181 stream (with its
//! SSRC and source address) — so an application can answer from a database or an HTTP
//! service (the control plane's webhooks plug in here). A client the hook refuses gets its
//! protocol's refusal at once: RTMP an error status, RTSP 403, HTTP 403, GB28181 no stream.
//!
//! **May import**: nothing else of this crate.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// What a client asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// RTMP `connect` (key = the app).
    Connect,
    /// Publish `key`.
    Publish,
    /// Play `key`.
    Play,
}

/// The input of the authorization hook.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthRequest {
    /// `"rtmp"`, `"rtsp"`, `"http-flv"`, `"ws-flv"`, `"hls"`, `"gb28181"`, …
    pub protocol: &'static str,
    /// What is asked.
    pub access: Access,
    /// `app/stream` (or the app for [`Access::Connect`]).
    pub key: String,
    /// The `?key=value` query the client sent with the app or stream name, if any.
    pub query: Option<String>,
    /// The client's address.
    pub peer: SocketAddr,
    /// GB28181: the RTP SSRC of the stream.
    pub ssrc: Option<u32>,
    /// The id the session will have if allowed (as the API lists it).
    pub session: Option<u64>,
}

impl AuthRequest {
    /// A request (no SSRC).
    pub fn new(
        protocol: &'static str,
        access: Access,
        key: impl Into<String>,
        query: Option<String>,
        peer: SocketAddr,
    ) -> AuthRequest {
        AuthRequest {
            protocol,
            access,
            key: key.into(),
            query,
            peer,
            ssrc: None,
            session: None,
        }
    }

    /// With the id the session will have.
    pub fn with_session(mut self, id: u64) -> AuthRequest {
        self.session = Some(id);
        self
    }

    /// With a GB28181 SSRC.
    pub fn with_ssrc(mut self, ssrc: u32) -> AuthRequest {
        self.ssrc = Some(ssrc);
        self
    }
}

/// The future an [`Authorize`] implementation returns: true allows.
pub type AuthFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// An authorization hook.
pub trait Authorize: Send + Sync {
    /// Decides `req`.
    fn authorize(&self, req: AuthRequest) -> AuthFuture;
}

/// A synchronous closure as a hook.
struct SyncHook<F>(F);

impl<F: Fn(&AuthRequest) -> bool + Send + Sync> Authorize for SyncHook<F> {
    fn authorize(&self, req: AuthRequest) -> AuthFuture {
        let ok = (self.0)(&req);
        Box::pin(std::future::ready(ok))
    }
}

/// An asynchronous closure as a hook.
struct AsyncHook<F>(F);

impl<F, Fut> Authorize for AsyncHook<F>
where
    F: Fn(AuthRequest) -> Fut + Send + Sync,
    Fut: Future<Output = bool> + Send + 'static,
{
    fn authorize(&self, req: AuthRequest) -> AuthFuture {
        Box::pin((self.0)(req))
    }
}

/// The hook as the relay holds it (cheap to clone).
#[derive(Clone)]
pub struct AuthHook(Arc<dyn Authorize>);

impl std::fmt::Debug for AuthHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthHook")
    }
}

impl Default for AuthHook {
    fn default() -> Self {
        AuthHook::allow_all()
    }
}

impl AuthHook {
    /// Allows everything.
    pub fn allow_all() -> AuthHook {
        AuthHook::from_fn(|_| true)
    }

    /// From a synchronous decision.
    pub fn from_fn(f: impl Fn(&AuthRequest) -> bool + Send + Sync + 'static) -> AuthHook {
        AuthHook(Arc::new(SyncHook(f)))
    }

    /// From an asynchronous decision.
    pub fn from_async<F, Fut>(f: F) -> AuthHook
    where
        F: Fn(AuthRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        AuthHook(Arc::new(AsyncHook(f)))
    }

    /// From an [`Authorize`] implementation.
    pub fn new(a: impl Authorize + 'static) -> AuthHook {
        AuthHook(Arc::new(a))
    }

    /// Decides `req`.
    pub async fn check(&self, req: AuthRequest) -> bool {
        self.0.authorize(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sync_and_async_hooks() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let req = |q: &str| AuthRequest::new("rtmp", Access::Play, "live/a", Some(q.into()), peer);
        let h = AuthHook::from_fn(|r| r.query.as_deref() == Some("ok"));
        assert!(h.check(req("ok")).await);
        assert!(!h.check(req("no")).await);
        let h = AuthHook::from_async(|r: AuthRequest| async move { r.key == "live/a" });
        assert!(h.check(req("x")).await);
    }
}
