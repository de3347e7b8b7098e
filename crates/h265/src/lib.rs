//! H.265/HEVC bitstream: NAL units, VPS/SPS/PPS parsing, hvcC records, access-unit
//! boundaries (ITU-T H.265 | ISO/IEC 23008-2, and 14496-15 for hvcC).
//!
//! * [`NalType`], [`NalHeader`], [`nal_type`], [`AUD`], [`is_keyframe`] — the two-byte NAL
//!   header, IRAP detection;
//! * [`Vps`], [`Sps`], [`Pps`] — parameter sets: profile/tier/level, size after the
//!   conformance window, bit depth, fps from VUI, reorder depth;
//! * [`HevcConfig`] — `HEVCDecoderConfigurationRecord` parse/build, from in-band parameter
//!   sets ([`HevcConfig::from_access_unit`]);
//! * [`video_timing`], [`HevcConfig::video_timing`], [`Sps::video_timing`] — the reorder
//!   depth (`sps_max_num_reorder_pics`, for `weir_media::reorder::DtsGenerator`) and frame
//!   rate of a stream;
//! * [`AccessUnitAssembler`] / [`AnnexBAccessUnits`] — NAL units or an Annex B stream in,
//!   canonical access units with keyframe flags out (7.4.2.4.4 boundaries);
//! * [`nal`] and [`bits`] — the Annex B / length-prefix / emulation-prevention layer and
//!   Exp-Golomb reader of `weir-media`, re-exported.
//!
//! **Time and randomness**: none. Everything is a pure function of the bytes given; frame
//! rates and reorder depths come out of the SPS as numbers, never from a clock.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_h265::{is_keyframe, nal, nal_type, NalType, Sps};
//! let annexb = Bytes::from_static(&[
//!     0, 0, 0, 1, 0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00,
//!     0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0xa4,
//!     0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00,
//!     0x32, 0x10,
//!     0, 0, 1, 0x26, 0x01, 0xaf, 0x06,
//! ]);
//! let units: Vec<Bytes> = nal::annexb_nalus(&annexb).collect();
//! assert_eq!(nal_type(&units[1]), Some(NalType::IDR_W_RADL));
//! let sps = Sps::parse(&units[0])?;
//! assert_eq!((sps.width(), sps.height(), sps.level_idc()), (320, 240, 60));
//! let mut canonical = BytesMut::new();
//! nal::annexb_to_length_prefixed(&annexb, 4, &mut canonical)?;
//! assert!(is_keyframe(&canonical));
//! # Ok::<(), weir_h265::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod au;
mod error;
mod hvcc;
mod nalu;
mod pps;
mod ptl;
mod rbsp;
mod sps;
mod vps;

pub use au::{AccessUnit, AccessUnitAssembler, AnnexBAccessUnits, AssemblerLimits};
pub use error::{Error, Result};
pub use hvcc::{video_timing, HevcConfig, NalArray};
pub use nalu::{is_keyframe, length_prefixed_types, nal_type, NalHeader, NalType, AUD};
pub use pps::{Pps, Tiles};
pub use ptl::{Hrd, Profile, ProfileTierLevel, SubLayerPtl};
pub use sps::{Sps, StRefPicSet, SubLayerOrdering, Timing, Vui, Window, MAX_DIMENSION};
pub use vps::Vps;
/// MSB-first bit reader/writer with Exp-Golomb codes, re-exported from `weir-media`.
pub use weir_media::bits;
/// The shared NAL byte-stream layer, re-exported from `weir-media`.
pub use weir_media::nal;

/// The README examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
