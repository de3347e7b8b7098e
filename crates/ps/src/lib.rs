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
//! **Time and randomness**: none. SCR, PTS and DTS come from the frames' timestamps (the
//! audio clock that replaces bogus device PTS is counted in samples), never from a clock;
//! stream ids and the PSM version are fixed, not random.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
//! use weir_ps::{Event, PsDemuxer, PsMuxer};
//!
//! // A device-side muxer: one call per frame, the output is what goes into RTP.
//! let tracks = [
//!     TrackInfo::new(TrackId(0), Codec::H265, 90_000),
//!     TrackInfo::new(TrackId(1), Codec::G711A, 8_000),
//! ];
//! let mut mux = PsMuxer::new(&tracks, Default::default())?;
//! let mut ps = BytesMut::new();
//! let t = Timestamp::new(3600, Timebase::MPEG);
//! // An IDR_W_RADL slice with first_slice_segment_in_pic_flag set.
//! let irap = Bytes::from_static(&[0, 0, 0, 4, 0x26, 0x01, 0xAF, 0x09]);
//! mux.write_frame(&Frame::new(TrackId(0), t, t, irap.clone()).with_keyframe(true), &mut ps)?;
//! mux.write_frame(&Frame::new(TrackId(1), t, t, Bytes::from(vec![0xD5; 320])), &mut ps)?;
//!
//! // The platform side, fed in RTP-payload-sized pieces.
//! let mut demux = PsDemuxer::new();
//! for piece in ps.chunks(1400) {
//!     demux.push(piece);
//! }
//! demux.flush(); // the last video frame ends when the next one starts, or here
//! let events: Vec<Event> = std::iter::from_fn(|| demux.poll_event()).collect();
//! let frames: Vec<&Frame> = events
//!     .iter()
//!     .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
//!     .collect();
//! assert_eq!(frames.len(), 2);
//! assert_eq!(frames[0].data.len(), 320); // G.711 (TrackId 0xC0) first: video waits for its end
//! assert_eq!(frames[1].data, irap);
//! assert!(frames[1].keyframe);
//! assert!(events.iter().any(|e| matches!(e, Event::Psm(p) if p.streams.len() == 2)));
//! # Ok::<(), weir_ps::Error>(())
//! ```
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
