//! Picture parameter set (H.265 7.3.2.3), up to the extension flags.

use crate::error::Result;
use crate::nalu::NalType;
use crate::rbsp::{payload, Rbsp};
use crate::sps::{check_type, skip_scaling_list_data};

/// Tile layout of a PPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tiles {
    /// `num_tile_columns_minus1 + 1`.
    pub columns: u32,
    /// `num_tile_rows_minus1 + 1`.
    pub rows: u32,
    /// `uniform_spacing_flag`.
    pub uniform_spacing: bool,
    /// `column_width_minus1 + 1` for all columns but the last (empty when uniform).
    pub column_widths: Vec<u32>,
    /// `row_height_minus1 + 1` for all rows but the last (empty when uniform).
    pub row_heights: Vec<u32>,
    /// `loop_filter_across_tiles_enabled_flag`.
    pub loop_filter_across_tiles: bool,
}

/// A parsed picture parameter set: the fields slice-header parsing, hvcC and packetizers need.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pps {
    /// `pps_pic_parameter_set_id` (0–63).
    pub id: u8,
    /// `pps_seq_parameter_set_id` (0–15).
    pub sps_id: u8,
    /// `dependent_slice_segments_enabled_flag`.
    pub dependent_slice_segments_enabled: bool,
    /// `output_flag_present_flag`.
    pub output_flag_present: bool,
    /// `num_extra_slice_header_bits`.
    pub num_extra_slice_header_bits: u8,
    /// `sign_data_hiding_enabled_flag`.
    pub sign_data_hiding_enabled: bool,
    /// `cabac_init_present_flag`.
    pub cabac_init_present: bool,
    /// `num_ref_idx_l0_default_active_minus1 + 1`.
    pub num_ref_idx_l0_default_active: u32,
    /// `num_ref_idx_l1_default_active_minus1 + 1`.
    pub num_ref_idx_l1_default_active: u32,
    /// `init_qp_minus26`.
    pub init_qp_minus26: i32,
    /// `constrained_intra_pred_flag`.
    pub constrained_intra_pred: bool,
    /// `transform_skip_enabled_flag`.
    pub transform_skip_enabled: bool,
    /// `diff_cu_qp_delta_depth` when `cu_qp_delta_enabled_flag`.
    pub cu_qp_delta_depth: Option<u32>,
    /// `pps_cb_qp_offset`.
    pub cb_qp_offset: i32,
    /// `pps_cr_qp_offset`.
    pub cr_qp_offset: i32,
    /// `pps_slice_chroma_qp_offsets_present_flag`.
    pub slice_chroma_qp_offsets_present: bool,
    /// `weighted_pred_flag`.
    pub weighted_pred: bool,
    /// `weighted_bipred_flag`.
    pub weighted_bipred: bool,
    /// `transquant_bypass_enabled_flag`.
    pub transquant_bypass_enabled: bool,
    /// Tiles when `tiles_enabled_flag`.
    pub tiles: Option<Tiles>,
    /// `entropy_coding_sync_enabled_flag` (wavefront parallel processing).
    pub entropy_coding_sync_enabled: bool,
    /// `pps_loop_filter_across_slices_enabled_flag`.
    pub loop_filter_across_slices_enabled: bool,
    /// `deblocking_filter_control_present_flag`.
    pub deblocking_filter_control_present: bool,
    /// `deblocking_filter_override_enabled_flag`.
    pub deblocking_filter_override_enabled: bool,
    /// `pps_deblocking_filter_disabled_flag`.
    pub deblocking_filter_disabled: bool,
    /// `pps_scaling_list_data_present_flag`.
    pub scaling_list_data_present: bool,
    /// `lists_modification_present_flag`.
    pub lists_modification_present: bool,
    /// `log2_parallel_merge_level_minus2 + 2`.
    pub log2_parallel_merge_level: u32,
    /// `slice_segment_header_extension_present_flag`.
    pub slice_segment_header_extension_present: bool,
}

