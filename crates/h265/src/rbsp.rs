//! A bit reader that names the syntax element on every error.

use std::borrow::Cow;

use weir_media::bits::BitReader;
use weir_media::nal::remove_emulation_prevention;

use crate::error::{Error, Result};

pub(crate) struct Rbsp<'a> {
    pub(crate) r: BitReader<'a>,
    pub(crate) structure: &'static str,
}

/// Strips the emulation-prevention bytes of a NAL payload (after its header).
pub(crate) fn payload(nal: &[u8], header_len: usize) -> Cow<'_, [u8]> {
    remove_emulation_prevention(nal.get(header_len..).unwrap_or(&[]))
}

impl<'a> Rbsp<'a> {
    pub(crate) fn new(data: &'a [u8], structure: &'static str) -> Rbsp<'a> {
        Rbsp {
            r: BitReader::new(data),
            structure,
        }
    }

    fn wrap(&self, field: &'static str) -> impl FnOnce(weir_media::Error) -> Error {
        let structure = self.structure;
        move |source| Error::Syntax {
            structure,
            field,
            source,
        }
    }

    pub(crate) fn u(&mut self, n: u32, field: &'static str) -> Result<u32> {
        let w = self.wrap(field);
        self.r.read_u32(n).map_err(w)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.u(8, field)? as u8)
    }

    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool> {
        let w = self.wrap(field);
        self.r.read_bit().map_err(w)
    }

    #[allow(dead_code)]
    pub(crate) fn skip(&mut self, n: usize, field: &'static str) -> Result<()> {
        let w = self.wrap(field);
        self.r.skip_bits(n).map_err(w)
    }

    pub(crate) fn ue(&mut self, field: &'static str) -> Result<u32> {
        let w = self.wrap(field);
        self.r.read_ue().map_err(w)
    }

    /// `ue(v)` with an inclusive upper bound.
    pub(crate) fn ue_max(&mut self, field: &'static str, max: u32) -> Result<u32> {
        let v = self.ue(field)?;
        if v > max {
            return Err(self.range(field, i64::from(v), 0, i64::from(max)));
        }
        Ok(v)
    }

    pub(crate) fn se(&mut self, field: &'static str) -> Result<i32> {
        let w = self.wrap(field);
        self.r.read_se().map_err(w)
    }

    /// `se(v)` with inclusive bounds.
    pub(crate) fn se_range(&mut self, field: &'static str, min: i32, max: i32) -> Result<i32> {
        let v = self.se(field)?;
        if v < min || v > max {
            return Err(self.range(field, i64::from(v), i64::from(min), i64::from(max)));
        }
        Ok(v)
    }

    pub(crate) fn range(&self, field: &'static str, value: i64, min: i64, max: i64) -> Error {
        Error::OutOfRange {
            structure: self.structure,
            field,
            value,
            min,
            max,
        }
    }

    #[allow(dead_code)]
    pub(crate) fn more_rbsp_data(&self) -> bool {
        self.r.more_rbsp_data()
    }
}
