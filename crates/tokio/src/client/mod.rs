//! Clients: connect to other servers to pull (play) or push (publish) streams.
//!
//! * [`RtspClient`] (`rtsp`) — RTSP play: tracks and frames from an IP camera or another
//!   server, through the same frame-ingest pipeline as the relay's RTSP ingest.
//! * [`RtspPublisher`] (`rtsp`) — RTSP publish (ANNOUNCE/RECORD over TCP interleaved).
//! * [`RtmpClient`] (`rtmp`) — RTMP publish and play over a sans-IO
//!   [`weir_rtmp_chunk::ClientSession`], with frames ([`RtmpEvent`], `send_frame`) or FLV
//!   tag bodies.
//!
//! The smallest useful program — the frames of a camera, as they arrive:
//!
//! ```no_run
//! use weir_tokio::client::{RtspClient, RtspClientConfig, RtspEvent};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let url = std::env::args().nth(1).ok_or("usage: pull rtsp://user:pass@camera/path")?;
//!     let mut client = RtspClient::connect(&url, RtspClientConfig::default()).await?;
//!     client.setup_all().await?;
//!     client.play().await?;
//!     while let Some(event) = client.next().await? {
//!         if let RtspEvent::Frame(f) = event {
//!             println!("track {} at {:?}: {} bytes", f.track.0, f.pts, f.data.len());
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! `examples/rtsp_pull.rs` prints a stream's tracks and frame rates;
//! `examples/rtsp_to_rtmp.rs` forwards a camera to an RTMP server.

/// The media types the clients speak ([`weir_media`]), re-exported so that a program using
/// only the clients needs no other crate.
pub use weir_media::{Codec, Frame, MediaKind, Timebase, Timestamp, TrackId, TrackInfo};

#[cfg(feature = "rtmp")]
mod rtmp;
#[cfg(feature = "rtsp")]
mod rtsp;
#[cfg(feature = "rtsp")]
mod rtsp_publish;

#[cfg(feature = "rtmp")]
pub use rtmp::{ClientError, RtmpClient, RtmpEvent, RtmpUrl};
#[cfg(feature = "rtsp")]
pub use rtsp::{
    Fallback, LowerTransport, RtspClient, RtspClientConfig, RtspClientError, RtspClientStats,
    RtspEvent, RtspTrack, TransportPolicy, TransportPreference,
};
#[cfg(feature = "rtsp")]
pub use rtsp_publish::{RtspPublishError, RtspPublisher};
