//! Sequence parameter set (H.264 7.3.2.1.1) with VUI (Annex E.1.1).

use crate::error::{Error, Result};
use crate::nalu::NalType;
use crate::rbsp::{payload, Rbsp};

const S: &str = "SPS";

/// One scaling list of an SPS or PPS (7.3.2.1.1.1), as signalled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScalingList {
    /// `*_scaling_list_present_flag` = 0: fall-back rule A/B applies.
    NotPresent,
    /// The list signalled `useDefaultScalingMatrixFlag` (first delta gave 0): the default
    /// matrix of Table 7-3/7-4 applies.
    UseDefault,
    /// Explicit values in the coded (zig-zag) order: 16 for 4x4 lists, 64 for 8x8 lists.
    Explicit(Vec<u8>),
}

/// Reads `scaling_list()` of `size` entries (7.3.2.1.1.1).
pub(crate) fn read_scaling_list(r: &mut Rbsp<'_>, size: usize) -> Result<ScalingList> {
    let mut last: i32 = 8;
    let mut next: i32 = 8;
    let mut values = Vec::with_capacity(size);
    for j in 0..size {
        if next != 0 {
            let delta = r.se_range("delta_scale", -128, 127)?;
            next = (last + delta + 256).rem_euclid(256);
            if j == 0 && next == 0 {
                // useDefaultScalingMatrixFlag: no further deltas are coded.
                return Ok(ScalingList::UseDefault);
            }
        }
        let v = if next == 0 { last } else { next };
        values.push(v as u8);
        last = v;
    }
    Ok(ScalingList::Explicit(values))
}

/// Reads `count` lists: the first six are 4x4 (16 entries), the rest 8x8 (64 entries).
pub(crate) fn read_scaling_lists(r: &mut Rbsp<'_>, count: usize) -> Result<Vec<ScalingList>> {
    let mut lists = Vec::with_capacity(count);
    for i in 0..count {
        if r.flag("scaling_list_present_flag")? {
            lists.push(read_scaling_list(r, if i < 6 { 16 } else { 64 })?);
        } else {
            lists.push(ScalingList::NotPresent);
        }
    }
    Ok(lists)
}

/// The frame cropping rectangle in the units of the SPS syntax (`frame_crop_*_offset`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cropping {
    /// `frame_crop_left_offset`.
    pub left: u32,
    /// `frame_crop_right_offset`.
    pub right: u32,
    /// `frame_crop_top_offset`.
    pub top: u32,
    /// `frame_crop_bottom_offset`.
    pub bottom: u32,
}

/// VUI timing information (E.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// `num_units_in_tick`.
    pub num_units_in_tick: u32,
    /// `time_scale` (Hz).
    pub time_scale: u32,
    /// `fixed_frame_rate_flag`.
    pub fixed_frame_rate: bool,
}

/// HRD parameters (E.1.2), summarised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hrd {
    /// `cpb_cnt_minus1 + 1`.
    pub cpb_count: u32,
    /// `bit_rate_scale`.
    pub bit_rate_scale: u8,
    /// `cpb_size_scale`.
    pub cpb_size_scale: u8,
    /// Per CPB: (`bit_rate_value_minus1`, `cpb_size_value_minus1`, `cbr_flag`).
    pub cpbs: Vec<(u32, u32, bool)>,
    /// `initial_cpb_removal_delay_length_minus1 + 1`.
    pub initial_cpb_removal_delay_length: u8,
    /// `cpb_removal_delay_length_minus1 + 1` (bits of `cpb_removal_delay` in picture timing SEI).
    pub cpb_removal_delay_length: u8,
    /// `dpb_output_delay_length_minus1 + 1`.
    pub dpb_output_delay_length: u8,
    /// `time_offset_length`.
    pub time_offset_length: u8,
}

