//! Nominal frame durations of tracks (what timestamp repair synthesizes a stuck clock
//! with), from the codec crates' view of a track's configuration.

use std::time::Duration;

use weir_media::{Codec, TrackInfo};

/// Reorder depth and frame rate of an H.264/H.265 track, from the SPS in its
/// configuration (depth 0 and no rate for other codecs).
pub(crate) fn video_timing(info: &TrackInfo) -> (u32, Option<f64>) {
    let t = match info.codec {
        Codec::H264 => weir_h264::video_timing(&info.config),
        Codec::H265 => weir_h265::video_timing(&info.config),
        _ => return (0, None),
    };
    (t.reorder_depth, t.fps)
}

/// A track's nominal frame duration: from the SPS frame rate for H.264/H.265, one AAC
/// frame (1024 samples), 20 ms for Opus; `None` when unknown (it is then learned).
pub(crate) fn nominal_frame_duration(info: &TrackInfo) -> Option<Duration> {
    let fps = match info.codec {
        Codec::H264 | Codec::H265 => video_timing(info).1,
        Codec::Aac => info
            .audio
            .map(|a| f64::from(a.sample_rate) / 1024.0)
            .filter(|f| *f > 0.0),
        Codec::Opus => Some(50.0),
        _ => None,
    };
    fps.filter(|f| (1.0..=1000.0).contains(f))
        .map(|f| Duration::from_secs_f64(1.0 / f))
}
