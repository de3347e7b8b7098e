//! Builders for the media descriptions of common RTP payload formats, and decoders for the
//! codec configuration carried in their `fmtp` lines.

use base64::Engine as _;
use bytes::Bytes;

use crate::attrs::{Fmtp, RtpMap};
use crate::error::{Error, Result};
use crate::session::{Attribute, MediaDescription};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn media(kind: &str, rtpmap: &RtpMap, fmtp: Option<&Fmtp>) -> MediaDescription {
    let mut m = MediaDescription::new(kind, 0, "RTP/AVP", vec![rtpmap.payload_type.to_string()]);
    m.attributes
        .push(Attribute::new("rtpmap", rtpmap.to_string()));
    if let Some(f) = fmtp {
        m.attributes.push(Attribute::new("fmtp", f.to_string()));
    }
    m
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        for nibble in [b >> 4, b & 15] {
            s.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
}

/// Decodes a hex string (either case). Used for `config=` in AAC `fmtp` lines.
pub fn decode_hex(s: &str, field: &'static str) -> Result<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return Err(Error::BadEncoding { field });
    }
    let nib = |c: u8| -> Result<u8> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(Error::BadEncoding { field }),
        }
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| match p {
            [a, b] => Ok((nib(*a)? << 4) | nib(*b)?),
            _ => Err(Error::BadEncoding { field }),
        })
        .collect()
}

fn decode_b64_list(s: &str, field: &'static str) -> Result<Vec<Bytes>> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            // Cameras sometimes drop the padding; accept both.
            let trimmed = p.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(trimmed)
                .map(Bytes::from)
                .map_err(|_| Error::BadEncoding { field })
        })
        .collect()
}

impl MediaDescription {
    /// An `m=` section with no attributes.
    pub fn new(media: &str, port: u16, proto: &str, formats: Vec<String>) -> MediaDescription {
        MediaDescription {
            media: media.to_string(),
            port,
            num_ports: None,
            proto: proto.to_string(),
            formats,
            title: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            key: None,
            attributes: Vec::new(),
            raw_lines: Vec::new(),
        }
    }

    /// Builder style: sets `a=control:`.
    pub fn with_control(mut self, control: &str) -> MediaDescription {
        self.set_attribute("control", Some(control));
        self
    }

    /// Builder style: appends an attribute.
    pub fn with_attribute(mut self, name: &str, value: Option<&str>) -> MediaDescription {
        self.push_attribute(name, value);
        self
    }

    /// H.264 (RFC 6184 §8.1). `sps` and `pps` are NAL units with their header byte, without
    /// start codes. `profile-level-id` is taken from SPS bytes 1..4.
    pub fn h264(
        payload_type: u8,
        sps: &[u8],
        pps: &[u8],
        packetization_mode: u8,
    ) -> Result<MediaDescription> {
        let pli = sps.get(1..4).ok_or(Error::InvalidInput {
            reason: "H.264 SPS shorter than 4 bytes",
        })?;
        if sps.first().map(|b| b & 0x1f) != Some(7) {
            return Err(Error::InvalidInput {
                reason: "H.264 SPS NAL type is not 7",
            });
        }
        if pps.first().map(|b| b & 0x1f) != Some(8) {
            return Err(Error::InvalidInput {
                reason: "H.264 PPS NAL type is not 8",
            });
        }
        if packetization_mode > 2 {
            return Err(Error::InvalidInput {
                reason: "packetization-mode must be 0, 1 or 2",
            });
        }
        let rtpmap = RtpMap {
            payload_type,
            encoding: "H264".into(),
            clock_rate: 90000,
            channels: None,
        };
        let mut fmtp = Fmtp {
            payload_type,
            params: Vec::new(),
        };
        fmtp.set("packetization-mode", packetization_mode.to_string());
        fmtp.set(
            "sprop-parameter-sets",
            format!("{},{}", B64.encode(sps), B64.encode(pps)),
        );
        fmtp.set("profile-level-id", hex(pli));
        Ok(media("video", &rtpmap, Some(&fmtp)))
    }