fn read_hrd(r: &mut Rbsp<'_>) -> Result<Hrd> {
    let cpb_count = r.ue_max("cpb_cnt_minus1", 31)? + 1;
    let bit_rate_scale = r.u(4, "bit_rate_scale")? as u8;
    let cpb_size_scale = r.u(4, "cpb_size_scale")? as u8;
    let mut cpbs = Vec::with_capacity(cpb_count as usize);
    for _ in 0..cpb_count {
        let br = r.ue("bit_rate_value_minus1")?;
        let cs = r.ue("cpb_size_value_minus1")?;
        let cbr = r.flag("cbr_flag")?;
        cpbs.push((br, cs, cbr));
    }
    Ok(Hrd {
        cpb_count,
        bit_rate_scale,
        cpb_size_scale,
        cpbs,
        initial_cpb_removal_delay_length: r.u(5, "initial_cpb_removal_delay_length_minus1")? as u8
            + 1,
        cpb_removal_delay_length: r.u(5, "cpb_removal_delay_length_minus1")? as u8 + 1,
        dpb_output_delay_length: r.u(5, "dpb_output_delay_length_minus1")? as u8 + 1,
        time_offset_length: r.u(5, "time_offset_length")? as u8,
    })
}

/// VUI bitstream restriction (E.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitstreamRestriction {
    /// `motion_vectors_over_pic_boundaries_flag`.
    pub motion_vectors_over_pic_boundaries: bool,
    /// `max_bytes_per_pic_denom`.
    pub max_bytes_per_pic_denom: u32,
    /// `max_bits_per_mb_denom`.
    pub max_bits_per_mb_denom: u32,
    /// `log2_max_mv_length_horizontal`.
    pub log2_max_mv_length_horizontal: u32,
    /// `log2_max_mv_length_vertical`.
    pub log2_max_mv_length_vertical: u32,
    /// `max_num_reorder_frames`: frames that may precede any frame in decoding order and
    /// follow it in output order (0 = no reordering, i.e. no B-frame delay).
    pub max_num_reorder_frames: u32,
    /// `max_dec_frame_buffering`: DPB size the stream needs, in frames.
    pub max_dec_frame_buffering: u32,
}

/// Video usability information (Annex E.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vui {
    /// `aspect_ratio_idc` (0 when not signalled; 255 = explicit `sar`).
    pub aspect_ratio_idc: u8,
    /// Sample aspect ratio (width, height): explicit for idc 255, from Table E-1 otherwise.
    pub sar: Option<(u16, u16)>,
    /// `overscan_appropriate_flag`, when signalled.
    pub overscan_appropriate: Option<bool>,
    /// `video_format` (default 5, unspecified).
    pub video_format: u8,
    /// `video_full_range_flag`.
    pub video_full_range: bool,
    /// (`colour_primaries`, `transfer_characteristics`, `matrix_coefficients`), when signalled.
    pub colour_description: Option<(u8, u8, u8)>,
    /// (`chroma_sample_loc_type_top_field`, `…_bottom_field`), when signalled.
    pub chroma_loc: Option<(u32, u32)>,
    /// Timing information.
    pub timing: Option<Timing>,
    /// NAL HRD parameters.
    pub nal_hrd: Option<Hrd>,
    /// VCL HRD parameters.
    pub vcl_hrd: Option<Hrd>,
    /// `low_delay_hrd_flag` (only meaningful with HRD parameters).
    pub low_delay_hrd: bool,
    /// `pic_struct_present_flag`.
    pub pic_struct_present: bool,
    /// Bitstream restriction.
    pub bitstream_restriction: Option<BitstreamRestriction>,
}

/// Table E-1 sample aspect ratios for `aspect_ratio_idc` 1..=16.
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

/// Sample aspect ratio for a Table E-1 `aspect_ratio_idc` (1..=16), shared with H.265.
pub(crate) fn table_sar(idc: u8) -> Option<(u16, u16)> {
    SAR_TABLE
        .get(usize::from(idc))
        .copied()
        .filter(|s| s.0 != 0)
}

