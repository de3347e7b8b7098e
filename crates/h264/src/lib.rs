//! H.264/AVC bitstream: NAL units, Annex B and AVCC framing, SPS/PPS parsing, avcC records,
//! access-unit boundaries (ITU-T H.264 | ISO/IEC 14496-10, and 14496-15 for avcC).
//!
//! * [`NalType`], [`nal_type`], [`AUD`], [`is_keyframe`] — NAL header and frame-level checks;
//! * [`Sps`], [`Pps`] — parameter sets with VUI, cropping, scaling lists; `width()`,
//!   `height()`, `fps()`, profile/level, reorder depth;
//! * [`AvcConfig`] — `AVCDecoderConfigurationRecord` parse/build incl. the high-profile
//!   extension, from in-band parameter sets ([`AvcConfig::from_access_unit`]);
//! * [`video_timing`], [`AvcConfig::video_timing`], [`Sps::video_timing`] — the reorder
//!   depth (for `weir_media::reorder::DtsGenerator`) and frame rate of a stream;
//! * [`AccessUnitAssembler`] / [`AnnexBAccessUnits`] — NAL units or an Annex B stream in,
//!   canonical access units with keyframe flags out (7.4.1.2.3 boundaries);
//! * [`nal`] and [`bits`] — the shared Annex B / length-prefix / emulation-prevention layer
//!   and Exp-Golomb bit reader of `weir-media`, re-exported.
//!
//! The canonical frame layout of Weir is NAL units with 4-byte big-endian length prefixes.
//!
//! **Time and randomness**: none. Everything is a pure function of the bytes given; frame
//! rates and reorder depths come out of the SPS as numbers, never from a clock.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_h264::{is_keyframe, nal, nal_type, NalType, Sps};
//!
//! let annexb = Bytes::from_static(&[
//!     0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00,
//!     0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
//!     0, 0, 1, 0x68, 0xcb, 0x83, 0xcb, 0x20,
//!     0, 0, 1, 0x65, 0x88, 0x84,
//! ]);
//! let nalus: Vec<Bytes> = nal::annexb_nalus(&annexb).collect();
//! assert_eq!(nal_type(&nalus[0]), Some(NalType::Sps));
//! let sps = Sps::parse(&nalus[0])?;
//! assert_eq!((sps.width(), sps.height(), sps.level_idc), (320, 240, 13));
//!
//! let mut canonical = BytesMut::new();
//! nal::annexb_to_length_prefixed(&annexb, 4, &mut canonical)?;
//! assert!(is_keyframe(&canonical));
//! # Ok::<(), weir_h264::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod au;
mod avcc;
mod error;
mod nalu;
mod pps;
mod rbsp;
mod sei;
mod slice;
mod sps;

pub use au::{AccessUnit, AccessUnitAssembler, AnnexBAccessUnits, AssemblerLimits};
pub use avcc::{video_timing, AvcConfig, AvcConfigExt};
pub use error::{Error, Result};
pub use nalu::{
    is_keyframe, is_random_access, length_prefixed_types, length_prefixed_units, nal_ref_idc,
    nal_type, NalType, AUD,
};
pub use pps::{Pps, SliceGroupMap};
pub use sei::{sei_messages, RecoveryPoint, SeiMessage, SeiMessages};
pub use slice::{slice_start, SliceHeader, SliceType};
pub use sps::{
    is_high_profile, BitstreamRestriction, Cropping, Hrd, ScalingList, Sps, Timing, Vui,
    MAX_MBS_PER_DIMENSION,
};
/// MSB-first bit reader/writer with Exp-Golomb codes, re-exported from `weir-media`.
pub use weir_media::bits;
/// The shared NAL byte-stream layer (Annex B scanning, incremental splitter, length-prefix
/// conversion, emulation prevention), re-exported from `weir-media`.
pub use weir_media::nal;

/// The README examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
