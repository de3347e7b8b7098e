//! RTSP play: DESCRIBE (SDP from the stream's RTP tracks), SETUP per track (interleaved or
//! a UDP port pair), PLAY with `RTP-Info`, PAUSE, and the packets themselves — the
//! stream's write-once RTP ([`crate::format::rtp`]), identical for every player — with an
//! RTCP sender report per track every few seconds.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tracing::info;
use weir_media::{MediaKind, Timebase, Timestamp, TrackId};
use weir_rtp_rtcp::rtcp::{SenderReport, SourceDescription};
use weir_rtp_rtcp::{Compound, NtpTime, RtcpPacket};
use weir_rtsp_proto::headers::RtpInfo;
use weir_rtsp_proto::ServerSession;

use crate::core::{Hub, HubError, Peer, SubscribeOptions, Subscription, TryNext, Unit};
use crate::format::rtp::{self, RtpPackets, RtpStage, RtpTrack};
use crate::net::random_u64;
use crate::net::rtp_transport::RtpTransport;
use crate::net::UdpBatch;

/// Units sent per batch before the socket is written.
const BATCH_UNITS: usize = 16;
/// Interval between RTCP sender reports.
const SR_INTERVAL: Duration = Duration::from_secs(2);

/// One track of a player: the stream's shared RTP track and where this player gets it.
struct OutTrack {
    rtp: Arc<RtpTrack>,
    transport: Option<RtpTransport>,
    /// Packets and payload octets sent to this player (its sender reports).
    packets: u32,
    octets: u32,
    /// Sequence number of the last packet sent.
    sent_seq: Option<u16>,
    /// Resumed after PAUSE: video waits for a keyframe it has not sent yet.
    await_key: bool,
}

impl OutTrack {
    /// Whether `unit`'s packets are new to this player. The packets are shared by every
    /// player, so after PAUSE the cached GOP the player already got is not sent again
    /// (its sequence numbers would run backwards); video resumes at the next keyframe.
    fn fresh(&self, rtp: &RtpPackets, keyframe: bool) -> bool {
        let newer = self
            .sent_seq
            .is_none_or(|last| rtp.first_seq.wrapping_sub(last) as i16 > 0);
        newer && (!self.await_key || keyframe)
    }

    /// The track's sender report for wallclock `ntp`, when the stream time is `time`;
    /// none before anything was sent.
    fn sender_report(&self, ntp: NtpTime, time: Timestamp) -> Option<Bytes> {
        self.sent_seq?;
        let ssrc = self.rtp.ssrc;
        let sr = SenderReport {
            ssrc,
            ntp_time: ntp,
            rtp_time: self.rtp.rtp_time_of(time),
            packet_count: self.packets,
            octet_count: self.octets,
            ..SenderReport::default()
        };
        let sdes = SourceDescription::cname(ssrc, "weir");
        Compound::new(vec![
            RtcpPacket::SenderReport(sr),
            RtcpPacket::SourceDescription(sdes),
        ])
        .to_bytes()
        .ok()
    }
}

/// What the sender reports map the wallclock to: the stream time (decode time) of the
/// latest unit sent before the first report, at the instant it went out (past the burst of
/// the cached GOP a player starts with); a live stream advances with the wallclock from
/// there. One mapping for all tracks, fixed for the session, so that receivers line the
/// tracks up by it (RFC 3550 §6.4.1) and never see their timestamps move when a report
/// arrives — as they would with a mapping taken from each track's latest packet (video
/// RTP timestamps are presentation times, sent in decode order).
#[derive(Clone, Copy, Debug)]
struct ReportClock {
    stream: Timestamp,
    at: Instant,
    wall: SystemTime,
}

impl ReportClock {
    /// (wallclock, stream time) at `now`.
    fn at(&self, now: Instant) -> (NtpTime, Timestamp) {
        let elapsed = now.saturating_duration_since(self.at);
        let ns = self.stream.rescale(Timebase::NANOS).ticks();
        let since = i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX);
        (
            NtpTime::from_system_time(self.wall.checked_add(elapsed).unwrap_or(self.wall)),
            Timestamp::new(ns.saturating_add(since), Timebase::NANOS),
        )
    }
}

