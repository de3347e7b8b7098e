//! Egress: players of every protocol, each a thin loop over a hub
//! [`Subscription`](crate::core::Subscription) and a unit encoding.
//!
//! **Owns**: RTMP play, HTTP-FLV, WebSocket-FLV, RTSP play, HLS, and the player pump
//! they share (batching, the stuck-player timeout).
//!
//! **May import**: [`crate::core`], [`crate::format`], [`crate::net`], [`crate::auth`].
//! Never an ingest.

pub mod hls;
pub(crate) mod http_flv;
mod pump;
pub(crate) mod rtmp;
pub(crate) mod rtsp_play;
pub(crate) mod ws_flv;
