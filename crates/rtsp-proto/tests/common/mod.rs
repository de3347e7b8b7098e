//! Blocking test drivers around the sans-IO sessions, RTP/RTCP built by hand, ffmpeg helpers.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use weir_rtsp_proto::auth::AuthConfig;
use weir_rtsp_proto::headers::{Pair, RtpInfo, TransportSpec};
use weir_rtsp_proto::{RandomSource, ServerConfig, ServerEvent, ServerSession};
use weir_sdp::{MediaDescription, SessionDescription};
use weir_testutil::ChildGuard;

/// Bound on one interop session. Only a failing test gets near it; every wait before it is
/// on a condition.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn rng(seed: u64) -> Box<dyn RandomSource + Send> {
    let mut s = seed | 1;
    Box::new(move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// 12-byte RTP header + payload (RFC 3550 §5.1).
pub fn rtp_packet(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Bytes {
    let mut p = Vec::with_capacity(12 + payload.len());
    p.push(0x80);
    p.push(pt | if marker { 0x80 } else { 0 });
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    Bytes::from(p)
}

/// Compound RTCP SR + BYE (RFC 3550 §6.4.1, §6.6): tells ffmpeg the stream ended.
pub fn rtcp_sr_bye(ssrc: u32, rtp_ts: u32, packets: u32, octets: u32) -> Bytes {
    let mut p = Vec::new();
    p.extend_from_slice(&[0x80, 200, 0, 6]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&0xE000_0000u32.to_be_bytes()); // NTP seconds (arbitrary)
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&rtp_ts.to_be_bytes());
    p.extend_from_slice(&packets.to_be_bytes());
    p.extend_from_slice(&octets.to_be_bytes());
    p.extend_from_slice(&[0x81, 203, 0, 1]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    Bytes::from(p)
}

/// Payload of an RTP packet (skips CSRCs, extension, padding). `None` when malformed.
pub fn rtp_payload(p: &[u8]) -> Option<(u16, &[u8])> {
    let b0 = *p.first()?;
    if b0 >> 6 != 2 {
        return None;
    }
    let cc = usize::from(b0 & 0x0f);
    let seq = u16::from_be_bytes([*p.get(2)?, *p.get(3)?]);
    let mut off = 12 + 4 * cc;
    if b0 & 0x10 != 0 {
        let len = usize::from(u16::from_be_bytes([*p.get(off + 2)?, *p.get(off + 3)?]));
        off += 4 + 4 * len;
    }
    let mut end = p.len();
    if b0 & 0x20 != 0 {
        end = end.checked_sub(usize::from(*p.last()?))?;
    }
    Some((seq, p.get(off..end)?))
}

/// Concatenates payloads in sequence order (unwrapping 16-bit sequence numbers).
pub fn payloads_in_order(packets: &[Bytes]) -> Vec<u8> {
    let mut v: Vec<(u16, &[u8])> = packets.iter().filter_map(|p| rtp_payload(p)).collect();
    let Some(first) = v.first().map(|x| x.0) else {
        return Vec::new();
    };
    v.sort_by_key(|(s, _)| s.wrapping_sub(first));
    v.dedup_by_key(|(s, _)| *s);
    v.into_iter().flat_map(|(_, p)| p.to_vec()).collect()
}

/// Starts ffmpeg under a guard: it is killed when the test ends, pass or fail.
pub fn spawn_ffmpeg(args: &[&str]) -> ChildGuard {
    ChildGuard::spawn(&mut weir_testutil::ffmpeg_command(args))
}

/// Starts an ffmpeg that listens on a fresh 127.0.0.1 port (`args(port)`), and connects to it
/// once ffmpeg itself listens there. A port taken by another process before ffmpeg bound it
/// is replaced by a new one.
pub fn spawn_ffmpeg_listener(args: impl Fn(u16) -> Vec<String>) -> (ChildGuard, u16, TcpStream) {
    let (mut child, port) = weir_testutil::spawn_tcp_listener(DEADLINE, |port| {
        weir_testutil::ffmpeg_command(args(port))
    });
    let sock = child.connect_when_listening(port, DEADLINE);
    (child, port, sock)
}

/// Waits for the child to exit (killing it after `limit`); returns (success, stderr).
pub fn wait_child(child: ChildGuard, limit: Duration) -> (bool, String) {
    let f = child.finish(limit);
    match f.status {
        Some(status) => (status.success(), f.stderr),
        None => (false, format!("killed after {limit:?}\n{}", f.stderr)),
    }
}

/// Two seconds of a 440 Hz sine as 8 kHz G.711 µ-law (16000 bytes), made by ffmpeg.
pub fn make_mulaw(dir: &Path) -> Vec<u8> {
    let path = dir.join("src.ul");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=8000:duration=2",
        "-ar",
        "8000",
        "-ac",
        "1",
        "-f",
        "mulaw",
        path.to_str().unwrap(),
    ]);
    std::fs::read(&path).unwrap()
}

