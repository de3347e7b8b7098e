//! The playing side of a stream.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use tracing::debug;
use weir_media::TrackInfo;

use super::hub::{lock, Hub, HubEvent, Slot, TapGuard};
use super::ring::{Direct, Read};
use super::sessions::SessionHandle;
use super::stream::StreamShape;
use super::tap::Tap;
use super::unit::{Unit, UnitKind};

/// One player's view of a stream: the initial units (metadata, configurations, cached
/// GOP) followed by the live units. Dropping it leaves the stream.
#[derive(Debug)]
pub struct Subscription {
    pub(super) hub: Hub,
    pub(super) slot: Arc<Slot>,
    pub(super) id: u64,
    pub(super) session: SessionHandle,
    pub(super) protocol: &'static str,
    pub(super) initial: VecDeque<Arc<Unit>>,
    /// Position of the next live unit in the stream's ring.
    pub(super) pos: u64,
    /// This player's waker slot in the ring.
    pub(super) waker_slot: usize,
    pub(super) need_keyframe: bool,
    pub(super) dropped: u64,
    pub(super) shape: StreamShape,
    pub(super) tracks: Vec<Arc<TrackInfo>>,
    pub(super) tap: Option<Box<TapGuard>>,
    /// An internal consumer (HLS segmenter, recorder): not a player, no player events.
    pub(super) internal: bool,
    /// Storage for [`Subscription::next`] (one unit; kept to avoid an allocation per call).
    pub(super) one: Vec<Arc<Unit>>,
}

/// Result of [`Subscription::try_next`].
#[derive(Debug)]
pub enum TryNext {
    /// A unit.
    Unit(Arc<Unit>),
    /// Nothing buffered right now.
    Empty,
    /// The stream ended.
    Ended,
}

impl Subscription {
    /// `app/stream`.
    pub fn key(&self) -> &str {
        &self.slot.key
    }

    /// This player's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its session (link: kick signal and byte counters).
    pub fn session(&self) -> &SessionHandle {
        &self.session
    }

    /// The egress protocol it subscribed with.
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// The kinds of track the stream had when the player joined.
    pub fn shape(&self) -> StreamShape {
        self.shape
    }

    /// The stream's tracks (codec, clock rate, configuration) when the player joined,
    /// video first. Later changes arrive as configuration units ([`Unit::is_config`]).
    pub fn tracks(&self) -> &[Arc<TrackInfo>] {
        &self.tracks
    }

    /// The stream's tap of type `T`, when the subscription asked for it
    /// ([`SubscribeOptions::tap`]).
    pub fn tap<T: Tap>(&self) -> Option<Arc<T>> {
        self.tap
            .as_ref()
            .and_then(|t| t.any.clone().downcast::<T>().ok())
    }

    /// The hub's counters (egresses count stuck players there).
    pub fn counters(&self) -> &super::HubCounters {
        self.hub.counters()
    }

    /// Lets the publishing task deliver this player's units itself while it is caught up
    /// (see [`crate::net::SharedOut`]); `None` takes the path away.
    pub(crate) fn set_direct(&self, direct: Option<Arc<dyn Direct>>) {
        self.slot.ring.set_direct(self.waker_slot, direct);
    }

    /// Nothing is left to read: no initial units, no keyframe awaited, the ring read to its
    /// end — the point from which the publishing task may deliver directly.
    pub(crate) fn caught_up(&self) -> bool {
        self.initial.is_empty() && !self.need_keyframe && self.pos == self.slot.ring.tail()
    }

