//! Write-once RTP: one packetizing stage per stream, shared by all of its RTSP players.
//!
//! [`RtpStage`] is a hub [`Tap`]: while a stream has at least one RTSP player (or one
//! waiting for it), the hub runs every unit through it in publish order and the stage
//! attaches the unit's RTP packets ([`packets`]). Every RTSP player then sends the same
//! refcounted packets — same SSRC, sequence numbers and timestamps — so packetizing costs
//! once per stream, not once per player, and streams nobody plays over RTSP never build
//! RTP. The units a new player starts from (configurations and the cached GOP) go through
//! the stage when it subscribes, in order, so its sequence numbers run on without a gap.
//!
//! Each track of the stream (the hub keeps track ids stable across publisher reconnects)
//! is one RTP stream: a configuration change keeps its SSRC, timestamp offset and sequence
//! numbers; a codec change starts a new RTP stream.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tracing::{debug, info};
use weir_media::{Codec, MediaKind, Timebase, Timestamp, TrackId, TrackInfo};
use weir_rtp_rtcp::payload::{packetizer_for_track, Packetizer, PacketizerConfig, SdpFormat};

use crate::core::{EncodingKey, Tap, Unit};
use crate::net::random_u64;

/// The RTP packets of one unit, built once by the stream's [`RtpStage`].
#[derive(Debug, Default)]
pub(crate) struct RtpPackets {
    /// The track the packets belong to (`None` for units of no RTP track).
    pub(crate) track: Option<TrackId>,
    /// The packets, in sending order (empty for configurations).
    pub(crate) packets: Vec<Bytes>,
    /// RTP timestamp of the packets (of the unit's time, for configurations).
    pub(crate) timestamp: u32,
    /// Sequence number of the first packet (the track's next one, without packets).
    pub(crate) first_seq: u16,
    /// Per RTP track: the sequence number its next packet gets after this unit.
    pub(crate) next_seq: Vec<(TrackId, u16)>,
}

static RTP_PACKETS: EncodingKey<RtpPackets> = EncodingKey::new();

/// The unit's RTP packets, when the stream's stage has built them.
pub(crate) fn packets(unit: &Unit) -> Option<&RtpPackets> {
    unit.cached(&RTP_PACKETS)
}

/// What a player needs to describe and report one RTP track of a stream.
#[derive(Debug)]
pub(crate) struct RtpTrack {
    /// The stream's track id.
    pub(crate) id: TrackId,
    /// The track, with its RTP clock rate.
    pub(crate) info: Arc<TrackInfo>,
    /// Payload type and SDP attributes.
    pub(crate) sdp: SdpFormat,
    pub(crate) ssrc: u32,
    pub(crate) ts_offset: u32,
    /// Sequence number of the track's first packet.
    pub(crate) initial_seq: u16,
}

impl RtpTrack {
    /// The RTP timestamp of a stream time.
    pub(crate) fn rtp_time_of(&self, t: Timestamp) -> u32 {
        let clock = Timebase::hz(self.info.clock_rate).unwrap_or(Timebase::MPEG);
        (t.rescale(clock).ticks() as u32).wrapping_add(self.ts_offset)
    }
}

struct StageTrack {
    /// The track as the hub announced it (to notice configuration changes).
    source: Arc<TrackInfo>,
    packetizer: Box<dyn Packetizer + Send>,
    desc: Arc<RtpTrack>,
}

#[derive(Default)]
struct StageState {
    tracks: Vec<StageTrack>,
    /// Index of the last unit processed (units are processed once, in order).
    last: u64,
}

/// The per-stream RTP packetizing stage (a hub [`Tap`]).
#[derive(Default)]
pub(crate) struct RtpStage {
    state: Mutex<StageState>,
}

impl std::fmt::Debug for RtpStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpStage").finish_non_exhaustive()
    }
}

impl Tap for RtpStage {
    fn unit(&self, unit: &Arc<Unit>) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.process(unit);
    }
}

impl RtpStage {
    /// The RTP track of the stream's track `id`, if its codec can be carried.
    pub(crate) fn track(&self, id: TrackId) -> Option<Arc<RtpTrack>> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.tracks
            .iter()
            .find(|t| t.desc.id == id)
            .map(|t| t.desc.clone())
    }
}

