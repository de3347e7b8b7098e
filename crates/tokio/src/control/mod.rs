//! The control plane: the HTTP API (and, as it grows, hooks and metrics).
//!
//! **Owns**: `/api/v1/...` answers built from the hub's and the egresses' state.
//!
//! **May import**: [`crate::ctx`], [`crate::core`], [`crate::net`], [`crate::egress`],
//! [`crate::ingest`] — never [`crate::conn`] or the server.

pub(crate) mod api;
pub(crate) mod hooks;
pub(crate) mod metrics;
pub(crate) mod proxy;
#[cfg(feature = "record")]
pub(crate) mod recordings;
