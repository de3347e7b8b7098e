//! The frame-ingest pipeline shared by every RTP-based ingest (RTSP record, GB28181, RTSP
//! pull): **reorder** (jitter buffer, UDP only) → **depacketize** → **parameter sets** (a
//! track announced without them waits for them in band) → **decode timestamps** (RTP
//! carries only a PTS) → events for the [`Publisher`](crate::core::Publisher).
//!
//! Sans-IO: packets and the time come in, [`IngestEvent`]s come out; nothing here touches a
//! socket or reads the clock, so it is unit-tested without a network. Damage (a lost
//! packet, an incomplete frame) becomes [`IngestEvent::Lost`], on which the hub holds the
//! track's video back until the next keyframe — the one keyframe gate of the relay.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{debug, info};
use weir_jitter::{Config as JitterConfig, JitterBuffer, Output};
use weir_media::reorder::{DtsEvent, DtsGenerator};
use weir_media::{Codec, Frame, MediaKind, Timestamp, TrackId, TrackInfo};
#[cfg(feature = "gb28181")]
use weir_ps::{Event as PsEvent, PsDemuxer};
#[cfg(feature = "gb28181")]
use weir_rtp_rtcp::payload::ps::PsDepacketizer;
use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig};
use weir_rtp_rtcp::{NtpTime, RtpPacket};

use crate::core::video_timing;

/// What the pipeline hands the publisher, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IngestEvent {
    /// A track to announce (or re-announce with new parameters).
    Track(TrackInfo),
    /// A frame of an announced track.
    Frame(Frame),
    /// Data of the track was lost: hold its video back until the next keyframe.
    Lost(TrackId),
}

/// Turns the payloads of one RTP stream into events.
pub(crate) trait PayloadDecoder: Send {
    /// One packet, in sequence order.
    fn packet(&mut self, pkt: &RtpPacket, out: &mut VecDeque<IngestEvent>);
    /// Packets were lost before the next one.
    fn lost(&mut self, out: &mut VecDeque<IngestEvent>);
    /// No more packets: emit what is complete.
    fn flush(&mut self, out: &mut VecDeque<IngestEvent>);
}

/// One RTP stream's pipeline: optional reordering, then a [`PayloadDecoder`].
pub(crate) struct RtpIngest<D> {
    jitter: Option<JitterBuffer<RtpPacket>>,
    decoder: D,
    events: VecDeque<IngestEvent>,
    lost_packets: u64,
    /// Without reordering: the last sequence number, to see gaps (a TCP source that lost
    /// data, e.g. a camera whose interleaved frames were cut short).
    last_seq: Option<u16>,
}

impl<D: PayloadDecoder> RtpIngest<D> {
    /// A pipeline; with `reorder = Some((clock_rate, latency))` packets go through a jitter
    /// buffer first (UDP), otherwise they are taken in arrival order (TCP).
    pub(crate) fn new(decoder: D, reorder: Option<(u32, Duration)>) -> RtpIngest<D> {
        let jitter = reorder.and_then(|(clock, latency)| {
            JitterBuffer::new(JitterConfig::reorder(clock, latency)).ok()
        });
        RtpIngest {
            jitter,
            decoder,
            events: VecDeque::new(),
            lost_packets: 0,
            last_seq: None,
        }
    }

    /// Packets lost so far (reported by the jitter buffer).
    pub(crate) fn lost_packets(&self) -> u64 {
        self.lost_packets
    }

    /// One packet, arrived at `now`.
    pub(crate) fn push(&mut self, pkt: RtpPacket, now: Instant) {
        match self.jitter.as_mut() {
            Some(j) => {
                let _ = j.push(pkt.sequence_number(), pkt.timestamp(), now, pkt);
                self.drain();
            }
            None => {
                let seq = pkt.sequence_number();
                if let Some(prev) = self.last_seq {
                    let gap = seq.wrapping_sub(prev.wrapping_add(1));
                    // A forward gap (not a duplicate or a late packet): data was lost.
                    if gap != 0 && gap < 0x8000 {
                        self.lost_packets += u64::from(gap);
                        self.decoder.lost(&mut self.events);
                    }
                }
                self.last_seq = Some(seq);
                self.decoder.packet(&pkt, &mut self.events);
            }
        }
    }

