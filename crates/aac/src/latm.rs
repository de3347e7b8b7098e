//! LATM and LOAS (ISO/IEC 14496-3 1.7): `StreamMuxConfig`, `AudioMuxElement`,
//! `PayloadLengthInfo`/`PayloadMux`, and the LOAS `AudioSyncStream` sync layer (0x2B7).
//!
//! Two uses drive this module:
//!
//! * **LOAS** (MPEG-TS `stream_type` 0x11, ffmpeg `-f latm`): [`LoasReader`] splits the byte
//!   stream into `AudioMuxElement(1)`s, [`LatmDecoder`] keeps the in-band `StreamMuxConfig`
//!   and yields raw access units; [`write_loas`] frames elements.
//! * **RTP MP4A-LATM** (RFC 6416): with `cpresent=0` the `StreamMuxConfig` travels out of band
//!   in SDP `config=` (hex of [`StreamMuxConfig::to_bytes`]); each RTP payload is an
//!   `AudioMuxElement(0)`: build with [`write_audio_mux_element`], parse with
//!   [`LatmDecoder::with_config`] + [`LatmDecoder::decode`] (`mux_config_present = false`).
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_aac::latm::{write_audio_mux_element, LatmDecoder, StreamMuxConfig};
//! use weir_aac::AudioSpecificConfig;
//!
//! let smc = StreamMuxConfig::single(AudioSpecificConfig::lc(44100, 2).unwrap());
//! assert_eq!(&smc.to_bytes()[..], &[0x40, 0x00, 0x24, 0x20, 0x3F, 0xC0]); // SDP config=40002420
//! let mut rtp_payload = BytesMut::new();
//! write_audio_mux_element(&smc, false, false, &[&[0xAB; 300]], &mut rtp_payload).unwrap();
//! assert_eq!(&rtp_payload[..2], &[0xFF, 45]); // PayloadLengthInfo: 255 + 45
//! let mut dec = LatmDecoder::with_config(smc);
//! let el = dec.decode(&rtp_payload.freeze(), false).unwrap();
//! assert_eq!(el.payloads[0].data.len(), 300);
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use weir_media::bits::{BitReader, BitWriter};

use crate::asc::AudioSpecificConfig;
use crate::error::{Error, Result};

/// LOAS syncword (11 bits).
pub const LOAS_SYNC: u16 = 0x2B7;
/// Largest `audioMuxLengthBytes` (13 bits).
pub const LOAS_MAX_ELEMENT_LEN: usize = 0x1FFF;

/// One layer of one program in a [`StreamMuxConfig`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LatmLayer {
    /// The layer's AudioSpecificConfig (a copy of the previous layer's when
    /// `use_same_config`).
    pub config: AudioSpecificConfig,
    /// useSameConfig (never set for program 0 layer 0).
    pub use_same_config: bool,
    /// frameLengthType (3 bits): 0 = byte lengths in PayloadLengthInfo, 1 = fixed
    /// `frame_length`, 3-5 CELP, 6-7 HVXC.
    pub frame_length_type: u8,
    /// latmBufferFullness (frameLengthType 0; 0xFF = VBR).
    pub latm_buffer_fullness: u8,
    /// coreFrameOffset (6 bits), for scalable layers over a CELP core when streams are not
    /// time-aligned.
    pub core_frame_offset: Option<u8>,
    /// frameLength (9 bits; frameLengthType 1: payload is `frame_length + 20` bytes).
    pub frame_length: u16,
    /// CELPframeLengthTableIndex (6 bits) or HVXCframeLengthTableIndex (1 bit).
    pub table_index: u8,
}

impl LatmLayer {
    /// A layer carrying `config` with byte-length framing (frameLengthType 0, VBR fullness).
    pub fn new(config: AudioSpecificConfig) -> LatmLayer {
        LatmLayer {
            config,
            use_same_config: false,
            frame_length_type: 0,
            latm_buffer_fullness: 0xFF,
            core_frame_offset: None,
            frame_length: 0,
            table_index: 0,
        }
    }
}

