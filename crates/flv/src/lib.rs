//! FLV container and tags, enhanced RTMP codec headers, FLV tag to media frame conversion.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audio;
mod codec_header;
mod error;
mod header;
mod reader;
mod tag;
mod video;

pub use audio::{
    AacPacketType, AudioFourCc, AudioPacketType, AudioTagHeader, ExAudioHeader, LegacyAudioHeader,
    SoundFormat,
};
pub use codec_header::{HeaderBytes, MAX_CODEC_HEADER_LEN};
pub use error::{Error, Result};
pub use header::{FlvHeader, HEADER_LEN};
pub use reader::{read_all, FlvReader, PreviousTagSizeCheck, ReaderConfig, ReaderStats};
pub use tag::{
    previous_tag_size, tag_header, Tag, TagHeader, TagType, MAX_BODY_LEN, PREVIOUS_TAG_SIZE_LEN,
    TAG_HEADER_LEN,
};
pub use video::{
    VideoCodec, VideoCodecId, VideoFourCc, VideoFrameType, VideoPacketType, VideoTagHeader,
};
