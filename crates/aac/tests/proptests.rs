//! Property tests: build → parse identity for ASC, ADTS, StreamMuxConfig and
//! AudioMuxElement; arbitrary input never panics.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_aac::asc::{sample_rate_from_index, RawBits};
use weir_aac::latm::{
    write_audio_mux_element, write_loas, LatmDecoder, LatmLayer, LoasReader, StreamMuxConfig,
};
use weir_aac::{
    adts_frames, AdtsHeader, AdtsReader, AudioSpecificConfig, ProgramConfigElement, SbrExtension,
    SbrSignalling,
};

const GA: [u8; 12] = [1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23];
const OTHER: [u8; 8] = [8, 9, 12, 24, 32, 36, 39, 45];

fn freq() -> impl Strategy<Value = (u8, u32)> {
    prop_oneof![
        (0u8..=12).prop_map(|i| (i, sample_rate_from_index(i).unwrap())),
        (1u32..0xFF_FFFF).prop_map(|f| (15u8, f)),
    ]
}

fn elems(max: usize) -> impl Strategy<Value = Vec<(bool, u8)>> {
    prop::collection::vec((any::<bool>(), 0u8..16), 0..=max)
}

fn pce() -> impl Strategy<Value = ProgramConfigElement> {
    (
        (0u8..16, 0u8..4, 0u8..16),
        (elems(15), elems(15), elems(15)),
        (
            prop::collection::vec(0u8..16, 0..=3),
            prop::collection::vec(0u8..16, 0..=7),
            elems(15),
        ),
        (
            prop::option::of(0u8..16),
            prop::option::of(0u8..16),
            prop::option::of((0u8..4, any::<bool>())),
        ),
        prop::collection::vec(any::<u8>(), 0..20),
    )
        .prop_map(
            |(
                (tag, ot, sfi),
                (front, side, back),
                (lfe, assoc_data, cc),
                (mono, stereo, matrix),
                comment,
            )| {
                ProgramConfigElement {
                    element_instance_tag: tag,
                    object_type: ot,
                    sampling_frequency_index: sfi,
                    front,
                    side,
                    back,
                    lfe,
                    assoc_data,
                    cc,
                    mono_mixdown: mono,
                    stereo_mixdown: stereo,
                    matrix_mixdown: matrix,
                    comment,
                }
            },
        )
}

fn raw_bits() -> impl Strategy<Value = RawBits> {
    (prop::collection::vec(any::<u8>(), 0..8), 0usize..8).prop_map(|(mut data, cut)| {
        let bit_len = (data.len() * 8).saturating_sub(cut);
        if let Some(last) = data.last_mut() {
            // Zero the unused low bits so the value is canonical.
            *last &= 0xFFu8.checked_shl(cut as u32).unwrap_or(0);
        }
        if bit_len == 0 {
            data.clear();
        }
        RawBits { data, bit_len }
    })
}

