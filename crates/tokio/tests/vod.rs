//! File playback (VOD): RTSP (`rtsp://…/vod/{root}/{path}`, TCP and UDP, bit-exact; PLAY
//! with `Range: npt=` from the keyframe at or before; PAUSE/PLAY without a gap; `Scale`
//! other than 1 refused), HTTP (bytes with `Range`: 206/416, ffmpeg seeking), RTMP and
//! HTTP-FLV of the same files, the authorization hook, and hostile paths.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_testutil::{interop_or_skip, TempDir};
use weir_tokio::RelayConfig;

/// An 8 s clip: H.264 (B-frames, a keyframe every 48 frames = 1.92 s) and AAC, as MP4 and
/// as FLV, plus the AAC as ADTS (whose decoding is the reference: no priming edit).
struct Clip {
    mp4: PathBuf,
    flv: PathBuf,
    aac: PathBuf,
}

fn make_clip(dir: &Path) -> Clip {
    let ff = |args: &[&str]| {
        weir_testutil::ffmpeg(args);
    };
    let v = dir.join("v.mkv");
    let aac = dir.join("a.aac");
    ff(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "8",
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "48",
        "-bf",
        "2",
        "-x264-params",
        "bframes=2:b-adapt=0:scenecut=0",
        "-flags:v",
        "+bitexact",
        v.to_str().unwrap(),
    ]);
    ff(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        "8",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "adts",
        aac.to_str().unwrap(),
    ]);
    let mp4 = dir.join("clip.mp4");
    let flv = dir.join("clip.flv");
    for (out, fmt) in [(&mp4, "mp4"), (&flv, "flv")] {
        ff(&[
            "-i",
            v.to_str().unwrap(),
            "-i",
            aac.to_str().unwrap(),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            "-f",
            fmt,
            out.to_str().unwrap(),
        ]);
    }
    Clip { mp4, flv, aac }
}

fn vod_config(media: &Path) -> RelayConfig {
    let mut c = test_config();
    c.vod.roots.insert("media".into(), media.to_path_buf());
    c
}

/// Presentation times (s) of the video keyframes of a file.
fn keyframe_times(file: &Path) -> Vec<f64> {
    let out = weir_testutil::ffprobe([
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
        &file.display().to_string(),
    ]);
    let mut v: Vec<f64> = out
        .lines()
        .filter(|l| l.contains('K'))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// ffmpeg plays the file over RTSP (TCP and UDP), RTMP and HTTP-FLV; every copy decodes
/// to the file's pictures and sound, bit for bit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_plays_files_bit_exact() {
    interop_or_skip!();
    let dir = TempDir::new("vod-clip");
    let clip = make_clip(dir.path());
    let relay = TestRelay::start(vod_config(dir.path())).await;
    let rtsp = relay.rtsp.unwrap();
    let out = TempDir::new("vod-out");
    // Elementary streams out (RTSP gives reordered pictures without decode times, which
    // containers want).
    let play = |input: String, pre: &[&str], name: &str| {
        let mut args: Vec<String> = pre.iter().map(|s| s.to_string()).collect();
        let (v, a) = (
            out.join(&format!("{name}.h264")),
            out.join(&format!("{name}.aac")),
        );
        args.extend(["-i".into(), input]);
        for (map, fmt, f) in [("0:v", "h264", &v), ("0:a", "adts", &a)] {
            args.extend(["-map", map, "-c", "copy", "-f", fmt].map(String::from));
            args.push(f.display().to_string());
        }
        (ffmpeg_child(&args), name.to_string(), v, a)
    };
    let runs = vec![
        play(
            format!("rtsp://{rtsp}/vod/media/clip.mp4"),
            &["-rtsp_transport", "tcp"],
            "rtsp-tcp",
        ),
        play(
            format!("rtsp://{rtsp}/vod/media/clip.mp4"),
            &["-rtsp_transport", "udp"],
            "rtsp-udp",
        ),
        play(
            format!(
                "rtsp://{rtsp}/vod/media/{}",
                clip.flv.file_name().unwrap().to_str().unwrap()
            ),
            &["-rtsp_transport", "tcp"],
            "rtsp-flv",
        ),
        play(
            format!("rtmp://{}/vod/media/clip.mp4", relay.rtmp),
            &[],
            "rtmp",
        ),
        play(
            format!("http://{}/vod/media/clip.mp4.flv", relay.http),
            &[],
            "http-flv",
        ),
    ];
    let mut done = Vec::new();
    for (child, name, v, a) in runs {
        wait_ok(child, &name, Duration::from_secs(60)).await;
        done.push((name, v, a));
    }
    let (want_v, want_a) = (
        decoded_md5(&clip.mp4, "0:v:0"),
        decoded_md5(&clip.aac, "0:a:0"),
    );
    for (name, v, a) in &done {
        for (what, got, want) in [
            ("pictures", decoded_md5(v, "0:v:0"), &want_v),
            ("sound", decoded_md5(a, "0:a:0"), &want_a),
        ] {
            let first_diff = got.iter().zip(want.iter()).position(|(g, w)| g != w);
            assert!(
                &got == want,
                "{name}: decoded {what} differ from the file's ({} frames, {} wanted, first difference at {first_diff:?})",
                got.len(),
                want.len()
            );
        }
    }
    relay.stop().await;
}

