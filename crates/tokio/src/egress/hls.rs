//! HLS egress: `/{app}/{stream}/index.m3u8` and `/{app}/{stream}/{n}.ts`, served from
//! memory.
//!
//! The first request for a stream's playlist starts a segmenter task for it: it subscribes
//! to the hub like any player, cuts MPEG-TS segments at keyframes near the target
//! duration (`weir_mpegts::HlsSegmenter`) and keeps a sliding window of them. The task
//! stops when nobody has asked for the stream for a while (formats are produced only
//! while someone plays them) or when the stream ends (the playlist then gets
//! `#EXT-X-ENDLIST`). A publisher taking over the stream marks the next segment with
//! `#EXT-X-DISCONTINUITY`. Tracks MPEG-TS players cannot decode (G.711) are left out with
//! a log line and flagged in [`HlsInfo::dropped_tracks`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use weir_media::{Codec, Frame, TrackInfo};
use weir_mpegts::hls::{media_playlist, HlsSegmenter, Segment, SegmenterConfig};

use super::live::{lock, LiveState, LiveStream, LiveStreams};
use super::settings::HlsConfig;
use crate::core::{Hub, HubEvent};
use crate::net::path::key_and_file;

/// What the HLS output of a stream looks like, for the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HlsInfo {
    /// Segments produced so far.
    pub segments: u64,
    /// Codecs of tracks left out because HLS players cannot decode them in MPEG-TS.
    pub dropped_tracks: Vec<Codec>,
}

#[derive(Default)]
struct State {
    segments: VecDeque<Segment>,
    ended: bool,
    failed: bool,
    last_access: Option<Instant>,
    info: HlsInfo,
}

impl LiveState for State {
    fn usable(&self) -> bool {
        !(self.failed || self.ended && self.segments.is_empty())
    }
    fn fail(&mut self) {
        self.failed = true;
    }
    fn last_access(&mut self) -> &mut Option<Instant> {
        &mut self.last_access
    }
}

type HlsStream = LiveStream<State>;

/// Most frames kept for a segmenter re-created before its first segment (see `run`).
const MAX_REPLAY_FRAMES: usize = 2048;

/// Codecs HLS players decode from MPEG-TS.
fn hls_playable(codec: Codec) -> bool {
    matches!(
        codec,
        Codec::H264 | Codec::H265 | Codec::Aac | Codec::MpegAudio | Codec::Opus
    )
}

/// The registry of per-stream HLS segmenters.
pub(crate) struct Hls {
    hub: Hub,
    config: HlsConfig,
    play_wait: Duration,
    streams: LiveStreams<State>,
}

/// The response to an HLS request.
pub(crate) enum HlsReply {
    Playlist(String),
    Segment(Bytes),
    NotFound,
}

impl Hls {
    pub(crate) fn new(hub: Hub, config: HlsConfig, play_wait: Duration) -> Hls {
        Hls {
            hub,
            config,
            play_wait,
            streams: LiveStreams::new(),
        }
    }

    /// HLS info of a stream being segmented.
    pub(crate) fn info(&self, key: &str) -> Option<HlsInfo> {
        let s = self.streams.get(key)?;
        let info = lock(&s.state).info.clone();
        Some(info)
    }

    fn stream(self: &Arc<Self>, key: &str) -> Arc<HlsStream> {
        let me = self.clone();
        // An ended stream's segments are kept briefly for players finishing it.
        let linger = self.config.target_duration * 3;
        self.streams.get_or_start(
            key,
            || 0,
            linger,
            move |key, stream| async move {
                me.run(&key, &stream).await;
            },
        )
    }

    /// The playlist of `key`, waiting (up to the play wait plus two target durations) for
    /// its first segment.
    /// Segment URIs get `suffix` (the client's query and session id).
    pub(crate) async fn playlist(self: &Arc<Self>, key: &str, suffix: &str) -> HlsReply {
        let s = self.stream(key);
        let deadline = Instant::now() + self.play_wait + self.config.target_duration * 3;
        loop {
            let notified = s.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = s.touch();
                if !st.segments.is_empty() {
                    let window: Vec<Segment> = st
                        .segments
                        .iter()
                        .rev()
                        .take(self.config.window)
                        .rev()
                        .cloned()
                        .collect();
                    return HlsReply::Playlist(media_playlist(&window, st.ended, |seg| {
                        format!("{}.ts{suffix}", seg.sequence)
                    }));
                }
                if st.failed || st.ended {
                    return HlsReply::NotFound;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return HlsReply::NotFound;
            }
        }
    }

