//! The publishing side of a stream.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use tokio::time::Instant;
use tracing::debug;
use weir_media::{Frame, MediaKind, TrackId, TrackInfo};

use super::hub::{lock, Hub, Slot};
use super::metadata::StreamMetadata;
use super::sessions::SessionHandle;
use super::stream::{Refused, StreamState};
use super::unit::Unit;

/// The right to publish one stream. Dropping it unpublishes (the stream then waits out
/// its grace period).
#[derive(Debug)]
pub struct Publisher {
    pub(super) hub: Hub,
    pub(super) slot: Arc<Slot>,
    pub(super) id: u64,
    pub(super) session: SessionHandle,
}

impl Publisher {
    /// `app/stream`.
    pub fn key(&self) -> &str {
        &self.slot.key
    }

    /// This publisher session's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its session (link: kick signal and byte counters).
    pub fn session(&self) -> &SessionHandle {
        &self.session
    }

    /// Starts a publish batch: players are woken once, when the returned guard drops, for
    /// every unit published meanwhile (an ingest wraps the units of one socket read in a
    /// batch, so each player wakes once and writes them with one vectored write). Keep it
    /// short: nothing published in it reaches a player before it ends.
    pub fn batch(&self) -> PublishBatch {
        PublishBatch {
            _hold: self.slot.ring.hold(),
        }
    }

    /// Players currently subscribed.
    pub fn players(&self) -> usize {
        self.slot.players.load(Ordering::Acquire)
    }

    /// Locks the stream if this publisher still owns it.
    fn state(&self) -> Option<MutexGuard<'_, StreamState>> {
        let st = lock(&self.slot.state);
        (st.session.as_ref().map(|s| s.id) == Some(self.id)).then_some(st)
    }

    /// Announces a track (new, or with changed parameters). Players get it as a
    /// configuration unit before the track's next frames. Video of a new track starts at
    /// its first keyframe.
    pub fn track(&self, info: TrackInfo) {
        self.track_with(info, |_| {});
    }

    /// [`Publisher::track`], letting the ingest seed encodings of the configuration unit
    /// (see [`Unit::seed`]) before anyone sees it.
    pub fn track_with(&self, info: TrackInfo, seed: impl FnOnce(&Unit)) {
        let Some(mut st) = self.state() else { return };
        let unit = st.add_track(info);
        seed(&unit);
        self.commit(st, unit, true);
    }

    /// Publishes a coded frame of a track announced with [`Publisher::track`]. Frames of
    /// unknown tracks are dropped; video inter frames before the track's first keyframe (or
    /// the next one after [`Publisher::lost`]) are held back. Timestamps are repaired in
    /// the frame's timebase.
    pub fn frame(&self, frame: Frame) {
        self.frame_with(frame, |_| {});
    }

    /// [`Publisher::frame`], letting the ingest seed encodings of the unit.
    pub fn frame_with(&self, frame: Frame, seed: impl FnOnce(&Unit)) {
        let Some(mut st) = self.state() else { return };
        let newly_seen = !st
            .tracks
            .iter()
            .any(|t| !t.stale && t.source == frame.track && t.delivering);
        let repairs = st.counters.repairs;
        match st.accept_frame(&self.slot.key, frame, Instant::now()) {
            Ok(unit) => {
                let repaired = st.counters.repairs - repairs;
                if repaired > 0 {
                    self.hub
                        .counters()
                        .repairs
                        .fetch_add(repaired, Ordering::Relaxed);
                }
                seed(&unit);
                let timeout = self.hub.shared.config.track_timeout;
                st.track_timeouts(&self.slot.key, timeout);
                self.commit(st, unit, newly_seen);
            }
            Err(Refused::UnknownTrack(t)) => {
                debug!(stream = %self.slot.key, track = t.0, "frame of an unannounced track dropped");
            }
            Err(Refused::AwaitingKeyframe) => {}
        }
    }

    /// Data of `track` was lost (a gap the ingest could not repair): its video is held back
    /// until the next keyframe, so no player gets pictures that reference missing data.
    pub fn lost(&self, track: TrackId) {
        if let Some(mut st) = self.state() {
            st.lost(track);
        }
    }

    /// Publishes stream metadata, with the kinds of media it announces (players wait
    /// briefly for an announced kind that has not delivered data yet).
    pub fn metadata(&self, metadata: StreamMetadata, announces: &[MediaKind]) {
        let Some(mut st) = self.state() else { return };
        let unit = st.set_metadata(Arc::new(metadata), announces);
        self.commit(st, unit, true);
    }

    /// Shares `unit` (under the state lock: a player snapshotting the caches in
    /// `subscribe` then either has it in its snapshot or receives it live, never both).
    fn commit(&self, mut st: MutexGuard<'_, StreamState>, unit: Arc<Unit>, notify: bool) {
        let config = &self.hub.shared.config;
        let keyframe = st.cache(&unit, config.gop_cache, config.gop_cache_max_bytes);
        st.run_taps(&unit);
        // (No receivers is fine: nobody is watching.)
        self.slot.ring.push(unit);
        drop(st);
        if notify || keyframe {
            self.slot.changed.notify_waiters();
        }
    }
}

/// A publish batch ([`Publisher::batch`]); players wake when it drops.
#[derive(Debug)]
#[must_use = "the batch ends (and players wake) when this is dropped"]
pub struct PublishBatch {
    _hold: super::ring::WakeHold,
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.hub.unpublish(&self.slot, self.id);
    }
}
