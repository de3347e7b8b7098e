//! The stream hub: a registry of live streams keyed by `app/stream`.
//!
//! * One publisher per name; a second [`Hub::publish`] is refused with
//!   [`HubError::Busy`].
//! * Any number of players ([`Hub::subscribe`]). A player may arrive before the publisher
//!   and waits up to the configured time for it.
//! * Fan-out is write-once: the publisher's units go into one bounded broadcast ring per
//!   stream, shared by every player (`Arc<Unit>`); a player costs a cursor into that ring.
//!   A player that falls further behind than the ring holds is not waited for: it skips to
//!   the next keyframe and the skipped units are counted ([`Subscription::dropped`]).
//! * A GOP cache (from the last keyframe, after the current metadata and codec
//!   configurations) lets a late joiner start decoding at once.
//! * A publisher that drops keeps its stream alive for a grace period; a publisher that
//!   comes back under the same name within it takes over and the players never notice.
//! * Timestamps are repaired on the way in ([`weir_media::repair`]): monotonic per track,
//!   discontinuities smoothed, 32-bit RTMP wrap handled.
//! * Lifetime events ([`HubEvent`]) go to a broadcast channel for logs, hooks and the API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use weir_flv::{FlvDemuxer, FlvEvent, TagType};
use weir_media::repair::{Repair, RepairConfig, TimestampRepair};
use weir_media::{Frame, MediaKind, Timebase, Timestamp, TrackId, TrackInfo};

use crate::rtp_out::{RtpStage, RtpTrack};
use crate::unit::{Unit, UnitKind};

/// Hub settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubConfig {
    /// Keep the last GOP for late joiners (default true).
    pub gop_cache: bool,
    /// Largest GOP cached, in payload bytes (default 32 MiB); a longer GOP is not cached
    /// and late joiners wait for the next keyframe.
    pub gop_cache_max_bytes: usize,
    /// Units each stream's broadcast ring holds (default 1024): how far a player may fall
    /// behind before it skips to the next keyframe.
    pub queue_units: usize,
    /// How long a player waits for a stream that is not published yet (default 5 s).
    pub play_wait: Duration,
    /// How long a stream outlives its publisher, waiting for it to come back (default 10 s).
    pub publisher_grace: Duration,
    /// How long a new player waits for a track that metadata announced but that has not
    /// delivered data yet (default 1 s); after [`HubConfig::track_timeout`] of stream time
    /// such a track is dropped from the stream's description, with a log line.
    pub track_wait: Duration,
    /// See [`HubConfig::track_wait`] (default 5 s).
    pub track_timeout: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            gop_cache: true,
            gop_cache_max_bytes: 32 << 20,
            queue_units: 1024,
            play_wait: Duration::from_secs(5),
            publisher_grace: Duration::from_secs(10),
            track_wait: Duration::from_secs(1),
            track_timeout: Duration::from_secs(5),
        }
    }
}

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
    },
    /// A publisher left; the stream waits out its grace period.
    Unpublished {
        /// `app/stream`.
        key: String,
    },
    /// The stream ended (grace period over, or shutdown).
    Ended {
        /// `app/stream`.
        key: String,
    },
    /// A player joined.
    PlayerJoined {
        /// `app/stream`.
        key: String,
        /// Egress protocol (`"rtmp"`, `"http-flv"`, `"ws-flv"`, …).
        protocol: &'static str,
    },
    /// A player left.
    PlayerLeft {
        /// `app/stream`.
        key: String,
        /// Egress protocol.
        protocol: &'static str,
        /// Units it skipped because it fell behind.
        dropped: u64,
    },
}

/// What a stream currently carries, for building container headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamShape {
    /// Video data has been seen (or is announced and still expected).
    pub has_video: bool,
    /// Audio data has been seen (or is announced and still expected).
    pub has_audio: bool,
}

/// A snapshot of one stream for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamInfo {
    /// `app/stream`.
    pub key: String,
    /// A publisher is connected.
    pub live: bool,
    /// Connected players.
    pub players: usize,
    /// Tracks.
    pub shape: StreamShape,
    /// Units published so far.
    pub units: u64,
}

