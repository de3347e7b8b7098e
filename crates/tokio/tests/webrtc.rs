//! WebRTC (WHEP play, WHIP publish) against real peers: a str0m client in the test, ffmpeg
//! publishing over RTSP and playing back over RTMP/RTSP/HLS, and headless Chromium
//! (tests/browser/*.js through playwright-core).
#![cfg(feature = "webrtc")]

#[path = "webrtc/client.rs"]
mod client;
mod common;
mod wait;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use client::{http, Client};
use common::TestRelay;
use str0m::media::Direction;
use str0m::Event;
use weir_media::{nal, Codec, Frame};
use weir_testutil::{interop_or_skip, TempDir};
use weir_tokio::RelayConfig;

/// A relay with everything on 127.0.0.1, WebRTC included.
async fn relay() -> TestRelay {
    let mut c = common::test_config();
    c.webrtc.connect_timeout = Duration::from_secs(5);
    TestRelay::start(c).await
}

/// H.264 (no B-frames, GOP 25) + Opus (48 kHz) in MP4, `seconds` long.
fn make_mp4(dir: &TempDir, name: &str, seconds: u32) -> PathBuf {
    let out = dir.join(name);
    let t = seconds.to_string();
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &t,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-bf",
        "0",
        "-g",
        "25",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "libopus",
        "-b:a",
        "64k",
        "-f",
        "mp4",
        &out.display().to_string(),
    ]);
    out
}

/// The frames of an MP4 file per track: (codec, frames in decode order).
fn mp4_frames(path: &Path) -> Vec<(Codec, Vec<Frame>)> {
    let data = Bytes::from(std::fs::read(path).unwrap());
    let mut d = weir_mp4::MemoryDemuxer::new(data, weir_mp4::DemuxConfig::default()).unwrap();
    let mut out: Vec<(Codec, Vec<Frame>)> =
        d.tracks().iter().map(|t| (t.codec, Vec::new())).collect();
    let ids: Vec<_> = d.tracks().iter().map(|t| t.id).collect();
    while let Some(f) = d.next_frame().unwrap() {
        if let Some(i) = ids.iter().position(|id| *id == f.track) {
            out[i].1.push(f);
        }
    }
    out
}

/// The NAL units of an access unit other than parameter sets and delimiters (which the
/// relay may put before keyframes).
fn picture_nalus(nalus: impl Iterator<Item = Bytes>) -> Vec<Bytes> {
    nalus
        .filter(|n| !matches!(n.first().map(|b| b & 0x1F), Some(7..=9)))
        .collect()
}

/// [`picture_nalus`] of a canonical H.264 frame (4-byte length prefixes).
fn frame_picture_nalus(f: &Frame) -> Vec<Bytes> {
    picture_nalus(nal::length_prefixed_nalus(&f.data, 4).unwrap().flatten())
}

/// Asserts that `got` is a run of consecutive entries of `want` (at least `min` long).
fn assert_run<T: PartialEq + std::fmt::Debug>(what: &str, want: &[T], got: &[T], min: usize) {
    assert!(
        got.len() >= min,
        "{what}: only {} received (want ≥ {min})",
        got.len()
    );
    let start = want
        .iter()
        .position(|w| *w == got[0])
        .unwrap_or_else(|| panic!("{what}: the first received unit is not in the source"));
    for (i, g) in got.iter().enumerate() {
        assert_eq!(
            Some(g),
            want.get(start + i),
            "{what}: unit {i} after source unit {start} differs"
        );
    }
}

