//! Pulling: the relay plays a stream from another server — an IP camera's RTSP, another
//! server's RTMP or HTTP-FLV — and publishes it as an ordinary stream, so every egress
//! plays it.
//!
//! Each pull runs one task: connect, publish into the hub, forward frames; when the source
//! drops or fails, retry with exponential backoff and jitter (reset after a stretch of good
//! media). Players stay attached through the hub's publisher grace period and continue
//! with monotonic timestamps. An `on_demand` pull connects when its first player arrives
//! and disconnects after the stream has had no player for a while. Its state (retries,
//! last error) is reported to the API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::settings::{PullBackoff, PullConfig};
use crate::core::{Hub, HubEvent, Link, Peer, Publisher};

/// What a pull is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PullState {
    /// Connecting to the source.
    Connecting,
    /// Receiving media.
    Playing,
    /// Waiting before the next attempt.
    Backoff,
    /// On demand, with no player: not connected.
    Idle,
    /// Removed.
    Stopped,
}

impl PullState {
    /// `connecting`, `playing`, `backoff`, `idle`, `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            PullState::Connecting => "connecting",
            PullState::Playing => "playing",
            PullState::Backoff => "backoff",
            PullState::Idle => "idle",
            PullState::Stopped => "stopped",
        }
    }
}

/// A pull's status, for the API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PullStatus {
    /// Id (stable for the pull's lifetime).
    pub id: u64,
    /// What was asked.
    pub config: PullConfig,
    /// What it is doing.
    pub state: PullState,
    /// Failed attempts since the last good stretch of media.
    pub retries: u64,
    /// Attempts in all.
    pub attempts: u64,
    /// Why the last attempt ended.
    pub last_error: Option<String>,
    /// Frames received from the source in all.
    pub frames: u64,
}

struct Entry {
    status: Arc<Mutex<PullStatus>>,
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// The relay's pulls.
pub struct Pulls {
    hub: Hub,
    backoff: PullBackoff,
    none_reader: Duration,
    entries: Mutex<BTreeMap<u64, Entry>>,
    /// Wakes on-demand pulls when a player asks for their stream.
    demand: broadcast::Sender<String>,
    /// Arms recording for the key of a pull configured with `record = true` (set by the
    /// relay when it records; without it the flag is ignored).
    recorder: std::sync::OnceLock<RecordFn>,
}

/// Arms recording of a stream key.
type RecordFn = Box<dyn Fn(&str) + Send + Sync>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a pull configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// The URL's scheme is not one this build pulls from.
    #[error("unsupported source `{0}` (rtsp://, rtmp://, http(s)://….flv)")]
    UnsupportedUrl(String),
    /// `app` or `stream` is empty or has `/`, `.` or `..` parts that do not name a stream.
    #[error("bad stream name `{0}`")]
    BadName(String),
    /// Another pull already feeds that stream.
    #[error("stream `{0}` is already pulled")]
    Duplicate(String),
    /// `transport` is not `tcp`, `udp` or `auto`.
    #[error("transport `{0}`: tcp, udp or auto")]
    BadTransport(String),
    /// The `tls_ca` file cannot be read or holds no PEM certificate.
    #[error("tls_ca: {0}")]
    TlsCa(String),
}

/// A source, by URL scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Rtsp,
    Rtmp,
    HttpFlv,
}

fn source_of(url: &str) -> Option<Source> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("rtsp://") {
        cfg!(feature = "rtsp").then_some(Source::Rtsp)
    } else if lower.starts_with("rtmp://") {
        cfg!(feature = "rtmp").then_some(Source::Rtmp)
    } else if (lower.starts_with("http://") || lower.starts_with("https://"))
        && url.split('?').next().is_some_and(|p| p.ends_with(".flv"))
    {
        let tls_ok = !lower.starts_with("https://") || cfg!(feature = "tls");
        (cfg!(feature = "http") && tls_ok).then_some(Source::HttpFlv)
    } else {
        None
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && !s.split('/').any(|p| p.is_empty() || p == "." || p == "..")
}

/// The delay before attempt `retries` + 1: `initial · 2^retries`, capped, with ±25 %
/// jitter so many pulls of one failed server do not retry in step.
pub(crate) fn backoff_delay(b: &PullBackoff, retries: u64, jitter: u64) -> Duration {
    let exp = b
        .initial
        .saturating_mul(1u32 << retries.min(16) as u32)
        .min(b.max);
    let ms = exp.as_millis() as u64;
    let spread = ms / 4;
    let offset = if spread == 0 {
        0
    } else {
        jitter % (2 * spread + 1)
    };
    Duration::from_millis(ms.saturating_sub(spread) + offset)
}

