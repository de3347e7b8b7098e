//! Glue to the codec crates: what the demuxer and muxer need from avcC, hvcC,
//! AudioSpecificConfig, OpusHead and MPEG audio frame headers.

use bytes::{Bytes, BytesMut};
use weir_media::{AudioParams, VideoParams};

use crate::{Error, Result};

fn bad(what: &'static str, reason: impl ToString) -> Error {
    Error::BadConfig {
        what,
        reason: reason.to_string(),
    }
}

/// NAL length size and picture size from an avcC record.
pub(crate) fn avc_params(config: &Bytes) -> Result<(u8, Option<VideoParams>)> {
    let cfg = weir_h264::AvcConfig::parse_bytes(config).map_err(|e| bad("avcC", e))?;
    let video = match cfg.parsed_sps() {
        Ok(sps) => Some(VideoParams {
            width: sps.width(),
            height: sps.height(),
        }),
        Err(e) => {
            tracing::debug!(error = %e, "avcC SPS not parsed; picture size unknown");
            None
        }
    };
    Ok((cfg.nal_length_size, video))
}

/// Offset of `lengthSizeMinusOne` in an hvcC record (ISO/IEC 14496-15 8.3.3.1.2).
const HVCC_LENGTH_SIZE_OFFSET: usize = 21;
/// Offset of `lengthSizeMinusOne` in an avcC record.
const AVCC_LENGTH_SIZE_OFFSET: usize = 4;

/// NAL length size and picture size from an hvcC record.
pub(crate) fn hevc_params(config: &Bytes) -> Result<(u8, Option<VideoParams>)> {
    let cfg = weir_h265::HevcConfig::parse_bytes(config).map_err(|e| bad("hvcC", e))?;
    let video = match cfg.parsed_sps() {
        Ok(sps) => Some(VideoParams {
            width: sps.width(),
            height: sps.height(),
        }),
        Err(e) => {
            tracing::debug!(error = %e, "hvcC SPS not parsed; picture size unknown");
            None
        }
    };
    Ok((cfg.nal_length_size, video))
}

/// Sample rate and channels from an AudioSpecificConfig.
pub(crate) fn aac_params(config: &Bytes) -> Result<AudioParams> {
    let asc =
        weir_aac::AudioSpecificConfig::parse(config).map_err(|e| bad("AudioSpecificConfig", e))?;
    Ok(AudioParams {
        sample_rate: asc.sample_rate(),
        channels: asc.channels(),
    })
}

/// Channels from an `OpusHead` (RFC 7845 5.1); Opus always decodes at 48 kHz.
pub(crate) fn opus_params(config: &Bytes) -> Result<AudioParams> {
    if config.get(..8) != Some(b"OpusHead".as_slice()) {
        return Err(bad("OpusHead", "missing OpusHead magic"));
    }
    let channels = *config
        .get(9)
        .ok_or_else(|| bad("OpusHead", "truncated before the channel count"))?;
    if channels == 0 {
        return Err(bad("OpusHead", "zero channels"));
    }
    Ok(AudioParams {
        sample_rate: 48_000,
        channels,
    })
}

/// A minimal `OpusHead` for mono or stereo (channel mapping family 0).
pub(crate) fn opus_head(channels: u8) -> Bytes {
    let mut h = BytesMut::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.extend_from_slice(&[1, channels.clamp(1, 2)]);
    h.extend_from_slice(&312u16.to_le_bytes()); // pre-skip, libopus' usual value
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&[0, 0, 0]); // gain 0, mapping family 0
    h.freeze()
}

/// Sample rate and channels from the first MPEG audio frame header (parsed by
/// [`weir_aac::mpa`], the workspace's one MPEG audio header parser).
pub(crate) fn mpeg_audio_params(frame: &[u8]) -> Option<AudioParams> {
    let h = weir_aac::MpaHeader::parse(frame).ok()?;
    Some(AudioParams {
        sample_rate: h.sample_rate(),
        channels: h.channels(),
    })
}

/// The codec record with `lengthSizeMinusOne` set to 3, so that canonical frames (4-byte
/// prefixes) can follow it unchanged. Returns the input untouched when it already says 4.
pub(crate) fn with_length_size_4(config: &Bytes, hevc: bool) -> Result<Bytes> {
    let (offset, what) = if hevc {
        (HVCC_LENGTH_SIZE_OFFSET, "hvcC")
    } else {
        (AVCC_LENGTH_SIZE_OFFSET, "avcC")
    };
    let b = *config.get(offset).ok_or_else(|| {
        bad(
            what,
            format!("{} bytes is shorter than the fixed part", config.len()),
        )
    })?;
    if b & 3 == 3 {
        return Ok(config.clone());
    }
    let mut out = BytesMut::from(&config[..]);
    if let Some(slot) = out.get_mut(offset) {
        *slot = b | 3;
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpeg_audio() {
        // MPEG-1 layer III, 44.1 kHz, joint stereo.
        let p = mpeg_audio_params(&[0xFF, 0xFB, 0x90, 0x44]).unwrap();
        assert_eq!((p.sample_rate, p.channels), (44_100, 2));
        // MPEG-2 layer III, 24 kHz, mono.
        let p = mpeg_audio_params(&[0xFF, 0xF3, 0x84, 0xC4]).unwrap();
        assert_eq!((p.sample_rate, p.channels), (24_000, 1));
        assert!(mpeg_audio_params(&[0xFF, 0x0B, 0x90, 0x44]).is_none());
        assert!(mpeg_audio_params(&[0xFF]).is_none());
    }

    #[test]
    fn opus() {
        let h = opus_head(2);
        assert_eq!(h.len(), 19);
        let p = opus_params(&h).unwrap();
        assert_eq!((p.sample_rate, p.channels), (48_000, 2));
        assert!(opus_params(&Bytes::from_static(b"OpusTags")).is_err());
    }

    #[test]
    fn length_size_patch() {
        let avcc = Bytes::from_static(&[1, 0x64, 0, 0x1F, 0xFD, 0xE0, 0]);
        let p = with_length_size_4(&avcc, false).unwrap();
        assert_eq!(p[4], 0xFF);
        let p2 = with_length_size_4(&p, false).unwrap();
        assert_eq!(p2.as_ptr(), p.as_ptr());
        assert!(with_length_size_4(&Bytes::from_static(&[1, 2]), true).is_err());
    }
}
