//! The RTSP connection: runs a sans-IO [`ServerSession`] per TCP connection, checks the
//! authorization hook and per-app Digest credentials, sets up transports (interleaved or
//! UDP port pairs), and hands ANNOUNCE/RECORD to [`RtspRecorder`] (ingest) and
//! DESCRIBE/PLAY to [`RtspPlayer`] (egress).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};
use weir_rtp_rtcp::{Compound, RtcpLimits, RtcpPacket};
use weir_rtsp_proto::auth::{AuthConfig, AuthOutcome, Authenticator};
use weir_rtsp_proto::headers::{Pair, RangeSpec, TransportSpec};
use weir_rtsp_proto::{Request, RequestId, RtspUrl, ServerConfig, ServerEvent, ServerSession};

use crate::auth::{Access, AuthRequest};
use crate::core::{HubError, Link, Peer};
use crate::ctx::Ctx;
use crate::egress::rtsp_play::RtspPlayer;
use crate::ingest::rtsp_record::{parse_announce, RtspRecorder};
use crate::net::rtp_transport::{bind_pair, spawn_reader, Datagram, RtpTransport};
use crate::net::{accept_loop, random_u64, tune_socket};

#[cfg(feature = "record")]
#[path = "rtsp_vod.rs"]
mod vod;

/// Read buffer per connection.
const READ_BUF: usize = 4096;

pub(crate) async fn serve(listener: TcpListener, ctx: Arc<Ctx>, shutdown: watch::Receiver<bool>) {
    let tasks = ctx.tasks.clone();
    accept_loop(
        listener,
        "rtsp",
        tasks,
        shutdown,
        move |sock, peer, stop| {
            let ctx = ctx.clone();
            async move {
                if let Err(e) = connection(sock, peer, ctx, stop).await {
                    debug!(%peer, error = %e, "rtsp connection ended");
                }
            }
        },
    )
    .await;
}

#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("player stuck for longer than {0:?}")]
    Stuck(Duration),
}

struct Conn {
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    local_ip: IpAddr,
    session: ServerSession,
    out: Vec<Bytes>,
    udp_tx: mpsc::Sender<Datagram>,
    udp_rx: mpsc::Receiver<Datagram>,
    player: RtspPlayer,
    recorder: Option<RtspRecorder>,
    /// Last request bytes or end of a session: a connection without a session closes one
    /// session timeout after this.
    idle_since: Instant,
    /// Digest verifiers (nonce bookkeeping) per app with RTSP credentials.
    authenticators: HashMap<String, Authenticator>,
    /// The connection's kick signal and byte counters, shared by its sessions.
    link: Arc<Link>,
    /// The session id the authorization hook was last told (used by the session it allows).
    pending_id: Option<u64>,
    /// A file played (`rtsp://HOST/vod/{root}/{path}`).
    vod: VodSlot,
}

