//! The leading fields of a slice header (H.264 7.3.3) — enough to find where a new
//! primary coded picture starts (7.4.1.2.4).

use crate::error::{Error, Result};
use crate::nalu::NalType;
use crate::pps::Pps;
use crate::rbsp::Rbsp;
use crate::sps::Sps;

/// At most this many payload bytes are un-escaped to read a slice header: the fields read
/// here fit in far fewer, and it keeps the cost per slice constant.
const HEADER_BYTES: usize = 128;

/// `slice_type` modulo 5 (Table 7-6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceType {
    /// P slice.
    P,
    /// B slice.
    B,
    /// I slice.
    I,
    /// SP slice.
    Sp,
    /// SI slice.
    Si,
}

/// The first fields of a slice header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SliceHeader {
    /// `first_mb_in_slice`.
    pub first_mb_in_slice: u32,
    /// `slice_type` mod 5.
    pub slice_type: SliceType,
    /// `pic_parameter_set_id`.
    pub pps_id: u8,
    /// `frame_num`.
    pub frame_num: u32,
    /// `field_pic_flag`.
    pub field_pic: bool,
    /// `bottom_field_flag`.
    pub bottom_field: bool,
    /// `idr_pic_id` (IDR slices only, else 0).
    pub idr_pic_id: u32,
    /// `pic_order_cnt_lsb` (POC type 0).
    pub pic_order_cnt_lsb: u32,
    /// `delta_pic_order_cnt_bottom` (POC type 0).
    pub delta_pic_order_cnt_bottom: i32,
    /// `delta_pic_order_cnt[0..2]` (POC type 1).
    pub delta_pic_order_cnt: [i32; 2],
    /// `redundant_pic_cnt` (0 when absent).
    pub redundant_pic_cnt: u32,
    /// `nal_ref_idc` of the NAL unit.
    pub nal_ref_idc: u8,
    /// The NAL unit is an IDR slice.
    pub idr: bool,
    /// `pic_order_cnt_type` of the active SPS.
    pub pic_order_cnt_type: u8,
}

/// Reads `first_mb_in_slice`, `slice_type`, `pic_parameter_set_id` without parameter sets.
///
/// # Errors
/// [`Error::WrongNalType`] unless the unit is a slice (1, 2 or 5), or [`Error::Syntax`].
pub fn slice_start(nal: &[u8]) -> Result<(u32, SliceType, u8)> {
    let rbsp = header_rbsp(nal)?;
    let mut r = Rbsp::new(&rbsp, "slice header");
    read_start(&mut r)
}

fn header_rbsp(nal: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    let t = NalType::from_header(*nal.first().ok_or(Error::BadNalHeader {
        reason: "empty NAL unit",
    })?);
    if !t.is_slice_start() {
        return Err(Error::WrongNalType {
            expected: "slice",
            found: t.as_u8(),
        });
    }
    let end = nal.len().min(HEADER_BYTES + 1);
    Ok(weir_media::nal::remove_emulation_prevention(
        nal.get(1..end).unwrap_or(&[]),
    ))
}

fn read_start(r: &mut Rbsp<'_>) -> Result<(u32, SliceType, u8)> {
    let first_mb = r.ue("first_mb_in_slice")?;
    let st = r.ue_max("slice_type", 9)?;
    let slice_type = match st % 5 {
        0 => SliceType::P,
        1 => SliceType::B,
        2 => SliceType::I,
        3 => SliceType::Sp,
        _ => SliceType::Si,
    };
    let pps_id = r.ue_max("pic_parameter_set_id", 255)? as u8;
    Ok((first_mb, slice_type, pps_id))
}

