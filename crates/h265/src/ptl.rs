//! `profile_tier_level()` (H.265 7.3.3) and `hrd_parameters()` (E.2.2).

use crate::error::Result;
use crate::rbsp::Rbsp;

/// A profile description: the general one or a sub-layer's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// `profile_space` (2 bits).
    pub profile_space: u8,
    /// `tier_flag`: false Main tier, true High tier.
    pub tier_flag: bool,
    /// `profile_idc` (5 bits): 1 Main, 2 Main 10, 3 Main Still Picture, 4 range extensions, …
    pub profile_idc: u8,
    /// `profile_compatibility_flag[0..32]`, flag j in bit `31 - j`.
    pub compatibility_flags: u32,
    /// The 48 bits from `progressive_source_flag` through `inbld_flag`/reserved bit, as
    /// hvcC's `general_constraint_indicator_flags` stores them (in the low 48 bits).
    pub constraint_indicator_flags: u64,
}

impl Profile {
    /// `progressive_source_flag`.
    pub fn progressive_source(&self) -> bool {
        self.constraint_indicator_flags & (1 << 47) != 0
    }
    /// `interlaced_source_flag`.
    pub fn interlaced_source(&self) -> bool {
        self.constraint_indicator_flags & (1 << 46) != 0
    }
    /// `frame_only_constraint_flag`.
    pub fn frame_only_constraint(&self) -> bool {
        self.constraint_indicator_flags & (1 << 44) != 0
    }
    /// `profile_compatibility_flag[j]`.
    pub fn compatible_with(&self, j: u8) -> bool {
        j < 32 && self.compatibility_flags & (1 << (31 - u32::from(j))) != 0
    }

    /// The profile in effect: `profile_idc`, or when that is 0 the lowest compatible one.
    pub fn effective_idc(&self) -> u8 {
        if self.profile_idc != 0 {
            return self.profile_idc;
        }
        (1..32).find(|&j| self.compatible_with(j)).unwrap_or(0)
    }

    /// The profile name as ffmpeg/ffprobe prints it.
    pub fn name(&self) -> &'static str {
        match self.effective_idc() {
            1 => "Main",
            2 => "Main 10",
            3 => "Main Still Picture",
            4 => "Rext",
            9 => "SCC",
            _ => "unknown",
        }
    }

    fn read(r: &mut Rbsp<'_>) -> Result<Profile> {
        Ok(Profile {
            profile_space: r.u(2, "profile_space")? as u8,
            tier_flag: r.flag("tier_flag")?,
            profile_idc: r.u(5, "profile_idc")? as u8,
            compatibility_flags: r.u(32, "profile_compatibility_flags")?,
            constraint_indicator_flags: (u64::from(r.u(32, "constraint_indicator_flags")?) << 16)
                | u64::from(r.u(16, "constraint_indicator_flags")?),
        })
    }
}

/// Profile and level of one temporal sub-layer, each when signalled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubLayerPtl {
    /// The sub-layer profile (`sub_layer_profile_present_flag`).
    pub profile: Option<Profile>,
    /// `sub_layer_level_idc` (`sub_layer_level_present_flag`).
    pub level_idc: Option<u8>,
}

/// `profile_tier_level(1, maxNumSubLayersMinus1)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileTierLevel {
    /// The general profile.
    pub general: Profile,
    /// `general_level_idc` (30 × level, e.g. 93 for 3.1, 120 for 4).
    pub general_level_idc: u8,
    /// Sub-layers 0..maxNumSubLayersMinus1.
    pub sub_layers: Vec<SubLayerPtl>,
}

impl ProfileTierLevel {
    pub(crate) fn read(r: &mut Rbsp<'_>, max_sub_layers_minus1: u8) -> Result<ProfileTierLevel> {
        let general = Profile::read(r)?;
        let general_level_idc = r.u8("general_level_idc")?;
        let n = usize::from(max_sub_layers_minus1);
        let mut flags = [(false, false); 8];
        for f in flags.iter_mut().take(n) {
            *f = (
                r.flag("sub_layer_profile_present_flag")?,
                r.flag("sub_layer_level_present_flag")?,
            );
        }
        if n > 0 {
            for _ in n..8 {
                r.u(2, "reserved_zero_2bits")?;
            }
        }
        let mut sub_layers = Vec::with_capacity(n);
        for &(p, l) in flags.iter().take(n) {
            let profile = if p { Some(Profile::read(r)?) } else { None };
            let level_idc = if l {
                Some(r.u8("sub_layer_level_idc")?)
            } else {
                None
            };
            sub_layers.push(SubLayerPtl { profile, level_idc });
        }
        Ok(ProfileTierLevel {
            general,
            general_level_idc,
            sub_layers,
        })
    }
}