/// StreamMuxConfig (14496-3 1.7.3.1, Table 1.42), audioMuxVersion 0 and 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamMuxConfig {
    /// audioMuxVersion (0 or 1). Version 1 carries ascLen, so configs with trailing
    /// extensions (backward-compatible SBR) are delimited.
    pub audio_mux_version: u8,
    /// taraBufferFullness (version 1).
    pub tara_buffer_fullness: u32,
    /// allStreamsSameTimeFraming.
    pub all_streams_same_time_framing: bool,
    /// numSubFrames (6 bits): sub-frames per AudioMuxElement minus one.
    pub num_sub_frames: u8,
    /// `programs[prog][layer]`: 1 to 16 programs of 1 to 8 layers.
    pub programs: Vec<Vec<LatmLayer>>,
    /// otherDataLenBits when otherDataPresent.
    pub other_data_len_bits: Option<u32>,
    /// crcCheckSum when crcCheckPresent.
    pub crc_check_sum: Option<u8>,
}

fn read_latm_value(r: &mut BitReader<'_>) -> Result<u32> {
    let e = Error::bits("LatmGetValue");
    let bytes = r.read_u32(2).map_err(&e)? + 1;
    r.read_u32(8 * bytes).map_err(&e)
}

fn write_latm_value(w: &mut BitWriter, v: u32) {
    let bytes = match v {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFF_FFFF => 3,
        _ => 4,
    };
    w.write_bits(u64::from(bytes - 1), 2);
    w.write_bits(u64::from(v), 8 * bytes);
}

impl StreamMuxConfig {
    /// The usual single-stream config: one program, one layer carrying `asc`, one sub-frame,
    /// byte-length framing, no other data, no CRC. Version 0, or version 1 when the config
    /// has a backward-compatible extension (which only version 1 can delimit).
    pub fn single(asc: AudioSpecificConfig) -> StreamMuxConfig {
        let bc = asc
            .sbr
            .as_ref()
            .is_some_and(|s| s.signalling == crate::asc::SbrSignalling::BackwardCompatible);
        StreamMuxConfig {
            audio_mux_version: u8::from(bc),
            tara_buffer_fullness: if bc { 0xFF } else { 0 },
            all_streams_same_time_framing: true,
            num_sub_frames: 0,
            programs: vec![vec![LatmLayer::new(asc)]],
            other_data_len_bits: None,
            crc_check_sum: None,
        }
    }

    /// Parses a standalone, byte-aligned StreamMuxConfig (SDP `config=` of RFC 6416).
    pub fn parse(data: &[u8]) -> Result<StreamMuxConfig> {
        let mut r = BitReader::new(data);
        Self::read(&mut r)
    }

    /// The config of the first stream (program 0, layer 0).
    pub fn first_config(&self) -> Option<&AudioSpecificConfig> {
        self.programs
            .first()
            .and_then(|p| p.first())
            .map(|l| &l.config)
    }

    /// Number of streams (layers over all programs).
    pub fn stream_count(&self) -> usize {
        self.programs.iter().map(Vec::len).sum()
    }

