//! Sequence parameter set (H.265 7.3.2.2) with VUI (Annex E.2.1).

use crate::error::{Error, Result};
use crate::nalu::{NalHeader, NalType};
use crate::ptl::{read_hrd, Hrd, ProfileTierLevel};
use crate::rbsp::{payload, Rbsp};

pub(crate) fn check_type(nal: &[u8], want: NalType, name: &'static str) -> Result<NalHeader> {
    let h = NalHeader::parse(nal).ok_or(Error::BadNalHeader {
        reason: "NAL unit shorter than its two-byte header",
    })?;
    if nal.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(Error::BadNalHeader {
            reason: "forbidden_zero_bit is set",
        });
    }
    if h.nal_type != want {
        return Err(Error::WrongNalType {
            expected: name,
            found: h.nal_type.0,
        });
    }
    Ok(h)
}

/// DPB and reordering limits of one temporal sub-layer (7.4.3.1 / 7.4.3.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubLayerOrdering {
    /// `max_dec_pic_buffering_minus1 + 1`: DPB size in pictures.
    pub max_dec_pic_buffering: u32,
    /// `max_num_reorder_pics`: pictures that may precede any picture in decoding order and
    /// follow it in output order.
    pub max_num_reorder_pics: u32,
    /// `max_latency_increase_plus1`.
    pub max_latency_increase_plus1: u32,
}

impl SubLayerOrdering {
    /// Reads the ordering info loop; entries below the signalled one inherit it.
    pub(crate) fn read_all(
        r: &mut Rbsp<'_>,
        max_sub_layers_minus1: u8,
        flag_name: &'static str,
    ) -> Result<Vec<SubLayerOrdering>> {
        let all = r.flag(flag_name)?;
        let n = usize::from(max_sub_layers_minus1) + 1;
        let first = if all { 0 } else { n - 1 };
        let mut v = vec![SubLayerOrdering::default(); n];
        for e in v.iter_mut().skip(first) {
            let buffering = r.ue_max("max_dec_pic_buffering_minus1", 15)? + 1;
            let reorder = r.ue_max("max_num_reorder_pics", 15)?;
            let latency = r.ue_max("max_latency_increase_plus1", u32::MAX - 1)?;
            *e = SubLayerOrdering {
                max_dec_pic_buffering: buffering,
                max_num_reorder_pics: reorder.min(buffering.saturating_sub(1)),
                max_latency_increase_plus1: latency,
            };
        }
        if let Some(&last) = v.last() {
            for e in v.iter_mut().take(first) {
                *e = last;
            }
        }
        Ok(v)
    }
}

/// A short-term reference picture set (7.3.7 / 7.4.8), resolved to POC deltas.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StRefPicSet {
    /// `DeltaPocS0`: negative POC deltas, closest first.
    pub delta_poc_s0: Vec<i32>,
    /// `UsedByCurrPicS0`.
    pub used_s0: Vec<bool>,
    /// `DeltaPocS1`: positive POC deltas, closest first.
    pub delta_poc_s1: Vec<i32>,
    /// `UsedByCurrPicS1`.
    pub used_s1: Vec<bool>,
}

impl StRefPicSet {
    /// `NumDeltaPocs`.
    pub fn num_delta_pocs(&self) -> usize {
        self.delta_poc_s0.len() + self.delta_poc_s1.len()
    }

