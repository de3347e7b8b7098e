//! The crate's error type.

use weir_media::{Codec, TrackId};

/// Everything that can go wrong while demuxing or muxing a program stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A pack header whose marker bits or form is not MPEG-1 or MPEG-2.
    #[error("malformed pack header at offset {offset}: {what}")]
    PackHeader {
        /// Stream offset of the pack start code.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// A program stream map that cannot be parsed.
    #[error("malformed program stream map: {what}")]
    Psm {
        /// What is wrong.
        what: &'static str,
    },
    /// A PES packet header that cannot be parsed.
    #[error("malformed PES packet at offset {offset}: {source}")]
    Pes {
        /// Stream offset of the packet.
        offset: u64,
        /// The header error.
        source: weir_mpegts::Error,
    },
    /// A packet larger than the configured limit (an unbounded PES that never ends, or a
    /// frame that keeps growing).
    #[error("{what} exceeds the {limit}-byte limit")]
    TooLarge {
        /// What grew too large.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// Bytes that are not a program stream start code were skipped.
    #[error("{skipped} bytes of garbage skipped at offset {offset}")]
    Garbage {
        /// Stream offset of the first skipped byte.
        offset: u64,
        /// How many bytes were skipped.
        skipped: u64,
    },
    /// An elementary stream could not be framed (for example an access unit over the limit).
    #[error("elementary stream {stream_id:#04x}: {source}")]
    Es {
        /// The PES stream_id.
        stream_id: u8,
        /// What went wrong.
        source: weir_mpegts::Error,
    },
    /// A PES packet's length ran over following packs (bytes were lost before it); it was
    /// cut where the next pack or packet starts.
    #[error("PES packet at offset {offset} declares {declared} bytes but a start code follows after {actual}")]
    PesOverrun {
        /// Stream offset of the packet.
        offset: u64,
        /// The size its header declares (header included).
        declared: usize,
        /// Where it was cut.
        actual: usize,
    },
    /// The stream ended inside a packet.
    #[error("stream ended inside a packet: {len} bytes at offset {offset} dropped")]
    Truncated {
        /// Stream offset of the unfinished packet.
        offset: u64,
        /// Bytes dropped.
        len: usize,
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
    /// A codec the muxer cannot carry in a program stream.
    #[error("codec {codec} cannot be carried in MPEG-PS by this muxer")]
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
}