// ---------------------------------------------------------------------------------------
// A minimal RTSP client: requests and interleaved frames on one connection.

enum Item {
    Response(u16, HashMap<String, String>),
    Rtp(u8, Bytes),
}

struct Rtsp {
    s: TcpStream,
    buf: Vec<u8>,
    cseq: u32,
    session: Option<String>,
}

impl Rtsp {
    async fn connect(addr: SocketAddr) -> Rtsp {
        Rtsp {
            s: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
            cseq: 0,
            session: None,
        }
    }

    async fn fill(&mut self) {
        let mut b = [0u8; 65536];
        let n = tokio::time::timeout(Duration::from_secs(20), self.s.read(&mut b))
            .await
            .expect("rtsp read timeout")
            .unwrap();
        assert!(n > 0, "rtsp connection closed");
        self.buf.extend_from_slice(&b[..n]);
    }

    async fn item(&mut self) -> Item {
        loop {
            if self.buf.first() == Some(&b'$') && self.buf.len() >= 4 {
                let len = u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize;
                if self.buf.len() >= 4 + len {
                    let ch = self.buf[1];
                    let p = Bytes::copy_from_slice(&self.buf[4..4 + len]);
                    self.buf.drain(..4 + len);
                    return Item::Rtp(ch, p);
                }
            } else if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let mut lines = head.lines();
                let code = lines
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap();
                let h: HashMap<String, String> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let len: usize = h
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    self.buf.drain(..end + 4 + len);
                    return Item::Response(code, h);
                }
            }
            self.fill().await;
        }
    }

    /// Sends a request; returns the response, keeping interleaved frames that came before it.
    async fn request(
        &mut self,
        method: &str,
        url: &str,
        extra: &str,
    ) -> (u16, HashMap<String, String>, Vec<(u8, Bytes)>) {
        self.cseq += 1;
        let session = self
            .session
            .as_ref()
            .map(|s| format!("Session: {s}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "{method} {url} RTSP/1.0\r\nCSeq: {}\r\n{session}{extra}\r\n",
            self.cseq
        );
        self.s.write_all(req.as_bytes()).await.unwrap();
        let mut frames = Vec::new();
        loop {
            match self.item().await {
                Item::Rtp(ch, p) => frames.push((ch, p)),
                Item::Response(code, h) => {
                    if let Some(s) = h.get("session") {
                        self.session = Some(s.split(';').next().unwrap().to_string());
                    }
                    return (code, h, frames);
                }
            }
        }
    }

    /// Interleaved RTP frames on channel 0 until `n` have come.
    async fn rtp(&mut self, n: usize) -> Vec<Bytes> {
        let mut v = Vec::new();
        while v.len() < n {
            if let Item::Rtp(0, p) = self.item().await {
                v.push(p);
            }
        }
        v
    }
}

