//! Audio tag headers: legacy `AudioTagHeader` (FLV spec v10.1, E.4.2.1) and the enhanced-RTMP
//! `ExAudioTagHeader` (E-RTMP v2, "Enhanced Audio").

use core::ops::Range;

use crate::codec_header::{
    read_mod_ex, write_mod_ex, Cursor, HeaderBytes, MultitrackCursor, MultitrackType, MOD_EX,
};

/// The enhanced audio packet type that turns on multitrack mode.
const MULTITRACK: u8 = 5;
use crate::{Error, Result};

/// Legacy SoundFormat (upper nibble of the first audio byte).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SoundFormat {
    /// 0: linear PCM, platform endian.
    LinearPcm,
    /// 1: ADPCM.
    Adpcm,
    /// 2: MP3.
    Mp3,
    /// 3: linear PCM, little endian.
    LinearPcmLe,
    /// 4: Nellymoser 16 kHz mono.
    Nellymoser16kMono,
    /// 5: Nellymoser 8 kHz mono.
    Nellymoser8kMono,
    /// 6: Nellymoser.
    Nellymoser,
    /// 7: G.711 A-law.
    G711ALaw,
    /// 8: G.711 µ-law.
    G711MuLaw,
    /// 9: enhanced-RTMP `ExHeader` marker (an [`ExAudioHeader`] follows).
    ExHeader,
    /// 10: AAC.
    Aac,
    /// 11: Speex.
    Speex,
    /// 14: MP3 8 kHz.
    Mp3At8k,
    /// 15: device-specific sound.
    DeviceSpecific,
    /// 12 or 13: reserved.
    Reserved(u8),
}

impl SoundFormat {
    /// From the 4-bit value.
    pub const fn from_u8(v: u8) -> SoundFormat {
        match v & 0x0F {
            0 => SoundFormat::LinearPcm,
            1 => SoundFormat::Adpcm,
            2 => SoundFormat::Mp3,
            3 => SoundFormat::LinearPcmLe,
            4 => SoundFormat::Nellymoser16kMono,
            5 => SoundFormat::Nellymoser8kMono,
            6 => SoundFormat::Nellymoser,
            7 => SoundFormat::G711ALaw,
            8 => SoundFormat::G711MuLaw,
            9 => SoundFormat::ExHeader,
            10 => SoundFormat::Aac,
            11 => SoundFormat::Speex,
            14 => SoundFormat::Mp3At8k,
            15 => SoundFormat::DeviceSpecific,
            other => SoundFormat::Reserved(other),
        }
    }

    /// The 4-bit value.
    pub const fn to_u8(self) -> u8 {
        match self {
            SoundFormat::LinearPcm => 0,
            SoundFormat::Adpcm => 1,
            SoundFormat::Mp3 => 2,
            SoundFormat::LinearPcmLe => 3,
            SoundFormat::Nellymoser16kMono => 4,
            SoundFormat::Nellymoser8kMono => 5,
            SoundFormat::Nellymoser => 6,
            SoundFormat::G711ALaw => 7,
            SoundFormat::G711MuLaw => 8,
            SoundFormat::ExHeader => 9,
            SoundFormat::Aac => 10,
            SoundFormat::Speex => 11,
            SoundFormat::Mp3At8k => 14,
            SoundFormat::DeviceSpecific => 15,
            SoundFormat::Reserved(v) => v & 0x0F,
        }
    }
}

/// AACPacketType (the byte after the legacy header when SoundFormat is AAC).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AacPacketType {
    /// 0: AudioSpecificConfig.
    SequenceHeader,
    /// 1: one raw AAC access unit.
    Raw,
}

