//! LL-HLS (`/{app}/{stream}/ll.m3u8`) checked from the outside: the playlist checker
//! (`llhls_check`, RFC 8216bis MUST rules) on live playlists over time, parts that say
//! INDEPENDENT=YES starting with keyframes, ffmpeg decoding the stream to the source's
//! pictures, HTTP/2, and hostile requests.

mod common;
mod llhls_check;
mod wait;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use llhls_check::{part_number, path_of, Checker};
use weir_hls::MediaPlaylist;
use weir_mp4::{DemuxConfig, MemoryDemuxer};
use weir_testutil::{interop_or_skip, TempDir};

fn ll_config() -> weir_tokio::RelayConfig {
    let mut c = test_config();
    c.hls.ll_segment = Duration::from_secs(1);
    c
}

/// GET `path` (HTTP/1.0): status, lower-cased head, body.
async fn get(http: SocketAddr, path: &str) -> (u16, String, Bytes) {
    http_get(http, path).await
}

/// The first playlist of `key` (waits for its first segment), as text.
async fn first_playlist(http: SocketAddr, key: &str) -> String {
    let (code, head, body) = get(http, &format!("/{key}/ll.m3u8")).await;
    assert_eq!(code, 200, "{head}");
    assert!(
        head.contains("content-type: application/vnd.apple.mpegurl"),
        "{head}"
    );
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
    assert!(
        head.contains("access-control-expose-headers: content-length, content-range"),
        "{head}"
    );
    String::from_utf8(body.to_vec()).unwrap()
}

/// The (msn, part) a player asks for next: the part after the last listed one.
fn next_ask(p: &MediaPlaylist) -> (u64, u64) {
    let next = p.msn_of(p.segments.len());
    match &p.open_segment {
        Some(o) if !o.parts.is_empty() => (next, o.parts.len() as u64),
        _ => (next, 0),
    }
}

