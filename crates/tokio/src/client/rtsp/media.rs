//! The media side of an RTSP play session: each set-up track through the relay's
//! frame-ingest pipeline (jitter buffer on UDP → depacketize → parameter sets → DTS), RTCP
//! receiver statistics and reports per track, sender reports put the tracks on one clock
//! ([`Retimer`]), optional timestamp repair. Sans-IO apart from the UDP sockets it owns:
//! packets and time come in, events and RTCP packets to send come out.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tracing::debug;
use weir_media::repair::{RepairConfig, TimestampRepair};
use weir_media::TrackId;
use weir_rtp_rtcp::stats::{ReportInterval, RtcpSession, SessionConfig};
use weir_rtp_rtcp::{NtpTime, RtcpPacket, RtpPacket};

use super::RtspEvent;
use crate::ingest::pipeline::{EsDecoder, IngestEvent, Retimer, RtpIngest, DEFAULT_STREAM_LEAD};
use crate::net::rtp_transport::Datagram;

/// Where one track's packets travel.
pub(super) enum Path {
    /// Interleaved on the RTSP connection.
    Tcp { rtp: u8, rtcp: Option<u8> },
    /// A UDP port pair; reports go to the server's RTCP port.
    Udp {
        rtcp_sock: Arc<UdpSocket>,
        server_rtcp: Option<SocketAddr>,
        readers: [tokio::task::JoinHandle<()>; 2],
    },
}

impl Drop for Path {
    fn drop(&mut self) {
        if let Path::Udp { readers, .. } = self {
            for r in readers {
                r.abort();
            }
        }
    }
}

/// An RTCP packet for the server.
pub(super) enum Outgoing {
    /// On this interleaved channel.
    Interleaved(u8, Bytes),
    /// From this socket to this address.
    Udp(Arc<UdpSocket>, SocketAddr, Bytes),
}

struct Track {
    id: TrackId,
    clock_rate: u32,
    ingest: RtpIngest<EsDecoder>,
    rtcp: RtcpSession,
    path: Path,
    /// The server said goodbye (RTCP BYE).
    bye: bool,
    /// Latest sender report: (NTP wallclock, RTP time).
    sr: Option<(NtpTime, u32)>,
    /// What timestamp repair added to the latest frame (track ticks).
    repair_shift: i64,
}

/// Counters of a play session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct MediaCounters {
    pub(super) rtp_packets: u64,
    pub(super) rtcp_packets: u64,
    pub(super) malformed: u64,
    pub(super) sender_reports: u64,
    pub(super) receiver_reports: u64,
    pub(super) lost_packets: u64,
}

/// All set-up tracks of a session.
pub(super) struct Media {
    tracks: Vec<Track>,
    retimer: Retimer,
    repair: Option<TimestampRepair>,
    jitter_latency: Duration,
    report_interval: Duration,
    cname: String,
    ssrc_seed: u64,
    pub(super) counters: MediaCounters,
    /// Any RTP/RTCP packet arrived since the last call to [`Media::take_activity`].
    activity: bool,
}

impl Media {
    pub(super) fn new(
        jitter_latency: Duration,
        report_interval: Duration,
        repair: bool,
        cname: String,
        ssrc_seed: u64,
    ) -> Media {
        Media {
            tracks: Vec::new(),
            retimer: Retimer::new(DEFAULT_STREAM_LEAD),
            repair: repair.then(|| TimestampRepair::new(RepairConfig::default())),
            jitter_latency,
            report_interval: report_interval.max(Duration::from_millis(10)),
            cname,
            ssrc_seed,
            counters: MediaCounters::default(),
            activity: false,
        }
    }