impl Pulls {
    /// A registry (start pulls with [`Pulls::add`]; on-demand ones need [`Pulls::watch`]).
    pub fn new(hub: Hub, backoff: PullBackoff, none_reader: Duration) -> Arc<Pulls> {
        let (demand, _) = broadcast::channel(64);
        Arc::new(Pulls {
            hub,
            backoff,
            none_reader,
            entries: Mutex::new(BTreeMap::new()),
            demand,
            recorder: std::sync::OnceLock::new(),
        })
    }

    /// What [`Pulls::add`] calls for a pull with [`PullConfig::record`] set (the relay
    /// arms its recorder with it; set once).
    pub fn set_recorder(&self, arm: impl Fn(&str) + Send + Sync + 'static) {
        let _ = self.recorder.set(Box::new(arm));
    }

    /// Starts a pull; returns its id.
    ///
    /// # Errors
    /// An unsupported URL, a bad stream name, a stream already pulled.
    pub fn add(self: &Arc<Self>, config: PullConfig) -> Result<u64, PullError> {
        let source =
            source_of(&config.url).ok_or_else(|| PullError::UnsupportedUrl(config.url.clone()))?;
        if !valid_name(&config.app) || !valid_name(&config.stream) {
            return Err(PullError::BadName(format!(
                "{}/{}",
                config.app, config.stream
            )));
        }
        if let Some(t) = config.transport.as_deref() {
            if !matches!(t, "tcp" | "udp" | "auto") {
                return Err(PullError::BadTransport(t.to_string()));
            }
        }
        if let Some(ca) = &config.tls_ca {
            // Read now, so a wrong path is an error where the pull is added.
            #[cfg(feature = "tls")]
            tls::extra_roots(ca).map_err(PullError::TlsCa)?;
            #[cfg(not(feature = "tls"))]
            return Err(PullError::TlsCa(format!(
                "{ca}: this build has no TLS (feature `tls`)"
            )));
        }
        let key = config.key();
        let mut entries = lock(&self.entries);
        if entries
            .values()
            .any(|e| lock(&e.status).config.key() == key)
        {
            return Err(PullError::Duplicate(key));
        }
        let id = self.hub.next_id();
        let status = Arc::new(Mutex::new(PullStatus {
            id,
            state: if config.on_demand {
                PullState::Idle
            } else {
                PullState::Connecting
            },
            config: config.clone(),
            retries: 0,
            attempts: 0,
            last_error: None,
            frames: 0,
        }));
        if config.record {
            match self.recorder.get() {
                Some(arm) => arm(&key),
                None => warn!(
                    stream = key,
                    "pull asks to be recorded, but this relay does not record"
                ),
            }
        }
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(
            self.clone()
                .run(source, config, status.clone(), stop.clone()),
        );
        entries.insert(id, Entry { status, stop, task });
        info!(id, stream = key, "pull added");
        Ok(id)
    }

    /// Stops and removes pull `id`; false when there is none.
    pub fn remove(&self, id: u64) -> bool {
        let Some(e) = lock(&self.entries).remove(&id) else {
            return false;
        };
        e.stop.notify_one();
        lock(&e.status).state = PullState::Stopped;
        // The task ends at its next await; abort in case it is deep in a connect.
        e.task.abort();
        true
    }

    /// Every pull's status.
    pub fn list(&self) -> Vec<PullStatus> {
        lock(&self.entries)
            .values()
            .map(|e| lock(&e.status).clone())
            .collect()
    }

    /// One pull's status.
    pub fn get(&self, id: u64) -> Option<PullStatus> {
        lock(&self.entries)
            .get(&id)
            .map(|e| lock(&e.status).clone())
    }

    /// Stops every pull.
    pub fn shutdown(&self) {
        let ids: Vec<u64> = lock(&self.entries).keys().copied().collect();
        for id in ids {
            self.remove(id);
        }
    }

