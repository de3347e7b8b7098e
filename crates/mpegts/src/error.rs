//! The crate's error type.

use weir_media::{Codec, TrackId};

/// Everything that can go wrong while demuxing or muxing a transport stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A packet did not start with the sync byte `0x47`.
    #[error("TS packet at stream offset {offset}: sync byte {found:#04x}, expected 0x47")]
    BadSync {
        /// Byte offset of the packet in the input.
        offset: u64,
        /// The byte found.
        found: u8,
    },
    /// A packet with transport_error_indicator set was dropped.
    #[error("packet on PID {pid:#x} has transport_error_indicator set")]
    TransportError {
        /// The PID.
        pid: u16,
    },
    /// A buffer shorter than one 188-byte packet.
    #[error("TS packet needs 188 bytes, got {len}")]
    PacketTooShort {
        /// Bytes given.
        len: usize,
    },
    /// The adaptation field length runs past the end of the packet.
    #[error(
        "adaptation field of {length} bytes on PID {pid:#x} does not fit ({available} bytes left)"
    )]
    AdaptationFieldLength {
        /// The PID.
        pid: u16,
        /// The declared length.
        length: usize,
        /// Bytes available after the length byte.
        available: usize,
    },
    /// A PSI section that is cut short or has an inconsistent length.
    #[error("PSI section truncated: needs {needed} bytes, has {available}")]
    SectionTruncated {
        /// Bytes the section header declares (or the minimum header size).
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A section longer than the limit.
    #[error("PSI section of {length} bytes exceeds the {limit}-byte limit")]
    SectionTooLong {
        /// Declared section length.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// A section's CRC_32 does not match its contents.
    #[error("CRC_32 mismatch in table {table_id:#04x}: stored {stored:#010x}, computed {computed:#010x}")]
    SectionCrc {
        /// table_id of the section.
        table_id: u8,
        /// CRC stored in the section.
        stored: u32,
        /// CRC computed over the section.
        computed: u32,
    },
    /// A field of a PAT/PMT that is malformed.
    #[error("malformed {table}: {what}")]
    TableSyntax {
        /// "PAT" or "PMT".
        table: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// A PES packet with a bad start code or header.
    #[error("malformed PES header: {what}")]
    PesHeader {
        /// What is wrong.
        what: &'static str,
    },
    /// A PES packet larger than the configured limit.
    #[error("PES packet on PID {pid:#x} exceeds the {limit}-byte limit")]
    PesTooLarge {
        /// The PID.
        pid: u16,
        /// The limit.
        limit: usize,
    },
    /// More elementary streams than the configured limit.
    #[error("more than {limit} elementary streams")]
    TooManyStreams {
        /// The limit.
        limit: usize,
    },
    /// A frame for a track the muxer was not told about.
    #[error("unknown track {track:?}")]
    UnknownTrack {
        /// The track.
        track: TrackId,
    },
    /// A codec the muxer cannot carry.
    #[error("codec {codec} cannot be carried in MPEG-TS by this muxer")]
    UnsupportedCodec {
        /// The codec.
        codec: Codec,
    },
    /// A frame whose payload does not match its codec's canonical layout.
    #[error("invalid {codec} frame on track {track:?}: {what}")]
    InvalidFrame {
        /// The track.
        track: TrackId,
        /// Its codec.
        codec: Codec,
        /// What is wrong.
        what: &'static str,
    },
    /// An elementary-stream payload that cannot be split into frames.
    #[error("malformed {codec} elementary stream: {what}")]
    EsSyntax {
        /// The codec.
        codec: Codec,
        /// What is wrong.
        what: &'static str,
    },
    /// A NAL-layer error from `weir-media`.
    #[error(transparent)]
    Nal(#[from] weir_media::Error),
}
