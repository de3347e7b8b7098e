//! Opus over RTP (RFC 7587): one Opus packet per RTP packet, 48 kHz clock.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
//! use weir_rtp_rtcp::payload::opus::{OpusDepacketizer, OpusPacketizer};
//! use weir_rtp_rtcp::RtpPacket;
//!
//! let ts = Timestamp::new(960, Timebase::hz(48_000).unwrap());
//! let frame = Frame::new(TrackId(0), ts, ts, Bytes::from_static(&[0xfc, 1, 2, 3])).with_keyframe(true);
//! let mut pk = OpusPacketizer::new(PacketizerConfig::new(48_000).with_payload_type(111), 2);
//! assert_eq!(pk.sdp().rtpmap, "opus/48000/2");
//! let mut out = Vec::new();
//! pk.packetize(&frame, &mut out)?;
//! let mut dp = OpusDepacketizer::new(DepacketizerConfig::new(48_000));
//! dp.push(&RtpPacket::parse(out[0].clone())?)?;
//! let got = dp.pull().unwrap();
//! assert_eq!((got.pts, got.data), (frame.pts, frame.data));
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use bytes::Bytes;

use super::{
    limit_error, Depacketizer, DepacketizerConfig, Emitter, Packetizer, PacketizerConfig,
    SdpFormat, SimpleDepacketizer,
};
use crate::Error;

/// RTP → Opus packets.
#[derive(Debug)]
pub struct OpusDepacketizer(SimpleDepacketizer);

impl OpusDepacketizer {
    /// A depacketizer (the clock rate is always 48 000 for Opus).
    pub fn new(cfg: DepacketizerConfig) -> OpusDepacketizer {
        OpusDepacketizer(SimpleDepacketizer::new(cfg))
    }
}

impl Depacketizer for OpusDepacketizer {
    fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        _marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        if payload.is_empty() {
            // RFC 7587 4.2: a zero-length payload is not a valid Opus packet.
            return Err(super::truncated("Opus packet", 0, 1, 0));
        }
        self.0.packet(seq, ts, payload, true, false)
    }
    fn pull(&mut self) -> Option<weir_media::Frame> {
        self.0.pull()
    }
    fn flush(&mut self) {}
}

/// Opus packets → RTP (one per packet; the marker bit stays clear).
#[derive(Debug)]
pub struct OpusPacketizer {
    emitter: Emitter,
    channels: u8,
}

impl OpusPacketizer {
    /// A packetizer; `channels` (1 or 2) only affects the SDP (`sprop-stereo`).
    pub fn new(cfg: PacketizerConfig, channels: u8) -> OpusPacketizer {
        OpusPacketizer {
            emitter: Emitter::new(cfg),
            channels,
        }
    }

    /// `a=rtpmap`/`a=fmtp` for this stream (RFC 7587 7: always `opus/48000/2`).
    pub fn sdp(&self) -> SdpFormat {
        let stereo = u8::from(self.channels >= 2);
        SdpFormat {
            payload_type: self.emitter.cfg.payload_type,
            rtpmap: "opus/48000/2".to_string(),
            fmtp: Some(format!("sprop-stereo={stereo};stereo={stereo}")),
        }
    }
}

impl Packetizer for OpusPacketizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        let max = self.emitter.max_payload(1)?;
        if frame.data.len() > max {
            return Err(limit_error("Opus packet size (MTU)", max, frame.data.len()));
        }
        self.emitter.begin_frame(frame.pts, frame.data.len() + 12);
        self.emitter.begin_packet();
        self.emitter.put_slice(&frame.data);
        self.emitter.finish_frame(out);
        Ok(())
    }
    fn next_sequence_number(&self) -> u16 {
        self.emitter.next_seq()
    }
}