    /// Forwards the hub's "a player waits for a stream nobody publishes" to on-demand pulls
    /// (runs until the hub is gone).
    pub async fn watch(self: Arc<Self>) {
        let mut events = self.hub.events();
        loop {
            match events.recv().await {
                Ok(HubEvent::StreamNotFound { key, .. }) => {
                    let _ = self.demand.send(key);
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    async fn run(
        self: Arc<Self>,
        source: Source,
        config: PullConfig,
        status: Arc<Mutex<PullStatus>>,
        stop: Arc<Notify>,
    ) {
        let key = config.key();
        let mut demand = self.demand.subscribe();
        let mut jitter_state = self.hub.next_id().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        loop {
            if config.on_demand {
                lock(&status).state = PullState::Idle;
                if !self.wait_for_demand(&key, &mut demand, &stop).await {
                    return;
                }
            }
            lock(&status).state = PullState::Connecting;
            lock(&status).attempts += 1;
            let started = Instant::now();
            let result = tokio::select! {
                r = self.session(&source, &config, &status) => r,
                () = stop.notified() => return,
            };
            let good = status_good_for(&status, started);
            let err = match result {
                Ok(()) => "source ended".to_string(),
                Err(e) => e,
            };
            if config.on_demand && err == IDLE {
                debug!(stream = key, "on-demand pull: no players, disconnected");
                continue;
            }
            {
                let mut st = lock(&status);
                if good >= self.backoff.reset_after {
                    st.retries = 0;
                }
                st.retries += 1;
                st.last_error = Some(err.clone());
                st.state = PullState::Backoff;
            }
            jitter_state ^= jitter_state << 13;
            jitter_state ^= jitter_state >> 7;
            jitter_state ^= jitter_state << 17;
            let retries = lock(&status).retries;
            let delay = backoff_delay(&self.backoff, retries.saturating_sub(1), jitter_state);
            warn!(stream = key, url = %config.url, error = %err, retry_in_ms = delay.as_millis() as u64, "pull: source lost");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stop.notified() => return,
            }
        }
    }

    /// Waits until a player asks for `key` (or it is already watched); false when stopped.
    async fn wait_for_demand(
        &self,
        key: &str,
        demand: &mut broadcast::Receiver<String>,
        stop: &Notify,
    ) -> bool {
        loop {
            if self.hub.waiting_players(key) > 0 || self.players(key) > 0 {
                return true;
            }
            tokio::select! {
                r = demand.recv() => match r {
                    Ok(k) if k == key => return true,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                () = stop.notified() => return false,
            }
        }
    }

    fn players(&self, key: &str) -> usize {
        self.hub.stream(key).map_or(0, |s| s.players)
    }

    /// One connection to the source: publish what it sends until it fails, ends, or (on
    /// demand) the stream has had no player for the none-reader time.
    async fn session(
        &self,
        source: &Source,
        config: &PullConfig,
        status: &Arc<Mutex<PullStatus>>,
    ) -> Result<(), String> {
        let key = config.key();
        let link = Link::new();
        // The hub publish happens once the source answers (an unreachable camera must not
        // hold the stream name).
        let publish = |addr: Option<SocketAddr>| -> Result<Publisher, String> {
            let peer = Peer {
                addr,
                link: Some(link.clone()),
                ..Peer::default()
            };
            self.hub
                .publish_with(&key, "pull", peer)
                .map_err(|e| e.to_string())
        };
        let idle = IdleWatch::new(self, &key, config.on_demand);
        let counter = |n: u64| {
            let mut st = lock(status);
            st.frames += n;
            st.state = PullState::Playing;
        };
        tokio::select! {
            r = sources::run(source, config, publish, &counter) => r,
            () = idle.wait() => Err(IDLE.to_string()),
            () = link.kicked() => Err("kicked through the API".to_string()),
        }
    }
}

/// The error an on-demand pull ends its session with when nobody watches.
const IDLE: &str = "no players";

/// How long the media of the attempt that started at `started` flowed.
fn status_good_for(status: &Mutex<PullStatus>, started: Instant) -> Duration {
    if lock(status).state == PullState::Playing {
        started.elapsed()
    } else {
        Duration::ZERO
    }
}

/// Resolves when an on-demand stream has had no player for the none-reader time.
struct IdleWatch<'a> {
    pulls: &'a Pulls,
    key: &'a str,
    on_demand: bool,
}

impl<'a> IdleWatch<'a> {
    fn new(pulls: &'a Pulls, key: &'a str, on_demand: bool) -> IdleWatch<'a> {
        IdleWatch {
            pulls,
            key,
            on_demand,
        }
    }

    async fn wait(&self) {
        if !self.on_demand {
            return std::future::pending().await;
        }
        let mut since: Option<Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let watched =
                self.pulls.players(self.key) > 0 || self.pulls.hub.waiting_players(self.key) > 0;
            match (watched, since) {
                (true, _) => since = None,
                (false, None) => since = Some(Instant::now()),
                (false, Some(t)) if t.elapsed() >= self.pulls.none_reader => return,
                (false, Some(_)) => {}
            }
        }
    }
}

mod sources {
    //! The source drivers: each connects, publishes (through the given closure) once the
    //! source answers, and forwards media until it fails or ends.

