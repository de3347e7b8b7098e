//! Sample entries (the codec description in `stsd`): written from a [`TrackInfo`] by the
//! muxers, parsed back into one by the demuxer.
//!
//! * H.264: `avc1`/`avc3` + `avcC` (ISO/IEC 14496-15 §5.4.2); H.265: `hvc1`/`hev1` + `hvcC`
//!   (14496-15 §8.4.1).
//! * AAC: `mp4a` + `esds` (14496-14 §5.6; descriptors 14496-1 §7.2.6).
//! * Opus: `Opus` + `dOps` ("Encapsulation of Opus in ISO Base Media File Format" §4.3).
//! * G.711: `alaw`/`ulaw` audio sample entries (the QuickTime codes ffmpeg reads and writes).
//! * Motion JPEG: `mp4v` + `esds` with objectTypeIndication 0x6C (JPEG), as ffmpeg's MP4
//!   muxer writes it; `jpeg` (QuickTime) is read too.

use bytes::{BufMut, Bytes, BytesMut};
use weir_aac::AudioSpecificConfig;
use weir_h264::AvcConfig;
use weir_h265::HevcConfig;
use weir_media::{AudioParams, Codec, MediaKind, TrackId, TrackInfo, VideoParams};

use crate::boxes::{kind, BoxWriter, Children, Cursor, FourCc};
use crate::error::{Error, Result};

/// What the muxers know about a track after checking its [`TrackInfo`].
#[derive(Clone, Debug)]
pub(crate) struct MuxTrack {
    /// The track, with `config` as written to the file.
    pub info: TrackInfo,
    /// `mdhd` timescale: the track's clock rate.
    pub timescale: u32,
    /// The complete sample entry box.
    pub entry: Bytes,
    /// Picture size for `tkhd` (video).
    pub video: Option<VideoParams>,
    /// The duration of one frame in timescale ticks when the codec fixes it (AAC) or the
    /// SPS states a frame rate; used for a track's last sample when nothing follows it.
    pub nominal_duration: Option<u32>,
}

impl MuxTrack {
    pub(crate) fn kind(&self) -> MediaKind {
        self.info.codec.kind()
    }
}

/// Sample entry choices for parameter-set carriage.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParameterSets {
    /// `avc1` / `hvc1`: parameter sets in the sample entry (the default; what ffmpeg writes
    /// and every player reads).
    #[default]
    OutOfBand,
    /// `avc3` / `hev1`: parameter sets may also change in band (live streams whose
    /// encoder restarts).
    InBand,
}

fn bad_config(info: &TrackInfo, reason: impl ToString) -> Error {
    Error::BadConfig {
        track: info.id,
        codec: info.codec,
        reason: reason.to_string(),
    }
}

