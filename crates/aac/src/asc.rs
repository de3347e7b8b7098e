//! AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) with GASpecificConfig (4.4.1),
//! program_config_element (4.4.1.1) and SBR/PS signalling (1.6.5, 1.6.6).

use bytes::Bytes;
use weir_media::bits::{BitReader, BitWriter};

use crate::error::{Error, Result};

/// The sampling frequencies of `sampling_frequency_index` 0 to 12 (14496-3 Table 1.18).
/// Indices 13 and 14 are reserved; 15 means "explicit 24-bit frequency follows".
pub const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// The sample rate of a `sampling_frequency_index` (0 to 12), `None` for 13 to 15.
pub fn sample_rate_from_index(index: u8) -> Option<u32> {
    SAMPLE_RATES.get(usize::from(index)).copied()
}

/// The `sampling_frequency_index` of an exact table rate, `None` for other rates.
pub fn index_from_sample_rate(rate: u32) -> Option<u8> {
    SAMPLE_RATES
        .iter()
        .position(|&r| r == rate)
        .map(|i| i as u8)
}

/// Output channel count of a `channelConfiguration` (14496-3 Table 1.19 and its 2009+
/// additions 11 to 14). 0 (defined by a PCE) and reserved values give `None`.
pub fn channels_from_configuration(config: u8) -> Option<u8> {
    match config {
        1..=6 => Some(config),
        7 => Some(8),
        11 => Some(7),
        12 => Some(8),
        13 => Some(24),
        14 => Some(8),
        _ => None,
    }
}

/// Audio object types used in this crate's logic (14496-3 Table 1.17). The field
/// [`AudioSpecificConfig::object_type`] is a plain number because every value up to 95
/// can be signalled.
pub mod object_type {
    /// AAC Main.
    pub const AAC_MAIN: u8 = 1;
    /// AAC Low Complexity.
    pub const AAC_LC: u8 = 2;
    /// AAC Scalable Sample Rate.
    pub const AAC_SSR: u8 = 3;
    /// AAC Long Term Prediction.
    pub const AAC_LTP: u8 = 4;
    /// Spectral Band Replication (HE-AAC).
    pub const SBR: u8 = 5;
    /// AAC Scalable.
    pub const AAC_SCALABLE: u8 = 6;
    /// TwinVQ.
    pub const TWINVQ: u8 = 7;
    /// ER AAC LC.
    pub const ER_AAC_LC: u8 = 17;
    /// ER AAC LTP.
    pub const ER_AAC_LTP: u8 = 19;
    /// ER AAC scalable.
    pub const ER_AAC_SCALABLE: u8 = 20;
    /// ER TwinVQ.
    pub const ER_TWINVQ: u8 = 21;
    /// ER BSAC.
    pub const ER_BSAC: u8 = 22;
    /// ER AAC LD.
    pub const ER_AAC_LD: u8 = 23;
    /// Parametric Stereo (HE-AAC v2).
    pub const PS: u8 = 29;
    /// Escape value: the real type is 32 + the next 6 bits.
    pub const ESCAPE: u8 = 31;
    /// ER AAC ELD.
    pub const ER_AAC_ELD: u8 = 39;
}

/// How SBR/PS presence is signalled (14496-3 1.6.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SbrSignalling {
    /// Explicit hierarchical signalling: the config starts with object type 5 (SBR) or 29
    /// (PS), then the extension sampling frequency, then the core object type.
    Hierarchical,
    /// Explicit backward-compatible signalling: the core config is followed by the sync
    /// extension `0x2B7` (and optionally `0x548` for PS).
    BackwardCompatible,
}

/// The extension (SBR/PS) part of an [`AudioSpecificConfig`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SbrExtension {
    /// Where the extension was signalled.
    pub signalling: SbrSignalling,
    /// extensionAudioObjectType: 5 (SBR) or, backward-compatible only, 22 (ER BSAC).
    pub object_type: u8,
    /// sbrPresentFlag. Always true for hierarchical signalling; backward-compatible
    /// signalling may explicitly say "no SBR".
    pub sbr_present: bool,
    /// psPresentFlag. `Some(true)`: PS present (object type 29, or `0x548` with flag 1);
    /// `Some(false)`: explicitly absent (`0x548` with flag 0); `None`: not signalled
    /// (object type 5, or no `0x548`), so implicit PS is possible.
    pub ps_present: Option<bool>,
    /// extensionSamplingFrequencyIndex (meaningful when `sbr_present`).
    pub sampling_frequency_index: u8,
    /// The extension (output) sampling frequency (meaningful when `sbr_present`).
    pub sampling_frequency: u32,
    /// extensionChannelConfiguration, present for ER BSAC (22).
    pub channel_configuration: Option<u8>,
}

/// A channel element entry of a program config element: `(is_cpe, tag_select)`.
pub type PceElement = (bool, u8);

