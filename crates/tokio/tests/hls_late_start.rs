//! HLS read live by ffmpeg from a late start. A real ffmpeg publisher (`-re`) sends a
//! stream over RTMP or RTSP; 3 s later an ffmpeg HLS player opens the playlist and decodes
//! whatever it gets for 7 s of wall clock. The player must keep up with the stream (the
//! same pace for every codec and track layout) and its pictures must be a bit-exact run of
//! the source's, starting at a keyframe.
//!
//! Guards the HLS delivery item of issue #11: players of video-only H.264 and of
//! H.265+AAC streams were reported to stall in their second segment (about 59 pictures in
//! this window, against 107 for H.264+AAC).

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
/// Source length: longer than join + read, so the stream is still live when the player
/// stops (an ended stream lets a stalled player catch up at once and hides the stall).
const SOURCE_SECONDS: u32 = 14;
const FPS: usize = 25;
/// Keyframe interval of every source, in pictures (1 s).
const GOP: usize = 25;
/// HLS target duration (the relay's default).
const TARGET: Duration = Duration::from_secs(2);
/// How long a listed segment may wait for the player: ffmpeg reloads the playlist one
/// segment duration after its last load, and half a target duration after a reload that
/// found nothing new; plus slack for a busy machine.
const FETCH_WITHIN: Duration = Duration::from_millis(1500);
/// Pictures still inside the player when it stops (the demuxer and parser hold the last
/// one, B-frame reordering two more; the player decodes on one thread, so no frame
/// threads add to it).
const IN_FLIGHT: usize = 10;
/// How far the newest listed segment may end behind the publisher: the segment being
/// built (up to a target duration, the cut waits for the keyframe that ends it), plus the
/// publisher's start-up and slack.
const LIVE_EDGE_LAG: Duration = Duration::from_secs(3);

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

/// The source: 320x240 at 25 fps, a keyframe every 25 pictures. H.264 (with B-frames)
/// and AAC in FLV from the shared helper, without its audio for the video-only layout;
/// H.265 and AAC in Matroska (ffmpeg 5.1 cannot put HEVC in FLV).
fn source(dir: &TempDir, layout: Layout) -> PathBuf {
    match layout {
        Layout::H264Aac => make_source(dir, "src.flv", SOURCE_SECONDS, &[]),
        Layout::H264Only => {
            let av = make_source(dir, "av.flv", SOURCE_SECONDS, &[]);
            let out = dir.join("src.flv");
            weir_testutil::ffmpeg([
                "-i",
                av.to_str().unwrap(),
                "-an",
                "-c",
                "copy",
                "-f",
                "flv",
                out.to_str().unwrap(),
            ]);
            out
        }
        Layout::H265Aac => {
            let out = dir.join("src.mkv");
            let t = SOURCE_SECONDS.to_string();
            weir_testutil::ffmpeg([
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=25",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=44100",
                "-t",
                &t,
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "bframes=0:keyint=25:min-keyint=25:log-level=none",
                "-c:a",
                "aac",
                "-b:a",
                "64k",
                "-fflags",
                "+bitexact",
                "-flags:v",
                "+bitexact",
                "-f",
                "matroska",
                out.to_str().unwrap(),
            ]);
            out
        }
    }
}

/// Publishes `src` in real time over RTMP (the shared helper) or RTSP over TCP.
fn publish(relay: &TestRelay, key: &str, src: &Path, ingest: Ingest) -> Child {
    match ingest {
        Ingest::Rtmp => push(src, &relay.rtmp_url(key)),
        Ingest::RtspTcp => ffmpeg_child(&[
            "-re".into(),
            "-i".into(),
            src.display().to_string(),
            "-c".into(),
            "copy".into(),
            "-f".into(),
            "rtsp".into(),
            "-rtsp_transport".into(),
            "tcp".into(),
            relay.rtsp_url(key),
        ]),
    }
}

/// An ffmpeg HLS player decoding the first video stream of `url`, writing one framemd5
/// line per picture to stdout as soon as it is decoded. Killed when dropped.
fn hls_player(url: &str) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args([
            "-i", url, "-map", "0:v:0", "-threads", "1", "-f", "framemd5",
        ])
        .args(["-flush_packets", "1", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ffmpeg player")
}

/// The player's pictures (decoded MD5s, in output order) until `deadline` or its exit.
async fn read_pictures(player: &mut Child, deadline: Instant) -> Vec<String> {
    let stdout = player.stdout.take().expect("player stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut md5s = Vec::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout_at(deadline, lines.next_line()).await {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        md5s.push(line.rsplit(',').next().unwrap_or("").trim().to_string());
    }
    md5s
}

/// Everything a child wrote to stderr so far (after it was killed or exited).
async fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = tokio::time::timeout(Duration::from_secs(5), e.read_to_string(&mut err)).await;
    }
    err
}

/// What the relay listed over time: each segment's media sequence number, its `EXTINF`
/// and when the playlist first listed it.
#[derive(Debug, Default)]
struct Listing {
    segments: std::collections::BTreeMap<u64, (f64, Duration)>,
}

