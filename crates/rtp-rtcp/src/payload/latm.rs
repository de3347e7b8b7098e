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
use weir_aac::AudioSpecificConfig;

use super::aac::parse_asc;
use super::{
    fmtp_value, invalid, limit_error, make_frame, parse_hex, to_hex, truncated, Depacketizer,
    DepacketizerConfig, Emitter, FrameQueue, Packetizer, PacketizerConfig, SdpFormat, SeqCheck,
    SeqState,
};
use crate::Error;

/// The StreamMuxConfig (ISO/IEC 14496-3 1.7.3.1) of `weir-aac`, the workspace's one parser
/// and builder for it: [`StreamMuxConfig::parse`] reads an SDP `config=`,
/// [`StreamMuxConfig::single`] builds the usual one-stream config around an
/// AudioSpecificConfig.
pub use weir_aac::latm::StreamMuxConfig;

/// What the depacketizer takes from a StreamMuxConfig.
#[derive(Clone, Debug)]
struct MuxLayout {
    /// `numSubFrames + 1`: access units per audioMuxElement.
    sub_frames: u8,
    /// One AU's duration in RTP clock ticks.
    frame_len: u32,
}

/// Checks that `mux` describes payloads this depacketizer can split: one program with one
/// layer, time-aligned framing, byte lengths (`frameLengthType` 0) and no other data — what
/// every RTP sender produces (RFC 6416 7.3 recommends exactly this). Both audioMuxVersion 0
/// and 1 are accepted (the AudioMuxElement payloads are the same).
fn mux_layout(mux: &StreamMuxConfig, clock_rate: u32) -> Result<MuxLayout, Error> {
    let streams = mux.stream_count();
    let (Some(layer), 1) = (mux.programs.first().and_then(|p| p.first()), streams) else {
        return Err(invalid(
            "numProgram/numLayer",
            streams as u64,
            "only one program with one layer is supported",
        ));
    };
    if layer.frame_length_type != 0 {
        return Err(invalid(
            "frameLengthType",
            u64::from(layer.frame_length_type),
            "only variable-length frames (0) are supported",
        ));
    }
    if !mux.all_streams_same_time_framing {
        return Err(invalid(
            "allStreamsSameTimeFraming",
            0,
            "chunked payloads are not supported",
        ));
    }
    if let Some(bits) = mux.other_data_len_bits {
        return Err(invalid(
            "otherDataLenBits",
            u64::from(bits),
            "other data in audioMuxElements is not supported",
        ));
    }
    Ok(MuxLayout {
        sub_frames: mux.num_sub_frames.saturating_add(1),
        frame_len: layer.config.frame_duration(clock_rate),
    })
}

