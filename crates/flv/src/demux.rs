//! FLV tags → weir-media [`TrackInfo`]s and [`Frame`]s (the ingest side of the RTMP and
//! HTTP-FLV remux point).

use std::collections::VecDeque;

use bytes::Bytes;
use weir_amf::{Amf0Value, DecodeLimits};
use weir_media::{
    nal, AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo, WrapExtender,
};

use crate::audio::{AacPacketType, AudioFourCc, AudioPacketType, AudioTagHeader, SoundFormat};
use crate::codecs;
use crate::script::{Metadata, ScriptData};
use crate::tag::{Tag, TagType};
use crate::video::{VideoCodec, VideoCodecId, VideoFourCc, VideoPacketType, VideoTagHeader};
use crate::{Error, Result};

/// Track id the demuxer gives the video track.
pub const VIDEO_TRACK: TrackId = TrackId(0);
/// Track id the demuxer gives the audio track.
pub const AUDIO_TRACK: TrackId = TrackId(1);
/// FLV timestamps are milliseconds; every [`Frame`] and [`TrackInfo`] from the demuxer uses
/// this clock rate.
pub const FLV_CLOCK_RATE: u32 = 1000;

/// What the demuxer produces.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FlvEvent {
    /// A track appeared or its configuration changed (new sequence header, different codec).
    Track(TrackInfo),
    /// One access unit in the codec's canonical layout.
    Frame(Frame),
    /// `onMetaData`.
    Metadata(Metadata),
    /// Any other script data (`onTextData`, `onCuePoint`, …).
    Script(ScriptData),
    /// Enhanced-RTMP video metadata (packet type Metadata, e.g. `colorInfo`), AMF0 values.
    VideoMetadata(Vec<Amf0Value>),
    /// The publisher ended a track's sequence (AVC end of sequence / SequenceEnd).
    EndOfSequence(TrackId),
}

#[derive(Clone, Debug)]
struct TrackState {
    info: TrackInfo,
    /// NAL length-prefix size of the stream (from avcC/hvcC); 0 for non-NAL codecs.
    length_size: u8,
}

/// Converts FLV tags (from [`crate::FlvReader`] or RTMP audio/video/data messages) into
/// tracks and frames. Push tags in, poll events out.
///
/// * video: AVC (legacy and `avc1`), HEVC (legacy codec id 12 and `hvc1`), AV1 (`av01`),
///   VP9 (`vp09`), VP8 (`vp08`); NAL units are re-framed to 4-byte length prefixes
///   (zero-copy when the stream already uses 4), `pts = dts + composition time`, keyframe
///   from the frame type;
/// * audio: AAC (legacy and `mp4a`), MP3 (SoundFormat 2 and 14, `.mp3`), G.711 A-law/µ-law
///   (7/8, 8 kHz), Opus (`Opus`);
/// * script: `onMetaData` (also behind `@setDataFrame`) and other script data.
///
/// Timestamps are extended past the 32-bit wrap and come out in milliseconds.
#[derive(Clone, Debug)]
pub struct FlvDemuxer {
    video: Option<TrackState>,
    audio: Option<TrackState>,
    clock: WrapExtender,
    events: VecDeque<FlvEvent>,
    amf_limits: DecodeLimits,
}

impl Default for FlvDemuxer {
    fn default() -> Self {
        FlvDemuxer::new()
    }
}

impl FlvDemuxer {
    /// A demuxer with default AMF0 limits.
    pub fn new() -> FlvDemuxer {
        FlvDemuxer {
            video: None,
            audio: None,
            clock: WrapExtender::new(32),
            events: VecDeque::with_capacity(4),
            amf_limits: DecodeLimits::default(),
        }
    }

    /// Sets the limits used when decoding script data and video metadata.
    pub fn with_amf_limits(mut self, limits: DecodeLimits) -> FlvDemuxer {
        self.amf_limits = limits;
        self
    }

    /// The current video track, once its sequence header (or first frame) was seen.
    pub fn video_track(&self) -> Option<&TrackInfo> {
        self.video.as_ref().map(|t| &t.info)
    }

    /// The current audio track, once its sequence header (or first frame) was seen.
    pub fn audio_track(&self) -> Option<&TrackInfo> {
        self.audio.as_ref().map(|t| &t.info)
    }

    /// Next event, if any.
    pub fn poll_event(&mut self) -> Option<FlvEvent> {
        self.events.pop_front()
    }

