//! `AVCDecoderConfigurationRecord` ("avcC", ISO/IEC 14496-15 5.3.3.1).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::nalu::NalType;
use crate::sps::Sps;

/// The high-profile extension of the avcC record (for every `profile_idc` but 66, 77 and
/// 88 per 14496-15; written by ffmpeg, omitted by many older muxers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvcConfigExt {
    /// `chroma_format` (the SPS's `chroma_format_idc`), 2 bits.
    pub chroma_format: u8,
    /// `bit_depth_luma_minus8`, 3 bits.
    pub bit_depth_luma_minus8: u8,
    /// `bit_depth_chroma_minus8`, 3 bits.
    pub bit_depth_chroma_minus8: u8,
    /// Sequence parameter set extension NAL units (type 13).
    pub sps_ext: Vec<Bytes>,
}

/// An `AVCDecoderConfigurationRecord`: the codec configuration that MP4, FLV and
/// Matroska carry for H.264 (and Weir's `TrackInfo::config`).
///
/// ```
/// use bytes::Bytes;
/// use weir_h264::AvcConfig;
/// let sps = Bytes::from_static(&[0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10,
///     0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80]);
/// let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
/// let cfg = AvcConfig::from_parameter_sets(&[sps.clone()], &[pps])?;
/// assert_eq!((cfg.profile_idc, cfg.level_idc, cfg.nal_length_size), (66, 13, 4));
/// let bytes = cfg.to_bytes();
/// assert_eq!(AvcConfig::parse(&bytes)?, cfg);
/// assert_eq!(cfg.sps[0], sps);
/// # Ok::<(), weir_h264::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AvcConfig {
    /// `AVCProfileIndication` (the SPS's `profile_idc`).
    pub profile_idc: u8,
    /// `profile_compatibility` (the SPS's constraint-flags byte).
    pub profile_compatibility: u8,
    /// `AVCLevelIndication` (the SPS's `level_idc`).
    pub level_idc: u8,
    /// `lengthSizeMinusOne + 1`: bytes per NAL length prefix in samples (1, 2 or 4 per
    /// 14496-15; 3 is accepted as ffmpeg and the `nal` converters do).
    pub nal_length_size: u8,
    /// Sequence parameter sets (NAL units with header).
    pub sps: Vec<Bytes>,
    /// Picture parameter sets (NAL units with header).
    pub pps: Vec<Bytes>,
    /// The high-profile extension, when present.
    pub ext: Option<AvcConfigExt>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
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
    fn nal_list(&mut self, count: usize, src: &Bytes, field: &'static str) -> Result<Vec<Bytes>> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(self.u16(field)?);
            let start = self.pos;
            self.take(len, field)?;
            out.push(src.slice(start..start + len));
        }
        Ok(out)
    }
}

impl AvcConfig {
    /// Parses an avcC record. The parameter sets are copied once into one shared buffer;
    /// use [`AvcConfig::parse_bytes`] to slice them out of a `Bytes` without copying.
    ///
    /// # Errors
    /// As [`AvcConfig::parse_bytes`].
    pub fn parse(data: &[u8]) -> Result<AvcConfig> {
        AvcConfig::parse_bytes(&Bytes::copy_from_slice(data))
    }

