//! MPEG-1/2/2.5 audio frame headers, Layers I, II and III (ISO/IEC 11172-3 2.4.2.3 and
//! 2.4.3.1; ISO/IEC 13818-3 2.4.2.3 for the MPEG-2 low sampling frequencies; MPEG-2.5, the
//! Fraunhofer extension to 8, 11.025 and 12 kHz, signalled by `ID` bits `00`).
//!
//! Every MPEG audio frame starts with a 4-byte header that says everything a demuxer needs:
//! version, layer, bitrate, sample rate, channel mode, and so the frame length and the
//! number of PCM samples it decodes to. [`MpaHeader::parse`] reads one, refusing what the
//! standard forbids or reserves (no syncword, `ID` `01`, layer `00`, bitrate index 15,
//! sampling frequency index 3) so that a scan for the next frame rarely locks onto payload
//! bytes; [`MpaHeader::to_bytes`] writes it back bit for bit.
//!
//! ```
//! use weir_aac::mpa::{ChannelMode, Layer, MpaHeader, MpegVersion};
//!
//! // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, joint stereo (a typical MP3 frame).
//! let h = MpaHeader::parse(&[0xFF, 0xFB, 0x90, 0x44])?;
//! assert_eq!((h.version, h.layer), (MpegVersion::Mpeg1, Layer::III));
//! assert_eq!(h.bitrate(), Some(128_000));
//! assert_eq!((h.sample_rate(), h.channels()), (44_100, 2));
//! assert_eq!(h.channel_mode, ChannelMode::JointStereo);
//! assert_eq!((h.samples_per_frame(), h.frame_len()), (1152, Some(417)));
//! assert_eq!(h.to_bytes(), [0xFF, 0xFB, 0x90, 0x44]);
//!
//! // Building one: MPEG-2 Layer II at 24 kHz, 64 kbit/s, mono.
//! let h = MpaHeader::new(MpegVersion::Mpeg2, Layer::II, 64_000, 24_000, ChannelMode::Mono)?;
//! assert_eq!(MpaHeader::parse(&h.to_bytes())?, h);
//! assert_eq!(h.frame_len(), Some(384));
//! # Ok::<(), weir_aac::Error>(())
//! ```

use crate::error::{Error, Result};

/// Length of a frame header in bytes (the optional 16-bit CRC follows it).
pub const HEADER_LEN: usize = 4;

/// The `ID` field (and the MPEG-2.5 extension of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MpegVersion {
    /// MPEG-1 (ISO/IEC 11172-3): 32, 44.1 and 48 kHz. Header bits `11`.
    Mpeg1,
    /// MPEG-2 low sampling frequencies (ISO/IEC 13818-3): 16, 22.05 and 24 kHz. Bits `10`.
    Mpeg2,
    /// MPEG-2.5 (not ISO; every decoder accepts it): 8, 11.025 and 12 kHz. Bits `00`.
    Mpeg25,
}

impl MpegVersion {
    fn bits(self) -> u8 {
        match self {
            MpegVersion::Mpeg1 => 3,
            MpegVersion::Mpeg2 => 2,
            MpegVersion::Mpeg25 => 0,
        }
    }

    /// Divisor of the MPEG-1 sample rates: 1, 2 or 4.
    fn rate_divisor(self) -> u32 {
        match self {
            MpegVersion::Mpeg1 => 1,
            MpegVersion::Mpeg2 => 2,
            MpegVersion::Mpeg25 => 4,
        }
    }
}

/// The `layer` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Layer I (header bits `11`).
    I,
    /// Layer II, "MP2" (bits `10`).
    II,
    /// Layer III, "MP3" (bits `01`).
    III,
}

impl Layer {
    fn bits(self) -> u8 {
        match self {
            Layer::I => 3,
            Layer::II => 2,
            Layer::III => 1,
        }
    }
}

/// The `mode` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelMode {
    /// `00`: stereo.
    Stereo,
    /// `01`: joint stereo (intensity and/or M/S stereo, see `mode_extension`).
    JointStereo,
    /// `10`: two independent mono channels.
    DualChannel,
    /// `11`: single channel.
    Mono,
}

impl ChannelMode {
    fn bits(self) -> u8 {
        match self {
            ChannelMode::Stereo => 0,
            ChannelMode::JointStereo => 1,
            ChannelMode::DualChannel => 2,
            ChannelMode::Mono => 3,
        }
    }

    fn from_bits(b: u8) -> ChannelMode {
        match b & 3 {
            0 => ChannelMode::Stereo,
            1 => ChannelMode::JointStereo,
            2 => ChannelMode::DualChannel,
            _ => ChannelMode::Mono,
        }
    }
}

