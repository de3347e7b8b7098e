//! The chunk stream (RTMP specification section 5.3): decoder, encoder and shared
//! pre-chunked payloads for write-once fan-out.

use bytes::Bytes;

mod decode;
mod encode;
pub use decode::ChunkDecoder;
pub use encode::{ChunkEncoder, PreparedMessage, TYPE0_HEADER_MAX};

/// Default chunk size before any Set Chunk Size (section 5.4.1).
pub const DEFAULT_CHUNK_SIZE: u32 = 128;
/// The largest chunk size the specification allows (31 bits).
pub const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;
/// Largest length a message header can carry (24 bits).
pub const MAX_MESSAGE_LEN: u32 = 0xFF_FFFF;
const EXT_TS: u32 = 0xFF_FFFF;

/// Resource bounds for a chunk decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Largest message length accepted from the peer (default 8 MiB). The message
    /// header can declare up to 16 MiB - 1.
    pub max_message_size: u32,
    /// Largest number of distinct chunk stream ids the peer may use (default 64).
    pub max_chunk_streams: usize,
    /// Largest chunk size the peer may set (default and maximum 2^31 - 1).
    pub max_chunk_size: u32,
    /// Largest total of partially received message bytes across all chunk streams
    /// (default 32 MiB), so interleaved unfinished messages cannot add up.
    pub max_buffered_bytes: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_message_size: 8 << 20,
            max_chunk_streams: 64,
            max_chunk_size: MAX_CHUNK_SIZE,
            max_buffered_bytes: 32 << 20,
        }
    }
}

/// How the decoder treats the extended-timestamp field of type-3 chunks.
///
/// The specification (section 5.3.1.3) says a type-3 chunk repeats the 4-byte extended
/// timestamp when the preceding header of its chunk stream used one; ffmpeg, librtmp,
/// OBS and nginx-rtmp write it that way. Some other encoders (older Red5 and FMS builds,
/// several hardware encoders) omit it on continuation chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Type3ExtendedTimestamp {
    /// On the first type-3 chunk that could carry the field, peek at the next four bytes:
    /// when they equal the expected extended timestamp the peer uses the specification
    /// form, otherwise it omits the field. The decision is kept for the connection
    /// (default; accepts both forms).
    #[default]
    Auto,
    /// Always expect the field (specification, ffmpeg/librtmp form).
    Always,
    /// Never expect the field on type-3 chunks.
    Never,
}

/// Header fields of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Absolute timestamp in milliseconds (32-bit, wraps).
    pub timestamp: u32,
    /// Message type id (1..=22 are defined).
    pub type_id: u8,
    /// Message stream id.
    pub stream_id: u32,
}

/// One reassembled message as it came off the chunk stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// Chunk stream id it arrived on.
    pub csid: u32,
    /// Header fields.
    pub header: MessageHeader,
    /// The body (a zero-copy slice of the input when the message fit in one chunk).
    pub payload: Bytes,
}