impl StageState {
    /// Makes sure `track` has a packetizer, reconfiguring it when needed.
    fn ensure(&mut self, track: &Arc<TrackInfo>) -> Option<usize> {
        let pos = self.tracks.iter().position(|t| t.desc.id == track.id);
        let continuing = match pos.and_then(|i| self.tracks.get_mut(i)) {
            Some(t) if Arc::ptr_eq(&t.source, track) => return pos,
            Some(t)
                if t.source.codec == track.codec
                    && t.source.config == track.config
                    && t.source.clock_rate == track.clock_rate =>
            {
                t.source = track.clone();
                return pos;
            }
            Some(t) if t.source.codec == track.codec => Some((
                t.desc.ssrc,
                t.desc.ts_offset,
                t.packetizer.next_sequence_number(),
                t.desc.initial_seq,
                t.desc.sdp.payload_type,
            )),
            _ => None,
        };
        let info = with_rtp_clock(track.clone());
        let pt = continuing.map_or_else(|| 96 + self.tracks.len().min(31) as u8, |c| c.4);
        let (ssrc, ts_offset, seq, initial_seq) = match continuing {
            Some((ssrc, off, seq, initial, _)) => (ssrc, off, seq, initial),
            None => {
                let r = random_u64();
                let seq = random_u64() as u16;
                (r as u32, (r >> 32) as u32, seq, seq)
            }
        };
        let cfg = PacketizerConfig::new(info.clock_rate)
            .with_payload_type(pt)
            .with_ssrc(ssrc)
            .with_timestamp_offset(ts_offset)
            .with_initial_sequence_number(seq);
        match packetizer_for_track(&info, cfg) {
            Ok((packetizer, sdp)) => {
                let entry = StageTrack {
                    source: track.clone(),
                    packetizer,
                    desc: Arc::new(RtpTrack {
                        id: track.id,
                        info,
                        sdp,
                        ssrc,
                        ts_offset,
                        initial_seq,
                    }),
                };
                match pos {
                    Some(i) => {
                        self.tracks[i] = entry;
                        Some(i)
                    }
                    None => {
                        self.tracks.push(entry);
                        Some(self.tracks.len() - 1)
                    }
                }
            }
            Err(e) => {
                info!(codec = %track.codec, error = %e, "RTSP: track not carried over RTP");
                if let Some(i) = pos {
                    self.tracks.remove(i);
                }
                None
            }
        }
    }

    /// Packetizes `unit`, once: units are numbered by the hub and processed in order.
    fn process(&mut self, unit: &Unit) {
        if unit.index() <= self.last || packets(unit).is_some() {
            return;
        }
        self.last = unit.index();
        let mut out = RtpPackets::default();
        if let Some(track) = unit.track() {
            if let Some(t) = self.ensure(track).and_then(|i| self.tracks.get_mut(i)) {
                out.track = Some(t.desc.id);
                out.first_seq = t.packetizer.next_sequence_number();
                out.timestamp = t
                    .desc
                    .rtp_time_of(unit.frame_data().map_or(unit.time(), |f| f.pts));
                if let Some(frame) = unit.frame_data() {
                    if let Err(e) = t.packetizer.packetize(frame, &mut out.packets) {
                        debug!(error = %e, "RTP: frame not packetized");
                        out.packets.clear();
                    }
                    if let Some(p) = out
                        .packets
                        .first()
                        .and_then(|p| weir_rtp_rtcp::RtpPacketRef::parse(p).ok())
                    {
                        out.timestamp = p.timestamp();
                    }
                }
            }
        }
        out.next_seq = self
            .tracks
            .iter()
            .map(|t| (t.desc.id, t.packetizer.next_sequence_number()))
            .collect();
        unit.seed(&RTP_PACKETS, out);
    }
}