/// Bitrates in kbit/s by `bitrate_index` 1 to 14 (index 0 is free format, 15 forbidden):
/// 11172-3 2.4.2.3 for MPEG-1, 13818-3 2.4.2.3 (Table 2.4.2.3) for MPEG-2 and 2.5.
const KBPS_MPEG1: [[u16; 14]; 3] = [
    // Layer I
    [
        32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    // Layer II
    [
        32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    // Layer III
    [
        32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
const KBPS_MPEG2: [[u16; 14]; 2] = [
    // Layer I
    [
        32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    // Layers II and III
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];
/// MPEG-1 sample rates by `sampling_frequency` index 0 to 2 (3 is reserved).
const MPEG1_RATES: [u32; 3] = [44_100, 48_000, 32_000];

fn kbps_table(version: MpegVersion, layer: Layer) -> &'static [u16; 14] {
    match (version, layer) {
        (MpegVersion::Mpeg1, Layer::I) => &KBPS_MPEG1[0],
        (MpegVersion::Mpeg1, Layer::II) => &KBPS_MPEG1[1],
        (MpegVersion::Mpeg1, Layer::III) => &KBPS_MPEG1[2],
        (_, Layer::I) => &KBPS_MPEG2[0],
        (_, _) => &KBPS_MPEG2[1],
    }
}

/// One MPEG audio frame header (the 32 bits after which the optional CRC and the audio data
/// follow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MpaHeader {
    /// MPEG-1, MPEG-2 or MPEG-2.5.
    pub version: MpegVersion,
    /// Layer I, II or III.
    pub layer: Layer,
    /// A 16-bit CRC follows the header (`protection_bit` is 0).
    pub crc_protected: bool,
    /// `bitrate_index` (0 = free format, 1 to 14; 15 is refused by [`MpaHeader::parse`]).
    pub bitrate_index: u8,
    /// `sampling_frequency` index (0 to 2; 3 is refused).
    pub sampling_frequency_index: u8,
    /// `padding_bit`: the frame carries one extra slot (4 bytes in Layer I, 1 byte otherwise).
    pub padding: bool,
    /// `private_bit`.
    pub private_bit: bool,
    /// `mode`.
    pub channel_mode: ChannelMode,
    /// `mode_extension` (2 bits; meaningful in joint stereo).
    pub mode_extension: u8,
    /// `copyright`.
    pub copyright: bool,
    /// `original/home`.
    pub original: bool,
    /// `emphasis` (2 bits; 2 is reserved but kept as read).
    pub emphasis: u8,
}

impl MpaHeader {
    /// Parses the header at the start of `data` (only its first 4 bytes are read).
    ///
    /// # Errors
    /// [`Error::Truncated`] with fewer than 4 bytes, [`Error::NoMpegAudioSync`] without the
    /// 11-bit syncword, [`Error::InvalidField`] for the reserved `ID` `01`, layer `00`,
    /// bitrate index 15 or sampling frequency index 3.
    pub fn parse(data: &[u8]) -> Result<MpaHeader> {
        let Some(&[b0, b1, b2, b3]) = data.get(..HEADER_LEN) else {
            return Err(Error::Truncated {
                what: "MPEG audio header",
                needed: HEADER_LEN,
                available: data.len(),
            });
        };
        if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
            return Err(Error::NoMpegAudioSync { offset: 0 });
        }
        let invalid = |field: &'static str, value: u8| Error::InvalidField {
            what: "MPEG audio header",
            field,
            value: u64::from(value),
        };
        let version = match (b1 >> 3) & 3 {
            3 => MpegVersion::Mpeg1,
            2 => MpegVersion::Mpeg2,
            0 => MpegVersion::Mpeg25,
            v => return Err(invalid("ID", v)),
        };
        let layer = match (b1 >> 1) & 3 {
            3 => Layer::I,
            2 => Layer::II,
            1 => Layer::III,
            v => return Err(invalid("layer", v)),
        };
        let bitrate_index = b2 >> 4;
        if bitrate_index == 15 {
            return Err(invalid("bitrate_index", bitrate_index));
        }
        let sampling_frequency_index = (b2 >> 2) & 3;
        if sampling_frequency_index == 3 {
            return Err(invalid("sampling_frequency", sampling_frequency_index));
        }
        Ok(MpaHeader {
            version,
            layer,
            crc_protected: b1 & 1 == 0,
            bitrate_index,
            sampling_frequency_index,
            padding: b2 & 2 != 0,
            private_bit: b2 & 1 != 0,
            channel_mode: ChannelMode::from_bits(b3 >> 6),
            mode_extension: (b3 >> 4) & 3,
            copyright: b3 & 8 != 0,
            original: b3 & 4 != 0,
            emphasis: b3 & 3,
        })
    }

    /// A header for `bitrate` bit/s (one of the table rates of the version and layer) at
    /// `sample_rate` Hz (one of the version's three), no CRC, no padding, other flags clear.
    ///
    /// # Errors
    /// [`Error::InvalidField`] for a bitrate not in the table, or a sample rate the version
    /// does not have.
    pub fn new(
        version: MpegVersion,
        layer: Layer,
        bitrate: u32,
        sample_rate: u32,
        channel_mode: ChannelMode,
    ) -> Result<MpaHeader> {
        let kbps = bitrate / 1000;
        let bitrate_index = kbps_table(version, layer)
            .iter()
            .position(|&k| u32::from(k) == kbps && kbps * 1000 == bitrate)
            .and_then(|i| u8::try_from(i + 1).ok())
            .ok_or(Error::InvalidField {
                what: "MpaHeader::new",
                field: "bitrate",
                value: u64::from(bitrate),
            })?;
        let sampling_frequency_index = MPEG1_RATES
            .iter()
            .position(|&r| r / version.rate_divisor() == sample_rate)
            .and_then(|i| u8::try_from(i).ok())
            .ok_or(Error::UnsupportedSampleRate {
                rate: sample_rate,
                what: "MPEG audio header",
            })?;
        Ok(MpaHeader {
            version,
            layer,
            crc_protected: false,
            bitrate_index,
            sampling_frequency_index,
            padding: false,
            private_bit: false,
            channel_mode,
            mode_extension: 0,
            copyright: false,
            original: false,
            emphasis: 0,
        })
    }

    /// The header's 4 bytes. Fields are masked to their widths, so any value encodes; a
    /// header from [`MpaHeader::parse`] encodes to the bytes it was read from.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        [
            0xFF,
            0xE0 | (self.version.bits() << 3)
                | (self.layer.bits() << 1)
                | u8::from(!self.crc_protected),
            ((self.bitrate_index & 0xF) << 4)
                | ((self.sampling_frequency_index & 3) << 2)
                | (u8::from(self.padding) << 1)
                | u8::from(self.private_bit),
            (self.channel_mode.bits() << 6)
                | ((self.mode_extension & 3) << 4)
                | (u8::from(self.copyright) << 3)
                | (u8::from(self.original) << 2)
                | (self.emphasis & 3),
        ]
    }

    /// The bitrate in bit/s; `None` for free format (index 0) and the forbidden index 15.
    pub fn bitrate(&self) -> Option<u32> {
        let i = usize::from(self.bitrate_index).checked_sub(1)?;
        kbps_table(self.version, self.layer)
            .get(i)
            .map(|&k| u32::from(k) * 1000)
    }

    /// The sample rate in Hz (0 for the reserved index 3, which [`MpaHeader::parse`] refuses).
    pub fn sample_rate(&self) -> u32 {
        MPEG1_RATES
            .get(usize::from(self.sampling_frequency_index))
            .map_or(0, |r| r / self.version.rate_divisor())
    }

    /// Channels decoded: 1 for mono, 2 otherwise (dual channel counts as 2).
    pub fn channels(&self) -> u8 {
        if self.channel_mode == ChannelMode::Mono {
            1
        } else {
            2
        }
    }

    /// PCM samples per channel the frame decodes to: 384 (Layer I), 1152 (Layer II, and
    /// Layer III of MPEG-1), 576 (Layer III of MPEG-2 and 2.5, which has one granule).
    pub fn samples_per_frame(&self) -> u32 {
        match (self.layer, self.version) {
            (Layer::I, _) => 384,
            (Layer::II, _) | (Layer::III, MpegVersion::Mpeg1) => 1152,
            (Layer::III, _) => 576,
        }
    }

    /// The whole frame's length in bytes, header (and CRC) included: `12 × bitrate /
    /// sample_rate` slots of 4 bytes in Layer I, `samples / 8 × bitrate / sample_rate` bytes
    /// otherwise, each rounded down, plus one slot with padding (11172-3 2.4.3.1). `None` for
    /// free format (the length is only found by looking for the next header) or a zero rate.
    pub fn frame_len(&self) -> Option<usize> {
        let bitrate = u64::from(self.bitrate()?);
        let rate = u64::from(self.sample_rate());
        if rate == 0 {
            return None;
        }
        let pad = u64::from(self.padding);
        let len = match self.layer {
            Layer::I => (12 * bitrate / rate + pad) * 4,
            _ => u64::from(self.samples_per_frame()) / 8 * bitrate / rate + pad,
        };
        usize::try_from(len).ok()
    }

    /// Bytes of header and CRC before the audio data: 4, or 6 with a CRC.
    pub fn header_len(&self) -> usize {
        if self.crc_protected {
            HEADER_LEN + 2
        } else {
            HEADER_LEN
        }
    }
}