    /// H.265 (RFC 7798 §7.1). Parameter sets are NAL units with their 2-byte header.
    pub fn h265(payload_type: u8, vps: &[u8], sps: &[u8], pps: &[u8]) -> Result<MediaDescription> {
        let ty = |n: &[u8]| n.first().map(|b| (b >> 1) & 0x3f);
        if ty(vps) != Some(32)
            || ty(sps) != Some(33)
            || ty(pps) != Some(34)
            || vps.len() < 2
            || sps.len() < 2
            || pps.len() < 2
        {
            return Err(Error::InvalidInput {
                reason: "H.265 parameter sets must be VPS(32), SPS(33), PPS(34)",
            });
        }
        let rtpmap = RtpMap {
            payload_type,
            encoding: "H265".into(),
            clock_rate: 90000,
            channels: None,
        };
        let mut fmtp = Fmtp {
            payload_type,
            params: Vec::new(),
        };
        fmtp.set("sprop-vps", B64.encode(vps));
        fmtp.set("sprop-sps", B64.encode(sps));
        fmtp.set("sprop-pps", B64.encode(pps));
        Ok(media("video", &rtpmap, Some(&fmtp)))
    }

    /// AAC in RFC 3640 `mpeg4-generic`, mode AAC-hbr (sizelength 13, indexlength 3,
    /// indexdeltalength 3). `config` is the AudioSpecificConfig.
    pub fn aac_mpeg4_generic(
        payload_type: u8,
        sample_rate: u32,
        channels: u16,
        config: &[u8],
    ) -> Result<MediaDescription> {
        if config.len() < 2 {
            return Err(Error::InvalidInput {
                reason: "AudioSpecificConfig shorter than 2 bytes",
            });
        }
        let rtpmap = RtpMap {
            payload_type,
            encoding: "MPEG4-GENERIC".into(),
            clock_rate: sample_rate,
            channels: Some(channels),
        };
        let mut fmtp = Fmtp {
            payload_type,
            params: Vec::new(),
        };
        fmtp.set("profile-level-id", "1");
        fmtp.set("mode", "AAC-hbr");
        fmtp.set("sizelength", "13");
        fmtp.set("indexlength", "3");
        fmtp.set("indexdeltalength", "3");
        fmtp.set("config", hex(config));
        Ok(media("audio", &rtpmap, Some(&fmtp)))
    }

    /// AAC in RFC 6416 `MP4A-LATM` with out-of-band configuration (`cpresent=0`).
    /// `stream_mux_config` is the StreamMuxConfig; see [`stream_mux_config`] to make one from
    /// an AudioSpecificConfig.
    pub fn mp4a_latm(
        payload_type: u8,
        sample_rate: u32,
        channels: u16,
        stream_mux_config: &[u8],
    ) -> Result<MediaDescription> {
        if stream_mux_config.is_empty() {
            return Err(Error::InvalidInput {
                reason: "empty StreamMuxConfig",
            });
        }
        let rtpmap = RtpMap {
            payload_type,
            encoding: "MP4A-LATM".into(),
            clock_rate: sample_rate,
            channels: Some(channels),
        };
        let mut fmtp = Fmtp {
            payload_type,
            params: Vec::new(),
        };
        fmtp.set("profile-level-id", "15");
        fmtp.set("object", "2");
        fmtp.set("cpresent", "0");
        fmtp.set("config", hex(stream_mux_config));
        Ok(media("audio", &rtpmap, Some(&fmtp)))
    }