#[derive(Debug)]
struct Shared {
    config: HubConfig,
    streams: Mutex<HashMap<String, Arc<Slot>>>,
    events: broadcast::Sender<HubEvent>,
    next_id: AtomicU64,
    shutting_down: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
struct Slot {
    key: String,
    tx: broadcast::Sender<Arc<Unit>>,
    state: Mutex<SlotState>,
    changed: Notify,
    players: AtomicUsize,
}

#[derive(Debug)]
struct SlotState {
    publisher: Option<u64>,
    /// Bumped on every publish and unpublish.
    generation: u64,
    /// Removed from the registry; nothing more will be published into this slot.
    ended: bool,
    /// Players waiting in `subscribe` for this slot.
    waiters: usize,
    metadata: Option<Arc<Unit>>,
    video_config: Option<Arc<Unit>>,
    audio_config: Option<Arc<Unit>>,
    gop: Vec<Arc<Unit>>,
    gop_bytes: usize,
    /// The current GOP grew past the limit: not cached until the next keyframe.
    gop_overflow: bool,
    seen_video: bool,
    seen_audio: bool,
    announced_video: bool,
    announced_audio: bool,
    first_ts: Option<u32>,
    /// When the first unit of the current publisher session arrived.
    first_data_at: Option<Instant>,
    last_ts: u32,
    units: u64,
    /// Repair for FLV/RTMP ingest (32-bit millisecond wire clock).
    repair: TimestampRepair,
    /// Repair for frame ingest (already extended timestamps in the track's timebase).
    repair_frames: TimestampRepair,
    /// FLV → canonical frames, once per stream.
    demux: FlvDemuxer,
    /// Current tracks (from FLV sequence headers or announced by a frame publisher).
    video_track: Option<Arc<TrackInfo>>,
    audio_track: Option<Arc<TrackInfo>>,
    /// Per track (video, audio): last coded frame's (raw, repaired) timestamps.
    last_frame_ts: [Option<(u32, u32)>; 2],
    /// Write-once RTP for RTSP players ([`crate::rtp_out`]); runs while `rtp_players > 0`.
    rtp: RtpStage,
    rtp_players: usize,
}

impl SlotState {
    fn new() -> SlotState {
        SlotState {
            publisher: None,
            generation: 0,
            ended: false,
            waiters: 0,
            metadata: None,
            video_config: None,
            audio_config: None,
            gop: Vec::new(),
            gop_bytes: 0,
            gop_overflow: false,
            seen_video: false,
            seen_audio: false,
            announced_video: false,
            announced_audio: false,
            first_ts: None,
            first_data_at: None,
            last_ts: 0,
            units: 0,
            repair: TimestampRepair::new(RepairConfig::rtmp()),
            repair_frames: TimestampRepair::new(RepairConfig::default()),
            demux: FlvDemuxer::new(),
            video_track: None,
            audio_track: None,
            last_frame_ts: [None; 2],
            rtp: RtpStage::default(),
            rtp_players: 0,
        }
    }

    /// Demuxes one FLV tag body into the canonical frame it carries (if any) and records a
    /// new or changed track. Returns the frame and the track the unit belongs to.
    fn demux_flv(
        &mut self,
        kind: UnitKind,
        raw_ts: u32,
        body: &Bytes,
    ) -> (Option<Frame>, Option<Arc<TrackInfo>>) {
        let tag_type = if kind == UnitKind::Video {
            TagType::Video
        } else {
            TagType::Audio
        };
        if let Err(e) = self.demux.push(tag_type, raw_ts, body) {
            debug!(error = %e, "FLV body not demuxable; relayed as is");
        }
        let mut frame = None;
        while let Some(ev) = self.demux.poll_event() {
            match ev {
                FlvEvent::Track(info) => {
                    let info = Arc::new(info);
                    match info.codec.kind() {
                        MediaKind::Video => self.video_track = Some(info),
                        _ => self.audio_track = Some(info),
                    }
                }
                FlvEvent::Frame(f) => frame = Some(f),
                _ => {}
            }
        }
        let track = if kind == UnitKind::Video {
            self.video_track.clone()
        } else {
            self.audio_track.clone()
        };
        (frame, track)
    }

    fn note_frame_timestamp(&mut self, track: TrackId, raw: u32, out: u32) {
        if let Some(slot) = self.last_frame_ts.get_mut(track.0 as usize) {
            *slot = Some((raw, out));
        }
    }

    /// Maps a non-frame unit's timestamp with the offset the track's frames currently get.
    fn map_side_timestamp(&self, track: TrackId, raw: u32) -> u32 {
        match self.last_frame_ts.get(track.0 as usize).copied().flatten() {
            Some((last_raw, last_out)) => {
                let delta = raw.wrapping_sub(last_raw) as i32;
                // A wild value is pinned to the frame clock rather than trusted.
                let delta = if delta.unsigned_abs() > 10_000 {
                    0
                } else {
                    delta
                };
                last_out.wrapping_add(delta as u32)
            }
            None => raw,
        }
    }

    fn shape(&self) -> StreamShape {
        StreamShape {
            has_video: self.seen_video || self.announced_video,
            has_audio: self.seen_audio || self.announced_audio,
        }
    }

    /// Announced tracks that have not delivered anything yet.
    fn missing_tracks(&self) -> bool {
        (self.announced_video && !self.seen_video) || (self.announced_audio && !self.seen_audio)
    }

