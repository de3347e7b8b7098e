//! Golden tests against streams produced by ffmpeg/libx265 at test time: parsed values must
//! equal what ffprobe reports, hvcC must match ffmpeg's MP4 muxer byte for byte, and the
//! access-unit assembler must reproduce ffmpeg's packets (sizes and MD5s of the
//! length-prefixed MP4 samples; keyframe flags of `ffprobe -show_packets`).

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use weir_h265::{nal, nal_type, AccessUnit, AnnexBAccessUnits, HevcConfig, NalType, Pps, Sps, Vps};
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

/// Quirk of ffmpeg 5.x: its HEVC parser cuts packets at the `00 00 01` of the next access
/// unit's 4-byte start code, so every packet but the last ends in that start code's first
/// zero byte, which the MP4 muxer then keeps as part of the packet's last NAL unit (a
/// `trailing_zero_8bits` byte, not NAL data per H.265 B.2). Weir strips it; to compare
/// with ffmpeg's samples byte for byte, this puts it back.
fn with_trailing_zero(canonical: &[u8]) -> Vec<u8> {
    let mut pos = 0;
    let mut last = 0;
    while pos + 4 <= canonical.len() {
        last = pos;
        let n = u32::from_be_bytes(canonical[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 4 + n;
    }
    let mut out = canonical.to_vec();
    let n = u32::from_be_bytes(out[last..last + 4].try_into().unwrap()) + 1;
    out[last..last + 4].copy_from_slice(&n.to_be_bytes());
    out.push(0);
    out
}

fn first_of(nalus: &[Bytes], t: NalType) -> Bytes {
    nalus
        .iter()
        .find(|n| nal_type(n) == Some(t))
        .cloned()
        .unwrap_or_else(|| panic!("no {t:?}"))
}

fn run(case: &Case) -> (Sps, Pps) {
    let dir = TempDir::new(&format!("h265-{}", case.name));
    let mut args: Vec<&str> = vec!["-c:v", "libx265"];
    args.extend_from_slice(case.args);
    let raw = encode(
        &dir,
        "s.hevc",
        case.size,
        case.rate,
        case.frames,
        &args,
        "hevc",
    );
    let data = Bytes::from(std::fs::read(&raw).unwrap());
    let probed = probe(&raw);
    let get = |k: &str| {
        probed
            .get(k)
            .unwrap_or_else(|| panic!("{}: ffprobe lacks {k}", case.name))
            .clone()
    };

    // --- Parameter sets against ffprobe -show_streams.
    let nalus: Vec<Bytes> = nal::annexb_nalus(&data).collect();
    let (vps_nal, sps_nal, pps_nal) = (
        first_of(&nalus, NalType::VPS),
        first_of(&nalus, NalType::SPS),
        first_of(&nalus, NalType::PPS),
    );
    let vps = Vps::parse(&vps_nal).unwrap();
    let sps = Sps::parse(&sps_nal).unwrap();
    let pps = Pps::parse(&pps_nal).unwrap();
    let (sps_nal_c, pps_nal_c) = (sps_nal.clone(), pps_nal.clone());
    assert_eq!(sps.vps_id, vps.id);
    assert_eq!(pps.sps_id, sps.id);
    assert_eq!(
        vps.profile_tier_level.general,
        sps.profile_tier_level.general
    );
    assert_eq!(sps.width().to_string(), get("width"), "{}", case.name);
    assert_eq!(sps.height().to_string(), get("height"), "{}", case.name);
    assert_eq!(
        sps.profile_tier_level.general.name(),
        get("profile"),
        "{}",
        case.name
    );
    assert_eq!(sps.level_idc().to_string(), get("level"), "{}", case.name);
    assert_eq!(pix_fmt(&sps), get("pix_fmt"), "{}", case.name);
    assert_eq!(
        sps.max_num_reorder_pics().to_string(),
        get("has_b_frames"),
        "{}",
        case.name
    );
    let fps = sps.fps().expect("x265 writes VUI timing");
    let want = rate(&get("r_frame_rate"));
    assert!(
        (fps - want).abs() < 1e-6,
        "{}: fps {fps} vs ffprobe {want}",
        case.name
    );

    // --- hvcC: ffmpeg's MP4 muxer vs ours.
    let mp4 = to_mp4(&dir, &raw, "s.mp4");
    let mp4_bytes = std::fs::read(&mp4).unwrap();
    let theirs = box_payload(&mp4_bytes, b"hvcC").expect("hvcC box");
    let parsed = HevcConfig::parse(theirs).unwrap();
    assert_eq!(
        &parsed.to_bytes()[..],
        theirs,
        "{}: hvcC re-serialisation",
        case.name
    );
    assert_eq!(parsed.general_profile_idc, sps.profile_idc());
    assert_eq!(parsed.general_level_idc, sps.level_idc());
    assert_eq!(parsed.bit_depth_luma_minus8 + 8, sps.bit_depth_luma);
    assert_eq!(parsed.nal_length_size, 4);
    assert_eq!(parsed.vps().collect::<Vec<_>>(), vec![&vps_nal]);
    assert_eq!(parsed.sps().collect::<Vec<_>>(), vec![&sps_nal]);
    assert_eq!(parsed.pps().collect::<Vec<_>>(), vec![&pps_nal]);
    let ours = HevcConfig::from_parameter_sets(&[vps_nal], &[sps_nal_c], &[pps_nal_c]).unwrap();
    assert_eq!(
        &ours.to_bytes()[..],
        theirs,
        "{}: built hvcC differs from ffmpeg's",
        case.name
    );

    // --- Annex B -> length-prefixed -> Annex B identity.
    let mut lp = BytesMut::new();
    nal::annexb_to_length_prefixed(&data, 4, &mut lp).unwrap();
    let mut back = BytesMut::new();
    nal::length_prefixed_to_annexb(&lp, 4, &mut back).unwrap();
    let again: Vec<Bytes> = nal::annexb_nalus(&back.freeze()).collect();
    assert_eq!(again, nalus, "{}: Annex B roundtrip", case.name);

    // --- Access units: exactly ffmpeg's packets.
    let aus = read_aus(&data, u64::from(case.frames) * 104729);
    let probe_packets = packets(&raw);
    assert_eq!(aus.len(), probe_packets.len(), "{}: AU count", case.name);
    let flags: Vec<bool> = aus.iter().map(|a| a.keyframe).collect();
    let want_flags: Vec<bool> = probe_packets.iter().map(|p| p.1).collect();
    assert_eq!(flags, want_flags, "{}: keyframe flags", case.name);
    let last = aus.len() - 1;
    let ours_md5: Vec<String> = aus
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i < last {
                size_md5(&with_trailing_zero(&a.data))
            } else {
                size_md5(&a.data)
            }
        })
        .collect();
    assert_eq!(
        ours_md5,
        packet_md5s(&mp4),
        "{}: AU bytes vs MP4 samples",
        case.name
    );
    let in_band = HevcConfig::from_frame(&aus[0].data)
        .unwrap()
        .expect("parameter sets in the first AU");
    assert_eq!(
        &in_band.to_bytes()[..],
        theirs,
        "{}: hvcC from the first AU",
        case.name
    );
    for au in &aus {
        assert_eq!(weir_h265::is_keyframe(&au.data), au.keyframe);
    }

    // --- Parameter sets found in band (an RTSP camera without sprop-vps/sps/pps): the
    // first AU gives ffmpeg's hvcC, an AU without them gives nothing.
    let found =
        HevcConfig::from_access_unit(&aus[0].data).expect("VPS, SPS and PPS in the first AU");
    assert_eq!(
        &found.to_bytes()[..],
        theirs,
        "{}: hvcC from the first AU's parameter sets",
        case.name
    );
    if let Some(later) = aus.iter().skip(1).find(|a| !a.keyframe) {
        assert_eq!(
            HevcConfig::from_access_unit(&later.data),
            None,
            "{}",
            case.name
        );
    }

    // --- Timing from the hvcC: sps_max_num_reorder_pics (what ffmpeg's decoder uses as
    // has_b_frames) and the VUI frame rate.
    let timing = weir_h265::video_timing(theirs);
    assert_eq!(timing, parsed.video_timing());
    assert_eq!(
        timing.reorder_depth.to_string(),
        get("has_b_frames"),
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

const QUIET: &str = "log-level=none";

#[test]
fn main_320x240_open_gop() {
    weir_testutil::interop_or_skip!();
    // x265 defaults: B-frames with pyramid, open GOP (CRA keyframes after the first IDR).
    run(&Case {
        name: "main",
        size: "320x240",
        rate: "25",
        frames: 50,
        args: &["-x265-params", QUIET, "-g", "25"],
    });
}

#[test]
fn main10() {
    weir_testutil::interop_or_skip!();
    run(&Case {
        name: "main10",
        size: "320x240",
        rate: "30000/1001",
        frames: 30,
        args: &["-pix_fmt", "yuv420p10le", "-x265-params", QUIET, "-g", "15"],
    });
}

#[test]
fn odd_size_conformance_window_1918x1078() {
    weir_testutil::interop_or_skip!();
    run(&Case {
        name: "odd",
        size: "1918x1078",
        rate: "24",
        frames: 3,
        args: &["-preset", "ultrafast", "-x265-params", QUIET, "-g", "2"],
    });
}

#[test]
fn small_odd_size() {
    weir_testutil::interop_or_skip!();
    run(&Case {
        name: "tiny",
        size: "98x62",
        rate: "15",
        frames: 20,
        args: &[
            "-x265-params",
            "log-level=none:keyint=8:min-keyint=8:open-gop=0:repeat-headers=1",
            "-bf",
            "3",
        ],
    });
}

#[test]
fn rext_444_with_scaling_lists_and_multiple_slices() {
    weir_testutil::interop_or_skip!();
    let (sps, _) = run(&Case {
        name: "rext444",
        size: "320x240",
        rate: "25",
        frames: 20,
        args: &["-pix_fmt", "yuv444p", "-x265-params", "log-level=none:scaling-list=default:slices=3:aud=1:hrd=1:vbv-bufsize=1000:vbv-maxrate=800", "-g", "10"],
    });
    assert_eq!(sps.chroma_format_idc, 3);
    assert!(sps.scaling_list_enabled);
    assert!(sps
        .vui
        .as_ref()
        .and_then(|v| v.hrd.as_ref())
        .is_some_and(|h| h.nal_hrd));
}

#[test]
fn wavefront_temporal_layers() {
    weir_testutil::interop_or_skip!();
    let (sps, pps) = run(&Case {
        name: "wpp",
        size: "640x360",
        rate: "50",
        frames: 12,
        args: &[
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=none:wpp=1:temporal-layers=1:b-pyramid=1",
            "-bf",
            "3",
            "-g",
            "6",
        ],
    });
    assert!(pps.entropy_coding_sync_enabled);
    assert!(sps.max_sub_layers > 1);
}

/// An HM-format scaling list file with explicit (non-default) matrices for every list, so
/// the SPS carries `scaling_list_data()` with coefficients and DC values.
fn write_scaling_list_file(path: &std::path::Path) {
    let kinds = ["INTRA", "INTER"];
    let comps = ["LUMA", "CHROMAU", "CHROMAV"];
    let mut out = String::new();
    for (size_id, dim) in ["4X4", "8X8", "16X16", "32X32"].iter().enumerate() {
        let n = if size_id == 0 { 16 } else { 64 };
        for (k, kind) in kinds.iter().enumerate() {
            for (c, comp) in comps.iter().enumerate() {
                let name = format!("{kind}{dim}_{comp}");
                out.push_str(&format!("{name} =\n"));
                for i in 0..n {
                    out.push_str(&format!(
                        "{},",
                        16 + (i * 7 + (k * 3 + c) * 3 + size_id) % 40
                    ));
                    if i % 8 == 7 {
                        out.push('\n');
                    }
                }
                if size_id >= 2 {
                    out.push_str(&format!("{name}_DC =\n{},\n", 20 + k * 3 + c + size_id));
                }
            }
        }
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn explicit_scaling_lists() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("h265-sl");
    let file = dir.join("lists.txt");
    write_scaling_list_file(&file);
    let params = format!("log-level=none:scaling-list={}", file.display());
    let (sps, _) = run(&Case {
        name: "scaling",
        size: "320x240",
        rate: "25",
        frames: 10,
        args: &["-x265-params", &params, "-g", "5"],
    });
    assert!(sps.scaling_list_enabled && sps.scaling_list_data_present);
}

#[test]
fn reassembled_stream_decodes_identically() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("h265-decode");
    let raw = encode(
        &dir,
        "s.hevc",
        "320x240",
        "25",
        30,
        &["-c:v", "libx265", "-x265-params", QUIET, "-g", "12"],
        "hevc",
    );
    let data = std::fs::read(&raw).unwrap();
    let aus = read_aus(&data, 7);
    let mut out = BytesMut::new();
    for au in &aus {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&weir_h265::AUD);
        nal::length_prefixed_to_annexb(&au.data, 4, &mut out).unwrap();
    }
    let ours = dir.join("ours.hevc");
    std::fs::write(&ours, &out).unwrap();
    let a = decoded_video_md5(&raw, &[]);
    assert_eq!(a.len(), 30);
    assert_eq!(a, decoded_video_md5(&ours, &[]));
    assert_eq!(packets(&ours).len(), aus.len());
}
