//! The relay's settings: the hub's, then one section per protocol (each listener can be
//! turned off). Every field has a working default; with the `serde` feature the whole tree
//! deserializes from the server's TOML file (`[relay]`, `[rtmp]`, `[http]`, `[rtsp]`,
//! `[gb28181]`, `[hls]`, `[api]`, `[hooks]`, `[record]`, `[vod]`; durations in milliseconds, keys ending in `_ms`).
//!
//! **May import**: [`crate::core`], and the config types of [`crate::ingest`] and
//! [`crate::egress`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::core::HubConfig;
pub use crate::egress::{HlsConfig, RecordConfig, RecordFormat, VodConfig};
pub use crate::ingest::Gb28181Config;
pub use crate::proxy::{PullBackoff, PullConfig, PushConfig};
pub use crate::webrtc::WebRtcConfig;

/// Relay settings. See [`RelayConfig::default`].
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RelayConfig {
    /// Keep the last GOP for late joiners (default true).
    pub gop_cache: bool,
    /// Largest GOP cached, bytes (default 32 MiB).
    pub gop_cache_max_bytes: usize,
    /// Units a player may fall behind before it skips to the next keyframe (default 1024).
    pub queue_units: usize,
    /// How far behind (in time) a player may fall before it skips to the next keyframe:
    /// the longest a stream's ring holds a unit (default 10 s; 0: `queue_units` only).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "queue_ms", with = "crate::serde_util::millis")
    )]
    pub queue_duration: Duration,
    /// Threads that share a hot stream's writes to caught-up RTMP players with its
    /// publishing task (default: one per core beyond the first, at most 7; 0 turns them off).
    pub fanout_threads: usize,
    /// Caught-up players of one stream from which the fan-out threads share its writes
    /// (default 1000).
    pub fanout_min_players: usize,
    /// A player whose socket accepts nothing for this long is disconnected (default 10 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "player_stuck_timeout_ms", with = "crate::serde_util::millis")
    )]
    pub player_stuck_timeout: Duration,
    /// How long a player waits for a stream that is not published yet (default 5 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "play_wait_ms", with = "crate::serde_util::millis")
    )]
    pub play_wait: Duration,
    /// How long a stream outlives its publisher (default 10 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "publisher_grace_ms", with = "crate::serde_util::millis")
    )]
    pub publisher_grace: Duration,
    /// How long a new player waits for a track with no data yet (default 1 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "track_wait_ms", with = "crate::serde_util::millis")
    )]
    pub track_wait: Duration,
    /// Stream time after which an announced track that never delivered is dropped (default 5 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "track_timeout_ms", with = "crate::serde_util::millis")
    )]
    pub track_timeout: Duration,
    /// Set TCP_NODELAY on every connection (default true: Nagle plus delayed ACKs costs
    /// tens of milliseconds per message).
    pub tcp_nodelay: bool,
    /// SO_SNDBUF for every connection, bytes (default: the OS default).
    pub send_buffer_bytes: Option<usize>,
    /// How long shutdown waits for connections to close (default 3 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "shutdown_timeout_ms", with = "crate::serde_util::millis")
    )]
    pub shutdown_timeout: Duration,
    /// RTMP publish and play.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub rtmp: RtmpConfig,
    /// HTTP: HTTP-FLV, WebSocket-FLV, HLS, the API.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub http: HttpConfig,
    /// RTSP publish and play.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub rtsp: RtspConfig,
    /// GB28181 media ingest.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub gb28181: Gb28181Config,
    /// HLS output.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub hls: HlsConfig,
    /// The HTTP API.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub api: ApiConfig,
    /// Webhooks.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub hooks: HooksConfig,
    /// Streams pulled from other servers (`[[pull]]` in the file).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub pulls: Vec<PullConfig>,
    /// Streams forwarded to other servers (`[[push]]` in the file).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub pushes: Vec<PushConfig>,
    /// How pulls and pushes retry (`[pull_retry]`).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub pull_retry: PullBackoff,
    /// Recording.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub record: RecordConfig,
    /// File playback.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub vod: VodConfig,
    /// WebRTC (WHEP play, WHIP publish).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub webrtc: WebRtcConfig,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            gop_cache: true,
            gop_cache_max_bytes: 32 << 20,
            queue_units: 1024,
            queue_duration: Duration::from_secs(10),
            fanout_threads: crate::core::default_fanout_threads(),
            fanout_min_players: 1000,
            player_stuck_timeout: Duration::from_secs(10),
            play_wait: Duration::from_secs(5),
            publisher_grace: Duration::from_secs(10),
            track_wait: Duration::from_secs(1),
            track_timeout: Duration::from_secs(5),
            tcp_nodelay: true,
            send_buffer_bytes: None,
            shutdown_timeout: Duration::from_secs(3),
            rtmp: RtmpConfig::default(),
            http: HttpConfig::default(),
            rtsp: RtspConfig::default(),
            gb28181: Gb28181Config::default(),
            hls: HlsConfig::default(),
            api: ApiConfig::default(),
            hooks: HooksConfig::default(),
            pulls: Vec::new(),
            pushes: Vec::new(),
            pull_retry: PullBackoff::default(),
            record: RecordConfig::default(),
            vod: VodConfig::default(),
            webrtc: WebRtcConfig::default(),
        }
    }
}

impl RelayConfig {
    /// Every listener on `127.0.0.1` with an OS-assigned port (for tests and embedding).
    pub fn loopback_ephemeral() -> RelayConfig {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut c = RelayConfig::default();
        c.rtmp.listen = Some(any);
        c.http.listen = Some(any);
        c.rtsp.listen = Some(any);
        c.gb28181.listen = Some(any);
        c.webrtc.listen = Some(any);
        c
    }

