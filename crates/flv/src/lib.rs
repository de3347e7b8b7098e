//! FLV container and tags, enhanced RTMP codec headers, FLV tag ⇄ media frame conversion.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace. Sans-IO:
//! bytes in, tags/frames out; no sockets, clocks or runtimes.
//!
//! * [`FlvReader`] — incremental reader for files and HTTP-FLV streams (any chunking),
//!   PreviousTagSize checks, optional resynchronisation, size limits; zero-copy bodies.
//! * [`Tag`], [`tag_header`], [`previous_tag_size`], [`FlvHeader`] — the writer side.
//! * [`VideoTagHeader`] / [`AudioTagHeader`] — legacy AVC, codec id 12 HEVC, enhanced RTMP
//!   (`ExVideoTagHeader` with `avc1`/`hvc1`/`av01`/`vp09`/`vp08`, `ExAudioTagHeader` with
//!   `Opus`/`mp4a`/`.mp3`, ModEx nanosecond offsets), AAC, MP3, G.711.
//! * [`FlvDemuxer`] — tags → weir-media [`TrackInfo`](weir_media::TrackInfo)s and
//!   [`Frame`](weir_media::Frame)s; [`FlvMuxer`] — the reverse.
//! * [`ScriptData`] / [`Metadata`] — `onMetaData` (also behind `@setDataFrame`) via weir-amf.
//!
//! **Time and randomness**: none. Tag timestamps come from the frames' own timestamps and
//! go back into them (32- and 31-bit wraps extended from the stream, not from a clock); nothing is
//! random. Codec configurations and MP3 headers are read by the codec crates (`weir-h264`,
//! `weir-h265`, `weir-aac` including `weir_aac::mpa`).
//!
//! Remuxing an FLV (or RTMP) stream, and sharing each tag with many subscribers:
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_flv::*;
//! use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
//!
//! // A publisher's stream: header, AAC sequence header, one AAC frame.
//! let aac = TrackInfo::new(TrackId(1), Codec::Aac, 44_100)
//!     .with_config(Bytes::from_static(&[0x12, 0x08]))
//!     .with_audio(AudioParams { sample_rate: 44_100, channels: 1 });
//! let muxer = FlvMuxer::new(MuxConfig::default());
//! let mut stream = BytesMut::new();
//! muxer.write_start(std::slice::from_ref(&aac), "demo", &mut stream)?;
//! let ts = Timestamp::new(1024, aac.timebase());
//! let frame = Frame::new(aac.id, ts, ts, Bytes::from_static(&[0x21, 0x10, 0x04]));
//! muxer.frame(&aac, &frame)?.write(&mut stream)?;
//!
//! // Ingest: bytes → tags → tracks and frames.
//! let mut reader = FlvReader::new();
//! let mut demux = FlvDemuxer::new();
//! let mut frames = Vec::new();
//! while let Some(tag) = reader.decode(&mut stream)? {
//!     demux.push_tag(&tag)?;
//!     while let Some(event) = demux.poll_event() {
//!         if let FlvEvent::Frame(f) = event {
//!             frames.push(f);
//!         }
//!     }
//! }
//! let track = demux.audio_track().unwrap().clone();
//! assert_eq!(track.audio, Some(AudioParams { sample_rate: 44_100, channels: 1 }));
//! assert_eq!(frames[0].dts.ticks(), 23); // 1024 / 44100 s in FLV milliseconds
//!
//! // Egress, write-once: build the tag once, then each subscriber only gets its own
//! // 11-byte header (here rebased to start at 0) next to the shared body.
//! let shared: Tag = muxer.frame(&track, &frames[0])?;
//! for subscriber_start in [0u32, 20] {
//!     let (header, body, trailer) = shared.wire_parts(shared.timestamp - subscriber_start)?;
//!     assert_eq!(body.as_ptr(), shared.body.as_ptr()); // no copy per subscriber
//!     assert_eq!(header.len() + body.len() + trailer.len(), shared.wire_len());
//! }
//! # Ok::<(), weir_flv::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audio;
mod codec_header;
mod codecs;
mod demux;
mod error;
mod header;
mod mux;
mod reader;
mod script;
mod tag;
mod video;

pub use audio::{
    AacPacketType, AudioFourCc, AudioPacketType, AudioTagHeader, AudioTrackPart, AudioTracks,
    ExAudioHeader, LegacyAudioHeader, SoundFormat,
};
pub use codec_header::{HeaderBytes, MultitrackType, MAX_CODEC_HEADER_LEN};
pub use demux::{
    FlvDemuxer, FlvEvent, AUDIO_TRACK, DEFAULT_MAX_TRACKS, FLV_CLOCK_RATE, VIDEO_TRACK,
};
pub use error::{Error, Result};
pub use header::{FlvHeader, HEADER_LEN};
pub use mux::{AvcSignalling, FlvMuxer, FramedTag, HevcSignalling, MuxConfig};
pub use reader::{read_all, FlvReader, PreviousTagSizeCheck, ReaderConfig, ReaderStats};
pub use script::{Metadata, ScriptData, ON_META_DATA, SET_DATA_FRAME};
pub use tag::{
    previous_tag_size, tag_header, Tag, TagHeader, TagType, MAX_BODY_LEN, PREVIOUS_TAG_SIZE_LEN,
    TAG_HEADER_LEN,
};
pub use video::{
    VideoCodec, VideoCodecId, VideoFourCc, VideoFrameType, VideoPacketType, VideoTagHeader,
    VideoTrackPart, VideoTracks,
};