    fn stream(&self, index: usize) -> Option<&LatmLayer> {
        self.programs.iter().flatten().nth(index)
    }

    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<StreamMuxConfig> {
        let e = Error::bits("StreamMuxConfig");
        let version = r.read_u32(1).map_err(&e)? as u8;
        let version_a = if version == 1 {
            r.read_u32(1).map_err(&e)?
        } else {
            0
        };
        if version_a != 0 {
            return Err(Error::ReservedMuxVersion);
        }
        let tara = if version == 1 { read_latm_value(r)? } else { 0 };
        let all_same = r.read_flag().map_err(&e)?;
        let num_sub_frames = r.read_u32(6).map_err(&e)? as u8;
        let num_program = r.read_u32(4).map_err(&e)? + 1;
        let mut programs: Vec<Vec<LatmLayer>> = Vec::with_capacity(num_program as usize);
        let mut prev: Option<AudioSpecificConfig> = None;
        for prog in 0..num_program {
            let num_layer = r.read_u32(3).map_err(&e)? + 1;
            let mut layers: Vec<LatmLayer> = Vec::with_capacity(num_layer as usize);
            for lay in 0..num_layer {
                let use_same = if prog == 0 && lay == 0 {
                    false
                } else {
                    r.read_flag().map_err(&e)?
                };
                let config = if use_same {
                    prev.clone().ok_or(Error::InvalidField {
                        what: "StreamMuxConfig",
                        field: "useSameConfig",
                        value: 1,
                    })?
                } else if version == 0 {
                    AudioSpecificConfig::read(r, None)?
                } else {
                    let asc_len = read_latm_value(r)? as usize;
                    let start = r.position();
                    let end = start.checked_add(asc_len).ok_or(Error::InvalidField {
                        what: "StreamMuxConfig",
                        field: "ascLen",
                        value: asc_len as u64,
                    })?;
                    if asc_len > r.bits_left() {
                        return Err(Error::Truncated {
                            what: "StreamMuxConfig AudioSpecificConfig",
                            needed: asc_len.div_ceil(8),
                            available: r.bits_left() / 8,
                        });
                    }
                    let asc = AudioSpecificConfig::read(r, Some(end))?;
                    // fillBits up to ascLen.
                    let used = r.position() - start;
                    if used > asc_len {
                        return Err(Error::InvalidField {
                            what: "StreamMuxConfig",
                            field: "ascLen",
                            value: asc_len as u64,
                        });
                    }
                    r.skip_bits(asc_len - used).map_err(&e)?;
                    asc
                };
                let mut layer = LatmLayer::new(config.clone());
                layer.use_same_config = use_same;
                layer.frame_length_type = r.read_u32(3).map_err(&e)? as u8;
                match layer.frame_length_type {
                    0 => {
                        layer.latm_buffer_fullness = r.read_u8().map_err(&e)?;
                        if !all_same {
                            let prev_aot = layers.last().map(|l| l.config.object_type);
                            if matches!(config.object_type, 6 | 20)
                                && matches!(prev_aot, Some(8 | 24))
                            {
                                layer.core_frame_offset = Some(r.read_u32(6).map_err(&e)? as u8);
                            }
                        }
                    }
                    1 => layer.frame_length = r.read_u32(9).map_err(&e)? as u16,
                    3..=5 => layer.table_index = r.read_u32(6).map_err(&e)? as u8,
                    6 | 7 => layer.table_index = r.read_u32(1).map_err(&e)? as u8,
                    _ => {}
                }
                prev = Some(config);
                layers.push(layer);
            }
            programs.push(layers);
        }
        let other_data_len_bits = if r.read_flag().map_err(&e)? {
            Some(if version == 1 {
                read_latm_value(r)?
            } else {
                let mut v: u32 = 0;
                loop {
                    let esc = r.read_flag().map_err(&e)?;
                    let tmp = r.read_u32(8).map_err(&e)?;
                    v = v.checked_mul(256).and_then(|v| v.checked_add(tmp)).ok_or(
                        Error::InvalidField {
                            what: "StreamMuxConfig",
                            field: "otherDataLenBits",
                            value: u64::from(v),
                        },
                    )?;
                    if !esc {
                        break v;
                    }
                }
            })
        } else {
            None
        };
        let crc_check_sum = if r.read_flag().map_err(&e)? {
            Some(r.read_u8().map_err(&e)?)
        } else {
            None
        };
        Ok(StreamMuxConfig {
            audio_mux_version: version,
            tara_buffer_fullness: tara,
            all_streams_same_time_framing: all_same,
            num_sub_frames,
            programs,
            other_data_len_bits,
            crc_check_sum,
        })
    }

