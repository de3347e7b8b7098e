//! The relay: listeners, configuration, authorization hook and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tracing::info;

use crate::hub::{Hub, HubConfig};

/// Receive buffer requested for the GB28181 UDP socket (the kernel may cap it).
const GB_UDP_RCVBUF: usize = 4 << 20;

/// Relay settings. Every field has a working default; see [`RelayConfig::default`].
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RelayConfig {
    /// RTMP listen address (default `0.0.0.0:1935`).
    pub rtmp_listen: SocketAddr,
    /// HTTP listen address for HTTP-FLV, WebSocket-FLV and the API (default `0.0.0.0:8080`).
    pub http_listen: SocketAddr,
    /// Keep the last GOP for late joiners (default true).
    pub gop_cache: bool,
    /// Largest GOP cached, bytes (default 32 MiB).
    pub gop_cache_max_bytes: usize,
    /// Units a player may fall behind before it skips to the next keyframe (default 1024).
    pub queue_units: usize,
    /// A player whose socket accepts nothing for this long is disconnected (default 10 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "player_stuck_timeout_ms", with = "millis")
    )]
    pub player_stuck_timeout: Duration,
    /// How long a player waits for a stream that is not published yet (default 5 s).
    #[cfg_attr(feature = "serde", serde(rename = "play_wait_ms", with = "millis"))]
    pub play_wait: Duration,
    /// How long a stream outlives its publisher (default 10 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "publisher_grace_ms", with = "millis")
    )]
    pub publisher_grace: Duration,
    /// How long a new player waits for an announced track with no data yet (default 1 s).
    #[cfg_attr(feature = "serde", serde(rename = "track_wait_ms", with = "millis"))]
    pub track_wait: Duration,
    /// Stream time after which an announced track that never delivered is dropped (default 5 s).
    #[cfg_attr(feature = "serde", serde(rename = "track_timeout_ms", with = "millis"))]
    pub track_timeout: Duration,
    /// Set TCP_NODELAY on every connection (default true: Nagle plus delayed ACKs costs
    /// tens of milliseconds per message).
    pub tcp_nodelay: bool,
    /// SO_SNDBUF for every connection, bytes (default: the OS default).
    pub send_buffer_bytes: Option<usize>,
    /// RTMP chunk size sent to every peer (default 4096).
    pub rtmp_chunk_size: u32,
    /// Largest RTMP message accepted from a peer, bytes (default 8 MiB).
    pub max_message_bytes: u32,
    /// GB28181 media port, UDP and TCP (RFC 4571, passive) (default `0.0.0.0:10000`;
    /// `None` disables GB28181 ingest).
    pub gb28181_listen: Option<SocketAddr>,
    /// A GB28181 stream that receives nothing for this long ends, ms (default 10000).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "gb28181_idle_timeout_ms", with = "millis")
    )]
    pub gb28181_idle_timeout: Duration,
    /// Reordering latency of the GB28181/UDP jitter buffer, ms (default 150).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "gb28181_jitter_latency_ms", with = "millis")
    )]
    pub gb28181_jitter_latency: Duration,
    /// RTSP listen address for play and publish (default `0.0.0.0:8554`; `None` disables RTSP).
    pub rtsp_listen: Option<SocketAddr>,
    /// Lowest UDP port of the RTSP server port pairs (default 30000).
    pub rtsp_udp_port_min: u16,
    /// Highest UDP port of the RTSP server port pairs (default 30999).
    pub rtsp_udp_port_max: u16,
    /// RTSP session timeout announced to clients and enforced, ms (default 60000).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "rtsp_session_timeout_ms", with = "millis")
    )]
    pub rtsp_session_timeout: Duration,
    /// Reordering latency of the RTSP/UDP publish jitter buffer, ms (default 150).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "rtsp_jitter_latency_ms", with = "millis")
    )]
    pub rtsp_jitter_latency: Duration,
    /// Digest authentication for RTSP, per app (`live` → credentials). Apps not listed
    /// are open (default: none).
    pub rtsp_auth: std::collections::HashMap<String, RtspAppAuth>,
    /// HLS segments are cut at the first keyframe after this, ms (default 2000).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "hls_target_duration_ms", with = "millis")
    )]
    pub hls_target_duration: Duration,
    /// Segments listed in an HLS playlist (default 6).
    pub hls_window: usize,
    /// Stop producing HLS for a stream nobody requested for this long, ms (default 30000).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "hls_idle_timeout_ms", with = "millis")
    )]
    pub hls_idle_timeout: Duration,
    /// Largest HTTP request head, bytes (default 16 KiB).
    pub max_http_header_bytes: usize,
    /// How long shutdown waits for connections to close (default 3 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "shutdown_timeout_ms", with = "millis")
    )]
    pub shutdown_timeout: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            rtmp_listen: SocketAddr::from(([0, 0, 0, 0], 1935)),
            http_listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            gop_cache: true,
            gop_cache_max_bytes: 32 << 20,
            queue_units: 1024,
            player_stuck_timeout: Duration::from_secs(10),
            play_wait: Duration::from_secs(5),
            publisher_grace: Duration::from_secs(10),
            track_wait: Duration::from_secs(1),
            track_timeout: Duration::from_secs(5),
            tcp_nodelay: true,
            send_buffer_bytes: None,
            rtmp_chunk_size: 4096,
            max_message_bytes: 8 << 20,
            gb28181_listen: Some(SocketAddr::from(([0, 0, 0, 0], 10000))),
            gb28181_idle_timeout: Duration::from_secs(10),
            gb28181_jitter_latency: Duration::from_millis(150),
            rtsp_listen: Some(SocketAddr::from(([0, 0, 0, 0], 8554))),
            rtsp_udp_port_min: 30000,
            rtsp_udp_port_max: 30999,
            rtsp_session_timeout: Duration::from_secs(60),
            rtsp_jitter_latency: Duration::from_millis(150),
            rtsp_auth: std::collections::HashMap::new(),
            hls_target_duration: Duration::from_secs(2),
            hls_window: 6,
            hls_idle_timeout: Duration::from_secs(30),
            max_http_header_bytes: 16 << 10,
            shutdown_timeout: Duration::from_secs(3),
        }
    }
}