/// The track with its RTP clock rate (RFC 3551/6184/3640/7587): ingest tracks may carry
/// another timebase (FLV: milliseconds). Frames keep their own timebase; the packetizer
/// rescales.
pub(crate) fn with_rtp_clock(info: Arc<TrackInfo>) -> Arc<TrackInfo> {
    let clock = match info.codec {
        Codec::Aac => weir_aac::AudioSpecificConfig::parse(&info.config)
            .ok()
            .map(|asc| asc.core_sample_rate())
            .filter(|r| *r > 0)
            .or(info.audio.map(|a| a.sample_rate))
            .unwrap_or(info.clock_rate),
        Codec::Opus => 48_000,
        Codec::G711A | Codec::G711U => 8000,
        _ if info.codec.kind() == MediaKind::Video => 90_000,
        _ => info.audio.map_or(info.clock_rate, |a| a.sample_rate),
    };
    if clock == info.clock_rate || clock == 0 {
        return info;
    }
    let mut t = (*info).clone();
    t.clock_rate = clock;
    Arc::new(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Hub, HubConfig, SubscribeOptions, TryNext};
    use weir_media::Frame;

    fn g711_frame(i: i64) -> Frame {
        let t = Timestamp::new(i * 160, Timebase::hz(8000).unwrap());
        Frame::new(TrackId(1), t, t, Bytes::from(vec![0xFFu8; 160]))
    }

    fn rtsp() -> SubscribeOptions {
        SubscribeOptions::new().tap::<RtpStage>()
    }

    /// Packets are built once per stream, only while an RTSP player exists: the units the
    /// first one starts from (the cached tail) are packetized when it joins, live units on
    /// the way in, and the sequence numbers run on without a gap across both.
    #[tokio::test]
    async fn packets_are_built_once_in_order_only_while_rtsp_players_exist() {
        let hub = Hub::new(HubConfig::default());
        let p = hub.publish("live/a", "test").unwrap();
        p.track(TrackInfo::new(TrackId(1), Codec::G711U, 8000));
        for i in 0..5 {
            p.frame(g711_frame(i));
        }
        // A non-RTSP player: nothing is packetized for it.
        let mut flv = hub
            .subscribe_within("live/a", "flv", std::time::Duration::from_secs(2))
            .await
            .unwrap();
        let mut seen = 0;
        while let TryNext::Unit(u) = flv.try_next() {
            assert!(packets(&u).is_none(), "no RTP without RTSP players");
            seen += 1;
        }
        assert!(seen >= 5);

        let mut a = hub.subscribe_with("live/a", "rtsp", rtsp()).await.unwrap();
        let stage_a = a.tap::<RtpStage>().unwrap();
        assert!(stage_a.track(TrackId(1)).is_some());
        for i in 5..10 {
            p.frame(g711_frame(i));
        }
        let mut b = hub.subscribe_with("live/a", "rtsp", rtsp()).await.unwrap();
        let stage_b = b.tap::<RtpStage>().unwrap();
        assert!(Arc::ptr_eq(&stage_a, &stage_b), "one stage per stream");
        let mut seqs = Vec::new();
        let mut units_a = Vec::new();
        while let TryNext::Unit(u) = a.try_next() {
            let r = packets(&u).expect("every unit an RTSP player gets has its packets");
            for pkt in &r.packets {
                seqs.push(
                    weir_rtp_rtcp::RtpPacketRef::parse(pkt)
                        .unwrap()
                        .sequence_number(),
                );
            }
            units_a.push(u);
        }
        assert_eq!(seqs.len(), 10, "5 cached + 5 live frames, one packet each");
        for w in seqs.windows(2) {
            assert_eq!(w[1], w[0].wrapping_add(1), "{seqs:?}");
        }
        // The second player gets the same unit objects and so the same packets.
        while let TryNext::Unit(u) = b.try_next() {
            if let Some(same) = units_a.iter().find(|x| Arc::ptr_eq(x, &u)) {
                assert!(std::ptr::eq(packets(same).unwrap(), packets(&u).unwrap()));
            }
        }
        drop((a, b));
        p.frame(g711_frame(10));
        let mut last = None;
        while let TryNext::Unit(u) = flv.try_next() {
            last = Some(u);
        }
        let last = last.unwrap();
        assert_eq!(
            last.time().rescale(Timebase::MILLIS).ticks(),
            200,
            "frame 10 at 200 ms"
        );
        assert!(
            packets(&last).is_none(),
            "the stage stops with the last RTSP player"
        );
    }
}