    /// Writes the config bits into `w`.
    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<()> {
        if self.audio_mux_version > 1 {
            return Err(Error::InvalidField {
                what: "StreamMuxConfig",
                field: "audioMuxVersion",
                value: u64::from(self.audio_mux_version),
            });
        }
        if self.programs.is_empty() || self.programs.len() > 16 {
            return Err(Error::InvalidField {
                what: "StreamMuxConfig",
                field: "numProgram+1",
                value: self.programs.len() as u64,
            });
        }
        if self.num_sub_frames > 63 {
            return Err(Error::InvalidField {
                what: "StreamMuxConfig",
                field: "numSubFrames",
                value: u64::from(self.num_sub_frames),
            });
        }
        let v1 = self.audio_mux_version == 1;
        w.write_bit(v1);
        if v1 {
            w.write_bit(false); // audioMuxVersionA
            write_latm_value(w, self.tara_buffer_fullness);
        }
        w.write_bit(self.all_streams_same_time_framing);
        w.write_bits(u64::from(self.num_sub_frames), 6);
        w.write_bits(self.programs.len() as u64 - 1, 4);
        for (prog, layers) in self.programs.iter().enumerate() {
            if layers.is_empty() || layers.len() > 8 {
                return Err(Error::InvalidField {
                    what: "StreamMuxConfig",
                    field: "numLayer+1",
                    value: layers.len() as u64,
                });
            }
            w.write_bits(layers.len() as u64 - 1, 3);
            for (lay, layer) in layers.iter().enumerate() {
                let first = prog == 0 && lay == 0;
                if !first {
                    w.write_bit(layer.use_same_config);
                }
                if first || !layer.use_same_config {
                    if v1 {
                        let mut tmp = BitWriter::new();
                        layer.config.write(&mut tmp)?;
                        write_latm_value(w, tmp.bit_len() as u32);
                    }
                    layer.config.write(w)?;
                }
                w.write_bits(u64::from(layer.frame_length_type & 7), 3);
                match layer.frame_length_type {
                    0 => {
                        w.write_bits(u64::from(layer.latm_buffer_fullness), 8);
                        if !self.all_streams_same_time_framing {
                            let prev_aot = lay
                                .checked_sub(1)
                                .and_then(|i| layers.get(i))
                                .map(|l| l.config.object_type);
                            if matches!(layer.config.object_type, 6 | 20)
                                && matches!(prev_aot, Some(8 | 24))
                            {
                                w.write_bits(
                                    u64::from(layer.core_frame_offset.unwrap_or(0) & 0x3F),
                                    6,
                                );
                            }
                        }
                    }
                    1 => w.write_bits(u64::from(layer.frame_length & 0x1FF), 9),
                    3..=5 => w.write_bits(u64::from(layer.table_index & 0x3F), 6),
                    6 | 7 => w.write_bits(u64::from(layer.table_index & 1), 1),
                    _ => {}
                }
            }
        }
        w.write_bit(self.other_data_len_bits.is_some());
        if let Some(len) = self.other_data_len_bits {
            if v1 {
                write_latm_value(w, len);
            } else {
                let bytes = len.to_be_bytes();
                let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
                let used = bytes.get(skip..).unwrap_or(&[]);
                for (i, &b) in used.iter().enumerate() {
                    w.write_bit(i + 1 < used.len());
                    w.write_bits(u64::from(b), 8);
                }
            }
        }
        w.write_bit(self.crc_check_sum.is_some());
        if let Some(c) = self.crc_check_sum {
            w.write_bits(u64::from(c), 8);
        }
        Ok(())
    }

    /// The config as bytes (zero-padded), as carried in RFC 6416 SDP `config=` (hex).
    /// Empty when the config cannot be encoded (see [`StreamMuxConfig::try_to_bytes`]);
    /// configs from [`StreamMuxConfig::parse`] and [`StreamMuxConfig::single`] always can.
    pub fn to_bytes(&self) -> Bytes {
        self.try_to_bytes().unwrap_or_default()
    }

    /// Like [`StreamMuxConfig::to_bytes`], reporting unencodable values.
    pub fn try_to_bytes(&self) -> Result<Bytes> {
        let mut w = BitWriter::new();
        self.write(&mut w)?;
        w.byte_align_zero();
        Ok(Bytes::from(w.finish()))
    }
}

/// One access unit (or, with `all_streams_same_time_framing` false, a completed AU
/// reassembled from chunks) taken out of an AudioMuxElement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatmPayload {
    /// Sub-frame index within the element.
    pub sub_frame: u8,
    /// Stream index (layers counted over all programs in order).
    pub stream: u8,
    /// The raw access unit (zero-copy when byte-aligned in the element).
    pub data: Bytes,
}

/// A parsed AudioMuxElement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AudioMuxElement {
    /// The StreamMuxConfig carried in this element (muxConfigPresent=1, useSameStreamMux=0).
    pub stream_mux_config: Option<StreamMuxConfig>,
    /// The access units, in bitstream order.
    pub payloads: Vec<LatmPayload>,
}

/// Limits for [`LatmDecoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatmLimits {
    /// Largest access unit (also bounds reassembly of chunked AUs).
    pub max_au_len: usize,
}

impl Default for LatmLimits {
    fn default() -> Self {
        LatmLimits {
            max_au_len: 64 * 1024,
        }
    }
}

/// Stateful AudioMuxElement parser: remembers the last StreamMuxConfig (in-band or given
/// out of band) and reassembles chunked access units.
#[derive(Clone, Debug, Default)]
pub struct LatmDecoder {
    config: Option<StreamMuxConfig>,
    limits: LatmLimits,
    partial: Vec<(u8, BytesMut)>,
}

