//! HLS read live by ffmpeg from a late start: a real ffmpeg publisher (`-re`) sends a
//! stream over RTMP or RTSP; 3 s later an ffmpeg HLS player opens the playlist and decodes
//! what it gets for 7 s of wall clock. The player must keep up with the stream (real-time
//! pace, the same for every codec and track layout) and its pictures must be a bit-exact
//! run of the source's, starting at a keyframe.
//!
//! Regression test for issue #11: video-only H.264 and H.265+AAC streams used to stall the
//! player in its second segment (about 59 pictures in the window, against 107 for
//! H.264+AAC).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;
use weir_testutil::{interop_or_skip, TempDir};

/// The player opens the playlist this long after the publisher starts.
const JOIN_AFTER: Duration = Duration::from_secs(3);
/// How long the player reads.
const READ_FOR: Duration = Duration::from_secs(7);
/// Source length: longer than the test window, so the stream is still live when the
/// player stops (a stream that ends lets a player catch up at once and hides a stall).
const SOURCE_SECONDS: u32 = 14;
const FPS: usize = 25;
const GOP: usize = 25;
/// HLS target duration (the relay's default).
const TARGET: Duration = Duration::from_secs(2);

#[derive(Copy, Clone, Debug, PartialEq)]
enum Layout {
    H264Aac,
    H264Only,
    H265Aac,
}

#[derive(Copy, Clone, Debug, PartialEq)]
enum Ingest {
    Rtmp,
    RtspTcp,
}

/// Makes the source: 320x240 at 25 fps with a keyframe every 25 pictures, H.264 with
/// B-frames (or H.265), AAC unless video-only. FLV for H.264, Matroska for H.265 (ffmpeg
/// 5.1 cannot put HEVC in FLV).
fn source(dir: &TempDir, layout: Layout) -> PathBuf {
    let t = SOURCE_SECONDS.to_string();
    let mut args: Vec<&str> = vec!["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"];
    if layout != Layout::H264Only {
        args.extend(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]);
    }
    args.extend(["-t", &t, "-pix_fmt", "yuv420p"]);
    match layout {
        Layout::H265Aac => args.extend([
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "bframes=0:keyint=25:min-keyint=25:log-level=none",
        ]),
        _ => args.extend([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            "2",
            "-x264-params",
            "bframes=2:b-adapt=0",
        ]),
    }
    if layout != Layout::H264Only {
        args.extend(["-c:a", "aac", "-b:a", "64k"]);
    }
    args.extend(["-fflags", "+bitexact", "-flags:v", "+bitexact"]);
    let out = match layout {
        Layout::H265Aac => dir.join("src.mkv"),
        _ => dir.join("src.flv"),
    };
    let fmt = if layout == Layout::H265Aac {
        "matroska"
    } else {
        "flv"
    };
    let path = out.display().to_string();
    args.extend(["-f", fmt, &path]);
    weir_testutil::ffmpeg(&args);
    out
}

/// Publishes `src` in real time over RTMP or RTSP (TCP interleaved).
fn publish(relay: &TestRelay, key: &str, src: &Path, ingest: Ingest) -> Child {
    let mut args: Vec<String> = vec![
        "-re".into(),
        "-i".into(),
        src.display().to_string(),
        "-c".into(),
        "copy".into(),
    ];
    match ingest {
        Ingest::Rtmp => args.extend(["-f".into(), "flv".into(), relay.rtmp_url(key)]),
        Ingest::RtspTcp => args.extend([
            "-f".into(),
            "rtsp".into(),
            "-rtsp_transport".into(),
            "tcp".into(),
            relay.rtsp_url(key),
        ]),
    }
    ffmpeg_child(&args)
}

