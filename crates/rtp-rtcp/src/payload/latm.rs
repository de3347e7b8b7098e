//! AAC over RTP as `MP4A-LATM` (RFC 6416) with `cpresent=0`: the StreamMuxConfig travels
//! out of band (fmtp `config=`), each packet carries `audioMuxElement`s made of
//! `PayloadLengthInfo` (a run of 255s plus a final byte) and the access unit. An element
//! too large for one packet is fragmented; the marker bit flags the packet that ends one.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
//! use weir_rtp_rtcp::payload::latm::{LatmDepacketizer, LatmPacketizer};
//! use weir_rtp_rtcp::RtpPacket;
//!
//! let mut pk = LatmPacketizer::new(PacketizerConfig::new(44_100), &[0x12, 0x10])?;
//! let fmtp = pk.sdp().fmtp.unwrap();
//! assert!(fmtp.contains("cpresent=0;config=400024203fc0"));
//!
//! let ts = Timestamp::new(0, Timebase::hz(44_100).unwrap());
//! let frame = Frame::new(TrackId(0), ts, ts, Bytes::from(vec![7u8; 300])).with_keyframe(true);
//! let mut packets = Vec::new();
//! pk.packetize(&frame, &mut packets)?;
//! let mut dp = LatmDepacketizer::from_fmtp(DepacketizerConfig::new(44_100), &fmtp)?;
//! dp.push(&RtpPacket::parse(packets[0].clone())?)?;
//! assert_eq!(dp.pull().unwrap().data, frame.data);
//! assert_eq!(&dp.config()[..], &[0x12, 0x10]);
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use bytes::{Bytes, BytesMut};
use weir_media::bits::{BitReader, BitWriter};

use super::aac::{copy_bits, parse_asc, AscInfo};
use super::{
    fmtp_value, invalid, limit_error, make_frame, parse_hex, to_hex, truncated, Depacketizer,
    DepacketizerConfig, Emitter, FrameQueue, Packetizer, PacketizerConfig, SdpFormat, SeqCheck,
    SeqState,
};
use crate::Error;

/// The parts of a StreamMuxConfig (ISO/IEC 14496-3 1.7.3) this payload format uses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamMuxConfig {
    /// `numSubFrames + 1`: access units per audioMuxElement.
    pub sub_frames: u8,
    /// The AudioSpecificConfig, byte-aligned (zero-padded).
    pub audio_specific_config: Bytes,
    pub(crate) info: AscInfo,
}

impl StreamMuxConfig {
    /// Parses a StreamMuxConfig with `audioMuxVersion` 0, one program, one layer and
    /// `frameLengthType` 0 (what every RTP sender produces).
    ///
    /// # Errors
    /// Other versions or layouts, or a truncated/invalid AudioSpecificConfig.
    pub fn parse(data: &[u8]) -> Result<StreamMuxConfig, Error> {
        let mut r = BitReader::new(data);
        let e = |_| truncated("StreamMuxConfig", 0, data.len() + 1, data.len());
        let version = r.read_bits(1).map_err(e)?;
        if version != 0 {
            return Err(invalid(
                "audioMuxVersion",
                version,
                "only version 0 is supported",
            ));
        }
        r.read_bits(1).map_err(e)?; // allStreamsSameTimeFraming
        let num_sub_frames = r.read_bits(6).map_err(e)? as u8;
        let num_program = r.read_bits(4).map_err(e)?;
        let num_layer = r.read_bits(3).map_err(e)?;
        if num_program != 0 || num_layer != 0 {
            return Err(invalid(
                "numProgram/numLayer",
                num_program << 3 | num_layer,
                "only one program with one layer is supported",
            ));
        }
        let asc_start = r.position();
        let info = parse_asc(&mut r)?;
        let asc_bits = r.position() - asc_start;
        let frame_length_type = r.read_bits(3).map_err(e)?;
        if frame_length_type != 0 {
            return Err(invalid(
                "frameLengthType",
                frame_length_type,
                "only variable-length frames (0) are supported",
            ));
        }
        let mut ar = BitReader::new(data);
        ar.skip_bits(asc_start).map_err(e)?;
        let mut w = BitWriter::new();
        copy_bits(&mut ar, &mut w, asc_bits)?;
        w.byte_align_zero();
        Ok(StreamMuxConfig {
            sub_frames: num_sub_frames + 1,
            audio_specific_config: Bytes::from(w.finish()),
            info,
        })
    }