    /// Opus (RFC 7587 §7): always `opus/48000/2`; `stereo` sets the `sprop-stereo` hint.
    pub fn opus(payload_type: u8, stereo: bool) -> MediaDescription {
        let rtpmap = RtpMap {
            payload_type,
            encoding: "opus".into(),
            clock_rate: 48000,
            channels: Some(2),
        };
        let mut fmtp = Fmtp {
            payload_type,
            params: Vec::new(),
        };
        fmtp.set("sprop-stereo", if stereo { "1" } else { "0" });
        media("audio", &rtpmap, Some(&fmtp))
    }

    /// G.711 µ-law (`PCMU`). At 8000 Hz mono this is static payload type 0; other rates and
    /// channel counts use `dynamic_pt`.
    pub fn pcmu(sample_rate: u32, channels: u16, dynamic_pt: u8) -> MediaDescription {
        g711("PCMU", 0, sample_rate, channels, dynamic_pt)
    }

    /// G.711 A-law (`PCMA`); static payload type 8 at 8000 Hz mono.
    pub fn pcma(sample_rate: u32, channels: u16, dynamic_pt: u8) -> MediaDescription {
        g711("PCMA", 8, sample_rate, channels, dynamic_pt)
    }

    /// Motion JPEG (RFC 2435): static payload type 26. `framerate` adds `a=framerate`.
    pub fn jpeg(framerate: Option<f64>) -> MediaDescription {
        let rtpmap = RtpMap {
            payload_type: 26,
            encoding: "JPEG".into(),
            clock_rate: 90000,
            channels: None,
        };
        let mut m = media("video", &rtpmap, None);
        if let Some(f) = framerate {
            m.push_attribute("framerate", Some(&f.to_string()));
        }
        m
    }
}

fn g711(
    name: &str,
    static_pt: u8,
    sample_rate: u32,
    channels: u16,
    dynamic_pt: u8,
) -> MediaDescription {
    let pt = if sample_rate == 8000 && channels == 1 {
        static_pt
    } else {
        dynamic_pt
    };
    let rtpmap = RtpMap {
        payload_type: pt,
        encoding: name.into(),
        clock_rate: sample_rate,
        channels: Some(channels),
    };
    media("audio", &rtpmap, None)
}

/// Builds the RFC 6416 StreamMuxConfig (ISO/IEC 14496-3 1.7.3.1) that announces an
/// AudioSpecificConfig in an `MP4A-LATM` `config=`: one program, one layer, one sub-frame,
/// `frameLengthType` 0 — `weir_aac::latm::StreamMuxConfig::single`. audioMuxVersion is 0
/// (what ffmpeg announces), or 1 when the config carries a backward-compatible SBR
/// extension, which only version 1 can delimit.
///
/// ```
/// // AAC-LC, 44.1 kHz, stereo: the well-known `config=400024203fc0`.
/// assert_eq!(weir_sdp::stream_mux_config(&[0x12, 0x10])?, [0x40, 0x00, 0x24, 0x20, 0x3f, 0xc0]);
/// # Ok::<(), weir_sdp::Error>(())
/// ```
///
/// # Errors
/// [`Error::AacConfig`] when `asc` is not an AudioSpecificConfig.
pub fn stream_mux_config(asc: &[u8]) -> Result<Vec<u8>> {
    let asc = weir_aac::AudioSpecificConfig::parse(asc)?;
    let smc = weir_aac::latm::StreamMuxConfig::single(asc).try_to_bytes()?;
    Ok(smc.to_vec())
}

/// H.264 parameters decoded from an `fmtp` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H264Params {
    /// `packetization-mode` (0 when absent).
    pub packetization_mode: u8,
    /// `profile-level-id` bytes (profile_idc, constraint flags, level_idc).
    pub profile_level_id: Option<[u8; 3]>,
    /// SPS NAL units from `sprop-parameter-sets` (NAL type 7).
    pub sps: Vec<Bytes>,
    /// PPS NAL units from `sprop-parameter-sets` (NAL type 8).
    pub pps: Vec<Bytes>,
    /// Other NAL units listed there (rare: SEI).
    pub other: Vec<Bytes>,
}