/// The play side of an RTSP connection.
#[derive(Default)]
pub(crate) struct RtspPlayer {
    key: Option<String>,
    sub: Option<Subscription>,
    tracks: Vec<OutTrack>,
    /// UDP datagrams queued for this player (sent in batches).
    udp_out: UdpBatch,
    playing: bool,
    /// First unit taken to anchor RTP-Info, sent first after PLAY.
    pending: Option<Arc<Unit>>,
    next_sr: Option<tokio::time::Instant>,
    /// Stream time of the latest unit sent, and when.
    last_sent: Option<(Timestamp, Instant)>,
    /// Fixed at the first sender report.
    report_clock: Option<ReportClock>,
    units: Vec<Arc<Unit>>,
}

impl RtspPlayer {
    /// Subscribed to `key` (DESCRIBE or SETUP happened, not paused).
    pub(crate) fn subscribed_to(&self, key: &str) -> bool {
        self.sub.is_some() && self.key.as_deref() == Some(key)
    }

    /// Playing (PLAY accepted, not paused).
    pub(crate) fn playing(&self) -> bool {
        self.playing && self.sub.is_some()
    }

    /// Number of RTP tracks described.
    pub(crate) fn track_count(&self) -> usize {
        self.tracks.len()
    }

    /// Some track has a transport.
    pub(crate) fn has_transport(&self) -> bool {
        self.tracks.iter().any(|t| t.transport.is_some())
    }

    /// Subscribes to `key` with the stream's RTP stage; keeps the transports set up when
    /// it is the same stream with the same RTP tracks (PLAY after PAUSE).
    pub(crate) async fn subscribe(
        &mut self,
        hub: &Hub,
        key: &str,
        peer: Peer,
    ) -> Result<(), HubError> {
        let opts = SubscribeOptions::new().tap::<RtpStage>().peer(peer);
        let sub = hub.subscribe_with(key, "rtsp", opts).await?;
        let rtp: Vec<Arc<RtpTrack>> = match sub.tap::<RtpStage>() {
            Some(stage) => sub
                .tracks()
                .iter()
                .filter_map(|t| stage.track(t.id))
                .collect(),
            None => Vec::new(),
        };
        let same = self.tracks.len() == rtp.len()
            && self
                .tracks
                .iter()
                .zip(&rtp)
                .all(|(t, r)| Arc::ptr_eq(&t.rtp, r));
        if self.key.as_deref() != Some(key) || !same {
            // (After PAUSE the stream's RTP tracks are normally the same ones and the
            // transports set up stay; a new RTP stream needs a new SETUP.)
            self.tracks = rtp
                .into_iter()
                .map(|rtp| OutTrack {
                    rtp,
                    transport: None,
                    packets: 0,
                    octets: 0,
                    sent_seq: None,
                    await_key: false,
                })
                .collect();
        }
        self.key = Some(key.to_string());
        self.sub = Some(sub);
        Ok(())
    }

    /// The SDP describing the stream's RTP tracks (`trackID=N` controls).
    pub(crate) fn sdp(&self, local_ip: IpAddr) -> String {
        let origin = match local_ip {
            IpAddr::V4(a) => format!("IN IP4 {a}"),
            IpAddr::V6(a) => format!("IN IP6 {a}"),
        };
        // A unicast SDP's connection address is not used by clients (RFC 2326 C.1.7).
        let mut s = format!(
            "v=0\r\no=- {} 1 {origin}\r\ns={}\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=tool:weir\r\na=control:*\r\na=range:npt=now-\r\n",
            random_u64() >> 12,
            self.key.as_deref().unwrap_or("weir"),
        );
        for (i, t) in self.tracks.iter().enumerate() {
            let media = match t.rtp.info.codec.kind() {
                MediaKind::Video => "video",
                _ => "audio",
            };
            s.push_str(&format!(
                "m={media} 0 RTP/AVP {}\r\n",
                t.rtp.sdp.payload_type
            ));
            s.push_str(&t.rtp.sdp.attribute_lines());
            s.push_str(&format!("a=control:trackID={i}\r\n"));
        }
        s
    }