    /// The hub's part.
    pub fn hub_config(&self) -> HubConfig {
        HubConfig {
            gop_cache: self.gop_cache,
            gop_cache_max_bytes: self.gop_cache_max_bytes,
            queue_units: self.queue_units,
            queue_duration: self.queue_duration,
            fanout_threads: self.fanout_threads,
            fanout_min_players: self.fanout_min_players,
            play_wait: self.play_wait,
            publisher_grace: self.publisher_grace,
            track_wait: self.track_wait,
            track_timeout: self.track_timeout,
        }
    }
}

/// RTMP settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RtmpConfig {
    /// Listen address (default `0.0.0.0:1935`; `None` — `"off"` in the file — turns RTMP
    /// off).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::listen"))]
    pub listen: Option<SocketAddr>,
    /// Chunk size sent to every peer (default 4096).
    pub chunk_size: u32,
    /// Largest message accepted from a peer, bytes (default 8 MiB).
    pub max_message_bytes: u32,
}

impl Default for RtmpConfig {
    fn default() -> Self {
        RtmpConfig {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 1935))),
            chunk_size: 4096,
            max_message_bytes: 8 << 20,
        }
    }
}

/// HTTP settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct HttpConfig {
    /// Listen address (default `0.0.0.0:8080`; `None` — `"off"` in the file — turns the
    /// HTTP listener off; the routes can still be mounted in an application's own server).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::listen"))]
    pub listen: Option<SocketAddr>,
    /// Largest request head, bytes (default 16 KiB).
    pub max_header_bytes: usize,
    /// Serve the web console at `/` and `/console/` (default true). The page is static and
    /// public; what it shows comes from the API (which obeys `api.token`).
    pub console: bool,
    /// Serve the console's files from this directory instead of the built-in ones (a file
    /// missing there falls back to the built-in one; default none).
    pub console_dir: Option<std::path::PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 8080))),
            max_header_bytes: 16 << 10,
            console: true,
            console_dir: None,
        }
    }
}

/// RTSP settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RtspConfig {
    /// Listen address for play and publish (default `0.0.0.0:8554`; `None` — `"off"` in
    /// the file — turns RTSP off).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::listen"))]
    pub listen: Option<SocketAddr>,
    /// Lowest UDP port of the server port pairs (default 30000).
    pub udp_port_min: u16,
    /// Highest UDP port of the server port pairs (default 30999).
    pub udp_port_max: u16,
    /// Session timeout announced to clients and enforced (default 60 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "session_timeout_ms", with = "crate::serde_util::millis")
    )]
    pub session_timeout: Duration,
    /// Reordering latency of the publish jitter buffer over UDP (default 150 ms).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "jitter_latency_ms", with = "crate::serde_util::millis")
    )]
    pub jitter_latency: Duration,
    /// Digest authentication per app (`live` → credentials). Apps not listed are open.
    pub auth: HashMap<String, RtspAppAuth>,
}

impl Default for RtspConfig {
    fn default() -> Self {
        RtspConfig {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 8554))),
            udp_port_min: 30000,
            udp_port_max: 30999,
            session_timeout: Duration::from_secs(60),
            jitter_latency: Duration::from_millis(150),
            auth: HashMap::new(),
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

/// HTTP API settings (`/api/v1/...`).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct ApiConfig {
    /// With a token, every API request needs `Authorization: Bearer TOKEN` (401
    /// otherwise). Without one, read-only requests are open and mutating ones are
    /// accepted from loopback clients only (403 otherwise).
    pub token: Option<String>,
}

/// Webhooks: HTTP POSTs with a JSON body on stream and session events. `on_publish` and
/// `on_play` decide (allowed on a 2xx answer with an empty body, a body of `0`, or a JSON
/// object whose `code` is 0); the others are notifications, queued and never blocking media.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct HooksConfig {
    /// Asked before a publish is accepted.
    pub on_publish: Option<String>,
    /// Asked before a play is accepted.
    pub on_play: Option<String>,
    /// A publisher left.
    pub on_unpublish: Option<String>,
    /// A player left.
    pub on_play_stop: Option<String>,
    /// A stream had no player for [`HooksConfig::none_reader`].
    pub on_stream_none_reader: Option<String>,
    /// A player asked for a stream that is not live.
    pub on_stream_not_found: Option<String>,
    /// A recording file was finished.
    pub on_record_done: Option<String>,
    /// How long a hook may take; a deciding hook that does not answer in time denies
    /// (unless [`HooksConfig::fail_open`]) (default 3 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "timeout_ms", with = "crate::serde_util::millis")
    )]
    pub timeout: Duration,
    /// Allow when a deciding hook fails or times out (default false: deny).
    pub fail_open: bool,
    /// See [`HooksConfig::on_stream_none_reader`] (default 10 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "none_reader_ms", with = "crate::serde_util::millis")
    )]
    pub none_reader: Duration,
    /// Cache deciding answers per (event, stream, query, address) this long (default 0: off).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "cache_ttl_ms", with = "crate::serde_util::millis")
    )]
    pub cache_ttl: Duration,
    /// Notifications waiting to be sent at most (default 1024); more are dropped and counted.
    pub queue: usize,
    /// This server's name in hook bodies (default `weir`).
    pub server_id: String,
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            on_publish: None,
            on_play: None,
            on_unpublish: None,
            on_play_stop: None,
            on_stream_none_reader: None,
            on_stream_not_found: None,
            on_record_done: None,
            timeout: Duration::from_secs(3),
            fail_open: false,
            none_reader: Duration::from_secs(10),
            cache_ttl: Duration::ZERO,
            queue: 1024,
            server_id: "weir".to_string(),
        }
    }
}
