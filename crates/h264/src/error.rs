//! The crate's error type.

/// Everything that can go wrong while reading or writing H.264 structures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A syntax element could not be read (the RBSP ended early or a code was malformed).
    #[error("{structure}: cannot read `{field}`: {source}")]
    Syntax {
        /// The structure being parsed (`"SPS"`, `"PPS"`, `"slice header"`, …).
        structure: &'static str,
        /// The syntax element.
        field: &'static str,
        /// The bit-level error.
        source: weir_media::Error,
    },
    /// A syntax element holds a value outside its allowed range.
    #[error("{structure}: `{field}` = {value} is out of range (allowed {min}..={max})")]
    OutOfRange {
        /// The structure being parsed.
        structure: &'static str,
        /// The syntax element.
        field: &'static str,
        /// The value read.
        value: i64,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// The NAL unit is empty or its header is invalid (forbidden_zero_bit set).
    #[error("invalid NAL unit header: {reason}")]
    BadNalHeader {
        /// What is wrong.
        reason: &'static str,
    },
    /// A NAL unit of another type than the parser expects.
    #[error("expected a {expected} NAL unit, found type {found}")]
    WrongNalType {
        /// The expected kind.
        expected: &'static str,
        /// The `nal_unit_type` found.
        found: u8,
    },
    /// The cropping window is larger than the decoded picture.
    #[error("SPS cropping ({crop} samples) exceeds the coded {dimension} ({coded} samples)")]
    BadCropping {
        /// `"width"` or `"height"`.
        dimension: &'static str,
        /// Coded size in luma samples.
        coded: u64,
        /// Total crop in luma samples.
        crop: u64,
    },
    /// An `AVCDecoderConfigurationRecord` ended early.
    #[error("avcC truncated at offset {offset}: `{field}` needs {needed} bytes")]
    ConfigTruncated {
        /// Byte offset of the field.
        offset: usize,
        /// The field.
        field: &'static str,
        /// Bytes needed.
        needed: usize,
    },
    /// An `AVCDecoderConfigurationRecord` field has an unsupported value.
    #[error("avcC `{field}` = {value} is not supported")]
    ConfigUnsupported {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// A configured limit was hit.
    #[error("limit exceeded: {what} (limit {limit})")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A list given to a builder was empty or malformed.
    #[error("missing {what}")]
    Missing {
        /// What is missing.
        what: &'static str,
    },
    /// An error of the shared NAL byte-stream layer.
    #[error(transparent)]
    Nal(#[from] weir_media::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<weir_media::bits::SyntaxError> for Error {
    fn from(e: weir_media::bits::SyntaxError) -> Error {
        match e {
            weir_media::bits::SyntaxError::OutOfRange {
                structure,
                field,
                value,
                min,
                max,
            } => Error::OutOfRange {
                structure,
                field,
                value,
                min,
                max,
            },
            weir_media::bits::SyntaxError::Bits {
                structure,
                field,
                source,
            } => Error::Syntax {
                structure,
                field,
                source,
            },
        }
    }
}
