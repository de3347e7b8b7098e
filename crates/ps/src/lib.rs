//! Sans-IO MPEG program stream (ISO/IEC 13818-1 §2.5) demuxer and muxer, as GB/T 28181
//! devices and platforms use it over RTP, converting between PS bytes and
//! [`weir_media::Frame`]s.
//!
//! * [`PsDemuxer`]: push bytes in any pieces (RTP payloads that split or merge frames),
//!   poll [`Event`]s. Pack headers in MPEG-1 and MPEG-2 form, system headers, the program
//!   stream map, PES packets with PTS/DTS; private streams and padding skipped; resync
//!   after damage. Real-device quirks are handled: no PSM (the codec is inferred from the
//!   elementary stream), PES length 0 for video, H.264 without AUDs (access units are found
//!   from the NAL units), audio PES with bogus PTS (replaced by the audio clock).
//! * [`PsMuxer`]: pack header + system header + PSM on keyframes, PES packets within the
//!   65535-byte limit, one call's output per frame, ready for RTP packetization.
//!
//! Elementary-stream framing (Annex B ↔ length-prefixed, ADTS, MPEG audio) is shared with
//! `weir-mpegts`.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod demux;
mod error;
mod mux;
pub mod psm;

pub use demux::{Event, PesData, PsDemuxConfig, PsDemuxer};
pub use error::Error;
pub use mux::{PsMuxConfig, PsMuxer};
