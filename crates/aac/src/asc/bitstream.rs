//! Reading and writing the AudioSpecificConfig bitstream (14496-3 1.6.2.1, 4.4.1), with
//! the backward-compatible SBR/PS sync extensions (1.6.5, 1.6.6).

use bytes::Bytes;
use weir_media::bits::{BitReader, BitWriter};

use super::{
    object_type, sample_rate_from_index, AudioSpecificConfig, ProgramConfigElement, RawBits,
    SbrExtension, SbrSignalling,
};
use crate::error::{Error, Result};

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
}