    /// Reads `st_ref_pic_set(idx)` as it appears in an SPS (`idx < num_short_term_ref_pic_sets`,
    /// so `delta_idx_minus1` is absent), given the sets before it.
    pub(crate) fn read(
        r: &mut Rbsp<'_>,
        idx: usize,
        previous: &[StRefPicSet],
    ) -> Result<StRefPicSet> {
        const MAX: usize = 16;
        let inter = idx != 0 && r.flag("inter_ref_pic_set_prediction_flag")?;
        if inter {
            let reference = previous.get(idx - 1).ok_or(Error::OutOfRange {
                structure: "SPS",
                field: "RefRpsIdx",
                value: idx as i64 - 1,
                min: 0,
                max: previous.len() as i64 - 1,
            })?;
            let sign = r.flag("delta_rps_sign")?;
            let abs = r.ue_max("abs_delta_rps_minus1", (1 << 15) - 1)? as i32 + 1;
            let delta_rps = if sign { -abs } else { abs };
            let n = reference.num_delta_pocs();
            let mut used = Vec::with_capacity(n + 1);
            let mut use_delta = Vec::with_capacity(n + 1);
            for _ in 0..=n {
                let u = r.flag("used_by_curr_pic_flag")?;
                let d = if u { true } else { r.flag("use_delta_flag")? };
                used.push(u);
                use_delta.push(d);
            }
            let neg = reference.delta_poc_s0.len();
            let mut out = StRefPicSet::default();
            // (7-61)
            for (j, &d) in reference.delta_poc_s1.iter().enumerate().rev() {
                let dpoc = d + delta_rps;
                if dpoc < 0 && use_delta[neg + j] {
                    out.delta_poc_s0.push(dpoc);
                    out.used_s0.push(used[neg + j]);
                }
            }
            if delta_rps < 0 && use_delta[n] {
                out.delta_poc_s0.push(delta_rps);
                out.used_s0.push(used[n]);
            }
            for (j, &d) in reference.delta_poc_s0.iter().enumerate() {
                let dpoc = d + delta_rps;
                if dpoc < 0 && use_delta[j] {
                    out.delta_poc_s0.push(dpoc);
                    out.used_s0.push(used[j]);
                }
            }
            // (7-62)
            for (j, &d) in reference.delta_poc_s0.iter().enumerate().rev() {
                let dpoc = d + delta_rps;
                if dpoc > 0 && use_delta[j] {
                    out.delta_poc_s1.push(dpoc);
                    out.used_s1.push(used[j]);
                }
            }
            if delta_rps > 0 && use_delta[n] {
                out.delta_poc_s1.push(delta_rps);
                out.used_s1.push(used[n]);
            }
            for (j, &d) in reference.delta_poc_s1.iter().enumerate() {
                let dpoc = d + delta_rps;
                if dpoc > 0 && use_delta[neg + j] {
                    out.delta_poc_s1.push(dpoc);
                    out.used_s1.push(used[neg + j]);
                }
            }
            if out.num_delta_pocs() > MAX {
                return Err(r
                    .range("NumDeltaPocs", out.num_delta_pocs() as i64, 0, MAX as i64)
                    .into());
            }
            Ok(out)
        } else {
            let neg = r.ue_max("num_negative_pics", MAX as u32)? as usize;
            let pos = r.ue_max("num_positive_pics", (MAX - neg) as u32)? as usize;
            let mut out = StRefPicSet::default();
            let mut poc = 0i32;
            for _ in 0..neg {
                poc -= r.ue_max("delta_poc_s0_minus1", (1 << 15) - 1)? as i32 + 1;
                out.delta_poc_s0.push(poc);
                out.used_s0.push(r.flag("used_by_curr_pic_s0_flag")?);
            }
            poc = 0;
            for _ in 0..pos {
                poc += r.ue_max("delta_poc_s1_minus1", (1 << 15) - 1)? as i32 + 1;
                out.delta_poc_s1.push(poc);
                out.used_s1.push(r.flag("used_by_curr_pic_s1_flag")?);
            }
            Ok(out)
        }
    }
}

/// Reads `scaling_list_data()` (7.3.4), consuming exactly its bits. The lists are not
/// kept: nothing downstream of a bitstream parser needs the dequantisation matrices.
pub(crate) fn skip_scaling_list_data(r: &mut Rbsp<'_>) -> Result<()> {
    for size_id in 0..4u32 {
        let step = if size_id == 3 { 3 } else { 1 };
        let mut matrix_id = 0;
        while matrix_id < 6 {
            if !r.flag("scaling_list_pred_mode_flag")? {
                r.ue_max("scaling_list_pred_matrix_id_delta", matrix_id / step)?;
            } else {
                let coef_num = 64.min(1u32 << (4 + (size_id << 1)));
                if size_id > 1 {
                    r.se_range("scaling_list_dc_coef_minus8", -7, 247)?;
                }
                for _ in 0..coef_num {
                    r.se_range("scaling_list_delta_coef", -128, 127)?;
                }
            }
            matrix_id += step;
        }
    }
    Ok(())
}

