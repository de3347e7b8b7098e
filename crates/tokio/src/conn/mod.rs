//! Protocol front doors: one module per listening protocol, each running its sans-IO
//! session over accepted connections and handing publishes to [`crate::ingest`] and
//! plays to [`crate::egress`] (an RTMP or RTSP connection may do either).
//!
//! **May import**: everything below it — [`crate::core`], [`crate::net`],
//! [`crate::auth`], [`crate::format`], [`crate::ingest`], [`crate::egress`],
//! [`crate::control`], [`crate::ctx`], [`crate::config`] — never the server.

#[cfg(feature = "http")]
pub(crate) mod http;
#[cfg(feature = "rtmp")]
pub(crate) mod rtmp;
#[cfg(feature = "rtsp")]
pub(crate) mod rtsp;

#[cfg(feature = "http")]
pub use http::HttpRoutes;