/// True when the first video sample of `init` + `part` is a keyframe (none: audio only).
fn starts_with_keyframe(init: &Bytes, part: &Bytes) -> bool {
    let mut all = init.to_vec();
    all.extend_from_slice(part);
    let mut d = MemoryDemuxer::new(Bytes::from(all), DemuxConfig::default()).expect("demux part");
    let video = d
        .tracks()
        .iter()
        .find(|t| t.codec.kind() == weir_media::MediaKind::Video)
        .map(|t| t.id);
    while let Some(f) = d.next_frame().expect("part frames") {
        if Some(f.track) == video {
            return f.keyframe;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ll_hls_checker_passes_for_60_seconds_of_a_live_stream() {
    interop_or_skip!();
    let dir = TempDir::new("llhls-60");
    let src = make_source(&dir, "src.flv", 75, &[]);
    let relay = TestRelay::start(ll_config()).await;
    let key = "live/ll60";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let text = first_playlist(relay.http, key).await;
    let mut check = Checker::default();
    let mut p = check.full(&text, None);
    let init_uri = p.map_of(0).expect("EXT-X-MAP").uri.clone();
    let (code, head, init) = get(relay.http, &format!("/{key}/{init_uri}")).await;
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("content-type: video/mp4"), "{head}");
    let started = Instant::now();
    let (mut independent, mut parts_checked, mut deltas) = (0, 0, 0);
    while started.elapsed() < Duration::from_secs(60) {
        let (msn, part) = next_ask(&p);
        let q = format!("/{key}/ll.m3u8?_HLS_msn={msn}&_HLS_part={part}");
        let (code, head, body) = get(relay.http, &q).await;
        assert_eq!(code, 200, "{q}: {head}");
        let text = String::from_utf8(body.to_vec()).unwrap();
        p = check.full(&text, Some((msn, Some(part))));
        // Every new part: INDEPENDENT=YES exactly when it starts with a keyframe.
        for seen in std::mem::take(&mut check.new_parts) {
            let (code, head, data) = get(relay.http, &format!("/{key}/{}", seen.uri)).await;
            assert_eq!(code, 200, "{}: {head}", seen.uri);
            assert_eq!(
                starts_with_keyframe(&init, &data),
                seen.independent,
                "part {} INDEPENDENT={}",
                seen.uri,
                seen.independent
            );
            independent += usize::from(seen.independent);
            parts_checked += 1;
        }
        // Now and then, a delta update of the same request agrees with the full playlist.
        if check.playlists % 10 == 0 {
            let (code, _, body) = get(relay.http, &format!("{q}&_HLS_skip=YES")).await;
            assert_eq!(code, 200);
            let delta = String::from_utf8(body.to_vec()).unwrap();
            let (_, _, body) = get(relay.http, &q).await;
            let full = check.full(std::str::from_utf8(&body).unwrap(), None);
            check.delta(&delta, &full);
            deltas += usize::from(delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS="));
        }
    }
    assert!(parts_checked >= 200, "{parts_checked} parts in 60 s");
    assert!(independent >= 50, "{independent} independent parts");
    assert!(deltas >= 5, "{deltas} delta updates skipped segments");
    assert!(
        check.segments_seen() >= 55,
        "{} segments",
        check.segments_seen()
    );
    drop(publisher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_plays_ll_hls_to_the_source_pictures() {
    interop_or_skip!();
    let dir = TempDir::new("llhls-ffmpeg");
    let src = make_source(&dir, "src.flv", 8, &[]);
    let relay = TestRelay::start(ll_config()).await;
    let key = "live/llff";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let out = dir.join("ll.mkv");
    let url = format!("http://{}/{key}/ll.m3u8", relay.http);
    let player = ffmpeg_child(&[
        "-i".into(),
        url,
        "-map".into(),
        "0".into(),
        "-c".into(),
        "copy".into(),
        out.display().to_string(),
    ]);
    wait_ok(publisher, "publisher", Duration::from_secs(60)).await;
    wait_ok(player, "ffmpeg ll.m3u8", Duration::from_secs(60)).await;
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    let got = weir_testutil::decoded_video_md5(&out, &[]);
    assert!(got.len() >= 50, "{} pictures", got.len());
    let start = want
        .iter()
        .position(|m| *m == got[0])
        .expect("first picture is the source's");
    assert!(
        keyframe_indices(&src).contains(&start),
        "starts on a keyframe"
    );
    assert_eq!(
        got[..],
        want[start..start + got.len()],
        "pictures bit-exact"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_playlist_and_blocking_reload() {
    interop_or_skip!();
    use http_body_util::{BodyExt, Empty};
    let dir = TempDir::new("llhls-h2");
    let src = make_source(&dir, "src.flv", 10, &[]);
    let relay = TestRelay::start(ll_config()).await;
    let key = "live/llh2";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let tcp = tokio::net::TcpStream::connect(relay.http).await.unwrap();
    let (mut h2, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .expect("h2c handshake");
    tokio::spawn(conn);
    let mut fetch = |path: String| {
        let req = hyper::Request::get(format!("http://{}{path}", relay.http))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let f = h2.send_request(req);
        async move {
            let r = f.await.expect("h2 response");
            assert_eq!(r.version(), hyper::Version::HTTP_2);
            let code = r.status().as_u16();
            let cors = r.headers().contains_key("access-control-allow-origin");
            let body = r.into_body().collect().await.unwrap().to_bytes();
            (code, cors, String::from_utf8_lossy(&body).to_string())
        }
    };
    let (code, cors, text) = fetch(format!("/{key}/ll.m3u8")).await;
    assert_eq!(code, 200, "{text}");
    assert!(cors);
    let mut check = Checker::default();
    let p = check.full(&text, None);
    // A blocking reload two parts ahead, over the same HTTP/2 connection.
    let (msn, part) = next_ask(&p);
    let (msn, part) = (msn, part + 1);
    let asked = Instant::now();
    let (code, _, text) = fetch(format!("/{key}/ll.m3u8?_HLS_msn={msn}&_HLS_part={part}")).await;
    assert_eq!(code, 200, "{text}");
    check.full(&text, Some((msn, Some(part))));
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "answered when the part came"
    );
    // And the hinted part, held until it exists.
    let p = MediaPlaylist::parse(&text).unwrap();
    let hint = &p.preload_hints[0].uri;
    let (code, _, _) = fetch(format!("/{key}/{hint}")).await;
    assert_eq!(code, 200);
    drop(publisher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_400_404_and_waiting_is_bounded() {
    interop_or_skip!();
    let dir = TempDir::new("llhls-hostile");
    let src = make_source(&dir, "src.flv", 12, &[]);
    let mut config = ll_config();
    config.hls.ll_max_waiting = 8;
    let relay = TestRelay::start(config).await;
    let key = "live/llbad";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let text = first_playlist(relay.http, key).await;
    let p = MediaPlaylist::parse(&text).unwrap();
    let (msn, _) = next_ask(&p);
    let pl = format!("/{key}/ll.m3u8");
    // The player is an `ll-hls` session (asked of the hook once, listed, kickable).
    let session = relay
        .hub
        .sessions()
        .into_iter()
        .find(|s| s.protocol == "ll-hls" && s.key == key)
        .expect("ll-hls session");
    for q in [
        "_HLS_msn=-1".to_string(),
        "_HLS_msn=abc".into(),
        "_HLS_msn=".into(),
        "_HLS_msn=99999999999999999999999999".into(),
        "_HLS_msn=18446744073709551615".into(),
        "_HLS_msn=18446744073709551615&_HLS_part=18446744073709551615".into(),
        format!("_HLS_msn={}", msn + 2),
        format!("_HLS_msn={msn}&_HLS_part=1000"),
        "_HLS_part=1".into(),
        format!("_HLS_msn={msn}&_HLS_part=-2"),
        format!("_HLS_msn={msn}&_HLS_msn={msn}"),
        "_HLS_skip=maybe".into(),
    ] {
        let (code, head, _) = get(relay.http, &format!("{pl}?{q}")).await;
        assert_eq!(code, 400, "{q}: {head}");
        assert!(head.contains("access-control-allow-origin: *"), "{head}");
    }
    let map = p.map_of(0).unwrap().uri.clone();
    let epoch = path_of(&map).split('-').next().unwrap().to_string();
    let hint = part_number(&p.preload_hints[0].uri);
    for path in [
        format!("{epoch}-p{}.m4s", hint + 5),
        format!("{epoch}-p99999999999999999999.m4s"),
        format!("{epoch}-s{}.m4s", msn + 3),
        format!("{epoch}-init7.mp4"),
        "ll999999-p0.m4s".into(),
        "ll-p0.m4s".into(),
        format!("{epoch}-q1.m4s"),
    ] {
        let (code, head, _) = get(relay.http, &format!("/{key}/{path}")).await;
        assert_eq!(code, 404, "{path}: {head}");
    }
    // Forty blocking reloads for the next segment at once: eight wait, the rest get 503
    // at once (no unbounded pile of held requests).
    let asks: Vec<_> = (0..40)
        .map(|_| {
            let url = format!("{pl}?_HLS_msn={}", msn + 1);
            let http = relay.http;
            tokio::spawn(async move {
                let t = Instant::now();
                let (code, _, _) = get(http, &url).await;
                (code, t.elapsed())
            })
        })
        .collect();
    let mut codes = Vec::new();
    for a in asks {
        codes.push(a.await.unwrap());
    }
    let ok = codes.iter().filter(|(c, _)| *c == 200).count();
    let busy: Vec<_> = codes.iter().filter(|(c, _)| *c == 503).collect();
    assert!((8..40).contains(&ok), "{codes:?}");
    assert_eq!(ok + busy.len(), 40, "{codes:?}");
    assert!(
        busy.iter().all(|(_, t)| *t < Duration::from_secs(2)),
        "{codes:?}"
    );
    // A kicked session gets 403 from then on.
    assert!(relay.hub.kick(session.id));
    let (code, _, _) = get(relay.http, &format!("{pl}?session={}", session.id)).await;
    assert_eq!(code, 403);
    drop(publisher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_upgrade_blocking_reload_with_curl() {
    interop_or_skip!();
    let dir = TempDir::new("llhls-h2c");
    let src = make_source(&dir, "src.flv", 10, &[]);
    let relay = TestRelay::start(ll_config()).await;
    let key = "live/llup";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let text = first_playlist(relay.http, key).await;
    let mut check = Checker::default();
    let p = check.full(&text, None);
    let (msn, part) = next_ask(&p);
    // curl --http2 on http:// asks for `Upgrade: h2c`; the 101 is followed by the answer
    // to the same request over HTTP/2 (stream 1).
    let url = format!(
        "http://{}/{key}/ll.m3u8?_HLS_msn={msn}&_HLS_part={part}",
        relay.http
    );
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", "--http2", "-D", "-", "--max-time", "20", &url])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = weir_testutil::ChildGuard::spawn(&mut cmd);
        child.capture_stdout();
        let done = child.finish(Duration::from_secs(30));
        assert!(done.success(), "curl failed");
        done.stdout
    })
    .await
    .unwrap();
    assert!(out.starts_with("HTTP/1.1 101"), "{out}");
    assert!(out.contains("\r\nHTTP/2 200"), "{out}");
    let body = &out[out.find("#EXTM3U").expect("a playlist")..];
    check.full(body, Some((msn, Some(part))));
    drop(publisher);
    relay.stop().await;
}