    /// When [`RtpIngest::handle_timeout`] wants to run next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.jitter.as_ref().and_then(JitterBuffer::poll_timeout)
    }

    /// Lets the jitter buffer give up on late packets.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if let Some(j) = self.jitter.as_mut() {
            j.handle_timeout(now);
        }
        self.drain();
    }

    /// Everything buffered goes out (the publisher is leaving).
    pub(crate) fn finish(&mut self, now: Instant) {
        if let Some(j) = self.jitter.as_mut() {
            j.handle_timeout(now + Duration::from_secs(3600));
        }
        self.drain();
        self.decoder.flush(&mut self.events);
    }

    fn drain(&mut self) {
        while let Some(out) = self.jitter.as_mut().and_then(JitterBuffer::pop) {
            match out {
                Output::Packet(p) => self.decoder.packet(&p.payload, &mut self.events),
                Output::Lost { count, .. } => {
                    self.lost_packets += u64::from(count);
                    self.decoder.lost(&mut self.events);
                }
                Output::Late(_) => {}
            }
        }
    }

    /// The next event.
    pub(crate) fn poll_event(&mut self) -> Option<IngestEvent> {
        self.events.pop_front()
    }
}

/// An elementary stream (H.264, H.265, AAC, Opus, G.711, MJPEG…) of one track.
pub(crate) struct EsDecoder {
    info: TrackInfo,
    depack: Box<dyn Depacketizer + Send>,
    /// The track has been announced (with its parameter sets, for H.264/H.265).
    announced: bool,
    /// Video: decode timestamps for frames that arrive in decode order with only a
    /// presentation time (B-frames make the PTS go back and forth). Restarted when the
    /// configuration changes.
    dts: Option<(Bytes, DtsGenerator)>,
}

impl EsDecoder {
    /// A decoder for `info` with `depack`. H.264/H.265 without parameter sets in `info`
    /// (an SDP without `sprop-*`) are announced once a keyframe brings them in band.
    pub(crate) fn new(info: TrackInfo, depack: Box<dyn Depacketizer + Send>) -> EsDecoder {
        EsDecoder {
            info,
            depack,
            announced: false,
            dts: None,
        }
    }

    /// The track as known so far.
    pub(crate) fn info(&self) -> &TrackInfo {
        &self.info
    }

    fn needs_parameter_sets(&self) -> bool {
        self.info.config.is_empty() && matches!(self.info.codec, Codec::H264 | Codec::H265)
    }

    fn pull(&mut self, out: &mut VecDeque<IngestEvent>) {
        while let Some(f) = self.depack.pull() {
            self.frame(f, out);
        }
    }

    fn frame(&mut self, mut f: Frame, out: &mut VecDeque<IngestEvent>) {
        let video = self.info.codec.kind() == MediaKind::Video;
        if f.incomplete {
            debug!(track = self.info.id.0, "incomplete frame dropped");
            out.push_back(IngestEvent::Lost(self.info.id));
            return;
        }
        if !self.announced {
            if self.needs_parameter_sets() {
                if !f.keyframe {
                    return;
                }
                let config = config_from_access_unit(self.info.codec, &f.data);
                let Some(config) = config else { return };
                info!(codec = %self.info.codec, "parameter sets found in band");
                self.info = self.info.clone().with_config(config);
            }
            self.announced = true;
            out.push_back(IngestEvent::Track(self.info.clone()));
        }
        f.track = self.info.id;
        if video {
            self.assign_dts(&mut f);
        }
        out.push_back(IngestEvent::Frame(f));
    }

