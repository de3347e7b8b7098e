//! The RTSP client: pulls the media of an RTSP server (an IP camera, another relay) as
//! [`TrackInfo`]s and [`Frame`]s with typed timestamps — the same values the relay's own RTSP
//! ingest produces, because it is the same pipeline (reorder → depacketize → parameter sets
//! → decode timestamps, RTCP sender reports for A/V alignment).
//!
//! ```no_run
//! use weir_tokio::client::{RtspClient, RtspClientConfig, RtspEvent};
//!
//! # async fn demo() -> Result<(), weir_tokio::client::RtspClientError> {
//! let mut client = RtspClient::connect("rtsp://user:pass@192.168.1.10/stream1", RtspClientConfig::default()).await?;
//! for t in client.tracks() {
//!     println!("{} {} {:?}", t.media, t.encoding.as_deref().unwrap_or("?"), t.info.as_ref().map(|i| i.codec));
//! }
//! client.setup_all().await?; // or client.setup(&[0]) for the first media only
//! client.play().await?;
//! while let Some(event) = client.next().await? {
//!     if let RtspEvent::Frame(f) = event {
//!         println!("track {} pts {:?} {} bytes{}", f.track.0, f.pts, f.data.len(), if f.keyframe { " key" } else { "" });
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! **What the protocol side does** (the decisions live in the sans-IO
//! [`weir_rtsp_proto::ClientSession`] and [`TransportPolicy`], this file only moves bytes):
//! OPTIONS → DESCRIBE (Basic or Digest MD5/SHA-256 auth, redirects 301/302/303/307 on the same
//! server followed in place and to another server by reconnecting, `Content-Base` missing,
//! relative, schemeless or with a doubled scheme) → SETUP of the chosen tracks (UDP with a
//! jitter buffer, TCP interleaved on the channels the server answers, or
//! [`TransportPreference::Auto`]: UDP, then TCP when the server refuses UDP or no packet
//! arrives within [`RtspClientConfig::udp_timeout`]) → PLAY → keep-alives at half the
//! session timeout (GET_PARAMETER, or OPTIONS when the server does not list GET_PARAMETER),
//! RTCP receiver reports every [`RtspClientConfig::rtcp_interval`] → TEARDOWN and RTCP BYE.
//!
//! **Errors say where**: the URL, the request (method, URL, CSeq) and, for input that does not
//! parse, the byte offset of the failing message in the connection
//! ([`weir_rtsp_proto::Error::Input`]).

mod conn;
mod driver;
mod media;
mod setup;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use weir_media::{Frame, TrackId, TrackInfo};
use weir_rtsp_proto::{ClientEvent, Method, RtspUrl};

pub use weir_rtsp_proto::client::{Fallback, TransportPolicy, TransportPreference};
pub use weir_rtsp_proto::headers::LowerTransport;

use self::conn::Conn;
use self::media::Media;
use crate::ingest::pipeline::{sdp_media, EsDecoder};
use crate::net::rtp_transport::Datagram;

/// Settings of an [`RtspClient`]. `Default` suits cameras on a LAN.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RtspClientConfig {
    /// UDP, TCP interleaved, or `auto` (default): UDP first, TCP when UDP does not work.
    pub transport: TransportPreference,
    /// Credentials; default: those in the URL (`rtsp://user:pass@…`).
    pub credentials: Option<(String, String)>,
    /// `User-Agent` header.
    pub user_agent: String,
    /// TCP connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// How long a request may go unanswered (default 10 s).
    pub request_timeout: Duration,
    /// `auto`: how long to wait for the first UDP packet after PLAY before switching to TCP
    /// (default 3 s).
    pub udp_timeout: Duration,
    /// How long the session may go without any media packet before
    /// [`RtspClient::next`] fails with [`RtspClientError::NoMedia`] (default 20 s).
    pub media_timeout: Duration,
    /// Reordering latency of the UDP jitter buffer (default 150 ms, as the relay's RTSP
    /// ingest).
    pub jitter_latency: Duration,
    /// Redirects to follow (default 3).
    pub max_redirects: u8,
    /// Keep-alive interval; default: half the server's session timeout.
    pub keepalive_interval: Option<Duration>,
    /// Interval of RTCP receiver reports (default 5 s, RFC 3550's minimum).
    pub rtcp_interval: Duration,
    /// Repair timestamps (monotonic decode times, jumps smoothed away) with
    /// [`weir_media::repair`], as the relay's hub does (default true; a relay that feeds a
    /// hub, which repairs, turns it off).
    pub repair_timestamps: bool,
    /// Local address of the UDP sockets; default: that of the RTSP connection.
    pub udp_bind: Option<IpAddr>,
}