fn seq(p: &[u8]) -> u16 {
    u16::from_be_bytes([p[2], p[3]])
}
fn ts(p: &[u8]) -> u32 {
    u32::from_be_bytes([p[4], p[5], p[6], p[7]])
}

/// `rtptime` of RTP-Info's first entry.
fn rtptime(h: &HashMap<String, String>) -> u32 {
    let info = h.get("rtp-info").expect("RTP-Info");
    let v = info
        .split(';')
        .find_map(|p| p.trim().strip_prefix("rtptime="))
        .unwrap();
    v.split(',').next().unwrap().parse().unwrap()
}

/// DESCRIBE gives the file's range; PLAY with `Range: npt=5-` starts at the keyframe at or
/// before 5 s (3.84 s: keyframes every 1.92 s); PAUSE and PLAY go on without a gap; a
/// `Scale` other than 1 is refused with 456.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_vod_seeks_pauses_and_refuses_scale() {
    interop_or_skip!();
    let dir = TempDir::new("vod-seek");
    let clip = make_clip(dir.path());
    let keys = keyframe_times(&clip.mp4);
    let want = keys
        .iter()
        .copied()
        .filter(|t| *t <= 5.0)
        .fold(0.0, f64::max);
    assert!((want - 3.84).abs() < 0.01, "keyframes {keys:?}");
    let relay = TestRelay::start(vod_config(dir.path())).await;
    let url = format!("rtsp://{}/vod/media/clip.mp4", relay.rtsp.unwrap());
    let mut c = Rtsp::connect(relay.rtsp.unwrap()).await;
    let (code, _, _) = c
        .request("DESCRIBE", &url, "Accept: application/sdp\r\n")
        .await;
    assert_eq!(code, 200);
    // (The SDP body was consumed with the response; check it separately.)
    let (code, _, body) = describe_body(relay.rtsp.unwrap(), &url).await;
    assert_eq!(code, 200);
    assert!(body.contains("a=range:npt=0-8.0"), "{body}");
    let (code, _, _) = c
        .request(
            "SETUP",
            &format!("{url}/trackID=0"),
            "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n",
        )
        .await;
    assert_eq!(code, 200);
    let (code, _, _) = c.request("PLAY", &format!("{url}/"), "Scale: 2\r\n").await;
    assert_eq!(code, 456, "Scale 2 is refused");
    let (code, h, _) = c
        .request("PLAY", &format!("{url}/"), "Range: npt=5-\r\n")
        .await;
    assert_eq!(code, 200);
    let range = h.get("range").unwrap();
    let start: f64 = range
        .trim_start_matches("npt=")
        .split('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (start - want).abs() < 0.005,
        "PLAY npt=5- started at {range}, want {want}"
    );
    let first = c.rtp(1).await;
    assert_eq!(
        ts(&first[0]),
        rtptime(&h),
        "the first packet is the keyframe RTP-Info names"
    );
    let nal = first[0][12] & 0x1F;
    assert!(matches!(nal, 5 | 7 | 24 | 28), "first NAL type {nal}");
    if nal == 28 {
        assert_eq!(first[0][13] & 0x1F, 5, "FU-A of an IDR slice");
    }
    // Play a while, pause, wait, resume: sequence numbers and media time go on.
    let mut before = first;
    before.extend(c.rtp(40).await);
    let (code, _, more) = c.request("PAUSE", &format!("{url}/"), "").await;
    assert_eq!(code, 200);
    before.extend(more.into_iter().filter(|(ch, _)| *ch == 0).map(|(_, p)| p));
    tokio::time::sleep(Duration::from_millis(1500)).await; // the pause itself
    let (code, _, more) = c.request("PLAY", &format!("{url}/"), "").await;
    assert_eq!(code, 200);
    let mut after: Vec<Bytes> = more
        .into_iter()
        .filter(|(ch, _)| *ch == 0)
        .map(|(_, p)| p)
        .collect();
    after.extend(c.rtp(40).await);
    let all: Vec<&Bytes> = before.iter().chain(&after).collect();
    for w in all.windows(2) {
        assert_eq!(
            seq(w[1]),
            seq(w[0]).wrapping_add(1),
            "no packet lost or repeated across PAUSE"
        );
    }
    // Presentation times run on: no jump of the pause's length (B-frames reorder by at
    // most a few frames of 3600 ticks).
    let mut times: Vec<u32> = all.iter().map(|p| ts(p)).collect();
    times.sort();
    times.dedup();
    for w in times.windows(2) {
        assert!(
            w[1] - w[0] <= 3 * 3600,
            "a gap of {} ticks in the timeline",
            w[1] - w[0]
        );
    }
    relay.stop().await;
}

