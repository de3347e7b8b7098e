//! weir-media [`TrackInfo`]s and [`Frame`]s → FLV tags (the egress side of the RTMP and
//! HTTP-FLV remux point).
//!
//! Built for write-once fan-out: [`FlvMuxer::frame_parts`] returns the small codec header
//! inline plus the frame's own `Bytes`, so a relay can build each tag body once
//! ([`FramedTag::to_tag`], one copy) and hand clones of it to every subscriber, whose
//! per-connection work is an 11-byte tag header ([`crate::tag_header`]) or an RTMP chunk
//! header.

use bytes::{BufMut, Bytes, BytesMut};
use weir_media::{Codec, Frame, Timebase, TrackInfo};

use crate::audio::{
    AacPacketType, AudioFourCc, AudioPacketType, AudioTagHeader, ExAudioHeader, LegacyAudioHeader,
    SoundFormat,
};
use crate::codec_header::{HeaderBytes, MAX_CODEC_HEADER_LEN};
use crate::codecs;
use crate::header::FlvHeader;
use crate::script::Metadata;
use crate::tag::{tag_header, Tag, TagType, MAX_BODY_LEN, TAG_HEADER_LEN};
use crate::video::{VideoCodecId, VideoFourCc, VideoFrameType, VideoPacketType, VideoTagHeader};
use crate::{Error, Result};

/// How HEVC is signalled.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HevcSignalling {
    /// Enhanced RTMP FourCC `hvc1` (OBS 29.1+, ffmpeg 6.1+, YouTube, SRS 6, nginx-rtmp forks).
    #[default]
    Enhanced,
    /// Legacy CodecID 12 laid out like AVC (Chinese CDNs, older SRS/nginx-rtmp forks).
    LegacyCodecId12,
}

/// How H.264 is signalled.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AvcSignalling {
    /// Legacy CodecID 7 (what every player understands).
    #[default]
    Legacy,
    /// Enhanced RTMP v2 FourCC `avc1`.
    Enhanced,
}

/// Muxer options.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MuxConfig {
    /// HEVC signalling.
    pub hevc: HevcSignalling,
    /// H.264 signalling.
    pub avc: AvcSignalling,
    /// For enhanced `hvc1`/`avc1`, send frames whose composition time is 0 as
    /// `CodedFramesX` (3 bytes shorter). Default true.
    pub coded_frames_x: bool,
}

impl Default for MuxConfig {
    fn default() -> Self {
        MuxConfig {
            hevc: HevcSignalling::default(),
            avc: AvcSignalling::default(),
            coded_frames_x: true,
        }
    }
}

impl MuxConfig {
    /// Sets [`MuxConfig::hevc`].
    pub fn hevc(mut self, v: HevcSignalling) -> Self {
        self.hevc = v;
        self
    }
    /// Sets [`MuxConfig::avc`].
    pub fn avc(mut self, v: AvcSignalling) -> Self {
        self.avc = v;
        self
    }
    /// Sets [`MuxConfig::coded_frames_x`].
    pub fn coded_frames_x(mut self, v: bool) -> Self {
        self.coded_frames_x = v;
        self
    }
}

/// A tag whose body is a small inline codec header followed by a payload that is not copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FramedTag {
    /// Audio or video.
    pub tag_type: TagType,
    /// Tag timestamp (DTS) in milliseconds, modulo 2^32.
    pub timestamp: u32,
    /// The audio/video tag header.
    pub header: HeaderBytes,
    /// The codec payload (the frame's data, shared).
    pub payload: Bytes,
}

impl FramedTag {
    /// Body size (header + payload).
    pub fn body_len(&self) -> usize {
        self.header.len() + self.payload.len()
    }

    /// Appends the body (header + payload) to `out`.
    pub fn write_body(&self, out: &mut BytesMut) {
        out.reserve(self.body_len());
        out.put_slice(&self.header);
        out.put_slice(&self.payload);
    }

