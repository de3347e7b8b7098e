//! Picture parameter set (H.264 7.3.2.2).

use crate::error::{Error, Result};
use crate::nalu::NalType;
use crate::rbsp::{payload, Rbsp};
use crate::sps::{read_scaling_lists, ScalingList, Sps};

/// `slice_group_map_type` and its parameters (FMO, Baseline/Extended only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SliceGroupMap {
    /// Type 0: interleaved, `run_length_minus1` per group.
    Interleaved(Vec<u32>),
    /// Type 1: dispersed.
    Dispersed,
    /// Type 2: foreground boxes (`top_left`, `bottom_right`) per group but the last.
    Foreground(Vec<(u32, u32)>),
    /// Types 3–5: box-out, raster, wipe, with `slice_group_change_direction_flag` and
    /// `slice_group_change_rate_minus1 + 1`.
    Changing {
        /// 3, 4 or 5.
        map_type: u8,
        /// `slice_group_change_direction_flag`.
        direction: bool,
        /// `slice_group_change_rate_minus1 + 1`.
        rate: u32,
    },
    /// Type 6: explicit `slice_group_id` per map unit.
    Explicit(Vec<u8>),
}

/// A parsed picture parameter set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pps {
    /// `pic_parameter_set_id` (0–255).
    pub id: u8,
    /// `seq_parameter_set_id` (0–31).
    pub sps_id: u8,
    /// `entropy_coding_mode_flag`: true for CABAC.
    pub entropy_coding_mode: bool,
    /// `bottom_field_pic_order_in_frame_present_flag`.
    pub bottom_field_pic_order_in_frame_present: bool,
    /// `num_slice_groups_minus1 + 1`.
    pub num_slice_groups: u32,
    /// The slice group map when `num_slice_groups > 1`.
    pub slice_group_map: Option<SliceGroupMap>,
    /// `num_ref_idx_l0_default_active_minus1 + 1`.
    pub num_ref_idx_l0_default_active: u32,
    /// `num_ref_idx_l1_default_active_minus1 + 1`.
    pub num_ref_idx_l1_default_active: u32,
    /// `weighted_pred_flag`.
    pub weighted_pred: bool,
    /// `weighted_bipred_idc` (0–2).
    pub weighted_bipred_idc: u8,
    /// `pic_init_qp_minus26`.
    pub pic_init_qp_minus26: i32,
    /// `pic_init_qs_minus26`.
    pub pic_init_qs_minus26: i32,
    /// `chroma_qp_index_offset`.
    pub chroma_qp_index_offset: i32,
    /// `deblocking_filter_control_present_flag`.
    pub deblocking_filter_control_present: bool,
    /// `constrained_intra_pred_flag`.
    pub constrained_intra_pred: bool,
    /// `redundant_pic_cnt_present_flag`.
    pub redundant_pic_cnt_present: bool,
    /// `transform_8x8_mode_flag` (High profiles).
    pub transform_8x8_mode: bool,
    /// Picture scaling lists when `pic_scaling_matrix_present_flag` is set.
    pub scaling_lists: Option<Vec<ScalingList>>,
    /// `second_chroma_qp_index_offset` (equals `chroma_qp_index_offset` when absent).
    pub second_chroma_qp_index_offset: i32,
}

impl Pps {
    /// Parses a PPS NAL unit (header included). The PPS scaling lists depend on the SPS's
    /// `chroma_format_idc`; this assumes 4:2:0 (as in every profile but High 4:4:4).
    /// Use [`Pps::parse_with_sps`] when the SPS is known.
    ///
    /// # Errors
    /// [`Error::WrongNalType`], [`Error::Syntax`] or [`Error::OutOfRange`].
    pub fn parse(nal: &[u8]) -> Result<Pps> {
        Pps::parse_with_chroma(nal, 1)
    }

    /// Parses a PPS NAL unit using its SPS for the scaling-list count.
    ///
    /// # Errors
    /// As [`Pps::parse`].
    pub fn parse_with_sps(nal: &[u8], sps: &Sps) -> Result<Pps> {
        Pps::parse_with_chroma(nal, sps.chroma_format_idc)
    }