impl H264Params {
    /// Decodes the H.264 parameters of an `fmtp` (RFC 6184 §8.1).
    pub fn from_fmtp(f: &Fmtp) -> Result<H264Params> {
        let packetization_mode = match f.get("packetization-mode") {
            Some(v) => v.parse::<u8>().map_err(|_| Error::BadEncoding {
                field: "packetization-mode",
            })?,
            None => 0,
        };
        let profile_level_id = match f.get("profile-level-id") {
            Some(v) => {
                let b = decode_hex(v, "profile-level-id")?;
                Some(
                    <[u8; 3]>::try_from(b.as_slice()).map_err(|_| Error::BadEncoding {
                        field: "profile-level-id",
                    })?,
                )
            }
            None => None,
        };
        let (mut sps, mut pps, mut other) = (Vec::new(), Vec::new(), Vec::new());
        if let Some(v) = f.get("sprop-parameter-sets") {
            for nal in decode_b64_list(v, "sprop-parameter-sets")? {
                match nal.first().map(|b| b & 0x1f) {
                    Some(7) => sps.push(nal),
                    Some(8) => pps.push(nal),
                    Some(_) => other.push(nal),
                    None => {}
                }
            }
        }
        Ok(H264Params {
            packetization_mode,
            profile_level_id,
            sps,
            pps,
            other,
        })
    }
}

/// H.265 parameters decoded from an `fmtp` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H265Params {
    /// `sprop-vps` NAL units.
    pub vps: Vec<Bytes>,
    /// `sprop-sps` NAL units.
    pub sps: Vec<Bytes>,
    /// `sprop-pps` NAL units.
    pub pps: Vec<Bytes>,
}

impl H265Params {
    /// Decodes the H.265 parameter sets of an `fmtp` (RFC 7798 §7.1).
    pub fn from_fmtp(f: &Fmtp) -> Result<H265Params> {
        let list = |k: &'static str| -> Result<Vec<Bytes>> {
            match f.get(k) {
                Some(v) => decode_b64_list(v, k),
                None => Ok(Vec::new()),
            }
        };
        Ok(H265Params {
            vps: list("sprop-vps")?,
            sps: list("sprop-sps")?,
            pps: list("sprop-pps")?,
        })
    }
}

/// AAC `mpeg4-generic` parameters decoded from an `fmtp` line (RFC 3640 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AacParams {
    /// `mode` (`AAC-hbr`, `AAC-lbr`, …).
    pub mode: Option<String>,
    /// AudioSpecificConfig from `config`.
    pub config: Bytes,
    /// `sizelength`.
    pub size_length: u8,
    /// `indexlength`.
    pub index_length: u8,
    /// `indexdeltalength`.
    pub index_delta_length: u8,
}

impl AacParams {
    /// The AudioSpecificConfig of `config`, parsed (by `weir-aac`): object type, sample
    /// rate, channels, SBR/PS signalling.
    ///
    /// # Errors
    /// [`Error::AacConfig`] when `config` is not an AudioSpecificConfig.
    pub fn audio_specific_config(&self) -> Result<weir_aac::AudioSpecificConfig> {
        Ok(weir_aac::AudioSpecificConfig::parse(&self.config)?)
    }

