//! The HTTP front door: routes requests to HTTP-FLV, WebSocket-FLV, HLS and the API, with
//! CORS for browser players and the authorization hook for media. The routes can run on
//! the relay's own listener or be mounted in an application's hyper server
//! ([`HttpRoutes`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tracing::debug;

use crate::auth::{Access, AuthRequest};
use crate::control::{api, metrics};
use crate::core::{HubError, Link, Peer, SubscribeOptions};
use crate::ctx::Ctx;
use crate::egress::hls::{self, HlsPath, HlsReply};
use crate::egress::hls_clients::{split_query, Lookup, SESSION_PARAM};
use crate::egress::{http_flv, ws_flv};
use crate::net::http::{body_up_to, cors, empty, flv_headers, full, status, stream_key, Body};
use crate::net::{accept_loop, tune_socket};

/// `/api/v1/pulls` and `/api/v1/pushes` (their POST has a body).
async fn proxy_api(
    ctx: &Ctx,
    req: Request<Incoming>,
    rest: &str,
    peer: SocketAddr,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let bytes = if parts.method == Method::POST {
        match body_up_to(body, 64 << 10).await {
            Some(b) => b,
            None => return api::error(StatusCode::PAYLOAD_TOO_LARGE, "request body over 64 KiB"),
        }
    } else {
        Bytes::new()
    };
    let api_req = api::ApiRequest {
        method: &parts.method,
        path: rest,
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        peer,
    };
    crate::control::proxy::handle(ctx, &api_req, &bytes)
}

pub(crate) async fn serve(listener: TcpListener, ctx: Arc<Ctx>, shutdown: watch::Receiver<bool>) {
    let tasks = ctx.tasks.clone();
    let routes = HttpRoutes { ctx };
    accept_loop(
        listener,
        "http",
        tasks,
        shutdown,
        move |sock, peer, stop| {
            let routes = routes.clone();
            async move {
                tune_socket(
                    &sock,
                    routes.ctx.config.tcp_nodelay,
                    routes.ctx.config.send_buffer_bytes,
                );
                routes.serve_connection(sock, peer, stop).await;
            }
        },
    )
    .await;
}

/// The relay's HTTP routes (HTTP-FLV, WebSocket-FLV, HLS, the API), to run on an
/// application's own listener or inside its own hyper server. Cheap to clone.
#[derive(Clone)]
pub struct HttpRoutes {
    pub(crate) ctx: Arc<Ctx>,
}

impl std::fmt::Debug for HttpRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRoutes").finish_non_exhaustive()
    }
}