/// program_config_element() (14496-3 4.4.1.1), used when channelConfiguration is 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProgramConfigElement {
    /// element_instance_tag (4 bits).
    pub element_instance_tag: u8,
    /// object_type (2 bits: audio object type minus one).
    pub object_type: u8,
    /// sampling_frequency_index (4 bits).
    pub sampling_frequency_index: u8,
    /// Front channel elements.
    pub front: Vec<PceElement>,
    /// Side channel elements.
    pub side: Vec<PceElement>,
    /// Back channel elements.
    pub back: Vec<PceElement>,
    /// LFE element tags.
    pub lfe: Vec<u8>,
    /// Associated data element tags.
    pub assoc_data: Vec<u8>,
    /// Coupling channel elements: `(cc_element_is_ind_sw, valid_cc_element_tag_select)`.
    pub cc: Vec<PceElement>,
    /// mono_mixdown_element_number, when present.
    pub mono_mixdown: Option<u8>,
    /// stereo_mixdown_element_number, when present.
    pub stereo_mixdown: Option<u8>,
    /// `(matrix_mixdown_idx, pseudo_surround_enable)`, when present.
    pub matrix_mixdown: Option<(u8, bool)>,
    /// comment_field_data (at most 255 bytes).
    pub comment: Vec<u8>,
}

impl ProgramConfigElement {
    /// Output channels described: 2 per channel pair element, 1 per single channel or LFE element.
    pub fn channels(&self) -> u32 {
        let count = |v: &Vec<PceElement>| {
            v.iter()
                .map(|&(cpe, _)| if cpe { 2 } else { 1 })
                .sum::<u32>()
        };
        count(&self.front) + count(&self.side) + count(&self.back) + self.lfe.len() as u32
    }

    /// Parses a PCE; `base` is the bit position that byte_alignment() is relative to.
    pub(crate) fn read(r: &mut BitReader<'_>, base: usize) -> Result<Self> {
        let e = Error::bits("program_config_element");
        let mut p = ProgramConfigElement {
            element_instance_tag: r.read_u32(4).map_err(&e)? as u8,
            object_type: r.read_u32(2).map_err(&e)? as u8,
            sampling_frequency_index: r.read_u32(4).map_err(&e)? as u8,
            ..Default::default()
        };
        let n_front = r.read_u32(4).map_err(&e)?;
        let n_side = r.read_u32(4).map_err(&e)?;
        let n_back = r.read_u32(4).map_err(&e)?;
        let n_lfe = r.read_u32(2).map_err(&e)?;
        let n_assoc = r.read_u32(3).map_err(&e)?;
        let n_cc = r.read_u32(4).map_err(&e)?;
        if r.read_flag().map_err(&e)? {
            p.mono_mixdown = Some(r.read_u32(4).map_err(&e)? as u8);
        }
        if r.read_flag().map_err(&e)? {
            p.stereo_mixdown = Some(r.read_u32(4).map_err(&e)? as u8);
        }
        if r.read_flag().map_err(&e)? {
            let idx = r.read_u32(2).map_err(&e)? as u8;
            let pseudo = r.read_flag().map_err(&e)?;
            p.matrix_mixdown = Some((idx, pseudo));
        }
        let read_elems = |r: &mut BitReader<'_>, n: u32| -> Result<Vec<PceElement>> {
            let mut v = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let flag = r.read_flag().map_err(&e)?;
                let tag = r.read_u32(4).map_err(&e)? as u8;
                v.push((flag, tag));
            }
            Ok(v)
        };
        p.front = read_elems(r, n_front)?;
        p.side = read_elems(r, n_side)?;
        p.back = read_elems(r, n_back)?;
        for _ in 0..n_lfe {
            p.lfe.push(r.read_u32(4).map_err(&e)? as u8);
        }
        for _ in 0..n_assoc {
            p.assoc_data.push(r.read_u32(4).map_err(&e)? as u8);
        }
        p.cc = read_elems(r, n_cc)?;
        // byte_alignment() relative to the start of the enclosing AudioSpecificConfig.
        let rel = r.position().saturating_sub(base);
        let pad = (8 - rel % 8) % 8;
        r.skip_bits(pad).map_err(&e)?;
        let n_comment = r.read_u32(8).map_err(&e)?;
        for _ in 0..n_comment {
            p.comment.push(r.read_u8().map_err(&e)?);
        }
        Ok(p)
    }

    pub(crate) fn write(&self, w: &mut BitWriter, base: usize) -> Result<()> {
        let check = |field: &'static str, n: usize, max: usize| {
            if n > max {
                Err(Error::TooLong {
                    what: field,
                    len: n,
                    max,
                })
            } else {
                Ok(())
            }
        };
        check("PCE front elements", self.front.len(), 15)?;
        check("PCE side elements", self.side.len(), 15)?;
        check("PCE back elements", self.back.len(), 15)?;
        check("PCE lfe elements", self.lfe.len(), 3)?;
        check("PCE assoc data elements", self.assoc_data.len(), 7)?;
        check("PCE cc elements", self.cc.len(), 15)?;
        check("PCE comment", self.comment.len(), 255)?;
        w.write_bits(u64::from(self.element_instance_tag & 0xF), 4);
        w.write_bits(u64::from(self.object_type & 3), 2);
        w.write_bits(u64::from(self.sampling_frequency_index & 0xF), 4);
        w.write_bits(self.front.len() as u64, 4);
        w.write_bits(self.side.len() as u64, 4);
        w.write_bits(self.back.len() as u64, 4);
        w.write_bits(self.lfe.len() as u64, 2);
        w.write_bits(self.assoc_data.len() as u64, 3);
        w.write_bits(self.cc.len() as u64, 4);
        w.write_bit(self.mono_mixdown.is_some());
        if let Some(m) = self.mono_mixdown {
            w.write_bits(u64::from(m & 0xF), 4);
        }
        w.write_bit(self.stereo_mixdown.is_some());
        if let Some(m) = self.stereo_mixdown {
            w.write_bits(u64::from(m & 0xF), 4);
        }
        w.write_bit(self.matrix_mixdown.is_some());
        if let Some((idx, pseudo)) = self.matrix_mixdown {
            w.write_bits(u64::from(idx & 3), 2);
            w.write_bit(pseudo);
        }
        for list in [&self.front, &self.side, &self.back] {
            for &(cpe, tag) in list.iter() {
                w.write_bit(cpe);
                w.write_bits(u64::from(tag & 0xF), 4);
            }
        }
        for &tag in self.lfe.iter().chain(self.assoc_data.iter()) {
            w.write_bits(u64::from(tag & 0xF), 4);
        }
        for &(ind, tag) in &self.cc {
            w.write_bit(ind);
            w.write_bits(u64::from(tag & 0xF), 4);
        }
        let rel = w.bit_len().saturating_sub(base);
        let pad = (8 - rel % 8) % 8;
        w.write_bits(0, pad as u32);
        w.write_bits(self.comment.len() as u64, 8);
        for &b in &self.comment {
            w.write_bits(u64::from(b), 8);
        }
        Ok(())
    }
}

