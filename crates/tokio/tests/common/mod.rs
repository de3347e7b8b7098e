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
use weir_flv::{FlvMuxer, MuxConfig, TagType};
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_rtmp_chunk::{ClientConfig, ClientEvent};
use weir_testutil::TempDir;
pub use weir_tokio::client::{ClientError, RtmpClient};
use weir_tokio::{Hub, Relay, RelayConfig};

pub mod gst;
pub mod http;
pub mod pull;

pub use http::{read_http_response, split_http_response};

pub struct TestRelay {
    pub rtmp: SocketAddr,
    pub http: SocketAddr,
    pub gb_udp: Option<SocketAddr>,
    pub gb_tcp: Option<SocketAddr>,
    pub rtsp: Option<SocketAddr>,
    pub hub: Hub,
    pub gb_stats: std::sync::Arc<weir_tokio::ingest::Gb28181Stats>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestRelay {
    pub async fn start(config: RelayConfig) -> TestRelay {
        TestRelay::start_with_auth(config, weir_tokio::AuthHook::allow_all()).await
    }

    /// A relay whose authorization hook is `auth`.
    pub async fn start_with_auth(mut config: RelayConfig, auth: weir_tokio::AuthHook) -> TestRelay {
        let base = RelayConfig::loopback_ephemeral();
        config.rtmp.listen = base.rtmp.listen;
        config.http.listen = base.http.listen;
        let relay = Relay::new(config)
            .with_auth_hook(auth)
            .bind()
            .await
            .expect("bind relay");
        let gb_stats = relay.gb28181_stats();
        let (rtmp, http, hub) = (
            relay.rtmp_addr().expect("rtmp"),
            relay.http_addr().expect("http"),
            relay.hub().clone(),
        );
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
            gb_stats,
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

    /// Waits until `n` players are waiting for `key` (panics after 60 s: only a failing
    /// test gets near it, a loaded machine starts ffmpeg late).
    pub async fn wait_for_players(&self, key: &str, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
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

/// ffmpeg encoding a 640x360 test pattern and a tone live (`-re`; H.264 without B-frames,
/// `zerolatency`, a keyframe a second; AAC) with the extra output arguments `video` (a
/// filter, a pixel format), publishing over RTMP to `url` until dropped.
pub fn publish_live_pattern(url: &str, video: &[&str]) -> weir_testutil::ChildGuard {
    let mut args = vec![
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-g",
        "25",
    ];
    args.extend_from_slice(video);
    args.extend_from_slice(&["-c:a", "aac", "-b:a", "64k", "-f", "flv", url]);
    weir_testutil::ChildGuard::spawn(&mut weir_testutil::ffmpeg_command(args))
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

/// MD5 of every decoded frame of one stream (`map`, e.g. `0:v:0`) of `file` (ffmpeg framemd5).
pub fn decoded_md5(file: &Path, map: &str) -> Vec<String> {
    let out = weir_testutil::ffmpeg([
        "-i",
        &file.display().to_string(),
        "-map",
        map,
        "-f",
        "framemd5",
        "-",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect()
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

/// An HTTP/1.0 request with extra header lines (each ending in CRLF), its response read
/// within `limit`: (status code, lower-cased head, body).
async fn http_request_within(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    limit: Duration,
) -> (u16, String, Bytes) {
    use tokio::io::AsyncWriteExt;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("{method} {path} HTTP/1.0\r\nHost: x\r\n{headers}\r\n").as_bytes())
        .await
        .unwrap();
    let (code, head, body) = read_http_response(&mut s, limit).await;
    (code, head, Bytes::from(body))
}

/// A minimal HTTP/1.0 GET (30 s): (status code, lower-cased head, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String, Bytes) {
    http_request_within(addr, "GET", path, "", Duration::from_secs(30)).await
}

/// An HTTP/1.0 request with extra header lines (60 s, for large bodies): (status code,
/// lower-cased head, body).
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
) -> (u16, String, Bytes) {
    http_request_within(addr, method, path, headers, Duration::from_secs(60)).await
}

// ---------------------------------------------------------------------------------------
// Helpers of the codec matrix (matrix_codecs.rs) and the device-quirk tests
// (device_quirks.rs): sources as canonical frames, a GB28181 test device, and players
// that record each egress.

/// Splits an Annex B file (H.264 `.h264` or H.265 `.hevc`) into access units using the
/// packet sizes ffmpeg's parser reports.
pub fn es_access_units(file: &Path) -> Vec<Bytes> {
    let data = Bytes::from(std::fs::read(file).unwrap());
    let mut at = 0;
    weir_testutil::framemd5(file, "0:v", &[])
        .iter()
        .map(|l| {
            let size: usize = l.split(',').nth(3).unwrap().trim().parse().unwrap();
            let au = data.slice(at..at + size);
            at += size;
            au
        })
        .collect()
}

/// The decoder configuration (avcC / hvcC) from the parameter sets of an Annex B access
/// unit.
pub fn video_config(codec: weir_media::Codec, au: &Bytes) -> Bytes {
    use weir_media::{nal, Codec};
    let (mut vps, mut sps, mut pps) = (vec![], vec![], vec![]);
    for n in nal::annexb_nalus(au) {
        match codec {
            Codec::H264 => match n[0] & 0x1f {
                7 => sps.push(n),
                8 => pps.push(n),
                _ => {}
            },
            _ => match (n[0] >> 1) & 0x3f {
                32 => vps.push(n),
                33 => sps.push(n),
                34 => pps.push(n),
                _ => {}
            },
        }
    }
    match codec {
        Codec::H264 => weir_h264::AvcConfig::from_parameter_sets(&sps, &pps)
            .unwrap()
            .to_bytes(),
        _ => weir_h265::HevcConfig::from_parameter_sets(&vps, &sps, &pps)
            .unwrap()
            .to_bytes(),
    }
}

/// Canonical frames (90 kHz, 25 fps, pts = dts) of Annex B access units.
pub fn video_frames(
    codec: weir_media::Codec,
    track: weir_media::TrackId,
    aus: &[Bytes],
) -> Vec<weir_media::Frame> {
    use weir_media::{nal, Frame, Timebase, Timestamp};
    aus.iter()
        .enumerate()
        .map(|(i, au)| {
            let mut d = bytes::BytesMut::new();
            nal::annexb_to_length_prefixed(au, 4, &mut d).unwrap();
            let d = d.freeze();
            let key = match codec {
                weir_media::Codec::H264 => weir_h264::is_keyframe(&d),
                _ => weir_h265::is_keyframe(&d),
            };
            let t = Timestamp::new(i as i64 * 3600, Timebase::MPEG);
            Frame::new(track, t, t, d).with_keyframe(key)
        })
        .collect()
}

/// What a GB28181 device sends for `frames`: one PS pack per frame (weir-ps), packetized
/// into RTP (marker on each frame's last packet), sorted by DTS.
pub fn gb_rtp_packets(
    tracks: &[weir_media::TrackInfo],
    frames: &[weir_media::Frame],
    ssrc: u32,
) -> Vec<Bytes> {
    let mut frames = frames.to_vec();
    frames.sort_by_key(|f| (f.dts.ticks(), f.track));
    gb_rtp_packets_in_order(tracks, &frames, ssrc)
}

/// Like [`gb_rtp_packets`] for frames already in sending order (a device whose clock wraps
/// sends frames whose timestamps do not sort).
pub fn gb_rtp_packets_in_order(
    tracks: &[weir_media::TrackInfo],
    frames: &[weir_media::Frame],
    ssrc: u32,
) -> Vec<Bytes> {
    let mut mux = weir_ps::PsMuxer::new(tracks, weir_ps::PsMuxConfig::default()).unwrap();
    let ps: Vec<(weir_media::Frame, Bytes)> = frames
        .iter()
        .map(|f| {
            let mut out = bytes::BytesMut::new();
            mux.write_frame(f, &mut out).unwrap();
            (f.clone(), out.freeze())
        })
        .collect();
    gb_packetize(&ps, ssrc)
}

/// RTP packets (PT 96, 90 kHz) of PS frames: each `(frame, ps)` uses the frame's
/// timestamps and keyframe flag, `ps` as payload.
pub fn gb_packetize(ps: &[(weir_media::Frame, Bytes)], ssrc: u32) -> Vec<Bytes> {
    use weir_rtp_rtcp::payload::Packetizer;
    let mut cfg = weir_rtp_rtcp::payload::PacketizerConfig::new(90_000);
    cfg.ssrc = ssrc;
    cfg.payload_type = 96;
    let mut pk = weir_rtp_rtcp::payload::ps::PsPacketizer::new(cfg);
    let mut packets = Vec::new();
    for (f, data) in ps {
        let frame =
            weir_media::Frame::new(f.track, f.pts, f.dts, data.clone()).with_keyframe(f.keyframe);
        pk.packetize(&frame, &mut packets).unwrap();
    }
    packets
}

/// Sends RTP packets as a GB28181 device would (UDP, or TCP with RFC 4571 framing),
/// spread over about `seconds`.
pub async fn gb_send(relay: &TestRelay, packets: &[Bytes], tcp: bool, seconds: f64) {
    use tokio::io::AsyncWriteExt;
    let (udp, tcp_addr) = relay.gb28181();
    let ticks = ((seconds * 50.0) as usize).max(1);
    let per_tick = packets.len().div_ceil(ticks).max(1);
    if tcp {
        let mut s = TcpStream::connect(tcp_addr).await.unwrap();
        for chunk in packets.chunks(per_tick) {
            for p in chunk {
                s.write_all(&(p.len() as u16).to_be_bytes()).await.unwrap();
                s.write_all(p).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        s.shutdown().await.unwrap();
    } else {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for chunk in packets.chunks(per_tick) {
            for p in chunk {
                sock.send_to(p, udp).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Records a WebSocket-FLV stream until it closes.
pub async fn ws_record(url: String) -> Bytes {
    use futures_util::StreamExt;
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connect");
    let mut file = Vec::new();
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match msg {
            Ok(tokio_tungstenite::tungstenite::Message::Binary(b)) => file.extend_from_slice(&b),
            Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Bytes::from(file)
}

/// Polls the HLS playlist of `key` until it ends (panics when it has not after 120 s);
/// returns the segments concatenated.
pub async fn hls_record(http: SocketAddr, key: String) -> Bytes {
    let mut have = std::collections::BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the HLS playlist of {key} did not end within 120 s"
        );
        let (code, _, body) = http_get(http, &format!("/{key}/index.m3u8")).await;
        if code != 200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let text = String::from_utf8_lossy(&body).to_string();
        // Segment URIs carry the HLS session (`N.ts?session=ID`).
        for uri in text.lines().filter(|l| !l.starts_with('#')) {
            let path = uri.split('?').next().unwrap_or(uri);
            let Some(seq) = path.strip_suffix(".ts").and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            if let std::collections::btree_map::Entry::Vacant(e) = have.entry(seq) {
                let (code, _, data) = http_get(http, &format!("/{key}/{uri}")).await;
                if code == 200 {
                    e.insert(data);
                }
            }
        }
        if text.contains("#EXT-X-ENDLIST") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let all: Vec<u8> = have.values().flat_map(|b| b.iter().copied()).collect();
    Bytes::from(all)
}

/// Plays `key` over RTMP with weir's client (reads enhanced RTMP, which ffmpeg 5.1 cannot)
/// until the stream ends; returns the media messages as FLV tags.
pub async fn rtmp_play_tags(addr: SocketAddr, key: &str) -> Vec<weir_flv::Tag> {
    use weir_flv::{Tag, TagType};
    let (app, name) = key.split_once('/').expect("app/stream");
    let mut p = rtmp_connect(addr, app).await.play(name).await.unwrap();
    let mut tags = Vec::new();
    while let Some(ev) = next_event(&mut p, Duration::from_secs(8)).await {
        match ev {
            ClientEvent::Video { timestamp, data } => {
                tags.push(Tag::new(TagType::Video, timestamp, data))
            }
            ClientEvent::Audio { timestamp, data } => {
                tags.push(Tag::new(TagType::Audio, timestamp, data))
            }
            ClientEvent::StreamEof { .. } => break,
            _ => {}
        }
    }
    tags
}

/// The tags of an FLV file (HTTP-FLV / WS-FLV body).
pub fn flv_tags(file: Bytes) -> (weir_flv::FlvHeader, Vec<weir_flv::Tag>) {
    let (header, tags) = weir_flv::read_all(file, weir_flv::ReaderConfig::default()).unwrap();
    (header.expect("FLV header"), tags)
}

/// What a player got, demuxed with weir-flv: the video as Annex B (parameter sets of each
/// sequence header written in band), video (dts, pts) in ms, audio payloads.
#[derive(Default, Debug)]
pub struct FlvMedia {
    pub video_codec: Option<weir_media::Codec>,
    /// The last video sequence header's configuration (avcC / hvcC).
    pub video_config: Option<Bytes>,
    pub audio_track: Option<weir_media::TrackInfo>,
    pub annexb: Vec<u8>,
    pub video_times: Vec<(i64, i64)>,
    pub video_keyframes: Vec<bool>,
    pub audio: Vec<Bytes>,
    pub audio_times: Vec<i64>,
}

pub fn flv_media(tags: &[weir_flv::Tag]) -> FlvMedia {
    use weir_flv::{FlvDemuxer, FlvEvent};
    use weir_media::{nal, Codec, MediaKind, Timebase};
    let mut demux = FlvDemuxer::new();
    let mut m = FlvMedia::default();
    for tag in tags {
        demux.push_tag(tag).unwrap();
        while let Some(ev) = demux.poll_event() {
            match ev {
                FlvEvent::Track(t) if t.codec.kind() == MediaKind::Video => {
                    m.video_codec = Some(t.codec);
                    m.video_config = Some(t.config.clone());
                    let ps = match t.codec {
                        Codec::H264 => {
                            let c = weir_h264::AvcConfig::parse(&t.config).unwrap();
                            c.sps.iter().chain(&c.pps).cloned().collect::<Vec<_>>()
                        }
                        _ => {
                            let c = weir_h265::HevcConfig::parse(&t.config).unwrap();
                            c.vps().chain(c.sps()).chain(c.pps()).cloned().collect()
                        }
                    };
                    for n in ps {
                        m.annexb.extend_from_slice(&[0, 0, 0, 1]);
                        m.annexb.extend_from_slice(&n);
                    }
                }
                FlvEvent::Track(t) => m.audio_track = Some(t),
                FlvEvent::Frame(f) if f.track == weir_flv::VIDEO_TRACK => {
                    let mut out = bytes::BytesMut::new();
                    nal::length_prefixed_to_annexb(&f.data, 4, &mut out).unwrap();
                    m.annexb.extend_from_slice(&out);
                    let ms = |t: weir_media::Timestamp| t.rescale(Timebase::MILLIS).ticks();
                    m.video_times.push((ms(f.dts), ms(f.pts)));
                    m.video_keyframes.push(f.keyframe);
                }
                FlvEvent::Frame(f) => {
                    m.audio_times.push(f.dts.rescale(Timebase::MILLIS).ticks());
                    m.audio.push(f.data);
                }
                _ => {}
            }
        }
    }
    m
}

/// Asserts that the pictures of `got` (decoded by ffmpeg) are the source's from a
/// keyframe (every `gop` pictures) to the end (give or take the last one); returns the
/// source index of the first.
pub fn assert_pictures(
    src_es: &Path,
    got: &Path,
    got_args: &[&str],
    gop: usize,
    what: &str,
) -> usize {
    let want = weir_testutil::decoded_video_md5(src_es, &[]);
    let have = weir_testutil::decoded_video_md5(got, got_args);
    assert!(have.len() >= gop, "{what}: {} pictures", have.len());
    let start = want
        .iter()
        .position(|m| *m == have[0])
        .unwrap_or_else(|| panic!("{what}: first picture not in the source"));
    assert_eq!(
        start % gop,
        0,
        "{what}: starts at source picture {start}, not a keyframe"
    );
    assert!(
        start + have.len() <= want.len(),
        "{what}: {} pictures from #{start} of {}",
        have.len(),
        want.len()
    );
    assert_eq!(
        have,
        want[start..start + have.len()].to_vec(),
        "{what}: pictures"
    );
    assert!(
        start + have.len() + 1 >= want.len(),
        "{what}: {} of {} pictures from #{start}",
        have.len(),
        want.len()
    );
    start
}

/// Packets of an Ogg file (Opus: OpusHead and OpusTags first).
pub fn ogg_packets(data: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut at = 0;
    while at + 27 <= data.len() && &data[at..at + 4] == b"OggS" {
        let nsegs = usize::from(data[at + 26]);
        let table = &data[at + 27..at + 27 + nsegs];
        let mut body = at + 27 + nsegs;
        for &lace in table {
            let n = usize::from(lace);
            cur.extend_from_slice(&data[body..body + n]);
            body += n;
            if lace < 255 {
                out.push(Bytes::from(std::mem::take(&mut cur)));
            }
        }
        at = body;
    }
    out
}

// ---------------------------------------------------------------------------------------
// One ingest played through all six egresses at once (matrix_codecs.rs,
// timestamp_wraps.rs): sources as canonical frames, weir's RTMP publisher, a scripted RTSP
// publisher, ffmpeg RTSP players, and the six players together.

/// A source: video elementary stream, canonical frames of both tracks (90 kHz, sorted by
/// DTS), the reference audio payloads, and a Matroska file of the same media for ffmpeg's
/// RTSP push.
pub struct MediaSource {
    pub video: TrackInfo,
    pub audio: TrackInfo,
    pub es: PathBuf,
    pub frames: Vec<Frame>,
    pub audio_units: Vec<Bytes>,
    pub mkv: PathBuf,
    /// (dts, pts) of each picture in ms, in decode order (B-frames: pts ≠ dts).
    pub video_times: Vec<(i64, i64)>,
    pub bframes: bool,
    /// Presentation time of the first audio frame, ms.
    pub audio_shift: i64,
}

fn ff(args: &[&str]) {
    weir_testutil::ffmpeg(args);
}

/// `seconds` of `testsrc2` (320x240, 25 fps, GOP 25; with or without B-frames) in `vcodec`
/// and of a tone (a chirp for G.711) in `acodec`, made deterministically with ffmpeg.
pub fn media_source(
    dir: &TempDir,
    vcodec: Codec,
    acodec: Codec,
    bframes: bool,
    seconds: u32,
) -> MediaSource {
    let secs = seconds.to_string();
    let pictures = 25 * seconds as usize;
    let (es, fmt) = match vcodec {
        Codec::H264 => (dir.join("src.h264"), "h264"),
        _ => (dir.join("src.hevc"), "hevc"),
    };
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        &secs,
        "-pix_fmt",
        "yuv420p",
        "-flags:v",
        "+bitexact",
    ];
    match vcodec {
        Codec::H264 => args.extend([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            if bframes { "2" } else { "0" },
            "-x264-params",
            if bframes {
                "bframes=2:b-adapt=0"
            } else {
                "bframes=0"
            },
        ]),
        _ => args.extend([
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            if bframes {
                "bframes=2:b-adapt=0:keyint=25:min-keyint=25:log-level=none"
            } else {
                "bframes=0:keyint=25:min-keyint=25:log-level=none"
            },
        ]),
    }
    // With B-frames the timestamps come from a Matroska encode (a raw elementary stream
    // has none); the elementary stream is extracted from it.
    let vmkv = dir.join("src-video.mkv");
    args.extend(["-f", "matroska", vmkv.to_str().unwrap()]);
    ff(&args);
    ff(&[
        "-i",
        vmkv.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        fmt,
        es.to_str().unwrap(),
    ]);
    let aus = es_access_units(&es);
    assert_eq!(aus.len(), pictures);
    let mut video_times: Vec<(i64, i64)> = packets(&vmkv, "0:v")
        .iter()
        .map(|p| (p.dts, p.pts))
        .collect();
    let shift = -video_times.iter().map(|t| t.0).min().unwrap_or(0);
    for t in &mut video_times {
        *t = (t.0 + shift, t.1 + shift);
    }
    assert_eq!(video_times.len(), pictures);
    assert_eq!(
        video_times.iter().any(|t| t.0 != t.1),
        bframes,
        "B-frames in the source"
    );
    let video =
        TrackInfo::new(TrackId(0), vcodec, 90_000).with_config(video_config(vcodec, &aus[0]));
    let mut frames = video_frames(vcodec, video.id, &aus);
    for (f, (dts, pts)) in frames.iter_mut().zip(&video_times) {
        f.dts = Timestamp::new(dts * 90, Timebase::MPEG);
        f.pts = Timestamp::new(pts * 90, Timebase::MPEG);
    }

    // Audio moves with the video's shift, keeping the encode's A/V relation (both start
    // at presentation time 0 in the Matroska file ffmpeg pushes).
    let at = |ticks: i64| Timestamp::new(ticks + shift * 90, Timebase::MPEG);
    let (audio, audio_units, afile, ain): (TrackInfo, Vec<Bytes>, PathBuf, Vec<&str>) = match acodec
    {
        Codec::Aac => {
            let f = dir.join("src.aac");
            ff(&[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=44100",
                "-t",
                &secs,
                "-c:a",
                "aac",
                "-b:a",
                "64k",
                "-f",
                "adts",
                f.to_str().unwrap(),
            ]);
            let adts = Bytes::from(std::fs::read(&f).unwrap());
            let raw: Vec<(weir_aac::AdtsHeader, Bytes)> =
                weir_aac::adts_frames(&adts).map(|r| r.unwrap()).collect();
            let t = TrackInfo::new(TrackId(1), Codec::Aac, 90_000)
                .with_config(raw[0].0.to_config().to_bytes())
                .with_audio(AudioParams {
                    sample_rate: 44_100,
                    channels: 1,
                });
            for (i, (_, p)) in raw.iter().enumerate() {
                let ts = at(i as i64 * 1024 * 90_000 / 44_100);
                frames.push(Frame::new(t.id, ts, ts, p.clone()).with_keyframe(true));
            }
            (t, raw.into_iter().map(|(_, p)| p).collect(), f, vec![])
        }
        Codec::Opus => {
            let f = dir.join("src.ogg");
            ff(&[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                &secs,
                "-c:a",
                "libopus",
                "-b:a",
                "32k",
                "-ac",
                "1",
                "-fflags",
                "+bitexact",
                "-f",
                "ogg",
                f.to_str().unwrap(),
            ]);
            let pk = ogg_packets(&std::fs::read(&f).unwrap());
            assert!(pk[0].starts_with(b"OpusHead"));
            let t = TrackInfo::new(TrackId(1), Codec::Opus, 90_000)
                .with_config(pk[0].clone())
                .with_audio(AudioParams {
                    sample_rate: 48_000,
                    channels: 1,
                });
            let units: Vec<Bytes> = pk[2..].to_vec();
            for (i, p) in units.iter().enumerate() {
                let ts = at(i as i64 * 1800);
                frames.push(Frame::new(t.id, ts, ts, p.clone()).with_keyframe(true));
            }
            (t, units, f, vec![])
        }
        _ => {
            let (f, enc, raw) = if acodec == Codec::G711A {
                (dir.join("src.al"), "pcm_alaw", "alaw")
            } else {
                (dir.join("src.ul"), "pcm_mulaw", "mulaw")
            };
            // A chirp: G.711 of a steady tone repeats every few hundred bytes, which
            // would let a gap pass the contiguity check.
            let chirp = format!("aevalsrc=0.5*sin(2*PI*(200+300*t)*t):s=8000:d={seconds}");
            ff(&[
                "-f",
                "lavfi",
                "-i",
                &chirp,
                "-c:a",
                enc,
                "-ar",
                "8000",
                "-ac",
                "1",
                "-f",
                raw,
                f.to_str().unwrap(),
            ]);
            let bytes = Bytes::from(std::fs::read(&f).unwrap());
            let t = TrackInfo::new(TrackId(1), acodec, 90_000).with_audio(AudioParams {
                sample_rate: 8000,
                channels: 1,
            });
            // 40 ms (320 samples) per frame, as many cameras send.
            let units: Vec<Bytes> = (0..bytes.len())
                .step_by(320)
                .map(|i| bytes.slice(i..(i + 320).min(bytes.len())))
                .collect();
            for (i, p) in units.iter().enumerate() {
                let ts = at(i as i64 * 3600);
                frames.push(Frame::new(t.id, ts, ts, p.clone()).with_keyframe(true));
            }
            (t, units, f, vec!["-f", raw, "-ar", "8000", "-ac", "1"])
        }
    };
    frames.sort_by_key(|f| (f.dts.ticks(), f.track));
    let mkv = dir.join("src.mkv");
    let mut args = vec!["-i", vmkv.to_str().unwrap()];
    args.extend(ain);
    args.extend([
        "-i",
        afile.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        "matroska",
        mkv.to_str().unwrap(),
    ]);
    ff(&args);
    MediaSource {
        video,
        audio,
        es,
        frames,
        audio_units,
        mkv,
        video_times,
        bframes,
        audio_shift: shift,
    }
}

/// Publishes the source over (enhanced) RTMP with weir's client, paced in real time.
pub async fn rtmp_publish(relay: &TestRelay, key: &str, src: &MediaSource) {
    rtmp_publish_clock(relay, key, src, |t| t).await
}

/// Like [`rtmp_publish`], each message stamped `wire(t)` for its media time `t` (ms): a
/// publisher whose clock does not start at 0 or wraps.
pub async fn rtmp_publish_clock(
    relay: &TestRelay,
    key: &str,
    src: &MediaSource,
    wire: impl Fn(u32) -> u32,
) {
    let (app, name) = key.split_once('/').unwrap();
    let mux = FlvMuxer::new(MuxConfig::default());
    let mut p = rtmp_connect(relay.rtmp, app)
        .await
        .publish(name)
        .await
        .unwrap();
    for t in [&src.video, &src.audio] {
        if let Some(tag) = mux.sequence_header(t, 0).unwrap() {
            match tag.tag_type {
                TagType::Video => p.session().send_video(wire(0), tag.body).unwrap(),
                _ => p.session().send_audio(wire(0), tag.body).unwrap(),
            }
        }
    }
    let start = tokio::time::Instant::now();
    for f in &src.frames {
        let track = if f.track == src.video.id {
            &src.video
        } else {
            &src.audio
        };
        let tag = mux.frame(track, f).unwrap();
        let due = start + Duration::from_millis(tag.timestamp.into());
        tokio::time::sleep_until(due).await;
        match tag.tag_type {
            TagType::Video => p
                .session()
                .send_video(wire(tag.timestamp), tag.body)
                .unwrap(),
            _ => p
                .session()
                .send_audio(wire(tag.timestamp), tag.body)
                .unwrap(),
        }
        p.flush().await.unwrap();
    }
    p.close().await.unwrap();
}

pub fn video_fmt(c: Codec) -> &'static str {
    if c == Codec::H264 {
        "h264"
    } else {
        "hevc"
    }
}

pub fn audio_fmt(c: Codec) -> &'static str {
    match c {
        Codec::Aac => "adts",
        Codec::Opus => "ogg",
        Codec::G711A => "alaw",
        _ => "mulaw",
    }
}

/// The audio payloads of a file written in [`audio_fmt`].
pub fn audio_units_of(c: Codec, file: &Path) -> Vec<Bytes> {
    let data = Bytes::from(std::fs::read(file).unwrap_or_default());
    match c {
        Codec::Aac => weir_aac::adts_frames(&data).map(|r| r.unwrap().1).collect(),
        Codec::Opus => ogg_packets(&data).into_iter().skip(2).collect(),
        _ => vec![data],
    }
}

/// Asserts the audio that came out is the source's, bit for bit, contiguous, and enough.
pub fn check_audio(src: &MediaSource, got: &[Bytes], what: &str) {
    match src.audio.codec {
        Codec::G711A | Codec::G711U => {
            let want: Vec<u8> = src.audio_units.concat();
            let got: Vec<u8> = got.concat();
            assert!(got.len() >= 9600, "{what}: {} G.711 bytes", got.len());
            assert!(
                want.windows(got.len()).any(|w| w == got.as_slice()),
                "{what}: G.711 bytes are not a contiguous run of the source"
            );
        }
        _ => {
            let min = src.audio_units.len() * 6 / 10;
            assert!(
                got.len() >= min,
                "{what}: {} of {} audio packets",
                got.len(),
                src.audio_units.len()
            );
            assert!(
                src.audio_units.windows(got.len()).any(|w| w == got),
                "{what}: audio packets are not a contiguous run of the source"
            );
        }
    }
}

/// Source time (ms) of the first audio a player got.
pub fn audio_start_ms(src: &MediaSource, got: &[Bytes]) -> f64 {
    match src.audio.codec {
        Codec::G711A | Codec::G711U => {
            let want: Vec<u8> = src.audio_units.concat();
            let got: Vec<u8> = got.concat();
            let head = &got[..got.len().min(800)];
            let at = want.windows(head.len()).position(|w| w == head).unwrap();
            at as f64 / 8.0
        }
        codec => {
            let at = src
                .audio_units
                .windows(got.len())
                .position(|w| w == got)
                .unwrap();
            let ms = if codec == Codec::Aac {
                1024.0 * 1000.0 / 44_100.0
            } else {
                20.0
            };
            at as f64 * ms
        }
    }
}

/// A/V sync: the first picture and the first audio are as far apart as in the source
/// (within 50 ms: millisecond rounding, packet granularity).
pub fn check_sync(src: &MediaSource, video_pts: f64, audio_ts: f64, audio: &[Bytes], what: &str) {
    let want = src.video_times[0].1 as f64 - (audio_start_ms(src, audio) + src.audio_shift as f64);
    let got = video_pts - audio_ts;
    assert!(
        (got - want).abs() <= 50.0,
        "{what}: video − audio = {got:.1} ms, source {want:.1} ms"
    );
}

/// An ffmpeg RTSP player of one stream: video into an elementary stream, audio into a file
/// of its own kind, and the packets of both as received (`framemd5`: stream 0 video, 1
/// audio) for their timestamps.
pub struct RtspCapture {
    /// `RTSP/TCP` or `RTSP/UDP`.
    pub name: &'static str,
    pub video: PathBuf,
    pub audio: PathBuf,
    pub packets: PathBuf,
    child: Option<Child>,
}

impl RtspCapture {
    /// Starts playing `url` over TCP (interleaved) or UDP.
    pub fn start(
        url: &str,
        tcp: bool,
        vcodec: weir_media::Codec,
        acodec: weir_media::Codec,
        dir: &TempDir,
    ) -> RtspCapture {
        let (name, transport) = if tcp {
            ("RTSP/TCP", "tcp")
        } else {
            ("RTSP/UDP", "udp")
        };
        let (vf, af) = (video_fmt(vcodec), audio_fmt(acodec));
        let video = dir.join(&format!("rtsp-{transport}.{vf}"));
        let audio = dir.join(&format!("rtsp-{transport}.{af}"));
        let packets = dir.join(&format!("rtsp-{transport}.framemd5"));
        let out = |map: &[&str], fmt: &str, file: &Path| -> Vec<String> {
            let mut a: Vec<String> = map
                .iter()
                .flat_map(|m| ["-map".to_string(), m.to_string()])
                .collect();
            a.extend(["-c", "copy", "-f", fmt].map(String::from));
            a.push(file.display().to_string());
            a
        };
        let mut args: Vec<String> = ["-rtsp_transport", transport, "-i", url]
            .map(String::from)
            .to_vec();
        args.extend(out(&["0:v"], vf, &video));
        args.extend(out(&["0:a"], af, &audio));
        args.extend(out(&["0:v", "0:a"], "framemd5", &packets));
        RtspCapture {
            name,
            video,
            audio,
            packets,
            child: Some(ffmpeg_child(&args)),
        }
    }

    /// Waits for the player to end (the stream ended); panics if it fails.
    pub async fn finish(&mut self, limit: Duration) {
        if let Some(c) = self.child.take() {
            wait_ok(c, &format!("{} player", self.name), limit).await;
        }
    }
}

/// A player on every egress of one stream — RTMP (weir's client), HTTP-FLV, WebSocket-FLV,
/// RTSP over TCP and over UDP (ffmpeg), HLS (a playlist poller) — all waiting for the
/// stream before it is published.
pub struct Egresses {
    rtmp: tokio::task::JoinHandle<Vec<weir_flv::Tag>>,
    http: tokio::task::JoinHandle<(u16, String, Bytes)>,
    ws: tokio::task::JoinHandle<Bytes>,
    rtsp: Vec<RtspCapture>,
    hls: tokio::task::JoinHandle<Bytes>,
}

/// What the players of [`Egresses`] got, once the stream ended.
pub struct Played {
    /// RTMP messages as FLV tags.
    pub rtmp: Vec<weir_flv::Tag>,
    /// The HTTP-FLV body (status 200 checked).
    pub http_flv: Bytes,
    pub ws_flv: Bytes,
    /// RTSP over TCP, then over UDP.
    pub rtsp: Vec<RtspCapture>,
    /// The HLS segments concatenated (MPEG-TS).
    pub hls: Bytes,
}

impl Egresses {
    /// Starts the six players of `key` and returns once all of them — and `others`
    /// players the caller started — wait for the stream.
    pub async fn start(
        relay: &TestRelay,
        key: &str,
        dir: &TempDir,
        vcodec: weir_media::Codec,
        acodec: weir_media::Codec,
        others: usize,
    ) -> Egresses {
        let rtmp = tokio::spawn({
            let (addr, key) = (relay.rtmp, key.to_string());
            async move { rtmp_play_tags(addr, &key).await }
        });
        let http = tokio::spawn({
            let (addr, path) = (relay.http, format!("/{key}.flv"));
            async move { http_get(addr, &path).await }
        });
        let ws = tokio::spawn(ws_record(relay.ws_url(key)));
        let rtsp = [true, false]
            .into_iter()
            .map(|tcp| RtspCapture::start(&relay.rtsp_url(key), tcp, vcodec, acodec, dir))
            .collect();
        relay.wait_for_players(key, others + 5).await;
        // The first playlist request starts the stream's segmenter, which waits for the
        // stream like any player.
        let hls = tokio::spawn(hls_record(relay.http, key.to_string()));
        relay.wait_for_players(key, others + 6).await;
        Egresses {
            rtmp,
            http,
            ws,
            rtsp,
            hls,
        }
    }

    /// Waits (up to `limit` each) for every player to end.
    pub async fn finish(self, limit: Duration) -> Played {
        let mut rtsp = self.rtsp;
        for r in &mut rtsp {
            r.finish(limit).await;
        }
        let rtmp = join(limit, self.rtmp, "RTMP").await;
        let (code, _, http_flv) = join(limit, self.http, "HTTP-FLV").await;
        assert_eq!(code, 200, "HTTP-FLV status");
        let ws_flv = join(limit, self.ws, "WS-FLV").await;
        let hls = join(limit, self.hls, "HLS").await;
        Played {
            rtmp,
            http_flv,
            ws_flv,
            rtsp,
            hls,
        }
    }
}

/// The result of a player task that must end within `limit`.
async fn join<T>(limit: Duration, task: tokio::task::JoinHandle<T>, what: &str) -> T {
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("{what} player: {e}"),
        Err(_) => panic!("{what} player did not end within {limit:?}"),
    }
}

/// Packet timestamps `(dts, pts)` in ms, per stream, of a `framemd5` listing (its `#tb`
/// lines give each stream's timebase). A missing timestamp is NaN.
pub fn framemd5_times(listing: &str) -> Vec<Vec<(f64, f64)>> {
    let mut tb: Vec<f64> = Vec::new();
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    for line in listing.lines() {
        if let Some(rest) = line.strip_prefix("#tb ") {
            let (idx, frac) = rest.split_once(':').expect("#tb line");
            let idx: usize = idx.trim().parse().unwrap();
            let (num, den) = frac.trim().split_once('/').expect("timebase");
            let ms = num.parse::<f64>().unwrap() * 1000.0 / den.parse::<f64>().unwrap();
            if tb.len() <= idx {
                tb.resize(idx + 1, 0.0);
            }
            tb[idx] = ms;
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let idx: usize = f[0].parse().unwrap();
        // AV_NOPTS_VALUE (i64::MIN) is printed for an unknown timestamp.
        let t = |s: &str| match s.parse::<i64>() {
            Ok(v) if v != i64::MIN => v as f64 * tb[idx],
            _ => f64::NAN,
        };
        if out.len() <= idx {
            out.resize(idx + 1, Vec::new());
        }
        out[idx].push((t(f[1]), t(f[2])));
    }
    out
}

/// Packet timestamps (ms) of the streams `maps` select in `file`, one list per map.
pub fn file_times(file: &Path, maps: &[&str]) -> Vec<Vec<(f64, f64)>> {
    let mut args: Vec<String> = vec!["-i".into(), file.display().to_string()];
    for m in maps {
        args.extend(["-map".to_string(), m.to_string()]);
    }
    args.extend(["-c", "copy", "-f", "framemd5", "-"].map(String::from));
    let out = weir_testutil::ffmpeg(&args);
    framemd5_times(&String::from_utf8_lossy(&out.stdout))
}

/// Where an [`RtspPublisher`] sends a track's RTP and RTCP.
enum RtpTarget {
    Interleaved(u8, u8),
    Udp(SocketAddr, SocketAddr),
}

/// A scripted RTSP publisher (ANNOUNCE, SETUP of each track over TCP interleaved or over
/// UDP, RECORD) driving weir-rtsp-proto's client session, so that its RTP and RTCP can be
/// anything.
pub struct RtspPublisher {
    sock: TcpStream,
    buf: bytes::BytesMut,
    session: weir_rtsp_proto::ClientSession,
    /// RTP and RTCP sockets (UDP).
    udp: Option<(tokio::net::UdpSocket, tokio::net::UdpSocket)>,
    targets: Vec<RtpTarget>,
}

impl RtspPublisher {
    /// ANNOUNCE `sdp` for `key`, SETUP each of `controls` (track `i` on interleaved
    /// channels `2i`, `2i + 1`, or on two UDP ports), RECORD.
    pub async fn publish(
        relay: &TestRelay,
        key: &str,
        sdp: &str,
        controls: &[&str],
        tcp: bool,
    ) -> RtspPublisher {
        use weir_rtsp_proto::headers::{TransportMode, TransportSpec};
        use weir_rtsp_proto::{ClientConfig, ClientEvent, ClientSession};
        let url = relay.rtsp_url(key);
        let now = std::time::Instant::now();
        let session =
            ClientSession::new(ClientConfig::new(url.clone()), Box::new(|| 0x5EED), now).unwrap();
        let udp = if tcp {
            None
        } else {
            let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let rtcp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            Some((rtp, rtcp))
        };
        let mut p = RtspPublisher {
            sock: TcpStream::connect(relay.rtsp.expect("rtsp enabled"))
                .await
                .unwrap(),
            buf: bytes::BytesMut::new(),
            session,
            udp,
            targets: Vec::new(),
        };
        p.session
            .announce(Bytes::from(sdp.to_string()), std::time::Instant::now())
            .unwrap();
        p.until(|e| matches!(e, ClientEvent::Announced)).await;
        for (i, c) in controls.iter().enumerate() {
            let mut spec = match &p.udp {
                None => {
                    let ch = u8::try_from(2 * i).unwrap();
                    TransportSpec::tcp_interleaved(ch, ch + 1)
                }
                Some((rtp, rtcp)) => TransportSpec::udp_unicast(
                    rtp.local_addr().unwrap().port(),
                    rtcp.local_addr().unwrap().port(),
                ),
            };
            spec.mode = vec![TransportMode::Record];
            p.session
                .setup(&format!("{url}/{c}"), &spec, std::time::Instant::now())
                .unwrap();
            let ClientEvent::SetupDone { transport, .. } = p
                .until(|e| matches!(e, ClientEvent::SetupDone { .. }))
                .await
            else {
                unreachable!()
            };
            p.targets.push(match (&p.udp, transport.interleaved) {
                (None, Some(ch)) => RtpTarget::Interleaved(ch.rtp, ch.rtcp.unwrap_or(ch.rtp + 1)),
                (None, None) => panic!("SETUP answered without interleaved channels"),
                (Some(_), _) => {
                    let sp = transport.server_port.expect("server_port");
                    let ip = relay.rtsp.unwrap().ip();
                    RtpTarget::Udp(
                        SocketAddr::new(ip, sp.rtp),
                        SocketAddr::new(ip, sp.rtcp.unwrap_or(sp.rtp + 1)),
                    )
                }
            });
        }
        p.session.record(None, std::time::Instant::now()).unwrap();
        p.until(|e| matches!(e, ClientEvent::Recording)).await;
        p
    }

    /// Writes what the session has to send, then reads until an event `want` accepts
    /// (panics on a failed request, a closed connection or after 10 s).
    async fn until(
        &mut self,
        want: impl Fn(&weir_rtsp_proto::ClientEvent) -> bool,
    ) -> weir_rtsp_proto::ClientEvent {
        use tokio::io::AsyncWriteExt;
        use weir_rtsp_proto::ClientEvent;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            while let Some(b) = self.session.poll_transmit() {
                self.sock.write_all(&b).await.unwrap();
            }
            while let Some(ev) = self.session.poll_event() {
                if want(&ev) {
                    return ev;
                }
                match ev {
                    ClientEvent::Failed { .. }
                    | ClientEvent::InvalidResponse { .. }
                    | ClientEvent::TimedOut { .. } => panic!("RTSP publisher: {ev:?}"),
                    _ => {}
                }
            }
            let n = tokio::time::timeout_at(deadline, self.sock.read_buf(&mut self.buf))
                .await
                .expect("RTSP response within 10 s")
                .unwrap();
            assert!(n > 0, "RTSP connection closed");
            self.session
                .handle_input(&mut self.buf, std::time::Instant::now())
                .unwrap();
        }
    }

    async fn send(&mut self, track: usize, rtcp: bool, packet: Bytes) {
        use tokio::io::AsyncWriteExt;
        match (&self.targets[track], &self.udp) {
            (RtpTarget::Interleaved(rtp, rtcp_ch), _) => {
                let ch = if rtcp { *rtcp_ch } else { *rtp };
                self.session.send_interleaved(ch, packet).unwrap();
                while let Some(b) = self.session.poll_transmit() {
                    self.sock.write_all(&b).await.unwrap();
                }
            }
            (RtpTarget::Udp(rtp_to, rtcp_to), Some((rtp_sock, rtcp_sock))) => {
                let (sock, to) = if rtcp {
                    (rtcp_sock, rtcp_to)
                } else {
                    (rtp_sock, rtp_to)
                };
                sock.send_to(&packet, to).await.unwrap();
            }
            _ => unreachable!(),
        }
    }

    /// An RTP packet of track `track`.
    pub async fn send_rtp(&mut self, track: usize, packet: Bytes) {
        self.send(track, false, packet).await
    }

    /// An RTCP packet of track `track`.
    pub async fn send_rtcp(&mut self, track: usize, packet: Bytes) {
        self.send(track, true, packet).await
    }

    /// TEARDOWN, and waits for its answer (or the connection closing).
    pub async fn teardown(mut self) {
        use tokio::io::AsyncWriteExt;
        self.session.teardown(std::time::Instant::now()).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            while let Some(b) = self.session.poll_transmit() {
                if self.sock.write_all(&b).await.is_err() {
                    return;
                }
            }
            while let Some(ev) = self.session.poll_event() {
                if matches!(ev, weir_rtsp_proto::ClientEvent::TornDown) {
                    return;
                }
            }
            match tokio::time::timeout_at(deadline, self.sock.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {
                    let _ = self
                        .session
                        .handle_input(&mut self.buf, std::time::Instant::now());
                }
                Ok(_) => return,
                Err(_) => panic!("no answer to TEARDOWN within 10 s"),
            }
        }
    }
}
