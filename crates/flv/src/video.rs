//! Video tag headers: legacy `VideoTagHeader` (FLV spec v10.1, E.4.3.1, plus the codec id 12
//! HEVC extension used by Chinese CDNs) and the enhanced-RTMP `ExVideoTagHeader`
//! (E-RTMP v1/v2, "Enhanced Video").

use core::ops::Range;

use crate::codec_header::{
    read_mod_ex, write_mod_ex, Cursor, HeaderBytes, MultitrackCursor, MultitrackType, MOD_EX,
};
use crate::{Error, Result};

/// FrameType (legacy: upper nibble; enhanced: bits 6..4).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum VideoFrameType {
    /// 1: key frame (a seekable frame; IDR/IRAP for AVC/HEVC).
    Key,
    /// 2: inter frame.
    Inter,
    /// 3: disposable inter frame (H.263 only).
    DisposableInter,
    /// 4: generated key frame (server use only).
    GeneratedKey,
    /// 5: video info / command frame (no picture).
    Command,
}

impl VideoFrameType {
    fn from_u8(value: u8) -> Result<VideoFrameType> {
        Ok(match value {
            1 => VideoFrameType::Key,
            2 => VideoFrameType::Inter,
            3 => VideoFrameType::DisposableInter,
            4 => VideoFrameType::GeneratedKey,
            5 => VideoFrameType::Command,
            value => return Err(Error::BadFrameType { value }),
        })
    }

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            VideoFrameType::Key => 1,
            VideoFrameType::Inter => 2,
            VideoFrameType::DisposableInter => 3,
            VideoFrameType::GeneratedKey => 4,
            VideoFrameType::Command => 5,
        }
    }

    /// Key or generated key frame.
    pub const fn is_key(self) -> bool {
        matches!(self, VideoFrameType::Key | VideoFrameType::GeneratedKey)
    }
}

/// Legacy CodecID (lower nibble of the first video byte).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum VideoCodecId {
    /// 2: Sorenson H.263.
    SorensonH263,
    /// 3: Screen video.
    ScreenVideo,
    /// 4: On2 VP6.
    Vp6,
    /// 5: On2 VP6 with alpha.
    Vp6Alpha,
    /// 6: Screen video v2.
    ScreenVideo2,
    /// 7: AVC / H.264.
    Avc,
    /// 12: HEVC / H.265 — not in Adobe's spec; the extension used by Chinese CDNs,
    /// nginx-rtmp/SRS forks and OBS plugins, laid out exactly like AVC.
    Hevc,
    /// Any other value.
    Other(u8),
}

impl VideoCodecId {
    /// From the 4-bit value.
    pub const fn from_u8(v: u8) -> VideoCodecId {
        match v & 0x0F {
            2 => VideoCodecId::SorensonH263,
            3 => VideoCodecId::ScreenVideo,
            4 => VideoCodecId::Vp6,
            5 => VideoCodecId::Vp6Alpha,
            6 => VideoCodecId::ScreenVideo2,
            7 => VideoCodecId::Avc,
            12 => VideoCodecId::Hevc,
            other => VideoCodecId::Other(other),
        }
    }

    /// The 4-bit value.
    pub const fn to_u8(self) -> u8 {
        match self {
            VideoCodecId::SorensonH263 => 2,
            VideoCodecId::ScreenVideo => 3,
            VideoCodecId::Vp6 => 4,
            VideoCodecId::Vp6Alpha => 5,
            VideoCodecId::ScreenVideo2 => 6,
            VideoCodecId::Avc => 7,
            VideoCodecId::Hevc => 12,
            VideoCodecId::Other(v) => v & 0x0F,
        }
    }

    /// AVC and legacy HEVC carry an AVCPacketType and a composition time.
    pub const fn has_avc_layout(self) -> bool {
        matches!(self, VideoCodecId::Avc | VideoCodecId::Hevc)
    }
}

/// Video FourCC of the enhanced header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum VideoFourCc {
    /// `avc1` (E-RTMP v2).
    Avc1,
    /// `hvc1`.
    Hvc1,
    /// `av01`.
    Av01,
    /// `vp09`.
    Vp09,
    /// `vp08` (E-RTMP v2).
    Vp08,
}