/// A run of bits kept verbatim (configuration parts this crate does not interpret).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RawBits {
    /// The bits, MSB-first, zero-padded in the last byte.
    pub data: Vec<u8>,
    /// Number of valid bits in `data`.
    pub bit_len: usize,
}

impl RawBits {
    fn read(r: &mut BitReader<'_>, bits: usize) -> Result<Self> {
        let e = Error::bits("AudioSpecificConfig tail");
        let mut w = BitWriter::new();
        let mut left = bits;
        while left > 0 {
            let n = left.min(32);
            w.write_bits(r.read_bits(n as u32).map_err(&e)?, n as u32);
            left -= n;
        }
        Ok(RawBits {
            data: w.finish(),
            bit_len: bits,
        })
    }

    fn write(&self, w: &mut BitWriter) {
        let mut r = BitReader::new(&self.data);
        let mut left = self.bit_len.min(self.data.len() * 8);
        while left > 0 {
            let n = left.min(32);
            // Cannot fail: `left` is bounded by the data length.
            let v = r.read_bits(n as u32).unwrap_or(0);
            w.write_bits(v, n as u32);
            left -= n;
        }
    }
}

/// AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), the codec configuration of MPEG-4 audio
/// carried in MP4 `esds`, FLV AAC sequence headers, SDP `config=` and LATM StreamMuxConfig.
///
/// GASpecificConfig fields are flattened into this struct (they are only meaningful for the
/// general-audio object types 1-4, 6, 7, 17, 19-23). Configuration bits of other object types
/// (CELP, HVXC, ALS, ELD, …) are kept verbatim in [`AudioSpecificConfig::tail`] so that
/// build → parse is an identity.
///
/// ```
/// use weir_aac::AudioSpecificConfig;
/// let asc = AudioSpecificConfig::parse(&[0x12, 0x10]).unwrap();
/// assert_eq!(asc.object_type, 2);          // AAC LC
/// assert_eq!(asc.sample_rate(), 44100);
/// assert_eq!(asc.channels(), 2);
/// assert_eq!(&asc.to_bytes()[..], &[0x12, 0x10]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AudioSpecificConfig {
    /// audioObjectType of the core coder (after the escape: 32 + 6 bits for 31). With
    /// hierarchical SBR/PS signalling this is the type that follows the 5/29 marker.
    pub object_type: u8,
    /// samplingFrequencyIndex (0 to 12, 15 = explicit).
    pub sampling_frequency_index: u8,
    /// The core sampling frequency (from the table, or the explicit 24-bit value).
    pub sampling_frequency: u32,
    /// channelConfiguration (0 = defined by [`AudioSpecificConfig::program_config`]).
    pub channel_configuration: u8,
    /// SBR/PS signalling, if any. `None` means "not signalled" (implicit SBR may still be
    /// present in the bitstream; only a decoder can tell).
    pub sbr: Option<SbrExtension>,
    /// GASpecificConfig frameLengthFlag (true: 960/480-sample frames, false: 1024/512).
    pub frame_length_flag: bool,
    /// GASpecificConfig dependsOnCoreCoder.
    pub depends_on_core_coder: bool,
    /// coreCoderDelay (14 bits), present when `depends_on_core_coder`.
    pub core_coder_delay: u16,
    /// GASpecificConfig extensionFlag.
    pub extension_flag: bool,
    /// program_config_element, present when `channel_configuration` is 0.
    pub program_config: Option<ProgramConfigElement>,
    /// layerNr (3 bits), for object types 6 and 20.
    pub layer_nr: u8,
    /// numOfSubFrame (5 bits), ER BSAC with `extension_flag`.
    pub num_of_sub_frame: u8,
    /// layer_length (11 bits), ER BSAC with `extension_flag`.
    pub layer_length: u16,
    /// aacSection/Scalefactor/SpectralDataResilienceFlag (3 bits, in that order MSB-first),
    /// ER AAC types 17, 19, 20, 23 with `extension_flag`.
    pub resilience_flags: u8,
    /// extensionFlag3, with `extension_flag`.
    pub extension_flag3: bool,
    /// epConfig (2 bits) for error-resilient object types.
    pub ep_config: u8,
    /// Configuration bits this crate does not interpret (non-GA object types, or
    /// ErrorProtectionSpecificConfig), kept verbatim.
    pub tail: Option<RawBits>,
}

