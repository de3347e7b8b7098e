//! Codecs and media kinds.

use core::fmt;

/// Whether a track carries pictures or sound.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// Pictures.
    Video,
    /// Sound.
    Audio,
}

/// A media codec, as far as the Weir crates tell codecs apart.
///
/// Each codec has one canonical [`Frame`](crate::Frame) payload layout, documented on its
/// variant, so every container and transport converts to and from the same bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// H.264 / AVC. Payload: NAL units, each with a 4-byte big-endian length prefix.
    /// Config: `AVCDecoderConfigurationRecord` (avcC).
    H264,
    /// H.265 / HEVC. Payload: NAL units, each with a 4-byte big-endian length prefix.
    /// Config: `HEVCDecoderConfigurationRecord` (hvcC).
    H265,
    /// AV1. Payload: one temporal unit of OBUs in low-overhead format. Config: av1C.
    Av1,
    /// VP8. Payload: one frame.
    Vp8,
    /// VP9. Payload: one frame. Config: vpcC when known.
    Vp9,
    /// Motion JPEG. Payload: one complete JPEG image (SOI … EOI).
    Mjpeg,
    /// AAC (any object type). Payload: one raw access unit, no ADTS header.
    /// Config: AudioSpecificConfig.
    Aac,
    /// Opus. Payload: one Opus packet. Config: `OpusHead` when known.
    Opus,
    /// MPEG-1/2 audio layer I, II or III. Payload: one frame including its header.
    MpegAudio,
    /// G.711 A-law. Payload: raw 8-bit samples.
    G711A,
    /// G.711 µ-law. Payload: raw 8-bit samples.
    G711U,
}

impl Codec {
    /// Video or audio.
    pub const fn kind(self) -> MediaKind {
        match self {
            Codec::H264 | Codec::H265 | Codec::Av1 | Codec::Vp8 | Codec::Vp9 | Codec::Mjpeg => {
                MediaKind::Video
            }
            Codec::Aac | Codec::Opus | Codec::MpegAudio | Codec::G711A | Codec::G711U => {
                MediaKind::Audio
            }
        }
    }

    /// True for H.264 and H.265, whose payloads are length-prefixed NAL units.
    pub const fn is_nal_based(self) -> bool {
        matches!(self, Codec::H264 | Codec::H265)
    }

    /// The clock rate this codec always uses on RTP, when it is fixed by its payload format
    /// (90 kHz for video, 48 kHz for Opus, 8 kHz for G.711). `None` for AAC, whose clock is
    /// its sample rate.
    pub const fn fixed_clock_rate(self) -> Option<u32> {
        match self {
            Codec::H264
            | Codec::H265
            | Codec::Av1
            | Codec::Vp8
            | Codec::Vp9
            | Codec::Mjpeg
            | Codec::MpegAudio => Some(90_000),
            Codec::Opus => Some(48_000),
            Codec::G711A | Codec::G711U => Some(8_000),
            Codec::Aac => None,
        }
    }

    /// A short lowercase name (`"h264"`, `"aac"`, …), as used in logs and stream info.
    pub const fn name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::H265 => "h265",
            Codec::Av1 => "av1",
            Codec::Vp8 => "vp8",
            Codec::Vp9 => "vp9",
            Codec::Mjpeg => "mjpeg",
            Codec::Aac => "aac",
            Codec::Opus => "opus",
            Codec::MpegAudio => "mpeg-audio",
            Codec::G711A => "pcma",
            Codec::G711U => "pcmu",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