/// Writes every pending transmit; returns how many `stale=true` challenges went out.
fn write_all(sock: &mut TcpStream, s: &mut ServerSession) -> std::io::Result<usize> {
    let mut stale = 0;
    while let Some(b) = s.poll_transmit() {
        if b.starts_with(b"RTSP/1.0 401") {
            stale += b.windows(10).filter(|w| *w == b"stale=true").count();
        }
        sock.write_all(&b)?;
    }
    Ok(stale)
}

/// One served track: RTP payload type (0 = PCMU, 8 = PCMA) and its 8 kHz G.711 samples.
pub struct PlayTrack {
    pub pt: u8,
    pub samples: Vec<u8>,
}

/// What the test server does.
pub enum Mode {
    /// Serve G.711 tracks (160-byte packets) at `/live/a`, controls `trackID=<n>`.
    Play { tracks: Vec<PlayTrack> },
    /// Accept an ANNOUNCE/RECORD push and collect RTP packets per SETUP (in SETUP order).
    Record,
    /// Serve prepared RTP packets (any payload format) with their SDP media sections at
    /// `/live/a`, controls `trackID=<n>`.
    PlayRtp { tracks: Vec<RtpTrack> },
}

/// A served track of prepared RTP packets.
pub struct RtpTrack {
    /// The SDP media section (its control attribute is replaced).
    pub media: MediaDescription,
    /// The RTP packets, in order.
    pub packets: Vec<Bytes>,
}

fn rtp_fields(p: &Bytes) -> (u16, u32, u32) {
    let seq = u16::from_be_bytes([p[2], p[3]]);
    let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    let ssrc = u32::from_be_bytes([p[8], p[9], p[10], p[11]]);
    (seq, ts, ssrc)
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Announced SDP (Record).
    pub announced: Option<SessionDescription>,
    /// Received RTP packets per SETUP (Record).
    pub packets: Vec<Vec<Bytes>>,
    /// Transports accepted, per SETUP.
    pub transports: Vec<TransportSpec>,
    /// Methods seen, in order.
    pub methods: Vec<String>,
    /// Packets sent (Play, all tracks).
    pub sent: usize,
    /// `Authorization` headers of the requests that reached the application.
    pub authorizations: Vec<String>,
    /// Keep-alive requests (GET_PARAMETER, or OPTIONS after PLAY) seen on the wire; the
    /// session answers them itself, so they never reach the application.
    pub keepalives: usize,
    /// `stale=true` challenges sent.
    pub stale_challenges: usize,
}

enum Sink {
    Tcp(u8),
    Udp {
        rtp: UdpSocket,
        rtcp: UdpSocket,
        client: (SocketAddr, SocketAddr),
    },
}

impl Sink {
    /// True once the peer has read everything sent to it: always for TCP (ordered with the
    /// BYE on the same connection); for UDP, when the client's RTP socket queue is empty
    /// (`/proc/net/udp`). Where that cannot be read, 800 ms after the last packet.
    fn drained(&self, since_last: Duration) -> bool {
        match self {
            Sink::Tcp(_) => true,
            Sink::Udp { client, .. } => match weir_testutil::udp_rx_queue(client.0.port()) {
                Some(queued) => queued == 0,
                None => since_last > Duration::from_millis(800),
            },
        }
    }

