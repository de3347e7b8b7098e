//! WHEP players: hub units → str0m frames.
//!
//! Write-once: a video unit's Annex B access unit (parameter sets from the track's
//! configuration put before each keyframe that lacks them) and an Opus unit's payload are
//! built once per unit as a shared `Arc<[u8]>`; every player's str0m packetizes that same
//! buffer with its own SSRC and SRTP keys, which cannot be shared. The cached GOP a player
//! starts with is paced ([`Pacer`]) so a join does not flood the shared socket, and a
//! player's keyframe requests are answered from what it was just sent, or passed (rate
//! limited) to a WHIP publisher — never relayed one for one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use str0m::format::PayloadParams;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::{Event, Rtc, RtcConfig};
use tracing::{debug, info, warn};
use weir_media::{Codec, Timebase, TrackId, TrackInfo};

use super::driver::{Driver, Flow};
use super::io::{Registration, WebRtc};
use super::pace::Pacer;
use super::sdp::PlayPlan;
use super::WebRtcConfig;
use crate::core::{EncodingKey, Subscription, Unit, UnitKind};

/// A video unit as str0m takes it: one Annex B access unit.
static ANNEXB: EncodingKey<Option<Arc<[u8]>>> = EncodingKey::new();
/// An audio unit's payload, shared.
static AUDIO: EncodingKey<Arc<[u8]>> = EncodingKey::new();

/// A player that asks for a keyframe within this of the last one it was sent is answered
/// by that keyframe (it was asking while it had not decoded it yet).
const KEYFRAME_FRESH: Duration = Duration::from_secs(1);

/// str0m configured for a player of a stream whose video is `video`.
pub(crate) fn rtc(cfg: &WebRtcConfig, video: Option<Codec>, now: Instant) -> Rtc {
    let mut c = RtcConfig::new()
        .set_ice_lite(true)
        .clear_codecs()
        .enable_h264(true)
        .enable_opus(true, false)
        .set_send_buffer_video(cfg.nack_buffer_packets.max(16));
    if video == Some(Codec::H265) {
        c = c.enable_h265(true);
    }
    c.build(now)
}

/// The Annex B form of a video frame unit.
fn annexb(u: &Unit) -> Option<Arc<[u8]>> {
    let f = u.frame_data()?;
    let track = u.track()?;
    let mut out = BytesMut::with_capacity(f.data.len() + 64);
    if f.keyframe && !has_parameter_sets(track.codec, &f.data) {
        let ps = match track.codec {
            Codec::H264 => weir_h264::AvcConfig::parse(&track.config)
                .ok()
                .map(|c| c.to_annexb()),
            Codec::H265 => weir_h265::HevcConfig::parse(&track.config)
                .ok()
                .map(|c| c.to_annexb()),
            _ => None,
        };
        if let Some(ps) = ps {
            out.extend_from_slice(&ps);
        }
    }
    weir_media::nal::length_prefixed_to_annexb(&f.data, 4, &mut out).ok()?;
    Some(Arc::from(&out[..]))
}

/// Whether an access unit (4-byte length-prefixed) carries an SPS.
fn has_parameter_sets(codec: Codec, data: &bytes::Bytes) -> bool {
    let Ok(nalus) = weir_media::nal::length_prefixed_nalus(data, 4) else {
        return false;
    };
    nalus.flatten().any(|n| match (codec, n.first()) {
        (Codec::H264, Some(b)) => b & 0x1F == 7,
        (Codec::H265, Some(b)) => (b >> 1) & 0x3F == 33,
        _ => false,
    })
}

/// The payload type to send `track` with among what was negotiated on a video media: the
/// codec's, with packetization-mode 1 for H.264 and, preferably, the source's profile.
fn video_pt<'a>(params: impl Iterator<Item = &'a PayloadParams>, track: &TrackInfo) -> Option<Pt> {
    let want = match track.codec {
        Codec::H264 => str0m::format::Codec::H264,
        Codec::H265 => str0m::format::Codec::H265,
        _ => return None,
    };
    let profile = match track.codec {
        Codec::H264 => weir_h264::AvcConfig::parse(&track.config)
            .ok()
            .map(|c| u32::from(c.profile_idc)),
        _ => None,
    };
    let mut best: Option<(u8, Pt)> = None;
    for p in params {
        let spec = p.spec();
        if spec.codec != want {
            continue;
        }
        if want == str0m::format::Codec::H264 && spec.format.packetization_mode != Some(1) {
            continue;
        }
        let same_profile = match (profile, spec.format.profile_level_id) {
            (Some(a), Some(plid)) => a == plid >> 16,
            _ => false,
        };
        let score = if same_profile { 2 } else { 1 };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, p.pt()));
        }
    }
    best.map(|(_, pt)| pt)
}

/// One WHEP player.
pub(crate) struct Player {
    pub(crate) driver: Driver,
    pub(crate) sub: Subscription,
    pub(crate) plan: PlayPlan,
    pub(crate) webrtc: Arc<WebRtc>,
    pub(crate) registration: Registration,
}

/// The per-player sending state.
struct Out {
    video_track: Option<TrackId>,
    audio_track: Option<TrackId>,
    video: Option<(Mid, Option<Pt>)>,
    audio: Option<(Mid, Option<Pt>)>,
    /// Wall clock of stream time 0 (str0m's sender reports map RTP time to it).
    epoch: Instant,
    last_keyframe: Option<Instant>,
    warned_reorder: bool,
    sent_frames: u64,
    absorbed_requests: u64,
}

impl Player {
    /// Runs until the player leaves, the stream ends, the resource is deleted or the
    /// session never connects.
    pub(crate) async fn run(mut self) {
        let why = self.serve().await;
        info!(session = %self.driver.label, reason = %why, "WHEP session ended");
        drop(self.registration);
    }