    /// Track `idx` goes out over `transport`; returns the track's SSRC.
    pub(crate) fn set_transport(&mut self, idx: usize, transport: RtpTransport) -> Option<u32> {
        let t = self.tracks.get_mut(idx)?;
        t.transport = Some(transport);
        Some(t.rtp.ssrc)
    }

    /// PLAY: resubscribes after PAUSE, anchors `RTP-Info` on the first unit with packets
    /// the player will get (waiting up to `wait` for one), and starts sending.
    pub(crate) async fn play(
        &mut self,
        hub: &Hub,
        base: &str,
        wait: Duration,
        peer: Peer,
    ) -> Result<Vec<RtpInfo>, HubError> {
        if self.sub.is_none() {
            // After PAUSE: start again at a keyframe.
            let key = self
                .key
                .clone()
                .ok_or_else(|| HubError::NotFound(String::new()))?;
            self.subscribe(hub, &key, peer).await?;
            for t in &mut self.tracks {
                t.await_key = t.rtp.info.codec.kind() == MediaKind::Video && t.sent_seq.is_some();
            }
        }
        if self.pending.is_none() {
            self.pending = self.first_fresh_unit(wait).await;
        }
        let anchor = self.pending.as_ref().and_then(|u| rtp::packets(u));
        let base_time = self
            .pending
            .as_ref()
            .and_then(|u| u.frame_data())
            .map_or(Timestamp::new(0, weir_media::Timebase::MILLIS), |f| f.pts);
        let info = self
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.transport.is_some())
            .map(|(i, t)| {
                // The first packet this player gets on the track: the anchor's own first
                // packet, or the track's next packet after the anchor (all shared).
                let (seq, rtptime) = match anchor {
                    Some(a) if a.track == Some(t.rtp.id) => (a.first_seq, a.timestamp),
                    Some(a) => (
                        next_seq(a, t.rtp.id).unwrap_or(t.rtp.initial_seq),
                        t.rtp.rtp_time_of(base_time),
                    ),
                    None => (t.rtp.initial_seq, t.rtp.rtp_time_of(base_time)),
                };
                RtpInfo {
                    url: format!("{base}trackID={i}"),
                    seq: Some(seq),
                    rtptime: Some(rtptime),
                }
            })
            .collect();
        self.playing = true;
        self.next_sr = Some(tokio::time::Instant::now() + Duration::from_millis(200));
        info!(
            stream = self.key.as_deref().unwrap_or(""),
            "RTSP player started"
        );
        Ok(info)
    }

    /// The first unit with packets the player has not had (units without RTP packets —
    /// metadata, configurations — carry nothing for RTSP).
    async fn first_fresh_unit(&mut self, wait: Duration) -> Option<Arc<Unit>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let sub = self.sub.as_mut()?;
            let unit = match sub.try_next() {
                TryNext::Unit(u) => u,
                TryNext::Empty => tokio::time::timeout_at(deadline, sub.next())
                    .await
                    .ok()
                    .flatten()?,
                TryNext::Ended => return None,
            };
            let fresh = rtp::packets(&unit).is_some_and(|r| {
                !r.packets.is_empty()
                    && r.track.is_some_and(|id| {
                        self.tracks
                            .iter()
                            .find(|t| t.rtp.id == id)
                            .is_none_or(|t| t.fresh(r, unit.is_keyframe()))
                    })
            });
            if fresh {
                return Some(unit);
            }
        }
    }

    /// PAUSE: stop sending; the next PLAY resubscribes so that it starts at a keyframe.
    pub(crate) fn pause(&mut self) {
        self.playing = false;
        self.pending = None;
        self.sub = None;
    }

    /// TEARDOWN or session timeout.
    pub(crate) fn teardown(&mut self) {
        self.pause();
        self.next_sr = None;
        for t in &mut self.tracks {
            t.transport = None;
        }
    }

    /// When the next sender reports are due.
    pub(crate) fn next_report(&self) -> Option<tokio::time::Instant> {
        self.next_sr
    }

    /// Waits for the next units to send (cancel-safe).
    pub(crate) async fn ready(&mut self) -> bool {
        if let Some(u) = self.pending.take() {
            self.units.push(u);
            return true;
        }
        let Some(sub) = self.sub.as_mut() else {
            return std::future::pending().await;
        };
        sub.next_batch(&mut self.units, BATCH_UNITS).await
    }

    /// Sends the units [`RtspPlayer::ready`] took: interleaved frames are queued on the
    /// session, UDP datagrams go out in batches. Returns the bytes sent over UDP.
    pub(crate) async fn send(&mut self, session: &mut ServerSession) -> usize {
        let units = std::mem::take(&mut self.units);
        for u in &units {
            self.send_unit(session, u);
        }
        self.units = units;
        self.units.clear();
        self.udp_out.flush().await
    }

    /// Queues the unit's shared RTP packets for this player.
    fn send_unit(&mut self, session: &mut ServerSession, unit: &Unit) {
        let Some(rtp) = rtp::packets(unit) else {
            return;
        };
        let Some(id) = rtp.track else { return };
        if rtp.packets.is_empty() {
            return;
        }
        let Some(t) = self.tracks.iter_mut().find(|t| t.rtp.id == id) else {
            return;
        };
        let Some(transport) = &t.transport else {
            return;
        };
        if !t.fresh(rtp, unit.is_keyframe()) {
            return;
        }
        t.await_key = false;
        self.last_sent = Some((unit.time(), Instant::now()));
        let n = u16::try_from(rtp.packets.len()).unwrap_or(u16::MAX);
        t.sent_seq = Some(rtp.first_seq.wrapping_add(n).wrapping_sub(1));
        for p in &rtp.packets {
            t.packets = t.packets.wrapping_add(1);
            t.octets = t
                .octets
                .wrapping_add(u32::try_from(p.len().saturating_sub(12)).unwrap_or(0));
            match transport {
                RtpTransport::Tcp { rtp, .. } => {
                    let _ = session.send_interleaved(*rtp, p.clone());
                }
                RtpTransport::Udp {
                    rtp_sock, rtp_to, ..
                } => {
                    self.udp_out.push(rtp_sock, *rtp_to, p.clone());
                }
            }
        }
    }

    /// Sends a sender report per track (not while paused: nothing sent, nothing to report,
    /// RFC 3550 §6.4).
    pub(crate) async fn send_reports(&mut self, session: &mut ServerSession) -> usize {
        self.next_sr = Some(tokio::time::Instant::now() + SR_INTERVAL);
        if !self.playing {
            return 0;
        }
        let Some(clock) = self.report_clock.or_else(|| {
            let (stream, at) = self.last_sent?;
            let now = SystemTime::now();
            let wall = now
                .checked_sub(Instant::now().saturating_duration_since(at))
                .unwrap_or(now);
            Some(ReportClock { stream, at, wall })
        }) else {
            return 0;
        };
        self.report_clock = Some(clock);
        let (ntp, time) = clock.at(Instant::now());
        for t in &self.tracks {
            let Some(sr) = t.sender_report(ntp, time) else {
                continue;
            };
            match &t.transport {
                Some(RtpTransport::Tcp { rtcp: Some(ch), .. }) => {
                    let _ = session.send_interleaved(*ch, sr);
                }
                Some(RtpTransport::Udp {
                    rtcp_sock, rtcp_to, ..
                }) => {
                    self.udp_out.push(rtcp_sock, *rtcp_to, sr);
                }
                _ => {}
            }
        }
        self.udp_out.flush().await
    }
}

fn next_seq(a: &RtpPackets, id: TrackId) -> Option<u16> {
    a.next_seq.iter().find(|(t, _)| *t == id).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report clock advances stream time and wallclock together from where it was
    /// fixed, whatever the tracks sent since: reports never move a receiver's timestamps.
    #[test]
    fn report_clock_runs_with_the_wallclock() {
        let at = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = ReportClock {
            stream: Timestamp::new(1_040, Timebase::MILLIS),
            at,
            wall,
        };
        let (ntp0, t0) = clock.at(at);
        assert_eq!(ntp0, NtpTime::from_system_time(wall));
        assert_eq!(t0.rescale(Timebase::MILLIS).ticks(), 1_040);
        let (ntp1, t1) = clock.at(at + Duration::from_millis(2_500));
        assert_eq!(ntp1.nanos_since(ntp0) / 1_000_000, 2_500);
        assert_eq!(t1.rescale(Timebase::MILLIS).ticks(), 3_540);
    }
}
