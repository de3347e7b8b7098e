//! WebSocket-FLV: the same FLV stream as HTTP-FLV on the same path, one binary message
//! per tag (what flv.js and mpegts.js read over `ws://`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tracing::debug;

use super::pump::{pump, Sink};
use crate::core::{Link, Subscription, Unit};
use crate::format::flv;
use crate::net::http::{empty, status, Body};

/// Units written per wake-up.
const BATCH_UNITS: usize = 64;

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

struct WsSink {
    sink: SplitSink<Ws, Message>,
    queued: Vec<bytes::Bytes>,
    link: Arc<Link>,
}

impl Sink for WsSink {
    fn push(&mut self, unit: &Arc<Unit>) {
        let tag = flv::tag(unit);
        if !tag.is_empty() {
            self.queued.push(tag.clone());
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        for b in self.queued.drain(..) {
            self.link.add_out(b.len());
            self.sink
                .feed(Message::Binary(b))
                .await
                .map_err(std::io::Error::other)?;
        }
        self.sink.flush().await.map_err(std::io::Error::other)
    }

    async fn end(&mut self) {
        let _ = self.sink.send(Message::Close(None)).await;
    }
}

/// Whether `req` asks for a WebSocket upgrade.
pub(crate) fn is_upgrade<B>(req: &Request<B>) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                .unwrap_or(false)
        })
    };
    has(header::UPGRADE, "websocket") && has(header::CONNECTION, "upgrade")
}

/// Answers the upgrade and streams `sub` over the WebSocket.
pub(crate) fn response(
    req: Request<Incoming>,
    mut sub: Subscription,
    stuck: Duration,
) -> Response<Body> {
    let Some(accept) = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| derive_accept_key(k.as_bytes()))
    else {
        return status(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n");
    };
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
        let (sink, incoming) = ws.split();
        let link = sub.session().link().clone();
        let mut sink = WsSink {
            sink,
            queued: vec![flv::file_header(sub.shape())],
            link: link.clone(),
        };
        if !matches!(tokio::time::timeout(stuck, sink.flush()).await, Ok(Ok(()))) {
            return;
        }
        tokio::select! {
            end = pump(&mut sub, &mut sink, BATCH_UNITS, stuck) => {
                debug!(stream = sub.key(), ?end, "ws-flv player done");
            }
            () = client_gone(incoming) => {}
            () = link.kicked() => debug!(stream = sub.key(), "ws-flv player kicked"),
        }
    });
    let mut r = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

/// Resolves when the player closes (pings are answered by tungstenite on the next write;
/// anything else from a player is ignored).
async fn client_gone(mut incoming: SplitStream<Ws>) {
    loop {
        match incoming.next().await {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
            Some(Ok(_)) => {}
        }
    }
}