    /// Segment `sequence` of `key`, if it is still held.
    pub(crate) fn segment(&self, key: &str, sequence: u64) -> HlsReply {
        let Some(s) = self.streams.get(key) else {
            return HlsReply::NotFound;
        };
        let st = s.touch();
        match st.segments.iter().find(|seg| seg.sequence == sequence) {
            Some(seg) => HlsReply::Segment(seg.data.clone()),
            None => HlsReply::NotFound,
        }
    }

    async fn run(&self, key: &str, stream: &HlsStream) {
        let mut events = self.hub.events();
        let Some(mut sub) = stream.subscribe(&self.hub, key, "hls").await else {
            return;
        };
        info!(stream = key, "hls: segmenting");
        let mut seg = Segmenting::new(key, stream, &self.config);
        let mut check_idle = tokio::time::interval(Duration::from_secs(1));
        loop {
            let unit = tokio::select! {
                u = sub.next() => u,
                ev = events.recv() => {
                    if let Ok(HubEvent::Published { key: k, .. }) = ev {
                        if k == key {
                            seg.republished();
                        }
                    }
                    continue;
                }
                _ = check_idle.tick() => {
                    if stream.idle_stop(key, "hls", self.config.idle_timeout) {
                        return;
                    }
                    continue;
                }
            };
            let Some(unit) = unit else { break };
            match (unit.track(), unit.frame_data()) {
                (Some(track), None) if unit.is_config() => seg.config(track),
                (Some(track), Some(frame)) => seg.frame(track, frame),
                _ => {}
            }
        }
        seg.finish();
        info!(stream = key, "hls: stream ended");
    }
}

/// One stream's segmenting: tracks, the segmenter, and the bookkeeping that keeps segment
/// numbers unique across segmenter re-creations.
struct Segmenting<'a> {
    key: &'a str,
    stream: &'a HlsStream,
    config: &'a HlsConfig,
    tracks: Vec<TrackInfo>,
    segmenter: Option<HlsSegmenter>,
    /// A publisher took over or a track changed: the next frame resets the segmenter (a
    /// discontinuity).
    restart: bool,
    /// Frames taken before the first segment: a track that shows up after the first
    /// frames (audio whose configuration arrives with its first frame, as from GB28181 or
    /// RTSP) makes a new segmenter, which gets these again instead of starting at the next
    /// keyframe and losing the first GOP. Bounded.
    replay: Vec<Frame>,
    replay_on: bool,
    /// A re-created segmenter numbers from 0: its segments continue from `seq_base`, the
    /// first one marked as a discontinuity (`recreated`).
    seq_base: u64,
    next_seq: u64,
    recreated: bool,
}

