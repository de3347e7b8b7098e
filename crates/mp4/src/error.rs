//! The crate's error type.

use weir_media::{Codec, TrackId};

use crate::boxes::FourCc;

/// Everything that can go wrong while muxing or demuxing MP4.
///
/// Demuxing errors carry the file offset of the box or field at fault; muxing errors carry
/// the track.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A box or one of its fields runs past the end of the data that contains it.
    #[error("`{fourcc}` at offset {offset}: {field} needs {needed} bytes, {available} remain")]
    Truncated {
        /// The box being read.
        fourcc: FourCc,
        /// The field being read.
        field: &'static str,
        /// File offset of the field.
        offset: u64,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left in the box.
        available: u64,
    },
    /// A box header declares a size smaller than the header itself.
    #[error("`{fourcc}` at offset {offset} declares size {size}, smaller than its header")]
    BadBoxSize {
        /// The box.
        fourcc: FourCc,
        /// File offset of the box.
        offset: u64,
        /// The declared size.
        size: u64,
    },
    /// A box that must be read into memory (`moov`, `moof`, …) is larger than the limit.
    #[error("`{fourcc}` at offset {offset} is {size} bytes, over the {limit}-byte limit")]
    BoxTooLarge {
        /// The box.
        fourcc: FourCc,
        /// File offset of the box.
        offset: u64,
        /// Its size.
        size: u64,
        /// The configured limit ([`DemuxConfig::max_box_size`](crate::DemuxConfig)).
        limit: u64,
    },
    /// A configured limit (tracks, samples, fragments, nesting depth) was hit.
    #[error("{what}: {value} exceeds the limit of {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The count reached.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// A field holds a value that makes the box unusable.
    #[error("`{fourcc}` at offset {offset}: invalid {field} ({value})")]
    InvalidField {
        /// The box.
        fourcc: FourCc,
        /// The field.
        field: &'static str,
        /// File offset of the box.
        offset: u64,
        /// The value found.
        value: u64,
    },
    /// A box the file needs is absent (for example `moov`, or `stsd` in a track).
    #[error("missing `{fourcc}` in {context}")]
    MissingBox {
        /// The absent box.
        fourcc: FourCc,
        /// Where it was expected.
        context: &'static str,
    },
    /// The data ended before the movie header (`moov`) was found.
    #[error("no `moov` box before the end of the data (offset {offset})")]
    NoMovie {
        /// Where the data ended.
        offset: u64,
    },
    /// A codec configuration record (avcC, hvcC, AudioSpecificConfig, OpusHead/dOps) could
    /// not be parsed.
    #[error("track {track:?}: bad {codec} configuration: {reason}")]
    BadConfig {
        /// The track.
        track: TrackId,
        /// Its codec.
        codec: Codec,
        /// What the codec crate reported.
        reason: String,
    },
    /// The muxer cannot write this codec into MP4.
    #[error("track {track:?}: codec {codec} cannot be written to MP4")]
    UnsupportedCodec {
        /// The track.
        track: TrackId,
        /// The codec.
        codec: Codec,
    },
    /// Two tracks given to a muxer share an id, or no tracks were given.
    #[error("bad track list: {reason}")]
    BadTracks {
        /// What is wrong.
        reason: &'static str,
    },
    /// A frame names a track the muxer was not given.
    #[error("frame for unknown track {track:?}")]
    UnknownTrack {
        /// The frame's track.
        track: TrackId,
    },
    /// A frame's decoding time is earlier than the previous frame's on the same track.
    #[error("track {track:?}: DTS {dts} is before the previous DTS {previous} (ticks of the track timescale)")]
    NonMonotonicDts {
        /// The track.
        track: TrackId,
        /// The previous DTS.
        previous: i64,
        /// The frame's DTS.
        dts: i64,
    },
    /// A decoding time below zero where the format cannot carry one (`tfdt` is unsigned).
    #[error("track {track:?}: DTS {dts} is negative; fragmented MP4 decode times start at 0")]
    NegativeDecodeTime {
        /// The track.
        track: TrackId,
        /// The DTS (ticks of the track timescale).
        dts: i64,
    },
    /// A value does not fit the field that must carry it (a sample over 4 GiB, a duration
    /// or composition offset over 32 bits).
    #[error("track {track:?}: {field} value {value} does not fit its MP4 field")]
    Overflow {
        /// The track.
        track: TrackId,
        /// The field.
        field: &'static str,
        /// The value.
        value: i128,
    },
    /// The muxer was used after it was finished.
    #[error("the muxer is already finished")]
    Finished,
    /// [`Demuxer::handle_data`](crate::Demuxer::handle_data) was given bytes for an offset
    /// that no outstanding read asked for.
    #[error("data for offset {offset} does not answer the outstanding read (offset {expected:?})")]
    UnexpectedData {
        /// Offset of the data given.
        offset: u64,
        /// Offset of the outstanding read, if any.
        expected: Option<u64>,
    },
    /// A sample's NAL units could not be re-framed to 4-byte length prefixes.
    #[error("track {track:?}: sample at offset {offset}: {source}")]
    Nal {
        /// The track.
        track: TrackId,
        /// File offset of the sample.
        offset: u64,
        /// The framing error.
        source: weir_media::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
