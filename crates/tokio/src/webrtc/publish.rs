//! WHIP publishers: str0m (in RTP mode) → the relay's RTP ingest pipeline (reorder →
//! weir-rtp-rtcp depacketizers → in-band parameter sets → decode timestamps) → one stream
//! clock ([`Retimer`]) → the hub, like an RTSP publisher's tracks. Players' keyframe
//! requests arrive rate-limited through the port ([`WebRtc::request_keyframe`]) and go to
//! the browser or encoder as a PLI; so does a loss the pipeline could not repair.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use str0m::media::{KeyframeRequestKind, MediaKind, Mid};
use str0m::rtp::RtpPacket as StrPacket;
use str0m::{Event, Rtc, RtcConfig};
use tokio::sync::Notify;
use tracing::{debug, info};
use weir_media::TrackId;
use weir_rtp_rtcp::payload::{track_for, DepacketizerConfig};
use weir_rtp_rtcp::{RtpHeader, RtpPacket};

use super::driver::{Driver, Flow};
use super::io::{Registration, WebRtc};
use super::pace::KeyframeLimiter;
use crate::core::Publisher;
use crate::ingest::pipeline::{EsDecoder, IngestEvent, Retimer, RtpIngest};
use crate::ingest::publish_event;

/// Stream time starts here, leaving room for decode times before the first presentation
/// time (as for RTSP publishers).
const STREAM_LEAD: Duration = Duration::from_secs(1);
/// Packets of unknown payload types logged at most.
const UNKNOWN_PT_LOGS: u32 = 4;

/// str0m configured for a publisher: RTP mode (the relay depacketizes), H.264, H.265, Opus.
pub(crate) fn rtc(now: Instant) -> Rtc {
    RtcConfig::new()
        .set_ice_lite(true)
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_h264(true)
        .enable_h265(true)
        .enable_opus(true, false)
        .build(now)
}

/// One incoming track.
struct InTrack {
    pt: u8,
    clock: u32,
    video: bool,
    ingest: RtpIngest<EsDecoder>,
}

/// One WHIP publisher.
pub(crate) struct WhipPublisher {
    pub(crate) driver: Driver,
    pub(crate) publisher: Publisher,
    pub(crate) webrtc: Arc<WebRtc>,
    pub(crate) registration: Registration,
}

struct In {
    tracks: Vec<InTrack>,
    retimer: Retimer,
    pool: BytesMut,
    unknown_logged: u32,
    /// Keyframe requests sent to the client (players' and our own after loss).
    limiter: KeyframeLimiter,
    video_mid: Option<Mid>,
    wants_keyframe: bool,
}

impl WhipPublisher {
    /// Runs until the client leaves, the resource is deleted or the session never
    /// connects; then publishes what is still buffered and unpublishes.
    pub(crate) async fn run(mut self) {
        let notify = Arc::new(Notify::new());
        self.webrtc
            .add_upstream(self.publisher.key(), self.publisher.id(), notify.clone());
        let mut st = In {
            tracks: Vec::new(),
            retimer: Retimer::new(STREAM_LEAD),
            pool: BytesMut::new(),
            unknown_logged: 0,
            limiter: KeyframeLimiter::new(self.webrtc.config.keyframe_request_interval),
            video_mid: None,
            wants_keyframe: false,
        };
        let why = self.serve(&mut st, &notify).await;
        let now = Instant::now();
        for i in 0..st.tracks.len() {
            st.tracks[i].ingest.finish(now);
            publish(&self.publisher, &mut st, i, now);
        }
        info!(session = %self.driver.label, reason = %why, "WHIP session ended");
        drop(self.registration);
    }

