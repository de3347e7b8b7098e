//! `HEVCDecoderConfigurationRecord` ("hvcC", ISO/IEC 14496-15 8.3.3.1).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::nalu::{nal_type, NalType};
use crate::pps::Pps;
use crate::ptl::Profile;
use crate::sps::Sps;
use crate::vps::Vps;

/// One array of the record: NAL units of one type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NalArray {
    /// `array_completeness`: all units of this type are here (none in the samples).
    pub completeness: bool,
    /// `NAL_unit_type`.
    pub nal_type: NalType,
    /// The NAL units (headers included).
    pub nalus: Vec<Bytes>,
}

/// An `HEVCDecoderConfigurationRecord`: the codec configuration MP4, FLV (enhanced RTMP)
/// and Matroska carry for H.265 (and Weir's `TrackInfo::config`).
///
/// ```
/// use bytes::Bytes;
/// use weir_h265::HevcConfig;
/// let vps = Bytes::from_static(&[0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00,
///     0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x95, 0x98, 0x09]);
/// let sps = Bytes::from_static(&[0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90,
///     0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59,
///     0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00,
///     0x03, 0x00, 0x32, 0x10]);
/// let pps = Bytes::from_static(&[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40]);
/// let cfg = HevcConfig::from_parameter_sets(&[vps], &[sps.clone()], &[pps])?;
/// assert_eq!((cfg.general_profile_idc, cfg.general_level_idc), (1, 60));
/// assert_eq!(cfg.sps().next(), Some(&sps));
/// assert_eq!(HevcConfig::parse(&cfg.to_bytes())?, cfg);
/// # Ok::<(), weir_h265::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HevcConfig {
    /// `configurationVersion` (1; 0 is accepted on input, see [`HevcConfig::parse`]).
    pub configuration_version: u8,
    /// `general_profile_space` (2 bits).
    pub general_profile_space: u8,
    /// `general_tier_flag`.
    pub general_tier_flag: bool,
    /// `general_profile_idc` (5 bits).
    pub general_profile_idc: u8,
    /// `general_profile_compatibility_flags`.
    pub general_profile_compatibility_flags: u32,
    /// `general_constraint_indicator_flags` (48 bits).
    pub general_constraint_indicator_flags: u64,
    /// `general_level_idc`.
    pub general_level_idc: u8,
    /// `min_spatial_segmentation_idc` (12 bits).
    pub min_spatial_segmentation_idc: u16,
    /// `parallelismType` (2 bits).
    pub parallelism_type: u8,
    /// `chromaFormat` (the SPS's `chroma_format_idc`).
    pub chroma_format_idc: u8,
    /// `bitDepthLumaMinus8`.
    pub bit_depth_luma_minus8: u8,
    /// `bitDepthChromaMinus8`.
    pub bit_depth_chroma_minus8: u8,
    /// `avgFrameRate` in frames per 256 seconds (0 = unspecified).
    pub avg_frame_rate: u16,
    /// `constantFrameRate` (2 bits).
    pub constant_frame_rate: u8,
    /// `numTemporalLayers` (3 bits).
    pub num_temporal_layers: u8,
    /// `temporalIdNested`.
    pub temporal_id_nested: bool,
    /// `lengthSizeMinusOne + 1`: 1, 2 or 4 (3 is accepted too, as ffmpeg does).
    pub nal_length_size: u8,
    /// The NAL unit arrays.
    pub arrays: Vec<NalArray>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        match self.pos.checked_add(n).filter(|&e| e <= self.data.len()) {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::ConfigTruncated {
                offset: self.pos,
                field,
                needed: n,
            }),
        }
    }
    fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

impl HevcConfig {
    /// Parses an hvcC record (copying once into a shared buffer; see
    /// [`HevcConfig::parse_bytes`] for zero-copy).
    ///
    /// # Errors
    /// As [`HevcConfig::parse_bytes`].
    pub fn parse(data: &[u8]) -> Result<HevcConfig> {
        HevcConfig::parse_bytes(&Bytes::copy_from_slice(data))
    }

