//! Live media over plain HTTP, like HTTP-FLV: `/{app}/{stream}.ts` (MPEG-TS, what VLC and
//! set-top boxes open), `.mp4` (fragmented MP4: the init segment, then a fragment per
//! frame) and `.mjpeg` (`multipart/x-mixed-replace`, one JPEG per part, for an `<img>`).
//!
//! Each player starts at a keyframe from the GOP cache; what it is sent is built once per
//! unit and shared (the TS and fMP4 stages are hub taps, the MJPEG part header a unit
//! encoding). Authorization, sessions (listed, kickable), the stuck-player timeout and the
//! player pump are HTTP-FLV's.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::{mpsc, Notify};
use tracing::debug;
use weir_media::Codec;

use super::pump::{pump, PumpEnd, Sink};
use crate::auth::{Access, AuthRequest};
use crate::core::{HubError, Link, Peer, SubscribeOptions, Subscription, Unit};
use crate::ctx::Ctx;
use crate::format::fmp4::{self, Fmp4Stage};
use crate::format::mjpeg;
use crate::format::ts::{self, TsStage};
use crate::net::http::{empty, status, stream_key, Body};

/// Units forwarded to hyper per wake-up.
const BATCH_UNITS: usize = 64;

/// The formats served here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Ts,
    Mp4,
    Mjpeg,
}

impl Format {
    fn protocol(self) -> &'static str {
        match self {
            Format::Ts => "http-ts",
            Format::Mp4 => "http-mp4",
            Format::Mjpeg => "mjpeg",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Ts => "video/mp2t",
            Format::Mp4 => "video/mp4",
            Format::Mjpeg => "multipart/x-mixed-replace; boundary=weirmjpegframe",
        }
    }
}

/// `/{app}/{stream}.ts|.mp4|.mjpeg` → the format and `app/stream`.
pub(crate) fn route(path: &str) -> Option<(Format, String)> {
    [
        (".ts", Format::Ts),
        (".mp4", Format::Mp4),
        (".mjpeg", Format::Mjpeg),
    ]
    .into_iter()
    .find_map(|(suffix, f)| stream_key(path, suffix).map(|k| (f, k)))
}

struct MediaSink {
    format: Format,
    tx: mpsc::Sender<Bytes>,
    queued: Vec<Bytes>,
    link: Arc<Link>,
    stage: Option<Arc<Fmp4Stage>>,
    generation: Option<u64>,
    /// The stream's tracks changed under an fMP4 player: end it.
    done: bool,
}

const CRLF: Bytes = Bytes::from_static(b"\r\n");

impl Sink for MediaSink {
    fn push(&mut self, unit: &Arc<Unit>) {
        match self.format {
            Format::Ts => {
                if let Some(b) = ts::packets(unit).filter(|b| !b.is_empty()) {
                    self.queued.push(b.clone());
                }
            }
            Format::Mp4 => {
                let Some(f) = fmp4::fragment(unit) else {
                    return;
                };
                match self.generation {
                    None => {
                        let init = self.stage.as_ref().and_then(|s| s.init(f.generation));
                        let Some(init) = init else { return };
                        self.queued.push(init);
                        self.generation = Some(f.generation);
                    }
                    Some(g) if g != f.generation => {
                        self.done = true;
                        return;
                    }
                    Some(_) => {}
                }
                self.queued.push(f.header.clone());
                self.queued.push(f.payload.clone());
            }
            Format::Mjpeg => {
                if let Some((head, image)) = mjpeg::part(unit) {
                    self.queued.push(head.clone());
                    self.queued.push(image.clone());
                    self.queued.push(CRLF);
                }
            }
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        for b in self.queued.drain(..) {
            self.link.add_out(b.len());
            self.tx
                .send(b)
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        }
        if self.done {
            return Err(std::io::Error::other("tracks changed"));
        }
        Ok(())
    }
}

fn headers(r: &mut Response<Body>, format: Format) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
}

/// Answers `GET`/`HEAD /{app}/{stream}.{ts,mp4,mjpeg}` from `peer`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn respond(
    ctx: &Ctx,
    format: Format,
    key: String,
    query: Option<String>,
    head: bool,
    peer: SocketAddr,
    kill: Arc<Notify>,
    link: Arc<Link>,
) -> Response<Body> {
    let protocol = format.protocol();
    let id = ctx.hub.next_id();
    let auth =
        AuthRequest::new(protocol, Access::Play, key.clone(), query.clone(), peer).with_session(id);
    if !ctx.auth.check(auth).await {
        return status(StatusCode::FORBIDDEN, "forbidden\n");
    }
    let mut opts =
        SubscribeOptions::new().peer(Peer::new(peer, link).with_query(query).with_id(id));
    opts = match format {
        Format::Ts => opts.tap::<TsStage>(),
        Format::Mp4 => opts.tap::<Fmp4Stage>(),
        Format::Mjpeg => opts,
    };
    let sub = match ctx.hub.subscribe_with(&key, protocol, opts).await {
        Ok(s) => s,
        Err(HubError::NotFound(_)) => return status(StatusCode::NOT_FOUND, "stream not found\n"),
        Err(_) => return status(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
    };
    if format == Format::Mjpeg
        && !sub.tracks().is_empty()
        && !sub.tracks().iter().any(|t| t.codec == Codec::Mjpeg)
    {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "this stream has no Motion JPEG video; play it as .flv, .ts, .mp4 or HLS\n",
        );
    }
    if head {
        let mut r = empty(StatusCode::OK);
        headers(&mut r, format);
        return r;
    }
    response(sub, format, ctx.config.player_stuck_timeout, kill)
}

fn response(
    mut sub: Subscription,
    format: Format,
    stuck: Duration,
    kill: Arc<Notify>,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(BATCH_UNITS);
    tokio::spawn(async move {
        let mut sink = MediaSink {
            format,
            tx,
            queued: Vec::new(),
            link: sub.session().link().clone(),
            stage: sub.tap::<Fmp4Stage>(),
            generation: None,
            done: false,
        };
        let link = sink.link.clone();
        tokio::select! {
            end = pump(&mut sub, &mut sink, BATCH_UNITS, stuck) => {
                if end == PumpEnd::Stuck {
                    debug!(stream = sub.key(), protocol = format.protocol(), "player stuck");
                    kill.notify_one();
                }
            }
            () = link.kicked() => kill.notify_one(),
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut r = Response::new(StreamBody::new(stream).boxed_unsync());
    headers(&mut r, format);
    r
}