/// Copies `len` bytes starting at bit `pos` of `data` (any alignment).
fn copy_bits(data: &Bytes, pos: usize, len: usize) -> Option<Bytes> {
    let start = pos / 8;
    let shift = (pos % 8) as u32;
    let end = start.checked_add(len)?;
    if shift == 0 {
        return (end <= data.len()).then(|| data.slice(start..end));
    }
    // Needs bytes start..=end (the last one partially).
    let src = data.get(start..=end)?;
    let mut out = Vec::with_capacity(len);
    for w in src.windows(2) {
        out.push((w[0] << shift) | (w[1] >> (8 - shift)));
    }
    Some(Bytes::from(out))
}

impl LatmDecoder {
    /// A decoder that learns the StreamMuxConfig in-band (LOAS, MP4A-LATM `cpresent=1`).
    pub fn new() -> LatmDecoder {
        LatmDecoder::default()
    }

    /// A decoder with an out-of-band config (RFC 6416 `cpresent=0`, SDP `config=`).
    pub fn with_config(config: StreamMuxConfig) -> LatmDecoder {
        LatmDecoder {
            config: Some(config),
            ..Default::default()
        }
    }

    /// Replaces the limits.
    pub fn set_limits(&mut self, limits: LatmLimits) {
        self.limits = limits;
    }

    /// The current StreamMuxConfig, if known.
    pub fn config(&self) -> Option<&StreamMuxConfig> {
        self.config.as_ref()
    }

    /// Parses one AudioMuxElement. `mux_config_present` is the muxConfigPresent argument:
    /// true for LOAS and RTP `cpresent=1`, false for RTP `cpresent=0`.
    pub fn decode(&mut self, element: &Bytes, mux_config_present: bool) -> Result<AudioMuxElement> {
        let e = Error::bits("AudioMuxElement");
        let mut r = BitReader::new(element);
        let mut out = AudioMuxElement::default();
        if mux_config_present {
            let use_same = r.read_flag().map_err(&e)?;
            if !use_same {
                let smc = StreamMuxConfig::read(&mut r)?;
                self.config = Some(smc.clone());
                self.partial.clear();
                out.stream_mux_config = Some(smc);
            }
        }
        let Some(smc) = self.config.as_ref() else {
            return Err(Error::MissingStreamMuxConfig);
        };
        // audioMuxVersionA is always 0 here (StreamMuxConfig::read rejects 1).
        let streams = smc.stream_count();
        let max = self.limits.max_au_len;
        for sub in 0..=smc.num_sub_frames {
            if smc.all_streams_same_time_framing {
                // PayloadLengthInfo for every stream, then PayloadMux in the same order.
                let mut lens = [0usize; 128];
                for (i, layer) in smc.programs.iter().flatten().enumerate() {
                    let len = match layer.frame_length_type {
                        0 => read_mux_slot_length(&mut r, max)?,
                        1 => usize::from(layer.frame_length) + 20,
                        t => {
                            return Err(Error::UnsupportedFrameLengthType {
                                frame_length_type: t,
                            })
                        }
                    };
                    if let Some(slot) = lens.get_mut(i) {
                        *slot = len;
                    }
                }
                for (i, &len) in lens.iter().take(streams).enumerate() {
                    let data = take_bytes(element, &mut r, len)?;
                    out.payloads.push(LatmPayload {
                        sub_frame: sub,
                        stream: i as u8,
                        data,
                    });
                }
            } else {
                let num_chunk = r.read_u32(4).map_err(&e)? + 1;
                let mut chunks = [(0u8, 0usize, false); 16];
                for slot in chunks.iter_mut().take(num_chunk as usize) {
                    let idx = r.read_u32(4).map_err(&e)? as u8;
                    let layer = smc.stream(usize::from(idx)).ok_or(Error::InvalidField {
                        what: "PayloadLengthInfo",
                        field: "streamIndx",
                        value: u64::from(idx),
                    })?;
                    *slot = match layer.frame_length_type {
                        0 => {
                            let len = read_mux_slot_length(&mut r, max)?;
                            let end = r.read_flag().map_err(&e)?;
                            (idx, len, end)
                        }
                        1 => (idx, usize::from(layer.frame_length) + 20, true),
                        t => {
                            return Err(Error::UnsupportedFrameLengthType {
                                frame_length_type: t,
                            })
                        }
                    };
                }
                for &(idx, len, au_end) in chunks.iter().take(num_chunk as usize) {
                    let data = take_bytes(element, &mut r, len)?;
                    let pos = self.partial.iter().position(|(s, _)| *s == idx);
                    if !au_end {
                        let buf = match pos {
                            Some(p) => &mut self.partial[p].1,
                            None => {
                                self.partial.push((idx, BytesMut::new()));
                                let last = self.partial.len() - 1;
                                &mut self.partial[last].1
                            }
                        };
                        if buf.len() + data.len() > max {
                            return Err(Error::Limit {
                                what: "LATM access unit",
                                value: buf.len() + data.len(),
                                limit: max,
                            });
                        }
                        buf.put_slice(&data);
                        continue;
                    }
                    let data = match pos {
                        Some(p) => {
                            let (_, mut buf) = self.partial.swap_remove(p);
                            if buf.len() + data.len() > max {
                                return Err(Error::Limit {
                                    what: "LATM access unit",
                                    value: buf.len() + data.len(),
                                    limit: max,
                                });
                            }
                            buf.put_slice(&data);
                            buf.freeze()
                        }
                        None => data,
                    };
                    out.payloads.push(LatmPayload {
                        sub_frame: sub,
                        stream: idx,
                        data,
                    });
                }
            }
        }
        if let Some(bits) = smc.other_data_len_bits {
            r.skip_bits(bits as usize).map_err(&e)?;
        }
        Ok(out)
    }
}