    fn send(&self, s: &mut ServerSession, rtcp: bool, pkt: Bytes) {
        match self {
            Sink::Tcp(ch) => s
                .send_interleaved(if rtcp { ch + 1 } else { *ch }, pkt)
                .unwrap(),
            Sink::Udp {
                rtp,
                rtcp: rtcp_sock,
                client,
            } => {
                if rtcp {
                    rtcp_sock.send_to(&pkt, client.1).unwrap();
                } else {
                    rtp.send_to(&pkt, client.0).unwrap();
                }
            }
        }
    }
}

fn drain_udp(sinks: &[Sink], packets: &mut [Vec<Bytes>]) {
    for (i, sink) in sinks.iter().enumerate() {
        if let Sink::Udp { rtp, rtcp, .. } = sink {
            let mut b = [0u8; 4096];
            while let Ok((n, _)) = rtp.recv_from(&mut b) {
                if let Some(v) = packets.get_mut(i) {
                    v.push(Bytes::copy_from_slice(&b[..n]));
                }
            }
            while rtcp.recv_from(&mut b).is_ok() {}
        }
    }
}

const SSRC0: u32 = 0x5EED_0001;
const SEQ0: u16 = 65500; // wraps during the stream on purpose
const TS0: u32 = 1_000_000;

/// Accepts one connection and runs the session until the client leaves or the deadline passes.
pub fn serve_one(listener: TcpListener, mode: Mode, auth: Option<AuthConfig>) -> Outcome {
    serve_one_with(listener, mode, auth, None)
}