/// A window in luma-sample units of the chroma format (`conf_win_*_offset`, 7.4.3.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Left offset.
    pub left: u32,
    /// Right offset.
    pub right: u32,
    /// Top offset.
    pub top: u32,
    /// Bottom offset.
    pub bottom: u32,
}

/// VUI timing (E.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// `vui_num_units_in_tick`.
    pub num_units_in_tick: u32,
    /// `vui_time_scale` (Hz).
    pub time_scale: u32,
    /// `vui_num_ticks_poc_diff_one_minus1 + 1` when `vui_poc_proportional_to_timing_flag`.
    pub num_ticks_poc_diff_one: Option<u32>,
}

/// Video usability information (E.2.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vui {
    /// `aspect_ratio_idc` (0 when absent).
    pub aspect_ratio_idc: u8,
    /// Sample aspect ratio (explicit for idc 255, Table E-1 otherwise).
    pub sar: Option<(u16, u16)>,
    /// `overscan_appropriate_flag` when signalled.
    pub overscan_appropriate: Option<bool>,
    /// `video_format` (5 when absent).
    pub video_format: u8,
    /// `video_full_range_flag`.
    pub video_full_range: bool,
    /// (`colour_primaries`, `transfer_characteristics`, `matrix_coeffs`) when signalled.
    pub colour_description: Option<(u8, u8, u8)>,
    /// Chroma sample location types (top, bottom) when signalled.
    pub chroma_loc: Option<(u32, u32)>,
    /// `neutral_chroma_indication_flag`.
    pub neutral_chroma_indication: bool,
    /// `field_seq_flag`: pictures are fields.
    pub field_seq: bool,
    /// `frame_field_info_present_flag`.
    pub frame_field_info_present: bool,
    /// The default display window when signalled.
    pub default_display_window: Option<Window>,
    /// Timing information.
    pub timing: Option<Timing>,
    /// HRD parameters.
    pub hrd: Option<Hrd>,
    /// `min_spatial_segmentation_idc` (0 when no bitstream restriction), used by hvcC.
    pub min_spatial_segmentation_idc: u16,
    /// `bitstream_restriction_flag`.
    pub bitstream_restriction: bool,
}

const SAR_TABLE: [(u16, u16); 17] = [
    (0, 0),
    (1, 1),
    (12, 11),
    (10, 11),
    (16, 11),
    (40, 33),
    (24, 11),
    (20, 11),
    (32, 11),
    (80, 33),
    (18, 11),
    (15, 11),
    (64, 33),
    (160, 99),
    (4, 3),
    (3, 2),
    (2, 1),
];

