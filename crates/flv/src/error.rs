//! The crate's error type.

use weir_media::Codec;

/// Everything that can go wrong reading, converting or writing FLV.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not start with `FLV`.
    #[error("not an FLV stream: signature {found:02x?} instead of \"FLV\"")]
    BadSignature {
        /// The first three bytes.
        found: [u8; 3],
    },
    /// The header's `DataOffset` is below 9 or above the configured limit.
    #[error("FLV header DataOffset {offset} is outside 9..={limit}")]
    BadDataOffset {
        /// The declared offset.
        offset: u32,
        /// The largest offset accepted.
        limit: u32,
    },
    /// A structure ended before all of its fields.
    #[error("{what} truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Which structure.
        what: &'static str,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// A tag header with a tag type other than audio (8), video (9) or script (18).
    #[error("unknown FLV tag type {tag_type} at stream offset {offset}")]
    UnknownTagType {
        /// The 5-bit tag type.
        tag_type: u8,
        /// Stream offset of the tag header.
        offset: u64,
    },
    /// A tag header with the Filter bit set (encrypted body, not supported by live streaming).
    #[error("encrypted (filtered) FLV tag at stream offset {offset}")]
    EncryptedTag {
        /// Stream offset of the tag header.
        offset: u64,
    },
    /// A tag whose DataSize exceeds the configured limit.
    #[error("FLV tag of {size} bytes at stream offset {offset} exceeds the {limit}-byte limit")]
    TagTooLarge {
        /// Declared data size.
        size: u32,
        /// The configured limit.
        limit: u32,
        /// Stream offset of the tag header.
        offset: u64,
    },
    /// A body larger than the 24-bit DataSize field can describe.
    #[error("tag body of {size} bytes does not fit FLV's 24-bit DataSize")]
    BodyTooLarge {
        /// The body size.
        size: usize,
    },
    /// The PreviousTagSize field disagrees with the tag before it.
    #[error("PreviousTagSize {found} at stream offset {offset}, expected {expected}")]
    PreviousTagSizeMismatch {
        /// 11 + DataSize of the previous tag (0 before the first tag).
        expected: u32,
        /// The value in the stream.
        found: u32,
        /// Stream offset of the field.
        offset: u64,
    },
    /// Resynchronisation scanned more than the configured number of bytes without finding a
    /// plausible tag.
    #[error("no valid FLV tag found within {limit} bytes after stream offset {offset}")]
    ResyncFailed {
        /// Where scanning started.
        offset: u64,
        /// The configured scan limit.
        limit: usize,
    },
    /// A legacy video CodecID this crate does not know.
    #[error("unknown FLV video codec id {codec_id}")]
    UnknownVideoCodec {
        /// The 4-bit CodecID.
        codec_id: u8,
    },
    /// An enhanced-RTMP FourCC this crate does not know.
    #[error("unknown enhanced RTMP FourCC {fourcc:?}")]
    UnknownFourCc {
        /// The four bytes.
        fourcc: [u8; 4],
    },
    /// A packet type value outside the spec's table.
    #[error("unknown {what} packet type {value}")]
    UnknownPacketType {
        /// Which packet type field (`"AVC"`, `"AAC"`, `"video"`, `"audio"`).
        what: &'static str,
        /// The value.
        value: u8,
    },
    /// A frame type outside 1..=5.
    #[error("invalid video frame type {value}")]
    BadFrameType {
        /// The value.
        value: u8,
    },
    /// An enhanced-RTMP feature the reader does not handle (multitrack packets).
    #[error("enhanced RTMP {feature} is not supported")]
    UnsupportedFeature {
        /// Which feature.
        feature: &'static str,
    },
    /// A codec that FLV (legacy or enhanced) cannot carry, or that this conversion does not map.
    #[error("codec {codec} cannot be carried in FLV")]
    UnsupportedCodec {
        /// The codec.
        codec: Codec,
    },
    /// A legacy sound format that does not map to a [`Codec`].
    #[error("FLV sound format {sound_format} is not mapped to a media codec")]
    UnmappedSoundFormat {
        /// The 4-bit SoundFormat.
        sound_format: u8,
    },
    /// An enhanced-RTMP audio FourCC that does not map to a [`Codec`] (`fLaC`, `ac-3`, `ec-3`).
    #[error("enhanced RTMP FourCC {fourcc:?} is not mapped to a media codec")]
    UnmappedFourCc {
        /// The four bytes.
        fourcc: [u8; 4],
    },
    /// A legacy video codec that does not map to a [`Codec`].
    #[error("FLV video codec id {codec_id} is not mapped to a media codec")]
    UnmappedVideoCodec {
        /// The 4-bit CodecID.
        codec_id: u8,
    },
    /// A track needs a codec configuration record (avcC, hvcC, ASC, …) that is empty.
    #[error("{codec} track has no codec configuration record")]
    MissingConfig {
        /// The codec.
        codec: Codec,
    },
    /// Frame data arrived before the sequence header that describes it.
    #[error("{codec} frame before its sequence header")]
    NoSequenceHeader {
        /// The codec.
        codec: Codec,
    },
    /// A frame whose decoding time is before 0 (FLV timestamps are unsigned).
    #[error("DTS {dts_ms} ms is negative; FLV timestamps start at 0")]
    NegativeTimestamp {
        /// The DTS in milliseconds.
        dts_ms: i64,
    },
    /// An E-RTMP multitrack stream announced more tracks of one kind than the limit.
    #[error("more than {limit} tracks of one media kind")]
    TooManyTracks {
        /// The configured limit.
        limit: usize,
    },
    /// A composition time that does not fit SI24.
    #[error("composition time {value} ms does not fit a signed 24-bit field")]
    CompositionTimeOutOfRange {
        /// The offset in milliseconds.
        value: i64,
    },
    /// A codec configuration record that could not be parsed.
    #[error("bad {what}: {reason}")]
    BadConfig {
        /// Which record (`"avcC"`, `"hvcC"`, `"AudioSpecificConfig"`, …).
        what: &'static str,
        /// What the codec crate reported.
        reason: String,
    },
    /// A script tag that is not AMF0 name + value.
    #[error("bad script data: {reason}")]
    BadScript {
        /// What was wrong.
        reason: String,
    },
    /// AMF0 decoding or encoding failed.
    #[error("AMF0: {0}")]
    Amf(#[from] weir_amf::Error),
    /// Length-prefixed NAL framing failed.
    #[error("NAL framing: {0}")]
    Nal(#[from] weir_media::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
