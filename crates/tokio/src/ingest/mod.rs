//! Ingest: turning what publishers send into tracks and frames for the hub.
//!
//! **Owns**: FLV-tag ingest (RTMP publish), the RTP frame-ingest pipeline (reorder →
//! depacketize → parameter sets → decode timestamps) used by RTSP record and GB28181,
//! the GB28181 listeners and their admission rules (authorization, source binding, caps).
//!
//! **May import**: [`crate::core`], [`crate::format`] (to seed encodings it already has),
//! [`crate::net`], [`crate::auth`]. Never an egress.

#[cfg(feature = "flv")]
pub(crate) mod flv;
#[cfg(feature = "gb28181")]
pub mod gb28181;
#[cfg(feature = "rtp")]
pub(crate) mod pipeline;
#[cfg(feature = "rtsp")]
pub(crate) mod rtsp_record;
mod settings;

#[cfg(feature = "flv")]
pub use flv::FlvPublisher;
pub use settings::{Gb28181Config, Gb28181Stats};

/// Hands one pipeline event to the publisher.
#[cfg(feature = "rtp")]
pub(crate) fn publish_event(publisher: &crate::core::Publisher, ev: pipeline::IngestEvent) {
    use pipeline::IngestEvent;
    match ev {
        IngestEvent::Track(t) => publisher.track(t),
        IngestEvent::Frame(f) => publisher.frame(f),
        IngestEvent::Lost(t) => publisher.lost(t),
    }
}