fn is_ga(aot: u8) -> bool {
    matches!(aot, 1..=4 | 6 | 7 | 17 | 19..=23)
}

fn is_er(aot: u8) -> bool {
    matches!(aot, 17 | 19..=27 | 39)
}

fn read_object_type(r: &mut BitReader<'_>) -> Result<u8> {
    let e = Error::bits("audioObjectType");
    let aot = r.read_u32(5).map_err(&e)? as u8;
    if aot == object_type::ESCAPE {
        Ok(32 + r.read_u32(6).map_err(&e)? as u8)
    } else {
        Ok(aot)
    }
}

fn write_object_type(w: &mut BitWriter, aot: u8) -> Result<()> {
    match aot {
        0..=30 => w.write_bits(u64::from(aot), 5),
        32..=95 => {
            w.write_bits(31, 5);
            w.write_bits(u64::from(aot - 32), 6);
        }
        _ => {
            return Err(Error::InvalidField {
                what: "AudioSpecificConfig",
                field: "audioObjectType",
                value: u64::from(aot),
            })
        }
    }
    Ok(())
}

fn read_frequency(r: &mut BitReader<'_>, field: &'static str) -> Result<(u8, u32)> {
    let e = Error::bits("AudioSpecificConfig");
    let index = r.read_u32(4).map_err(&e)? as u8;
    if index == 0xF {
        let f = r.read_u32(24).map_err(&e)?;
        Ok((index, f))
    } else {
        let f = sample_rate_from_index(index).ok_or(Error::InvalidField {
            what: "AudioSpecificConfig",
            field,
            value: u64::from(index),
        })?;
        Ok((index, f))
    }
}

fn write_frequency(w: &mut BitWriter, index: u8, freq: u32, field: &'static str) -> Result<()> {
    if index == 0xF {
        if freq > 0xFF_FFFF {
            return Err(Error::UnsupportedSampleRate {
                rate: freq,
                what: "AudioSpecificConfig (24-bit explicit frequency)",
            });
        }
        w.write_bits(0xF, 4);
        w.write_bits(u64::from(freq), 24);
    } else {
        if sample_rate_from_index(index).is_none() {
            return Err(Error::InvalidField {
                what: "AudioSpecificConfig",
                field,
                value: u64::from(index),
            });
        }
        w.write_bits(u64::from(index), 4);
    }
    Ok(())
}

const SYNC_SBR: u64 = 0x2B7;
const SYNC_PS: u64 = 0x548;

impl AudioSpecificConfig {
    /// A plain AAC-LC config for `sample_rate` Hz and `channels` channels (1-6, or 8 for
    /// channel configuration 7). Rates outside the index table use the explicit 24-bit form.
    pub fn lc(sample_rate: u32, channels: u8) -> Result<Self> {
        let channel_configuration = match channels {
            1..=6 => channels,
            8 => 7,
            _ => {
                return Err(Error::InvalidField {
                    what: "AudioSpecificConfig::lc",
                    field: "channels",
                    value: u64::from(channels),
                })
            }
        };
        if sample_rate == 0 || sample_rate > 0xFF_FFFF {
            return Err(Error::UnsupportedSampleRate {
                rate: sample_rate,
                what: "AudioSpecificConfig",
            });
        }
        Ok(AudioSpecificConfig {
            object_type: object_type::AAC_LC,
            sampling_frequency_index: index_from_sample_rate(sample_rate).unwrap_or(0xF),
            sampling_frequency: sample_rate,
            channel_configuration,
            ..AudioSpecificConfig::empty()
        })
    }