fn read_vui(r: &mut Rbsp<'_>, v: &mut Vui) -> Result<()> {
    *v = Vui {
        video_format: 5,
        ..Vui::default()
    };
    if r.flag("aspect_ratio_info_present_flag")? {
        v.aspect_ratio_idc = r.u8("aspect_ratio_idc")?;
        v.sar = if v.aspect_ratio_idc == 255 {
            Some((r.u(16, "sar_width")? as u16, r.u(16, "sar_height")? as u16))
        } else {
            table_sar(v.aspect_ratio_idc)
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
                r.u8("matrix_coefficients")?,
            ));
        }
    }
    if r.flag("chroma_loc_info_present_flag")? {
        v.chroma_loc = Some((
            r.ue_max("chroma_sample_loc_type_top_field", 5)?,
            r.ue_max("chroma_sample_loc_type_bottom_field", 5)?,
        ));
    }
    if r.flag("timing_info_present_flag")? {
        v.timing = Some(Timing {
            num_units_in_tick: r.u(32, "num_units_in_tick")?,
            time_scale: r.u(32, "time_scale")?,
            fixed_frame_rate: r.flag("fixed_frame_rate_flag")?,
        });
    }
    if r.flag("nal_hrd_parameters_present_flag")? {
        v.nal_hrd = Some(read_hrd(r)?);
    }
    if r.flag("vcl_hrd_parameters_present_flag")? {
        v.vcl_hrd = Some(read_hrd(r)?);
    }
    if v.nal_hrd.is_some() || v.vcl_hrd.is_some() {
        v.low_delay_hrd = r.flag("low_delay_hrd_flag")?;
    }
    v.pic_struct_present = r.flag("pic_struct_present_flag")?;
    if r.flag("bitstream_restriction_flag")? {
        v.bitstream_restriction = Some(BitstreamRestriction {
            motion_vectors_over_pic_boundaries: r
                .flag("motion_vectors_over_pic_boundaries_flag")?,
            max_bytes_per_pic_denom: r.ue_max("max_bytes_per_pic_denom", 16)?,
            max_bits_per_mb_denom: r.ue_max("max_bits_per_mb_denom", 16)?,
            log2_max_mv_length_horizontal: r.ue_max("log2_max_mv_length_horizontal", 16)?,
            log2_max_mv_length_vertical: r.ue_max("log2_max_mv_length_vertical", 16)?,
            max_num_reorder_frames: r.ue_max("max_num_reorder_frames", 16)?,
            max_dec_frame_buffering: r.ue_max("max_dec_frame_buffering", 16)?,
        });
    }
    Ok(())
}

/// A parsed sequence parameter set.
///
/// ```
/// use weir_h264::Sps;
/// // 320x240 Constrained Baseline, level 1.3, as x264 writes it (25 fps timing).
/// let nal = [0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00,
///            0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80];
/// let sps = Sps::parse(&nal).unwrap();
/// assert_eq!((sps.width(), sps.height()), (320, 240));
/// assert_eq!(sps.profile_name(), "Constrained Baseline");
/// assert_eq!(sps.fps(), Some(25.0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sps {
    /// `profile_idc`.
    pub profile_idc: u8,
    /// The byte after `profile_idc`: `constraint_set0_flag` (MSB) … `constraint_set5_flag`,
    /// then two reserved bits. This is avcC's `profile_compatibility`.
    pub constraint_flags: u8,
    /// `level_idc` (10 × level, e.g. 31 for 3.1; 9 or 11 with `constraint_set3` for 1b).
    pub level_idc: u8,
    /// `seq_parameter_set_id` (0–31).
    pub id: u8,
    /// `chroma_format_idc`: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    /// `separate_colour_plane_flag`.
    pub separate_colour_plane: bool,
    /// Luma bit depth (`bit_depth_luma_minus8 + 8`).
    pub bit_depth_luma: u8,
    /// Chroma bit depth (`bit_depth_chroma_minus8 + 8`).
    pub bit_depth_chroma: u8,
    /// `qpprime_y_zero_transform_bypass_flag`.
    pub qpprime_y_zero_transform_bypass: bool,
    /// The sequence scaling lists (6 4x4 then 2 or 6 8x8) when
    /// `seq_scaling_matrix_present_flag` is set.
    pub scaling_lists: Option<Vec<ScalingList>>,
    /// `log2_max_frame_num_minus4 + 4`: bits of `frame_num` in slice headers.
    pub log2_max_frame_num: u8,
    /// `pic_order_cnt_type` (0–2).
    pub pic_order_cnt_type: u8,
    /// `log2_max_pic_order_cnt_lsb_minus4 + 4` (POC type 0 only; 0 otherwise).
    pub log2_max_pic_order_cnt_lsb: u8,
    /// `delta_pic_order_always_zero_flag` (POC type 1).
    pub delta_pic_order_always_zero: bool,
    /// `offset_for_non_ref_pic` (POC type 1).
    pub offset_for_non_ref_pic: i32,
    /// `offset_for_top_to_bottom_field` (POC type 1).
    pub offset_for_top_to_bottom_field: i32,
    /// `offset_for_ref_frame[]` (POC type 1).
    pub offset_for_ref_frame: Vec<i32>,
    /// `max_num_ref_frames`.
    pub max_num_ref_frames: u32,
    /// `gaps_in_frame_num_value_allowed_flag`.
    pub gaps_in_frame_num_allowed: bool,
    /// `pic_width_in_mbs_minus1 + 1`.
    pub pic_width_in_mbs: u32,
    /// `pic_height_in_map_units_minus1 + 1`.
    pub pic_height_in_map_units: u32,
    /// `frame_mbs_only_flag` (false: the stream may contain field pictures / MBAFF).
    pub frame_mbs_only: bool,
    /// `mb_adaptive_frame_field_flag`.
    pub mb_adaptive_frame_field: bool,
    /// `direct_8x8_inference_flag`.
    pub direct_8x8_inference: bool,
    /// `frame_cropping_flag` and offsets.
    pub cropping: Option<Cropping>,
    /// VUI parameters, when present.
    pub vui: Option<Vui>,
    /// The VUI ended early or held an invalid value; `vui` keeps the fields read before
    /// that point (timing and restrictions are all-or-nothing).
    pub vui_truncated: bool,
    width: u32,
    height: u32,
}

