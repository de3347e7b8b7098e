//! Golden tests against streams produced by ffmpeg/libx264 at test time: every parsed value
//! must equal what ffprobe reports, avcC must match ffmpeg's MP4 muxer byte for byte, and
//! the access-unit assembler must reproduce ffmpeg's packets (sizes and MD5s of the
//! length-prefixed samples in an MP4 remux, keyframe flags of `ffprobe -show_packets`).

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use weir_h264::{nal, nal_type, AccessUnit, AnnexBAccessUnits, AvcConfig, NalType, Pps, Sps};
use weir_testutil::{decoded_video_md5, TempDir};

struct Case<'a> {
    name: &'a str,
    size: &'a str,
    rate: &'a str,
    frames: u32,
    args: &'a [&'a str],
}

fn pix_fmt(sps: &Sps) -> String {
    let base = match sps.chroma_format_idc {
        0 => "gray",
        1 => "yuv420p",
        2 => "yuv422p",
        _ => "yuv444p",
    };
    if sps.bit_depth_luma > 8 {
        format!("{base}{}le", sps.bit_depth_luma)
    } else {
        base.to_string()
    }
}

fn read_aus(data: &[u8], seed: u64) -> Vec<AccessUnit> {
    let mut r = AnnexBAccessUnits::new();
    let mut out = Vec::new();
    for c in chunks(data, seed) {
        r.push(c);
        while let Some(au) = r.poll().unwrap() {
            out.push(au);
        }
    }
    r.finish();
    while let Some(au) = r.poll().unwrap() {
        out.push(au);
    }
    out
}