/// Checks a track and builds its sample entry.
pub(crate) fn mux_track(info: &TrackInfo, ps: ParameterSets) -> Result<MuxTrack> {
    let mut info = info.clone();
    let timescale = info.clock_rate.max(1);
    let mut buf = BytesMut::with_capacity(128 + info.config.len());
    let mut w = BoxWriter::new(&mut buf);
    let mut nominal_duration = None;
    let mut video = info.video;
    match info.codec {
        Codec::H264 => {
            let mut cfg = AvcConfig::parse_bytes(&info.config).map_err(|e| bad_config(&info, e))?;
            if cfg.nal_length_size != 4 {
                cfg.nal_length_size = 4; // frames carry 4-byte prefixes (weir_media::nal)
                info.config = cfg.to_bytes();
            }
            if let Ok(sps) = cfg.parsed_sps() {
                video = Some(VideoParams {
                    width: sps.width(),
                    height: sps.height(),
                });
                nominal_duration = frame_ticks(sps.frame_rate(), timescale);
            }
            let fourcc = match ps {
                ParameterSets::OutOfBand => kind::AVC1,
                ParameterSets::InBand => kind::AVC3,
            };
            visual_entry(&mut w, fourcc, video.unwrap_or_default(), |w| {
                w.leaf(kind::AVCC, &info.config)
            });
        }
        Codec::H265 => {
            let mut cfg =
                HevcConfig::parse_bytes(&info.config).map_err(|e| bad_config(&info, e))?;
            if cfg.nal_length_size != 4 {
                cfg.nal_length_size = 4;
                info.config = cfg.to_bytes();
            }
            if let Ok(sps) = cfg.parsed_sps() {
                video = Some(VideoParams {
                    width: sps.width(),
                    height: sps.height(),
                });
                nominal_duration = frame_ticks(sps.frame_rate(), timescale);
            }
            let fourcc = match ps {
                ParameterSets::OutOfBand => kind::HVC1,
                ParameterSets::InBand => kind::HEV1,
            };
            visual_entry(&mut w, fourcc, video.unwrap_or_default(), |w| {
                w.leaf(kind::HVCC, &info.config)
            });
        }
        Codec::Mjpeg => {
            visual_entry(&mut w, kind::MP4V, video.unwrap_or_default(), |w| {
                esds(w, OTI_JPEG, STREAM_VISUAL, &[])
            });
        }
        Codec::Aac => {
            let asc = if info.config.is_empty() {
                let a = info.audio.unwrap_or_default();
                let asc = AudioSpecificConfig::lc(a.sample_rate, a.channels)
                    .map_err(|e| bad_config(&info, e))?;
                info.config = asc.to_bytes();
                asc
            } else {
                AudioSpecificConfig::parse(&info.config).map_err(|e| bad_config(&info, e))?
            };
            let rate = asc.sample_rate();
            info.audio = Some(AudioParams {
                sample_rate: rate,
                channels: asc.channels(),
            });
            nominal_duration = scale(u64::from(asc.samples_per_frame()), rate, timescale);
            audio_entry(&mut w, kind::MP4A, asc.channels().max(1), rate, |w| {
                esds(w, OTI_AAC, STREAM_AUDIO, &info.config)
            });
        }
        Codec::Opus => {
            let head = if info.config.is_empty() {
                let a = info.audio.unwrap_or_default();
                OpusHead::new(a.channels.max(1), a.sample_rate)
            } else {
                OpusHead::parse(&info.config).ok_or_else(|| bad_config(&info, "bad OpusHead"))?
            };
            info.config = head.to_opus_head();
            info.audio = Some(AudioParams {
                sample_rate: 48_000,
                channels: head.channels,
            });
            audio_entry(&mut w, kind::OPUS, head.channels.max(1), 48_000, |w| {
                w.leaf(kind::DOPS, &head.to_dops())
            });
        }
        Codec::G711A | Codec::G711U => {
            let a = info.audio.unwrap_or(AudioParams {
                sample_rate: 8_000,
                channels: 1,
            });
            let fourcc = if info.codec == Codec::G711A {
                kind::ALAW
            } else {
                kind::ULAW
            };
            audio_entry(&mut w, fourcc, a.channels.max(1), a.sample_rate, |_| {});
        }
        codec => {
            return Err(Error::UnsupportedCodec {
                track: info.id,
                codec,
            })
        }
    }
    info.video = video.or(info.video);
    Ok(MuxTrack {
        info,
        timescale,
        entry: buf.freeze(),
        video,
        nominal_duration,
    })
}

fn scale(ticks: u64, from: u32, to: u32) -> Option<u32> {
    let v = u128::from(ticks) * u128::from(to) / u128::from(from.max(1));
    u32::try_from(v).ok().filter(|&v| v > 0)
}

fn frame_ticks(rate: Option<(u32, u32)>, timescale: u32) -> Option<u32> {
    let (num, den) = rate?;
    scale(u64::from(den), num, timescale)
}