    /// Processes one tag.
    ///
    /// # Errors
    /// Tag header errors ([`VideoTagHeader::parse`], [`AudioTagHeader::parse`]), codec
    /// configuration errors ([`Error::BadConfig`]), [`Error::NoSequenceHeader`] for NAL
    /// data before its configuration, [`Error::Nal`] for broken length prefixes,
    /// [`Error::UnmappedSoundFormat`] / [`Error::UnmappedVideoCodec`] /
    /// [`Error::UnsupportedCodec`] for codecs without a weir-media mapping, script errors.
    /// An error concerns only this tag; the demuxer stays usable.
    pub fn push_tag(&mut self, tag: &Tag) -> Result<()> {
        self.push(tag.tag_type, tag.timestamp, &tag.body)
    }

    /// As [`FlvDemuxer::push_tag`] for a tag given as parts (e.g. an RTMP message).
    ///
    /// # Errors
    /// As [`FlvDemuxer::push_tag`].
    pub fn push(&mut self, tag_type: TagType, timestamp: u32, body: &Bytes) -> Result<()> {
        match tag_type {
            TagType::Video => self.video_tag(timestamp, body),
            TagType::Audio => self.audio_tag(timestamp, body),
            TagType::Script => {
                let script = ScriptData::parse(body, self.amf_limits)?;
                self.events.push_back(match script.metadata() {
                    Some(m) => FlvEvent::Metadata(m),
                    None => FlvEvent::Script(script),
                });
                Ok(())
            }
        }
    }

    fn dts(&mut self, timestamp: u32) -> Timestamp {
        Timestamp::new(self.clock.extend(u64::from(timestamp)), Timebase::MILLIS)
    }

    fn video_tag(&mut self, timestamp: u32, body: &Bytes) -> Result<()> {
        let (h, header_len) = VideoTagHeader::parse(body)?;
        let payload = body.slice(header_len.min(body.len())..);
        let codec = match h.codec {
            VideoCodec::Legacy(VideoCodecId::Avc) | VideoCodec::FourCc(VideoFourCc::Avc1) => {
                Codec::H264
            }
            VideoCodec::Legacy(VideoCodecId::Hevc) | VideoCodec::FourCc(VideoFourCc::Hvc1) => {
                Codec::H265
            }
            VideoCodec::FourCc(VideoFourCc::Av01) => Codec::Av1,
            VideoCodec::FourCc(VideoFourCc::Vp09) => Codec::Vp9,
            VideoCodec::FourCc(VideoFourCc::Vp08) => Codec::Vp8,
            VideoCodec::Legacy(other) => {
                return Err(Error::UnmappedVideoCodec {
                    codec_id: other.to_u8(),
                })
            }
        };
        match h.packet_type {
            VideoPacketType::SequenceStart => {
                let (length_size, video) = match codec {
                    Codec::H264 => codecs::avc_params(&payload)?,
                    Codec::H265 => codecs::hevc_params(&payload)?,
                    _ => (0, None),
                };
                let mut info =
                    TrackInfo::new(VIDEO_TRACK, codec, FLV_CLOCK_RATE).with_config(payload);
                info.video = video;
                self.set_track(true, TrackState { info, length_size });
            }
            VideoPacketType::CodedFrames | VideoPacketType::CodedFramesX => {
                let state = match &self.video {
                    Some(s) if s.info.codec == codec => s,
                    _ if codec.is_nal_based() => return Err(Error::NoSequenceHeader { codec }),
                    _ => {
                        // AV1/VP8/VP9 frames are usable without a configuration record.
                        let info = TrackInfo::new(VIDEO_TRACK, codec, FLV_CLOCK_RATE);
                        self.set_track(
                            true,
                            TrackState {
                                info,
                                length_size: 0,
                            },
                        );
                        self.video
                            .as_ref()
                            .ok_or(Error::NoSequenceHeader { codec })?
                    }
                };
                let data = if state.length_size == 0 {
                    payload
                } else {
                    nal::convert_length_size(
                        &payload,
                        state.length_size,
                        nal::CANONICAL_LENGTH_SIZE,
                    )?
                };
                let dts = self.dts(timestamp);
                let pts = Timestamp::new(
                    dts.ticks().saturating_add(i64::from(h.composition_time)),
                    Timebase::MILLIS,
                );
                let frame =
                    Frame::new(VIDEO_TRACK, pts, dts, data).with_keyframe(h.frame_type.is_key());
                self.events.push_back(FlvEvent::Frame(frame));
            }
            VideoPacketType::SequenceEnd => {
                self.events.push_back(FlvEvent::EndOfSequence(VIDEO_TRACK));
            }
            VideoPacketType::Metadata => {
                let values = weir_amf::amf0::decode_all_with(&payload, self.amf_limits)?;
                self.events.push_back(FlvEvent::VideoMetadata(values));
            }
            VideoPacketType::Mpeg2TsSequenceStart | VideoPacketType::Command => {
                tracing::trace!(packet_type = ?h.packet_type, "ignoring FLV video tag without pictures");
            }
        }
        Ok(())
    }

