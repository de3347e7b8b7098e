//! The relay server: composes the listeners, the hub, the ingests and the egresses.
//! Nothing in the crate imports this module.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tracing::info;

use crate::auth::{AuthHook, AuthRequest};
use crate::config::RelayConfig;
#[cfg(feature = "http")]
use crate::conn::HttpRoutes;
use crate::core::Hub;
use crate::ctx::{Ctx, ListenAddrs};
#[cfg(feature = "http")]
use crate::egress::hls::Hls;
#[cfg(feature = "gb28181")]
use crate::ingest::gb28181::{self, GbCtx};
use crate::ingest::Gb28181Stats;
use crate::net::Tasks;

/// Listeners an application hands the relay instead of letting it bind its own (any may
/// be `None`: that protocol is then not served, though its routes can still be mounted —
/// see [`BoundRelay::http_routes`]).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Listeners {
    /// RTMP.
    pub rtmp: Option<TcpListener>,
    /// HTTP (HTTP-FLV, WebSocket-FLV, HLS, API).
    pub http: Option<TcpListener>,
    /// RTSP.
    pub rtsp: Option<TcpListener>,
    /// GB28181 over TCP (RFC 4571).
    pub gb28181_tcp: Option<TcpListener>,
    /// GB28181 over UDP.
    pub gb28181_udp: Option<UdpSocket>,
    /// WebRTC media over UDP (ICE-lite).
    pub webrtc_udp: Option<UdpSocket>,
    /// WebRTC media over TCP (ICE-TCP, passive), usually on the UDP port number.
    pub webrtc_tcp: Option<TcpListener>,
}

/// The relay server: RTMP, RTSP, GB28181 in; RTMP, RTSP, HTTP-FLV, WebSocket-FLV and HLS
/// out; composed from the Weir sans-IO crates around a [`Hub`].
///
/// ```no_run
/// use weir_tokio::{Relay, RelayConfig};
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let relay = Relay::new(RelayConfig::default())
///         .with_auth(|req| req.query.as_deref() != Some("token=blocked"))
///         .bind()
///         .await?;
///     relay.run(async { let _ = tokio::signal::ctrl_c().await; }).await
/// }
/// ```
pub struct Relay {
    config: RelayConfig,
    auth: AuthHook,
}

impl Relay {
    /// A relay allowing everything.
    pub fn new(config: RelayConfig) -> Relay {
        Relay {
            config,
            auth: AuthHook::allow_all(),
        }
    }

    /// Sets a synchronous authorization hook, consulted for every connect, publish and
    /// play of every protocol.
    pub fn with_auth(
        mut self,
        auth: impl Fn(&AuthRequest) -> bool + Send + Sync + 'static,
    ) -> Relay {
        self.auth = AuthHook::from_fn(auth);
        self
    }

    /// Sets an asynchronous authorization hook (e.g. asking a web service).
    pub fn with_auth_hook(mut self, auth: AuthHook) -> Relay {
        self.auth = auth;
        self
    }

