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
mod tests {
    use super::*;
    use crate::audio::ExAudioHeader;
    use crate::codecs::opus_head;
    use crate::video::VideoFrameType;
    use bytes::BytesMut;

    fn events(d: &mut FlvDemuxer) -> Vec<FlvEvent> {
        std::iter::from_fn(|| d.poll_event()).collect()
    }

    fn video_body(h: VideoTagHeader, payload: &[u8]) -> Bytes {
        let mut b = BytesMut::from(&h.to_bytes()[..]);
        b.extend_from_slice(payload);
        b.freeze()
    }

    /// A real 320x240 baseline avcC with the given NAL length size.
    fn avcc(length_size: u8) -> Bytes {
        let sps = Bytes::from_static(&[
            0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
            0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
        ]);
        let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
        let mut c = weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps]).unwrap();
        c.nal_length_size = length_size;
        c.to_bytes()
    }

    #[test]
    fn avc_length_size_conversion_and_zero_copy() {
        let mut d = FlvDemuxer::new();
        let seq = VideoTagHeader::legacy(
            VideoFrameType::Key,
            VideoCodecId::Avc,
            VideoPacketType::SequenceStart,
            0,
        );
        d.push(TagType::Video, 0, &video_body(seq, &avcc(2)))
            .unwrap();
        let ev = events(&mut d);
        let FlvEvent::Track(t) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(t.codec, Codec::H264);
        assert_eq!(
            t.video,
            Some(weir_media::VideoParams {
                width: 320,
                height: 240
            })
        );
        // Two NAL units with 2-byte prefixes → 4-byte prefixes.
        let nalu = VideoTagHeader::legacy(
            VideoFrameType::Key,
            VideoCodecId::Avc,
            VideoPacketType::CodedFrames,
            40,
        );
        d.push(
            TagType::Video,
            1000,
            &video_body(nalu, &[0, 2, 0x65, 1, 0, 1, 0x06]),
        )
        .unwrap();
        let ev = events(&mut d);
        let FlvEvent::Frame(f) = &ev[0] else { panic!() };
        assert_eq!(&f.data[..], &[0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x06]);
        assert_eq!(
            (f.dts.ticks(), f.pts.ticks(), f.keyframe),
            (1000, 1040, true)
        );

        // Same record again with 4-byte lengths: a new Track, and frames are not copied.
        d.push(TagType::Video, 2000, &video_body(seq, &avcc(4)))
            .unwrap();
        assert!(matches!(&events(&mut d)[..], [FlvEvent::Track(_)]));
        // A repeated identical sequence header is not announced again.
        d.push(TagType::Video, 2000, &video_body(seq, &avcc(4)))
            .unwrap();
        assert!(events(&mut d).is_empty());
        let body = video_body(nalu, &[0, 0, 0, 1, 0x41]);
        d.push(TagType::Video, 2040, &body).unwrap();
        let ev = events(&mut d);
        let FlvEvent::Frame(f) = &ev[0] else { panic!() };
        assert_eq!(
            f.data.as_ptr(),
            body[5..].as_ptr(),
            "zero-copy slice of the tag body"
        );
        // Broken prefix.
        assert!(matches!(
            d.push(TagType::Video, 2080, &video_body(nalu, &[0, 0, 0, 9, 0x41])),
            Err(Error::Nal(_))
        ));
        // End of sequence.
        let eos = VideoTagHeader::legacy(
            VideoFrameType::Key,
            VideoCodecId::Avc,
            VideoPacketType::SequenceEnd,
            0,
        );
        d.push(TagType::Video, 3000, &video_body(eos, &[])).unwrap();
        assert_eq!(events(&mut d), vec![FlvEvent::EndOfSequence(VIDEO_TRACK)]);
    }

    #[test]
    fn nal_frames_need_sequence_header() {
        let mut d = FlvDemuxer::new();
        let nalu = VideoTagHeader::enhanced(
            VideoFrameType::Key,
            VideoFourCc::Hvc1,
            VideoPacketType::CodedFramesX,
            0,
        );
        assert_eq!(
            d.push(TagType::Video, 0, &video_body(nalu, &[0, 0, 0, 1, 0x26])),
            Err(Error::NoSequenceHeader { codec: Codec::H265 })
        );
        let bad = VideoTagHeader::legacy(
            VideoFrameType::Key,
            VideoCodecId::Hevc,
            VideoPacketType::SequenceStart,
            0,
        );
        assert!(matches!(
            d.push(TagType::Video, 0, &video_body(bad, &[1, 2, 3])),
            Err(Error::BadConfig { what: "hvcC", .. })
        ));
        let vp6 = Bytes::from_static(&[0x14, 0, 0]);
        assert_eq!(
            d.push(TagType::Video, 0, &vp6),
            Err(Error::UnmappedVideoCodec { codec_id: 4 })
        );
    }

    #[test]
    fn av1_vp9_and_video_metadata() {
        let mut d = FlvDemuxer::new();
        let seq = VideoTagHeader::enhanced(
            VideoFrameType::Key,
            VideoFourCc::Av01,
            VideoPacketType::SequenceStart,
            0,
        );
        d.push(TagType::Video, 0, &video_body(seq, &[0x81, 0, 0x0C, 0]))
            .unwrap();
        let frame = VideoTagHeader::enhanced(
            VideoFrameType::Inter,
            VideoFourCc::Av01,
            VideoPacketType::CodedFrames,
            0,
        );
        d.push(
            TagType::Video,
            33,
            &video_body(frame, &[0x12, 0, 0x32, 1, 2]),
        )
        .unwrap();
        let ev = events(&mut d);
        assert!(
            matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::Av1 && t.config[..] == [0x81, 0, 0x0C, 0])
        );
        assert!(
            matches!(&ev[1], FlvEvent::Frame(f) if !f.keyframe && f.data[..] == [0x12, 0, 0x32, 1, 2] && f.dts.ticks() == 33)
        );

        // VP9 frames without a vpcC still make a track.
        let frame = VideoTagHeader::enhanced(
            VideoFrameType::Key,
            VideoFourCc::Vp09,
            VideoPacketType::CodedFrames,
            0,
        );
        d.push(TagType::Video, 66, &video_body(frame, &[0x82, 0x49]))
            .unwrap();
        let ev = events(&mut d);
        assert!(matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::Vp9));
        assert!(matches!(&ev[1], FlvEvent::Frame(f) if f.keyframe));

        let meta = VideoTagHeader::enhanced(
            VideoFrameType::Command,
            VideoFourCc::Hvc1,
            VideoPacketType::Metadata,
            0,
        );
        let mut amf = BytesMut::new();
        weir_amf::amf0::encode(&"colorInfo".into(), &mut amf).unwrap();
        weir_amf::amf0::encode(
            &Amf0Value::object([(
                "colorConfig",
                Amf0Value::object([("bitDepth", 10.0.into())]),
            )]),
            &mut amf,
        )
        .unwrap();
        d.push(TagType::Video, 0, &video_body(meta, &amf)).unwrap();
        let ev = events(&mut d);
        let FlvEvent::VideoMetadata(v) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(v[0].as_str(), Some("colorInfo"));
    }

    #[test]
    fn opus_and_g711() {
        let mut d = FlvDemuxer::new();
        let seq = AudioTagHeader::Enhanced(ExAudioHeader {
            packet_type: AudioPacketType::SequenceStart,
            fourcc: AudioFourCc::Opus,
            timestamp_offset_nanos: 0,
        });
        let mut body = BytesMut::from(&seq.to_bytes()[..]);
        body.extend_from_slice(&opus_head(2));
        d.push(TagType::Audio, 0, &body.freeze()).unwrap();
        let ev = events(&mut d);
        assert!(
            matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::Opus
            && t.audio == Some(AudioParams { sample_rate: 48_000, channels: 2 }))
        );
        // Opus frames before a sequence header are fine too (no config needed).
        let mut d = FlvDemuxer::new();
        d.push(
            TagType::Audio,
            20,
            &Bytes::from_static(b"\x91Opus\xfc\xff\xfe"),
        )
        .unwrap();
        let ev = events(&mut d);
        assert!(matches!(&ev[1], FlvEvent::Frame(f) if f.data[..] == [0xfc, 0xff, 0xfe]));

        // µ-law stereo.
        d.push(TagType::Audio, 40, &Bytes::from_static(&[0x83, 0xff, 0x7f]))
            .unwrap();
        let ev = events(&mut d);
        assert!(
            matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::G711U
            && t.audio == Some(AudioParams { sample_rate: 8000, channels: 2 }))
        );
        assert!(matches!(&ev[1], FlvEvent::Frame(f) if f.keyframe && f.data.len() == 2));

        assert_eq!(
            d.push(TagType::Audio, 0, &Bytes::from_static(&[0xAF, 1, 0x21])),
            Err(Error::NoSequenceHeader { codec: Codec::Aac })
        );
        assert_eq!(
            d.push(TagType::Audio, 0, &Bytes::from_static(&[0xB2, 1])),
            Err(Error::UnmappedSoundFormat { sound_format: 11 })
        );
        assert_eq!(
            d.push(TagType::Audio, 0, &Bytes::from_static(b"\x91fLaC")),
            Err(Error::UnmappedFourCc { fourcc: *b"fLaC" })
        );
    }

    #[test]
    fn timestamps_extend_past_32_bits() {
        let mut d = FlvDemuxer::new();
        for ts in [u32::MAX - 20, 5u32] {
            d.push(TagType::Audio, ts, &Bytes::from_static(&[0x72, 0xD5]))
                .unwrap();
        }
        let dts: Vec<i64> = events(&mut d)
            .into_iter()
            .filter_map(|e| match e {
                FlvEvent::Frame(f) => Some(f.dts.ticks()),
                _ => None,
            })
            .collect();
        assert_eq!(dts, vec![i64::from(u32::MAX) - 20, (1i64 << 32) + 5]);
    }

    fn audio_dts(timestamps: &[u32]) -> Vec<i64> {
        let mut d = FlvDemuxer::new();
        for &ts in timestamps {
            d.push(TagType::Audio, ts, &Bytes::from_static(&[0x72, 0xD5]))
                .unwrap();
        }
        events(&mut d)
            .into_iter()
            .filter_map(|e| match e {
                FlvEvent::Frame(f) => Some(f.dts.ticks()),
                _ => None,
            })
            .collect()
    }

    /// ffmpeg's and OBS's FLV muxers write 31 bits: after 2³¹ − 1 ms the clock goes back to
    /// 0, and the stream goes on where it was.
    #[test]
    fn a_31_bit_clock_going_back_to_0_continues() {
        let top = 1i64 << 31;
        let dts = audio_dts(&[(1 << 31) - 46, (1 << 31) - 23, 0, 23, 46]);
        assert_eq!(dts, vec![top - 46, top - 23, top, top + 23, top + 46]);
    }

    /// A 32-bit clock passing 2³¹ (and later 2³²) keeps its absolute value.
    #[test]
    fn a_32_bit_clock_keeps_its_value_across_2_pow_31_and_2_pow_32() {
        let top = 1i64 << 31;
        let dts = audio_dts(&[(1 << 31) - 23, 1 << 31, (1 << 31) + 23]);
        assert_eq!(dts, vec![top - 23, top, top + 23]);
        let dts = audio_dts(&[u32::MAX - 22, 0, 23]);
        assert_eq!(dts, vec![(1i64 << 32) - 23, 1 << 32, (1i64 << 32) + 23]);
    }

    /// A publisher that restarts its clock still goes back (repair is the hub's job).
    #[test]
    fn a_clock_restart_still_steps_back() {
        assert_eq!(audio_dts(&[90_000, 0, 23]), vec![90_000, 0, 23]);
    }

    #[test]
    fn annexb_in_nalu_tags_is_converted() {
        let mut d = FlvDemuxer::new();
        let seq = VideoTagHeader::legacy(
            VideoFrameType::Key,
            VideoCodecId::Avc,
            VideoPacketType::SequenceStart,
            0,
        );
        d.push(TagType::Video, 0, &video_body(seq, &avcc(4)))
            .unwrap();
        let nalu = VideoTagHeader::legacy(
            VideoFrameType::Key,
            VideoCodecId::Avc,
            VideoPacketType::CodedFrames,
            0,
        );
        // Two NAL units with start codes (3- and 4-byte) instead of length prefixes.
        d.push(
            TagType::Video,
            0,
            &video_body(nalu, &[0, 0, 0, 1, 0x65, 0xAA, 0, 0, 1, 0x06, 0xBB]),
        )
        .unwrap();
        let ev = events(&mut d);
        let FlvEvent::Frame(f) = &ev[1] else {
            panic!("{ev:?}")
        };
        assert_eq!(
            &f.data[..],
            &[0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 2, 0x06, 0xBB]
        );
        // A well-formed 4-byte-prefixed NAL of length 1 is not mistaken for a start code.
        d.push(TagType::Video, 40, &video_body(nalu, &[0, 0, 0, 1, 0x65]))
            .unwrap();
        let ev = events(&mut d);
        let FlvEvent::Frame(f) = &ev[0] else { panic!() };
        assert_eq!(&f.data[..], &[0, 0, 0, 1, 0x65]);
    }

    #[test]
    fn adts_in_aac_frames_is_stripped() {
        let mut d = FlvDemuxer::new();
        d.push(
            TagType::Audio,
            0,
            &Bytes::from_static(&[0xAF, 0, 0x12, 0x08]),
        )
        .unwrap();
        // ADTS header (LC, 44.1 kHz, mono, frame length 10) + 3 payload bytes.
        let asc = weir_aac::AudioSpecificConfig::parse(&[0x12, 0x08]).unwrap();
        let mut adts = BytesMut::new();
        weir_aac::raw_to_adts(&asc, &[0x21, 0x10, 0x04], &mut adts).unwrap();
        let mut body = BytesMut::from(&[0xAF, 1][..]);
        body.extend_from_slice(&adts);
        d.push(TagType::Audio, 23, &body.freeze()).unwrap();
        let ev = events(&mut d);
        let FlvEvent::Frame(f) = &ev[1] else {
            panic!("{ev:?}")
        };
        assert_eq!(&f.data[..], &[0x21, 0x10, 0x04]);
        // A raw frame that merely starts with 0xFF is left alone.
        d.push(
            TagType::Audio,
            46,
            &Bytes::from_static(&[0xAF, 1, 0xFF, 0xF1, 0x00]),
        )
        .unwrap();
        let ev = events(&mut d);
        let FlvEvent::Frame(f) = &ev[0] else { panic!() };
        assert_eq!(&f.data[..], &[0xFF, 0xF1, 0x00]);
    }

    #[test]
    fn empty_frames_are_skipped() {
        let mut d = FlvDemuxer::new();
        d.push(TagType::Audio, 0, &Bytes::from_static(&[0x72]))
            .unwrap();
        let seq = VideoTagHeader::legacy(
            VideoFrameType::Key,
            VideoCodecId::Avc,
            VideoPacketType::SequenceStart,
            0,
        );
        d.push(TagType::Video, 0, &video_body(seq, &avcc(4)))
            .unwrap();
        let nalu = VideoTagHeader::legacy(
            VideoFrameType::Inter,
            VideoCodecId::Avc,
            VideoPacketType::CodedFrames,
            0,
        );
        d.push(TagType::Video, 0, &video_body(nalu, &[])).unwrap();
        let ev = events(&mut d);
        assert_eq!(ev.len(), 1);
        assert!(matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::H264));
    }

    #[test]
    fn custom_track_ids() {
        let mut d = FlvDemuxer::new().with_track_ids(TrackId(7), TrackId(8));
        d.push(TagType::Audio, 0, &Bytes::from_static(&[0x72, 0xD5]))
            .unwrap();
        let ev = events(&mut d);
        assert!(matches!(&ev[0], FlvEvent::Track(t) if t.id == TrackId(8)));
        assert!(matches!(&ev[1], FlvEvent::Frame(f) if f.track == TrackId(8)));
    }

    #[test]
    fn rtmp_messages() {
        let mut d = FlvDemuxer::new();
        let mut body = BytesMut::from(&[0u8][..]); // AMF3 data message format byte
        body.extend_from_slice(&crate::Metadata::default().to_script_body().unwrap());
        assert!(d.push_rtmp_message(15, 0, &body.freeze()).unwrap());
        assert!(matches!(&events(&mut d)[..], [FlvEvent::Metadata(_)]));
        assert!(d
            .push_rtmp_message(8, 5, &Bytes::from_static(&[0x72, 0xD5]))
            .unwrap());
        assert_eq!(events(&mut d).len(), 2);
        assert!(!d.push_rtmp_message(20, 0, &Bytes::new()).unwrap());
    }

    #[test]
    fn multitrack_tracks_get_their_own_ids() {
        let mut d = FlvDemuxer::new().with_max_tracks(2);
        // ManyTracks Opus CodedFrames: tracks 0 and 1.
        d.push(
            TagType::Audio,
            20,
            &Bytes::from_static(b"\x95\x11Opus\x00\x00\x00\x02ab\x01\x00\x00\x01c"),
        )
        .unwrap();
        let ev = events(&mut d);
        let ids: Vec<(TrackId, usize)> = ev
            .iter()
            .filter_map(|e| match e {
                FlvEvent::Frame(f) => Some((f.track, f.data.len())),
                _ => None,
            })
            .collect();
        assert_eq!(ids, vec![(AUDIO_TRACK, 2), (TrackId(3), 1)]);
        assert_eq!(d.tracks().count(), 2);
        assert_eq!(d.audio_track().unwrap().id, AUDIO_TRACK);
        // Video multitrack: av01 tracks 0 and 2 (one codec, ManyTracks, CodedFrames).
        d.push(
            TagType::Video,
            40,
            &Bytes::from_static(b"\x96\x11av01\x00\x00\x00\x01x\x02\x00\x00\x01y"),
        )
        .unwrap();
        let frames: Vec<TrackId> = events(&mut d)
            .into_iter()
            .filter_map(|e| match e {
                FlvEvent::Frame(f) => Some(f.track),
                _ => None,
            })
            .collect();
        assert_eq!(frames, vec![VIDEO_TRACK, TrackId(4)]);
        // A third audio track exceeds the limit of 2.
        assert_eq!(
            d.push(
                TagType::Audio,
                60,
                &Bytes::from_static(b"\x95\x01Opus\x05z")
            ),
            Err(Error::TooManyTracks { limit: 2 })
        );
    }

    #[test]
    fn script_tags() {
        let mut d = FlvDemuxer::new();
        let text = ScriptData {
            name: "onTextData".into(),
            values: vec![Amf0Value::object([("text", "hi".into())])],
        };
        d.push(TagType::Script, 0, &text.to_bytes().unwrap())
            .unwrap();
        assert_eq!(events(&mut d), vec![FlvEvent::Script(text)]);
    }
}