    fn audio_tag(&mut self, timestamp: u32, body: &Bytes) -> Result<()> {
        let (h, header_len) = AudioTagHeader::parse(body)?;
        let payload = body.slice(header_len.min(body.len())..);
        let (codec, sequence_start, sequence_end, legacy) = match h {
            AudioTagHeader::Legacy(l) => {
                let codec = match l.format {
                    SoundFormat::Aac => Codec::Aac,
                    SoundFormat::Mp3 | SoundFormat::Mp3At8k => Codec::MpegAudio,
                    SoundFormat::G711ALaw => Codec::G711A,
                    SoundFormat::G711MuLaw => Codec::G711U,
                    other => {
                        return Err(Error::UnmappedSoundFormat {
                            sound_format: other.to_u8(),
                        })
                    }
                };
                let seq = l.aac_packet_type == Some(AacPacketType::SequenceHeader);
                (codec, seq, false, Some(l))
            }
            AudioTagHeader::Enhanced(e) => {
                let codec = match e.fourcc {
                    AudioFourCc::Opus => Codec::Opus,
                    AudioFourCc::Aac => Codec::Aac,
                    AudioFourCc::Mp3 => Codec::MpegAudio,
                    other => {
                        return Err(Error::UnmappedFourCc {
                            fourcc: other.to_bytes(),
                        })
                    }
                };
                match e.packet_type {
                    AudioPacketType::SequenceStart => (codec, true, false, None),
                    AudioPacketType::CodedFrames => (codec, false, false, None),
                    AudioPacketType::SequenceEnd => (codec, false, true, None),
                    AudioPacketType::MultichannelConfig => {
                        tracing::trace!("ignoring enhanced audio MultichannelConfig");
                        return Ok(());
                    }
                }
            }
        };
        if sequence_end {
            self.events.push_back(FlvEvent::EndOfSequence(AUDIO_TRACK));
            return Ok(());
        }
        if sequence_start {
            let audio = match codec {
                Codec::Aac => Some(codecs::aac_params(&payload)?),
                Codec::Opus => Some(codecs::opus_params(&payload)?),
                _ => None,
            };
            let mut info = TrackInfo::new(AUDIO_TRACK, codec, FLV_CLOCK_RATE).with_config(payload);
            info.audio = audio;
            self.set_track(
                false,
                TrackState {
                    info,
                    length_size: 0,
                },
            );
            return Ok(());
        }
        let known = matches!(&self.audio, Some(s) if s.info.codec == codec);
        if !known {
            let audio = match codec {
                Codec::Aac => return Err(Error::NoSequenceHeader { codec }),
                Codec::MpegAudio => codecs::mpeg_audio_params(&payload),
                Codec::G711A | Codec::G711U => Some(AudioParams {
                    // G.711 in FLV is 8 kHz whatever the SoundRate field says (ffmpeg writes 0).
                    sample_rate: 8000,
                    channels: if legacy.is_some_and(|l| l.stereo) {
                        2
                    } else {
                        1
                    },
                }),
                _ => None,
            };
            let mut info = TrackInfo::new(AUDIO_TRACK, codec, FLV_CLOCK_RATE);
            info.audio = audio;
            self.set_track(
                false,
                TrackState {
                    info,
                    length_size: 0,
                },
            );
        }
        let dts = self.dts(timestamp);
        let frame = Frame::new(AUDIO_TRACK, dts, dts, payload).with_keyframe(true);
        self.events.push_back(FlvEvent::Frame(frame));
        Ok(())
    }

    /// Installs a track and announces it unless it equals the current one (RTMP publishers
    /// and HTTP-FLV servers repeat sequence headers).
    fn set_track(&mut self, video: bool, state: TrackState) {
        let slot = if video {
            &mut self.video
        } else {
            &mut self.audio
        };
        if slot.as_ref().is_some_and(|s| s.info == state.info) {
            return;
        }
        self.events.push_back(FlvEvent::Track(state.info.clone()));
        *slot = Some(state);
    }
}
