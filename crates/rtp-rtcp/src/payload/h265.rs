//! H.265 over RTP (RFC 7798): single NAL unit packets, aggregation packets (AP) and
//! fragmentation units (FU), without DONL (`sprop-max-don-diff` = 0).
//!
//! Frames use the canonical layout: NAL units with 4-byte big-endian length prefixes.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
//! use weir_rtp_rtcp::payload::h265::{H265Depacketizer, H265Packetizer};
//! use weir_rtp_rtcp::RtpPacket;
//!
//! // VPS, SPS, PPS (tiny stand-ins) and an IDR slice: the first three share an AP.
//! let mut data = Vec::new();
//! for nal in [&[0x40u8, 1, 0xaa][..], &[0x42, 1, 0xbb], &[0x44, 1, 0xcc], &[0x26, 1, 0xdd, 0xee]] {
//!     data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
//!     data.extend_from_slice(nal);
//! }
//! let ts = Timestamp::new(0, Timebase::MPEG);
//! let frame = Frame::new(TrackId(0), ts, ts, Bytes::from(data)).with_keyframe(true);
//! let mut pk = H265Packetizer::new(PacketizerConfig::new(90_000), &[]);
//! let mut packets = Vec::new();
//! pk.packetize(&frame, &mut packets)?;
//! assert_eq!(packets.len(), 1);
//!
//! let mut dp = H265Depacketizer::new(DepacketizerConfig::new(90_000));
//! dp.push(&RtpPacket::parse(packets[0].clone())?)?;
//! let out = dp.pull().unwrap();
//! assert_eq!(out.data, frame.data);
//! assert!(out.keyframe);
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use base64::Engine as _;
use bytes::Bytes;

use super::h264::parse_sprop_parameter_sets;
use super::nal::{hvcc_parameter_sets, NalCodec, NalDepacketizer, NalPacketizer};
use super::{
    fmtp_value, invalid, Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig, SdpFormat,
};
use crate::Error;

/// RTP → H.265 access units.
#[derive(Debug)]
pub struct H265Depacketizer(NalDepacketizer);

impl H265Depacketizer {
    /// A depacketizer without out-of-band parameter sets.
    pub fn new(cfg: DepacketizerConfig) -> H265Depacketizer {
        H265Depacketizer::with_parameter_sets(cfg, Vec::new())
    }

    /// A depacketizer that puts `params` (VPS, SPS and PPS NAL units) before the first
    /// keyframe if the stream does not carry them in band by then.
    pub fn with_parameter_sets(cfg: DepacketizerConfig, params: Vec<Bytes>) -> H265Depacketizer {
        H265Depacketizer(NalDepacketizer::new(NalCodec::H265, cfg, params))
    }

    /// A depacketizer configured from the `a=fmtp` parameters (`sprop-vps`, `sprop-sps`,
    /// `sprop-pps`). Streams that need DONL (`sprop-max-don-diff` > 0) are refused.
    ///
    /// # Errors
    /// Bad base64 in a `sprop-*` value, or DONL required.
    pub fn from_fmtp(cfg: DepacketizerConfig, fmtp: &str) -> Result<H265Depacketizer, Error> {
        if let Some(v) = fmtp_value(fmtp, "sprop-max-don-diff") {
            let d: u64 = v.parse().unwrap_or(1);
            if d != 0 {
                return Err(invalid("sprop-max-don-diff", d, "DONL is not supported"));
            }
        }
        let mut params = Vec::new();
        for key in ["sprop-vps", "sprop-sps", "sprop-pps"] {
            if let Some(v) = fmtp_value(fmtp, key) {
                params.extend(parse_sprop_parameter_sets(v)?);
            }
        }
        Ok(H265Depacketizer::with_parameter_sets(cfg, params))
    }
}

impl H265Depacketizer {
    /// The latest VPS, SPS and PPS known (from `sprop-*` or seen in band).
    pub fn parameter_sets(&self) -> (Option<Bytes>, Option<Bytes>, Option<Bytes>) {
        let [vps, sps, pps] = self.0.parameter_sets();
        (vps, sps, pps)
    }

    /// An `HEVCDecoderConfigurationRecord` (hvcC) for [`weir_media::TrackInfo::config`],
    /// built from [`H265Depacketizer::parameter_sets`]; `None` until all three are known.
    ///
    /// # Errors
    /// Parameter sets that do not parse.
    pub fn decoder_config(&self) -> Result<Option<Bytes>, Error> {
        let (Some(vps), Some(sps), Some(pps)) = self.parameter_sets() else {
            return Ok(None);
        };
        weir_h265::HevcConfig::from_parameter_sets(&[vps], &[sps], &[pps])
            .map(|c| Some(c.to_bytes()))
            .map_err(|_| {
                invalid(
                    "SPS",
                    0,
                    "cannot build hvcC: a parameter set does not parse",
                )
            })
    }
}

impl Depacketizer for H265Depacketizer {
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

/// H.265 access units → RTP.
#[derive(Debug)]
pub struct H265Packetizer {
    inner: NalPacketizer,
    params: Vec<Bytes>,
    payload_type: u8,
}

impl H265Packetizer {
    /// A packetizer. `hvcc` is the track's `HEVCDecoderConfigurationRecord`; when it
    /// parses, its VPS/SPS/PPS are announced in [`H265Packetizer::sdp`] and sent before
    /// keyframes that lack them.
    pub fn new(cfg: PacketizerConfig, hvcc: &[u8]) -> H265Packetizer {
        let params = hvcc_parameter_sets(&Bytes::copy_from_slice(hvcc)).unwrap_or_default();
        H265Packetizer::with_parameter_sets(cfg, params)
    }

    /// A packetizer with explicit VPS/SPS/PPS NAL units.
    pub fn with_parameter_sets(cfg: PacketizerConfig, params: Vec<Bytes>) -> H265Packetizer {
        let payload_type = cfg.payload_type;
        H265Packetizer {
            inner: NalPacketizer::new(NalCodec::H265, cfg, false, params.clone()),
            params,
            payload_type,
        }
    }

    /// Whether to send the configured parameter sets before keyframes that lack them
    /// (default true).
    pub fn set_inject_parameter_sets(&mut self, inject: bool) {
        self.inner.set_inject_params(inject);
    }

    /// `a=rtpmap`/`a=fmtp` for this stream (RFC 7798 7.1).
    pub fn sdp(&self) -> SdpFormat {
        let mut parts = Vec::new();
        for (t, key) in [(32u8, "sprop-vps"), (33, "sprop-sps"), (34, "sprop-pps")] {
            let sets: Vec<String> = self
                .params
                .iter()
                .filter(|p| NalCodec::H265.nal_type(p) == t)
                .map(|p| base64::engine::general_purpose::STANDARD.encode(p))
                .collect();
            if !sets.is_empty() {
                parts.push(format!("{key}={}", sets.join(",")));
            }
        }
        SdpFormat {
            payload_type: self.payload_type,
            rtpmap: "H265/90000".to_string(),
            fmtp: if parts.is_empty() {
                None
            } else {
                Some(parts.join(";"))
            },
        }
    }
}

impl Packetizer for H265Packetizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        self.inner.packetize(frame, out)
    }
    fn next_sequence_number(&self) -> u16 {
        self.inner.next_seq()
    }
}
