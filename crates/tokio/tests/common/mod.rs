//! Helpers for the relay integration tests: an in-process relay on ephemeral ports,
//! deterministic sources made with ffmpeg, a minimal RTMP player, and framemd5 comparison.
#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use weir_rtmp_chunk::{ClientConfig, ClientEvent};
use weir_testutil::TempDir;
pub use weir_tokio::client::{ClientError, RtmpClient};
use weir_tokio::{Hub, Relay, RelayConfig};

pub struct TestRelay {
    pub rtmp: SocketAddr,
    pub http: SocketAddr,
    pub gb_udp: Option<SocketAddr>,
    pub gb_tcp: Option<SocketAddr>,
    pub rtsp: Option<SocketAddr>,
    pub hub: Hub,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestRelay {
    pub async fn start(mut config: RelayConfig) -> TestRelay {
        let base = RelayConfig::loopback_ephemeral();
        config.rtmp_listen = base.rtmp_listen;
        config.http_listen = base.http_listen;
        let relay = Relay::new(config).bind().await.expect("bind relay");
        let (rtmp, http, hub) = (relay.rtmp_addr(), relay.http_addr(), relay.hub().clone());
        let (gb_udp, gb_tcp) = (relay.gb28181_udp_addr(), relay.gb28181_tcp_addr());
        let rtsp = relay.rtsp_addr();
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = relay
                .run(async {
                    let _ = rx.await;
                })
                .await;
        });
        TestRelay {
            rtmp,
            http,
            gb_udp,
            gb_tcp,
            rtsp,
            hub,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// GB28181 UDP and TCP addresses.
    pub fn gb28181(&self) -> (SocketAddr, SocketAddr) {
        (
            self.gb_udp.expect("gb28181 udp"),
            self.gb_tcp.expect("gb28181 tcp"),
        )
    }

    pub fn rtmp_url(&self, key: &str) -> String {
        format!("rtmp://{}/{}", self.rtmp, key)
    }

    pub fn rtsp_url(&self, key: &str) -> String {
        format!("rtsp://{}/{}", self.rtsp.expect("rtsp enabled"), key)
    }

    pub fn http_url(&self, key: &str) -> String {
        format!("http://{}/{}.flv", self.http, key)
    }

    pub fn ws_url(&self, key: &str) -> String {
        format!("ws://{}/{}.flv", self.http, key)
    }

    /// Waits until `n` players are waiting for `key` (panics after 10 s).
    pub async fn wait_for_players(&self, key: &str, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.hub.waiting_players(key) < n {
            assert!(
                std::time::Instant::now() < deadline,
                "{n} players never started waiting for {key}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

/// A test config: short publisher grace so players end promptly after the publisher.
pub fn test_config() -> RelayConfig {
    let mut c = RelayConfig::loopback_ephemeral();
    c.publisher_grace = Duration::from_millis(300);
    c.play_wait = Duration::from_secs(8);
    c
}

/// H.264 (High, B-frames, GOP 25) + AAC in FLV, `seconds` long, deterministic.
pub fn make_source(dir: &TempDir, name: &str, seconds: u32, extra_video: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let t = seconds.to_string();
    let mut args: Vec<&str> = vec![
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
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-bf",
        "2",
        "-pix_fmt",
        "yuv420p",
        "-x264-params",
        "bframes=2:b-adapt=0",
    ];
    args.extend_from_slice(extra_video);
    args.extend_from_slice(&[
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-f",
        "flv",
    ]);
    let path = out.display().to_string();
    args.push(&path);
    weir_testutil::ffmpeg(&args);
    out
}

pub fn ffmpeg_child(args: &[String]) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ffmpeg")
}

/// Publishes `src` in real time (`-re -c copy`) to `url`.
pub fn push(src: &Path, url: &str) -> Child {
    ffmpeg_child(&[
        "-re".into(),
        "-i".into(),
        src.display().to_string(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "flv".into(),
        url.into(),
    ])
}

/// Plays `url` with ffmpeg into an FLV file (stream copy of video and audio).
pub fn play_ffmpeg(url: &str, out: &Path) -> Child {
    ffmpeg_child(&[
        "-i".into(),
        url.into(),
        "-map".into(),
        "0:v?".into(),
        "-map".into(),
        "0:a?".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "flv".into(),
        out.display().to_string(),
    ])
}

/// Waits for a child with a timeout; returns its stderr. Panics on failure or timeout.
pub async fn wait_ok(mut child: Child, what: &str, timeout: Duration) -> String {
    let mut stderr = child.stderr.take();
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(s) => s.expect("wait"),
        Err(_) => {
            let _ = child.kill().await;
            panic!("{what}: timed out after {timeout:?}");
        }
    };
    let mut err = String::new();
    if let Some(e) = stderr.as_mut() {
        let _ = e.read_to_string(&mut err).await;
    }
    assert!(status.success(), "{what} failed ({status}): {err}");
    err
}

/// One packet of a `framemd5` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub dts: i64,
    pub pts: i64,
    pub size: u64,
    pub md5: String,
}

pub fn packets(file: &Path, map: &str) -> Vec<Packet> {
    weir_testutil::framemd5(file, map, &[])
        .into_iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            Packet {
                dts: f[0].parse().unwrap(),
                pts: f[1].parse().unwrap(),
                size: f[3].parse().unwrap(),
                md5: f[4].to_string(),
            }
        })
        .collect()
}

/// Indices of keyframes among `file`'s video packets.
pub fn keyframe_indices(file: &Path) -> Vec<usize> {
    let out = weir_testutil::ffprobe([
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=flags",
        "-of",
        "csv=p=0",
        &file.display().to_string(),
    ]);
    out.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with('K'))
        .map(|(i, _)| i)
        .collect()
}

