//! Access-unit assembly (H.265 7.4.2.4.4): NAL units in, canonical frames out.

use bytes::{Bytes, BytesMut};
use weir_media::nal::AnnexBSplitter;

use crate::error::{Error, Result};
use crate::nalu::NalHeader;

/// One complete access unit in the canonical layout (4-byte length-prefixed NAL units).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessUnit {
    /// The NAL units, each with a 4-byte big-endian length prefix.
    pub data: Bytes,
    /// The access unit holds an IRAP picture (IDR, CRA or BLA).
    pub keyframe: bool,
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
/// Following 7.4.2.4.4, once the current access unit holds a VCL unit, the next access
/// unit starts at the first of: an access unit delimiter, VPS, SPS, PPS, prefix SEI, NAL
/// types 41–44 or 48–55, or a base-layer slice segment with
/// `first_slice_segment_in_pic_flag` = 1. Suffix SEI, end of sequence/bitstream and filler
/// data stay with the current one.
///
/// [`push`](Self::push) returns the previous access unit when a new one starts; call
/// [`flush`](Self::flush) at the end of the stream.
///
/// ```
/// use weir_h265::AccessUnitAssembler;
/// let mut asm = AccessUnitAssembler::new();
/// assert!(asm.push(&[0x40, 0x01, 0x0c])?.is_none());       // VPS
/// assert!(asm.push(&[0x26, 0x01, 0xaf, 0x06])?.is_none()); // IDR, first slice segment
/// assert!(asm.push(&[0x26, 0x01, 0x20, 0x06])?.is_none()); // IDR, second slice segment
/// let au = asm.push(&[0x02, 0x01, 0xd0])?.unwrap();        // TRAIL_R, first segment
/// assert!(au.keyframe);
/// assert_eq!(au.nal_count, 3);
/// assert!(!asm.flush().unwrap().keyframe);
/// # Ok::<(), weir_h265::Error>(())
/// ```
#[derive(Debug)]
pub struct AccessUnitAssembler {
    limits: AssemblerLimits,
    buf: BytesMut,
    /// Size of the last access unit (the next one's first allocation).
    last_len: usize,
    nal_count: usize,
    keyframe: bool,
    has_vcl: bool,
    overflowed: bool,
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
            has_vcl: false,
            overflowed: false,
        }
    }

    /// True if `nal` begins a new access unit when it follows a VCL unit of the current one.
    fn starts_au(nal: &[u8]) -> bool {
        let Some(h) = NalHeader::parse(nal) else {
            return false;
        };
        match h.nal_type.0 {
            0..=31 => h.layer_id == 0 && nal.get(2).is_some_and(|b| b & 0x80 != 0),
            32..=35 | 39 | 41..=44 | 48..=55 => true,
            _ => false,
        }
    }

    /// Feeds one NAL unit (two-byte header included, no start code or prefix). Returns the
    /// previous access unit when this unit starts a new one. Units shorter than their
    /// header are ignored.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] when the current access unit grows past a limit; it is
    /// dropped and assembly resumes at the next access-unit boundary.
    pub fn push(&mut self, nal: &[u8]) -> Result<Option<AccessUnit>> {
        let Some(h) = NalHeader::parse(nal) else {
            return Ok(None);
        };
        let out = if self.has_vcl && Self::starts_au(nal) {
            self.take()
        } else {
            None
        };
        if h.nal_type.is_vcl() {
            self.has_vcl = true;
            self.keyframe |= h.nal_type.is_irap();
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

    fn take(&mut self) -> Option<AccessUnit> {
        let overflowed = std::mem::replace(&mut self.overflowed, false);
        let keyframe = std::mem::replace(&mut self.keyframe, false);
        let nal_count = std::mem::replace(&mut self.nal_count, 0);
        self.has_vcl = false;
        let data = self.buf.split().freeze();
        self.last_len = data.len().min(self.limits.max_au_bytes);
        if overflowed || nal_count == 0 {
            return None;
        }
        Some(AccessUnit {
            data,
            keyframe,
            nal_count,
        })
    }

    /// Ends the stream: returns the access unit being assembled, if any.
    pub fn flush(&mut self) -> Option<AccessUnit> {
        self.take()
    }

    fn max_nal(&self) -> usize {
        self.limits.max_au_bytes
    }
}

/// An Annex B byte stream in, access units out: an [`AnnexBSplitter`] feeding an
/// [`AccessUnitAssembler`] (MPEG-TS/PS PES payloads, raw `.hevc` files, pipes).
#[derive(Debug)]
pub struct AnnexBAccessUnits {
    splitter: AnnexBSplitter,
    assembler: AccessUnitAssembler,
    ended: bool,
    flushed: bool,
}

impl AnnexBAccessUnits {
    /// A reader with default limits.
    pub fn new() -> AnnexBAccessUnits {
        AnnexBAccessUnits::with_assembler(AccessUnitAssembler::new())
    }

    /// A reader around a configured assembler; NAL units are limited to its byte limit.
    pub fn with_assembler(assembler: AccessUnitAssembler) -> AnnexBAccessUnits {
        AnnexBAccessUnits {
            splitter: AnnexBSplitter::new(assembler.max_nal()),
            assembler,
            ended: false,
            flushed: false,
        }
    }

    /// Appends stream bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.splitter.push(data);
    }

    /// Marks the end of the stream.
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
    fn suffix_sei_stays_and_aud_splits() {
        let mut a = AccessUnitAssembler::new();
        assert!(a.push(&crate::AUD).unwrap().is_none());
        assert!(a.push(&[0x2a, 0x01, 0x80]).unwrap().is_none()); // CRA
        assert!(a.push(&[0x50, 0x01, 0x05]).unwrap().is_none()); // suffix SEI
        let au = a.push(&crate::AUD).unwrap().unwrap();
        assert!(au.keyframe);
        assert_eq!(au.nal_count, 3);
        // A slice segment that is not the first of its picture never splits.
        assert!(a.push(&[0x02, 0x01, 0x80]).unwrap().is_none());
        assert!(a.push(&[0x02, 0x01, 0x40]).unwrap().is_none());
        assert_eq!(a.flush().unwrap().nal_count, 3);
        assert!(a.push(&[0x02]).unwrap().is_none());
        assert!(a.flush().is_none());
    }
}
