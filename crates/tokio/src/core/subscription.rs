//! The playing side of a stream.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::broadcast;
use tracing::debug;
use weir_media::TrackInfo;

use super::hub::{lock, Hub, HubEvent, Slot, TapGuard};
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
    pub(super) peer: Option<std::net::SocketAddr>,
    pub(super) query: Option<String>,
    pub(super) protocol: &'static str,
    pub(super) initial: VecDeque<Arc<Unit>>,
    pub(super) rx: broadcast::Receiver<Arc<Unit>>,
    pub(super) need_keyframe: bool,
    pub(super) dropped: u64,
    pub(super) shape: StreamShape,
    pub(super) tracks: Vec<Arc<TrackInfo>>,
    pub(super) tap: Option<TapGuard>,
    /// An internal consumer (HLS segmenter, recorder): not a player, no player events.
    pub(super) internal: bool,
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

    /// The next unit; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<Arc<Unit>> {
        loop {
            let unit = match self.pop_initial() {
                Some(u) => u,
                None => match self.rx.recv().await {
                    Ok(u) => u,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        self.lagged(n);
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            if unit.kind() == UnitKind::End {
                return None;
            }
            if let Some(u) = self.filter(unit) {
                return Some(u);
            }
        }
    }

    /// The next unit if one is ready, without waiting (for batching writes).
    pub fn try_next(&mut self) -> TryNext {
        loop {
            let unit = match self.pop_initial() {
                Some(u) => u,
                None => match self.rx.try_recv() {
                    Ok(u) => u,
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        self.lagged(n);
                        continue;
                    }
                    Err(broadcast::error::TryRecvError::Empty) => return TryNext::Empty,
                    Err(broadcast::error::TryRecvError::Closed) => return TryNext::Ended,
                },
            };
            if unit.kind() == UnitKind::End {
                return TryNext::Ended;
            }
            if let Some(u) = self.filter(unit) {
                return TryNext::Unit(u);
            }
        }
    }

    /// Waits for the next unit, then takes whatever else is ready, up to `max` units in
    /// all, into `out` (cleared first). False once the stream has ended (`out` may still
    /// hold the units before the end).
    pub async fn next_batch(&mut self, out: &mut Vec<Arc<Unit>>, max: usize) -> bool {
        out.clear();
        match self.next().await {
            Some(u) => out.push(u),
            None => return false,
        }
        while out.len() < max {
            match self.try_next() {
                TryNext::Unit(u) => out.push(u),
                TryNext::Empty => break,
                TryNext::Ended => return false,
            }
        }
        true
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.slot.players.fetch_sub(1, Ordering::AcqRel);
        debug!(stream = %self.slot.key, protocol = self.protocol, dropped = self.dropped, "player left");
        if !self.internal {
            self.hub.emit(HubEvent::PlayerLeft {
                key: self.slot.key.clone(),
                protocol: self.protocol,
                session: self.id,
                dropped: self.dropped,
                peer: self.peer,
                query: self.query.take(),
            });
        }
        // The tap guard locks the stream: release it before `maybe_remove` locks it too.
        self.tap = None;
        self.hub.maybe_remove(&self.slot);
    }
}