    /// Parses an avcC record; the parameter sets are zero-copy slices of `data`.
    ///
    /// The high-profile extension is read when `profile_idc` calls for it and at least four
    /// bytes follow the PPS list; a malformed extension is ignored (quirk: many muxers write
    /// junk or a truncated extension there, and decoders ignore it too).
    ///
    /// # Errors
    /// [`Error::ConfigUnsupported`] for a `configurationVersion` other than 1,
    /// [`Error::ConfigTruncated`] when a list runs past the end. (A `lengthSizeMinusOne` of
    /// 2, which 14496-15 does not allow, is accepted: ffmpeg and the converters in
    /// [`crate::nal`] handle 3-byte prefixes.)
    pub fn parse_bytes(data: &Bytes) -> Result<AvcConfig> {
        let mut c = Cursor { data, pos: 0 };
        let version = c.u8("configurationVersion")?;
        if version != 1 {
            return Err(Error::ConfigUnsupported {
                field: "configurationVersion",
                value: u64::from(version),
            });
        }
        let profile_idc = c.u8("AVCProfileIndication")?;
        let profile_compatibility = c.u8("profile_compatibility")?;
        let level_idc = c.u8("AVCLevelIndication")?;
        let nal_length_size = (c.u8("lengthSizeMinusOne")? & 3) + 1;
        let num_sps = usize::from(c.u8("numOfSequenceParameterSets")? & 0x1f);
        let sps = c.nal_list(num_sps, data, "sequenceParameterSetNALUnit")?;
        let num_pps = usize::from(c.u8("numOfPictureParameterSets")?);
        let pps = c.nal_list(num_pps, data, "pictureParameterSetNALUnit")?;
        let mut ext = None;
        if has_ext(profile_idc) && data.len().saturating_sub(c.pos) >= 4 {
            let start = c.pos;
            let parsed = (|| -> Result<AvcConfigExt> {
                let chroma_format = c.u8("chroma_format")? & 3;
                let bit_depth_luma_minus8 = c.u8("bit_depth_luma_minus8")? & 7;
                let bit_depth_chroma_minus8 = c.u8("bit_depth_chroma_minus8")? & 7;
                let n = usize::from(c.u8("numOfSequenceParameterSetExt")?);
                let sps_ext = c.nal_list(n, data, "sequenceParameterSetExtNALUnit")?;
                Ok(AvcConfigExt {
                    chroma_format,
                    bit_depth_luma_minus8,
                    bit_depth_chroma_minus8,
                    sps_ext,
                })
            })();
            match parsed {
                Ok(e) => ext = Some(e),
                Err(e) => {
                    tracing::debug!(offset = start, error = %e, "ignoring malformed avcC high-profile extension");
                }
            }
        }
        Ok(AvcConfig {
            profile_idc,
            profile_compatibility,
            level_idc,
            nal_length_size,
            sps,
            pps,
            ext,
        })
    }