    /// Adds a track; returns its index (the `track` of its datagrams).
    pub(super) fn add(&mut self, decoder: EsDecoder, path: Path, now: Instant) -> usize {
        let info = decoder.info();
        let (id, clock_rate) = (info.id, info.clock_rate);
        let reorder = matches!(path, Path::Udp { .. }).then_some((clock_rate, self.jitter_latency));
        let n = self.tracks.len() as u64;
        let ssrc = (self.ssrc_seed.rotate_left(13) ^ n.wrapping_mul(0x9E37_79B9)) as u32;
        let mut cfg = SessionConfig::new(ssrc, self.cname.clone(), clock_rate.max(1), 64_000);
        cfg.interval = ReportInterval::Fixed(self.report_interval);
        cfg.min_sequential = 1;
        cfg.seed = self.ssrc_seed ^ n;
        self.tracks.push(Track {
            id,
            clock_rate,
            ingest: RtpIngest::new(decoder, reorder),
            rtcp: RtcpSession::new(cfg, now),
            path,
            bye: false,
            sr: None,
            repair_shift: 0,
        });
        self.tracks.len() - 1
    }

    /// The number of tracks.
    pub(super) fn len(&self) -> usize {
        self.tracks.len()
    }

    /// True when every track's sender said goodbye.
    pub(super) fn all_bye(&self) -> bool {
        !self.tracks.is_empty() && self.tracks.iter().all(|t| t.bye)
    }

    /// Whether packets arrived since the last call.
    pub(super) fn take_activity(&mut self) -> bool {
        std::mem::take(&mut self.activity)
    }

    /// An interleaved frame; false when its channel is none of ours.
    pub(super) fn interleaved(
        &mut self,
        channel: u8,
        payload: Bytes,
        now: Instant,
        out: &mut VecDeque<RtspEvent>,
    ) -> bool {
        let found = self.tracks.iter().position(|t| match t.path {
            Path::Tcp { rtp, rtcp } => rtp == channel || rtcp == Some(channel),
            Path::Udp { .. } => false,
        });
        let Some(i) = found else {
            return false;
        };
        let is_rtp = matches!(self.tracks[i].path, Path::Tcp { rtp, .. } if rtp == channel);
        if is_rtp {
            self.rtp_in(i, payload, now, out);
        } else {
            self.rtcp_in(i, payload, now);
        }
        true
    }

    /// A datagram from one of the UDP sockets.
    pub(super) fn datagram(&mut self, d: Datagram, now: Instant, out: &mut VecDeque<RtspEvent>) {
        if d.rtcp {
            self.rtcp_in(d.track, d.data, now);
        } else {
            self.rtp_in(d.track, d.data, now, out);
        }
    }

    fn rtp_in(&mut self, i: usize, data: Bytes, now: Instant, out: &mut VecDeque<RtspEvent>) {
        let Ok(pkt) = RtpPacket::parse(data) else {
            self.counters.malformed += 1;
            debug!("rtsp client: malformed RTP dropped");
            return;
        };
        self.activity = true;
        self.counters.rtp_packets += 1;
        let Some(t) = self.tracks.get_mut(i) else {
            return;
        };
        t.rtcp.handle_rtp(&pkt, now);
        t.ingest.push(pkt, now);
        self.drain(i, now, out);
    }