fn read_vui(r: &mut Rbsp<'_>, v: &mut Vui, max_sub_layers_minus1: u8) -> Result<()> {
    *v = Vui {
        video_format: 5,
        ..Vui::default()
    };
    if r.flag("aspect_ratio_info_present_flag")? {
        v.aspect_ratio_idc = r.u8("aspect_ratio_idc")?;
        v.sar = if v.aspect_ratio_idc == 255 {
            Some((r.u(16, "sar_width")? as u16, r.u(16, "sar_height")? as u16))
        } else {
            SAR_TABLE
                .get(usize::from(v.aspect_ratio_idc))
                .copied()
                .filter(|s| s.0 != 0)
        };
    }
    if r.flag("overscan_info_present_flag")? {
        v.overscan_appropriate = Some(r.flag("overscan_appropriate_flag")?);
    }
    if r.flag("video_signal_type_present_flag")? {
        v.video_format = r.u(3, "video_format")? as u8;
        v.video_full_range = r.flag("video_full_range_flag")?;
        if r.flag("colour_description_present_flag")? {
            v.colour_description = Some((
                r.u8("colour_primaries")?,
                r.u8("transfer_characteristics")?,
                r.u8("matrix_coeffs")?,
            ));
        }
    }
    if r.flag("chroma_loc_info_present_flag")? {
        v.chroma_loc = Some((
            r.ue_max("chroma_sample_loc_type_top_field", 5)?,
            r.ue_max("chroma_sample_loc_type_bottom_field", 5)?,
        ));
    }
    v.neutral_chroma_indication = r.flag("neutral_chroma_indication_flag")?;
    v.field_seq = r.flag("field_seq_flag")?;
    v.frame_field_info_present = r.flag("frame_field_info_present_flag")?;
    if r.flag("default_display_window_flag")? {
        v.default_display_window = Some(Window {
            left: r.ue("def_disp_win_left_offset")?,
            right: r.ue("def_disp_win_right_offset")?,
            top: r.ue("def_disp_win_top_offset")?,
            bottom: r.ue("def_disp_win_bottom_offset")?,
        });
    }
    if r.flag("vui_timing_info_present_flag")? {
        let num_units_in_tick = r.u(32, "vui_num_units_in_tick")?;
        let time_scale = r.u(32, "vui_time_scale")?;
        let num_ticks_poc_diff_one = if r.flag("vui_poc_proportional_to_timing_flag")? {
            Some(r.ue_max("vui_num_ticks_poc_diff_one_minus1", u32::MAX - 1)? + 1)
        } else {
            None
        };
        v.timing = Some(Timing {
            num_units_in_tick,
            time_scale,
            num_ticks_poc_diff_one,
        });
        if r.flag("vui_hrd_parameters_present_flag")? {
            v.hrd = Some(read_hrd(r, true, max_sub_layers_minus1)?);
        }
    }
    if r.flag("bitstream_restriction_flag")? {
        v.bitstream_restriction = true;
        r.flag("tiles_fixed_structure_flag")?;
        r.flag("motion_vectors_over_pic_boundaries_flag")?;
        r.flag("restricted_ref_pic_lists_flag")?;
        v.min_spatial_segmentation_idc = r.ue_max("min_spatial_segmentation_idc", 4095)? as u16;
        r.ue_max("max_bytes_per_pic_denom", 16)?;
        r.ue_max("max_bits_per_min_cu_denom", 16)?;
        r.ue_max("log2_max_mv_length_horizontal", 15)?;
        r.ue_max("log2_max_mv_length_vertical", 15)?;
    }
    Ok(())
}

/// Largest accepted `pic_width_in_luma_samples` / `pic_height_in_luma_samples`: level 6.2
/// allows at most 16888 in either dimension.
pub const MAX_DIMENSION: u32 = 16888;

/// A parsed sequence parameter set (base layer; range/SCC extension flags are not read).
///
/// ```
/// use weir_h265::Sps;
/// // 320x240 Main, level 2, as x265 writes it.
/// let nal = [0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
///     0x00, 0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0xa4, 0x93,
///     0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10];
/// let sps = Sps::parse(&nal).unwrap();
/// assert_eq!((sps.width(), sps.height(), sps.bit_depth_luma), (320, 240, 8));
/// assert_eq!(sps.profile_tier_level.general.name(), "Main");
/// assert_eq!(sps.fps(), Some(25.0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sps {
    /// `sps_video_parameter_set_id`.
    pub vps_id: u8,
    /// `sps_max_sub_layers_minus1 + 1` (1–7).
    pub max_sub_layers: u8,
    /// `sps_temporal_id_nesting_flag`.
    pub temporal_id_nesting: bool,
    /// Profile, tier and level.
    pub profile_tier_level: ProfileTierLevel,
    /// `sps_seq_parameter_set_id` (0–15).
    pub id: u8,
    /// `chroma_format_idc`: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    /// `separate_colour_plane_flag`.
    pub separate_colour_plane: bool,
    /// `pic_width_in_luma_samples`.
    pub pic_width_in_luma_samples: u32,
    /// `pic_height_in_luma_samples`.
    pub pic_height_in_luma_samples: u32,
    /// The conformance window when `conformance_window_flag` is set.
    pub conformance_window: Option<Window>,
    /// `bit_depth_luma_minus8 + 8`.
    pub bit_depth_luma: u8,
    /// `bit_depth_chroma_minus8 + 8`.
    pub bit_depth_chroma: u8,
    /// `log2_max_pic_order_cnt_lsb_minus4 + 4`.
    pub log2_max_pic_order_cnt_lsb: u8,
    /// DPB / reorder limits per sub-layer.
    pub sub_layer_ordering: Vec<SubLayerOrdering>,
    /// `log2_min_luma_coding_block_size_minus3 + 3`.
    pub log2_min_luma_coding_block_size: u8,
    /// `log2_diff_max_min_luma_coding_block_size`.
    pub log2_diff_max_min_luma_coding_block_size: u8,
    /// `log2_min_luma_transform_block_size_minus2 + 2`.
    pub log2_min_luma_transform_block_size: u8,
    /// `log2_diff_max_min_luma_transform_block_size`.
    pub log2_diff_max_min_luma_transform_block_size: u8,
    /// `max_transform_hierarchy_depth_inter`.
    pub max_transform_hierarchy_depth_inter: u8,
    /// `max_transform_hierarchy_depth_intra`.
    pub max_transform_hierarchy_depth_intra: u8,
    /// `scaling_list_enabled_flag`.
    pub scaling_list_enabled: bool,
    /// `sps_scaling_list_data_present_flag`.
    pub scaling_list_data_present: bool,
    /// `amp_enabled_flag`.
    pub amp_enabled: bool,
    /// `sample_adaptive_offset_enabled_flag`.
    pub sample_adaptive_offset_enabled: bool,
    /// `pcm_enabled_flag`.
    pub pcm_enabled: bool,
    /// Short-term reference picture sets.
    pub short_term_ref_pic_sets: Vec<StRefPicSet>,
    /// `long_term_ref_pics_present_flag`.
    pub long_term_ref_pics_present: bool,
    /// `num_long_term_ref_pics_sps`.
    pub num_long_term_ref_pics_sps: u32,
    /// `sps_temporal_mvp_enabled_flag`.
    pub temporal_mvp_enabled: bool,
    /// `strong_intra_smoothing_enabled_flag`.
    pub strong_intra_smoothing_enabled: bool,
    /// VUI when present.
    pub vui: Option<Vui>,
    /// The VUI ended early or held an invalid value; `vui` keeps the fields read before
    /// that point (timing, HRD and restrictions are all-or-nothing).
    pub vui_truncated: bool,
    width: u32,
    height: u32,
}