    async fn serve(&mut self, st: &mut In, notify: &Notify) -> String {
        let mut stop = self.webrtc.stopping();
        let link = self.driver.link.clone();
        loop {
            if st.wants_keyframe {
                st.wants_keyframe = false;
                self.request_keyframe(st);
            }
            if let Err(e) = self.driver.drain() {
                return format!("WebRTC error: {e}");
            }
            while let Some(ev) = self.driver.events.pop_front() {
                if let Some(why) = Driver::ended_by(&ev).filter(|_| self.driver.connected) {
                    return why;
                }
                match ev {
                    Event::MediaAdded(m) if m.kind == MediaKind::Video => {
                        st.video_mid.get_or_insert(m.mid);
                    }
                    Event::RtpPacket(p) => self.rtp(st, p),
                    _ => {}
                }
            }
            let mut wake = self.driver.timeout;
            if !self.driver.connected {
                wake = wake.min(self.driver.connect_by);
            }
            if let Some(t) = st
                .tracks
                .iter()
                .filter_map(|t| t.ingest.poll_timeout())
                .min()
            {
                wake = wake.min(t);
            }
            let flow = tokio::select! {
                m = self.driver.rx.recv() => match m {
                    Some(m) => self.driver.input(m, Instant::now()),
                    None => Flow::End("port closed".into()),
                },
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    for i in 0..st.tracks.len() {
                        st.tracks[i].ingest.handle_timeout(now);
                        publish(&self.publisher, st, i, now);
                    }
                    self.driver.handle_timeout(now)
                }
                () = notify.notified() => {
                    st.wants_keyframe = true;
                    Flow::Continue
                }
                () = link.kicked() => Flow::End("kicked".into()),
                _ = stop.changed() => Flow::End("server shutting down".into()),
            };
            if let Flow::End(why) = flow {
                let _ = self.driver.rtc.close();
                let _ = self.driver.drain();
                return why;
            }
        }
    }

    /// Asks the client for a keyframe (PLI), at most once per interval.
    fn request_keyframe(&mut self, st: &mut In) {
        let Some(mid) = st.video_mid else { return };
        if !st.limiter.allow(Instant::now()) {
            return;
        }
        let mut api = self.driver.rtc.direct_api();
        if let Some(rx) = api.stream_rx_by_mid(mid, None) {
            rx.request_keyframe(KeyframeRequestKind::Pli);
            debug!(session = %self.driver.label, "keyframe requested from the publisher");
        }
    }

    /// One RTP packet from str0m (decrypted, RTX repaired).
    fn rtp(&mut self, st: &mut In, p: StrPacket) {
        let pt = *p.header.payload_type;
        let now = Instant::now();
        let i = match st.tracks.iter().position(|t| t.pt == pt) {
            Some(i) => i,
            None => match self.new_track(st, pt) {
                Some(i) => i,
                None => return,
            },
        };
        let mut h = RtpHeader::new(
            pt,
            p.header.sequence_number,
            p.header.timestamp,
            *p.header.ssrc,
        );
        h.marker = p.header.marker;
        if st.pool.capacity() < 2048 {
            st.pool.reserve(64 << 10);
        }
        if h.write_with_payload(&p.payload, &mut st.pool).is_err() {
            st.pool.clear();
            return;
        }
        let Ok(pkt) = RtpPacket::parse(st.pool.split().freeze()) else {
            return;
        };
        st.tracks[i].ingest.push(pkt, now);
        publish(&self.publisher, st, i, now);
    }

    fn new_track(&mut self, st: &mut In, pt: u8) -> Option<usize> {
        let spec = self
            .driver
            .rtc
            .codec_config()
            .find(|c| *c.pt() == pt)
            .map(|c| c.spec());
        let (rtpmap, fmtp, video) = match spec.map(|s| s.codec) {
            Some(str0m::format::Codec::H264) => ("H264/90000", "packetization-mode=1", true),
            Some(str0m::format::Codec::H265) => ("H265/90000", "", true),
            Some(str0m::format::Codec::Opus) => ("opus/48000/2", "", false),
            other => {
                if st.unknown_logged < UNKNOWN_PT_LOGS {
                    st.unknown_logged += 1;
                    debug!(session = %self.driver.label, pt, codec = ?other, "RTP of a codec the relay does not take: dropped");
                }
                return None;
            }
        };
        // One track per kind.
        if st.tracks.iter().any(|t| t.video == video) {
            return None;
        }
        let id = TrackId(if video { 0 } else { 1 });
        let clock = if video { 90_000 } else { 48_000 };
        let cfg = DepacketizerConfig::new(clock).with_track(id);
        let (depack, info) = track_for(rtpmap, Some(fmtp), cfg).ok()?;
        info!(session = %self.driver.label, codec = %info.codec, "WHIP track");
        let latency = self.webrtc.config.jitter_latency;
        st.tracks.push(InTrack {
            pt,
            clock,
            video,
            ingest: RtpIngest::new(EsDecoder::new(info, depack), Some((clock, latency))),
        });
        Some(st.tracks.len() - 1)
    }
}

/// Hands the pipeline's events of track `i` to the hub (frames on the stream clock).
fn publish(publisher: &Publisher, st: &mut In, i: usize, now: Instant) {
    let In {
        tracks,
        retimer,
        wants_keyframe,
        ..
    } = st;
    let Some(t) = tracks.get_mut(i) else { return };
    let (clock, video) = (t.clock, t.video);
    while let Some(ev) = t.ingest.poll_event() {
        let ev = match ev {
            IngestEvent::Frame(f) => IngestEvent::Frame(retimer.retime(f, clock, now)),
            IngestEvent::Lost(id) => {
                if video {
                    *wants_keyframe = true;
                }
                IngestEvent::Lost(id)
            }
            other => other,
        };
        publish_event(publisher, ev);
    }
}
