//! Property tests: SPS write → parse identity (profile-tier-level with sub-layers,
//! conformance window, ordering info, scaling_list_data, PCM, short-term RPS, long-term
//! pictures, VUI with timing, HRD and restrictions), hvcC build → parse identity,
//! access-unit conservation and limits, and garbage never panicking.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_h265::bits::BitWriter;
use weir_h265::{
    nal, AccessUnitAssembler, AssemblerLimits, HevcConfig, NalArray, NalType, Pps, Sps, Vps,
};

/// (pred_mode_flag, pred_matrix_id_delta, dc, coefficients) for one scaling list.
type ListIn = (bool, u32, i32, Vec<i32>);
/// (negative, positive) pictures of one RPS: (delta_poc_minus1, used).
type RpsIn = (Vec<(u32, bool)>, Vec<(u32, bool)>);
/// (timing, poc diff, min_spatial_segmentation_idc).
type VuiIn = (Option<(u32, u32)>, Option<u32>, Option<u16>);

#[derive(Clone, Debug)]
struct SpsIn {
    sub_layers_minus1: u8,
    sub_flags: Vec<(bool, bool)>,
    profile: (u8, bool, u8, u32, u64, u8),
    chroma: u8,
    size: (u32, u32),
    window: Option<(u32, u32, u32, u32)>,
    bd: (u8, u8),
    log2_poc: u8,
    ordering_all: bool,
    ordering: Vec<(u32, u32, u32)>,
    scaling: Option<Option<Vec<ListIn>>>,
    pcm: Option<(u8, u8, u32, u32, bool)>,
    rps: Vec<RpsIn>,
    long_term: Option<Vec<(u32, bool)>>,
    vui: Option<VuiIn>,
}

fn sps_in() -> impl Strategy<Value = SpsIn> {
    let coef = |n: usize| prop::collection::vec(-128i32..=127, n);
    let list = (any::<bool>(), 0u32..6, -7i32..=247)
        .prop_flat_map(move |(pred, delta, dc)| coef(64).prop_map(move |c| (pred, delta, dc, c)));
    (
        (0u8..7).prop_flat_map(|n| {
            (
                Just(n),
                prop::collection::vec(any::<(bool, bool)>(), usize::from(n)),
            )
        }),
        (
            0u8..4,
            any::<bool>(),
            0u8..32,
            any::<u32>(),
            0u64..(1 << 48),
            any::<u8>(),
        ),
        (
            0u8..4,
            (16u32..2000, 16u32..2000),
            prop::option::of((0u32..4, 0u32..4, 0u32..4, 0u32..4)),
            (8u8..=16, 8u8..=16),
            4u8..=16,
        ),
        (
            any::<bool>(),
            prop::collection::vec((0u32..16, 0u32..16, 0u32..1000), 7),
        ),
        prop::option::of(prop::option::of(prop::collection::vec(list, 20))),
        prop::option::of((0u8..16, 0u8..16, 0u32..3, 0u32..4, any::<bool>())),
        prop::collection::vec(
            (
                prop::collection::vec((0u32..100, any::<bool>()), 0..5),
                prop::collection::vec((0u32..100, any::<bool>()), 0..5),
            ),
            0..6,
        ),
        prop::option::of(prop::collection::vec((any::<u32>(), any::<bool>()), 0..5)),
        prop::option::of((
            prop::option::of((1u32.., 1u32..)),
            prop::option::of(0u32..100),
            prop::option::of(0u16..4096),
        )),
    )
        .prop_map(
            |(
                (sub_layers_minus1, sub_flags),
                profile,
                (chroma, size, window, bd, log2_poc),
                (ordering_all, ordering),
                scaling,
                pcm,
                rps,
                long_term,
                vui,
            )| SpsIn {
                sub_layers_minus1,
                sub_flags,
                profile,
                chroma,
                size,
                window,
                bd,
                log2_poc,
                ordering_all,
                ordering,
                scaling,
                pcm,
                rps,
                long_term,
                vui,
            },
        )
}

fn write_profile(w: &mut BitWriter, p: (u8, bool, u8, u32, u64, u8)) {
    w.write_bits(u64::from(p.0), 2);
    w.write_bit(p.1);
    w.write_bits(u64::from(p.2), 5);
    w.write_bits(u64::from(p.3), 32);
    w.write_bits(p.4, 48);
}