impl HttpRoutes {
    /// Serves HTTP/1.1 and HTTP/2 (h2c, prior knowledge) on one accepted connection until
    /// it closes or `shutdown` changes.
    pub async fn serve_connection<IO>(
        &self,
        io: IO,
        peer: SocketAddr,
        mut shutdown: watch::Receiver<bool>,
    ) where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // Fired by a streaming response whose client stopped reading.
        let kill = Arc::new(Notify::new());
        // Kicked through the API; counts the connection's traffic.
        let link = Link::new();
        let service = self.service(peer, kill.clone(), link.clone());
        // HTTP/1.1, and HTTP/2 with prior knowledge (h2c: the connection preface tells).
        let mut builder = auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder
            .http1()
            .max_buf_size(self.ctx.config.http.max_header_bytes.max(8192))
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10));
        builder
            .http2()
            .timer(hyper_util::rt::TokioTimer::new())
            .max_header_list_size(
                u32::try_from(self.ctx.config.http.max_header_bytes.max(8192)).unwrap_or(u32::MAX),
            );
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    debug!(%peer, error = %e, "http connection ended");
                }
            }
            _ = kill.notified() => debug!(%peer, "http player stuck: connection closed"),
            () = link.kicked() => debug!(%peer, "http connection kicked"),
            _ = shutdown.changed() => {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
            }
        }
    }

    /// The hyper service of one connection.
    fn service(
        &self,
        peer: SocketAddr,
        kill: Arc<Notify>,
        link: Arc<Link>,
    ) -> impl hyper::service::Service<
        Request<Incoming>,
        Response = Response<Body>,
        Error = Infallible,
        Future = impl std::future::Future<Output = Result<Response<Body>, Infallible>> + Send,
    > + Clone
           + Send
           + 'static {
        let routes = self.clone();
        service_fn(move |req| {
            let routes = routes.clone();
            let kill = kill.clone();
            let link = link.clone();
            async move { Ok::<_, Infallible>(routes.route(req, peer, kill, link).await) }
        })
    }

    /// `Upgrade: h2c` (see [`super::h2c`]): answers 101 and serves HTTP/2 on the upgraded
    /// connection, the request itself on stream 1.
    fn upgrade_h2c(
        &self,
        req: Request<Incoming>,
        frame: Vec<u8>,
        peer: SocketAddr,
    ) -> Response<Body> {
        let on = hyper::upgrade::on(req);
        let routes = self.clone();
        tokio::spawn(async move {
            let Ok(upgraded) = on.await else { return };
            let io = super::h2c::Injected::new(TokioIo::new(upgraded), frame);
            let kill = Arc::new(Notify::new());
            let link = Link::new();
            let service = routes.service(peer, kill.clone(), link.clone());
            let conn =
                hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .timer(hyper_util::rt::TokioTimer::new())
                    .serve_connection(TokioIo::new(io), service);
            tokio::select! {
                r = conn => {
                    if let Err(e) = r {
                        debug!(%peer, error = %e, "h2c connection ended");
                    }
                }
                _ = kill.notified() => {}
                () = link.kicked() => {}
            }
        });
        super::h2c::switching()
    }

    /// Answers one request from `peer` (for mounting in another hyper server).
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        self.route(req, peer, Arc::new(Notify::new()), Link::new())
            .await
    }

    async fn route(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        kill: Arc<Notify>,
        link: Arc<Link>,
    ) -> Response<Body> {
        let ctx = &self.ctx;
        #[cfg(feature = "webrtc")]
        if crate::webrtc::http::is_webrtc_path(req.uri().path()) {
            return crate::webrtc::http::handle(ctx, req, peer).await;
        }
        if req.method() == Method::OPTIONS {
            return cors(empty(StatusCode::NO_CONTENT));
        }
        // Upgrade: h2c. (A request too large for one HEADERS frame is served as HTTP/1.1:
        // a server may ignore an upgrade.)
        if super::h2c::is_upgrade(&req) && !ws_flv::is_upgrade(&req) {
            if let Some(frame) = super::h2c::headers_frame(&req) {
                return self.upgrade_h2c(req, frame, peer);
            }
        }
        let path = req.uri().path().to_string();
        let (method, headers) = (req.method(), req.headers());
        if let Some(r) = crate::console::handle(&ctx.config.http, method, &path, headers).await {
            return cors(r);
        }
        if let Some(rest) = path.strip_prefix("/api/v1") {
            let proxy = ["/pulls", "/pushes"]
                .iter()
                .any(|p| rest == *p || rest.strip_prefix(p).is_some_and(|r| r.starts_with('/')));
            if proxy {
                return cors(proxy_api(ctx, req, rest, peer).await);
            }
            let authorization = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            let api_req = api::ApiRequest {
                method: req.method(),
                path: rest,
                authorization,
                peer,
            };
            #[cfg(feature = "record")]
            if rest == "/recordings" || rest.starts_with("/recordings/") {
                return cors(crate::control::recordings::handle(ctx, &api_req).await);
            }
            return cors(api::handle(ctx, &api_req));
        }
        if path == "/metrics" && req.method() == Method::GET {
            return metrics::response(ctx);
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return cors(status(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed\n",
            ));
        }
        let query = req.uri().query().map(str::to_string);
        #[cfg(feature = "record")]
        if let Some(rest) = path.strip_prefix("/vod/") {
            let vreq = crate::egress::vod::http::VodRequest {
                path: rest,
                query,
                head: req.method() == Method::HEAD,
                range: req
                    .headers()
                    .get(header::RANGE)
                    .and_then(|v| v.to_str().ok()),
                peer,
                session: ctx.hub.next_id(),
            };
            let r = crate::egress::vod::http::handle(&ctx.vod, &ctx.recorders, &ctx.auth, vreq);
            return cors(r.await);
        }
        if let Some(ll) = crate::egress::llhls::parse_path(&path) {
            return cors(super::play_http::llhls(ctx, ll, query, peer).await);
        }
        if let Some(hls_path) = hls::parse_path(&path) {
            return cors(self.hls(hls_path, query, peer).await);
        }
        if let Some((format, key)) = crate::egress::http_media::route(&path) {
            let head = req.method() == Method::HEAD;
            let r = super::play_http::media(ctx, format, key, query, head, peer, kill, link);
            return cors(r.await);
        }
        let Some(key) = stream_key(&path, ".flv") else {
            return cors(status(StatusCode::NOT_FOUND, "not found\n"));
        };
        let websocket = ws_flv::is_upgrade(&req);
        let protocol = if websocket { "ws-flv" } else { "http-flv" };
        let id = ctx.hub.next_id();
        let auth = AuthRequest::new(protocol, Access::Play, key.clone(), query.clone(), peer)
            .with_session(id);
        if !ctx.auth.check(auth).await {
            return cors(status(StatusCode::FORBIDDEN, "forbidden\n"));
        }
        let opts =
            SubscribeOptions::new().peer(Peer::new(peer, link).with_query(query).with_id(id));
        let sub = match ctx.hub.subscribe_with(&key, protocol, opts).await {
            Ok(s) => s,
            Err(HubError::NotFound(_)) => {
                return cors(status(StatusCode::NOT_FOUND, "stream not found\n"))
            }
            Err(_) => return cors(status(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")),
        };
        let stuck = ctx.config.player_stuck_timeout;
        if websocket {
            return ws_flv::response(req, sub, stuck);
        }
        if req.method() == Method::HEAD {
            let mut r = empty(StatusCode::OK);
            flv_headers(&mut r);
            return cors(r);
        }
        cors(http_flv::response(sub, stuck, kill))
    }

    async fn hls(&self, path: HlsPath, query: Option<String>, peer: SocketAddr) -> Response<Body> {
        let ctx = &self.ctx;
        let key = match &path {
            HlsPath::Playlist(k) | HlsPath::Segment(k, _) => k.clone(),
        };
        // HLS players are sessions (see `egress::hls_clients`): asked of the hook once.
        let (sid, client_query) = split_query(query.as_deref());
        let mut opened = false;
        let (id, link) = match ctx.hls_clients.lookup(&key, peer, sid) {
            Lookup::Kicked => return status(StatusCode::FORBIDDEN, "session ended\n"),
            Lookup::Known(id, link) => (id, link),
            Lookup::New => {
                let id = ctx.hub.next_id();
                let auth =
                    AuthRequest::new("hls", Access::Play, key.clone(), client_query.clone(), peer)
                        .with_session(id);
                if !ctx.auth.check(auth).await {
                    return status(StatusCode::FORBIDDEN, "forbidden\n");
                }
                opened = true;
                ctx.hls_clients.open(&key, peer, client_query.clone(), id)
            }
        };
        let suffix = match &client_query {
            Some(q) => format!("?{q}&{SESSION_PARAM}={id}"),
            None => format!("?{SESSION_PARAM}={id}"),
        };
        let reply = match path {
            HlsPath::Playlist(k) => ctx.hls.playlist(&k, &suffix).await,
            HlsPath::Segment(k, n) => ctx.hls.segment(&k, n),
        };
        match &reply {
            HlsReply::Playlist(text) => link.add_out(text.len()),
            HlsReply::Segment(data) => link.add_out(data.len()),
            // Nothing to play: a session opened for this request ends with it.
            HlsReply::NotFound if opened => ctx.hls_clients.close(id),
            HlsReply::NotFound => {}
        }
        match reply {
            HlsReply::Playlist(text) => {
                let mut r = full(
                    StatusCode::OK,
                    "application/vnd.apple.mpegurl",
                    Bytes::from(text),
                );
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            }
            HlsReply::Segment(data) => {
                let mut r = full(StatusCode::OK, "video/mp2t", data);
                // A segment never changes once listed.
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=60, immutable"),
                );
                r
            }
            HlsReply::NotFound => status(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}