impl VideoFourCc {
    /// The four bytes on the wire.
    pub const fn to_bytes(self) -> [u8; 4] {
        match self {
            VideoFourCc::Avc1 => *b"avc1",
            VideoFourCc::Hvc1 => *b"hvc1",
            VideoFourCc::Av01 => *b"av01",
            VideoFourCc::Vp09 => *b"vp09",
            VideoFourCc::Vp08 => *b"vp08",
        }
    }

    /// Maps the four bytes.
    ///
    /// # Errors
    /// [`Error::UnknownFourCc`].
    pub fn from_bytes(b: [u8; 4]) -> Result<VideoFourCc> {
        Ok(match &b {
            b"avc1" => VideoFourCc::Avc1,
            b"hvc1" => VideoFourCc::Hvc1,
            b"av01" => VideoFourCc::Av01,
            b"vp09" => VideoFourCc::Vp09,
            b"vp08" => VideoFourCc::Vp08,
            _ => return Err(Error::UnknownFourCc { fourcc: b }),
        })
    }

    /// `CodedFrames` packets of this codec carry an SI24 composition time (AVC and HEVC).
    pub const fn has_composition_time(self) -> bool {
        matches!(self, VideoFourCc::Avc1 | VideoFourCc::Hvc1)
    }
}

/// Which codec signalling a video tag uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// Legacy 4-bit CodecID.
    Legacy(VideoCodecId),
    /// Enhanced-RTMP FourCC.
    FourCc(VideoFourCc),
    /// An enhanced-RTMP command frame: E-RTMP v2 puts the command byte right after the
    /// first byte (and any ModEx), with no FourCC.
    EnhancedCommand,
}

/// What a video tag body carries: the legacy AVCPacketType and the enhanced VideoPacketType
/// mapped onto one set.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum VideoPacketType {
    /// Codec configuration: avcC / hvcC / av1C / vpcC (legacy AVC packet type 0,
    /// enhanced 0).
    SequenceStart,
    /// Coded picture data (legacy AVC packet type 1, enhanced 1; every legacy non-AVC tag).
    CodedFrames,
    /// End of sequence (legacy 2, enhanced 2).
    SequenceEnd,
    /// Coded picture data with an implied composition time of 0 (enhanced 3).
    CodedFramesX,
    /// AMF-encoded metadata such as `colorInfo` (enhanced 4).
    Metadata,
    /// AV1 carried as an MPEG-2 TS descriptor (enhanced 5, `av01` only).
    Mpeg2TsSequenceStart,
    /// A command frame (FrameType 5): the payload is one UI8 command
    /// (0 = start of client-side seeking, 1 = end).
    Command,
}

/// The enhanced video packet type that turns on multitrack mode.
const MULTITRACK: u8 = 6;

impl VideoPacketType {
    fn from_enhanced(v: u8) -> Result<VideoPacketType> {
        Ok(match v {
            0 => VideoPacketType::SequenceStart,
            1 => VideoPacketType::CodedFrames,
            2 => VideoPacketType::SequenceEnd,
            3 => VideoPacketType::CodedFramesX,
            4 => VideoPacketType::Metadata,
            5 => VideoPacketType::Mpeg2TsSequenceStart,
            MULTITRACK => return Err(Error::UnsupportedFeature {
                feature:
                    "multitrack video in VideoTagHeader::parse (use VideoTagHeader::parse_tracks)",
            }),
            value => {
                return Err(Error::UnknownPacketType {
                    what: "video",
                    value,
                })
            }
        })
    }

    const fn to_enhanced(self) -> u8 {
        match self {
            VideoPacketType::SequenceStart => 0,
            VideoPacketType::CodedFrames | VideoPacketType::Command => 1,
            VideoPacketType::SequenceEnd => 2,
            VideoPacketType::CodedFramesX => 3,
            VideoPacketType::Metadata => 4,
            VideoPacketType::Mpeg2TsSequenceStart => 5,
        }
    }

    const fn to_avc(self) -> u8 {
        match self {
            VideoPacketType::SequenceStart => 0,
            VideoPacketType::SequenceEnd => 2,
            _ => 1,
        }
    }