impl Default for RtspClientConfig {
    fn default() -> Self {
        RtspClientConfig {
            transport: TransportPreference::Auto,
            credentials: None,
            user_agent: concat!("weir/", env!("CARGO_PKG_VERSION")).to_string(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            udp_timeout: Duration::from_secs(3),
            media_timeout: Duration::from_secs(20),
            jitter_latency: Duration::from_millis(150),
            max_redirects: 3,
            keepalive_interval: None,
            rtcp_interval: Duration::from_secs(5),
            repair_timestamps: true,
            udp_bind: None,
        }
    }
}

impl RtspClientConfig {
    /// Sets [`RtspClientConfig::transport`].
    pub fn with_transport(mut self, transport: TransportPreference) -> Self {
        self.transport = transport;
        self
    }
    /// Sets [`RtspClientConfig::credentials`].
    pub fn with_credentials(mut self, user: impl Into<String>, pass: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), pass.into()));
        self
    }
    /// Sets [`RtspClientConfig::udp_timeout`].
    pub fn with_udp_timeout(mut self, t: Duration) -> Self {
        self.udp_timeout = t;
        self
    }
    /// Sets [`RtspClientConfig::media_timeout`].
    pub fn with_media_timeout(mut self, t: Duration) -> Self {
        self.media_timeout = t;
        self
    }
    /// Sets [`RtspClientConfig::request_timeout`].
    pub fn with_request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }
    /// Sets [`RtspClientConfig::keepalive_interval`].
    pub fn with_keepalive_interval(mut self, t: Duration) -> Self {
        self.keepalive_interval = Some(t);
        self
    }
    /// Sets [`RtspClientConfig::rtcp_interval`].
    pub fn with_rtcp_interval(mut self, t: Duration) -> Self {
        self.rtcp_interval = t;
        self
    }
    /// Sets [`RtspClientConfig::repair_timestamps`].
    pub fn with_repair_timestamps(mut self, on: bool) -> Self {
        self.repair_timestamps = on;
        self
    }
    /// Sets [`RtspClientConfig::jitter_latency`].
    pub fn with_jitter_latency(mut self, t: Duration) -> Self {
        self.jitter_latency = t;
        self
    }
}

/// One media of the presentation, as DESCRIBE announced it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RtspTrack {
    /// Position in the SDP: pass it to [`RtspClient::setup`]; also the [`TrackId`] of its
    /// frames.
    pub index: usize,
    /// `video`, `audio`, `application`…
    pub media: String,
    /// `H264/90000`, `MPEG4-GENERIC/48000/2`… (`None`: no payload type with an encoding).
    pub encoding: Option<String>,
    /// The control URL SETUP uses.
    pub control: String,
    /// The track as announced (codec, clock rate, configuration when the SDP carries it);
    /// `None` when Weir cannot depacketize the format. H.264/H.265 without usable parameter
    /// sets in the SDP have an empty configuration: the [`RtspEvent::Track`] with it comes
    /// once a keyframe brings them in band.
    pub info: Option<TrackInfo>,
}

