//! Units as live fragmented MP4 (HTTP-fMP4): one `weir-mp4` muxer per stream, run as a hub
//! [`Tap`](crate::core::Tap), one fragment (`moof` + `mdat`) per frame, built once and
//! shared by every player.
//!
//! A fragment per frame keeps the latency at zero frames: its sample gets the track's
//! frame duration (the next fragment's `tfdt` carries the exact decode time). The init
//! segment of each generation of tracks is kept; a player whose stream changes tracks is
//! ended (it reconnects and gets the new init segment).

use bytes::Bytes;
use tracing::debug;
use weir_media::{Codec, TrackInfo};
use weir_mp4::{FragmentConfig, FragmentedMuxer};

use super::stage::{known_frame, Muxing, Stage};
use crate::core::{EncodingKey, Unit};

/// A frame's fragment.
#[derive(Debug)]
pub(crate) struct Fmp4Fragment {
    /// The track generation (init segment) it belongs to.
    pub(crate) generation: u64,
    /// `moof` and the `mdat` header.
    pub(crate) header: Bytes,
    /// The sample (the frame's own bytes, shared).
    pub(crate) payload: Bytes,
}

static FMP4: EncodingKey<Fmp4Fragment> = EncodingKey::new();

/// The unit's fragment, once the stream's stage has built it.
pub(crate) fn fragment(unit: &Unit) -> Option<&Fmp4Fragment> {
    unit.cached(&FMP4)
}

fn fmp4_codec(c: Codec) -> bool {
    matches!(
        c,
        Codec::H264 | Codec::H265 | Codec::Aac | Codec::Opus | Codec::G711A | Codec::G711U
    )
}

/// A stream's fMP4 muxer state.
#[derive(Default)]
pub(crate) struct Fmp4Mux {
    tracks: Vec<TrackInfo>,
    mux: Option<FragmentedMuxer>,
    generation: u64,
    inits: Vec<(u64, Bytes)>,
}

/// The per-stream fMP4 muxing stage.
pub(crate) type Fmp4Stage = Stage<Fmp4Mux>;

impl Fmp4Stage {
    /// The init segment of a generation, if still kept.
    pub(crate) fn init(&self, generation: u64) -> Option<Bytes> {
        self.with(|st| {
            st.inits
                .iter()
                .find(|(g, _)| *g == generation)
                .map(|(_, b)| b.clone())
        })
    }
}

impl Muxing for Fmp4Mux {
    const NAME: &'static str = "Fmp4Stage";

    fn process(&mut self, unit: &Unit) {
        let Some(track) = unit.track() else { return };
        if unit.is_config() {
            let needs_config = matches!(track.codec, Codec::H264 | Codec::H265 | Codec::Aac);
            if !fmp4_codec(track.codec) || needs_config && track.config.is_empty() {
                return;
            }
            match self.tracks.iter_mut().find(|t| t.id == track.id) {
                Some(t) if *t == **track => return,
                Some(t) => *t = (**track).clone(),
                None => self.tracks.push((**track).clone()),
            }
            self.mux = None;
            return;
        }
        let Some(frame) = known_frame(unit, &self.tracks) else {
            return;
        };
        if self.mux.is_none() {
            match FragmentedMuxer::new(&self.tracks, FragmentConfig::default()) {
                Ok(m) => {
                    self.generation += 1;
                    self.inits.push((self.generation, m.init_segment()));
                    if self.inits.len() > 4 {
                        self.inits.remove(0);
                    }
                    self.mux = Some(m);
                }
                Err(e) => {
                    debug!(error = %e, "http-mp4: cannot mux these tracks");
                    return;
                }
            }
        }
        let Some(mux) = self.mux.as_mut() else { return };
        let built = mux.push(frame.clone()).and_then(|()| mux.finish());
        match built {
            Ok(Some(f)) => {
                let payload = match f.payloads() {
                    [one] => one.clone(),
                    many => many.concat().into(),
                };
                unit.seed(
                    &FMP4,
                    Fmp4Fragment {
                        generation: self.generation,
                        header: f.header().clone(),
                        payload,
                    },
                );
            }
            Ok(None) => {}
            Err(e) => debug!(error = %e, "http-mp4: frame not muxed"),
        }
    }
}