impl SliceHeader {
    /// Parses the leading slice-header fields. `lookup` maps a PPS id to the PPS and its SPS.
    ///
    /// # Errors
    /// [`Error::WrongNalType`], [`Error::Syntax`], [`Error::Missing`] if `lookup` has no
    /// parameter sets for the slice's PPS id.
    pub fn parse<'p>(
        nal: &[u8],
        lookup: impl FnOnce(u8) -> Option<(&'p Pps, &'p Sps)>,
    ) -> Result<SliceHeader> {
        let rbsp = header_rbsp(nal)?;
        let header = nal.first().copied().unwrap_or(0);
        let mut r = Rbsp::new(&rbsp, "slice header");
        let (first_mb_in_slice, slice_type, pps_id) = read_start(&mut r)?;
        let (pps, sps) = lookup(pps_id).ok_or(Error::Missing {
            what: "PPS/SPS for slice",
        })?;
        let idr = NalType::from_header(header) == NalType::SliceIdr;
        if sps.separate_colour_plane {
            r.u(2, "colour_plane_id")?;
        }
        let frame_num = r.u(u32::from(sps.log2_max_frame_num), "frame_num")?;
        let mut field_pic = false;
        let mut bottom_field = false;
        if !sps.frame_mbs_only {
            field_pic = r.flag("field_pic_flag")?;
            if field_pic {
                bottom_field = r.flag("bottom_field_flag")?;
            }
        }
        let idr_pic_id = if idr {
            r.ue_max("idr_pic_id", 65535)?
        } else {
            0
        };
        let mut pic_order_cnt_lsb = 0;
        let mut delta_pic_order_cnt_bottom = 0;
        let mut delta_pic_order_cnt = [0; 2];
        match sps.pic_order_cnt_type {
            0 => {
                pic_order_cnt_lsb = r.u(
                    u32::from(sps.log2_max_pic_order_cnt_lsb),
                    "pic_order_cnt_lsb",
                )?;
                if pps.bottom_field_pic_order_in_frame_present && !field_pic {
                    delta_pic_order_cnt_bottom = r.se("delta_pic_order_cnt_bottom")?;
                }
            }
            1 if !sps.delta_pic_order_always_zero => {
                delta_pic_order_cnt[0] = r.se("delta_pic_order_cnt[0]")?;
                if pps.bottom_field_pic_order_in_frame_present && !field_pic {
                    delta_pic_order_cnt[1] = r.se("delta_pic_order_cnt[1]")?;
                }
            }
            _ => {}
        }
        let redundant_pic_cnt = if pps.redundant_pic_cnt_present {
            r.ue_max("redundant_pic_cnt", 127)?
        } else {
            0
        };
        Ok(SliceHeader {
            first_mb_in_slice,
            slice_type,
            pps_id,
            frame_num,
            field_pic,
            bottom_field,
            idr_pic_id,
            pic_order_cnt_lsb,
            delta_pic_order_cnt_bottom,
            delta_pic_order_cnt,
            redundant_pic_cnt,
            nal_ref_idc: (header >> 5) & 3,
            idr,
            pic_order_cnt_type: sps.pic_order_cnt_type,
        })
    }

    /// True if a slice with header `self` that follows a slice with header `prev` is the
    /// first VCL NAL unit of a new primary coded picture (7.4.1.2.4).
    pub fn starts_new_picture(&self, prev: &SliceHeader) -> bool {
        if self.redundant_pic_cnt > 0 {
            // Redundant coded pictures belong to the primary picture's access unit.
            return false;
        }
        self.frame_num != prev.frame_num
            || self.pps_id != prev.pps_id
            || self.field_pic != prev.field_pic
            || (self.field_pic && self.bottom_field != prev.bottom_field)
            || (self.nal_ref_idc != prev.nal_ref_idc
                && (self.nal_ref_idc == 0 || prev.nal_ref_idc == 0))
            || (self.pic_order_cnt_type == 0
                && prev.pic_order_cnt_type == 0
                && (self.pic_order_cnt_lsb != prev.pic_order_cnt_lsb
                    || self.delta_pic_order_cnt_bottom != prev.delta_pic_order_cnt_bottom))
            || (self.pic_order_cnt_type == 1
                && prev.pic_order_cnt_type == 1
                && self.delta_pic_order_cnt != prev.delta_pic_order_cnt)
            || self.idr != prev.idr
            || (self.idr && prev.idr && self.idr_pic_id != prev.idr_pic_id)
    }
}