    /// Everything before the payload on the wire — the 11-byte tag header (with
    /// `timestamp`, e.g. rebased per subscriber) and the codec header — in an inline buffer,
    /// with its used length. Write it, then [`FramedTag::payload`], then
    /// [`crate::previous_tag_size`]`(self.body_len())`: a whole FLV tag with no copy of the
    /// payload at all.
    ///
    /// # Errors
    /// [`Error::BodyTooLarge`].
    pub fn wire_prefix(
        &self,
        timestamp: u32,
    ) -> Result<([u8; TAG_HEADER_LEN + MAX_CODEC_HEADER_LEN], usize)> {
        let mut out = [0u8; TAG_HEADER_LEN + MAX_CODEC_HEADER_LEN];
        let header = tag_header(self.tag_type, self.body_len(), timestamp)?;
        let len = TAG_HEADER_LEN + self.header.len();
        if let Some(dst) = out.get_mut(..TAG_HEADER_LEN) {
            dst.copy_from_slice(&header);
        }
        if let Some(dst) = out.get_mut(TAG_HEADER_LEN..len) {
            dst.copy_from_slice(&self.header);
        }
        Ok((out, len))
    }

    /// A [`Tag`] with the body built once (one copy of the payload), ready to be shared.
    pub fn to_tag(&self) -> Tag {
        let mut body = BytesMut::with_capacity(self.body_len());
        self.write_body(&mut body);
        Tag::new(self.tag_type, self.timestamp, body.freeze())
    }
}

/// Converts tracks and frames to FLV tags. Stateless apart from its configuration: the caller
/// sends [`FlvMuxer::sequence_header`] before the first frame of a track (and again when its
/// configuration changes), then [`FlvMuxer::frame`] for each frame.
///
/// ```
/// use bytes::Bytes;
/// use weir_flv::{FlvDemuxer, FlvEvent, FlvMuxer, MuxConfig};
/// use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
///
/// let track = TrackInfo::new(TrackId(7), Codec::G711A, 8000)
///     .with_audio(AudioParams { sample_rate: 8000, channels: 1 });
/// let ts = Timestamp::new(1600, Timebase::hz(8000).unwrap()); // 200 ms
/// let frame = Frame::new(track.id, ts, ts, Bytes::from_static(&[0xD5; 160]));
///
/// let muxer = FlvMuxer::new(MuxConfig::default());
/// let tag = muxer.frame(&track, &frame)?;
/// assert_eq!((tag.timestamp, tag.body[0] >> 4), (200, 7)); // SoundFormat 7 = A-law
///
/// let mut demux = FlvDemuxer::new();
/// demux.push_tag(&tag)?;
/// assert!(matches!(demux.poll_event(), Some(FlvEvent::Track(t)) if t.codec == Codec::G711A));
/// let Some(FlvEvent::Frame(back)) = demux.poll_event() else { panic!() };
/// assert_eq!(back.data, frame.data);
/// # Ok::<(), weir_flv::Error>(())
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlvMuxer {
    config: MuxConfig,
}

fn ms(ts: weir_media::Timestamp) -> i64 {
    ts.rescale(Timebase::MILLIS).ticks()
}

/// FLV timestamps are the low 32 bits of the millisecond clock (the wire wraps there).
fn wire_ts(ms: i64) -> u32 {
    ms.rem_euclid(1 << 32) as u32
}

impl FlvMuxer {
    /// A muxer.
    pub const fn new(config: MuxConfig) -> FlvMuxer {
        FlvMuxer { config }
    }

    /// The configuration.
    pub fn config(&self) -> &MuxConfig {
        &self.config
    }

    fn video_fourcc(&self, codec: Codec) -> Result<Option<VideoFourCc>> {
        Ok(match codec {
            Codec::H264 => match self.config.avc {
                AvcSignalling::Legacy => None,
                AvcSignalling::Enhanced => Some(VideoFourCc::Avc1),
            },
            Codec::H265 => match self.config.hevc {
                HevcSignalling::LegacyCodecId12 => None,
                HevcSignalling::Enhanced => Some(VideoFourCc::Hvc1),
            },
            Codec::Av1 => Some(VideoFourCc::Av01),
            Codec::Vp9 => Some(VideoFourCc::Vp09),
            Codec::Vp8 => Some(VideoFourCc::Vp08),
            codec => return Err(Error::UnsupportedCodec { codec }),
        })
    }

    fn video_header(
        &self,
        codec: Codec,
        frame_type: VideoFrameType,
        packet_type: VideoPacketType,
        composition_time: i32,
    ) -> Result<VideoTagHeader> {
        Ok(match self.video_fourcc(codec)? {
            None => {
                let id = if codec == Codec::H264 {
                    VideoCodecId::Avc
                } else {
                    VideoCodecId::Hevc
                };
                VideoTagHeader::legacy(frame_type, id, packet_type, composition_time)
            }
            Some(fourcc) => {
                let packet_type = if packet_type == VideoPacketType::CodedFrames
                    && fourcc.has_composition_time()
                    && composition_time == 0
                    && self.config.coded_frames_x
                {
                    VideoPacketType::CodedFramesX
                } else {
                    packet_type
                };
                VideoTagHeader::enhanced(frame_type, fourcc, packet_type, composition_time)
            }
        })
    }