/// The MPEG-4 audio profile-and-level indication (ISO/IEC 14496-3 1.5.2.4, decimal as
/// RFC 6416 wants it) that covers the stream: AAC Profile L2/L4/L5 or HE-AAC L2/L4/L5.
fn audio_profile_level(asc: &AudioSpecificConfig) -> u8 {
    let small = asc.core_channels() <= 2;
    let rate_ok = asc.core_sample_rate() <= 48_000;
    let he = asc.sbr_present();
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
///
/// Accepts StreamMuxConfigs with one program of one layer, `frameLengthType` 0,
/// time-aligned framing and no other data (audioMuxVersion 0 or 1); others are refused by
/// [`LatmDepacketizer::try_new`] and [`LatmDepacketizer::from_fmtp`].
#[derive(Debug)]
pub struct LatmDepacketizer {
    cfg: DepacketizerConfig,
    mux: StreamMuxConfig,
    /// The layout taken from `mux`, or why it cannot be depacketized.
    layout: Result<MuxLayout, Error>,
    /// The AudioSpecificConfig of the stream, serialized.
    asc: Bytes,
    seq: SeqState,
    /// The audioMuxElement(s) being collected until a packet with the marker bit.
    buf: BytesMut,
    buf_ts: Option<u32>,
    buf_lost: bool,
    lost: bool,
    queue: FrameQueue,
}

impl LatmDepacketizer {
    /// A depacketizer for the given StreamMuxConfig. A config whose payloads this
    /// depacketizer cannot split (see the type's docs) makes every
    /// [`push`](Depacketizer::push) fail with the reason; use
    /// [`LatmDepacketizer::try_new`] to learn it up front.
    pub fn new(cfg: DepacketizerConfig, mux: StreamMuxConfig) -> LatmDepacketizer {
        let layout = mux_layout(&mux, cfg.clock_rate);
        let asc = mux
            .first_config()
            .map(AudioSpecificConfig::to_bytes)
            .unwrap_or_default();
        LatmDepacketizer {
            cfg,
            mux,
            layout,
            asc,
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
        LatmDepacketizer::try_new(cfg, mux)
    }

    /// Like [`LatmDepacketizer::new`], refusing a StreamMuxConfig whose payloads it cannot
    /// split.
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming the StreamMuxConfig field (more than one stream,
    /// `frameLengthType` other than 0, chunked framing, other data).
    pub fn try_new(
        cfg: DepacketizerConfig,
        mux: StreamMuxConfig,
    ) -> Result<LatmDepacketizer, Error> {
        let d = LatmDepacketizer::new(cfg, mux);
        if let Err(e) = &d.layout {
            return Err(e.clone());
        }
        Ok(d)
    }

    /// The AudioSpecificConfig of the stream (for [`weir_media::TrackInfo::config`]).
    pub fn config(&self) -> &Bytes {
        &self.asc
    }

    /// The StreamMuxConfig the stream was announced with.
    pub fn stream_mux_config(&self) -> &StreamMuxConfig {
        &self.mux
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
        let (sub_frames, frame_len) = match &self.layout {
            Ok(l) => (l.sub_frames, l.frame_len),
            Err(e) => return Err(e.clone()),
        };
        let mut pos = 0;
        let mut k: u32 = 0;
        while pos < data.len() {
            for _ in 0..sub_frames {
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
                    .extend_ts(ts.wrapping_add(k.wrapping_mul(frame_len)));
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
    mux_config: Bytes,
    channels: u8,
    profile_level: u8,
}

impl LatmPacketizer {
    /// A packetizer for the stream described by `asc` (AudioSpecificConfig), announced with
    /// [`StreamMuxConfig::single`] around it (audioMuxVersion 0: the config ffmpeg
    /// announces for the same AudioSpecificConfig; 1 when the config carries a
    /// backward-compatible SBR extension, which only version 1 can delimit).
    ///
    /// # Errors
    /// An AudioSpecificConfig that does not parse.
    pub fn new(cfg: PacketizerConfig, asc: &[u8]) -> Result<LatmPacketizer, Error> {
        let asc = parse_asc(asc)?;
        let channels = asc.channels().max(1);
        let profile_level = audio_profile_level(&asc);
        let mux_config = StreamMuxConfig::single(asc).try_to_bytes()?;
        Ok(LatmPacketizer {
            emitter: Emitter::new(cfg),
            mux_config,
            channels,
            profile_level,
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
                self.profile_level,
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
        assert_eq!(mux.num_sub_frames + 1, 2);
        assert_eq!(&mux.first_config().unwrap().to_bytes()[..], &[0x12, 0x10]);
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
        // A truncated config and cpresent=1 are refused with a clear error.
        assert!(StreamMuxConfig::parse(&[0x80]).is_err());
        assert!(
            LatmDepacketizer::from_fmtp(DepacketizerConfig::new(44_100), "cpresent=1").is_err()
        );
    }

    #[test]
    fn version_1_and_unsupported_layouts() {
        // audioMuxVersion 1 (what a config with a backward-compatible SBR extension needs):
        // accepted, same payloads.
        let mut asc = AudioSpecificConfig::lc(44_100, 2).unwrap();
        let mut he = AudioSpecificConfig::he_aac(44_100, 2, false).unwrap();
        if let Some(ext) = he.sbr.as_mut() {
            ext.signalling = weir_aac::SbrSignalling::BackwardCompatible;
        }
        let mux = StreamMuxConfig::single(he.clone());
        assert_eq!(mux.audio_mux_version, 1);
        let mut d = LatmDepacketizer::try_new(DepacketizerConfig::new(44_100), mux).unwrap();
        assert_eq!(d.config(), &he.to_bytes());
        d.push_payload(1, 0, true, Bytes::from_static(&[2, 1, 2]))
            .unwrap();
        assert_eq!(&d.pull().unwrap().data[..], &[1, 2]);
        // Two layers, or fixed-length frames: refused up front by try_new, and by push
        // when built with new.
        asc.frame_length_flag = false;
        let mut two = StreamMuxConfig::single(asc.clone());
        two.programs.push(two.programs[0].clone());
        assert!(LatmDepacketizer::try_new(DepacketizerConfig::new(44_100), two.clone()).is_err());
        let mut d = LatmDepacketizer::new(DepacketizerConfig::new(44_100), two);
        assert!(matches!(
            d.push_payload(1, 0, true, Bytes::from_static(&[1, 7])),
            Err(Error::InvalidField {
                field: "numProgram/numLayer",
                ..
            })
        ));
        let mut fixed = StreamMuxConfig::single(asc);
        fixed.programs[0][0].frame_length_type = 1;
        assert!(matches!(
            LatmDepacketizer::try_new(DepacketizerConfig::new(44_100), fixed),
            Err(Error::InvalidField {
                field: "frameLengthType",
                ..
            })
        ));
    }
}
