//! Egress: players of every protocol, each a thin loop over a hub
//! [`Subscription`](crate::core::Subscription) and a unit encoding.
//!
//! **Owns**: RTMP play, HTTP-FLV, WebSocket-FLV, RTSP play, HLS, and the player pump
//! they share (batching, the stuck-player timeout).
//!
//! **May import**: [`crate::core`], [`crate::format`], [`crate::net`], [`crate::auth`].
//! Never an ingest.

#[cfg(feature = "http")]
pub mod hls;
#[cfg(feature = "http")]
pub(crate) mod http_flv;
#[cfg(feature = "http")]
mod pump;
#[cfg(feature = "rtmp")]
pub(crate) mod rtmp;
#[cfg(feature = "rtsp")]
pub(crate) mod rtsp_play;
mod settings;
#[cfg(feature = "http")]
pub(crate) mod ws_flv;

pub use settings::HlsConfig;
