//! Video parameter set (H.265 7.3.2.1).

use crate::error::Result;
use crate::nalu::NalType;
use crate::ptl::{read_hrd, ProfileTierLevel};
use crate::rbsp::{payload, Rbsp};
use crate::sps::{check_type, SubLayerOrdering};

/// A parsed video parameter set (base-layer fields; extensions are not read).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vps {
    /// `vps_video_parameter_set_id` (0–15).
    pub id: u8,
    /// `vps_base_layer_internal_flag`.
    pub base_layer_internal: bool,
    /// `vps_base_layer_available_flag`.
    pub base_layer_available: bool,
    /// `vps_max_layers_minus1 + 1`.
    pub max_layers: u8,
    /// `vps_max_sub_layers_minus1 + 1` (1–7).
    pub max_sub_layers: u8,
    /// `vps_temporal_id_nesting_flag`.
    pub temporal_id_nesting: bool,
    /// Profile, tier and level.
    pub profile_tier_level: ProfileTierLevel,
    /// DPB size / reorder / latency per sub-layer (all entries filled, 7.4.3.1 inference).
    pub sub_layer_ordering: Vec<SubLayerOrdering>,
    /// `vps_max_layer_id`.
    pub max_layer_id: u8,
    /// `vps_num_layer_sets_minus1 + 1`.
    pub num_layer_sets: u32,
    /// (`vps_num_units_in_tick`, `vps_time_scale`) when `vps_timing_info_present_flag`.
    pub timing: Option<(u32, u32)>,
    /// `vps_num_hrd_parameters`.
    pub num_hrd_parameters: u32,
}

impl Vps {
    /// Parses a VPS NAL unit (two-byte header included).
    ///
    /// # Errors
    /// [`crate::Error::WrongNalType`], [`crate::Error::Syntax`] (truncated) or
    /// [`crate::Error::OutOfRange`].
    pub fn parse(nal: &[u8]) -> Result<Vps> {
        check_type(nal, NalType::VPS, "VPS")?;
        let rbsp = payload(nal, 2);
        let mut r = Rbsp::new(&rbsp, "VPS");
        let id = r.u(4, "vps_video_parameter_set_id")? as u8;
        let base_layer_internal = r.flag("vps_base_layer_internal_flag")?;
        let base_layer_available = r.flag("vps_base_layer_available_flag")?;
        let max_layers = r.u(6, "vps_max_layers_minus1")? as u8 + 1;
        let max_sub_layers_minus1 = r.u(3, "vps_max_sub_layers_minus1")? as u8;
        if max_sub_layers_minus1 > 6 {
            return Err(r
                .range(
                    "vps_max_sub_layers_minus1",
                    i64::from(max_sub_layers_minus1),
                    0,
                    6,
                )
                .into());
        }
        let temporal_id_nesting = r.flag("vps_temporal_id_nesting_flag")?;
        r.u(16, "vps_reserved_0xffff_16bits")?;
        let profile_tier_level = ProfileTierLevel::read(&mut r, max_sub_layers_minus1)?;
        let sub_layer_ordering = SubLayerOrdering::read_all(
            &mut r,
            max_sub_layers_minus1,
            "vps_sub_layer_ordering_info_present_flag",
        )?;
        let max_layer_id = r.u(6, "vps_max_layer_id")? as u8;
        let num_layer_sets = r.ue_max("vps_num_layer_sets_minus1", 1023)? + 1;
        for _ in 1..num_layer_sets {
            for _ in 0..=max_layer_id {
                r.flag("layer_id_included_flag")?;
            }
        }
        let mut timing = None;
        let mut num_hrd_parameters = 0;
        if r.flag("vps_timing_info_present_flag")? {
            let n = r.u(32, "vps_num_units_in_tick")?;
            let t = r.u(32, "vps_time_scale")?;
            timing = Some((n, t));
            if r.flag("vps_poc_proportional_to_timing_flag")? {
                r.ue("vps_num_ticks_poc_diff_one_minus1")?;
            }
            num_hrd_parameters = r.ue_max("vps_num_hrd_parameters", num_layer_sets)?;
            for i in 0..num_hrd_parameters {
                r.ue("hrd_layer_set_idx")?;
                let common = if i > 0 {
                    r.flag("cprms_present_flag")?
                } else {
                    true
                };
                read_hrd(&mut r, common, max_sub_layers_minus1)?;
            }
        }
        Ok(Vps {
            id,
            base_layer_internal,
            base_layer_available,
            max_layers,
            max_sub_layers: max_sub_layers_minus1 + 1,
            temporal_id_nesting,
            profile_tier_level,
            sub_layer_ordering,
            max_layer_id,
            num_layer_sets,
            timing,
            num_hrd_parameters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x265_vps() {
        use crate::Error;
        let nal = [
            0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
            0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x95, 0x98, 0x09,
        ];
        let v = Vps::parse(&nal).unwrap();
        assert_eq!(v.id, 0);
        assert_eq!(v.max_sub_layers, 1);
        assert_eq!(v.profile_tier_level.general.profile_idc, 1);
        assert_eq!(v.profile_tier_level.general_level_idc, 60);
        assert!(matches!(Vps::parse(&nal[..10]), Err(Error::Syntax { .. })));
    }
}
