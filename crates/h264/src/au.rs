//! Access-unit assembly (H.264 7.4.1.2.3): NAL units in, canonical frames out.

use bytes::{Bytes, BytesMut};
use weir_media::nal::AnnexBSplitter;

use crate::avcc::AvcConfig;
use crate::error::{Error, Result};
use crate::nalu::NalType;
use crate::pps::Pps;
use crate::sei::RecoveryPoint;
use crate::slice::{slice_start, SliceHeader};
use crate::sps::Sps;

/// One complete access unit in the canonical layout (4-byte length-prefixed NAL units).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessUnit {
    /// The NAL units, each with a 4-byte big-endian length prefix.
    pub data: Bytes,
    /// A random access point as ffmpeg flags it: an IDR picture, or a recovery point SEI
    /// (open-GOP I pictures, periodic intra refresh). Use [`AccessUnit::idr`] for strict IDR.
    pub keyframe: bool,
    /// The access unit holds an IDR picture.
    pub idr: bool,
    /// `recovery_frame_cnt` of a recovery point SEI in the access unit.
    pub recovery_frame_cnt: Option<u32>,
    /// Number of NAL units.
    pub nal_count: usize,
}

/// Limits of an [`AccessUnitAssembler`]; exceeding one is an error and the access unit
/// is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssemblerLimits {
    /// Largest access unit in bytes (canonical layout). Default 32 MiB.
    pub max_au_bytes: usize,
    /// Most NAL units per access unit. Default 4096.
    pub max_nal_units: usize,
}

impl Default for AssemblerLimits {
    fn default() -> Self {
        AssemblerLimits {
            max_au_bytes: 32 << 20,
            max_nal_units: 4096,
        }
    }
}

impl AssemblerLimits {
    /// Limits with the given byte and NAL-count maxima.
    pub fn new(max_au_bytes: usize, max_nal_units: usize) -> AssemblerLimits {
        AssemblerLimits {
            max_au_bytes,
            max_nal_units,
        }
    }
}

/// Groups a sequence of NAL units into access units.
///
/// A new access unit starts (7.4.1.2.3) at an access unit delimiter, SPS, PPS, SEI or
/// NAL types 14–18 that follow a VCL unit of the current one, and at the first slice of a
/// new primary coded picture (7.4.1.2.4: `frame_num`, PPS id, field flags, `nal_ref_idc`
/// zero-ness, POC fields, IDR flag or `idr_pic_id` differ). The SPS/PPS needed to read
/// slice headers are taken from the stream (or [`AccessUnitAssembler::with_config`]);
/// before they are known, `first_mb_in_slice == 0` marks a new picture.
///
/// Since a unit's end is only known when the next one starts, [`push`](Self::push)
/// returns the *previous* access unit; call [`flush`](Self::flush) at the end.
///
/// ```
/// use weir_h264::AccessUnitAssembler;
/// let mut asm = AccessUnitAssembler::new();
/// let sps = [0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03,
///            0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80];
/// let pps = [0x68, 0xcb, 0x83, 0xcb, 0x20];
/// assert!(asm.push(&sps)?.is_none());
/// assert!(asm.push(&pps)?.is_none());
/// assert!(asm.push(&[0x65, 0x88, 0x84, 0x00])?.is_none()); // IDR, frame_num 0
/// let au = asm.push(&[0x41, 0x9a, 0x02])?.unwrap();          // P slice: new picture
/// assert!(au.keyframe);
/// assert_eq!(au.nal_count, 3);
/// let last = asm.flush().unwrap();
/// assert!(!last.keyframe);
/// # Ok::<(), weir_h264::Error>(())
/// ```
#[derive(Debug)]
pub struct AccessUnitAssembler {
    limits: AssemblerLimits,
    buf: BytesMut,
    /// Size of the last access unit (the next one's first allocation).
    last_len: usize,
    nal_count: usize,
    keyframe: bool,
    recovery: Option<u32>,
    has_vcl: bool,
    overflowed: bool,
    last_slice: Option<SliceHeader>,
    // Boxed so an assembler costs ~2 KiB until parameter sets arrive.
    sps: Vec<Option<Box<Sps>>>,
    pps: Vec<Option<Box<Pps>>>,
}