impl Pps {
    /// Parses a PPS NAL unit (two-byte header included).
    ///
    /// # Errors
    /// [`crate::Error::WrongNalType`], [`crate::Error::Syntax`] or [`crate::Error::OutOfRange`].
    pub fn parse(nal: &[u8]) -> Result<Pps> {
        check_type(nal, NalType::PPS, "PPS")?;
        let rbsp = payload(nal, 2);
        let mut r = Rbsp::new(&rbsp, "PPS");
        let id = r.ue_max("pps_pic_parameter_set_id", 63)? as u8;
        let sps_id = r.ue_max("pps_seq_parameter_set_id", 15)? as u8;
        let dependent_slice_segments_enabled = r.flag("dependent_slice_segments_enabled_flag")?;
        let output_flag_present = r.flag("output_flag_present_flag")?;
        let num_extra_slice_header_bits = r.u(3, "num_extra_slice_header_bits")? as u8;
        let sign_data_hiding_enabled = r.flag("sign_data_hiding_enabled_flag")?;
        let cabac_init_present = r.flag("cabac_init_present_flag")?;
        let num_ref_idx_l0_default_active =
            r.ue_max("num_ref_idx_l0_default_active_minus1", 14)? + 1;
        let num_ref_idx_l1_default_active =
            r.ue_max("num_ref_idx_l1_default_active_minus1", 14)? + 1;
        let init_qp_minus26 = r.se_range("init_qp_minus26", -26 - 48, 25)?;
        let constrained_intra_pred = r.flag("constrained_intra_pred_flag")?;
        let transform_skip_enabled = r.flag("transform_skip_enabled_flag")?;
        let cu_qp_delta_depth = if r.flag("cu_qp_delta_enabled_flag")? {
            Some(r.ue_max("diff_cu_qp_delta_depth", 3)?)
        } else {
            None
        };
        let cb_qp_offset = r.se_range("pps_cb_qp_offset", -12, 12)?;
        let cr_qp_offset = r.se_range("pps_cr_qp_offset", -12, 12)?;
        let slice_chroma_qp_offsets_present = r.flag("pps_slice_chroma_qp_offsets_present_flag")?;
        let weighted_pred = r.flag("weighted_pred_flag")?;
        let weighted_bipred = r.flag("weighted_bipred_flag")?;
        let transquant_bypass_enabled = r.flag("transquant_bypass_enabled_flag")?;
        let tiles_enabled = r.flag("tiles_enabled_flag")?;
        let entropy_coding_sync_enabled = r.flag("entropy_coding_sync_enabled_flag")?;
        let mut tiles = None;
        if tiles_enabled {
            // Level 6.2 allows at most 20 columns and 22 rows.
            let columns = r.ue_max("num_tile_columns_minus1", 19)? + 1;
            let rows = r.ue_max("num_tile_rows_minus1", 21)? + 1;
            let uniform_spacing = r.flag("uniform_spacing_flag")?;
            let mut column_widths = Vec::new();
            let mut row_heights = Vec::new();
            if !uniform_spacing {
                for _ in 1..columns {
                    column_widths.push(r.ue_max("column_width_minus1", u32::MAX - 1)? + 1);
                }
                for _ in 1..rows {
                    row_heights.push(r.ue_max("row_height_minus1", u32::MAX - 1)? + 1);
                }
            }
            let loop_filter_across_tiles = r.flag("loop_filter_across_tiles_enabled_flag")?;
            tiles = Some(Tiles {
                columns,
                rows,
                uniform_spacing,
                column_widths,
                row_heights,
                loop_filter_across_tiles,
            });
        }
        let loop_filter_across_slices_enabled =
            r.flag("pps_loop_filter_across_slices_enabled_flag")?;
        let deblocking_filter_control_present = r.flag("deblocking_filter_control_present_flag")?;
        let mut deblocking_filter_override_enabled = false;
        let mut deblocking_filter_disabled = false;
        if deblocking_filter_control_present {
            deblocking_filter_override_enabled =
                r.flag("deblocking_filter_override_enabled_flag")?;
            deblocking_filter_disabled = r.flag("pps_deblocking_filter_disabled_flag")?;
            if !deblocking_filter_disabled {
                r.se_range("pps_beta_offset_div2", -6, 6)?;
                r.se_range("pps_tc_offset_div2", -6, 6)?;
            }
        }
        let scaling_list_data_present = r.flag("pps_scaling_list_data_present_flag")?;
        if scaling_list_data_present {
            skip_scaling_list_data(&mut r)?;
        }
        let lists_modification_present = r.flag("lists_modification_present_flag")?;
        let log2_parallel_merge_level = r.ue_max("log2_parallel_merge_level_minus2", 4)? + 2;
        let slice_segment_header_extension_present =
            r.flag("slice_segment_header_extension_present_flag")?;
        Ok(Pps {
            id,
            sps_id,
            dependent_slice_segments_enabled,
            output_flag_present,
            num_extra_slice_header_bits,
            sign_data_hiding_enabled,
            cabac_init_present,
            num_ref_idx_l0_default_active,
            num_ref_idx_l1_default_active,
            init_qp_minus26,
            constrained_intra_pred,
            transform_skip_enabled,
            cu_qp_delta_depth,
            cb_qp_offset,
            cr_qp_offset,
            slice_chroma_qp_offsets_present,
            weighted_pred,
            weighted_bipred,
            transquant_bypass_enabled,
            tiles,
            entropy_coding_sync_enabled,
            loop_filter_across_slices_enabled,
            deblocking_filter_control_present,
            deblocking_filter_override_enabled,
            deblocking_filter_disabled,
            scaling_list_data_present,
            lists_modification_present,
            log2_parallel_merge_level,
            slice_segment_header_extension_present,
        })
    }

    /// hvcC `parallelismType` implied by this PPS (14496-15 8.3.3.1.2): 0 mixed, 1 slices,
    /// 2 tiles, 3 wavefront.
    pub fn parallelism_type(&self) -> u8 {
        match (self.entropy_coding_sync_enabled, self.tiles.is_some()) {
            (true, true) => 0,
            (true, false) => 3,
            (false, true) => 2,
            (false, false) => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn x265_pps() {
        let p = Pps::parse(&[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40]).unwrap();
        assert_eq!((p.id, p.sps_id), (0, 0));
        assert!(p.sign_data_hiding_enabled);
        assert!(matches!(
            Pps::parse(&[0x44, 0x01]),
            Err(Error::Syntax { .. })
        ));
    }
}
