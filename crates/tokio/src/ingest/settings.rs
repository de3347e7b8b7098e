//! Ingest settings and counters (compiled whatever features are on, so configurations
//! are portable).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// GB28181 ingest settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct Gb28181Config {
    /// Media port, UDP and TCP (RFC 4571, passive) (default `0.0.0.0:10000`; `None` —
    /// `"off"` in the file — turns GB28181 ingest off).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_util::listen"))]
    pub listen: Option<SocketAddr>,
    /// A stream that receives nothing for this long ends (default 10 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "idle_timeout_ms", with = "crate::serde_util::millis")
    )]
    pub idle_timeout: Duration,
    /// Reordering latency of the UDP jitter buffer (default 150 ms).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "jitter_latency_ms", with = "crate::serde_util::millis")
    )]
    pub jitter_latency: Duration,
    /// Most GB28181 streams at once (default 256); more SSRCs are refused.
    pub max_streams: usize,
    /// Most streams from one source IP at once (default 16).
    pub max_streams_per_source: usize,
    /// Packets queued for a new stream while the authorization hook decides (default 512).
    pub max_pending_packets: usize,
    /// SO_RCVBUF requested for the UDP socket (default 32 MiB, ≈ 0.5 s of 500 devices at
    /// 1 Mbit/s): devices send a keyframe as a burst of datagrams, and all of them share the
    /// socket. Linux caps it at `net.core.rmem_max` unless the relay may force it
    /// (`CAP_NET_ADMIN`); a capped buffer is logged at start.
    pub recv_buffer_bytes: usize,
}

impl Default for Gb28181Config {
    fn default() -> Self {
        Gb28181Config {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 10000))),
            idle_timeout: Duration::from_secs(10),
            jitter_latency: Duration::from_millis(150),
            max_streams: 256,
            max_streams_per_source: 16,
            max_pending_packets: 512,
            recv_buffer_bytes: 32 << 20,
        }
    }
}

/// Counters of the GB28181 ingest.
#[derive(Debug, Default)]
pub struct Gb28181Stats {
    pub(crate) spoofed: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) lost: AtomicU64,
}

impl Gb28181Stats {
    /// Datagrams dropped because their SSRC belongs to a stream started from another
    /// source address.
    pub fn spoofed(&self) -> u64 {
        self.spoofed.load(Ordering::Relaxed)
    }

    /// Streams refused (authorization hook, name busy, caps).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Packets dropped: of refused SSRCs, over the caps, or while a decision was pending
    /// and the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// RTP packets lost on UDP (gaps the jitter buffer gave up on).
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}
