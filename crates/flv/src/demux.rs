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

/// Track id the demuxer gives the video track by default.
pub const VIDEO_TRACK: TrackId = TrackId(0);
/// Track id the demuxer gives the audio track by default.
pub const AUDIO_TRACK: TrackId = TrackId(1);
/// Default limit on E-RTMP multitrack tracks per media kind.
pub const DEFAULT_MAX_TRACKS: usize = 8;
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
/// Timestamps come out in milliseconds, extended past the wrap of the publisher's clock:
/// RTMP's 32-bit clock wraps at 2³² ms (49.7 days), and ffmpeg's and OBS's FLV muxers
/// (FLV timestamps are signed 32-bit) keep 31 bits and go back to 0 after 2³¹ − 1 ms
/// (24.8 days). Both continue where they were.
#[derive(Clone, Debug)]
pub struct FlvDemuxer {
    /// Video tracks by E-RTMP track number (0 outside multitrack streams).
    video: Vec<(u8, TrackState)>,
    /// Audio tracks by E-RTMP track number.
    audio: Vec<(u8, TrackState)>,
    max_tracks: usize,
    /// The low 31 bits of the clock, extended (see [`FlvDemuxer::dts`]).
    clock: WrapExtender,
    /// Bit 31 of the first timestamp, added back to every extended one.
    clock_base: Option<i64>,
    events: VecDeque<FlvEvent>,
    amf_limits: DecodeLimits,
    video_id: TrackId,
    audio_id: TrackId,
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
            video: Vec::new(),
            audio: Vec::new(),
            max_tracks: DEFAULT_MAX_TRACKS,
            clock: WrapExtender::new(31),
            clock_base: None,
            events: VecDeque::with_capacity(4),
            amf_limits: DecodeLimits::default(),
            video_id: VIDEO_TRACK,
            audio_id: AUDIO_TRACK,
        }
    }

    /// Uses other track ids than [`VIDEO_TRACK`] and [`AUDIO_TRACK`] (e.g. to merge several
    /// FLV sources into one stream).
    pub fn with_track_ids(mut self, video: TrackId, audio: TrackId) -> FlvDemuxer {
        self.video_id = video;
        self.audio_id = audio;
        self
    }

    /// Sets the limits used when decoding script data and video metadata.
    pub fn with_amf_limits(mut self, limits: DecodeLimits) -> FlvDemuxer {
        self.amf_limits = limits;
        self
    }

    /// Limits how many E-RTMP multitrack tracks per media kind are accepted (default
    /// [`DEFAULT_MAX_TRACKS`]); more is an [`Error::TooManyTracks`].
    pub fn with_max_tracks(mut self, max: usize) -> FlvDemuxer {
        self.max_tracks = max.max(1);
        self
    }

    /// The current (default, track number 0) video track, once its sequence header (or first
    /// frame) was seen.
    pub fn video_track(&self) -> Option<&TrackInfo> {
        find(&self.video, 0).map(|t| &t.info)
    }

    /// The current (default, track number 0) audio track.
    pub fn audio_track(&self) -> Option<&TrackInfo> {
        find(&self.audio, 0).map(|t| &t.info)
    }

    /// Every known track, video first. E-RTMP multitrack track number `n` of a kind gets the
    /// id of that kind's default track plus `2 n` (video 0, 2, 4…; audio 1, 3, 5… by default).
    pub fn tracks(&self) -> impl Iterator<Item = &TrackInfo> {
        self.video
            .iter()
            .chain(self.audio.iter())
            .map(|(_, t)| &t.info)
    }

    fn track_id(&self, video: bool, n: u8) -> TrackId {
        let base = if video { self.video_id } else { self.audio_id };
        TrackId(base.0.wrapping_add(2 * u32::from(n)))
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

    /// Processes an RTMP message by its message type: 8 audio, 9 video, 18 AMF0 data,
    /// 15 AMF3 data (its leading format byte stripped; the values are AMF0 in practice).
    /// Other message types are not media and are ignored (`Ok(false)`).
    ///
    /// # Errors
    /// As [`FlvDemuxer::push_tag`].
    pub fn push_rtmp_message(
        &mut self,
        message_type: u8,
        timestamp: u32,
        body: &Bytes,
    ) -> Result<bool> {
        match message_type {
            8 => self.push(TagType::Audio, timestamp, body)?,
            9 => self.push(TagType::Video, timestamp, body)?,
            18 => self.push(TagType::Script, timestamp, body)?,
            15 => {
                let rest = weir_amf::strip_amf3_format_byte(body);
                let body = body.slice(body.len() - rest.len()..);
                self.push(TagType::Script, timestamp, &body)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The extended time of a tag. Only the low 31 bits are extended: a 31-bit clock
    /// going from 2³¹ − 1 back to 0 and a 32-bit clock going past 2³¹ − 1 (or past
    /// 2³² − 1 back to 0) look the same there — a small step forward — so both continue
    /// where they were; bit 31 of the first timestamp is kept so that a 32-bit clock keeps
    /// its absolute value.
    fn dts(&mut self, timestamp: u32) -> Timestamp {
        let base = *self
            .clock_base
            .get_or_insert(i64::from(timestamp & 0x8000_0000));
        let ticks = self.clock.extend(u64::from(timestamp)).saturating_add(base);
        Timestamp::new(ticks, Timebase::MILLIS)
    }

    fn video_tag(&mut self, timestamp: u32, body: &Bytes) -> Result<()> {
        for part in VideoTagHeader::parse_tracks(body)? {
            let part = part?;
            let payload =
                body.slice(part.payload.start.min(body.len())..part.payload.end.min(body.len()));
            self.video_part(timestamp, part.track_id, &part.header, payload)?;
        }
        Ok(())
    }

    fn video_part(
        &mut self,
        timestamp: u32,
        n: u8,
        h: &VideoTagHeader,
        payload: Bytes,
    ) -> Result<()> {
        let id = self.track_id(true, n);
        if h.packet_type == VideoPacketType::Command {
            tracing::trace!(command = ?payload.first(), "ignoring FLV video command frame");
            return Ok(());
        }
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
            VideoCodec::EnhancedCommand => return Ok(()),
        };
        match h.packet_type {
            VideoPacketType::SequenceStart => {
                let (length_size, video) = match codec {
                    Codec::H264 => codecs::avc_params(&payload)?,
                    Codec::H265 => codecs::hevc_params(&payload)?,
                    _ => (0, None),
                };
                let mut info = TrackInfo::new(id, codec, FLV_CLOCK_RATE).with_config(payload);
                info.video = video;
                self.set_track(true, n, TrackState { info, length_size })?;
            }
            VideoPacketType::CodedFrames | VideoPacketType::CodedFramesX if payload.is_empty() => {
                // Some encoders send header-only "keep-alive" NALU tags; like ffmpeg's
                // demuxer, produce no frame for them.
                tracing::trace!(timestamp, "skipping empty FLV video frame");
            }
            VideoPacketType::CodedFrames | VideoPacketType::CodedFramesX => {
                let known = find(&self.video, n)
                    .filter(|s| s.info.codec == codec)
                    .map(|s| s.length_size);
                let length_size = match known {
                    Some(l) => l,
                    None if codec.is_nal_based() => return Err(Error::NoSequenceHeader { codec }),
                    None => {
                        // AV1/VP8/VP9 frames are usable without a configuration record.
                        let info = TrackInfo::new(id, codec, FLV_CLOCK_RATE);
                        self.set_track(
                            true,
                            n,
                            TrackState {
                                info,
                                length_size: 0,
                            },
                        )?;
                        0
                    }
                };
                let data = if length_size == 0 {
                    payload
                } else if length_size == nal::CANONICAL_LENGTH_SIZE
                    && check_length_prefixed(&payload).is_ok()
                {
                    // Already canonical: the framing was checked on the slice; pass the
                    // payload through untouched (no copy, no per-NAL refcount traffic).
                    payload
                } else {
                    match nal::convert_length_size(
                        &payload,
                        length_size,
                        nal::CANONICAL_LENGTH_SIZE,
                    ) {
                        Ok(data) => data,
                        // Quirk: some encoders put Annex B (start codes) in AVC/HEVC NALU tags
                        // despite the avcC/hvcC; players accept it, so convert it.
                        Err(_) if starts_with_start_code(&payload) => {
                            tracing::debug!(
                                timestamp,
                                "Annex B start codes in an FLV NALU tag; converting"
                            );
                            let mut out = bytes::BytesMut::with_capacity(payload.len() + 16);
                            nal::annexb_to_length_prefixed(
                                &payload,
                                nal::CANONICAL_LENGTH_SIZE,
                                &mut out,
                            )?;
                            out.freeze()
                        }
                        Err(e) => return Err(e.into()),
                    }
                };
                let dts = self.dts(timestamp);
                let pts = Timestamp::new(
                    dts.ticks().saturating_add(i64::from(h.composition_time)),
                    Timebase::MILLIS,
                );
                let frame = Frame::new(id, pts, dts, data).with_keyframe(h.frame_type.is_key());
                self.events.push_back(FlvEvent::Frame(frame));
            }
            VideoPacketType::SequenceEnd => {
                self.events.push_back(FlvEvent::EndOfSequence(id));
            }
            VideoPacketType::Metadata => {
                let values = weir_amf::amf0::decode_all_with(&payload, self.amf_limits)?;
                self.events.push_back(FlvEvent::VideoMetadata(values));
            }
            VideoPacketType::Mpeg2TsSequenceStart | VideoPacketType::Command => {
                // Command frames returned above; MPEG2TSSequenceStart carries an AV1 video
                // descriptor that the av1C sequence start makes redundant.
                tracing::trace!(packet_type = ?h.packet_type, "ignoring FLV video tag without pictures");
            }
        }
        Ok(())
    }

    fn audio_tag(&mut self, timestamp: u32, body: &Bytes) -> Result<()> {
        for part in AudioTagHeader::parse_tracks(body)? {
            let part = part?;
            let payload =
                body.slice(part.payload.start.min(body.len())..part.payload.end.min(body.len()));
            self.audio_part(timestamp, part.track_id, part.header, payload)?;
        }
        Ok(())
    }

    fn audio_part(
        &mut self,
        timestamp: u32,
        n: u8,
        h: AudioTagHeader,
        payload: Bytes,
    ) -> Result<()> {
        let id = self.track_id(false, n);
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
            self.events.push_back(FlvEvent::EndOfSequence(id));
            return Ok(());
        }
        if sequence_start {
            let audio = match codec {
                Codec::Aac => Some(codecs::aac_params(&payload)?),
                Codec::Opus => Some(codecs::opus_params(&payload)?),
                _ => None,
            };
            let mut info = TrackInfo::new(id, codec, FLV_CLOCK_RATE).with_config(payload);
            info.audio = audio;
            self.set_track(
                false,
                n,
                TrackState {
                    info,
                    length_size: 0,
                },
            )?;
            return Ok(());
        }
        if payload.is_empty() {
            tracing::trace!(timestamp, "skipping empty FLV audio frame");
            return Ok(());
        }
        let known = find(&self.audio, n).is_some_and(|s| s.info.codec == codec);
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
            let mut info = TrackInfo::new(id, codec, FLV_CLOCK_RATE);
            info.audio = audio;
            self.set_track(
                false,
                n,
                TrackState {
                    info,
                    length_size: 0,
                },
            )?;
        }
        let dts = self.dts(timestamp);
        let payload = if codec == Codec::Aac {
            strip_adts(payload)
        } else {
            payload
        };
        let frame = Frame::new(id, dts, dts, payload).with_keyframe(true);
        self.events.push_back(FlvEvent::Frame(frame));
        Ok(())
    }

    /// Installs a track and announces it unless it equals the current one (RTMP publishers
    /// and HTTP-FLV servers repeat sequence headers).
    fn set_track(&mut self, video: bool, n: u8, state: TrackState) -> Result<()> {
        let limit = self.max_tracks;
        let list = if video {
            &mut self.video
        } else {
            &mut self.audio
        };
        let count = list.len();
        match list.iter_mut().find(|(k, _)| *k == n) {
            Some((_, slot)) if slot.info == state.info => return Ok(()),
            Some((_, slot)) => *slot = state.clone(),
            None if count >= limit => return Err(Error::TooManyTracks { limit }),
            None => list.push((n, state.clone())),
        }
        self.events.push_back(FlvEvent::Track(state.info));
        Ok(())
    }
}