    /// Decodes the AAC parameters; `config` is required, lengths default to 0.
    pub fn from_fmtp(f: &Fmtp) -> Result<AacParams> {
        let config = Bytes::from(decode_hex(
            f.get("config")
                .ok_or(Error::BadEncoding { field: "config" })?,
            "config",
        )?);
        let num = |k: &'static str| -> Result<u8> {
            match f.get(k) {
                Some(v) => v
                    .parse::<u8>()
                    .ok()
                    .filter(|n| *n <= 32)
                    .ok_or(Error::BadEncoding { field: k }),
                None => Ok(0),
            }
        };
        Ok(AacParams {
            mode: f.get("mode").map(str::to_string),
            config,
            size_length: num("sizelength")?,
            index_length: num("indexlength")?,
            index_delta_length: num("indexdeltalength")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_roundtrip() {
        let sps = [0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00];
        let pps = [0x68, 0xce, 0x3c, 0x80];
        let m = MediaDescription::h264(96, &sps, &pps, 1).unwrap();
        let f = m.fmtp(96).unwrap().unwrap();
        assert_eq!(f.get("profile-level-id"), Some("42c01e"));
        let p = H264Params::from_fmtp(&f).unwrap();
        assert_eq!(p.sps, vec![Bytes::copy_from_slice(&sps)]);
        assert_eq!(p.pps, vec![Bytes::copy_from_slice(&pps)]);
        assert_eq!(p.packetization_mode, 1);
        assert_eq!(p.profile_level_id, Some([0x42, 0xc0, 0x1e]));
        assert!(MediaDescription::h264(96, &pps, &sps, 1).is_err());
    }

    #[test]
    fn h265_roundtrip() {
        let vps = [0x40, 0x01, 0x0c];
        let sps = [0x42, 0x01, 0x01];
        let pps = [0x44, 0x01, 0xc1];
        let m = MediaDescription::h265(98, &vps, &sps, &pps).unwrap();
        let p = H265Params::from_fmtp(&m.fmtp(98).unwrap().unwrap()).unwrap();
        assert_eq!(p.vps[0].as_ref(), &vps);
        assert_eq!(p.sps[0].as_ref(), &sps);
        assert_eq!(p.pps[0].as_ref(), &pps);
    }

    #[test]
    fn aac_and_latm() {
        let m = MediaDescription::aac_mpeg4_generic(97, 44100, 2, &[0x12, 0x10]).unwrap();
        assert_eq!(
            m.rtpmap(97).unwrap().unwrap().to_string(),
            "97 MPEG4-GENERIC/44100/2"
        );
        let p = AacParams::from_fmtp(&m.fmtp(97).unwrap().unwrap()).unwrap();
        assert_eq!(p.config.as_ref(), &[0x12, 0x10]);
        assert_eq!(
            (p.size_length, p.index_length, p.index_delta_length),
            (13, 3, 3)
        );
        assert_eq!(p.mode.as_deref(), Some("AAC-hbr"));
        let asc = p.audio_specific_config().unwrap();
        assert_eq!((asc.sample_rate(), asc.channels()), (44_100, 2));
        // StreamMuxConfig for AAC-LC 44.1 kHz stereo is the well-known 40002420 prefix.
        let smc = stream_mux_config(&[0x12, 0x10]).unwrap();
        assert_eq!(hex(&smc), "400024203fc0");
        assert!(matches!(
            stream_mux_config(&[0x12]),
            Err(Error::AacConfig(_))
        ));
        let l = MediaDescription::mp4a_latm(98, 44100, 2, &smc).unwrap();
        assert_eq!(
            l.fmtp(98).unwrap().unwrap().get("config"),
            Some("400024203fc0")
        );
    }

    #[test]
    fn simple_audio_video() {
        let m = MediaDescription::pcmu(8000, 1, 100);
        assert_eq!(m.formats, vec!["0".to_string()]);
        let m = MediaDescription::pcma(16000, 1, 100);
        assert_eq!(m.rtpmap(100).unwrap().unwrap().clock_rate, 16000);
        let o = MediaDescription::opus(111, true);
        assert_eq!(
            o.rtpmap(111).unwrap().unwrap().to_string(),
            "111 opus/48000/2"
        );
        let j = MediaDescription::jpeg(Some(25.0));
        assert_eq!(j.framerate().unwrap().unwrap(), 25.0);
        assert_eq!(j.rtpmap(26).unwrap().unwrap().encoding, "JPEG");
    }
}
