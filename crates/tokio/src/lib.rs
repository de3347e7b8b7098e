//! The thin tokio layer of Weir.
//!
//! Everything protocol-shaped lives in the sans-IO crates (`weir-rtmp-chunk`, `weir-flv`,
//! `weir-rtsp-proto`, …); this crate moves bytes between sockets and those state machines
//! and composes them into a live relay. Its folders are its layers (each module's docs say
//! what it owns and what it may import; nothing imports upwards):
//!
//! * [`core`] — the [`Hub`] of live streams (tracks and [`Frame`](weir_media::Frame)s in,
//!   shared [`Unit`]s out, GOP cache, write-once fan-out, lifecycle, timestamp repair).
//!   Knows no wire format.
//! * `net` — accept loop, vectored writes, batched UDP, RTP transports, randomness.
//! * [`auth`] — the authorization hook every protocol consults.
//! * [`format`] — unit encodings (FLV tag, RTMP chunks, write-once RTP), built once per
//!   unit and shared by every player of the format.
//! * [`ingest`] — FLV-tag ingest (RTMP), the RTP frame-ingest pipeline, RTSP record,
//!   GB28181.
//! * [`egress`] — RTMP play, HTTP-FLV, WebSocket-FLV, RTSP play, HLS.
//! * `conn` — per-protocol connections (RTMP, RTSP, HTTP routes) dispatching to ingest
//!   and egress; `control` — the API.
//! * [`Relay`] — composes them; nothing imports it.
//!
//! Cargo features choose the protocols (all on by default): `rtmp` (RTMP publish/play
//! and the RTMP client), `http` (HTTP-FLV, WebSocket-FLV, HLS, the API), `rtsp` (RTSP
//! publish/play), `gb28181` (GB28181 ingest); `serde` makes the configuration
//! deserializable. An embedder can also run only some listeners
//! ([`Listeners`], [`RelayConfig`] `listen = None`) or mount the HTTP routes in its own
//! server (`BoundRelay::http_routes`).
//!
//! ```no_run
//! use weir_tokio::{Relay, RelayConfig};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let relay = Relay::new(RelayConfig::default())
//!         .with_auth(|req| req.query.as_deref() != Some("token=blocked"))
//!         .bind()
//!         .await?;
//!     relay.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! }
//! ```
//!
//! The hub on its own, with frames from any source:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use bytes::Bytes;
//! use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
//! use weir_tokio::core::{Hub, HubConfig};
//!
//! let hub = Hub::new(HubConfig::default());
//! let publisher = hub.publish("live/cam", "test").unwrap();
//! assert!(hub.publish("live/cam", "test").is_err()); // one publisher per name
//! publisher.track(TrackInfo::new(TrackId(0), Codec::Mjpeg, 90_000));
//! let t = Timestamp::new(0, Timebase::MPEG);
//! publisher.frame(Frame::new(TrackId(0), t, t, Bytes::from_static(&[0xFF, 0xD8])).with_keyframe(true));
//!
//! let mut player = hub.subscribe("live/cam", "test").await.unwrap();
//! assert_eq!(player.tracks()[0].codec, Codec::Mjpeg);
//! let first = player.next().await.unwrap();
//! assert!(first.is_config());
//! let second = player.next().await.unwrap();
//! assert!(second.is_keyframe());
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// A build with some protocols left out leaves some shared plumbing unused.
#![cfg_attr(
    not(all(
        feature = "rtmp",
        feature = "http",
        feature = "rtsp",
        feature = "gb28181"
    )),
    allow(dead_code, unused_imports, unused_variables, unused_mut)
)]

pub mod auth;
#[cfg(any(feature = "rtmp", feature = "rtsp"))]
pub mod client;
pub mod config;
mod conn;
#[cfg(feature = "http")]
mod console;
#[cfg(feature = "http")]
mod control;
pub mod core;
mod ctx;
pub mod egress;
pub mod format;
pub mod ingest;
mod net;
pub mod proxy;
#[cfg(feature = "serde")]
mod serde_util;
mod server;
mod webrtc;

pub use auth::{Access, AuthHook, AuthRequest, Authorize};
pub use config::{HttpConfig, RelayConfig, RtmpConfig, RtspAppAuth, RtspConfig};
#[cfg(feature = "http")]
pub use conn::HttpRoutes;
pub use core::{
    EncodingKey, Hub, HubConfig, HubCounters, HubError, HubEvent, Link, MetaValue, Peer, Publisher,
    Role, SessionHandle, SessionInfo, StreamInfo, StreamMetadata, StreamShape, SubscribeOptions,
    Subscription, Tap, TryNext, Unit, UnitKind,
};
#[cfg(feature = "http")]
pub use net::http::Body as HttpBody;
pub use net::write_all_bufs;
pub use server::{BoundRelay, Listeners, Relay};