/// Offset of the first position in `data` where a valid header starts (as
/// [`MpaHeader::parse`] judges it), with the header; `None` if there is none.
pub fn find_header(data: &[u8]) -> Option<(usize, MpaHeader)> {
    let mut from = 0;
    while let Some(i) = data
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        let at = from + i;
        if let Ok(h) = MpaHeader::parse(data.get(at..).unwrap_or(&[])) {
            return Some((at, h));
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_headers() {
        // MPEG-1 Layer II, 128 kbit/s, 44.1 kHz, stereo: 417 bytes, 1152 samples.
        let h = MpaHeader::parse(&[0xFF, 0xFD, 0x80, 0x00]).unwrap();
        assert_eq!((h.version, h.layer), (MpegVersion::Mpeg1, Layer::II));
        assert!(!h.crc_protected);
        assert_eq!((h.frame_len(), h.samples_per_frame()), (Some(417), 1152));
        assert_eq!(h.sample_rate(), 44_100);
        // Same at 48 kHz: 384 bytes.
        let h = MpaHeader::parse(&[0xFF, 0xFD, 0x84, 0x00]).unwrap();
        assert_eq!((h.frame_len(), h.sample_rate()), (Some(384), 48_000));
        // Bitrate index 15 is forbidden.
        assert!(matches!(
            MpaHeader::parse(&[0xFF, 0xFD, 0xF4, 0x00]),
            Err(Error::InvalidField {
                field: "bitrate_index",
                value: 15,
                ..
            })
        ));
        // MPEG-2 Layer III, 24 kHz, mono (b3 = 0xC4: mode 11).
        let h = MpaHeader::parse(&[0xFF, 0xF3, 0x84, 0xC4]).unwrap();
        assert_eq!((h.version, h.layer), (MpegVersion::Mpeg2, Layer::III));
        assert_eq!((h.sample_rate(), h.channels()), (24_000, 1));
        assert_eq!(h.bitrate(), Some(64_000));
        assert_eq!((h.samples_per_frame(), h.frame_len()), (576, Some(192)));
        // MPEG-2.5 Layer III, 8 kHz, 8 kbit/s, padded: 72 * 8000 / 8000 + 1.
        let h = MpaHeader::parse(&[0xFF, 0xE3, 0x1A, 0xC0]).unwrap();
        assert_eq!((h.version, h.sample_rate()), (MpegVersion::Mpeg25, 8_000));
        assert_eq!(h.frame_len(), Some(73));
        // Layer I, MPEG-1, 32 kbit/s at 32 kHz, padded: (12 + 1) * 4.
        let h = MpaHeader::parse(&[0xFF, 0xFF, 0x1A, 0x00]).unwrap();
        assert_eq!(h.layer, Layer::I);
        assert_eq!((h.frame_len(), h.samples_per_frame()), (Some(52), 384));
        // Free format: valid, but no length from the header alone.
        let h = MpaHeader::parse(&[0xFF, 0xFB, 0x00, 0x00]).unwrap();
        assert_eq!((h.bitrate(), h.frame_len()), (None, None));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            MpaHeader::parse(&[0xFF, 0xFB, 0x90]),
            Err(Error::Truncated { available: 3, .. })
        ));
        assert!(matches!(
            MpaHeader::parse(&[0xFF, 0x0B, 0x90, 0x44]),
            Err(Error::NoMpegAudioSync { .. })
        ));
        // ID 01 (reserved), layer 00 (reserved), sampling frequency 3 (reserved).
        for (b1, b2) in [(0xEB, 0x90), (0xF9, 0x90), (0xFB, 0x9C)] {
            assert!(matches!(
                MpaHeader::parse(&[0xFF, b1, b2, 0x44]),
                Err(Error::InvalidField { .. })
            ));
        }
    }

    #[test]
    fn builder_and_scan() {
        let h = MpaHeader::new(
            MpegVersion::Mpeg1,
            Layer::III,
            128_000,
            44_100,
            ChannelMode::JointStereo,
        )
        .unwrap();
        assert_eq!(h.to_bytes(), [0xFF, 0xFB, 0x90, 0x40]);
        assert!(MpaHeader::new(
            MpegVersion::Mpeg1,
            Layer::III,
            8_000,
            44_100,
            ChannelMode::Mono
        )
        .is_err());
        assert!(MpaHeader::new(
            MpegVersion::Mpeg2,
            Layer::II,
            64_000,
            44_100,
            ChannelMode::Mono
        )
        .is_err());
        let mut data = vec![0x00, 0xFF, 0x00, 0xFF, 0xFF];
        data.extend_from_slice(&h.to_bytes());
        assert_eq!(find_header(&data), Some((5, h))); // 0xFF 0xFF 0xFB 0x90 at 4: bitrate index 15
        assert_eq!(find_header(&[0xFF, 0xFB, 0x90]), None);
    }
}
