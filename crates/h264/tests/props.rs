//! Property tests: SPS write → parse identity (every syntax path: high-profile fields,
//! scaling lists, POC types, cropping, fields, VUI with HRD), avcC build → parse identity,
//! Annex B ↔ AVCC identity, access-unit conservation, and garbage never panicking.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_h264::bits::BitWriter;
use weir_h264::{
    nal, AccessUnitAssembler, AssemblerLimits, AvcConfig, AvcConfigExt, Pps, ScalingList, Sps,
};

#[derive(Clone, Debug)]
enum ListIn {
    Absent,
    Default,
    Values(Vec<u8>),
}

#[derive(Clone, Debug)]
struct HrdIn {
    cpbs: Vec<(u32, u32, bool)>,
    scales: (u8, u8),
    lengths: (u8, u8, u8, u8),
}

/// (video_format, full_range, colour description).
type Signal = (u8, bool, Option<(u8, u8, u8)>);

#[derive(Clone, Debug)]
struct VuiIn {
    aspect: Option<(u8, u16, u16)>,
    overscan: Option<bool>,
    signal: Option<Signal>,
    chroma_loc: Option<(u32, u32)>,
    timing: Option<(u32, u32, bool)>,
    nal_hrd: Option<HrdIn>,
    vcl_hrd: Option<HrdIn>,
    low_delay: bool,
    pic_struct: bool,
    restriction: Option<[u32; 6]>,
}

#[derive(Clone, Debug)]
struct SpsIn {
    profile_idc: u8,
    constraint: u8,
    level: u8,
    id: u8,
    chroma: u8,
    separate: bool,
    bd: (u8, u8),
    bypass: bool,
    lists: Option<Vec<ListIn>>,
    log2_frame_num: u8,
    poc_type: u8,
    log2_poc: u8,
    poc1: (bool, i32, i32, Vec<i32>),
    max_ref: u32,
    gaps: bool,
    mbs: (u32, u32),
    frame_mbs_only: bool,
    mbaff: bool,
    d8: bool,
    crop: Option<(u32, u32, u32, u32)>,
    vui: Option<VuiIn>,
}

fn list_in(size: usize) -> impl Strategy<Value = ListIn> {
    prop_oneof![
        Just(ListIn::Absent),
        Just(ListIn::Default),
        prop::collection::vec(1u8..=255, size).prop_map(ListIn::Values),
    ]
}

fn hrd_in() -> impl Strategy<Value = HrdIn> {
    (
        prop::collection::vec(
            (
                any::<u32>().prop_map(|v| v >> 1),
                any::<u32>().prop_map(|v| v >> 1),
                any::<bool>(),
            ),
            1..4,
        ),
        (0u8..16, 0u8..16),
        (0u8..32, 0u8..32, 0u8..32, 0u8..32),
    )
        .prop_map(|(cpbs, scales, lengths)| HrdIn {
            cpbs,
            scales,
            lengths,
        })
}

fn vui_in() -> impl Strategy<Value = VuiIn> {
    (
        prop::option::of(prop_oneof![
            (0u8..=16).prop_map(|i| (i, 0, 0)),
            (any::<u16>(), any::<u16>()).prop_map(|(w, h)| (255, w, h))
        ]),
        prop::option::of(any::<bool>()),
        prop::option::of((
            0u8..8,
            any::<bool>(),
            prop::option::of(any::<(u8, u8, u8)>()),
        )),
        prop::option::of((0u32..6, 0u32..6)),
        prop::option::of((1u32.., 1u32.., any::<bool>())),
        prop::option::of(hrd_in()),
        prop::option::of(hrd_in()),
        any::<(bool, bool)>(),
        prop::option::of(prop::array::uniform6(0u32..=16)),
    )
        .prop_map(
            |(
                aspect,
                overscan,
                signal,
                chroma_loc,
                timing,
                nal_hrd,
                vcl_hrd,
                (low_delay, pic_struct),
                restriction,
            )| VuiIn {
                aspect,
                overscan,
                signal,
                chroma_loc,
                timing,
                nal_hrd,
                vcl_hrd,
                low_delay,
                pic_struct,
                restriction,
            },
        )
}

