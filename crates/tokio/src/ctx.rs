//! What every connection of a relay shares: settings, the hub, the authorization hook,
//! the HLS registry, the task counter.
//!
//! **May import**: [`crate::config`], [`crate::core`], [`crate::auth`], [`crate::net`],
//! [`crate::egress`], [`crate::ingest`].

use std::sync::Arc;

use crate::auth::AuthHook;
use crate::config::RelayConfig;
use crate::core::Hub;
#[cfg(feature = "http")]
use crate::egress::hls::Hls;
use crate::ingest::Gb28181Stats;
use crate::net::Tasks;

/// Where the relay listens (for the API).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ListenAddrs {
    pub(crate) rtmp: Option<std::net::SocketAddr>,
    pub(crate) http: Option<std::net::SocketAddr>,
    pub(crate) rtsp: Option<std::net::SocketAddr>,
    pub(crate) gb28181: Option<std::net::SocketAddr>,
}

/// Shared by every connection task.
pub(crate) struct Ctx {
    pub(crate) started: tokio::time::Instant,
    pub(crate) listeners: ListenAddrs,
    pub(crate) config: RelayConfig,
    pub(crate) hub: Hub,
    pub(crate) auth: AuthHook,
    pub(crate) tasks: Arc<Tasks>,
    #[cfg(feature = "http")]
    pub(crate) hls: Arc<Hls>,
    #[cfg(feature = "http")]
    pub(crate) hls_clients: Arc<crate::egress::hls_clients::HlsClients>,
    /// LL-HLS packagers and their player sessions.
    #[cfg(feature = "http")]
    pub(crate) llhls: Arc<crate::egress::llhls::LlHls>,
    #[cfg(feature = "http")]
    pub(crate) ll_clients: Arc<crate::egress::hls_clients::HlsClients>,
    #[cfg(feature = "http")]
    pub(crate) hooks: Arc<crate::control::hooks::Hooks>,
    pub(crate) gb28181: Arc<Gb28181Stats>,
    pub(crate) pulls: Arc<crate::proxy::Pulls>,
    pub(crate) pushes: Arc<crate::proxy::Pushes>,
    /// The WebRTC media port and its sessions (`None`: WebRTC is off).
    #[cfg(feature = "webrtc")]
    pub(crate) webrtc: Option<Arc<crate::webrtc::WebRtc>>,
    /// Recorders (streams written to files).
    #[cfg(feature = "record")]
    pub(crate) recorders: Arc<crate::egress::record::Recorders>,
    /// File playback roots.
    #[cfg(feature = "record")]
    pub(crate) vod: Arc<crate::egress::vod::Vod>,
}