fn write_sps(s: &SpsIn) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.write_bits(0, 4); // vps id
    w.write_bits(u64::from(s.sub_layers_minus1), 3);
    w.write_bit(true);
    write_profile(&mut w, s.profile);
    w.write_bits(u64::from(s.profile.5), 8);
    for &(p, l) in &s.sub_flags {
        w.write_bit(p);
        w.write_bit(l);
    }
    if s.sub_layers_minus1 > 0 {
        for _ in s.sub_layers_minus1..8 {
            w.write_bits(0, 2);
        }
    }
    for &(p, l) in &s.sub_flags {
        if p {
            write_profile(&mut w, s.profile);
        }
        if l {
            w.write_bits(0x5a, 8);
        }
    }
    w.write_ue(0); // sps id
    w.write_ue(u32::from(s.chroma));
    if s.chroma == 3 {
        w.write_bit(false);
    }
    w.write_ue(s.size.0);
    w.write_ue(s.size.1);
    match s.window {
        None => w.write_bit(false),
        Some((a, b, c, d)) => {
            w.write_bit(true);
            for v in [a, b, c, d] {
                w.write_ue(v);
            }
        }
    }
    w.write_ue(u32::from(s.bd.0 - 8));
    w.write_ue(u32::from(s.bd.1 - 8));
    w.write_ue(u32::from(s.log2_poc - 4));
    w.write_bit(s.ordering_all);
    let first = if s.ordering_all {
        0
    } else {
        s.sub_layers_minus1
    };
    for i in first..=s.sub_layers_minus1 {
        let (b, r, l) = s.ordering[usize::from(i)];
        w.write_ue(b);
        w.write_ue(r.min(b));
        w.write_ue(l);
    }
    for v in [0u32, 3, 0, 3, 2, 2] {
        w.write_ue(v); // block sizes and transform depths
    }
    match &s.scaling {
        None => w.write_bit(false),
        Some(data) => {
            w.write_bit(true);
            match data {
                None => w.write_bit(false),
                Some(lists) => {
                    w.write_bit(true);
                    let mut it = lists.iter();
                    for size_id in 0..4u32 {
                        let step = if size_id == 3 { 3 } else { 1 };
                        let mut m = 0;
                        while m < 6 {
                            let (pred, delta, dc, coefs) = it.next().unwrap();
                            w.write_bit(*pred);
                            if !pred {
                                w.write_ue((*delta).min(m / step));
                            } else {
                                let n = 64.min(1usize << (4 + (size_id << 1)));
                                if size_id > 1 {
                                    w.write_se(*dc);
                                }
                                for c in coefs.iter().take(n) {
                                    w.write_se(*c);
                                }
                            }
                            m += step;
                        }
                    }
                }
            }
        }
    }
    w.write_bit(true); // amp
    w.write_bit(true); // sao
    match s.pcm {
        None => w.write_bit(false),
        Some((a, b, c, d, e)) => {
            w.write_bit(true);
            w.write_bits(u64::from(a), 4);
            w.write_bits(u64::from(b), 4);
            w.write_ue(c);
            w.write_ue(d);
            w.write_bit(e);
        }
    }
    w.write_ue(s.rps.len() as u32);
    for (i, (neg, pos)) in s.rps.iter().enumerate() {
        if i != 0 {
            w.write_bit(false); // no inter RPS prediction
        }
        w.write_ue(neg.len() as u32);
        w.write_ue(pos.len() as u32);
        for &(d, u) in neg.iter().chain(pos) {
            w.write_ue(d);
            w.write_bit(u);
        }
    }
    match &s.long_term {
        None => w.write_bit(false),
        Some(lt) => {
            w.write_bit(true);
            w.write_ue(lt.len() as u32);
            for &(poc, used) in lt {
                w.write_bits(u64::from(poc), u32::from(s.log2_poc));
                w.write_bit(used);
            }
        }
    }
    w.write_bit(true); // temporal mvp
    w.write_bit(false); // strong intra smoothing
    match s.vui {
        None => w.write_bit(false),
        Some((timing, poc_diff, seg)) => {
            w.write_bit(true);
            for _ in 0..4 {
                w.write_bit(false); // aspect, overscan, signal, chroma loc
            }
            w.write_bits(0, 3); // neutral chroma, field seq, frame field info
            w.write_bit(false); // default display window
            match timing {
                None => w.write_bit(false),
                Some((n, t)) => {
                    w.write_bit(true);
                    w.write_bits(u64::from(n), 32);
                    w.write_bits(u64::from(t), 32);
                    match poc_diff {
                        None => w.write_bit(false),
                        Some(d) => {
                            w.write_bit(true);
                            w.write_ue(d);
                        }
                    }
                    w.write_bit(true); // hrd: nal hrd, one sub-layer loop per layer
                    w.write_bit(true);
                    w.write_bit(false);
                    w.write_bit(false); // sub_pic_hrd_params_present_flag
                    w.write_bits(3, 4);
                    w.write_bits(5, 4);
                    w.write_bits(23, 5);
                    w.write_bits(23, 5);
                    w.write_bits(23, 5);
                    for _ in 0..=s.sub_layers_minus1 {
                        w.write_bit(false); // fixed_pic_rate_general
                        w.write_bit(false); // fixed_pic_rate_within_cvs
                        w.write_bit(false); // low_delay
                        w.write_ue(1); // two CPBs
                        for _ in 0..2 {
                            w.write_ue(1000);
                            w.write_ue(2000);
                            w.write_bit(true);
                        }
                    }
                }
            }
            match seg {
                None => w.write_bit(false),
                Some(seg) => {
                    w.write_bit(true);
                    w.write_bits(0, 3);
                    w.write_ue(u32::from(seg));
                    for v in [2u32, 1, 15, 15] {
                        w.write_ue(v);
                    }
                }
            }
        }
    }
    w.write_bit(false); // sps_extension_present_flag
    w.write_rbsp_trailing_bits();
    let mut out = vec![0x42, 0x01];
    nal::insert_emulation_prevention(&w.finish(), &mut out);
    out
}