    /// The stream position of the next live unit.
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// Continues from stream position `pos` (after direct delivery up to there).
    pub(crate) fn set_position(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// Units skipped because this player fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Decides whether to deliver `unit` while catching up to a keyframe.
    fn filter(&mut self, unit: Arc<Unit>) -> Option<Arc<Unit>> {
        if !unit.is_frame() {
            return Some(unit);
        }
        if self.need_keyframe {
            if unit.is_keyframe() {
                self.need_keyframe = false;
            } else {
                self.dropped += 1;
                return None;
            }
        }
        Some(unit)
    }

    fn lagged(&mut self, n: u64) {
        self.dropped += n;
        self.hub
            .counters()
            .units_skipped
            .fetch_add(n, Ordering::Relaxed);
        let has_video = self.shape.has_video || lock(&self.slot.state).has_video();
        self.need_keyframe = has_video;
        debug!(stream = %self.slot.key, protocol = self.protocol, skipped = n, "player fell behind; skipping to the next keyframe");
    }

    fn pop_initial(&mut self) -> Option<Arc<Unit>> {
        let u = self.initial.pop_front()?;
        if self.initial.is_empty() {
            // The GOP replay is over: give its queue back (per-player memory).
            self.initial = VecDeque::new();
        }
        Some(u)
    }

    /// Takes what is ready, up to `max` units in all, into `out`: the initial units first,
    /// then the ring's (skipping to a keyframe after falling behind). With a context, the
    /// player's waker is registered when nothing is ready.
    fn fill(&mut self, out: &mut Vec<Arc<Unit>>, max: usize, cx: Option<&Context<'_>>) -> Fill {
        let max = max.max(1);
        loop {
            while out.len() < max {
                let Some(u) = self.pop_initial() else { break };
                if u.kind() == UnitKind::End {
                    return Fill::Ended;
                }
                if let Some(u) = self.filter(u) {
                    out.push(u);
                }
            }
            if out.len() >= max {
                return Fill::Got;
            }
            let start = out.len();
            let waiter = cx.filter(|_| start == 0).map(|cx| (self.waker_slot, cx));
            match self.slot.ring.read(&mut self.pos, out, max, waiter) {
                Read::Lagged(n) => {
                    self.lagged(n);
                    continue;
                }
                Read::Empty if out.is_empty() => return Fill::Empty,
                Read::Empty => return Fill::Got,
                Read::Units => {}
            }
            // Filter what the ring gave, in place; stop at the end marker.
            let mut keep = start;
            let mut ended = false;
            for i in start..out.len() {
                if out[i].kind() == UnitKind::End {
                    ended = true;
                    break;
                }
                let unit = out[i].clone();
                if self.filter(unit).is_some() {
                    out.swap(keep, i);
                    keep += 1;
                }
            }
            out.truncate(keep);
            if ended {
                return Fill::Ended;
            }
            if !out.is_empty() {
                return Fill::Got;
            }
        }
    }

    fn poll_fill(&mut self, cx: &Context<'_>, out: &mut Vec<Arc<Unit>>, max: usize) -> Poll<bool> {
        match self.fill(out, max, Some(cx)) {
            Fill::Got => Poll::Ready(true),
            Fill::Ended => Poll::Ready(false),
            Fill::Empty => Poll::Pending,
        }
    }

    /// The next unit; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<Arc<Unit>> {
        let mut one = std::mem::take(&mut self.one);
        one.clear();
        let more = std::future::poll_fn(|cx| self.poll_fill(cx, &mut one, 1)).await;
        let unit = if more { one.pop() } else { None };
        self.one = one;
        unit
    }

    /// The next unit if one is ready, without waiting (for batching writes).
    pub fn try_next(&mut self) -> TryNext {
        let mut one = std::mem::take(&mut self.one);
        one.clear();
        let r = match self.fill(&mut one, 1, None) {
            Fill::Got => one.pop().map_or(TryNext::Empty, TryNext::Unit),
            Fill::Empty => TryNext::Empty,
            Fill::Ended => TryNext::Ended,
        };
        self.one = one;
        r
    }

    /// Waits for the next unit, then takes whatever else is ready, up to `max` units in
    /// all, into `out` (cleared first). False once the stream has ended (`out` may still
    /// hold the units before the end).
    pub async fn next_batch(&mut self, out: &mut Vec<Arc<Unit>>, max: usize) -> bool {
        out.clear();
        std::future::poll_fn(|cx| self.poll_fill(cx, out, max)).await
    }
}

/// What [`Subscription::fill`] found.
enum Fill {
    /// Units (at least one).
    Got,
    /// Nothing ready.
    Empty,
    /// The stream ended (units before the end may have been given).
    Ended,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.slot.ring.unregister(self.waker_slot);
        self.slot.players.fetch_sub(1, Ordering::AcqRel);
        debug!(stream = %self.slot.key, protocol = self.protocol, dropped = self.dropped, "player left");
        if !self.internal {
            // (The address and query live in the session registry only: one copy each.)
            let (peer, query) = self.session.peer();
            self.hub.emit(HubEvent::PlayerLeft {
                key: self.slot.key.clone(),
                protocol: self.protocol,
                session: self.id,
                dropped: self.dropped,
                peer,
                query,
            });
        }
        // The tap guard locks the stream: release it before `maybe_remove` locks it too.
        self.tap = None;
        self.hub.maybe_remove(&self.slot);
    }
}