    fn parse_with_chroma(nal: &[u8], chroma_format_idc: u8) -> Result<Pps> {
        let header = *nal.first().ok_or(Error::BadNalHeader {
            reason: "empty NAL unit",
        })?;
        let t = NalType::from_header(header);
        if t != NalType::Pps {
            return Err(Error::WrongNalType {
                expected: "PPS",
                found: t.as_u8(),
            });
        }
        let rbsp = payload(nal, 1);
        let mut r = Rbsp::new(&rbsp, "PPS");
        let id = r.ue_max("pic_parameter_set_id", 255)? as u8;
        let sps_id = r.ue_max("seq_parameter_set_id", 31)? as u8;
        let entropy_coding_mode = r.flag("entropy_coding_mode_flag")?;
        let bottom_field_pic_order_in_frame_present =
            r.flag("bottom_field_pic_order_in_frame_present_flag")?;
        let num_slice_groups = r.ue_max("num_slice_groups_minus1", 7)? + 1;
        let mut slice_group_map = None;
        if num_slice_groups > 1 {
            let map_type = r.ue_max("slice_group_map_type", 6)? as u8;
            slice_group_map = Some(match map_type {
                0 => {
                    let mut runs = Vec::with_capacity(num_slice_groups as usize);
                    for _ in 0..num_slice_groups {
                        runs.push(r.ue("run_length_minus1")?);
                    }
                    SliceGroupMap::Interleaved(runs)
                }
                1 => SliceGroupMap::Dispersed,
                2 => {
                    let mut boxes = Vec::with_capacity(num_slice_groups as usize);
                    for _ in 1..num_slice_groups {
                        boxes.push((r.ue("top_left")?, r.ue("bottom_right")?));
                    }
                    SliceGroupMap::Foreground(boxes)
                }
                3..=5 => SliceGroupMap::Changing {
                    map_type,
                    direction: r.flag("slice_group_change_direction_flag")?,
                    rate: r.ue_max("slice_group_change_rate_minus1", u32::MAX - 1)? + 1,
                },
                _ => {
                    // Bounded by MAX_MBS_PER_DIMENSION², and by the bits actually present.
                    let units = r.ue_max("pic_size_in_map_units_minus1", 1024 * 1024 - 1)? + 1;
                    let bits = 32 - (num_slice_groups - 1).leading_zeros();
                    if (units as usize).saturating_mul(bits as usize) > r.bits.bits_left() {
                        return Err(r
                            .range(
                                "pic_size_in_map_units_minus1",
                                i64::from(units - 1),
                                0,
                                (r.bits.bits_left() / bits.max(1) as usize) as i64,
                            )
                            .into());
                    }
                    let mut ids = Vec::with_capacity(units as usize);
                    for _ in 0..units {
                        ids.push(r.u(bits, "slice_group_id")? as u8);
                    }
                    SliceGroupMap::Explicit(ids)
                }
            });
        }
        let num_ref_idx_l0_default_active =
            r.ue_max("num_ref_idx_l0_default_active_minus1", 31)? + 1;
        let num_ref_idx_l1_default_active =
            r.ue_max("num_ref_idx_l1_default_active_minus1", 31)? + 1;
        let weighted_pred = r.flag("weighted_pred_flag")?;
        let weighted_bipred_idc = r.u(2, "weighted_bipred_idc")? as u8;
        let pic_init_qp_minus26 = r.se_range("pic_init_qp_minus26", -26 - 48, 25)?;
        let pic_init_qs_minus26 = r.se_range("pic_init_qs_minus26", -26, 25)?;
        let chroma_qp_index_offset = r.se_range("chroma_qp_index_offset", -12, 12)?;
        let deblocking_filter_control_present = r.flag("deblocking_filter_control_present_flag")?;
        let constrained_intra_pred = r.flag("constrained_intra_pred_flag")?;
        let redundant_pic_cnt_present = r.flag("redundant_pic_cnt_present_flag")?;
        let mut transform_8x8_mode = false;
        let mut scaling_lists = None;
        let mut second_chroma_qp_index_offset = chroma_qp_index_offset;
        if r.more_rbsp_data() {
            transform_8x8_mode = r.flag("transform_8x8_mode_flag")?;
            if r.flag("pic_scaling_matrix_present_flag")? {
                let extra = if transform_8x8_mode {
                    if chroma_format_idc == 3 {
                        6
                    } else {
                        2
                    }
                } else {
                    0
                };
                scaling_lists = Some(read_scaling_lists(&mut r, 6 + extra)?);
            }
            second_chroma_qp_index_offset = r.se_range("second_chroma_qp_index_offset", -12, 12)?;
        }
        Ok(Pps {
            id,
            sps_id,
            entropy_coding_mode,
            bottom_field_pic_order_in_frame_present,
            num_slice_groups,
            slice_group_map,
            num_ref_idx_l0_default_active,
            num_ref_idx_l1_default_active,
            weighted_pred,
            weighted_bipred_idc,
            pic_init_qp_minus26,
            pic_init_qs_minus26,
            chroma_qp_index_offset,
            deblocking_filter_control_present,
            constrained_intra_pred,
            redundant_pic_cnt_present,
            transform_8x8_mode,
            scaling_lists,
            second_chroma_qp_index_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x264_baseline_pps() {
        let pps = Pps::parse(&[0x68, 0xcb, 0x83, 0xcb, 0x20]).unwrap();
        assert_eq!(pps.id, 0);
        assert_eq!(pps.sps_id, 0);
        assert!(!pps.entropy_coding_mode);
        assert_eq!(pps.num_slice_groups, 1);
        assert!(pps.deblocking_filter_control_present);
    }

    #[test]
    fn truncated_and_wrong() {
        assert!(matches!(Pps::parse(&[0x68]), Err(Error::Syntax { .. })));
        assert!(matches!(
            Pps::parse(&[0x67, 0]),
            Err(Error::WrongNalType { .. })
        ));
    }
}