/// Polls the playlist of `key` (every 100 ms) until `until`, recording when each segment
/// first appears (relative to `t0`).
async fn watch_playlist(
    http: std::net::SocketAddr,
    key: String,
    t0: Instant,
    until: Instant,
) -> Listing {
    let mut listing = Listing::default();
    while Instant::now() < until {
        let (code, _, body) = http_get(http, &format!("/{key}/index.m3u8")).await;
        if code == 200 {
            let text = String::from_utf8_lossy(&body);
            let mut seq = None;
            let mut dur = None;
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
                    seq = v.trim().parse::<u64>().ok();
                } else if let Some(v) = line.strip_prefix("#EXTINF:") {
                    dur = v.trim_end_matches(',').parse::<f64>().ok();
                } else if !line.starts_with('#') && !line.trim().is_empty() {
                    if let (Some(n), Some(d)) = (seq, dur.take()) {
                        listing.segments.entry(n).or_insert((d, t0.elapsed()));
                    }
                    seq = seq.map(|n| n + 1);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    listing
}

async fn late_start(layout: Layout, ingest: Ingest) {
    let name = format!("{layout:?} from {ingest:?}");
    let dir = TempDir::new(&format!("hls-late-{layout:?}-{ingest:?}"));
    let src = source(&dir, layout);
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    assert_eq!(want.len(), SOURCE_SECONDS as usize * FPS, "{name}: source");
    let mut config = test_config();
    config.hls.target_duration = TARGET;
    let relay = TestRelay::start(config).await;
    let key = "live/late";

    let started = Instant::now();
    let mut publisher = publish(&relay, key, &src, ingest);
    // The scenario: a player arriving 3 s into the stream (a scripted delay, not a wait
    // for some condition).
    tokio::time::sleep_until(started + JOIN_AFTER).await;
    if let Ok(Some(status)) = publisher.try_wait() {
        let err = stderr_of(&mut publisher).await;
        panic!("{name}: the publisher exited early ({status}): {err}");
    }
    let url = format!("http://{}/{key}/index.m3u8", relay.http);
    let mut player = hls_player(&url);
    let joined = Instant::now();
    let stop = joined + READ_FOR;
    let watcher = tokio::spawn(watch_playlist(relay.http, key.to_string(), joined, stop));
    let got = read_pictures(&mut player, stop).await;
    let _ = player.kill().await;
    let err = stderr_of(&mut player).await;
    let publisher_alive = matches!(publisher.try_wait(), Ok(None));
    let listing = watcher.await.expect("playlist watcher");
    let _ = publisher.kill().await;
    assert!(
        publisher_alive,
        "{name}: the publisher ended before the player stopped reading"
    );

    assert!(
        !got.is_empty(),
        "{name}: the player got no picture; its stderr: {err}"
    );
    let start = want
        .iter()
        .position(|m| *m == got[0])
        .unwrap_or_else(|| panic!("{name}: the first picture is not the source's"));
    assert_eq!(
        start % GOP,
        0,
        "{name}: starts at source picture #{start}, not a keyframe"
    );
    if let Some(i) = (0..got.len()).find(|&i| want.get(start + i) != Some(&got[i])) {
        panic!(
            "{name}: picture {i} of the player is not source picture #{} (run from #{start})",
            start + i
        );
    }
    let last = start + got.len() - 1;
    let timeline: Vec<String> = listing
        .segments
        .iter()
        .map(|(n, (d, at))| format!("#{n} {d:.3} s listed at {:.2} s", at.as_secs_f64()))
        .collect();
    eprintln!(
        "{name}: {} pictures (source #{start}..#{last}) in {READ_FOR:?}; segments: {}",
        got.len(),
        timeline.join(", ")
    );
    // The player started with the first segment of the segmenter its request started.
    assert_eq!(
        listing.segments.keys().next(),
        Some(&0),
        "{name}: segments {timeline:?}"
    );
    // The relay keeps cutting segments in real time: the newest one listed ends (in source
    // time) within a few seconds of where the publisher is.
    let listed: f64 = listing.segments.values().map(|(d, _)| d).sum();
    let edge = start as f64 / FPS as f64 + listed;
    let publisher_at = (JOIN_AFTER + READ_FOR).as_secs_f64();
    assert!(
        edge >= publisher_at - LIVE_EDGE_LAG.as_secs_f64(),
        "{name}: the newest segment ends at {edge:.2} s of the source while the publisher \
         is at about {publisher_at:.0} s: the relay fell behind; segments: {timeline:?}"
    );
    // The player keeps up with the relay: it got every picture of every segment listed
    // long enough before it stopped.
    let due: f64 = listing
        .segments
        .values()
        .filter(|(_, at)| *at + FETCH_WITHIN <= READ_FOR)
        .map(|(d, _)| d)
        .sum();
    let due = (due * FPS as f64).round() as usize;
    assert!(
        got.len() + IN_FLIGHT >= due,
        "{name}: the player decoded {} pictures (source #{start}..#{last}) of the {due} in \
         the segments listed {FETCH_WITHIN:?} before it stopped: it stalled; segments: \
         {timeline:?}; its stderr: {err}",
        got.len()
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
