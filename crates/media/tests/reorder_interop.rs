//! `DtsGenerator` against real encoders: libx264 and libx265 with B-frames encode to MP4,
//! ffprobe lists each packet's pts/dts in decoding order, and the generator, fed only the
//! pts and the reorder depth read from the stream's own SPS, must give the same dts for
//! every packet (exactly: ffmpeg's MP4 demuxer keeps x264's/x265's dts, which start
//! `depth` frames before the first pts, as ours do, so no alignment is needed).

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use weir_media::reorder::{h264_reorder_depth, h265_reorder_depth, DtsEvent, DtsGenerator};
use weir_media::{nal, Timebase, Timestamp};
use weir_testutil::{ffmpeg, ffprobe, TempDir};

/// `(pts, dts)` of every video packet in file (= decoding) order, and the stream timebase.
fn packets(path: &Path) -> (Vec<(i64, i64)>, Timebase) {
    let tb = ffprobe([
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=time_base",
        "-of",
        "csv=p=0",
        path.to_str().unwrap(),
    ]);
    let (num, den) = tb.trim().split_once('/').expect("time_base n/d");
    let tb = Timebase::new(num.parse().unwrap(), den.parse().unwrap()).unwrap();
    let text = ffprobe([
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts,dts",
        "-of",
        "csv=p=0",
        path.to_str().unwrap(),
    ]);
    let pkts = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (p, d) = l.trim().split_once(',').expect("pts,dts");
            (p.parse().unwrap(), d.parse().unwrap())
        })
        .collect();
    (pkts, tb)
}

/// The Annex B elementary stream of `mp4` (stream copy).
fn elementary(dir: &TempDir, mp4: &Path, format: &str) -> Bytes {
    let out = dir.join(&format!("es.{format}"));
    ffmpeg([
        "-i",
        mp4.to_str().unwrap(),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-f",
        format,
        out.to_str().unwrap(),
    ]);
    Bytes::from(std::fs::read(out).unwrap())
}

fn encode(dir: &TempDir, codec_args: &[&str]) -> std::path::PathBuf {
    let out = dir.join("enc.mp4");
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-frames:v",
        "75",
        "-g",
        "25",
    ];
    args.extend_from_slice(codec_args);
    args.extend_from_slice(&["-bitexact", out.to_str().unwrap()]);
    ffmpeg(&args);
    out
}

/// Feeds the pts to a generator and checks every dts against ffmpeg's.
fn check(pkts: &[(i64, i64)], tb: Timebase, depth: u32, what: &str) {
    assert!(pkts.len() >= 70, "{what}: {} packets", pkts.len());
    // 25 fps: the nominal duration the relay would take from the SPS VUI timing / SDP.
    let mut gen = DtsGenerator::new(depth, Duration::from_millis(40));
    let mut reordered = 0;
    for (i, &(pts, dts)) in pkts.iter().enumerate() {
        let (ours, event) = gen.step(Timestamp::new(pts, tb));
        assert_eq!(event, DtsEvent::None, "{what}: packet {i}");
        assert_eq!(ours.ticks(), dts, "{what}: packet {i} (pts {pts})");
        if pts != dts {
            reordered += 1;
        }
    }
    assert!(reordered > 0);
    // The comparison can tell depths apart: one more gives different dts.
    let mut deeper = DtsGenerator::new(depth + 1, Duration::from_millis(40));
    assert!(pkts
        .iter()
        .any(|&(p, d)| deeper.next_dts(Timestamp::new(p, tb)).ticks() != d));
    // The stream really has B-frames out of order when depth > 0.
    if depth > 0 {
        assert!(
            pkts.windows(2).any(|w| w[1].0 < w[0].0),
            "{what}: no reordering in the encode"
        );
    }
}

fn h264_depth(es: &Bytes) -> u32 {
    let sps = nal::annexb_nalus(es)
        .find(|n| n.first().is_some_and(|h| h & 0x1f == 7))
        .expect("SPS in stream");
    let sps = weir_h264::Sps::parse(&sps).expect("SPS parses");
    let reorder = sps
        .vui
        .as_ref()
        .and_then(|v| v.bitstream_restriction)
        .map(|b| b.max_num_reorder_frames);
    h264_reorder_depth(sps.profile_idc, reorder)
}

#[test]
fn libx264_b_pyramid_dts_match_ffmpeg() {
    weir_testutil::interop_or_skip!();
    for (args, expected_depth) in [
        // --bframes 3 --b-pyramid normal: x264 signals max_num_reorder_frames = 2.
        (
            vec![
                "-c:v",
                "libx264",
                "-bf",
                "3",
                "-b-pyramid",
                "normal",
                "-threads",
                "1",
            ],
            2,
        ),
        // Plain B-frames, no pyramid: depth 1.
        (
            vec![
                "-c:v",
                "libx264",
                "-bf",
                "2",
                "-b-pyramid",
                "none",
                "-threads",
                "1",
            ],
            1,
        ),
        // Baseline: no B-frames, dts = pts.
        (
            vec!["-c:v", "libx264", "-profile:v", "baseline", "-threads", "1"],
            0,
        ),
    ] {
        let dir = TempDir::new("media-reorder-x264");
        let mp4 = encode(&dir, &args);
        let es = elementary(&dir, &mp4, "h264");
        let depth = h264_depth(&es);
        assert_eq!(depth, expected_depth, "{args:?}");
        let (pkts, tb) = packets(&mp4);
        if depth == 0 {
            assert!(pkts.iter().all(|(p, d)| p == d));
            let mut gen = DtsGenerator::new(0, Duration::from_millis(40));
            for &(p, d) in &pkts {
                assert_eq!(gen.next_dts(Timestamp::new(p, tb)).ticks(), d);
            }
        } else {
            check(&pkts, tb, depth, &format!("{args:?}"));
        }
    }
}

#[test]
fn libx265_b_pyramid_dts_match_ffmpeg() {
    weir_testutil::interop_or_skip!();
    let probe = {
        let mut c = std::process::Command::new("ffmpeg");
        c.args(["-hide_banner", "-h", "encoder=libx265"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        let mut g = weir_testutil::ChildGuard::spawn(&mut c);
        g.capture_stdout();
        g.finish(weir_testutil::TOOL_TIMEOUT)
            .stdout
            .contains("libx265")
    };
    if !probe {
        eprintln!("SKIPPED: ffmpeg has no libx265");
        return;
    }
    let dir = TempDir::new("media-reorder-x265");
    let mp4 = encode(
        &dir,
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "bframes=3:b-pyramid=1:log-level=error:pools=1:frame-threads=1",
        ],
    );
    let es = elementary(&dir, &mp4, "hevc");
    let sps = nal::annexb_nalus(&es)
        .find(|n| n.first().is_some_and(|h| (h >> 1) & 0x3f == 33))
        .expect("SPS in stream");
    let sps = weir_h265::Sps::parse(&sps).expect("SPS parses");
    let depth = h265_reorder_depth(sps.max_num_reorder_pics());
    assert_eq!(depth, 2, "x265 with B-pyramid signals 2");
    let (pkts, tb) = packets(&mp4);
    check(&pkts, tb, depth, "libx265");
}
