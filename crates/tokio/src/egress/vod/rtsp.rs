//! RTSP VOD: `rtsp://HOST:8554/vod/{root}/{path}` plays a file — DESCRIBE with
//! `a=range:npt=0-DURATION`, SETUP per track (interleaved or UDP), PLAY with `Range: npt=`
//! seeking to the keyframe at or before the time asked, PAUSE and resume without a gap
//! (RTP sequence numbers and timestamps go on where they stopped), `Scale` 1 only (456
//! otherwise), packets paced at real time, a sender report per track every few seconds
//! and a BYE at the end of the file.
//!
//! Each track is packetized here (one player per file: nothing to share), with
//! `weir_rtp_rtcp::payload::packetizer_for_track`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::time::Instant;
use tracing::debug;
use weir_media::{Frame, MediaKind, Timebase, Timestamp, TrackInfo};
use weir_rtp_rtcp::payload::{packetizer_for_track, Packetizer, PacketizerConfig, SdpFormat};
use weir_rtp_rtcp::rtcp::{Goodbye, SenderReport, SourceDescription};
use weir_rtp_rtcp::{Compound, NtpTime, RtcpPacket};
use weir_rtsp_proto::headers::{NptTime, Range, RangeSpec, RtpInfo};
use weir_rtsp_proto::ServerSession;

use super::pace::{media_time, Pacer};
use super::AsyncMedia;
use crate::format::rtp::with_rtp_clock;
use crate::net::random_u64;
use crate::net::rtp_transport::RtpTransport;
use crate::net::UdpBatch;

/// Sender report interval.
const SR_INTERVAL: Duration = Duration::from_secs(2);
/// How far ahead of real time packets go out (a little slack for the receiver).
const LEAD: Duration = Duration::from_millis(100);

struct VodTrack {
    info: Arc<TrackInfo>,
    packetizer: Box<dyn Packetizer + Send>,
    sdp: SdpFormat,
    ssrc: u32,
    ts_offset: u32,
    transport: Option<RtpTransport>,
    packets: u32,
    octets: u32,
}

impl VodTrack {
    fn rtp_time(&self, t: Duration) -> u32 {
        let ns = i64::try_from(t.as_nanos()).unwrap_or(i64::MAX);
        let clock = Timebase::hz(self.info.clock_rate).unwrap_or(Timebase::MPEG);
        (Timestamp::new(ns, Timebase::NANOS).rescale(clock).ticks() as u32)
            .wrapping_add(self.ts_offset)
    }
}

/// What a `Scale` header asks: `None` for 1 (or absent), else the value (refused with 456).
pub(crate) fn unsupported_scale(value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    match v.parse::<f64>() {
        Ok(s) if (s - 1.0).abs() < 1e-9 => None,
        _ => Some(v.to_string()),
    }
}

/// Where a PLAY starts: `Some(npt)` to seek there, `None` to go on from where playback is
/// (no `Range`, or `npt=now-`).
pub(crate) fn play_start(range: Option<&RangeSpec>) -> Option<Duration> {
    match range.map(|r| &r.range) {
        Some(Range::Npt {
            start: Some(NptTime::Seconds(s)),
            ..
        }) if s.is_finite() && *s >= 0.0 => Some(Duration::from_secs_f64(*s)),
        Some(Range::Npt { start: None, .. }) => Some(Duration::ZERO),
        _ => None,
    }
}

/// A file playing over RTSP.
pub(crate) struct VodRtspPlayer {
    key: String,
    media: AsyncMedia,
    tracks: Vec<VodTrack>,
    pacer: Pacer,
    playing: bool,
    started: bool,
    ended: bool,
    udp_out: UdpBatch,
    next_sr: Option<Instant>,
    /// When the end of the file is announced (a moment after the last packet, so that a
    /// receiver reading RTP and RTCP from separate sockets has the last packets first).
    bye_at: Option<Instant>,
    /// Media time of the last frame sent.
    position: Duration,
    /// Its entry in the session list (`vod-rtsp`), while it exists.
    session: Option<crate::core::SessionHandle>,
}

