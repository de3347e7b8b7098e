//! Sans-IO MPEG transport stream (ISO/IEC 13818-1) demuxer and muxer, with an HLS
//! segmenter, converting between TS bytes and [`weir_media::Frame`]s.
//!
//! * [`TsDemuxer`]: push bytes in any pieces, poll [`Event`]s: tracks, frames in the
//!   canonical layout (H.264/H.265 length-prefixed NAL units, raw AAC with the
//!   AudioSpecificConfig in [`TrackInfo::config`](weir_media::TrackInfo), MPEG audio frames,
//!   Opus packets), loss and corruption reports.
//! * [`TsMuxer`]: give it [`TrackInfo`](weir_media::TrackInfo)s and [`Frame`](weir_media::Frame)s,
//!   it writes 188-byte packets into your `BytesMut`.
//! * [`HlsSegmenter`]: cuts a muxed stream at keyframes into standalone segments.
//!
//! **Time and randomness**: none. PCR, PTS and DTS come from the frames' timestamps, segment
//! durations from the timestamps of the frames that make them, never from a clock; PIDs,
//! continuity counters and table versions are fixed or configured, not random. MPEG audio
//! frame headers and AAC configurations are read by `weir-aac`.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
//! use weir_mpegts::{Event, MuxConfig, TsDemuxer, TsMuxer};
//!
//! // Mux an H.264 keyframe and an AAC frame…
//! let video = TrackInfo::new(TrackId(0), Codec::H264, 90_000);
//! let audio = TrackInfo::new(TrackId(1), Codec::Aac, 48_000)
//!     .with_config(Bytes::from_static(&[0x11, 0x90])) // AAC-LC, 48 kHz, stereo
//!     .with_audio(AudioParams { sample_rate: 48_000, channels: 2 });
//! let mut mux = TsMuxer::new(&[video, audio], MuxConfig::default())?;
//! let mut ts = BytesMut::new();
//! let t = Timestamp::new(90_000, Timebase::MPEG);
//! let idr = Bytes::from_static(&[0, 0, 0, 3, 0x65, 0x88, 0x84]);
//! mux.write_frame(&Frame::new(TrackId(0), t, t, idr.clone()).with_keyframe(true), &mut ts)?;
//! let aac = Bytes::from_static(&[0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c]);
//! mux.write_frame(&Frame::new(TrackId(1), t, t, aac.clone()), &mut ts)?;
//!
//! // …and read it back.
//! let mut demux = TsDemuxer::new();
//! demux.push(&ts);
//! demux.flush();
//! let mut frames = Vec::new();
//! while let Some(event) = demux.poll_event() {
//!     if let Event::Frame(f) = event {
//!         frames.push(f);
//!     }
//! }
//! assert_eq!(frames.len(), 2);
//! assert_eq!(frames[0].data.slice(6..), idr); // after the AUD the muxer inserted
//! assert_eq!(frames[0].pts.ticks(), 90_000);
//! assert_eq!(frames[1].data, aac); // ADTS added on mux, stripped on demux
//! # Ok::<(), weir_mpegts::Error>(())
//! ```
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audio;
mod codecs;
mod crc;
mod demux;
mod error;
pub mod es;
pub mod hls;
mod mux;
pub mod packet;
pub mod pes;
pub mod psi;

pub use codecs::{infer_codec, AuSplitter, SplitAu};
pub use crc::crc32_mpeg2;
pub use demux::{DemuxConfig, Event, PesData, TsDemuxer};
pub use error::Error;
pub use hls::{HlsSegmenter, Segment, SegmenterConfig};
pub use mux::{MuxConfig, TsMuxer};

/// stream_type values (ISO/IEC 13818-1 Table 2-34 and common registrations).
pub mod stream_type {
    /// ISO/IEC 11172-3 (MPEG-1) audio.
    pub const MPEG1_AUDIO: u8 = 0x03;
    /// ISO/IEC 13818-3 (MPEG-2) audio.
    pub const MPEG2_AUDIO: u8 = 0x04;
    /// PES packets with private data (Opus with its registration descriptor, AC-3 in DVB, …).
    pub const PRIVATE_PES: u8 = 0x06;
    /// ISO/IEC 13818-7 AAC with ADTS transport syntax.
    pub const AAC_ADTS: u8 = 0x0F;
    /// ISO/IEC 14496-3 AAC with LATM transport syntax.
    pub const AAC_LATM: u8 = 0x11;
    /// H.264 / AVC.
    pub const H264: u8 = 0x1B;
    /// H.265 / HEVC.
    pub const H265: u8 = 0x24;
    /// G.711 A-law (GB/T 28181 registration).
    pub const G711A: u8 = 0x90;
    /// G.711 µ-law (GB/T 28181 registration).
    pub const G711U: u8 = 0x91;
    /// SVAC video (GB/T 28181).
    pub const SVAC: u8 = 0x80;
}
