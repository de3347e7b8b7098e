//! WebRTC settings (compiled whatever features are on, so configurations are portable).

use std::net::SocketAddr;
use std::time::Duration;

/// WebRTC settings: WHEP play and WHIP publish (`[webrtc]` in the server's file).
///
/// Media runs over one UDP port (ICE-lite) and, with [`WebRtcConfig::tcp`], ICE-TCP
/// (RFC 6544, passive) on the same port number; the signalling (WHEP/WHIP) is on the HTTP
/// listener.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct WebRtcConfig {
    /// UDP (and TCP) address for media (default `0.0.0.0:8000`; `None` — `"off"` in the
    /// file — turns WebRTC off).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::listen"))]
    pub listen: Option<SocketAddr>,
    /// Extra addresses announced as host candidates, for NAT and Docker: an IP (the media
    /// port is added) or `ip:port` (e.g. `["203.0.113.7"]`). Without any, and with a
    /// wildcard `listen`, the address the client reached the HTTP server at is announced.
    pub candidates: Vec<String>,
    /// ICE-TCP (passive, RFC 6544 framing) on the same port number (default true).
    pub tcp: bool,
    /// Sessions (WHEP and WHIP together) at most (default 256); more are refused with 503.
    pub max_sessions: usize,
    /// A session that has not connected (ICE and DTLS) by then is ended, with the reason
    /// logged (default 10 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "connect_timeout_ms", with = "crate::serde_util::millis")
    )]
    pub connect_timeout: Duration,
    /// Video packets kept per player for NACK retransmission (default 1024).
    pub nack_buffer_packets: usize,
    /// Keyframe requests (PLI) passed upstream to a WHIP publisher at most this often per
    /// stream (default 1 s); players' requests in between are absorbed.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "keyframe_request_interval_ms",
            with = "crate::serde_util::millis"
        )
    )]
    pub keyframe_request_interval: Duration,
    /// Rate at which a joining player's keyframe burst (the cached GOP) is sent, kbit/s
    /// (default 20000): one player's join never floods the shared socket.
    pub join_burst_kbps: u32,
    /// Reordering wait for WHIP publishers' packets (default 100 ms).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "jitter_latency_ms", with = "crate::serde_util::millis")
    )]
    pub jitter_latency: Duration,
    /// Largest SDP offer accepted, bytes (default 64 KiB).
    pub max_sdp_bytes: usize,
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        WebRtcConfig {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 8000))),
            candidates: Vec::new(),
            tcp: true,
            max_sessions: 256,
            connect_timeout: Duration::from_secs(10),
            nack_buffer_packets: 1024,
            keyframe_request_interval: Duration::from_secs(1),
            join_burst_kbps: 20_000,
            jitter_latency: Duration::from_millis(100),
            max_sdp_bytes: 64 << 10,
        }
    }
}
