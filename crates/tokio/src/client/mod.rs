//! Clients: connect to other servers to pull (play) or push (publish) streams.
//!
//! * [`RtmpClient`] (`rtmp`) — RTMP publish and play over a sans-IO
//!   [`weir_rtmp_chunk::ClientSession`].

#[cfg(feature = "rtmp")]
mod rtmp;

#[cfg(feature = "rtmp")]
pub use rtmp::{ClientError, RtmpClient, RtmpUrl};
