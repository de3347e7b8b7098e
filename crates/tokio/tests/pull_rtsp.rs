//! The relay pulling from a real RTSP server: GStreamer's gst-rtsp-server (python3-gi),
//! started by the test, serving an MP4 made by ffmpeg — H.264 + AAC with Digest
//! authentication over TCP and over UDP, and H.265 + AAC — while ffmpeg plays the relay's
//! RTMP (H.264) or RTSP (H.265: ffmpeg 5.1 reads no HEVC in FLV) output. The player waits
//! for the stream before the pull is added through the API, so it gets the clip from its
//! first keyframe: every decoded picture equals the source's, and every AAC packet is one of
//! the source's, in order. Then the server is killed and restarted while a player watches.

mod common;
mod wait;

use std::path::Path;
use std::time::{Duration, Instant};

use common::gst::{self, GstServer};
use common::pull::*;
use common::*;
use weir_testutil::{interop_or_skip, TempDir};

/// One pull to show.
struct Case {
    stream: &'static str,
    hevc: bool,
    /// The pull's `transport`.
    transport: &'static str,
    /// What gst-rtsp-server offers (`any`, `tcp`, `udp`).
    protocols: &'static str,
    auth: Option<(&'static str, &'static str)>,
}

/// `size,md5` of each audio packet (timestamps differ by container).
fn audio_packets(path: &Path) -> Vec<String> {
    packets(path, "0:a")
        .into_iter()
        .map(|p| format!("{},{}", p.size, p.md5))
        .collect()
}

/// ffmpeg playing `url` (RTMP or RTSP over TCP) into `out`: FLV for H.264, the HEVC
/// elementary stream for H.265.
fn player(url: &str, out: &Path, hevc: bool) -> tokio::process::Child {
    if !hevc {
        return play_ffmpeg(url, out);
    }
    let args = [
        "-rtsp_transport",
        "tcp",
        "-i",
        url,
        "-map",
        "0:v",
        "-c",
        "copy",
        "-f",
        "hevc",
        &out.display().to_string(),
    ];
    ffmpeg_child(&args.map(String::from))
}

/// Units the hub has taken for `cam/gate`.
fn units(hub: &weir_tokio::Hub) -> u64 {
    hub.stream("cam/gate").map_or(0, |s| s.units)
}

