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

/// Polls the HLS playlist of `key` until it ends; returns the segments concatenated.
pub async fn hls_record(http: SocketAddr, key: String) -> Bytes {
    let mut have = std::collections::BTreeMap::new();
    for _ in 0..150 {
        let (code, _, body) = http_get(http, &format!("/{key}/index.m3u8")).await;
        if code != 200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let text = String::from_utf8_lossy(&body).to_string();
        for uri in text.lines().filter(|l| l.ends_with(".ts")) {
            let seq: u64 = uri.trim_end_matches(".ts").parse().unwrap();
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
