//! G.711 A-law (PCMA, static payload type 8) and µ-law (PCMU, payload type 0) over RTP
//! (RFC 3551 4.5.14): raw 8-bit samples at 8 kHz, one byte per sample.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
//! use weir_rtp_rtcp::payload::g711::{G711Depacketizer, G711Packetizer, G711Law};
//! use weir_rtp_rtcp::RtpPacket;
//!
//! let ts = Timestamp::new(8000, Timebase::hz(8_000).unwrap());
//! let frame = Frame::new(TrackId(0), ts, ts, Bytes::from(vec![0xd5; 400]));
//! // A 212-byte MTU leaves 200 bytes of samples per packet: two packets.
//! let mut pk = G711Packetizer::new(PacketizerConfig::new(8_000).with_mtu(212), G711Law::A);
//! let mut out = Vec::new();
//! pk.packetize(&frame, &mut out)?;
//! assert_eq!(out.len(), 2);
//! let mut dp = G711Depacketizer::new(DepacketizerConfig::new(8_000));
//! for p in out { dp.push(&RtpPacket::parse(p)?)?; }
//! assert_eq!(dp.pull().unwrap().pts.ticks(), 8000);
//! assert_eq!(dp.pull().unwrap().pts.ticks(), 8200);
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use bytes::Bytes;

use super::{
    Depacketizer, DepacketizerConfig, Emitter, Packetizer, PacketizerConfig, SdpFormat,
    SimpleDepacketizer,
};
use crate::Error;

/// Which G.711 companding law.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum G711Law {
    /// A-law, PCMA, payload type 8.
    A,
    /// µ-law, PCMU, payload type 0.
    Mu,
}

impl G711Law {
    /// The static RTP payload type (RFC 3551 table 4).
    pub fn payload_type(self) -> u8 {
        match self {
            G711Law::A => 8,
            G711Law::Mu => 0,
        }
    }
}

/// RTP → G.711 sample blocks (one frame per packet).
#[derive(Debug)]
pub struct G711Depacketizer(SimpleDepacketizer);

impl G711Depacketizer {
    /// A depacketizer.
    pub fn new(cfg: DepacketizerConfig) -> G711Depacketizer {
        G711Depacketizer(SimpleDepacketizer::new(cfg))
    }
}

impl Depacketizer for G711Depacketizer {
    fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        _marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        if payload.is_empty() {
            return Ok(());
        }
        self.0.packet(seq, ts, payload, true, false)
    }
    fn pull(&mut self) -> Option<weir_media::Frame> {
        self.0.pull()
    }
    fn flush(&mut self) {}
}

/// G.711 sample blocks → RTP; blocks larger than a packet are split, each part's
/// timestamp advanced by its sample offset.
#[derive(Debug)]
pub struct G711Packetizer {
    emitter: Emitter,
    law: G711Law,
}

impl G711Packetizer {
    /// A packetizer (set `cfg.payload_type` to [`G711Law::payload_type`] for the static
    /// assignment).
    pub fn new(cfg: PacketizerConfig, law: G711Law) -> G711Packetizer {
        G711Packetizer {
            emitter: Emitter::new(cfg),
            law,
        }
    }

    /// `a=rtpmap` for this stream.
    pub fn sdp(&self) -> SdpFormat {
        let name = match self.law {
            G711Law::A => "PCMA",
            G711Law::Mu => "PCMU",
        };
        SdpFormat {
            payload_type: self.emitter.cfg.payload_type,
            rtpmap: format!("{name}/{}", self.emitter.cfg.clock_rate),
            fmtp: None,
        }
    }
}

impl Packetizer for G711Packetizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        let max = self.emitter.max_payload(1)?;
        let n = frame.data.len();
        self.emitter.begin_frame(frame.pts, n + (n / max + 1) * 12);
        let tb = weir_media::Timebase::hz(self.emitter.cfg.clock_rate)
            .ok_or_else(|| super::invalid("clock rate", 0, "must not be 0"))?;
        let base = frame.pts.rescale(tb);
        for (i, chunk) in frame.data.chunks(max).enumerate() {
            let offset = (i * max) as i64;
            self.emitter.set_timestamp(weir_media::Timestamp::new(
                base.ticks().wrapping_add(offset),
                tb,
            ));
            self.emitter.begin_packet();
            self.emitter.put_slice(chunk);
        }
        self.emitter.finish_frame(out);
        Ok(())
    }
    fn next_sequence_number(&self) -> u16 {
        self.emitter.next_seq()
    }
}