    fn audio_header(
        &self,
        track: &TrackInfo,
        packet: AudioPacketKind,
        first: &[u8],
    ) -> Result<AudioTagHeader> {
        let channels = track.audio.map_or(1, |a| a.channels);
        let legacy = |format, rate, stereo, aac| {
            AudioTagHeader::Legacy(LegacyAudioHeader {
                format,
                rate,
                sixteen_bit: true,
                stereo,
                aac_packet_type: aac,
            })
        };
        Ok(match track.codec {
            // The spec fixes AAC's flags to 44 kHz, 16-bit, stereo (0xAF); the real values
            // are in the AudioSpecificConfig.
            Codec::Aac => legacy(
                SoundFormat::Aac,
                3,
                true,
                Some(match packet {
                    AudioPacketKind::SequenceStart => AacPacketType::SequenceHeader,
                    _ => AacPacketType::Raw,
                }),
            ),
            Codec::MpegAudio => {
                let rate = track
                    .audio
                    .map(|a| a.sample_rate)
                    .filter(|&r| r > 0)
                    .or_else(|| codecs::mpeg_audio_params(first).map(|p| p.sample_rate))
                    .unwrap_or(44_100);
                let stereo = track
                    .audio
                    .map(|a| a.channels > 1)
                    .or_else(|| codecs::mpeg_audio_params(first).map(|p| p.channels > 1))
                    .unwrap_or(true);
                let (format, code) = match rate {
                    8000 => (SoundFormat::Mp3At8k, 0),
                    r if r >= 44_100 => (SoundFormat::Mp3, 3),
                    r if r >= 22_050 => (SoundFormat::Mp3, 2),
                    r if r >= 11_025 => (SoundFormat::Mp3, 1),
                    _ => (SoundFormat::Mp3, 0),
                };
                legacy(format, code, stereo, None)
            }
            // G.711 is 8 kHz; SoundRate 0 and the 16-bit flag as ffmpeg writes them.
            Codec::G711A => legacy(SoundFormat::G711ALaw, 0, channels > 1, None),
            Codec::G711U => legacy(SoundFormat::G711MuLaw, 0, channels > 1, None),
            Codec::Opus => AudioTagHeader::Enhanced(ExAudioHeader {
                packet_type: match packet {
                    AudioPacketKind::SequenceStart => AudioPacketType::SequenceStart,
                    AudioPacketKind::Frame => AudioPacketType::CodedFrames,
                    AudioPacketKind::SequenceEnd => AudioPacketType::SequenceEnd,
                },
                fourcc: AudioFourCc::Opus,
                timestamp_offset_nanos: 0,
            }),
            codec => return Err(Error::UnsupportedCodec { codec }),
        })
    }

    /// The sequence header tag for `track` (avcC, hvcC, av1C, vpcC, AudioSpecificConfig,
    /// OpusHead), or `None` for codecs without one (MP3, G.711, VP8/VP9 without a config).
    /// avcC/hvcC are sent with `lengthSizeMinusOne` = 3 since frames are canonical.
    /// An Opus track with an empty config gets a minimal `OpusHead` from its channel count
    /// (mono or stereo; more channels need the stream's own `OpusHead`).
    ///
    /// # Errors
    /// [`Error::MissingConfig`] for H.264/H.265/AAC/AV1 without a config,
    /// [`Error::UnsupportedCodec`], [`Error::BadConfig`].
    pub fn sequence_header(&self, track: &TrackInfo, timestamp: u32) -> Result<Option<Tag>> {
        let codec = track.codec;
        let (tag_type, header, config) = match codec {
            Codec::H264 | Codec::H265 | Codec::Av1 | Codec::Vp8 | Codec::Vp9 => {
                if track.config.is_empty() {
                    if matches!(codec, Codec::Vp8 | Codec::Vp9) {
                        return Ok(None);
                    }
                    return Err(Error::MissingConfig { codec });
                }
                let config = if codec.is_nal_based() {
                    codecs::with_length_size_4(&track.config, codec == Codec::H265)?
                } else {
                    track.config.clone()
                };
                let h = self.video_header(
                    codec,
                    VideoFrameType::Key,
                    VideoPacketType::SequenceStart,
                    0,
                )?;
                (TagType::Video, h.to_bytes(), config)
            }
            Codec::Aac | Codec::Opus => {
                let config = if !track.config.is_empty() {
                    track.config.clone()
                } else if codec == Codec::Opus {
                    // Mapping family 0 covers mono and stereo; more channels need the
                    // stream's own OpusHead (with its channel mapping table).
                    match track.audio.map_or(2, |a| a.channels) {
                        c @ 1..=2 => codecs::opus_head(c),
                        _ => return Err(Error::MissingConfig { codec }),
                    }
                } else {
                    return Err(Error::MissingConfig { codec });
                };
                let h = self.audio_header(track, AudioPacketKind::SequenceStart, &[])?;
                (TagType::Audio, h.to_bytes(), config)
            }
            Codec::MpegAudio | Codec::G711A | Codec::G711U => return Ok(None),
            codec => return Err(Error::UnsupportedCodec { codec }),
        };
        let framed = FramedTag {
            tag_type,
            timestamp,
            header,
            payload: config,
        };
        check_len(&framed)?;
        Ok(Some(framed.to_tag()))
    }