impl<'a> Segmenting<'a> {
    fn new(key: &'a str, stream: &'a HlsStream, config: &'a HlsConfig) -> Segmenting<'a> {
        Segmenting {
            key,
            stream,
            config,
            tracks: Vec::new(),
            segmenter: None,
            restart: false,
            replay: Vec::new(),
            replay_on: true,
            seq_base: 0,
            next_seq: 0,
            recreated: false,
        }
    }

    /// A publisher took over the stream. (The event of the publish this task started with
    /// can arrive after its first frames: before the first segment there is nothing to
    /// mark, and resetting would lose the first GOP.)
    fn republished(&mut self) {
        if self.segmenter.is_some() && !self.replay_on {
            self.restart = true;
        }
    }

    fn dropped(&self, codec: Codec) {
        let mut st = lock(&self.stream.state);
        if !st.info.dropped_tracks.contains(&codec) {
            warn!(stream = self.key, codec = %codec, "hls: MPEG-TS players cannot decode this track; left out of HLS");
            st.info.dropped_tracks.push(codec);
        }
    }

    /// The segmenter is thrown away (a new set of tracks); the next one continues the
    /// numbering.
    fn drop_segmenter(&mut self) {
        if self.segmenter.take().is_some() && !self.replay_on {
            self.seq_base = self.next_seq;
            self.recreated = true;
        }
    }

    fn config(&mut self, track: &TrackInfo) {
        if !hls_playable(track.codec) {
            self.dropped(track.codec);
            return;
        }
        if track.config.is_empty() && matches!(track.codec, Codec::H264 | Codec::H265 | Codec::Aac)
        {
            // Announced before its configuration is known: wait for the one that has it.
            return;
        }
        match self.tracks.iter_mut().find(|t| t.id == track.id) {
            Some(t) if t == track => {}
            Some(t) => {
                *t = track.clone();
                if self.replay_on {
                    // Nothing served yet: start over with the frames taken so far.
                    self.segmenter = None;
                } else {
                    self.restart = true;
                }
            }
            None => {
                self.tracks.push(track.clone());
                self.drop_segmenter();
            }
        }
    }

    fn frame(&mut self, track: &TrackInfo, frame: &Frame) {
        if !self.tracks.iter().any(|t| t.id == frame.track) {
            // A track without a usable configuration (or one HLS leaves out).
            if !hls_playable(track.codec) {
                self.dropped(track.codec);
            }
            return;
        }
        if std::mem::take(&mut self.restart) {
            self.replay_on = false;
            self.replay.clear();
            if let Some(seg) = self.segmenter.as_mut() {
                for t in &self.tracks {
                    let _ = seg.muxer_mut().update_track(t.clone());
                }
                seg.reset();
            }
        }
        if self.segmenter.is_none() && !self.create_segmenter() {
            return;
        }
        let Some(seg) = self.segmenter.as_mut() else {
            return;
        };
        // (weir-mpegts puts the track's parameter sets before keyframes that lack them, so
        // every segment decodes on its own.)
        if let Err(e) = seg.push(frame) {
            debug!(stream = self.key, error = %e, "hls: frame not muxed");
        }
        if self.replay_on {
            self.replay.push(frame.clone());
            if self.replay.len() > MAX_REPLAY_FRAMES {
                self.replay_on = false;
                self.replay.clear();
            }
        }
        let mut produced = Vec::new();
        while let Some(segment) = seg.poll_segment() {
            produced.push(segment);
        }
        if !produced.is_empty() {
            self.replay_on = false;
            self.replay.clear();
            self.store(produced);
        }
    }

    fn create_segmenter(&mut self) -> bool {
        let cfg = SegmenterConfig::with_target(self.config.target_duration);
        match HlsSegmenter::new(&self.tracks, cfg) {
            Ok(mut s) => {
                for f in self
                    .replay
                    .iter()
                    .filter(|f| self.tracks.iter().any(|t| t.id == f.track))
                {
                    if let Err(e) = s.push(f) {
                        debug!(stream = self.key, error = %e, "hls: frame not muxed");
                    }
                }
                self.segmenter = Some(s);
                true
            }
            Err(e) => {
                warn!(stream = self.key, error = %e, "hls: cannot mux these tracks");
                false
            }
        }
    }

    /// Lists new segments (numbered on from the last one) and wakes waiting requests.
    fn store(&mut self, segments: Vec<Segment>) {
        let keep = self.config.window + 3;
        {
            let mut st = lock(&self.stream.state);
            for mut segment in segments {
                segment.sequence += self.seq_base;
                segment.discontinuity |= std::mem::take(&mut self.recreated);
                self.next_seq = segment.sequence + 1;
                st.info.segments += 1;
                st.segments.push_back(segment);
            }
            while st.segments.len() > keep {
                st.segments.pop_front();
            }
        }
        self.stream.changed.notify_waiters();
    }

    /// The stream ended: flush the last segment and close the playlist.
    fn finish(&mut self) {
        if let Some(mut seg) = self.segmenter.take() {
            let rest = seg.finish();
            self.store(rest);
        }
        lock(&self.stream.state).ended = true;
    }
}

/// `/{app}/{stream}/index.m3u8` → key; `/{app}/{stream}/{n}.ts` → (key, n).
pub(crate) enum HlsPath {
    Playlist(String),
    Segment(String, u64),
}

pub(crate) fn parse_path(path: &str) -> Option<HlsPath> {
    let (key, file) = key_and_file(path)?;
    if file == "index.m3u8" {
        return Some(HlsPath::Playlist(key.to_string()));
    }
    let n = file.strip_suffix(".ts")?.parse().ok()?;
    Some(HlsPath::Segment(key.to_string(), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(
            matches!(parse_path("/live/cam/index.m3u8"), Some(HlsPath::Playlist(k)) if k == "live/cam")
        );
        assert!(
            matches!(parse_path("/live/cam/17.ts"), Some(HlsPath::Segment(k, 17)) if k == "live/cam")
        );
        for bad in [
            "/live/index.m3u8",
            "/live/cam/x.ts",
            "/live/cam/1.mp4",
            "/../a/index.m3u8",
            "/a//b/index.m3u8",
        ] {
            assert!(parse_path(bad).is_none(), "{bad}");
        }
    }
}
