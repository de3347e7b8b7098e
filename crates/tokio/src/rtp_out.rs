//! Write-once RTP: one packetizing stage per stream, shared by all of its RTSP players.
//!
//! While a stream has at least one RTSP player, the publisher path runs every unit through
//! the stream's [`RtpStage`] (in publish order, under the stream lock) and attaches the RTP
//! packets to the unit ([`Unit::rtp`]). Every RTSP player then sends the same refcounted
//! packets — same SSRC, sequence numbers and timestamps — so the cost of packetizing is
//! paid once per stream, not once per player. Streams nobody plays over RTSP never build
//! RTP at all.
//!
//! When the first RTSP player arrives, the units it will start from (codec configurations
//! and the cached GOP) are packetized first, in order, so the sequence numbers a player
//! sees are continuous from its first packet on.

use std::sync::Arc;

use bytes::Bytes;
use tracing::{debug, info};
use weir_media::{Codec, MediaKind, Timebase, Timestamp, TrackInfo};
use weir_rtp_rtcp::payload::{packetizer_for_track, Packetizer, PacketizerConfig, SdpFormat};

use crate::unit::{Unit, UnitKind};

/// Index of a stream's video (0) or audio (1) RTP track.
pub(crate) fn slot_of(kind: UnitKind) -> Option<usize> {
    match kind {
        UnitKind::Video => Some(0),
        UnitKind::Audio => Some(1),
        _ => None,
    }
}

/// The RTP packets of one unit, built once by the stream's [`RtpStage`].
#[derive(Debug, Default)]
pub struct RtpPackets {
    /// Which RTP track (0 video, 1 audio) the packets belong to; `None` for units that
    /// produced no packets of a track (metadata).
    pub(crate) slot: Option<usize>,
    /// The packets, in sending order (empty for codec configurations).
    pub(crate) packets: Vec<Bytes>,
    /// RTP timestamp of the packets.
    pub(crate) timestamp: u32,
    /// Sequence number of the first packet (when there are packets).
    pub(crate) first_seq: u16,
    /// Per track: the sequence number its next packet gets after this unit (`None`: the
    /// track had not started yet, so its first packet has [`RtpTrack::initial_seq`]).
    pub(crate) next_seq: [Option<u16>; 2],
}

/// What a player needs to describe and report one RTP track of a stream.
#[derive(Debug)]
pub(crate) struct RtpTrack {
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
    /// The RTP timestamp of a stream time in milliseconds.
    pub(crate) fn rtp_time_of_ms(&self, ms: i64) -> u32 {
        let clock = Timebase::hz(self.info.clock_rate).unwrap_or(Timebase::MPEG);
        let ticks = Timestamp::new(ms, Timebase::MILLIS).rescale(clock).ticks();
        (ticks as u32).wrapping_add(self.ts_offset)
    }
}

struct StageTrack {
    /// The ingest's track this was built from (compared to spot configuration changes).
    source: Arc<TrackInfo>,
    packetizer: Box<dyn Packetizer + Send>,
    desc: Arc<RtpTrack>,
}

/// A stream's RTP packetizing stage (see the module docs).
#[derive(Default)]
pub(crate) struct RtpStage {
    tracks: [Option<StageTrack>; 2],
}

impl std::fmt::Debug for RtpStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpStage")
            .field("video", &self.tracks[0].as_ref().map(|t| &t.desc))
            .field("audio", &self.tracks[1].as_ref().map(|t| &t.desc))
            .finish()
    }
}

impl RtpStage {
    /// Makes sure the stage has an RTP track for `track` (same parameters), building or
    /// reconfiguring it when needed. A configuration change keeps the SSRC, timestamp
    /// offset and sequence numbers; a codec change starts a new RTP stream.
    pub(crate) fn ensure(&mut self, track: &Arc<TrackInfo>) {
        let slot = usize::from(track.codec.kind() != MediaKind::Video);
        let Some(entry) = self.tracks.get_mut(slot) else {
            return;
        };
        let continuing = match entry {
            Some(t) if Arc::ptr_eq(&t.source, track) => return,
            Some(t)
                if t.source.codec == track.codec
                    && t.source.config == track.config
                    && t.source.clock_rate == track.clock_rate =>
            {
                t.source = track.clone();
                return;
            }
            Some(t) if t.source.codec == track.codec => Some((
                t.desc.ssrc,
                t.desc.ts_offset,
                t.packetizer.next_sequence_number(),
            )),
            _ => None,
        };
        let pt = 96 + slot as u8;
        let info = with_rtp_clock(track.clone());
        let (ssrc, ts_offset, seq) = continuing.unwrap_or_else(|| {
            let r = crate::rtsp::random_u64();
            (r as u32, (r >> 32) as u32, crate::rtsp::random_u64() as u16)
        });
        let cfg = PacketizerConfig::new(info.clock_rate)
            .with_payload_type(pt)
            .with_ssrc(ssrc)
            .with_timestamp_offset(ts_offset)
            .with_initial_sequence_number(seq);
        match packetizer_for_track(&info, cfg) {
            Ok((packetizer, sdp)) => {
                let initial_seq = match entry {
                    Some(t) if continuing.is_some() => t.desc.initial_seq,
                    _ => seq,
                };
                *entry = Some(StageTrack {
                    source: track.clone(),
                    packetizer,
                    desc: Arc::new(RtpTrack {
                        info,
                        sdp,
                        ssrc,
                        ts_offset,
                        initial_seq,
                    }),
                });
            }
            Err(e) => {
                info!(codec = %track.codec, error = %e, "RTSP: track not carried over RTP");
                *entry = None;
            }
        }
    }