    /// The end-of-sequence tag for a video track (AVC/HEVC end of sequence, enhanced
    /// SequenceEnd), `None` for audio codecs other than Opus and AAC-less cases.
    ///
    /// # Errors
    /// [`Error::UnsupportedCodec`].
    pub fn end_of_sequence(&self, track: &TrackInfo, timestamp: u32) -> Result<Option<Tag>> {
        let (tag_type, header) = match track.codec.kind() {
            weir_media::MediaKind::Video => {
                let h = self.video_header(
                    track.codec,
                    VideoFrameType::Key,
                    VideoPacketType::SequenceEnd,
                    0,
                )?;
                (TagType::Video, h.to_bytes())
            }
            _ if track.codec == Codec::Opus => {
                let h = self.audio_header(track, AudioPacketKind::SequenceEnd, &[])?;
                (TagType::Audio, h.to_bytes())
            }
            _ => return Ok(None),
        };
        Ok(Some(
            FramedTag {
                tag_type,
                timestamp,
                header,
                payload: Bytes::new(),
            }
            .to_tag(),
        ))
    }

    /// The tag header and payload for one frame, without copying the payload.
    ///
    /// The tag timestamp is the frame's DTS in milliseconds; for AVC/HEVC the composition
    /// time is `pts − dts` in milliseconds (each rounded from the frame's timebase). FLV has
    /// no composition time for AV1, VP8/VP9 or audio, so only the DTS is written for those.
    ///
    /// # Errors
    /// [`Error::UnsupportedCodec`], [`Error::NegativeTimestamp`],
    /// [`Error::CompositionTimeOutOfRange`], [`Error::BodyTooLarge`].
    pub fn frame_parts(&self, track: &TrackInfo, frame: &Frame) -> Result<FramedTag> {
        let dts = ms(frame.dts);
        if dts < 0 {
            // FLV timestamps are unsigned; wrapping a negative DTS would look like a jump of
            // 49 days to a reader. Offset the stream first (ffmpeg shifts it to start at 0).
            return Err(Error::NegativeTimestamp { dts_ms: dts });
        }
        let framed = match track.codec.kind() {
            weir_media::MediaKind::Video => {
                let ct = ms(frame.pts).saturating_sub(dts);
                let composition_time = i32::try_from(ct)
                    .ok()
                    .filter(|c| (-0x80_0000..=0x7F_FFFF).contains(c))
                    .ok_or(Error::CompositionTimeOutOfRange { value: ct })?;
                let ft = if frame.keyframe {
                    VideoFrameType::Key
                } else {
                    VideoFrameType::Inter
                };
                let h = self.video_header(
                    track.codec,
                    ft,
                    VideoPacketType::CodedFrames,
                    composition_time,
                )?;
                FramedTag {
                    tag_type: TagType::Video,
                    timestamp: wire_ts(dts),
                    header: h.to_bytes(),
                    payload: frame.data.clone(),
                }
            }
            _ => {
                let h = self.audio_header(track, AudioPacketKind::Frame, &frame.data)?;
                FramedTag {
                    tag_type: TagType::Audio,
                    timestamp: wire_ts(dts),
                    header: h.to_bytes(),
                    payload: frame.data.clone(),
                }
            }
        };
        check_len(&framed)?;
        Ok(framed)
    }

