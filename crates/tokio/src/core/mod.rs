//! The relay's core: the [`Hub`] of live streams and the [`Unit`]s it shares.
//!
//! **Owns**: stream lifecycle (publish, grace period, play before publish, end), tracks
//! and their readiness, the GOP cache, timestamp repair, write-once fan-out with bounded
//! per-player lag, taps, and per-unit encoding caches.
//!
//! **May import**: `weir-media` and the codec crates (for a track's nominal frame
//! duration) — nothing else of this crate, and no wire format: a core type never knows
//! FLV, RTP or MPEG-TS. Egresses attach their encodings to units through
//! [`EncodingKey`]s and [`Tap`]s that they declare themselves.

mod fanout;
mod hub;
mod hub_config;
mod metadata;
mod publisher;
mod ring;
mod sessions;
mod stream;
mod subscription;
mod tap;
mod timing;
mod unit;

pub use hub::{
    default_fanout_threads, Hub, HubConfig, HubCounters, HubError, HubEvent, StreamInfo,
    SubscribeOptions,
};
pub use metadata::{MetaValue, StreamMetadata};
pub use publisher::{PublishBatch, Publisher};
pub(crate) use ring::Direct;
pub use sessions::{Link, Peer, Role, SessionHandle, SessionInfo};
pub use stream::StreamShape;
pub use subscription::{Subscription, TryNext};
pub use tap::Tap;
pub use unit::{EncodingKey, Unit, UnitKind};

#[cfg(feature = "rtp")]
pub(crate) use timing::video_timing;
