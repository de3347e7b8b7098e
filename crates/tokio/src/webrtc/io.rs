//! The media port: one UDP socket and one ICE-TCP listener shared by every session, the
//! routing of what arrives to the session tasks (through [`Demux`]), and the registry of
//! live sessions and of WHIP publishers that players' keyframe requests may reach.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use str0m::net::{Protocol, TcpType};
use str0m::Candidate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch, Notify};
use tracing::{debug, info, warn};

use super::mux::{Demux, TcpFraming, MAX_TCP_PACKET};
use super::pace::KeyframeLimiter;
use super::registry::{Kind, Refused, Registry, Resource};
use super::WebRtcConfig;
use crate::net::{accept_loop, Tasks};

/// Packets waiting for one session at most (more are dropped: a stuck session cannot
/// make the port's memory grow).
const SESSION_QUEUE: usize = 512;
/// Remote addresses one session may use (ICE candidates pairs of one client).
const ADDRS_PER_SESSION: usize = 8;
/// A TCP connection that has not named its session by then is closed.
const TCP_FIRST_PACKET: Duration = Duration::from_secs(10);

/// What the port hands a session task.
#[derive(Debug)]
pub(crate) enum Msg {
    /// A packet from the client.
    Packet {
        /// UDP or TCP.
        proto: Protocol,
        /// Its source.
        source: SocketAddr,
        /// The packet (unframed).
        data: Bytes,
    },
    /// An ICE-TCP connection from `0` for this session: framed packets to it go to `1`.
    Tcp(SocketAddr, mpsc::Sender<Bytes>),
    /// Trickled remote candidates (`a=candidate:` values).
    Candidates(Vec<String>),
    /// `DELETE` of the resource.
    Close,
}

/// Counters of the media port.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Packets routed to no session (junk, unknown sources, full tables).
    pub(crate) unrouted: AtomicU64,
    /// Packets dropped because a session's queue was full.
    pub(crate) queue_full: AtomicU64,
    /// Packets that could not be sent (socket buffer full).
    pub(crate) send_dropped: AtomicU64,
}

struct State {
    demux: Demux<u64>,
    registry: Registry<mpsc::Sender<Msg>>,
    senders: HashMap<u64, mpsc::Sender<Msg>>,
}

/// A WHIP publisher players' keyframe requests can reach.
struct Upstream {
    session: u64,
    notify: Arc<Notify>,
    limiter: KeyframeLimiter,
}

/// The WebRTC media port and its sessions.
pub(crate) struct WebRtc {
    pub(crate) config: WebRtcConfig,
    pub(crate) udp: Arc<UdpSocket>,
    /// The bound UDP address.
    pub(crate) local: SocketAddr,
    tcp: Mutex<Option<TcpListener>>,
    tcp_port: Option<u16>,
    state: Mutex<State>,
    upstream: Mutex<HashMap<String, Upstream>>,
    pub(crate) counters: Counters,
    stop: watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes a session from the port when its task ends.
pub(crate) struct Registration {
    webrtc: Arc<WebRtc>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut st = lock(&self.webrtc.state);
        st.demux.remove(self.id);
        st.registry.remove_session(self.id);
        st.senders.remove(&self.id);
        drop(st);
        lock(&self.webrtc.upstream).retain(|_, u| u.session != self.id);
    }
}

impl WebRtc {
    /// Binds UDP on `addr` and, with `tcp`, TCP on the same port number (an ephemeral
    /// port is taken from TCP first, then UDP on the same number).
    pub(crate) async fn bind(
        addr: SocketAddr,
        tcp: bool,
    ) -> std::io::Result<(UdpSocket, Option<TcpListener>)> {
        if !tcp {
            return Ok((UdpSocket::bind(addr).await?, None));
        }
        // An ephemeral TCP port is usually free in UDP too; try a few.
        for _ in 0..8 {
            let l = TcpListener::bind(addr).await?;
            let port = l.local_addr()?.port();
            match UdpSocket::bind(SocketAddr::new(addr.ip(), port)).await {
                Ok(u) => return Ok((u, Some(l))),
                Err(_) if addr.port() == 0 => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "no port free for both UDP and TCP",
        ))
    }

