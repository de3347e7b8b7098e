//! AAC and MPEG-1/2 audio bitstream: ADTS, AudioSpecificConfig, LATM/LOAS (ISO/IEC
//! 14496-3), and MPEG-1/2/2.5 Layer I/II/III frame headers (ISO/IEC 11172-3, 13818-3).
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
//! Everything here is pure bit/byte manipulation: no IO, no decoding of audio. This is the
//! one place in Weir where these structures are parsed and built: the RTP payload formats,
//! SDP, FLV and MPEG-TS crates all use it.
//!
//! * [`AudioSpecificConfig`]: parse/build, including escape object types, explicit
//!   frequencies, program config elements, and SBR/PS signalling (hierarchical 5/29 and
//!   backward-compatible `0x2B7`/`0x548`).
//! * [`AdtsHeader`], [`adts_frames`], [`AdtsReader`], [`raw_to_adts`]: ADTS ↔ raw access
//!   units + config.
//! * [`latm`]: LATM `AudioMuxElement` / `StreamMuxConfig` and the LOAS sync layer, as used
//!   by MPEG-TS (`stream_type` 0x11) and RTP MP4A-LATM (RFC 6416).
//! * [`mpa`]: MPEG audio (MP1/MP2/MP3) frame headers — version, layer, bitrate, sample
//!   rate, channels, frame length, samples per frame — as FLV and MPEG-TS carry them.
//!
//! **Time and randomness**: none. Parsing and building are pure functions of their input;
//! durations come out in samples (or ticks of a clock rate you pass), never from a clock.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_aac::{adts_frames, raw_to_adts, AudioSpecificConfig};
//!
//! let asc = AudioSpecificConfig::lc(48000, 2).unwrap();
//! assert_eq!(&asc.to_bytes()[..], &[0x11, 0x90]);
//!
//! // Wrap two raw access units in ADTS, then split them again.
//! let mut adts = BytesMut::new();
//! raw_to_adts(&asc, &[1, 2, 3], &mut adts).unwrap();
//! raw_to_adts(&asc, &[4, 5], &mut adts).unwrap();
//! let adts = adts.freeze();
//! let frames: Vec<_> = adts_frames(&adts).collect::<Result<_, _>>().unwrap();
//! assert_eq!(frames.len(), 2);
//! assert_eq!(&frames[1].1[..], &[4, 5]);
//! assert_eq!(frames[0].0.to_config().sample_rate(), 48000);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adts;
pub mod asc;
mod error;
pub mod latm;
pub mod mpa;

pub use adts::{
    adts_frames, adts_frames_ref, pce_element, raw_to_adts, split_pce, AdtsFrames, AdtsFramesRef,
    AdtsHeader, AdtsReader, AdtsWriter, RawBlocks,
};
pub use asc::{AudioSpecificConfig, ProgramConfigElement, SbrExtension, SbrSignalling};
pub use error::{Error, Result};
pub use mpa::MpaHeader;