    async fn serve(&mut self) -> String {
        let tracks = self.sub.tracks().to_vec();
        let first = |kind: weir_media::MediaKind| {
            tracks.iter().find(|t| t.codec.kind() == kind).map(|t| t.id)
        };
        let now = Instant::now();
        let mut out = Out {
            video_track: self.plan.video.and(first(weir_media::MediaKind::Video)),
            audio_track: self.plan.audio.and(first(weir_media::MediaKind::Audio)),
            video: None,
            audio: None,
            epoch: now,
            last_keyframe: None,
            warned_reorder: false,
            sent_frames: 0,
            absorbed_requests: 0,
        };
        let cfg = &self.webrtc.config;
        let mut pacer = Pacer::new(
            cfg.join_burst_kbps,
            (cfg.join_burst_kbps as usize * 1000 / 8 / 10).max(256 << 10),
            now,
        );
        let mut stop = self.webrtc.stopping();
        let link = self.driver.link.clone();
        let mut pending: Option<Arc<Unit>> = None;
        loop {
            if let Err(e) = self.driver.drain() {
                return format!("WebRTC error: {e}");
            }
            while let Some(ev) = self.driver.events.pop_front() {
                if let Some(why) = self.event(ev, &mut out, &tracks) {
                    return why;
                }
            }
            let wake = if self.driver.connected {
                self.driver.timeout
            } else {
                self.driver.timeout.min(self.driver.connect_by)
            };
            let now = Instant::now();
            let send_at = pending
                .as_ref()
                .map_or(now, |u| pacer.ready_at(u.len(), now));
            let flow = tokio::select! {
                m = self.driver.rx.recv() => match m {
                    Some(m) => self.driver.input(m, Instant::now()),
                    None => Flow::End("port closed".into()),
                },
                _ = tokio::time::sleep_until(wake.into()) => self.driver.handle_timeout(Instant::now()),
                _ = tokio::time::sleep_until(send_at.into()), if pending.is_some() => {
                    if let Some(u) = pending.take() {
                        let now = Instant::now();
                        pacer.take(u.len(), now);
                        self.write(&u, &mut out, now);
                    }
                    Flow::Continue
                }
                u = self.sub.next(), if pending.is_none() && self.driver.connected => match u {
                    Some(u) => {
                        pending = Some(u);
                        Flow::Continue
                    }
                    None => Flow::End("the stream ended".into()),
                },
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

    fn event(&mut self, ev: Event, out: &mut Out, tracks: &[Arc<TrackInfo>]) -> Option<String> {
        if let Some(why) = Driver::ended_by(&ev).filter(|_| self.driver.connected) {
            return Some(why);
        }
        match ev {
            Event::MediaAdded(m) => {
                let writer = self.driver.rtc.writer(m.mid)?;
                match m.kind {
                    MediaKind::Video => {
                        let track = tracks.iter().find(|t| Some(t.id) == out.video_track);
                        let pt = track.and_then(|t| video_pt(writer.payload_params(), t));
                        debug!(session = %self.driver.label, ?pt, "video media");
                        out.video = Some((m.mid, pt));
                    }
                    MediaKind::Audio => {
                        let pt = writer
                            .payload_params()
                            .find(|p| p.spec().codec == str0m::format::Codec::Opus)
                            .map(|p| p.pt());
                        out.audio = Some((m.mid, pt));
                    }
                }
            }
            Event::KeyframeRequest(r) => {
                let now = Instant::now();
                let fresh = out
                    .last_keyframe
                    .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_FRESH);
                if fresh || !self.webrtc.request_keyframe(self.sub.key(), now) {
                    out.absorbed_requests += 1;
                }
                debug!(session = %self.driver.label, kind = ?r.kind, fresh, "keyframe request");
            }
            _ => {}
        }
        None
    }

    fn write(&mut self, u: &Unit, out: &mut Out, now: Instant) {
        let Some(f) = u.frame_data() else { return };
        let (mid, pt, data, freq) = match u.kind() {
            UnitKind::Video if Some(f.track) == out.video_track => {
                let Some((mid, Some(pt))) = out.video else {
                    return;
                };
                let Some(data) = u.encoding(&ANNEXB, annexb).clone() else {
                    return;
                };
                if f.composition_offset() != 0 && !out.warned_reorder {
                    out.warned_reorder = true;
                    warn!(session = %self.driver.label, "the stream has B-frames: browsers decode WebRTC video without reordering and may stutter");
                }
                (mid, pt, data, Frequency::NINETY_KHZ)
            }
            UnitKind::Audio if Some(f.track) == out.audio_track => {
                let Some((mid, Some(pt))) = out.audio else {
                    return;
                };
                let data = u.encoding(&AUDIO, |_| Arc::from(&f.data[..])).clone();
                (mid, pt, data, Frequency::FORTY_EIGHT_KHZ)
            }
            _ => return,
        };
        let tb = Timebase::hz(freq.get()).unwrap_or(Timebase::MPEG);
        let ticks = f.pts.rescale(tb).ticks().max(0) as u64;
        let wallclock = out.epoch + Duration::from_secs_f64(ticks as f64 / f64::from(freq.get()));
        let Some(writer) = self.driver.rtc.writer(mid) else {
            return;
        };
        match writer.write(pt, wallclock, MediaTime::new(ticks, freq), data) {
            Ok(()) => {
                out.sent_frames += 1;
                if f.keyframe && u.kind() == UnitKind::Video {
                    out.last_keyframe = Some(now);
                }
            }
            Err(e) => debug!(session = %self.driver.label, error = %e, "frame not sent"),
        }
    }
}