impl Default for AccessUnitAssembler {
    fn default() -> Self {
        AccessUnitAssembler::new()
    }
}

impl AccessUnitAssembler {
    /// An assembler with default limits.
    pub fn new() -> AccessUnitAssembler {
        AccessUnitAssembler::with_limits(AssemblerLimits::default())
    }

    /// An assembler with the given limits.
    pub fn with_limits(limits: AssemblerLimits) -> AccessUnitAssembler {
        AccessUnitAssembler {
            limits,
            buf: BytesMut::new(),
            last_len: 0,
            nal_count: 0,
            keyframe: false,
            recovery: None,
            has_vcl: false,
            overflowed: false,
            last_slice: None,
            sps: vec![None; 32],
            pps: vec![None; 256],
        }
    }

    /// Preloads the parameter sets of an avcC record (out-of-band SPS/PPS, as in FLV, MP4
    /// or SDP `sprop-parameter-sets`). Unparseable sets are skipped.
    pub fn with_config(mut self, config: &AvcConfig) -> AccessUnitAssembler {
        for n in config.sps.iter().chain(config.pps.iter()) {
            self.learn(n);
        }
        self
    }

    fn learn(&mut self, nal: &[u8]) {
        match nal.first().map(|&h| NalType::from_header(h)) {
            Some(NalType::Sps) => match Sps::parse(nal) {
                Ok(s) => {
                    let id = usize::from(s.id);
                    if let Some(slot) = self.sps.get_mut(id) {
                        *slot = Some(Box::new(s));
                    }
                }
                Err(e) => tracing::debug!(error = %e, "ignoring unparseable SPS"),
            },
            Some(NalType::Pps) => {
                let sps_id = slice_pps_sps_id(nal);
                let parsed = match sps_id.and_then(|id| self.sps.get(usize::from(id))?.as_ref()) {
                    Some(sps) => Pps::parse_with_sps(nal, sps),
                    None => Pps::parse(nal),
                };
                match parsed {
                    Ok(p) => {
                        let id = usize::from(p.id);
                        if let Some(slot) = self.pps.get_mut(id) {
                            *slot = Some(Box::new(p));
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "ignoring unparseable PPS"),
                }
            }
            _ => {}
        }
    }

    /// Feeds one NAL unit (header included, no start code or length prefix). Returns the
    /// previous access unit when this unit starts a new one.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] when the current access unit grows past a limit; it is
    /// dropped and assembly resumes at the next access-unit boundary.
    pub fn push(&mut self, nal: &[u8]) -> Result<Option<AccessUnit>> {
        let Some(&header) = nal.first() else {
            return Ok(None);
        };
        let t = NalType::from_header(header);
        if matches!(t, NalType::Sps | NalType::Pps) {
            self.learn(nal);
        }
        let mut new_au = false;
        if self.has_vcl {
            new_au = match t {
                NalType::Aud
                | NalType::Sps
                | NalType::Pps
                | NalType::Sei
                | NalType::Prefix
                | NalType::SubsetSps
                | NalType::DepthParameterSet
                | NalType::Reserved17
                | NalType::Reserved18 => true,
                NalType::SliceNonIdr | NalType::SliceDataA | NalType::SliceIdr => {
                    self.slice_starts_picture(nal)
                }
                _ => false,
            };
        } else if t.is_slice_start() {
            // Record the first slice of the access unit for later comparisons.
            self.slice_starts_picture(nal);
        }
        let out = if new_au { self.take() } else { None };
        if t.is_vcl() {
            self.has_vcl = true;
        }
        if t == NalType::SliceIdr {
            self.keyframe = true;
        }
        if t == NalType::Sei && self.recovery.is_none() {
            self.recovery = RecoveryPoint::find(nal).map(|r| r.recovery_frame_cnt);
        }
        if self.overflowed {
            return Ok(out);
        }
        let needed = self.buf.len().saturating_add(4).saturating_add(nal.len());
        if needed > self.limits.max_au_bytes || self.nal_count >= self.limits.max_nal_units {
            self.overflowed = true;
            self.buf.clear();
            let (what, limit) = if needed > self.limits.max_au_bytes {
                ("access unit bytes", self.limits.max_au_bytes)
            } else {
                ("NAL units per access unit", self.limits.max_nal_units)
            };
            return Err(Error::LimitExceeded { what, limit });
        }
        let Ok(len) = u32::try_from(nal.len()) else {
            self.overflowed = true;
            self.buf.clear();
            return Err(Error::LimitExceeded {
                what: "NAL unit size for a 4-byte length prefix",
                limit: u32::MAX as usize,
            });
        };
        if self.buf.is_empty() {
            // One allocation per access unit, a quarter larger than the last one (the
            // previous unit, frozen, still shares the old block, so growing would copy).
            self.buf
                .reserve((4 + nal.len()).max(self.last_len + self.last_len / 4));
        } else {
            self.buf.reserve(4 + nal.len());
        }
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(nal);
        self.nal_count += 1;
        Ok(out)
    }

    /// Decides whether slice `nal` starts a new primary picture and remembers its header.
    fn slice_starts_picture(&mut self, nal: &[u8]) -> bool {
        let parsed = SliceHeader::parse(nal, |pps_id| {
            let pps = self.pps.get(usize::from(pps_id))?.as_ref()?;
            let sps = self.sps.get(usize::from(pps.sps_id))?.as_ref()?;
            Some((pps, sps))
        });
        match parsed {
            Ok(h) => {
                let new = match &self.last_slice {
                    Some(prev) => h.starts_new_picture(prev),
                    None => true,
                };
                if h.redundant_pic_cnt == 0 {
                    self.last_slice = Some(h);
                }
                new
            }
            Err(_) => {
                self.last_slice = None;
                // Parameter sets unknown (or header damaged): a slice starting at macroblock
                // 0 begins a picture.
                matches!(slice_start(nal), Ok((0, _, _)))
            }
        }
    }

    fn take(&mut self) -> Option<AccessUnit> {
        let overflowed = std::mem::replace(&mut self.overflowed, false);
        let idr = std::mem::replace(&mut self.keyframe, false);
        let recovery_frame_cnt = self.recovery.take();
        let nal_count = std::mem::replace(&mut self.nal_count, 0);
        self.has_vcl = false;
        let data = self.buf.split().freeze();
        self.last_len = data.len().min(self.limits.max_au_bytes);
        if overflowed || nal_count == 0 {
            return None;
        }
        Some(AccessUnit {
            data,
            keyframe: idr || recovery_frame_cnt.is_some(),
            idr,
            recovery_frame_cnt,
            nal_count,
        })
    }

    /// Ends the stream: returns the access unit being assembled, if any.
    pub fn flush(&mut self) -> Option<AccessUnit> {
        self.last_slice = None;
        self.take()
    }

    /// The SPS with this id, if seen.
    pub fn sps(&self, id: u8) -> Option<&Sps> {
        self.sps.get(usize::from(id))?.as_deref()
    }

    /// The PPS with this id, if seen.
    pub fn pps(&self, id: u8) -> Option<&Pps> {
        self.pps.get(usize::from(id))?.as_deref()
    }
}

/// `seq_parameter_set_id` of a PPS NAL unit (second `ue(v)`), without a full parse.
fn slice_pps_sps_id(nal: &[u8]) -> Option<u8> {
    let end = nal.len().min(16);
    let rbsp = weir_media::nal::remove_emulation_prevention(nal.get(1..end)?);
    let mut r = weir_media::bits::BitReader::new(&rbsp);
    r.read_ue().ok()?;
    u8::try_from(r.read_ue().ok()?).ok()
}

/// An Annex B byte stream in, access units out: an [`AnnexBSplitter`] feeding an
/// [`AccessUnitAssembler`], for sources that deliver H.264 elementary streams in arbitrary
/// pieces (MPEG-TS/PS PES payloads, raw `.h264` files, pipes).
#[derive(Debug)]
pub struct AnnexBAccessUnits {
    splitter: AnnexBSplitter,
    assembler: AccessUnitAssembler,
    ended: bool,
    flushed: bool,
}

impl AnnexBAccessUnits {
    /// A reader with default assembler limits; NAL units are limited to the access-unit
    /// byte limit.
    pub fn new() -> AnnexBAccessUnits {
        AnnexBAccessUnits::with_assembler(AccessUnitAssembler::new())
    }