    use super::{Publisher, Source};
    use crate::proxy::settings::PullConfig;
    use std::net::SocketAddr;

    pub(super) async fn run(
        source: &Source,
        config: &PullConfig,
        publish: impl Fn(Option<SocketAddr>) -> Result<Publisher, String>,
        frames: &impl Fn(u64),
    ) -> Result<(), String> {
        match source {
            #[cfg(feature = "rtsp")]
            Source::Rtsp => rtsp(config, publish, frames).await,
            #[cfg(feature = "rtmp")]
            Source::Rtmp => rtmp(config, publish, frames).await,
            #[cfg(feature = "http")]
            Source::HttpFlv => http_flv(config, publish, frames).await,
            #[allow(unreachable_patterns)]
            _ => Err("this build leaves the source's protocol out".into()),
        }
    }

    #[cfg(feature = "rtsp")]
    async fn rtsp(
        config: &PullConfig,
        publish: impl Fn(Option<SocketAddr>) -> Result<Publisher, String>,
        frames: &impl Fn(u64),
    ) -> Result<(), String> {
        use crate::client::{RtspClient, RtspClientConfig, RtspEvent, TransportPreference};
        let transport = match config.transport.as_deref() {
            Some("udp") => TransportPreference::Udp,
            Some("tcp") => TransportPreference::Tcp,
            _ => TransportPreference::Auto,
        };
        let cfg = RtspClientConfig::default().with_transport(transport);
        let mut client = RtspClient::connect(&config.url, cfg)
            .await
            .map_err(|e| e.to_string())?;
        client.setup_all().await.map_err(|e| e.to_string())?;
        client.play().await.map_err(|e| e.to_string())?;
        let publisher = publish(Some(client.peer_addr()))?;
        loop {
            match client.next().await.map_err(|e| e.to_string())? {
                Some(RtspEvent::Track(t)) => publisher.track(t),
                Some(RtspEvent::Frame(f)) => {
                    publisher.frame(f);
                    frames(1);
                }
                Some(RtspEvent::Lost(t)) => publisher.lost(t),
                None => return Ok(()),
            }
        }
    }

    #[cfg(feature = "rtmp")]
    async fn rtmp(
        config: &PullConfig,
        publish: impl Fn(Option<SocketAddr>) -> Result<Publisher, String>,
        frames: &impl Fn(u64),
    ) -> Result<(), String> {
        use crate::client::{RtmpClient, RtmpUrl};
        use crate::ingest::FlvPublisher;
        use weir_rtmp_chunk::ClientEvent;
        let url = RtmpUrl::parse(&config.url).map_err(|e| e.to_string())?;
        let client = RtmpClient::connect(&url).await.map_err(|e| e.to_string())?;
        let mut client = client.play(&url.stream).await.map_err(|e| e.to_string())?;
        let addr = tokio::net::lookup_host(&url.authority)
            .await
            .ok()
            .and_then(|mut a| a.next());
        let mut p = FlvPublisher::new(publish(addr)?);
        // A source that stops sending without closing is a failure too.
        let media_timeout = std::time::Duration::from_secs(10);
        loop {
            let ev = tokio::time::timeout(media_timeout, client.next_event())
                .await
                .map_err(|_| "no media for 10 s".to_string())?
                .map_err(|e| e.to_string())?;
            match ev {
                Some(ClientEvent::Video { timestamp, data }) => {
                    p.video(timestamp, data);
                    frames(1);
                }
                Some(ClientEvent::Audio { timestamp, data }) => {
                    p.audio(timestamp, data);
                    frames(1);
                }
                Some(ClientEvent::Metadata { metadata, .. }) => {
                    if let Some(md) = weir_flv::Metadata::from_amf(&metadata) {
                        p.metadata(&md);
                    }
                }
                Some(ClientEvent::StreamEof { .. }) | None => return Ok(()),
                Some(_) => {}
            }
        }
    }

    /// An error with its causes (hyper's "client error (Connect)" says nothing of the
    /// TLS or socket error under it).
    #[cfg(feature = "http")]
    fn with_causes(e: &dyn std::error::Error) -> String {
        let mut s = e.to_string();
        let mut cause = e.source();
        // Bounded: error chains are short, but never trust a cycle.
        for _ in 0..8 {
            let Some(c) = cause else { break };
            s.push_str(": ");
            s.push_str(&c.to_string());
            cause = c.source();
        }
        s
    }