    fn assign_dts(&mut self, f: &mut Frame) {
        let stale = self
            .dts
            .as_ref()
            .is_none_or(|(c, _)| *c != self.info.config);
        if stale {
            let (depth, fps) = video_timing(&self.info);
            let frame = Duration::from_secs_f64(
                1.0 / fps.filter(|f| *f > 1.0 && *f < 1000.0).unwrap_or(25.0),
            );
            debug!(depth, "decode timestamps from the picture order");
            self.dts = Some((self.info.config.clone(), DtsGenerator::new(depth, frame)));
        }
        if let Some((_, g)) = self.dts.as_mut() {
            match g.assign(f) {
                DtsEvent::None => {}
                ev => debug!(?ev, "decode timestamp adjusted"),
            }
        }
    }
}

impl PayloadDecoder for EsDecoder {
    fn packet(&mut self, pkt: &RtpPacket, out: &mut VecDeque<IngestEvent>) {
        if let Err(e) = self.depack.push(pkt) {
            debug!(error = %e, "RTP payload dropped");
        }
        self.pull(out);
    }

    fn lost(&mut self, out: &mut VecDeque<IngestEvent>) {
        // A whole frame may be gone without any frame being flagged incomplete: finish
        // what came before, then the hub waits for a keyframe.
        self.pull(out);
        out.push_back(IngestEvent::Lost(self.info.id));
    }

    fn flush(&mut self, out: &mut VecDeque<IngestEvent>) {
        self.depack.flush();
        self.pull(out);
    }
}

#[cfg(feature = "gb28181")]
/// An MPEG program stream carried in RTP (GB28181): several tracks, 90 kHz PES clocks.
pub(crate) struct PsDecoder {
    depack: PsDepacketizer,
    demux: PsDemuxer,
    video: Option<TrackId>,
}

#[cfg(feature = "gb28181")]
impl Default for PsDecoder {
    fn default() -> Self {
        PsDecoder {
            depack: PsDepacketizer::new(DepacketizerConfig::new(90_000)),
            demux: PsDemuxer::new(),
            video: None,
        }
    }
}

#[cfg(feature = "gb28181")]
impl PsDecoder {
    fn pull(&mut self, out: &mut VecDeque<IngestEvent>) {
        while let Some(ps) = self.depack.pull() {
            if ps.incomplete {
                // Lost packets inside this frame: its PS bytes are damaged. Resync the
                // demuxer; the hub holds video back until the next keyframe.
                debug!("PS frame incomplete: dropped");
                self.demux.reset();
                if let Some(v) = self.video {
                    out.push_back(IngestEvent::Lost(v));
                }
                continue;
            }
            self.demux.push_bytes(ps.data);
            self.demux.frame_end();
            self.events(out);
        }
    }

    fn events(&mut self, out: &mut VecDeque<IngestEvent>) {
        while let Some(ev) = self.demux.poll_event() {
            match ev {
                PsEvent::TrackAdded(t) | PsEvent::TrackUpdated(t) => {
                    if t.codec.kind() == MediaKind::Video {
                        self.video = Some(t.id);
                    }
                    out.push_back(IngestEvent::Track(t));
                }
                PsEvent::Frame(f) => out.push_back(IngestEvent::Frame(f)),
                PsEvent::Corrupt(e) => debug!(error = %e, "PS damage"),
                _ => {}
            }
        }
    }
}

#[cfg(feature = "gb28181")]
impl PayloadDecoder for PsDecoder {
    fn packet(&mut self, pkt: &RtpPacket, out: &mut VecDeque<IngestEvent>) {
        if let Err(e) = self.depack.push(pkt) {
            debug!(error = %e, "RTP/PS payload dropped");
        }
        self.pull(out);
    }

    fn lost(&mut self, _out: &mut VecDeque<IngestEvent>) {
        // The depacketizer sees the sequence gap on the next packet and flags the damaged
        // frame incomplete (handled in `pull`).
    }

