//! The thin tokio layer of Weir.
//!
//! Everything protocol-shaped lives in the sans-IO crates (`weir-rtmp-chunk`, `weir-flv`,
//! …); this crate only moves bytes between sockets and those state machines, and composes
//! them into a live relay:
//!
//! * [`Hub`] — the registry of live streams: one publisher per `app/stream`, any number of
//!   players, GOP cache, write-once fan-out through one bounded ring per stream, slow
//!   players skipped to the next keyframe instead of slowing anyone else, publisher grace
//!   period, lifetime events.
//! * [`Unit`] — a media message shared by every player, with its egress encodings (FLV tag,
//!   RTMP chunks) built once, on demand.
//! * [`Relay`] — RTMP publish/play, HTTP-FLV and WebSocket-FLV, an authorization hook and
//!   graceful shutdown.
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
//! The hub on its own:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use bytes::Bytes;
//! use weir_tokio::{Hub, HubConfig, UnitKind};
//!
//! let hub = Hub::new(HubConfig::default());
//! let publisher = hub.publish("live/cam", "rtmp").unwrap();
//! // AVC sequence header, then a keyframe.
//! publisher.video(0, Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f]));
//! publisher.video(0, Bytes::from_static(&[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]));
//! assert!(hub.publish("live/cam", "rtmp").is_err()); // one publisher per name
//!
//! let mut player = hub.subscribe("live/cam", "rtmp").await.unwrap();
//! let first = player.next().await.unwrap();
//! assert!(first.is_sequence_header());
//! let second = player.next().await.unwrap();
//! assert!(second.is_keyframe() && second.kind() == UnitKind::Video);
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod gb28181;
pub mod hls;
mod http;
pub mod hub;
mod io;
mod rtmp;
mod rtp_out;
mod rtsp;
mod server;
mod udp;
mod unit;

pub use hub::{
    Hub, HubConfig, HubError, HubEvent, Publisher, StreamInfo, StreamShape, Subscription, TryNext,
};
pub use io::write_all_bufs;
pub use server::{Access, AuthHook, AuthRequest, BoundRelay, Relay, RelayConfig, RtspAppAuth};
pub use unit::{Unit, UnitKind};
