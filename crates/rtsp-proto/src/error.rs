//! The crate's error type.

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message could not be parsed.
    #[error("malformed RTSP message: {reason} (at byte {offset})")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
        /// Byte offset into the message where the problem was found.
        offset: usize,
    },
    /// A header value could not be parsed into its typed form.
    #[error("invalid `{header}` header: {reason}")]
    InvalidHeader {
        /// Header name.
        header: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A required header is missing.
    #[error("missing `{header}` header")]
    MissingHeader {
        /// Header name.
        header: &'static str,
    },
    /// A configured limit was exceeded.
    #[error("limit exceeded: {what} > {limit}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// The configured value.
        limit: usize,
    },
    /// The peer speaks an RTSP version this crate does not handle.
    #[error("unsupported RTSP version `{version}`")]
    UnsupportedVersion {
        /// The version text from the message.
        version: String,
    },
    /// A URL could not be parsed.
    #[error("invalid RTSP URL: {reason}")]
    InvalidUrl {
        /// What is wrong.
        reason: &'static str,
    },
    /// An application call does not fit the session state (e.g. answering an unknown request).
    #[error("invalid use of the session API: {reason}")]
    InvalidUse {
        /// What is wrong.
        reason: &'static str,
    },
    /// The peer's SDP could not be parsed.
    #[error("SDP: {0}")]
    Sdp(#[from] weir_sdp::Error),
    /// Authentication could not be performed (e.g. no supported challenge).
    #[error("authentication: {reason}")]
    Auth {
        /// What is wrong.
        reason: &'static str,
    },
    /// Input from the peer could not be parsed: what was being read (e.g. `response to
    /// DESCRIBE rtsp://cam/s (CSeq 2)`), where in the connection's byte stream the failing
    /// message starts, and the parse error (whose own offset is within the message).
    #[error("{context}, starting at byte {stream_offset} of the connection: {source}")]
    Input {
        /// What was being read.
        context: String,
        /// Offset of the failing message's first byte in the connection's input.
        stream_offset: u64,
        /// The parse error.
        source: Box<Error>,
    },
    /// The session is closed (after a fatal error); no more input is accepted.
    #[error("session closed")]
    Closed,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