    fn rtcp_in(&mut self, i: usize, data: Bytes, now: Instant) {
        self.activity = true;
        self.counters.rtcp_packets += 1;
        let Some(t) = self.tracks.get_mut(i) else {
            return;
        };
        let compound = match t.rtcp.handle_rtcp(data, now) {
            Ok(c) => c,
            Err(e) => {
                self.counters.malformed += 1;
                debug!(error = %e, "rtsp client: malformed RTCP dropped");
                return;
            }
        };
        let id = t.id;
        for p in compound.packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    self.counters.sender_reports += 1;
                    t.sr = Some((sr.ntp_time, sr.rtp_time));
                    self.retimer.sender_report(id, sr.ntp_time, sr.rtp_time);
                }
                RtcpPacket::Goodbye(_) => {
                    debug!(track = id.0, "rtsp client: RTCP BYE");
                    t.bye = true;
                }
                _ => {}
            }
        }
    }

    /// Moves the pipeline's events of track `i` to `out`, on the session clock.
    fn drain(&mut self, i: usize, now: Instant, out: &mut VecDeque<RtspEvent>) {
        let Some(t) = self.tracks.get_mut(i) else {
            return;
        };
        let clock = t.clock_rate;
        while let Some(ev) = t.ingest.poll_event() {
            out.push_back(match ev {
                IngestEvent::Track(info) => RtspEvent::Track(info),
                IngestEvent::Lost(id) => RtspEvent::Lost(id),
                IngestEvent::Frame(f) => {
                    let mut f = self.retimer.retime(f, clock, now);
                    if let Some(r) = self.repair.as_mut() {
                        let before = f.pts.ticks();
                        let _ = r.repair(&mut f);
                        t.repair_shift = f.pts.ticks().saturating_sub(before);
                    }
                    RtspEvent::Frame(f)
                }
            });
        }
        self.counters.lost_packets = self.tracks.iter().map(|t| t.ingest.lost_packets()).sum();
    }

    /// The wallclock (NTP, from the track's latest sender report) of a frame's presentation
    /// time; `None` before the track's first sender report.
    pub(super) fn wallclock(&self, f: &weir_media::Frame) -> Option<SystemTime> {
        let t = self.tracks.iter().find(|t| t.id == f.track)?;
        let (ntp, rtp) = t.sr?;
        let offset = self.retimer.offset(t.id)?;
        let ticks = f
            .pts
            .ticks()
            .saturating_sub(t.repair_shift)
            .saturating_sub(offset);
        let delta = i64::from((ticks as u32).wrapping_sub(rtp) as i32);
        let clock = i64::from(t.clock_rate.max(1));
        let nanos = i128::from(delta) * 1_000_000_000 / i128::from(clock);
        let base = SystemTime::UNIX_EPOCH + ntp.to_unix();
        let d = Duration::from_nanos(u64::try_from(nanos.unsigned_abs()).unwrap_or(u64::MAX));
        if nanos >= 0 {
            base.checked_add(d)
        } else {
            base.checked_sub(d)
        }
    }

    /// When [`Media::handle_timeout`] wants to run: a jitter buffer's deadline or a report.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.tracks
            .iter()
            .flat_map(|t| [t.ingest.poll_timeout(), Some(t.rtcp.poll_timeout())])
            .flatten()
            .min()
    }

    /// Lets the jitter buffers give up on late packets; builds the reports that are due.
    pub(super) fn handle_timeout(
        &mut self,
        now: Instant,
        out: &mut VecDeque<RtspEvent>,
        send: &mut Vec<Outgoing>,
    ) {
        let wall = NtpTime::from_system_time(SystemTime::now());
        for i in 0..self.tracks.len() {
            self.tracks[i].ingest.handle_timeout(now);
            self.drain(i, now, out);
            let t = &mut self.tracks[i];
            t.rtcp.handle_timeout(now, wall);
            if let Some(report) = t.rtcp.poll_transmit() {
                self.counters.receiver_reports += 1;
                if let Some(o) = outgoing(&t.path, report) {
                    send.push(o);
                }
            }
        }
    }

    /// Everything buffered comes out (the session ends).
    pub(super) fn finish(&mut self, now: Instant, out: &mut VecDeque<RtspEvent>) {
        for i in 0..self.tracks.len() {
            self.tracks[i].ingest.finish(now);
            self.drain(i, now, out);
        }
    }

    /// An RTCP BYE per track (RFC 3550 §6.6).
    pub(super) fn goodbye(&mut self, now: Instant) -> Vec<Outgoing> {
        let wall = NtpTime::from_system_time(SystemTime::now());
        let mut send = Vec::new();
        for t in &mut self.tracks {
            if let Ok(bye) = t.rtcp.goodbye(now, wall, Some("teardown")) {
                if let Some(o) = outgoing(&t.path, bye) {
                    send.push(o);
                }
            }
        }
        send
    }
}

fn outgoing(path: &Path, packet: Bytes) -> Option<Outgoing> {
    match path {
        Path::Tcp { rtcp, .. } => rtcp.map(|c| Outgoing::Interleaved(c, packet)),
        Path::Udp {
            rtcp_sock,
            server_rtcp,
            ..
        } => server_rtcp.map(|to| Outgoing::Udp(rtcp_sock.clone(), to, packet)),
    }
}