    fn flush(&mut self, out: &mut VecDeque<IngestEvent>) {
        self.depack.flush();
        self.pull(out);
        self.demux.flush();
        self.events(out);
    }
}

/// Puts the frames of several RTP streams on one stream clock: the publisher's RTCP
/// sender reports map each stream's RTP time to NTP (RFC 3550 §6.4.1), so tracks line up;
/// without one, a track starts at its first packet's arrival time. Stream time starts at
/// `lead`, leaving room for decode times of reordered video before the first presentation
/// time.
#[derive(Debug)]
pub(crate) struct Retimer {
    lead: Duration,
    /// (NTP of the first frame, its arrival).
    origin: Option<(Option<NtpTime>, Instant)>,
    tracks: Vec<RetimedTrack>,
}

/// One track of a [`Retimer`].
#[derive(Debug, Clone, Copy)]
struct RetimedTrack {
    id: TrackId,
    /// Latest sender report: (NTP, RTP time).
    sr: Option<(NtpTime, u32)>,
    /// Added to the track's timestamps (track ticks), fixed at its first frame.
    offset: Option<i64>,
}

impl Retimer {
    pub(crate) fn new(lead: Duration) -> Retimer {
        Retimer {
            lead,
            origin: None,
            tracks: Vec::new(),
        }
    }

    fn entry(&mut self, track: TrackId) -> &mut RetimedTrack {
        let i = match self.tracks.iter().position(|t| t.id == track) {
            Some(i) => i,
            None => {
                self.tracks.push(RetimedTrack {
                    id: track,
                    sr: None,
                    offset: None,
                });
                self.tracks.len() - 1
            }
        };
        &mut self.tracks[i]
    }

    /// A sender report of `track`'s RTP stream.
    pub(crate) fn sender_report(&mut self, track: TrackId, ntp: NtpTime, rtp: u32) {
        self.entry(track).sr = Some((ntp, rtp));
    }

    /// What [`Retimer::retime`] adds to `track`'s timestamps (track ticks), once its first
    /// frame fixed it.
    #[cfg(feature = "rtsp")]
    pub(crate) fn offset(&self, track: TrackId) -> Option<i64> {
        self.tracks.iter().find(|t| t.id == track)?.offset
    }

    /// Moves `f` (of a track with `clock_rate`) onto the stream clock; `now` is when it
    /// arrived.
    pub(crate) fn retime(&mut self, mut f: Frame, clock_rate: u32, now: Instant) -> Frame {
        let clock = i64::from(clock_rate.max(1));
        let lead = self.lead;
        let origin = self.origin;
        let RetimedTrack { sr, offset, .. } = *self.entry(f.track);
        let offset = match offset {
            Some(o) => o,
            None => {
                let ticks = f.pts.ticks();
                // Wallclock (NTP) of this frame, when a sender report is known.
                let ntp = sr.map(|(ntp, rtp)| {
                    let delta = i64::from((ticks as u32).wrapping_sub(rtp) as i32);
                    let nanos = delta.saturating_mul(1_000_000_000) / clock;
                    if nanos >= 0 {
                        ntp.add_duration(Duration::from_nanos(nanos as u64))
                    } else {
                        NtpTime::from_unix(
                            ntp.to_unix()
                                .saturating_sub(Duration::from_nanos(nanos.unsigned_abs())),
                        )
                    }
                });
                let origin = *self.origin.get_or_insert(origin.unwrap_or((ntp, now)));
                let since_nanos = match (origin.0, ntp) {
                    (Some(o), Some(n)) => n.nanos_since(o),
                    _ => now.saturating_duration_since(origin.1).as_nanos() as i128,
                };
                let since_nanos = since_nanos.max(0) + lead.as_nanos() as i128;
                let since =
                    i64::try_from(since_nanos * i128::from(clock) / 1_000_000_000).unwrap_or(0);
                let o = since - ticks;
                self.entry(f.track).offset = Some(o);
                o
            }
        };
        let tb = f.pts.timebase();
        f.pts = Timestamp::new(f.pts.ticks().saturating_add(offset), tb);
        f.dts = Timestamp::new(f.dts.ticks().saturating_add(offset).max(0), tb);
        if f.pts.ticks() < f.dts.ticks() {
            f.pts = f.dts;
        }
        f
    }
}

