//! RTMP play: a player's units as RTMP messages, pre-chunked once per unit for the relay's
//! chunk size and shared by every RTMP player ([`crate::format::flv::rtmp_message`]).

use std::sync::Arc;

use tracing::info;
use weir_rtmp_chunk::ServerSession;

use crate::core::{Subscription, Unit};
use crate::format::flv;

/// Units written per batch before the socket is flushed. In steady state a batch is one
/// or two units; the cap bounds the per-player transmit queue after a burst (GOP replay).
pub(crate) const BATCH_UNITS: usize = 16;

/// One playing RTMP stream of a connection.
#[derive(Debug)]
pub(crate) struct RtmpPlayer {
    /// The RTMP message stream it plays on.
    pub(crate) stream_id: u32,
    pub(crate) sub: Subscription,
    units: Vec<Arc<Unit>>,
    /// The stream ended: send end-of-stream with the batch.
    ended: bool,
}

impl RtmpPlayer {
    pub(crate) fn new(stream_id: u32, sub: Subscription) -> RtmpPlayer {
        RtmpPlayer {
            stream_id,
            sub,
            units: Vec::new(),
            ended: false,
        }
    }

    /// Waits for the next batch of units (cancel-safe: units taken stay queued here).
    pub(crate) async fn ready(&mut self) {
        if !self.units.is_empty() || self.ended {
            return;
        }
        let more = self.sub.next_batch(&mut self.units, BATCH_UNITS).await;
        self.ended = !more;
    }

    /// Queues the batch on the session; false when the stream has ended (end of stream
    /// was queued too).
    pub(crate) fn send(
        &mut self,
        session: &mut ServerSession,
        chunk_size: u32,
    ) -> Result<bool, weir_rtmp_chunk::Error> {
        for u in self.units.drain(..) {
            if let Some(msg) = flv::rtmp_message(&u, chunk_size) {
                session.send_prepared(self.stream_id, flv::timestamp(&u), &msg)?;
            }
        }
        if self.units.capacity() > BATCH_UNITS {
            self.units.shrink_to(BATCH_UNITS);
        }
        if self.ended {
            let _ = session.send_stream_eof(self.stream_id);
            info!(stream = self.sub.key(), "stream ended; player released");
            return Ok(false);
        }
        Ok(true)
    }
}
