//! The player pump every streaming egress shares: take what the subscription has ready
//! (up to a batch), encode it, write it — and give up on a player whose socket accepts
//! nothing for the stuck timeout, so a dead or stalled client never holds a stream's
//! units (or a task) forever. Players that fall behind are skipped to the next keyframe
//! by the hub, never waited for.

use std::sync::Arc;
use std::time::Duration;

use crate::core::{Subscription, Unit};

/// How a pumped player ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PumpEnd {
    /// The stream ended (the sink was told).
    StreamEnded,
    /// The client went away (a write failed).
    ClientGone,
    /// The client accepted nothing for the stuck timeout.
    Stuck,
}

/// One player's output.
pub(crate) trait Sink {
    /// Queues `unit` for writing.
    fn push(&mut self, unit: &Arc<Unit>);
    /// Writes what was queued.
    async fn flush(&mut self) -> std::io::Result<()>;
    /// The stream ended: a last word (end-of-stream marker, close frame).
    async fn end(&mut self) {}
}

/// Pumps `sub` into `sink` until the stream ends or the player fails.
pub(crate) async fn pump(
    sub: &mut Subscription,
    sink: &mut impl Sink,
    batch: usize,
    stuck: Duration,
) -> PumpEnd {
    let mut units = Vec::with_capacity(batch.min(16));
    loop {
        let more = sub.next_batch(&mut units, batch).await;
        for u in &units {
            sink.push(u);
        }
        if !units.is_empty() {
            match crate::net::within(stuck, sink.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return PumpEnd::ClientGone,
                Err(_) => {
                    sub.counters()
                        .players_stuck
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return PumpEnd::Stuck;
                }
            }
        }
        units.clear();
        if units.capacity() > 16 {
            // Keep an idle player small after a burst (GOP replay).
            units.shrink_to(16);
        }
        if !more {
            let _ = tokio::time::timeout(stuck, sink.end()).await;
            return PumpEnd::StreamEnded;
        }
    }
}