impl VodRtspPlayer {
    /// Lists the player as `session` (the API lists it; kicking it closes the connection)
    /// until the player is dropped.
    pub(crate) fn set_session(&mut self, session: crate::core::SessionHandle) {
        self.session = Some(session);
    }

    /// A player of `media` (`key` = `vod/{root}/{path}`, for logs and the SDP).
    pub(crate) fn new(key: String, media: AsyncMedia) -> VodRtspPlayer {
        let mut tracks = Vec::new();
        for t in media.tracks() {
            let info = with_rtp_clock(Arc::new(t.clone()));
            let r = random_u64();
            let (ssrc, ts_offset) = (r as u32, (r >> 32) as u32);
            let cfg = PacketizerConfig::new(info.clock_rate)
                .with_payload_type(96 + tracks.len().min(31) as u8)
                .with_ssrc(ssrc)
                .with_timestamp_offset(ts_offset)
                .with_initial_sequence_number(random_u64() as u16);
            match packetizer_for_track(&info, cfg) {
                Ok((packetizer, sdp)) => tracks.push(VodTrack {
                    info,
                    packetizer,
                    sdp,
                    ssrc,
                    ts_offset,
                    transport: None,
                    packets: 0,
                    octets: 0,
                }),
                Err(e) => debug!(codec = %t.codec, error = %e, "vod rtsp: track not carried"),
            }
        }
        VodRtspPlayer {
            key,
            media,
            tracks,
            pacer: Pacer::new(LEAD),
            playing: false,
            started: false,
            ended: false,
            udp_out: UdpBatch::default(),
            next_sr: None,
            bye_at: None,
            position: Duration::ZERO,
            session: None,
        }
    }

    /// The `vod/...` key it plays.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Tracks that can be carried over RTP.
    pub(crate) fn track_count(&self) -> usize {
        self.tracks.len()
    }

    /// Some track has a transport.
    pub(crate) fn has_transport(&self) -> bool {
        self.tracks.iter().any(|t| t.transport.is_some())
    }

    /// Playing (not paused, not at the end).
    pub(crate) fn playing(&self) -> bool {
        self.playing && !self.ended
    }

    /// The SDP: the tracks, `trackID=N` controls, and the file's range.
    pub(crate) fn sdp(&self, local_ip: IpAddr) -> String {
        let origin = match local_ip {
            IpAddr::V4(a) => format!("IN IP4 {a}"),
            IpAddr::V6(a) => format!("IN IP6 {a}"),
        };
        let range = match self.media.duration() {
            Some(d) => format!("npt=0-{:.3}", d.as_secs_f64()),
            None => "npt=0-".to_string(),
        };
        let mut s = format!(
            "v=0\r\no=- {} 1 {origin}\r\ns={}\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=tool:weir\r\na=control:*\r\na=range:{range}\r\n",
            random_u64() >> 12,
            self.key,
        );
        for (i, t) in self.tracks.iter().enumerate() {
            let media = match t.info.codec.kind() {
                MediaKind::Video => "video",
                _ => "audio",
            };
            s.push_str(&format!("m={media} 0 RTP/AVP {}\r\n", t.sdp.payload_type));
            s.push_str(&t.sdp.attribute_lines());
            s.push_str(&format!("a=control:trackID={i}\r\n"));
        }
        s
    }

    /// Track `idx` goes out over `transport`; returns its SSRC.
    pub(crate) fn set_transport(&mut self, idx: usize, transport: RtpTransport) -> Option<u32> {
        let t = self.tracks.get_mut(idx)?;
        t.transport = Some(transport);
        Some(t.ssrc)
    }