/// Where the stream time of an RTP ingest starts by default (see [`Retimer`]): room for the
/// decode times of reordered video (reorder depth × frame duration) before the first
/// presentation time.
#[cfg(feature = "rtsp")]
pub(crate) const DEFAULT_STREAM_LEAD: Duration = Duration::from_secs(1);

/// One media of a session description as the pipeline sees it.
#[cfg(feature = "rtsp")]
pub(crate) struct SdpMedia {
    /// Position in the SDP (also the track id of its frames).
    pub(crate) index: usize,
    /// `video`, `audio`, `application`…
    pub(crate) media: String,
    /// `H264/90000`, `MPEG4-GENERIC/48000/2`… (`None`: no usable payload type).
    pub(crate) encoding: Option<String>,
    /// The control URL, resolved against the base.
    pub(crate) control: String,
    /// The decoder, or why the format cannot be depacketized.
    pub(crate) decoder: Result<EsDecoder, String>,
}

/// The encoding of the static RTP payload types (RFC 3551) that cameras announce without
/// an `a=rtpmap`.
#[cfg(feature = "rtsp")]
fn static_payload_type(pt: u8) -> Option<&'static str> {
    Some(match pt {
        0 => "PCMU/8000",
        8 => "PCMA/8000",
        14 => "MPA/90000",
        26 => "JPEG/90000",
        33 => "MP2T/90000",
        _ => return None,
    })
}

/// The media of a session description (an RTSP DESCRIBE answer or ANNOUNCE), each with the
/// pipeline decoder of its first payload type. Quirks: static payload types without
/// `a=rtpmap`; `sprop-*` parameter sets that do not decode (the track then waits for them
/// in band, like one announced without them).
#[cfg(feature = "rtsp")]
pub(crate) fn sdp_media(d: &weir_sdp::SessionDescription, base: &str) -> Vec<SdpMedia> {
    use weir_rtp_rtcp::payload::track_for;
    let mut out = Vec::new();
    for (index, m) in d.media.iter().enumerate() {
        let control = m.control_url(d, base);
        let id = TrackId(u32::try_from(index).unwrap_or(u32::MAX));
        let pt = m.payload_types().next();
        let encoding = pt.and_then(|pt| match m.rtpmap(pt) {
            Some(Ok(r)) => {
                let mut e = format!("{}/{}", r.encoding, r.clock_rate);
                if let Some(ch) = r.channels {
                    e.push_str(&format!("/{ch}"));
                }
                Some(e)
            }
            _ => static_payload_type(pt).map(str::to_string),
        });
        let decoder = match (pt, &encoding) {
            (Some(pt), Some(enc)) => {
                // The fmtp parameters exactly as announced (`a=fmtp:PT params`).
                let fmtp = m.attributes_named("fmtp").flatten().find_map(|v| {
                    let (p, rest) = v.trim().split_once(char::is_whitespace)?;
                    (p.parse::<u8>().ok() == Some(pt)).then(|| rest.trim())
                });
                let clock = enc
                    .split('/')
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(90_000);
                let cfg = DepacketizerConfig::new(clock).with_track(id);
                match track_for(enc, fmtp, cfg.clone()) {
                    Ok((depack, info)) => Ok(EsDecoder::new(info, depack)),
                    Err(e) => match fmtp.map(without_sprop).filter(|f| Some(f.as_str()) != fmtp) {
                        // Quirk: bad `sprop-parameter-sets` (VStarcam, Hikvision with an empty
                        // PPS): ignore them, the parameter sets come in band.
                        Some(f) => match track_for(enc, Some(&f), cfg) {
                            Ok((depack, info)) => {
                                info!(media = index, error = %e, "SDP parameter sets ignored: waiting for them in band");
                                Ok(EsDecoder::new(info, depack))
                            }
                            Err(e) => Err(e.to_string()),
                        },
                        None => Err(e.to_string()),
                    },
                }
            }
            _ => Err("no RTP payload type with a known encoding".to_string()),
        };
        out.push(SdpMedia {
            index,
            media: m.media.clone(),
            encoding,
            control,
            decoder,
        });
    }
    out
}

