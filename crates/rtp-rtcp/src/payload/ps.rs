//! MPEG program stream over RTP as GB/T 28181 devices send it: the PS bytes of one frame
//! (pack header, optional system header and PSM, PES packets) split across RTP packets
//! sharing one timestamp (90 kHz), the marker bit on the last.
//!
//! Devices differ: some never set the marker, so a new timestamp also ends a frame. The
//! depacketizer hands out the reassembled PS bytes of each frame for a PS demuxer
//! (`weir-ps`); [`Frame::keyframe`](weir_media::Frame) is set when the bytes carry a
//! system header (`00 00 01 BB`), which GB28181 devices put before I-frames only.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
//! use weir_rtp_rtcp::payload::ps::{PsDepacketizer, PsPacketizer};
//! use weir_rtp_rtcp::RtpPacket;
//!
//! let mut ps = vec![0, 0, 1, 0xba];
//! ps.resize(3000, 0xff);
//! let t = Timestamp::new(3600, Timebase::MPEG);
//! let frame = Frame::new(TrackId(0), t, t, Bytes::from(ps));
//! let mut pk = PsPacketizer::new(PacketizerConfig::new(90_000));
//! let mut out = Vec::new();
//! pk.packetize(&frame, &mut out)?;
//! assert_eq!(out.len(), 3);
//! let mut dp = PsDepacketizer::new(DepacketizerConfig::new(90_000));
//! for p in out { dp.push(&RtpPacket::parse(p)?)?; }
//! assert_eq!(dp.pull().unwrap().data, frame.data);
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use bytes::{Bytes, BytesMut};

use super::{
    limit_error, make_frame, Depacketizer, DepacketizerConfig, Emitter, FrameQueue, Packetizer,
    PacketizerConfig, SdpFormat, SeqCheck, SeqState,
};
use crate::Error;

/// RTP → PS bytes of one frame.
#[derive(Debug)]
pub struct PsDepacketizer {
    cfg: DepacketizerConfig,
    seq: SeqState,
    buf: BytesMut,
    ts: Option<u32>,
    lost: bool,
    queue: FrameQueue,
}

impl PsDepacketizer {
    /// A depacketizer.
    pub fn new(cfg: DepacketizerConfig) -> PsDepacketizer {
        PsDepacketizer {
            cfg,
            seq: SeqState::new(),
            buf: BytesMut::new(),
            ts: None,
            lost: false,
            queue: FrameQueue::new(),
        }
    }

    fn finish(&mut self) {
        let Some(ts) = self.ts.take() else {
            return;
        };
        let ticks = self.seq.extend_ts(ts);
        if !self.buf.is_empty() {
            let data = self.buf.split().freeze();
            let key = has_system_header(&data);
            let frame = make_frame(&self.cfg, ticks, data, key, self.lost);
            self.queue.push(&self.cfg, frame);
        }
        self.lost = false;
        self.buf.clear();
    }
}

/// Whether a pack's start holds a system header (`00 00 01 BB`) among its first bytes.
fn has_system_header(data: &[u8]) -> bool {
    let head = &data[..data.len().min(256)];
    head.windows(4).any(|w| w == [0, 0, 1, 0xbb])
}

impl Depacketizer for PsDepacketizer {
    fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        let gap = match self.seq.check(seq) {
            SeqCheck::Stale => return Ok(()),
            SeqCheck::Gap => true,
            SeqCheck::Next => false,
        };
        if gap {
            self.lost = true;
        }
        if self.ts.is_some_and(|t| t != ts) {
            self.finish();
        }
        if gap {
            self.lost = true;
        }
        if self.buf.len() + payload.len() > self.cfg.max_frame_size {
            let n = self.buf.len() + payload.len();
            self.buf.clear();
            self.lost = true;
            self.ts = Some(ts);
            return Err(limit_error("PS frame size", self.cfg.max_frame_size, n));
        }
        self.ts = Some(ts);
        self.buf.extend_from_slice(&payload);
        if marker {
            self.finish();
        }
        Ok(())
    }

    fn pull(&mut self) -> Option<weir_media::Frame> {
        self.queue.pop()
    }

    fn flush(&mut self) {
        if self.ts.is_some() {
            // No marker and no following timestamp: the end may be missing.
            self.lost = true;
        }
        self.finish();
    }
}

/// PS bytes of one frame → RTP, marker on the last packet.
#[derive(Debug)]
pub struct PsPacketizer {
    emitter: Emitter,
}

impl PsPacketizer {
    /// A packetizer (GB28181 uses payload type 96 with `PS/90000`).
    pub fn new(cfg: PacketizerConfig) -> PsPacketizer {
        PsPacketizer {
            emitter: Emitter::new(cfg),
        }
    }

    /// `a=rtpmap` for this stream.
    pub fn sdp(&self) -> SdpFormat {
        SdpFormat {
            payload_type: self.emitter.cfg.payload_type,
            rtpmap: "PS/90000".to_string(),
            fmtp: None,
        }
    }
}

impl Packetizer for PsPacketizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        let max = self.emitter.max_payload(1)?;
        let n = frame.data.len();
        self.emitter.begin_frame(frame.pts, n + (n / max + 1) * 12);
        for chunk in frame.data.chunks(max) {
            self.emitter.begin_packet();
            self.emitter.put_slice(chunk);
        }
        self.emitter.set_marker();
        self.emitter.finish_frame(out);
        Ok(())
    }
    fn next_sequence_number(&self) -> u16 {
        self.emitter.next_seq()
    }
}
