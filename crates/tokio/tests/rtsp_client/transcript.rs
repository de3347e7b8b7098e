//! A scripted RTSP camera: replays a request/response transcript, then sends H.264 (and
//! optionally PCMU) over RTP interleaved on the channels its SETUP answers named, with the
//! quirk the test asks for.
//!
//! Transcript format: `C: METHOD` starts an exchange; `S: …` lines are the response (an
//! `S:` line with nothing after it ends the head; lines after it are the body). Each request
//! is answered by the first unused exchange of its method, or the last one of that method
//! when all are used (501 when none). Placeholders: `{cseq}`, `{url}` (the request URL
//! without a trailing `/`), `{host}`, `{port}`, `{session}`, `{sprop}` (the parameter sets
//! of [`h264_frames`]), `{transport}` (the request's transport, with `server_port` added for
//! UDP), `{len}` (the body length).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_media::{Frame, Timebase, Timestamp, TrackId};
use weir_rtp_rtcp::payload::h264::{H264Packetizer, PacketizationMode};
use weir_rtp_rtcp::payload::{Packetizer, PacketizerConfig};
use weir_rtp_rtcp::rtcp::{Goodbye, ReceiverReport, SenderReport};
use weir_rtp_rtcp::{Compound, NtpTime, RtcpPacket, RtpHeader};
use weir_rtsp_proto::auth::{AuthConfig, AuthOutcome, Authenticator};
use weir_rtsp_proto::headers::{Pair, TransportSpec};
use weir_rtsp_proto::{Decoder, Item, Message, Method, Request};

/// A baseline-profile SPS (176×144) and its PPS.
pub const SPS: &[u8] = &[
    0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
    0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
];
/// The PPS.
pub const PPS: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];
/// `sprop-parameter-sets` of [`SPS`] and [`PPS`].
pub const SPROP: &str = "Z0LADdkBQfsBEAAAAwAQAAADAyDxQqSA,aMuDyyA=";

/// The avcC of [`SPS`] and [`PPS`].
pub fn avcc() -> Bytes {
    weir_h264::AvcConfig::from_parameter_sets(
        &[Bytes::from_static(SPS)],
        &[Bytes::from_static(PPS)],
    )
    .unwrap()
    .to_bytes()
}

fn nalus(list: &[&[u8]]) -> Bytes {
    let mut b = BytesMut::new();
    for n in list {
        b.extend_from_slice(&(n.len() as u32).to_be_bytes());
        b.extend_from_slice(n);
    }
    b.freeze()
}

/// `n` frames of a 25 fps H.264 stream: a keyframe with SPS and PPS in band every 10 frames,
/// slices large enough to be fragmented (FU-A), each frame's bytes distinct.
pub fn h264_frames(n: u32) -> Vec<Frame> {
    (0..n)
        .map(|i| {
            let key = i % 10 == 0;
            let mut slice = vec![if key { 0x65 } else { 0x41 }];
            slice.extend((0..3000u32).map(|k| (k.wrapping_mul(31) ^ i.wrapping_mul(7)) as u8 | 1));
            let data = if key {
                nalus(&[SPS, PPS, &slice])
            } else {
                nalus(&[&slice])
            };
            let t = Timestamp::new(i64::from(i) * 3600, Timebase::MPEG);
            Frame::new(TrackId(0), t, t, data).with_keyframe(key)
        })
        .collect()
}

const VIDEO_SSRC: u32 = 0x0BAD_CAFE;
const AUDIO_SSRC: u32 = 0x0000_5150;
const TS_BASE: u32 = 0x8000_1000;

type Jumps = Arc<dyn Fn(usize) -> u32 + Send + Sync>;

/// What the camera sends after PLAY.
#[derive(Clone, Default)]
pub struct MediaPlan {
    frames: Vec<Frame>,
    jumps: Option<Jumps>,
    pcmu: usize,
    garbage_every: Option<usize>,
    split_writes: Option<usize>,
    before_play: bool,
    pace: Option<Duration>,
}