/// What [`RtspClient::next`] yields — the relay's ingest events.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RtspEvent {
    /// A track is ready (before its first frame; again when its configuration changes).
    Track(TrackInfo),
    /// An access unit. Timestamps are in the track's clock rate, on one clock for all tracks
    /// (aligned by the server's RTCP sender reports when it sends them), starting near 1 s.
    /// Video is in the canonical layout (length-prefixed NAL units for H.264/H.265).
    Frame(Frame),
    /// Packets of the track were lost: frames until the next keyframe may not decode.
    Lost(TrackId),
}

/// Counters of a client session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtspClientStats {
    /// RTP packets received.
    pub rtp_packets: u64,
    /// RTCP packets received.
    pub rtcp_packets: u64,
    /// Sender reports received.
    pub sender_reports: u64,
    /// Receiver reports sent.
    pub receiver_reports: u64,
    /// RTP packets lost (as the UDP jitter buffers count them).
    pub lost_packets: u64,
    /// Packets that did not parse as RTP/RTCP.
    pub malformed: u64,
    /// Bytes skipped between interleaved frames (cameras with buggy RTP over TCP).
    pub skipped_bytes: u64,
    /// Redirects followed to another server.
    pub redirects: u8,
    /// Connections made (more than one after a redirect or the `auto` fallback).
    pub connections: u32,
}

