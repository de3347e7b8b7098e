//! Protocol front doors: one module per listening protocol, each running its sans-IO
//! session over accepted connections and handing publishes to [`crate::ingest`] and
//! plays to [`crate::egress`] (an RTMP or RTSP connection may do either).
//!
//! **May import**: everything below it — [`crate::core`], [`crate::net`],
//! [`crate::auth`], [`crate::format`], [`crate::ingest`], [`crate::egress`],
//! [`crate::control`], [`crate::ctx`], [`crate::config`] — never the server.

pub(crate) mod http;
pub(crate) mod rtmp;
pub(crate) mod rtsp;

pub use http::HttpRoutes;