    /// Binds the listeners the configuration enables.
    ///
    /// # Errors
    /// Any bind error (address in use, permission).
    pub async fn bind(self) -> std::io::Result<BoundRelay> {
        let c = &self.config;
        // A protocol left out at build time is not listened for (said once in the log).
        let on = |a: Option<SocketAddr>, built: bool, name: &str| match (a, built) {
            (Some(_), false) => {
                tracing::warn!("{name} is configured but this build leaves it out (Cargo feature)");
                None
            }
            (a, _) => a,
        };
        let tcp = |a: Option<SocketAddr>| async move {
            match a {
                Some(a) => TcpListener::bind(a).await.map(Some),
                None => Ok(None),
            }
        };
        let mut l = Listeners {
            rtmp: tcp(on(c.rtmp.listen, cfg!(feature = "rtmp"), "RTMP")).await?,
            http: tcp(on(c.http.listen, cfg!(feature = "http"), "HTTP")).await?,
            rtsp: tcp(on(c.rtsp.listen, cfg!(feature = "rtsp"), "RTSP")).await?,
            ..Listeners::default()
        };
        if let Some(addr) = on(c.gb28181.listen, cfg!(feature = "gb28181"), "GB28181") {
            let tcp = TcpListener::bind(addr).await?;
            // The same port number for UDP (an ephemeral TCP port is usually free in UDP
            // too; if not, take another).
            let port = tcp.local_addr()?.port();
            let udp = match UdpSocket::bind(SocketAddr::new(addr.ip(), port)).await {
                Ok(u) => u,
                Err(_) if addr.port() == 0 => UdpSocket::bind(addr).await?,
                Err(e) => return Err(e),
            };
            match crate::net::set_recv_buffer(&udp, c.gb28181.recv_buffer_bytes) {
                Ok(got) if got < c.gb28181.recv_buffer_bytes => tracing::warn!(
                    asked = c.gb28181.recv_buffer_bytes,
                    got,
                    "GB28181/UDP receive buffer capped by net.core.rmem_max: raise it (sysctl) or run with CAP_NET_ADMIN, or bursts from many devices are dropped"
                ),
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "GB28181 SO_RCVBUF"),
            }
            l.gb28181_tcp = Some(tcp);
            l.gb28181_udp = Some(udp);
        }
        if let Some(addr) = on(c.webrtc.listen, cfg!(feature = "webrtc"), "WebRTC") {
            #[cfg(feature = "webrtc")]
            {
                // A port that is taken turns WebRTC off (said loudly) rather than the
                // relay: it is on by default, and 8000 is a common port.
                match crate::webrtc::WebRtc::bind(addr, c.webrtc.tcp).await {
                    Ok((udp, tcp)) => {
                        l.webrtc_udp = Some(udp);
                        l.webrtc_tcp = tcp;
                    }
                    Err(e) => {
                        tracing::warn!(%addr, error = %e, "WebRTC media port unavailable: WebRTC is off (set [webrtc] listen)")
                    }
                }
            }
            #[cfg(not(feature = "webrtc"))]
            let _ = addr;
        }
        Ok(self.bind_with(l))
    }

    /// Uses the application's listeners instead of binding.
    pub fn bind_with(self, mut listeners: Listeners) -> BoundRelay {
        #[cfg(feature = "webrtc")]
        let webrtc = listeners.webrtc_udp.take().and_then(|udp| {
            let tcp = listeners.webrtc_tcp.take();
            match crate::webrtc::WebRtc::new(self.config.webrtc.clone(), udp, tcp) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "WebRTC media port unusable: WebRTC off");
                    None
                }
            }
        });
        let hub = Hub::new(self.config.hub_config());
        #[cfg(feature = "http")]
        let hls = {
            let mut hls_config = self.config.hls.clone();
            hls_config.window = hls_config.window.max(1);
            Arc::new(Hls::new(hub.clone(), hls_config, self.config.play_wait))
        };
        let local = |l: &Option<TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
        let addrs = ListenAddrs {
            rtmp: local(&listeners.rtmp),
            http: local(&listeners.http),
            rtsp: local(&listeners.rtsp),
            gb28181: listeners
                .gb28181_udp
                .as_ref()
                .and_then(|s| s.local_addr().ok())
                .or_else(|| local(&listeners.gb28181_tcp)),
        };
        #[cfg(feature = "http")]
        let hooks = crate::control::hooks::Hooks::new(self.config.hooks.clone());
        #[cfg(feature = "http")]
        let auth = if self.config.hooks.on_publish.is_some() || self.config.hooks.on_play.is_some()
        {
            AuthHook::new(crate::control::hooks::WithHooks {
                inner: self.auth,
                hooks: hooks.clone(),
            })
        } else {
            self.auth
        };
        #[cfg(not(feature = "http"))]
        let auth = self.auth;
        let tasks = Arc::new(Tasks::default());
        #[cfg(feature = "record")]
        let recorders = crate::egress::record::Recorders::new(
            self.config.record.clone(),
            hub.clone(),
            tasks.clone(),
            self.config.play_wait,
        );
        #[cfg(feature = "record")]
        let vod = Arc::new(crate::egress::vod::Vod::new(
            &self.config.vod,
            &self.config.record,
            recorders.in_use.clone(),
            hub.clone(),
        ));
        #[cfg(feature = "http")]
        let hls_clients = Arc::new(crate::egress::hls_clients::HlsClients::new(
            hub.clone(),
            (self.config.hls.target_duration * 3).max(std::time::Duration::from_secs(10)),
        ));
        #[cfg(feature = "http")]
        let (llhls, ll_clients) = (
            Arc::new(crate::egress::llhls::LlHls::new(
                hub.clone(),
                self.config.hls.clone(),
                self.config.play_wait,
            )),
            Arc::new(
                crate::egress::hls_clients::HlsClients::new(
                    hub.clone(),
                    (self.config.hls.ll_segment * 3).max(std::time::Duration::from_secs(10)),
                )
                .with_protocol("ll-hls"),
            ),
        );
        let pulls = crate::proxy::Pulls::new(
            hub.clone(),
            self.config.pull_retry.clone(),
            self.config.hooks.none_reader,
        );
        let pushes = crate::proxy::Pushes::new(hub.clone(), self.config.pull_retry.clone());
        #[cfg(feature = "http")]
        hooks.set_pulls(pulls.clone());
        #[cfg(feature = "record")]
        {
            let recorders = recorders.clone();
            pulls.set_recorder(move |key| {
                recorders.start(key);
            });
        }
        BoundRelay {
            ctx: Arc::new(Ctx {
                started: tokio::time::Instant::now(),
                pulls,
                pushes,
                #[cfg(feature = "webrtc")]
                webrtc,
                #[cfg(feature = "http")]
                hls_clients,
                #[cfg(feature = "http")]
                llhls,
                #[cfg(feature = "http")]
                ll_clients,
                #[cfg(feature = "http")]
                hooks,
                listeners: addrs,
                #[cfg(feature = "http")]
                hls,
                config: self.config,
                hub,
                auth,
                tasks,
                gb28181: Arc::new(Gb28181Stats::default()),
                #[cfg(feature = "record")]
                recorders,
                #[cfg(feature = "record")]
                vod,
            }),
            l: listeners,
        }
    }
}