/// Any config `parse` can produce, plus whether it can live in LATM audioMuxVersion 0.
fn asc() -> impl Strategy<Value = AudioSpecificConfig> {
    let ga = (
        prop::sample::select(GA.to_vec()),
        freq(),
        0u8..16,
        prop::option::of(pce()),
        (any::<bool>(), prop::option::of(0u16..0x4000), any::<bool>()),
        (0u8..8, 0u8..32, 0u16..0x800, 0u8..8, any::<bool>(), 0u8..2),
        0u8..4,
    )
        .prop_map(
            |(
                aot,
                (sfi, f),
                cc,
                pce,
                (flf, delay, ext),
                (layer, nsf, ll, res, e3, ep),
                sbrmode,
            )| {
                let mut a = AudioSpecificConfig::lc(44100, 2).unwrap();
                a.object_type = aot;
                a.sampling_frequency_index = sfi;
                a.sampling_frequency = f;
                a.channel_configuration = cc;
                if cc == 0 {
                    a.program_config = Some(pce.unwrap_or_default());
                }
                a.frame_length_flag = flf;
                a.depends_on_core_coder = delay.is_some();
                a.core_coder_delay = delay.unwrap_or(0);
                a.extension_flag = ext;
                if matches!(aot, 6 | 20) {
                    a.layer_nr = layer;
                }
                if ext {
                    if aot == 22 {
                        a.num_of_sub_frame = nsf;
                        a.layer_length = ll;
                    }
                    if matches!(aot, 17 | 19 | 20 | 23) {
                        a.resilience_flags = res;
                    }
                    a.extension_flag3 = e3;
                }
                if matches!(aot, 17 | 19..=23) {
                    a.ep_config = ep;
                }
                a.sbr = match sbrmode {
                    1 => Some(SbrExtension {
                        signalling: SbrSignalling::Hierarchical,
                        object_type: 5,
                        sbr_present: true,
                        ps_present: (nsf % 2 == 1).then_some(true),
                        sampling_frequency_index: 3,
                        sampling_frequency: 48000,
                        channel_configuration: (aot == 22).then_some(res),
                    }),
                    2 => Some(SbrExtension {
                        signalling: SbrSignalling::BackwardCompatible,
                        object_type: 5,
                        sbr_present: flf,
                        ps_present: if flf {
                            [None, Some(false), Some(true)][usize::from(nsf % 3)]
                        } else {
                            None
                        },
                        sampling_frequency_index: if flf { 15 } else { 0 },
                        sampling_frequency: if flf { u32::from(ll) * 100 } else { 0 },
                        channel_configuration: None,
                    }),
                    3 => Some(SbrExtension {
                        signalling: SbrSignalling::BackwardCompatible,
                        object_type: 22,
                        sbr_present: e3,
                        ps_present: None,
                        sampling_frequency_index: if e3 { 6 } else { 0 },
                        sampling_frequency: if e3 { 24000 } else { 0 },
                        channel_configuration: Some(res),
                    }),
                    _ => None,
                };
                a
            },
        );
    let other = (
        prop::sample::select(OTHER.to_vec()),
        freq(),
        0u8..16,
        raw_bits(),
    )
        .prop_map(|(aot, (sfi, f), cc, tail)| {
            let mut a = AudioSpecificConfig::lc(44100, 2).unwrap();
            a.object_type = aot;
            a.sampling_frequency_index = sfi;
            a.sampling_frequency = f;
            a.channel_configuration = cc;
            a.tail = Some(tail);
            a
        });
    prop_oneof![4 => ga, 1 => other]
}

fn latm_v0_ok(a: &AudioSpecificConfig) -> bool {
    a.tail.is_none()
        && !a
            .sbr
            .as_ref()
            .is_some_and(|s| s.signalling == SbrSignalling::BackwardCompatible)
}

