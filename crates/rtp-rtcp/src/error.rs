//! The crate's error type.

/// Errors from RTP/RTCP parsing, building and the payload formats.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a structure was complete.
    #[error("{what}: needs {needed} bytes at offset {offset}, only {available} available")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Offset (from the start of the packet) where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes that remain.
        available: usize,
    },
    /// The version field is not 2.
    #[error("{what}: version {version} is not 2")]
    BadVersion {
        /// `"RTP"` or `"RTCP"`.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// The padding count (last byte of a padded packet) is 0 or larger than the space after
    /// the header.
    #[error("{what}: padding count {count} is invalid with {available} bytes after the header")]
    BadPadding {
        /// `"RTP"` or `"RTCP"`.
        what: &'static str,
        /// The padding count.
        count: usize,
        /// Bytes after the fixed header (and CSRCs/extension for RTP).
        available: usize,
    },
    /// A field holds a value that is not allowed.
    #[error("{field}: value {value} is invalid ({reason})")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// The value found or given.
        value: u64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A size or count limit was hit.
    #[error("{what}: {actual} exceeds the limit of {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
        /// The value found (or a lower bound of it).
        actual: usize,
    },
    /// An AAC AudioSpecificConfig or LATM StreamMuxConfig (an fmtp `config=`, or a track's
    /// configuration) that `weir-aac` refused; the source names the field.
    #[error("AAC configuration: {0}")]
    AacConfig(#[from] weir_aac::Error),
    /// An RTCP compound packet breaks the validity rules of RFC 3550 6.1 / A.2.
    #[error("RTCP compound packet at offset {offset}: {reason}")]
    BadCompound {
        /// Offset of the offending packet in the compound.
        offset: usize,
        /// The rule broken.
        reason: &'static str,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