impl Sps {
    /// Parses an SPS NAL unit (two-byte header included).
    ///
    /// # Errors
    /// [`Error::WrongNalType`], [`Error::Syntax`] (truncated), [`Error::OutOfRange`],
    /// [`Error::BadCropping`], [`Error::Unsupported`] for a multi-layer extension SPS
    /// (`nuh_layer_id > 0` with `sps_ext_or_max_sub_layers_minus1 == 7`).
    pub fn parse(nal: &[u8]) -> Result<Sps> {
        let header = check_type(nal, NalType::SPS, "SPS")?;
        let rbsp = payload(nal, 2);
        let mut r = Rbsp::new(&rbsp, "SPS");
        let vps_id = r.u(4, "sps_video_parameter_set_id")? as u8;
        let max_sub_layers_minus1 = r.u(3, "sps_max_sub_layers_minus1")? as u8;
        if header.layer_id > 0 && max_sub_layers_minus1 == 7 {
            return Err(Error::Unsupported {
                what: "multi-layer extension SPS (MultiLayerExtSpsFlag)",
            });
        }
        if max_sub_layers_minus1 > 6 {
            return Err(r
                .range(
                    "sps_max_sub_layers_minus1",
                    i64::from(max_sub_layers_minus1),
                    0,
                    6,
                )
                .into());
        }
        let temporal_id_nesting = r.flag("sps_temporal_id_nesting_flag")?;
        let profile_tier_level = ProfileTierLevel::read(&mut r, max_sub_layers_minus1)?;
        let id = r.ue_max("sps_seq_parameter_set_id", 15)? as u8;
        let chroma_format_idc = r.ue_max("chroma_format_idc", 3)? as u8;
        let separate_colour_plane =
            chroma_format_idc == 3 && r.flag("separate_colour_plane_flag")?;
        let pic_width_in_luma_samples = r.ue_max("pic_width_in_luma_samples", MAX_DIMENSION)?;
        let pic_height_in_luma_samples = r.ue_max("pic_height_in_luma_samples", MAX_DIMENSION)?;
        let conformance_window = if r.flag("conformance_window_flag")? {
            Some(Window {
                left: r.ue("conf_win_left_offset")?,
                right: r.ue("conf_win_right_offset")?,
                top: r.ue("conf_win_top_offset")?,
                bottom: r.ue("conf_win_bottom_offset")?,
            })
        } else {
            None
        };
        let bit_depth_luma = r.ue_max("bit_depth_luma_minus8", 8)? as u8 + 8;
        let bit_depth_chroma = r.ue_max("bit_depth_chroma_minus8", 8)? as u8 + 8;
        let log2_max_pic_order_cnt_lsb =
            r.ue_max("log2_max_pic_order_cnt_lsb_minus4", 12)? as u8 + 4;
        let sub_layer_ordering = SubLayerOrdering::read_all(
            &mut r,
            max_sub_layers_minus1,
            "sps_sub_layer_ordering_info_present_flag",
        )?;
        let log2_min_luma_coding_block_size =
            r.ue_max("log2_min_luma_coding_block_size_minus3", 3)? as u8 + 3;
        let log2_diff_max_min_luma_coding_block_size =
            r.ue_max("log2_diff_max_min_luma_coding_block_size", 3)? as u8;
        let log2_min_luma_transform_block_size =
            r.ue_max("log2_min_luma_transform_block_size_minus2", 3)? as u8 + 2;
        let log2_diff_max_min_luma_transform_block_size =
            r.ue_max("log2_diff_max_min_luma_transform_block_size", 3)? as u8;
        let max_transform_hierarchy_depth_inter =
            r.ue_max("max_transform_hierarchy_depth_inter", 4)? as u8;
        let max_transform_hierarchy_depth_intra =
            r.ue_max("max_transform_hierarchy_depth_intra", 4)? as u8;
        let scaling_list_enabled = r.flag("scaling_list_enabled_flag")?;
        let mut scaling_list_data_present = false;
        if scaling_list_enabled {
            scaling_list_data_present = r.flag("sps_scaling_list_data_present_flag")?;
            if scaling_list_data_present {
                skip_scaling_list_data(&mut r)?;
            }
        }
        let amp_enabled = r.flag("amp_enabled_flag")?;
        let sample_adaptive_offset_enabled = r.flag("sample_adaptive_offset_enabled_flag")?;
        let pcm_enabled = r.flag("pcm_enabled_flag")?;
        if pcm_enabled {
            r.u(4, "pcm_sample_bit_depth_luma_minus1")?;
            r.u(4, "pcm_sample_bit_depth_chroma_minus1")?;
            r.ue_max("log2_min_pcm_luma_coding_block_size_minus3", 2)?;
            r.ue_max("log2_diff_max_min_pcm_luma_coding_block_size", 3)?;
            r.flag("pcm_loop_filter_disabled_flag")?;
        }
        let num_sets = r.ue_max("num_short_term_ref_pic_sets", 64)? as usize;
        let mut short_term_ref_pic_sets = Vec::with_capacity(num_sets);
        for i in 0..num_sets {
            let set = StRefPicSet::read(&mut r, i, &short_term_ref_pic_sets)?;
            short_term_ref_pic_sets.push(set);
        }
        let long_term_ref_pics_present = r.flag("long_term_ref_pics_present_flag")?;
        let mut num_long_term_ref_pics_sps = 0;
        if long_term_ref_pics_present {
            num_long_term_ref_pics_sps = r.ue_max("num_long_term_ref_pics_sps", 32)?;
            for _ in 0..num_long_term_ref_pics_sps {
                r.u(
                    u32::from(log2_max_pic_order_cnt_lsb),
                    "lt_ref_pic_poc_lsb_sps",
                )?;
                r.flag("used_by_curr_pic_lt_sps_flag")?;
            }
        }
        let temporal_mvp_enabled = r.flag("sps_temporal_mvp_enabled_flag")?;
        let strong_intra_smoothing_enabled = r.flag("strong_intra_smoothing_enabled_flag")?;
        let mut vui_truncated = false;
        let vui = if r.flag("vui_parameters_present_flag")? {
            {
                let mut v = Vui::default();
                if let Err(e) = read_vui(&mut r, &mut v, max_sub_layers_minus1) {
                    // Quirk: some encoders truncate the VUI (ffmpeg warns "Overread VUI" and
                    // keeps going). Keep the fields read so far; the core SPS is intact.
                    tracing::debug!(error = %e, "truncated or malformed VUI, keeping the fields read");
                    vui_truncated = true;
                }
                Some(v)
            }
        } else {
            None
        };

        // Conformance cropping window (7-4): offsets are in chroma sample units.
        let (sub_w, sub_h): (u64, u64) = match (chroma_format_idc, separate_colour_plane) {
            (1, _) => (2, 2),
            (2, _) => (2, 1),
            _ => (1, 1),
        };
        let w = conformance_window.unwrap_or_default();
        let crop_w = sub_w * (u64::from(w.left) + u64::from(w.right));
        let crop_h = sub_h * (u64::from(w.top) + u64::from(w.bottom));
        let coded_w = u64::from(pic_width_in_luma_samples);
        let coded_h = u64::from(pic_height_in_luma_samples);
        if crop_w >= coded_w {
            return Err(Error::BadCropping {
                dimension: "width",
                coded: coded_w,
                crop: crop_w,
            });
        }
        if crop_h >= coded_h {
            return Err(Error::BadCropping {
                dimension: "height",
                coded: coded_h,
                crop: crop_h,
            });
        }
        Ok(Sps {
            vps_id,
            max_sub_layers: max_sub_layers_minus1 + 1,
            temporal_id_nesting,
            profile_tier_level,
            id,
            chroma_format_idc,
            separate_colour_plane,
            pic_width_in_luma_samples,
            pic_height_in_luma_samples,
            conformance_window,
            bit_depth_luma,
            bit_depth_chroma,
            log2_max_pic_order_cnt_lsb,
            sub_layer_ordering,
            log2_min_luma_coding_block_size,
            log2_diff_max_min_luma_coding_block_size,
            log2_min_luma_transform_block_size,
            log2_diff_max_min_luma_transform_block_size,
            max_transform_hierarchy_depth_inter,
            max_transform_hierarchy_depth_intra,
            scaling_list_enabled,
            scaling_list_data_present,
            amp_enabled,
            sample_adaptive_offset_enabled,
            pcm_enabled,
            short_term_ref_pic_sets,
            long_term_ref_pics_present,
            num_long_term_ref_pics_sps,
            temporal_mvp_enabled,
            strong_intra_smoothing_enabled,
            vui,
            vui_truncated,
            width: (coded_w - crop_w) as u32,
            height: (coded_h - crop_h) as u32,
        })
    }