    /// Parses an hvcC record; NAL units are zero-copy slices of `data`.
    ///
    /// Quirk: `configurationVersion` 0 is accepted (written by pre-standard muxers; ffmpeg
    /// accepts it too). Reserved bits are not checked.
    ///
    /// # Errors
    /// [`Error::ConfigTruncated`] when a field or unit runs past the end,
    /// [`Error::ConfigUnsupported`] for a version above 1. (`lengthSizeMinusOne` = 2 is
    /// accepted, as ffmpeg does.)
    pub fn parse_bytes(data: &Bytes) -> Result<HevcConfig> {
        let mut c = Cursor { data, pos: 0 };
        let configuration_version = c.u8("configurationVersion")?;
        if configuration_version > 1 {
            return Err(Error::ConfigUnsupported {
                field: "configurationVersion",
                value: u64::from(configuration_version),
            });
        }
        let b = c.u8("general_profile_idc")?;
        let general_profile_space = b >> 6;
        let general_tier_flag = b & 0x20 != 0;
        let general_profile_idc = b & 0x1f;
        let compat = c.take(4, "general_profile_compatibility_flags")?;
        let general_profile_compatibility_flags =
            u32::from_be_bytes([compat[0], compat[1], compat[2], compat[3]]);
        let ci = c.take(6, "general_constraint_indicator_flags")?;
        let general_constraint_indicator_flags =
            ci.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        let general_level_idc = c.u8("general_level_idc")?;
        let min_spatial_segmentation_idc = c.u16("min_spatial_segmentation_idc")? & 0x0fff;
        let parallelism_type = c.u8("parallelismType")? & 3;
        let chroma_format_idc = c.u8("chromaFormat")? & 3;
        let bit_depth_luma_minus8 = c.u8("bitDepthLumaMinus8")? & 7;
        let bit_depth_chroma_minus8 = c.u8("bitDepthChromaMinus8")? & 7;
        let avg_frame_rate = c.u16("avgFrameRate")?;
        let b = c.u8("lengthSizeMinusOne")?;
        let constant_frame_rate = b >> 6;
        let num_temporal_layers = (b >> 3) & 7;
        let temporal_id_nested = b & 4 != 0;
        let nal_length_size = (b & 3) + 1;
        let num_arrays = c.u8("numOfArrays")?;
        let mut arrays = Vec::with_capacity(usize::from(num_arrays));
        for _ in 0..num_arrays {
            let b = c.u8("NAL_unit_type")?;
            let n = usize::from(c.u16("numNalus")?);
            // Each unit needs at least its 2-byte length: bound the allocation by the input.
            let mut nalus = Vec::with_capacity(n.min(data.len().saturating_sub(c.pos) / 2));
            for _ in 0..n {
                let len = usize::from(c.u16("nalUnitLength")?);
                let start = c.pos;
                c.take(len, "nalUnit")?;
                nalus.push(data.slice(start..start + len));
            }
            arrays.push(NalArray {
                completeness: b & 0x80 != 0,
                nal_type: NalType(b & 0x3f),
                nalus,
            });
        }
        Ok(HevcConfig {
            configuration_version,
            general_profile_space,
            general_tier_flag,
            general_profile_idc,
            general_profile_compatibility_flags,
            general_constraint_indicator_flags,
            general_level_idc,
            min_spatial_segmentation_idc,
            parallelism_type,
            chroma_format_idc,
            bit_depth_luma_minus8,
            bit_depth_chroma_minus8,
            avg_frame_rate,
            constant_frame_rate,
            num_temporal_layers,
            temporal_id_nested,
            nal_length_size,
            arrays,
        })
    }

    /// Builds a record from VPS, SPS and PPS NAL units (headers included), with 4-byte NAL
    /// lengths. See [`HevcConfig::from_nal_units`].
    ///
    /// # Errors
    /// As [`HevcConfig::from_nal_units`].
    pub fn from_parameter_sets(vps: &[Bytes], sps: &[Bytes], pps: &[Bytes]) -> Result<HevcConfig> {
        for (list, want, name) in [
            (vps, NalType::VPS, "VPS"),
            (sps, NalType::SPS, "SPS"),
            (pps, NalType::PPS, "PPS"),
        ] {
            for n in list {
                let t = nal_type(n).unwrap_or(NalType(0));
                if t != want {
                    return Err(Error::WrongNalType {
                        expected: name,
                        found: t.0,
                    });
                }
            }
        }
        let all: Vec<Bytes> = vps.iter().chain(sps).chain(pps).cloned().collect();
        HevcConfig::from_nal_units(&all)
    }

