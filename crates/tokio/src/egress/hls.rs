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

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use weir_media::{Codec, TrackInfo};
use weir_mpegts::hls::{media_playlist, HlsSegmenter, Segment, SegmenterConfig};

use super::settings::HlsConfig;
use crate::core::{Hub, HubEvent};

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

struct HlsStream {
    state: Mutex<State>,
    changed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

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
    streams: Mutex<HashMap<String, Arc<HlsStream>>>,
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
            streams: Mutex::new(HashMap::new()),
        }
    }

    /// HLS info of a stream being segmented.
    pub(crate) fn info(&self, key: &str) -> Option<HlsInfo> {
        let s = lock(&self.streams).get(key).cloned()?;
        let info = lock(&s.state).info.clone();
        Some(info)
    }

    fn stream(self: &Arc<Self>, key: &str) -> Arc<HlsStream> {
        let mut streams = lock(&self.streams);
        if let Some(s) = streams.get(key) {
            let st = lock(&s.state);
            if !(st.failed || st.ended && st.segments.is_empty()) {
                drop(st);
                return s.clone();
            }
        }
        let s = Arc::new(HlsStream {
            state: Mutex::new(State {
                last_access: Some(Instant::now()),
                ..State::default()
            }),
            changed: Notify::new(),
        });
        streams.insert(key.to_string(), s.clone());
        let me = self.clone();
        let key = key.to_string();
        let stream = s.clone();
        tokio::spawn(async move {
            me.run(&key, &stream).await;
            stream.changed.notify_waiters();
            // Keep an ended stream's segments around briefly for players finishing it.
            tokio::time::sleep(me.config.target_duration * 3).await;
            let mut streams = lock(&me.streams);
            if streams.get(&key).is_some_and(|s| Arc::ptr_eq(s, &stream)) {
                streams.remove(&key);
            }
        });
        s
    }

    /// The playlist of `key`, waiting (up to the play wait plus two target durations) for
    /// its first segment.
    pub(crate) async fn playlist(self: &Arc<Self>, key: &str) -> HlsReply {
        let s = self.stream(key);
        let deadline = Instant::now() + self.play_wait + self.config.target_duration * 3;
        loop {
            let notified = s.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = lock(&s.state);
                st.last_access = Some(Instant::now());
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
                        format!("{}.ts", seg.sequence)
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
        let Some(s) = lock(&self.streams).get(key).cloned() else {
            return HlsReply::NotFound;
        };
        let mut st = lock(&s.state);
        st.last_access = Some(Instant::now());
        match st.segments.iter().find(|seg| seg.sequence == sequence) {
            Some(seg) => HlsReply::Segment(seg.data.clone()),
            None => HlsReply::NotFound,
        }
    }

    async fn run(&self, key: &str, stream: &HlsStream) {
        let mut events = self.hub.events();
        let mut sub = match self.hub.subscribe(key, "hls").await {
            Ok(s) => s,
            Err(e) => {
                debug!(stream = key, error = %e, "hls: no stream");
                lock(&stream.state).failed = true;
                return;
            }
        };
        info!(stream = key, "hls: segmenting");
        let mut tracks: Vec<TrackInfo> = Vec::new();
        let mut segmenter: Option<HlsSegmenter> = None;
        let mut restart = false;
        // Frames taken by the segmenter before its first segment: a track that shows up
        // after the first frames (audio whose configuration arrives with its first frame,
        // as from GB28181 or RTSP) makes a new segmenter, which gets these again instead
        // of starting at the next keyframe and losing the first GOP. Bounded.
        let mut replay: Vec<weir_media::Frame> = Vec::new();
        let mut replay_on = true;
        let keep = self.config.window + 3;
        let mut check_idle = tokio::time::interval(Duration::from_secs(1));
        loop {
            let unit = tokio::select! {
                u = sub.next() => u,
                ev = events.recv() => {
                    if let Ok(HubEvent::Published { key: k, .. }) = ev {
                        // (The event of the publish this task started with can arrive
                        // after its first frames: before the first segment there is
                        // nothing to mark, and resetting would lose the first GOP.)
                        if k == key && segmenter.is_some() && !replay_on {
                            restart = true;
                        }
                    }
                    continue;
                }
                _ = check_idle.tick() => {
                    let idle = lock(&stream.state).last_access.is_none_or(|t| t.elapsed() > self.config.idle_timeout);
                    if idle {
                        info!(stream = key, "hls: no requests for a while, stopping");
                        lock(&stream.state).failed = true;
                        return;
                    }
                    continue;
                }
            };
            let Some(unit) = unit else { break };
            if unit.is_config() {
                let Some(track) = unit.track() else { continue };
                if !hls_playable(track.codec) {
                    let mut st = lock(&stream.state);
                    if !st.info.dropped_tracks.contains(&track.codec) {
                        warn!(stream = key, codec = %track.codec, "hls: MPEG-TS players cannot decode this track; left out of HLS");
                        st.info.dropped_tracks.push(track.codec);
                    }
                    continue;
                }
                let track = (**track).clone();
                if track.config.is_empty()
                    && matches!(track.codec, Codec::H264 | Codec::H265 | Codec::Aac)
                {
                    // Announced before its configuration is known (RTSP without sprop,
                    // GB28181): wait for the sequence header that has it.
                    continue;
                }
                match tracks
                    .iter_mut()
                    .find(|t| t.codec.kind() == track.codec.kind())
                {
                    Some(t) if *t == track => {}
                    Some(t) => {
                        *t = track;
                        if replay_on {
                            // Nothing served yet: start over with the frames taken so far.
                            segmenter = None;
                        } else {
                            restart = true;
                        }
                    }
                    None => {
                        tracks.push(track);
                        segmenter = None;
                    }
                }
                continue;
            }
            let Some(frame) = unit.frame_data() else {
                continue;
            };
            if !tracks.iter().any(|t| t.id == frame.track) {
                // A track without a usable configuration (or one HLS leaves out).
                if let Some(t) = unit.track() {
                    if !hls_playable(t.codec) {
                        let mut st = lock(&stream.state);
                        if !st.info.dropped_tracks.contains(&t.codec) {
                            warn!(stream = key, codec = %t.codec, "hls: MPEG-TS players cannot decode this track; left out of HLS");
                            st.info.dropped_tracks.push(t.codec);
                        }
                    }
                }
                continue;
            }
            if restart {
                restart = false;
                replay_on = false;
                replay.clear();
                if let Some(seg) = segmenter.as_mut() {
                    for t in &tracks {
                        let _ = seg.muxer_mut().update_track(t.clone());
                    }
                    seg.reset();
                }
            }
            if segmenter.is_none() {
                match HlsSegmenter::new(
                    &tracks,
                    SegmenterConfig::with_target(self.config.target_duration),
                ) {
                    Ok(mut s) => {
                        for f in replay
                            .iter()
                            .filter(|f| tracks.iter().any(|t| t.id == f.track))
                        {
                            if let Err(e) = s.push(f) {
                                debug!(stream = key, error = %e, "hls: frame not muxed");
                            }
                        }
                        segmenter = Some(s);
                    }
                    Err(e) => {
                        warn!(stream = key, error = %e, "hls: cannot mux these tracks");
                        continue;
                    }
                }
            }
            let Some(seg) = segmenter.as_mut() else {
                continue;
            };
            // (weir-mpegts puts the track's parameter sets before keyframes that lack them,
            // so every segment decodes on its own.)
            if let Err(e) = seg.push(frame) {
                debug!(stream = key, error = %e, "hls: frame not muxed");
            }
            if replay_on {
                replay.push(frame.clone());
                if replay.len() > MAX_REPLAY_FRAMES {
                    replay_on = false;
                    replay.clear();
                }
            }
            let mut produced = false;
            while let Some(segment) = seg.poll_segment() {
                let mut st = lock(&stream.state);
                st.info.segments += 1;
                st.segments.push_back(segment);
                while st.segments.len() > keep {
                    st.segments.pop_front();
                }
                produced = true;
                replay_on = false;
                replay.clear();
            }
            if produced {
                stream.changed.notify_waiters();
            }
        }
        // The stream ended: flush the last segment and close the playlist.
        if let Some(mut seg) = segmenter {
            let rest = seg.finish();
            let mut st = lock(&stream.state);
            for segment in rest {
                st.info.segments += 1;
                st.segments.push_back(segment);
            }
            while st.segments.len() > keep {
                st.segments.pop_front();
            }
        }
        lock(&stream.state).ended = true;
        info!(stream = key, "hls: stream ended");
    }
}

/// `/{app}/{stream}/index.m3u8` → key; `/{app}/{stream}/{n}.ts` → (key, n).
pub(crate) enum HlsPath {
    Playlist(String),
    Segment(String, u64),
}

pub(crate) fn parse_path(path: &str) -> Option<HlsPath> {
    let rest = path.strip_prefix('/')?;
    let (key, file) = rest.rsplit_once('/')?;
    let (app, stream) = key.rsplit_once('/')?;
    let ok =
        |s: &str| !s.is_empty() && !s.split('/').any(|p| p.is_empty() || p == "." || p == "..");
    if !(ok(app) && ok(stream)) {
        return None;
    }
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