    /// True for picture data (`CodedFrames` or `CodedFramesX`).
    pub const fn is_coded_frames(self) -> bool {
        matches!(
            self,
            VideoPacketType::CodedFrames | VideoPacketType::CodedFramesX
        )
    }
}

/// A video tag header, legacy or enhanced.
///
/// ```
/// use weir_flv::{VideoCodec, VideoFourCc, VideoFrameType, VideoPacketType, VideoTagHeader};
/// // Enhanced RTMP: key frame, CodedFrames, hvc1, composition time -40 ms.
/// let body = [0x91, b'h', b'v', b'c', b'1', 0xFF, 0xFF, 0xD8, 0, 0, 0, 2, 0x26, 0x01];
/// let (h, len) = VideoTagHeader::parse(&body)?;
/// assert_eq!(len, 8);
/// assert_eq!(h.codec, VideoCodec::FourCc(VideoFourCc::Hvc1));
/// assert_eq!(h.frame_type, VideoFrameType::Key);
/// assert_eq!(h.packet_type, VideoPacketType::CodedFrames);
/// assert_eq!(h.composition_time, -40);
/// assert_eq!(&*h.to_bytes(), &body[..8]);
/// # Ok::<(), weir_flv::Error>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct VideoTagHeader {
    /// The frame type.
    pub frame_type: VideoFrameType,
    /// Legacy codec id or FourCC.
    pub codec: VideoCodec,
    /// What the payload is.
    pub packet_type: VideoPacketType,
    /// Composition time offset (pts − dts) in milliseconds, SI24 on the wire; 0 where the
    /// layout has none.
    pub composition_time: i32,
    /// Sub-millisecond timestamp offset from an enhanced ModEx `TimestampOffsetNano`.
    pub timestamp_offset_nanos: u32,
}

impl VideoTagHeader {
    /// A legacy AVC / codec-12 HEVC header.
    pub const fn legacy(
        frame_type: VideoFrameType,
        codec_id: VideoCodecId,
        packet_type: VideoPacketType,
        composition_time: i32,
    ) -> VideoTagHeader {
        VideoTagHeader {
            frame_type,
            codec: VideoCodec::Legacy(codec_id),
            packet_type,
            composition_time,
            timestamp_offset_nanos: 0,
        }
    }

    /// An enhanced header.
    pub const fn enhanced(
        frame_type: VideoFrameType,
        fourcc: VideoFourCc,
        packet_type: VideoPacketType,
        composition_time: i32,
    ) -> VideoTagHeader {
        VideoTagHeader {
            frame_type,
            codec: VideoCodec::FourCc(fourcc),
            packet_type,
            composition_time,
            timestamp_offset_nanos: 0,
        }
    }

