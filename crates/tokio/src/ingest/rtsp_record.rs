//! RTSP publish (ANNOUNCE/RECORD): the tracks of the announced SDP, each through the
//! frame-ingest pipeline (jitter buffer on UDP), put on one stream clock with the
//! publisher's RTCP sender reports ([`Retimer`]) and handed to the hub.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{debug, info};
use weir_media::TrackId;
use weir_rtp_rtcp::{Compound, RtcpLimits, RtcpPacket, RtpPacket};

use super::pipeline::{sdp_media, EsDecoder, IngestEvent, Retimer, RtpIngest, DEFAULT_STREAM_LEAD};
use super::publish_event;
use crate::core::Publisher;
use crate::net::rtp_transport::RtpTransport;

/// One announced track.
struct InTrack {
    /// The `a=control` URL SETUP names it by.
    control: String,
    id: TrackId,
    clock_rate: u32,
    /// The pipeline; made at SETUP (with a jitter buffer for UDP).
    ingest: Option<RtpIngest<EsDecoder>>,
    /// The decoder until SETUP.
    decoder: Option<EsDecoder>,
    transport: Option<RtpTransport>,
}

/// An RTSP publisher: ANNOUNCE → SETUP (per track) → RECORD.
pub(crate) struct RtspRecorder {
    publisher: Publisher,
    tracks: Vec<InTrack>,
    retimer: Retimer,
    jitter_latency: Duration,
    /// RECORD was accepted.
    pub(crate) recording: bool,
}

/// The tracks of an announced SDP: (control URL, decoder) for every media whose format the
/// relay can depacketize; others are skipped with a log line. The same mapping (and camera
/// quirks) as an RTSP pull's DESCRIBE answer: [`sdp_media`].
pub(crate) fn parse_announce(uri: &str, sdp: &[u8]) -> Result<Vec<(String, EsDecoder)>, String> {
    let d = weir_sdp::SessionDescription::parse(sdp).map_err(|e| e.to_string())?;
    let mut tracks = Vec::new();
    for m in sdp_media(&d, uri) {
        match m.decoder {
            Ok(decoder) => tracks.push((m.control, decoder)),
            Err(e) => debug!(media = m.index, error = %e, "RTSP ANNOUNCE: media skipped"),
        }
    }
    Ok(tracks)
}

impl RtspRecorder {
    /// A publisher for the tracks of an ANNOUNCE.
    pub(crate) fn new(
        publisher: Publisher,
        tracks: Vec<(String, EsDecoder)>,
        jitter_latency: Duration,
    ) -> RtspRecorder {
        for (_, d) in &tracks {
            let info = d.info();
            if info.config.is_empty()
                && matches!(
                    info.codec,
                    weir_media::Codec::H264 | weir_media::Codec::H265
                )
            {
                info!(stream = publisher.key(), codec = %info.codec, "RTSP ANNOUNCE without parameter sets: waiting for them in band");
            }
        }
        RtspRecorder {
            tracks: tracks
                .into_iter()
                .map(|(control, d)| InTrack {
                    control,
                    id: d.info().id,
                    clock_rate: d.info().clock_rate,
                    ingest: None,
                    decoder: Some(d),
                    transport: None,
                })
                .collect(),
            publisher,
            retimer: Retimer::new(DEFAULT_STREAM_LEAD),
            jitter_latency,
            recording: false,
        }
    }

    /// `app/stream`.
    pub(crate) fn key(&self) -> &str {
        self.publisher.key()
    }

    /// The track a SETUP URL names.
    pub(crate) fn track_for_setup(&self, uri: &str) -> Option<usize> {
        let norm = |s: &str| s.trim().trim_end_matches('/').to_string();
        self.tracks
            .iter()
            .position(|t| norm(&t.control) == norm(uri))
            .or_else(|| {
                self.tracks.iter().position(|t| {
                    t.control
                        .rsplit('/')
                        .next()
                        .is_some_and(|c| uri.trim_end_matches('/').ends_with(c))
                })
            })
    }

