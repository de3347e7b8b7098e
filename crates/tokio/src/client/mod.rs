//! Clients: connect to other servers to pull (play) or push (publish) streams.
//!
//! * [`RtspClient`] (`rtsp`) — RTSP play: tracks and frames from an IP camera or another
//!   server, through the same frame-ingest pipeline as the relay's RTSP ingest.
//! * [`RtspPublisher`] (`rtsp`) — RTSP publish (ANNOUNCE/RECORD over TCP interleaved).
//! * [`RtmpClient`] (`rtmp`) — RTMP publish and play over a sans-IO
//!   [`weir_rtmp_chunk::ClientSession`].

#[cfg(feature = "rtmp")]
mod rtmp;
#[cfg(feature = "rtsp")]
mod rtsp;
#[cfg(feature = "rtsp")]
mod rtsp_publish;

#[cfg(feature = "rtmp")]
pub use rtmp::{ClientError, RtmpClient, RtmpUrl};
#[cfg(feature = "rtsp")]
pub use rtsp::{
    Fallback, LowerTransport, RtspClient, RtspClientConfig, RtspClientError, RtspClientStats,
    RtspEvent, RtspTrack, TransportPolicy, TransportPreference,
};
#[cfg(feature = "rtsp")]
pub use rtsp_publish::{RtspPublishError, RtspPublisher};