/// Quirk: some encoders send ADTS-framed AAC in FLV. A payload that is exactly one ADTS
/// frame (sync word, frame length equal to the payload, one raw data block) loses its header.
fn strip_adts(payload: Bytes) -> Bytes {
    if !matches!(payload.get(..2), Some([0xFF, b]) if b & 0xF0 == 0xF0) {
        return payload;
    }
    match weir_aac::AdtsHeader::parse(&payload) {
        Ok(h) if h.frame_len() == payload.len() && h.raw_blocks() == 1 => {
            tracing::debug!("ADTS header in an FLV AAC frame; stripping it");
            payload.slice(h.header_len().min(payload.len())..)
        }
        _ => payload,
    }
}

fn starts_with_start_code(data: &[u8]) -> bool {
    data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])
}

/// Checks that `data` is a whole sequence of 4-byte length-prefixed NAL units.
fn check_length_prefixed(data: &[u8]) -> Result<()> {
    let mut pos = 0usize;
    while pos < data.len() {
        let available = data.len() - pos;
        let declared = data
            .get(pos..pos + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
        match declared {
            Some(n) if n <= available - 4 => pos += 4 + n,
            _ => {
                return Err(Error::Nal(weir_media::Error::NalTruncated {
                    offset: pos,
                    declared: declared.unwrap_or(0),
                    available,
                }))
            }
        }
    }
    Ok(())
}

fn find(list: &[(u8, TrackState)], n: u8) -> Option<&TrackState> {
    list.iter().find(|(k, _)| *k == n).map(|(_, s)| s)
}

#[cfg(test)]
mod tests;