fn nal_unit() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..64,
        0u8..2,
        1u8..8,
        prop::collection::vec(any::<u8>(), 0..120),
    )
        .prop_map(|(t, layer, tid, rbsp)| {
            let mut out = vec![t << 1, (layer << 3) | tid];
            nal::insert_emulation_prevention(&rbsp, &mut out);
            if out.last() == Some(&0) {
                out.push(0x80);
            }
            out
        })
}

fn hevc_config() -> impl Strategy<Value = HevcConfig> {
    let unit = prop::collection::vec(any::<u8>(), 1..50).prop_map(Bytes::from);
    let array = (any::<bool>(), 0u8..64, prop::collection::vec(unit, 0..3)).prop_map(
        |(completeness, t, nalus)| NalArray {
            completeness,
            nal_type: NalType(t),
            nalus,
        },
    );
    (
        (
            0u8..4,
            any::<bool>(),
            0u8..32,
            any::<u32>(),
            0u64..(1 << 48),
            any::<u8>(),
        ),
        (0u16..4096, 0u8..4, 0u8..4, 0u8..8, 0u8..8, any::<u16>()),
        (
            0u8..4,
            0u8..8,
            any::<bool>(),
            prop::sample::select(vec![1u8, 2, 3, 4]),
        ),
        prop::collection::vec(array, 0..5),
    )
        .prop_map(|(p, q, r, arrays)| {
            // Build through the parser (HevcConfig is non-exhaustive), then set every field.
            let mut b = vec![1u8, (p.0 << 6) | (u8::from(p.1) << 5) | p.2];
            b.extend_from_slice(&p.3.to_be_bytes());
            b.extend_from_slice(&p.4.to_be_bytes()[2..]);
            b.push(p.5);
            b.extend_from_slice(&(0xf000 | q.0).to_be_bytes());
            b.extend_from_slice(&[0xfc | q.1, 0xfc | q.2, 0xf8 | q.3, 0xf8 | q.4]);
            b.extend_from_slice(&q.5.to_be_bytes());
            b.push((r.0 << 6) | (r.1 << 3) | (u8::from(r.2) << 2) | (r.3 - 1));
            b.push(0);
            let mut cfg = HevcConfig::parse(&b).unwrap();
            cfg.arrays = arrays;
            cfg
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sps_write_parse_identity(s in sps_in()) {
        let nal = write_sps(&s);
        let sps = Sps::parse(&nal).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let ptl = &sps.profile_tier_level;
        prop_assert_eq!((ptl.general.profile_space, ptl.general.tier_flag, ptl.general.profile_idc), (s.profile.0, s.profile.1, s.profile.2));
        prop_assert_eq!((ptl.general.compatibility_flags, ptl.general.constraint_indicator_flags, ptl.general_level_idc), (s.profile.3, s.profile.4, s.profile.5));
        prop_assert_eq!(ptl.sub_layers.len(), usize::from(s.sub_layers_minus1));
        for (got, &(p, l)) in ptl.sub_layers.iter().zip(&s.sub_flags) {
            prop_assert_eq!(got.profile.is_some(), p);
            prop_assert_eq!(got.level_idc, l.then_some(0x5a));
        }
        prop_assert_eq!(sps.chroma_format_idc, s.chroma);
        let (sw, sh) = match s.chroma { 1 => (2, 2), 2 => (2, 1), _ => (1, 1) };
        let (l, r, t, b) = s.window.unwrap_or((0, 0, 0, 0));
        prop_assert_eq!(sps.width(), s.size.0 - sw * (l + r));
        prop_assert_eq!(sps.height(), s.size.1 - sh * (t + b));
        prop_assert_eq!((sps.bit_depth_luma, sps.bit_depth_chroma), s.bd);
        prop_assert_eq!(sps.log2_max_pic_order_cnt_lsb, s.log2_poc);
        let top = s.ordering[usize::from(s.sub_layers_minus1)];
        prop_assert_eq!(sps.max_dec_pic_buffering(), top.0 + 1);
        prop_assert_eq!(sps.max_num_reorder_pics(), top.1.min(top.0));
        prop_assert_eq!(sps.scaling_list_enabled, s.scaling.is_some());
        prop_assert_eq!(sps.scaling_list_data_present, matches!(s.scaling, Some(Some(_))));
        prop_assert_eq!(sps.pcm_enabled, s.pcm.is_some());
        prop_assert_eq!(sps.short_term_ref_pic_sets.len(), s.rps.len());
        for (got, (neg, pos)) in sps.short_term_ref_pic_sets.iter().zip(&s.rps) {
            let mut poc = 0i32;
            let want_neg: Vec<i32> = neg.iter().map(|&(d, _)| { poc -= d as i32 + 1; poc }).collect();
            poc = 0;
            let want_pos: Vec<i32> = pos.iter().map(|&(d, _)| { poc += d as i32 + 1; poc }).collect();
            prop_assert_eq!(&got.delta_poc_s0, &want_neg);
            prop_assert_eq!(&got.delta_poc_s1, &want_pos);
            prop_assert_eq!(&got.used_s0, &neg.iter().map(|x| x.1).collect::<Vec<_>>());
        }
        prop_assert_eq!(sps.num_long_term_ref_pics_sps as usize, s.long_term.as_ref().map_or(0, Vec::len));
        prop_assert_eq!(sps.temporal_mvp_enabled, true);
        match (&s.vui, &sps.vui) {
            (None, None) => {}
            (Some((timing, poc_diff, seg)), Some(v)) => {
                prop_assert_eq!(v.timing.map(|t| (t.num_units_in_tick, t.time_scale)), *timing);
                if timing.is_some() {
                    prop_assert_eq!(v.timing.and_then(|t| t.num_ticks_poc_diff_one), poc_diff.map(|d| d + 1));
                    prop_assert!(v.hrd.as_ref().is_some_and(|h| h.nal_hrd && !h.vcl_hrd));
                    let (n, t) = timing.unwrap();
                    prop_assert!((sps.fps().unwrap() - f64::from(t) / f64::from(n)).abs() < 1e-6);
                }
                prop_assert_eq!(sps.min_spatial_segmentation_idc(), seg.unwrap_or(0));
            }
            _ => prop_assert!(false, "VUI presence differs"),
        }
    }

    #[test]
    fn hvcc_build_parse_identity(cfg in hevc_config()) {
        let bytes = cfg.to_bytes();
        let back = HevcConfig::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &cfg);
        prop_assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn assembler_conserves_units(units in prop::collection::vec(nal_unit(), 0..40)) {
        let mut a = AccessUnitAssembler::new();
        let mut aus = Vec::new();
        for u in &units {
            aus.extend(a.push(u).unwrap());
        }
        aus.extend(a.flush());
        let mut all = BytesMut::new();
        for u in &units {
            nal::put_length_prefixed(&mut all, u, 4).unwrap();
        }
        let joined: Vec<u8> = aus.iter().flat_map(|au| au.data.iter().copied()).collect();
        prop_assert_eq!(&joined[..], &all[..]);
        for au in &aus {
            prop_assert!(au.nal_count > 0);
            prop_assert_eq!(au.keyframe, weir_h265::is_keyframe(&au.data));
        }
    }

    #[test]
    fn assembler_limits_hold(units in prop::collection::vec(nal_unit(), 0..40), max_bytes in 1usize..300, max_nals in 1usize..6) {
        let mut a = AccessUnitAssembler::with_limits(AssemblerLimits::new(max_bytes, max_nals));
        for u in &units {
            if let Ok(Some(au)) = a.push(u) {
                prop_assert!(au.data.len() <= max_bytes && au.nal_count <= max_nals);
            }
        }
        if let Some(au) = a.flush() {
            prop_assert!(au.data.len() <= max_bytes && au.nal_count <= max_nals);
        }
    }

    #[test]
    fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..300)) {
        for header in [[0x40u8, 0x01], [0x42, 0x01], [0x44, 0x01], [0x43, 0x09]] {
            let mut nal = header.to_vec();
            nal.extend_from_slice(&data);
            let _ = Vps::parse(&nal);
            let _ = Sps::parse(&nal);
            let _ = Pps::parse(&nal);
        }
        let _ = HevcConfig::parse(&data);
        let mut a = AccessUnitAssembler::new();
        for chunk in data.chunks(5) {
            let _ = a.push(chunk);
        }
        let _ = a.flush();
    }
}