/// RTSP Digest credentials of one app.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RtspAppAuth {
    /// Accepted `(user, password)` pairs.
    pub users: Vec<(String, String)>,
    /// Ask publishers (ANNOUNCE) for credentials (default true).
    pub publish: bool,
    /// Ask players (DESCRIBE, SETUP) for credentials (default true).
    pub play: bool,
}

impl Default for RtspAppAuth {
    fn default() -> Self {
        RtspAppAuth {
            users: Vec::new(),
            publish: true,
            play: true,
        }
    }
}

impl RtspAppAuth {
    /// One user, asked for both publish and play.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> RtspAppAuth {
        RtspAppAuth {
            users: vec![(user.into(), password.into())],
            ..RtspAppAuth::default()
        }
    }

    /// Whether players must authenticate.
    pub fn with_play(mut self, play: bool) -> RtspAppAuth {
        self.play = play;
        self
    }

    /// Whether publishers must authenticate.
    pub fn with_publish(mut self, publish: bool) -> RtspAppAuth {
        self.publish = publish;
        self
    }
}

impl RelayConfig {
    /// Listens on `127.0.0.1` with OS-assigned ports (for tests and embedding).
    pub fn loopback_ephemeral() -> RelayConfig {
        RelayConfig {
            rtmp_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            gb28181_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            rtsp_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..RelayConfig::default()
        }
    }

    fn hub_config(&self) -> HubConfig {
        HubConfig {
            gop_cache: self.gop_cache,
            gop_cache_max_bytes: self.gop_cache_max_bytes,
            queue_units: self.queue_units,
            play_wait: self.play_wait,
            publisher_grace: self.publisher_grace,
            track_wait: self.track_wait,
            track_timeout: self.track_timeout,
        }
    }
}

#[cfg(feature = "serde")]
mod millis {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// What a client asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// RTMP `connect` (key = the app).
    Connect,
    /// Publish `key`.
    Publish,
    /// Play `key`.
    Play,
}

/// The input of the authorization hook.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthRequest {
    /// `"rtmp"`, `"http-flv"`, `"ws-flv"`, …
    pub protocol: &'static str,
    /// What is asked.
    pub access: Access,
    /// `app/stream` (or the app for [`Access::Connect`]).
    pub key: String,
    /// The `?key=value` query the client sent with the app or stream name, if any.
    pub query: Option<String>,
    /// The client's address.
    pub peer: SocketAddr,
}