/// The legacy audio tag header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct LegacyAudioHeader {
    /// SoundFormat.
    pub format: SoundFormat,
    /// SoundRate: 0 = 5.5 kHz, 1 = 11 kHz, 2 = 22 kHz, 3 = 44 kHz. Informative only for AAC
    /// (always 3) and G.711 (the rate is 8 kHz; ffmpeg writes 0).
    pub rate: u8,
    /// SoundSize: 16-bit samples (true) or 8-bit.
    pub sixteen_bit: bool,
    /// SoundType: stereo (true) or mono.
    pub stereo: bool,
    /// Present exactly when `format` is AAC.
    pub aac_packet_type: Option<AacPacketType>,
}

impl LegacyAudioHeader {
    /// The nominal sample rate in Hz of the `rate` field.
    pub const fn rate_hz(&self) -> u32 {
        match self.rate & 3 {
            0 => 5_512,
            1 => 11_025,
            2 => 22_050,
            _ => 44_100,
        }
    }
}

/// AudioPacketType of the enhanced audio header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AudioPacketType {
    /// 0: codec configuration (`OpusHead` for Opus, AudioSpecificConfig for `mp4a`, …).
    SequenceStart,
    /// 1: coded audio.
    CodedFrames,
    /// 2: end of the sequence.
    SequenceEnd,
    /// 4: multichannel configuration.
    MultichannelConfig,
}

impl AudioPacketType {
    fn from_u8(v: u8) -> Result<AudioPacketType> {
        Ok(match v {
            0 => AudioPacketType::SequenceStart,
            1 => AudioPacketType::CodedFrames,
            2 => AudioPacketType::SequenceEnd,
            4 => AudioPacketType::MultichannelConfig,
            MULTITRACK => return Err(Error::UnsupportedFeature {
                feature:
                    "multitrack audio in AudioTagHeader::parse (use AudioTagHeader::parse_tracks)",
            }),
            value => {
                return Err(Error::UnknownPacketType {
                    what: "audio",
                    value,
                })
            }
        })
    }

    const fn to_u8(self) -> u8 {
        match self {
            AudioPacketType::SequenceStart => 0,
            AudioPacketType::CodedFrames => 1,
            AudioPacketType::SequenceEnd => 2,
            AudioPacketType::MultichannelConfig => 4,
        }
    }
}

/// Audio FourCC of the enhanced audio header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AudioFourCc {
    /// `Opus`.
    Opus,
    /// `mp4a` (AAC).
    Aac,
    /// `.mp3`.
    Mp3,
    /// `fLaC`.
    Flac,
    /// `ac-3`.
    Ac3,
    /// `ec-3`.
    Eac3,
}

impl AudioFourCc {
    /// The four bytes on the wire.
    pub const fn to_bytes(self) -> [u8; 4] {
        match self {
            AudioFourCc::Opus => *b"Opus",
            AudioFourCc::Aac => *b"mp4a",
            AudioFourCc::Mp3 => *b".mp3",
            AudioFourCc::Flac => *b"fLaC",
            AudioFourCc::Ac3 => *b"ac-3",
            AudioFourCc::Eac3 => *b"ec-3",
        }
    }

    /// Maps the four bytes.
    ///
    /// # Errors
    /// [`Error::UnknownFourCc`].
    pub fn from_bytes(b: [u8; 4]) -> Result<AudioFourCc> {
        Ok(match &b {
            b"Opus" => AudioFourCc::Opus,
            b"mp4a" => AudioFourCc::Aac,
            b".mp3" => AudioFourCc::Mp3,
            b"fLaC" => AudioFourCc::Flac,
            b"ac-3" => AudioFourCc::Ac3,
            b"ec-3" => AudioFourCc::Eac3,
            _ => return Err(Error::UnknownFourCc { fourcc: b }),
        })
    }
}

/// The enhanced audio header (`SoundFormat` = 9).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExAudioHeader {
    /// The packet type.
    pub packet_type: AudioPacketType,
    /// The codec.
    pub fourcc: AudioFourCc,
    /// Sub-millisecond timestamp offset from a ModEx `TimestampOffsetNano` (0 if absent).
    pub timestamp_offset_nanos: u32,
}

