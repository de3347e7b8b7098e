//! Media units: what a publisher hands the hub and every player receives.
//!
//! A unit is built once per stream and shared (`Arc`) by every player. Each egress
//! format's encoding of it (an HTTP-FLV tag, RTMP chunks) is built lazily, by the first
//! player that needs it, and then shared — formats nobody plays are never built.

use std::sync::OnceLock;

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use weir_flv::{
    AudioTagHeader, FlvMuxer, MuxConfig, TagType, VideoFrameType, VideoPacketType, VideoTagHeader,
};
use weir_media::{Frame, TrackInfo};
use weir_rtmp_chunk::message::{csid, type_id};
use weir_rtmp_chunk::PreparedMessage;

use crate::rtp_out::RtpPackets;

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
///
/// A unit carries the same media in two shapes: the FLV tag body (what RTMP and HTTP-FLV
/// send) and the canonical [`Frame`] with its [`TrackInfo`] (what RTP, MPEG-TS and every
/// other egress start from). Whichever shape the ingest produced is set at creation; the
/// other is built once, lazily, the first time a player needs it.
#[derive(Debug)]
pub struct Unit {
    kind: UnitKind,
    timestamp: u32,
    keyframe: bool,
    sequence_header: bool,
    body: OnceLock<Bytes>,
    frame: Option<Frame>,
    track: Option<Arc<TrackInfo>>,
    flv_tag: OnceLock<Bytes>,
    rtmp: OnceLock<Option<PreparedMessage>>,
    rtp: OnceLock<RtpPackets>,
}

/// The FLV muxer used when a unit's FLV body is built from a frame: enhanced RTMP for
/// HEVC/AV1/VP9/Opus (what current OBS, ffmpeg 6.1+ and flv.js read).
fn flv_mux() -> FlvMuxer {
    FlvMuxer::new(MuxConfig::default())
}

impl Unit {
    fn new(kind: UnitKind, timestamp: u32, body: Bytes) -> Unit {
        let cell = OnceLock::new();
        let _ = cell.set(body);
        Unit {
            kind,
            timestamp,
            keyframe: false,
            sequence_header: false,
            body: cell,
            frame: None,
            track: None,
            flv_tag: OnceLock::new(),
            rtmp: OnceLock::new(),
            rtp: OnceLock::new(),
        }
    }

    /// Attaches the canonical frame (and its track) demuxed from an FLV body.
    pub(crate) fn with_frame(
        mut self,
        frame: Option<Frame>,
        track: Option<Arc<TrackInfo>>,
    ) -> Unit {
        self.frame = frame;
        self.track = track;
        self
    }

    /// A unit from a canonical frame of `track` (RTSP, GB28181, … ingest). The FLV body is
    /// built on first use. `timestamp` is the frame's DTS in milliseconds.
    pub fn from_frame(track: Arc<TrackInfo>, frame: Frame, timestamp: u32) -> Unit {
        let kind = match track.codec.kind() {
            weir_media::MediaKind::Video => UnitKind::Video,
            _ => UnitKind::Audio,
        };
        Unit {
            kind,
            timestamp,
            keyframe: kind == UnitKind::Video && frame.keyframe,
            sequence_header: false,
            body: OnceLock::new(),
            frame: Some(frame),
            track: Some(track),
            flv_tag: OnceLock::new(),
            rtmp: OnceLock::new(),
            rtp: OnceLock::new(),
        }
    }

    /// A codec-configuration unit announcing `track` (new or changed parameters). Its FLV
    /// body (the sequence header) is built on first use; codecs without one in FLV
    /// (G.711, MPEG audio) get an empty body.
    pub fn from_track(track: Arc<TrackInfo>, timestamp: u32) -> Unit {
        let kind = match track.codec.kind() {
            weir_media::MediaKind::Video => UnitKind::Video,
            _ => UnitKind::Audio,
        };
        Unit {
            kind,
            timestamp,
            keyframe: false,
            sequence_header: true,
            body: OnceLock::new(),
            frame: None,
            track: Some(track),
            flv_tag: OnceLock::new(),
            rtmp: OnceLock::new(),
            rtp: OnceLock::new(),
        }
    }

    /// A video unit from an FLV video tag body (legacy AVC/HEVC or enhanced RTMP). The
    /// keyframe and sequence-header flags are read from the tag header; a body whose header
    /// does not parse is still carried (as a non-key frame).
    pub fn video(timestamp: u32, body: Bytes) -> Unit {
        let parsed = VideoTagHeader::parse(&body);
        let mut u = Unit::new(UnitKind::Video, timestamp, body);
        if let Ok((h, _)) = parsed {
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
        let parsed = AudioTagHeader::parse(&body);
        let mut u = Unit::new(UnitKind::Audio, timestamp, body);
        if let Ok((h, _)) = parsed {
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

    /// The FLV tag body (built from the frame on first use; empty when the codec has no
    /// FLV form).
    pub fn body(&self) -> &Bytes {
        self.body.get_or_init(|| {
            let Some(track) = self.track.as_deref() else {
                return Bytes::new();
            };
            let built = if self.sequence_header {
                flv_mux()
                    .sequence_header(track, self.timestamp)
                    .map(|t| t.map(|t| t.body))
            } else {
                match &self.frame {
                    Some(f) => flv_mux().frame_parts(track, f).map(|parts| {
                        let mut b = BytesMut::with_capacity(parts.body_len());
                        parts.write_body(&mut b);
                        Some(b.freeze())
                    }),
                    None => Ok(None),
                }
            };
            match built {
                Ok(Some(b)) => b,
                Ok(None) => Bytes::new(),
                Err(e) => {
                    tracing::debug!(codec = %track.codec, error = %e, "no FLV form for this unit");
                    Bytes::new()
                }
            }
        })
    }

    /// The canonical frame, for units that carry coded media.
    pub fn frame(&self) -> Option<&Frame> {
        self.frame.as_ref()
    }

    /// The track this unit belongs to (for a sequence header: the track it announces).
    pub fn track(&self) -> Option<&Arc<TrackInfo>> {
        self.track.as_ref()
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
            let body = self.body();
            if body.is_empty() {
                return Bytes::new();
            }
            let Ok(header) = weir_flv::tag_header(tag_type, body.len(), self.timestamp) else {
                return Bytes::new();
            };
            let mut out = BytesMut::with_capacity(header.len() + body.len() + 4);
            out.put_slice(&header);
            out.put_slice(body);
            out.put_slice(&weir_flv::previous_tag_size(body.len()));
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
            let body = self.body();
            if body.is_empty() {
                return None;
            }
            PreparedMessage::new(csid, chunk_size, type_id, self.timestamp, body).ok()
        };
        let cached = self.rtmp.get_or_init(build);
        match cached {
            Some(m) if m.chunk_size() == chunk_size => Some(m.clone()),
            Some(_) => build(),
            None => None,
        }
    }

    /// The unit's RTP packets, when the stream's RTP stage has built them (only while the
    /// stream has RTSP players; see [`crate::rtp_out`]).
    pub(crate) fn rtp(&self) -> Option<&RtpPackets> {
        self.rtp.get()
    }

    pub(crate) fn set_rtp(&self, packets: RtpPackets) {
        let _ = self.rtp.set(packets);
    }

    /// Bytes of payload carried (for cache accounting).
    pub fn len(&self) -> usize {
        match (&self.frame, self.body.get()) {
            (_, Some(b)) => b.len(),
            (Some(f), None) => f.data.len(),
            (None, None) => 0,
        }
    }

    /// True when the unit carries no payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