fn run(case: &Case) -> (Sps, Pps) {
    let dir = TempDir::new(&format!("h264-{}", case.name));
    let raw = encode(
        &dir,
        "s.h264",
        case.size,
        case.rate,
        case.frames,
        case.args,
        "h264",
    );
    let data = Bytes::from(std::fs::read(&raw).unwrap());
    let probed = probe(&raw);
    let get = |k: &str| {
        probed
            .get(k)
            .unwrap_or_else(|| panic!("{}: ffprobe lacks {k}", case.name))
            .clone()
    };

    // --- SPS / PPS against ffprobe -show_streams.
    let nalus: Vec<Bytes> = nal::annexb_nalus(&data).collect();
    let sps_nal = nalus
        .iter()
        .find(|n| nal_type(n) == Some(NalType::Sps))
        .expect("SPS");
    let pps_nal = nalus
        .iter()
        .find(|n| nal_type(n) == Some(NalType::Pps))
        .expect("PPS");
    let sps = Sps::parse(sps_nal).unwrap();
    let pps = Pps::parse_with_sps(pps_nal, &sps).unwrap();
    assert_eq!(pps.sps_id, sps.id);
    assert_eq!(sps.width().to_string(), get("width"), "{}", case.name);
    assert_eq!(sps.height().to_string(), get("height"), "{}", case.name);
    assert_eq!(sps.profile_name(), get("profile"), "{}", case.name);
    assert_eq!(sps.level_idc.to_string(), get("level"), "{}", case.name);
    assert_eq!(pix_fmt(&sps), get("pix_fmt"), "{}", case.name);
    assert_eq!(
        sps.bit_depth_luma.to_string(),
        get("bits_per_raw_sample"),
        "{}",
        case.name
    );
    assert_eq!(
        sps.max_num_reorder_frames().to_string(),
        get("has_b_frames"),
        "{}",
        case.name
    );
    let fps = sps.fps().expect("x264 writes VUI timing");
    let want = rate(&get("r_frame_rate"));
    assert!(
        (fps - want).abs() < 1e-6,
        "{}: fps {fps} vs ffprobe {want}",
        case.name
    );

    // --- avcC: ffmpeg's MP4 muxer vs ours.
    let mp4 = to_mp4(&dir, &raw, "s.mp4");
    let mp4_bytes = std::fs::read(&mp4).unwrap();
    let theirs = box_payload(&mp4_bytes, b"avcC").expect("avcC box");
    let parsed = AvcConfig::parse(theirs).unwrap();
    assert_eq!(
        &parsed.to_bytes()[..],
        theirs,
        "{}: avcC re-serialisation",
        case.name
    );
    assert_eq!(parsed.profile_idc, sps.profile_idc);
    assert_eq!(parsed.level_idc, sps.level_idc);
    assert_eq!(parsed.nal_length_size, 4);
    assert_eq!(parsed.sps, vec![sps_nal.clone()]);
    assert_eq!(parsed.pps, vec![pps_nal.clone()]);
    let ours = AvcConfig::from_parameter_sets(
        std::slice::from_ref(sps_nal),
        std::slice::from_ref(pps_nal),
    )
    .unwrap();
    assert_eq!(
        &ours.to_bytes()[..],
        theirs,
        "{}: built avcC differs from ffmpeg's",
        case.name
    );

    // --- Annex B -> AVCC -> Annex B identity on the whole stream.
    for size in [1u8, 2, 4] {
        let mut lp = BytesMut::new();
        match nal::annexb_to_length_prefixed(&data, size, &mut lp) {
            Ok(n) => assert_eq!(n, nalus.len()),
            Err(_) => {
                assert!(size < 4, "4-byte prefixes always fit");
                continue;
            }
        }
        let mut back = BytesMut::new();
        nal::length_prefixed_to_annexb(&lp, size, &mut back).unwrap();
        let again: Vec<Bytes> = nal::annexb_nalus(&back.freeze()).collect();
        assert_eq!(
            again, nalus,
            "{}: roundtrip with {size}-byte lengths",
            case.name
        );
    }

    // --- Access units: exactly ffmpeg's packets.
    let aus = read_aus(&data, u64::from(case.frames) * 7919);
    let probe_packets = packets(&raw);
    assert_eq!(aus.len(), probe_packets.len(), "{}: AU count", case.name);
    let flags: Vec<bool> = aus.iter().map(|a| a.keyframe).collect();
    let want_flags: Vec<bool> = probe_packets.iter().map(|p| p.1).collect();
    assert_eq!(flags, want_flags, "{}: keyframe flags", case.name);
    let ours_md5: Vec<String> = aus.iter().map(|a| size_md5(&a.data)).collect();
    assert_eq!(
        ours_md5,
        packet_md5s(&mp4),
        "{}: AU bytes vs MP4 samples",
        case.name
    );
    let in_band = AvcConfig::from_frame(&aus[0].data)
        .unwrap()
        .expect("parameter sets in the first AU");
    assert_eq!(
        &in_band.to_bytes()[..],
        theirs,
        "{}: avcC from the first AU",
        case.name
    );
    assert!(
        AvcConfig::from_frame(&aus[aus.len() - 1].data)
            .unwrap()
            .is_none()
            || aus.len() == 1
    );
    for au in &aus {
        assert_eq!(weir_h264::is_keyframe(&au.data), au.idr);
        assert_eq!(weir_h264::is_random_access(&au.data), au.keyframe);
    }

    // --- Parameter sets found in band (an RTSP camera without sprop-parameter-sets): the
    // first AU gives ffmpeg's avcC, an AU without SPS/PPS gives nothing.
    let found = AvcConfig::from_access_unit(&aus[0].data).expect("SPS and PPS in the first AU");
    assert_eq!(
        &found.to_bytes()[..],
        theirs,
        "{}: avcC from the first AU's parameter sets",
        case.name
    );
    if let Some(later) = aus.iter().skip(1).find(|a| !a.keyframe) {
        assert_eq!(
            AvcConfig::from_access_unit(&later.data),
            None,
            "{}",
            case.name
        );
    }

    // --- Timing from the avcC: the depth the DTS generator starts with, and the frame rate.
    let timing = weir_h264::video_timing(theirs);
    assert_eq!(timing, parsed.video_timing());
    assert_eq!(timing, sps.video_timing());
    let declared = sps
        .vui
        .as_ref()
        .and_then(|v| v.bitstream_restriction.as_ref())
        .map(|b| b.max_num_reorder_frames);
    let want_depth = match (declared, sps.profile_idc) {
        // Signalled: ffmpeg's decoder uses the same value.
        (Some(n), _) => {
            assert_eq!(n.to_string(), get("has_b_frames"), "{}", case.name);
            n
        }
        (None, 66) => {
            assert_eq!(get("has_b_frames"), "0", "{}", case.name);
            0
        }
        (None, _) => weir_media::reorder::ASSUMED_H264_REORDER_DEPTH,
    };
    assert_eq!(
        timing.reorder_depth, want_depth,
        "{}: reorder depth",
        case.name
    );
    let timing_fps = timing.fps.expect("fps from VUI timing");
    assert!(
        (timing_fps - want).abs() < 1e-6,
        "{}: timing fps {timing_fps} vs ffprobe {want}",
        case.name
    );
    (sps, pps)
}

#[test]
fn baseline_320x240() {
    weir_testutil::interop_or_skip!();
    let (sps, pps) = run(&Case {
        name: "baseline",
        size: "320x240",
        rate: "25",
        frames: 50,
        args: &["-c:v", "libx264", "-profile:v", "baseline", "-g", "25"],
    });
    assert!(!sps.has_b_frames() && !pps.entropy_coding_mode);
}

