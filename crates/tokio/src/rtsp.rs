//! The RTSP server driver: runs a sans-IO [`ServerSession`] per TCP connection.
//!
//! * Play: DESCRIBE subscribes to `app/stream` and describes the stream's tracks (SDP built
//!   from the RTP packetizers, with sprop parameter sets / AAC config), SETUP over TCP
//!   interleaved or UDP (server port pairs from a configured range), PLAY with `RTP-Info`
//!   and `Range: npt=now-`, PAUSE, TEARDOWN; RTCP sender reports on both transports.
//! * Publish: ANNOUNCE (tracks from the SDP), SETUP `mode=record` over TCP or UDP, RECORD;
//!   RTP → (UDP: jitter buffer) → depacketizer → [`Publisher`], timestamps aligned across
//!   tracks with the publisher's RTCP sender reports when it sends them.
//!
//! RTP packets are built once per stream and shared by all of its RTSP players
//! ([`crate::rtp_out`]): same SSRC, sequence numbers and timestamps for everyone; UDP
//! datagrams go out in batches ([`crate::udp`]).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};
use weir_jitter::{Config as JitterConfig, JitterBuffer, Output};
use weir_media::reorder::{DtsEvent, DtsGenerator};
use weir_media::{Codec, Frame, MediaKind, Timebase, Timestamp, TrackId, TrackInfo};
use weir_rtp_rtcp::payload::{aac, h264, h265, latm, Depacketizer, DepacketizerConfig};
use weir_rtp_rtcp::rtcp::{SenderReport, SourceDescription};
use weir_rtp_rtcp::{Compound, NtpTime, RtcpLimits, RtcpPacket, RtpPacket};
use weir_rtsp_proto::auth::{AuthConfig, AuthOutcome, Authenticator};
use weir_rtsp_proto::headers::{Pair, RangeSpec, RtpInfo, TransportSpec};
use weir_rtsp_proto::{Request, RequestId, RtspUrl, ServerConfig, ServerEvent, ServerSession};

use crate::hub::{HubError, Publisher, Subscription, TryNext};
use crate::io::{tune_socket, write_all_bufs};
use crate::rtp_out::{RtpPackets, RtpTrack};
use crate::server::{Access, AuthRequest, Ctx};
use crate::udp::UdpBatch;
use crate::unit::Unit;

/// Units sent per batch before the socket is written.
const BATCH_UNITS: usize = 16;
/// Read buffer per connection.
const READ_BUF: usize = 4096;
/// Interval between RTCP sender reports.
const SR_INTERVAL: Duration = Duration::from_secs(2);
/// Where the stream time of an RTSP publisher starts (see [`Conn::retime`]): room for the
/// decode times of reordered video (reorder depth × frame duration) before the first
/// presentation time.
const STREAM_TIME_LEAD: Duration = Duration::from_secs(1);
/// Largest UDP datagram read.
const UDP_BUF: usize = 2048;