/// The authorization hook: return true to allow.
pub type AuthHook = Arc<dyn Fn(&AuthRequest) -> bool + Send + Sync>;

/// Counts live connection tasks so shutdown can wait for them.
#[derive(Debug, Default)]
pub(crate) struct Tasks {
    live: AtomicUsize,
    idle: Notify,
}

pub(crate) struct TaskGuard(Arc<Tasks>);

impl Tasks {
    pub(crate) fn enter(self: &Arc<Self>) -> TaskGuard {
        self.live.fetch_add(1, Ordering::AcqRel);
        TaskGuard(self.clone())
    }

    async fn wait_idle(&self) {
        loop {
            let n = self.idle.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.live.load(Ordering::Acquire) == 0 {
                return;
            }
            n.await;
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Shared by every connection task.
pub(crate) struct Ctx {
    pub(crate) config: RelayConfig,
    pub(crate) hub: Hub,
    pub(crate) auth: AuthHook,
    pub(crate) tasks: Arc<Tasks>,
    pub(crate) hls: Arc<crate::hls::Hls>,
}

/// A relay with its listeners bound, ready to [`run`](BoundRelay::run).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use weir_tokio::{Relay, RelayConfig};
/// let relay = Relay::new(RelayConfig::default()).bind().await?;
/// println!("rtmp://{}/live/stream", relay.rtmp_addr());
/// relay.run(async { let _ = tokio::signal::ctrl_c().await; }).await
/// # }
/// ```
pub struct BoundRelay {
    pub(crate) ctx: Arc<Ctx>,
    rtmp: TcpListener,
    http: TcpListener,
    gb_tcp: Option<TcpListener>,
    gb_udp: Option<tokio::net::UdpSocket>,
    rtsp: Option<TcpListener>,
}

/// The relay server: RTMP in/out, HTTP-FLV and WebSocket-FLV out, composed from the Weir
/// sans-IO crates around a [`Hub`].
pub struct Relay {
    config: RelayConfig,
    auth: AuthHook,
}

impl Relay {
    /// A relay allowing everything.
    pub fn new(config: RelayConfig) -> Relay {
        Relay {
            config,
            auth: Arc::new(|_| true),
        }
    }

    /// Sets the authorization hook, consulted for every connect, publish and play.
    pub fn with_auth(
        mut self,
        auth: impl Fn(&AuthRequest) -> bool + Send + Sync + 'static,
    ) -> Relay {
        self.auth = Arc::new(auth);
        self
    }

    /// Binds the listeners.
    ///
    /// # Errors
    /// Any bind error (address in use, permission).
    pub async fn bind(self) -> std::io::Result<BoundRelay> {
        let rtmp = TcpListener::bind(self.config.rtmp_listen).await?;
        let http = TcpListener::bind(self.config.http_listen).await?;
        let (gb_tcp, gb_udp) = match self.config.gb28181_listen {
            Some(addr) => {
                let tcp = TcpListener::bind(addr).await?;
                // The same port number for UDP (an ephemeral TCP port is usually free in
                // UDP too; if not, take another).
                let port = tcp.local_addr()?.port();
                let udp = match tokio::net::UdpSocket::bind(SocketAddr::new(addr.ip(), port)).await
                {
                    Ok(u) => u,
                    Err(_) if addr.port() == 0 => tokio::net::UdpSocket::bind(addr).await?,
                    Err(e) => return Err(e),
                };
                // Devices send bursts (a keyframe is dozens of datagrams at once): a deep
                // receive buffer rides out scheduling hiccups instead of losing packets.
                if let Err(e) = socket2::SockRef::from(&udp).set_recv_buffer_size(GB_UDP_RCVBUF) {
                    tracing::debug!(error = %e, "GB28181 SO_RCVBUF");
                }
                (Some(tcp), Some(udp))
            }
            None => (None, None),
        };
        let rtsp = match self.config.rtsp_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let hub = Hub::new(self.config.hub_config());
        let hls_config = crate::hls::HlsConfig {
            target_duration: self.config.hls_target_duration,
            window: self.config.hls_window.max(1),
            idle_timeout: self.config.hls_idle_timeout,
        };
        let hls = Arc::new(crate::hls::Hls::new(
            hub.clone(),
            hls_config,
            self.config.play_wait,
        ));
        Ok(BoundRelay {
            ctx: Arc::new(Ctx {
                hls,
                config: self.config,
                hub,
                auth: self.auth,
                tasks: Arc::new(Tasks::default()),
            }),
            rtmp,
            http,
            gb_tcp,
            gb_udp,
            rtsp,
        })
    }
}

impl BoundRelay {
    /// The bound RTMP address.
    pub fn rtmp_addr(&self) -> SocketAddr {
        self.rtmp
            .local_addr()
            .unwrap_or(self.ctx.config.rtmp_listen)
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .unwrap_or(self.ctx.config.http_listen)
    }

    /// The bound GB28181 UDP address, if enabled.
    pub fn gb28181_udp_addr(&self) -> Option<SocketAddr> {
        self.gb_udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The bound GB28181 TCP (RFC 4571) address, if enabled.
    pub fn gb28181_tcp_addr(&self) -> Option<SocketAddr> {
        self.gb_tcp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The bound RTSP address, if enabled.
    pub fn rtsp_addr(&self) -> Option<SocketAddr> {
        self.rtsp.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The stream hub (for events and stream listings).
    pub fn hub(&self) -> &Hub {
        &self.ctx.hub
    }

    /// Serves until `shutdown` completes, then stops accepting, ends every stream and waits
    /// (at most [`RelayConfig::shutdown_timeout`]) for connections to close.
    ///
    /// # Errors
    /// None today; the signature leaves room for fatal listener errors.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let rtmp_addr = self.rtmp_addr();
        let http_addr = self.http_addr();
        info!("RTMP publish/play:    rtmp://{rtmp_addr}/{{app}}/{{stream}}");
        info!("HTTP-FLV:             http://{http_addr}/{{app}}/{{stream}}.flv");
        info!("WebSocket-FLV:        ws://{http_addr}/{{app}}/{{stream}}.flv");
        info!("HLS:                  http://{http_addr}/{{app}}/{{stream}}/index.m3u8");
        info!("API:                  http://{http_addr}/api/v1/streams");
        if let (Some(u), Some(t)) = (self.gb28181_udp_addr(), self.gb28181_tcp_addr()) {
            info!("GB28181 media:        RTP/PS on udp://{u} and tcp://{t} (RFC 4571) → stream rtp/{{SSRC as 8 hex digits}}");
        }
        if let Some(r) = self.rtsp_addr() {
            info!("RTSP publish/play:    rtsp://{r}/{{app}}/{{stream}} (TCP interleaved or UDP)");
        }
        let rtsp = self
            .rtsp
            .map(|l| tokio::spawn(crate::rtsp::serve(l, self.ctx.clone(), stop_rx.clone())));
        let gb_udp = self.gb_udp.map(|s| {
            tokio::spawn(crate::gb28181::serve_udp(
                s,
                self.ctx.clone(),
                stop_rx.clone(),
            ))
        });
        let gb_tcp = self.gb_tcp.map(|l| {
            tokio::spawn(crate::gb28181::serve_tcp(
                l,
                self.ctx.clone(),
                stop_rx.clone(),
            ))
        });
        let rtmp = tokio::spawn(crate::rtmp::serve(
            self.rtmp,
            self.ctx.clone(),
            stop_rx.clone(),
        ));
        let http = tokio::spawn(crate::http::serve(
            self.http,
            self.ctx.clone(),
            stop_rx.clone(),
        ));
        shutdown.await;
        info!("shutting down: no new connections, ending streams");
        let _ = stop_tx.send(true);
        self.ctx.hub.shutdown();
        let _ = rtmp.await;
        let _ = http.await;
        for t in [gb_udp, gb_tcp, rtsp].into_iter().flatten() {
            let _ = t.await;
        }
        if tokio::time::timeout(self.ctx.config.shutdown_timeout, self.ctx.tasks.wait_idle())
            .await
            .is_err()
        {
            info!("shutdown: some connections did not close in time");
        }
        Ok(())
    }
}