/// An audio tag header, legacy or enhanced.
///
/// ```
/// use weir_flv::{AacPacketType, AudioTagHeader, SoundFormat};
/// // 0xAF 0x01: AAC, 44 kHz flag, 16-bit, stereo, raw frame.
/// let (h, len) = AudioTagHeader::parse(&[0xAF, 0x01, 0x21, 0x10])?;
/// assert_eq!(len, 2);
/// let AudioTagHeader::Legacy(l) = h else { panic!() };
/// assert_eq!(l.format, SoundFormat::Aac);
/// assert_eq!(l.aac_packet_type, Some(AacPacketType::Raw));
/// assert_eq!(&*h.to_bytes(), &[0xAF, 0x01]);
/// # Ok::<(), weir_flv::Error>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AudioTagHeader {
    /// Legacy header (SoundFormat other than 9).
    Legacy(LegacyAudioHeader),
    /// Enhanced header.
    Enhanced(ExAudioHeader),
}

impl AudioTagHeader {
    /// Parses the header at the start of an audio tag body; returns it and its length (the
    /// payload starts there).
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::UnknownPacketType`], [`Error::UnknownFourCc`],
    /// [`Error::UnsupportedFeature`] (multitrack).
    pub fn parse(body: &[u8]) -> Result<(AudioTagHeader, usize)> {
        let mut c = Cursor::new(body, "audio tag header");
        let b0 = c.u8()?;
        let format = SoundFormat::from_u8(b0 >> 4);
        if format != SoundFormat::ExHeader {
            let aac_packet_type = if format == SoundFormat::Aac {
                Some(match c.u8()? {
                    0 => AacPacketType::SequenceHeader,
                    1 => AacPacketType::Raw,
                    value => return Err(Error::UnknownPacketType { what: "AAC", value }),
                })
            } else {
                None
            };
            let h = LegacyAudioHeader {
                format,
                rate: (b0 >> 2) & 3,
                sixteen_bit: b0 & 2 != 0,
                stereo: b0 & 1 != 0,
                aac_packet_type,
            };
            return Ok((AudioTagHeader::Legacy(h), c.pos()));
        }
        let mut packet_type = b0 & 0x0F;
        let mut nanos = 0;
        if packet_type == MOD_EX {
            (packet_type, nanos) = read_mod_ex(&mut c)?;
        }
        let packet_type = AudioPacketType::from_u8(packet_type)?;
        let fourcc = AudioFourCc::from_bytes(c.fourcc()?)?;
        let h = ExAudioHeader {
            packet_type,
            fourcc,
            timestamp_offset_nanos: nanos,
        };
        Ok((AudioTagHeader::Enhanced(h), c.pos()))
    }

    /// The header bytes (write the payload after them).
    pub fn to_bytes(&self) -> HeaderBytes {
        let mut out = HeaderBytes::new();
        match self {
            AudioTagHeader::Legacy(h) => {
                let b0 = (h.format.to_u8() << 4)
                    | ((h.rate & 3) << 2)
                    | (u8::from(h.sixteen_bit) << 1)
                    | u8::from(h.stereo);
                out.push(&[b0]);
                if h.format == SoundFormat::Aac {
                    let t = match h.aac_packet_type {
                        Some(AacPacketType::SequenceHeader) => 0,
                        _ => 1,
                    };
                    out.push(&[t]);
                }
            }
            AudioTagHeader::Enhanced(h) => {
                let high = SoundFormat::ExHeader.to_u8() << 4;
                if h.timestamp_offset_nanos != 0 {
                    write_mod_ex(
                        &mut out,
                        high,
                        h.packet_type.to_u8(),
                        h.timestamp_offset_nanos,
                    );
                } else {
                    out.push(&[high | h.packet_type.to_u8()]);
                }
                out.push(&h.fourcc.to_bytes());
            }
        }
        out
    }

    /// True for a sequence header / sequence start (codec configuration, not media).
    pub fn is_sequence_header(&self) -> bool {
        match self {
            AudioTagHeader::Legacy(h) => h.aac_packet_type == Some(AacPacketType::SequenceHeader),
            AudioTagHeader::Enhanced(h) => h.packet_type == AudioPacketType::SequenceStart,
        }
    }
}

/// One track's share of an audio tag: its E-RTMP track id (0 outside multitrack messages),
/// its header and where its payload is in the tag body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioTrackPart {
    /// Track id (0 = the default / highest-priority track).
    pub track_id: u8,
    /// The track's header.
    pub header: AudioTagHeader,
    /// The payload's byte range in the tag body.
    pub payload: Range<usize>,
}

/// Iterator over the tracks of an audio tag, from [`AudioTagHeader::parse_tracks`].
#[derive(Clone, Debug)]
pub struct AudioTracks<'a> {
    body: &'a [u8],
    single: Option<AudioTrackPart>,
    multi: Option<(MultitrackCursor, AudioPacketType, u32)>,
    done: bool,
}

impl AudioTagHeader {
    /// Parses an audio tag that may be an E-RTMP v2 multitrack message (e.g. several
    /// languages); every other tag yields exactly one part with track id 0. No allocation.
    ///
    /// # Errors
    /// As [`AudioTagHeader::parse`]; the iterator yields [`Error::Truncated`] (then stops)
    /// for a track that runs past the body.
    pub fn parse_tracks(body: &[u8]) -> Result<AudioTracks<'_>> {
        let mut tracks = AudioTracks {
            body,
            single: None,
            multi: None,
            done: false,
        };
        let b0 = body.first().copied().unwrap_or(0);
        if b0 >> 4 == SoundFormat::ExHeader.to_u8() {
            let mut c = Cursor::new(body, "audio tag header");
            c.u8()?;
            let (mut packet_type, mut nanos) = (b0 & 0x0F, 0);
            if packet_type == MOD_EX {
                (packet_type, nanos) = read_mod_ex(&mut c)?;
            }
            if packet_type == MULTITRACK {
                let b = c.u8()?;
                let kind = MultitrackType::from_u8(b >> 4)?;
                let inner = b & 0x0F;
                if inner == MULTITRACK {
                    return Err(Error::UnknownPacketType {
                        what: "multitrack audio",
                        value: inner,
                    });
                }
                let packet_type = AudioPacketType::from_u8(inner)?;
                let fourcc = if kind == MultitrackType::ManyTracksManyCodecs {
                    None
                } else {
                    Some(c.fourcc()?)
                };
                let cursor = MultitrackCursor {
                    kind,
                    fourcc,
                    pos: c.pos(),
                };
                tracks.multi = Some((cursor, packet_type, nanos));
                return Ok(tracks);
            }
        }
        let (header, len) = AudioTagHeader::parse(body)?;
        tracks.single = Some(AudioTrackPart {
            track_id: 0,
            header,
            payload: len..body.len(),
        });
        Ok(tracks)
    }
}

impl Iterator for AudioTracks<'_> {
    type Item = Result<AudioTrackPart>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(part) = self.single.take() {
            return Some(Ok(part));
        }
        let (cursor, packet_type, nanos) = self.multi.as_mut()?;
        if self.done || cursor.pos >= self.body.len() {
            return None;
        }
        let one = cursor.kind == MultitrackType::OneTrack;
        let result = cursor.next_track(self.body, "audio track").and_then(
            |(fourcc, track_id, start, end)| {
                Ok(AudioTrackPart {
                    track_id,
                    header: AudioTagHeader::Enhanced(ExAudioHeader {
                        packet_type: *packet_type,
                        fourcc: AudioFourCc::from_bytes(fourcc)?,
                        timestamp_offset_nanos: *nanos,
                    }),
                    payload: start..end,
                })
            },
        );
        self.done = one || result.is_err();
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_formats() {
        // MP3 44 kHz 16-bit stereo.
        let (h, n) = AudioTagHeader::parse(&[0x2F, 0xFF]).unwrap();
        assert_eq!(n, 1);
        let AudioTagHeader::Legacy(l) = h else {
            panic!()
        };
        assert_eq!(l.format, SoundFormat::Mp3);
        assert_eq!(l.rate_hz(), 44_100);
        assert!(l.sixteen_bit && l.stereo);
        // G.711 A-law and µ-law as ffmpeg writes them: rate 0, 16-bit flag, mono.
        for (b, f) in [
            (0x72, SoundFormat::G711ALaw),
            (0x82, SoundFormat::G711MuLaw),
        ] {
            let (h, _) = AudioTagHeader::parse(&[b, 0xD5]).unwrap();
            let AudioTagHeader::Legacy(l) = h else {
                panic!()
            };
            assert_eq!(l.format, f);
            assert!(!l.stereo);
            assert_eq!(h.to_bytes()[0], b);
        }
        // AAC sequence header.
        let (h, n) = AudioTagHeader::parse(&[0xAF, 0x00, 0x12, 0x10]).unwrap();
        assert_eq!(n, 2);
        assert!(h.is_sequence_header());
        assert!(matches!(
            AudioTagHeader::parse(&[0xAF, 0x02]),
            Err(Error::UnknownPacketType {
                what: "AAC",
                value: 2
            })
        ));
        assert!(matches!(
            AudioTagHeader::parse(&[0xAF]),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn enhanced_opus() {
        let body = [0x90, b'O', b'p', b'u', b's', b'O', b'p', b'u', b's', b'H'];
        let (h, n) = AudioTagHeader::parse(&body).unwrap();
        assert_eq!(n, 5);
        assert_eq!(
            h,
            AudioTagHeader::Enhanced(ExAudioHeader {
                packet_type: AudioPacketType::SequenceStart,
                fourcc: AudioFourCc::Opus,
                timestamp_offset_nanos: 0
            })
        );
        assert_eq!(&*h.to_bytes(), &body[..5]);
        assert!(matches!(
            AudioTagHeader::parse(&[0x91, b'x', b'y', b'z', b'w']),
            Err(Error::UnknownFourCc { .. })
        ));
        assert!(matches!(
            AudioTagHeader::parse(&[0x95, b'O', b'p', b'u', b's']),
            Err(Error::UnsupportedFeature { .. })
        ));
    }

    #[test]
    fn multitrack() {
        // ManyTracks of Opus CodedFrames: track 0 "ab", track 2 "c".
        let body = b"\x95\x11Opus\x00\x00\x00\x02ab\x02\x00\x00\x01c";
        let parts: Vec<_> = AudioTagHeader::parse_tracks(body)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[1].track_id, &body[parts[1].payload.clone()]),
            (2, &b"c"[..])
        );
        assert!(matches!(
            parts[0].header,
            AudioTagHeader::Enhanced(ExAudioHeader {
                fourcc: AudioFourCc::Opus,
                packet_type: AudioPacketType::CodedFrames,
                ..
            })
        ));
        // Legacy tag: one part.
        let parts: Vec<_> = AudioTagHeader::parse_tracks(&[0xAF, 1, 7])
            .unwrap()
            .collect();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].as_ref().unwrap().payload, 2..3);
        // Truncated track.
        let mut it = AudioTagHeader::parse_tracks(b"\x95\x21mp4a\x00\x00\x00\x05").unwrap();
        assert!(matches!(it.next(), Some(Err(Error::Truncated { .. }))));
        assert!(it.next().is_none());
    }

    #[test]
    fn enhanced_mod_ex_roundtrip() {
        let h = AudioTagHeader::Enhanced(ExAudioHeader {
            packet_type: AudioPacketType::CodedFrames,
            fourcc: AudioFourCc::Opus,
            timestamp_offset_nanos: 500_000,
        });
        let b = h.to_bytes();
        assert_eq!(b[0], 0x97);
        let (back, n) = AudioTagHeader::parse(&b).unwrap();
        assert_eq!(back, h);
        assert_eq!(n, b.len());
    }
}
