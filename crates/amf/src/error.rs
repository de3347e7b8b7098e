//! The crate's error type.

/// Everything that can go wrong while decoding or encoding AMF.
///
/// Offsets are byte offsets from the start of the buffer handed to the decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended in the middle of a value.
    #[error("truncated AMF input at offset {offset}: {what} needs {needed} more byte(s)")]
    Truncated {
        /// Offset where the missing bytes were expected.
        offset: usize,
        /// What was being read.
        what: &'static str,
        /// How many more bytes were needed.
        needed: usize,
    },
    /// A type marker that this AMF version does not define (or that is reserved).
    #[error("unknown or unsupported AMF{version} type marker 0x{marker:02x} at offset {offset}")]
    UnknownMarker {
        /// 0 or 3.
        version: u8,
        /// The marker byte.
        marker: u8,
        /// Offset of the marker.
        offset: usize,
    },
    /// An object-end marker (0x09) appeared where a value was expected.
    #[error("unexpected AMF0 object-end marker at offset {offset}")]
    UnexpectedObjectEnd {
        /// Offset of the marker.
        offset: usize,
    },
    /// Nesting of objects/arrays went deeper than [`DecodeLimits::max_depth`](crate::DecodeLimits::max_depth).
    #[error("AMF nesting deeper than the limit of {limit} at offset {offset}")]
    DepthLimit {
        /// The configured limit.
        limit: usize,
        /// Offset where the limit was hit.
        offset: usize,
    },
    /// More values were decoded than [`DecodeLimits::max_elements`](crate::DecodeLimits::max_elements) allows.
    #[error("AMF input holds more than the limit of {limit} values (offset {offset})")]
    ElementLimit {
        /// The configured limit.
        limit: usize,
        /// Offset where the limit was hit.
        offset: usize,
    },
    /// Decoded string bytes (including AMF3 string references) exceed
    /// [`DecodeLimits::max_string_bytes`](crate::DecodeLimits::max_string_bytes).
    #[error("AMF strings total more than the limit of {limit} bytes (offset {offset})")]
    StringBytesLimit {
        /// The configured limit.
        limit: usize,
        /// Offset where the limit was hit.
        offset: usize,
    },
    /// An AMF3 reference points outside its reference table.
    #[error(
        "AMF3 {table} reference {index} out of range (table has {len} entries) at offset {offset}"
    )]
    BadReference {
        /// `"string"`, `"object"` or `"trait"`.
        table: &'static str,
        /// The referenced index.
        index: usize,
        /// Table length at that point.
        len: usize,
        /// Offset of the reference.
        offset: usize,
    },
    /// A value that AMF cannot represent was handed to the encoder.
    #[error("cannot encode {what}: length {len} exceeds the format maximum of {max}")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The maximum the format allows.
        max: usize,
    },
    /// A command message did not have the expected shape.
    #[error("malformed command message: {0}")]
    BadCommand(&'static str),
    /// AMF3 externalizable objects carry a class-specific payload that cannot be skipped
    /// without knowing the class.
    #[error("AMF3 externalizable object of class {class_name:?} at offset {offset} cannot be decoded generically")]
    Externalizable {
        /// The class name from the traits.
        class_name: String,
        /// Offset of the object.
        offset: usize,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
