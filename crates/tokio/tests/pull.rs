//! Pulling from real servers: ffmpeg serving RTMP and HTTP-FLV (`-listen 1`), reconnects
//! when the upstream dies and comes back, on-demand pulls, and the pulls API.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pull::*;
use common::*;
use serde_json::Value;
use weir_testutil::{interop_or_skip, ChildGuard, TempDir};
use weir_tokio::config::PullConfig;

/// ffmpeg serving `src` over RTMP at `rtmp://127.0.0.1:{port}/live/src` to its first client:
/// (the server, its port, the URL).
fn rtmp_upstream(src: &Path) -> (ChildGuard, u16, String) {
    ffmpeg_server(src, "flv", |port| {
        format!("rtmp://127.0.0.1:{port}/live/src")
    })
}

/// ffmpeg playing 2 s of `url` into the FLV file `out` (stream copy).
fn play_two_seconds(url: String, out: &Path) -> tokio::process::Child {
    ffmpeg_child(&[
        "-i".into(),
        url,
        "-t".into(),
        "2".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "flv".into(),
        out.display().to_string(),
    ])
}

/// `DELETE /api/v1/pulls/{id}`: the status.
async fn delete_pull(addr: SocketAddr, id: &str) -> u16 {
    api(addr, "DELETE", &format!("/api/v1/pulls/{id}"), "")
        .await
        .0
}

