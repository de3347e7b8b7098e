//! HTTP-FLV: `GET /{app}/{stream}.flv` answered with a chunked FLV stream — the file
//! header for the stream's tracks, then every unit's FLV tag (built once per unit, shared
//! by every player).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::Response;
use tokio::sync::{mpsc, Notify};
use tracing::debug;

use super::pump::{pump, PumpEnd, Sink};
use crate::core::{Link, Subscription, Unit};
use crate::format::flv;
use crate::net::http::{flv_headers, Body};

/// Units forwarded to hyper per wake-up (each is one chunk of the chunked body).
const BATCH_UNITS: usize = 64;
/// Batches queued for hyper before the player counts as not keeping up.
const QUEUED_BATCHES: usize = 8;

/// Feeds the response body: one message per batch of tags, so hyper's connection task
/// wakes once per batch (and writes it with one vectored write), not once per tag.
struct ChannelSink {
    tx: mpsc::Sender<Vec<Bytes>>,
    queued: Vec<Bytes>,
    link: Arc<Link>,
}

impl Sink for ChannelSink {
    fn push(&mut self, unit: &Arc<Unit>) {
        let tag = flv::tag(unit);
        if !tag.is_empty() {
            self.queued.push(tag.clone());
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.queued.is_empty() {
            return Ok(());
        }
        self.link.add_out(self.queued.iter().map(Bytes::len).sum());
        let batch = std::mem::replace(&mut self.queued, Vec::with_capacity(4));
        self.tx
            .send(batch)
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

/// The streaming response for `sub`; `kill` is fired when the player is stuck (the
/// connection is then closed).
pub(crate) fn response(
    mut sub: Subscription,
    stuck: Duration,
    kill: Arc<Notify>,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Vec<Bytes>>(QUEUED_BATCHES);
    let header = flv::file_header(sub.shape());
    tokio::spawn(async move {
        let mut sink = ChannelSink {
            tx,
            queued: vec![header],
            link: sub.session().link().clone(),
        };
        match tokio::time::timeout(stuck, sink.flush()).await {
            Ok(Ok(())) => {}
            _ => return,
        }
        let link = sink.link.clone();
        tokio::select! {
            end = pump(&mut sub, &mut sink, BATCH_UNITS, stuck) => {
                if end == PumpEnd::Stuck {
                    debug!(stream = sub.key(), "http-flv player stuck");
                    kill.notify_one();
                }
            }
            () = link.kicked() => kill.notify_one(),
        }
    });
    // Each batch's tags are body frames in order (hyper queues them for one write).
    let stream = futures_util::stream::unfold(
        (rx, std::collections::VecDeque::<Bytes>::new()),
        |(mut rx, mut pending)| async move {
            if pending.is_empty() {
                pending = rx.recv().await?.into();
            }
            let b = pending.pop_front()?;
            Some((Ok::<_, Infallible>(Frame::data(b)), (rx, pending)))
        },
    );
    let mut r = Response::new(StreamBody::new(stream).boxed_unsync());
    flv_headers(&mut r);
    r
}