    #[cfg(feature = "http")]
    async fn http_flv(
        config: &PullConfig,
        publish: impl Fn(Option<SocketAddr>) -> Result<Publisher, String>,
        frames: &impl Fn(u64),
    ) -> Result<(), String> {
        use crate::ingest::FlvPublisher;
        use bytes::BytesMut;
        use http_body_util::{BodyExt, Empty};
        use hyper_util::client::legacy::Client;
        use hyper_util::rt::TokioExecutor;
        use weir_flv::{FlvReader, TagType};
        #[cfg(feature = "tls")]
        let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new())
            .build(super::tls::connector(config.tls_ca.as_deref())?);
        #[cfg(not(feature = "tls"))]
        let client: Client<_, Empty<bytes::Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let uri: hyper::Uri = config
            .url
            .parse()
            .map_err(|e| format!("{}: {e}", config.url))?;
        let resp =
            tokio::time::timeout(std::time::Duration::from_secs(10), client.get(uri.clone()))
                .await
                .map_err(|_| "no answer in 10 s".to_string())?
                .map_err(|e| with_causes(&e))?;
        if !resp.status().is_success() {
            return Err(format!("{} answered {}", config.url, resp.status()));
        }
        let default_port = if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        };
        let addr = match (uri.host(), uri.port_u16().unwrap_or(default_port)) {
            (Some(h), port) => tokio::net::lookup_host((h, port))
                .await
                .ok()
                .and_then(|mut a| a.next()),
            _ => None,
        };
        let mut p = FlvPublisher::new(publish(addr)?);
        let mut body = resp.into_body();
        let mut reader = FlvReader::new();
        let mut buf = BytesMut::new();
        let media_timeout = std::time::Duration::from_secs(10);
        loop {
            let chunk = tokio::time::timeout(media_timeout, body.frame())
                .await
                .map_err(|_| "no media for 10 s".to_string())?;
            let Some(frame) = chunk else { return Ok(()) };
            let frame = frame.map_err(|e| e.to_string())?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.extend_from_slice(&data);
            while let Some(tag) = reader.decode(&mut buf).map_err(|e| e.to_string())? {
                match tag.tag_type {
                    TagType::Video => {
                        p.video(tag.timestamp, tag.body);
                        frames(1);
                    }
                    TagType::Audio => {
                        p.audio(tag.timestamp, tag.body);
                        frames(1);
                    }
                    TagType::Script => {
                        if let Ok(sd) = weir_flv::ScriptData::parse(&tag.body, Default::default()) {
                            if let Some(md) = sd.metadata() {
                                p.metadata(&md);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(feature = "tls")]
mod tls {
    //! TLS for `https://` sources: rustls with the ring provider, Mozilla's web roots
    //! (webpki-roots) and, per pull, the CA certificates of a PEM file.

    use std::sync::Arc;

    use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
    use hyper_util::client::legacy::connect::HttpConnector;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    /// The certificates of PEM file `path` (at least one).
    pub(super) fn extra_roots(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("{path}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{path}: {e}"))?;
        if certs.is_empty() {
            return Err(format!("{path}: no PEM certificate in it"));
        }
        Ok(certs)
    }

    /// A connector for `http://` and `https://` that trusts the web roots and `ca`'s.
    pub(super) fn connector(ca: Option<&str>) -> Result<HttpsConnector<HttpConnector>, String> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = ca {
            for cert in extra_roots(path)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("{path}: not a CA certificate: {e}"))?;
            }
        }
        // ring: pure Rust and assembly, no C library or cmake to build. rustls 0.23.48
        // deprecates its provider for lacking post-quantum key exchange, which a camera or
        // media server source does not need.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let b = PullBackoff::default();
        let ms = |r, j| backoff_delay(&b, r, j).as_millis() as u64;
        assert_eq!((ms(0, 0), ms(0, 250), ms(0, 500)), (750, 1000, 1250));
        assert!((1500..=2500).contains(&ms(1, 12345)));
        assert!(
            (22_500..=37_500).contains(&ms(10, 7)),
            "capped at 30 s ± 25 %"
        );
        assert!((22_500..=37_500).contains(&ms(u64::MAX, u64::MAX)));
    }

    #[test]
    fn sources_by_scheme() {
        assert_eq!(source_of("rtsp://cam/1"), Some(Source::Rtsp));
        assert_eq!(source_of("RTMP://a/live/x"), Some(Source::Rtmp));
        assert_eq!(source_of("http://a/live/x.flv?t=1"), Some(Source::HttpFlv));
        assert_eq!(
            source_of("https://a/live/x.flv"),
            cfg!(feature = "tls").then_some(Source::HttpFlv)
        );
        assert_eq!(source_of("http://a/live/x.m3u8"), None);
        assert_eq!(source_of("file:///etc/passwd"), None);
    }
}