pub(crate) async fn serve(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    let ctx = ctx.clone();
                    let shutdown = shutdown.clone();
                    let guard = ctx.tasks.enter();
                    tokio::spawn(async move {
                        let _guard = guard;
                        if let Err(e) = connection(sock, peer, ctx, shutdown).await {
                            debug!(%peer, error = %e, "rtsp connection ended");
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "rtsp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// A random 64-bit value (SSRCs, session ids, nonces, initial sequence numbers).
pub(crate) fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Rtsp(#[from] weir_rtsp_proto::Error),
    #[error("player stuck for longer than {0:?}")]
    Stuck(Duration),
}

/// Where a track's RTP and RTCP go (play) or come from (publish).
enum Dest {
    Tcp {
        rtp: u8,
        rtcp: Option<u8>,
    },
    Udp {
        rtp_sock: Arc<UdpSocket>,
        rtcp_sock: Arc<UdpSocket>,
        rtp_to: SocketAddr,
        rtcp_to: SocketAddr,
        readers: [tokio::task::JoinHandle<()>; 2],
    },
}

impl Drop for Dest {
    fn drop(&mut self) {
        if let Dest::Udp { readers, .. } = self {
            for r in readers {
                r.abort();
            }
        }
    }
}

/// One track of a player: the stream's shared RTP track and where this player gets it.
struct OutTrack {
    /// 0 video, 1 audio (the [`RtpPackets`] slot).
    slot: usize,
    rtp: Arc<RtpTrack>,
    dest: Option<Dest>,
    /// Packets and payload octets sent to this player (its sender reports).
    packets: u32,
    octets: u32,
    /// RTP timestamp of the last frame sent and when it was sent (for SRs).
    last: Option<(u32, Instant)>,
    /// Sequence number of the last packet sent.
    sent_seq: Option<u16>,
    /// Resumed after PAUSE: video waits for a keyframe it has not sent yet.
    await_key: bool,
}

impl OutTrack {
    /// Whether `unit`'s packets are new to this player. The packets are shared by every
    /// player, so after PAUSE the cached GOP the player already got is not sent again
    /// (its sequence numbers would run backwards); video resumes at the next keyframe.
    fn fresh(&self, rtp: &RtpPackets, keyframe: bool) -> bool {
        let newer = self
            .sent_seq
            .is_none_or(|last| rtp.first_seq.wrapping_sub(last) as i16 > 0);
        newer && (!self.await_key || keyframe)
    }

    fn sender_report(&self, now: Instant) -> Option<Bytes> {
        let (rtp, at) = self.last?;
        let elapsed = now.saturating_duration_since(at);
        let adv = (elapsed.as_secs_f64() * f64::from(self.rtp.info.clock_rate)) as u32;
        let ssrc = self.rtp.ssrc;
        let sr = SenderReport {
            ssrc,
            ntp_time: NtpTime::from_system_time(SystemTime::now()),
            rtp_time: rtp.wrapping_add(adv),
            packet_count: self.packets,
            octet_count: self.octets,
            ..SenderReport::default()
        };
        let sdes = SourceDescription::cname(ssrc, "weir");
        Compound::new(vec![
            RtcpPacket::SenderReport(sr),
            RtcpPacket::SourceDescription(sdes),
        ])
        .to_bytes()
        .ok()
    }
}

/// One track of a publisher.
struct InTrack {
    info: TrackInfo,
    control: String,
    depack: Box<dyn Depacketizer + Send>,
    jitter: Option<JitterBuffer<RtpPacket>>,
    dest: Option<Dest>,
    /// Latest sender report: (NTP, RTP timestamp).
    sr: Option<(NtpTime, u32)>,
    /// Added to the depacketized timestamps (track ticks), fixed at the first frame.
    offset: Option<i64>,
    /// Video lost data: frames are dropped until the next keyframe (later frames would
    /// reference the damaged one).
    await_keyframe: bool,
    /// Video: decode timestamps for frames that arrive in decode order with only a
    /// presentation time (RTP carries no DTS; B-frames make PTS go back and forth).
    dts: Option<(Bytes, DtsGenerator)>,
}

/// A datagram received on one of the connection's UDP sockets.
struct Datagram {
    track: usize,
    rtcp: bool,
    data: Bytes,
}

struct Conn {
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    local_ip: IpAddr,
    session: ServerSession,
    out: Vec<Bytes>,
    udp_tx: mpsc::Sender<Datagram>,
    udp_rx: mpsc::Receiver<Datagram>,
    // Play.
    key: Option<String>,
    sub: Option<Subscription>,
    tracks: Vec<OutTrack>,
    /// UDP datagrams queued for this player (sent in batches).
    udp_out: UdpBatch,
    playing: bool,
    /// First unit taken to anchor RTP-Info, sent first after PLAY.
    pending: Option<Arc<Unit>>,
    next_sr: Option<tokio::time::Instant>,
    // Publish.
    publisher: Option<Publisher>,
    in_tracks: Vec<InTrack>,
    recording: bool,
    /// Last request bytes or end of a session: a connection without a session closes one
    /// session timeout after this.
    idle_since: Instant,
    /// Digest verifiers (nonce bookkeeping) per app with RTSP credentials.
    authenticators: std::collections::HashMap<String, Authenticator>,
    /// Stream time origin for published frames: (NTP of the first frame, its arrival).
    origin: Option<(Option<NtpTime>, Instant)>,
}

async fn connection(
    sock: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConnError> {
    tune_socket(&sock, ctx.config.tcp_nodelay, ctx.config.send_buffer_bytes);
    let local_ip = sock.local_addr()?.ip();
    let (mut rd, mut wr) = sock.into_split();
    let config = ServerConfig {
        session_timeout: ctx.config.rtsp_session_timeout,
        server_name: concat!("weir/", env!("CARGO_PKG_VERSION")).to_string(),
        ..ServerConfig::default()
    };
    let now = Instant::now();
    let (udp_tx, udp_rx) = mpsc::channel(1024);
    let mut c = Conn {
        session: ServerSession::new(config, Box::new(random_u64), now),
        ctx: ctx.clone(),
        peer,
        local_ip,
        out: Vec::with_capacity(64),
        udp_tx,
        udp_rx,
        key: None,
        sub: None,
        tracks: Vec::new(),
        udp_out: UdpBatch::default(),
        playing: false,
        pending: None,
        next_sr: None,
        publisher: None,
        in_tracks: Vec::new(),
        recording: false,
        origin: None,
        authenticators: std::collections::HashMap::new(),
        idle_since: now,
    };
    let mut rbuf = BytesMut::with_capacity(READ_BUF);
    let stuck = ctx.config.player_stuck_timeout;
    let result = loop {
        while let Some(b) = c.session.poll_transmit() {
            c.out.push(b);
        }
        if !c.out.is_empty() {
            match tokio::time::timeout(stuck, write_all_bufs(&mut wr, &mut c.out)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => break Err(e.into()),
                Err(_) => break Err(ConnError::Stuck(stuck)),
            }
            c.out.shrink_to(256);
        }
        if c.session.is_closed() {
            break Ok(());
        }
        let session_deadline = c.session.poll_timeout().map(tokio::time::Instant::from_std);
        let jitter_deadline = c
            .in_tracks
            .iter()
            .filter_map(|t| t.jitter.as_ref().and_then(JitterBuffer::poll_timeout))
            .min()
            .map(tokio::time::Instant::from_std);
        // A connection that never sets up a session must still go away.
        let idle_deadline = c.session.session_id().is_none().then(|| {
            tokio::time::Instant::from_std(c.idle_since + ctx.config.rtsp_session_timeout)
        });
        if idle_deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
            debug!(peer = %c.peer, "rtsp: idle connection without a session closed");
            break Ok(());
        }
        let deadline = [session_deadline, jitter_deadline, c.next_sr, idle_deadline]
            .into_iter()
            .flatten()
            .min();
        let playing = c.playing && c.sub.is_some();
        tokio::select! {
            read = rd.read_buf(&mut rbuf) => {
                match read {
                    Ok(0) => break Ok(()),
                    Ok(_) => {
                        c.idle_since = Instant::now();
                        let r = c.session.handle_input(&mut rbuf, c.idle_since);
                        c.events().await;
                        if let Err(e) = r {
                            // The session queued an error response; write it, then close.
                            debug!(peer = %c.peer, error = %e, "rtsp: bad input");
                        }
                        if rbuf.capacity() - rbuf.len() < 1024 {
                            rbuf.reserve(READ_BUF);
                        }
                    }
                    Err(e) => break Err(e.into()),
                }
            }
            unit = next_unit(&mut c.sub, &mut c.pending), if playing => {
                if !c.send_units(unit).await {
                    // Stream ended.
                    info!(peer = %c.peer, "rtsp: stream ended; closing player");
                    break Ok(());
                }
            }
            Some(d) = c.udp_rx.recv() => {
                c.datagram(d);
            }
            _ = sleep_until(deadline) => {
                let now = Instant::now();
                c.session.handle_timeout(now);
                for t in &mut c.in_tracks {
                    if let Some(j) = t.jitter.as_mut() {
                        j.handle_timeout(now);
                    }
                }
                c.drain_all_jitter();
                if c.next_sr.is_some_and(|d| d <= tokio::time::Instant::now()) {
                    c.send_reports().await;
                }
                c.events().await;
            }
            _ = shutdown.changed() => break Ok(()),
        }
    };
    c.finish().await;
    result
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn next_unit(
    sub: &mut Option<Subscription>,
    pending: &mut Option<Arc<Unit>>,
) -> Option<Arc<Unit>> {
    if let Some(u) = pending.take() {
        return Some(u);
    }
    match sub {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// `app/stream` from a request URL (path without query, trailing `/` and a known suffix).
fn key_of(uri: &str) -> Option<(String, Option<String>)> {
    let url = RtspUrl::parse(uri).ok()?;
    let (path, query) = match url.path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (url.path.clone(), None),
    };
    let key = path.trim_matches('/').to_string();
    (!key.is_empty()).then_some((key, query))
}

/// Splits a SETUP URL into the presentation key and the track control (`trackID=N`).
fn split_control(uri: &str) -> Option<(String, String)> {
    let (key, _) = key_of(uri)?;
    let (k, control) = key.rsplit_once('/')?;
    Some((k.to_string(), control.to_string()))
}

impl Conn {
    async fn finish(&mut self) {
        self.end_publish().await;
        self.sub = None;
        self.tracks.clear();
        self.in_tracks.clear();
    }

    /// Publishes everything still in flight (UDP datagrams sent just before TEARDOWN,
    /// jitter buffers, partial frames), then ends the stream.
    async fn end_publish(&mut self) {
        if self.publisher.is_none() {
            return;
        }
        if self
            .in_tracks
            .iter()
            .any(|t| matches!(t.dest, Some(Dest::Udp { .. })))
        {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
            while let Ok(Some(d)) = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + Duration::from_millis(50)),
                self.udp_rx.recv(),
            )
            .await
            {
                self.datagram(d);
            }
        }
        let later = Instant::now() + Duration::from_secs(3600);
        for i in 0..self.in_tracks.len() {
            if let Some(j) = self.in_tracks.get_mut(i).and_then(|t| t.jitter.as_mut()) {
                j.handle_timeout(later);
            }
            self.drain_jitter(i);
        }
        if let Some(p) = self.publisher.take() {
            info!(peer = %self.peer, stream = p.key(), "RTSP publisher left");
            self.flush_depacketizers(&p);
        }
    }

    fn flush_depacketizers(&mut self, p: &Publisher) {
        let mut frames = Vec::new();
        for (i, t) in self.in_tracks.iter_mut().enumerate() {
            t.depack.flush();
            while let Some(f) = t.depack.pull() {
                // Same rules as live frames: nothing damaged, nothing undecodable.
                if !f.incomplete && !t.await_keyframe && !t.info.config.is_empty()
                    || !f.incomplete && t.info.codec.kind() != MediaKind::Video
                {
                    frames.push((i, f));
                }
            }
        }
        for (i, f) in frames {
            if let Some(f) = self.retime(i, f) {
                p.frame(f);
            }
        }
    }

    fn authorized(&self, access: Access, key: &str, query: Option<String>) -> bool {
        (self.ctx.auth)(&AuthRequest {
            protocol: "rtsp",
            access,
            key: key.to_string(),
            query,
            peer: self.peer,
        })
    }

    /// Digest authentication configured for `key`'s app: true when the request may
    /// proceed; otherwise a 401 with fresh challenges was sent.
    fn digest_ok(
        &mut self,
        id: RequestId,
        req: &Request,
        key: &str,
        access: Access,
    ) -> Result<bool, weir_rtsp_proto::Error> {
        let app = key.split('/').next().unwrap_or("");
        let Some(cfg) = self.ctx.config.rtsp_auth.get(app) else {
            return Ok(true);
        };
        let wanted = match access {
            Access::Publish => cfg.publish,
            _ => cfg.play,
        };
        if !wanted {
            return Ok(true);
        }
        let users = cfg.users.clone();
        let auth = self
            .authenticators
            .entry(app.to_string())
            .or_insert_with(|| {
                let mut c = AuthConfig::digest("weir", "", "");
                c.users = users;
                Authenticator::new(c)
            });
        let mut rng = random_u64;
        match auth.verify(
            req.method.as_str(),
            &req.uri,
            req.headers.get("Authorization"),
            Instant::now(),
            &mut rng,
        ) {
            AuthOutcome::Granted { username } => {
                debug!(peer = %self.peer, %username, stream = key, "RTSP client authenticated");
                Ok(true)
            }
            AuthOutcome::Challenge(values) => {
                let mut r = weir_rtsp_proto::Response::new(401);
                for v in values {
                    r.headers.append("WWW-Authenticate", v);
                }
                self.session.respond(id, r)?;
                Ok(false)
            }
        }
    }

    async fn events(&mut self) {
        while let Some(ev) = self.session.poll_event() {
            if let Err(e) = self.event(ev).await {
                debug!(peer = %self.peer, error = %e, "rtsp event handling failed");
            }
        }
    }

    async fn event(&mut self, ev: ServerEvent) -> Result<(), weir_rtsp_proto::Error> {
        match ev {
            ServerEvent::Describe { id, request } => self.describe(id, &request).await,
            ServerEvent::Announce { id, request } => self.announce(id, &request),
            ServerEvent::Setup {
                id,
                request,
                transports,
            } => self.setup(id, &request, &transports).await,
            ServerEvent::Play { id, request, .. } => self.play(id, &request).await,
            ServerEvent::Pause { id, .. } => {
                self.playing = false;
                self.pending = None;
                // Resubscribe on the next PLAY so that it starts at a keyframe again.
                self.sub = None;
                self.session.accept_pause(id)
            }
            ServerEvent::Record { id, .. } => {
                if self.publisher.is_none() || self.in_tracks.iter().all(|t| t.dest.is_none()) {
                    return self.session.reject(id, 455);
                }
                self.recording = true;
                self.session.accept_record(id)
            }
            ServerEvent::Parameter { id, .. } => self
                .session
                .respond(id, weir_rtsp_proto::Response::new(200)),
            ServerEvent::Teardown { .. } | ServerEvent::SessionTimedOut { .. } => {
                debug!(peer = %self.peer, "rtsp session ended");
                self.idle_since = Instant::now();
                self.playing = false;
                self.pending = None;
                self.sub = None;
                self.next_sr = None;
                for t in &mut self.tracks {
                    t.dest = None;
                }
                self.end_publish().await;
                self.in_tracks.clear();
                self.recording = false;
                Ok(())
            }
            ServerEvent::Interleaved(f) => {
                self.interleaved(f.channel, f.payload);
                Ok(())
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Play.

    async fn subscribe(&mut self, key: &str) -> Result<(), HubError> {
        let sub = self.ctx.hub.subscribe_rtp(key).await?;
        let same = self.tracks.len() == sub.rtp_tracks().len()
            && self
                .tracks
                .iter()
                .zip(sub.rtp_tracks())
                .all(|(t, (slot, r))| t.slot == *slot && Arc::ptr_eq(&t.rtp, r));
        if self.key.as_deref() != Some(key) || !same {
            // (After PAUSE the stream's RTP tracks are normally the same ones and the
            // transports set up stay; a new RTP stream needs a new SETUP.)
            self.tracks = sub
                .rtp_tracks()
                .iter()
                .map(|(slot, rtp)| OutTrack {
                    slot: *slot,
                    rtp: rtp.clone(),
                    dest: None,
                    packets: 0,
                    octets: 0,
                    last: None,
                    sent_seq: None,
                    await_key: false,
                })
                .collect();
        }
        self.key = Some(key.to_string());
        self.sub = Some(sub);
        Ok(())
    }

    fn sdp(&self) -> String {
        let origin = match self.local_ip {
            IpAddr::V4(a) => format!("IN IP4 {a}"),
            IpAddr::V6(a) => format!("IN IP6 {a}"),
        };
        // A unicast SDP's connection address is not used by clients (RFC 2326 C.1.7).
        let mut s = format!(
            "v=0\r\no=- {} 1 {origin}\r\ns={}\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=tool:weir\r\na=control:*\r\na=range:npt=now-\r\n",
            random_u64() >> 12,
            self.key.as_deref().unwrap_or("weir"),
        );
        for (i, t) in self.tracks.iter().enumerate() {
            let media = match t.rtp.info.codec.kind() {
                MediaKind::Video => "video",
                _ => "audio",
            };
            s.push_str(&format!(
                "m={media} 0 RTP/AVP {}\r\n",
                t.rtp.sdp.payload_type
            ));
            s.push_str(&t.rtp.sdp.attribute_lines());
            s.push_str(&format!("a=control:trackID={i}\r\n"));
        }
        s
    }

    async fn describe(
        &mut self,
        id: RequestId,
        req: &Request,
    ) -> Result<(), weir_rtsp_proto::Error> {
        let Some((key, query)) = key_of(&req.uri) else {
            return self.session.reject(id, 404);
        };
        if !self.authorized(Access::Play, &key, query) {
            return self.session.reject(id, 403);
        }
        if !self.digest_ok(id, req, &key, Access::Play)? {
            return Ok(());
        }
        match self.subscribe(&key).await {
            Ok(()) if !self.tracks.is_empty() => {
                let sdp = self.sdp();
                debug!(peer = %self.peer, stream = key, "rtsp DESCRIBE");
                let base = format!("{}/", req.uri.trim_end_matches('/'));
                self.session
                    .respond_describe(id, Bytes::from(sdp), Some(&base))
            }
            Ok(()) => {
                info!(peer = %self.peer, stream = key, "RTSP: no track can be carried over RTP");
                self.sub = None;
                self.session.reject(id, 415)
            }
            Err(e) => {
                debug!(peer = %self.peer, stream = key, error = %e, "rtsp DESCRIBE: no stream");
                self.session.reject(id, 404)
            }
        }
    }

    async fn setup(
        &mut self,
        id: RequestId,
        req: &Request,
        transports: &[TransportSpec],
    ) -> Result<(), weir_rtsp_proto::Error> {
        let Some((key, control)) = split_control(&req.uri) else {
            return self.session.reject(id, 404);
        };
        if self.publisher.is_some() {
            return self.setup_record(id, &req.uri, transports).await;
        }
        if self.key.as_deref() != Some(key.as_str()) || self.sub.is_none() {
            if !self.authorized(Access::Play, &key, key_of(&req.uri).and_then(|k| k.1)) {
                return self.session.reject(id, 403);
            }
            if !self.digest_ok(id, req, &key, Access::Play)? {
                return Ok(());
            }
            if self.subscribe(&key).await.is_err() {
                return self.session.reject(id, 404);
            }
        }
        let idx = control
            .strip_prefix("trackID=")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| i < self.tracks.len());
        let Some(idx) = idx else {
            return self.session.reject(id, 404);
        };
        let Some((spec, dest)) = self.choose_transport(idx, transports, false).await else {
            return self.session.reject(id, 461);
        };
        let mut spec = spec;
        spec.ssrc = Some(self.tracks[idx].rtp.ssrc);
        if let Some(t) = self.tracks.get_mut(idx) {
            t.dest = Some(dest);
        }
        self.session.accept_setup(id, &spec)
    }

    /// Picks the first usable transport and prepares its destination.
    async fn choose_transport(
        &mut self,
        track: usize,
        transports: &[TransportSpec],
        record: bool,
    ) -> Option<(TransportSpec, Dest)> {
        for t in transports {
            if t.is_tcp() {
                let pair = t.interleaved.unwrap_or_else(|| {
                    let n = u8::try_from(track * 2).unwrap_or(0);
                    Pair::new(n, n.saturating_add(1))
                });
                let mut spec = t.clone();
                spec.interleaved = Some(pair);
                return Some((
                    spec,
                    Dest::Tcp {
                        rtp: pair.rtp,
                        rtcp: pair.rtcp,
                    },
                ));
            }
            if let Some(cp) = t.client_port {
                let rtcp_port = cp.rtcp.unwrap_or(cp.rtp.saturating_add(1));
                let (rtp_sock, rtcp_sock) = match bind_pair(
                    self.local_ip,
                    self.ctx.config.rtsp_udp_port_min,
                    self.ctx.config.rtsp_udp_port_max,
                )
                .await
                {
                    Some(p) => p,
                    None => {
                        warn!("RTSP: no free UDP port pair in the configured range");
                        return None;
                    }
                };
                let server_port = Pair::new(
                    rtp_sock.local_addr().ok()?.port(),
                    rtcp_sock.local_addr().ok()?.port(),
                );
                if record {
                    // A publisher's keyframe is a burst of datagrams: a deep receive
                    // buffer rides out scheduling hiccups instead of losing packets.
                    if let Err(e) = socket2::SockRef::from(&rtp_sock).set_recv_buffer_size(4 << 20)
                    {
                        debug!(error = %e, "RTSP SO_RCVBUF");
                    }
                }
                let rtp_sock = Arc::new(rtp_sock);
                let rtcp_sock = Arc::new(rtcp_sock);
                let readers = [
                    spawn_reader(rtp_sock.clone(), track, false, self.udp_tx.clone(), record),
                    spawn_reader(rtcp_sock.clone(), track, true, self.udp_tx.clone(), true),
                ];
                let mut spec = t.clone();
                spec.server_port = Some(server_port);
                spec.client_port = Some(Pair::new(cp.rtp, rtcp_port));
                return Some((
                    spec,
                    Dest::Udp {
                        rtp_sock,
                        rtcp_sock,
                        rtp_to: SocketAddr::new(self.peer.ip(), cp.rtp),
                        rtcp_to: SocketAddr::new(self.peer.ip(), rtcp_port),
                        readers,
                    },
                ));
            }
        }
        None
    }

    async fn play(&mut self, id: RequestId, req: &Request) -> Result<(), weir_rtsp_proto::Error> {
        if self.publisher.is_some() {
            return self.session.reject(id, 455);
        }
        if self.tracks.iter().all(|t| t.dest.is_none()) {
            return self.session.reject(id, 455);
        }
        if self.sub.is_none() {
            // After PAUSE: start again at a keyframe.
            let Some(key) = self.key.clone() else {
                return self.session.reject(id, 455);
            };
            if self.subscribe(&key).await.is_err() {
                return self.session.reject(id, 404);
            }
            for t in &mut self.tracks {
                t.await_key = t.slot == 0 && t.sent_seq.is_some();
            }
        }
        // Anchor RTP-Info on the first unit with packets the player will get (units without
        // RTP packets — metadata, codec configurations — carry nothing for RTSP).
        if self.pending.is_none() {
            let wait = tokio::time::Instant::now() + self.ctx.config.track_wait;
            while let Some(sub) = self.sub.as_mut() {
                let unit = match sub.try_next() {
                    TryNext::Unit(u) => Some(u),
                    TryNext::Empty => tokio::time::timeout_at(wait, sub.next())
                        .await
                        .ok()
                        .flatten(),
                    TryNext::Ended => None,
                };
                // (Codec configurations carry no packets: the first packet's timestamp
                // is that of the frame after it.)
                let fresh = |u: &Unit| {
                    u.rtp().is_some_and(|r| {
                        !r.packets.is_empty()
                            && r.slot.is_some_and(|slot| {
                                self.tracks
                                    .iter()
                                    .find(|t| t.slot == slot)
                                    .is_none_or(|t| t.fresh(r, u.is_keyframe()))
                            })
                    })
                };
                match unit {
                    Some(u) if !fresh(&u) => continue,
                    u => {
                        self.pending = u;
                        break;
                    }
                }
            }
        }
        let anchor = self.pending.as_ref().and_then(|u| u.rtp());
        let base_ms = self
            .pending
            .as_ref()
            .and_then(|u| u.frame())
            .map_or(0, |f| f.pts.rescale(Timebase::MILLIS).ticks());
        let base = format!("{}/", req.uri.trim_end_matches('/'));
        let info: Vec<RtpInfo> = self
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.dest.is_some())
            .map(|(i, t)| {
                // The first packet this player gets on the track: the anchor's own first
                // packet, or the track's next packet after the anchor (all shared).
                let (seq, rtptime) = match anchor {
                    Some(a) if a.slot == Some(t.slot) => (a.first_seq, a.timestamp),
                    Some(a) => (
                        a.next_seq
                            .get(t.slot)
                            .copied()
                            .flatten()
                            .unwrap_or(t.rtp.initial_seq),
                        t.rtp.rtp_time_of_ms(base_ms),
                    ),
                    None => (t.rtp.initial_seq, t.rtp.rtp_time_of_ms(base_ms)),
                };
                RtpInfo {
                    url: format!("{base}trackID={i}"),
                    seq: Some(seq),
                    rtptime: Some(rtptime),
                }
            })
            .collect();
        let range = RangeSpec::parse("npt=now-").ok();
        self.playing = true;
        self.next_sr = Some(tokio::time::Instant::now() + Duration::from_millis(200));
        info!(peer = %self.peer, stream = self.key.as_deref().unwrap_or(""), "RTSP player started");
        self.session.accept_play(id, range.as_ref(), &info)
    }

    /// Sends `first` and whatever else is ready. False when the stream ended.
    async fn send_units(&mut self, first: Option<Arc<Unit>>) -> bool {
        let mut next = first;
        let mut n = 0;
        loop {
            let Some(unit) = next else {
                self.flush_udp().await;
                return false;
            };
            self.send_unit(&unit);
            n += 1;
            if n >= BATCH_UNITS {
                break;
            }
            next = match self.sub.as_mut().map(Subscription::try_next) {
                Some(TryNext::Unit(u)) => Some(u),
                Some(TryNext::Ended) => None,
                _ => break,
            };
        }
        self.flush_udp().await;
        true
    }

    /// Queues the unit's shared RTP packets for this player.
    fn send_unit(&mut self, unit: &Unit) {
        let Some(rtp) = unit.rtp() else { return };
        let Some(slot) = rtp.slot else { return };
        if rtp.packets.is_empty() {
            return;
        }
        let Some(t) = self.tracks.iter_mut().find(|t| t.slot == slot) else {
            return;
        };
        let Some(dest) = &t.dest else { return };
        if !t.fresh(rtp, unit.is_keyframe()) {
            return;
        }
        t.await_key = false;
        t.last = Some((rtp.timestamp, Instant::now()));
        let n = u16::try_from(rtp.packets.len()).unwrap_or(u16::MAX);
        t.sent_seq = Some(rtp.first_seq.wrapping_add(n).wrapping_sub(1));
        for p in &rtp.packets {
            t.packets = t.packets.wrapping_add(1);
            t.octets = t
                .octets
                .wrapping_add(u32::try_from(p.len().saturating_sub(12)).unwrap_or(0));
            match dest {
                Dest::Tcp { rtp, .. } => {
                    let _ = self.session.send_interleaved(*rtp, p.clone());
                }
                Dest::Udp {
                    rtp_sock, rtp_to, ..
                } => self.udp_out.push(rtp_sock, *rtp_to, p.clone()),
            }
        }
    }

    async fn flush_udp(&mut self) {
        self.udp_out.flush().await;
    }

    async fn send_reports(&mut self) {
        self.next_sr = Some(tokio::time::Instant::now() + SR_INTERVAL);
        if !self.playing {
            // Paused: nothing sent, nothing to report (RFC 3550 6.4).
            return;
        }
        let now = Instant::now();
        let mut udp = Vec::new();
        for t in &self.tracks {
            let Some(sr) = t.sender_report(now) else {
                continue;
            };
            match &t.dest {
                Some(Dest::Tcp { rtcp: Some(ch), .. }) => {
                    let _ = self.session.send_interleaved(*ch, sr);
                }
                Some(Dest::Udp {
                    rtcp_sock, rtcp_to, ..
                }) => udp.push((rtcp_sock.clone(), *rtcp_to, sr)),
                _ => {}
            }
        }
        for (sock, to, sr) in udp {
            let _ = sock.send_to(&sr, to).await;
        }
    }

    // -----------------------------------------------------------------------------------
    // Publish.

    fn announce(&mut self, id: RequestId, req: &Request) -> Result<(), weir_rtsp_proto::Error> {
        let Some((key, query)) = key_of(&req.uri) else {
            return self.session.reject(id, 404);
        };
        if !self.authorized(Access::Publish, &key, query) {
            return self.session.reject(id, 403);
        }
        if !self.digest_ok(id, req, &key, Access::Publish)? {
            return Ok(());
        }
        let tracks = match parse_announce(&req.uri, &req.body) {
            Ok(t) if !t.is_empty() => t,
            Ok(_) => {
                info!(peer = %self.peer, stream = key, "RTSP ANNOUNCE without usable media");
                return self.session.reject(id, 415);
            }
            Err(e) => {
                info!(peer = %self.peer, stream = key, error = e, "RTSP ANNOUNCE refused");
                return self.session.reject(id, 415);
            }
        };
        match self.ctx.hub.publish(&key, "rtsp") {
            Ok(p) => {
                info!(peer = %self.peer, stream = key, tracks = tracks.len(), "RTSP publisher");
                for t in &tracks {
                    if t.info.config.is_empty() && t.info.codec.kind() == MediaKind::Video {
                        info!(stream = key, codec = %t.info.codec, "RTSP ANNOUNCE without parameter sets: waiting for them in band");
                        continue;
                    }
                    p.track(t.info.clone());
                }
                self.publisher = Some(p);
                self.in_tracks = tracks;
                self.key = Some(key);
                self.session.accept_announce(id)
            }
            Err(HubError::Busy(_)) => {
                info!(peer = %self.peer, stream = key, "RTSP publish refused: name busy");
                self.session.reject(id, 453)
            }
            Err(e) => {
                debug!(error = %e, "RTSP publish refused");
                self.session.reject(id, 503)
            }
        }
    }

    async fn setup_record(
        &mut self,
        id: RequestId,
        uri: &str,
        transports: &[TransportSpec],
    ) -> Result<(), weir_rtsp_proto::Error> {
        let norm = |s: &str| s.trim().trim_end_matches('/').to_string();
        let idx = self
            .in_tracks
            .iter()
            .position(|t| norm(&t.control) == norm(uri))
            .or_else(|| {
                self.in_tracks.iter().position(|t| {
                    t.control
                        .rsplit('/')
                        .next()
                        .is_some_and(|c| uri.trim_end_matches('/').ends_with(c))
                })
            });
        let Some(idx) = idx else {
            return self.session.reject(id, 404);
        };
        let Some((spec, dest)) = self.choose_transport(idx, transports, true).await else {
            return self.session.reject(id, 461);
        };
        if let Some(t) = self.in_tracks.get_mut(idx) {
            if matches!(dest, Dest::Udp { .. }) {
                t.jitter = JitterBuffer::new(JitterConfig::reorder(
                    t.info.clock_rate,
                    self.ctx.config.rtsp_jitter_latency,
                ))
                .ok();
            }
            t.dest = Some(dest);
        }
        self.session.accept_setup(id, &spec)
    }

    fn interleaved(&mut self, channel: u8, payload: Bytes) {
        let found = self
            .in_tracks
            .iter()
            .position(|t| matches!(t.dest, Some(Dest::Tcp { rtp, .. }) if rtp == channel));
        if let Some(i) = found {
            self.rtp_in(i, payload);
            return;
        }
        let rtcp = self
            .in_tracks
            .iter()
            .position(|t| matches!(t.dest, Some(Dest::Tcp { rtcp: Some(c), .. }) if c == channel));
        if let Some(i) = rtcp {
            self.rtcp_in(i, payload);
        }
        // RTCP from players over TCP: liveness is already counted by the session.
    }

    fn datagram(&mut self, d: Datagram) {
        if self.publisher.is_some() {
            // Media over UDP is the publisher's liveness (ffmpeg sends no keep-alives
            // while recording).
            self.session.touch(Instant::now());
            if d.rtcp {
                self.rtcp_in(d.track, d.data);
            } else {
                self.rtp_in(d.track, d.data);
            }
        } else if d.rtcp {
            // A player's receiver report: the player is alive.
            self.session.touch(Instant::now());
            if let Ok(c) = Compound::parse(d.data, &RtcpLimits::default()) {
                for p in &c.packets {
                    if let RtcpPacket::ReceiverReport(rr) = p {
                        for b in &rr.reports {
                            if b.fraction_lost > 0 {
                                debug!(peer = %self.peer, ssrc = b.ssrc, fraction_lost = b.fraction_lost, "RTSP player reports loss");
                            }
                        }
                    }
                }
            }
        }
    }

    fn rtcp_in(&mut self, idx: usize, data: Bytes) {
        if self.publisher.is_some() {
            self.session.touch(Instant::now());
        }
        let Ok(c) = Compound::parse(data, &RtcpLimits::default()) else {
            return;
        };
        for p in c.packets {
            if let RtcpPacket::SenderReport(sr) = p {
                if let Some(t) = self.in_tracks.get_mut(idx) {
                    t.sr = Some((sr.ntp_time, sr.rtp_time));
                }
            }
        }
    }

    fn rtp_in(&mut self, idx: usize, data: Bytes) {
        if !self.recording && self.publisher.is_none() {
            return;
        }
        let Ok(pkt) = RtpPacket::parse(data) else {
            debug!(peer = %self.peer, "RTSP: malformed RTP dropped");
            return;
        };
        let Some(t) = self.in_tracks.get_mut(idx) else {
            return;
        };
        match t.jitter.as_mut() {
            Some(j) => {
                let _ = j.push(pkt.sequence_number(), pkt.timestamp(), Instant::now(), pkt);
                self.drain_jitter(idx);
            }
            None => {
                if let Err(e) = t.depack.push(&pkt) {
                    debug!(error = %e, "RTSP: RTP payload dropped");
                }
                self.pull_frames(idx);
            }
        }
    }

    fn drain_all_jitter(&mut self) {
        for i in 0..self.in_tracks.len() {
            self.drain_jitter(i);
        }
    }

    fn drain_jitter(&mut self, idx: usize) {
        loop {
            let Some(t) = self.in_tracks.get_mut(idx) else {
                return;
            };
            let Some(out) = t.jitter.as_mut().and_then(JitterBuffer::pop) else {
                break;
            };
            match out {
                Output::Packet(p) => {
                    if let Err(e) = t.depack.push(&p.payload) {
                        debug!(error = %e, "RTSP: RTP payload dropped");
                    }
                }
                Output::Lost { count, .. } => {
                    debug!(peer = %self.peer, count, "RTSP: RTP packets lost");
                    // A whole frame may be gone without any frame being flagged
                    // incomplete: finish what came before, then wait for a keyframe.
                    let video = t.info.codec.kind() == MediaKind::Video;
                    self.pull_frames(idx);
                    if let Some(t) = self.in_tracks.get_mut(idx) {
                        t.await_keyframe |= video;
                    }
                }
                Output::Late(_) => {}
            }
        }
        self.pull_frames(idx);
    }

    fn pull_frames(&mut self, idx: usize) {
        let Some(p) = self.publisher.take() else {
            return;
        };
        loop {
            let Some(f) = self.in_tracks.get_mut(idx).and_then(|t| t.depack.pull()) else {
                break;
            };
            let Some(t) = self.in_tracks.get_mut(idx) else {
                break;
            };
            let video = t.info.codec.kind() == MediaKind::Video;
            if f.incomplete {
                debug!(stream = p.key(), "RTSP: incomplete frame dropped");
                t.await_keyframe |= video;
                continue;
            }
            if t.await_keyframe {
                if !f.keyframe {
                    continue;
                }
                debug!(stream = p.key(), "RTSP: recovered at a keyframe");
                t.await_keyframe = false;
            }
            if video && !self.video_configured(idx, &p, &f) {
                continue;
            }
            let mut f = f;
            if let Some(t) = self.in_tracks.get_mut(idx).filter(|_| video) {
                assign_dts(t, &mut f, p.key());
            }
            if let Some(f) = self.retime(idx, f) {
                p.frame(f);
            }
        }
        self.publisher = Some(p);
    }

    /// H.264/H.265 announced without `sprop-*` parameter sets (cameras do this): the
    /// track is announced once a keyframe brought them in band; frames before that are
    /// dropped (nobody could decode them).
    fn video_configured(&mut self, idx: usize, p: &Publisher, f: &Frame) -> bool {
        let Some(t) = self.in_tracks.get_mut(idx) else {
            return false;
        };
        if !t.info.config.is_empty() {
            return true;
        }
        if !f.keyframe {
            return false;
        }
        let h265 = match t.info.codec {
            Codec::H264 => false,
            Codec::H265 => true,
            _ => return true,
        };
        let (mut vps, mut sps, mut pps) = (Vec::new(), Vec::new(), Vec::new());
        let Ok(nalus) = weir_media::nal::length_prefixed_nalus(&f.data, 4) else {
            return false;
        };
        for nal in nalus.flatten() {
            let Some(&h) = nal.first() else { continue };
            match (h265, if h265 { (h >> 1) & 0x3f } else { h & 0x1f }) {
                (false, 7) | (true, 33) => sps.push(nal),
                (false, 8) | (true, 34) => pps.push(nal),
                (true, 32) => vps.push(nal),
                _ => {}
            }
        }
        let config = if h265 {
            weir_h265::HevcConfig::from_parameter_sets(&vps, &sps, &pps)
                .ok()
                .map(|c| c.to_bytes())
        } else {
            weir_h264::AvcConfig::from_parameter_sets(&sps, &pps)
                .ok()
                .map(|c| c.to_bytes())
        };
        match config {
            Some(c) if !pps.is_empty() => {
                info!(stream = p.key(), codec = %t.info.codec, "RTSP: parameter sets found in band");
                t.info = t.info.clone().with_config(c);
                p.track(t.info.clone());
                true
            }
            _ => false,
        }
    }

    /// Moves a depacketized frame onto the stream's common clock: the publisher's RTCP
    /// sender reports map RTP time to NTP (RFC 3550 6.4.1), so tracks line up; without
    /// one, a track starts at its first packet's arrival time.
    fn retime(&mut self, idx: usize, mut f: Frame) -> Option<Frame> {
        let now = Instant::now();
        let t = self.in_tracks.get(idx)?;
        let clock = i64::from(t.info.clock_rate.max(1));
        let offset = match t.offset {
            Some(o) => o,
            None => {
                let ticks = f.pts.ticks();
                // Wallclock (NTP) of this frame, when a sender report is known.
                let ntp = t.sr.map(|(ntp, rtp)| {
                    let delta = i64::from((ticks as u32).wrapping_sub(rtp) as i32);
                    let nanos = delta.saturating_mul(1_000_000_000) / clock;
                    if nanos >= 0 {
                        ntp.add_duration(Duration::from_nanos(nanos as u64))
                    } else {
                        NtpTime::from_unix(
                            ntp.to_unix()
                                .saturating_sub(Duration::from_nanos(nanos.unsigned_abs())),
                        )
                    }
                });
                let origin = *self.origin.get_or_insert((ntp, now));
                let since_nanos = match (origin.0, ntp) {
                    (Some(o), Some(n)) => n.nanos_since(o),
                    _ => now.saturating_duration_since(origin.1).as_nanos() as i128,
                };
                // Stream time starts at STREAM_TIME_LEAD: decode times derived for
                // B-frames precede their presentation times and must not go negative.
                let since_nanos = since_nanos.max(0) + STREAM_TIME_LEAD.as_nanos() as i128;
                let since =
                    i64::try_from(since_nanos * i128::from(clock) / 1_000_000_000).unwrap_or(0);
                let o = since - ticks;
                if let Some(t) = self.in_tracks.get_mut(idx) {
                    t.offset = Some(o);
                }
                o
            }
        };
        let tb = f.pts.timebase();
        f.pts = Timestamp::new(f.pts.ticks().saturating_add(offset), tb);
        f.dts = Timestamp::new(f.dts.ticks().saturating_add(offset).max(0), tb);
        if f.pts.ticks() < f.dts.ticks() {
            f.pts = f.dts;
        }
        Some(f)
    }
}

/// Gives a video frame from RTP its decode timestamp: frames come in decode order with
/// only a presentation time, so the DTS is derived from the PTS order and the codec's
/// reorder depth (from the SPS; see [`weir_media::reorder`]). A new configuration restarts
/// the generator.
fn assign_dts(t: &mut InTrack, f: &mut Frame, key: &str) {
    let stale = t.dts.as_ref().is_none_or(|(c, _)| *c != t.info.config);
    if stale {
        let (depth, fps) = crate::hub::video_timing(&t.info);
        let frame =
            Duration::from_secs_f64(1.0 / fps.filter(|f| *f > 1.0 && *f < 1000.0).unwrap_or(25.0));
        debug!(
            stream = key,
            depth, "RTSP: decode timestamps from the picture order"
        );
        t.dts = Some((t.info.config.clone(), DtsGenerator::new(depth, frame)));
    }
    if let Some((_, g)) = t.dts.as_mut() {
        match g.assign(f) {
            DtsEvent::None => {}
            ev => debug!(stream = key, ?ev, "RTSP: decode timestamp adjusted"),
        }
    }
}

fn spawn_reader(
    sock: Arc<UdpSocket>,
    track: usize,
    rtcp: bool,
    tx: mpsc::Sender<Datagram>,
    forward: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(64 * UDP_BUF);
        loop {
            if buf.capacity() < UDP_BUF {
                buf.reserve(64 * UDP_BUF);
            }
            buf.resize(UDP_BUF, 0);
            let n = match sock.recv(&mut buf).await {
                Ok(n) => n,
                Err(_) => continue,
            };
            let data = buf.split_to(n).freeze();
            buf.clear();
            if !forward {
                continue;
            }
            if tx.send(Datagram { track, rtcp, data }).await.is_err() {
                return;
            }
        }
    })
}

/// Builds the tracks of an announced presentation.
fn parse_announce(uri: &str, sdp: &[u8]) -> Result<Vec<InTrack>, String> {
    let d = weir_sdp::SessionDescription::parse(sdp).map_err(|e| e.to_string())?;
    let mut tracks = Vec::new();
    for (i, m) in d.media.iter().enumerate() {
        let Some(pt) = m.payload_types().next() else {
            continue;
        };
        let Some(Ok(rtpmap)) = m.rtpmap(pt) else {
            debug!(media = i, "RTSP ANNOUNCE: media without rtpmap skipped");
            continue;
        };
        let fmtp = m.fmtp(pt).and_then(Result::ok).map(|f| {
            f.params
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    None => k.clone(),
                })
                .collect::<Vec<_>>()
                .join(";")
        });
        let fmtp = fmtp.unwrap_or_default();
        let id = TrackId(u32::try_from(i).unwrap_or(0));
        let cfg = DepacketizerConfig::new(rtpmap.clock_rate).with_track(id);
        let enc = rtpmap.encoding.to_ascii_uppercase();
        let built: Result<(Box<dyn Depacketizer + Send>, TrackInfo), weir_rtp_rtcp::Error> =
            (|| {
                Ok(match enc.as_str() {
                    "H264" => {
                        let d = h264::H264Depacketizer::from_fmtp(cfg, &fmtp)?;
                        let c = d.decoder_config().ok().flatten().unwrap_or_default();
                        (
                            Box::new(d) as Box<dyn Depacketizer + Send>,
                            TrackInfo::new(id, Codec::H264, rtpmap.clock_rate).with_config(c),
                        )
                    }
                    "H265" => {
                        let d = h265::H265Depacketizer::from_fmtp(cfg, &fmtp)?;
                        let c = d.decoder_config().ok().flatten().unwrap_or_default();
                        (
                            Box::new(d) as Box<dyn Depacketizer + Send>,
                            TrackInfo::new(id, Codec::H265, rtpmap.clock_rate).with_config(c),
                        )
                    }
                    "MPEG4-GENERIC" => {
                        let d = aac::AacDepacketizer::from_fmtp(cfg, &fmtp)?;
                        let c = d.config().clone();
                        (
                            Box::new(d) as Box<dyn Depacketizer + Send>,
                            TrackInfo::new(id, Codec::Aac, rtpmap.clock_rate).with_config(c),
                        )
                    }
                    "MP4A-LATM" => {
                        let d = latm::LatmDepacketizer::from_fmtp(cfg, &fmtp)?;
                        let c = d.config().clone();
                        (
                            Box::new(d) as Box<dyn Depacketizer + Send>,
                            TrackInfo::new(id, Codec::Aac, rtpmap.clock_rate).with_config(c),
                        )
                    }
                    _ => {
                        let (d, codec) = weir_rtp_rtcp::payload::depacketizer_for(
                            &format!("{}/{}", rtpmap.encoding, rtpmap.clock_rate),
                            Some(&fmtp),
                            cfg,
                        )?;
                        let codec = codec.ok_or(weir_rtp_rtcp::Error::InvalidField {
                            field: "rtpmap encoding",
                            value: 0,
                            reason: "container payloads are not published over RTSP",
                        })?;
                        (d, TrackInfo::new(id, codec, rtpmap.clock_rate))
                    }
                })
            })();
        match built {
            Ok((depack, mut info)) => {
                if info.codec.kind() == MediaKind::Audio {
                    info = info.with_audio(weir_media::AudioParams {
                        sample_rate: rtpmap.clock_rate,
                        channels: u8::try_from(rtpmap.channels.unwrap_or(1)).unwrap_or(1),
                    });
                }
                // Video starts at a keyframe: a camera whose RTP begins mid-GOP sends
                // inter frames nobody can decode first.
                let await_keyframe = info.codec.kind() == MediaKind::Video;
                tracks.push(InTrack {
                    info,
                    control: m.control_url(&d, uri),
                    depack,
                    jitter: None,
                    dest: None,
                    sr: None,
                    offset: None,
                    await_keyframe,
                    dts: None,
                });
            }
            Err(e) => debug!(media = i, error = %e, "RTSP ANNOUNCE: media skipped"),
        }
    }
    Ok(tracks)
}

/// Binds an RTP/RTCP port pair (even, odd) from `lo..=hi`.
async fn bind_pair(ip: IpAddr, lo: u16, hi: u16) -> Option<(UdpSocket, UdpSocket)> {
    static CURSOR: AtomicU16 = AtomicU16::new(0);
    let lo = lo.saturating_add(lo % 2);
    if hi <= lo {
        return None;
    }
    let pairs = (hi - lo).div_ceil(2);
    if pairs == 0 {
        return None;
    }
    let start = CURSOR.fetch_add(1, Ordering::Relaxed) % pairs;
    for i in 0..pairs {
        let n = (start + i) % pairs;
        let port = lo.saturating_add(n * 2);
        if port.checked_add(1).is_none_or(|p| p > hi) {
            continue;
        }
        let Ok(a) = UdpSocket::bind(SocketAddr::new(ip, port)).await else {
            continue;
        };
        let Ok(b) = UdpSocket::bind(SocketAddr::new(ip, port + 1)).await else {
            continue;
        };
        return Some((a, b));
    }
    None
}
