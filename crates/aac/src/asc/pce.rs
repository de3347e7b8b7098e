//! program_config_element() (14496-3 4.4.1.1).

use weir_media::bits::{BitReader, BitWriter};

use crate::error::{Error, Result};

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
