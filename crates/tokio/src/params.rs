//! In-band parameter sets for keyframes.
//!
//! FLV/RTMP (and MP4) carry H.264/H.265 parameter sets out of band, in the avcC/hvcC
//! record; a keyframe there is just the IDR slices. Byte-stream egresses (MPEG-TS for HLS)
//! need them in band, before every keyframe, or a segment cannot decode on its own.

use bytes::{Bytes, BytesMut};
use weir_media::nal::{length_prefixed_nalus, put_length_prefixed, CANONICAL_LENGTH_SIZE};
use weir_media::{Codec, Frame, TrackInfo};

/// For an H.264/H.265 keyframe that lacks in-band parameter sets, the same frame with the
/// track's parameter sets (from its avcC/hvcC) inserted before the first VCL NAL unit (after
/// an access unit delimiter, if any). `None` when nothing needs inserting.
pub(crate) fn with_parameter_sets(track: &TrackInfo, frame: &Frame) -> Option<Frame> {
    if !frame.keyframe || track.config.is_empty() {
        return None;
    }
    type IsType = fn(u8) -> bool;
    let (sets, is_param, is_aud): (Vec<Bytes>, IsType, IsType) = match track.codec {
        Codec::H264 => {
            let c = weir_h264::AvcConfig::parse(&track.config).ok()?;
            (
                c.sps.into_iter().chain(c.pps).collect(),
                |t| t == 7 || t == 8,
                |t| t == 9,
            )
        }
        Codec::H265 => {
            let c = weir_h265::HevcConfig::parse(&track.config).ok()?;
            let mut sets = Vec::new();
            // VPS, SPS, PPS in that order.
            for wanted in [32u8, 33, 34] {
                for a in &c.arrays {
                    if a.nalus
                        .first()
                        .map(|n| (n.first().copied().unwrap_or(0) >> 1) & 0x3f)
                        == Some(wanted)
                    {
                        sets.extend(a.nalus.iter().cloned());
                    }
                }
            }
            (sets, |t| (32..=34).contains(&t), |t| t == 35)
        }
        _ => return None,
    };
    if sets.is_empty() {
        return None;
    }
    let nal_type = |n: &Bytes| -> u8 {
        let b = n.first().copied().unwrap_or(0);
        if track.codec == Codec::H264 {
            b & 0x1f
        } else {
            (b >> 1) & 0x3f
        }
    };
    let nalus: Vec<Bytes> = length_prefixed_nalus(&frame.data, CANONICAL_LENGTH_SIZE)
        .ok()?
        .collect::<Result<_, _>>()
        .ok()?;
    if nalus.iter().any(|n| is_param(nal_type(n))) {
        return None;
    }
    let mut out =
        BytesMut::with_capacity(frame.data.len() + sets.iter().map(|s| s.len() + 4).sum::<usize>());
    let mut inserted = false;
    for n in &nalus {
        if !inserted && !is_aud(nal_type(n)) {
            for s in &sets {
                put_length_prefixed(&mut out, s, CANONICAL_LENGTH_SIZE).ok()?;
            }
            inserted = true;
        }
        put_length_prefixed(&mut out, n, CANONICAL_LENGTH_SIZE).ok()?;
    }
    let mut f = frame.clone();
    f.data = out.freeze();
    Some(f)
}