    /// Builds the StreamMuxConfig (version 0, one subframe, one program/layer) for `asc`.
    ///
    /// # Errors
    /// An AudioSpecificConfig that does not parse.
    pub fn for_asc(asc: &[u8]) -> Result<(StreamMuxConfig, Vec<u8>), Error> {
        let mut r = BitReader::new(asc);
        let info = parse_asc(&mut r)?;
        let asc_bits = r.position();
        let mut w = BitWriter::new();
        w.write_bits(0, 1); // audioMuxVersion
        w.write_bits(1, 1); // allStreamsSameTimeFraming
        w.write_bits(0, 6); // numSubFrames
        w.write_bits(0, 4); // numProgram
        w.write_bits(0, 3); // numLayer
        copy_bits(&mut BitReader::new(asc), &mut w, asc_bits)?;
        w.write_bits(0, 3); // frameLengthType
        w.write_bits(0xff, 8); // latmBufferFullness
        w.write_bits(0, 1); // otherDataPresent
        w.write_bits(0, 1); // crcCheckPresent
        w.byte_align_zero();
        Ok((
            StreamMuxConfig {
                sub_frames: 1,
                audio_specific_config: Bytes::copy_from_slice(asc),
                info,
            },
            w.finish(),
        ))
    }
}

/// The MPEG-4 audio profile-and-level indication (ISO/IEC 14496-3 1.5.2.4, decimal as
/// RFC 6416 wants it) that covers the stream: AAC Profile L2/L4/L5 or HE-AAC L2/L4/L5.
fn audio_profile_level(info: &AscInfo) -> u8 {
    let small = info.channel_config <= 2;
    let rate_ok = info.sample_rate <= 48_000;
    let he = info.sbr;
    match (he, small && rate_ok, rate_ok) {
        (false, true, _) => 0x29,
        (false, false, true) => 0x2a,
        (false, false, false) => 0x2b,
        (true, true, _) => 0x2c,
        (true, false, true) => 0x2e,
        (true, false, false) => 0x2f,
    }
}

/// RTP (`MP4A-LATM`, cpresent=0) → AAC access units.
#[derive(Debug)]
pub struct LatmDepacketizer {
    cfg: DepacketizerConfig,
    mux: StreamMuxConfig,
    seq: SeqState,
    /// The audioMuxElement(s) being collected until a packet with the marker bit.
    buf: BytesMut,
    buf_ts: Option<u32>,
    buf_lost: bool,
    lost: bool,
    queue: FrameQueue,
}

impl LatmDepacketizer {
    /// A depacketizer for the given StreamMuxConfig.
    pub fn new(cfg: DepacketizerConfig, mux: StreamMuxConfig) -> LatmDepacketizer {
        LatmDepacketizer {
            cfg,
            mux,
            seq: SeqState::new(),
            buf: BytesMut::new(),
            buf_ts: None,
            buf_lost: false,
            lost: false,
            queue: FrameQueue::new(),
        }
    }

    /// A depacketizer configured from the SDP `a=fmtp` parameters (`cpresent=0`,
    /// `config=` hex StreamMuxConfig).
    ///
    /// # Errors
    /// `cpresent=1` (in-band configuration), a missing or bad `config`.
    pub fn from_fmtp(cfg: DepacketizerConfig, fmtp: &str) -> Result<LatmDepacketizer, Error> {
        if fmtp_value(fmtp, "cpresent").is_some_and(|v| v != "0") {
            return Err(invalid(
                "cpresent",
                1,
                "in-band StreamMuxConfig is not supported",
            ));
        }
        let config = fmtp_value(fmtp, "config")
            .ok_or_else(|| invalid("config", 0, "MP4A-LATM with cpresent=0 needs config="))?;
        let mux = StreamMuxConfig::parse(&parse_hex(config)?)?;
        Ok(LatmDepacketizer::new(cfg, mux))
    }