    /// Output width: `pic_width_in_luma_samples` minus the conformance window.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Output height: `pic_height_in_luma_samples` minus the conformance window.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// `general_profile_idc`.
    pub fn profile_idc(&self) -> u8 {
        self.profile_tier_level.general.profile_idc
    }

    /// `general_level_idc` (30 × level).
    pub fn level_idc(&self) -> u8 {
        self.profile_tier_level.general_level_idc
    }

    /// Frame rate (`vui_time_scale`, `vui_num_units_in_tick`), reduced; `None` without VUI
    /// timing. (Unlike H.264 there is no factor 2: one tick is one picture.)
    pub fn frame_rate(&self) -> Option<(u32, u32)> {
        let t = self.vui.as_ref()?.timing?;
        reduce(t.time_scale, t.num_units_in_tick)
    }

    /// Frames per second from VUI timing.
    pub fn fps(&self) -> Option<f64> {
        let (n, d) = self.frame_rate()?;
        Some(f64::from(n) / f64::from(d))
    }

    /// `sps_max_num_reorder_pics` of the highest sub-layer.
    pub fn max_num_reorder_pics(&self) -> u32 {
        self.sub_layer_ordering
            .last()
            .map_or(0, |o| o.max_num_reorder_pics)
    }

    /// The reorder depth and frame rate to time this stream with (see
    /// [`weir_media::reorder::VideoTiming`]): depth = `sps_max_num_reorder_pics` of the
    /// highest sub-layer (7.4.3.2.1; always present in an H.265 SPS, so never assumed) —
    /// [`weir_media::reorder::h265_reorder_depth`]; fps from [`fps`](Self::fps).
    pub fn video_timing(&self) -> weir_media::reorder::VideoTiming {
        weir_media::reorder::VideoTiming::new(
            weir_media::reorder::h265_reorder_depth(self.max_num_reorder_pics()),
            self.fps(),
        )
    }