async fn wait_tracks(relay: &TestRelay, key: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if relay.hub.stream(key).is_some_and(|s| s.tracks.len() >= n) {
            return;
        }
        assert!(Instant::now() < deadline, "{key} never had {n} tracks");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a WHEP player got: (video AUs as NAL lists with their RTP times, Opus packets with
/// theirs).
type WhepMedia = (Vec<(u64, Vec<Bytes>)>, Vec<(u64, Bytes)>);

/// Plays `key` over WHEP for `dur` after connecting.
async fn whep_collect(http_addr: SocketAddr, key: &str, dur: Duration) -> WhepMedia {
    let mut c = Client::open_av(http_addr, key, Direction::RecvOnly).await;
    let mut video = Vec::new();
    let mut audio = Vec::new();
    let mut take = |events: Vec<Event>, c: &Client| {
        for e in events {
            if let Event::MediaData(m) = e {
                let data = Bytes::copy_from_slice(&m.data);
                if Some(m.mid) == c.video {
                    let nalus = picture_nalus(nal::annexb_nalus(&data));
                    video.push((m.time.numer(), nalus));
                } else if Some(m.mid) == c.audio {
                    audio.push((m.time.numer(), data));
                }
            }
        }
    };
    let ev = c.wait_connected(Duration::from_secs(10)).await;
    take(ev, &c);
    let ev = c.run_until(Instant::now() + dur).await;
    take(ev, &c);
    c.delete(http_addr, "WHEP").await;
    (video, audio)
}

/// What [`whep_collect`] got is the source's: the pictures a run of `want_video` (at least
/// 60) one frame apart, the Opus packets a run of `want_audio` (at least 100) in advancing
/// RTP time.
fn assert_whep_media((video, audio): &WhepMedia, want_video: &[Vec<Bytes>], want_audio: &[Bytes]) {
    let got_video: Vec<Vec<Bytes>> = video.iter().map(|(_, n)| n.clone()).collect();
    assert_run("H.264 access units", want_video, &got_video, 60);
    // Timestamps advance by one frame (3600 ticks at 90 kHz, 25 fps).
    for w in video.windows(2) {
        assert_eq!(w[1].0 - w[0].0, 3600, "video RTP time step");
    }
    let got_audio: Vec<Bytes> = audio.iter().map(|(_, d)| d.clone()).collect();
    assert_run("Opus packets", want_audio, &got_audio, 100);
    for w in audio.windows(2) {
        assert!(w[1].0 > w[0].0, "audio RTP time advances");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whep_plays_an_rtsp_published_stream_bit_exact() {
    interop_or_skip!();
    let dir = TempDir::new("webrtc-whep");
    let src = make_mp4(&dir, "src.mp4", 12);
    let tracks = mp4_frames(&src);
    let relay = relay().await;
    let key = "live/whep";
    let _pub = common::ffmpeg_child(&[
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
    ]);
    wait_tracks(&relay, key, 2).await;
    let got = whep_collect(relay.http, key, Duration::from_secs(4)).await;

    let frames_of = |codec: Codec| &tracks.iter().find(|(c, _)| *c == codec).unwrap().1;
    let want_video: Vec<Vec<Bytes>> = frames_of(Codec::H264)
        .iter()
        .map(frame_picture_nalus)
        .collect();
    let want_audio: Vec<Bytes> = frames_of(Codec::Opus)
        .iter()
        .map(|f| f.data.clone())
        .collect();
    assert_whep_media(&got, &want_video, &want_audio);
    relay.stop().await;
}

/// WHEP of an H.264 + Opus stream published over (enhanced) RTMP — what OBS 30+ and
/// ffmpeg 6.1+ send (ffmpeg 5.1 here cannot, so weir's RTMP client publishes): picture NAL
/// units and Opus packets reach the WebRTC player unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whep_plays_an_rtmp_enhanced_h264_opus_stream_bit_exact() {
    interop_or_skip!();
    let dir = TempDir::new("webrtc-whep-rtmp-opus");
    let src = common::media_source(&dir, Codec::H264, Codec::Opus, false, 12);
    let relay = relay().await;
    let key = "live/whep-opus";
    // The publisher runs in real time beside the player (12 s); both in this task.
    let play = async {
        wait_tracks(&relay, key, 2).await;
        whep_collect(relay.http, key, Duration::from_secs(4)).await
    };
    let ((), got) = tokio::join!(common::rtmp_publish(&relay, key, &src), play);

    let want_video: Vec<Vec<Bytes>> = src
        .frames
        .iter()
        .filter(|f| f.track == src.video.id)
        .map(frame_picture_nalus)
        .collect();
    assert_whep_media(&got, &want_video, &src.audio_units);
    relay.stop().await;
}

#[tokio::test]
async fn whep_refusals() {
    let mut c = common::test_config();
    c.play_wait = Duration::from_millis(200);
    let relay = TestRelay::start_with_auth(
        c,
        weir_tokio::AuthHook::from_fn(|r| r.query.as_deref() != Some("token=bad")),
    )
    .await;
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n";
    let sdp = [("Content-Type", "application/sdp")];
    // No stream.
    let r = http(
        relay.http,
        "POST",
        "/live/none/whep",
        &sdp,
        offer.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 404);
    // Refused by the hook: nothing created.
    let r = http(
        relay.http,
        "POST",
        "/live/none/whep?token=bad",
        &sdp,
        offer.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = http(
        relay.http,
        "POST",
        "/live/none/whip",
        &[
            ("Content-Type", "application/sdp"),
            ("Authorization", "Bearer bad"),
        ],
        offer.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403, "the bearer token reaches the hook");
    assert!(relay.hub.sessions().is_empty());
    // Junk and wrong types.
    let r = http(relay.http, "POST", "/live/x/whip", &sdp, b"hello").await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let r = http(
        relay.http,
        "POST",
        "/live/x/whip",
        &[("Content-Type", "text/plain")],
        offer.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 415);
    let big = vec![b'a'; 1 << 20];
    let r = http(relay.http, "POST", "/live/x/whip", &sdp, &big).await;
    assert_eq!(r.status, 413);
    let data_only = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
    let r = http(
        relay.http,
        "POST",
        "/live/x/whip",
        &sdp,
        data_only.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 406, "{}", String::from_utf8_lossy(&r.body));
    // OPTIONS.
    let r = http(relay.http, "OPTIONS", "/live/x/whep", &[], b"").await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("accept-post").as_deref(), Some("application/sdp"));
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("patch"));
    // Unknown resources.
    let r = http(
        relay.http,
        "DELETE",
        "/live/x/whep/0123456789abcdef",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 404);
    relay.stop().await;
}

#[allow(dead_code)]
fn _unused(_: RelayConfig) {}

/// Annex B of a canonical H.264 frame, with `ps` (SPS and PPS) before keyframes, as a
/// browser sends it.
fn annexb(f: &Frame, ps: &[u8]) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    if f.keyframe {
        out.extend_from_slice(ps);
    }
    nal::length_prefixed_to_annexb(&f.data, 4, &mut out).unwrap();
    out.to_vec()
}

/// Publishes the MP4 `src` over WHIP at real-time pace for `dur` with a str0m client.
async fn whip_publish(http_addr: SocketAddr, key: &str, src: &Path, dur: Duration) {
    let data = Bytes::from(std::fs::read(src).unwrap());
    let d = weir_mp4::MemoryDemuxer::new(data, weir_mp4::DemuxConfig::default()).unwrap();
    let avcc = d
        .tracks()
        .iter()
        .find(|t| t.codec == Codec::H264)
        .unwrap()
        .config
        .clone();
    let ps = weir_h264::AvcConfig::parse(&avcc).unwrap().to_annexb();
    let tracks = mp4_frames(src);
    let mut frames: Vec<(bool, Frame)> = Vec::new();
    for (codec, list) in &tracks {
        frames.extend(list.iter().map(|f| (*codec == Codec::H264, f.clone())));
    }
    frames.sort_by_key(|(_, f)| f.dts.rescale(weir_media::Timebase::MICROS).ticks());
    let mut c = Client::open_av(http_addr, key, Direction::SendOnly).await;
    c.wait_connected(Duration::from_secs(10)).await;
    let (vmid, amid) = (c.video.unwrap(), c.audio.unwrap());
    let pt_of = |c: &mut Client, mid, codec| {
        c.rtc
            .writer(mid)
            .unwrap()
            .payload_params()
            .find(|p| {
                p.spec().codec == codec
                    && (codec != str0m::format::Codec::H264
                        || p.spec().format.packetization_mode == Some(1))
            })
            .map(|p| p.pt())
            .expect("negotiated payload type")
    };
    let vpt = pt_of(&mut c, vmid, str0m::format::Codec::H264);
    let apt = pt_of(&mut c, amid, str0m::format::Codec::Opus);
    let start = Instant::now();
    let t0 = frames[0]
        .1
        .dts
        .rescale(weir_media::Timebase::MICROS)
        .ticks();
    for (video, f) in frames {
        let at = Duration::from_micros(
            (f.dts.rescale(weir_media::Timebase::MICROS).ticks() - t0) as u64,
        );
        if at > dur {
            break;
        }
        c.run_until(start + at).await;
        let (mid, pt, rate) = if video {
            (vmid, vpt, 90_000)
        } else {
            (amid, apt, 48_000)
        };
        let tb = weir_media::Timebase::hz(rate).unwrap();
        let ticks = f.pts.rescale(tb).ticks() as u64;
        let payload = if video {
            annexb(&f, &ps)
        } else {
            f.data.to_vec()
        };
        let freq = str0m::media::Frequency::new(rate).unwrap();
        c.rtc
            .writer(mid)
            .unwrap()
            .write(
                pt,
                start + at,
                str0m::media::MediaTime::new(ticks, freq),
                payload,
            )
            .unwrap();
    }
    c.run_until(Instant::now() + Duration::from_millis(300))
        .await;
    c.delete(http_addr, "WHIP").await;
}

/// Reads `url` with ffmpeg for `seconds` into an MP4 (stream copy of `maps`).
fn ffmpeg_read(url: String, out: &Path, maps: &[&str], seconds: u32) -> tokio::process::Child {
    let mut args: Vec<String> = Vec::new();
    if url.starts_with("rtsp") {
        args.extend(["-rtsp_transport".into(), "tcp".into()]);
    }
    args.extend(["-i".into(), url]);
    for m in maps {
        args.extend(["-map".into(), (*m).into()]);
    }
    args.extend([
        "-c".into(),
        "copy".into(),
        "-t".into(),
        seconds.to_string(),
        "-f".into(),
        "mp4".into(),
        out.display().to_string(),
    ]);
    common::ffmpeg_child(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_publish_is_played_by_ffmpeg_over_rtmp_rtsp_and_hls() {
    interop_or_skip!();
    let dir = TempDir::new("webrtc-whip");
    let src = make_mp4(&dir, "src.mp4", 12);
    let tracks = mp4_frames(&src);
    let relay = relay().await;
    let key = "live/whip";
    let http_addr = relay.http;
    let publisher = tokio::spawn({
        let src = src.clone();
        async move { whip_publish(http_addr, key, &src, Duration::from_secs(11)).await }
    });
    wait_tracks(&relay, key, 2).await;
    let (rtmp, rtsp, hls) = (
        dir.join("rtmp.mp4"),
        dir.join("rtsp.mp4"),
        dir.join("hls.mp4"),
    );
    let readers = [
        ("RTMP", ffmpeg_read(relay.rtmp_url(key), &rtmp, &["0:v"], 4)),
        (
            "RTSP",
            ffmpeg_read(relay.rtsp_url(key), &rtsp, &["0:v", "0:a"], 4),
        ),
        (
            "HLS",
            ffmpeg_read(
                format!("http://{}/{key}/index.m3u8", relay.http),
                &hls,
                &["0:v"],
                3,
            ),
        ),
    ];
    for (what, child) in readers {
        common::wait_ok(child, what, Duration::from_secs(40)).await;
    }
    publisher.await.unwrap();

    let want_video: Vec<Vec<Bytes>> = tracks[0].1.iter().map(frame_picture_nalus).collect();
    let want_audio: Vec<Bytes> = tracks[1].1.iter().map(|f| f.data.clone()).collect();
    assert_eq!((tracks[0].0, tracks[1].0), (Codec::H264, Codec::Opus));
    for (what, file, min) in [("RTMP", &rtmp, 75), ("RTSP", &rtsp, 75), ("HLS", &hls, 50)] {
        let got = mp4_frames(file);
        let (codec, frames) = &got[0];
        assert_eq!(*codec, Codec::H264, "{what}");
        let got_video: Vec<Vec<Bytes>> = frames.iter().map(frame_picture_nalus).collect();
        assert_run(&format!("{what} H.264"), &want_video, &got_video, min);
        if what == "RTSP" {
            let (codec, frames) = &got[1];
            assert_eq!(*codec, Codec::Opus);
            let got_audio: Vec<Bytes> = frames.iter().map(|f| f.data.clone()).collect();
            assert_run("RTSP Opus", &want_audio, &got_audio, 150);
        }
    }
    relay.stop().await;
}

// ---------------------------------------------------------------------------------------
// Headless Chromium (Debian's /usr/bin/chromium through playwright-core).

const BROWSER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");

/// True when node, chromium and the npm packages are there; otherwise skips loudly, or
/// fails under `WEIR_INTEROP`.
fn browser_ready(test: &str) -> bool {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let ok = node
        && Path::new("/usr/bin/chromium").exists()
        && Path::new(BROWSER_DIR)
            .join("node_modules/playwright-core")
            .exists();
    if !ok {
        let required = std::env::var("WEIR_INTEROP").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(!required, "{test}: WEIR_INTEROP is set but node, chromium or tests/browser/node_modules is missing; run scripts/test.sh");
        eprintln!(
            "\n!!! SKIPPED browser test `{test}`: node, chromium or npm packages missing. !!!\n"
        );
    }
    ok
}

/// Runs `node SCRIPT ARGS` in tests/browser under a ChildGuard bounded by `limit`; the JSON
/// line it printed.
async fn node(script: &str, args: serde_json::Value, limit: Duration) -> serde_json::Value {
    let mut cmd = std::process::Command::new("node");
    cmd.arg(script)
        .arg(args.to_string())
        .current_dir(BROWSER_DIR)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = weir_testutil::ChildGuard::spawn(&mut cmd);
    child.capture_stdout();
    let done = tokio::task::spawn_blocking(move || child.finish(limit))
        .await
        .unwrap();
    let value: serde_json::Value = done
        .stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "{script}: no result; stdout {} stderr {}",
                done.stdout, done.stderr
            )
        });
    assert!(
        done.success() && value.get("error").is_none(),
        "{script} failed: {value:#}\nstderr: {}",
        done.stderr
    );
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_an_rtmp_stream_over_whep() {
    interop_or_skip!();
    if !browser_ready("chromium_plays_an_rtmp_stream_over_whep") {
        return;
    }
    let relay = relay().await;
    let key = "live/browser";
    let _publisher = common::publish_live_pattern(&relay.rtmp_url(key), &["-pix_fmt", "yuv420p"]);
    wait_tracks(&relay, key, 2).await;
    // An AAC source plays video-only over WebRTC, and the API says why.
    let r = http(
        relay.http,
        "GET",
        &format!("/api/v1/streams/{key}"),
        &[],
        b"",
    )
    .await;
    let s: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(s["webrtc_audio"], "unsupported codec aac", "{s:#}");

    let args = serde_json::json!({
        "base": format!("http://{}", relay.http),
        "path": format!("/{key}/whep"),
        "seconds": 10,
    });
    let out = node("whep_play.js", args, Duration::from_secs(90)).await;
    eprintln!(
        "whep_play: first frame {} ms, stats {}",
        out["first_frame_ms"], out["stats"]
    );
    // Video only: no audio RTP arrived (the source's audio is AAC).
    let stats = out["stats"].as_array().unwrap();
    assert!(stats.iter().any(|s| s["kind"] == "video"), "{out:#}");
    assert!(
        !stats.iter().any(|s| s["kind"] == "audio"),
        "video only: {out:#}"
    );
    assert_eq!(
        (out["width"].as_u64(), out["height"].as_u64()),
        (Some(640), Some(360))
    );
    let samples: Vec<(f64, f64, f64)> = out["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s[0].as_f64().unwrap(),
                s[1].as_f64().unwrap(),
                s[2].as_f64().unwrap(),
            )
        })
        .collect();
    let (first, last) = (samples[0], *samples.last().unwrap());
    let frames = last.1 - first.1;
    let media = last.2 - first.2;
    // 25 fps for ~10 s: allow for a loaded machine, but no stall.
    assert!(frames >= 200.0, "frames grew by {frames} in 10 s");
    assert!(media >= 9.0, "currentTime advanced {media} s in 10 s");
    let mut stall = 0.0f64;
    let mut since = first.0;
    for w in samples.windows(2) {
        if w[1].1 > w[0].1 {
            since = w[1].0;
        }
        stall = stall.max(w[1].0 - since);
    }
    assert!(stall < 1000.0, "no new frame for {stall} ms");
    assert_eq!(out["delete_status"], 200);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_publishes_over_whip_and_ffmpeg_plays_it_over_rtmp_and_hls() {
    interop_or_skip!();
    if !browser_ready("chromium_publishes_over_whip_and_ffmpeg_plays_it_over_rtmp_and_hls") {
        return;
    }
    let relay = relay().await;
    let key = "live/chromium";
    let args = serde_json::json!({
        "base": format!("http://{}", relay.http),
        "path": format!("/{key}/whip"),
        "seconds": 14,
    });
    let browser = tokio::spawn(node("whip_publish.js", args, Duration::from_secs(120)));
    wait_tracks(&relay, key, 2).await;
    let s = relay.hub.stream(key).unwrap();
    let codecs: Vec<Codec> = s.tracks.iter().map(|t| t.codec).collect();
    assert!(
        codecs.contains(&Codec::H264) && codecs.contains(&Codec::Opus),
        "{codecs:?}"
    );
    let dir = TempDir::new("webrtc-chromium-whip");
    let decode = |url: String, out: &Path, frames: u32| {
        let mut args = vec!["-i".to_string(), url, "-map".into(), "0:v".into()];
        args.extend([
            "-frames:v".into(),
            frames.to_string(),
            "-f".into(),
            "framemd5".into(),
        ]);
        args.push(out.display().to_string());
        common::ffmpeg_child(&args)
    };
    let (rtmp, hls) = (dir.join("rtmp.md5"), dir.join("hls.md5"));
    let r1 = decode(relay.rtmp_url(key), &rtmp, 100);
    // ffmpeg does not retry a playlist that is not there yet (hls.js does): wait for the
    // first segment, which needs Chromium's second keyframe — slow on a loaded machine.
    let playlist = format!("/{key}/index.m3u8");
    wait::until_async("the HLS playlist is served", || async {
        common::http_get(relay.http, &playlist).await.0 == 200
    })
    .await;
    let r2 = decode(format!("http://{}/{key}/index.m3u8", relay.http), &hls, 50);
    common::wait_ok(r1, "ffmpeg RTMP decode", Duration::from_secs(60)).await;
    common::wait_ok(r2, "ffmpeg HLS decode", Duration::from_secs(60)).await;
    let out = browser.await.unwrap();
    eprintln!("chromium sender: {}", out["video"]);
    assert_eq!(out["video"]["mimeType"], "video/H264", "{out:#}");
    assert_eq!(out["audio"]["mimeType"], "audio/opus", "{out:#}");
    let (w, h) = (
        out["video"]["frameWidth"].as_u64().unwrap(),
        out["video"]["frameHeight"].as_u64().unwrap(),
    );
    for (what, file, n) in [("RTMP", &rtmp, 100), ("HLS", &hls, 50)] {
        let text = std::fs::read_to_string(file).unwrap();
        let decoded = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(decoded, n, "{what}: decoded frames");
        let dims = text
            .lines()
            .find_map(|l| l.strip_prefix("#dimensions 0: "))
            .unwrap_or_else(|| panic!("{what}: no dimensions in {text}"));
        assert_eq!(
            dims.trim(),
            format!("{w}x{h}"),
            "{what}: picture size = Chromium's frameWidth x frameHeight"
        );
    }
    // What ffmpeg decoded over RTMP was sent by Chromium: it sent at least that many.
    assert!(
        out["video"]["framesSent"].as_u64().unwrap() >= 100,
        "{out:#}"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_publish_to_display_latency_over_whip_and_whep() {
    interop_or_skip!();
    if !browser_ready("chromium_publish_to_display_latency_over_whip_and_whep") {
        return;
    }
    let relay = relay().await;
    let args = serde_json::json!({
        "base": format!("http://{}", relay.http),
        "key": "live/latency",
        "seconds": 15,
    });
    let out = node("webrtc_latency.js", args, Duration::from_secs(120)).await;
    eprintln!(
        "WebRTC publish→display latency in Chromium: p50 {} ms, p90 {} ms, p99 {} ms over {} frames ({} unreadable)",
        out["p50"], out["p90"], out["p99"], out["frames"], out["unreadable"]
    );
    assert!(out["frames"].as_u64().unwrap() >= 150, "{out:#}");
    let p50 = out["p50"].as_f64().unwrap();
    assert!(p50 < 500.0, "p50 {p50} ms");
    relay.stop().await;
}