    /// Whether a new player can be told the stream's tracks: every announced track has
    /// delivered data (or, without metadata, both kinds have), or the stream has run for
    /// `track_wait` (wall clock or media time) since its first data without the rest.
    fn tracks_settled(&self, now: Instant, track_wait: Duration) -> bool {
        let complete = if self.announced_video || self.announced_audio {
            !self.missing_tracks()
        } else {
            self.seen_video && self.seen_audio
        };
        complete
            || self
                .first_data_at
                .is_some_and(|t| now.duration_since(t) >= track_wait)
            || u128::from(self.stream_age_ms()) >= track_wait.as_millis()
    }

    /// When [`SlotState::tracks_settled`] becomes true by the clock alone.
    fn tracks_settle_at(&self, track_wait: Duration) -> Option<Instant> {
        self.first_data_at.map(|t| t + track_wait)
    }

    /// Media time covered so far (newest minus first timestamp), 0 if the tracks are
    /// interleaved out of order. Wire timestamps wrap at 2³² ms, so the difference is taken
    /// as a signed 32-bit value.
    fn stream_age_ms(&self) -> u32 {
        self.first_ts.map_or(0, |f| {
            u32::try_from(self.last_ts.wrapping_sub(f) as i32).unwrap_or(0)
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state half-updated in a way that
    // matters more than losing the stream; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The registry of live streams. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub {
    shared: Arc<Shared>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(HubConfig::default())
    }
}

impl Hub {
    /// An empty hub.
    pub fn new(config: HubConfig) -> Hub {
        let (events, _) = broadcast::channel(1024);
        Hub {
            shared: Arc::new(Shared {
                config,
                streams: Mutex::new(HashMap::new()),
                events,
                next_id: AtomicU64::new(1),
                shutting_down: std::sync::atomic::AtomicBool::new(false),
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

    fn emit(&self, ev: HubEvent) {
        let _ = self.shared.events.send(ev);
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut streams = lock(&self.shared.streams);
        streams
            .entry(key.to_string())
            .or_insert_with(|| {
                let (tx, _) = broadcast::channel(self.shared.config.queue_units.max(16));
                Arc::new(Slot {
                    key: key.to_string(),
                    tx,
                    state: Mutex::new(SlotState::new()),
                    changed: Notify::new(),
                    players: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// Removes `slot` from the registry if nothing uses it any more.
    fn maybe_remove(&self, slot: &Arc<Slot>) {
        let mut streams = lock(&self.shared.streams);
        let mut st = lock(&slot.state);
        let idle = st.publisher.is_none()
            && st.waiters == 0
            && slot.players.load(Ordering::Acquire) == 0
            && (st.units == 0 || st.ended);
        if idle {
            st.ended = true;
            if streams.get(&slot.key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                streams.remove(&slot.key);
            }
        }
    }

    /// Starts publishing `key` (`app/stream`).
    ///
    /// # Errors
    /// [`HubError::Busy`] if the name has a live publisher, [`HubError::ShuttingDown`].
    pub fn publish(&self, key: &str, protocol: &'static str) -> Result<Publisher, HubError> {
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
            if st.publisher.is_some() {
                return Err(HubError::Busy(key.to_string()));
            }
            let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
            let resumed = st.units > 0;
            st.publisher = Some(id);
            st.generation += 1;
            // The new session's clock is unrelated to the old one; its configs replace
            // the old ones as they arrive.
            st.repair.reset_input();
            st.repair_frames.reset_input();
            st.demux = FlvDemuxer::new();
            st.gop.clear();
            st.gop_bytes = 0;
            st.gop_overflow = false;
            st.announced_audio = false;
            st.announced_video = false;
            st.first_data_at = None;
            st.first_ts = None;
            drop(st);
            slot.changed.notify_waiters();
            info!(stream = key, protocol, resumed, "publish started");
            self.emit(HubEvent::Published {
                key: key.to_string(),
                protocol,
            });
            return Ok(Publisher {
                hub: self.clone(),
                slot,
                id,
            });
        }
    }

    fn unpublish(&self, slot: &Arc<Slot>, id: u64) {
        let generation = {
            let mut st = lock(&slot.state);
            if st.publisher != Some(id) {
                return;
            }
            st.publisher = None;
            st.generation += 1;
            st.generation
        };
        info!(stream = %slot.key, "publisher left");
        self.emit(HubEvent::Unpublished {
            key: slot.key.clone(),
        });
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
            if st.generation != generation || st.publisher.is_some() || st.ended {
                return;
            }
            st.ended = true;
            if streams.get(&slot.key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                streams.remove(&slot.key);
            }
        }
        let _ = slot.tx.send(Arc::new(Unit::end()));
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
        self.subscribe_within(key, protocol, self.shared.config.play_wait)
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
        self.subscribe_inner(key, protocol, wait, false).await
    }

    /// [`Hub::subscribe`] for an RTSP player: the stream's RTP stage runs while the
    /// subscription lives, and every unit it receives carries its RTP packets.
    pub(crate) async fn subscribe_rtp(&self, key: &str) -> Result<Subscription, HubError> {
        self.subscribe_inner(key, "rtsp", self.shared.config.play_wait, true)
            .await
    }

    async fn subscribe_inner(
        &self,
        key: &str,
        protocol: &'static str,
        wait: Duration,
        rtp: bool,
    ) -> Result<Subscription, HubError> {
        let deadline = Instant::now() + wait;
        let track_wait = self.shared.config.track_wait;
        // A player that starts waiting before the stream has any data subscribes to the
        // ring at once, so it receives everything from the first unit however late its
        // task is scheduled after the publisher starts.
        let mut early: Option<EarlySubscription> = None;
        loop {
            if self.shared.shutting_down.load(Ordering::Acquire) {
                return Err(HubError::ShuttingDown);
            }
            // An early subscriber stays with the slot it subscribed to: even if that
            // stream has already ended, what it published is queued in `rx`.
            let slot = match &early {
                Some((s, _, _)) => s.clone(),
                None => self.slot(key),
            };
            let notified = slot.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let until;
            {
                let mut st = lock(&slot.state);
                if st.ended && !(early.is_some() && st.units > 0) {
                    drop(st);
                    // (The RTP guard locks the state when dropped.)
                    early = None;
                    continue;
                }
                let live = st.publisher.is_some() || st.units > 0;
                let now = Instant::now();
                let has_data = st.seen_video || st.seen_audio;
                // Wait briefly for the other track(s), so the player's container header
                // describes every track the stream will carry.
                let ready = live
                    && ((has_data && st.tracks_settled(now, track_wait))
                        || now >= deadline
                        || st.ended);
                if ready {
                    let shape = st.shape();
                    let (initial, rx, need_keyframe, rtp_guard) = match early.take() {
                        // Everything since the stream's first unit is queued in `rx`.
                        Some((_, rx, guard)) => (Vec::new(), rx, false, guard),
                        None => {
                            let mut initial = Vec::with_capacity(st.gop.len() + 3);
                            initial.extend(st.metadata.iter().cloned());
                            if shape.has_video {
                                initial.extend(st.video_config.iter().cloned());
                            }
                            if shape.has_audio {
                                initial.extend(st.audio_config.iter().cloned());
                            }
                            let gop_starts_key = st.gop.first().is_some_and(|u| u.is_keyframe());
                            initial.extend(st.gop.iter().cloned());
                            // With video, start at a keyframe: the cached GOP if it has
                            // one, else the next one that arrives.
                            let guard = rtp.then(|| RtpGuard::new(&slot, &mut st));
                            (
                                initial,
                                slot.tx.subscribe(),
                                shape.has_video && !gop_starts_key,
                                guard,
                            )
                        }
                    };
                    slot.players.fetch_add(1, Ordering::AcqRel);
                    // Only tracks that deliver (or are announced and still expected): a
                    // device that announces audio and never sends any is described
                    // without it.
                    let tracks: Vec<Arc<TrackInfo>> = st
                        .video_track
                        .iter()
                        .filter(|_| shape.has_video)
                        .chain(st.audio_track.iter().filter(|_| shape.has_audio))
                        .cloned()
                        .collect();
                    let mut rtp_tracks = Vec::new();
                    if rtp_guard.is_some() {
                        // Packetize what the player starts from (in order, once), then
                        // describe the RTP tracks.
                        for t in &tracks {
                            st.rtp.ensure(t);
                        }
                        for u in &initial {
                            st.rtp.process(u);
                        }
                        rtp_tracks = tracks.iter().filter_map(|t| st.rtp.track(t)).collect();
                    }
                    drop(st);
                    debug!(
                        stream = key,
                        protocol,
                        initial = initial.len(),
                        "player joined"
                    );
                    self.emit(HubEvent::PlayerJoined {
                        key: key.to_string(),
                        protocol,
                    });
                    return Ok(Subscription {
                        hub: self.clone(),
                        slot: slot.clone(),
                        protocol,
                        initial: initial.into(),
                        rx,
                        need_keyframe,
                        dropped: 0,
                        shape,
                        tracks,
                        rtp_tracks,
                        _rtp_guard: rtp_guard,
                    });
                }
                if st.units == 0 && early.is_none() {
                    let guard = rtp.then(|| RtpGuard::new(&slot, &mut st));
                    early = Some((slot.clone(), slot.tx.subscribe(), guard));
                }
                st.waiters += 1;
                until = match st.tracks_settle_at(track_wait) {
                    Some(t) if live => t.min(deadline),
                    _ => deadline,
                };
            }
            let timed_out = tokio::time::timeout_at(until, notified).await.is_err();
            lock(&slot.state).waiters -= 1;
            if timed_out && Instant::now() >= deadline {
                let live = {
                    let st = lock(&slot.state);
                    st.publisher.is_some() || st.units > 0
                };
                if !live {
                    drop(early);
                    self.maybe_remove(&slot);
                    return Err(HubError::NotFound(key.to_string()));
                }
            }
        }
    }

    /// Players currently waiting for `key` to be published.
    pub fn waiting_players(&self, key: &str) -> usize {
        let slot = lock(&self.shared.streams).get(key).cloned();
        slot.map_or(0, |s| lock(&s.state).waiters)
    }

    /// All streams, for the API.
    pub fn streams(&self) -> Vec<StreamInfo> {
        let slots: Vec<Arc<Slot>> = lock(&self.shared.streams).values().cloned().collect();
        let mut out: Vec<StreamInfo> = slots
            .iter()
            .filter_map(|slot| {
                let st = lock(&slot.state);
                (st.publisher.is_some() || st.units > 0).then(|| StreamInfo {
                    key: slot.key.clone(),
                    live: st.publisher.is_some(),
                    players: slot.players.load(Ordering::Acquire),
                    shape: st.shape(),
                    units: st.units,
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
                st.publisher = None;
            }
            let _ = slot.tx.send(Arc::new(Unit::end()));
            slot.changed.notify_waiters();
            self.emit(HubEvent::Ended {
                key: slot.key.clone(),
            });
        }
    }
}

/// The right to publish one stream. Dropping it unpublishes (the stream then waits out
/// its grace period).
#[derive(Debug)]
pub struct Publisher {
    hub: Hub,
    slot: Arc<Slot>,
    id: u64,
}

impl Publisher {
    /// `app/stream`.
    pub fn key(&self) -> &str {
        &self.slot.key
    }

    /// Players currently subscribed.
    pub fn players(&self) -> usize {
        self.slot.players.load(Ordering::Acquire)
    }

    /// Publishes an FLV video tag body with its RTMP/FLV timestamp (ms, 32-bit wire value).
    pub fn video(&self, timestamp: u32, body: Bytes) {
        self.push(UnitKind::Video, timestamp, body);
    }

    /// Publishes an FLV audio tag body.
    pub fn audio(&self, timestamp: u32, body: Bytes) {
        self.push(UnitKind::Audio, timestamp, body);
    }

    /// Publishes `onMetaData`: the script tag body, and whether it announces video/audio
    /// (so players can wait briefly for a track that has not delivered data yet).
    pub fn metadata(&self, body: Bytes, announces_video: bool, announces_audio: bool) {
        {
            let mut st = lock(&self.slot.state);
            if st.publisher != Some(self.id) {
                return;
            }
            st.announced_video = announces_video;
            st.announced_audio = announces_audio;
        }
        self.push(UnitKind::Metadata, 0, body);
    }

    fn push(&self, kind: UnitKind, raw_ts: u32, body: Bytes) {
        let slot = &self.slot;
        {
            let mut st = lock(&slot.state);
            if st.publisher != Some(self.id) {
                return;
            }
            let track = match kind {
                UnitKind::Video => TrackId(0),
                UnitKind::Audio => TrackId(1),
                _ => TrackId(2),
            };
            let (mut frame, unit_track) = match kind {
                UnitKind::Video | UnitKind::Audio => st.demux_flv(kind, raw_ts, &body),
                _ => (None, None),
            };
            let ts = match kind {
                // ffmpeg's FLV demuxer takes an onMetaData tag with a non-zero timestamp
                // for a subtitle packet (it skips only `type == 0 && dts == 0`), so
                // metadata always goes out at 0, as nginx-rtmp and SRS send it.
                UnitKind::Metadata => 0,
                _ if !is_coded_frame(kind, &body) => {
                    // Sequence headers and end-of-sequence share a frame's timestamp; map
                    // them with the current offset without touching the repair state (a
                    // strict-monotonic bump here would shift the real frame next to it).
                    st.map_side_timestamp(track, raw_ts)
                }
                _ => {
                    let t = Timestamp::new(i64::from(raw_ts), Timebase::MILLIS);
                    let mut f = Frame::new(track, t, t, Bytes::new());
                    match st.repair.repair(&mut f) {
                        Repair::None => {}
                        r => report_repair(&slot.key, &r),
                    }
                    if let Some(fr) = frame.as_mut() {
                        // The canonical frame gets the repaired clock too (pts keeps its
                        // composition offset).
                        let cts = fr.composition_offset();
                        fr.dts = Timestamp::new(f.dts.ticks(), Timebase::MILLIS);
                        fr.pts =
                            Timestamp::new(f.dts.ticks().saturating_add(cts), Timebase::MILLIS);
                    }
                    // Output wraps like the RTMP wire clock it is sent on.
                    let out = f.dts.ticks() as u32;
                    st.note_frame_timestamp(track, raw_ts, out);
                    out
                }
            };
            let unit = Arc::new(match kind {
                UnitKind::Video => Unit::video(ts, body).with_frame(frame, unit_track),
                UnitKind::Audio => Unit::audio(ts, body).with_frame(frame, unit_track),
                _ => Unit::metadata(ts, body),
            });
            self.commit(st, unit);
        }
    }

    /// Announces a track (new or with changed parameters) for frame ingest (RTSP, GB28181,
    /// …). Players get it as a codec-configuration unit before the track's next frames.
    pub fn track(&self, info: TrackInfo) {
        let mut st = lock(&self.slot.state);
        if st.publisher != Some(self.id) {
            return;
        }
        let info = Arc::new(info);
        if let Some(d) = nominal_frame_duration(&info) {
            // What a stuck source clock is synthesized with (and resumes with after a
            // discontinuity) until the track's real step is measured.
            st.repair_frames.set_frame_duration(info.id, d);
        }
        match info.codec.kind() {
            MediaKind::Video => st.video_track = Some(info.clone()),
            _ => st.audio_track = Some(info.clone()),
        }
        let ts = st.last_ts;
        self.commit(st, Arc::new(Unit::from_track(info, ts)));
    }

    /// Publishes a canonical frame of a track announced with [`Publisher::track`] (frames
    /// of unknown tracks are dropped). Timestamps are repaired in the frame's timebase.
    pub fn frame(&self, mut frame: Frame) {
        let mut st = lock(&self.slot.state);
        if st.publisher != Some(self.id) {
            return;
        }
        let track = [st.video_track.clone(), st.audio_track.clone()]
            .into_iter()
            .flatten()
            .find(|t| t.id == frame.track);
        let Some(track) = track else {
            debug!(stream = %self.slot.key, track = frame.track.0, "frame of an unannounced track dropped");
            return;
        };
        match st.repair_frames.repair(&mut frame) {
            Repair::None => {}
            r => report_repair(&self.slot.key, &r),
        }
        let ms = frame.dts.rescale(Timebase::MILLIS).ticks() as u32;
        self.commit(st, Arc::new(Unit::from_frame(track, frame, ms)));
    }

    /// Records a unit in the stream state and broadcasts it (under the state lock: a player
    /// snapshotting the caches in `subscribe` then either has the unit in its snapshot or
    /// receives it live, never both).
    fn commit(&self, mut st: MutexGuard<'_, SlotState>, unit: Arc<Unit>) {
        let slot = &self.slot;
        let kind = unit.kind();
        {
            let ts = unit.timestamp();
            st.units += 1;
            st.first_data_at.get_or_insert_with(Instant::now);
            if unit.kind() != UnitKind::Metadata && !unit.is_sequence_header() {
                st.first_ts.get_or_insert(ts);
                // Tracks are interleaved, not globally ordered: only move forward.
                if st.first_ts == Some(ts) || (ts.wrapping_sub(st.last_ts) as i32) > 0 {
                    st.last_ts = ts;
                }
            }
            // A track counts as delivering with its first coded frame: a codec
            // configuration alone (a device announcing audio it never sends) does not.
            let newly_seen = match kind {
                _ if unit.is_sequence_header() => false,
                UnitKind::Video => !std::mem::replace(&mut st.seen_video, true),
                UnitKind::Audio => !std::mem::replace(&mut st.seen_audio, true),
                _ => false,
            };
            self.track_timeouts(&mut st);
            if st.rtp_players > 0 {
                st.rtp.process(&unit);
            }
            let notify = self.update_caches(&mut st, &unit) || newly_seen;
            // Sent under the state lock: a player snapshotting the caches in `subscribe`
            // then either has this unit in its snapshot or receives it live, never both.
            // (No receivers is fine: nobody is watching.)
            let _ = slot.tx.send(unit);
            drop(st);
            if notify {
                slot.changed.notify_waiters();
            }
        };
    }

    fn track_timeouts(&self, st: &mut SlotState) {
        let timeout = self.hub.shared.config.track_timeout.as_millis();
        if u128::from(st.stream_age_ms()) < timeout {
            return;
        }
        if st.announced_audio && !st.seen_audio {
            st.announced_audio = false;
            warn!(stream = %self.slot.key, "metadata announced audio but none arrived: dropping the audio track");
        }
        if st.announced_video && !st.seen_video {
            st.announced_video = false;
            warn!(stream = %self.slot.key, "metadata announced video but none arrived: dropping the video track");
        }
    }

    /// Updates headers and the GOP cache; returns whether waiting players should look again.
    fn update_caches(&self, st: &mut SlotState, unit: &Arc<Unit>) -> bool {
        let config = &self.hub.shared.config;
        match unit.kind() {
            UnitKind::Metadata => {
                st.metadata = Some(unit.clone());
                return true;
            }
            UnitKind::Video if unit.is_sequence_header() => {
                st.video_config = Some(unit.clone());
                return true;
            }
            UnitKind::Audio if unit.is_sequence_header() => {
                let first = st.audio_config.is_none();
                st.audio_config = Some(unit.clone());
                return first;
            }
            _ => {}
        }
        if !config.gop_cache {
            return false;
        }
        if unit.is_keyframe() {
            st.gop.clear();
            st.gop_bytes = 0;
            st.gop_overflow = false;
        } else if st.seen_video && st.gop.is_empty() {
            // Video stream without a keyframe cached yet: nothing a player could start on.
            return false;
        } else if !st.seen_video && st.gop.len() >= 64 {
            // Audio-only: keep a short tail (every audio frame is a random access point).
            st.gop.remove(0);
        }
        if st.gop_overflow {
            return false;
        }
        st.gop_bytes += unit.len();
        if st.gop_bytes > config.gop_cache_max_bytes {
            st.gop.clear();
            st.gop_bytes = 0;
            st.gop_overflow = true;
            return false;
        }
        st.gop.push(unit.clone());
        unit.is_keyframe()
    }
}

/// Logs a timestamp repair: a stuck clock is synthesized on every frame, so its run is
/// reported when it starts and then every 250 frames.
fn report_repair(key: &str, r: &Repair) {
    match r {
        Repair::Synthesized { run, step_ns, .. } if *run != 1 && run % 250 != 0 => {
            debug!(stream = key, run, step_ns, "timestamp synthesized");
        }
        Repair::Synthesized { run, step_ns, .. } => {
            warn!(
                stream = key,
                run,
                step_ms = step_ns / 1_000_000,
                "source clock stuck: timestamps synthesized at the frame rate"
            );
        }
        r => warn!(stream = key, ?r, "timestamp repaired"),
    }
}

/// Reorder depth and frame rate of an H.264/H.265 track, from the SPS in its configuration
/// (depth 0 and no rate for other codecs; an assumed depth when the SPS does not parse).
pub(crate) fn video_timing(info: &TrackInfo) -> (u32, Option<f64>) {
    use weir_media::reorder::{h264_reorder_depth, h265_reorder_depth, ASSUMED_H264_REORDER_DEPTH};
    match info.codec {
        weir_media::Codec::H264 => {
            match weir_h264::AvcConfig::parse(&info.config).and_then(|c| c.parsed_sps()) {
                Ok(sps) => {
                    let declared = sps
                        .vui
                        .as_ref()
                        .and_then(|v| v.bitstream_restriction.as_ref())
                        .map(|b| b.max_num_reorder_frames);
                    (h264_reorder_depth(sps.profile_idc, declared), sps.fps())
                }
                Err(_) => (ASSUMED_H264_REORDER_DEPTH, None),
            }
        }
        weir_media::Codec::H265 => {
            match weir_h265::HevcConfig::parse(&info.config).and_then(|c| c.parsed_sps()) {
                Ok(sps) => (h265_reorder_depth(sps.max_num_reorder_pics()), sps.fps()),
                Err(_) => (ASSUMED_H264_REORDER_DEPTH, None),
            }
        }
        _ => (0, None),
    }
}

/// A track's nominal frame duration: from the SPS frame rate for H.264/H.265, one AAC
/// frame (1024 samples), 20 ms for Opus; `None` when unknown (it is then learned).
fn nominal_frame_duration(info: &TrackInfo) -> Option<Duration> {
    let fps = match info.codec {
        weir_media::Codec::H264 | weir_media::Codec::H265 => video_timing(info).1,
        weir_media::Codec::Aac => info
            .audio
            .map(|a| f64::from(a.sample_rate) / 1024.0)
            .filter(|f| *f > 0.0),
        weir_media::Codec::Opus => Some(50.0),
        _ => None,
    };
    fps.filter(|f| (1.0..=1000.0).contains(f))
        .map(|f| Duration::from_secs_f64(1.0 / f))
}

/// True for units that carry a coded frame (as opposed to a codec configuration or an
/// end-of-sequence marker).
fn is_coded_frame(kind: UnitKind, body: &[u8]) -> bool {
    match kind {
        UnitKind::Video => weir_flv::VideoTagHeader::parse(body)
            .map(|(h, _)| h.packet_type.is_coded_frames())
            .unwrap_or(true),
        UnitKind::Audio => weir_flv::AudioTagHeader::parse(body)
            .map(|(h, _)| !h.is_sequence_header())
            .unwrap_or(true),
        _ => false,
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.hub.unpublish(&self.slot, self.id);
    }
}

/// One player's view of a stream: the initial units (metadata, codec configs, cached GOP)
/// followed by the live units. Dropping it leaves the stream.
#[derive(Debug)]
pub struct Subscription {
    hub: Hub,
    slot: Arc<Slot>,
    protocol: &'static str,
    initial: std::collections::VecDeque<Arc<Unit>>,
    rx: broadcast::Receiver<Arc<Unit>>,
    need_keyframe: bool,
    dropped: u64,
    shape: StreamShape,
    tracks: Vec<Arc<TrackInfo>>,
    rtp_tracks: Vec<(usize, Arc<RtpTrack>)>,
    _rtp_guard: Option<RtpGuard>,
}

/// A player subscribed to a stream's ring before it had data: the slot, its receiver and
/// (RTSP) the RTP stage guard.
type EarlySubscription = (Arc<Slot>, broadcast::Receiver<Arc<Unit>>, Option<RtpGuard>);

/// Keeps a stream's RTP stage running while an RTSP player (or one waiting for the stream)
/// exists.
#[derive(Debug)]
struct RtpGuard {
    slot: Arc<Slot>,
}

impl RtpGuard {
    fn new(slot: &Arc<Slot>, st: &mut SlotState) -> RtpGuard {
        st.rtp_players += 1;
        RtpGuard { slot: slot.clone() }
    }
}

impl Drop for RtpGuard {
    fn drop(&mut self) {
        let mut st = lock(&self.slot.state);
        st.rtp_players = st.rtp_players.saturating_sub(1);
    }
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

    /// The tracks the stream had when the player joined.
    pub fn shape(&self) -> StreamShape {
        self.shape
    }

    /// The stream's tracks (codec, clock rate, configuration) when the player joined, video
    /// first. Later changes arrive as sequence-header units ([`Unit::track`]).
    pub fn tracks(&self) -> &[Arc<TrackInfo>] {
        &self.tracks
    }

    /// The stream's RTP tracks (slot 0 video, 1 audio) for an RTSP subscription.
    pub(crate) fn rtp_tracks(&self) -> &[(usize, Arc<RtpTrack>)] {
        &self.rtp_tracks
    }

    /// Units skipped because this player fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Decides whether to deliver `unit` while catching up to a keyframe.
    fn filter(&mut self, unit: Arc<Unit>) -> Option<Arc<Unit>> {
        if unit.kind() == UnitKind::End
            || unit.is_sequence_header()
            || unit.kind() == UnitKind::Metadata
        {
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
        let has_video = self.shape.has_video || lock(&self.slot.state).seen_video;
        self.need_keyframe = has_video;
        debug!(stream = %self.slot.key, protocol = self.protocol, skipped = n, "player fell behind; skipping to the next keyframe");
    }

    /// The next unit; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<Arc<Unit>> {
        loop {
            let unit = if let Some(u) = self.initial.pop_front() {
                if self.initial.is_empty() {
                    // The GOP replay is over: give its queue back (per-player memory).
                    self.initial = std::collections::VecDeque::new();
                }
                u
            } else {
                match self.rx.recv().await {
                    Ok(u) => u,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        self.lagged(n);
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
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
            let unit = if let Some(u) = self.initial.pop_front() {
                if self.initial.is_empty() {
                    // The GOP replay is over: give its queue back (per-player memory).
                    self.initial = std::collections::VecDeque::new();
                }
                u
            } else {
                match self.rx.try_recv() {
                    Ok(u) => u,
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        self.lagged(n);
                        continue;
                    }
                    Err(broadcast::error::TryRecvError::Empty) => return TryNext::Empty,
                    Err(broadcast::error::TryRecvError::Closed) => return TryNext::Ended,
                }
            };
            if unit.kind() == UnitKind::End {
                return TryNext::Ended;
            }
            if let Some(u) = self.filter(unit) {
                return TryNext::Unit(u);
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.slot.players.fetch_sub(1, Ordering::AcqRel);
        debug!(stream = %self.slot.key, protocol = self.protocol, dropped = self.dropped, "player left");
        self.hub.emit(HubEvent::PlayerLeft {
            key: self.slot.key.clone(),
            protocol: self.protocol,
            dropped: self.dropped,
        });
        self.hub.maybe_remove(&self.slot);
    }
}
