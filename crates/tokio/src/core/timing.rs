//! Nominal frame durations of tracks (what timestamp repair synthesizes a stuck clock
//! with), from the codec crates' view of a track's configuration.

use std::time::Duration;

use weir_media::{Codec, TrackInfo};

/// Reorder depth and frame rate of an H.264/H.265 track, from the SPS in its
/// configuration (depth 0 and no rate for other codecs).
pub(crate) fn video_timing(info: &TrackInfo) -> (u32, Option<f64>) {
    use weir_media::reorder::{h264_reorder_depth, h265_reorder_depth, ASSUMED_H264_REORDER_DEPTH};
    match info.codec {
        Codec::H264 => match weir_h264::AvcConfig::parse(&info.config).and_then(|c| c.parsed_sps())
        {
            Ok(sps) => {
                let declared = sps
                    .vui
                    .as_ref()
                    .and_then(|v| v.bitstream_restriction.as_ref())
                    .map(|b| b.max_num_reorder_frames);
                (h264_reorder_depth(sps.profile_idc, declared), sps.fps())
            }
            Err(_) => (ASSUMED_H264_REORDER_DEPTH, None),
        },
        Codec::H265 => {
            match weir_h265::HevcConfig::parse(&info.config).and_then(|c| c.parsed_sps()) {
                Ok(sps) => (h265_reorder_depth(sps.max_num_reorder_pics()), sps.fps()),
                Err(_) => (ASSUMED_H264_REORDER_DEPTH, None),
            }
        }
        _ => (0, None),
    }
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