    /// Parses the header at the start of a video tag body; returns it and its length (the
    /// payload starts there).
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadFrameType`], [`Error::UnknownPacketType`],
    /// [`Error::UnknownFourCc`], [`Error::UnsupportedFeature`] (multitrack).
    pub fn parse(body: &[u8]) -> Result<(VideoTagHeader, usize)> {
        let mut c = Cursor::new(body, "video tag header");
        let b0 = c.u8()?;
        if b0 & 0x80 == 0 {
            let frame_type = VideoFrameType::from_u8(b0 >> 4)?;
            let codec_id = VideoCodecId::from_u8(b0 & 0x0F);
            let mut h =
                VideoTagHeader::legacy(frame_type, codec_id, VideoPacketType::CodedFrames, 0);
            if frame_type == VideoFrameType::Command {
                // The payload is the UI8 command (FLV spec E.4.3.1).
                h.packet_type = VideoPacketType::Command;
            } else if codec_id.has_avc_layout() {
                h.packet_type = match c.u8()? {
                    0 => VideoPacketType::SequenceStart,
                    1 => VideoPacketType::CodedFrames,
                    2 => VideoPacketType::SequenceEnd,
                    value => return Err(Error::UnknownPacketType { what: "AVC", value }),
                };
                // Present for every AVC packet type; meaningful for NALUs only.
                h.composition_time = c.si24()?;
            }
            return Ok((h, c.pos()));
        }
        // Enhanced: IsExHeader(1) FrameType(3) PacketType(4).
        let frame_type = VideoFrameType::from_u8((b0 >> 4) & 0x07)?;
        let mut packet_type = b0 & 0x0F;
        let mut nanos = 0;
        if packet_type == MOD_EX {
            (packet_type, nanos) = read_mod_ex(&mut c)?;
        }
        // E-RTMP v2 ExVideoTagHeader: a command frame (unless the packet is Metadata, which
        // ignores FrameType) has its UI8 command here and no FourCC.
        if frame_type == VideoFrameType::Command && packet_type != 4 {
            let h = VideoTagHeader {
                frame_type,
                codec: VideoCodec::EnhancedCommand,
                packet_type: VideoPacketType::Command,
                composition_time: 0,
                timestamp_offset_nanos: nanos,
            };
            return Ok((h, c.pos()));
        }
        let packet_type = VideoPacketType::from_enhanced(packet_type)?;
        let fourcc = VideoFourCc::from_bytes(c.fourcc()?)?;
        let mut composition_time = 0;
        if packet_type == VideoPacketType::CodedFrames && fourcc.has_composition_time() {
            composition_time = c.si24()?;
        }
        let h = VideoTagHeader {
            frame_type,
            codec: VideoCodec::FourCc(fourcc),
            packet_type,
            composition_time,
            timestamp_offset_nanos: nanos,
        };
        Ok((h, c.pos()))
    }

    /// The header bytes (write the payload after them). A composition time outside SI24 is
    /// clamped; [`crate::FlvMuxer`] rejects it before it gets here.
    pub fn to_bytes(&self) -> HeaderBytes {
        let mut out = HeaderBytes::new();
        let ct = self
            .composition_time
            .clamp(-0x80_0000, 0x7F_FFFF)
            .to_be_bytes();
        match self.codec {
            VideoCodec::Legacy(id) => {
                out.push(&[(self.frame_type.to_u8() << 4) | id.to_u8()]);
                if id.has_avc_layout() && self.packet_type != VideoPacketType::Command {
                    out.push(&[self.packet_type.to_avc(), ct[1], ct[2], ct[3]]);
                }
            }
            VideoCodec::FourCc(_) | VideoCodec::EnhancedCommand => {
                // A command frame is always written the E-RTMP v2 way: no FourCC.
                let command = self.packet_type == VideoPacketType::Command
                    || self.codec == VideoCodec::EnhancedCommand;
                let frame_type = if command {
                    VideoFrameType::Command
                } else {
                    self.frame_type
                };
                let high = 0x80 | (frame_type.to_u8() << 4);
                let pt = self.packet_type.to_enhanced();
                if self.timestamp_offset_nanos != 0 {
                    write_mod_ex(&mut out, high, pt, self.timestamp_offset_nanos);
                } else {
                    out.push(&[high | pt]);
                }
                if let (VideoCodec::FourCc(fourcc), false) = (self.codec, command) {
                    out.push(&fourcc.to_bytes());
                    if self.packet_type == VideoPacketType::CodedFrames
                        && fourcc.has_composition_time()
                    {
                        out.push(&ct[1..]);
                    }
                }
            }
        }
        out
    }
}

/// One track's share of a video tag: its E-RTMP track id (0 outside multitrack messages),
/// its header and where its payload is in the tag body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoTrackPart {
    /// Track id (0 = the default / highest-priority track).
    pub track_id: u8,
    /// The track's header (FourCC, packet type, composition time; frame type and ModEx
    /// offset are shared by all tracks of a message).
    pub header: VideoTagHeader,
    /// The payload's byte range in the tag body.
    pub payload: Range<usize>,
}

/// Iterator over the tracks of a video tag, from [`VideoTagHeader::parse_tracks`].
#[derive(Clone, Debug)]
pub struct VideoTracks<'a> {
    body: &'a [u8],
    single: Option<VideoTrackPart>,
    multi: Option<(MultitrackCursor, VideoTagHeader, u8)>,
    done: bool,
}

impl VideoTagHeader {
    /// Parses a video tag that may be an E-RTMP v2 multitrack message (packet type
    /// Multitrack: one or many tracks, one or many codecs). Every other tag yields exactly
    /// one part with track id 0, as [`VideoTagHeader::parse`] would. No allocation.
    ///
    /// ```
    /// use weir_flv::{VideoFourCc, VideoPacketType, VideoTagHeader, VideoCodec};
    /// // Key frame, Multitrack; ManyTracks of CodedFramesX in avc1; tracks 0 and 1.
    /// let body = b"\x96\x13avc1\x00\x00\x00\x02AB\x01\x00\x00\x01C";
    /// let parts: Vec<_> = VideoTagHeader::parse_tracks(body)?.collect::<Result<_, _>>()?;
    /// assert_eq!(parts.len(), 2);
    /// assert_eq!(parts[1].track_id, 1);
    /// assert_eq!(parts[1].header.codec, VideoCodec::FourCc(VideoFourCc::Avc1));
    /// assert_eq!(parts[1].header.packet_type, VideoPacketType::CodedFramesX);
    /// assert_eq!(&body[parts[1].payload.clone()], b"C");
    /// # Ok::<(), weir_flv::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`VideoTagHeader::parse`]; the iterator yields [`Error::Truncated`] (then stops)
    /// for a track that runs past the body.
    pub fn parse_tracks(body: &[u8]) -> Result<VideoTracks<'_>> {
        let mut tracks = VideoTracks {
            body,
            single: None,
            multi: None,
            done: false,
        };
        let b0 = body.first().copied().unwrap_or(0);
        let mut c = Cursor::new(body, "video tag header");
        if b0 & 0x80 != 0 {
            c.u8()?;
            let frame_type = VideoFrameType::from_u8((b0 >> 4) & 0x07)?;
            let (mut packet_type, mut nanos) = (b0 & 0x0F, 0);
            if packet_type == MOD_EX {
                (packet_type, nanos) = read_mod_ex(&mut c)?;
            }
            let command = frame_type == VideoFrameType::Command && packet_type != 4;
            if packet_type == MULTITRACK && !command {
                let b = c.u8()?;
                let kind = MultitrackType::from_u8(b >> 4)?;
                let inner = b & 0x0F;
                if inner == MULTITRACK {
                    return Err(Error::UnknownPacketType {
                        what: "multitrack video",
                        value: inner,
                    });
                }
                let packet_type = VideoPacketType::from_enhanced(inner)?;
                let fourcc = if kind == MultitrackType::ManyTracksManyCodecs {
                    None
                } else {
                    Some(c.fourcc()?)
                };
                let template = VideoTagHeader {
                    frame_type,
                    codec: VideoCodec::EnhancedCommand,
                    packet_type,
                    composition_time: 0,
                    timestamp_offset_nanos: nanos,
                };
                let cursor = MultitrackCursor {
                    kind,
                    fourcc,
                    pos: c.pos(),
                };
                tracks.multi = Some((cursor, template, inner));
                return Ok(tracks);
            }
        }
        let (header, len) = VideoTagHeader::parse(body)?;
        tracks.single = Some(VideoTrackPart {
            track_id: 0,
            header,
            payload: len..body.len(),
        });
        Ok(tracks)
    }
}