    /// A reader around a configured assembler.
    pub fn with_assembler(assembler: AccessUnitAssembler) -> AnnexBAccessUnits {
        AnnexBAccessUnits {
            splitter: AnnexBSplitter::new(assembler.limits.max_au_bytes),
            assembler,
            ended: false,
            flushed: false,
        }
    }

    /// Appends stream bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.splitter.push(data);
    }

    /// Marks the end of the stream: the remaining bytes are the last NAL unit.
    pub fn finish(&mut self) {
        self.ended = true;
    }

    /// The next complete access unit, if one is ready.
    ///
    /// # Errors
    /// The splitter's or assembler's limit errors; polling may continue after one.
    pub fn poll(&mut self) -> Result<Option<AccessUnit>> {
        while let Some(nal) = self.splitter.next_nal()? {
            if let Some(au) = self.assembler.push(&nal)? {
                return Ok(Some(au));
            }
        }
        if self.ended && !self.flushed {
            if let Some(nal) = self.splitter.finish() {
                if let Some(au) = self.assembler.push(&nal)? {
                    return Ok(Some(au));
                }
            }
            self.flushed = true;
            return Ok(self.assembler.flush());
        }
        Ok(None)
    }

    /// The inner assembler (for its parameter sets).
    pub fn assembler(&self) -> &AccessUnitAssembler {
        &self.assembler
    }
}