impl MediaPlan {
    /// These H.264 frames on the first track.
    pub fn h264(frames: &[Frame]) -> MediaPlan {
        MediaPlan {
            frames: frames.to_vec(),
            ..MediaPlan::default()
        }
    }
    /// RTP timestamps of frame `i` get `f(i)` added (a camera clock that jumps).
    pub fn with_ts_jumps(mut self, f: impl Fn(usize) -> u32 + Send + Sync + 'static) -> Self {
        self.jumps = Some(Arc::new(f));
        self
    }
    /// `n` PCMU packets (20 ms) on the second track.
    pub fn with_pcmu(mut self, n: usize) -> Self {
        self.pcmu = n;
        self
    }
    /// Garbage after every `n`th packet, and one packet of frame 13 cut short.
    pub fn with_garbage(mut self, n: usize) -> Self {
        self.garbage_every = Some(n);
        self
    }
    /// Responses and media written `n` bytes at a time.
    pub fn with_split_writes(mut self, n: usize) -> Self {
        self.split_writes = Some(n);
        self
    }
    /// Media goes out before the PLAY answer.
    pub fn before_play_answer(mut self) -> Self {
        self.before_play = true;
        self
    }
    /// Packets paced like a live camera: `gap` after each, the connection still read (and
    /// requests answered) meanwhile; no RTCP BYE at the end.
    pub fn live(mut self, gap: Duration) -> Self {
        self.pace = Some(gap);
        self
    }

    fn video_packets(&self) -> Vec<Bytes> {
        let cfg = PacketizerConfig::new(90_000)
            .with_mtu(1200)
            .with_ssrc(VIDEO_SSRC)
            .with_initial_sequence_number(65_000);
        let mut p = H264Packetizer::new(cfg, &[], PacketizationMode::NonInterleaved);
        let mut out = Vec::new();
        for (i, f) in self.frames.iter().enumerate() {
            let jump = self.jumps.as_ref().map_or(0, |j| j(i));
            let ts = i64::from(
                TS_BASE
                    .wrapping_add(jump)
                    .wrapping_add(f.pts.ticks() as u32),
            );
            let t = Timestamp::new(ts, Timebase::MPEG);
            let mut f = f.clone();
            (f.pts, f.dts) = (t, t);
            p.packetize(&f, &mut out).unwrap();
        }
        out
    }

    fn audio_packets(&self) -> Vec<Bytes> {
        (0..self.pcmu)
            .map(|i| {
                RtpHeader::new(0, i as u16, 160 * i as u32, AUDIO_SSRC)
                    .to_packet(&[0xFF; 160])
                    .unwrap()
            })
            .collect()
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    response_bytes: Vec<usize>,
    frames_on: BTreeSet<u8>,
    rtcp_from_client: usize,
    refuse_require: bool,
    auth: Option<Authenticator>,
    used: Vec<bool>,
}

/// A running scripted camera (stopped on drop).
pub struct Camera {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `(method, response template)` pairs of a transcript.
fn parse(transcript: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in transcript.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("C: ") {
            out.push((m.trim().to_string(), Vec::new()));
        } else if let Some(s) = line.strip_prefix("S:") {
            let s = s.strip_prefix(' ').unwrap_or(s);
            if let Some(last) = out.last_mut() {
                last.1.push(s.to_string());
            }
        }
    }
    out.into_iter()
        .map(|(m, lines)| {
            let blank = lines
                .iter()
                .position(String::is_empty)
                .unwrap_or(lines.len());
            let head = lines[..blank].join("\r\n");
            let body: String = lines
                .get(blank + 1..)
                .unwrap_or(&[])
                .iter()
                .map(|l| format!("{l}\r\n"))
                .collect();
            (m, format!("{head}\r\n\r\n{body}"))
        })
        .collect()
}

impl Camera {
    /// Listens on 127.0.0.1, port 0.
    pub async fn start(transcript: &str, plan: MediaPlan) -> Camera {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(parse(transcript));
        let state = Arc::new(Mutex::new(State {
            used: vec![false; script.len()],
            ..State::default()
        }));
        let plan = Arc::new(plan);
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (st, script, plan) = (st.clone(), script.clone(), plan.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, addr.port(), st, script, plan).await;
                });
            }
        });
        Camera { addr, state, task }
    }

    /// `rtsp://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("rtsp://{}{path}", self.addr)
    }
    /// Refuse requests with a `Require` header (551).
    pub fn refuse_require(self) -> Camera {
        self.state.lock().unwrap().refuse_require = true;
        self
    }
    /// Require Digest authentication.
    pub fn with_auth(self, config: AuthConfig) -> Camera {
        self.state.lock().unwrap().auth = Some(Authenticator::new(config));
        self
    }
    /// Requests received, in order (all connections).
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }
    /// Their methods.
    pub fn methods(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.method.to_string())
            .collect()
    }
    /// Interleaved channels media went out on.
    pub fn frames_on(&self) -> Vec<u8> {
        self.state
            .lock()
            .unwrap()
            .frames_on
            .iter()
            .copied()
            .collect()
    }
    /// RTCP packets the client sent (interleaved).
    pub fn rtcp_from_client(&self) -> usize {
        self.state.lock().unwrap().rtcp_from_client
    }
    /// Bytes of each response written.
    pub fn response_bytes(&self) -> Vec<usize> {
        self.state.lock().unwrap().response_bytes.clone()
    }
}

