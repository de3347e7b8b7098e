//! The load: one synthetic RTMP publisher and players of every egress protocol, written
//! lean (raw sockets, minimal parsing) so that the load generator costs little next to
//! the server. Every video frame carries a sequence number right after its NAL header;
//! a player looks it up in the publisher's send times to measure the delay the server
//! adds, and reports connect → first keyframe.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use weir_rtmp_chunk::ClientEvent;
use weir_tokio::client::{RtmpClient, RtmpUrl};

/// The egress a player uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// RTMP play.
    Rtmp,
    /// HTTP-FLV (`GET /live/NAME.flv`, HTTP/1.0).
    HttpFlv,
    /// WebSocket-FLV on the same path.
    WsFlv,
    /// RTSP play, RTP interleaved on the TCP connection.
    RtspTcp,
    /// RTSP play, RTP over UDP.
    RtspUdp,
}

impl Protocol {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Rtmp => "RTMP",
            Protocol::HttpFlv => "HTTP-FLV",
            Protocol::WsFlv => "WS-FLV",
            Protocol::RtspTcp => "RTSP/TCP",
            Protocol::RtspUdp => "RTSP/UDP",
        }
    }
}

/// Where the server under test listens.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// RTMP.
    pub rtmp: SocketAddr,
    /// HTTP (FLV, WS-FLV, HLS), when the server has it.
    pub http: Option<SocketAddr>,
    /// RTSP, when the server has it.
    pub rtsp: Option<SocketAddr>,
}

/// What players and the publisher share.
pub struct Shared {
    /// Send time of each video frame, by sequence number.
    sent: Mutex<HashMap<u64, Instant>>,
    /// Delays (µs) recorded while measuring.
    pub delays: Mutex<Vec<u32>>,
    /// The same, for non-key frames only (a keyframe is 4 × a frame: with many players
    /// its fan-out, one copy per player, dominates the p99 of all frames).
    pub delays_inter: Mutex<Vec<u32>>,
    /// Connect → first keyframe (µs) of players that started since the last clear.
    pub first_key: Mutex<Vec<u32>>,
    /// Payload bytes received while measuring.
    pub bytes: AtomicU64,
    /// Inside a measurement window.
    pub measuring: AtomicBool,
    /// Players that got their first keyframe and are still receiving.
    pub playing: AtomicUsize,
    /// Players that ended (connection closed or failed).
    pub ended: AtomicUsize,
    /// Per player slot (soak runs): ms since `epoch` of the last bytes received.
    pub seen: Vec<AtomicU64>,
    /// The clock of `seen`.
    pub epoch: Instant,
}

impl Default for Shared {
    fn default() -> Self {
        Shared::with_slots(0)
    }
}

impl Shared {
    /// With `n` player slots whose last receive time is kept ([`Shared::seen`]).
    pub fn with_slots(n: usize) -> Shared {
        Shared {
            sent: Mutex::default(),
            delays: Mutex::default(),
            delays_inter: Mutex::default(),
            first_key: Mutex::default(),
            bytes: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
            playing: AtomicUsize::new(0),
            ended: AtomicUsize::new(0),
            seen: (0..n).map(|_| AtomicU64::new(0)).collect(),
            epoch: Instant::now(),
        }
    }