/// DESCRIBE on its own connection, returning the SDP.
async fn describe_body(addr: SocketAddr, url: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut all = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut b))
            .await
            .unwrap()
            .unwrap();
        all.extend_from_slice(&b[..n]);
        let text = String::from_utf8_lossy(&all).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if all.len() >= end + 4 + len || n == 0 {
                let code = text.split_whitespace().nth(1).unwrap().parse().unwrap();
                return (code, text[..end].to_string(), text[end + 4..].to_string());
            }
        }
        if n == 0 {
            panic!("closed: {text}");
        }
    }
}

/// HTTP Range requests get the right bytes (206), past the end 416; ffmpeg seeks in the
/// file over HTTP and decodes the same picture as from the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_vod_ranges_and_ffmpeg_seeking() {
    interop_or_skip!();
    let dir = TempDir::new("vod-http");
    let clip = make_clip(dir.path());
    let data = std::fs::read(&clip.mp4).unwrap();
    let len = data.len();
    let relay = TestRelay::start(vod_config(dir.path())).await;
    let get = |range: &str| {
        let h = relay.http;
        let extra = if range.is_empty() {
            String::new()
        } else {
            format!("Range: {range}\r\n")
        };
        async move { http_request(h, "GET", "/vod/media/clip.mp4", &extra).await }
    };
    let (code, head, body) = get("").await;
    assert_eq!(code, 200);
    assert!(head.contains("accept-ranges: bytes"), "{head}");
    assert_eq!(&body[..], &data[..]);
    let (code, head, body) = get("bytes=100-199").await;
    assert_eq!(code, 206);
    assert!(
        head.contains(&format!("content-range: bytes 100-199/{len}")),
        "{head}"
    );
    assert_eq!(&body[..], &data[100..200]);
    let (code, _, body) = get("bytes=-50").await;
    assert_eq!(code, 206);
    assert_eq!(&body[..], &data[len - 50..]);
    let (code, _, body) = get(&format!("bytes={}-", len - 10)).await;
    assert_eq!(code, 206);
    assert_eq!(&body[..], &data[len - 10..]);
    let (code, head, _) = get(&format!("bytes={len}-")).await;
    assert_eq!(code, 416);
    assert!(
        head.contains(&format!("content-range: bytes */{len}")),
        "{head}"
    );
    let (code, head, body) = http_request(relay.http, "HEAD", "/vod/media/clip.mp4", "").await;
    assert_eq!(code, 200);
    assert!(
        head.contains(&format!("content-length: {len}")) && body.is_empty(),
        "{head}"
    );
    // ffmpeg seeks (HTTP ranges) to 5 s and decodes the same frames as from the file.
    let seek = |input: String| {
        let out = weir_testutil::ffmpeg([
            "-ss",
            "5",
            "-i",
            &input,
            "-map",
            "0:v:0",
            "-frames:v",
            "5",
            "-f",
            "framemd5",
            "-",
        ]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let over_http = seek(format!("http://{}/vod/media/clip.mp4", relay.http));
    assert_eq!(over_http.len(), 5);
    assert_eq!(over_http, seek(clip.mp4.display().to_string()));
    relay.stop().await;
}

/// RTSP status of DESCRIBE `path`.
async fn rtsp_status(addr: SocketAddr, path: &str) -> u16 {
    describe_body(addr, &format!("rtsp://{addr}/{path}"))
        .await
        .0
}

/// Paths never leave their root: `..`, encoded `..`, absolute paths and symlinks out of
/// the root are refused on HTTP, RTSP and RTMP; unknown roots are 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_paths_never_leave_the_root() {
    let dir = TempDir::new("vod-hostile");
    let root = dir.join("media");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(dir.join("secret.mp4"), b"secret").unwrap();
    std::fs::write(root.join("ok.bin"), b"fine").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.join("secret.mp4"), root.join("link.mp4")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("sub").join("up")).unwrap();
    }
    let relay = TestRelay::start(vod_config(&root)).await;
    let (code, _, body) = http_request(relay.http, "GET", "/vod/media/ok.bin", "").await;
    assert_eq!((code, &body[..]), (200, &b"fine"[..]));
    for (path, want) in [
        ("/vod/media/../secret.mp4", 404),
        ("/vod/media/%2e%2e/secret.mp4", 404),
        ("/vod/media/%2E%2E%2Fsecret.mp4", 404),
        ("/vod/media/sub/..%2F..%2Fsecret.mp4", 404),
        ("/vod/media/%2Fetc%2Fpasswd", 404),
        ("/vod/media//etc/passwd", 404),
        ("/vod/media/a%00b", 404),
        ("/vod/media/..%5csecret.mp4", 404),
        ("/vod/nosuchroot/ok.bin", 404),
        ("/vod/media/link.mp4", 403),
        ("/vod/media/sub/up/secret.mp4", 403),
        ("/vod/media/link.mp4.flv", 403),
    ] {
        let (code, _, body) = http_request(relay.http, "GET", path, "").await;
        assert_eq!(code, want, "GET {path}");
        assert!(!body.starts_with(b"secret"), "{path} leaked the file");
    }
    let rtsp = relay.rtsp.unwrap();
    for (path, want) in [
        ("vod/media/../secret.mp4", 404),
        ("vod/media/link.mp4", 403),
        ("vod/media/sub/up/secret.mp4", 403),
        ("vod/nosuchroot/ok.bin", 404),
    ] {
        assert_eq!(rtsp_status(rtsp, path).await, want, "RTSP DESCRIBE {path}");
    }
    // RTMP: refused plays.
    for name in ["media/../secret.mp4", "media/link.mp4", "nosuchroot/x.mp4"] {
        let c = rtmp_connect(relay.rtmp, "vod").await;
        assert!(c.play(name).await.is_err(), "RTMP play vod/{name}");
    }
    relay.stop().await;
}

