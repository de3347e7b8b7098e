//! Protocol front doors: one module per listening protocol, each running its sans-IO
//! session over accepted connections and handing publishes to [`crate::ingest`] and
//! plays to [`crate::egress`] (an RTMP or RTSP connection may do either).
//!
//! **May import**: everything below it — [`crate::core`], [`crate::net`],
//! [`crate::auth`], [`crate::format`], [`crate::ingest`], [`crate::egress`],
//! [`crate::control`], [`crate::ctx`], [`crate::config`] — never the server.

#[cfg(feature = "http")]
mod h2c;
#[cfg(feature = "http")]
pub(crate) mod http;
#[cfg(feature = "http")]
pub(crate) mod play_http;
#[cfg(feature = "rtmp")]
pub(crate) mod rtmp;
#[cfg(feature = "rtsp")]
pub(crate) mod rtsp;

#[cfg(feature = "http")]
pub use http::HttpRoutes;

use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWrite;

use crate::core::Link;
use crate::ctx::Ctx;

/// Why [`flush`] could not write.
#[derive(Debug)]
pub(crate) enum FlushError {
    /// The socket failed.
    Io(std::io::Error),
    /// The peer accepted nothing for the stuck timeout (counted in the hub's counters).
    Stuck(Duration),
}

/// Writes `out` (counted on the connection's `link`) within the stuck-player timeout.
#[cfg(any(feature = "rtmp", feature = "rtsp"))]
pub(crate) async fn flush<W: AsyncWrite + Unpin>(
    ctx: &Ctx,
    link: &Link,
    wr: &mut W,
    out: &mut Vec<Bytes>,
) -> Result<(), FlushError> {
    let stuck = ctx.config.player_stuck_timeout;
    link.add_out(out.iter().map(Bytes::len).sum());
    match crate::net::within(stuck, crate::net::write_all_bufs(wr, out)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(FlushError::Io(e)),
        Err(_) => {
            ctx.hub
                .counters()
                .players_stuck
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(FlushError::Stuck(stuck))
        }
    }
}
