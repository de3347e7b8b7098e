//! The stream hub: a registry of live streams keyed by `app/stream`.
//!
//! * One publisher per name; a second [`Hub::publish`] is refused with [`HubError::Busy`].
//! * Publishers hand the hub [`TrackInfo`]s and [`Frame`]s (any number of tracks, typed
//!   timestamps); players get [`Unit`]s. The hub knows no wire format.
//! * Any number of players ([`Hub::subscribe`]). A player may arrive before the publisher
//!   and waits up to the configured time for it.
//! * Fan-out is write-once: units go into one bounded broadcast ring per stream, shared by
//!   every player (`Arc<Unit>`); a player costs a cursor into that ring. A player that
//!   falls further behind than the ring holds skips to the next keyframe, counted
//!   ([`Subscription::dropped`]).
//! * A GOP cache (from the last keyframe, after the current metadata and configurations)
//!   lets a late joiner start decoding at once; video of a new publisher session starts
//!   at its first keyframe.
//! * A publisher that drops keeps its stream alive for a grace period; one that comes back
//!   under the same name within it takes over and the players never notice.
//! * Timestamps are repaired on the way in ([`weir_media::repair`]): monotonic per track,
//!   discontinuities smoothed; a stream that starts near a counter wrap is rebased.
//! * Lifetime events ([`HubEvent`]) go to a broadcast channel for logs, hooks and the API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{broadcast, Notify};

use super::fanout::FanoutPool;
pub use super::hub_config::{default_fanout_threads, HubConfig};
use super::ring::Ring;
use tokio::time::Instant;
use tracing::{debug, info};
use weir_media::TrackInfo;

use super::publisher::Publisher;
use super::sessions::{Peer, Role, SessionHandle, SessionInfo, Sessions};
use super::stream::{Session, StreamShape, StreamState};
use super::subscription::Subscription;
use super::tap::{Tap, TapEntry, TapFactory};
use super::unit::Unit;

/// Why the hub refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The name already has a live publisher.
    #[error("stream {0} is already being published")]
    Busy(String),
    /// Nothing was published under the name within the wait.
    #[error("stream {0} not found")]
    NotFound(String),
    /// The hub is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
}

/// A stream lifetime event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubEvent {
    /// A publisher started (or took over a stream in its grace period).
    Published {
        /// `app/stream`.
        key: String,
        /// Ingest protocol (`"rtmp"`, …).
        protocol: &'static str,
        /// The publisher session's id.
        session: u64,
    },
    /// A publisher left; the stream waits out its grace period.
    Unpublished {
        /// `app/stream`.
        key: String,
        /// The publisher session's id.
        session: u64,
        /// Its protocol.
        protocol: &'static str,
        /// Its address.
        peer: Option<std::net::SocketAddr>,
        /// The query string it published with.
        query: Option<String>,
    },
    /// The stream ended (grace period over, or shutdown).
    Ended {
        /// `app/stream`.
        key: String,
    },
    /// A player joined (not emitted for internal subscriptions: HLS segmenter, recorder).
    PlayerJoined {
        /// `app/stream`.
        key: String,
        /// Egress protocol (`"rtmp"`, `"http-flv"`, `"ws-flv"`, …).
        protocol: &'static str,
        /// The player's id.
        session: u64,
    },
    /// A player asked for a stream that is not published (emitted when the first such
    /// player starts waiting).
    StreamNotFound {
        /// `app/stream`.
        key: String,
        /// The player's protocol.
        protocol: &'static str,
    },
    /// A player left (not emitted for internal subscriptions).
    PlayerLeft {
        /// `app/stream`.
        key: String,
        /// Egress protocol.
        protocol: &'static str,
        /// The player's id.
        session: u64,
        /// Units it skipped because it fell behind.
        dropped: u64,
        /// Its address.
        peer: Option<std::net::SocketAddr>,
        /// The query string it played with.
        query: Option<String>,
    },
}