    /// The RTP track built for `track`'s kind, if the codec can be carried.
    pub(crate) fn track(&self, track: &TrackInfo) -> Option<(usize, Arc<RtpTrack>)> {
        let slot = usize::from(track.codec.kind() != MediaKind::Video);
        let t = self.tracks.get(slot)?.as_ref()?;
        Some((slot, t.desc.clone()))
    }

    /// Packetizes `unit` (once: a unit that already has its packets is left alone).
    pub(crate) fn process(&mut self, unit: &Unit) {
        if unit.rtp().is_some() || unit.kind() == UnitKind::End {
            return;
        }
        let mut out = RtpPackets::default();
        if let (Some(track), Some(slot)) = (unit.track(), slot_of(unit.kind())) {
            self.ensure(track);
            if let Some(t) = self.tracks.get_mut(slot).and_then(Option::as_mut) {
                out.slot = Some(slot);
                out.first_seq = t.packetizer.next_sequence_number();
                out.timestamp =
                    t.desc
                        .rtp_time_of_ms(unit.frame().map_or(i64::from(unit.timestamp()), |f| {
                            f.pts.rescale(Timebase::MILLIS).ticks()
                        }));
                if let (false, Some(frame)) = (unit.is_sequence_header(), unit.frame()) {
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
        for (next, t) in out.next_seq.iter_mut().zip(&self.tracks) {
            *next = t.as_ref().map(|t| t.packetizer.next_sequence_number());
        }
        unit.set_rtp(out);
    }
}

/// The track with its RTP clock rate (RFC 3551/6184/3640/7587): ingest tracks may carry
/// another timebase (FLV: milliseconds). Frames keep their own timebase; the packetizer
/// rescales.
pub(crate) fn with_rtp_clock(info: Arc<TrackInfo>) -> Arc<TrackInfo> {
    const AAC_RATES: [u32; 13] = [
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    ];
    let clock = match info.codec {
        Codec::Aac => {
            let c = &info.config;
            let index = match (c.first(), c.get(1)) {
                (Some(a), Some(b)) => usize::from(((a & 7) << 1) | (b >> 7)),
                _ => usize::MAX,
            };
            AAC_RATES
                .get(index)
                .copied()
                .or(info.audio.map(|a| a.sample_rate))
                .unwrap_or(info.clock_rate)
        }
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
    use crate::hub::{Hub, HubConfig, TryNext};
    use weir_media::{Frame, TrackId};

    fn g711_frame(i: i64) -> Frame {
        let t = Timestamp::new(i * 160, Timebase::hz(8000).unwrap());
        Frame::new(TrackId(1), t, t, Bytes::from(vec![0xFFu8; 160]))
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
            assert!(u.rtp().is_none(), "no RTP without RTSP players");
            seen += 1;
        }
        assert!(seen >= 5);

        let mut a = hub.subscribe_rtp("live/a").await.unwrap();
        assert_eq!(a.rtp_tracks().len(), 1);
        for i in 5..10 {
            p.frame(g711_frame(i));
        }
        let mut b = hub.subscribe_rtp("live/a").await.unwrap();
        assert!(Arc::ptr_eq(&a.rtp_tracks()[0].1, &b.rtp_tracks()[0].1));
        let mut seqs = Vec::new();
        let mut units_a = Vec::new();
        while let TryNext::Unit(u) = a.try_next() {
            let r = u
                .rtp()
                .expect("every unit an RTSP player gets has its packets");
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
                assert!(std::ptr::eq(same.rtp().unwrap(), u.rtp().unwrap()));
            }
        }
        drop((a, b));
        p.frame(g711_frame(10));
        let mut last = None;
        while let TryNext::Unit(u) = flv.try_next() {
            last = Some(u);
        }
        let last = last.unwrap();
        assert_eq!(last.timestamp(), 200, "frame 10 at 200 ms");
        assert!(
            last.rtp().is_none(),
            "the stage stops with the last RTSP player"
        );
    }
}
