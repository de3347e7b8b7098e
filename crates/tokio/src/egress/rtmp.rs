//! RTMP play: a player's units as RTMP messages, pre-chunked once per unit for the relay's
//! chunk size and shared by every RTMP player ([`crate::format::flv::rtmp_message`]).
//!
//! Every media message goes out with a type-0 (absolute) header, so a player's output
//! depends on no per-connection encoder state. That lets the stream's publishing task
//! write a batch to a caught-up player itself ([`RtmpDirect`], one non-blocking vectored
//! write, no task woken); the player's own task takes over whenever the socket does not
//! take everything, the stream ends or the player is behind, and reads the ring as usual
//! (skipping to a keyframe, cut off when stuck).

use std::sync::Arc;

use tracing::info;
use weir_rtmp_chunk::ServerSession;

use crate::core::{Direct, Link, Subscription, Unit, UnitKind};
use crate::format::flv;
use crate::net::{OutState, SharedOut};

/// Units written per batch before the socket is flushed. In steady state a batch is one
/// or two units; the cap bounds the per-player transmit queue after a burst (GOP replay).
pub(crate) const BATCH_UNITS: usize = 16;

/// Queues `unit` as an RTMP message (type-0 header, shared chunks) for `stream_id`;
/// returns the bytes queued.
fn queue_unit(st: &mut OutState, unit: &Unit, stream_id: u32, chunk_size: u32) -> usize {
    let Some(msg) = flv::rtmp_message(unit, chunk_size) else {
        return 0;
    };
    let header = if stream_id == 1 {
        flv::rtmp_header_stream1(unit, &msg)
    } else {
        let ts = flv::timestamp(unit);
        let mut ok = true;
        let header = st.header(|b| ok = msg.write_type0_header(ts, stream_id, b).is_ok());
        if !ok {
            return 0;
        }
        header
    };
    if header.is_empty() {
        return 0;
    }
    let n = header.len() + msg.chunks().len();
    st.push(header);
    st.push(msg.chunks().clone());
    n
}

/// The publishing task's path to one RTMP player.
pub(crate) struct RtmpDirect {
    out: Arc<SharedOut>,
    stream_id: u32,
    chunk_size: u32,
    link: Arc<Link>,
}

impl Direct for RtmpDirect {
    fn offer(&self, from: u64, units: &[Arc<Unit>]) {
        let mut st = self.out.lock();
        if !st.direct {
            return;
        }
        if st.pos < from {
            // Units this player never saw were published: its task catches up.
            self.out.hand_back(&mut st);
            return;
        }
        let skip = usize::try_from(st.pos - from).unwrap_or(usize::MAX);
        let mut queued = 0;
        for u in units.iter().skip(skip) {
            if u.kind() == UnitKind::End {
                // The task ends the play (stream EOF) from here.
                self.out.hand_back(&mut st);
                break;
            }
            queued += queue_unit(&mut st, u, self.stream_id, self.chunk_size);
            st.pos += 1;
        }
        self.link.add_out(queued);
        self.out.write_direct(&mut st);
    }
}

/// One playing RTMP stream of a connection.
pub(crate) struct RtmpPlayer {
    /// The RTMP message stream it plays on.
    pub(crate) stream_id: u32,
    pub(crate) sub: Subscription,
    units: Vec<Arc<Unit>>,
    /// The stream ended: send end-of-stream with the batch.
    ended: bool,
    out: Arc<SharedOut>,
    /// The publishing task delivers (the player was caught up when last checked).
    direct: bool,
}

impl std::fmt::Debug for RtmpPlayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtmpPlayer")
            .field("stream_id", &self.stream_id)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

impl RtmpPlayer {
    /// A player of `sub` on message stream `stream_id`, writing through `out`.
    pub(crate) fn new(
        stream_id: u32,
        sub: Subscription,
        out: Arc<SharedOut>,
        chunk_size: u32,
        link: Arc<Link>,
    ) -> RtmpPlayer {
        sub.set_direct(Some(Arc::new(RtmpDirect {
            out: out.clone(),
            stream_id,
            chunk_size,
            link,
        })));
        RtmpPlayer {
            stream_id,
            sub,
            units: Vec::new(),
            ended: false,
            out,
            direct: false,
        }
    }

    /// Once everything is written and nothing is left to read, hands the player to the
    /// publishing task.
    pub(crate) fn try_direct(&mut self) {
        if self.direct || self.ended || !self.units.is_empty() {
            return;
        }
        let mut st = self.out.lock();
        if st.direct || !st.is_empty() || st.failed || !self.sub.caught_up() {
            return;
        }
        st.direct = true;
        st.pos = self.sub.position();
        self.direct = true;
    }

    /// Waits for the next batch of units (cancel-safe: units taken stay queued here). In
    /// direct mode, first waits until the publishing task hands the player back.
    pub(crate) async fn ready(&mut self) {
        if !self.units.is_empty() || self.ended {
            return;
        }
        while self.direct {
            {
                let st = self.out.lock();
                if !st.direct {
                    self.sub.set_position(st.pos);
                    self.direct = false;
                    break;
                }
            }
            self.out.takeover.notified().await;
        }
        let more = self.sub.next_batch(&mut self.units, BATCH_UNITS).await;
        self.ended = !more;
    }

    /// Queues the batch for writing (the connection's flush writes it); false when the
    /// stream has ended (end of stream was queued on the session too).
    pub(crate) fn send(
        &mut self,
        session: &mut ServerSession,
        chunk_size: u32,
        link: &Link,
    ) -> Result<bool, weir_rtmp_chunk::Error> {
        {
            let mut st = self.out.lock();
            let mut queued = 0;
            for u in self.units.drain(..) {
                queued += queue_unit(&mut st, &u, self.stream_id, chunk_size);
            }
            link.add_out(queued);
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

impl Drop for RtmpPlayer {
    fn drop(&mut self) {
        // The publishing task lets go of the socket.
        self.sub.set_direct(None);
    }
}
