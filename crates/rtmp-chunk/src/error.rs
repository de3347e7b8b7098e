//! The crate's error type.

/// Everything that can go wrong in the RTMP handshake, chunk stream, message layer or
/// sessions. A session that returned an error should be closed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// C0/S0 carried a protocol version other than 3 (or 6, the encrypted variant, which
    /// is not supported).
    #[error("unsupported RTMP version byte {0} in C0/S0 (expected 3)")]
    BadVersion(u8),
    /// The peer declared a message longer than [`ChunkLimits::max_message_size`](crate::ChunkLimits::max_message_size).
    #[error("message of {len} bytes on chunk stream {csid} exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// Chunk stream id.
        csid: u32,
        /// Declared length.
        len: u32,
        /// Configured limit.
        limit: u32,
    },
    /// The peer used more distinct chunk stream ids than [`ChunkLimits::max_chunk_streams`](crate::ChunkLimits::max_chunk_streams).
    #[error("chunk stream {csid} would exceed the limit of {limit} concurrent chunk streams")]
    TooManyChunkStreams {
        /// The new chunk stream id.
        csid: u32,
        /// Configured limit.
        limit: usize,
    },
    /// A Set Chunk Size message outside `1..=`[`ChunkLimits::max_chunk_size`](crate::ChunkLimits::max_chunk_size)
    /// (or with the reserved top bit set).
    #[error("invalid chunk size {size} (allowed 1..={limit})")]
    BadChunkSize {
        /// Requested size.
        size: u32,
        /// Configured limit.
        limit: u32,
    },
    /// A chunk of type 1, 2 or 3 arrived on a chunk stream that has no previous header.
    #[error("chunk of header type {fmt} on chunk stream {csid} without a preceding type-0 header")]
    MissingPreviousHeader {
        /// Chunk stream id.
        csid: u32,
        /// Header type (1..=3).
        fmt: u8,
    },
    /// A control or command message could not be parsed.
    #[error("malformed {what} message: {reason}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// AMF decoding failed inside a command or data message.
    #[error("AMF error in {what}: {source}")]
    Amf {
        /// Which message.
        what: &'static str,
        /// The AMF error.
        #[source]
        source: weir_amf::Error,
    },
    /// The peer buffered more bytes than allowed without completing the current state
    /// (for example a handshake flood).
    #[error("peer sent {len} unprocessable bytes (limit {limit})")]
    BufferLimit {
        /// Buffered bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An application call that is not valid in the current session state.
    #[error("invalid in the current session state: {0}")]
    InvalidState(&'static str),
    /// An unknown request id or stream id was passed to a session method.
    #[error("unknown {what} {id}")]
    Unknown {
        /// `"request"` or `"stream"`.
        what: &'static str,
        /// The id.
        id: u64,
    },
    /// A message was too large to encode (the length field has 24 bits).
    #[error("message of {len} bytes cannot be encoded (maximum 16777215)")]
    EncodeTooLarge {
        /// Body length.
        len: usize,
    },
    /// A prepared (shared) chunk payload was built for different encoder settings.
    #[error("prepared message does not match this connection: {0}")]
    PreparedMismatch(&'static str),
    /// The peer rejected our request (client side).
    #[error("peer rejected {what}: {code} {description}")]
    Rejected {
        /// Which request.
        what: &'static str,
        /// Status code (e.g. `NetStream.Publish.BadName`).
        code: String,
        /// Description text.
        description: String,
    },
}

impl Error {
    pub(crate) fn amf(what: &'static str) -> impl FnOnce(weir_amf::Error) -> Error {
        move |source| Error::Amf { what, source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
