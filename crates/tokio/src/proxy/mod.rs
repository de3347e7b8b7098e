//! Proxying: the relay as a client of other servers — pulling streams in (IP cameras'
//! RTSP, other servers' RTMP and HTTP-FLV) and pushing streams out (RTMP, RTSP) — with
//! reconnects and state the API reports.
//!
//! **May import**: [`crate::core`], [`crate::client`], [`crate::ingest`] (to publish what
//! a client receives), [`crate::format`], [`crate::net`]. Nothing imports it but the
//! control plane and the server.

pub mod pull;
pub mod push;
mod settings;

pub use pull::{PullError, PullState, PullStatus, Pulls};
pub use push::{PushStatus, Pushes};
pub use settings::{PullBackoff, PullConfig, PushConfig};