/// Waits until `cam/gate` has had `n` units.
async fn wait_units(relay: &TestRelay, n: u64, what: &str) {
    let deadline = Instant::now() + LIMIT;
    while units(&relay.hub) < n {
        assert!(
            Instant::now() < deadline,
            "{what}: {} units",
            units(&relay.hub)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn pull_from_gst(test: &str, case: Case) {
    interop_or_skip!();
    let Some(py) = gst::python_with_gst_rtsp_server(test) else {
        return;
    };
    let dir = TempDir::new(&format!("pull-gst-{}", case.stream));
    let src = gst::source_of(&dir, case.hevc, true, 4);
    let launch = gst::launch(&src, case.hevc, true);
    let server = GstServer::start(py, &dir, &launch, case.protocols, case.auth).await;
    let mut config = test_config();
    // One run of the clip: no retry within the test once the server's clip ends.
    config.pull_retry.initial = Duration::from_secs(600);
    config.pull_retry.max = Duration::from_secs(600);
    let relay = TestRelay::start(config).await;
    let key = format!("cam/{}", case.stream);
    let out = dir.join(if case.hevc { "out.h265" } else { "out.flv" });
    let play = if case.hevc {
        player(&relay.rtsp_url(&key), &out, true)
    } else {
        player(&relay.rtmp_url(&key), &out, false)
    };
    relay.wait_for_players(&key, 1).await;
    let body = serde_json::json!({
        "app": "cam",
        "stream": case.stream,
        "url": server.url(case.auth),
        "transport": case.transport,
    });
    let (code, p) = api(relay.http, "POST", "/api/v1/pulls", &body.to_string()).await;
    assert_eq!(code, 201, "{p}");
    let p = wait_pull(relay.http, "playing", |p| p["state"] == "playing").await;
    if case.auth.is_some() {
        assert!(p["url"].as_str().unwrap().contains(":***@"), "{p}");
    }
    // The clip ends; the pull's session with it; the stream after the grace period; the
    // player with the stream.
    wait_ok(play, "player", LIMIT).await;
    let p = wait_pull(relay.http, "ended", |p| p["state"] == "backoff").await;
    assert_eq!(p["last_error"], "source ended", "{p}\n{}", server.log());
    relay.stop().await;
    let want = weir_testutil::decoded_video_md5(&src, &[]).len();
    let got = assert_run_of_source(&src, &out, case.stream, 0);
    assert_eq!(got, want, "{}: every picture from the first", case.stream);
    if !case.hevc {
        let (want, got) = (audio_packets(&src), audio_packets(&out));
        // gst-rtsp-server plays what the MP4's edit list keeps: it starts after the
        // encoder's priming frame and may stop a frame short of the end.
        let skip = want
            .iter()
            .position(|a| Some(a) == got.first())
            .expect("the first AAC packet is the source's");
        assert!(
            skip <= 1 && got.len() + skip + 1 >= want.len(),
            "{skip}, {}",
            got.len()
        );
        assert_eq!(got[..], want[skip..skip + got.len()], "AAC packets");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_h264_aac_digest_over_tcp_from_gst_rtsp_server() {
    pull_from_gst(
        "pull_h264_aac_digest_over_tcp_from_gst_rtsp_server",
        Case {
            stream: "tcp",
            hevc: false,
            transport: "tcp",
            protocols: "tcp",
            auth: Some(("viewer", "s3cret")),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_h264_aac_digest_over_udp_from_gst_rtsp_server() {
    pull_from_gst(
        "pull_h264_aac_digest_over_udp_from_gst_rtsp_server",
        Case {
            stream: "udp",
            hevc: false,
            transport: "udp",
            protocols: "udp",
            auth: Some(("viewer", "s3cret")),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_h265_aac_from_gst_rtsp_server_played_over_rtsp() {
    pull_from_gst(
        "pull_h265_aac_from_gst_rtsp_server_played_over_rtsp",
        Case {
            stream: "hevc",
            hevc: true,
            transport: "auto",
            protocols: "any",
            auth: None,
        },
    )
    .await;
}

/// gst-rtsp-server is killed (SIGKILL) and restarted on its port while a player watches:
/// the pull retries until the server is back, the player goes on through the publisher
/// grace period with monotonic timestamps and only source pictures, and the API counts
/// the attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_survives_gst_rtsp_server_restart() {
    interop_or_skip!();
    let Some(py) = gst::python_with_gst_rtsp_server("pull_survives_gst_rtsp_server_restart") else {
        return;
    };
    let dir = TempDir::new("pull-gst-restart");
    let src = gst::source_of(&dir, false, true, 20);
    let launch = gst::launch(&src, false, true);
    let server = GstServer::start(py, &dir, &launch, "tcp", None).await;
    let (port, url) = (server.port, server.url(None));
    let mut config = test_config();
    config.publisher_grace = Duration::from_secs(20);
    config.pull_retry.initial = Duration::from_millis(200);
    config.pull_retry.max = Duration::from_millis(400);
    config
        .pulls
        .push(weir_tokio::config::PullConfig::new("cam", "gate", url).with_transport("tcp"));
    let relay = TestRelay::start(config).await;
    let out = dir.join("out.flv");
    let play = play_ffmpeg(&relay.http_url("cam/gate"), &out);
    wait_units(&relay, 60, "first run").await;
    wait::players(&relay.hub, "cam/gate", 1).await;
    server.kill().await;
    wait_pull(relay.http, "retrying", |p| {
        p["state"] == "backoff" && p["attempts"].as_u64() >= Some(2)
    })
    .await;
    let before = units(&relay.hub);
    let server = GstServer::start_on(py, &dir, &launch, "tcp", None, port).await;
    wait_units(&relay, before + 150, "after the restart").await;
    let p = wait_pull(relay.http, "playing again", |p| p["state"] == "playing").await;
    assert!(p["attempts"].as_u64() >= Some(3), "{p}");
    assert!(p["last_error"].is_string(), "{p}");
    relay.stop().await;
    wait_ok(play, "player", LIMIT).await;
    drop(server);
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    let got = weir_testutil::decoded_video_md5(&out, &[]);
    assert!(got.len() >= 50, "pictures of both runs: {}", got.len());
    assert!(got.iter().all(|m| want.contains(m)), "a corrupt picture");
    // The restarted server starts its clip again, from its first picture.
    assert!(
        got.iter().skip(1).any(|m| *m == want[0]),
        "the second run was played"
    );
    let video = packets(&out, "0:v");
    let bad: Vec<(i64, i64, i64, i64)> = video
        .windows(2)
        .filter(|w| w[1].dts <= w[0].dts)
        .map(|w| (w[0].dts, w[0].pts, w[1].dts, w[1].pts))
        .collect();
    assert!(
        bad.is_empty(),
        "timestamps monotonic across the restart: {bad:?} (of {})",
        video.len()
    );
}
