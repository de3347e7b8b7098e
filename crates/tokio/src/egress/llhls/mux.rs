//! One stream's LL-HLS packaging: hub units → `weir-mp4` fragments cut where `weir-hls`'s
//! scheduler says → parts and segments of the stream's [`LivePlaylist`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{debug, info, warn};
use weir_hls::{Cut, DateTime, LiveConfig, LivePlaylist, PartInfo, ScheduleConfig, Scheduler};
use weir_media::{Codec, Frame, MediaKind, Timebase, TrackId, TrackInfo};
use weir_mp4::{Fragment, FragmentConfig, FragmentedMuxer};

use super::State;
use crate::egress::HlsConfig;

/// Codecs LL-HLS players (hls.js, Safari, ffmpeg) decode from fMP4.
pub(super) fn playable(codec: Codec) -> bool {
    matches!(codec, Codec::H264 | Codec::H265 | Codec::Aac | Codec::Opus)
}

/// Wall-clock milliseconds now (for `EXT-X-PROGRAM-DATE-TIME`).
pub(super) fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Media time of a frame in milliseconds.
fn media_ms(frame: &Frame) -> i64 {
    frame.dts.rescale(Timebase::MILLIS).ticks()
}

/// The packaging of one stream; the caller locks the stream's [`State`] around each call.
pub(super) struct Packager {
    key: String,
    config: HlsConfig,
    tracks: Vec<TrackInfo>,
    mux: Option<FragmentedMuxer>,
    primary: Option<(TrackId, bool)>,
    scheduler: Scheduler,
    /// Wall-clock ms minus media ms: the program date of a media time.
    anchor: Option<i64>,
    forced_logged: bool,
}

impl Packager {
    pub(super) fn new(key: &str, config: &HlsConfig) -> Packager {
        Packager {
            key: key.to_string(),
            config: config.clone(),
            tracks: Vec::new(),
            mux: None,
            primary: None,
            scheduler: Scheduler::new(ScheduleConfig::new(config.ll_part, config.ll_segment)),
            anchor: None,
            forced_logged: false,
        }
    }

    /// Fixes the date of media time: `newest` is the newest frame available now (the live
    /// edge after the GOP replay), so older frames get older dates.
    pub(super) fn anchor(&mut self, newest: Option<&Frame>) {
        if self.anchor.is_none() {
            if let Some(f) = newest {
                self.anchor = Some(wall_ms() - media_ms(f));
            }
        }
    }

    /// A track was announced or changed.
    pub(super) fn config(&mut self, st: &mut State, track: &TrackInfo) {
        if !playable(track.codec) {
            if !st.dropped.contains(&track.codec) {
                warn!(stream = %self.key, codec = %track.codec, "ll-hls: players cannot decode this track from fMP4; left out");
                st.dropped.push(track.codec);
            }
            return;
        }
        if track.config.is_empty() && matches!(track.codec, Codec::H264 | Codec::H265 | Codec::Aac)
        {
            return;
        }
        match self.tracks.iter_mut().find(|t| t.id == track.id) {
            Some(t) if t == track => return,
            Some(t) => *t = track.clone(),
            None => self.tracks.push(track.clone()),
        }
        // A new initialization section: what was muxed so far ends the segment.
        self.flush(st);
        self.mux = None;
    }

    fn ensure_mux(&mut self, st: &mut State) -> bool {
        if self.mux.is_some() {
            return true;
        }
        if self.tracks.is_empty() {
            return false;
        }
        match FragmentedMuxer::new(&self.tracks, FragmentConfig::default()) {
            Ok(m) => {
                let video = self
                    .tracks
                    .iter()
                    .find(|t| t.codec.kind() == MediaKind::Video);
                let primary = video.or(self.tracks.first());
                self.primary = primary.map(|t| (t.id, t.codec.kind() == MediaKind::Video));
                let version = match st.live.as_mut() {
                    Some(live) => live.new_map(),
                    None => 0,
                };
                st.inits.retain(|(v, _)| *v != version);
                st.inits.push((version, m.init_segment()));
                if st.inits.len() > 4 {
                    st.inits.remove(0);
                }
                self.scheduler.restart();
                self.mux = Some(m);
                true
            }
            Err(e) => {
                warn!(stream = %self.key, error = %e, "ll-hls: cannot mux these tracks");
                false
            }
        }
    }

    /// A frame of `track`.
    pub(super) fn frame(&mut self, st: &mut State, frame: &Frame) {
        if !self.tracks.iter().any(|t| t.id == frame.track) || !self.ensure_mux(st) {
            return;
        }
        let Some((primary, video)) = self.primary else {
            return;
        };
        let cut = if frame.track == primary {
            self.scheduler.frame(frame.dts, frame.keyframe || !video)
        } else {
            Cut::None
        };
        let Some(mux) = self.mux.as_mut() else { return };
        if let Err(e) = mux.push(frame.clone()) {
            debug!(stream = %self.key, error = %e, "ll-hls: frame not muxed");
            return;
        }
        if cut == Cut::None {
            return;
        }
        match mux.flush_fragment() {
            Ok(Some(f)) => self.part(st, &f, cut != Cut::Part),
            Ok(None) => {}
            Err(e) => debug!(stream = %self.key, error = %e, "ll-hls: fragment not written"),
        }
        if cut == Cut::ForcedSegment && !self.forced_logged {
            self.forced_logged = true;
            warn!(stream = %self.key, target_duration = self.scheduler.target_duration(), "ll-hls: keyframes further apart than the target duration; segments cut between keyframes (raise ll_segment_ms)");
        }
    }

    fn part(&mut self, st: &mut State, f: &Fragment, ends_segment: bool) {
        let Some(part_target) = self.scheduler.part_target() else {
            return;
        };
        let td = self.scheduler.target_duration();
        let window = self.config.ll_window;
        let live = st
            .live
            .get_or_insert_with(|| LivePlaylist::new(LiveConfig::new(td, part_target, window)));
        let mut info = PartInfo::new(f.duration(), f.independent);
        if let Some(a) = self.anchor {
            let ms = f.start.rescale(Timebase::MILLIS).ticks();
            info = info.with_program_date_time(DateTime::from_unix_millis(a.saturating_add(ms)));
        }
        live.push_part(info, f.to_bytes());
        if ends_segment {
            live.close_segment();
        }
        st.parts += 1;
    }

    /// Writes what is buffered as a last part and closes the segment.
    fn flush(&mut self, st: &mut State) {
        if let Some(mux) = self.mux.as_mut() {
            if let Ok(Some(f)) = mux.finish() {
                self.part(st, &f, true);
            }
        }
        if let Some(live) = st.live.as_mut() {
            live.close_segment();
        }
    }

    /// The stream ended.
    pub(super) fn finish(&mut self, st: &mut State) {
        self.flush(st);
        if let Some(live) = st.live.as_mut() {
            live.end();
        }
        info!(stream = %self.key, "ll-hls: stream ended");
    }

    /// The target duration the playlist declares.
    pub(super) fn target_duration(config: &HlsConfig) -> Duration {
        Duration::from_secs(
            ScheduleConfig::new(config.ll_part, config.ll_segment).target_duration(),
        )
    }
}
