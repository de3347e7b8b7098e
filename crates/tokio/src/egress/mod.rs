//! Egress: players of every protocol, each a thin loop over a hub
//! [`Subscription`](crate::core::Subscription) and a unit encoding.
//!
//! **Owns**: RTMP play, HTTP-FLV, WebSocket-FLV, RTSP play, HLS, LL-HLS, HTTP-TS,
//! HTTP-fMP4 and MJPEG, and the player pump
//! they share (batching, the stuck-player timeout); recording (`record`: a hub subscriber
//! writing files through a bounded queue) and file playback (`vod`).
//!
//! **May import**: [`crate::core`], [`crate::format`], [`crate::net`], [`crate::auth`].
//! Never an ingest.

#[cfg(feature = "http")]
pub mod hls;
#[cfg(feature = "http")]
pub(crate) mod hls_clients;
#[cfg(feature = "http")]
pub(crate) mod http_flv;
#[cfg(feature = "http")]
pub(crate) mod http_media;
#[cfg(feature = "http")]
mod live;
#[cfg(feature = "http")]
pub(crate) mod llhls;
#[cfg(feature = "http")]
mod pump;
#[cfg(feature = "record")]
pub(crate) mod record;
#[cfg(feature = "rtmp")]
pub(crate) mod rtmp;
#[cfg(feature = "rtsp")]
pub(crate) mod rtsp_play;
mod settings;
#[cfg(feature = "record")]
pub(crate) mod vod;
#[cfg(feature = "http")]
pub(crate) mod ws_flv;

pub use settings::{HlsConfig, RecordConfig, RecordFormat, VodConfig};