    /// HE-AAC (v1, or v2 with `ps`) with explicit hierarchical signalling: the core AAC-LC
    /// runs at `output_rate / 2`, SBR doubles it. With `ps`, `channels` must be 1 (PS
    /// produces stereo from a mono core).
    pub fn he_aac(output_rate: u32, channels: u8, ps: bool) -> Result<Self> {
        let core_rate = output_rate / 2;
        let mut asc = AudioSpecificConfig::lc(core_rate, channels)?;
        if ps && channels != 1 {
            return Err(Error::InvalidField {
                what: "AudioSpecificConfig::he_aac",
                field: "channels (PS needs a mono core)",
                value: u64::from(channels),
            });
        }
        asc.sbr = Some(SbrExtension {
            signalling: SbrSignalling::Hierarchical,
            object_type: object_type::SBR,
            sbr_present: true,
            ps_present: ps.then_some(true),
            sampling_frequency_index: index_from_sample_rate(output_rate).unwrap_or(0xF),
            sampling_frequency: output_rate,
            channel_configuration: None,
        });
        Ok(asc)
    }

    pub(crate) fn empty() -> Self {
        AudioSpecificConfig {
            object_type: 0,
            sampling_frequency_index: 0,
            sampling_frequency: 0,
            channel_configuration: 0,
            sbr: None,
            frame_length_flag: false,
            depends_on_core_coder: false,
            core_coder_delay: 0,
            extension_flag: false,
            program_config: None,
            layer_nr: 0,
            num_of_sub_frame: 0,
            layer_length: 0,
            resilience_flags: 0,
            extension_flag3: false,
            ep_config: 0,
            tail: None,
        }
    }

