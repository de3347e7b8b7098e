//! The state of one stream: its tracks, caches and clocks — everything the hub decides
//! about a unit before it is shared, kept synchronous so it can be tested on its own.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};
use weir_media::repair::{Repair, RepairConfig, TimestampRepair};
use weir_media::{Frame, MediaKind, Timebase, Timestamp, TrackId, TrackInfo};

use super::metadata::StreamMetadata;
use super::tap::TapEntry;
use super::timing::nominal_frame_duration;
use super::unit::Unit;

/// A stream whose first timestamp is outside `[0, REBASE_LIMIT)` is moved to start at
/// [`REBASE_START`]: sources that start near a counter wrap (a camera's 33-bit PTS, an
/// encoder that has run for weeks) would otherwise put every player next to the wrap.
const REBASE_LIMIT: Duration = Duration::from_secs(3600);
/// Where a rebased stream starts (room for reordered video whose DTS precede the PTS).
const REBASE_START: Duration = Duration::from_secs(1);
/// Units kept as the start of an audio-only stream (every audio frame is a random access
/// point).
const AUDIO_TAIL: usize = 64;

/// Who is publishing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) id: u64,
    pub(crate) protocol: &'static str,
    pub(crate) peer: Option<std::net::SocketAddr>,
    pub(crate) query: Option<String>,
}

/// One track of the stream.
#[derive(Debug)]
pub(crate) struct Track {
    /// The track, with its stream-level id (stable across publisher reconnects: a new
    /// session's track that replaces an old one takes over its id).
    pub(crate) info: Arc<TrackInfo>,
    /// The id the current publisher session uses for the track.
    pub(crate) source: TrackId,
    /// The configuration unit players are given before the track's frames.
    pub(crate) config: Arc<Unit>,
    /// A coded frame has arrived (a configuration alone — a device announcing audio it
    /// never sends — does not count).
    pub(crate) delivering: bool,
    /// Announced by an earlier publisher session (before a reconnect within the grace
    /// period); replaced or dropped once the new session's tracks are known.
    pub(crate) stale: bool,
    /// Video frames are held back until the next keyframe (start of a session, data lost).
    pub(crate) awaiting_keyframe: bool,
    /// Frames held back since `awaiting_keyframe` was set.
    pub(crate) held_back: u64,
}

impl Track {
    pub(crate) fn kind(&self) -> MediaKind {
        self.info.codec.kind()
    }
}

/// Why a frame was not published.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The frame's track was never announced.
    UnknownTrack(TrackId),
    /// A video inter frame before the track's first (or next, after loss) keyframe.
    AwaitingKeyframe,
}

/// A snapshot of what a stream carries (shared with the API).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamShape {
    /// Video has been seen (or is announced and still expected).
    pub has_video: bool,
    /// Audio has been seen (or is announced and still expected).
    pub has_audio: bool,
}

/// Counters of a stream since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) units: u64,
    pub(crate) frames: u64,
    pub(crate) bytes_in: u64,
    pub(crate) repairs: u64,
}

#[derive(Debug)]
pub(crate) struct StreamState {
    pub(crate) session: Option<Session>,
    /// Bumped on every publish and unpublish.
    pub(crate) generation: u64,
    /// Removed from the registry; nothing more will be published into this stream.
    pub(crate) ended: bool,
    /// Players waiting in `subscribe` for this stream.
    pub(crate) waiters: usize,
    pub(crate) tracks: Vec<Track>,
    pub(crate) metadata: Option<Arc<Unit>>,
    /// Kinds the publisher announced (RTMP metadata) that have not all delivered yet.
    pub(crate) expected: Vec<MediaKind>,
    gop: Vec<Arc<Unit>>,
    gop_bytes: usize,
    /// The current GOP grew past the limit: not cached until the next keyframe.
    gop_overflow: bool,
    repair: TimestampRepair,
    /// Added to every input timestamp (ns) of the stream; chosen at its first frame.
    rebase_ns: Option<i128>,
    /// Output DTS (ns) of the first and latest coded frame of the current session.
    first_ns: Option<i128>,
    last_ns: i128,
    /// When the first unit of the current publisher session arrived.
    pub(crate) first_data_at: Option<Instant>,
    pub(crate) counters: Counters,
    pub(crate) taps: Vec<TapEntry>,
    /// When the stream was first published.
    pub(crate) created: Instant,
    /// Inbound payload rate.
    pub(crate) rate: RateMeter,
}

