//! Units as live MPEG-TS (HTTP-TS): one muxer per stream, run as a hub [`Tap`] so every
//! player gets the same packets (continuity counters run on across units), built once.
//!
//! PAT and PMT go before every video keyframe, so a player joining at a keyframe (the GOP
//! cache) can start there. A change of the stream's tracks starts a new muxer.

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tracing::debug;
use weir_media::{Codec, TrackInfo};
use weir_mpegts::{MuxConfig, TsMuxer};

use crate::core::{EncodingKey, Tap, Unit};

static TS: EncodingKey<Bytes> = EncodingKey::new();

/// The unit's TS packets, once the stream's stage has built them (empty: no TS form).
pub(crate) fn packets(unit: &Unit) -> Option<&Bytes> {
    unit.cached(&TS)
}

/// Codecs carried in TS here.
fn ts_codec(c: Codec) -> bool {
    matches!(
        c,
        Codec::H264 | Codec::H265 | Codec::Aac | Codec::MpegAudio | Codec::Opus
    )
}

#[derive(Default)]
struct State {
    tracks: Vec<TrackInfo>,
    mux: Option<TsMuxer>,
    last: u64,
    buf: BytesMut,
}

/// The per-stream TS muxing stage.
#[derive(Default)]
pub(crate) struct TsStage {
    state: Mutex<State>,
}

impl std::fmt::Debug for TsStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsStage").finish_non_exhaustive()
    }
}

impl Tap for TsStage {
    fn unit(&self, unit: &Arc<Unit>) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if unit.index() != 0 && unit.index() <= st.last {
            return;
        }
        st.last = unit.index();
        st.process(unit);
    }
}

impl State {
    fn process(&mut self, unit: &Unit) {
        let Some(track) = unit.track() else { return };
        if unit.is_config() {
            if !ts_codec(track.codec) || track.config.is_empty() && track.codec != Codec::Opus {
                return;
            }
            match self.tracks.iter_mut().find(|t| t.id == track.id) {
                Some(t) if *t == **track => {}
                Some(t) if t.codec == track.codec => {
                    *t = (**track).clone();
                    if let Some(m) = self.mux.as_mut() {
                        let _ = m.update_track((**track).clone());
                    }
                }
                Some(t) => {
                    *t = (**track).clone();
                    self.mux = None;
                }
                None => {
                    self.tracks.push((**track).clone());
                    self.mux = None;
                }
            }
            return;
        }
        let Some(frame) = unit.frame_data() else {
            return;
        };
        if !self.tracks.iter().any(|t| t.id == frame.track) {
            return;
        }
        if self.mux.is_none() {
            match TsMuxer::new(&self.tracks, MuxConfig::default()) {
                Ok(m) => self.mux = Some(m),
                Err(e) => {
                    debug!(error = %e, "http-ts: cannot mux these tracks");
                    return;
                }
            }
        }
        let Some(mux) = self.mux.as_mut() else { return };
        match mux.write_frame(frame, &mut self.buf) {
            Ok(()) => {
                unit.seed(&TS, self.buf.split().freeze());
            }
            Err(e) => {
                self.buf.clear();
                debug!(error = %e, "http-ts: frame not muxed");
            }
        }
    }
}