#[test]
fn main_bframes_640x360_ntsc() {
    weir_testutil::interop_or_skip!();
    let (sps, pps) = run(&Case {
        name: "main",
        size: "640x360",
        rate: "30000/1001",
        frames: 30,
        args: &[
            "-c:v",
            "libx264",
            "-profile:v",
            "main",
            "-bf",
            "2",
            "-g",
            "15",
            "-preset",
            "veryfast",
        ],
    });
    assert!(sps.has_b_frames() && pps.entropy_coding_mode);
    assert!(sps.cropping.is_some()); // 360 = 23 MB rows - 8 lines
}

#[test]
fn high_bframes_320x240() {
    weir_testutil::interop_or_skip!();
    let (sps, pps) = run(&Case {
        name: "high",
        size: "320x240",
        rate: "25",
        frames: 50,
        args: &[
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-bf",
            "2",
            "-g",
            "25",
        ],
    });
    assert!(sps.has_b_frames() && pps.transform_8x8_mode);
}

#[test]
fn high_1080p() {
    weir_testutil::interop_or_skip!();
    let (sps, _) = run(&Case {
        name: "1080p",
        size: "1920x1080",
        rate: "50",
        frames: 6,
        args: &[
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-bf",
            "2",
            "-g",
            "3",
            "-preset",
            "ultrafast",
            "-x264-params",
            "cabac=1:8x8dct=1:bframes=2",
        ],
    });
    assert_eq!(sps.cropping.map(|c| c.bottom), Some(4));
}

#[test]
fn high_odd_size_cropping_1918x1078() {
    weir_testutil::interop_or_skip!();
    let (sps, pps) = run(&Case {
        name: "odd",
        size: "1918x1078",
        rate: "24",
        frames: 6,
        args: &[
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-bf",
            "2",
            "-g",
            "3",
            "-preset",
            "ultrafast",
            "-x264-params",
            "cabac=1:8x8dct=1:bframes=2",
        ],
    });
    let c = sps.cropping.unwrap();
    assert_eq!((c.right, c.bottom), (1, 5));
    assert!(pps.transform_8x8_mode);
}

#[test]
fn small_odd_size_cropping_in_4x4_units() {
    weir_testutil::interop_or_skip!();
    let (sps, _) = run(&Case {
        name: "tiny",
        size: "98x62",
        rate: "15",
        frames: 20,
        args: &["-c:v", "libx264", "-g", "10"],
    });
    assert!(sps.cropping.is_some());
}

#[test]
fn high10() {
    weir_testutil::interop_or_skip!();
    let (sps, _) = run(&Case {
        name: "high10",
        size: "320x240",
        rate: "25",
        frames: 20,
        args: &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p10le",
            "-bf",
            "2",
            "-g",
            "10",
        ],
    });
    assert_eq!((sps.bit_depth_luma, sps.bit_depth_chroma), (10, 10));
}

#[test]
fn high422_with_scaling_matrices() {
    weir_testutil::interop_or_skip!();
    let (sps, pps) = run(&Case {
        name: "high422",
        size: "320x240",
        rate: "25",
        frames: 20,
        args: &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv422p",
            "-g",
            "10",
            "-x264-params",
            "cqm=jvt",
        ],
    });
    assert_eq!(sps.chroma_format_idc, 2);
    // x264 never sets seq_scaling_matrix_present_flag; the matrices go in the PPS, whose
    // list count (6 + 2 with 8x8 transforms) depends on the SPS chroma format.
    assert!(sps.scaling_lists.is_none());
    assert_eq!(pps.scaling_lists.as_ref().map(Vec::len), Some(8));
}

/// A custom 4x4 matrix in raster order, as x264's `cqm4` option takes it.
const CQM4: [u8; 16] = [
    6, 13, 13, 20, 20, 20, 28, 28, 28, 28, 32, 32, 32, 37, 37, 42,
];

#[test]
fn high444_with_scaling_matrices() {
    weir_testutil::interop_or_skip!();
    let cqm4: Vec<String> = CQM4.iter().map(u8::to_string).collect();
    let cqm8: Vec<String> = (0..64).map(|i| (8 + i % 50).to_string()).collect();
    let params = format!("cqm4={}:cqm8={}", cqm4.join(","), cqm8.join(","));
    let (sps, pps) = run(&Case {
        name: "high444",
        size: "320x240",
        rate: "25",
        frames: 20,
        args: &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv444p",
            "-g",
            "10",
            "-x264-params",
            &params,
        ],
    });
    assert_eq!(sps.chroma_format_idc, 3);
    // 4:4:4 with 8x8 transforms: 6 + 6 lists. Custom matrices are coded explicitly.
    let lists = pps.scaling_lists.as_ref().unwrap();
    assert_eq!(lists.len(), 12);
    // The bitstream (and ScalingList::Explicit) holds it in zig-zag scan order (Table 8-13).
    let zigzag = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];
    let coded: Vec<u8> = zigzag.iter().map(|&i| CQM4[i]).collect();
    assert_eq!(lists[0], weir_h264::ScalingList::Explicit(coded));
}

