//! H.264 over RTP (RFC 6184): single NAL unit packets, STAP-A aggregation and FU-A
//! fragmentation, packetization-mode 0 and 1.
//!
//! Frames use the canonical layout: NAL units with 4-byte big-endian length prefixes.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
//! use weir_rtp_rtcp::payload::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
//! use weir_rtp_rtcp::RtpPacket;
//!
//! // One IDR NAL unit of 3000 bytes: too big for one packet, so it is sent as FU-A.
//! let mut data = vec![0, 0, 0x0b, 0xb8, 0x65];
//! data.extend((0..2999u32).map(|i| i as u8));
//! let ts = Timestamp::new(3600, Timebase::MPEG);
//! let frame = Frame::new(TrackId(0), ts, ts, Bytes::from(data)).with_keyframe(true);
//!
//! let mut pk = H264Packetizer::new(PacketizerConfig::new(90_000).with_mtu(1200),
//!                                  &[], PacketizationMode::NonInterleaved);
//! let mut packets = Vec::new();
//! pk.packetize(&frame, &mut packets)?;
//! assert_eq!(packets.len(), 3);
//!
//! let mut dp = H264Depacketizer::new(DepacketizerConfig::new(90_000));
//! for p in packets {
//!     dp.push(&RtpPacket::parse(p)?)?;
//! }
//! let out = dp.pull().expect("one frame");
//! assert_eq!(out.data, frame.data);
//! assert!(out.keyframe && !out.incomplete);
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use base64::Engine as _;
use bytes::Bytes;

use super::nal::{avcc_parameter_sets, NalCodec, NalDepacketizer, NalPacketizer};
use super::{
    fmtp_value, invalid, to_hex, Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig,
    SdpFormat,
};
use crate::Error;

/// RFC 6184 packetization modes this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketizationMode {
    /// Mode 0: one NAL unit per packet, no aggregation or fragmentation.
    SingleNal,
    /// Mode 1: single NAL unit, STAP-A and FU-A packets.
    NonInterleaved,
}

impl PacketizationMode {
    /// The `packetization-mode` fmtp value.
    pub fn value(self) -> u8 {
        match self {
            PacketizationMode::SingleNal => 0,
            PacketizationMode::NonInterleaved => 1,
        }
    }
}

/// Decodes `sprop-parameter-sets` (comma-separated base64 NAL units, RFC 6184 8.1).
///
/// # Errors
/// [`Error::InvalidField`] on bad base64.
pub fn parse_sprop_parameter_sets(value: &str) -> Result<Vec<Bytes>, Error> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(Bytes::from)
                .map_err(|_| invalid("sprop-parameter-sets", s.len() as u64, "not valid base64"))
        })
        .collect()
}

/// RTP → H.264 access units.
#[derive(Debug)]
pub struct H264Depacketizer(NalDepacketizer);

impl H264Depacketizer {
    /// A depacketizer without out-of-band parameter sets.
    pub fn new(cfg: DepacketizerConfig) -> H264Depacketizer {
        H264Depacketizer::with_parameter_sets(cfg, Vec::new())
    }

    /// A depacketizer that puts `params` (SPS and PPS NAL units, e.g. from
    /// `sprop-parameter-sets`) before the first keyframe if the stream does not carry them
    /// in band by then.
    pub fn with_parameter_sets(cfg: DepacketizerConfig, params: Vec<Bytes>) -> H264Depacketizer {
        H264Depacketizer(NalDepacketizer::new(NalCodec::H264, cfg, params))
    }

    /// A depacketizer configured from the `a=fmtp` parameters of the SDP.
    ///
    /// # Errors
    /// Bad `sprop-parameter-sets`.
    pub fn from_fmtp(cfg: DepacketizerConfig, fmtp: &str) -> Result<H264Depacketizer, Error> {
        let params = match fmtp_value(fmtp, "sprop-parameter-sets") {
            Some(v) => parse_sprop_parameter_sets(v)?,
            None => Vec::new(),
        };
        Ok(H264Depacketizer::with_parameter_sets(cfg, params))
    }
}