fn sps_in() -> impl Strategy<Value = SpsIn> {
    let high = prop_oneof![
        Just(66u8),
        Just(77),
        Just(88),
        Just(100),
        Just(110),
        Just(122),
        Just(244),
        Just(44),
        Just(118)
    ];
    (
        (high, any::<u8>(), any::<u8>(), 0u8..32),
        (0u8..4, any::<bool>(), (8u8..=14, 8u8..=14), any::<bool>()),
        prop::option::of(
            (
                prop::collection::vec(list_in(16), 6),
                prop::collection::vec(list_in(64), 6),
            )
                .prop_map(|(a, b)| a.into_iter().chain(b).collect::<Vec<_>>()),
        ),
        (
            4u8..=16,
            0u8..3,
            4u8..=16,
            (
                any::<bool>(),
                any::<i32>().prop_map(|v| v.max(i32::MIN + 1)),
                any::<i32>().prop_map(|v| v.max(i32::MIN + 1)),
                prop::collection::vec(any::<i32>().prop_map(|v| v.max(i32::MIN + 1)), 0..5),
            ),
        ),
        (
            0u32..=16,
            any::<bool>(),
            (2u32..200, 2u32..200),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        prop::option::of((0u32..4, 0u32..4, 0u32..4, 0u32..4)),
        prop::option::of(vui_in()),
    )
        .prop_map(
            |(
                (profile_idc, constraint, level, id),
                (chroma, separate, bd, bypass),
                lists,
                (log2_frame_num, poc_type, log2_poc, poc1),
                (max_ref, gaps, mbs, frame_mbs_only, mbaff, d8),
                crop,
                vui,
            )| SpsIn {
                profile_idc,
                constraint,
                level,
                id,
                chroma,
                separate,
                bd,
                bypass,
                lists,
                log2_frame_num,
                poc_type,
                log2_poc,
                poc1,
                max_ref,
                gaps,
                mbs,
                frame_mbs_only,
                mbaff,
                d8,
                crop,
                vui,
            },
        )
}

fn write_list(w: &mut BitWriter, l: &ListIn) {
    match l {
        ListIn::Absent => w.write_bit(false),
        ListIn::Default => {
            w.write_bit(true);
            w.write_se(-8);
        }
        ListIn::Values(v) => {
            w.write_bit(true);
            let mut last = 8i32;
            for &x in v {
                let delta = (i32::from(x) - last + 128).rem_euclid(256) - 128;
                w.write_se(delta);
                last = i32::from(x);
            }
        }
    }
}

fn write_hrd(w: &mut BitWriter, h: &HrdIn) {
    w.write_ue(h.cpbs.len() as u32 - 1);
    w.write_bits(u64::from(h.scales.0), 4);
    w.write_bits(u64::from(h.scales.1), 4);
    for &(b, c, cbr) in &h.cpbs {
        w.write_ue(b);
        w.write_ue(c);
        w.write_bit(cbr);
    }
    for v in [h.lengths.0, h.lengths.1, h.lengths.2, h.lengths.3] {
        w.write_bits(u64::from(v), 5);
    }
}

fn is_high(p: u8) -> bool {
    matches!(
        p,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

fn write_sps(s: &SpsIn) -> Vec<u8> {
    let mut w = BitWriter::new();
    w.write_bits(u64::from(s.profile_idc), 8);
    w.write_bits(u64::from(s.constraint), 8);
    w.write_bits(u64::from(s.level), 8);
    w.write_ue(u32::from(s.id));
    if is_high(s.profile_idc) {
        w.write_ue(u32::from(s.chroma));
        if s.chroma == 3 {
            w.write_bit(s.separate);
        }
        w.write_ue(u32::from(s.bd.0 - 8));
        w.write_ue(u32::from(s.bd.1 - 8));
        w.write_bit(s.bypass);
        match &s.lists {
            None => w.write_bit(false),
            Some(lists) => {
                w.write_bit(true);
                let n = if s.chroma == 3 { 12 } else { 8 };
                for l in lists.iter().take(n) {
                    write_list(&mut w, l);
                }
            }
        }
    }
    w.write_ue(u32::from(s.log2_frame_num - 4));
    w.write_ue(u32::from(s.poc_type));
    if s.poc_type == 0 {
        w.write_ue(u32::from(s.log2_poc - 4));
    } else if s.poc_type == 1 {
        w.write_bit(s.poc1.0);
        w.write_se(s.poc1.1);
        w.write_se(s.poc1.2);
        w.write_ue(s.poc1.3.len() as u32);
        for &o in &s.poc1.3 {
            w.write_se(o);
        }
    }
    w.write_ue(s.max_ref);
    w.write_bit(s.gaps);
    w.write_ue(s.mbs.0 - 1);
    w.write_ue(s.mbs.1 - 1);
    w.write_bit(s.frame_mbs_only);
    if !s.frame_mbs_only {
        w.write_bit(s.mbaff);
    }
    w.write_bit(s.d8);
    match s.crop {
        None => w.write_bit(false),
        Some((l, r, t, b)) => {
            w.write_bit(true);
            for v in [l, r, t, b] {
                w.write_ue(v);
            }
        }
    }
    match &s.vui {
        None => w.write_bit(false),
        Some(v) => {
            w.write_bit(true);
            match v.aspect {
                None => w.write_bit(false),
                Some((idc, sw, sh)) => {
                    w.write_bit(true);
                    w.write_bits(u64::from(idc), 8);
                    if idc == 255 {
                        w.write_bits(u64::from(sw), 16);
                        w.write_bits(u64::from(sh), 16);
                    }
                }
            }
            match v.overscan {
                None => w.write_bit(false),
                Some(o) => {
                    w.write_bit(true);
                    w.write_bit(o);
                }
            }
            match v.signal {
                None => w.write_bit(false),
                Some((fmt, full, colour)) => {
                    w.write_bit(true);
                    w.write_bits(u64::from(fmt), 3);
                    w.write_bit(full);
                    match colour {
                        None => w.write_bit(false),
                        Some((a, b, c)) => {
                            w.write_bit(true);
                            for x in [a, b, c] {
                                w.write_bits(u64::from(x), 8);
                            }
                        }
                    }
                }
            }
            match v.chroma_loc {
                None => w.write_bit(false),
                Some((a, b)) => {
                    w.write_bit(true);
                    w.write_ue(a);
                    w.write_ue(b);
                }
            }
            match v.timing {
                None => w.write_bit(false),
                Some((n, t, f)) => {
                    w.write_bit(true);
                    w.write_bits(u64::from(n), 32);
                    w.write_bits(u64::from(t), 32);
                    w.write_bit(f);
                }
            }
            for h in [&v.nal_hrd, &v.vcl_hrd] {
                match h {
                    None => w.write_bit(false),
                    Some(h) => {
                        w.write_bit(true);
                        write_hrd(&mut w, h);
                    }
                }
            }
            if v.nal_hrd.is_some() || v.vcl_hrd.is_some() {
                w.write_bit(v.low_delay);
            }
            w.write_bit(v.pic_struct);
            match v.restriction {
                None => w.write_bit(false),
                Some(r) => {
                    w.write_bit(true);
                    w.write_bit(true);
                    for x in r {
                        w.write_ue(x);
                    }
                }
            }
        }
    }
    w.write_rbsp_trailing_bits();
    let mut out = vec![0x67];
    nal::insert_emulation_prevention(&w.finish(), &mut out);
    out
}

fn check_sps(s: &SpsIn, p: &Sps) -> Result<(), TestCaseError> {
    let high = is_high(s.profile_idc);
    prop_assert_eq!(p.profile_idc, s.profile_idc);
    prop_assert_eq!(p.constraint_flags, s.constraint);
    prop_assert_eq!(p.level_idc, s.level);
    prop_assert_eq!(p.id, s.id);
    let chroma = if high { s.chroma } else { 1 };
    prop_assert_eq!(p.chroma_format_idc, chroma);
    prop_assert_eq!(p.separate_colour_plane, high && s.chroma == 3 && s.separate);
    if high {
        prop_assert_eq!((p.bit_depth_luma, p.bit_depth_chroma), s.bd);
        match (&s.lists, &p.scaling_lists) {
            (None, None) => {}
            (Some(want), Some(got)) => {
                prop_assert_eq!(got.len(), if s.chroma == 3 { 12 } else { 8 });
                for (w, g) in want.iter().zip(got) {
                    match (w, g) {
                        (ListIn::Absent, ScalingList::NotPresent)
                        | (ListIn::Default, ScalingList::UseDefault) => {}
                        (ListIn::Values(a), ScalingList::Explicit(b)) => prop_assert_eq!(a, b),
                        _ => prop_assert!(false, "list {w:?} parsed as {g:?}"),
                    }
                }
            }
            _ => prop_assert!(false, "scaling matrix presence differs"),
        }
    }
    prop_assert_eq!(p.log2_max_frame_num, s.log2_frame_num);
    prop_assert_eq!(p.pic_order_cnt_type, s.poc_type);
    if s.poc_type == 0 {
        prop_assert_eq!(p.log2_max_pic_order_cnt_lsb, s.log2_poc);
    }
    if s.poc_type == 1 {
        prop_assert_eq!(p.delta_pic_order_always_zero, s.poc1.0);
        prop_assert_eq!(p.offset_for_non_ref_pic, s.poc1.1);
        prop_assert_eq!(p.offset_for_top_to_bottom_field, s.poc1.2);
        prop_assert_eq!(&p.offset_for_ref_frame, &s.poc1.3);
    }
    prop_assert_eq!(p.max_num_ref_frames, s.max_ref);
    prop_assert_eq!((p.pic_width_in_mbs, p.pic_height_in_map_units), s.mbs);
    prop_assert_eq!(p.frame_mbs_only, s.frame_mbs_only);
    prop_assert_eq!(p.mb_adaptive_frame_field, !s.frame_mbs_only && s.mbaff);
    // Independent size computation (7-19, 7-20 with Table 6-1).
    let cat = if p.separate_colour_plane { 0 } else { chroma };
    let (sw, sh) = match chroma {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let fields = if s.frame_mbs_only { 1 } else { 2 };
    let (ux, uy) = if cat == 0 {
        (1, fields)
    } else {
        (sw, sh * fields)
    };
    let (l, r, t, b) = s.crop.unwrap_or((0, 0, 0, 0));
    prop_assert_eq!(p.width(), s.mbs.0 * 16 - ux * (l + r));
    prop_assert_eq!(p.height(), fields * s.mbs.1 * 16 - uy * (t + b));
    match (&s.vui, &p.vui) {
        (None, None) => {}
        (Some(v), Some(g)) => {
            prop_assert_eq!(
                g.timing
                    .map(|t| (t.num_units_in_tick, t.time_scale, t.fixed_frame_rate)),
                v.timing
            );
            prop_assert_eq!(
                g.nal_hrd.as_ref().map(|h| h.cpbs.clone()),
                v.nal_hrd.as_ref().map(|h| h.cpbs.clone())
            );
            prop_assert_eq!(
                g.vcl_hrd.as_ref().map(|h| h.cpb_count as usize),
                v.vcl_hrd.as_ref().map(|h| h.cpbs.len())
            );
            prop_assert_eq!(g.pic_struct_present, v.pic_struct);
            prop_assert_eq!(g.colour_description, v.signal.and_then(|s| s.2));
            prop_assert_eq!(g.chroma_loc, v.chroma_loc);
            if let Some((255, w, h)) = v.aspect {
                prop_assert_eq!(g.sar, Some((w, h)));
            }
            prop_assert_eq!(
                g.bitstream_restriction.map(|b| [
                    b.max_bytes_per_pic_denom,
                    b.max_bits_per_mb_denom,
                    b.log2_max_mv_length_horizontal,
                    b.log2_max_mv_length_vertical,
                    b.max_num_reorder_frames,
                    b.max_dec_frame_buffering
                ]),
                v.restriction
            );
            if let Some((n, t, _)) = v.timing {
                let fps = p.fps().unwrap();
                prop_assert!(
                    (fps - f64::from(t) / (2.0 * f64::from(n))).abs() < 1e-9 * fps.max(1.0)
                );
            }
        }
        _ => prop_assert!(false, "VUI presence differs"),
    }
    Ok(())
}

fn nal_unit() -> impl Strategy<Value = Vec<u8>> {
    (1u8..=0x7f, prop::collection::vec(any::<u8>(), 0..200)).prop_map(|(h, rbsp)| {
        let mut out = vec![h];
        nal::insert_emulation_prevention(&rbsp, &mut out);
        if out.last() == Some(&0) {
            out.push(0x80);
        }
        out
    })
}

fn avc_config() -> impl Strategy<Value = AvcConfig> {
    let unit = prop::collection::vec(any::<u8>(), 1..60).prop_map(Bytes::from);
    (
        any::<(u8, u8, u8)>(),
        prop::sample::select(vec![1u8, 2, 3, 4]),
        prop::collection::vec(unit.clone(), 0..4),
        prop::collection::vec(unit.clone(), 0..4),
        prop::option::of((0u8..4, 0u8..8, 0u8..8, prop::collection::vec(unit, 0..3))),
    )
        .prop_map(|((profile, compat, level), ls, sps, pps, ext)| {
            let with_ext = !matches!(profile, 66 | 77 | 88);
            let mut bytes = vec![
                1,
                profile,
                compat,
                level,
                0xfc | (ls - 1),
                0xe0 | sps.len() as u8,
            ];
            for s in &sps {
                bytes.extend_from_slice(&(s.len() as u16).to_be_bytes());
                bytes.extend_from_slice(s);
            }
            bytes.push(pps.len() as u8);
            for p in &pps {
                bytes.extend_from_slice(&(p.len() as u16).to_be_bytes());
                bytes.extend_from_slice(p);
            }
            let ext = if with_ext {
                ext.map(|(c, l, ch, u)| AvcConfigExt {
                    chroma_format: c,
                    bit_depth_luma_minus8: l,
                    bit_depth_chroma_minus8: ch,
                    sps_ext: u,
                })
            } else {
                None
            };
            let mut cfg = AvcConfig::parse(&bytes).unwrap();
            cfg.ext = ext;
            cfg
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sps_write_parse_identity(s in sps_in()) {
        let nal = write_sps(&s);
        let parsed = Sps::parse(&nal).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        check_sps(&s, &parsed)?;
    }

    #[test]
    fn avcc_build_parse_identity(cfg in avc_config()) {
        let bytes = cfg.to_bytes();
        let back = AvcConfig::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &cfg);
        prop_assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn annexb_avcc_annexb_identity(units in prop::collection::vec(nal_unit(), 0..10), four in any::<bool>(), trailing in 0usize..3, ls in prop::sample::select(vec![1u8, 2, 3, 4]), cuts in prop::collection::vec(1usize..64, 0..8)) {
        let mut annexb = Vec::new();
        for u in &units {
            annexb.extend_from_slice(if four { &[0, 0, 0, 1][..] } else { &[0, 0, 1][..] });
            annexb.extend_from_slice(u);
            annexb.resize(annexb.len() + trailing, 0);
        }
        let annexb = Bytes::from(annexb);
        let want: Vec<Bytes> = units.iter().map(|u| Bytes::from(u.clone())).collect();
        prop_assert_eq!(nal::annexb_nalus(&annexb).collect::<Vec<_>>(), want.clone());
        let mut lp = BytesMut::new();
        if nal::annexb_to_length_prefixed(&annexb, ls, &mut lp).is_ok() {
            let mut back = BytesMut::new();
            nal::length_prefixed_to_annexb(&lp, ls, &mut back).unwrap();
            prop_assert_eq!(nal::annexb_nalus(&back.freeze()).collect::<Vec<_>>(), want.clone());
        } else {
            prop_assert!(ls < 4);
        }
        // The incremental splitter agrees whatever the cut points.
        let mut s = nal::AnnexBSplitter::new(1 << 16);
        let mut got = Vec::new();
        let mut pos: usize = 0;
        for c in cuts.iter().chain(std::iter::once(&usize::MAX)) {
            let end = pos.saturating_add(*c).min(annexb.len());
            s.push(&annexb[pos..end]);
            pos = end;
            while let Some(n) = s.next_nal().unwrap() {
                got.push(n);
            }
        }
        got.extend(s.finish());
        prop_assert_eq!(got, want);
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
            prop_assert_eq!(au.idr, weir_h264::is_keyframe(&au.data));
            prop_assert_eq!(au.keyframe, weir_h264::is_random_access(&au.data));
        }
    }

    #[test]
    fn assembler_limits_hold(units in prop::collection::vec(nal_unit(), 0..40), max_bytes in 1usize..400, max_nals in 1usize..6) {
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
        let _ = Sps::parse(&data);
        let _ = Pps::parse(&data);
        let _ = AvcConfig::parse(&data);
        let _ = weir_h264::slice_start(&data);
        let mut with_header = vec![0x67];
        with_header.extend_from_slice(&data);
        let _ = Sps::parse(&with_header);
        with_header[0] = 0x68;
        let _ = Pps::parse(&with_header);
        let mut a = AccessUnitAssembler::new();
        for chunk in data.chunks(7) {
            let _ = a.push(chunk);
        }
        let _ = a.flush();
    }
}
