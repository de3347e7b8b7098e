//! Shared media vocabulary for the Weir crates, in the spirit of the `http` crate: one small
//! set of types that every container and transport converts to and from, so remuxing any
//! input to any output is a composition rather than N×M special cases.
//!
//! * [`Codec`], [`MediaKind`] — what a track carries, with each codec's canonical payload
//!   layout documented on its variant.
//! * [`TrackInfo`] — codec, clock rate, codec configuration record, picture/sound parameters.
//! * [`Frame`] — one access unit with typed [`Timestamp`]s.
//! * [`Timebase`], [`Timestamp`], [`WrapExtender`] — timestamp arithmetic that neither
//!   overflows nor drifts, and extension of wrapping wire counters.
//! * [`nal`] — the NAL byte-stream layer shared by H.264 and H.265 (Annex B scanning,
//!   length-prefixed framing, emulation prevention).
//! * [`bits`] — MSB-first bit reader/writer with Exp-Golomb codes.
//! * [`repair`] — timestamp repair between ingest and outputs (monotonic DTS, wraps,
//!   clock restarts, stuck clocks).
//! * [`reorder`] — decoding timestamps for B-frame video that arrives with PTS only (RTP),
//!   and [`VideoTiming`](reorder::VideoTiming), the reorder depth and frame rate the codec
//!   crates read from an SPS.
//!
//! **Time and randomness**: this crate reads no clock and has no source of randomness.
//! Timestamps are values ([`Timestamp`], carried by frames), durations are arguments, and
//! [`repair`] and [`reorder`] work only from the timestamps they are given, so the same input
//! always gives the same output.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_media::{nal, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
//!
//! // An H.264 access unit as an Annex B encoder emits it…
//! let annexb = Bytes::from_static(&[0, 0, 0, 1, 0x65, 0x88, 0x84, 0, 0, 1, 0x65, 0x11]);
//! // …becomes a canonical frame: 4-byte length-prefixed NAL units.
//! let mut data = BytesMut::new();
//! nal::annexb_to_length_prefixed(&annexb, nal::CANONICAL_LENGTH_SIZE, &mut data)?;
//! let track = TrackInfo::new(TrackId(0), Codec::H264, 90_000);
//! let pts = Timestamp::new(180_000, track.timebase());
//! let frame = Frame::new(track.id, pts, pts, data.freeze()).with_keyframe(true);
//! assert_eq!(frame.data.len(), 4 + 3 + 4 + 2);
//! assert_eq!(frame.pts.rescale(Timebase::MILLIS).ticks(), 2_000);
//! # Ok::<(), weir_media::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bits;
mod codec;
mod frame;
pub mod nal;
pub mod reorder;
pub mod repair;
mod time;
mod track;

pub use codec::{Codec, MediaKind};
pub use frame::Frame;
pub use time::{rescale, Timebase, Timestamp, WrapExtender};
pub use track::{AudioParams, TrackId, TrackInfo, VideoParams};

/// Errors from the bit reader and the NAL byte-stream layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bit read ran past the end of the data.
    #[error("bitstream exhausted: {needed} more bits needed at bit {position}")]
    BitsExhausted {
        /// Bit position of the read.
        position: usize,
        /// Bits the read needed.
        needed: usize,
    },
    /// More than 64 bits requested in one read.
    #[error("cannot read {requested} bits at once (at most 64)")]
    TooManyBits {
        /// Bits requested.
        requested: u32,
    },
    /// An Exp-Golomb code with more than 31 leading zero bits.
    #[error("Exp-Golomb code at bit {position} exceeds 32 bits")]
    ExpGolombTooLong {
        /// Bit position where the code starts.
        position: usize,
    },
    /// A NAL length-prefix size other than 1 to 4 bytes.
    #[error("NAL length prefix of {length_size} bytes is not valid (1 to 4)")]
    InvalidLengthSize {
        /// The size given.
        length_size: u8,
    },
    /// A length prefix or NAL unit runs past the end of the buffer.
    #[error("length-prefixed NAL unit at offset {offset} declares {declared} bytes, {available} bytes remain")]
    NalTruncated {
        /// Offset of the length prefix.
        offset: usize,
        /// Length declared by the prefix (0 if the prefix itself was cut).
        declared: usize,
        /// Bytes left from `offset`.
        available: usize,
    },
    /// A NAL unit too large for the length-prefix size.
    #[error("NAL unit of {size} bytes does not fit a {length_size}-byte length prefix")]
    NalTooLong {
        /// NAL unit size.
        size: usize,
        /// Prefix size.
        length_size: u8,
    },
    /// An Annex B NAL unit exceeded the splitter's size limit.
    #[error("Annex B NAL unit exceeds the {limit}-byte limit")]
    NalOverLimit {
        /// The configured limit.
        limit: usize,
    },
}
