//! Helpers for comparing a client's frames with the source (the gst-rtsp-server interop
//! tests; the server itself is in `common/gst.rs`, shared with the relay's pull tests): the
//! frames are written out and compared by ffmpeg (decoded pictures, AAC packets).

use std::path::Path;

use bytes::BytesMut;
use weir_media::{Codec, Frame, MediaKind, TrackInfo};

/// Writes the video frames as an Annex B elementary stream (parameter sets of the track's
/// configuration first), the way a decoder reads them.
pub fn write_annexb(path: &Path, track: &TrackInfo, frames: &[&Frame]) {
    let mut out = BytesMut::new();
    let params = match track.codec {
        Codec::H264 => weir_h264::AvcConfig::parse(&track.config)
            .unwrap()
            .to_annexb(),
        Codec::H265 => weir_h265::HevcConfig::parse(&track.config)
            .unwrap()
            .to_annexb(),
        c => panic!("{c:?}"),
    };
    out.extend_from_slice(&params);
    for f in frames {
        weir_media::nal::length_prefixed_to_annexb(&f.data, 4, &mut out).unwrap();
    }
    std::fs::write(path, &out).unwrap();
}

/// `size,md5` of each audio packet of `path` (`ffmpeg -f framemd5`, stream copy) —
/// timestamps left out, since they depend on the container.
pub fn audio_packet_md5s(path: &Path) -> Vec<String> {
    weir_testutil::framemd5(path, "0:a", &[])
        .into_iter()
        .map(|l| {
            // dts, pts, duration, size, md5[, side data]
            let parts: Vec<&str> = l.split(',').map(str::trim).collect();
            parts[3..5].join(",")
        })
        .collect()
}

/// The same `size,md5` of a frame's payload.
pub fn frame_md5(f: &Frame) -> String {
    let md5 = weir_rtsp_proto::auth::DigestAlgorithm::Md5.hash_hex(&f.data);
    format!("{},{md5}", f.data.len())
}

/// The kind of a track.
pub fn kind(t: &TrackInfo) -> MediaKind {
    t.codec.kind()
}