    /// Parses an AudioSpecificConfig occupying all of `data` (trailing bits are examined for
    /// the backward-compatible `0x2B7` sync extension, then ignored).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(data);
        Self::read(&mut r, Some(data.len() * 8))
    }

    /// Reads a config from `r`. `limit` is the bit position where the config ends, when
    /// known (needed for sync extensions and for verbatim tails); `None` stops right after
    /// the interpreted fields (LATM audioMuxVersion 0).
    pub(crate) fn read(r: &mut BitReader<'_>, limit: Option<usize>) -> Result<Self> {
        let base = r.position();
        let e = Error::bits("AudioSpecificConfig");
        let mut asc = AudioSpecificConfig::empty();
        let mut aot = read_object_type(r)?;
        let (sfi, freq) = read_frequency(r, "samplingFrequencyIndex")?;
        asc.sampling_frequency_index = sfi;
        asc.sampling_frequency = freq;
        asc.channel_configuration = r.read_u32(4).map_err(&e)? as u8;
        if aot == object_type::SBR || aot == object_type::PS {
            let (esfi, efreq) = read_frequency(r, "extensionSamplingFrequencyIndex")?;
            let ps = aot == object_type::PS;
            aot = read_object_type(r)?;
            let ext_cc = if aot == object_type::ER_BSAC {
                Some(r.read_u32(4).map_err(&e)? as u8)
            } else {
                None
            };
            asc.sbr = Some(SbrExtension {
                signalling: SbrSignalling::Hierarchical,
                object_type: object_type::SBR,
                sbr_present: true,
                // Object type 29 says PS is present; 5 leaves it unknown (implicit PS possible).
                ps_present: ps.then_some(true),
                sampling_frequency_index: esfi,
                sampling_frequency: efreq,
                channel_configuration: ext_cc,
            });
        }
        asc.object_type = aot;
        let remaining = |r: &BitReader<'_>| limit.map(|l| l.saturating_sub(r.position()));
        if !is_ga(aot) {
            // Other object types: keep the rest verbatim.
            match remaining(r) {
                Some(n) => {
                    asc.tail = Some(RawBits::read(r, n)?);
                    return Ok(asc);
                }
                None => {
                    return Err(Error::InvalidField {
                        what: "AudioSpecificConfig of unknown length",
                        field: "audioObjectType (non-GA)",
                        value: u64::from(aot),
                    })
                }
            }
        }
        // GASpecificConfig (4.4.1).
        asc.frame_length_flag = r.read_flag().map_err(&e)?;
        asc.depends_on_core_coder = r.read_flag().map_err(&e)?;
        if asc.depends_on_core_coder {
            asc.core_coder_delay = r.read_u32(14).map_err(&e)? as u16;
        }
        asc.extension_flag = r.read_flag().map_err(&e)?;
        if asc.channel_configuration == 0 {
            asc.program_config = Some(ProgramConfigElement::read(r, base)?);
        }
        if aot == object_type::AAC_SCALABLE || aot == object_type::ER_AAC_SCALABLE {
            asc.layer_nr = r.read_u32(3).map_err(&e)? as u8;
        }
        if asc.extension_flag {
            if aot == object_type::ER_BSAC {
                asc.num_of_sub_frame = r.read_u32(5).map_err(&e)? as u8;
                asc.layer_length = r.read_u32(11).map_err(&e)? as u16;
            }
            if matches!(aot, 17 | 19 | 20 | 23) {
                asc.resilience_flags = r.read_u32(3).map_err(&e)? as u8;
            }
            asc.extension_flag3 = r.read_flag().map_err(&e)?;
        }
        if is_er(aot) {
            asc.ep_config = r.read_u32(2).map_err(&e)? as u8;
            if asc.ep_config >= 2 {
                // ErrorProtectionSpecificConfig (1.8.2.1) and directMapping: verbatim.
                match remaining(r) {
                    Some(n) => asc.tail = Some(RawBits::read(r, n)?),
                    None => {
                        return Err(Error::InvalidField {
                            what: "AudioSpecificConfig of unknown length",
                            field: "epConfig",
                            value: u64::from(asc.ep_config),
                        })
                    }
                }
                return Ok(asc);
            }
        }
        // Backward-compatible sync extension (1.6.2.1, "extensionAudioObjectType != 5 &&
        // bits_to_decode() >= 16").
        if asc.sbr.is_none() {
            if let Some(left) = remaining(r) {
                if left >= 16 {
                    let mut probe = r.clone();
                    if probe.read_bits(11).map_err(&e)? == SYNC_SBR {
                        if let Some(ext) = Self::read_sync_extension(&mut probe, limit)? {
                            asc.sbr = Some(ext);
                            *r = probe;
                        }
                    }
                }
            }
        }
        Ok(asc)
    }

    fn read_sync_extension(
        r: &mut BitReader<'_>,
        limit: Option<usize>,
    ) -> Result<Option<SbrExtension>> {
        let e = Error::bits("AudioSpecificConfig sync extension");
        let eaot = read_object_type(r)?;
        let mut ext = SbrExtension {
            signalling: SbrSignalling::BackwardCompatible,
            object_type: eaot,
            sbr_present: false,
            ps_present: None,
            sampling_frequency_index: 0,
            sampling_frequency: 0,
            channel_configuration: None,
        };
        match eaot {
            object_type::SBR => {
                ext.sbr_present = r.read_flag().map_err(&e)?;
                if ext.sbr_present {
                    let (i, f) = read_frequency(r, "extensionSamplingFrequencyIndex")?;
                    ext.sampling_frequency_index = i;
                    ext.sampling_frequency = f;
                    let left = limit.map(|l| l.saturating_sub(r.position())).unwrap_or(0);
                    if left >= 12 {
                        let mut probe = r.clone();
                        if probe.read_bits(11).map_err(&e)? == SYNC_PS {
                            ext.ps_present = Some(probe.read_flag().map_err(&e)?);
                            *r = probe;
                        }
                    }
                }
            }
            object_type::ER_BSAC => {
                ext.sbr_present = r.read_flag().map_err(&e)?;
                if ext.sbr_present {
                    let (i, f) = read_frequency(r, "extensionSamplingFrequencyIndex")?;
                    ext.sampling_frequency_index = i;
                    ext.sampling_frequency = f;
                }
                ext.channel_configuration = Some(r.read_u32(4).map_err(&e)? as u8);
            }
            // Another type after 0x2B7: not an extension we know; treat as trailing bits.
            _ => return Ok(None),
        }
        Ok(Some(ext))
    }

    /// Serializes the config, zero-padded to a whole byte. Configs from
    /// [`AudioSpecificConfig::parse`] and the constructors always encode; for hand-edited
    /// values use [`AudioSpecificConfig::try_to_bytes`], which reports unencodable fields
    /// (this method then returns what was written before the bad field).
    pub fn to_bytes(&self) -> Bytes {
        let mut w = BitWriter::new();
        // Errors only come from values no parse can produce; fall back to what was written.
        if self.write(&mut w).is_err() {
            tracing::debug!("AudioSpecificConfig::to_bytes on an unencodable config");
        }
        w.byte_align_zero();
        Bytes::from(w.finish())
    }

    /// Serializes the config, returning an error for values that cannot be encoded
    /// (object type above 95, reserved frequency index, oversized PCE lists…).
    pub fn try_to_bytes(&self) -> Result<Bytes> {
        let mut w = BitWriter::new();
        self.write(&mut w)?;
        w.byte_align_zero();
        Ok(Bytes::from(w.finish()))
    }

    /// Writes the config bits (not byte-aligned at the end) into `w`.
    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<()> {
        let base = w.bit_len();
        let hier = self
            .sbr
            .as_ref()
            .filter(|s| s.signalling == SbrSignalling::Hierarchical);
        if let Some(ext) = hier {
            let marker = if ext.ps_present == Some(true) {
                object_type::PS
            } else {
                object_type::SBR
            };
            write_object_type(w, marker)?;
        } else {
            write_object_type(w, self.object_type)?;
        }
        write_frequency(
            w,
            self.sampling_frequency_index,
            self.sampling_frequency,
            "samplingFrequencyIndex",
        )?;
        w.write_bits(u64::from(self.channel_configuration & 0xF), 4);
        if let Some(ext) = hier {
            write_frequency(
                w,
                ext.sampling_frequency_index,
                ext.sampling_frequency,
                "extensionSamplingFrequencyIndex",
            )?;
            write_object_type(w, self.object_type)?;
            if self.object_type == object_type::ER_BSAC {
                w.write_bits(u64::from(ext.channel_configuration.unwrap_or(0) & 0xF), 4);
            }
        }
        if !is_ga(self.object_type) {
            if let Some(t) = &self.tail {
                t.write(w);
            }
            return Ok(());
        }
        w.write_bit(self.frame_length_flag);
        w.write_bit(self.depends_on_core_coder);
        if self.depends_on_core_coder {
            w.write_bits(u64::from(self.core_coder_delay & 0x3FFF), 14);
        }
        w.write_bit(self.extension_flag);
        if self.channel_configuration == 0 {
            self.program_config
                .clone()
                .unwrap_or_default()
                .write(w, base)?;
        }
        if self.object_type == object_type::AAC_SCALABLE
            || self.object_type == object_type::ER_AAC_SCALABLE
        {
            w.write_bits(u64::from(self.layer_nr & 7), 3);
        }
        if self.extension_flag {
            if self.object_type == object_type::ER_BSAC {
                w.write_bits(u64::from(self.num_of_sub_frame & 0x1F), 5);
                w.write_bits(u64::from(self.layer_length & 0x7FF), 11);
            }
            if matches!(self.object_type, 17 | 19 | 20 | 23) {
                w.write_bits(u64::from(self.resilience_flags & 7), 3);
            }
            w.write_bit(self.extension_flag3);
        }
        if is_er(self.object_type) {
            w.write_bits(u64::from(self.ep_config & 3), 2);
            if self.ep_config >= 2 {
                if let Some(t) = &self.tail {
                    t.write(w);
                }
                return Ok(());
            }
        }
        if let Some(ext) = self
            .sbr
            .as_ref()
            .filter(|s| s.signalling == SbrSignalling::BackwardCompatible)
        {
            w.write_bits(SYNC_SBR, 11);
            write_object_type(w, ext.object_type)?;
            match ext.object_type {
                object_type::SBR => {
                    w.write_bit(ext.sbr_present);
                    if ext.sbr_present {
                        write_frequency(
                            w,
                            ext.sampling_frequency_index,
                            ext.sampling_frequency,
                            "extensionSamplingFrequencyIndex",
                        )?;
                        if let Some(ps) = ext.ps_present {
                            w.write_bits(SYNC_PS, 11);
                            w.write_bit(ps);
                        }
                    }
                }
                object_type::ER_BSAC => {
                    w.write_bit(ext.sbr_present);
                    if ext.sbr_present {
                        write_frequency(
                            w,
                            ext.sampling_frequency_index,
                            ext.sampling_frequency,
                            "extensionSamplingFrequencyIndex",
                        )?;
                    }
                    w.write_bits(u64::from(ext.channel_configuration.unwrap_or(0) & 0xF), 4);
                }
                other => {
                    return Err(Error::InvalidField {
                        what: "AudioSpecificConfig sync extension",
                        field: "extensionAudioObjectType",
                        value: u64::from(other),
                    })
                }
            }
        }
        Ok(())
    }

    /// True when SBR is explicitly signalled as present.
    pub fn sbr_present(&self) -> bool {
        self.sbr.as_ref().is_some_and(|s| s.sbr_present)
    }

    /// True when PS is explicitly signalled as present.
    pub fn ps_present(&self) -> bool {
        self.sbr
            .as_ref()
            .is_some_and(|s| s.sbr_present && s.ps_present == Some(true))
    }

    /// The output sample rate: the SBR extension rate when SBR is signalled (typically
    /// twice the core rate), else the core rate.
    pub fn sample_rate(&self) -> u32 {
        match &self.sbr {
            Some(ext) if ext.sbr_present => ext.sampling_frequency,
            _ => self.sampling_frequency,
        }
    }

    /// Output channel count as decoders report it: [`core_channels`](Self::core_channels),
    /// except that a mono core with SBR decodes to 2 unless PS is explicitly signalled
    /// absent (PS may be present implicitly; ffmpeg, like the reference decoders, then
    /// outputs stereo).
    pub fn channels(&self) -> u8 {
        let base = self.core_channels();
        let ps_possible = self.sbr_present()
            && self
                .sbr
                .as_ref()
                .is_some_and(|s| s.ps_present != Some(false));
        if base == 1 && ps_possible {
            2
        } else {
            base
        }
    }

    /// Channels of the core coder: from the channel configuration (7 → 8 for 7.1), or the
    /// PCE when it is 0. 0 for reserved configurations.
    pub fn core_channels(&self) -> u8 {
        if self.channel_configuration == 0 {
            self.program_config
                .as_ref()
                .map(|p| p.channels().min(255) as u8)
                .unwrap_or(0)
        } else {
            channels_from_configuration(self.channel_configuration).unwrap_or(0)
        }
    }

    /// The core coder's sampling frequency in Hz: the table rate of
    /// `sampling_frequency_index`, or the explicit 24-bit value when the index is 15
    /// (14496-3 1.6.2.1). Without SBR this is also the output rate; with SBR the output rate
    /// is [`sample_rate`](Self::sample_rate).
    ///
    /// ```
    /// use weir_aac::AudioSpecificConfig;
    /// // AAC-LC, index 15 with an explicit 9600 Hz, mono.
    /// let asc = AudioSpecificConfig::parse(&[0x17, 0x80, 0x12, 0xC0, 0x08])?;
    /// assert_eq!((asc.sampling_frequency_index, asc.core_sample_rate()), (15, 9600));
    /// assert_eq!((asc.sample_rate(), asc.channels()), (9600, 1));
    /// # Ok::<(), weir_aac::Error>(())
    /// ```
    pub fn core_sample_rate(&self) -> u32 {
        self.sampling_frequency
    }

    /// Duration of one access unit in ticks of a `clock_rate` Hz clock:
    /// [`samples_per_frame`](Self::samples_per_frame) at [`sample_rate`](Self::sample_rate),
    /// rescaled (rounded down). An RTP (RFC 3640, RFC 6416) or MP4 clock for HE-AAC runs at
    /// either the core or the output rate; an AU lasts 1024 ticks on the first and 2048 on
    /// the second. With a zero rate, `samples_per_frame()`.
    ///
    /// ```
    /// use weir_aac::AudioSpecificConfig;
    /// let lc = AudioSpecificConfig::lc(48_000, 2)?;
    /// assert_eq!(lc.frame_duration(48_000), 1024);
    /// assert_eq!(lc.frame_duration(90_000), 1920);
    /// let he = AudioSpecificConfig::he_aac(48_000, 2, false)?; // 24 kHz core
    /// assert_eq!((he.frame_duration(48_000), he.frame_duration(24_000)), (2048, 1024));
    /// # Ok::<(), weir_aac::Error>(())
    /// ```
    pub fn frame_duration(&self, clock_rate: u32) -> u32 {
        let samples = self.samples_per_frame();
        let rate = self.sample_rate();
        if rate == 0 || clock_rate == 0 {
            return samples;
        }
        let ticks = u64::from(samples) * u64::from(clock_rate) / u64::from(rate);
        u32::try_from(ticks).unwrap_or(u32::MAX)
    }

    /// Samples per frame of the core coder: 960 or 1024 (480/512 for LD/ELD), doubled with SBR.
    pub fn samples_per_frame(&self) -> u32 {
        let ld = matches!(
            self.object_type,
            object_type::ER_AAC_LD | object_type::ER_AAC_ELD
        );
        let core = match (ld, self.frame_length_flag) {
            (false, false) => 1024,
            (false, true) => 960,
            (true, false) => 512,
            (true, true) => 480,
        };
        if self.sbr_present() {
            core * 2
        } else {
            core
        }
    }

    /// A `weir_media::TrackInfo` for this config: codec AAC, clock rate = output sample rate
    /// (the RTP/MP4 convention), `config` = the serialized AudioSpecificConfig, audio
    /// parameters from [`sample_rate`](Self::sample_rate) and [`channels`](Self::channels).
    ///
    /// ```
    /// use weir_aac::AudioSpecificConfig;
    /// use weir_media::{Codec, TrackId};
    /// let t = AudioSpecificConfig::lc(48000, 2).unwrap().track_info(TrackId(1));
    /// assert_eq!((t.codec, t.clock_rate, &t.config[..]), (Codec::Aac, 48000, &[0x11, 0x90][..]));
    /// assert_eq!(t.audio.unwrap().channels, 2);
    /// ```
    pub fn track_info(&self, id: weir_media::TrackId) -> weir_media::TrackInfo {
        weir_media::TrackInfo::new(id, weir_media::Codec::Aac, self.sample_rate())
            .with_config(self.to_bytes())
            .with_audio(weir_media::AudioParams {
                sample_rate: self.sample_rate(),
                channels: self.channels(),
            })
    }

    /// The profile name as ffprobe prints it (`LC`, `HE-AAC`, `HE-AACv2`, `Main`, `SSR`,
    /// `LTP`, `LD`, `ELD`), `None` for other object types.
    pub fn profile_name(&self) -> Option<&'static str> {
        if self.ps_present() {
            return Some("HE-AACv2");
        }
        if self.sbr_present() {
            return Some("HE-AAC");
        }
        Some(match self.object_type {
            object_type::AAC_MAIN => "Main",
            object_type::AAC_LC => "LC",
            object_type::AAC_SSR => "SSR",
            object_type::AAC_LTP => "LTP",
            object_type::ER_AAC_LD => "LD",
            object_type::ER_AAC_ELD => "ELD",
            _ => return None,
        })
    }
}