/// Asserts that `got` equals the source packets from some keyframe on, bit for bit, with
/// the same relative timing (timestamps compared after removing a constant offset).
/// Returns the index of the source packet the output starts at.
pub fn assert_bit_exact_from_keyframe(
    src: &[Packet],
    keyframes: &[usize],
    got: &[Packet],
    what: &str,
) -> usize {
    assert!(!got.is_empty(), "{what}: no packets received");
    let start = src
        .iter()
        .position(|p| p.md5 == got[0].md5)
        .unwrap_or_else(|| panic!("{what}: first packet {:?} is not in the source", got[0]));
    assert!(
        keyframes.contains(&start),
        "{what}: first packet (source #{start}) is not a keyframe"
    );
    let expect = &src[start..];
    assert_eq!(
        got.len(),
        expect.len(),
        "{what}: packet count from source #{start}"
    );
    let (g0, e0) = (got[0].dts, expect[0].dts);
    for (i, (g, e)) in got.iter().zip(expect).enumerate() {
        assert_eq!(
            (g.size, &g.md5),
            (e.size, &e.md5),
            "{what}: packet {i} differs"
        );
        assert_eq!(
            (g.dts - g0, g.pts - g0),
            (e.dts - e0, e.pts - e0),
            "{what}: packet {i} timing"
        );
    }
    start
}

/// Connects an RTMP client (handshake + `connect`) to the relay.
pub async fn rtmp_connect(addr: SocketAddr, app: &str) -> RtmpClient {
    let sock = TcpStream::connect(addr).await.expect("connect");
    RtmpClient::connect_stream(sock, ClientConfig::new(app, format!("rtmp://{addr}/{app}")))
        .await
        .expect("rtmp connect")
}

/// Like [`rtmp_connect`] with a small kernel receive buffer, so a client that stops
/// reading stalls the server's writes quickly.
pub async fn rtmp_connect_small_rcvbuf(addr: SocketAddr, app: &str, rcvbuf: u32) -> RtmpClient {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.set_recv_buffer_size(rcvbuf).unwrap();
    let sock = s.connect(addr).await.expect("connect");
    RtmpClient::connect_stream(sock, ClientConfig::new(app, format!("rtmp://{addr}/{app}")))
        .await
        .expect("rtmp connect")
}

/// The next client event within `timeout`; `None` on close, error or timeout.
pub async fn next_event(c: &mut RtmpClient, timeout: Duration) -> Option<ClientEvent> {
    tokio::time::timeout(timeout, c.next_event())
        .await
        .ok()?
        .ok()?
}

pub fn is_video_keyframe(body: &Bytes) -> bool {
    // Legacy AVC: frame type 1 in the high nibble, packet type 1 (NALUs).
    body.len() > 1 && body[0] >> 4 == 1 && body[1] == 1
}

pub fn is_video_sequence_header(body: &Bytes) -> bool {
    body.len() > 1 && body[1] == 0
}

/// Resident memory of this process, KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Compares two tag lists without dumping megabytes on failure.
pub fn assert_same_tags(
    got: &[(weir_flv::TagType, Bytes)],
    want: &[(weir_flv::TagType, Bytes)],
    what: &str,
) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            let pos = want.iter().position(|x| x == g);
            panic!(
                "{what}: tag {i} differs: got {:?} {} bytes (source tag #{pos:?}), want {:?} {} bytes",
                g.0,
                g.1.len(),
                w.0,
                w.1.len()
            );
        }
    }
    assert_eq!(got.len(), want.len(), "{what}: tag count");
}

/// A minimal HTTP/1.0 GET: (status code, lower-cased head, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String, Bytes) {
    use tokio::io::AsyncWriteExt;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut all))
        .await
        .expect("http timeout")
        .unwrap();
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head")
        + 4;
    let head = String::from_utf8_lossy(&all[..split]).to_ascii_lowercase();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head, Bytes::from(all[split..].to_vec()))
}