/// Bytes per second over the last few seconds (one bucket per second).
#[derive(Debug, Default)]
pub(crate) struct RateMeter {
    /// (second, bytes), the current second last.
    buckets: [(u64, u64); RATE_SECONDS],
}

/// Seconds [`RateMeter`] averages over.
const RATE_SECONDS: usize = 5;

impl RateMeter {
    fn add(&mut self, second: u64, bytes: u64) {
        let i = (second % RATE_SECONDS as u64) as usize;
        match self.buckets.get_mut(i) {
            Some(b) if b.0 == second => b.1 += bytes,
            Some(b) => *b = (second, bytes),
            None => {}
        }
    }

    /// Average bits per second over the complete seconds before `second`.
    pub(crate) fn bits_per_second(&self, second: u64) -> u64 {
        let from = second.saturating_sub(RATE_SECONDS as u64 - 1);
        let bytes: u64 = self
            .buckets
            .iter()
            .filter(|(s, _)| *s >= from && *s < second)
            .map(|(_, b)| b)
            .sum();
        bytes * 8 / (RATE_SECONDS as u64 - 1)
    }
}

fn ns_of(t: Timestamp) -> i128 {
    let tb = t.timebase();
    i128::from(t.ticks()) * i128::from(tb.num()) * 1_000_000_000 / i128::from(tb.den().max(1))
}

fn ticks_of(ns: i128, tb: Timebase) -> i64 {
    let t = ns * i128::from(tb.den()) / (i128::from(tb.num().max(1)) * 1_000_000_000);
    i64::try_from(t).unwrap_or(if t < 0 { i64::MIN } else { i64::MAX })
}

impl StreamState {
    pub(crate) fn new() -> StreamState {
        StreamState {
            session: None,
            generation: 0,
            ended: false,
            waiters: 0,
            tracks: Vec::new(),
            metadata: None,
            expected: Vec::new(),
            gop: Vec::new(),
            gop_bytes: 0,
            gop_overflow: false,
            repair: TimestampRepair::new(RepairConfig::default()),
            rebase_ns: None,
            first_ns: None,
            last_ns: 0,
            first_data_at: None,
            counters: Counters::default(),
            taps: Vec::new(),
            created: Instant::now(),
            rate: RateMeter::default(),
        }
    }