#[test]
fn interlaced_mbaff_with_field_cropping() {
    weir_testutil::interop_or_skip!();
    let (sps, pps) = run(&Case {
        name: "interlaced",
        size: "320x200",
        rate: "25",
        frames: 20,
        args: &[
            "-c:v",
            "libx264",
            "-flags",
            "+ildct",
            "-x264-params",
            "interlaced=1",
            "-g",
            "10",
        ],
    });
    assert!(!sps.frame_mbs_only && sps.mb_adaptive_frame_field);
    assert_eq!(sps.cropping.map(|c| c.bottom), Some(6)); // 224 coded lines, 2x2 crop units
    assert!(pps.bottom_field_pic_order_in_frame_present);
}

#[test]
fn reassembled_stream_decodes_identically() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("h264-decode");
    let raw = encode(
        &dir,
        "s.h264",
        "320x240",
        "25",
        30,
        &["-c:v", "libx264", "-bf", "2", "-g", "12"],
        "h264",
    );
    let data = std::fs::read(&raw).unwrap();
    let aus = read_aus(&data, 42);
    // Back to Annex B from our canonical frames, with an AUD in front of each.
    let mut out = BytesMut::new();
    for au in &aus {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&weir_h264::AUD);
        nal::length_prefixed_to_annexb(&au.data, 4, &mut out).unwrap();
    }
    let ours = dir.join("ours.h264");
    std::fs::write(&ours, &out).unwrap();
    let a = decoded_video_md5(&raw, &[]);
    let b = decoded_video_md5(&ours, &[]);
    assert_eq!(a.len(), 30);
    assert_eq!(a, b);
    // ffmpeg sees one packet per AU in our output too (the AUDs we added are boundaries).
    assert_eq!(packets(&ours).len(), aus.len());
}

#[test]
fn open_gop() {
    weir_testutil::interop_or_skip!();
    run(&Case {
        name: "opengop",
        size: "320x240",
        rate: "25",
        frames: 60,
        args: &[
            "-c:v",
            "libx264",
            "-g",
            "20",
            "-bf",
            "2",
            "-x264-params",
            "open-gop=1",
        ],
    });
}

#[test]
fn periodic_intra_refresh() {
    weir_testutil::interop_or_skip!();
    run(&Case {
        name: "intrarefresh",
        size: "320x240",
        rate: "25",
        frames: 60,
        args: &[
            "-c:v",
            "libx264",
            "-x264-params",
            "intra-refresh=1:keyint=20",
        ],
    });
}

#[test]
fn multiple_slices_per_picture() {
    weir_testutil::interop_or_skip!();
    run(&Case {
        name: "slices",
        size: "320x240",
        rate: "25",
        frames: 30,
        args: &[
            "-c:v",
            "libx264",
            "-bf",
            "2",
            "-g",
            "15",
            "-x264-params",
            "slices=4",
        ],
    });
}

/// Out-of-band parameter sets (as FLV/MP4/SDP deliver them): the stream has no SPS/PPS and
/// no AUDs, so every boundary comes from slice-header comparison (7.4.1.2.4) with the sets
/// preloaded from the avcC record.
#[test]
fn boundaries_from_slice_headers_with_out_of_band_parameter_sets() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("h264-oob");
    let raw = encode(
        &dir,
        "s.h264",
        "320x240",
        "25",
        40,
        &[
            "-c:v",
            "libx264",
            "-bf",
            "3",
            "-g",
            "20",
            "-x264-params",
            "slices=3:b-pyramid=normal",
        ],
        "h264",
    );
    let data = Bytes::from(std::fs::read(&raw).unwrap());
    let nalus: Vec<Bytes> = nal::annexb_nalus(&data).collect();
    let sps = nalus
        .iter()
        .find(|n| nal_type(n) == Some(NalType::Sps))
        .unwrap()
        .clone();
    let pps = nalus
        .iter()
        .find(|n| nal_type(n) == Some(NalType::Pps))
        .unwrap()
        .clone();
    let cfg = AvcConfig::from_parameter_sets(&[sps], &[pps]).unwrap();
    let mut asm = weir_h264::AccessUnitAssembler::new().with_config(&cfg);
    let mut aus = Vec::new();
    for n in nalus
        .iter()
        .filter(|n| nal_type(n).is_some_and(NalType::is_vcl))
    {
        aus.extend(asm.push(n).unwrap());
    }
    aus.extend(asm.flush());
    let want = packets(&raw);
    assert_eq!(aus.len(), want.len());
    assert_eq!(
        aus.iter().map(|a| a.idr).collect::<Vec<_>>(),
        want.iter().map(|p| p.1).collect::<Vec<_>>()
    );
    assert!(
        aus.iter().all(|a| a.nal_count == 3),
        "three slices per picture"
    );
}
