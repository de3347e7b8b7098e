//! Live media over plain HTTP, like HTTP-FLV: `/{app}/{stream}.ts` (MPEG-TS, what VLC and
//! set-top boxes open), `.mp4` (fragmented MP4: the init segment, then a fragment per
//! frame) and `.mjpeg` (`multipart/x-mixed-replace`, one JPEG per part, for an `<img>`).
//!
//! Each player starts at a keyframe from the GOP cache; what it is sent is built once per
//! unit and shared (the TS and fMP4 stages are hub taps, the MJPEG part header a unit
//! encoding). The stuck-player timeout and the player pump are HTTP-FLV's; authorization
//! and sessions are the connection's (`conn::play_http`).

use std::convert::Infallible;
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
use crate::core::{Link, SubscribeOptions, Subscription, Unit};
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
    /// The protocol name (authorization hook, sessions, metrics).
    pub(crate) fn protocol(self) -> &'static str {
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

impl Format {
    /// Subscription options: the stream's TS or fMP4 stage with it.
    pub(crate) fn options(self, opts: SubscribeOptions) -> SubscribeOptions {
        match self {
            Format::Ts => opts.tap::<TsStage>(),
            Format::Mp4 => opts.tap::<Fmp4Stage>(),
            Format::Mjpeg => opts,
        }
    }

    /// The answer when `sub`'s stream cannot be played in this format (MJPEG of a stream
    /// whose video is not Motion JPEG: 415).
    pub(crate) fn refuse(self, sub: &Subscription) -> Option<Response<Body>> {
        let tracks = sub.tracks();
        (self == Format::Mjpeg
            && !tracks.is_empty()
            && !tracks.iter().any(|t| t.codec == Codec::Mjpeg))
        .then(|| {
            status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "this stream has no Motion JPEG video; play it as .flv, .ts, .mp4 or HLS\n",
            )
        })
    }

    /// The answer to `HEAD`.
    pub(crate) fn head(self) -> Response<Body> {
        let mut r = empty(StatusCode::OK);
        headers(&mut r, self);
        r
    }
}

/// The streaming response for `sub`; `kill` is fired when the player is stuck.
pub(crate) fn response(
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