/// An fmtp value without its `sprop-*` parameters.
#[cfg(feature = "rtsp")]
fn without_sprop(fmtp: &str) -> String {
    fmtp.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.to_ascii_lowercase().starts_with("sprop-"))
        .collect::<Vec<_>>()
        .join(";")
}

/// The avcC/hvcC built from the parameter sets in an access unit, if it has them all.
fn config_from_access_unit(codec: Codec, data: &Bytes) -> Option<Bytes> {
    match codec {
        Codec::H264 => weir_h264::AvcConfig::from_access_unit(data).map(|c| c.to_bytes()),
        Codec::H265 => weir_h265::HevcConfig::from_access_unit(data).map(|c| c.to_bytes()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use weir_media::Timebase;
    use weir_rtp_rtcp::payload::h264::{H264Packetizer, PacketizationMode};
    #[cfg(feature = "gb28181")]
    use weir_rtp_rtcp::payload::ps::PsPacketizer;
    use weir_rtp_rtcp::payload::{track_for, Packetizer, PacketizerConfig};

    const SPS: &[u8] = &[
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ];
    const PPS: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];

    fn nalus(list: &[&[u8]]) -> Bytes {
        let mut b = BytesMut::new();
        for n in list {
            b.extend_from_slice(&(n.len() as u32).to_be_bytes());
            b.extend_from_slice(n);
        }
        b.freeze()
    }

    /// Frame `i` of a 25 fps H.264 stream: a keyframe (with SPS/PPS in band) every 10
    /// frames, slices large enough to be fragmented (FU-A) at a 1200-byte MTU.
    fn h264_frame(i: u32) -> Frame {
        let key = i.is_multiple_of(10);
        let mut slice = vec![if key { 0x65 } else { 0x41 }];
        slice.extend((0..3000u32).map(|k| (k.wrapping_mul(31) ^ i) as u8 | 1));
        let data = if key {
            nalus(&[SPS, PPS, &slice])
        } else {
            nalus(&[&slice])
        };
        let t = Timestamp::new(i64::from(i) * 3600, Timebase::MPEG);
        Frame::new(TrackId(0), t, t, data).with_keyframe(key)
    }

    fn packets(frames: &[Frame]) -> Vec<RtpPacket> {
        let cfg = PacketizerConfig::new(90_000)
            .with_mtu(1200)
            .with_ssrc(7)
            .with_initial_sequence_number(65_500);
        let mut p = H264Packetizer::new(cfg, &Bytes::new(), PacketizationMode::NonInterleaved);
        let mut out = Vec::new();
        for f in frames {
            p.packetize(f, &mut out).unwrap();
        }
        out.into_iter()
            .map(|b| RtpPacket::parse(b).unwrap())
            .collect()
    }

    fn decoder() -> EsDecoder {
        let cfg = DepacketizerConfig::new(90_000).with_track(TrackId(3));
        let (depack, info) = track_for("H264/90000", Some("packetization-mode=1"), cfg).unwrap();
        assert!(
            info.config.is_empty(),
            "no sprop: parameter sets come in band"
        );
        EsDecoder::new(info, depack)
    }

    fn drain<D: PayloadDecoder>(p: &mut RtpIngest<D>) -> Vec<IngestEvent> {
        std::iter::from_fn(|| p.poll_event()).collect()
    }

    /// Reordered packets (UDP) come out as the source frames, in order; the track is
    /// announced with the parameter sets found in the first keyframe; decode timestamps
    /// are assigned; the sequence numbers wrap on the way.
    #[test]
    fn reorders_depacketizes_and_finds_parameter_sets_in_band() {
        let frames: Vec<Frame> = (0..30).map(h264_frame).collect();
        let mut pkts = packets(&frames);
        assert!(pkts.len() > 60, "fragmented");
        // Swap neighbours: every packet arrives out of order by one.
        for pair in pkts.chunks_mut(2) {
            pair.reverse();
        }
        let mut p = RtpIngest::new(decoder(), Some((90_000, Duration::from_millis(100))));
        let t0 = Instant::now();
        for (i, pkt) in pkts.into_iter().enumerate() {
            p.push(pkt, t0 + Duration::from_millis(i as u64));
        }
        p.finish(t0 + Duration::from_secs(5));
        let ev = drain(&mut p);
        let IngestEvent::Track(t) = &ev[0] else {
            panic!("track first: {:?}", ev[0]);
        };
        let want = weir_h264::AvcConfig::from_parameter_sets(
            &[Bytes::from_static(SPS)],
            &[Bytes::from_static(PPS)],
        )
        .unwrap()
        .to_bytes();
        assert_eq!((t.id, &t.config), (TrackId(3), &want));
        let got: Vec<&Frame> = ev[1..]
            .iter()
            .map(|e| match e {
                IngestEvent::Frame(f) => f,
                other => panic!("only frames after the track: {other:?}"),
            })
            .collect();
        assert_eq!(got.len(), 30);
        for (g, w) in got.iter().zip(&frames) {
            assert_eq!(
                (&g.data, g.keyframe, g.pts.ticks() & 0xFFFF_FFFF),
                (&w.data, w.keyframe, w.pts.ticks())
            );
            assert!(g.dts.ticks() <= g.pts.ticks());
        }
        assert_eq!(p.lost_packets(), 0);
    }

    /// A lost packet damages one frame: it is not emitted, and `Lost` tells the hub to hold
    /// the track's video until the next keyframe; frames before the gap are complete.
    #[test]
    fn loss_is_reported_and_damaged_frames_dropped() {
        let frames: Vec<Frame> = (0..20).map(h264_frame).collect();
        let mut pkts = packets(&frames);
        // Drop a middle packet of frame 3 (frames are 3 packets each, keyframes 4).
        let victim = pkts
            .iter()
            .position(|p| p.timestamp() == 3 * 3600 && !p.marker())
            .unwrap();
        pkts.remove(victim + 1);
        let mut p = RtpIngest::new(decoder(), Some((90_000, Duration::from_millis(50))));
        let t0 = Instant::now();
        for (i, pkt) in pkts.into_iter().enumerate() {
            p.push(pkt, t0 + Duration::from_millis(10 * i as u64));
            p.handle_timeout(t0 + Duration::from_millis(10 * i as u64));
        }
        p.finish(t0 + Duration::from_secs(10));
        let ev = drain(&mut p);
        let lost = ev
            .iter()
            .position(|e| matches!(e, IngestEvent::Lost(TrackId(3))))
            .expect("loss reported");
        let frame_times: Vec<i64> = ev
            .iter()
            .filter_map(|e| match e {
                IngestEvent::Frame(f) => Some(f.pts.ticks() / 3600),
                _ => None,
            })
            .collect();
        assert!(
            !frame_times.contains(&3),
            "damaged frame dropped: {frame_times:?}"
        );
        assert!(frame_times.starts_with(&[0, 1, 2]));
        assert_eq!(frame_times.len(), 19);
        // Frames 0..=2 come before the loss report.
        let before = ev[..lost]
            .iter()
            .filter(|e| matches!(e, IngestEvent::Frame(_)))
            .count();
        assert_eq!(before, 3);
        assert_eq!(p.lost_packets(), 1);
    }

    /// Without a jitter buffer (TCP) a sequence gap — data lost before it reached us, e.g.
    /// an interleaved frame cut short — is reported too.
    #[test]
    fn gaps_without_reordering_are_reported() {
        let frames: Vec<Frame> = (0..20).map(h264_frame).collect();
        let mut pkts = packets(&frames);
        let victim = pkts
            .iter()
            .position(|p| p.timestamp() == 13 * 3600)
            .unwrap();
        pkts.remove(victim + 1);
        let mut p = RtpIngest::new(decoder(), None);
        let t0 = Instant::now();
        for pkt in pkts {
            p.push(pkt, t0);
        }
        p.finish(t0);
        let ev = drain(&mut p);
        let lost = ev
            .iter()
            .position(|e| matches!(e, IngestEvent::Lost(TrackId(3))))
            .expect("loss reported");
        let before = ev[..lost]
            .iter()
            .filter(|e| matches!(e, IngestEvent::Frame(_)))
            .count();
        assert_eq!(before, 13, "frames 0..=12 come before the report");
        assert_eq!(p.lost_packets(), 1);
    }

    /// GB28181: a program stream over RTP (TCP, no reordering) becomes tracks and frames.
    #[cfg(feature = "gb28181")]
    #[test]
    fn program_stream_over_rtp_becomes_tracks_and_frames() {
        let video = TrackInfo::new(TrackId(0), Codec::H264, 90_000);
        let mut mux =
            weir_ps::PsMuxer::new(std::slice::from_ref(&video), Default::default()).unwrap();
        let mut pack = PsPacketizer::new(PacketizerConfig::new(90_000).with_ssrc(9));
        let mut pkts = Vec::new();
        let frames: Vec<Frame> = (0..12).map(h264_frame).collect();
        for f in &frames {
            let mut ps = BytesMut::new();
            mux.write_frame(f, &mut ps).unwrap();
            let ps = Frame::new(f.track, f.pts, f.dts, ps.freeze());
            pack.packetize(&ps, &mut pkts).unwrap();
        }
        let mut p = RtpIngest::new(PsDecoder::default(), None);
        let t0 = Instant::now();
        for b in pkts {
            p.push(RtpPacket::parse(b).unwrap(), t0);
        }
        p.finish(t0);
        let ev = drain(&mut p);
        assert!(matches!(&ev[0], IngestEvent::Track(t) if t.codec == Codec::H264));
        let got: Vec<&Frame> = ev
            .iter()
            .filter_map(|e| match e {
                IngestEvent::Frame(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(got.len(), frames.len());
        for (g, w) in got.iter().zip(&frames) {
            assert_eq!((&g.data, g.keyframe), (&w.data, w.keyframe));
        }
    }

    /// Two RTP streams with unrelated timestamp offsets line up on one clock through their
    /// sender reports.
    #[test]
    fn sender_reports_align_tracks() {
        let mut r = Retimer::new(Duration::from_secs(1));
        let ntp = NtpTime::from_unix(Duration::from_secs(1_700_000_000));
        // Video: RTP 1_000_000 at `ntp`; audio (48 kHz): RTP 5_000 at the same instant.
        r.sender_report(TrackId(0), ntp, 1_000_000);
        r.sender_report(TrackId(1), ntp, 5_000);
        let now = Instant::now();
        let v = Timestamp::new(1_000_000 + 9_000, Timebase::MPEG); // +100 ms
        let a = Timestamp::new(5_000 + 4_800, Timebase::hz(48_000).unwrap()); // +100 ms
        let fv = r.retime(Frame::new(TrackId(0), v, v, Bytes::new()), 90_000, now);
        let fa = r.retime(
            Frame::new(TrackId(1), a, a, Bytes::new()),
            48_000,
            now + Duration::from_millis(300),
        );
        let ms = |t: Timestamp| t.rescale(Timebase::MILLIS).ticks();
        assert_eq!(
            ms(fv.pts),
            1000,
            "the first frame starts the stream clock at the lead"
        );
        assert_eq!(
            ms(fa.pts),
            1000,
            "same instant on the audio clock, whatever its arrival"
        );
    }
}
