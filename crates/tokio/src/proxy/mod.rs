//! Proxying: the relay as a client of other servers — pulling streams in (IP cameras'
//! RTSP, other servers' RTMP and HTTP-FLV) and, later, pushing streams out — with
//! reconnects and state the API reports.
//!
//! **May import**: [`crate::core`], [`crate::client`], [`crate::ingest`] (to publish what
//! a client receives), [`crate::format`], [`crate::net`]. Nothing imports it but the
//! control plane and the server.

pub mod pull;
mod settings;

pub use pull::{PullError, PullState, PullStatus, Pulls};
pub use settings::{PullBackoff, PullConfig};