/// Polls `GET path` every 50 ms until `done(status, body)`; returns the body. Panics with
/// `what` and the last body after [`LIMIT`].
async fn wait_api(
    addr: SocketAddr,
    path: &str,
    what: &str,
    done: impl Fn(u16, &Value) -> bool,
) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let (code, v) = api(addr, "GET", path, "").await;
        if done(code, &v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_rtmp_and_http_flv_from_ffmpeg() {
    interop_or_skip!();
    let dir = TempDir::new("pull");
    let src = make_source(&dir, "src.flv", 4, &[]);
    for scheme in ["rtmp", "http"] {
        let (upstream, _, url) = ffmpeg_server(&src, "flv", |port| match scheme {
            "rtmp" => format!("rtmp://127.0.0.1:{port}/live/src"),
            _ => format!("http://127.0.0.1:{port}/src.flv"),
        });
        let mut config = test_config();
        config
            .pulls
            .push(PullConfig::new("cam", scheme, url.clone()));
        let relay = TestRelay::start(config).await;
        let out = dir.join(&format!("out-{scheme}.flv"));
        let player = play_ffmpeg(&relay.http_url(&format!("cam/{scheme}")), &out);
        let p = wait_pull(relay.http, "playing", |p| p["state"] == "playing").await;
        assert_eq!(p["url"], url);
        finish_ok(upstream, "upstream", LIMIT).await;
        wait_ok(player, "player", LIMIT).await;
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
    // The first upstream picks the port; its restarts listen on the same one.
    let (first, port, url) = rtmp_upstream(&src);
    let mut first = Some(first);
    let mut config = test_config();
    config.publisher_grace = Duration::from_secs(15);
    config.pull_retry.initial = Duration::from_millis(200);
    config.pull_retry.max = Duration::from_millis(400);
    let relay = TestRelay::start(config).await;
    // Two players waiting for the stream, then the pull.
    let outs = [dir.join("p1.flv"), dir.join("p2.flv")];
    let players: Vec<_> = outs
        .iter()
        .map(|o| play_ffmpeg(&relay.http_url("cam/door"), o))
        .collect();
    relay.wait_for_players("cam/door", 2).await;
    let body = format!("{{\"app\":\"cam\",\"stream\":\"door\",\"url\":\"{url}\"}}");
    let (code, p) = api(relay.http, "POST", "/api/v1/pulls", &body).await;
    assert_eq!(code, 201, "{p}");
    for round in 0..3 {
        let upstream = match first.take() {
            Some(u) => u,
            None => ffmpeg_server_on(&src, "flv", &url, port),
        };
        wait_pull(relay.http, "playing", |p| {
            p["state"] == "playing" && p["attempts"].as_u64() > Some(round)
        })
        .await;
        if round < 2 {
            // Killed mid-stream, then (next round) restarted.
            let deadline = Instant::now() + LIMIT;
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
            finish_ok(upstream, "upstream", LIMIT).await;
        }
    }
    let p = wait_pull(relay.http, "retries counted", |p| {
        p["attempts"].as_u64() >= Some(3)
    })
    .await;
    assert!(p["last_error"].is_string(), "{p}");
    // End the stream: remove the pull; the players finish after the grace period.
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(delete_pull(relay.http, &id).await, 204);
    relay.stop().await;
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    for (player, out) in players.into_iter().zip(&outs) {
        wait_ok(player, "player", LIMIT).await;
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
    let (upstream, _, url) = rtmp_upstream(&src);
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
    let player = play_two_seconds(relay.http_url("cam/lobby"), &out);
    wait_pull(relay.http, "playing", |p| p["state"] == "playing").await;
    wait_ok(player, "player", LIMIT).await;
    assert_run_of_source(&src, &out, "on-demand player", 3);
    // The player left: after none_reader the pull lets go of the upstream.
    let p = wait_pull(relay.http, "idle again", |p| p["state"] == "idle").await;
    assert_eq!(p["attempts"].as_u64(), Some(1));
    // ffmpeg's -listen 1 server ends when its one client goes (whatever its status).
    let _ = tokio::task::spawn_blocking(move || upstream.finish(LIMIT)).await;
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
    // tls_ca: a readable file with a PEM certificate in it.
    for (url, ca) in [
        ("https://127.0.0.1:9/b.flv", "/nonexistent/ca.pem"),
        ("https://127.0.0.1:9/b.flv", "/dev/null"),
    ] {
        let body = serde_json::json!({"app": "a", "stream": "b", "url": url, "tls_ca": ca});
        let (code, v) = api(relay.http, "POST", "/api/v1/pulls", &body.to_string()).await;
        assert_eq!(code, 400, "{url} {ca}: {v}");
        assert!(v.to_string().contains("tls_ca"), "{v}");
    }
    let body = "{\"app\":\"a\",\"stream\":\"b\",\"url\":\"rtmp://x/a/b\",\"transport\":\"sctp\"}";
    let (code, _) = api(relay.http, "POST", "/api/v1/pulls", body).await;
    assert_eq!(code, 400, "transport tcp, udp or auto");
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
    assert_eq!(delete_pull(relay.http, id).await, 204);
    assert_eq!(delete_pull(relay.http, id).await, 404);
    relay.stop().await;
}

/// ffmpeg → relay A → push → nginx-rtmp → pull → relay B → ffmpeg: a push to and a pull
/// from a third-party RTMP server, pictures bit-exact end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_to_and_pull_from_nginx_rtmp() {
    interop_or_skip!();
    let dir = TempDir::new("nginx-relay");
    let src = make_source(&dir, "src.flv", 6, &[]);
    let nginx = Nginx::rtmp();
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
    wait_ok(publisher, "publisher", LIMIT).await;
    // The pushed stream ends at A; B's pull then loses nginx's stream and the player ends
    // after B's grace period.
    let pushes = wait_api(a.http, "/api/v1/pushes", "nothing pushed", |_, v| {
        v["pushes"][0]["frames"].as_u64().unwrap_or(0) > 100
    })
    .await;
    assert_eq!(pushes["pushes"][0]["stream"], "*");
    a.stop().await;
    let (_, v) = api(b.http, "GET", "/api/v1/pulls", "").await;
    let id = v["pulls"][0]["id"].as_str().unwrap().to_string();
    delete_pull(b.http, &id).await;
    b.stop().await;
    wait_ok(player, "player", LIMIT).await;
    assert_run_of_source(&src, &out, "through nginx-rtmp", 0);
    drop(nginx);
}

/// A push over RTSP (ANNOUNCE/RECORD) to ffmpeg listening as an RTSP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_rtsp_to_ffmpeg() {
    interop_or_skip!();
    let dir = TempDir::new("push-rtsp");
    let src = make_source(&dir, "src.flv", 4, &[]);
    // Raw H.264 out: ffmpeg's RTSP demuxer leaves the first packet's timestamp unset,
    // which container muxers refuse (a quirk of ffmpeg's, not of the stream).
    let out = dir.join("got.h264");
    let (receiver, port) = tokio::task::block_in_place(|| {
        weir_testutil::spawn_tcp_listener(LIMIT, |port| {
            weir_testutil::ffmpeg_command([
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
            ])
        })
    });
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
    wait_ok(publisher, "publisher", LIMIT).await;
    // The stream ends after the grace period; the forwarder then tears down.
    finish_ok(receiver, "ffmpeg RTSP receiver", LIMIT).await;
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
    let (upstream, _, url) = rtmp_upstream(&src);
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
    let player = play_two_seconds(relay.http_url("cam/door"), &out);
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
    wait_ok(player, "player", LIMIT).await;
    assert_run_of_source(&src, &out, "pulled on not-found", 3);
    hook_task.abort();
    drop(upstream);
    relay.stop().await;
}

/// A private CA and a server certificate it signed for `127.0.0.1` and `localhost`, as PEM
/// files in `dir`: `(ca.pem, cert.pem, key.pem)`.
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "weir test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2)
}