    /// One frame as a tag (body built once; clone the tag to share it).
    ///
    /// # Errors
    /// As [`FlvMuxer::frame_parts`].
    pub fn frame(&self, track: &TrackInfo, frame: &Frame) -> Result<Tag> {
        Ok(self.frame_parts(track, frame)?.to_tag())
    }

    /// An `onMetaData` script tag describing `tracks` (see [`Metadata::from_tracks`]).
    ///
    /// # Errors
    /// [`Error::Amf`], [`Error::BodyTooLarge`].
    pub fn metadata<'a>(
        &self,
        tracks: impl IntoIterator<Item = &'a TrackInfo>,
        encoder: &str,
    ) -> Result<Tag> {
        let body = Metadata::from_tracks(tracks, &self.config, encoder).to_script_body()?;
        if body.len() > MAX_BODY_LEN {
            return Err(Error::BodyTooLarge { size: body.len() });
        }
        Ok(Tag::new(TagType::Script, 0, body))
    }

    /// Appends what starts an FLV file or HTTP-FLV response for `tracks`: the header (with
    /// the audio/video flags), `PreviousTagSize0`, `onMetaData` and every sequence header.
    ///
    /// # Errors
    /// As [`FlvMuxer::metadata`] and [`FlvMuxer::sequence_header`].
    pub fn write_start(
        &self,
        tracks: &[TrackInfo],
        encoder: &str,
        out: &mut BytesMut,
    ) -> Result<()> {
        let has = |k| tracks.iter().any(|t| t.codec.kind() == k);
        FlvHeader::new(
            has(weir_media::MediaKind::Audio),
            has(weir_media::MediaKind::Video),
        )
        .write_with_first_tag_size(out);
        self.metadata(tracks, encoder)?.write(out)?;
        for t in tracks {
            if let Some(tag) = self.sequence_header(t, 0)? {
                tag.write(out)?;
            }
        }
        Ok(())
    }
}