impl Iterator for VideoTracks<'_> {
    type Item = Result<VideoTrackPart>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(part) = self.single.take() {
            return Some(Ok(part));
        }
        let (cursor, template, _) = self.multi.as_mut()?;
        if self.done || cursor.pos >= self.body.len() {
            return None;
        }
        let one = cursor.kind == MultitrackType::OneTrack;
        let result = (|| {
            let (fourcc, track_id, start, end) = cursor.next_track(self.body, "video track")?;
            let fourcc = VideoFourCc::from_bytes(fourcc)?;
            let mut header = *template;
            header.codec = VideoCodec::FourCc(fourcc);
            let mut start = start;
            if header.packet_type == VideoPacketType::CodedFrames && fourcc.has_composition_time() {
                let track = self.body.get(start..end).unwrap_or(&[]);
                header.composition_time = Cursor::new(track, "video track").si24()?;
                start += 3;
            }
            Ok(VideoTrackPart {
                track_id,
                header,
                payload: start..end,
            })
        })();
        self.done = one || result.is_err();
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_avc() {
        // Key frame AVC NALU with composition time 80.
        let (h, n) = VideoTagHeader::parse(&[0x17, 1, 0, 0, 80, 0, 0, 0, 1, 0x65]).unwrap();
        assert_eq!(n, 5);
        assert_eq!(
            h,
            VideoTagHeader::legacy(
                VideoFrameType::Key,
                VideoCodecId::Avc,
                VideoPacketType::CodedFrames,
                80
            )
        );
        // Negative composition time.
        let (h, _) = VideoTagHeader::parse(&[0x27, 1, 0xFF, 0xFF, 0xB0]).unwrap();
        assert_eq!(h.composition_time, -80);
        assert_eq!(&*h.to_bytes(), &[0x27, 1, 0xFF, 0xFF, 0xB0]);
        // Sequence header and end of sequence.
        let (h, _) = VideoTagHeader::parse(&[0x17, 0, 0, 0, 0, 1, 0x64]).unwrap();
        assert_eq!(h.packet_type, VideoPacketType::SequenceStart);
        let (h, n) = VideoTagHeader::parse(&[0x17, 2, 0, 0, 0]).unwrap();
        assert_eq!((h.packet_type, n), (VideoPacketType::SequenceEnd, 5));
        assert!(matches!(
            VideoTagHeader::parse(&[0x17, 3, 0, 0, 0]),
            Err(Error::UnknownPacketType {
                what: "AVC",
                value: 3
            })
        ));
        assert!(matches!(
            VideoTagHeader::parse(&[0x17, 1, 0]),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            VideoTagHeader::parse(&[0x07]),
            Err(Error::BadFrameType { value: 0 })
        ));
    }

    #[test]
    fn legacy_hevc_12_and_others() {
        let (h, n) = VideoTagHeader::parse(&[0x1C, 0, 0, 0, 0, 1]).unwrap();
        assert_eq!(n, 5);
        assert_eq!(h.codec, VideoCodec::Legacy(VideoCodecId::Hevc));
        assert_eq!(h.to_bytes()[0], 0x1C);
        // Sorenson H.263: no packet type, no composition time.
        let (h, n) = VideoTagHeader::parse(&[0x22, 0, 0]).unwrap();
        assert_eq!(
            (h.codec, n),
            (VideoCodec::Legacy(VideoCodecId::SorensonH263), 1)
        );
        // Command frame: payload is the command byte.
        let (h, n) = VideoTagHeader::parse(&[0x57, 1]).unwrap();
        assert_eq!((h.packet_type, n), (VideoPacketType::Command, 1));
    }

    #[test]
    fn enhanced_packet_types() {
        for (fourcc, bytes) in [
            (VideoFourCc::Hvc1, *b"hvc1"),
            (VideoFourCc::Av01, *b"av01"),
            (VideoFourCc::Vp09, *b"vp09"),
            (VideoFourCc::Avc1, *b"avc1"),
        ] {
            for (pt, v) in [
                (VideoPacketType::SequenceStart, 0u8),
                (VideoPacketType::CodedFrames, 1),
                (VideoPacketType::SequenceEnd, 2),
                (VideoPacketType::CodedFramesX, 3),
                (VideoPacketType::Metadata, 4),
            ] {
                let mut body = vec![0x90 | v];
                body.extend_from_slice(&bytes);
                let with_ct = pt == VideoPacketType::CodedFrames && fourcc.has_composition_time();
                if with_ct {
                    body.extend_from_slice(&[0, 0, 33]);
                }
                body.push(0xAA);
                let (h, n) = VideoTagHeader::parse(&body).unwrap();
                assert_eq!(n, body.len() - 1, "{fourcc:?} {pt:?}");
                assert_eq!(h.packet_type, pt);
                assert_eq!(h.codec, VideoCodec::FourCc(fourcc));
                assert_eq!(h.composition_time, if with_ct { 33 } else { 0 });
                assert_eq!(&*h.to_bytes(), &body[..n]);
            }
        }
        // E-RTMP v2 command frame: the command byte follows the first byte, no FourCC.
        let (h, n) = VideoTagHeader::parse(&[0xD1, 0x01]).unwrap();
        assert_eq!(
            (h.codec, h.packet_type, n),
            (VideoCodec::EnhancedCommand, VideoPacketType::Command, 1)
        );
        assert_eq!(&*h.to_bytes(), &[0xD1]);
        // …but FrameType 5 with Metadata is metadata (FrameType ignored), FourCC present.
        let (h, n) = VideoTagHeader::parse(b"\xD4hvc1\x02").unwrap();
        assert_eq!((h.packet_type, n), (VideoPacketType::Metadata, 5));
        // Inter frame = 2 in bits 6..4.
        let (h, _) = VideoTagHeader::parse(b"\xA3av01").unwrap();
        assert_eq!(h.frame_type, VideoFrameType::Inter);
        assert!(matches!(
            VideoTagHeader::parse(b"\x91xxxx"),
            Err(Error::UnknownFourCc { .. })
        ));
        assert!(matches!(
            VideoTagHeader::parse(b"\x96hvc1"),
            Err(Error::UnsupportedFeature { .. })
        ));
        // A plain tag through parse_tracks is one part with track id 0.
        let parts: Vec<_> = VideoTagHeader::parse_tracks(b"\x93av01XYZ")
            .unwrap()
            .collect();
        assert_eq!(parts.len(), 1);
        let p = parts[0].as_ref().unwrap();
        assert_eq!((p.track_id, p.payload.clone()), (0, 5..8));
        assert!(matches!(
            VideoTagHeader::parse(b"\x98hvc1"),
            Err(Error::UnknownPacketType {
                what: "video",
                value: 8
            })
        ));
    }

    #[test]
    fn multitrack() {
        // OneTrack hvc1 CodedFrames, track 3, ct 2.
        let body = b"\x96\x01hvc1\x03\x00\x00\x02DATA";
        let parts: Vec<_> = VideoTagHeader::parse_tracks(body)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(
            (parts[0].track_id, parts[0].header.composition_time),
            (3, 2)
        );
        assert_eq!(&body[parts[0].payload.clone()], b"DATA");
        // ManyTracksManyCodecs: av01 track 0, vp09 track 1, SequenceStart.
        let body = b"\x96\x20av01\x00\x00\x00\x02abvp09\x01\x00\x00\x01c";
        let parts: Vec<_> = VideoTagHeader::parse_tracks(body)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].header.codec, VideoCodec::FourCc(VideoFourCc::Av01));
        assert_eq!(parts[1].header.codec, VideoCodec::FourCc(VideoFourCc::Vp09));
        assert_eq!(parts[1].header.packet_type, VideoPacketType::SequenceStart);
        assert_eq!(&body[parts[0].payload.clone()], b"ab");
        // A track size past the end.
        let body = b"\x96\x11avc1\x00\x00\x00\x09AB";
        let mut it = VideoTagHeader::parse_tracks(body).unwrap();
        assert!(matches!(it.next(), Some(Err(Error::Truncated { .. }))));
        assert!(it.next().is_none());
        // Nested multitrack and unknown multitrack types.
        assert!(VideoTagHeader::parse_tracks(b"\x96\x16avc1").is_err());
        assert!(VideoTagHeader::parse_tracks(b"\x96\x31avc1").is_err());
    }

    #[test]
    fn enhanced_mod_ex() {
        let mut h = VideoTagHeader::enhanced(
            VideoFrameType::Key,
            VideoFourCc::Hvc1,
            VideoPacketType::CodedFrames,
            -5,
        );
        h.timestamp_offset_nanos = 123_456;
        let b = h.to_bytes();
        assert_eq!(b[0], 0x97);
        let (back, n) = VideoTagHeader::parse(&b).unwrap();
        assert_eq!(back, h);
        assert_eq!(n, b.len());
        // A 256+-byte ModEx entry uses the UI16 size escape.
        let mut body = vec![0x97, 0xFF, 0x00, 0xFF];
        body.extend_from_slice(&[0; 256]);
        body.push(0x13); // unknown ModEx type 1, then CodedFramesX
        body.extend_from_slice(b"vp09");
        let (h, n) = VideoTagHeader::parse(&body).unwrap();
        assert_eq!(
            (h.packet_type, n),
            (VideoPacketType::CodedFramesX, body.len())
        );
    }
}