    /// The AudioSpecificConfig of the stream (for [`weir_media::TrackInfo::config`]).
    pub fn config(&self) -> &Bytes {
        &self.mux.audio_specific_config
    }

    fn drop_partial(&mut self) {
        if self.buf_ts.take().is_some() {
            self.buf.clear();
            self.lost = true;
        }
    }

    /// Splits complete audioMuxElements into AUs, queueing each as it is found (an error
    /// part-way keeps the AUs before it: each of them is whole).
    fn split(&mut self, ts: u32, data: Bytes) -> Result<(), Error> {
        let mut pos = 0;
        let mut k: u32 = 0;
        while pos < data.len() {
            for _ in 0..self.mux.sub_frames {
                // PayloadLengthInfo (14496-3 1.7.3, frameLengthType 0).
                let mut len = 0usize;
                loop {
                    let b = *data
                        .get(pos)
                        .ok_or_else(|| truncated("PayloadLengthInfo", pos, 1, 0))?;
                    pos += 1;
                    len += usize::from(b);
                    if b != 255 {
                        break;
                    }
                }
                if len > self.cfg.max_frame_size {
                    return Err(limit_error("LATM AU size", self.cfg.max_frame_size, len));
                }
                if data.len() - pos < len {
                    return Err(truncated("LATM PayloadMux", pos, len, data.len() - pos));
                }
                let au = data.slice(pos..pos + len);
                pos += len;
                let ticks = self
                    .seq
                    .extend_ts(ts.wrapping_add(k.wrapping_mul(self.mux.info.frame_len)));
                k = k.wrapping_add(1);
                let frame = make_frame(&self.cfg, ticks, au, true, self.lost);
                self.lost = false;
                self.queue.push(&self.cfg, frame);
            }
        }
        Ok(())
    }
}

impl Depacketizer for LatmDepacketizer {
    fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        match self.seq.check(seq) {
            SeqCheck::Stale => return Ok(()),
            SeqCheck::Gap => {
                self.drop_partial();
                self.lost = true;
                // A continuation fragment may follow: drop until the next marker.
                self.buf_lost = true;
            }
            SeqCheck::Next => {}
        }
        if self.buf_ts.is_some_and(|t| t != ts) {
            // The previous element never got its marker.
            self.drop_partial();
        }
        if self.buf_lost {
            if marker {
                self.buf_lost = false;
            }
            return Ok(());
        }
        if !marker {
            if self.buf.len() + payload.len() > self.cfg.max_frame_size {
                let n = self.buf.len() + payload.len();
                self.drop_partial();
                self.buf_lost = true;
                return Err(limit_error("LATM element size", self.cfg.max_frame_size, n));
            }
            self.buf_ts = Some(ts);
            self.buf.extend_from_slice(&payload);
            return Ok(());
        }
        let data = if self.buf_ts.take().is_some() {
            self.buf.extend_from_slice(&payload);
            self.buf.split().freeze()
        } else {
            payload
        };
        let res = self.split(ts, data);
        if res.is_err() {
            self.lost = true;
        }
        res
    }

    fn pull(&mut self) -> Option<weir_media::Frame> {
        self.queue.pop()
    }

    fn flush(&mut self) {
        self.drop_partial();
    }
}

/// AAC access units → RTP (`MP4A-LATM`, cpresent=0, one AU per audioMuxElement).
#[derive(Debug)]
pub struct LatmPacketizer {
    emitter: Emitter,
    mux_config: Vec<u8>,
    channels: u8,
    info: AscInfo,
}

impl LatmPacketizer {
    /// A packetizer for the stream described by `asc` (AudioSpecificConfig).
    ///
    /// # Errors
    /// An AudioSpecificConfig that does not parse.
    pub fn new(cfg: PacketizerConfig, asc: &[u8]) -> Result<LatmPacketizer, Error> {
        let (mux, bytes) = StreamMuxConfig::for_asc(asc)?;
        Ok(LatmPacketizer {
            emitter: Emitter::new(cfg),
            mux_config: bytes,
            channels: mux.info.channel_config.max(1),
            info: mux.info,
        })
    }