/// Every VOD protocol asks the authorization hook (Play, `vod-http` / `vod-rtsp` /
/// `vod-rtmp`, key `vod/{root}/{path}`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vod_asks_the_authorization_hook() {
    let dir = TempDir::new("vod-auth");
    std::fs::write(dir.join("ok.bin"), b"fine").unwrap();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let a = asked.clone();
    let hook = weir_tokio::AuthHook::from_fn(move |r: &weir_tokio::AuthRequest| {
        if r.key.starts_with("vod/") {
            a.lock().unwrap().push((r.protocol, r.key.clone()));
            return r.query.as_deref() == Some("token=yes");
        }
        true
    });
    let relay = TestRelay::start_with_auth(vod_config(dir.path()), hook).await;
    let (code, _, _) = http_request(relay.http, "GET", "/vod/media/ok.bin", "").await;
    assert_eq!(code, 403);
    let (code, _, body) = http_request(relay.http, "GET", "/vod/media/ok.bin?token=yes", "").await;
    assert_eq!((code, &body[..]), (200, &b"fine"[..]));
    assert_eq!(
        rtsp_status(relay.rtsp.unwrap(), "vod/media/ok.bin").await,
        403
    );
    let c = rtmp_connect(relay.rtmp, "vod").await;
    assert!(c.play("media/ok.bin").await.is_err());
    let asked = asked.lock().unwrap().clone();
    for p in ["vod-http", "vod-rtsp", "vod-rtmp"] {
        assert!(
            asked
                .iter()
                .any(|(q, k)| *q == p && k == "vod/media/ok.bin"),
            "{p} not asked: {asked:?}"
        );
    }
    relay.stop().await;
}