    /// PLAY: seeks when a range is given (to the keyframe at or before it), resumes where
    /// it paused otherwise; returns the range played and the RTP-Info for `base`.
    ///
    /// # Errors
    /// Reading or seeking the file failed.
    pub(crate) async fn play(
        &mut self,
        range: Option<&RangeSpec>,
        base: &str,
    ) -> std::io::Result<(RangeSpec, Vec<RtpInfo>)> {
        let now = Instant::now();
        let start = match play_start(range) {
            Some(npt) => Some(npt),
            None if !self.started => Some(Duration::ZERO),
            None => None,
        };
        if let Some(npt) = start {
            self.media.seek(npt).await?;
            self.pacer.reset();
            self.ended = false;
            // Where the seek landed: the keyframe's presentation time.
            let first = self.media.peek().await?.map(|f| f.pts);
            self.position = first.map_or(npt, media_time);
        } else {
            self.pacer.resume(now);
        }
        self.started = true;
        self.playing = true;
        self.bye_at = None;
        self.next_sr = Some(now + Duration::from_millis(200));
        let npt = self.position;
        let info = self
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.transport.is_some())
            .map(|(i, t)| RtpInfo {
                url: format!("{base}trackID={i}"),
                seq: Some(t.packetizer.next_sequence_number()),
                rtptime: Some(t.rtp_time(npt)),
            })
            .collect();
        let end = self
            .media
            .duration()
            .map(|d| NptTime::Seconds(d.as_secs_f64()));
        let spec = RangeSpec {
            range: Range::Npt {
                start: Some(NptTime::Seconds(npt.as_secs_f64())),
                end,
            },
            time: None,
        };
        debug!(
            file = self.key,
            npt = npt.as_secs_f64(),
            "vod rtsp: playing"
        );
        Ok((spec, info))
    }

    /// PAUSE: stops sending; the next PLAY without a range goes on from here.
    pub(crate) fn pause(&mut self) {
        if self.playing {
            self.pacer.pause(Instant::now());
        }
        self.playing = false;
    }

    /// When the next sender reports (or the BYE) are due.
    pub(crate) fn next_report(&self) -> Option<Instant> {
        if self.ended {
            return self.bye_at;
        }
        self.next_sr
    }

    /// Waits until the next frame is due (cancel-safe). False at the end of the file.
    pub(crate) async fn ready(&mut self) -> bool {
        let next = match self.media.peek().await {
            Ok(Some(f)) => media_time(f.dts),
            Ok(None) => return false,
            Err(e) => {
                debug!(file = self.key, error = %e, "vod rtsp: read failed");
                return false;
            }
        };
        let due = self.pacer.due(next, Instant::now());
        tokio::time::sleep_until(due).await;
        true
    }

    /// Sends every frame due now; at the end of the file, a BYE per track. Returns the
    /// bytes sent over UDP.
    pub(crate) async fn send(&mut self, session: &mut ServerSession, more: bool) -> usize {
        if !more {
            self.ended = true;
            self.bye_at = Some(Instant::now() + Duration::from_millis(300));
            return 0;
        }
        let now = Instant::now();
        let mut n = 0;
        while n < 64 {
            let due = match self.media.peek().await {
                Ok(Some(f)) => self.pacer.due(media_time(f.dts), now) <= now,
                _ => false,
            };
            if !due {
                break;
            }
            let Ok(Some(f)) = self.media.next().await else {
                break;
            };
            self.send_frame(session, &f);
            n += 1;
        }
        self.udp_out.flush().await
    }

    fn send_frame(&mut self, session: &mut ServerSession, f: &Frame) {
        let Some(t) = self.tracks.iter_mut().find(|t| t.info.id == f.track) else {
            return;
        };
        self.position = self.position.max(media_time(f.pts));
        let mut packets = Vec::new();
        if let Err(e) = t.packetizer.packetize(f, &mut packets) {
            debug!(error = %e, "vod rtsp: frame not packetized");
            return;
        }
        let Some(transport) = &t.transport else {
            return;
        };
        for p in packets {
            t.packets = t.packets.wrapping_add(1);
            t.octets = t
                .octets
                .wrapping_add(u32::try_from(p.len().saturating_sub(12)).unwrap_or(0));
            match transport {
                RtpTransport::Tcp { rtp, .. } => {
                    let _ = session.send_interleaved(*rtp, p);
                }
                RtpTransport::Udp {
                    rtp_sock, rtp_to, ..
                } => self.udp_out.push(rtp_sock, *rtp_to, p),
            }
        }
    }

    fn rtcp(&mut self, session: &mut ServerSession, idx: usize, packets: Vec<RtcpPacket>) {
        let Some(t) = self.tracks.get(idx) else {
            return;
        };
        let Ok(b) = Compound::new(packets).to_bytes() else {
            return;
        };
        match &t.transport {
            Some(RtpTransport::Tcp { rtcp: Some(ch), .. }) => {
                let _ = session.send_interleaved(*ch, b);
            }
            Some(RtpTransport::Udp {
                rtcp_sock, rtcp_to, ..
            }) => self.udp_out.push(rtcp_sock, *rtcp_to, b),
            _ => {}
        }
    }

    /// Track `i`'s sender report for wallclock `ntp` at media time `media`.
    fn sender_report(&self, i: usize, ntp: NtpTime, media: Duration) -> Option<RtcpPacket> {
        let t = self.tracks.get(i)?;
        Some(RtcpPacket::SenderReport(SenderReport {
            ssrc: t.ssrc,
            ntp_time: ntp,
            rtp_time: t.rtp_time(media),
            packet_count: t.packets,
            octet_count: t.octets,
            ..SenderReport::default()
        }))
    }

    /// The end of the file: SR, SDES and BYE per track (a compound starts with a report).
    fn bye(&mut self, session: &mut ServerSession) {
        let ntp = NtpTime::from_system_time(SystemTime::now());
        let media = self.pacer.media_at(Instant::now()).unwrap_or(self.position);
        for i in 0..self.tracks.len() {
            let ssrc = self.tracks[i].ssrc;
            let Some(sr) = self.sender_report(i, ntp, media) else {
                continue;
            };
            let packets = vec![
                sr,
                RtcpPacket::SourceDescription(SourceDescription::cname(ssrc, "weir")),
                RtcpPacket::Goodbye(Goodbye {
                    sources: vec![ssrc],
                    reason: Some(Bytes::from_static(b"end of file")),
                }),
            ];
            self.rtcp(session, i, packets);
        }
    }

    /// A sender report per track (not while paused), mapping now to the media time
    /// playing now.
    pub(crate) async fn send_reports(&mut self, session: &mut ServerSession) -> usize {
        let now = Instant::now();
        if self.ended {
            if self.bye_at.take().is_some() {
                self.bye(session);
            }
            return self.udp_out.flush().await;
        }
        self.next_sr = Some(now + SR_INTERVAL);
        if !self.playing() || self.tracks.iter().all(|t| t.packets == 0) {
            return 0;
        }
        let Some(media_now) = self.pacer.media_at(now) else {
            return 0;
        };
        let ntp = NtpTime::from_system_time(SystemTime::now());
        for i in 0..self.tracks.len() {
            if self.tracks[i].packets == 0 {
                continue;
            }
            let ssrc = self.tracks[i].ssrc;
            let Some(sr) = self.sender_report(i, ntp, media_now) else {
                continue;
            };
            let packets = vec![
                sr,
                RtcpPacket::SourceDescription(SourceDescription::cname(ssrc, "weir")),
            ];
            self.rtcp(session, i, packets);
        }
        self.udp_out.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_and_range() {
        assert_eq!(unsupported_scale(None), None);
        assert_eq!(unsupported_scale(Some("1")), None);
        assert_eq!(unsupported_scale(Some(" 1.0 ")), None);
        assert_eq!(unsupported_scale(Some("2")), Some("2".into()));
        assert_eq!(unsupported_scale(Some("-1")), Some("-1".into()));
        assert_eq!(unsupported_scale(Some("x")), Some("x".into()));
        let r = |s: &str| RangeSpec::parse(s).unwrap();
        assert_eq!(play_start(Some(&r("npt=5-"))), Some(Duration::from_secs(5)));
        assert_eq!(play_start(Some(&r("npt=0.000-"))), Some(Duration::ZERO));
        assert_eq!(play_start(Some(&r("npt=now-"))), None);
        assert_eq!(play_start(None), None);
        assert_eq!(
            play_start(Some(&r("npt=0:01:00-"))),
            Some(Duration::from_secs(60))
        );
    }
}
