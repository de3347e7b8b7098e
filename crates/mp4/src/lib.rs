//! Sans-IO MP4 for [`weir_media`] frames: fragmented MP4/CMAF and progressive MP4 muxers,
//! and a demuxer for both (ISO/IEC 14496-12 ISOBMFF, 14496-14 MP4, 14496-15 AVC/HEVC).
//!
//! * [`FragmentedMuxer`]: an init segment (`ftyp` + `moov` with `mvex`), then `moof` +
//!   `mdat` fragments cut when the caller says ([`flush_fragment`](FragmentedMuxer::flush_fragment))
//!   or by duration at keyframes ([`push_and_cut`](FragmentedMuxer::push_and_cut)): one
//!   muxer for live HTTP-fMP4 (a fragment per GOP), LL-HLS (a fragment per part) and
//!   recording (a fragment every N ms; a file cut anywhere plays up to its last whole
//!   fragment).
//! * [`ProgressiveMuxer`]: `ftyp`, one `mdat` streamed as frames come, `moov` at the end
//!   (or moved to the front by [`finish_faststart`](ProgressiveMuxer::finish_faststart));
//!   `co64` past 4 GiB, `ctts` for B-frames, edit lists for start offsets.
//! * [`Demuxer`]: asks for byte ranges ([`poll_read`](Demuxer::poll_read)), takes the
//!   bytes ([`handle_data`](Demuxer::handle_data)), hands out [`Frame`](weir_media::Frame)s
//!   in decode order and seeks to keyframes; [`MemoryDemuxer`] drives it over a buffer.
//!
//! Codecs: H.264 (`avc1`/`avc3`), H.265 (`hvc1`/`hev1`), AAC (`mp4a`), Opus (`Opus`),
//! G.711 (`alaw`/`ulaw`), Motion JPEG (`mp4v` with the JPEG object type). No sockets,
//! files or clocks: the muxers return bytes, the demuxer takes them.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
//! use weir_mp4::{DemuxConfig, FragmentConfig, FragmentedMuxer, MemoryDemuxer};
//!
//! // A 64x64 H.264 track: its avcC built from the SPS and PPS…
//! let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x04, 0x26, 0xc0, 0x44, 0x00,
//!     0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x48, 0x99, 0x20]);
//! let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
//! let avcc = weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps]).unwrap().to_bytes();
//! let video = TrackInfo::new(TrackId(0), Codec::H264, 90_000).with_config(avcc);
//! // …muxed as fMP4: init segment, then one fragment of three frames…
//! let mut mux = FragmentedMuxer::new(&[video], FragmentConfig::default())?;
//! let mut file = mux.init_segment().to_vec();
//! for i in 0..3i64 {
//!     let t = Timestamp::new(i * 3000, Timebase::MPEG);
//!     let nal = Bytes::from(vec![0, 0, 0, 2, if i == 0 { 0x65 } else { 0x41 }, i as u8]);
//!     mux.push(Frame::new(TrackId(0), t, t, nal).with_keyframe(i == 0))?;
//! }
//! let fragment = mux.finish()?.expect("three frames");
//! assert!(fragment.independent);
//! file.extend_from_slice(&fragment.to_bytes());
//!
//! // …and read back.
//! let mut demux = MemoryDemuxer::new(Bytes::from(file), DemuxConfig::default())?;
//! assert_eq!(demux.tracks()[0].video.map(|v| (v.width, v.height)), Some((64, 64)));
//! let mut dts = Vec::new();
//! while let Some(frame) = demux.next_frame()? {
//!     dts.push(frame.dts.ticks());
//! }
//! assert_eq!(dts, [0, 3000, 6000]);
//! # Ok::<(), weir_mp4::Error>(())
//! ```
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod boxes;
mod demux;
mod entry;
mod error;
mod mux;

pub use demux::{DemuxConfig, Demuxer, MemoryDemuxer, ReadRequest, SeekPosition};
pub use entry::ParameterSets;
pub use error::{Error, Result};
pub use mux::{
    Cut, FastStart, Finish, Fragment, FragmentConfig, FragmentedMuxer, Patch, ProgressiveConfig,
    ProgressiveMuxer,
};