fn read_mux_slot_length(r: &mut BitReader<'_>, max: usize) -> Result<usize> {
    let e = Error::bits("PayloadLengthInfo");
    let mut len = 0usize;
    loop {
        let tmp = r.read_u8().map_err(&e)?;
        len += usize::from(tmp);
        if len > max {
            return Err(Error::Limit {
                what: "LATM MuxSlotLengthBytes",
                value: len,
                limit: max,
            });
        }
        if tmp != 255 {
            return Ok(len);
        }
    }
}

fn take_bytes(element: &Bytes, r: &mut BitReader<'_>, len: usize) -> Result<Bytes> {
    let pos = r.position();
    let need = len.saturating_mul(8);
    if need > r.bits_left() {
        return Err(Error::Truncated {
            what: "LATM PayloadMux",
            needed: len,
            available: r.bits_left() / 8,
        });
    }
    let data = copy_bits(element, pos, len).ok_or(Error::Truncated {
        what: "LATM PayloadMux",
        needed: len,
        available: r.bits_left() / 8,
    })?;
    r.skip_bits(need).map_err(Error::bits("PayloadMux"))?;
    Ok(data)
}

/// Writes one AudioMuxElement for `smc` (`all_streams_same_time_framing` configs).
///
/// * `mux_config_present`: the muxConfigPresent argument (true for LOAS / RTP `cpresent=1`);
/// * `include_config`: with `mux_config_present`, write the StreamMuxConfig in-band
///   (useSameStreamMux = 0) instead of referring to the previous one;
/// * `payloads`: one access unit per stream per sub-frame, sub-frame major
///   (`(num_sub_frames + 1) × stream_count` entries).
pub fn write_audio_mux_element(
    smc: &StreamMuxConfig,
    mux_config_present: bool,
    include_config: bool,
    payloads: &[&[u8]],
    out: &mut BytesMut,
) -> Result<()> {
    let streams = smc.stream_count();
    let expected = streams * (usize::from(smc.num_sub_frames) + 1);
    if payloads.len() != expected || !smc.all_streams_same_time_framing {
        return Err(Error::InvalidField {
            what: "write_audio_mux_element",
            field: "payload count (one per stream per sub-frame, time-aligned streams)",
            value: payloads.len() as u64,
        });
    }
    let layers: Vec<&LatmLayer> = smc.programs.iter().flatten().collect();
    let mut w = BitWriter::new();
    if mux_config_present {
        w.write_bit(!include_config);
        if include_config {
            smc.write(&mut w)?;
        }
    }
    let aligned = w.bit_len() % 8 == 0;
    let mut idx = 0usize;
    let mut tail_start = None;
    for _sub in 0..=smc.num_sub_frames {
        let group = payloads.get(idx..idx + streams).unwrap_or(&[]);
        for (layer, p) in layers.iter().zip(group) {
            match layer.frame_length_type {
                0 => {
                    let mut left = p.len();
                    while left >= 255 {
                        w.write_bits(255, 8);
                        left -= 255;
                    }
                    w.write_bits(left as u64, 8);
                }
                1 => {
                    if p.len() != usize::from(layer.frame_length) + 20 {
                        return Err(Error::InvalidField {
                            what: "write_audio_mux_element",
                            field: "payload length (frameLengthType 1: frameLength + 20)",
                            value: p.len() as u64,
                        });
                    }
                }
                t => {
                    return Err(Error::UnsupportedFrameLengthType {
                        frame_length_type: t,
                    })
                }
            }
        }
        if aligned
            && group.len() == 1
            && smc.num_sub_frames == 0
            && smc.other_data_len_bits.is_none()
        {
            // Fast path: the common single-AU element ends with the byte-aligned payload.
            tail_start = Some(w.bit_len() / 8);
            break;
        }
        for p in group {
            for &b in p.iter() {
                w.write_bits(u64::from(b), 8);
            }
        }
        idx += streams;
    }
    if let Some(o) = smc.other_data_len_bits {
        let mut left = o as usize;
        while left > 0 {
            let n = left.min(32);
            w.write_bits(0, n as u32);
            left -= n;
        }
    }
    w.byte_align_zero();
    let head = w.finish();
    out.reserve(head.len() + tail_start.map_or(0, |_| payloads.first().map_or(0, |p| p.len())));
    out.put_slice(&head);
    if tail_start.is_some() {
        if let Some(p) = payloads.first() {
            out.put_slice(p);
        }
    }
    Ok(())
}