impl Default for AnnexBAccessUnits {
    fn default() -> Self {
        AnnexBAccessUnits::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aud_splits_and_limits() {
        let mut a = AccessUnitAssembler::with_limits(AssemblerLimits::new(64, 3));
        assert!(a.push(&crate::AUD).unwrap().is_none());
        assert!(a.push(&[0x65, 0x88]).unwrap().is_none());
        let au = a.push(&crate::AUD).unwrap().unwrap();
        assert!(au.keyframe);
        assert_eq!(
            &au.data[..],
            &[0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 2, 0x65, 0x88]
        );
        // AUD + two slices of one picture (first_mb 0, then 1) fill the NAL-count limit;
        // a fourth unit is an error and the AU is dropped.
        assert!(a.push(&[0x41, 0x9a]).unwrap().is_none());
        assert!(a.push(&[0x41, 0x40]).unwrap().is_none());
        assert!(matches!(
            a.push(&[0x41, 0x40]),
            Err(Error::LimitExceeded { .. })
        ));
        assert!(a.push(&[0x41, 0x40]).unwrap().is_none());
        // The next AUD starts afresh; the oversized AU is not emitted.
        assert!(a.push(&crate::AUD).unwrap().is_none());
        assert!(a.push(&[0x41, 0x9a]).unwrap().is_none());
        let au = a.flush().unwrap();
        assert_eq!(au.nal_count, 2);
        assert!(!au.keyframe);
        assert!(a.flush().is_none());
    }
}