    fn count(&self, slot: Option<usize>, n: usize) {
        if let Some(seen) = slot.and_then(|i| self.seen.get(i)) {
            seen.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
        if self.measuring.load(Ordering::Relaxed) {
            self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// A video frame with sequence number `seq` arrived now, at a player that connected at
    /// `t0` (frames sent before — the cached GOP it starts with — are not counted).
    fn arrived(&self, seq: u64, now: Instant, t0: Instant) {
        if !self.measuring.load(Ordering::Relaxed) {
            return;
        }
        let sent = self
            .sent
            .lock()
            .map(|m| m.get(&seq).copied())
            .ok()
            .flatten()
            .filter(|s| *s >= t0);
        if let Some(sent) = sent {
            let us = now.saturating_duration_since(sent).as_micros() as u32;
            if let Ok(mut d) = self.delays.lock() {
                d.push(us);
            }
            if !is_key(seq) {
                if let Ok(mut d) = self.delays_inter.lock() {
                    d.push(us);
                }
            }
        }
    }

    fn first_keyframe(&self, t0: Instant) {
        if let Ok(mut v) = self.first_key.lock() {
            v.push(t0.elapsed().as_micros() as u32);
        }
        self.playing.fetch_add(1, Ordering::Relaxed);
    }
}

/// A real 320x240 baseline SPS/PPS as an AVC sequence header (RTP packetizers parse it).
fn avc_sequence_header() -> Bytes {
    const SPS: [u8; 24] = [
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ];
    const PPS: [u8; 5] = [0x68, 0xcb, 0x83, 0xcb, 0x20];
    let mut b = BytesMut::new();
    b.put_slice(&[0x17, 0, 0, 0, 0, 1, SPS[1], SPS[2], SPS[3], 0xff, 0xe1]);
    b.put_u16(SPS.len() as u16);
    b.put_slice(&SPS);
    b.put_u8(1);
    b.put_u16(PPS.len() as u16);
    b.put_slice(&PPS);
    b.freeze()
}

/// The AVC decoder configuration record of the synthetic stream (a track's `config`).
pub fn avc_record() -> Bytes {
    avc_sequence_header().slice(5..)
}

/// The synthetic stream's video frame `seq` as an FLV tag body (its canonical frame data
/// is this without the first 5 bytes).
pub fn video_frame(seq: u64, kbps: u64) -> (Bytes, bool) {
    let frame_bytes = (kbps * 1000 / 8 / 25) as usize;
    let key = is_key(seq);
    let size = if key {
        frame_bytes * 4
    } else {
        frame_bytes * 46 / 49
    };
    (video_body(seq, key, size), key)
}

/// Frame `seq` is a keyframe (a 2 s GOP at 25 fps).
pub fn is_key(seq: u64) -> bool {
    seq % 50 == 0
}

/// Records that video frame `seq` is being sent now.
pub fn sending(shared: &Shared, seq: u64) {
    if let Ok(mut m) = shared.sent.lock() {
        m.insert(seq, Instant::now());
        if seq % 250 == 0 {
            m.retain(|s, _| *s + 500 > seq);
        }
    }
}

/// An FLV AVC NALU tag body: one NAL unit whose first payload bytes are `seq`.
fn video_body(seq: u64, key: bool, size: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(size + 9);
    b.put_slice(&[if key { 0x17 } else { 0x27 }, 1, 0, 0, 0]);
    let nal_len = size.saturating_sub(9).max(9);
    b.put_u32(nal_len as u32);
    b.put_u8(if key { 0x65 } else { 0x41 });
    b.put_u64(seq);
    b.resize(b.len() + nal_len - 9, 0xAB);
    b.freeze()
}

/// Publishes `app/name` at `kbps` (25 fps, 2 s GOP, AAC-sized audio every 23 ms) until the
/// connection fails. With `shared`, video send times are recorded for the delay probes.
pub async fn publish(url: RtmpUrl, shared: Option<Arc<Shared>>, kbps: u64) {
    let Ok(p) = RtmpClient::connect(&url).await else {
        return;
    };
    let Ok(mut p) = p.publish(&url.stream).await else {
        return;
    };
    if p.send_video(0, avc_sequence_header()).await.is_err()
        || p.send_audio(0, Bytes::from_static(&[0xAF, 0, 0x12, 0x10]))
            .await
            .is_err()
    {
        return;
    }
    let frame_bytes = (kbps * 1000 / 8 / 25) as usize;
    let audio = {
        let mut a = vec![0x21u8; 160];
        a[0] = 0xAF;
        a[1] = 1;
        Bytes::from(a)
    };
    let start = Instant::now();
    let mut audio_ms = 0u64;
    for seq in 0u64.. {
        let ts = seq * 40;
        tokio::time::sleep_until((start + Duration::from_millis(ts)).into()).await;
        let key = is_key(seq);
        let size = if key {
            frame_bytes * 4
        } else {
            frame_bytes * 46 / 49
        };
        if let Some(s) = &shared {
            if let Ok(mut m) = s.sent.lock() {
                m.insert(seq, Instant::now());
                if seq % 250 == 0 {
                    m.retain(|s, _| *s + 500 > seq);
                }
            }
        }
        if p.send_video(ts as u32, video_body(seq, key, size))
            .await
            .is_err()
        {
            return;
        }
        while audio_ms <= ts {
            if p.send_audio(audio_ms as u32, audio.clone()).await.is_err() {
                return;
            }
            audio_ms += 23;
        }
    }
}

/// One player of `protocol` for `app/name`; returns when its connection ends.
/// `probe`: this player measures the delay of every frame (all players count bytes and
/// report their first keyframe).
pub async fn play(
    protocol: Protocol,
    ep: Endpoints,
    path: String,
    shared: Arc<Shared>,
    probe: bool,
    slot: Option<usize>,
) {
    let t0 = Instant::now();
    let r = match protocol {
        Protocol::Rtmp => play_rtmp(&ep, &path, &shared, t0, probe, slot).await,
        Protocol::HttpFlv => play_flv(&ep, &path, &shared, t0, false, probe, slot).await,
        Protocol::WsFlv => play_flv(&ep, &path, &shared, t0, true, probe, slot).await,
        Protocol::RtspTcp => play_rtsp(&ep, &path, &shared, t0, false, probe, slot).await,
        Protocol::RtspUdp => play_rtsp(&ep, &path, &shared, t0, true, probe, slot).await,
    };
    let _ = r;
    shared.ended.fetch_add(1, Ordering::Relaxed);
}

type Res = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A video tag body (FLV layout): keyframe flag and sequence number, if it is a frame.
fn flv_video(shared: &Shared, data: &[u8], first: &mut bool, t0: Instant, probe: bool) {
    let now = Instant::now();
    if data.len() < 18 || data[1] != 1 {
        return;
    }
    if *first && data[0] >> 4 == 1 {
        *first = false;
        shared.first_keyframe(t0);
    }
    if probe {
        let seq = u64::from_be_bytes(data[10..18].try_into().unwrap_or([0; 8]));
        shared.arrived(seq, now, t0);
    }
}

async fn play_rtmp(
    ep: &Endpoints,
    path: &str,
    shared: &Shared,
    t0: Instant,
    probe: bool,
    slot: Option<usize>,
) -> Res {
    let (app, name) = path.split_once('/').ok_or("path")?;
    let url = RtmpUrl::parse(&format!("rtmp://{}/{app}/{name}", ep.rtmp))?;
    let mut c = RtmpClient::connect(&url).await?.play(&url.stream).await?;
    c.set_timeout(Duration::from_secs(3600));
    let mut first = true;
    while let Some(ev) = c.next_event().await? {
        match ev {
            ClientEvent::Video { data, .. } => {
                shared.count(slot, data.len());
                flv_video(shared, &data, &mut first, t0, probe);
            }
            ClientEvent::Audio { data, .. } => shared.count(slot, data.len()),
            _ => {}
        }
    }
    Ok(())
}

/// Reads an HTTP response head; returns what followed it.
async fn read_head(
    sock: &mut TcpStream,
    buf: &mut BytesMut,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let _ = buf.split_to(end + 4);
            return Ok(head);
        }
        if buf.len() > 64 << 10 || sock.read_buf(buf).await? == 0 {
            return Err("no response head".into());
        }
    }
}

/// HTTP-FLV (HTTP/1.0: the body is the FLV stream itself) or WS-FLV (one binary message
/// per tag, the first one the file header).
async fn play_flv(
    ep: &Endpoints,
    path: &str,
    shared: &Shared,
    t0: Instant,
    ws: bool,
    probe: bool,
    slot: Option<usize>,
) -> Res {
    let http = ep.http.ok_or("no HTTP listener")?;
    let mut sock = TcpStream::connect(http).await?;
    sock.set_nodelay(true)?;
    let req = if ws {
        format!("GET /{path}.flv HTTP/1.1\r\nHost: {http}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    } else {
        format!("GET /{path}.flv HTTP/1.0\r\nHost: {http}\r\n\r\n")
    };
    sock.write_all(req.as_bytes()).await?;
    let mut buf = BytesMut::with_capacity(64 << 10);
    let head = read_head(&mut sock, &mut buf).await?;
    if !(head.starts_with("HTTP/1.0 200")
        || head.starts_with("HTTP/1.1 200")
        || head.contains(" 101 "))
    {
        return Err(format!("refused: {}", head.lines().next().unwrap_or("")).into());
    }
    let mut first = true;
    // FLV: 13 bytes of file header, then tags. With WebSocket framing the FLV bytes come
    // in messages; unwrap them into `flv` first.
    let mut flv = BytesMut::with_capacity(64 << 10);
    let mut skip = 13usize;
    loop {
        if ws {
            unwrap_ws(&mut buf, &mut flv);
        } else {
            flv.unsplit(buf.split());
        }
        if skip > 0 {
            let n = skip.min(flv.len());
            let _ = flv.split_to(n);
            skip -= n;
        }
        while flv.len() >= 11 {
            let size = u32::from_be_bytes([0, flv[1], flv[2], flv[3]]) as usize;
            if flv.len() < 11 + size + 4 {
                break;
            }
            let tag = flv.split_to(11 + size + 4);
            shared.count(slot, size);
            if tag[0] == 9 {
                flv_video(shared, &tag[11..11 + size], &mut first, t0, probe);
            }
        }
        if buf.capacity() - buf.len() < 16 << 10 {
            buf.reserve(64 << 10);
        }
        if sock.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

/// Moves the payloads of complete server WebSocket frames (unmasked) from `buf` to `out`.
fn unwrap_ws(buf: &mut BytesMut, out: &mut BytesMut) {
    loop {
        if buf.len() < 2 {
            return;
        }
        let (len, hdr) = match buf[1] & 0x7f {
            126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
            127 if buf.len() >= 10 => (
                u64::from_be_bytes(buf[2..10].try_into().unwrap_or([0; 8])) as usize,
                10,
            ),
            126 | 127 => return,
            n => (n as usize, 2),
        };
        if buf.len() < hdr + len {
            return;
        }
        let frame = buf.split_to(hdr + len);
        if frame[0] & 0x0f == 2 || frame[0] & 0x0f == 0 {
            out.extend_from_slice(&frame[hdr..]);
        }
    }
}

/// Sends one RTSP request and reads its response head (no body expected but DESCRIBE's).
async fn rtsp_request(
    sock: &mut TcpStream,
    buf: &mut BytesMut,
    req: String,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    sock.write_all(req.as_bytes()).await?;
    let head = read_head(sock, buf).await?;
    if !head.starts_with("RTSP/1.0 200") {
        return Err(format!("RTSP refused: {}", head.lines().next().unwrap_or("")).into());
    }
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("Content-Length:")
                .or_else(|| l.strip_prefix("content-length:"))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < len {
        if sock.read_buf(buf).await? == 0 {
            return Err("closed".into());
        }
    }
    let _ = buf.split_to(len);
    Ok(head)
}

/// An RTP packet of the video track: keyframe start and sequence number of a frame's first
/// packet (single NAL unit or FU-A start).
fn rtp_video(shared: &Shared, pkt: &[u8], first: &mut bool, t0: Instant, probe: bool) {
    let now = Instant::now();
    if pkt.len() < 12 {
        return;
    }
    let cc = usize::from(pkt[0] & 0x0f);
    let mut off = 12 + 4 * cc;
    if pkt[0] & 0x10 != 0 && pkt.len() >= off + 4 {
        off += 4 + 4 * usize::from(u16::from_be_bytes([pkt[off + 2], pkt[off + 3]]));
    }
    let Some(p) = pkt.get(off..) else { return };
    let (nal_type, seq_at) = match p.first().map(|b| b & 0x1f) {
        Some(28) if p.len() > 10 && p[1] & 0x80 != 0 => (p[1] & 0x1f, 2),
        Some(t @ (1 | 5)) => (t, 1),
        _ => return,
    };
    if *first && nal_type == 5 {
        *first = false;
        shared.first_keyframe(t0);
    }
    if let Some(s) = p.get(seq_at..seq_at + 8).filter(|_| probe) {
        shared.arrived(u64::from_be_bytes(s.try_into().unwrap_or([0; 8])), now, t0);
    }
}

async fn play_rtsp(
    ep: &Endpoints,
    path: &str,
    shared: &Shared,
    t0: Instant,
    udp: bool,
    probe: bool,
    slot: Option<usize>,
) -> Res {
    let rtsp = ep.rtsp.ok_or("no RTSP listener")?;
    let url = format!("rtsp://{rtsp}/{path}");
    let mut sock = TcpStream::connect(rtsp).await?;
    sock.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(16 << 10);
    rtsp_request(
        &mut sock,
        &mut buf,
        format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"),
    )
    .await?;
    let mut session = String::new();
    let mut socks = Vec::new();
    for track in 0..2 {
        let transport = if udp {
            let rtp = UdpSocket::bind("127.0.0.1:0").await?;
            let rtcp = UdpSocket::bind("127.0.0.1:0").await?;
            let (a, b) = (rtp.local_addr()?.port(), rtcp.local_addr()?.port());
            socks.push((rtp, rtcp));
            format!("RTP/AVP;unicast;client_port={a}-{b}")
        } else {
            format!(
                "RTP/AVP/TCP;unicast;interleaved={}-{}",
                track * 2,
                track * 2 + 1
            )
        };
        let sess = if session.is_empty() {
            String::new()
        } else {
            format!("Session: {session}\r\n")
        };
        let head = rtsp_request(&mut sock, &mut buf, format!("SETUP {url}/trackID={track} RTSP/1.0\r\nCSeq: {}\r\n{sess}Transport: {transport}\r\n\r\n", track + 2)).await?;
        if session.is_empty() {
            session = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Session:")
                        .or_else(|| l.strip_prefix("session:"))
                })
                .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
                .unwrap_or_default();
        }
    }
    sock.write_all(
        format!(
            "PLAY {url} RTSP/1.0\r\nCSeq: 4\r\nSession: {session}\r\nRange: npt=0.000-\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    let mut first = true;
    if udp {
        // The PLAY answer; then RTP arrives on the UDP sockets.
        read_head(&mut sock, &mut buf).await?;
        let shared_video = async {
            let mut b = vec![0u8; 2048];
            let (video, _) = &socks[0];
            loop {
                let n = video.recv(&mut b).await?;
                shared.count(slot, n.saturating_sub(12));
                rtp_video(shared, &b[..n], &mut first, t0, probe);
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        };
        let audio = async {
            let mut b = vec![0u8; 2048];
            let (a, _) = &socks[1];
            loop {
                let n = a.recv(&mut b).await?;
                shared.count(slot, n.saturating_sub(12));
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        };
        let mut ctl = [0u8; 512];
        tokio::select! {
            r = shared_video => r?,
            r = audio => r?,
            _ = sock.read(&mut ctl) => {}
        }
        return Ok(());
    }
    // Interleaved: `$ channel len(2) packet`; RTSP answers (PLAY's) between them.
    loop {
        loop {
            if buf.starts_with(b"RTSP") {
                match buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    Some(end) => {
                        let _ = buf.split_to(end + 4);
                        continue;
                    }
                    None => break,
                }
            }
            if buf.len() < 4 {
                break;
            }
            if buf[0] != b'$' {
                return Err("lost interleaved framing".into());
            }
            let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
            if buf.len() < 4 + len {
                break;
            }
            let frame = buf.split_to(4 + len);
            let ch = frame[1];
            if ch % 2 == 0 {
                shared.count(slot, len.saturating_sub(12));
            }
            if ch == 0 {
                rtp_video(shared, &frame[4..], &mut first, t0, probe);
            }
        }
        if buf.capacity() - buf.len() < 8 << 10 {
            buf.reserve(32 << 10);
        }
        if sock.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}