fn fill(template: &str, req: &Request, port: u16) -> String {
    let url = req.uri.trim_end_matches('/');
    let transport = req
        .headers
        .transport()
        .and_then(Result::ok)
        .and_then(|l| l.into_iter().next())
        .map(|mut t: TransportSpec| {
            if !t.is_tcp() {
                t.server_port = Some(Pair::new(50_000, 50_001));
            }
            t.to_string()
        })
        .unwrap_or_default();
    let s = template
        .replace("{cseq}", &req.headers.cseq().unwrap_or(0).to_string())
        .replace("{url}", url)
        .replace("{host}", "127.0.0.1")
        .replace("{port}", &port.to_string())
        .replace("{session}", "5EED1234")
        .replace("{sprop}", SPROP)
        .replace("{transport}", &transport);
    match s.split_once("\r\n\r\n") {
        Some((head, body)) => {
            format!(
                "{}\r\n\r\n{body}",
                head.replace("{len}", &body.len().to_string())
            )
        }
        None => s,
    }
}

async fn write<W: AsyncWrite + Unpin>(
    sock: &mut W,
    bytes: &[u8],
    split: Option<usize>,
) -> std::io::Result<()> {
    match split {
        Some(n) => {
            for c in bytes.chunks(n.max(1)) {
                sock.write_all(c).await?;
                sock.flush().await?;
                tokio::task::yield_now().await;
            }
            Ok(())
        }
        None => sock.write_all(bytes).await,
    }
}