/// Why an RTSP client operation failed. Every variant names the URL; requests are named
/// with their method and URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtspClientError {
    /// The URL is not an RTSP URL.
    #[error("bad RTSP URL `{url}`: {source}")]
    BadUrl {
        /// The URL (credentials removed when it parses that far).
        url: String,
        /// Why.
        source: weir_rtsp_proto::Error,
    },
    /// A socket operation failed.
    #[error("{url}: {what}: {source}")]
    Io {
        /// The URL of the connection.
        url: String,
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The server answered a request with an error status.
    #[error("{url}: {method} {request_url} (CSeq {cseq}) answered {status} {reason}")]
    Status {
        /// The presentation URL.
        url: String,
        /// The request.
        method: Method,
        /// The request's URL.
        request_url: String,
        /// Its CSeq.
        cseq: u32,
        /// The status.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// A 2xx answer that could not be used (unparsable SDP, no `Session` in a SETUP answer…).
    #[error("{url}: answer to {method} {request_url} (CSeq {cseq}): {source}")]
    InvalidResponse {
        /// The presentation URL.
        url: String,
        /// The request.
        method: Method,
        /// The request's URL.
        request_url: String,
        /// Its CSeq.
        cseq: u32,
        /// What is wrong.
        source: weir_rtsp_proto::Error,
    },
    /// Input that does not parse ([`weir_rtsp_proto::Error::Input`] carries the request it
    /// answered and the byte offset of the failing message), or another protocol error.
    #[error("{url}: {source}")]
    Protocol {
        /// The URL of the connection.
        url: String,
        /// The error.
        source: weir_rtsp_proto::Error,
    },
    /// A request got no answer in time.
    #[error("{url}: no answer to {method} (CSeq {cseq}) within {timeout:?}")]
    Timeout {
        /// The URL of the connection.
        url: String,
        /// The request.
        method: Method,
        /// Its CSeq.
        cseq: u32,
        /// The limit.
        timeout: Duration,
    },
    /// The server closed the connection while a request was waiting for its answer.
    #[error("{url}: connection closed by the server while waiting for the answer to {method}")]
    Closed {
        /// The URL of the connection.
        url: String,
        /// The request.
        method: Method,
    },
    /// More redirects than [`RtspClientConfig::max_redirects`].
    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects {
        /// The last URL.
        url: String,
        /// The limit.
        limit: u8,
    },
    /// No media packet for [`RtspClientConfig::media_timeout`] while playing.
    #[error("{url}: no media for {waited:?}")]
    NoMedia {
        /// The presentation URL.
        url: String,
        /// How long.
        waited: Duration,
    },
    /// The call does not fit the session (PLAY before SETUP, an unknown track…).
    #[error("{url}: {reason}")]
    Usage {
        /// The presentation URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// An RTSP play session. See the [module docs](self).
pub struct RtspClient {
    config: RtspClientConfig,
    credentials: Option<(String, String)>,
    /// The URL being played (after redirects), credentials included.
    url: String,
    conn: Conn,
    policy: TransportPolicy,
    tracks: Vec<RtspTrack>,
    sdp: Bytes,
    decoders: Vec<Option<EsDecoder>>,
    selected: Vec<usize>,
    media: Option<Media>,
    udp_rx: Option<mpsc::Receiver<Datagram>>,
    /// Answers to requests (everything the session reports but media).
    outcomes: VecDeque<ClientEvent>,
    events: VecDeque<RtspEvent>,
    playing: bool,
    /// The server closed the connection.
    eof: bool,
    /// No more events will come.
    ended: bool,
    last_media: Instant,
    pending_fallback: Option<Fallback>,
    stats: RtspClientStats,
    /// Skipped bytes of earlier connections.
    skipped_before: u64,
}

impl std::fmt::Debug for RtspClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtspClient")
            .field("url", &self.conn.url)
            .field("peer", &self.conn.peer)
            .field("transport", &self.policy.transport())
            .field("playing", &self.playing)
            .finish_non_exhaustive()
    }
}

impl RtspClient {
    /// Connects to `url` (`rtsp://[user:pass@]host[:port]/path`) and describes the
    /// presentation: OPTIONS, then DESCRIBE, authenticating and following redirects. The
    /// tracks are then in [`RtspClient::tracks`].
    ///
    /// # Errors
    /// A bad URL, socket errors, refusals ([`RtspClientError::Status`], e.g. 401 or 404),
    /// answers that do not parse, timeouts, too many redirects.
    pub async fn connect(
        url: &str,
        config: RtspClientConfig,
    ) -> Result<RtspClient, RtspClientError> {
        let parsed = RtspUrl::parse(url).map_err(|source| RtspClientError::BadUrl {
            url: url.to_string(),
            source,
        })?;
        let credentials = config.credentials.clone().or_else(|| {
            parsed
                .username
                .clone()
                .map(|u| (u, parsed.password.clone().unwrap_or_default()))
        });
        let conn = Conn::open(url, &config, credentials.clone()).await?;
        let mut c = RtspClient {
            policy: TransportPolicy::new(config.transport, config.udp_timeout),
            config,
            credentials,
            url: url.to_string(),
            conn,
            tracks: Vec::new(),
            sdp: Bytes::new(),
            decoders: Vec::new(),
            selected: Vec::new(),
            media: None,
            udp_rx: None,
            outcomes: VecDeque::new(),
            events: VecDeque::new(),
            playing: false,
            eof: false,
            ended: false,
            last_media: Instant::now(),
            pending_fallback: None,
            stats: RtspClientStats {
                connections: 1,
                ..RtspClientStats::default()
            },
            skipped_before: 0,
        };
        c.describe().await?;
        Ok(c)
    }

    /// The presentation's media, from DESCRIBE.
    pub fn tracks(&self) -> &[RtspTrack] {
        &self.tracks
    }

    /// The SDP the server described the presentation with.
    pub fn sdp(&self) -> &Bytes {
        &self.sdp
    }

    /// The presentation URL in use (after redirects), without credentials.
    pub fn url(&self) -> &str {
        &self.conn.url
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.peer
    }

    /// The RTSP session id, once SETUP succeeded.
    pub fn session_id(&self) -> Option<&str> {
        self.conn.session.session().map(|s| s.id.as_str())
    }

    /// The transport in use (or that SETUP will ask for).
    pub fn transport(&self) -> LowerTransport {
        self.policy.transport()
    }

    /// Why the client moved from UDP to TCP, if it did.
    pub fn fallback(&self) -> Option<Fallback> {
        self.policy.fallback()
    }

    /// The method keep-alives use (chosen from the server's `Public` header).
    pub fn keepalive_method(&self) -> Method {
        self.conn.session.keepalive_method()
    }

    /// The wallclock time at which the server captured `frame` (a frame this client
    /// yielded), from the track's latest RTCP sender report: what an NVR stamps recordings
    /// with. `None` before the track's first sender report.
    pub fn wallclock(&self, frame: &Frame) -> Option<std::time::SystemTime> {
        self.media.as_ref()?.wallclock(frame)
    }

    /// Counters.
    pub fn stats(&self) -> RtspClientStats {
        let mut s = self.stats;
        if let Some(m) = &self.media {
            s.rtp_packets = m.counters.rtp_packets;
            s.rtcp_packets = m.counters.rtcp_packets;
            s.sender_reports = m.counters.sender_reports;
            s.receiver_reports = m.counters.receiver_reports;
            s.lost_packets = m.counters.lost_packets;
            s.malformed = m.counters.malformed;
        }
        s.skipped_bytes = self.skipped_before + self.conn.session.skipped_bytes();
        s
    }

    fn usage(&self, reason: impl Into<String>) -> RtspClientError {
        RtspClientError::Usage {
            url: self.conn.url.clone(),
            reason: reason.into(),
        }
    }

    fn io_err(&self, what: &'static str) -> impl FnOnce(std::io::Error) -> RtspClientError {
        let url = self.conn.url.clone();
        move |source| RtspClientError::Io { url, what, source }
    }

    fn proto_err(&self, source: weir_rtsp_proto::Error) -> RtspClientError {
        RtspClientError::Protocol {
            url: self.conn.url.clone(),
            source,
        }
    }

    /// Turns an answer that is not what the request wanted into an error.
    fn unexpected(&self, ev: ClientEvent) -> RtspClientError {
        let url = self.conn.url.clone();
        match ev {
            ClientEvent::Failed {
                method,
                url: request_url,
                cseq,
                status,
                response,
            } => RtspClientError::Status {
                url,
                method,
                request_url,
                cseq,
                status,
                reason: response.reason,
            },
            ClientEvent::InvalidResponse {
                method,
                url: request_url,
                cseq,
                error,
                ..
            } => RtspClientError::InvalidResponse {
                url,
                method,
                request_url,
                cseq,
                source: error,
            },
            ClientEvent::TimedOut { method, cseq } => RtspClientError::Timeout {
                url,
                method,
                cseq,
                timeout: self.config.request_timeout,
            },
            other => RtspClientError::Usage {
                url,
                reason: format!("unexpected answer: {other:?}"),
            },
        }
    }

    async fn redirect(&mut self, to: String) -> Result<(), RtspClientError> {
        if self.stats.redirects >= self.config.max_redirects {
            return Err(RtspClientError::TooManyRedirects {
                url: to,
                limit: self.config.max_redirects,
            });
        }
        self.stats.redirects += 1;
        info!(from = %self.conn.url, to = %to, "rtsp client: redirected to another server");
        self.reconnect(to).await
    }

    /// OPTIONS and DESCRIBE, following redirects to other servers.
    async fn describe(&mut self) -> Result<(), RtspClientError> {
        loop {
            let now = Instant::now();
            // OPTIONS tells which keep-alive the server takes; its failure does not matter.
            self.conn
                .session
                .options(now)
                .map_err(|e| self.proto_err(e))?;
            match self.outcome(Method::Options).await? {
                ClientEvent::Redirect { url } => {
                    self.redirect(url).await?;
                    continue;
                }
                ClientEvent::Options { .. } => {}
                other => debug!(answer = ?other, "rtsp client: OPTIONS not answered with 200"),
            }
            self.conn
                .session
                .describe(Instant::now())
                .map_err(|e| self.proto_err(e))?;
            match self.outcome(Method::Describe).await? {
                ClientEvent::Described { sdp, base_url, raw } => {
                    self.tracks.clear();
                    self.decoders.clear();
                    for m in sdp_media(&sdp, &base_url) {
                        let info = m.decoder.as_ref().ok().map(|d| d.info().clone());
                        if let Err(e) = &m.decoder {
                            info!(media = m.index, kind = %m.media, error = %e, "rtsp client: media not supported");
                        }
                        self.tracks.push(RtspTrack {
                            index: m.index,
                            media: m.media,
                            encoding: m.encoding,
                            control: m.control,
                            info,
                        });
                        self.decoders.push(m.decoder.ok());
                    }
                    self.sdp = raw;
                    return Ok(());
                }
                ClientEvent::Redirect { url } => self.redirect(url).await?,
                other => return Err(self.unexpected(other)),
            }
        }
    }

    /// SETUP of every track Weir can depacketize.
    ///
    /// # Errors
    /// As [`RtspClient::setup`]; [`RtspClientError::Usage`] when no track is supported.
    pub async fn setup_all(&mut self) -> Result<(), RtspClientError> {
        let all: Vec<usize> = self
            .tracks
            .iter()
            .filter(|t| t.info.is_some())
            .map(|t| t.index)
            .collect();
        if all.is_empty() {
            return Err(self.usage("no track of a supported format"));
        }
        self.setup(&all).await
    }

    /// SETUP of the tracks with these [`RtspTrack::index`]es, over the configured transport
    /// (with the `auto` fallback to TCP when the server refuses UDP).
    ///
    /// # Errors
    /// An unknown or unsupported track, a second call, refusals, socket errors, timeouts.
    pub async fn setup(&mut self, tracks: &[usize]) -> Result<(), RtspClientError> {
        if self.media.is_some() {
            return Err(self.usage("SETUP was already done"));
        }
        for (k, i) in tracks.iter().enumerate() {
            match self.tracks.get(*i) {
                None => return Err(self.usage(format!("no track {i}"))),
                Some(t) if t.info.is_none() => {
                    return Err(self.usage(format!(
                        "track {i} ({}) is not of a supported format",
                        t.encoding.as_deref().unwrap_or(&t.media)
                    )))
                }
                _ => {}
            }
            if tracks.get(..k).is_some_and(|s| s.contains(i)) {
                return Err(self.usage(format!("track {i} listed twice")));
            }
        }
        if tracks.is_empty() {
            return Err(self.usage("no track to set up"));
        }
        self.selected = tracks.to_vec();
        self.setup_selected().await
    }

    /// PLAY (the whole presentation, from now).
    ///
    /// # Errors
    /// PLAY before SETUP, refusals, socket errors, timeouts.
    pub async fn play(&mut self) -> Result<(), RtspClientError> {
        if self.media.is_none() {
            return Err(self.usage("PLAY before SETUP"));
        }
        self.conn
            .session
            .play(None, Instant::now())
            .map_err(|e| self.proto_err(e))?;
        match self.outcome(Method::Play).await? {
            ClientEvent::Playing { .. } => {
                let now = Instant::now();
                self.playing = true;
                self.last_media = now;
                self.policy.on_playing(now);
                Ok(())
            }
            other => Err(self.unexpected(other)),
        }
    }

    /// Ends the session: RTCP BYE, TEARDOWN (waiting briefly for the answer), close.
    ///
    /// # Errors
    /// Socket errors while sending.
    pub async fn teardown(mut self) -> Result<(), RtspClientError> {
        let now = Instant::now();
        if let Some(m) = self.media.as_mut() {
            let bye = m.goodbye(now);
            self.send_rtcp(bye);
        }
        if self.eof || self.conn.session.session().is_none() {
            return Ok(());
        }
        self.conn
            .session
            .teardown(now)
            .map_err(|e| self.proto_err(e))?;
        self.outcomes.clear();
        let wait = self.config.request_timeout.min(Duration::from_secs(2));
        match tokio::time::timeout(wait, self.outcome(Method::Teardown)).await {
            Ok(Ok(ClientEvent::TornDown)) | Err(_) => Ok(()),
            Ok(Ok(other)) => {
                warn!(answer = ?other, "rtsp client: TEARDOWN not acknowledged");
                Ok(())
            }
            Ok(Err(RtspClientError::Closed { .. })) => Ok(()),
            Ok(Err(e)) => Err(e),
        }
    }
}
