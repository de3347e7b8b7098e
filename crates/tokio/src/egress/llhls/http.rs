//! LL-HLS replies as HTTP responses: status codes, content types, cache headers, and a body
//! of shared chunks.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::LlReply;
use crate::core::Link;
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

/// The HTTP response to an LL-HLS reply; counts what is sent on `link`.
pub(crate) fn reply(reply: LlReply, link: &Link) -> Response<Body> {
    match reply {
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
    }
}