    /// Seconds since the stream was created (the rate meter's clock).
    pub(crate) fn second(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.created).as_secs()
    }

    /// Something was ever published here (or is being published).
    pub(crate) fn live(&self) -> bool {
        self.session.is_some() || self.counters.units > 0
    }

    /// A new publisher session takes the stream (first publish, or a reconnect within the
    /// grace period). Its clock is unrelated to the old one; the old tracks stay until the
    /// new session's replace them.
    pub(crate) fn start_session(&mut self, session: Session) {
        self.session = Some(session);
        self.generation += 1;
        self.repair.reset_input();
        self.gop.clear();
        self.gop_bytes = 0;
        self.gop_overflow = false;
        self.expected.clear();
        self.first_data_at = None;
        self.first_ns = None;
        for t in &mut self.tracks {
            t.stale = true;
            t.delivering = false;
        }
    }

    /// Stream time of the latest frame, for units that are not frames.
    pub(crate) fn clock(&self) -> Timestamp {
        Timestamp::new(ticks_of(self.last_ns, Timebase::MILLIS), Timebase::MILLIS)
    }

    fn next_index(&mut self) -> u64 {
        self.counters.units += 1;
        self.counters.units
    }

    /// Announces `info` (new track, or new parameters of a known one); returns its
    /// configuration unit.
    pub(crate) fn add_track(&mut self, mut info: TrackInfo) -> Arc<Unit> {
        let source = info.id;
        // A track of the current session with the same source id is updated in place;
        // otherwise the new track replaces a stale one (from before a reconnect) with its
        // id, or else the first stale one of its kind, and takes over its stream id.
        let pos = self
            .tracks
            .iter()
            .position(|t| !t.stale && t.source == source)
            .or_else(|| {
                self.tracks
                    .iter()
                    .position(|t| t.stale && t.source == source && t.kind() == info.codec.kind())
            })
            .or_else(|| {
                self.tracks
                    .iter()
                    .position(|t| t.stale && t.kind() == info.codec.kind())
            });
        info.id = match pos.and_then(|i| self.tracks.get(i)) {
            Some(t) => t.info.id,
            None if self.tracks.iter().any(|t| t.info.id == source) => {
                let max = self.tracks.iter().map(|t| t.info.id.0).max().unwrap_or(0);
                TrackId(max.saturating_add(1))
            }
            None => source,
        };
        let info = Arc::new(info);
        if let Some(d) = nominal_frame_duration(&info) {
            // What a stuck source clock is synthesized with (and resumes with after a
            // discontinuity) until the track's real step is measured.
            self.repair.set_frame_duration(info.id, d);
        }
        let index = self.next_index();
        let unit = Arc::new(Unit::config(info.clone(), self.clock()).with_index(index));
        let video = info.codec.kind() == MediaKind::Video;
        match pos.and_then(|i| self.tracks.get_mut(i)) {
            Some(t) => {
                let fresh_session = t.stale;
                t.info = info;
                t.source = source;
                t.config = unit.clone();
                t.stale = false;
                if fresh_session {
                    t.awaiting_keyframe = video;
                }
            }
            None => self.tracks.push(Track {
                info,
                source,
                config: unit.clone(),
                delivering: false,
                stale: false,
                awaiting_keyframe: video,
                held_back: 0,
            }),
        }
        unit
    }

    /// Data of `track` was lost: hold its video back until the next keyframe.
    pub(crate) fn lost(&mut self, track: TrackId) {
        if let Some(t) = self
            .tracks
            .iter_mut()
            .find(|t| !t.stale && t.source == track)
        {
            t.awaiting_keyframe |= t.kind() == MediaKind::Video;
        }
    }

    pub(crate) fn set_metadata(
        &mut self,
        md: Arc<StreamMetadata>,
        expect: &[MediaKind],
    ) -> Arc<Unit> {
        self.expected = expect.to_vec();
        let index = self.next_index();
        // Metadata is stamped 0: ffmpeg's FLV demuxer takes a later-stamped onMetaData for a
        // subtitle packet (it skips only `type == 0 && dts == 0`).
        let unit =
            Arc::new(Unit::metadata(md, Timestamp::new(0, Timebase::MILLIS)).with_index(index));
        self.metadata = Some(unit.clone());
        unit
    }

    /// Gates, repairs and wraps a coded frame of a known track.
    pub(crate) fn accept_frame(
        &mut self,
        key: &str,
        mut frame: Frame,
        now: Instant,
    ) -> Result<Arc<Unit>, Refused> {
        let Some(pos) = self
            .tracks
            .iter()
            .position(|t| !t.stale && t.source == frame.track)
        else {
            return Err(Refused::UnknownTrack(frame.track));
        };
        let t = &mut self.tracks[pos];
        frame.track = t.info.id;
        if t.awaiting_keyframe {
            if !frame.keyframe {
                t.held_back += 1;
                return Err(Refused::AwaitingKeyframe);
            }
            t.awaiting_keyframe = false;
            if t.held_back > 0 {
                info!(
                    stream = key,
                    track = t.info.id.0,
                    held_back = t.held_back,
                    "video starts at a keyframe (inter frames before it dropped)"
                );
                t.held_back = 0;
            }
        }
        let info = t.info.clone();
        if !std::mem::replace(&mut t.delivering, true) {
            debug!(stream = key, track = info.id.0, codec = %info.codec, "track delivering");
        }
        self.drop_stale_tracks(key);
        self.rebase(&mut frame);
        match self.repair.repair(&mut frame) {
            Repair::None => {}
            r => {
                self.counters.repairs += 1;
                report_repair(key, &r);
            }
        }
        let out_ns = ns_of(frame.dts);
        if self.first_ns.is_none() {
            self.first_ns = Some(out_ns);
            self.last_ns = out_ns;
        } else if out_ns > self.last_ns {
            // Tracks are interleaved, not globally ordered: only move forward.
            self.last_ns = out_ns;
        }
        self.first_data_at.get_or_insert(now);
        self.counters.frames += 1;
        self.counters.bytes_in += frame.data.len() as u64;
        let second = self.second(now);
        self.rate.add(second, frame.data.len() as u64);
        let index = self.next_index();
        Ok(Arc::new(Unit::frame(info, frame).with_index(index)))
    }

    /// Stale tracks (from before a reconnect) that the new session did not re-announce by
    /// its first frame are gone.
    fn drop_stale_tracks(&mut self, key: &str) {
        if self.tracks.iter().any(|t| t.stale) {
            self.tracks.retain(|t| {
                if t.stale {
                    info!(stream = key, track = t.info.id.0, codec = %t.info.codec, "track not re-announced after the reconnect: dropped");
                }
                !t.stale
            });
        }
    }

    fn rebase(&mut self, frame: &mut Frame) {
        let offset = *self.rebase_ns.get_or_insert_with(|| {
            let first = ns_of(frame.dts);
            let limit = REBASE_LIMIT.as_nanos() as i128;
            if (0..limit).contains(&first) {
                0
            } else {
                REBASE_START.as_nanos() as i128 - first
            }
        });
        if offset != 0 {
            let tb = frame.dts.timebase();
            let shift = ticks_of(offset, tb);
            frame.dts = Timestamp::new(frame.dts.ticks().saturating_add(shift), tb);
            let ptb = frame.pts.timebase();
            let pshift = ticks_of(offset, ptb);
            frame.pts = Timestamp::new(frame.pts.ticks().saturating_add(pshift), ptb);
        }
    }

    /// Media time covered by the current session so far.
    pub(crate) fn age(&self) -> Duration {
        self.first_ns.map_or(Duration::ZERO, |f| {
            Duration::from_nanos(u64::try_from(self.last_ns - f).unwrap_or(0))
        })
    }

    /// Drops announced kinds that never delivered within `timeout` of stream time.
    pub(crate) fn track_timeouts(&mut self, key: &str, timeout: Duration) {
        if self.expected.is_empty() || self.age() < timeout {
            return;
        }
        let tracks = &self.tracks;
        self.expected.retain(|k| {
            let ok = tracks.iter().any(|t| t.kind() == *k && t.delivering);
            if !ok {
                warn!(stream = key, kind = ?k, "announced track never arrived: dropped from the stream's description");
            }
            ok
        });
    }

    fn has_delivering(&self, kind: MediaKind) -> bool {
        self.tracks.iter().any(|t| t.delivering && t.kind() == kind)
    }

    pub(crate) fn has_data(&self) -> bool {
        self.tracks.iter().any(|t| t.delivering)
    }

    /// Whether a new player can be told the stream's tracks: every announced kind has
    /// delivered data (or, without an announcement, both video and audio have), or the
    /// stream has run for `wait` (wall clock or media time) without the rest.
    pub(crate) fn tracks_settled(&self, now: Instant, wait: Duration) -> bool {
        let complete = if self.expected.is_empty() {
            self.has_delivering(MediaKind::Video) && self.has_delivering(MediaKind::Audio)
        } else {
            self.expected.iter().all(|k| self.has_delivering(*k))
        };
        complete
            || self
                .first_data_at
                .is_some_and(|t| now.duration_since(t) >= wait)
            || self.age() >= wait
    }

    /// When [`StreamState::tracks_settled`] becomes true by the clock alone.
    pub(crate) fn settle_at(&self, wait: Duration) -> Option<Instant> {
        self.first_data_at.map(|t| t + wait)
    }

    /// The tracks a new player is told about: those that deliver, and those of kinds the
    /// publisher announced and that are still expected.
    pub(crate) fn told_tracks(&self) -> Vec<Arc<TrackInfo>> {
        let mut v: Vec<Arc<TrackInfo>> = self
            .tracks
            .iter()
            .filter(|t| t.delivering || self.expected.contains(&t.kind()))
            .map(|t| t.info.clone())
            .collect();
        // Video first.
        v.sort_by_key(|t| t.codec.kind() != MediaKind::Video);
        v
    }

    pub(crate) fn shape(&self) -> StreamShape {
        let told = self.told_tracks();
        StreamShape {
            has_video: told.iter().any(|t| t.codec.kind() == MediaKind::Video)
                || self.expected.contains(&MediaKind::Video),
            has_audio: told.iter().any(|t| t.codec.kind() != MediaKind::Video)
                || self.expected.contains(&MediaKind::Audio),
        }
    }

    /// What a new player starts from: metadata, the configurations of the tracks it is
    /// told about, then the cached GOP. Whether that GOP starts on a keyframe.
    pub(crate) fn initial_units(&self, told: &[Arc<TrackInfo>]) -> (Vec<Arc<Unit>>, bool) {
        let mut initial = Vec::with_capacity(self.gop.len() + told.len() + 1);
        initial.extend(self.metadata.iter().cloned());
        for info in told {
            if let Some(t) = self.tracks.iter().find(|t| Arc::ptr_eq(&t.info, info)) {
                initial.push(t.config.clone());
            }
        }
        let starts_key = self.gop.first().is_some_and(|u| u.is_keyframe());
        initial.extend(self.gop.iter().cloned());
        (initial, starts_key)
    }

    /// The primary video track (the one whose keyframes start a GOP).
    fn primary_video(&self) -> Option<TrackId> {
        self.tracks
            .iter()
            .find(|t| t.kind() == MediaKind::Video && !t.stale)
            .map(|t| t.info.id)
    }

    /// Adds a frame unit to the GOP cache; returns whether a waiting player should look
    /// again (a new keyframe).
    pub(crate) fn cache(&mut self, unit: &Arc<Unit>, enabled: bool, max_bytes: usize) -> bool {
        if !enabled || !unit.is_frame() {
            return false;
        }
        let primary = self.primary_video();
        let track = unit.track().map(|t| t.id);
        let keyframe = unit.is_keyframe() && (primary.is_none() || track == primary);
        if keyframe {
            self.gop.clear();
            self.gop_bytes = 0;
            self.gop_overflow = false;
        } else if primary.is_some() && self.gop.is_empty() {
            // A video stream without a keyframe cached yet: nothing a player could start on.
            return false;
        } else if primary.is_none() && self.gop.len() >= AUDIO_TAIL {
            self.gop.remove(0);
        }
        if self.gop_overflow {
            return false;
        }
        self.gop_bytes += unit.len();
        if self.gop_bytes > max_bytes {
            self.gop.clear();
            self.gop_bytes = 0;
            self.gop_overflow = true;
            return false;
        }
        self.gop.push(unit.clone());
        keyframe
    }

    /// Runs the stream's taps that have users on `unit`.
    pub(crate) fn run_taps(&self, unit: &Arc<Unit>) {
        for t in &self.taps {
            if t.users > 0 {
                t.tap.unit(unit);
            }
        }
    }

    /// Whether any kind of the stream is video (for lag handling).
    pub(crate) fn has_video(&self) -> bool {
        self.tracks.iter().any(|t| t.kind() == MediaKind::Video)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_meter_averages_complete_seconds() {
        let mut m = RateMeter::default();
        for s in 0..10 {
            m.add(s, 1000);
        }
        m.add(10, 5000); // the current, incomplete second does not count
        assert_eq!(m.bits_per_second(10), 8000);
        assert_eq!(m.bits_per_second(30), 0, "nothing recent");
    }
}
