//! Pulling from real servers: ffmpeg serving RTMP and HTTP-FLV (`-listen 1`), reconnects
//! when the upstream dies and comes back, on-demand pulls, and the pulls API.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_testutil::{interop_or_skip, TempDir};
use weir_tokio::config::PullConfig;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// ffmpeg serving `src` in real time to the first client of `url` (`-listen 1`).
fn ffmpeg_server(src: &Path, format: &str, url: &str) -> tokio::process::Child {
    ffmpeg_child(&[
        "-re".into(),
        "-i".into(),
        src.display().to_string(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        format.into(),
        "-listen".into(),
        "1".into(),
        url.into(),
    ])
}

/// Waits until something listens on `port` — read from `/proc/net/tcp`, not by connecting:
/// ffmpeg's `-listen 1` serves exactly one client, and a probe would be it.
async fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let hex = format!(":{port:04X} ");
    loop {
        let listening = ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|t| {
            std::fs::read_to_string(t).is_ok_and(|s| {
                s.lines().skip(1).any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.get(1).is_some_and(|a| format!("{a} ").contains(&hex))
                        && f.get(3) == Some(&"0A")
                })
            })
        });
        if listening {
            return;
        }
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn api(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        code,
        serde_json::from_slice(&all[split..]).unwrap_or(Value::Null),
    )
}

