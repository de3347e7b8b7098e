//! MPEG-2 transport stream over RTP (RFC 2250 2): each packet carries a whole number of
//! 188-byte TS packets; the clock is 90 kHz.
//!
//! A depacketized "frame" is the TS bytes of one RTP packet, to feed a TS demuxer;
//! [`Frame::incomplete`](weir_media::Frame) set means RTP packets were lost right before
//! it (a discontinuity).
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
//! use weir_rtp_rtcp::payload::mp2t::{Mp2tDepacketizer, Mp2tPacketizer};
//! use weir_rtp_rtcp::RtpPacket;
//!
//! let mut ts_bytes = vec![0u8; 188 * 10];
//! for p in ts_bytes.chunks_mut(188) { p[0] = 0x47; }
//! let t = Timestamp::new(0, Timebase::MPEG);
//! let frame = Frame::new(TrackId(0), t, t, Bytes::from(ts_bytes));
//! let mut pk = Mp2tPacketizer::new(PacketizerConfig::new(90_000).with_payload_type(33));
//! let mut out = Vec::new();
//! pk.packetize(&frame, &mut out)?;
//! assert_eq!(out.len(), 2); // 7 TS packets fit a 1400-byte MTU
//! let mut dp = Mp2tDepacketizer::new(DepacketizerConfig::new(90_000));
//! for p in out { dp.push(&RtpPacket::parse(p)?)?; }
//! assert_eq!(dp.pull().unwrap().data.len(), 188 * 7);
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use bytes::Bytes;

use super::{
    invalid, Depacketizer, DepacketizerConfig, Emitter, Packetizer, PacketizerConfig, SdpFormat,
    SimpleDepacketizer,
};
use crate::Error;

/// Size of one transport stream packet.
pub const TS_PACKET_LEN: usize = 188;

fn check_aligned(data: &[u8]) -> Result<(), Error> {
    if data.len() % TS_PACKET_LEN != 0 {
        return Err(invalid(
            "MP2T payload length",
            data.len() as u64,
            "not a multiple of 188",
        ));
    }
    for (i, p) in data.chunks(TS_PACKET_LEN).enumerate() {
        if p[0] != 0x47 {
            return Err(invalid(
                "TS sync byte",
                (i * TS_PACKET_LEN) as u64,
                "0x47 expected at this offset",
            ));
        }
    }
    Ok(())
}

/// RTP → TS bytes.
#[derive(Debug)]
pub struct Mp2tDepacketizer(SimpleDepacketizer);

impl Mp2tDepacketizer {
    /// A depacketizer.
    pub fn new(cfg: DepacketizerConfig) -> Mp2tDepacketizer {
        Mp2tDepacketizer(SimpleDepacketizer::new(cfg))
    }
}

impl Depacketizer for Mp2tDepacketizer {
    fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        _marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        check_aligned(&payload)?;
        self.0.packet(seq, ts, payload, false, true)
    }
    fn pull(&mut self) -> Option<weir_media::Frame> {
        self.0.pull()
    }
    fn flush(&mut self) {}
}

/// TS bytes → RTP: as many whole TS packets per RTP packet as the MTU allows.
#[derive(Debug)]
pub struct Mp2tPacketizer {
    emitter: Emitter,
}

impl Mp2tPacketizer {
    /// A packetizer (static payload type 33 is usual).
    pub fn new(cfg: PacketizerConfig) -> Mp2tPacketizer {
        Mp2tPacketizer {
            emitter: Emitter::new(cfg),
        }
    }

    /// `a=rtpmap` for this stream.
    pub fn sdp(&self) -> SdpFormat {
        SdpFormat {
            payload_type: self.emitter.cfg.payload_type,
            rtpmap: "MP2T/90000".to_string(),
            fmtp: None,
        }
    }
}

impl Packetizer for Mp2tPacketizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        let max = self.emitter.max_payload(TS_PACKET_LEN)?;
        check_aligned(&frame.data)?;
        let per = max / TS_PACKET_LEN * TS_PACKET_LEN;
        let n = frame.data.len();
        self.emitter.begin_frame(frame.pts, n + (n / per + 1) * 12);
        for chunk in frame.data.chunks(per) {
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
