//! LL-HLS over HTTP: sessions, the authorization hook, status codes and headers.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::{LlPath, LlReply};
use crate::auth::{Access, AuthRequest};
use crate::ctx::Ctx;
use crate::egress::hls_clients::{split_query, Lookup, SESSION_PARAM};
use crate::net::http::{full, status, Body};

/// A body of shared chunks with an exact length (a segment is its parts back to back).
pub(crate) struct Chunks {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl Chunks {
    pub(crate) fn new(chunks: Vec<Bytes>) -> Chunks {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Chunks {
            chunks: chunks.into(),
            remaining,
        }
    }
}

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.chunks.pop_front() {
            Some(c) => {
                self.remaining -= c.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(c))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

fn media(content_type: &'static str, chunks: Vec<Bytes>) -> Response<Body> {
    let mut r = Response::new(Chunks::new(chunks).boxed_unsync());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A URI names one thing for the packager's life (its number is in the name).
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    r
}

/// Answers an LL-HLS request from `peer` (sessions as for HLS: the first request opens one,
/// asked of the authorization hook once; URIs in the playlist carry `?session=ID`).
pub(crate) async fn respond(
    ctx: &Ctx,
    path: LlPath,
    query: Option<String>,
    peer: SocketAddr,
) -> Response<Body> {
    let key = path.key().to_string();
    let (sid, client_query) = split_query(query.as_deref());
    // The query the playlist's URIs carry: the client's own, without delivery directives.
    let client_query = client_query.and_then(|q| weir_hls::strip_directives(&q));
    let mut opened = false;
    let (id, link) = match ctx.ll_clients.lookup(&key, peer, sid) {
        Lookup::Kicked => return status(StatusCode::FORBIDDEN, "session ended\n"),
        Lookup::Known(id, link) => (id, link),
        Lookup::New => {
            let id = ctx.hub.next_id();
            let auth = AuthRequest::new(
                "ll-hls",
                Access::Play,
                key.clone(),
                client_query.clone(),
                peer,
            )
            .with_session(id);
            if !ctx.auth.check(auth).await {
                return status(StatusCode::FORBIDDEN, "forbidden\n");
            }
            opened = true;
            ctx.ll_clients.open(&key, peer, client_query.clone(), id)
        }
    };
    let suffix = match &client_query {
        Some(q) => format!("?{q}&{SESSION_PARAM}={id}"),
        None => format!("?{SESSION_PARAM}={id}"),
    };
    let reply = ctx.llhls.handle(&path, query.as_deref(), &suffix).await;
    let r = match reply {
        LlReply::Playlist(text) => {
            link.add_out(text.len());
            let mut r = full(
                StatusCode::OK,
                "application/vnd.apple.mpegurl",
                Bytes::from(text),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        LlReply::Init(b) => {
            link.add_out(b.len());
            media("video/mp4", vec![b])
        }
        LlReply::Media(chunks) => {
            link.add_out(chunks.iter().map(Bytes::len).sum());
            media("video/mp4", chunks)
        }
        LlReply::BadRequest(why) => status(StatusCode::BAD_REQUEST, why),
        LlReply::Unavailable(why) => status(StatusCode::SERVICE_UNAVAILABLE, why),
        LlReply::NotFound => status(StatusCode::NOT_FOUND, "not found\n"),
    };
    if opened && r.status() != StatusCode::OK {
        // Nothing to play: a session opened for this request ends with it.
        ctx.ll_clients.close(id);
    }
    r
}