fn check_len(t: &FramedTag) -> Result<()> {
    if t.body_len() > MAX_BODY_LEN {
        return Err(Error::BodyTooLarge { size: t.body_len() });
    }
    Ok(())
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum AudioPacketKind {
    SequenceStart,
    Frame,
    SequenceEnd,
}

fn fourcc_number(b: [u8; 4]) -> f64 {
    f64::from(u32::from_be_bytes(b))
}

/// `videocodecid` for `onMetaData`: the legacy CodecID, or the FourCC as a number for
/// enhanced RTMP (E-RTMP "Metadata").
pub(crate) fn video_codec_id_for_metadata(codec: Codec, config: &MuxConfig) -> Option<f64> {
    let m = FlvMuxer::new(*config);
    match m.video_fourcc(codec).ok()? {
        Some(f) => Some(fourcc_number(f.to_bytes())),
        None if codec == Codec::H264 => Some(7.0),
        None => Some(12.0),
    }
}

/// `audiocodecid` for `onMetaData`.
pub(crate) fn audio_codec_id_for_metadata(codec: Codec) -> Option<f64> {
    Some(match codec {
        Codec::Aac => 10.0,
        Codec::MpegAudio => 2.0,
        Codec::G711A => 7.0,
        Codec::G711U => 8.0,
        Codec::Opus => fourcc_number(*b"Opus"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_media::{AudioParams, Timestamp, TrackId};

    fn frame(track: &TrackInfo, dts: i64, pts: i64, key: bool) -> Frame {
        let tb = Timebase::MILLIS;
        Frame::new(
            track.id,
            Timestamp::new(pts, tb),
            Timestamp::new(dts, tb),
            Bytes::from_static(&[0, 0, 0, 1, 0x26]),
        )
        .with_keyframe(key)
    }

    #[test]
    fn hevc_signalling_and_coded_frames_x() {
        let t =
            TrackInfo::new(TrackId(0), Codec::H265, 1000).with_config(Bytes::from(vec![1u8; 23]));
        let m = FlvMuxer::new(MuxConfig::default());
        let tag = m.frame(&t, &frame(&t, 40, 40, true)).unwrap();
        assert_eq!(&tag.body[..5], b"\x93hvc1"); // key, CodedFramesX
        let tag = m.frame(&t, &frame(&t, 40, 120, false)).unwrap();
        assert_eq!(&tag.body[..8], b"\xA1hvc1\x00\x00\x50"); // inter, CodedFrames, ct 80
        let m2 = FlvMuxer::new(MuxConfig::default().coded_frames_x(false));
        assert_eq!(
            &m2.frame(&t, &frame(&t, 0, 0, true)).unwrap().body[..8],
            b"\x91hvc1\0\0\0"
        );
        let legacy = FlvMuxer::new(MuxConfig::default().hevc(HevcSignalling::LegacyCodecId12));
        let tag = legacy.frame(&t, &frame(&t, 40, 0, false)).unwrap();
        assert_eq!(&tag.body[..5], &[0x2C, 1, 0xFF, 0xFF, 0xD8]); // ct -40
                                                                  // Sequence header: hvcC with lengthSizeMinusOne forced to 3.
        let seq = legacy.sequence_header(&t, 0).unwrap().unwrap();
        assert_eq!(&seq.body[..5], &[0x1C, 0, 0, 0, 0]);
        assert_eq!(seq.body[5 + 21] & 3, 3);
        let eos = m.end_of_sequence(&t, 99).unwrap().unwrap();
        assert_eq!((&eos.body[..], eos.timestamp), (&b"\x92hvc1"[..], 99));
    }

    #[test]
    fn avc_signalling() {
        let t = TrackInfo::new(TrackId(0), Codec::H264, 1000)
            .with_config(Bytes::from_static(&[1, 0x42, 0, 0x1E, 0xFD, 0xE0, 0]));
        let m = FlvMuxer::new(MuxConfig::default());
        let seq = m.sequence_header(&t, 0).unwrap().unwrap();
        assert_eq!(
            &seq.body[..],
            &[0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1E, 0xFF, 0xE0, 0]
        );
        assert_eq!(
            &m.frame(&t, &frame(&t, 0, 33, true)).unwrap().body[..5],
            &[0x17, 1, 0, 0, 33]
        );
        let e = FlvMuxer::new(MuxConfig::default().avc(AvcSignalling::Enhanced));
        assert_eq!(
            &e.sequence_header(&t, 0).unwrap().unwrap().body[..5],
            b"\x90avc1"
        );
        let eos = m.end_of_sequence(&t, 0).unwrap().unwrap();
        assert_eq!(&eos.body[..], &[0x17, 2, 0, 0, 0]);
    }

    #[test]
    fn errors() {
        let t = TrackInfo::new(TrackId(0), Codec::H264, 1000)
            .with_config(Bytes::from_static(&[1, 0x42, 0, 0x1E, 0xFF, 0xE0, 0]));
        let m = FlvMuxer::new(MuxConfig::default());
        assert_eq!(
            m.frame(&t, &frame(&t, -1, 0, true)),
            Err(Error::NegativeTimestamp { dts_ms: -1 })
        );
        assert_eq!(
            m.frame(&t, &frame(&t, 0, 0x80_0000, true)),
            Err(Error::CompositionTimeOutOfRange { value: 0x80_0000 })
        );
        let empty = TrackInfo::new(TrackId(0), Codec::H264, 1000);
        assert_eq!(
            m.sequence_header(&empty, 0),
            Err(Error::MissingConfig { codec: Codec::H264 })
        );
        let aac = TrackInfo::new(TrackId(0), Codec::Aac, 1000);
        assert_eq!(
            m.sequence_header(&aac, 0),
            Err(Error::MissingConfig { codec: Codec::Aac })
        );
        let mjpeg = TrackInfo::new(TrackId(0), Codec::Mjpeg, 1000);
        assert_eq!(
            m.frame(&mjpeg, &frame(&mjpeg, 0, 0, true)),
            Err(Error::UnsupportedCodec {
                codec: Codec::Mjpeg
            })
        );
        assert_eq!(
            m.sequence_header(&mjpeg, 0),
            Err(Error::UnsupportedCodec {
                codec: Codec::Mjpeg
            })
        );
        let big = Frame::new(
            t.id,
            Timestamp::new(0, Timebase::MILLIS),
            Timestamp::new(0, Timebase::MILLIS),
            Bytes::from(vec![0; MAX_BODY_LEN]),
        );
        assert!(matches!(m.frame(&t, &big), Err(Error::BodyTooLarge { .. })));
    }

    #[test]
    fn audio_flags_and_opus() {
        let m = FlvMuxer::new(MuxConfig::default());
        let mp3 = TrackInfo::new(TrackId(1), Codec::MpegAudio, 90_000).with_audio(AudioParams {
            sample_rate: 48_000,
            channels: 2,
        });
        let f = Frame::new(
            mp3.id,
            Timestamp::new(90, Timebase::MPEG),
            Timestamp::new(90, Timebase::MPEG),
            Bytes::from_static(&[0xFF, 0xFB, 0x94, 0x44]),
        );
        let tag = m.frame(&mp3, &f).unwrap();
        assert_eq!((tag.body[0], tag.timestamp), (0x2F, 1));
        assert_eq!(m.sequence_header(&mp3, 0), Ok(None));
        // MP3 without parameters: taken from the frame header (MPEG-2, 24 kHz mono → 22 kHz code).
        let bare = TrackInfo::new(TrackId(1), Codec::MpegAudio, 1000);
        let f = Frame::new(
            bare.id,
            Timestamp::new(0, Timebase::MILLIS),
            Timestamp::new(0, Timebase::MILLIS),
            Bytes::from_static(&[0xFF, 0xF3, 0x84, 0xC4]),
        );
        assert_eq!(m.frame(&bare, &f).unwrap().body[0], 0x2A);

        let opus = TrackInfo::new(TrackId(1), Codec::Opus, 48_000).with_audio(AudioParams {
            sample_rate: 48_000,
            channels: 2,
        });
        let seq = m.sequence_header(&opus, 0).unwrap().unwrap();
        assert_eq!(&seq.body[..13], b"\x90OpusOpusHead");
        assert_eq!(seq.body[5 + 9], 2);
        assert_eq!(
            &m.end_of_sequence(&opus, 0).unwrap().unwrap().body[..],
            b"\x92Opus"
        );
        let aac = TrackInfo::new(TrackId(1), Codec::Aac, 44_100)
            .with_config(Bytes::from_static(&[0x12, 0x08]));
        assert_eq!(
            &m.sequence_header(&aac, 0).unwrap().unwrap().body[..],
            &[0xAF, 0, 0x12, 0x08]
        );
        assert_eq!(m.end_of_sequence(&aac, 0), Ok(None));
    }

    #[test]
    fn wire_prefix_equals_built_tag() {
        let t =
            TrackInfo::new(TrackId(0), Codec::H265, 1000).with_config(Bytes::from(vec![1u8; 23]));
        let m = FlvMuxer::new(MuxConfig::default());
        let parts = m.frame_parts(&t, &frame(&t, 40, 80, true)).unwrap();
        let (prefix, len) = parts.wire_prefix(parts.timestamp).unwrap();
        let mut pieces = BytesMut::new();
        pieces.extend_from_slice(&prefix[..len]);
        pieces.extend_from_slice(&parts.payload);
        pieces.extend_from_slice(&crate::previous_tag_size(parts.body_len()));
        assert_eq!(pieces.freeze(), parts.to_tag().to_wire().unwrap());
    }

    #[test]
    fn metadata_codec_ids() {
        let v = TrackInfo::new(TrackId(0), Codec::H265, 1000).with_video(weir_media::VideoParams {
            width: 640,
            height: 360,
        });
        let a = TrackInfo::new(TrackId(1), Codec::G711U, 8000).with_audio(AudioParams {
            sample_rate: 8000,
            channels: 1,
        });
        let tag = FlvMuxer::new(MuxConfig::default())
            .metadata([&v, &a], "weir")
            .unwrap();
        let md = crate::ScriptData::parse(&tag.body, Default::default())
            .unwrap()
            .metadata()
            .unwrap();
        assert_eq!(
            md.video_codec_id(),
            Some(f64::from(u32::from_be_bytes(*b"hvc1")))
        );
        assert_eq!(md.audio_codec_id(), Some(8.0));
        assert_eq!(
            (md.width(), md.height(), md.audio_sample_rate(), md.stereo()),
            (Some(640.0), Some(360.0), Some(8000.0), Some(false))
        );
        let legacy = MuxConfig::default().hevc(HevcSignalling::LegacyCodecId12);
        let tag = FlvMuxer::new(legacy).metadata([&v], "").unwrap();
        let md = crate::ScriptData::parse(&tag.body, Default::default())
            .unwrap()
            .metadata()
            .unwrap();
        assert_eq!(
            (md.video_codec_id(), md.get_str("encoder")),
            (Some(12.0), None)
        );
    }
}
