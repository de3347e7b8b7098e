//! FLV container and tags, enhanced RTMP codec headers, FLV tag to media frame conversion.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
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
    AacPacketType, AudioFourCc, AudioPacketType, AudioTagHeader, ExAudioHeader, LegacyAudioHeader,
    SoundFormat,
};
pub use codec_header::{HeaderBytes, MAX_CODEC_HEADER_LEN};
pub use demux::{FlvDemuxer, FlvEvent, AUDIO_TRACK, FLV_CLOCK_RATE, VIDEO_TRACK};
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
};
