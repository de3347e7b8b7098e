//! HTTP-TS (`.ts`), HTTP-fMP4 (`.mp4`) and MJPEG (`.mjpeg`) players: ffmpeg decodes the
//! first two to the source's pictures from a keyframe; the MJPEG parts are the source's
//! JPEGs (same entropy-coded scans, same decoded pictures); sessions, HEAD, 404 and 415.

mod common;
mod wait;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_testutil::{interop_or_skip, TempDir};

fn assert_source_pictures(
    src: &std::path::Path,
    got: &std::path::Path,
    extra: &[&str],
    what: &str,
) {
    let want = weir_testutil::decoded_video_md5(src, &[]);
    let have = weir_testutil::decoded_video_md5(got, extra);
    assert!(have.len() >= 25, "{what}: {} pictures", have.len());
    let start = want
        .iter()
        .position(|m| *m == have[0])
        .unwrap_or_else(|| panic!("{what}: first picture not in the source"));
    assert_eq!(
        have[..],
        want[start..start + have.len()],
        "{what}: pictures bit-exact"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_plays_http_ts_and_http_mp4_to_the_source_pictures() {
    interop_or_skip!();
    let dir = TempDir::new("http-media");
    let src = make_source(&dir, "src.flv", 8, &[]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/media";
    // Unknown streams: 404 once the play wait is over (HEAD too).
    let mut quick = test_config();
    quick.play_wait = Duration::from_millis(200);
    let other = TestRelay::start(quick).await;
    for ext in ["ts", "mp4", "mjpeg"] {
        let (code, head, _) = http_get(other.http, &format!("/live/none.{ext}")).await;
        assert_eq!(code, 404, "{ext}: {head}");
        assert!(head.contains("access-control-allow-origin: *"), "{head}");
    }
    other.stop().await;
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    for (ext, ctype) in [("ts", "video/mp2t"), ("mp4", "video/mp4")] {
        let mut s = tokio::net::TcpStream::connect(relay.http).await.unwrap();
        s.write_all(format!("HEAD /{key}.{ext} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = vec![0; 4096];
        let n = s.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains(&format!("content-type: {ctype}")), "{head}");
    }
    // .mjpeg of an H.264 stream: 415 with a reason.
    let (code, _, body) = http_get(relay.http, &format!("/{key}.mjpeg")).await;
    assert_eq!(code, 415, "{}", String::from_utf8_lossy(&body));
    let mut players = Vec::new();
    let mut outs = Vec::new();
    for (ext, out) in [("ts", "got.ts"), ("mp4", "got.mkv")] {
        let out = dir.join(out);
        players.push(ffmpeg_child(&[
            "-i".into(),
            format!("http://{}/{key}.{ext}", relay.http),
            "-map".into(),
            "0".into(),
            "-c".into(),
            "copy".into(),
            out.display().to_string(),
        ]));
        outs.push((ext, out));
    }
    // Both players are sessions of their protocol, listed by the hub.
    wait::until("http-ts and http-mp4 sessions", || {
        let s = relay.hub.sessions();
        ["http-ts", "http-mp4"]
            .iter()
            .all(|p| s.iter().any(|x| x.protocol == *p && x.key == key))
    })
    .await;
    wait_ok(publisher, "publisher", Duration::from_secs(60)).await;
    for p in players {
        wait_ok(p, "player", Duration::from_secs(60)).await;
    }
    for (ext, out) in &outs {
        assert_source_pictures(&src, out, &[], ext);
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicked_http_ts_player_is_disconnected() {
    interop_or_skip!();
    let dir = TempDir::new("http-media-kick");
    let src = make_source(&dir, "src.flv", 20, &[]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/kick";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let mut s = tokio::net::TcpStream::connect(relay.http).await.unwrap();
    s.write_all(format!("GET /{key}.mp4 HTTP/1.0\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0; 65536];
    while got.len() < 100_000 {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "stream ended early");
        got.extend_from_slice(&buf[..n]);
    }
    let id = relay
        .hub
        .sessions()
        .iter()
        .find(|x| x.protocol == "http-mp4")
        .expect("session")
        .id;
    assert!(relay.hub.kick(id));
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "kicked player disconnected");
    drop(publisher);
    relay.stop().await;
}

/// The JPEGs of a concatenation (SOI … EOI; EOI cannot occur inside entropy-coded data).
fn split_jpegs(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(s) = data[at..].windows(2).position(|w| w == [0xFF, 0xD8]) {
        let start = at + s;
        let Some(e) = data[start..].windows(2).position(|w| w == [0xFF, 0xD9]) else {
            break;
        };
        out.push(&data[start..start + e + 2]);
        at = start + e + 2;
    }
    out
}

/// The entropy-coded scan of a baseline JPEG: after the SOS segment, up to EOI.
fn scan(jpeg: &[u8]) -> &[u8] {
    let sos = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("SOS");
    let len = usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]));
    &jpeg[sos + 2 + len..jpeg.len() - 2]
}

/// Parts of a `multipart/x-mixed-replace` body: (content type, body).
fn multipart(body: &[u8], boundary: &str) -> Vec<(String, Bytes)> {
    let mut parts = Vec::new();
    let delim = format!("--{boundary}\r\n");
    let mut at = 0;
    while let Some(p) = body[at..]
        .windows(delim.len())
        .position(|w| w == delim.as_bytes())
    {
        let h = at + p + delim.len();
        let Some(end) = body[h..].windows(4).position(|w| w == b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&body[h..h + end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("Content-Length");
        let ctype = head
            .lines()
            .find_map(|l| l.strip_prefix("content-type: "))
            .unwrap_or("")
            .to_string();
        let start = h + end + 4;
        if start + len > body.len() {
            break;
        }
        parts.push((ctype, Bytes::copy_from_slice(&body[start..start + len])));
        at = start + len;
    }
    parts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_parts_are_the_source_jpegs() {
    interop_or_skip!();
    let dir = TempDir::new("http-mjpeg");
    let src = dir.join("src.mkv");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "4",
        "-c:v",
        "mjpeg",
        "-huffman",
        "default",
        "-pix_fmt",
        "yuvj420p",
        "-q:v",
        "4",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        src.to_str().unwrap(),
    ]);
    let raw = dir.join("src.mjpeg");
    weir_testutil::ffmpeg([
        "-i",
        src.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        "mjpeg",
        raw.to_str().unwrap(),
    ]);
    let source = std::fs::read(&raw).unwrap();
    let source: Vec<&[u8]> = split_jpegs(&source);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/cam";
    let publisher = ffmpeg_child(&[
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
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let mut s = tokio::net::TcpStream::connect(relay.http).await.unwrap();
    s.write_all(format!("GET /{key}.mjpeg HTTP/1.0\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut all = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut all)).await;
    assert!(read.is_ok(), "the response ends with the stream");
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&all[..split]).to_ascii_lowercase();
    assert!(
        head.contains("content-type: multipart/x-mixed-replace; boundary=weirmjpegframe"),
        "{head}"
    );
    let parts = multipart(&all[split..], "weirmjpegframe");
    assert!(parts.len() >= 25, "{} parts", parts.len());
    assert!(parts.iter().all(|(t, _)| t == "image/jpeg"));
    // Each part is one of the source's JPEGs, in order: the same entropy-coded scan (the
    // headers are rebuilt from RFC 2435's tables) …
    let first = source
        .iter()
        .position(|j| scan(j) == scan(&parts[0].1))
        .expect("first part is a source frame");
    for (i, (_, jpeg)) in parts.iter().enumerate() {
        assert_eq!(split_jpegs(jpeg).len(), 1, "part {i} is one whole JPEG");
        assert_eq!(scan(jpeg), scan(source[first + i]), "part {i} scan");
    }
    // … and the same picture.
    let got = dir.join("got.mjpeg");
    let mut cat = Vec::new();
    for (_, j) in &parts {
        cat.extend_from_slice(j);
    }
    std::fs::write(&got, cat).unwrap();
    assert_source_pictures(&src, &got, &["-f", "mjpeg"], "mjpeg");
    relay.stop().await;
}
