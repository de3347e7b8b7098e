//! Units as live MPEG-TS (HTTP-TS): one muxer per stream, run as a hub
//! [`Tap`](crate::core::Tap) so every player gets the same packets (continuity counters
//! run on across units), built once.
//!
//! PAT and PMT go before every video keyframe, so a player joining at a keyframe (the GOP
//! cache) can start there. A change of the stream's tracks starts a new muxer.

use bytes::{Bytes, BytesMut};
use tracing::debug;
use weir_media::{Codec, TrackInfo};
use weir_mpegts::{MuxConfig, TsMuxer};

use super::stage::{known_frame, Muxing, Stage};
use crate::core::{EncodingKey, Unit};

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

/// A stream's TS muxer state.
#[derive(Default)]
pub(crate) struct TsMux {
    tracks: Vec<TrackInfo>,
    mux: Option<TsMuxer>,
    buf: BytesMut,
}

/// The per-stream TS muxing stage.
pub(crate) type TsStage = Stage<TsMux>;

impl Muxing for TsMux {
    const NAME: &'static str = "TsStage";

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
        let Some(frame) = known_frame(unit, &self.tracks) else {
            return;
        };
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