/// Frames an AudioMuxElement as a LOAS AudioSyncStream element (0x2B7 + 13-bit length).
pub fn write_loas(element: &[u8], out: &mut BytesMut) -> Result<()> {
    if element.len() > LOAS_MAX_ELEMENT_LEN {
        return Err(Error::TooLong {
            what: "LOAS audioMuxLengthBytes",
            len: element.len(),
            max: LOAS_MAX_ELEMENT_LEN,
        });
    }
    let len = element.len() as u32;
    let hdr = (u32::from(LOAS_SYNC) << 13) | len;
    out.reserve(3 + element.len());
    out.put_slice(&hdr.to_be_bytes()[1..]);
    out.put_slice(element);
    Ok(())
}

/// Incremental LOAS (AudioSyncStream) splitter: push bytes, pop AudioMuxElements (the
/// bytes after the 3-byte sync header, zero-copy). Resynchronises on garbage; when a
/// following header is already buffered it must also carry the syncword, which rejects
/// most false syncs inside payload data.
#[derive(Debug, Default)]
pub struct LoasReader {
    buf: BytesMut,
    skipped: u64,
}

impl LoasReader {
    /// An empty reader.
    pub fn new() -> LoasReader {
        LoasReader::default()
    }

    /// Appends input bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes discarded while resynchronising.
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// The next whole AudioMuxElement, or `None` until one is buffered.
    pub fn pop(&mut self) -> Option<Bytes> {
        use bytes::Buf;
        loop {
            let start = self
                .buf
                .windows(2)
                .position(|w| w[0] == 0x56 && w[1] & 0xE0 == 0xE0);
            let Some(start) = start else {
                let keep = usize::from(self.buf.last() == Some(&0x56));
                let drop = self.buf.len() - keep;
                self.skipped += drop as u64;
                self.buf.advance(drop);
                return None;
            };
            if start > 0 {
                self.skipped += start as u64;
                tracing::debug!(skipped = start, "LOAS resync");
                self.buf.advance(start);
            }
            let Some(&[_, b1, b2]) = self.buf.get(..3) else {
                return None;
            };
            let len = (usize::from(b1 & 0x1F) << 8) | usize::from(b2);
            let total = 3 + len;
            if self.buf.len() < total {
                return None;
            }
            // If the next header is already here, it must sync too.
            if let Some(&[n0, n1]) = self.buf.get(total..total + 2) {
                if !(n0 == 0x56 && n1 & 0xE0 == 0xE0) {
                    self.skipped += 1;
                    self.buf.advance(1);
                    continue;
                }
            }
            let mut frame = self.buf.split_to(total).freeze();
            return Some(frame.split_off(3));
        }
    }
}