/// An ffmpeg HLS player decoding the first video stream of `url`, printing one framemd5
/// line per picture on stdout as soon as it is decoded. Killed when dropped.
fn hls_player(url: &str) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-i", url, "-map", "0:v:0", "-f", "framemd5"])
        .args(["-flush_packets", "1", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ffmpeg player")
}

/// Reads the player's pictures (decoded MD5s, in output order) until `deadline`.
async fn read_pictures(player: &mut Child, deadline: Instant) -> Vec<String> {
    let stdout = player.stdout.take().expect("player stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut md5s = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Err(_) => break,                    // the window is over
            Ok(Ok(None)) | Ok(Err(_)) => break, // the player exited
            Ok(Ok(Some(line))) => {
                if line.starts_with('#') || line.trim().is_empty() {
                    continue;
                }
                md5s.push(line.rsplit(',').next().unwrap_or("").trim().to_string());
            }
        }
    }
    md5s
}

/// The fewest pictures a player reading in real time gets in the window. It joins at
/// `JOIN_AFTER` and starts at the stream's last keyframe; an HLS player runs behind the
/// live edge by up to a segment being built, plus up to a target duration before its next
/// playlist reload sees a new segment, plus startup. So over `READ_FOR` it gets at least
/// `READ_FOR - 2 * TARGET` of media, minus a second of slack for a loaded machine:
/// 7 s - 4 s - 1 s = 2 s = 50 pictures beyond the first segment's... counted from the
/// join, every picture of the first segment too (it starts at the GOP cache), i.e. at least
/// the first segment (2 s) plus 2 s: 100 pictures.
const MIN_PICTURES: usize = 100;

async fn late_start(layout: Layout, ingest: Ingest) {
    let name = format!("{layout:?}-{ingest:?}");
    let dir = TempDir::new(&format!("hls-late-{name}"));
    let src = source(&dir, layout);
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    assert_eq!(want.len(), SOURCE_SECONDS as usize * FPS, "{name}: source");
    let mut config = test_config();
    config.hls.target_duration = TARGET;
    let relay = TestRelay::start(config).await;
    let key = "live/late";

    let started = Instant::now();
    let mut publisher = publish(&relay, key, &src, ingest);
    // The scenario: the player arrives 3 s into the stream.
    tokio::time::sleep_until(started + JOIN_AFTER).await;
    if let Ok(Some(status)) = publisher.try_wait() {
        let mut err = String::new();
        if let Some(mut e) = publisher.stderr.take() {
            let _ = e.read_to_string(&mut err).await;
        }
        panic!("{name}: publisher exited early ({status}): {err}");
    }
    let url = format!("http://{}/{key}/index.m3u8", relay.http);
    let mut player = hls_player(&url);
    let joined = Instant::now();
    let got = read_pictures(&mut player, joined + READ_FOR).await;
    let _ = player.kill().await;
    let mut err = String::new();
    if let Some(mut e) = player.stderr.take() {
        let _ = e.read_to_string(&mut err).await;
    }
    let _ = publisher.kill().await;

    assert!(
        !got.is_empty(),
        "{name}: the player got no picture; stderr: {err}"
    );
    let start = want
        .iter()
        .position(|m| *m == got[0])
        .unwrap_or_else(|| panic!("{name}: the first picture is not in the source"));
    assert_eq!(
        start % GOP,
        0,
        "{name}: starts at source picture {start}, not a keyframe"
    );
    let end = (start + got.len()).min(want.len());
    assert_eq!(
        got,
        want[start..end].to_vec(),
        "{name}: pictures from source #{start} are not the source's"
    );
    eprintln!(
        "{name}: {} pictures in {READ_FOR:?} (source #{start}..#{})",
        got.len(),
        start + got.len() - 1
    );
    assert!(
        got.len() >= MIN_PICTURES,
        "{name}: {} pictures (source #{start}..#{}) in {READ_FOR:?}: the player fell behind \
         real time (at least {MIN_PICTURES} expected); stderr: {err}",
        got.len(),
        start + got.len() - 1
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_aac_from_rtmp() {
    interop_or_skip!();
    late_start(Layout::H264Aac, Ingest::Rtmp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_video_only_from_rtmp() {
    interop_or_skip!();
    late_start(Layout::H264Only, Ingest::Rtmp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_video_only_from_rtsp() {
    interop_or_skip!();
    late_start(Layout::H264Only, Ingest::RtspTcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_aac_from_rtsp() {
    interop_or_skip!();
    late_start(Layout::H265Aac, Ingest::RtspTcp).await;
}
