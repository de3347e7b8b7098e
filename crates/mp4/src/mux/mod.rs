//! The muxers: [`FragmentedMuxer`] (fMP4/CMAF) and [`ProgressiveMuxer`] (one `mdat`, `moov`
//! at the end or moved to the front).

mod fragmented;
mod moov;
mod progressive;

pub use fragmented::{Cut, Fragment, FragmentConfig, FragmentedMuxer};
pub use progressive::{FastStart, Finish, Patch, ProgressiveConfig, ProgressiveMuxer};

use weir_media::{Codec, Frame, MediaKind, TrackInfo};

use crate::entry::{mux_track, MuxTrack, ParameterSets};
use crate::error::{Error, Result};

/// A frame's timing in its track's timescale.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Timing {
    pub dts: i64,
    /// `pts - dts`.
    pub cto: i64,
}

/// Per-track state common to both muxers.
#[derive(Clone, Debug)]
pub(crate) struct TrackState {
    pub mux: MuxTrack,
    /// MP4 `track_ID`.
    pub track_id: u32,
    pub last_dts: Option<i64>,
    /// The last decode-time step seen, for a final sample with nothing after it.
    pub last_delta: Option<i64>,
}

impl TrackState {
    /// The timing of `frame` in this track's timescale. Checks (before changing any
    /// state) that the DTS does not go back, that the step from the previous DTS and the
    /// composition offset fit their 32-bit fields, and — unless `allow_negative` — that
    /// the DTS is not negative.
    pub(crate) fn timing(&mut self, frame: &Frame, allow_negative: bool) -> Result<Timing> {
        let tb = self.mux.info.timebase();
        let ticks = |t: weir_media::Timestamp| {
            if t.timebase() == tb {
                t.ticks()
            } else {
                t.rescale(tb).ticks()
            }
        };
        let (dts, pts) = (ticks(frame.dts), ticks(frame.pts));
        let track = self.mux.info.id;
        if dts < 0 && !allow_negative {
            return Err(Error::NegativeDecodeTime { track, dts });
        }
        let delta = match self.last_dts {
            Some(previous) if dts < previous => {
                return Err(Error::NonMonotonicDts {
                    track,
                    previous,
                    dts,
                })
            }
            Some(previous) => {
                let d = i128::from(dts) - i128::from(previous);
                if u32::try_from(d).is_err() {
                    return Err(Error::Overflow {
                        track,
                        field: "sample duration",
                        value: d,
                    });
                }
                Some(d as i64)
            }
            None => None,
        };
        let cto = i128::from(pts) - i128::from(dts);
        if i32::try_from(cto).is_err() {
            return Err(Error::Overflow {
                track,
                field: "composition offset",
                value: cto,
            });
        }
        if delta.is_some() {
            self.last_delta = delta;
        }
        self.last_dts = Some(dts);
        Ok(Timing {
            dts,
            cto: cto as i64,
        })
    }

    /// The duration to give `frame` when no later frame of the track is known: the codec's
    /// frame length for audio (AAC frame size, Opus TOC, G.711 byte count), else the last
    /// DTS step, else the SPS frame rate, else 1/25 s.
    pub(crate) fn fallback_duration(&self, data: &[u8]) -> u32 {
        let ts = u64::from(self.mux.timescale);
        let per = |samples: u64, rate: u64| u32::try_from(samples * ts / rate.max(1)).ok();
        let codec_len = match self.mux.info.codec {
            Codec::Aac => self.mux.nominal_duration,
            Codec::Opus => opus_samples(data).and_then(|n| per(u64::from(n), 48_000)),
            Codec::G711A | Codec::G711U => {
                let a = self.mux.info.audio.unwrap_or_default();
                let ch = u64::from(a.channels.max(1));
                per(data.len() as u64 / ch, u64::from(a.sample_rate.max(1)))
            }
            _ => None,
        }
        .filter(|&d| d > 0);
        let delta = self
            .last_delta
            .and_then(|d| u32::try_from(d).ok())
            .filter(|&d| d > 0);
        codec_len
            .or(delta)
            .or(self.mux.nominal_duration)
            .unwrap_or_else(|| u32::try_from(ts / 25).unwrap_or(1).max(1))
    }

    pub(crate) fn is_video(&self) -> bool {
        self.mux.kind() == MediaKind::Video
    }
}

/// Samples (at 48 kHz) of an Opus packet, from its TOC byte (RFC 6716 §3.1).
fn opus_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let count = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3F),
    };
    Some(frame * count)
}

/// Checks the track list and builds each track's sample entry.
pub(crate) fn setup_tracks(tracks: &[TrackInfo], ps: ParameterSets) -> Result<Vec<TrackState>> {
    if tracks.is_empty() {
        return Err(Error::BadTracks {
            reason: "no tracks",
        });
    }
    let mut out: Vec<TrackState> = Vec::with_capacity(tracks.len());
    for t in tracks {
        if out.iter().any(|o| o.mux.info.id == t.id) {
            return Err(Error::BadTracks {
                reason: "two tracks share an id",
            });
        }
        let track_id = t.id.0.checked_add(1).ok_or(Error::BadTracks {
            reason: "track id u32::MAX has no MP4 track_ID (id + 1)",
        })?;
        out.push(TrackState {
            mux: mux_track(t, ps)?,
            track_id,
            last_dts: None,
            last_delta: None,
        });
    }
    Ok(out)
}

/// Index of the track a frame belongs to.
pub(crate) fn track_index(tracks: &[TrackState], frame: &Frame) -> Result<usize> {
    tracks
        .iter()
        .position(|t| t.mux.info.id == frame.track)
        .ok_or(Error::UnknownTrack { track: frame.track })
}

/// The movie timescale: the tracks' common timescale when they share one (no rounding in
/// edit lists), else milliseconds.
pub(crate) fn movie_timescale(tracks: &[TrackState], configured: Option<u32>) -> u32 {
    if let Some(t) = configured.filter(|&t| t > 0) {
        return t;
    }
    let first = tracks.first().map(|t| t.mux.timescale).unwrap_or(1000);
    if tracks.iter().all(|t| t.mux.timescale == first) {
        first
    } else {
        1000
    }
}

/// Sample flags (ISO/IEC 14496-12 §8.8.3.1): a sync sample depends on no other
/// (`sample_depends_on` = 2); others depend on earlier ones (1) and set
/// `sample_is_non_sync_sample`.
pub(crate) fn sample_flags(keyframe: bool) -> u32 {
    if keyframe {
        0x0200_0000
    } else {
        0x0101_0000
    }
}