fn adts_header() -> impl Strategy<Value = AdtsHeader> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            0u8..4,
            0u8..13,
            any::<bool>(),
            0u8..8,
        ),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (
            0u16..0x2000,
            0u16..0x800,
            0u8..4,
            any::<[u16; 3]>(),
            any::<u16>(),
        ),
    )
        .prop_filter_map(
            "frame shorter than header",
            |(
                (mpeg2, pa, profile, sfi, private, cc),
                (oc, home, cib, cis),
                (fl, bf, nb, pos, crc),
            )| {
                let mut h = AdtsHeader {
                    mpeg2,
                    layer: 0,
                    protection_absent: pa,
                    profile,
                    sampling_frequency_index: sfi,
                    private_bit: private,
                    channel_configuration: cc,
                    original_copy: oc,
                    home,
                    copyright_identification_bit: cib,
                    copyright_identification_start: cis,
                    frame_length: fl,
                    buffer_fullness: bf,
                    number_of_raw_data_blocks: nb,
                    raw_data_block_positions: [0; 3],
                    crc: None,
                };
                if !pa {
                    let n = usize::from(nb);
                    h.raw_data_block_positions[..n].copy_from_slice(&pos[..n]);
                    h.crc = Some(crc);
                }
                (usize::from(fl) >= h.header_len()).then_some(h)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn asc_build_parse_identity(a in asc()) {
        let bytes = a.try_to_bytes().unwrap();
        let parsed = AudioSpecificConfig::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed.to_bytes(), &bytes);
        if a.tail.is_none() {
            prop_assert_eq!(parsed, a);
        }
    }

    #[test]
    fn pce_element_split_identity(p in pce(), rest in prop::collection::vec(any::<u8>(), 0..50)) {
        let mut payload = weir_aac::pce_element(&p).unwrap().to_vec();
        payload.extend_from_slice(&rest);
        let (q, tail) = weir_aac::split_pce(&Bytes::from(payload)).unwrap().unwrap();
        prop_assert_eq!(q, p);
        prop_assert_eq!(&tail[..], &rest[..]);
    }

    #[test]
    fn adts_build_parse_identity(h in adts_header()) {
        let mut out = BytesMut::new();
        h.write(&mut out);
        prop_assert_eq!(out.len(), h.header_len());
        prop_assert_eq!(AdtsHeader::parse(&out).unwrap(), h);
    }

    #[test]
    fn adts_stream_roundtrip(rate_idx in 0u8..13, cc in 1u8..8, aus in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 1..8), chunk in 1usize..300) {
        let mut asc = AudioSpecificConfig::lc(sample_rate_from_index(rate_idx).unwrap(), 2).unwrap();
        asc.channel_configuration = cc;
        let mut stream = BytesMut::new();
        for au in &aus {
            weir_aac::raw_to_adts(&asc, au, &mut stream).unwrap();
        }
        let stream = stream.freeze();
        let got: Vec<Bytes> = adts_frames(&stream).map(|f| f.unwrap().1).collect();
        prop_assert_eq!(got.len(), aus.len());
        for (g, a) in got.iter().zip(&aus) {
            prop_assert_eq!(&g[..], &a[..]);
        }
        // Incremental, with garbage in front (no 0xFF bytes, so no false sync).
        let mut reader = AdtsReader::new();
        reader.push(&[0x00, 0x12, 0xF0]);
        let mut n = 0;
        for c in stream.chunks(chunk) {
            reader.push(c);
            while let Some((h, p)) = reader.pop() {
                prop_assert_eq!(h.to_config(), asc.clone());
                prop_assert_eq!(&p[..], &aus[n][..]);
                n += 1;
            }
        }
        prop_assert_eq!(n, aus.len());
        prop_assert_eq!(reader.skipped_bytes(), 3);
        // Owned chunks, alternating with copied ones.
        let mut reader = AdtsReader::new();
        reader.push_bytes(Bytes::from_static(&[0x00, 0x12, 0xF0]));
        let mut n = 0;
        for (k, c) in stream.chunks(chunk).enumerate() {
            if k % 3 == 2 {
                reader.push(c);
            } else {
                reader.push_bytes(stream.slice_ref(c));
            }
            while let Some((_, p)) = reader.pop() {
                prop_assert_eq!(&p[..], &aus[n][..]);
                n += 1;
            }
        }
        prop_assert_eq!(n, aus.len());
        prop_assert_eq!(reader.skipped_bytes(), 3);
        prop_assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn stream_mux_config_identity(
        version in 0u8..2,
        tara in any::<u32>(),
        all_same in any::<bool>(),
        nsf in 0u8..64,
        progs in prop::collection::vec(prop::collection::vec((asc(), any::<bool>(), 0u8..8, any::<u8>(), 0u16..512, 0u8..64), 1..3), 1..3),
        other in prop::option::of(any::<u32>()),
        crc in prop::option::of(any::<u8>()),
    ) {
        let mut prev: Option<AudioSpecificConfig> = None;
        let mut programs = Vec::new();
        for layers in progs {
            let mut v = Vec::new();
            for (a, same, flt, fullness, fl, ti) in layers {
                if version == 0 && !latm_v0_ok(&a) {
                    return Ok(());
                }
                let use_same = same && prev.is_some();
                let config = if use_same { prev.clone().unwrap() } else { a };
                let mut l = LatmLayer::new(config.clone());
                l.use_same_config = use_same;
                l.frame_length_type = flt;
                match flt {
                    0 => l.latm_buffer_fullness = fullness,
                    1 => l.frame_length = fl,
                    3..=5 => l.table_index = ti,
                    6 | 7 => l.table_index = ti & 1,
                    _ => {}
                }
                let prev_aot = v.last().map(|p: &LatmLayer| p.config.object_type);
                if flt == 0 && !all_same && matches!(config.object_type, 6 | 20) && matches!(prev_aot, Some(8 | 24)) {
                    l.core_frame_offset = Some(ti);
                }
                prev = Some(config);
                v.push(l);
            }
            programs.push(v);
        }
        let smc = StreamMuxConfig {
            audio_mux_version: version,
            tara_buffer_fullness: if version == 1 { tara } else { 0 },
            all_streams_same_time_framing: all_same,
            num_sub_frames: nsf,
            programs,
            other_data_len_bits: other,
            crc_check_sum: crc,
        };
        let bytes = smc.try_to_bytes().unwrap();
        prop_assert_eq!(StreamMuxConfig::parse(&bytes).unwrap(), smc);
    }

    #[test]
    fn audio_mux_element_roundtrip(
        a in asc().prop_filter("LATM v0", latm_v0_ok),
        nsf in 0u8..3,
        aus in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 3),
        present in any::<bool>(),
        include in any::<bool>(),
        other in prop::option::of(0u32..40),
    ) {
        let mut smc = StreamMuxConfig::single(a);
        smc.num_sub_frames = nsf;
        smc.other_data_len_bits = other;
        let payloads: Vec<&[u8]> = aus.iter().take(usize::from(nsf) + 1).map(|v| &v[..]).collect();
        let mut el = BytesMut::new();
        write_audio_mux_element(&smc, present, include, &payloads, &mut el).unwrap();
        let el = el.freeze();
        let mut dec = if present && include { LatmDecoder::new() } else { LatmDecoder::with_config(smc.clone()) };
        let parsed = dec.decode(&el, present).unwrap();
        prop_assert_eq!(parsed.stream_mux_config.is_some(), present && include);
        prop_assert_eq!(dec.config().unwrap(), &smc);
        let got: Vec<&[u8]> = parsed.payloads.iter().map(|p| &p.data[..]).collect();
        prop_assert_eq!(got, payloads);

        // Through LOAS framing with garbage in front.
        if el.len() <= 0x1FFF {
            let mut loas = BytesMut::from(&[0u8, 0x56, 0x00][..]);
            write_loas(&el, &mut loas).unwrap();
            write_loas(&el, &mut loas).unwrap();
            let mut r = LoasReader::new();
            r.push(&loas);
            prop_assert_eq!(r.pop().unwrap(), el.clone());
            prop_assert_eq!(r.pop().unwrap(), el);
        }
    }

    #[test]
    fn arbitrary_input_never_panics(data in prop::collection::vec(any::<u8>(), 0..400)) {
        let b = Bytes::from(data.clone());
        let _ = AudioSpecificConfig::parse(&data);
        let _ = AdtsHeader::parse(&data);
        for (h, p) in adts_frames(&b).flatten() {
            let _ = h.split_raw_blocks(&p).map(|r| r.count());
        }
        let mut r = AdtsReader::new();
        r.push(&data);
        while r.pop().is_some() {}
        let _ = StreamMuxConfig::parse(&data);
        let mut dec = LatmDecoder::new();
        let _ = dec.decode(&b, true);
        let _ = dec.decode(&b, false);
        let mut dec = LatmDecoder::with_config(StreamMuxConfig::single(AudioSpecificConfig::lc(48000, 2).unwrap()));
        let _ = dec.decode(&b, false);
        let mut l = LoasReader::new();
        l.push(&data);
        while let Some(el) = l.pop() {
            let _ = dec.decode(&el, true);
        }
    }
}
