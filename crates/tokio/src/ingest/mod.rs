//! Ingest: turning what publishers send into tracks and frames for the hub.
//!
//! **Owns**: FLV-tag ingest (RTMP publish), the RTP frame-ingest pipeline (reorder →
//! depacketize → parameter sets → decode timestamps) used by RTSP record and GB28181,
//! the GB28181 listeners and their admission rules (authorization, source binding, caps).
//!
//! **May import**: [`crate::core`], [`crate::format`] (to seed encodings it already has),
//! [`crate::net`], [`crate::auth`]. Never an egress.

pub(crate) mod flv;
pub mod gb28181;
pub(crate) mod pipeline;
pub(crate) mod rtsp_record;

pub use flv::FlvPublisher;
pub use gb28181::{Gb28181Config, Gb28181Stats};

use crate::core::Publisher;
use pipeline::IngestEvent;

/// Hands one pipeline event to the publisher.
pub(crate) fn publish_event(publisher: &Publisher, ev: IngestEvent) {
    match ev {
        IngestEvent::Track(t) => publisher.track(t),
        IngestEvent::Frame(f) => publisher.frame(f),
        IngestEvent::Lost(t) => publisher.lost(t),
    }
}