/// Hub-wide counters (since the hub was created), for metrics.
#[derive(Debug, Default)]
pub struct HubCounters {
    /// Units players skipped because they fell behind (slow players jump to a keyframe).
    pub units_skipped: AtomicU64,
    /// Players disconnected because their socket accepted nothing for the stuck timeout.
    pub players_stuck: AtomicU64,
    /// Frame timestamps the hub repaired.
    pub repairs: AtomicU64,
    /// Streams published since start.
    pub publishes: AtomicU64,
}

/// A snapshot of one stream for the API.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamInfo {
    /// `app/stream`.
    pub key: String,
    /// A publisher is connected.
    pub live: bool,
    /// The publisher's protocol, while one is connected.
    pub protocol: Option<&'static str>,
    /// Connected players (sessions of every protocol, HLS clients included; internal
    /// consumers such as segmenters and recorders are not players).
    pub players: usize,
    /// Tracks.
    pub shape: StreamShape,
    /// The tracks a player joining now is told about.
    pub tracks: Vec<Arc<TrackInfo>>,
    /// Units published so far.
    pub units: u64,
    /// Payload bytes published so far.
    pub bytes_in: u64,
    /// Timestamps repaired so far.
    pub repairs: u64,
    /// The publisher's session id, while one is connected.
    pub publisher: Option<u64>,
    /// Inbound payload bitrate over the last few seconds, bits per second.
    pub bitrate: u64,
    /// Since the stream was first published.
    pub uptime: Duration,
}

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: HubConfig,
    pub(super) streams: Mutex<HashMap<String, Arc<Slot>>>,
    pub(super) events: broadcast::Sender<HubEvent>,
    pub(super) next_id: AtomicU64,
    pub(super) shutting_down: AtomicBool,
    pub(super) sessions: Arc<Sessions>,
    pub(super) counters: HubCounters,
    fanout: Arc<FanoutPool>,
}

#[derive(Debug)]
pub(super) struct Slot {
    pub(super) key: String,
    pub(super) ring: Arc<Ring>,
    pub(super) state: Mutex<StreamState>,
    pub(super) changed: Notify,
    pub(super) players: AtomicUsize,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state half-updated in a way that
    // matters more than losing the stream; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The registry of live streams. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub {
    pub(super) shared: Arc<Shared>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(HubConfig::default())
    }
}

/// How a player subscribes (see [`Hub::subscribe_with`]).
#[derive(Debug, Default)]
pub struct SubscribeOptions {
    wait: Option<Duration>,
    tap: Option<TapFactory>,
    peer: Peer,
    internal: bool,
}

impl SubscribeOptions {
    /// Default options: wait the hub's play wait, no tap.
    pub fn new() -> SubscribeOptions {
        SubscribeOptions::default()
    }

    /// Waits `wait` (instead of the hub's play wait) for the stream to be published.
    pub fn wait(mut self, wait: Duration) -> SubscribeOptions {
        self.wait = Some(wait);
        self
    }

    /// A consumer inside the relay (a segmenter, a recorder), not a player: not listed in
    /// [`Hub::sessions`] nor counted in [`StreamInfo::players`].
    pub fn internal(mut self) -> SubscribeOptions {
        self.internal = true;
        self
    }

    /// Who the player is (address, query, connection link), for the session list.
    pub fn peer(mut self, peer: Peer) -> SubscribeOptions {
        self.peer = peer;
        self
    }

    /// Runs the stream's tap of type `T` (created on first use) while the subscription
    /// lives, including while it waits for the stream (see [`Tap`]).
    pub fn tap<T: Tap + Default>(mut self) -> SubscribeOptions {
        self.tap = Some(TapFactory::of::<T>());
        self
    }
}