    /// Builds a record from parameter sets and declarative SEI units in any order: arrays
    /// VPS, SPS, PPS, prefix SEI, suffix SEI (those present), with `array_completeness` 0
    /// as ffmpeg writes it (parameter sets may also occur in band, as in Weir's canonical
    /// frames); call [`HevcConfig::set_completeness`] for an `hvc1` sample entry.
    /// The result is byte-identical to ffmpeg's MP4/FLV hvcC for the same units.
    ///
    /// General profile/tier/level fields merge every VPS and SPS the way decoders expect
    /// (highest tier, profile and level; compatibility and constraint flags that all share);
    /// chroma format and bit depths come from the first SPS; `min_spatial_segmentation_idc`
    /// and `parallelismType` from the SPS VUI and the PPS (0 when the VUI has no bitstream
    /// restriction); `numTemporalLayers` and `temporalIdNested` from VPS/SPS.
    ///
    /// # Errors
    /// [`Error::Missing`] without VPS, SPS or PPS; parse errors of those;
    /// [`Error::WrongNalType`] for other types; [`Error::LimitExceeded`] for units over
    /// 65535 bytes or more than 65535 units of a type.
    pub fn from_nal_units(nalus: &[Bytes]) -> Result<HevcConfig> {
        const ORDER: [NalType; 5] = [
            NalType::VPS,
            NalType::SPS,
            NalType::PPS,
            NalType::PREFIX_SEI,
            NalType::SUFFIX_SEI,
        ];
        let mut arrays: Vec<NalArray> = Vec::new();
        for want in ORDER {
            let units: Vec<Bytes> = nalus
                .iter()
                .filter(|n| nal_type(n) == Some(want))
                .cloned()
                .collect();
            if !units.is_empty() {
                arrays.push(NalArray {
                    completeness: false,
                    nal_type: want,
                    nalus: units,
                });
            }
        }
        if let Some(n) = nalus
            .iter()
            .find(|n| !nal_type(n).is_some_and(|t| ORDER.contains(&t)))
        {
            return Err(Error::WrongNalType {
                expected: "VPS, SPS, PPS or SEI",
                found: nal_type(n).map_or(0, |t| t.0),
            });
        }
        let find = |t: NalType| {
            arrays
                .iter()
                .find(|a| a.nal_type == t)
                .map(|a| a.nalus.as_slice())
                .unwrap_or(&[])
        };
        let vps: Vec<Vps> = find(NalType::VPS)
            .iter()
            .map(|n| Vps::parse(n))
            .collect::<Result<_>>()?;
        let sps: Vec<Sps> = find(NalType::SPS)
            .iter()
            .map(|n| Sps::parse(n))
            .collect::<Result<_>>()?;
        let pps: Vec<Pps> = find(NalType::PPS)
            .iter()
            .map(|n| Pps::parse(n))
            .collect::<Result<_>>()?;
        let first_sps = sps.first().ok_or(Error::Missing { what: "SPS" })?;
        if vps.is_empty() {
            return Err(Error::Missing { what: "VPS" });
        }
        let first_pps = pps.first().ok_or(Error::Missing { what: "PPS" })?;

        let mut general = Profile {
            compatibility_flags: u32::MAX,
            constraint_indicator_flags: (1 << 48) - 1,
            ..Profile::default()
        };
        let mut level = 0u8;
        let ptls = vps
            .iter()
            .map(|v| &v.profile_tier_level)
            .chain(sps.iter().map(|s| &s.profile_tier_level));
        for ptl in ptls {
            let p = &ptl.general;
            general.profile_space = p.profile_space;
            general.tier_flag |= p.tier_flag;
            general.profile_idc = general.profile_idc.max(p.profile_idc);
            general.compatibility_flags &= p.compatibility_flags;
            general.constraint_indicator_flags &= p.constraint_indicator_flags;
            level = level.max(ptl.general_level_idc);
        }
        let min_seg = sps
            .iter()
            .map(Sps::min_spatial_segmentation_idc)
            .min()
            .unwrap_or(0);
        let parallelism_type = if min_seg == 0 {
            0
        } else {
            first_pps.parallelism_type()
        };
        let layers = vps
            .iter()
            .map(|v| v.max_sub_layers)
            .chain(sps.iter().map(|s| s.max_sub_layers))
            .max()
            .unwrap_or(1);
        let cfg = HevcConfig {
            configuration_version: 1,
            general_profile_space: general.profile_space,
            general_tier_flag: general.tier_flag,
            general_profile_idc: general.profile_idc,
            general_profile_compatibility_flags: general.compatibility_flags,
            general_constraint_indicator_flags: general.constraint_indicator_flags,
            general_level_idc: level,
            min_spatial_segmentation_idc: min_seg,
            parallelism_type,
            chroma_format_idc: first_sps.chroma_format_idc,
            bit_depth_luma_minus8: first_sps.bit_depth_luma - 8,
            bit_depth_chroma_minus8: first_sps.bit_depth_chroma - 8,
            avg_frame_rate: 0,
            constant_frame_rate: 0,
            num_temporal_layers: layers,
            temporal_id_nested: first_sps.temporal_id_nesting,
            nal_length_size: 4,
            arrays,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Builds a record from the in-band VPS/SPS/PPS of a canonical frame (4-byte
    /// length-prefixed NAL units), as MPEG-TS, RTP and Annex B sources carry them before each
    /// IRAP picture. Repeated identical sets are kept once; SEI units are not included.
    /// `Ok(None)` when one of the three kinds is missing.
    ///
    /// # Errors
    /// A malformed length prefix, or as [`HevcConfig::from_nal_units`].
    pub fn from_frame(frame: &Bytes) -> Result<Option<HevcConfig>> {
        let mut units: Vec<Bytes> = Vec::new();
        let mut seen = [false; 3];
        for unit in weir_media::nal::length_prefixed_nalus(frame, 4)? {
            let unit = unit?;
            let Some(t) = nal_type(&unit).filter(|t| t.is_parameter_set()) else {
                continue;
            };
            if let Some(s) = seen.get_mut(usize::from(t.0 - 32)) {
                *s = true;
            }
            if !units.contains(&unit) {
                units.push(unit);
            }
        }
        if seen.contains(&false) {
            return Ok(None);
        }
        HevcConfig::from_nal_units(&units).map(Some)
    }

    /// The record for parameter sets found in band: the VPS, SPS and PPS of an access unit
    /// in the canonical layout (4-byte length-prefixed NAL units), as a camera sends them
    /// before each IRAP picture when the SDP had no `sprop-vps/sps/pps`. Repeated identical
    /// sets are kept once, SEI units are left out; the sets are copied (the access unit stays
    /// borrowed). `None` when one of the three kinds is missing or they do not parse; a
    /// malformed length prefix ends the scan (what came before it still counts). Built by
    /// [`HevcConfig::from_nal_units`], so the record equals ffmpeg's for the same sets.
    pub fn from_access_unit(data: &[u8]) -> Option<HevcConfig> {
        let mut units: Vec<Bytes> = Vec::new();
        let mut seen = [false; 3];
        for unit in weir_media::nal::length_prefixed_units(data, 4) {
            let Some(t) = nal_type(unit).filter(|t| t.is_parameter_set()) else {
                continue;
            };
            if let Some(s) = seen.get_mut(usize::from(t.0 - 32)) {
                *s = true;
            }
            if !units.iter().any(|u| u[..] == *unit) {
                units.push(Bytes::copy_from_slice(unit));
            }
        }
        if seen.contains(&false) {
            return None;
        }
        HevcConfig::from_nal_units(&units).ok()
    }

    /// The reorder depth and frame rate of the stream, from the first SPS
    /// ([`Sps::video_timing`]); [`VideoTiming::ASSUMED`] when the record has no SPS or it does
    /// not parse.
    ///
    /// [`VideoTiming::ASSUMED`]: weir_media::reorder::VideoTiming::ASSUMED
    pub fn video_timing(&self) -> weir_media::reorder::VideoTiming {
        self.parsed_sps()
            .map_or(weir_media::reorder::VideoTiming::ASSUMED, |sps| {
                sps.video_timing()
            })
    }

    /// Checks that the record can be written: array and unit counts and sizes fit their
    /// fields, `nal_length_size` is 1 to 4.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] or [`Error::ConfigUnsupported`].
    pub fn validate(&self) -> Result<()> {
        if !(1..=4).contains(&self.nal_length_size) {
            return Err(Error::ConfigUnsupported {
                field: "lengthSizeMinusOne",
                value: u64::from(self.nal_length_size.wrapping_sub(1)),
            });
        }
        if self.arrays.len() > 255 {
            return Err(Error::LimitExceeded {
                what: "arrays in hvcC",
                limit: 255,
            });
        }
        for a in &self.arrays {
            if a.nalus.len() > usize::from(u16::MAX) {
                return Err(Error::LimitExceeded {
                    what: "NAL units per hvcC array",
                    limit: usize::from(u16::MAX),
                });
            }
            if a.nalus.iter().any(|n| n.len() > usize::from(u16::MAX)) {
                return Err(Error::LimitExceeded {
                    what: "NAL unit size in hvcC",
                    limit: usize::from(u16::MAX),
                });
            }
        }
        Ok(())
    }

    /// Serialises the record (reserved bits set to 1). Out-of-range counts and sizes are
    /// truncated; call [`HevcConfig::validate`] for records not built by this crate.
    pub fn to_bytes(&self) -> Bytes {
        let units: usize = self
            .arrays
            .iter()
            .map(|a| 3 + a.nalus.iter().map(|n| n.len() + 2).sum::<usize>())
            .sum();
        let mut out = BytesMut::with_capacity(23 + units);
        out.put_u8(self.configuration_version);
        out.put_u8(
            ((self.general_profile_space & 3) << 6)
                | (u8::from(self.general_tier_flag) << 5)
                | (self.general_profile_idc & 0x1f),
        );
        out.put_u32(self.general_profile_compatibility_flags);
        let ci = self.general_constraint_indicator_flags.to_be_bytes();
        out.extend_from_slice(&ci[2..8]);
        out.put_u8(self.general_level_idc);
        out.put_u16(0xf000 | (self.min_spatial_segmentation_idc & 0x0fff));
        out.put_u8(0xfc | (self.parallelism_type & 3));
        out.put_u8(0xfc | (self.chroma_format_idc & 3));
        out.put_u8(0xf8 | (self.bit_depth_luma_minus8 & 7));
        out.put_u8(0xf8 | (self.bit_depth_chroma_minus8 & 7));
        out.put_u16(self.avg_frame_rate);
        out.put_u8(
            ((self.constant_frame_rate & 3) << 6)
                | ((self.num_temporal_layers & 7) << 3)
                | (u8::from(self.temporal_id_nested) << 2)
                | (self.nal_length_size.wrapping_sub(1) & 3),
        );
        let narrays = self.arrays.len().min(255);
        out.put_u8(narrays as u8);
        for a in self.arrays.iter().take(narrays) {
            out.put_u8((u8::from(a.completeness) << 7) | (a.nal_type.0 & 0x3f));
            let n = a.nalus.len().min(usize::from(u16::MAX));
            out.put_u16(n as u16);
            for u in a.nalus.iter().take(n) {
                let len = u.len().min(usize::from(u16::MAX));
                out.put_u16(len as u16);
                out.extend_from_slice(&u[..len]);
            }
        }
        out.freeze()
    }

    /// Sets `array_completeness` of every array (true: the parameter sets occur only here,
    /// as the `hvc1` sample entry requires).
    pub fn set_completeness(&mut self, complete: bool) {
        for a in &mut self.arrays {
            a.completeness = complete;
        }
    }

    /// All NAL units of one type across the arrays.
    pub fn nalus_of(&self, t: NalType) -> impl Iterator<Item = &Bytes> {
        self.arrays
            .iter()
            .filter(move |a| a.nal_type == t)
            .flat_map(|a| a.nalus.iter())
    }

    /// The VPS units.
    pub fn vps(&self) -> impl Iterator<Item = &Bytes> {
        self.nalus_of(NalType::VPS)
    }

    /// The SPS units.
    pub fn sps(&self) -> impl Iterator<Item = &Bytes> {
        self.nalus_of(NalType::SPS)
    }

    /// The PPS units.
    pub fn pps(&self) -> impl Iterator<Item = &Bytes> {
        self.nalus_of(NalType::PPS)
    }

    /// Parses the first SPS.
    ///
    /// # Errors
    /// [`Error::Missing`] without one, or its parse error.
    pub fn parsed_sps(&self) -> Result<Sps> {
        Sps::parse(self.sps().next().ok_or(Error::Missing { what: "SPS" })?)
    }

    /// The `codecs` parameter (ISO/IEC 14496-15 Annex E) for HLS playlists and MSE, e.g.
    /// `hvc1.1.6.L93.B0`: sample entry, profile space letter + profile, the compatibility
    /// flags bit-reversed in hex, tier letter + level, then the constraint bytes in hex with
    /// trailing zero bytes dropped. `entry` is `"hvc1"` or `"hev1"`.
    pub fn codec_string(&self, entry: &str) -> String {
        let space = ["", "A", "B", "C"][usize::from(self.general_profile_space & 3)];
        let mut s = format!(
            "{entry}.{space}{}.{:X}.{}{}",
            self.general_profile_idc,
            self.general_profile_compatibility_flags.reverse_bits(),
            if self.general_tier_flag { 'H' } else { 'L' },
            self.general_level_idc
        );
        let bytes = self.general_constraint_indicator_flags.to_be_bytes();
        let constraint = &bytes[2..];
        let keep = constraint
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        for b in &constraint[..keep] {
            s.push_str(&format!(".{b:X}"));
        }
        s
    }

    /// Every NAL unit of the arrays as Annex B (4-byte start codes), in array order.
    pub fn to_annexb(&self) -> Bytes {
        let mut out = BytesMut::new();
        for u in self.arrays.iter().flat_map(|a| a.nalus.iter()) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(u);
        }
        out.freeze()
    }
}

/// The reorder depth and frame rate of an H.265 stream from its raw hvcC record (a
/// `TrackInfo::config`), by [`HevcConfig::video_timing`]:
/// [`VideoTiming::ASSUMED`](weir_media::reorder::VideoTiming::ASSUMED) when the record or
/// its SPS does not parse (an empty config included).
///
/// ```
/// use weir_media::reorder::VideoTiming;
/// assert_eq!(weir_h265::video_timing(&[]), VideoTiming::ASSUMED);
/// ```
pub fn video_timing(hvcc: &[u8]) -> weir_media::reorder::VideoTiming {
    HevcConfig::parse(hvcc).map_or(weir_media::reorder::VideoTiming::ASSUMED, |c| {
        c.video_timing()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_band_needs_all_three_parameter_sets() {
        // The SPS of the crate docs (320x240 Main) and an IDR slice start, length-prefixed.
        let sps: &[u8] = &[
            0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
            0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b,
            0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10,
        ];
        let idr: &[u8] = &[0x26, 0x01, 0xaf, 0x06];
        let mut au = Vec::new();
        for u in [sps, idr] {
            au.extend_from_slice(&(u.len() as u32).to_be_bytes());
            au.extend_from_slice(u);
        }
        assert_eq!(HevcConfig::from_access_unit(&au), None);
        assert_eq!(HevcConfig::from_access_unit(&au[au.len() - 8..]), None);
        assert_eq!(HevcConfig::from_access_unit(&[0, 0, 0, 9, 0x40]), None);
        // The SPS alone gives the timing; an unparsable record the assumed one.
        let timing = Sps::parse(sps).unwrap().video_timing();
        assert_eq!(timing.fps, Sps::parse(sps).unwrap().fps());
        assert_eq!(
            video_timing(&[1, 2, 3]),
            weir_media::reorder::VideoTiming::ASSUMED
        );
    }

    #[test]
    fn codec_string_examples() {
        // 14496-15 E.5: Main profile, Main tier, level 3.1, progressive + frame-only
        // constraint bits (0xB0).
        let mut b = vec![1u8, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93];
        b.extend_from_slice(&[0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0]);
        let cfg = HevcConfig::parse(&b).unwrap();
        assert_eq!(cfg.codec_string("hev1"), "hev1.1.6.L93.B0");
        // Profile space 1, High tier, profile 4 with flag 4 only, all-zero constraints.
        let mut b = vec![1u8, 0x64, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 120];
        b.extend_from_slice(&[0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0]);
        let cfg = HevcConfig::parse(&b).unwrap();
        assert_eq!(cfg.codec_string("hvc1"), "hvc1.A4.10.H120");
    }

    #[test]
    fn truncated_records() {
        assert!(matches!(
            HevcConfig::parse(&[]),
            Err(Error::ConfigTruncated { offset: 0, .. })
        ));
        let mut b = vec![1u8; 22];
        b.push(1); // one array
        b.extend_from_slice(&[0xa0, 0, 2, 0, 1, 0x40]); // two units declared, one present
        assert!(matches!(
            HevcConfig::parse(&b),
            Err(Error::ConfigTruncated { .. })
        ));
        b[0] = 2;
        assert!(matches!(
            HevcConfig::parse(&b),
            Err(Error::ConfigUnsupported { .. })
        ));
    }
}
