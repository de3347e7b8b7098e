//! HTTP egress: HTTP-FLV and WebSocket-FLV on `/{app}/{stream}.flv`, the stream list on
//! `/api/v1/streams`, CORS for browser players, 404 for everything else.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, warn};
use weir_flv::FlvHeader;

use crate::hls::{HlsPath, HlsReply};
use crate::hub::{HubError, StreamShape, Subscription, TryNext};
use crate::io::tune_socket;
use crate::server::{Access, AuthRequest, Ctx};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Units forwarded to hyper per wake-up (each is one chunk of the chunked body).
const BATCH_UNITS: usize = 64;

pub(crate) async fn serve(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    tune_socket(&sock, ctx.config.tcp_nodelay, ctx.config.send_buffer_bytes);
                    let ctx = ctx.clone();
                    let shutdown = shutdown.clone();
                    let guard = ctx.tasks.enter();
                    tokio::spawn(async move {
                        let _guard = guard;
                        connection(sock, peer, ctx, shutdown).await;
                    });
                }
                Err(e) => {
                    warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

async fn connection(
    sock: tokio::net::TcpStream,
    peer: SocketAddr,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Fired by a streaming response whose client stopped reading.
    let kill = Arc::new(Notify::new());
    let service = {
        let ctx = ctx.clone();
        let kill = kill.clone();
        service_fn(move |req| handle(req, peer, ctx.clone(), kill.clone()))
    };
    let conn = http1::Builder::new()
        .max_buf_size(ctx.config.max_http_header_bytes.max(8192))
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(sock), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                debug!(%peer, error = %e, "http connection ended");
            }
        }
        _ = kill.notified() => debug!(%peer, "http player stuck: connection closed"),
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

fn cors(mut r: Response<Body>) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("*"),
    );
    r
}

fn status(code: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed_unsync());
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    cors(r)
}

async fn handle(
    req: Request<Incoming>,
    peer: SocketAddr,
    ctx: Arc<Ctx>,
    kill: Arc<Notify>,
) -> Result<Response<Body>, Infallible> {
    if req.method() == Method::OPTIONS {
        let mut r = Response::new(Empty::new().boxed_unsync());
        *r.status_mut() = StatusCode::NO_CONTENT;
        return Ok(cors(r));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(status(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed\n",
        ));
    }
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    if path == "/api/v1/streams" {
        return Ok(api_streams(&ctx));
    }
    if let Some(hls_path) = crate::hls::parse_path(&path) {
        let key = match &hls_path {
            HlsPath::Playlist(k) | HlsPath::Segment(k, _) => k.clone(),
        };
        let auth = AuthRequest {
            protocol: "hls",
            access: Access::Play,
            key: key.clone(),
            query,
            peer,
        };
        if !(ctx.auth)(&auth) {
            return Ok(status(StatusCode::FORBIDDEN, "forbidden\n"));
        }
        let reply = match hls_path {
            HlsPath::Playlist(k) => ctx.hls.playlist(&k).await,
            HlsPath::Segment(k, n) => ctx.hls.segment(&k, n),
        };
        return Ok(match reply {
            HlsReply::Playlist(text) => {
                let mut r = Response::new(Full::new(Bytes::from(text)).boxed_unsync());
                let h = r.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/vnd.apple.mpegurl"),
                );
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                cors(r)
            }
            HlsReply::Segment(data) => {
                let mut r = Response::new(Full::new(data).boxed_unsync());
                let h = r.headers_mut();
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp2t"));
                // A segment never changes once listed.
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=60, immutable"),
                );
                cors(r)
            }
            HlsReply::NotFound => status(StatusCode::NOT_FOUND, "not found\n"),
        });
    }
    let Some(key) = flv_key(&path) else {
        return Ok(status(StatusCode::NOT_FOUND, "not found\n"));
    };
    let websocket = is_websocket_upgrade(&req);
    let protocol = if websocket { "ws-flv" } else { "http-flv" };
    let auth = AuthRequest {
        protocol,
        access: Access::Play,
        key: key.clone(),
        query,
        peer,
    };
    if !(ctx.auth)(&auth) {
        return Ok(status(StatusCode::FORBIDDEN, "forbidden\n"));
    }
    let sub = match ctx.hub.subscribe(&key, protocol).await {
        Ok(s) => s,
        Err(HubError::NotFound(_)) => {
            return Ok(status(StatusCode::NOT_FOUND, "stream not found\n"))
        }
        Err(_) => return Ok(status(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")),
    };
    if websocket {
        return Ok(websocket_flv(req, sub, ctx));
    }
    if req.method() == Method::HEAD {
        let mut r = Response::new(Empty::new().boxed_unsync());
        flv_headers(&mut r);
        return Ok(cors(r));
    }
    Ok(http_flv(sub, ctx, kill))
}

/// `/{app}/{stream}.flv` → `app/stream`.
fn flv_key(path: &str) -> Option<String> {
    let key = path.strip_prefix('/')?.strip_suffix(".flv")?;
    let (app, stream) = key.rsplit_once('/')?;
    let ok =
        |s: &str| !s.is_empty() && !s.split('/').any(|p| p.is_empty() || p == "." || p == "..");
    (ok(app) && ok(stream)).then(|| key.to_string())
}

fn is_websocket_upgrade<B>(req: &Request<B>) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                .unwrap_or(false)
        })
    };
    has(header::UPGRADE, "websocket") && has(header::CONNECTION, "upgrade")
}

