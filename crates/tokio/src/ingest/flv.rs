//! FLV-tag ingest: what an RTMP publisher (or an HTTP-FLV source) sends — FLV video and
//! audio tag bodies with a 32-bit millisecond clock, and `onMetaData` — demuxed once into
//! tracks and frames for the hub ([`weir_flv::FlvDemuxer`]: the clock extended past its
//! wrap — RTMP's at 2³² ms, and ffmpeg's and OBS's, which keep 31 bits, at 2³¹ ms — NAL
//! units re-framed to the canonical layout zero-copy).
//!
//! The publisher's own tag bodies are seeded as the units' FLV encoding, so FLV and RTMP
//! players receive exactly the bytes the publisher sent (legacy HEVC codec id 12 included)
//! and nobody re-muxes FLV for them.

use bytes::Bytes;
use tracing::debug;
use weir_flv::{FlvDemuxer, FlvEvent, Metadata, TagType};

use crate::core::Publisher;
use crate::format::flv;

/// Publishes FLV tag bodies (RTMP audio/video/data messages) into a hub stream.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bytes::Bytes;
/// use weir_tokio::core::Hub;
/// use weir_tokio::ingest::FlvPublisher;
///
/// let hub = Hub::default();
/// let mut p = FlvPublisher::new(hub.publish("live/cam", "rtmp").unwrap());
/// // An AAC sequence header (AudioSpecificConfig 0x1210: LC, 44.1 kHz, stereo), one frame.
/// p.audio(0, Bytes::from_static(&[0xAF, 0, 0x12, 0x10]));
/// p.audio(23, Bytes::from_static(&[0xAF, 1, 0x21, 0x00]));
/// let streams = hub.streams();
/// assert_eq!(streams[0].tracks.len(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct FlvPublisher {
    publisher: Publisher,
    demux: FlvDemuxer,
    events: Vec<FlvEvent>,
}

impl FlvPublisher {
    /// Wraps a hub publisher.
    pub fn new(publisher: Publisher) -> FlvPublisher {
        FlvPublisher {
            publisher,
            demux: FlvDemuxer::new(),
            events: Vec::new(),
        }
    }

    /// The hub publisher.
    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// `app/stream`.
    pub fn key(&self) -> &str {
        self.publisher.key()
    }

    /// An FLV video tag body with its 32-bit millisecond timestamp.
    pub fn video(&mut self, timestamp: u32, body: Bytes) {
        self.tag(TagType::Video, timestamp, body);
    }

    /// An FLV audio tag body.
    pub fn audio(&mut self, timestamp: u32, body: Bytes) {
        self.tag(TagType::Audio, timestamp, body);
    }

    /// `onMetaData`.
    pub fn metadata(&mut self, md: &Metadata) {
        let (md, kinds) = flv::metadata_from_flv(md);
        self.publisher.metadata(md, &kinds);
    }

    fn tag(&mut self, tag_type: TagType, timestamp: u32, body: Bytes) {
        if let Err(e) = self.demux.push(tag_type, timestamp, &body) {
            debug!(stream = self.publisher.key(), error = %e, "FLV body not demuxable; dropped");
        }
        self.events.clear();
        while let Some(ev) = self.demux.poll_event() {
            self.events.push(ev);
        }
        // The publisher's bytes stand for the unit when the tag is exactly one unit (not
        // an E-RTMP multitrack tag, which is muxed anew per track).
        let single = self.events.len() == 1;
        for ev in self.events.drain(..) {
            match ev {
                FlvEvent::Track(info) => self.publisher.track_with(info, |u| {
                    if single {
                        flv::seed_body(u, body.clone());
                    }
                }),
                FlvEvent::Frame(f) => self.publisher.frame_with(f, |u| {
                    if single {
                        flv::seed_body(u, body.clone());
                    }
                }),
                FlvEvent::EndOfSequence(_) => {}
                other => {
                    debug!(stream = self.publisher.key(), event = ?other, "FLV event not relayed")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Hub, HubConfig, TryNext, UnitKind};
    use std::time::Duration;

    /// A real 320x240 baseline avcC as an AVC sequence header body.
    pub(crate) fn avc_config() -> Bytes {
        let sps = Bytes::from_static(&[
            0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
            0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
        ]);
        let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
        let c = weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps]).unwrap();
        let mut b = vec![0x17, 0, 0, 0, 0];
        b.extend_from_slice(&c.to_bytes());
        Bytes::from(b)
    }

    fn picture(key: bool, id: u8) -> Bytes {
        let nal = if key { 0x65 } else { 0x41 };
        Bytes::from(vec![
            if key { 0x17 } else { 0x27 },
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            2,
            nal,
            id,
        ])
    }

    /// FLV bodies are classified by the FLV demuxer: a sequence header is a configuration,
    /// frame types give keyframes; what cannot be demuxed (end of sequence, garbage) is
    /// not relayed and is never a keyframe. The publisher's bytes are what players get.
    #[tokio::test]
    async fn flv_bodies_become_configs_and_frames_with_their_own_bytes() {
        let hub = Hub::new(HubConfig {
            track_wait: Duration::from_millis(1),
            ..HubConfig::default()
        });
        let mut p = FlvPublisher::new(hub.publish("live/f", "rtmp").unwrap());
        p.video(0, avc_config());
        p.video(0, picture(true, 1));
        p.video(40, picture(false, 2));
        p.video(40, Bytes::from_static(&[0x17, 2, 0, 0, 0])); // AVC end of sequence
        p.video(80, Bytes::from_static(&[0xff])); // garbage
        let mut s = hub
            .subscribe_within("live/f", "test", Duration::from_millis(100))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let TryNext::Unit(u) = s.try_next() {
            got.push(u);
        }
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].is_config() && got[0].kind() == UnitKind::Video);
        assert_eq!(flv::body(&got[0]), &avc_config());
        assert!(got[1].is_keyframe());
        assert_eq!(flv::body(&got[1]), &picture(true, 1));
        assert!(!got[2].is_keyframe());
        assert_eq!(flv::body(&got[2]), &picture(false, 2));
        assert_eq!(flv::timestamp(&got[2]), 40);
    }
}