/// Like [`serve_one`]; with `realtime_timeout` the session timeout is that short and media is
/// paced in real time (one 20 ms packet per track per 20 ms), so keep-alives are needed.
pub fn serve_one_with(
    listener: TcpListener,
    mode: Mode,
    auth: Option<AuthConfig>,
    realtime_timeout: Option<Duration>,
) -> Outcome {
    let deadline = Instant::now() + DEADLINE;
    listener.set_nonblocking(true).unwrap();
    let (mut sock, peer) = loop {
        match listener.accept() {
            Ok(x) => break x,
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    sock.set_nodelay(true).unwrap();
    let mut cfg = ServerConfig {
        auth,
        ..ServerConfig::default()
    };
    if let Some(t) = realtime_timeout {
        cfg.session_timeout = t;
    }
    let mut play_started: Option<Instant> = None;
    let mut s = ServerSession::new(cfg, rng(7), Instant::now());
    let mut buf = BytesMut::with_capacity(65536);
    let mut out = Outcome::default();
    // Play: sink per track index; Record: sink per SETUP.
    let mut sinks: Vec<Sink> = Vec::new();
    let mut sink_track: Vec<usize> = Vec::new();
    let mut playing = false;
    let mut next_pkt = 0usize;
    let mut bye_sent = false;
    let mut last_media: Option<Instant> = None;
    let mut done = false;
    let play_tracks: &[PlayTrack] = match &mode {
        Mode::Play { tracks } => tracks,
        _ => &[],
    };
    let rtp_tracks: &[RtpTrack] = match &mode {
        Mode::PlayRtp { tracks } => tracks,
        _ => &[],
    };
    while Instant::now() < deadline && !done {
        let mut tmp = [0u8; 16384];
        match sock.read(&mut tmp) {
            Ok(0) => break,
            Ok(n) => {
                let data = &tmp[..n];
                let count = |pat: &[u8]| data.windows(pat.len()).filter(|w| *w == pat).count();
                out.keepalives +=
                    count(b"GET_PARAMETER rtsp") + if playing { count(b"OPTIONS rtsp") } else { 0 };
                buf.extend_from_slice(&tmp[..n]);
                if let Err(e) = s.handle_input(&mut buf, Instant::now()) {
                    let _ = write_all(&mut sock, &mut s);
                    panic!("server session error: {e}");
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
        while let Some(ev) = s.poll_event() {
            match ev {
                ServerEvent::Describe { id, request } => {
                    out.methods.push("DESCRIBE".into());
                    out.authorizations
                        .extend(request.headers.get("Authorization").map(str::to_string));
                    if request.uri.trim_end_matches('/').ends_with("/live/a")
                        && !rtp_tracks.is_empty()
                    {
                        let mut d = SessionDescription::rtsp_presentation("weir test", "127.0.0.1");
                        for (i, t) in rtp_tracks.iter().enumerate() {
                            d.media
                                .push(t.media.clone().with_control(&format!("trackID={i}")));
                        }
                        s.respond_describe(id, d.to_bytes(), None).unwrap();
                    } else if request.uri.trim_end_matches('/').ends_with("/live/a")
                        && !play_tracks.is_empty()
                    {
                        let mut d = SessionDescription::rtsp_presentation("weir test", "127.0.0.1");
                        for (i, t) in play_tracks.iter().enumerate() {
                            let m = if t.pt == 8 {
                                MediaDescription::pcma(8000, 1, 97)
                            } else {
                                MediaDescription::pcmu(8000, 1, 97)
                            };
                            d.media.push(m.with_control(&format!("trackID={i}")));
                        }
                        s.respond_describe(id, d.to_bytes(), None).unwrap();
                    } else {
                        s.reject(id, 404).unwrap();
                    }
                }
                ServerEvent::Announce { id, request } => {
                    out.methods.push("ANNOUNCE".into());
                    out.authorizations
                        .extend(request.headers.get("Authorization").map(str::to_string));
                    let sdp =
                        SessionDescription::parse(&request.body).expect("announced SDP parses");
                    out.packets = vec![Vec::new(); sdp.media.len().max(1)];
                    out.announced = Some(sdp);
                    s.accept_announce(id).unwrap();
                }
                ServerEvent::Setup {
                    id,
                    request,
                    transports,
                } => {
                    out.methods.push("SETUP".into());
                    let track = match request.uri.rsplit_once("trackID=") {
                        Some((_, n)) => n.trim_end_matches('/').parse::<usize>().unwrap(),
                        None => sinks.len(),
                    };
                    let mut t = transports[0].clone();
                    let sink = if t.is_tcp() {
                        Sink::Tcp(t.interleaved.unwrap().rtp)
                    } else {
                        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
                        let rtcp = UdpSocket::bind("127.0.0.1:0").unwrap();
                        rtp.set_nonblocking(true).unwrap();
                        rtcp.set_nonblocking(true).unwrap();
                        let cp = t.client_port.unwrap();
                        let client = (
                            SocketAddr::new(peer.ip(), cp.rtp),
                            SocketAddr::new(peer.ip(), cp.rtcp.unwrap_or(cp.rtp.wrapping_add(1))),
                        );
                        t.server_port = Some(Pair::new(
                            rtp.local_addr().unwrap().port(),
                            rtcp.local_addr().unwrap().port(),
                        ));
                        Sink::Udp { rtp, rtcp, client }
                    };
                    sinks.push(sink);
                    sink_track.push(track);
                    t.ssrc = Some(
                        match rtp_tracks.get(track).and_then(|r| r.packets.first()) {
                            Some(p) => rtp_fields(p).2,
                            None => SSRC0 + track as u32,
                        },
                    );
                    out.transports.push(t.clone());
                    s.accept_setup(id, &t).unwrap();
                }
                ServerEvent::Play { id, request, .. } => {
                    out.methods.push("PLAY".into());
                    let base = request.uri.trim_end_matches('/').to_string();
                    let info: Vec<RtpInfo> = sink_track
                        .iter()
                        .map(|&t| {
                            let (seq, rtptime) =
                                match rtp_tracks.get(t).and_then(|r| r.packets.first()) {
                                    Some(p) => (rtp_fields(p).0, rtp_fields(p).1),
                                    None => (SEQ0, TS0),
                                };
                            RtpInfo {
                                url: format!("{base}/trackID={t}"),
                                seq: Some(seq),
                                rtptime: Some(rtptime),
                            }
                        })
                        .collect();
                    s.accept_play(id, None, &info).unwrap();
                    playing = true;
                    play_started = Some(Instant::now());
                }
                ServerEvent::Record { id, .. } => {
                    out.methods.push("RECORD".into());
                    s.accept_record(id).unwrap();
                }
                ServerEvent::Pause { id, .. } => {
                    out.methods.push("PAUSE".into());
                    s.accept_pause(id).unwrap();
                    playing = false;
                }
                ServerEvent::Parameter { id, .. } => {
                    s.respond(id, weir_rtsp_proto::Response::new(200)).unwrap();
                }
                ServerEvent::Teardown { .. } => {
                    out.methods.push("TEARDOWN".into());
                    done = true;
                }
                ServerEvent::Interleaved(f) => {
                    let idx = sinks
                        .iter()
                        .position(|k| matches!(k, Sink::Tcp(c) if *c == f.channel));
                    if let Some(v) = idx.and_then(|i| out.packets.get_mut(i)) {
                        v.push(f.payload);
                    }
                }
                ServerEvent::SessionTimedOut { .. } => {
                    out.methods.push("TIMEOUT".into());
                    done = true;
                }
            }
        }
        drain_udp(&sinks, &mut out.packets);
        s.handle_timeout(Instant::now());
        // Play: a burst of packets per track per loop turn, then SR+BYE per track.
        if playing {
            let mut more = false;
            let burst = match (realtime_timeout, play_started) {
                (Some(_), Some(t0)) => {
                    ((t0.elapsed().as_millis() / 20) as usize + 1).saturating_sub(next_pkt)
                }
                _ => 10,
            };
            if burst == 0 {
                more = true;
            }
            for _ in 0..burst {
                for (sink, &track) in sinks.iter().zip(&sink_track) {
                    if let Some(rt) = rtp_tracks.get(track) {
                        if let Some(p) = rt.packets.get(next_pkt) {
                            more = true;
                            sink.send(&mut s, false, p.clone());
                            out.sent += 1;
                        }
                        continue;
                    }
                    let samples = &play_tracks[track].samples;
                    let Some(chunk) = samples.chunks(160).nth(next_pkt) else {
                        continue;
                    };
                    more = true;
                    let seq = SEQ0.wrapping_add(next_pkt as u16);
                    let ts = TS0.wrapping_add((next_pkt * 160) as u32);
                    let pkt = rtp_packet(
                        play_tracks[track].pt,
                        seq,
                        ts,
                        SSRC0 + track as u32,
                        next_pkt == 0,
                        chunk,
                    );
                    sink.send(&mut s, false, pkt);
                    out.sent += 1;
                }
                next_pkt += 1;
            }
            if !more && last_media.is_none() {
                last_media = Some(Instant::now());
            }
            // Over UDP, RTCP travels on its own socket and ffmpeg reads RTCP before RTP when
            // both are pending, so a BYE that arrives while RTP packets are still unread
            // ends its input without them. Send BYE once ffmpeg has read every RTP packet
            // (its socket's receive queue is empty), however long a loaded machine takes.
            let settled = last_media.is_some_and(|t| sinks.iter().all(|k| k.drained(t.elapsed())));
            if settled && !bye_sent {
                for (sink, &track) in sinks.iter().zip(&sink_track) {
                    if let Some(rt) = rtp_tracks.get(track) {
                        if let Some(last) = rt.packets.last() {
                            let (_, ts, ssrc) = rtp_fields(last);
                            let bye = rtcp_sr_bye(ssrc, ts, rt.packets.len() as u32, 0);
                            sink.send(&mut s, true, bye);
                        }
                        continue;
                    }
                    let samples = &play_tracks[track].samples;
                    let ts = TS0.wrapping_add(samples.len() as u32);
                    let bye = rtcp_sr_bye(
                        SSRC0 + track as u32,
                        ts,
                        samples.len().div_ceil(160) as u32,
                        samples.len() as u32,
                    );
                    sink.send(&mut s, true, bye);
                }
                bye_sent = true;
            }
        }
        match write_all(&mut sock, &mut s) {
            Ok(n) => out.stale_challenges += n,
            Err(_) => break,
        }
        if playing {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // Late UDP packets (Record): sent before the TEARDOWN, but on other sockets. Drain until
    // the sockets stay empty for a while; each packet that still arrives extends the wait.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut quiet_since = Instant::now();
    let mut seen = out.packets.iter().map(Vec::len).sum::<usize>();
    weir_testutil::wait_until(deadline, || {
        drain_udp(&sinks, &mut out.packets);
        let now_seen = out.packets.iter().map(Vec::len).sum::<usize>();
        if now_seen != seen {
            seen = now_seen;
            quiet_since = Instant::now();
        }
        quiet_since.elapsed() >= Duration::from_millis(200)
    });
    out
}

/// Binds an ephemeral port, returns the listener and its port.
pub fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    (l, p)
}