    /// `sps_max_dec_pic_buffering_minus1 + 1` of the highest sub-layer.
    pub fn max_dec_pic_buffering(&self) -> u32 {
        self.sub_layer_ordering
            .last()
            .map_or(0, |o| o.max_dec_pic_buffering)
    }

    /// True if pictures may be output in another order than decoded (B-frame reordering).
    pub fn has_b_frames(&self) -> bool {
        self.max_num_reorder_pics() > 0
    }

    /// `min_spatial_segmentation_idc` from the VUI bitstream restriction (0 when absent).
    pub fn min_spatial_segmentation_idc(&self) -> u16 {
        self.vui
            .as_ref()
            .map_or(0, |v| v.min_spatial_segmentation_idc)
    }
}

pub(crate) fn reduce(num: u32, den: u32) -> Option<(u32, u32)> {
    if num == 0 || den == 0 {
        return None;
    }
    let (mut a, mut b) = (num, den);
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    Some((num / a, den / a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inter_rps_prediction_derivation() {
        use weir_media::bits::BitWriter;
        let mut w = BitWriter::new();
        // Set 0: S0 = [-1, -3], S1 = [2], all used.
        w.write_ue(2);
        w.write_ue(1);
        for d in [0, 1] {
            w.write_ue(d);
            w.write_bit(true);
        }
        w.write_ue(1);
        w.write_bit(true);
        // Set 1: predicted from set 0 with deltaRps = -1, every entry used.
        w.write_bit(true);
        w.write_bit(true);
        w.write_ue(0);
        for _ in 0..4 {
            w.write_bit(true);
        }
        // Set 2: predicted from set 1 with deltaRps = +2; drop the -4 entry (used 0,
        // use_delta 0), keep the others unused-but-kept (used 0, use_delta 1).
        w.write_bit(true);
        w.write_bit(false);
        w.write_ue(1);
        // j indexes S0 (-1, -2, -4) then S1 (1), then the deltaRps entry itself.
        for (used, use_delta) in [
            (true, true),
            (false, true),
            (false, false),
            (true, true),
            (true, true),
        ] {
            w.write_bit(used);
            if !used {
                w.write_bit(use_delta);
            }
        }
        w.write_rbsp_trailing_bits();
        let b = w.finish();
        let mut r = Rbsp::new(&b, "SPS");
        let mut sets = Vec::new();
        for i in 0..3 {
            let s = StRefPicSet::read(&mut r, i, &sets).unwrap();
            sets.push(s);
        }
        assert_eq!(sets[1].delta_poc_s0, vec![-1, -2, -4]);
        assert_eq!(sets[1].delta_poc_s1, vec![1]);
        // Set 2 (7-61/7-62): -1+2 = 1, -2+2 = 0 (dropped: zero), -4 (use_delta 0),
        // 1+2 = 3, deltaRps itself = 2.
        assert_eq!(sets[2].delta_poc_s0, Vec::<i32>::new());
        assert_eq!(sets[2].delta_poc_s1, vec![1, 2, 3]);
        assert_eq!(sets[2].used_s1, vec![true, true, true]);
    }

    #[test]
    fn truncated_vui_keeps_core_fields() {
        let nal = [
            0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
            0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b,
            0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10,
        ];
        assert!(!Sps::parse(&nal).unwrap().vui_truncated);
        let cut = Sps::parse(&nal[..34]).unwrap();
        assert!(cut.vui_truncated);
        assert_eq!((cut.width(), cut.height()), (320, 240));
        assert_eq!(cut.fps(), None);
    }

    #[test]
    fn rejects_short_and_wrong() {
        assert!(matches!(
            Sps::parse(&[0x42]),
            Err(Error::BadNalHeader { .. })
        ));
        assert!(matches!(
            Sps::parse(&[0x40, 0x01, 0]),
            Err(Error::WrongNalType { found: 32, .. })
        ));
        assert!(matches!(
            Sps::parse(&[0x42, 0x01, 0x01]),
            Err(Error::Syntax { .. })
        ));
        assert!(matches!(
            Sps::parse(&[0xc2, 0x01, 0x01]),
            Err(Error::BadNalHeader { .. })
        ));
    }
}