    /// Builds a record from parameter-set NAL units (headers included), taking profile,
    /// compatibility and level from the first SPS, with 4-byte NAL lengths (the canonical
    /// layout) and, for profiles other than Baseline/Main/Extended, the extension filled from
    /// the SPS — byte-identical to what ffmpeg's MP4/FLV muxers write for the same sets.
    ///
    /// # Errors
    /// [`Error::Missing`] without an SPS, [`Error::WrongNalType`] if a list holds another
    /// type, SPS parse errors, [`Error::LimitExceeded`] for more than 31 SPS, 255 PPS or a
    /// unit over 65535 bytes.
    pub fn from_parameter_sets(sps: &[Bytes], pps: &[Bytes]) -> Result<AvcConfig> {
        let first = sps.first().ok_or(Error::Missing { what: "SPS" })?;
        let parsed = Sps::parse(first)?;
        for p in pps {
            let t = p.first().map(|&h| NalType::from_header(h));
            if t != Some(NalType::Pps) {
                return Err(Error::WrongNalType {
                    expected: "PPS",
                    found: t.map_or(0, NalType::as_u8),
                });
            }
        }
        for s in sps {
            let t = s.first().map(|&h| NalType::from_header(h));
            if t != Some(NalType::Sps) {
                return Err(Error::WrongNalType {
                    expected: "SPS",
                    found: t.map_or(0, NalType::as_u8),
                });
            }
        }
        let ext = has_ext(parsed.profile_idc).then(|| AvcConfigExt {
            chroma_format: parsed.chroma_format_idc,
            bit_depth_luma_minus8: parsed.bit_depth_luma - 8,
            bit_depth_chroma_minus8: parsed.bit_depth_chroma - 8,
            sps_ext: Vec::new(),
        });
        let cfg = AvcConfig {
            profile_idc: parsed.profile_idc,
            profile_compatibility: parsed.constraint_flags,
            level_idc: parsed.level_idc,
            nal_length_size: 4,
            sps: sps.to_vec(),
            pps: pps.to_vec(),
            ext,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Builds a record from the in-band parameter sets of a canonical frame (4-byte
    /// length-prefixed NAL units), as MPEG-TS, RTP and Annex B sources carry them before each
    /// IDR. Repeated identical sets are kept once. `Ok(None)` when the frame has no SPS or
    /// no PPS. The parameter sets are zero-copy slices of `frame`.
    ///
    /// # Errors
    /// A malformed length prefix, or as [`AvcConfig::from_parameter_sets`].
    pub fn from_frame(frame: &Bytes) -> Result<Option<AvcConfig>> {
        let mut sps: Vec<Bytes> = Vec::new();
        let mut pps: Vec<Bytes> = Vec::new();
        for unit in weir_media::nal::length_prefixed_nalus(frame, 4)? {
            let unit = unit?;
            let list = match unit.first().map(|&h| NalType::from_header(h)) {
                Some(NalType::Sps) => &mut sps,
                Some(NalType::Pps) => &mut pps,
                _ => continue,
            };
            if !list.contains(&unit) {
                list.push(unit);
            }
        }
        if sps.is_empty() || pps.is_empty() {
            return Ok(None);
        }
        AvcConfig::from_parameter_sets(&sps, &pps).map(Some)
    }

    /// The record for parameter sets found in band: the SPS and PPS of an access unit in the
    /// canonical layout (4-byte length-prefixed NAL units), as a camera sends them before each
    /// IDR when the SDP had no `sprop-parameter-sets`. Repeated identical sets are kept once;
    /// the sets are copied (the access unit stays borrowed). `None` when the unit has no SPS
    /// or no PPS, or the first SPS does not parse; a malformed length prefix ends the scan
    /// (what came before it still counts).
    ///
    /// ```
    /// use weir_h264::AvcConfig;
    /// let sps = [0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00,
    ///     0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80];
    /// let pps = [0x68, 0xcb, 0x83, 0xcb, 0x20];
    /// let idr = [0x65, 0x88, 0x84];
    /// let mut au = Vec::new();
    /// for nal in [&sps[..], &pps, &idr] {
    ///     au.extend_from_slice(&(nal.len() as u32).to_be_bytes());
    ///     au.extend_from_slice(nal);
    /// }
    /// let cfg = AvcConfig::from_access_unit(&au).expect("SPS and PPS in band");
    /// assert_eq!((cfg.profile_idc, cfg.level_idc), (66, 13));
    /// assert_eq!((&cfg.sps[0][..], &cfg.pps[0][..]), (&sps[..], &pps[..]));
    /// // An access unit without parameter sets says nothing.
    /// assert_eq!(AvcConfig::from_access_unit(&au[au.len() - 7..]), None);
    /// ```
    pub fn from_access_unit(data: &[u8]) -> Option<AvcConfig> {
        let mut sps: Vec<Bytes> = Vec::new();
        let mut pps: Vec<Bytes> = Vec::new();
        for unit in weir_media::nal::length_prefixed_units(data, 4) {
            let list = match unit.first().map(|&h| NalType::from_header(h)) {
                Some(NalType::Sps) => &mut sps,
                Some(NalType::Pps) => &mut pps,
                _ => continue,
            };
            if !list.iter().any(|u| u[..] == *unit) {
                list.push(Bytes::copy_from_slice(unit));
            }
        }
        if sps.is_empty() || pps.is_empty() {
            return None;
        }
        AvcConfig::from_parameter_sets(&sps, &pps).ok()
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

    /// Checks that the record can be written: list counts and unit sizes fit their fields,
    /// `nal_length_size` is 1 to 4.
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
        if self.sps.len() > 31 {
            return Err(Error::LimitExceeded {
                what: "SPS count in avcC",
                limit: 31,
            });
        }
        let ext_count = self.ext.as_ref().map_or(0, |e| e.sps_ext.len());
        if self.pps.len() > 255 || ext_count > 255 {
            return Err(Error::LimitExceeded {
                what: "PPS or SPS-extension count in avcC",
                limit: 255,
            });
        }
        let ext_units = self.ext.iter().flat_map(|e| e.sps_ext.iter());
        if self
            .sps
            .iter()
            .chain(self.pps.iter())
            .chain(ext_units)
            .any(|n| n.len() > usize::from(u16::MAX))
        {
            return Err(Error::LimitExceeded {
                what: "parameter set size in avcC",
                limit: usize::from(u16::MAX),
            });
        }
        Ok(())
    }

    /// Serialises the record. Counts and sizes beyond the field widths are truncated;
    /// call [`AvcConfig::validate`] first for records not built by this crate.
    pub fn to_bytes(&self) -> Bytes {
        let units: usize = self
            .sps
            .iter()
            .chain(self.pps.iter())
            .map(|n| n.len() + 2)
            .sum();
        let mut out = BytesMut::with_capacity(7 + units + 4);
        out.put_u8(1);
        out.put_u8(self.profile_idc);
        out.put_u8(self.profile_compatibility);
        out.put_u8(self.level_idc);
        out.put_u8(0xfc | (self.nal_length_size.wrapping_sub(1) & 3));
        let nsps = self.sps.len().min(31);
        out.put_u8(0xe0 | nsps as u8);
        for s in self.sps.iter().take(nsps) {
            put_unit(&mut out, s);
        }
        let npps = self.pps.len().min(255);
        out.put_u8(npps as u8);
        for p in self.pps.iter().take(npps) {
            put_unit(&mut out, p);
        }
        if let Some(e) = &self.ext {
            out.put_u8(0xfc | (e.chroma_format & 3));
            out.put_u8(0xf8 | (e.bit_depth_luma_minus8 & 7));
            out.put_u8(0xf8 | (e.bit_depth_chroma_minus8 & 7));
            let n = e.sps_ext.len().min(255);
            out.put_u8(n as u8);
            for s in e.sps_ext.iter().take(n) {
                put_unit(&mut out, s);
            }
        }
        out.freeze()
    }

    /// Parses the first SPS.
    ///
    /// # Errors
    /// [`Error::Missing`] without an SPS, or the SPS parse error.
    pub fn parsed_sps(&self) -> Result<Sps> {
        Sps::parse(self.sps.first().ok_or(Error::Missing { what: "SPS" })?)
    }

    /// The RFC 6381 `codecs` parameter for HLS playlists and MSE: `avc1.PPCCLL`
    /// (profile, compatibility, level in upper-case hex), e.g. `avc1.64001F`.
    pub fn codec_string(&self) -> String {
        format!(
            "avc1.{:02X}{:02X}{:02X}",
            self.profile_idc, self.profile_compatibility, self.level_idc
        )
    }

    /// The RFC 6184 SDP `profile-level-id` (lower-case hex of the same three bytes), e.g.
    /// `42c01f`.
    pub fn profile_level_id(&self) -> String {
        format!(
            "{:02x}{:02x}{:02x}",
            self.profile_idc, self.profile_compatibility, self.level_idc
        )
    }

    /// The parameter sets as an Annex B buffer (4-byte start codes), SPS first, as a
    /// decoder or RTP/TS packetizer wants them before a keyframe.
    pub fn to_annexb(&self) -> Bytes {
        let mut out = BytesMut::new();
        for n in self.sps.iter().chain(self.pps.iter()) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(n);
        }
        out.freeze()
    }
}

/// Profiles whose avcC carries the extension: every profile but Baseline, Main and Extended
/// (14496-15 5.3.3.1.2 as amended; the first edition listed only 100, 110, 122 and 144).
/// ffmpeg writes it for all of them, e.g. for High 4:4:4 Predictive (244).
fn has_ext(profile_idc: u8) -> bool {
    !matches!(profile_idc, 66 | 77 | 88)
}

fn put_unit(out: &mut BytesMut, nal: &[u8]) {
    let len = nal.len().min(usize::from(u16::MAX));
    out.put_u16(len as u16);
    out.extend_from_slice(&nal[..len]);
}

/// The reorder depth and frame rate of an H.264 stream from its raw avcC record (a
/// `TrackInfo::config`), by [`AvcConfig::video_timing`]:
/// [`VideoTiming::ASSUMED`](weir_media::reorder::VideoTiming::ASSUMED) when the record or
/// its SPS does not parse (an empty config included).
///
/// ```
/// use weir_h264::{video_timing, AvcConfig};
/// use weir_media::reorder::VideoTiming;
/// // Baseline, no VUI bitstream restriction: no B-frames, so depth 0.
/// let sps = bytes::Bytes::from_static(&[0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb,
///     0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42,
///     0xa4, 0x80]);
/// let pps = bytes::Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
/// let avcc = AvcConfig::from_parameter_sets(&[sps], &[pps])?.to_bytes();
/// assert_eq!(video_timing(&avcc).reorder_depth, 0);
/// assert_eq!(video_timing(&[]), VideoTiming::ASSUMED);
/// # Ok::<(), weir_h264::Error>(())
/// ```
pub fn video_timing(avcc: &[u8]) -> weir_media::reorder::VideoTiming {
    AvcConfig::parse(avcc).map_or(weir_media::reorder::VideoTiming::ASSUMED, |c| {
        c.video_timing()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_strings() {
        let cfg = AvcConfig::parse(&[1, 0x42, 0xe0, 0x1e, 0xff, 0xe0, 0]).unwrap();
        // RFC 6381 section 3.3's example.
        assert_eq!(cfg.codec_string(), "avc1.42E01E");
        assert_eq!(cfg.profile_level_id(), "42e01e");
    }

    const SPS: [u8; 24] = [
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ];
    const PPS: [u8; 5] = [0x68, 0xcb, 0x83, 0xcb, 0x20];

    fn au(units: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for u in units {
            out.extend_from_slice(&(u.len() as u32).to_be_bytes());
            out.extend_from_slice(u);
        }
        out
    }

    #[test]
    fn parameter_sets_in_band() {
        let idr: &[u8] = &[0x65, 0x88, 0x84];
        let want = AvcConfig::from_parameter_sets(
            &[Bytes::from_static(&SPS)],
            &[Bytes::from_static(&PPS)],
        )
        .unwrap();
        // SEI and AUD around the sets, the sets repeated: kept once, same record.
        let with_sei = au(&[
            &[0x09, 0xf0],
            &SPS,
            &[0x06, 0x05, 0x01, 0x80],
            &PPS,
            &SPS,
            idr,
        ]);
        assert_eq!(AvcConfig::from_access_unit(&with_sei), Some(want.clone()));
        // A truncated NAL unit after the sets ends the scan; what came before counts.
        let mut cut = au(&[&SPS, &PPS, idr]);
        cut.extend_from_slice(&[0, 0, 0, 99, 0x65]);
        assert_eq!(AvcConfig::from_access_unit(&cut), Some(want));
        // Without a PPS, without an SPS, without either, or empty: nothing.
        assert_eq!(AvcConfig::from_access_unit(&au(&[&SPS, idr])), None);
        assert_eq!(AvcConfig::from_access_unit(&au(&[&PPS, idr])), None);
        assert_eq!(AvcConfig::from_access_unit(&au(&[idr])), None);
        assert_eq!(AvcConfig::from_access_unit(&[]), None);
        // An SPS that does not parse: nothing (not an error).
        assert_eq!(
            AvcConfig::from_access_unit(&au(&[&[0x67, 0x42], &PPS])),
            None
        );
    }

    #[test]
    fn timing_rule() {
        use weir_media::reorder::{VideoTiming, ASSUMED_H264_REORDER_DEPTH};
        let cfg = AvcConfig::from_access_unit(&au(&[&SPS, &PPS])).unwrap();
        // This SPS signals max_num_reorder_frames (0) in its VUI: that value wins.
        let t = cfg.video_timing();
        let signalled = |sps: &Sps| {
            sps.vui
                .as_ref()
                .and_then(|v| v.bitstream_restriction.as_ref())
                .map(|b| b.max_num_reorder_frames)
        };
        let mut sps = Sps::parse(&SPS).unwrap();
        assert_eq!(signalled(&sps), Some(0));
        assert_eq!((t.reorder_depth, t.fps), (0, sps.fps()));
        assert_eq!(t, video_timing(&cfg.to_bytes()));
        // Without the VUI: Baseline (66) has no B slices, depth 0; Main (77) and the others
        // get the assumed depth; CAVLC 4:4:4 Intra (44) is 0.
        sps.vui = None;
        assert_eq!(
            (sps.video_timing().reorder_depth, sps.video_timing().fps),
            (0, None)
        );
        for (profile, depth) in [
            (77, ASSUMED_H264_REORDER_DEPTH),
            (100, ASSUMED_H264_REORDER_DEPTH),
            (44, 0),
        ] {
            sps.profile_idc = profile;
            assert_eq!(sps.video_timing().reorder_depth, depth, "profile {profile}");
        }
        // Records that do not parse, or whose SPS does not: the assumed timing.
        assert_eq!(video_timing(&[]), VideoTiming::ASSUMED);
        assert_eq!(
            video_timing(&[1, 66, 0, 30, 0xff, 0xe0, 0]),
            VideoTiming::ASSUMED
        );
        let bad_sps = AvcConfig::parse(&[1, 66, 0, 30, 0xff, 0xe1, 0, 2, 0x67, 0x42, 0]).unwrap();
        assert_eq!(bad_sps.video_timing(), VideoTiming::ASSUMED);
    }

    #[test]
    fn rejects_bad_records() {
        assert!(matches!(
            AvcConfig::parse(&[]),
            Err(Error::ConfigTruncated { offset: 0, .. })
        ));
        assert!(matches!(
            AvcConfig::parse(&[2, 66, 0, 30, 0xff, 0xe0, 0]),
            Err(Error::ConfigUnsupported { .. })
        ));
        // One SPS declared with 5 bytes but only 2 present.
        assert!(matches!(
            AvcConfig::parse(&[1, 66, 0, 30, 0xff, 0xe1, 0, 5, 0x67, 0x42]),
            Err(Error::ConfigTruncated {
                offset: 8,
                needed: 5,
                ..
            })
        ));
    }

    #[test]
    fn high_profile_extension_roundtrip_and_junk() {
        let cfg = AvcConfig {
            profile_idc: 100,
            profile_compatibility: 0,
            level_idc: 40,
            nal_length_size: 4,
            sps: vec![Bytes::from_static(&[0x67, 100, 0, 40])],
            pps: vec![Bytes::from_static(&[0x68, 0xee])],
            ext: Some(AvcConfigExt {
                chroma_format: 1,
                bit_depth_luma_minus8: 2,
                bit_depth_chroma_minus8: 2,
                sps_ext: vec![Bytes::from_static(&[0x6d, 1])],
            }),
        };
        let b = cfg.to_bytes();
        assert_eq!(AvcConfig::parse(&b).unwrap(), cfg);
        // Without the extension (older muxers): parses with ext = None.
        let mut short = cfg.clone();
        short.ext = None;
        assert_eq!(AvcConfig::parse(&short.to_bytes()).unwrap(), short);
        // A truncated extension is ignored.
        let mut junk = short.to_bytes().to_vec();
        junk.extend_from_slice(&[0xfd, 0xf8, 0xf8, 3, 0, 9]);
        assert_eq!(AvcConfig::parse(&junk).unwrap(), short);
    }
}