/// A relay with its listeners bound, ready to [`run`](BoundRelay::run).
pub struct BoundRelay {
    pub(crate) ctx: Arc<Ctx>,
    l: Listeners,
}

fn addr(l: &Option<TcpListener>) -> Option<SocketAddr> {
    l.as_ref().and_then(|l| l.local_addr().ok())
}

impl BoundRelay {
    /// The bound RTMP address, if RTMP is on.
    pub fn rtmp_addr(&self) -> Option<SocketAddr> {
        addr(&self.l.rtmp)
    }

    /// The bound HTTP address, if the HTTP listener is on.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        addr(&self.l.http)
    }

    /// The bound RTSP address, if RTSP is on.
    pub fn rtsp_addr(&self) -> Option<SocketAddr> {
        addr(&self.l.rtsp)
    }

    /// The bound GB28181 UDP address, if enabled.
    pub fn gb28181_udp_addr(&self) -> Option<SocketAddr> {
        self.l
            .gb28181_udp
            .as_ref()
            .and_then(|s| s.local_addr().ok())
    }

    /// The bound GB28181 TCP (RFC 4571) address, if enabled.
    pub fn gb28181_tcp_addr(&self) -> Option<SocketAddr> {
        addr(&self.l.gb28181_tcp)
    }

    /// The bound WebRTC media address (UDP; ICE-TCP listens on the same port number), if
    /// WebRTC is on.
    pub fn webrtc_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "webrtc")]
        return self.ctx.webrtc.as_ref().map(|w| w.local);
        #[cfg(not(feature = "webrtc"))]
        None
    }

    /// The stream hub (for events and stream listings).
    pub fn hub(&self) -> &Hub {
        &self.ctx.hub
    }

    /// The relay's pulls (add and remove them at run time, as the API does).
    pub fn pulls(&self) -> Arc<crate::proxy::Pulls> {
        self.ctx.pulls.clone()
    }

    /// The relay's push rules.
    pub fn pushes(&self) -> Arc<crate::proxy::Pushes> {
        self.ctx.pushes.clone()
    }

    /// GB28181 ingest counters.
    pub fn gb28181_stats(&self) -> Arc<Gb28181Stats> {
        self.ctx.gb28181.clone()
    }

    /// The HTTP routes, to mount in an application's own server.
    #[cfg(feature = "http")]
    pub fn http_routes(&self) -> HttpRoutes {
        HttpRoutes {
            ctx: self.ctx.clone(),
        }
    }

    /// Serves until `shutdown` completes, then stops accepting, ends every stream and waits
    /// (at most [`RelayConfig::shutdown_timeout`]) for connections to close.
    ///
    /// # Errors
    /// None today; the signature leaves room for fatal listener errors.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        self.log_urls();
        let ctx = self.ctx;
        let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
        #[cfg(feature = "rtmp")]
        if let Some(l) = self.l.rtmp {
            tasks.push(tokio::spawn(crate::conn::rtmp::serve(
                l,
                ctx.clone(),
                stop_rx.clone(),
            )));
        }
        #[cfg(feature = "http")]
        if let Some(l) = self.l.http {
            tasks.push(tokio::spawn(crate::conn::http::serve(
                l,
                ctx.clone(),
                stop_rx.clone(),
            )));
        }
        #[cfg(feature = "rtsp")]
        if let Some(l) = self.l.rtsp {
            tasks.push(tokio::spawn(crate::conn::rtsp::serve(
                l,
                ctx.clone(),
                stop_rx.clone(),
            )));
        }
        #[cfg(feature = "gb28181")]
        {
            let gb = GbCtx {
                hub: ctx.hub.clone(),
                auth: ctx.auth.clone(),
                config: ctx.config.gb28181.clone(),
                stats: ctx.gb28181.clone(),
                tasks: ctx.tasks.clone(),
            };
            if let Some(s) = self.l.gb28181_udp {
                tasks.push(tokio::spawn(gb28181::serve_udp(
                    s,
                    gb.clone(),
                    stop_rx.clone(),
                )));
            }
            if let Some(l) = self.l.gb28181_tcp {
                tasks.push(tokio::spawn(gb28181::serve_tcp(l, gb, stop_rx.clone())));
            }
        }
        #[cfg(feature = "webrtc")]
        if let Some(w) = ctx.webrtc.clone() {
            tasks.push(tokio::spawn(w.run(ctx.tasks.clone(), stop_rx.clone())));
        }
        #[cfg(feature = "http")]
        let hook_tasks = ctx.hooks.start(ctx.hub.clone());
        #[cfg(feature = "http")]
        let hls_sweeper = tokio::spawn(ctx.hls_clients.clone().run_sweeper());
        #[cfg(feature = "http")]
        let ll_sweeper = tokio::spawn(ctx.ll_clients.clone().run_sweeper());
        #[cfg(feature = "record")]
        let record_tasks = [
            tokio::spawn(ctx.recorders.clone().run()),
            tokio::spawn(ctx.recorders.clone().run_retention()),
            #[cfg(feature = "http")]
            tokio::spawn(crate::control::recordings::notify_done(
                ctx.recorders.clone(),
                ctx.hooks.clone(),
            )),
        ];
        let pull_watch = tokio::spawn(ctx.pulls.clone().watch());
        for p in &ctx.config.pulls {
            if let Err(e) = ctx.pulls.add(p.clone()) {
                tracing::warn!(stream = p.key(), error = %e, "configured pull refused");
            }
        }
        for p in &ctx.config.pushes {
            if let Err(e) = ctx.pushes.add(p.clone()) {
                tracing::warn!(stream = p.pattern(), error = %e, "configured push refused");
            }
        }
        shutdown.await;
        info!("shutting down: no new connections, ending streams");
        ctx.pulls.shutdown();
        ctx.pushes.shutdown();
        pull_watch.abort();
        let _ = stop_tx.send(true);
        ctx.hub.shutdown();
        for t in tasks {
            let _ = t.await;
        }
        #[cfg(feature = "http")]
        for t in hook_tasks {
            t.abort();
        }
        #[cfg(feature = "http")]
        hls_sweeper.abort();
        #[cfg(feature = "http")]
        ll_sweeper.abort();
        #[cfg(feature = "record")]
        for t in record_tasks {
            t.abort();
        }
        if tokio::time::timeout(ctx.config.shutdown_timeout, ctx.tasks.wait_idle())
            .await
            .is_err()
        {
            info!(
                left = ctx.tasks.live(),
                "shutdown: some connections did not close in time"
            );
        }
        Ok(())
    }

    fn log_urls(&self) {
        if let Some(a) = self.rtmp_addr() {
            info!("RTMP publish/play:    rtmp://{a}/{{app}}/{{stream}}");
        }
        if let Some(a) = self.rtsp_addr() {
            info!("RTSP publish/play:    rtsp://{a}/{{app}}/{{stream}} (TCP interleaved or UDP)");
        }
        if let Some(a) = self.http_addr() {
            info!("HTTP-FLV:             http://{a}/{{app}}/{{stream}}.flv");
            info!("WebSocket-FLV:        ws://{a}/{{app}}/{{stream}}.flv");
            info!("HLS:                  http://{a}/{{app}}/{{stream}}/index.m3u8");
            info!("API:                  http://{a}/api/v1/streams");
        }
        if let (Some(u), Some(t)) = (self.gb28181_udp_addr(), self.gb28181_tcp_addr()) {
            info!("GB28181 media:        RTP/PS on udp://{u} and tcp://{t} (RFC 4571) → stream rtp/{{SSRC as 8 hex digits}}");
        }
        if let (Some(a), Some(m)) = (self.http_addr(), self.webrtc_addr()) {
            info!("WebRTC WHEP/WHIP:     POST http://{a}/{{app}}/{{stream}}/whep (play), …/whip (publish); media on udp://{m} (and TCP)");
        }
    }
}