/// VisualSampleEntry (14496-12 §12.1.3) followed by `children`.
fn visual_entry(
    w: &mut BoxWriter<'_>,
    fourcc: FourCc,
    v: VideoParams,
    children: impl FnOnce(&mut BoxWriter<'_>),
) {
    let m = w.open(fourcc);
    w.zeros(6);
    w.u16(1); // data_reference_index
    w.zeros(16); // pre_defined, reserved, pre_defined[3]
    w.u16(u16::try_from(v.width).unwrap_or(0));
    w.u16(u16::try_from(v.height).unwrap_or(0));
    w.u32(0x0048_0000); // 72 dpi
    w.u32(0x0048_0000);
    w.u32(0);
    w.u16(1); // frame_count
    w.zeros(32); // compressorname
    w.u16(0x0018); // depth
    w.u16(0xFFFF); // pre_defined = -1
    children(w);
    w.close(m);
}

/// AudioSampleEntry (14496-12 §12.2.3) followed by `children`.
fn audio_entry(
    w: &mut BoxWriter<'_>,
    fourcc: FourCc,
    channels: u8,
    rate: u32,
    children: impl FnOnce(&mut BoxWriter<'_>),
) {
    let m = w.open(fourcc);
    w.zeros(6);
    w.u16(1);
    w.zeros(8);
    w.u16(u16::from(channels));
    w.u16(16); // samplesize
    w.zeros(4);
    // 16.16 fixed point; rates above 65535 Hz do not fit and are left 0 (the decoder
    // configuration carries the real rate).
    w.u32(if rate <= 0xFFFF { rate << 16 } else { 0 });
    children(w);
    w.close(m);
}

const OTI_AAC: u8 = 0x40;
const OTI_JPEG: u8 = 0x6C;
const STREAM_VISUAL: u8 = 0x04;
const STREAM_AUDIO: u8 = 0x05;

/// `esds` with an ES_Descriptor, DecoderConfigDescriptor, DecoderSpecificInfo (when `dsi`
/// is not empty) and SLConfigDescriptor (14496-1 §7.2.6.5–7, §7.3.2.3).
fn esds(w: &mut BoxWriter<'_>, oti: u8, stream_type: u8, dsi: &[u8]) {
    let dsi_len = if dsi.is_empty() {
        0
    } else {
        descriptor_len(dsi.len())
    };
    let dcd_body = 13 + dsi_len;
    let es_body = 3 + descriptor_len(dcd_body) + descriptor_len(1);
    let m = w.open_full(kind::ESDS, 0, 0);
    descriptor_header(w, 0x03, es_body);
    w.u16(0); // ES_ID
    w.u8(0); // no dependence, URL or OCR stream
    descriptor_header(w, 0x04, dcd_body);
    w.u8(oti);
    w.u8(stream_type << 2 | 1); // upStream 0, reserved 1
    w.bytes(&[0, 0, 0]); // bufferSizeDB
    w.u32(0); // maxBitrate
    w.u32(0); // avgBitrate
    if !dsi.is_empty() {
        descriptor_header(w, 0x05, dsi.len());
        w.bytes(dsi);
    }
    descriptor_header(w, 0x06, 1);
    w.u8(0x02); // SL predefined: reserved for MP4 files
    w.close(m);
}

/// Bytes a descriptor of `body` bytes takes with its tag and size field.
fn descriptor_len(body: usize) -> usize {
    let size_bytes = match body {
        0..=0x7F => 1,
        0x80..=0x3FFF => 2,
        0x4000..=0x1F_FFFF => 3,
        _ => 4,
    };
    1 + size_bytes + body
}

fn descriptor_header(w: &mut BoxWriter<'_>, tag: u8, body: usize) {
    w.u8(tag);
    let n = descriptor_len(body) - 1 - body;
    for i in (0..n).rev() {
        let more = if i > 0 { 0x80 } else { 0 };
        w.u8(((body >> (7 * i)) & 0x7F) as u8 | more);
    }
}

/// The fields of an Opus identification header (RFC 7845 §5.1) / `dOps` box.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OpusHead {
    channels: u8,
    pre_skip: u16,
    input_rate: u32,
    gain: i16,
    family: u8,
    /// stream count, coupled count and the channel mapping (family ≠ 0).
    mapping: Vec<u8>,
}

impl OpusHead {
    fn new(channels: u8, input_rate: u32) -> OpusHead {
        OpusHead {
            channels,
            pre_skip: 0,
            input_rate,
            gain: 0,
            family: 0,
            mapping: Vec::new(),
        }
    }

    /// From an `OpusHead` packet (little-endian fields).
    fn parse(d: &[u8]) -> Option<OpusHead> {
        if d.get(..8)? != b"OpusHead" {
            return None;
        }
        let channels = *d.get(9)?;
        let le16 = |i: usize| Some(u16::from_le_bytes([*d.get(i)?, *d.get(i + 1)?]));
        let rate = u32::from_le_bytes(d.get(12..16)?.try_into().ok()?);
        let family = *d.get(18)?;
        let mapping = if family == 0 {
            Vec::new()
        } else {
            d.get(19..21usize.checked_add(usize::from(channels))?)?
                .to_vec()
        };
        Some(OpusHead {
            channels,
            pre_skip: le16(10)?,
            input_rate: rate,
            gain: le16(16)? as i16,
            family,
            mapping,
        })
    }

    /// From a `dOps` payload (big-endian fields, version 0).
    fn parse_dops(c: &mut Cursor<'_>) -> Result<OpusHead> {
        let version = c.u8("Version")?;
        if version != 0 {
            return Err(c.invalid("Version", u64::from(version)));
        }
        let channels = c.u8("OutputChannelCount")?;
        let pre_skip = c.u16("PreSkip")?;
        let input_rate = c.u32("InputSampleRate")?;
        let gain = c.u16("OutputGain")? as i16;
        let family = c.u8("ChannelMappingFamily")?;
        let mapping = if family == 0 {
            Vec::new()
        } else {
            c.take(2 + usize::from(channels), "ChannelMapping")?
                .to_vec()
        };
        Ok(OpusHead {
            channels,
            pre_skip,
            input_rate,
            gain,
            family,
            mapping,
        })
    }

    fn to_opus_head(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(19 + self.mapping.len());
        b.put_slice(b"OpusHead");
        b.put_u8(1);
        b.put_u8(self.channels);
        b.put_u16_le(self.pre_skip);
        b.put_u32_le(self.input_rate);
        b.put_i16_le(self.gain);
        b.put_u8(self.family);
        b.put_slice(&self.mapping);
        b.freeze()
    }

    fn to_dops(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(11 + self.mapping.len());
        b.push(0);
        b.push(self.channels);
        b.extend_from_slice(&self.pre_skip.to_be_bytes());
        b.extend_from_slice(&self.input_rate.to_be_bytes());
        b.extend_from_slice(&self.gain.to_be_bytes());
        b.push(self.family);
        b.extend_from_slice(&self.mapping);
        b
    }
}

/// Parses the first sample entry of an `stsd` into a track, or `None` for a codec this
/// crate does not map (the track is then skipped).
pub(crate) fn parse_stsd(
    stsd: &Cursor<'_>,
    id: TrackId,
    timescale: u32,
) -> Result<Option<TrackInfo>> {
    let mut c = stsd.clone();
    c.full_header()?;
    let count = c.u32("entry_count")?;
    if count == 0 {
        return Ok(None);
    }
    let Some(entry) = Children::new(c.rest(), c.offset()).next().transpose()? else {
        return Ok(None);
    };
    let mut e = Cursor::of(&entry);
    e.skip(6, "reserved")?;
    e.u16("data_reference_index")?;
    let f = entry.fourcc;
    let visual = [
        kind::AVC1,
        kind::AVC3,
        kind::HVC1,
        kind::HEV1,
        kind::MP4V,
        kind::JPEG,
    ];
    if visual.contains(&f) {
        e.skip(16, "pre_defined")?;
        let width = u32::from(e.u16("width")?);
        let height = u32::from(e.u16("height")?);
        e.skip(50, "VisualSampleEntry")?;
        let video = VideoParams { width, height };
        let mut codec = None;
        let mut config = Bytes::new();
        for child in Children::new(e.rest(), e.offset()) {
            let child = child?;
            match (f, child.fourcc) {
                (kind::AVC1 | kind::AVC3, kind::AVCC) => {
                    codec = Some(Codec::H264);
                    config = Bytes::copy_from_slice(child.body);
                }
                (kind::HVC1 | kind::HEV1, kind::HVCC) => {
                    codec = Some(Codec::H265);
                    config = Bytes::copy_from_slice(child.body);
                }
                (kind::MP4V, kind::ESDS) if parse_esds(&Cursor::of(&child))?.0 == OTI_JPEG => {
                    codec = Some(Codec::Mjpeg);
                }
                _ => {}
            }
        }
        if f == kind::JPEG {
            codec = Some(Codec::Mjpeg);
        }
        let Some(codec) = codec else {
            return Ok(None);
        };
        let mut t = TrackInfo::new(id, codec, timescale).with_config(config);
        t.video = Some(video);
        return Ok(Some(t));
    }
    let audio = [kind::MP4A, kind::OPUS, kind::ALAW, kind::ULAW];
    if !audio.contains(&f) {
        return Ok(None);
    }
    let version = e.u16("version")?;
    e.skip(6, "reserved")?;
    let mut channels = e.u16("channelcount")?;
    e.skip(6, "samplesize")?;
    let mut rate = e.u32("samplerate")? >> 16;
    // QuickTime sound descriptions version 1 and 2 carry extra fields before the boxes.
    match version {
        1 => e.skip(16, "sound description v1")?,
        2 => {
            e.skip(4, "sizeOfStructOnly")?;
            let r = f64::from_bits(e.u64("audioSampleRate")?);
            if r.is_finite() && r >= 1.0 && r <= f64::from(u32::MAX) {
                rate = r as u32;
            }
            channels = u16::try_from(e.u32("numAudioChannels")?).unwrap_or(0);
            e.skip(20, "sound description v2")?;
        }
        _ => {}
    }
    let mut params = AudioParams {
        sample_rate: rate,
        channels: u8::try_from(channels).unwrap_or(u8::MAX),
    };
    let mut codec = match f {
        kind::ALAW => Some(Codec::G711A),
        kind::ULAW => Some(Codec::G711U),
        _ => None,
    };
    let mut config = Bytes::new();
    let mut stack = vec![Children::new(e.rest(), e.offset())];
    while let Some(it) = stack.last_mut() {
        let Some(child) = it.next().transpose()? else {
            stack.pop();
            continue;
        };
        match child.fourcc {
            kind::WAVE if stack.len() < 3 => {
                stack.push(Children::new(child.body, child.body_offset))
            }
            kind::ESDS if f == kind::MP4A => {
                let (oti, dsi) = parse_esds(&Cursor::of(&child))?;
                match oti {
                    0x40 | 0x66..=0x68 => {
                        let asc =
                            AudioSpecificConfig::parse(&dsi).map_err(|e| Error::BadConfig {
                                track: id,
                                codec: Codec::Aac,
                                reason: e.to_string(),
                            })?;
                        params = AudioParams {
                            sample_rate: asc.sample_rate(),
                            channels: asc.channels(),
                        };
                        codec = Some(Codec::Aac);
                        config = dsi;
                    }
                    0x69 | 0x6B => codec = Some(Codec::MpegAudio),
                    _ => {}
                }
            }
            kind::DOPS if f == kind::OPUS => {
                let head = OpusHead::parse_dops(&mut Cursor::of(&child))?;
                params = AudioParams {
                    sample_rate: 48_000,
                    channels: head.channels,
                };
                config = head.to_opus_head();
                codec = Some(Codec::Opus);
            }
            _ => {}
        }
    }
    let Some(codec) = codec else {
        return Ok(None);
    };
    let mut t = TrackInfo::new(id, codec, timescale).with_config(config);
    t.audio = Some(params);
    Ok(Some(t))
}

/// Reads a descriptor tag and its expandable size (14496-1 §8.3.3).
fn descriptor(c: &mut Cursor<'_>) -> Result<(u8, usize)> {
    let tag = c.u8("descriptor tag")?;
    let mut size = 0usize;
    for _ in 0..4 {
        let b = c.u8("descriptor size")?;
        size = size << 7 | usize::from(b & 0x7F);
        if b & 0x80 == 0 {
            break;
        }
    }
    Ok((tag, size))
}

/// `(objectTypeIndication, DecoderSpecificInfo)` of an `esds` payload.
fn parse_esds(esds: &Cursor<'_>) -> Result<(u8, Bytes)> {
    let mut c = esds.clone();
    c.full_header()?;
    let (tag, len) = descriptor(&mut c)?;
    if tag != 0x03 {
        return Err(c.invalid("ES_DescrTag", u64::from(tag)));
    }
    let mut es = Cursor::new(
        c.take(len.min(c.remaining()), "ES_Descriptor")?,
        c.fourcc(),
        c.offset(),
    );
    es.u16("ES_ID")?;
    let flags = es.u8("ES flags")?;
    if flags & 0x80 != 0 {
        es.u16("dependsOn_ES_ID")?;
    }
    if flags & 0x40 != 0 {
        let n = es.u8("URLlength")?;
        es.skip(usize::from(n), "URLstring")?;
    }
    if flags & 0x20 != 0 {
        es.u16("OCR_ES_Id")?;
    }
    while es.remaining() > 0 {
        let (tag, len) = descriptor(&mut es)?;
        let body = es.take(len.min(es.remaining()), "descriptor")?;
        if tag != 0x04 {
            continue;
        }
        let mut d = Cursor::new(body, es.fourcc(), es.offset());
        let oti = d.u8("objectTypeIndication")?;
        d.skip(12, "DecoderConfigDescriptor")?;
        while d.remaining() > 0 {
            let (tag, len) = descriptor(&mut d)?;
            let body = d.take(len.min(d.remaining()), "DecoderSpecificInfo")?;
            if tag == 0x05 {
                return Ok((oti, Bytes::copy_from_slice(body)));
            }
        }
        return Ok((oti, Bytes::new()));
    }
    Err(Error::MissingBox {
        fourcc: kind::ESDS,
        context: "DecoderConfigDescriptor in esds",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_sizes() {
        for n in [0usize, 5, 127, 128, 300, 20_000, 3_000_000] {
            let mut buf = BytesMut::new();
            descriptor_header(&mut BoxWriter::new(&mut buf), 5, n);
            assert_eq!(buf.len(), descriptor_len(n) - n);
            let mut c = Cursor::new(&buf, kind::ESDS, 0);
            assert_eq!(descriptor(&mut c).unwrap(), (5, n));
        }
    }

    #[test]
    fn opus_head_dops_roundtrip() {
        let head = OpusHead {
            channels: 6,
            pre_skip: 312,
            input_rate: 44_100,
            gain: -3,
            family: 1,
            mapping: vec![4, 2, 0, 4, 1, 2, 3, 5],
        };
        let bytes = head.to_opus_head();
        assert_eq!(OpusHead::parse(&bytes), Some(head.clone()));
        let dops = head.to_dops();
        let mut c = Cursor::new(&dops, kind::DOPS, 0);
        assert_eq!(OpusHead::parse_dops(&mut c).unwrap(), head);
    }

    #[test]
    fn aac_entry_roundtrip() {
        let info = TrackInfo::new(TrackId(2), Codec::Aac, 44_100)
            .with_config(Bytes::from_static(&[0x12, 0x10]));
        let t = mux_track(&info, ParameterSets::OutOfBand).unwrap();
        assert_eq!(t.nominal_duration, Some(1024));
        let mut stsd = vec![0u8, 0, 0, 0, 0, 0, 0, 1];
        stsd.extend_from_slice(&t.entry);
        let back = parse_stsd(&Cursor::new(&stsd, kind::STSD, 0), TrackId(2), 44_100)
            .unwrap()
            .unwrap();
        assert_eq!(back.config, info.config);
        assert_eq!(
            back.audio,
            Some(AudioParams {
                sample_rate: 44_100,
                channels: 2
            })
        );
    }

    #[test]
    fn unsupported_codec() {
        let info = TrackInfo::new(TrackId(0), Codec::Vp8, 90_000);
        assert!(matches!(
            mux_track(&info, ParameterSets::OutOfBand),
            Err(Error::UnsupportedCodec { .. })
        ));
    }
}