impl Hub {
    /// An empty hub.
    pub fn new(config: HubConfig) -> Hub {
        let (events, _) = broadcast::channel(1024);
        Hub {
            shared: Arc::new(Shared {
                fanout: Arc::new(FanoutPool::new(
                    config.fanout_threads,
                    config.fanout_min_players,
                )),
                config,
                streams: Mutex::new(HashMap::new()),
                events,
                next_id: AtomicU64::new(1),
                shutting_down: AtomicBool::new(false),
                sessions: Arc::default(),
                counters: HubCounters::default(),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// Stream lifetime events from now on.
    pub fn events(&self) -> broadcast::Receiver<HubEvent> {
        self.shared.events.subscribe()
    }

    /// A fresh id for a session (publisher, player, connection) of this hub.
    pub fn next_id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn emit(&self, ev: HubEvent) {
        let _ = self.shared.events.send(ev);
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut streams = lock(&self.shared.streams);
        streams
            .entry(key.to_string())
            .or_insert_with(|| {
                let ring = Arc::new(Ring::new(
                    self.shared.config.queue_units.max(16),
                    self.shared.config.queue_duration,
                    self.shared.fanout.clone(),
                ));
                Arc::new(Slot {
                    key: key.to_string(),
                    ring,
                    state: Mutex::new(StreamState::new()),
                    changed: Notify::new(),
                    players: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// Removes `slot` from the registry if nothing uses it any more.
    pub(super) fn maybe_remove(&self, slot: &Arc<Slot>) {
        let mut streams = lock(&self.shared.streams);
        let mut st = lock(&slot.state);
        let idle = st.session.is_none()
            && st.waiters == 0
            && slot.players.load(Ordering::Acquire) == 0
            && (st.counters.units == 0 || st.ended);
        if idle {
            st.ended = true;
            if streams.get(&slot.key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                streams.remove(&slot.key);
            }
        }
    }

    /// Starts publishing `key` (`app/stream`) over `protocol`.
    ///
    /// # Errors
    /// [`HubError::Busy`] if the name has a live publisher, [`HubError::ShuttingDown`].
    pub fn publish(&self, key: &str, protocol: &'static str) -> Result<Publisher, HubError> {
        self.publish_with(key, protocol, Peer::default())
    }

    /// [`Hub::publish`] for a known client (listed in [`Hub::sessions`] with its address,
    /// query and connection counters; [`Hub::kick`] kicks its connection's link).
    ///
    /// # Errors
    /// As [`Hub::publish`].
    pub fn publish_with(
        &self,
        key: &str,
        protocol: &'static str,
        peer: Peer,
    ) -> Result<Publisher, HubError> {
        if self.shared.shutting_down.load(Ordering::Acquire) {
            return Err(HubError::ShuttingDown);
        }
        loop {
            let slot = self.slot(key);
            let mut st = lock(&slot.state);
            if st.ended {
                drop(st);
                continue;
            }
            if st.session.is_some() {
                return Err(HubError::Busy(key.to_string()));
            }
            let id = peer.id.unwrap_or_else(|| self.next_id());
            let resumed = st.counters.units > 0;
            st.start_session(Session {
                id,
                protocol,
                peer: peer.addr,
                query: peer.query.clone(),
            });
            self.shared
                .counters
                .publishes
                .fetch_add(1, Ordering::Relaxed);
            drop(st);
            slot.changed.notify_waiters();
            info!(stream = key, protocol, resumed, "publish started");
            self.emit(HubEvent::Published {
                key: key.to_string(),
                protocol,
                session: id,
            });
            let session = self
                .shared
                .sessions
                .register(id, protocol, Role::Publisher, key, peer);
            return Ok(Publisher {
                hub: self.clone(),
                slot,
                id,
                session,
            });
        }
    }

    pub(super) fn unpublish(&self, slot: &Arc<Slot>, id: u64) {
        let (generation, session) = {
            let mut st = lock(&slot.state);
            if st.session.as_ref().map(|s| s.id) != Some(id) {
                return;
            }
            let session = st.session.take();
            st.generation += 1;
            (st.generation, session)
        };
        info!(stream = %slot.key, "publisher left");
        if let Some(s) = session {
            self.emit(HubEvent::Unpublished {
                key: slot.key.clone(),
                session: id,
                protocol: s.protocol,
                peer: s.peer,
                query: s.query,
            });
        }
        let grace = self.shared.config.publisher_grace;
        let shutting_down = self.shared.shutting_down.load(Ordering::Acquire);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if !grace.is_zero() && !shutting_down => {
                let hub = self.clone();
                let slot = slot.clone();
                rt.spawn(async move {
                    tokio::time::sleep(grace).await;
                    hub.end_if_unpublished(&slot, generation);
                });
            }
            _ => self.end_if_unpublished(slot, generation),
        }
    }

    fn end_if_unpublished(&self, slot: &Arc<Slot>, generation: u64) {
        {
            let mut streams = lock(&self.shared.streams);
            let mut st = lock(&slot.state);
            if st.generation != generation || st.session.is_some() || st.ended {
                return;
            }
            st.ended = true;
            if streams.get(&slot.key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                streams.remove(&slot.key);
            }
            let end = Arc::new(Unit::end(st.clock()));
            slot.ring.push(end);
        }
        slot.changed.notify_waiters();
        info!(stream = %slot.key, "stream ended");
        self.emit(HubEvent::Ended {
            key: slot.key.clone(),
        });
    }

    /// Subscribes to `key`, waiting up to the configured play wait for it to be published.
    ///
    /// # Errors
    /// [`HubError::NotFound`] when the wait expires, [`HubError::ShuttingDown`].
    pub async fn subscribe(
        &self,
        key: &str,
        protocol: &'static str,
    ) -> Result<Subscription, HubError> {
        self.subscribe_with(key, protocol, SubscribeOptions::default())
            .await
    }

    /// [`Hub::subscribe`] with an explicit wait.
    ///
    /// # Errors
    /// As [`Hub::subscribe`].
    pub async fn subscribe_within(
        &self,
        key: &str,
        protocol: &'static str,
        wait: Duration,
    ) -> Result<Subscription, HubError> {
        self.subscribe_with(key, protocol, SubscribeOptions::new().wait(wait))
            .await
    }

    /// [`Hub::subscribe`] with options (wait, tap).
    ///
    /// # Errors
    /// As [`Hub::subscribe`].
    pub async fn subscribe_with(
        &self,
        key: &str,
        protocol: &'static str,
        opts: SubscribeOptions,
    ) -> Result<Subscription, HubError> {
        let wait = opts.wait.unwrap_or(self.shared.config.play_wait);
        let deadline = Instant::now() + wait;
        let track_wait = self.shared.config.track_wait;
        // A player that starts waiting before the stream has any data subscribes to the
        // ring at once, so it receives everything from the first unit however late its
        // task is scheduled after the publisher starts.
        let mut early: Option<Early> = None;
        loop {
            if self.shared.shutting_down.load(Ordering::Acquire) {
                return Err(HubError::ShuttingDown);
            }
            // An early subscriber stays with the slot it subscribed to: even if that
            // stream has already ended, what it published is queued in `rx`.
            let slot = match &early {
                Some(e) => e.slot.clone(),
                None => self.slot(key),
            };
            let notified = slot.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let until;
            {
                let mut st = lock(&slot.state);
                if st.ended && !(early.is_some() && st.counters.units > 0) {
                    drop(st);
                    // (The tap guard locks the state when dropped.)
                    early = None;
                    continue;
                }
                let live = st.live();
                let now = Instant::now();
                // Wait briefly for the other track(s), so the player's container header
                // describes every track the stream will carry.
                let ready = live
                    && ((st.has_data() && st.tracks_settled(now, track_wait))
                        || now >= deadline
                        || st.ended);
                if ready {
                    let sub = self.join(&slot, &mut st, protocol, early.take(), &opts);
                    drop(st);
                    debug!(stream = key, protocol, "player joined");
                    if !opts.internal {
                        self.emit(HubEvent::PlayerJoined {
                            key: key.to_string(),
                            protocol,
                            session: sub.id,
                        });
                    }
                    return Ok(sub);
                }
                if st.counters.units == 0 && early.is_none() {
                    let tap = opts
                        .tap
                        .as_ref()
                        .map(|f| Box::new(TapGuard::new(&slot, &mut st, f)));
                    early = Some(Early {
                        slot: slot.clone(),
                        pos: slot.ring.tail(),
                        tap,
                    });
                }
                if st.waiters == 0 && !live {
                    // Someone asked for a stream nobody publishes (a hook may start a pull).
                    self.emit(HubEvent::StreamNotFound {
                        key: key.to_string(),
                        protocol,
                    });
                }
                st.waiters += 1;
                until = match st.settle_at(track_wait) {
                    Some(t) if live => t.min(deadline),
                    _ => deadline,
                };
            }
            let timed_out = tokio::time::timeout_at(until, notified).await.is_err();
            lock(&slot.state).waiters -= 1;
            if timed_out && Instant::now() >= deadline && !lock(&slot.state).live() {
                drop(early);
                self.maybe_remove(&slot);
                return Err(HubError::NotFound(key.to_string()));
            }
        }
    }

    /// Builds a subscription (with the stream locked).
    fn join(
        &self,
        slot: &Arc<Slot>,
        st: &mut StreamState,
        protocol: &'static str,
        early: Option<Early>,
        opts: &SubscribeOptions,
    ) -> Subscription {
        let tracks = st.told_tracks();
        let shape = st.shape();
        let (initial, pos, need_keyframe, tap) = match early {
            // Everything since the stream's first unit is in the ring from `pos` on.
            Some(e) => (Vec::new(), e.pos, false, e.tap),
            None => {
                let (initial, starts_key) = st.initial_units(&tracks);
                let tap = opts
                    .tap
                    .as_ref()
                    .map(|f| Box::new(TapGuard::new(slot, st, f)));
                if let Some(t) = &tap {
                    // What the player starts from goes through the tap first, in order.
                    for u in &initial {
                        t.tap.unit(u);
                    }
                }
                // With video, start at a keyframe: the cached GOP if it has one, else
                // the next one that arrives.
                (
                    initial,
                    slot.ring.tail(),
                    shape.has_video && !starts_key,
                    tap,
                )
            }
        };
        slot.players.fetch_add(1, Ordering::AcqRel);
        let id = opts.peer.id.unwrap_or_else(|| self.next_id());
        let session = if opts.internal {
            SessionHandle::detached(id)
        } else {
            self.shared
                .sessions
                .register(id, protocol, Role::Player, &slot.key, opts.peer.clone())
        };
        Subscription {
            hub: self.clone(),
            slot: slot.clone(),
            id,
            session,
            protocol,
            initial: initial.into(),
            pos,
            waker_slot: slot.ring.register(),
            need_keyframe,
            dropped: 0,
            shape,
            tracks,
            tap,
            internal: opts.internal,
            one: Vec::new(),
        }
    }

    /// Hub-wide counters.
    pub fn counters(&self) -> &HubCounters {
        &self.shared.counters
    }

    /// Bytes received and sent by sessions that have ended, per protocol.
    pub fn closed_session_bytes(&self) -> Vec<(&'static str, u64, u64)> {
        self.shared.sessions.closed_totals()
    }

    /// Every publisher and player of every protocol.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.sessions.list()
    }

    /// Ends session `id` (its whole connection); false when there is none.
    pub fn kick(&self, id: u64) -> bool {
        self.shared.sessions.kick(id)
    }

    /// Registers a session the hub does not see as a publisher or subscription (an HLS
    /// client of a shared segmenter). It is listed until the handle drops.
    pub fn register_session(
        &self,
        protocol: &'static str,
        role: Role,
        key: &str,
        peer: Peer,
    ) -> SessionHandle {
        let id = peer.id.unwrap_or_else(|| self.next_id());
        self.shared.sessions.register(id, protocol, role, key, peer)
    }

    /// Players currently waiting for `key` to be published.
    pub fn waiting_players(&self, key: &str) -> usize {
        let slot = lock(&self.shared.streams).get(key).cloned();
        slot.map_or(0, |s| lock(&s.state).waiters)
    }

    /// One stream, for the API.
    pub fn stream(&self, key: &str) -> Option<StreamInfo> {
        self.streams().into_iter().find(|s| s.key == key)
    }

    /// All streams, for the API.
    pub fn streams(&self) -> Vec<StreamInfo> {
        let slots: Vec<Arc<Slot>> = lock(&self.shared.streams).values().cloned().collect();
        let players = self.shared.sessions.players_by_stream();
        let mut out: Vec<StreamInfo> = slots
            .iter()
            .filter_map(|slot| {
                let st = lock(&slot.state);
                st.live().then(|| StreamInfo {
                    key: slot.key.clone(),
                    live: st.session.is_some(),
                    protocol: st.session.as_ref().map(|s| s.protocol),
                    players: players.get(&slot.key).copied().unwrap_or(0),
                    shape: st.shape(),
                    tracks: st.told_tracks(),
                    units: st.counters.units,
                    bytes_in: st.counters.bytes_in,
                    repairs: st.counters.repairs,
                    publisher: st.session.as_ref().map(|s| s.id),
                    bitrate: st.rate.bits_per_second(st.second(Instant::now())),
                    uptime: st.created.elapsed(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Ends every stream and refuses new publishers and players.
    pub fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::Release);
        let slots: Vec<Arc<Slot>> = lock(&self.shared.streams).drain().map(|(_, s)| s).collect();
        for slot in slots {
            {
                let mut st = lock(&slot.state);
                st.ended = true;
                st.session = None;
                slot.ring.push(Arc::new(Unit::end(st.clock())));
            }
            slot.changed.notify_waiters();
            self.emit(HubEvent::Ended {
                key: slot.key.clone(),
            });
        }
    }
}

/// A player subscribed to a stream's ring before it had data.
struct Early {
    slot: Arc<Slot>,
    /// Its position in the stream's ring (the first unit published).
    pos: u64,
    tap: Option<Box<TapGuard>>,
}

/// Keeps a stream's tap running while a subscription (or a player waiting for the stream)
/// uses it.
pub(super) struct TapGuard {
    slot: Arc<Slot>,
    type_id: std::any::TypeId,
    pub(super) tap: Arc<dyn Tap>,
    pub(super) any: Arc<dyn std::any::Any + Send + Sync>,
}

impl std::fmt::Debug for TapGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapGuard").finish_non_exhaustive()
    }
}

impl TapGuard {
    fn new(slot: &Arc<Slot>, st: &mut StreamState, factory: &TapFactory) -> TapGuard {
        let entry = match st
            .taps
            .iter_mut()
            .position(|t| t.type_id == factory.type_id)
        {
            Some(i) => &mut st.taps[i],
            None => {
                let (tap, any) = (factory.make)();
                st.taps.push(TapEntry {
                    type_id: factory.type_id,
                    tap,
                    any,
                    users: 0,
                });
                let last = st.taps.len() - 1;
                &mut st.taps[last]
            }
        };
        entry.users += 1;
        TapGuard {
            slot: slot.clone(),
            type_id: factory.type_id,
            tap: entry.tap.clone(),
            any: entry.any.clone(),
        }
    }
}

impl Drop for TapGuard {
    fn drop(&mut self) {
        let mut st = lock(&self.slot.state);
        if let Some(t) = st.taps.iter_mut().find(|t| t.type_id == self.type_id) {
            t.users = t.users.saturating_sub(1);
        }
    }
}