/// An `https://….flv` pull through a real TLS server: nginx with `ssl` proxying to ffmpeg
/// serving HTTP-FLV (`-listen 1`), with a certificate from a CA made by the test. Without
/// `tls_ca` the pull fails on the unknown issuer (and says so); with it, ffmpeg plays the
/// relay's RTMP output and every picture is the source's from the first keyframe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_https_flv_through_nginx_ssl() {
    interop_or_skip!();
    let dir = TempDir::new("pull-https");
    let src = make_source(&dir, "src.flv", 4, &[]);
    let (upstream, up_port, _) = ffmpeg_server(&src, "flv", |port| {
        format!("http://127.0.0.1:{port}/src.flv")
    });
    let nginx_dir = TempDir::new("nginx-ssl");
    let (ca, cert, key) = private_ca(nginx_dir.path());
    let prefix = nginx_dir.path().display().to_string();
    let nginx = Nginx::start(nginx_dir, &[], |port| {
        let temp: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|t| format!("{t}_temp_path {prefix}/{t}_temp;\n"))
            .collect();
        format!(
            "http {{\n{temp}access_log off;\nserver {{\nlisten 127.0.0.1:{port} ssl;\nssl_certificate {};\nssl_certificate_key {};\nlocation / {{ proxy_pass http://127.0.0.1:{up_port}; proxy_http_version 1.1; proxy_buffering off; }}\n}}\n}}",
            cert.display(),
            key.display()
        )
    });
    let url = format!("https://127.0.0.1:{}/src.flv", nginx.port);
    let relay = TestRelay::start(test_config()).await;
    // The web roots alone do not know the test's CA.
    let body = |ca: Option<&Path>| {
        let mut v = serde_json::json!({"app": "cam", "stream": "tls", "url": url});
        if let Some(ca) = ca {
            v["tls_ca"] = ca.display().to_string().into();
        }
        v.to_string()
    };
    let (code, p) = api(relay.http, "POST", "/api/v1/pulls", &body(None)).await;
    assert_eq!(code, 201, "{p}");
    let p = wait_pull(relay.http, "refused", |p| p["last_error"].is_string()).await;
    let err = p["last_error"].as_str().unwrap();
    assert!(
        err.contains("certificate") || err.contains("Certificate"),
        "{p}"
    );
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(delete_pull(relay.http, &id).await, 204);
    // With the CA: played from the first keyframe.
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.rtmp_url("cam/tls"), &out);
    relay.wait_for_players("cam/tls", 1).await;
    let (code, p) = api(relay.http, "POST", "/api/v1/pulls", &body(Some(&ca))).await;
    assert_eq!(code, 201, "{p}");
    assert_eq!(p["tls_ca"], ca.display().to_string());
    wait_pull(relay.http, "playing", |p| p["state"] == "playing").await;
    finish_ok(upstream, "upstream", LIMIT).await;
    wait_ok(player, "player", LIMIT).await;
    relay.stop().await;
    let want = weir_testutil::decoded_video_md5(&src, &[]).len();
    let got = assert_run_of_source(&src, &out, "https", 0);
    assert_eq!(
        got,
        want,
        "every picture from the first; nginx: {}",
        nginx.log()
    );
}

/// A pull with `record = true` is recorded like a `record.streams` match: its file lands in
/// `record.dir/{app}/{stream}/`, ffprobe reads it, and its pictures are the source's, every
/// one from the first keyframe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulled_stream_with_record_is_recorded() {
    interop_or_skip!();
    let dir = TempDir::new("pull-record");
    let src = make_source(&dir, "src.flv", 4, &[]);
    let (upstream, _, url) = rtmp_upstream(&src);
    let rec = TempDir::new("pull-record-files");
    let mut config = test_config();
    config.record.dir = rec.path().to_path_buf();
    // One run of the source: no retry once it ends.
    config.pull_retry.initial = Duration::from_secs(600);
    config
        .pulls
        .push(PullConfig::new("cam", "kept", url).record(true));
    let relay = TestRelay::start(config).await;
    finish_ok(upstream, "upstream", LIMIT).await;
    // The source ended: the stream ends after the grace period, the recorder finishes.
    let files_of = |v: &Value| v["files"].as_array().cloned().unwrap_or_default();
    let v = wait_api(
        relay.http,
        "/api/v1/recordings/cam/kept",
        "no finished recording",
        |code, v| {
            let files = files_of(v);
            let writing = files.iter().any(|f| f["in_progress"] == true);
            code == 200 && v["recording"] == false && !files.is_empty() && !writing
        },
    )
    .await;
    assert_eq!(v["wanted"], true, "{v}");
    let files = files_of(&v);
    relay.stop().await;
    assert_eq!(files.len(), 1, "{files:?}");
    let path = rec
        .path()
        .join("cam/kept")
        .join(files[0]["name"].as_str().unwrap());
    assert!(path.is_file(), "{}", path.display());
    let video = weir_testutil::probe_stream(&path, "v:0", "codec_name,width,height");
    assert_eq!(
        video,
        [("codec_name", "h264"), ("width", "320"), ("height", "240")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    let audio = weir_testutil::probe_stream(&path, "a:0", "codec_name");
    assert_eq!(audio, [("codec_name".to_string(), "aac".to_string())]);
    let want = weir_testutil::decoded_video_md5(&src, &[]).len();
    let got = assert_run_of_source(&src, &path, "recorded pull", 0);
    assert_eq!(got, want, "every picture from the first");
}
