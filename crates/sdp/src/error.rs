//! The crate's error type.

/// Everything that can go wrong while parsing or building SDP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A line is not of the form `<type>=<value>`.
    #[error("line {line}: not a `<type>=<value>` line")]
    Malformed {
        /// 1-based line number.
        line: usize,
    },
    /// A line is not valid UTF-8.
    #[error("line {line}: not valid UTF-8")]
    NotUtf8 {
        /// 1-based line number.
        line: usize,
    },
    /// A known line type has an invalid value.
    #[error("line {line}: invalid `{kind}=` line: {reason}")]
    InvalidLine {
        /// 1-based line number.
        line: usize,
        /// The line type letter.
        kind: char,
        /// What is wrong.
        reason: &'static str,
    },
    /// A required line is missing (strict mode: `v=`, `o=`, `s=`, `t=`).
    #[error("missing required `{kind}=` line")]
    Missing {
        /// The line type letter.
        kind: char,
    },
    /// Strict mode: a line appears out of the RFC 8866 §5 order, or a single-use line repeats.
    #[error("line {line}: `{kind}=` line out of order or repeated (strict mode)")]
    OutOfOrder {
        /// 1-based line number.
        line: usize,
        /// The line type letter.
        kind: char,
    },
    /// Strict mode: an unknown line type.
    #[error("line {line}: unknown line type `{kind}` (strict mode)")]
    UnknownLine {
        /// 1-based line number.
        line: usize,
        /// The line type letter.
        kind: char,
    },
    /// Strict mode: a single-valued attribute appears twice in one section.
    #[error("line {line}: duplicate attribute `{name}` (strict mode)")]
    DuplicateAttribute {
        /// 1-based line number.
        line: usize,
        /// The attribute name (with the payload type for `rtpmap`/`fmtp`).
        name: String,
    },
    /// Strict mode: a line ends with a bare `\n`, or has trailing white space, or is empty.
    #[error("line {line}: {reason} (strict mode)")]
    Strictness {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A configured limit was exceeded.
    #[error("limit exceeded: {what} > {limit}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// The configured value.
        limit: usize,
    },
    /// A typed attribute helper could not parse the attribute value.
    #[error("invalid `{attribute}` value: {reason}")]
    InvalidAttribute {
        /// The attribute or header (`rtpmap`, `fmtp`, `range`, …).
        attribute: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A base64 or hex field in an `fmtp` could not be decoded.
    #[error("invalid encoding in fmtp parameter `{field}`")]
    BadEncoding {
        /// The parameter name.
        field: &'static str,
    },
    /// An AAC AudioSpecificConfig that `weir-aac` refused (a builder's input, or an fmtp
    /// `config=`); the source names the field.
    #[error("AAC configuration: {0}")]
    AacConfig(#[from] weir_aac::Error),
    /// A builder was given unusable input.
    #[error("invalid builder input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