    /// Track `idx` arrives over `transport`.
    pub(crate) fn set_transport(&mut self, idx: usize, transport: RtpTransport) {
        let latency = self.jitter_latency;
        let Some(t) = self.tracks.get_mut(idx) else {
            return;
        };
        let reorder = transport.is_udp().then_some((t.clock_rate, latency));
        if let Some(d) = t.decoder.take() {
            t.ingest = Some(RtpIngest::new(d, reorder));
        }
        t.transport = Some(transport);
    }

    /// Some track has a transport (RECORD may start).
    pub(crate) fn has_transport(&self) -> bool {
        self.tracks.iter().any(|t| t.transport.is_some())
    }

    /// Whether any track arrives over UDP.
    pub(crate) fn uses_udp(&self) -> bool {
        self.tracks
            .iter()
            .any(|t| t.transport.as_ref().is_some_and(RtpTransport::is_udp))
    }

    /// An interleaved frame; false when its channel is none of the publisher's.
    pub(crate) fn interleaved(&mut self, channel: u8, payload: Bytes, now: Instant) -> bool {
        for i in 0..self.tracks.len() {
            match self.tracks[i].transport {
                Some(RtpTransport::Tcp { rtp, .. }) if rtp == channel => {
                    self.rtp_in(i, payload, now);
                    return true;
                }
                Some(RtpTransport::Tcp { rtcp: Some(c), .. }) if c == channel => {
                    self.rtcp_in(i, payload);
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    /// A datagram of track `idx`.
    pub(crate) fn datagram(&mut self, idx: usize, rtcp: bool, data: Bytes, now: Instant) {
        if rtcp {
            self.rtcp_in(idx, data);
        } else {
            self.rtp_in(idx, data, now);
        }
    }

    fn rtcp_in(&mut self, idx: usize, data: Bytes) {
        let Ok(c) = Compound::parse(data, &RtcpLimits::default()) else {
            return;
        };
        let Some(id) = self.tracks.get(idx).map(|t| t.id) else {
            return;
        };
        for p in c.packets {
            if let RtcpPacket::SenderReport(sr) = p {
                self.retimer.sender_report(id, sr.ntp_time, sr.rtp_time);
            }
        }
    }

    fn rtp_in(&mut self, idx: usize, data: Bytes, now: Instant) {
        let Ok(pkt) = RtpPacket::parse(data) else {
            debug!(stream = self.key(), "RTSP: malformed RTP dropped");
            return;
        };
        if let Some(ingest) = self.tracks.get_mut(idx).and_then(|t| t.ingest.as_mut()) {
            ingest.push(pkt, now);
        }
        self.publish(idx, now);
    }

    fn publish(&mut self, idx: usize, now: Instant) {
        let Some(t) = self.tracks.get_mut(idx) else {
            return;
        };
        let clock = t.clock_rate;
        let Some(ingest) = t.ingest.as_mut() else {
            return;
        };
        while let Some(ev) = ingest.poll_event() {
            let ev = match ev {
                IngestEvent::Frame(f) => IngestEvent::Frame(self.retimer.retime(f, clock, now)),
                other => other,
            };
            publish_event(&self.publisher, ev);
        }
    }

    /// When the jitter buffers want [`RtspRecorder::handle_timeout`].
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.tracks
            .iter()
            .filter_map(|t| t.ingest.as_ref().and_then(RtpIngest::poll_timeout))
            .min()
    }

    /// Lets the jitter buffers give up on late packets.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.tracks.len() {
            if let Some(ingest) = self.tracks[i].ingest.as_mut() {
                ingest.handle_timeout(now);
            }
            self.publish(i, now);
        }
    }

    /// Publishes everything still in flight (jitter buffers, partial frames); the stream
    /// then waits out its grace period when the recorder is dropped.
    pub(crate) fn finish(&mut self, now: Instant) {
        for i in 0..self.tracks.len() {
            if let Some(ingest) = self.tracks[i].ingest.as_mut() {
                ingest.finish(now);
            }
            self.publish(i, now);
        }
        info!(stream = self.key(), "RTSP publisher left");
    }
}