    /// `a=rtpmap`/`a=fmtp` for this stream (RFC 6416 7.1).
    pub fn sdp(&self) -> SdpFormat {
        SdpFormat {
            payload_type: self.emitter.cfg.payload_type,
            rtpmap: format!(
                "MP4A-LATM/{}/{}",
                self.emitter.cfg.clock_rate, self.channels
            ),
            fmtp: Some(format!(
                "profile-level-id={};cpresent=0;config={}",
                audio_profile_level(&self.info),
                to_hex(&self.mux_config)
            )),
        }
    }
}

impl Packetizer for LatmPacketizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        let max = self.emitter.max_payload(2)?;
        let au = &frame.data;
        let len_bytes = au.len() / 255 + 1;
        let total = len_bytes + au.len();
        self.emitter
            .begin_frame(frame.pts, total + (total / max + 1) * super::RTP_HEADER_LEN);
        let mut written = 0usize;
        // The element is PayloadLengthInfo followed by the AU; split it at any byte.
        let mut prefix = [255u8; 1];
        let mut rem_len = au.len();
        let mut len_left = len_bytes;
        let mut au_pos = 0;
        while written < total {
            self.emitter.begin_packet();
            let mut room = max;
            while len_left > 0 && room > 0 {
                prefix[0] = if len_left == 1 { rem_len as u8 } else { 255 };
                if len_left > 1 {
                    rem_len -= 255;
                }
                self.emitter.put_slice(&prefix);
                len_left -= 1;
                room -= 1;
                written += 1;
            }
            let n = room.min(au.len() - au_pos);
            self.emitter.put_slice(&au[au_pos..au_pos + n]);
            au_pos += n;
            written += n;
            if written == total {
                self.emitter.set_marker();
            }
        }
        self.emitter.finish_frame(out);
        Ok(())
    }

    fn next_sequence_number(&self) -> u16 {
        self.emitter.next_seq()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_frames_and_several_elements_per_packet() {
        // numSubFrames = 1: each audioMuxElement holds two AUs, each with its own
        // PayloadLengthInfo; a packet may hold several elements.
        let mux = StreamMuxConfig::parse(&[0x41, 0x00, 0x24, 0x20, 0x3f, 0xc0]).unwrap();
        assert_eq!(mux.sub_frames, 2);
        assert_eq!(&mux.audio_specific_config[..], &[0x12, 0x10]);
        let mut d = LatmDepacketizer::new(DepacketizerConfig::new(44_100), mux);
        let mut p = vec![3, 1, 2, 3, 2, 4, 5, 1, 6, 0];
        // A 300-byte AU: PayloadLengthInfo 255 + 45.
        p.extend_from_slice(&[255, 45]);
        p.extend(std::iter::repeat_n(9, 300));
        p.push(0); // …and its element's second, empty AU.
        d.push_payload(1, 0, true, Bytes::from(p)).unwrap();
        let got: Vec<(Vec<u8>, i64)> = std::iter::from_fn(|| d.pull())
            .map(|f| (f.data.to_vec(), f.pts.ticks()))
            .collect();
        assert_eq!(got.len(), 6);
        assert_eq!(got[0], (vec![1, 2, 3], 0));
        assert_eq!(got[1], (vec![4, 5], 1024));
        assert_eq!(got[2], (vec![6], 2048));
        assert_eq!(got[3], (vec![], 3072));
        assert_eq!((got[4].0.len(), got[4].1), (300, 4096));
        assert_eq!(got[5], (vec![], 5120));
        // The second element's second AU is missing its PayloadLengthInfo bytes → error,
        // and the frames before it are kept.
        let mut d = LatmDepacketizer::new(
            DepacketizerConfig::new(44_100),
            StreamMuxConfig::parse(&[0x41, 0x00, 0x24, 0x20, 0x3f, 0xc0]).unwrap(),
        );
        assert!(d
            .push_payload(1, 0, true, Bytes::from_static(&[1, 7, 5, 1]))
            .is_err());
        assert_eq!(&d.pull().unwrap().data[..], &[7]);
        // Version 1 and cpresent=1 are refused with a clear error.
        assert!(StreamMuxConfig::parse(&[0x80]).is_err());
        assert!(
            LatmDepacketizer::from_fmtp(DepacketizerConfig::new(44_100), "cpresent=1").is_err()
        );
    }
}
