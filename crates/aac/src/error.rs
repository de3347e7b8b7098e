//! The crate's error type.

/// Everything that can go wrong while parsing or building AAC and MPEG audio bitstream
/// structures.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a field could be read.
    #[error("truncated {what}: needed {needed} bytes, {available} available")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A bit-level read ran past the end of the structure.
    #[error("{what}: bitstream exhausted ({source})")]
    Bits {
        /// The structure being read.
        what: &'static str,
        /// The underlying bit reader error.
        #[source]
        source: weir_media::Error,
    },
    /// A field holds a value the specification forbids or reserves.
    #[error("invalid {field} value {value} in {what}")]
    InvalidField {
        /// The structure being read or built.
        what: &'static str,
        /// The field name (as in ISO/IEC 14496-3).
        field: &'static str,
        /// The offending value.
        value: u64,
    },
    /// No ADTS syncword (0xFFF) at the expected position.
    #[error("no ADTS syncword at offset {offset}")]
    NoAdtsSync {
        /// Byte offset in the input.
        offset: usize,
    },
    /// No MPEG audio frame syncword (eleven 1 bits) at the expected position.
    #[error("no MPEG audio syncword at offset {offset}")]
    NoMpegAudioSync {
        /// Byte offset in the input.
        offset: usize,
    },
    /// No LOAS syncword (0x2B7) at the expected position.
    #[error("no LOAS syncword at offset {offset}")]
    NoLoasSync {
        /// Byte offset in the input.
        offset: usize,
    },
    /// A sample rate that has no sampling_frequency_index and cannot be signalled where asked.
    #[error("sample rate {rate} Hz cannot be signalled in {what}")]
    UnsupportedSampleRate {
        /// The rate asked for.
        rate: u32,
        /// The structure that cannot carry it.
        what: &'static str,
    },
    /// The configuration cannot be expressed in an ADTS header (object type above 4,
    /// explicit frequency, channel configuration 0 or above 7).
    #[error("cannot express in ADTS: {reason}")]
    NotAdtsCompatible {
        /// Why.
        reason: &'static str,
    },
    /// A length does not fit the field that must carry it.
    #[error("{what} length {len} exceeds the maximum {max}")]
    TooLong {
        /// The field or structure.
        what: &'static str,
        /// The length asked for.
        len: usize,
        /// The largest length the field can carry (or the configured limit).
        max: usize,
    },
    /// Multiple raw data blocks in an ADTS frame without CRC: their boundaries are not
    /// signalled, so they can only be split by decoding the AAC syntax (not done here).
    #[error(
        "ADTS frame holds {blocks} raw data blocks without CRC; block boundaries are not signalled"
    )]
    UnsplittableRawBlocks {
        /// Number of raw data blocks in the frame.
        blocks: usize,
    },
    /// A LATM AudioMuxElement with muxConfigPresent=1/useSameStreamMux=1, or with
    /// muxConfigPresent=0, arrived before any StreamMuxConfig was known.
    #[error("LATM AudioMuxElement refers to a StreamMuxConfig that has not been received")]
    MissingStreamMuxConfig,
    /// A LATM feature that the specification leaves "to be defined" (audioMuxVersionA=1).
    #[error("LATM audioMuxVersionA=1 is reserved by ISO/IEC 14496-3")]
    ReservedMuxVersion,
    /// A LATM stream whose frameLengthType needs CELP/HVXC frame-length tables.
    #[error("LATM frameLengthType {frame_length_type} (CELP/HVXC) payload lengths are not derivable without codec tables")]
    UnsupportedFrameLengthType {
        /// The frameLengthType.
        frame_length_type: u8,
    },
    /// A configured limit was hit.
    #[error("limit exceeded: {what} is {value}, limit {limit}")]
    Limit {
        /// The limited quantity.
        what: &'static str,
        /// The value seen.
        value: usize,
        /// The limit.
        limit: usize,
    },
}

impl Error {
    pub(crate) fn bits(what: &'static str) -> impl Fn(weir_media::Error) -> Error {
        move |source| Error::Bits { what, source }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