/// Profiles whose SPS carries `chroma_format_idc` and the following high-profile fields
/// (7.3.2.1.1).
pub fn is_high_profile(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// Upper bound on `pic_width_in_mbs` / `pic_height_in_map_units` (16384 luma samples),
/// well above level 6.2 (8192x4320) yet keeping every size computation small.
pub const MAX_MBS_PER_DIMENSION: u32 = 1024;

impl Sps {
    /// Parses an SPS NAL unit (header byte included, emulation prevention not yet removed).
    ///
    /// # Errors
    /// [`Error::WrongNalType`] if it is not type 7, [`Error::Syntax`] if it is truncated,
    /// [`Error::OutOfRange`] for values outside the ranges of 7.4.2.1.1 (or
    /// [`MAX_MBS_PER_DIMENSION`]), [`Error::BadCropping`] if the crop exceeds the picture.
    pub fn parse(nal: &[u8]) -> Result<Sps> {
        let header = *nal.first().ok_or(Error::BadNalHeader {
            reason: "empty NAL unit",
        })?;
        let t = NalType::from_header(header);
        if t != NalType::Sps {
            return Err(Error::WrongNalType {
                expected: "SPS",
                found: t.as_u8(),
            });
        }
        let rbsp = payload(nal, 1);
        Sps::parse_rbsp(&rbsp)
    }

    /// Parses `seq_parameter_set_data()` from an RBSP (no NAL header, no emulation
    /// prevention bytes).
    ///
    /// # Errors
    /// As [`Sps::parse`].
    pub fn parse_rbsp(rbsp: &[u8]) -> Result<Sps> {
        let mut r = Rbsp::new(rbsp, S);
        let profile_idc = r.u8("profile_idc")?;
        let constraint_flags = r.u8("constraint_set_flags")?;
        let level_idc = r.u8("level_idc")?;
        let id = r.ue_max("seq_parameter_set_id", 31)? as u8;
        let mut chroma_format_idc = 1;
        let mut separate_colour_plane = false;
        let mut bit_depth_luma = 8;
        let mut bit_depth_chroma = 8;
        let mut qpprime_y_zero_transform_bypass = false;
        let mut scaling_lists = None;
        if is_high_profile(profile_idc) {
            chroma_format_idc = r.ue_max("chroma_format_idc", 3)? as u8;
            if chroma_format_idc == 3 {
                separate_colour_plane = r.flag("separate_colour_plane_flag")?;
            }
            bit_depth_luma = r.ue_max("bit_depth_luma_minus8", 6)? as u8 + 8;
            bit_depth_chroma = r.ue_max("bit_depth_chroma_minus8", 6)? as u8 + 8;
            qpprime_y_zero_transform_bypass = r.flag("qpprime_y_zero_transform_bypass_flag")?;
            if r.flag("seq_scaling_matrix_present_flag")? {
                let count = if chroma_format_idc != 3 { 8 } else { 12 };
                scaling_lists = Some(read_scaling_lists(&mut r, count)?);
            }
        }
        let log2_max_frame_num = r.ue_max("log2_max_frame_num_minus4", 12)? as u8 + 4;
        let pic_order_cnt_type = r.ue_max("pic_order_cnt_type", 2)? as u8;
        let mut log2_max_pic_order_cnt_lsb = 0;
        let mut delta_pic_order_always_zero = false;
        let mut offset_for_non_ref_pic = 0;
        let mut offset_for_top_to_bottom_field = 0;
        let mut offset_for_ref_frame = Vec::new();
        match pic_order_cnt_type {
            0 => {
                log2_max_pic_order_cnt_lsb =
                    r.ue_max("log2_max_pic_order_cnt_lsb_minus4", 12)? as u8 + 4;
            }
            1 => {
                delta_pic_order_always_zero = r.flag("delta_pic_order_always_zero_flag")?;
                offset_for_non_ref_pic =
                    r.se_range("offset_for_non_ref_pic", i32::MIN + 1, i32::MAX)?;
                offset_for_top_to_bottom_field =
                    r.se_range("offset_for_top_to_bottom_field", i32::MIN + 1, i32::MAX)?;
                let n = r.ue_max("num_ref_frames_in_pic_order_cnt_cycle", 255)?;
                offset_for_ref_frame.reserve(n as usize);
                for _ in 0..n {
                    offset_for_ref_frame.push(r.se_range(
                        "offset_for_ref_frame",
                        i32::MIN + 1,
                        i32::MAX,
                    )?);
                }
            }
            _ => {}
        }
        let max_num_ref_frames = r.ue_max("max_num_ref_frames", 16)?;
        let gaps_in_frame_num_allowed = r.flag("gaps_in_frame_num_value_allowed_flag")?;
        let pic_width_in_mbs = r.ue_max("pic_width_in_mbs_minus1", MAX_MBS_PER_DIMENSION - 1)? + 1;
        let pic_height_in_map_units =
            r.ue_max("pic_height_in_map_units_minus1", MAX_MBS_PER_DIMENSION - 1)? + 1;
        let frame_mbs_only = r.flag("frame_mbs_only_flag")?;
        let mb_adaptive_frame_field = if frame_mbs_only {
            false
        } else {
            r.flag("mb_adaptive_frame_field_flag")?
        };
        let direct_8x8_inference = r.flag("direct_8x8_inference_flag")?;
        let cropping = if r.flag("frame_cropping_flag")? {
            Some(Cropping {
                left: r.ue("frame_crop_left_offset")?,
                right: r.ue("frame_crop_right_offset")?,
                top: r.ue("frame_crop_top_offset")?,
                bottom: r.ue("frame_crop_bottom_offset")?,
            })
        } else {
            None
        };
        let mut vui_truncated = false;
        let vui = if r.flag("vui_parameters_present_flag")? {
            {
                let mut v = Vui::default();
                if let Err(e) = read_vui(&mut r, &mut v) {
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

        // Picture size (7-13 .. 7-20): all terms are bounded, so u64 cannot overflow.
        let field_factor: u64 = if frame_mbs_only { 1 } else { 2 };
        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            chroma_format_idc
        };
        let (sub_w, sub_h): (u64, u64) = match chroma_format_idc {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let (crop_unit_x, crop_unit_y) = if chroma_array_type == 0 {
            (1, field_factor)
        } else {
            (sub_w, sub_h * field_factor)
        };
        let coded_w = u64::from(pic_width_in_mbs) * 16;
        let coded_h = field_factor * u64::from(pic_height_in_map_units) * 16;
        let c = cropping.unwrap_or_default();
        let crop_w = crop_unit_x * (u64::from(c.left) + u64::from(c.right));
        let crop_h = crop_unit_y * (u64::from(c.top) + u64::from(c.bottom));
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
            profile_idc,
            constraint_flags,
            level_idc,
            id,
            chroma_format_idc,
            separate_colour_plane,
            bit_depth_luma,
            bit_depth_chroma,
            qpprime_y_zero_transform_bypass,
            scaling_lists,
            log2_max_frame_num,
            pic_order_cnt_type,
            log2_max_pic_order_cnt_lsb,
            delta_pic_order_always_zero,
            offset_for_non_ref_pic,
            offset_for_top_to_bottom_field,
            offset_for_ref_frame,
            max_num_ref_frames,
            gaps_in_frame_num_allowed,
            pic_width_in_mbs,
            pic_height_in_map_units,
            frame_mbs_only,
            mb_adaptive_frame_field,
            direct_8x8_inference,
            cropping,
            vui,
            vui_truncated,
            width: (coded_w - crop_w) as u32,
            height: (coded_h - crop_h) as u32,
        })
    }

    /// Displayed width in luma samples (coded width minus cropping).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Displayed height in luma samples (coded frame height minus cropping).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// `constraint_setN_flag` for N in 0..=5.
    pub fn constraint_set(&self, n: u8) -> bool {
        n < 6 && self.constraint_flags & (0x80 >> n) != 0
    }

    /// `ChromaArrayType` (7.4.2.1.1): 0 with separate colour planes, else `chroma_format_idc`.
    pub fn chroma_array_type(&self) -> u8 {
        if self.separate_colour_plane {
            0
        } else {
            self.chroma_format_idc
        }
    }

    /// Frame rate as a fraction (`time_scale`, `2 × num_units_in_tick`) from VUI timing
    /// (E.2.1: one frame is two field ticks), reduced. `None` without timing information
    /// (or zero values), or if the reduced denominator does not fit a `u32`.
    pub fn frame_rate(&self) -> Option<(u32, u32)> {
        let t = self.vui.as_ref()?.timing?;
        if t.num_units_in_tick == 0 || t.time_scale == 0 {
            return None;
        }
        let num = u64::from(t.time_scale);
        let den = 2 * u64::from(t.num_units_in_tick);
        let g = gcd(num, den);
        Some(((num / g) as u32, u32::try_from(den / g).ok()?))
    }

    /// Frames per second from VUI timing (`time_scale / (2 × num_units_in_tick)`).
    pub fn fps(&self) -> Option<f64> {
        let t = self.vui.as_ref()?.timing?;
        if t.num_units_in_tick == 0 || t.time_scale == 0 {
            return None;
        }
        Some(f64::from(t.time_scale) / (2.0 * f64::from(t.num_units_in_tick)))
    }

    /// `MaxDpbFrames` from the level limits (Table A-1, A.3.1 h), at most 16.
    pub fn max_dpb_frames(&self) -> u32 {
        let level_1b = self.level_idc == 9
            || (self.level_idc == 11
                && self.constraint_set(3)
                && matches!(self.profile_idc, 66 | 77 | 88));
        let max_dpb_mbs: u32 = if level_1b {
            396
        } else {
            match self.level_idc {
                10 => 396,
                11 => 900,
                12 | 13 | 20 => 2376,
                21 => 4752,
                22 | 30 => 8100,
                31 => 18000,
                32 => 20480,
                40 | 41 => 32768,
                42 => 34816,
                50 => 110400,
                51 | 52 => 184320,
                _ => 696320,
            }
        };
        let frame_mbs = self.pic_width_in_mbs
            * self.pic_height_in_map_units
            * if self.frame_mbs_only { 1 } else { 2 };
        (max_dpb_mbs / frame_mbs.max(1)).min(16)
    }

    /// An intra-only profile (`constraint_set3_flag` with High 10/4:2:2/4:4:4 or CAVLC 4:4:4).
    pub fn is_intra_profile(&self) -> bool {
        self.constraint_set(3) && matches!(self.profile_idc, 44 | 86 | 100 | 110 | 122 | 244)
    }

    /// `max_num_reorder_frames`: the VUI value, else the E.2.1 inference (0 for intra
    /// profiles, for Baseline, which has no B slices, and without reference frames;
    /// `MaxDpbFrames` from the level otherwise).
    pub fn max_num_reorder_frames(&self) -> u32 {
        if let Some(b) = self.vui.as_ref().and_then(|v| v.bitstream_restriction) {
            return b.max_num_reorder_frames;
        }
        // Without references there is nothing to reorder against (ffmpeg infers 0 too).
        if self.is_intra_profile() || self.profile_idc == 66 || self.max_num_ref_frames == 0 {
            0
        } else {
            self.max_dpb_frames()
        }
    }

    /// `max_dec_frame_buffering`: the VUI value, else `MaxDpbFrames` (0 for intra profiles).
    pub fn max_dec_frame_buffering(&self) -> u32 {
        if let Some(b) = self.vui.as_ref().and_then(|v| v.bitstream_restriction) {
            return b.max_dec_frame_buffering;
        }
        if self.is_intra_profile() {
            0
        } else {
            self.max_dpb_frames()
        }
    }

    /// True if pictures may be output in a different order than decoded (B-frames with
    /// reordering), so PTS and DTS can differ.
    pub fn has_b_frames(&self) -> bool {
        self.max_num_reorder_frames() > 0
    }

    /// The reorder depth and frame rate to time this stream with (see
    /// [`weir_media::reorder::VideoTiming`]): depth = the VUI `max_num_reorder_frames` when
    /// the SPS carries a `bitstream_restriction` (E.2.1), else 0 for Baseline / Constrained
    /// Baseline (66: no B slices) and CAVLC 4:4:4 Intra (44), else
    /// [`ASSUMED_H264_REORDER_DEPTH`](weir_media::reorder::ASSUMED_H264_REORDER_DEPTH) —
    /// [`weir_media::reorder::h264_reorder_depth`]. Unlike
    /// [`max_num_reorder_frames`](Self::max_num_reorder_frames) it does not infer the depth
    /// from the level's `MaxDpbFrames` (up to 16), which would delay nothing but stretch
    /// `pts - dts` far beyond what real encoders use. fps from [`fps`](Self::fps).
    pub fn video_timing(&self) -> weir_media::reorder::VideoTiming {
        let declared = self
            .vui
            .as_ref()
            .and_then(|v| v.bitstream_restriction.as_ref())
            .map(|b| b.max_num_reorder_frames);
        weir_media::reorder::VideoTiming::new(
            weir_media::reorder::h264_reorder_depth(self.profile_idc, declared),
            self.fps(),
        )
    }

    /// The profile's name as ffmpeg/ffprobe prints it.
    pub fn profile_name(&self) -> &'static str {
        let cs1 = self.constraint_set(1);
        let cs3 = self.constraint_set(3);
        match self.profile_idc {
            66 if cs1 => "Constrained Baseline",
            66 => "Baseline",
            77 => "Main",
            88 => "Extended",
            100 => "High",
            110 if cs3 => "High 10 Intra",
            110 => "High 10",
            122 if cs3 => "High 4:2:2 Intra",
            122 => "High 4:2:2",
            244 if cs3 => "High 4:4:4 Intra",
            244 => "High 4:4:4 Predictive",
            44 => "CAVLC 4:4:4",
            118 => "Multiview High",
            128 => "Stereo High",
            83 => "Scalable Baseline",
            86 => "Scalable High",
            _ => "unknown",
        }
    }

    /// The level as a number (`level_idc / 10`; 1b as 1.1 when so signalled is reported as 1.1).
    pub fn level(&self) -> f64 {
        f64::from(self.level_idc) / 10.0
    }
}

pub(crate) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_media::bits::BitWriter;

    #[test]
    fn scaling_list_default_and_explicit() {
        // delta -8 as the first value gives next = 0: use default.
        let mut w = BitWriter::new();
        w.write_se(-8);
        w.write_rbsp_trailing_bits();
        let b = w.finish();
        let mut r = Rbsp::new(&b, S);
        assert_eq!(
            read_scaling_list(&mut r, 16).unwrap(),
            ScalingList::UseDefault
        );

        // All-flat 16: first delta +8, then zero deltas 15 times… encoded as delta 8 then
        // one delta that makes next = 0 (repeat last for the rest).
        let mut w = BitWriter::new();
        w.write_se(8); // 16
        w.write_se(-16); // next = 0 → repeat 16
        w.write_rbsp_trailing_bits();
        let b = w.finish();
        let mut r = Rbsp::new(&b, S);
        assert_eq!(
            read_scaling_list(&mut r, 16).unwrap(),
            ScalingList::Explicit(vec![16; 16])
        );
    }

    #[test]
    fn truncated_vui_keeps_core_fields() {
        let nal = [
            0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
            0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
        ];
        let full = Sps::parse(&nal).unwrap();
        assert!(!full.vui_truncated);
        assert!(full.vui.as_ref().unwrap().bitstream_restriction.is_some());
        // Cut inside the bitstream restriction: size and timing survive.
        let cut = Sps::parse(&nal[..21]).unwrap();
        assert!(cut.vui_truncated);
        assert_eq!(
            (cut.width(), cut.height(), cut.fps()),
            (320, 240, Some(25.0))
        );
        assert!(cut.vui.unwrap().bitstream_restriction.is_none());
    }

    #[test]
    fn rejects_wrong_type_and_truncation() {
        assert!(matches!(
            Sps::parse(&[0x68, 0xce]),
            Err(Error::WrongNalType { found: 8, .. })
        ));
        assert!(matches!(
            Sps::parse(&[0x67, 0x42]),
            Err(Error::Syntax { .. })
        ));
        assert!(Sps::parse(&[]).is_err());
    }
}