    /// The port's state around bound sockets.
    pub(crate) fn new(
        config: WebRtcConfig,
        udp: UdpSocket,
        tcp: Option<TcpListener>,
    ) -> std::io::Result<Arc<WebRtc>> {
        let local = udp.local_addr()?;
        let tcp_port = match &tcp {
            Some(l) => Some(l.local_addr()?.port()),
            None => None,
        };
        let max = config.max_sessions.max(1);
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(WebRtc {
            state: Mutex::new(State {
                demux: Demux::new(ADDRS_PER_SESSION, max * ADDRS_PER_SESSION),
                registry: Registry::new(max),
                senders: HashMap::new(),
            }),
            config,
            udp: Arc::new(udp),
            local,
            tcp: Mutex::new(tcp),
            tcp_port,
            upstream: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            stop,
        }))
    }

    /// The TCP address, if ICE-TCP is on.
    pub(crate) fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_port.map(|p| SocketAddr::new(self.local.ip(), p))
    }

    /// Whether one more session fits.
    pub(crate) fn has_room(&self) -> bool {
        lock(&self.state).registry.has_room()
    }

    /// Changes to true when the relay shuts down.
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// The local candidates of a new session: the bound address (or, when it is a
    /// wildcard, `hint` — the address the client reached the HTTP server at) and the
    /// configured extra ones, each over UDP and (passive) TCP.
    pub(crate) fn candidates(&self, hint: Option<IpAddr>) -> Vec<Candidate> {
        let port = self.local.port();
        let mut addrs: Vec<SocketAddr> = Vec::new();
        if !self.local.ip().is_unspecified() {
            addrs.push(self.local);
        } else if let Some(ip) = hint.filter(|ip| !ip.is_unspecified()) {
            addrs.push(SocketAddr::new(ip, port));
        }
        for c in &self.config.candidates {
            let c = c.trim();
            match (c.parse::<SocketAddr>(), c.parse::<IpAddr>()) {
                (Ok(a), _) => addrs.push(a),
                (_, Ok(ip)) => addrs.push(SocketAddr::new(ip, port)),
                _ => warn!(candidate = c, "webrtc.candidates: not an address, ignored"),
            }
        }
        addrs.dedup();
        let mut out = Vec::new();
        for a in addrs {
            match Candidate::host(a, "udp") {
                Ok(c) => out.push(c),
                Err(e) => debug!(addr = %a, error = %e, "UDP candidate refused"),
            }
            if let Some(tp) = self.tcp_port {
                let t = SocketAddr::new(a.ip(), if a.port() == port { tp } else { a.port() });
                match Candidate::builder()
                    .tcp()
                    .host(t)
                    .tcptype(TcpType::Passive)
                    .build()
                {
                    Ok(c) => out.push(c),
                    Err(e) => debug!(addr = %t, error = %e, "TCP candidate refused"),
                }
            }
        }
        out
    }

    /// Registers a session: its local ICE ufrag (for the demultiplexer), its resource.
    pub(crate) fn register(
        self: &Arc<Self>,
        ufrag: &str,
        token: &str,
        resource: Resource<mpsc::Sender<Msg>>,
    ) -> Result<Registration, Refused> {
        let id = resource.session;
        let tx = resource.handle.clone();
        let mut st = lock(&self.state);
        if !st.registry.has_room() {
            return Err(Refused::Full);
        }
        if !st.demux.add(ufrag, id) {
            return Err(Refused::Taken);
        }
        if let Err(e) = st.registry.insert(token, resource) {
            st.demux.remove(id);
            return Err(e);
        }
        st.senders.insert(id, tx);
        Ok(Registration {
            webrtc: self.clone(),
            id,
        })
    }

    /// The session task behind a resource URL (`None`: no such resource).
    pub(crate) fn resource(
        &self,
        kind: Kind,
        key: &str,
        token: &str,
    ) -> Option<(u64, String, mpsc::Sender<Msg>)> {
        let st = lock(&self.state);
        let r = st.registry.get(kind, key, token)?;
        Some((r.session, r.etag.clone(), r.handle.clone()))
    }

    /// A WHIP publisher of `key` that players' keyframe requests reach (through `notify`).
    pub(crate) fn add_upstream(&self, key: &str, session: u64, notify: Arc<Notify>) {
        lock(&self.upstream).insert(
            key.to_string(),
            Upstream {
                session,
                notify,
                limiter: KeyframeLimiter::new(self.config.keyframe_request_interval),
            },
        );
    }

    /// A player of `key` asks for a keyframe: passed to its WHIP publisher at most once per
    /// `keyframe_request_interval`. True when it was passed.
    pub(crate) fn request_keyframe(&self, key: &str, now: Instant) -> bool {
        let mut up = lock(&self.upstream);
        let Some(u) = up.get_mut(key) else {
            return false;
        };
        if !u.limiter.allow(now) {
            return false;
        }
        u.notify.notify_one();
        true
    }

    /// Routes a packet to its session.
    fn dispatch(&self, proto: Protocol, source: SocketAddr, data: Bytes) {
        let tx = {
            let mut st = lock(&self.state);
            match st.demux.route(source, &data) {
                Ok(id) => st.senders.get(&id).cloned(),
                Err(why) => {
                    debug!(%source, ?why, len = data.len(), "webrtc: packet for no session");
                    None
                }
            }
        };
        let Some(tx) = tx else {
            self.counters.unrouted.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if tx
            .try_send(Msg::Packet {
                proto,
                source,
                data,
            })
            .is_err()
        {
            self.counters.queue_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Serves the port until the relay shuts down.
    pub(crate) async fn run(
        self: Arc<Self>,
        tasks: Arc<Tasks>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        info!(udp = %self.local, tcp = ?self.tcp_addr(), "WebRTC media port");
        let tcp = lock(&self.tcp).take();
        let tcp_task = tcp.map(|l| {
            let me = self.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(accept_loop(
                l,
                "webrtc-tcp",
                tasks,
                shutdown,
                move |s, p, stop| me.clone().tcp_connection(s, p, stop),
            ))
        });
        let mut buf = BytesMut::new();
        loop {
            if buf.capacity() < 2048 {
                buf.reserve(64 << 10);
            }
            let r = tokio::select! {
                r = self.udp.recv_buf_from(&mut buf) => r,
                _ = shutdown.changed() => break,
            };
            match r {
                Ok((_, source)) => {
                    let data = buf.split().freeze();
                    self.dispatch(Protocol::Udp, source, data);
                }
                Err(e) => {
                    buf.clear();
                    debug!(error = %e, "webrtc: UDP receive error");
                }
            }
        }
        let _ = self.stop.send(true);
        if let Some(t) = tcp_task {
            let _ = t.await;
        }
    }

    /// One ICE-TCP connection: its first packet must be a STUN request naming a session;
    /// then every packet goes to that session, and the session's TCP packets come back.
    async fn tcp_connection(
        self: Arc<Self>,
        sock: TcpStream,
        peer: SocketAddr,
        mut stop: watch::Receiver<bool>,
    ) {
        let _ = sock.set_nodelay(true);
        let (mut rd, mut wr) = sock.into_split();
        let (tx, mut rx) = mpsc::channel::<Bytes>(SESSION_QUEUE);
        let writer = tokio::spawn(async move {
            while let Some(b) = rx.recv().await {
                if wr.write_all(&b).await.is_err() {
                    break;
                }
            }
        });
        let mut buf = BytesMut::with_capacity(4096);
        let mut framing = TcpFraming;
        let mut session: Option<mpsc::Sender<Msg>> = None;
        let first_by = tokio::time::Instant::now() + TCP_FIRST_PACKET;
        'conn: loop {
            let read = tokio::select! {
                r = rd.read_buf(&mut buf) => r,
                _ = tokio::time::sleep_until(first_by), if session.is_none() => break,
                _ = stop.changed() => break,
            };
            match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            loop {
                let pkt = match framing.decode(&mut buf) {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    Err(e) => {
                        debug!(%peer, error = e, "webrtc TCP: framing error");
                        break 'conn;
                    }
                };
                if session.is_none() {
                    let found = {
                        let st = lock(&self.state);
                        st.demux
                            .by_stun(&pkt)
                            .ok()
                            .and_then(|id| st.senders.get(&id).cloned())
                    };
                    let Some(s) = found else {
                        self.counters.unrouted.fetch_add(1, Ordering::Relaxed);
                        debug!(%peer, "webrtc TCP: first packet names no session");
                        break 'conn;
                    };
                    if s.send(Msg::Tcp(peer, tx.clone())).await.is_err() {
                        break 'conn;
                    }
                    session = Some(s);
                }
                if let Some(s) = &session {
                    let msg = Msg::Packet {
                        proto: Protocol::Tcp,
                        source: peer,
                        data: pkt,
                    };
                    if s.try_send(msg).is_err() {
                        self.counters.queue_full.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if buf.capacity() > 4 * MAX_TCP_PACKET {
                // Keep per-connection memory bounded after a large packet.
                buf = BytesMut::from(&buf[..]);
            }
        }
        drop(tx);
        writer.abort();
    }
}

/// Frames `packet` for an ICE-TCP connection.
pub(crate) fn tcp_frame(packet: &[u8]) -> Option<Bytes> {
    let mut out = BytesMut::with_capacity(packet.len() + 2);
    TcpFraming::encode(packet, &mut out).ok()?;
    Some(out.freeze())
}