/// The session of `protocol` on `key` (`app/stream`) in `GET /api/v1/sessions`, if listed.
async fn vod_session(http: SocketAddr, protocol: &str, key: &str) -> Option<serde_json::Value> {
    let (_, v) = common::pull::api(http, "GET", "/api/v1/sessions", "").await;
    v["sessions"]
        .as_array()?
        .iter()
        .find(|s| {
            let listed = format!(
                "{}/{}",
                s["app"].as_str().unwrap_or(""),
                s["stream"].as_str().unwrap_or("")
            );
            s["protocol"] == protocol && listed == key && s["role"] == "player"
        })
        .cloned()
}

/// Waits until `protocol`'s player of `key` is listed and has been sent bytes.
async fn wait_vod_session(http: SocketAddr, protocol: &str, key: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(s) = vod_session(http, protocol, key).await {
            if s["bytes_out"].as_u64() > Some(0) {
                return s;
            }
        }
        if std::time::Instant::now() >= deadline {
            let (_, all) = common::pull::api(http, "GET", "/api/v1/sessions", "").await;
            panic!("{protocol} session of {key} never listed: {all}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Kicks session `s` (204), then checks it is no longer listed.
async fn kick(http: SocketAddr, s: &serde_json::Value) {
    let id = s["id"].as_str().unwrap();
    let (code, _) = common::pull::api(http, "DELETE", &format!("/api/v1/sessions/{id}"), "").await;
    assert_eq!(code, 204, "{s}");
}

/// VOD players are sessions like live ones: listed by `GET /api/v1/sessions` (protocol
/// `vod-http`, `vod-rtsp`, `vod-rtmp`, key `vod/{root}/{path}`, bytes counted) and ended by
/// `DELETE /api/v1/sessions/{id}` — the RTSP and RTMP players long before the 8 s clip
/// would have ended, the HTTP download before its last byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vod_players_are_sessions_and_can_be_kicked() {
    interop_or_skip!();
    let dir = TempDir::new("vod-sessions");
    let media = dir.join("media");
    std::fs::create_dir_all(&media).unwrap();
    let clip = make_clip(dir.path());
    std::fs::copy(&clip.mp4, media.join("clip.mp4")).unwrap();
    // A download larger than any socket buffers, read slowly.
    let big = vec![0u8; 64 << 20];
    std::fs::write(media.join("big.bin"), &big).unwrap();
    let relay = TestRelay::start(vod_config(&media)).await;
    let key = "vod/media/clip.mp4";
    let players = [
        ("vod-rtsp", {
            let url = relay.rtsp_url("vod/media/clip.mp4");
            ffmpeg_child(
                &["-rtsp_transport", "tcp", "-i", &url, "-f", "null", "-"].map(String::from),
            )
        }),
        ("vod-rtmp", {
            let url = relay.rtmp_url("vod/media/clip.mp4");
            ffmpeg_child(&["-i", &url, "-f", "null", "-"].map(String::from))
        }),
    ];
    for (protocol, child) in players {
        let s = wait_vod_session(relay.http, protocol, key).await;
        let seen = std::time::Instant::now();
        kick(relay.http, &s).await;
        // The connection closes: the player ends (with or without an error) well before
        // the real-time clip could have.
        let _ = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("the kicked player ends");
        assert!(
            seen.elapsed() < Duration::from_secs(7),
            "{protocol}: ended after {:?}",
            seen.elapsed()
        );
        assert!(vod_session(relay.http, protocol, key).await.is_none());
    }
    // HTTP: a slow reader of a 64 MiB file.
    let mut s = TcpStream::connect(relay.http).await.unwrap();
    s.write_all(b"GET /vod/media/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 4096];
    let n = s.read(&mut first).await.unwrap();
    assert!(
        first[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &first[..n.min(64)]
    );
    let session = wait_vod_session(relay.http, "vod-http", "vod/media/big.bin").await;
    kick(relay.http, &session).await;
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut rest))
        .await
        .expect("the kicked download ends")
        .ok();
    assert!(
        n + rest.len() < big.len(),
        "the kicked download stopped short: {} bytes",
        n + rest.len()
    );
    assert!(vod_session(relay.http, "vod-http", "vod/media/big.bin")
        .await
        .is_none());
    relay.stop().await;
}