async fn wait_pull(addr: SocketAddr, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = api(addr, "GET", "/api/v1/pulls", "").await;
        if let Some(p) = v["pulls"].as_array().and_then(|a| a.first()) {
            if check(p) {
                return p.clone();
            }
        }
        assert!(Instant::now() < deadline, "{what}: {v}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Pictures `out` decoded are a run of the source's from a keyframe. A player stopped with
/// `-t` cuts a B-frame stream mid-GOP: its last pictures may miss a reference and are not
/// compared (`cut`).
fn assert_run_of_source(src: &Path, out: &Path, what: &str, cut: usize) {
    let want = weir_testutil::decoded_video_md5(src, &[]);
    let mut got = weir_testutil::decoded_video_md5(out, &[]);
    got.truncate(got.len().saturating_sub(cut));
    assert!(got.len() >= 10, "{what}: {} pictures", got.len());
    let start = want
        .iter()
        .position(|m| *m == got[0])
        .unwrap_or_else(|| panic!("{what}: first picture not in the source"));
    assert_eq!(
        got[..],
        want[start..start + got.len()],
        "{what}: bit-exact run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_rtmp_and_http_flv_from_ffmpeg() {
    interop_or_skip!();
    let dir = TempDir::new("pull");
    let src = make_source(&dir, "src.flv", 4, &[]);
    for (format, scheme) in [("flv", "rtmp"), ("flv", "http")] {
        let port = free_port();
        let url = match scheme {
            "rtmp" => format!("rtmp://127.0.0.1:{port}/live/src"),
            _ => format!("http://127.0.0.1:{port}/src.flv"),
        };
        let upstream = ffmpeg_server(&src, format, &url);
        wait_listening(port).await;
        let mut config = test_config();
        config
            .pulls
            .push(PullConfig::new("cam", scheme, url.clone()));
        let relay = TestRelay::start(config).await;
        let out = dir.join(&format!("out-{scheme}.flv"));
        let player = play_ffmpeg(&relay.http_url(&format!("cam/{scheme}")), &out);
        let p = wait_pull(relay.http, "playing", |p| p["state"] == "playing").await;
        assert_eq!(p["url"], url);
        wait_ok(upstream, "upstream", Duration::from_secs(30)).await;
        wait_ok(player, "player", Duration::from_secs(30)).await;
        assert_run_of_source(&src, &out, scheme, 0);
        relay.stop().await;
    }
}

/// The upstream dies and comes back twice while two players watch: both keep receiving
/// with monotonic timestamps and only source pictures; the API counts the retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_reconnects_when_the_upstream_restarts() {
    interop_or_skip!();
    let dir = TempDir::new("pull-reconnect");
    let src = make_source(&dir, "src.flv", 4, &[]);
    let port = free_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/src");
    let mut config = test_config();
    config.publisher_grace = Duration::from_secs(15);
    config.pull_retry.initial = Duration::from_millis(200);
    config.pull_retry.max = Duration::from_millis(400);
    config
        .pulls
        .push(PullConfig::new("cam", "door", url.clone()));
    let relay = TestRelay::start(config).await;
    // Two players waiting for the stream.
    let outs = [dir.join("p1.flv"), dir.join("p2.flv")];
    let players: Vec<_> = outs
        .iter()
        .map(|o| play_ffmpeg(&relay.http_url("cam/door"), o))
        .collect();
    relay.wait_for_players("cam/door", 2).await;
    for round in 0..3 {
        let upstream = ffmpeg_server(&src, "flv", &url);
        wait_listening(port).await;
        wait_pull(relay.http, "playing", |p| {
            p["state"] == "playing" && p["attempts"].as_u64() > Some(round)
        })
        .await;
        if round < 2 {
            // Killed mid-stream, then (next round) restarted.
            let deadline = Instant::now() + Duration::from_secs(10);
            while relay.hub.stream("cam/door").map_or(0, |s| s.units) < 40 * (round + 1) {
                assert!(Instant::now() < deadline, "no media in round {round}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            drop(upstream);
            wait_pull(relay.http, "backing off", |p| {
                p["state"] == "backoff" || p["state"] == "connecting"
            })
            .await;
        } else {
            wait_ok(upstream, "upstream", Duration::from_secs(30)).await;
        }
    }
    let p = wait_pull(relay.http, "retries counted", |p| {
        p["attempts"].as_u64() >= Some(3)
    })
    .await;
    assert!(p["last_error"].is_string(), "{p}");
    // End the stream: remove the pull; the players finish after the grace period.
    let id = p["id"].as_str().unwrap().to_string();
    let (code, _) = api(relay.http, "DELETE", &format!("/api/v1/pulls/{id}"), "").await;
    assert_eq!(code, 204);
    relay.stop().await;
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    for (player, out) in players.into_iter().zip(&outs) {
        wait_ok(player, "player", Duration::from_secs(30)).await;
        let got = weir_testutil::decoded_video_md5(out, &[]);
        assert!(
            got.len() > want.len(),
            "{}: pictures of every round: {}",
            out.display(),
            got.len()
        );
        assert!(
            got.iter().all(|m| want.contains(m)),
            "{}: a corrupt picture",
            out.display()
        );
        let video = packets(out, "0:v");
        assert!(
            video.windows(2).all(|w| w[1].dts > w[0].dts),
            "{}: timestamps monotonic across reconnects",
            out.display()
        );
    }
}

/// An on-demand pull connects when its first player arrives and disconnects once the
/// stream has had no player for the none-reader time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_pull_follows_its_players() {
    interop_or_skip!();
    let dir = TempDir::new("pull-demand");
    let src = make_source(&dir, "src.flv", 30, &[]);
    let port = free_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/src");
    let upstream = ffmpeg_server(&src, "flv", &url);
    wait_listening(port).await;
    let mut config = test_config();
    config.hooks.none_reader = Duration::from_millis(500);
    let relay = TestRelay::start(config).await;
    let (code, p) = api(
        relay.http,
        "POST",
        "/api/v1/pulls",
        &format!("{{\"app\":\"cam\",\"stream\":\"lobby\",\"url\":\"{url}\",\"on_demand\":true}}"),
    )
    .await;
    assert_eq!(code, 201, "{p}");
    assert_eq!(
        (p["state"].as_str(), p["attempts"].as_u64()),
        (Some("idle"), Some(0))
    );
    // Nobody watches: no connection to the upstream.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let p = wait_pull(relay.http, "idle", |_| true).await;
    assert_eq!(
        (p["state"].as_str(), p["attempts"].as_u64()),
        (Some("idle"), Some(0))
    );
    // A player: the pull connects; it gets the source.
    let out = dir.join("out.flv");
    let player = ffmpeg_child(&[
        "-i".into(),
        relay.http_url("cam/lobby"),
        "-t".into(),
        "2".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "flv".into(),
        out.display().to_string(),
    ]);
    wait_pull(relay.http, "playing", |p| p["state"] == "playing").await;
    wait_ok(player, "player", Duration::from_secs(30)).await;
    assert_run_of_source(&src, &out, "on-demand player", 3);
    // The player left: after none_reader the pull lets go of the upstream.
    let p = wait_pull(relay.http, "idle again", |p| p["state"] == "idle").await;
    assert_eq!(p["attempts"].as_u64(), Some(1));
    // (ffmpeg's -listen 1 server ends when its one client goes.)
    let _ = tokio::time::timeout(Duration::from_secs(10), upstream.wait_with_output()).await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_api_validates() {
    let relay = TestRelay::start(test_config()).await;
    let (code, v) = api(
        relay.http,
        "POST",
        "/api/v1/pulls",
        "{\"app\":\"a\",\"stream\":\"b\",\"url\":\"file:///etc/passwd\"}",
    )
    .await;
    assert_eq!(code, 400, "{v}");
    let (code, _) = api(
        relay.http,
        "POST",
        "/api/v1/pulls",
        "{\"app\":\"..\",\"stream\":\"b\",\"url\":\"rtmp://x/a/b\"}",
    )
    .await;
    assert_eq!(code, 400);
    let (code, _) = api(relay.http, "POST", "/api/v1/pulls", "not json").await;
    assert_eq!(code, 400);
    let body = "{\"app\":\"a\",\"stream\":\"b\",\"url\":\"rtsp://user:pw@127.0.0.1:9/x\",\"on_demand\":true}";
    let (code, p) = api(relay.http, "POST", "/api/v1/pulls", body).await;
    assert_eq!(code, 201);
    assert_eq!(
        p["url"], "rtsp://user:***@127.0.0.1:9/x",
        "passwords are not listed"
    );
    let (code, _) = api(relay.http, "POST", "/api/v1/pulls", body).await;
    assert_eq!(code, 409, "one pull per stream");
    let id = p["id"].as_str().unwrap();
    let (code, _) = api(relay.http, "DELETE", &format!("/api/v1/pulls/{id}"), "").await;
    assert_eq!(code, 204);
    let (code, _) = api(relay.http, "DELETE", &format!("/api/v1/pulls/{id}"), "").await;
    assert_eq!(code, 404);
    relay.stop().await;
}

/// nginx with the RTMP module on a free port (`live on`), run by the test.
struct Nginx {
    port: u16,
    _child: tokio::process::Child,
    _dir: TempDir,
}

async fn nginx_rtmp() -> Nginx {
    let dir = TempDir::new("nginx");
    let port = free_port();
    let conf = dir.join("nginx.conf");
    let module = [
        "/usr/lib/nginx/modules/ngx_rtmp_module.so",
        "/usr/share/nginx/modules/ngx_rtmp_module.so",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("nginx RTMP module (libnginx-mod-rtmp; scripts/test.sh installs it)");
    std::fs::write(
        &conf,
        format!(
            "load_module {module};\ndaemon off;\nmaster_process off;\nworker_processes 1;\npid {pid};\nerror_log {err} warn;\nevents {{ worker_connections 256; }}\nrtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096; application live {{ live on; }} }} }}\n",
            pid = dir.join("nginx.pid").display(),
            err = dir.join("error.log").display(),
        ),
    )
    .unwrap();
    let child = tokio::process::Command::new("nginx")
        .args([
            "-c",
            conf.to_str().unwrap(),
            "-p",
            dir.path().to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("nginx (scripts/test.sh installs it)");
    wait_listening(port).await;
    Nginx {
        port,
        _child: child,
        _dir: dir,
    }
}

/// ffmpeg → relay A → push → nginx-rtmp → pull → relay B → ffmpeg: a push to and a pull
/// from a third-party RTMP server, pictures bit-exact end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_to_and_pull_from_nginx_rtmp() {
    interop_or_skip!();
    let dir = TempDir::new("nginx-relay");
    let src = make_source(&dir, "src.flv", 6, &[]);
    let nginx = nginx_rtmp().await;
    let upstream = format!("rtmp://127.0.0.1:{}/live/{{stream}}", nginx.port);
    let mut a_config = test_config();
    a_config
        .pushes
        .push(weir_tokio::config::PushConfig::new("live", "*", upstream));
    let a = TestRelay::start(a_config).await;
    let mut b_config = test_config();
    b_config.publisher_grace = Duration::from_secs(5);
    b_config.pull_retry.initial = Duration::from_millis(200);
    b_config.pulls.push(PullConfig::new(
        "copy",
        "cam",
        format!("rtmp://127.0.0.1:{}/live/cam", nginx.port),
    ));
    let b = TestRelay::start(b_config).await;
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&b.http_url("copy/cam"), &out);
    b.wait_for_players("copy/cam", 1).await;
    let publisher = push(&src, &a.rtmp_url("live/cam"));
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    // The pushed stream ends at A; B's pull then loses nginx's stream and the player ends
    // after B's grace period.
    let deadline = Instant::now() + Duration::from_secs(30);
    let pushes = loop {
        let (_, v) = api(a.http, "GET", "/api/v1/pushes", "").await;
        if v["pushes"][0]["frames"].as_u64().unwrap_or(0) > 100 {
            break v;
        }
        assert!(Instant::now() < deadline, "nothing pushed: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(pushes["pushes"][0]["stream"], "*");
    a.stop().await;
    let (_, v) = api(b.http, "GET", "/api/v1/pulls", "").await;
    let id = v["pulls"][0]["id"].as_str().unwrap().to_string();
    let _ = api(b.http, "DELETE", &format!("/api/v1/pulls/{id}"), "").await;
    b.stop().await;
    wait_ok(player, "player", Duration::from_secs(30)).await;
    assert_run_of_source(&src, &out, "through nginx-rtmp", 0);
    drop(nginx);
}

/// A push over RTSP (ANNOUNCE/RECORD) to ffmpeg listening as an RTSP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_rtsp_to_ffmpeg() {
    interop_or_skip!();
    let dir = TempDir::new("push-rtsp");
    let src = make_source(&dir, "src.flv", 4, &[]);
    let port = free_port();
    // Raw H.264 out: ffmpeg's RTSP demuxer leaves the first packet's timestamp unset,
    // which container muxers refuse (a quirk of ffmpeg's, not of the stream).
    let out = dir.join("got.h264");
    let receiver = ffmpeg_child(&[
        "-rtsp_flags".into(),
        "listen".into(),
        "-i".into(),
        format!("rtsp://127.0.0.1:{port}/live/cam"),
        "-map".into(),
        "0:v".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "h264".into(),
        out.display().to_string(),
    ]);
    wait_listening(port).await;
    let relay = TestRelay::start(test_config()).await;
    let (code, p) = api(
        relay.http,
        "POST",
        "/api/v1/pushes",
        &format!(
            "{{\"app\":\"live\",\"stream\":\"cam\",\"url\":\"rtsp://127.0.0.1:{port}/live/cam\"}}"
        ),
    )
    .await;
    assert_eq!(code, 201, "{p}");
    let publisher = push(&src, &relay.rtmp_url("live/cam"));
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    // The stream ends after the grace period; the forwarder then tears down.
    wait_ok(receiver, "ffmpeg RTSP receiver", Duration::from_secs(30)).await;
    relay.stop().await;
    assert_run_of_source(&src, &out, "RTSP push", 0);
}

/// An `on_stream_not_found` hook answering `{"code":0,"url":…}` makes the relay pull the
/// stream for the waiting player (ZLMediaKit's pattern).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_not_found_hook_answer_starts_a_pull() {
    interop_or_skip!();
    use http_body_util::{BodyExt, Full};
    let dir = TempDir::new("pull-notfound");
    let src = make_source(&dir, "src.flv", 30, &[]);
    let port = free_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/src");
    let upstream = ffmpeg_server(&src, "flv", &url);
    wait_listening(port).await;
    // The hook: pulls `cam/{stream}` from the upstream.
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/", hook.local_addr().unwrap());
    let answer = format!("{{\"code\":0,\"url\":\"{url}\"}}");
    let hook_task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = hook.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let answer = answer.clone();
                        async move {
                            let _ = req.into_body().collect().await;
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                bytes::Bytes::from(answer),
                            )))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    let mut config = test_config();
    config.hooks.on_stream_not_found = Some(hook_url);
    config.play_wait = Duration::from_secs(15);
    let relay = TestRelay::start(config).await;
    let out = dir.join("out.flv");
    let player = ffmpeg_child(&[
        "-i".into(),
        relay.http_url("cam/door"),
        "-t".into(),
        "2".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "flv".into(),
        out.display().to_string(),
    ]);
    let p = wait_pull(relay.http, "pull started by the hook", |p| {
        p["state"] == "playing"
    })
    .await;
    assert_eq!(
        (
            p["app"].as_str(),
            p["stream"].as_str(),
            p["on_demand"].as_bool()
        ),
        (Some("cam"), Some("door"), Some(true))
    );
    wait_ok(player, "player", Duration::from_secs(30)).await;
    assert_run_of_source(&src, &out, "pulled on not-found", 3);
    hook_task.abort();
    drop(upstream);
    relay.stop().await;
}