fn flv_headers(r: &mut Response<Body>) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("video/x-flv"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// FLV file header + PreviousTagSize0 for the tracks of `shape`.
pub(crate) fn flv_file_header(shape: StreamShape) -> Bytes {
    let (has_audio, has_video) = if !shape.has_audio && !shape.has_video {
        (true, true)
    } else {
        (shape.has_audio, shape.has_video)
    };
    let header = FlvHeader {
        version: 1,
        has_audio,
        has_video,
        data_offset: weir_flv::HEADER_LEN as u32,
    };
    let mut out = BytesMut::with_capacity(13);
    header.write_with_first_tag_size(&mut out);
    out.freeze()
}

fn http_flv(mut sub: Subscription, ctx: Arc<Ctx>, kill: Arc<Notify>) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(BATCH_UNITS);
    let stuck = ctx.config.player_stuck_timeout;
    let header = flv_file_header(sub.shape());
    tokio::spawn(async move {
        let send = |b: Bytes| {
            let tx = tx.clone();
            async move { tokio::time::timeout(stuck, tx.send(b)).await }
        };
        match send(header).await {
            Ok(Ok(())) => {}
            _ => return,
        }
        while let Some(unit) = sub.next().await {
            let mut batch = vec![unit];
            while batch.len() < BATCH_UNITS {
                match sub.try_next() {
                    TryNext::Unit(u) => batch.push(u),
                    TryNext::Empty | TryNext::Ended => break,
                }
            }
            for u in batch {
                match send(u.flv_tag().clone()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return, // client gone
                    Err(_) => {
                        debug!(stream = sub.key(), "http-flv player stuck");
                        kill.notify_one();
                        return;
                    }
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut r = Response::new(StreamBody::new(stream).boxed_unsync());
    flv_headers(&mut r);
    cors(r)
}

fn websocket_flv(req: Request<Incoming>, mut sub: Subscription, ctx: Arc<Ctx>) -> Response<Body> {
    let Some(accept) = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| derive_accept_key(k.as_bytes()))
    else {
        return status(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n");
    };
    let stuck = ctx.config.player_stuck_timeout;
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(u) => u,
            Err(e) => {
                debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(64 << 10);
        config.max_frame_size = Some(64 << 10);
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let (mut sink, mut incoming) = ws.split();
        let header = flv_file_header(sub.shape());
        if !matches!(
            tokio::time::timeout(stuck, sink.send(Message::Binary(header))).await,
            Ok(Ok(()))
        ) {
            return;
        }
        loop {
            tokio::select! {
                unit = sub.next() => {
                    let Some(unit) = unit else {
                        let _ = sink.send(Message::Close(None)).await;
                        return;
                    };
                    let mut n = 1;
                    let write = async {
                        sink.feed(Message::Binary(unit.flv_tag().clone())).await?;
                        while n < BATCH_UNITS {
                            match sub.try_next() {
                                TryNext::Unit(u) => {
                                    sink.feed(Message::Binary(u.flv_tag().clone())).await?;
                                    n += 1;
                                }
                                TryNext::Empty | TryNext::Ended => break,
                            }
                        }
                        sink.flush().await
                    };
                    match tokio::time::timeout(stuck, write).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            debug!(error = %e, "ws-flv player gone");
                            return;
                        }
                        Err(_) => {
                            debug!(stream = sub.key(), "ws-flv player stuck");
                            return;
                        }
                    }
                }
                msg = incoming.next() => match msg {
                    // Pings are answered by tungstenite on the next write; anything else
                    // from a player is ignored until it closes.
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                }
            }
        }
    });
    let mut r = Response::new(Empty::new().boxed_unsync());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn api_streams(ctx: &Ctx) -> Response<Body> {
    let mut out = String::from("{\"streams\":[");
    for (i, s) in ctx.hub.streams().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"key\":");
        json_str(&mut out, &s.key);
        out.push_str(&format!(
            ",\"live\":{},\"players\":{},\"video\":{},\"audio\":{},\"units\":{}",
            s.live, s.players, s.shape.has_video, s.shape.has_audio, s.units
        ));
        if let Some(hls) = ctx.hls.info(&s.key) {
            let dropped: Vec<String> = hls
                .dropped_tracks
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect();
            out.push_str(&format!(
                ",\"hls\":{{\"segments\":{},\"dropped_tracks\":[{}]}}",
                hls.segments,
                dropped.join(",")
            ));
        }
        out.push('}');
    }
    out.push_str("]}\n");
    let mut r = Response::new(Full::new(Bytes::from(out)).boxed_unsync());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    cors(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flv_paths() {
        assert_eq!(flv_key("/live/cam1.flv").as_deref(), Some("live/cam1"));
        assert_eq!(flv_key("/a/b/c.flv").as_deref(), Some("a/b/c"));
        for bad in [
            "/live.flv",
            "/live/.flv",
            "//x.flv",
            "/live/cam1",
            "/../x.flv",
            "/a/../b.flv",
        ] {
            assert_eq!(flv_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\n");
        assert_eq!(s, "\"a\\\"b\\\\c\\u000a\"");
    }

    #[test]
    fn flv_header_flags() {
        let h = flv_file_header(StreamShape {
            has_video: true,
            has_audio: false,
        });
        assert_eq!(&h[..], &[b'F', b'L', b'V', 1, 1, 0, 0, 0, 9, 0, 0, 0, 0]);
        let both = flv_file_header(StreamShape::default());
        assert_eq!(both[4], 5);
    }
}