/// `hrd_parameters()` (E.2.2), summarised: the fields later syntax depends on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hrd {
    /// `nal_hrd_parameters_present_flag`.
    pub nal_hrd: bool,
    /// `vcl_hrd_parameters_present_flag`.
    pub vcl_hrd: bool,
    /// `sub_pic_hrd_params_present_flag`.
    pub sub_pic_hrd_params: bool,
    /// `au_cpb_removal_delay_length_minus1 + 1`.
    pub au_cpb_removal_delay_length: u8,
    /// `dpb_output_delay_length_minus1 + 1`.
    pub dpb_output_delay_length: u8,
    /// Per sub-layer: `elemental_duration_in_tc_minus1 + 1` when the picture rate is fixed.
    pub fixed_pic_rate_elemental_duration: Vec<Option<u32>>,
}

pub(crate) fn read_hrd(r: &mut Rbsp<'_>, common: bool, max_sub_layers_minus1: u8) -> Result<Hrd> {
    let mut h = Hrd {
        au_cpb_removal_delay_length: 24,
        dpb_output_delay_length: 24,
        ..Hrd::default()
    };
    if common {
        h.nal_hrd = r.flag("nal_hrd_parameters_present_flag")?;
        h.vcl_hrd = r.flag("vcl_hrd_parameters_present_flag")?;
        if h.nal_hrd || h.vcl_hrd {
            h.sub_pic_hrd_params = r.flag("sub_pic_hrd_params_present_flag")?;
            if h.sub_pic_hrd_params {
                r.u(8, "tick_divisor_minus2")?;
                r.u(5, "du_cpb_removal_delay_increment_length_minus1")?;
                r.flag("sub_pic_cpb_params_in_pic_timing_sei_flag")?;
                r.u(5, "dpb_output_delay_du_length_minus1")?;
            }
            r.u(4, "bit_rate_scale")?;
            r.u(4, "cpb_size_scale")?;
            if h.sub_pic_hrd_params {
                r.u(4, "cpb_size_du_scale")?;
            }
            r.u(5, "initial_cpb_removal_delay_length_minus1")?;
            h.au_cpb_removal_delay_length = r.u(5, "au_cpb_removal_delay_length_minus1")? as u8 + 1;
            h.dpb_output_delay_length = r.u(5, "dpb_output_delay_length_minus1")? as u8 + 1;
        }
    }
    for _ in 0..=max_sub_layers_minus1 {
        let general = r.flag("fixed_pic_rate_general_flag")?;
        let within_cvs = if general {
            true
        } else {
            r.flag("fixed_pic_rate_within_cvs_flag")?
        };
        let mut low_delay = false;
        let mut duration = None;
        if within_cvs {
            duration = Some(r.ue_max("elemental_duration_in_tc_minus1", 2047)? + 1);
        } else {
            low_delay = r.flag("low_delay_hrd_flag")?;
        }
        let cpb_cnt = if low_delay {
            1
        } else {
            r.ue_max("cpb_cnt_minus1", 31)? + 1
        };
        h.fixed_pic_rate_elemental_duration.push(duration);
        let times = u32::from(h.nal_hrd) + u32::from(h.vcl_hrd);
        for _ in 0..times {
            for _ in 0..cpb_cnt {
                r.ue("bit_rate_value_minus1")?;
                r.ue("cpb_size_value_minus1")?;
                if h.sub_pic_hrd_params {
                    r.ue("cpb_size_du_value_minus1")?;
                    r.ue("bit_rate_du_value_minus1")?;
                }
                r.flag("cbr_flag")?;
            }
        }
    }
    Ok(h)
}