fn frame(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![b'$', channel];
    f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The media of `plan` on `channels` (one `(rtp, rtcp)` pair per set-up track), in chunks
/// of a packet each (garbage included).
fn media_bytes(plan: &MediaPlan, channels: &[(u8, u8)], st: &Mutex<State>) -> Vec<Vec<u8>> {
    let mut tracks = vec![(VIDEO_SSRC, TS_BASE, plan.video_packets())];
    if plan.pcmu > 0 {
        tracks.push((AUDIO_SSRC, 0, plan.audio_packets()));
    }
    let mut chunks = Vec::new();
    let mut out = Vec::new();
    let mut sent_on = BTreeSet::new();
    let ntp = NtpTime::from_unix(std::time::Duration::from_secs(1_700_000_000));
    for ((ssrc, ts, _), (_, rtcp)) in tracks.iter().zip(channels) {
        let sr = Compound::new(vec![RtcpPacket::SenderReport(SenderReport {
            ssrc: *ssrc,
            ntp_time: ntp,
            rtp_time: *ts,
            ..SenderReport::default()
        })]);
        out.extend(frame(*rtcp, &sr.to_bytes().unwrap()));
        sent_on.insert(*rtcp);
    }
    let longest = tracks.iter().map(|t| t.2.len()).max().unwrap_or(0);
    let mut n = 0usize;
    let mut cut_done = false;
    for i in 0..longest {
        for ((_, _, pkts), (rtp, _)) in tracks.iter().zip(channels) {
            let Some(p) = pkts.get(i) else { continue };
            n += 1;
            sent_on.insert(*rtp);
            let mut f = frame(*rtp, p);
            if let Some(every) = plan.garbage_every {
                // A packet of frame 13 cut short after its header claimed the whole packet.
                let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
                if !cut_done && *rtp == channels[0].0 && ts == TS_BASE.wrapping_add(13 * 3600) {
                    f.truncate(f.len() / 2);
                    cut_done = true;
                }
                out.extend(f);
                if n.is_multiple_of(every) {
                    out.extend_from_slice(b"\x13\x37 junk $\x09\x02\x00\x80\x60\xff\r\n\x00");
                }
            } else {
                out.extend(f);
            }
            chunks.push(std::mem::take(&mut out));
        }
    }
    if plan.pace.is_none() {
        for ((ssrc, _, _), (_, rtcp)) in tracks.iter().zip(channels) {
            let bye = Compound::new(vec![
                RtcpPacket::ReceiverReport(ReceiverReport {
                    ssrc: *ssrc,
                    ..ReceiverReport::default()
                }),
                RtcpPacket::Goodbye(Goodbye {
                    sources: vec![*ssrc],
                    reason: None,
                }),
            ]);
            out.extend(frame(*rtcp, &bye.to_bytes().unwrap()));
        }
    }
    chunks.push(out);
    st.lock().unwrap().frames_on.extend(sent_on);
    chunks
}

async fn serve(
    sock: TcpStream,
    port: u16,
    st: Arc<Mutex<State>>,
    script: Arc<Vec<(String, String)>>,
    plan: Arc<MediaPlan>,
) -> std::io::Result<()> {
    let _ = sock.set_nodelay(true);
    let (mut rd, wr) = sock.into_split();
    let wr = Arc::new(tokio::sync::Mutex::new(wr));
    let mut dec = Decoder::default();
    let mut buf = BytesMut::with_capacity(8192);
    let mut channels: Vec<(u8, u8)> = Vec::new();
    let mut media_task: Option<tokio::task::JoinHandle<()>> = None;
    let mut n = 0u64;
    let mut rng = move || {
        n += 1;
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    };
    let result = loop {
        let item = match dec.decode(&mut buf) {
            Ok(Some(i)) => i,
            Ok(None) => match rd.read_buf(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(_) => continue,
                Err(e) => break Err(e),
            },
            Err(_) => break Ok(()),
        };
        let req = match item {
            Item::Interleaved(f) => {
                if f.channel % 2 == 1 {
                    st.lock().unwrap().rtcp_from_client += 1;
                }
                continue;
            }
            Item::Message(Message::Request(r)) => r,
            Item::Message(Message::Response(_)) => continue,
        };
        let cseq = req.headers.cseq().unwrap_or(0);
        let response = {
            let mut s = st.lock().unwrap();
            s.requests.push(req.clone());
            let auth = s.auth.as_mut().map(|a| {
                a.verify(
                    req.method.as_str(),
                    &req.uri,
                    req.headers.get("Authorization"),
                    Instant::now(),
                    &mut rng,
                )
            });
            if let Some(AuthOutcome::Challenge(ch)) = auth {
                let mut r = format!("RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n");
                for c in ch {
                    r.push_str(&format!("WWW-Authenticate: {c}\r\n"));
                }
                r + "\r\n"
            } else if s.refuse_require && req.headers.get("Require").is_some() {
                format!("RTSP/1.0 551 Option not supported\r\nCSeq: {cseq}\r\n\r\n")
            } else {
                let m = req.method.to_string();
                let pick = script
                    .iter()
                    .enumerate()
                    .position(|(i, (sm, _))| *sm == m && !s.used[i])
                    .or_else(|| script.iter().rposition(|(sm, _)| *sm == m));
                match pick {
                    Some(i) => {
                        s.used[i] = true;
                        fill(&script[i].1, &req, port)
                    }
                    None => format!("RTSP/1.0 501 Not Implemented\r\nCSeq: {cseq}\r\n\r\n"),
                }
            }
        };
        if req.method == Method::Setup && response.starts_with("RTSP/1.0 200") {
            // The channels this SETUP answer names (or the requested ones, when it names none).
            let answered = response
                .lines()
                .find_map(|l| l.strip_prefix("Transport: "))
                .and_then(|t| TransportSpec::parse(t).ok());
            let requested = req
                .headers
                .transport()
                .and_then(Result::ok)
                .and_then(|l| l.into_iter().next());
            if let Some(i) = answered
                .or(requested)
                .filter(TransportSpec::is_tcp)
                .and_then(|t| t.interleaved)
            {
                channels.push((i.rtp, i.rtcp.unwrap_or(i.rtp + 1)));
            }
        }
        let play_ok = req.method == Method::Play && response.starts_with("RTSP/1.0 200");
        let tracks = 1 + usize::from(plan.pcmu > 0);
        let media = (play_ok && channels.len() >= tracks && !plan.frames.is_empty())
            .then(|| media_bytes(&plan, &channels, &st));
        let mut w = wr.lock().await;
        if let (true, Some(m)) = (plan.before_play, &media) {
            write(&mut *w, &m.concat(), plan.split_writes).await?;
        }
        write(&mut *w, response.as_bytes(), plan.split_writes).await?;
        drop(w);
        st.lock().unwrap().response_bytes.push(response.len());
        if let (false, Some(m)) = (plan.before_play, media) {
            let (wr, plan) = (wr.clone(), plan.clone());
            media_task = Some(tokio::spawn(async move {
                for chunk in m {
                    if write(&mut *wr.lock().await, &chunk, plan.split_writes)
                        .await
                        .is_err()
                    {
                        return;
                    }
                    if let Some(gap) = plan.pace {
                        tokio::time::sleep(gap).await;
                    }
                }
            }));
        }
    };
    if let Some(t) = media_task {
        t.abort();
    }
    result
}
