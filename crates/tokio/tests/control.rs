//! The control plane with real clients: the HTTP API (streams, sessions, kick, server,
//! access rules), webhooks (every decision rule and notification, with ffmpeg publishers
//! and players over RTMP, RTSP, HTTP-FLV and a GB28181 device), Prometheus metrics read
//! with a Prometheus text parser, and the API under load beside 100 players.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_rtmp_chunk::ClientEvent;
use weir_testutil::{interop_or_skip, TempDir};

/// One request with `method`, optional extra header lines; returns (status, head, body).
async fn http(addr: SocketAddr, method: &str, path: &str, headers: &str) -> (u16, String, Bytes) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut all))
        .await
        .expect("http timeout")
        .unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let head = String::from_utf8_lossy(&all[..split]).to_ascii_lowercase();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut body = all[split..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (code, head, Bytes::from(body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
    out
}

async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (code, _, body) = http(addr, "GET", path, "").await;
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Waits (with a deadline) until `check` holds for the API answer at `path`.
async fn wait_json(
    addr: SocketAddr,
    path: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, v) = get_json(addr, path).await;
        if code == 200 && check(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: last answer {code} {v}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn sessions_of<'a>(v: &'a Value, protocol: &str, role: &str) -> Vec<&'a Value> {
    v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["protocol"] == protocol && s["role"] == role)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_streams_sessions_server_and_kick() {
    interop_or_skip!();
    let dir = TempDir::new("api");
    let src = make_source(&dir, "src.flv", 30, &[]);
    let relay = TestRelay::start(test_config()).await;
    let publisher = push(&src, &relay.rtmp_url("live/cam?tok=1"));
    wait_json(
        relay.http,
        "/api/v1/streams/live/cam",
        "stream online",
        |v| v["online"] == true && v["tracks"].as_array().is_some_and(|t| t.len() == 2),
    )
    .await;
    // Players of three protocols.
    let mut rtmp_player = rtmp_connect(relay.rtmp, "live")
        .await
        .play("cam?who=rtmp")
        .await
        .unwrap();
    let flv_out = dir.join("out.flv");
    let http_player = play_ffmpeg(
        &format!("{}?who=http", relay.http_url("live/cam")),
        &flv_out,
    );
    let rtsp_player = ffmpeg_child(&[
        "-rtsp_transport".into(),
        "tcp".into(),
        "-i".into(),
        relay.rtsp_url("live/cam"),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "null".into(),
        "-".into(),
    ]);
    let sessions = wait_json(relay.http, "/api/v1/sessions", "three players", |v| {
        v["sessions"].as_array().is_some_and(|s| s.len() == 4)
    })
    .await;
    let pubs = sessions_of(&sessions, "rtmp", "publisher");
    assert_eq!(pubs.len(), 1, "{sessions}");
    for (p, n) in [("rtmp", 1), ("http-flv", 1), ("rtsp", 1)] {
        assert_eq!(
            sessions_of(&sessions, p, "player").len(),
            n,
            "{p}: {sessions}"
        );
    }
    for s in sessions["sessions"].as_array().unwrap() {
        assert_eq!(
            (s["app"].as_str(), s["stream"].as_str()),
            (Some("live"), Some("cam"))
        );
        assert!(
            s["remote_addr"].as_str().unwrap().starts_with("127.0.0.1:"),
            "{s}"
        );
        assert!(s["id"].as_str().unwrap().parse::<u64>().is_ok());
        assert!(s["uptime_s"].is_u64());
    }
    // The stream: publisher, tracks with their parameters, players, traffic.
    let stream = wait_json(
        relay.http,
        "/api/v1/streams/live/cam",
        "bitrate measured",
        |v| v["bitrate_kbps"].as_u64().is_some_and(|b| b > 0) && v["players"] == 3,
    )
    .await;
    assert_eq!(stream["app"], "live");
    assert_eq!(stream["stream"], "cam");
    assert_eq!(stream["publisher"]["protocol"], "rtmp");
    assert_eq!(stream["publisher"]["id"], pubs[0]["id"]);
    assert_eq!(stream["publisher"]["remote_addr"], pubs[0]["remote_addr"]);
    let tracks = stream["tracks"].as_array().unwrap();
    assert_eq!(tracks[0]["type"], "video");
    assert_eq!(tracks[0]["codec"], "h264");
    assert_eq!(
        (tracks[0]["width"].as_u64(), tracks[0]["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert_eq!(tracks[0]["fps"].as_f64(), Some(25.0));
    assert_eq!(tracks[1]["type"], "audio");
    assert_eq!(tracks[1]["codec"], "aac");
    assert_eq!(
        (
            tracks[1]["sample_rate"].as_u64(),
            tracks[1]["channels"].as_u64()
        ),
        (Some(44_100), Some(1))
    );
    assert!(stream["bytes_in"].as_u64().unwrap() > 10_000);
    // The source is ~1 Mbit/s (libx264 ultrafast 320x240 + AAC); anything sane will do.
    let kbps = stream["bitrate_kbps"].as_u64().unwrap();
    assert!((20..20_000).contains(&kbps), "{kbps} kbit/s");
    let (code, list) = get_json(relay.http, "/api/v1/streams").await;
    assert_eq!(code, 200);
    assert_eq!(list["streams"][0]["key"], "live/cam");
    let (code, err) = get_json(relay.http, "/api/v1/streams/live/nope").await;
    assert_eq!((code, err["error"].is_string()), (404, true));
    let (code, server) = get_json(relay.http, "/api/v1/server").await;
    assert_eq!(code, 200);
    assert_eq!(server["counts"]["publishers"], 1);
    assert_eq!(server["counts"]["players"], 3);
    assert_eq!(server["listeners"]["rtmp"], relay.rtmp.to_string());
    // Players have been sent bytes.
    let sessions = get_json(relay.http, "/api/v1/sessions").await.1;
    for s in sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["role"] == "player")
    {
        assert!(s["bytes_out"].as_u64().unwrap() > 0, "{s}");
    }

    // Kicking the RTMP player closes its connection within a second.
    let id = sessions_of(&sessions, "rtmp", "player")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let t0 = Instant::now();
    let (code, _, _) = http(relay.http, "DELETE", &format!("/api/v1/sessions/{id}"), "").await;
    assert_eq!(code, 204);
    loop {
        match next_event(&mut rtmp_player, Duration::from_secs(2)).await {
            None | Some(ClientEvent::StreamEof { .. }) => break,
            Some(_) => assert!(
                t0.elapsed() < Duration::from_secs(1),
                "still receiving after 1 s"
            ),
        }
    }
    assert!(
        t0.elapsed() < Duration::from_millis(1500),
        "closed in {:?}",
        t0.elapsed()
    );
    let (code, _, _) = http(relay.http, "DELETE", &format!("/api/v1/sessions/{id}"), "").await;
    assert_eq!(code, 404, "gone");
    let (code, _, _) = http(relay.http, "DELETE", "/api/v1/sessions/abc", "").await;
    assert_eq!(code, 404, "an id that is not ours is no session");
    // Kicking the publisher ends its publish: ffmpeg fails, the stream goes offline.
    let pub_id = pubs[0]["id"].as_str().unwrap().to_string();
    let (code, _, _) = http(
        relay.http,
        "DELETE",
        &format!("/api/v1/sessions/{pub_id}"),
        "",
    )
    .await;
    assert_eq!(code, 204);
    let mut publisher = publisher;
    let status = tokio::time::timeout(Duration::from_secs(5), publisher.wait())
        .await
        .expect("the kicked publisher's connection closed")
        .unwrap();
    assert!(!status.success(), "ffmpeg saw its connection closed");
    wait_json(relay.http, "/api/v1/streams", "stream offline", |v| {
        v["streams"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["online"] == false))
    })
    .await;
    drop((http_player, rtsp_player));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_token_is_required_when_set() {
    let mut config = test_config();
    config.api.token = Some("s3cret".into());
    let relay = TestRelay::start(config).await;
    let (code, head, body) = http(relay.http, "GET", "/api/v1/streams", "").await;
    assert_eq!(code, 401);
    assert!(head.contains("www-authenticate: bearer"), "{head}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["error"].is_string());
    let (code, _, _) = http(
        relay.http,
        "GET",
        "/api/v1/streams",
        "Authorization: Bearer wrong\r\n",
    )
    .await;
    assert_eq!(code, 401);
    let (code, _, body) = http(
        relay.http,
        "GET",
        "/api/v1/streams",
        "Authorization: Bearer s3cret\r\n",
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        serde_json::json!({"streams": []})
    );
    let (code, _, _) = http(
        relay.http,
        "DELETE",
        "/api/v1/sessions/99",
        "Authorization: Bearer s3cret\r\n",
    )
    .await;
    assert_eq!(code, 404);
    // Media routes are not behind the API token (they have the authorization hook).
    let (code, _, _) = http(relay.http, "GET", "/live/none/index.m3u8", "").await;
    assert_ne!(code, 401);
    relay.stop().await;
}

/// What the test hook server answers for one request.
#[derive(Clone)]
struct Answer {
    status: u16,
    body: &'static str,
    delay: Duration,
}

fn answer(status: u16, body: &'static str) -> Answer {
    Answer {
        status,
        body,
        delay: Duration::ZERO,
    }
}

/// A small hyper server standing for an application's hook endpoint: records every body
/// and answers by the `rule` (event and stream → answer).
struct HookServer {
    url: String,
    seen: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HookServer {
    async fn start(rule: impl Fn(&Value) -> Answer + Send + Sync + 'static) -> HookServer {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let rule = Arc::new(rule);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = l.accept().await else {
                    return;
                };
                let log = log.clone();
                let rule = rule.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        let rule = rule.clone();
                        async move {
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let a = rule(&v);
                            log.lock().unwrap().push(v);
                            tokio::time::sleep(a.delay).await;
                            let mut r = hyper::Response::new(Full::new(Bytes::from_static(
                                a.body.as_bytes(),
                            )));
                            *r.status_mut() = hyper::StatusCode::from_u16(a.status).unwrap();
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        HookServer { url, seen, task }
    }

    fn events(&self, event: &str) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["event"] == event)
            .cloned()
            .collect()
    }

    async fn wait_event(&self, event: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = self.events(event).into_iter().find(|v| pred(v)) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "no {event} hook: {:?}",
                self.seen.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Answers by the stream name: `allow-empty`, `allow-zero`, `allow-code0` allow;
/// `deny-code1`, `deny-403`, `deny-slow` (past the timeout) deny; anything else allows.
fn by_stream(v: &Value) -> Answer {
    match v["stream"].as_str().unwrap_or("") {
        "allow-zero" => answer(200, "0"),
        "allow-code0" => answer(200, "{\"code\":0,\"msg\":\"ok\"}"),
        "deny-code1" => answer(200, "{\"code\":1,\"msg\":\"no\"}"),
        "deny-403" => answer(403, ""),
        "deny-slow" => Answer {
            status: 200,
            body: "",
            delay: Duration::from_secs(3),
        },
        _ => answer(200, ""),
    }
}

fn hooked_config(hook: &HookServer) -> weir_tokio::RelayConfig {
    let mut c = test_config();
    c.hooks.on_publish = Some(hook.url.clone());
    c.hooks.on_play = Some(hook.url.clone());
    c.hooks.on_unpublish = Some(hook.url.clone());
    c.hooks.on_play_stop = Some(hook.url.clone());
    c.hooks.on_stream_none_reader = Some(hook.url.clone());
    c.hooks.on_stream_not_found = Some(hook.url.clone());
    c.hooks.timeout = Duration::from_millis(800);
    c.hooks.none_reader = Duration::from_millis(500);
    c.hooks.server_id = "test-relay".into();
    c.play_wait = Duration::from_millis(500);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_decide_publish_by_every_answer_rule() {
    let hook = HookServer::start(by_stream).await;
    let relay = TestRelay::start(hooked_config(&hook)).await;
    for (name, allowed) in [
        ("allow-empty", true),
        ("allow-zero", true),
        ("allow-code0", true),
        ("deny-code1", false),
        ("deny-403", false),
        ("deny-slow", false),
    ] {
        let r = rtmp_connect(relay.rtmp, "live")
            .await
            .publish(&format!("{name}?k=v"))
            .await;
        match (r, allowed) {
            (Ok(_), true) => {}
            (Err(weir_tokio::client::ClientError::Rejected { code, .. }), false) => {
                assert!(code.starts_with("NetStream.Publish."), "{name}: {code}");
            }
            (r, _) => panic!("{name}: {:?}", r.map(|_| ())),
        }
    }
    let body = hook
        .wait_event("on_publish", |v| v["stream"] == "deny-code1")
        .await;
    assert_eq!(body["server_id"], "test-relay");
    assert_eq!(body["protocol"], "rtmp");
    assert_eq!(body["app"], "live");
    assert_eq!(body["query"], "k=v");
    assert!(body["remote_addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(body["session_id"].as_str().unwrap().parse::<u64>().is_ok());
    relay.stop().await;

    // fail_open: a hook that does not answer in time allows.
    let mut c = hooked_config(&hook);
    c.hooks.fail_open = true;
    let relay = TestRelay::start(c).await;
    let r = rtmp_connect(relay.rtmp, "live")
        .await
        .publish("deny-slow")
        .await;
    assert!(r.is_ok(), "fail_open allows a hook that timed out");
    relay.stop().await;
}

/// Every protocol's refusal when `on_play`/`on_publish` deny, and every notification with
/// its payload, with real ffmpeg clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_refusals_and_notifications_across_protocols() {
    interop_or_skip!();
    let dir = TempDir::new("hooks");
    let src = make_source(&dir, "src.flv", 30, &[]);
    // on_play: deny when the player's query says so; everything else allowed.
    let hook = HookServer::start(|v| {
        if v["event"] == "on_play" && v["query"].as_str().is_some_and(|q| q.contains("deny")) {
            answer(200, "{\"code\":403}")
        } else {
            by_stream(v)
        }
    })
    .await;
    let relay = TestRelay::start(hooked_config(&hook)).await;
    let publisher = push(&src, &relay.rtmp_url("live/cam?pub=1"));
    wait_json(relay.http, "/api/v1/streams/live/cam", "online", |v| {
        v["online"] == true
    })
    .await;

    // Refusals: RTMP error status, HTTP 403, RTSP 403.
    match rtmp_connect(relay.rtmp, "live")
        .await
        .play("cam?deny=1")
        .await
    {
        Err(weir_tokio::client::ClientError::Rejected { code, .. }) => {
            assert_eq!(code, "NetStream.Play.Failed")
        }
        other => panic!("denied RTMP play accepted: {:?}", other.map(|_| ())),
    }
    let (code, _, _) = http(relay.http, "GET", "/live/cam.flv?deny=1", "").await;
    assert_eq!(code, 403);
    let rtsp = relay.rtsp.unwrap();
    let mut s = TcpStream::connect(rtsp).await.unwrap();
    s.write_all(
        format!("DESCRIBE rtsp://{rtsp}/live/cam?deny=1 RTSP/1.0\r\nCSeq: 1\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut b = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut b))
        .await
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&b[..n]).starts_with("RTSP/1.0 403"),
        "{}",
        String::from_utf8_lossy(&b[..n])
    );

    // An allowed player; its on_play and on_play_stop carry the same session id.
    let out = dir.join("out.flv");
    let player = ffmpeg_child(&[
        "-i".into(),
        format!("{}?viewer=7", relay.http_url("live/cam")),
        "-t".into(),
        "1".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "flv".into(),
        out.display().to_string(),
    ]);
    wait_ok(player, "player", Duration::from_secs(20)).await;
    let play = hook
        .wait_event("on_play", |v| v["query"] == "viewer=7")
        .await;
    assert_eq!(play["protocol"], "http-flv");
    let stop = hook
        .wait_event("on_play_stop", |v| v["session_id"] == play["session_id"])
        .await;
    assert_eq!(
        (stop["protocol"].as_str(), stop["query"].as_str()),
        (Some("http-flv"), Some("viewer=7"))
    );
    // No player left: on_stream_none_reader after none_reader_ms.
    let none = hook
        .wait_event("on_stream_none_reader", |v| v["stream"] == "cam")
        .await;
    assert_eq!(none["app"], "live");
    // A player for a stream nobody publishes: on_stream_not_found.
    let (code, _, _) = http(relay.http, "GET", "/live/ghost.flv", "").await;
    assert_eq!(code, 404);
    let nf = hook
        .wait_event("on_stream_not_found", |v| v["stream"] == "ghost")
        .await;
    assert_eq!(nf["protocol"], "http-flv");
    // The publisher leaves: on_unpublish with its session and query.
    let publish = hook
        .wait_event("on_publish", |v| v["stream"] == "cam")
        .await;
    drop(publisher);
    let unpub = hook
        .wait_event("on_unpublish", |v| v["session_id"] == publish["session_id"])
        .await;
    assert_eq!(
        (unpub["protocol"].as_str(), unpub["query"].as_str()),
        (Some("rtmp"), Some("pub=1"))
    );
    relay.stop().await;
}

/// A GB28181 device whose stream `on_publish` refuses creates no stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_refuse_a_gb28181_device() {
    let hook = HookServer::start(|v| {
        if v["protocol"] == "gb28181" {
            answer(200, "{\"code\":1}")
        } else {
            answer(200, "")
        }
    })
    .await;
    let relay = TestRelay::start(hooked_config(&hook)).await;
    let (udp, _) = relay.gb28181();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut p = vec![0x80, 96, 0, 1, 0, 0, 0, 0];
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    sock.send_to(&p, udp).await.unwrap();
    let body = hook
        .wait_event("on_publish", |v| v["stream"] == "12345678")
        .await;
    assert_eq!(body["app"], "rtp");
    assert_eq!(body["remote_addr"], sock.local_addr().unwrap().to_string());
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay.gb_stats.refused() == 0 {
        assert!(Instant::now() < deadline, "refusal not recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(relay.hub.streams().is_empty());
    relay.stop().await;
}

/// `/metrics` is valid Prometheus text: parsed with a Prometheus parser, the values match
/// what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_count() {
    let hook = HookServer::start(by_stream).await;
    let relay = TestRelay::start(hooked_config(&hook)).await;
    let _p = rtmp_connect(relay.rtmp, "live")
        .await
        .publish("allow-empty")
        .await
        .unwrap();
    let _ = rtmp_connect(relay.rtmp, "live")
        .await
        .publish("deny-code1")
        .await;
    let (code, head, body) = http(relay.http, "GET", "/metrics", "").await;
    assert_eq!(code, 200);
    assert!(
        head.contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    let text = String::from_utf8(body.to_vec()).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name}{labels:?} missing in\n{text}"))
    };
    assert_eq!(value("weir_streams", &[]), 1.0);
    assert_eq!(
        value(
            "weir_sessions",
            &[("protocol", "rtmp"), ("role", "publisher")]
        ),
        1.0
    );
    assert!(value("weir_bytes_in_total", &[("protocol", "rtmp")]) > 0.0);
    assert_eq!(
        value(
            "weir_hook_calls_total",
            &[("event", "on_publish"), ("result", "allow")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "weir_hook_calls_total",
            &[("event", "on_publish"), ("result", "deny")]
        ),
        1.0
    );
    assert!(value("weir_process_resident_memory_bytes", &[]) > 1e6);
    assert!(value("weir_process_open_fds", &[]) > 3.0);
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "weir_hook_latency_seconds_count"
            || matches!(s.value, prometheus_parse::Value::Histogram(_))));
    relay.stop().await;
}

/// 200 concurrent `GET /api/v1/sessions` while 100 RTMP players watch: every answer comes,
/// in bounded time, and no player falls behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_under_load_does_not_disturb_players() {
    let relay = TestRelay::start(test_config()).await;
    let mut publisher = rtmp_connect(relay.rtmp, "live")
        .await
        .publish("load")
        .await
        .unwrap();
    // A synthetic 1 Mbit/s stream: AVC sequence header, then 25 fps frames, 1 s GOP.
    let sps = Bytes::from_static(&[
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ]);
    let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
    let mut avc = vec![0x17, 0, 0, 0, 0];
    avc.extend_from_slice(
        &weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps])
            .unwrap()
            .to_bytes(),
    );
    let avc = Bytes::from(avc);
    publisher.session().send_video(0, avc.clone()).unwrap();
    publisher.flush().await.unwrap();
    let frame = |i: u32| {
        let key = i.is_multiple_of(25);
        let mut b = vec![
            if key { 0x17 } else { 0x27 },
            1,
            0,
            0,
            0,
            0,
            0,
            0x13,
            0x88,
            if key { 0x65 } else { 0x41 },
        ];
        b.resize(5000 + 9, (i % 251) as u8);
        Bytes::from(b)
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut i = 0u32;
            let mut tick = tokio::time::interval(Duration::from_millis(40));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                publisher.session().send_video(i * 40, frame(i)).unwrap();
                if publisher.flush().await.is_err() {
                    return;
                }
                i += 1;
            }
        })
    };
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut players = Vec::new();
    for _ in 0..100 {
        let mut p = rtmp_connect(relay.rtmp, "live")
            .await
            .play("load")
            .await
            .unwrap();
        let received = received.clone();
        players.push(tokio::spawn(async move {
            while let Some(ev) = next_event(&mut p, Duration::from_secs(10)).await {
                if matches!(ev, ClientEvent::Video { .. }) {
                    received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    wait_json(
        relay.http,
        "/api/v1/streams/live/load",
        "100 players",
        |v| v["players"] == 100,
    )
    .await;
    let before = received.load(std::sync::atomic::Ordering::Relaxed);
    let t0 = Instant::now();
    let mut gets = Vec::new();
    for _ in 0..200 {
        let http_addr = relay.http;
        gets.push(tokio::spawn(async move {
            let t = Instant::now();
            let (code, v) = get_json(http_addr, "/api/v1/sessions").await;
            assert_eq!(code, 200);
            assert!(v["sessions"].as_array().unwrap().len() >= 101);
            t.elapsed()
        }));
    }
    let mut worst = Duration::ZERO;
    for g in gets {
        worst = worst.max(
            tokio::time::timeout(Duration::from_secs(30), g)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let all = t0.elapsed();
    eprintln!(
        "200 concurrent GET /api/v1/sessions beside 100 players: all in {all:?}, slowest {worst:?}"
    );
    // Players kept receiving through it, and none fell behind.
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(std::sync::atomic::Ordering::Relaxed) < before + 100 * 10 {
        assert!(Instant::now() < deadline, "players stopped receiving");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = relay.hub.counters();
    assert_eq!(
        c.units_skipped.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "a player fell behind"
    );
    assert_eq!(
        c.players_stuck.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sender.await;
    for p in players {
        p.abort();
    }
    relay.stop().await;
}

/// The OpenAPI document matches the implementation: schemathesis (PyPI; `scripts/test.sh`
/// installs it) generates requests from it against a relay with a live stream and checks
/// every answer (status codes, schemas, headers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_holds_under_schemathesis() {
    let found = std::process::Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var("WEIR_INTEROP").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(!required, "WEIR_INTEROP is set but schemathesis is not installed (pip install schemathesis; scripts/test.sh does)");
        eprintln!("!!! SKIPPED: schemathesis not installed");
        return;
    }
    let dir = TempDir::new("schemathesis");
    // Pulls and pushes the API accepts connect to their URLs: every URL schemathesis sends
    // is pointed at this listener of the test's (which hangs up at once), never at a host
    // it made up; and a `tls_ca` names a real PEM file. See SCHEMATHESIS_HOOKS.
    let sink = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_addr = sink.local_addr().unwrap();
    let sink_task = tokio::spawn(async move {
        while let Ok((s, _)) = sink.accept().await {
            drop(s);
        }
    });
    let ca = dir.join("ca.pem");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    std::fs::write(dir.join("weir_st_hooks.py"), SCHEMATHESIS_HOOKS).unwrap();
    let mut config = test_config();
    config.record.dir = dir.join("recordings");
    let relay = TestRelay::start(config).await;
    let _p = rtmp_connect(relay.rtmp, "live")
        .await
        .publish("cam")
        .await
        .unwrap();
    let mut st = tokio::process::Command::new("schemathesis");
    st.current_dir(dir.path())
        .env("SCHEMATHESIS_HOOKS", "weir_st_hooks")
        .env("PYTHONPATH", dir.path())
        .env("WEIR_ST_SINK", sink_addr.to_string())
        .env("WEIR_ST_CA", &ca)
        .args([
            "run",
            &format!("http://{}/api/v1/openapi.json", relay.http),
            "--checks",
            "all",
            "--max-examples",
            "60",
            "--seed",
            "7",
            "--no-color",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(300), st.output())
        .await
        .expect("schemathesis finished")
        .expect("schemathesis ran");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("passed"), "{text}");
    // Every operation schemathesis found was tested, and the document it read has the
    // pulls, pushes and recordings endpoints.
    let total = text
        .split("selected / ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no operation count:\n{text}"));
    assert!(
        text.contains(&format!("Tested: {total}")),
        "not all {total} operations tested:\n{text}"
    );
    let (_, doc) = get_json(relay.http, "/api/v1/openapi.json").await;
    for path in [
        "/pulls",
        "/pulls/{id}",
        "/pushes",
        "/pushes/{id}",
        "/recordings",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    sink_task.abort();
    relay.stop().await;
}

/// Loaded by schemathesis (`SCHEMATHESIS_HOOKS`): before each request, a pull's or push's
/// URL gets the test's sink as its host (what was there becomes the first path segment, so
/// the scheme and the `.flv` ending stay as generated; `@` and backslashes are escaped so no
/// parser finds another host), and a `tls_ca` string becomes the test's PEM file.
const SCHEMATHESIS_HOOKS: &str = r#"
import os
import re
import schemathesis

SINK = os.environ["WEIR_ST_SINK"]
CA = os.environ["WEIR_ST_CA"]

@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if not isinstance(body, dict):
        return
    url = body.get("url")
    if isinstance(url, str):
        m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://)(.*)$", url, re.S)
        if m:
            rest = m.group(2).replace("%", "%25").replace("@", "%40").replace("\\", "%5C")
            body["url"] = m.group(1) + SINK + "/" + rest
    if isinstance(body.get("tls_ca"), str):
        body["tls_ca"] = CA
"#;

/// HLS players are sessions: the first playlist request opens one (asked of `on_play`
/// once), segments and reloads are counted to it, the API lists it, and a kick ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_players_are_sessions() {
    interop_or_skip!();
    let dir = TempDir::new("hls-sessions");
    let src = make_source(&dir, "src.flv", 30, &[]);
    let hook = HookServer::start(|_| answer(200, "")).await;
    let mut config = hooked_config(&hook);
    config.hls.target_duration = Duration::from_secs(1);
    let relay = TestRelay::start(config).await;
    let publisher = push(&src, &relay.rtmp_url("live/cam"));
    wait_json(relay.http, "/api/v1/streams/live/cam", "online", |v| {
        v["online"] == true
    })
    .await;
    let (code, _, body) = http(relay.http, "GET", "/live/cam/index.m3u8?token=abc", "").await;
    assert_eq!(code, 200);
    let text = String::from_utf8(body.to_vec()).unwrap();
    let seg = text
        .lines()
        .find(|l| l.ends_with(".ts") || l.contains(".ts?"))
        .unwrap()
        .to_string();
    assert!(
        seg.contains("token=abc&session="),
        "the client's query is kept: {seg}"
    );
    let (code, _, data) = http(relay.http, "GET", &format!("/live/cam/{seg}"), "").await;
    assert_eq!(code, 200);
    // A reload of the first URL (no session id) from the same address is the same session.
    let (code, _, _) = http(relay.http, "GET", "/live/cam/index.m3u8?token=abc", "").await;
    assert_eq!(code, 200);
    let sessions = get_json(relay.http, "/api/v1/sessions").await.1;
    let hls = sessions_of(&sessions, "hls", "player");
    assert_eq!(hls.len(), 1, "{sessions}");
    assert!(hls[0]["bytes_out"].as_u64().unwrap() >= data.len() as u64);
    let plays: Vec<Value> = hook
        .events("on_play")
        .into_iter()
        .filter(|v| v["protocol"] == "hls")
        .collect();
    assert_eq!(plays.len(), 1, "asked once per HLS session: {plays:?}");
    assert_eq!(plays[0]["query"], "token=abc");
    assert_eq!(plays[0]["session_id"], hls[0]["id"]);
    // Kicked: the session's next request is refused.
    let id = hls[0]["id"].as_str().unwrap();
    let (code, _, _) = http(relay.http, "DELETE", &format!("/api/v1/sessions/{id}"), "").await;
    assert_eq!(code, 204);
    let (code, _, _) = http(relay.http, "GET", &format!("/live/cam/{seg}"), "").await;
    assert_eq!(code, 403);
    drop(publisher);
    relay.stop().await;
}
