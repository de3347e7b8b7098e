//! Media units: what a publisher hands the hub and every player receives.
//!
//! A unit is built once per stream and shared (`Arc`) by every player. Each egress
//! format's encoding of it (an HTTP-FLV tag, RTMP chunks) is built lazily, by the first
//! player that needs it, and then shared — formats nobody plays are never built.

use std::sync::OnceLock;

use bytes::{BufMut, Bytes, BytesMut};
use weir_flv::{AudioTagHeader, TagType, VideoFrameType, VideoPacketType, VideoTagHeader};
use weir_rtmp_chunk::message::{csid, type_id};
use weir_rtmp_chunk::PreparedMessage;

/// What a [`Unit`] carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnitKind {
    /// An FLV video tag body (RTMP video message).
    Video,
    /// An FLV audio tag body (RTMP audio message).
    Audio,
    /// An `onMetaData` script body.
    Metadata,
    /// The stream ended; nothing follows.
    End,
}

/// One media message of a live stream, shared by all of its players.
#[derive(Debug)]
pub struct Unit {
    kind: UnitKind,
    timestamp: u32,
    keyframe: bool,
    sequence_header: bool,
    body: Bytes,
    flv_tag: OnceLock<Bytes>,
    rtmp: OnceLock<Option<PreparedMessage>>,
}

impl Unit {
    fn new(kind: UnitKind, timestamp: u32, body: Bytes) -> Unit {
        Unit {
            kind,
            timestamp,
            keyframe: false,
            sequence_header: false,
            body,
            flv_tag: OnceLock::new(),
            rtmp: OnceLock::new(),
        }
    }

    /// A video unit from an FLV video tag body (legacy AVC/HEVC or enhanced RTMP). The
    /// keyframe and sequence-header flags are read from the tag header; a body whose header
    /// does not parse is still carried (as a non-key frame).
    pub fn video(timestamp: u32, body: Bytes) -> Unit {
        let mut u = Unit::new(UnitKind::Video, timestamp, body);
        if let Ok((h, _)) = VideoTagHeader::parse(&u.body) {
            u.sequence_header = h.packet_type == VideoPacketType::SequenceStart;
            u.keyframe = !u.sequence_header
                && h.packet_type.is_coded_frames()
                && matches!(
                    h.frame_type,
                    VideoFrameType::Key | VideoFrameType::GeneratedKey
                );
        }
        u
    }

    /// An audio unit from an FLV audio tag body.
    pub fn audio(timestamp: u32, body: Bytes) -> Unit {
        let mut u = Unit::new(UnitKind::Audio, timestamp, body);
        if let Ok((h, _)) = AudioTagHeader::parse(&u.body) {
            u.sequence_header = h.is_sequence_header();
        }
        u
    }

    /// A metadata unit from an `onMetaData` script tag body.
    pub fn metadata(timestamp: u32, body: Bytes) -> Unit {
        Unit::new(UnitKind::Metadata, timestamp, body)
    }

    /// The end-of-stream marker.
    pub fn end() -> Unit {
        Unit::new(UnitKind::End, 0, Bytes::new())
    }

    /// The kind.
    pub fn kind(&self) -> UnitKind {
        self.kind
    }

    /// Timestamp in milliseconds (after repair).
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// A video random-access point (not a sequence header).
    pub fn is_keyframe(&self) -> bool {
        self.keyframe
    }

    /// A codec configuration (AVC/HEVC sequence header, AAC AudioSpecificConfig, …).
    pub fn is_sequence_header(&self) -> bool {
        self.sequence_header
    }

    /// The FLV tag body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    fn tag_type(&self) -> Option<TagType> {
        match self.kind {
            UnitKind::Video => Some(TagType::Video),
            UnitKind::Audio => Some(TagType::Audio),
            UnitKind::Metadata => Some(TagType::Script),
            UnitKind::End => None,
        }
    }

    /// The complete FLV tag (11-byte header, body, PreviousTagSize), built once.
    pub fn flv_tag(&self) -> &Bytes {
        self.flv_tag.get_or_init(|| {
            let Some(tag_type) = self.tag_type() else {
                return Bytes::new();
            };
            let Ok(header) = weir_flv::tag_header(tag_type, self.body.len(), self.timestamp) else {
                return Bytes::new();
            };
            let mut out = BytesMut::with_capacity(header.len() + self.body.len() + 4);
            out.put_slice(&header);
            out.put_slice(&self.body);
            out.put_slice(&weir_flv::previous_tag_size(self.body.len()));
            out.freeze()
        })
    }

    /// The RTMP message pre-split into chunks of `chunk_size`, built once per unit for the
    /// first chunk size asked for (the relay uses one chunk size for all players; another
    /// size is built uncached). `None` for [`UnitKind::End`] or an oversized body.
    pub fn rtmp_message(&self, chunk_size: u32) -> Option<PreparedMessage> {
        let build = || {
            let (csid, type_id) = match self.kind {
                UnitKind::Video => (csid::VIDEO, type_id::VIDEO),
                UnitKind::Audio => (csid::AUDIO, type_id::AUDIO),
                UnitKind::Metadata => (csid::DATA, type_id::DATA_AMF0),
                UnitKind::End => return None,
            };
            PreparedMessage::new(csid, chunk_size, type_id, self.timestamp, &self.body).ok()
        };
        let cached = self.rtmp.get_or_init(build);
        match cached {
            Some(m) if m.chunk_size() == chunk_size => Some(m.clone()),
            Some(_) => build(),
            None => None,
        }
    }

    /// Bytes of payload carried (for cache accounting).
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}