#[cfg(feature = "record")]
type VodSlot = Option<Box<crate::egress::vod::rtsp::VodRtspPlayer>>;
#[cfg(not(feature = "record"))]
type VodSlot = ();

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
        session_timeout: ctx.config.rtsp.session_timeout,
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
        player: RtspPlayer::default(),
        recorder: None,
        authenticators: HashMap::new(),
        idle_since: now,
        link: Link::new(),
        pending_id: None,
        vod: VodSlot::default(),
    };
    let mut rbuf = BytesMut::with_capacity(READ_BUF);
    let session_timeout = ctx.config.rtsp.session_timeout;
    let result = loop {
        while let Some(b) = c.session.poll_transmit() {
            c.out.push(b);
        }
        if !c.out.is_empty() {
            match super::flush(&ctx, &c.link, &mut wr, &mut c.out).await {
                Ok(()) => {}
                Err(super::FlushError::Io(e)) => break Err(e.into()),
                Err(super::FlushError::Stuck(d)) => break Err(ConnError::Stuck(d)),
            }
            c.out.shrink_to(256);
        }
        if c.session.is_closed() {
            break Ok(());
        }
        // A connection that never sets up a session must still go away.
        let idle_deadline = c
            .session
            .session_id()
            .is_none()
            .then(|| c.idle_since + session_timeout);
        if idle_deadline.is_some_and(|d| d <= Instant::now()) {
            debug!(peer = %c.peer, "rtsp: idle connection without a session closed");
            break Ok(());
        }
        let deadline = [
            c.session.poll_timeout(),
            c.recorder.as_ref().and_then(RtspRecorder::poll_timeout),
            idle_deadline,
        ]
        .into_iter()
        .flatten()
        .map(tokio::time::Instant::from_std)
        .chain(c.player.next_report())
        .chain(c.vod_report())
        .min();
        let playing = c.player.playing();
        let vod_playing = c.vod_playing();
        tokio::select! {
            read = rd.read_buf(&mut rbuf) => {
                match read {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        c.link.add_in(n);
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
            more = c.player.ready(), if playing => {
                let udp = c.player.send(&mut c.session).await;
                c.link.add_out(udp);
                if !more {
                    info!(peer = %c.peer, "rtsp: stream ended; closing player");
                    break Ok(());
                }
            }
            more = vod_ready(&mut c.vod), if vod_playing => {
                let udp = c.vod_send(more).await;
                c.link.add_out(udp);
            }
            Some(d) = c.udp_rx.recv() => c.datagram(d),
            _ = sleep_until(deadline) => {
                let now = Instant::now();
                c.session.handle_timeout(now);
                if let Some(r) = c.recorder.as_mut() {
                    r.handle_timeout(now);
                }
                if c.player.next_report().is_some_and(|d| d <= tokio::time::Instant::now()) {
                    let udp = c.player.send_reports(&mut c.session).await;
                    c.link.add_out(udp);
                }
                if c.vod_report().is_some_and(|d| d <= tokio::time::Instant::now()) {
                    let udp = c.vod_reports().await;
                    c.link.add_out(udp);
                }
                c.events().await;
            }
            () = c.link.kicked() => {
                info!(peer = %c.peer, "rtsp connection kicked");
                break Ok(());
            }
            _ = shutdown.changed() => break Ok(()),
        }
    };
    c.end_publish().await;
    result
}

/// Waits until the VOD file's next frame is due (false at its end).
async fn vod_ready(slot: &mut VodSlot) -> bool {
    #[cfg(feature = "record")]
    if let Some(v) = slot.as_mut() {
        return v.ready().await;
    }
    let _ = slot;
    std::future::pending().await
}

impl Conn {
    fn vod_playing(&self) -> bool {
        #[cfg(feature = "record")]
        return self.vod.as_ref().is_some_and(|v| v.playing());
        #[cfg(not(feature = "record"))]
        false
    }

    fn vod_report(&self) -> Option<tokio::time::Instant> {
        #[cfg(feature = "record")]
        return self.vod.as_ref().and_then(|v| v.next_report());
        #[cfg(not(feature = "record"))]
        None
    }

    async fn vod_send(&mut self, more: bool) -> usize {
        #[cfg(feature = "record")]
        if let Some(v) = self.vod.as_mut() {
            return v.send(&mut self.session, more).await;
        }
        0
    }

    async fn vod_reports(&mut self) -> usize {
        #[cfg(feature = "record")]
        if let Some(v) = self.vod.as_mut() {
            return v.send_reports(&mut self.session).await;
        }
        0
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// `app/stream` and the query from a request URL (path without query and trailing `/`).
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
    /// Publishes everything still in flight (UDP datagrams sent just before TEARDOWN,
    /// jitter buffers, partial frames), then ends the publish.
    async fn end_publish(&mut self) {
        let udp = match self.recorder.as_ref() {
            Some(r) => r.uses_udp(),
            None => return,
        };
        if udp {
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
        if let Some(mut rec) = self.recorder.take() {
            rec.finish(Instant::now());
        }
    }

    /// The client as the session list shows it (with the session id the authorization
    /// hook was told, when it was asked).
    fn peer_info(&mut self, uri: &str) -> Peer {
        let peer =
            Peer::new(self.peer, self.link.clone()).with_query(key_of(uri).and_then(|k| k.1));
        match self.pending_id.take() {
            Some(id) => peer.with_id(id),
            None => peer,
        }
    }

    /// Asks the authorization hook (borrowing nothing of the connection across the wait).
    fn authorized(
        &mut self,
        access: Access,
        key: &str,
        query: Option<String>,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let id = self.ctx.hub.next_id();
        self.pending_id = Some(id);
        let req = AuthRequest::new("rtsp", access, key, query, self.peer).with_session(id);
        let hook = self.ctx.auth.clone();
        async move { hook.check(req).await }
    }

    /// Digest authentication configured for `key`'s app: true when the request may
    /// proceed; otherwise a 401 with fresh challenges was sent.
    fn digest_ok(&mut self, id: RequestId, req: &Request, key: &str, access: Access) -> bool {
        let app = key.split('/').next().unwrap_or("");
        let Some(cfg) = self.ctx.config.rtsp.auth.get(app) else {
            return true;
        };
        let wanted = match access {
            Access::Publish => cfg.publish,
            _ => cfg.play,
        };
        if !wanted {
            return true;
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
                true
            }
            AuthOutcome::Challenge(values) => {
                let mut r = weir_rtsp_proto::Response::new(401);
                for v in values {
                    r.headers.append("WWW-Authenticate", v);
                }
                let _ = self.session.respond(id, r);
                false
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
            ServerEvent::Announce { id, request } => self.announce(id, &request).await,
            ServerEvent::Setup {
                id,
                request,
                transports,
            } => self.setup(id, &request, &transports).await,
            ServerEvent::Play { id, request, .. } => self.play(id, &request).await,
            ServerEvent::Pause { id, .. } => {
                self.player.pause();
                #[cfg(feature = "record")]
                if let Some(v) = self.vod.as_mut() {
                    v.pause();
                }
                self.session.accept_pause(id)
            }
            ServerEvent::Record { id, .. } => match self.recorder.as_mut() {
                Some(r) if r.has_transport() => {
                    r.recording = true;
                    self.session.accept_record(id)
                }
                _ => self.session.reject(id, 455),
            },
            ServerEvent::Parameter { id, .. } => self
                .session
                .respond(id, weir_rtsp_proto::Response::new(200)),
            ServerEvent::Teardown { .. } | ServerEvent::SessionTimedOut { .. } => {
                debug!(peer = %self.peer, "rtsp session ended");
                self.idle_since = Instant::now();
                self.player.teardown();
                #[cfg(feature = "record")]
                {
                    self.vod = None;
                }
                self.end_publish().await;
                Ok(())
            }
            ServerEvent::Interleaved(f) => {
                if let Some(r) = self.recorder.as_mut() {
                    r.interleaved(f.channel, f.payload, Instant::now());
                }
                // RTCP from players over TCP: liveness is already counted by the session.
                Ok(())
            }
        }
    }

    async fn describe(
        &mut self,
        id: RequestId,
        req: &Request,
    ) -> Result<(), weir_rtsp_proto::Error> {
        let Some((key, query)) = key_of(&req.uri) else {
            return self.session.reject(id, 404);
        };
        #[cfg(feature = "record")]
        if key.starts_with(vod::PREFIX) {
            return self.describe_vod(id, req, &key).await;
        }
        if !self.authorized(Access::Play, &key, query).await {
            return self.session.reject(id, 403);
        }
        if !self.digest_ok(id, req, &key, Access::Play) {
            return Ok(());
        }
        let peer = self.peer_info(&req.uri);
        match self.player.subscribe(&self.ctx.hub, &key, peer).await {
            Ok(()) if self.player.track_count() > 0 => {
                let sdp = self.player.sdp(self.local_ip);
                debug!(peer = %self.peer, stream = key, "rtsp DESCRIBE");
                let base = format!("{}/", req.uri.trim_end_matches('/'));
                self.session
                    .respond_describe(id, Bytes::from(sdp), Some(&base))
            }
            Ok(()) => {
                info!(peer = %self.peer, stream = key, "RTSP: no track can be carried over RTP");
                self.player.pause();
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
        if self.recorder.is_some() {
            return self.setup_record(id, &req.uri, transports).await;
        }
        #[cfg(feature = "record")]
        if vod::is_vod(&req.uri) {
            return self.setup_vod(id, req, transports).await;
        }
        let Some((key, control)) = split_control(&req.uri) else {
            return self.session.reject(id, 404);
        };
        if !self.player.subscribed_to(&key) {
            if !self
                .authorized(Access::Play, &key, key_of(&req.uri).and_then(|k| k.1))
                .await
            {
                return self.session.reject(id, 403);
            }
            if !self.digest_ok(id, req, &key, Access::Play) {
                return Ok(());
            }
            let peer = self.peer_info(&req.uri);
            if self
                .player
                .subscribe(&self.ctx.hub, &key, peer)
                .await
                .is_err()
            {
                return self.session.reject(id, 404);
            }
        }
        let idx = control
            .strip_prefix("trackID=")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| i < self.player.track_count());
        let Some(idx) = idx else {
            return self.session.reject(id, 404);
        };
        let Some((mut spec, transport)) = self.choose_transport(idx, transports, false).await
        else {
            return self.session.reject(id, 461);
        };
        spec.ssrc = self.player.set_transport(idx, transport);
        self.session.accept_setup(id, &spec)
    }

    /// Picks the first usable transport and prepares it.
    async fn choose_transport(
        &mut self,
        track: usize,
        transports: &[TransportSpec],
        record: bool,
    ) -> Option<(TransportSpec, RtpTransport)> {
        let rtsp = &self.ctx.config.rtsp;
        for t in transports {
            if t.is_tcp() {
                let pair = t.interleaved.unwrap_or_else(|| {
                    let n = u8::try_from(track * 2).unwrap_or(0);
                    Pair::new(n, n.saturating_add(1))
                });
                let mut spec = t.clone();
                spec.interleaved = Some(pair);
                let transport = RtpTransport::Tcp {
                    rtp: pair.rtp,
                    rtcp: pair.rtcp,
                };
                return Some((spec, transport));
            }
            if let Some(cp) = t.client_port {
                let rtcp_port = cp.rtcp.unwrap_or(cp.rtp.saturating_add(1));
                let Some((rtp_sock, rtcp_sock)) =
                    bind_pair(self.local_ip, rtsp.udp_port_min, rtsp.udp_port_max).await
                else {
                    warn!("RTSP: no free UDP port pair in the configured range");
                    return None;
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
                let transport = RtpTransport::Udp {
                    rtp_sock,
                    rtcp_sock,
                    rtp_to: SocketAddr::new(self.peer.ip(), cp.rtp),
                    rtcp_to: SocketAddr::new(self.peer.ip(), rtcp_port),
                    readers,
                };
                return Some((spec, transport));
            }
        }
        None
    }

    async fn play(&mut self, id: RequestId, req: &Request) -> Result<(), weir_rtsp_proto::Error> {
        #[cfg(feature = "record")]
        if self.vod.is_some() && vod::is_vod(&req.uri) {
            return self.play_vod(id, req).await;
        }
        if self.recorder.is_some() || !self.player.has_transport() {
            return self.session.reject(id, 455);
        }
        let base = format!("{}/", req.uri.trim_end_matches('/'));
        let wait = self.ctx.config.track_wait;
        let peer = self.peer_info(&req.uri);
        match self.player.play(&self.ctx.hub, &base, wait, peer).await {
            Ok(info) => {
                let range = RangeSpec::parse("npt=now-").ok();
                self.session.accept_play(id, range.as_ref(), &info)
            }
            Err(_) => self.session.reject(id, 404),
        }
    }

    async fn announce(
        &mut self,
        id: RequestId,
        req: &Request,
    ) -> Result<(), weir_rtsp_proto::Error> {
        let Some((key, query)) = key_of(&req.uri) else {
            return self.session.reject(id, 404);
        };
        if !self.authorized(Access::Publish, &key, query).await {
            return self.session.reject(id, 403);
        }
        if !self.digest_ok(id, req, &key, Access::Publish) {
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
        let peer = self.peer_info(&req.uri);
        match self.ctx.hub.publish_with(&key, "rtsp", peer) {
            Ok(p) => {
                info!(peer = %self.peer, stream = key, tracks = tracks.len(), "RTSP publisher");
                self.recorder = Some(RtspRecorder::new(
                    p,
                    tracks,
                    self.ctx.config.rtsp.jitter_latency,
                ));
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
        let Some(idx) = self.recorder.as_ref().and_then(|r| r.track_for_setup(uri)) else {
            return self.session.reject(id, 404);
        };
        let Some((spec, transport)) = self.choose_transport(idx, transports, true).await else {
            return self.session.reject(id, 461);
        };
        if let Some(r) = self.recorder.as_mut() {
            r.set_transport(idx, transport);
        }
        self.session.accept_setup(id, &spec)
    }

    fn datagram(&mut self, d: Datagram) {
        if let Some(r) = self.recorder.as_mut() {
            // Media over UDP is the publisher's liveness (ffmpeg sends no keep-alives
            // while recording).
            let now = Instant::now();
            self.session.touch(now);
            r.datagram(d.track, d.rtcp, d.data, now);
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
}