impl H264Depacketizer {
    /// The latest SPS and PPS known (from `sprop-parameter-sets` or seen in band).
    pub fn parameter_sets(&self) -> (Option<Bytes>, Option<Bytes>) {
        let [_, sps, pps] = self.0.parameter_sets();
        (sps, pps)
    }

    /// An `AVCDecoderConfigurationRecord` (avcC) for [`weir_media::TrackInfo::config`],
    /// built from [`H264Depacketizer::parameter_sets`]; `None` until both are known.
    ///
    /// # Errors
    /// An SPS that does not parse.
    pub fn decoder_config(&self) -> Result<Option<Bytes>, Error> {
        let (Some(sps), Some(pps)) = self.parameter_sets() else {
            return Ok(None);
        };
        weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps])
            .map(|c| Some(c.to_bytes()))
            .map_err(|_| invalid("SPS", 0, "cannot build avcC: the SPS does not parse"))
    }
}

impl Depacketizer for H264Depacketizer {
    fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        self.0.push_payload(seq, ts, marker, payload)
    }
    fn pull(&mut self) -> Option<weir_media::Frame> {
        self.0.pull()
    }
    fn flush(&mut self) {
        self.0.flush()
    }
}

/// H.264 access units → RTP.
#[derive(Debug)]
pub struct H264Packetizer {
    inner: NalPacketizer,
    mode: PacketizationMode,
    params: Vec<Bytes>,
    payload_type: u8,
}

impl H264Packetizer {
    /// A packetizer. `avcc` is the track's `AVCDecoderConfigurationRecord`
    /// ([`TrackInfo::config`](weir_media::TrackInfo)); when it parses, its SPS/PPS are
    /// announced in [`H264Packetizer::sdp`] and sent before keyframes that lack them.
    pub fn new(cfg: PacketizerConfig, avcc: &[u8], mode: PacketizationMode) -> H264Packetizer {
        let params = avcc_parameter_sets(&Bytes::copy_from_slice(avcc)).unwrap_or_default();
        H264Packetizer::with_parameter_sets(cfg, params, mode)
    }

    /// A packetizer with explicit SPS/PPS NAL units.
    pub fn with_parameter_sets(
        cfg: PacketizerConfig,
        params: Vec<Bytes>,
        mode: PacketizationMode,
    ) -> H264Packetizer {
        let payload_type = cfg.payload_type;
        H264Packetizer {
            inner: NalPacketizer::new(
                NalCodec::H264,
                cfg,
                mode == PacketizationMode::SingleNal,
                params.clone(),
            ),
            mode,
            params,
            payload_type,
        }
    }

    /// Whether to send the configured parameter sets before keyframes that lack them
    /// (default true).
    pub fn set_inject_parameter_sets(&mut self, inject: bool) {
        self.inner.set_inject_params(inject);
    }

    /// `a=rtpmap`/`a=fmtp` for this stream (RFC 6184 8.1/8.2.1).
    pub fn sdp(&self) -> SdpFormat {
        let mut fmtp = format!("packetization-mode={}", self.mode.value());
        let sps = self
            .params
            .iter()
            .find(|p| p.first().map(|b| b & 0x1f) == Some(7));
        if let Some(plid) = sps.and_then(|s| s.get(1..4)) {
            fmtp.push_str(";profile-level-id=");
            fmtp.push_str(&to_hex(plid));
        }
        if !self.params.is_empty() {
            let sets: Vec<String> = self
                .params
                .iter()
                .map(|p| base64::engine::general_purpose::STANDARD.encode(p))
                .collect();
            fmtp.push_str(";sprop-parameter-sets=");
            fmtp.push_str(&sets.join(","));
        }
        SdpFormat {
            payload_type: self.payload_type,
            rtpmap: "H264/90000".to_string(),
            fmtp: Some(fmtp),
        }
    }
}

impl Packetizer for H264Packetizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        self.inner.packetize(frame, out)
    }
    fn next_sequence_number(&self) -> u16 {
        self.inner.next_seq()
    }
}
