//! AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) with GASpecificConfig (4.4.1),
//! program_config_element (4.4.1.1) and SBR/PS signalling (1.6.5, 1.6.6).

use weir_media::bits::{BitReader, BitWriter};

use crate::error::{Error, Result};

mod bitstream;
mod pce;
pub use pce::{PceElement, ProgramConfigElement};

/// The sampling frequencies of `sampling_frequency_index` 0 to 12 (14496-3 Table 1.18).
/// Indices 13 and 14 are reserved; 15 means "explicit 24-bit frequency follows".
pub const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// The sample rate of a `sampling_frequency_index` (0 to 12), `None` for 13 to 15.
pub fn sample_rate_from_index(index: u8) -> Option<u32> {
    SAMPLE_RATES.get(usize::from(index)).copied()
}

/// The `sampling_frequency_index` of an exact table rate, `None` for other rates.
pub fn index_from_sample_rate(rate: u32) -> Option<u8> {
    SAMPLE_RATES
        .iter()
        .position(|&r| r == rate)
        .map(|i| i as u8)
}

/// Output channel count of a `channelConfiguration` (14496-3 Table 1.19 and its 2009+
/// additions 11 to 14). 0 (defined by a PCE) and reserved values give `None`.
pub fn channels_from_configuration(config: u8) -> Option<u8> {
    match config {
        1..=6 => Some(config),
        7 => Some(8),
        11 => Some(7),
        12 => Some(8),
        13 => Some(24),
        14 => Some(8),
        _ => None,
    }
}

/// Audio object types used in this crate's logic (14496-3 Table 1.17). The field
/// [`AudioSpecificConfig::object_type`] is a plain number because every value up to 95
/// can be signalled.
pub mod object_type {
    /// AAC Main.
    pub const AAC_MAIN: u8 = 1;
    /// AAC Low Complexity.
    pub const AAC_LC: u8 = 2;
    /// AAC Scalable Sample Rate.
    pub const AAC_SSR: u8 = 3;
    /// AAC Long Term Prediction.
    pub const AAC_LTP: u8 = 4;
    /// Spectral Band Replication (HE-AAC).
    pub const SBR: u8 = 5;
    /// AAC Scalable.
    pub const AAC_SCALABLE: u8 = 6;
    /// TwinVQ.
    pub const TWINVQ: u8 = 7;
    /// ER AAC LC.
    pub const ER_AAC_LC: u8 = 17;
    /// ER AAC LTP.
    pub const ER_AAC_LTP: u8 = 19;
    /// ER AAC scalable.
    pub const ER_AAC_SCALABLE: u8 = 20;
    /// ER TwinVQ.
    pub const ER_TWINVQ: u8 = 21;
    /// ER BSAC.
    pub const ER_BSAC: u8 = 22;
    /// ER AAC LD.
    pub const ER_AAC_LD: u8 = 23;
    /// Parametric Stereo (HE-AAC v2).
    pub const PS: u8 = 29;
    /// Escape value: the real type is 32 + the next 6 bits.
    pub const ESCAPE: u8 = 31;
    /// ER AAC ELD.
    pub const ER_AAC_ELD: u8 = 39;
}

/// How SBR/PS presence is signalled (14496-3 1.6.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SbrSignalling {
    /// Explicit hierarchical signalling: the config starts with object type 5 (SBR) or 29
    /// (PS), then the extension sampling frequency, then the core object type.
    Hierarchical,
    /// Explicit backward-compatible signalling: the core config is followed by the sync
    /// extension `0x2B7` (and optionally `0x548` for PS).
    BackwardCompatible,
}

/// The extension (SBR/PS) part of an [`AudioSpecificConfig`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SbrExtension {
    /// Where the extension was signalled.
    pub signalling: SbrSignalling,
    /// extensionAudioObjectType: 5 (SBR) or, backward-compatible only, 22 (ER BSAC).
    pub object_type: u8,
    /// sbrPresentFlag. Always true for hierarchical signalling; backward-compatible
    /// signalling may explicitly say "no SBR".
    pub sbr_present: bool,
    /// psPresentFlag. `Some(true)`: PS present (object type 29, or `0x548` with flag 1);
    /// `Some(false)`: explicitly absent (`0x548` with flag 0); `None`: not signalled
    /// (object type 5, or no `0x548`), so implicit PS is possible.
    pub ps_present: Option<bool>,
    /// extensionSamplingFrequencyIndex (meaningful when `sbr_present`).
    pub sampling_frequency_index: u8,
    /// The extension (output) sampling frequency (meaningful when `sbr_present`).
    pub sampling_frequency: u32,
    /// extensionChannelConfiguration, present for ER BSAC (22).
    pub channel_configuration: Option<u8>,
}

/// A run of bits kept verbatim (configuration parts this crate does not interpret).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RawBits {
    /// The bits, MSB-first, zero-padded in the last byte.
    pub data: Vec<u8>,
    /// Number of valid bits in `data`.
    pub bit_len: usize,
}

impl RawBits {
    fn read(r: &mut BitReader<'_>, bits: usize) -> Result<Self> {
        let e = Error::bits("AudioSpecificConfig tail");
        let mut w = BitWriter::new();
        let mut left = bits;
        while left > 0 {
            let n = left.min(32);
            w.write_bits(r.read_bits(n as u32).map_err(&e)?, n as u32);
            left -= n;
        }
        Ok(RawBits {
            data: w.finish(),
            bit_len: bits,
        })
    }

    fn write(&self, w: &mut BitWriter) {
        let mut r = BitReader::new(&self.data);
        let mut left = self.bit_len.min(self.data.len() * 8);
        while left > 0 {
            let n = left.min(32);
            // Cannot fail: `left` is bounded by the data length.
            let v = r.read_bits(n as u32).unwrap_or(0);
            w.write_bits(v, n as u32);
            left -= n;
        }
    }
}

/// AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), the codec configuration of MPEG-4 audio
/// carried in MP4 `esds`, FLV AAC sequence headers, SDP `config=` and LATM StreamMuxConfig.
///
/// GASpecificConfig fields are flattened into this struct (they are only meaningful for the
/// general-audio object types 1-4, 6, 7, 17, 19-23). Configuration bits of other object types
/// (CELP, HVXC, ALS, ELD, …) are kept verbatim in [`AudioSpecificConfig::tail`] so that
/// build → parse is an identity.
///
/// ```
/// use weir_aac::AudioSpecificConfig;
/// let asc = AudioSpecificConfig::parse(&[0x12, 0x10]).unwrap();
/// assert_eq!(asc.object_type, 2);          // AAC LC
/// assert_eq!(asc.sample_rate(), 44100);
/// assert_eq!(asc.channels(), 2);
/// assert_eq!(&asc.to_bytes()[..], &[0x12, 0x10]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AudioSpecificConfig {
    /// audioObjectType of the core coder (after the escape: 32 + 6 bits for 31). With
    /// hierarchical SBR/PS signalling this is the type that follows the 5/29 marker.
    pub object_type: u8,
    /// samplingFrequencyIndex (0 to 12, 15 = explicit).
    pub sampling_frequency_index: u8,
    /// The core sampling frequency (from the table, or the explicit 24-bit value).
    pub sampling_frequency: u32,
    /// channelConfiguration (0 = defined by [`AudioSpecificConfig::program_config`]).
    pub channel_configuration: u8,
    /// SBR/PS signalling, if any. `None` means "not signalled" (implicit SBR may still be
    /// present in the bitstream; only a decoder can tell).
    pub sbr: Option<SbrExtension>,
    /// GASpecificConfig frameLengthFlag (true: 960/480-sample frames, false: 1024/512).
    pub frame_length_flag: bool,
    /// GASpecificConfig dependsOnCoreCoder.
    pub depends_on_core_coder: bool,
    /// coreCoderDelay (14 bits), present when `depends_on_core_coder`.
    pub core_coder_delay: u16,
    /// GASpecificConfig extensionFlag.
    pub extension_flag: bool,
    /// program_config_element, present when `channel_configuration` is 0.
    pub program_config: Option<ProgramConfigElement>,
    /// layerNr (3 bits), for object types 6 and 20.
    pub layer_nr: u8,
    /// numOfSubFrame (5 bits), ER BSAC with `extension_flag`.
    pub num_of_sub_frame: u8,
    /// layer_length (11 bits), ER BSAC with `extension_flag`.
    pub layer_length: u16,
    /// aacSection/Scalefactor/SpectralDataResilienceFlag (3 bits, in that order MSB-first),
    /// ER AAC types 17, 19, 20, 23 with `extension_flag`.
    pub resilience_flags: u8,
    /// extensionFlag3, with `extension_flag`.
    pub extension_flag3: bool,
    /// epConfig (2 bits) for error-resilient object types.
    pub ep_config: u8,
    /// Configuration bits this crate does not interpret (non-GA object types, or
    /// ErrorProtectionSpecificConfig), kept verbatim.
    pub tail: Option<RawBits>,
}

impl AudioSpecificConfig {
    /// A plain AAC-LC config for `sample_rate` Hz and `channels` channels (1-6, or 8 for
    /// channel configuration 7). Rates outside the index table use the explicit 24-bit form.
    pub fn lc(sample_rate: u32, channels: u8) -> Result<Self> {
        let channel_configuration = match channels {
            1..=6 => channels,
            8 => 7,
            _ => {
                return Err(Error::InvalidField {
                    what: "AudioSpecificConfig::lc",
                    field: "channels",
                    value: u64::from(channels),
                })
            }
        };
        if sample_rate == 0 || sample_rate > 0xFF_FFFF {
            return Err(Error::UnsupportedSampleRate {
                rate: sample_rate,
                what: "AudioSpecificConfig",
            });
        }
        Ok(AudioSpecificConfig {
            object_type: object_type::AAC_LC,
            sampling_frequency_index: index_from_sample_rate(sample_rate).unwrap_or(0xF),
            sampling_frequency: sample_rate,
            channel_configuration,
            ..AudioSpecificConfig::empty()
        })
    }

    /// HE-AAC (v1, or v2 with `ps`) with explicit hierarchical signalling: the core AAC-LC
    /// runs at `output_rate / 2`, SBR doubles it. With `ps`, `channels` must be 1 (PS
    /// produces stereo from a mono core).
    pub fn he_aac(output_rate: u32, channels: u8, ps: bool) -> Result<Self> {
        let core_rate = output_rate / 2;
        let mut asc = AudioSpecificConfig::lc(core_rate, channels)?;
        if ps && channels != 1 {
            return Err(Error::InvalidField {
                what: "AudioSpecificConfig::he_aac",
                field: "channels (PS needs a mono core)",
                value: u64::from(channels),
            });
        }
        asc.sbr = Some(SbrExtension {
            signalling: SbrSignalling::Hierarchical,
            object_type: object_type::SBR,
            sbr_present: true,
            ps_present: ps.then_some(true),
            sampling_frequency_index: index_from_sample_rate(output_rate).unwrap_or(0xF),
            sampling_frequency: output_rate,
            channel_configuration: None,
        });
        Ok(asc)
    }

    pub(crate) fn empty() -> Self {
        AudioSpecificConfig {
            object_type: 0,
            sampling_frequency_index: 0,
            sampling_frequency: 0,
            channel_configuration: 0,
            sbr: None,
            frame_length_flag: false,
            depends_on_core_coder: false,
            core_coder_delay: 0,
            extension_flag: false,
            program_config: None,
            layer_nr: 0,
            num_of_sub_frame: 0,
            layer_length: 0,
            resilience_flags: 0,
            extension_flag3: false,
            ep_config: 0,
            tail: None,
        }
    }

    /// True when SBR is explicitly signalled as present.
    pub fn sbr_present(&self) -> bool {
        self.sbr.as_ref().is_some_and(|s| s.sbr_present)
    }

    /// True when PS is explicitly signalled as present.
    pub fn ps_present(&self) -> bool {
        self.sbr
            .as_ref()
            .is_some_and(|s| s.sbr_present && s.ps_present == Some(true))
    }

    /// The output sample rate: the SBR extension rate when SBR is signalled (typically
    /// twice the core rate), else the core rate.
    pub fn sample_rate(&self) -> u32 {
        match &self.sbr {
            Some(ext) if ext.sbr_present => ext.sampling_frequency,
            _ => self.sampling_frequency,
        }
    }

    /// Output channel count as decoders report it: [`core_channels`](Self::core_channels),
    /// except that a mono core with SBR decodes to 2 unless PS is explicitly signalled
    /// absent (PS may be present implicitly; ffmpeg, like the reference decoders, then
    /// outputs stereo).
    pub fn channels(&self) -> u8 {
        let base = self.core_channels();
        let ps_possible = self.sbr_present()
            && self
                .sbr
                .as_ref()
                .is_some_and(|s| s.ps_present != Some(false));
        if base == 1 && ps_possible {
            2
        } else {
            base
        }
    }

    /// Channels of the core coder: from the channel configuration (7 → 8 for 7.1), or the
    /// PCE when it is 0. 0 for reserved configurations.
    pub fn core_channels(&self) -> u8 {
        if self.channel_configuration == 0 {
            self.program_config
                .as_ref()
                .map(|p| p.channels().min(255) as u8)
                .unwrap_or(0)
        } else {
            channels_from_configuration(self.channel_configuration).unwrap_or(0)
        }
    }

    /// The core coder's sampling frequency in Hz: the table rate of
    /// `sampling_frequency_index`, or the explicit 24-bit value when the index is 15
    /// (14496-3 1.6.2.1). Without SBR this is also the output rate; with SBR the output rate
    /// is [`sample_rate`](Self::sample_rate).
    ///
    /// ```
    /// use weir_aac::AudioSpecificConfig;
    /// // AAC-LC, index 15 with an explicit 9600 Hz, mono.
    /// let asc = AudioSpecificConfig::parse(&[0x17, 0x80, 0x12, 0xC0, 0x08])?;
    /// assert_eq!((asc.sampling_frequency_index, asc.core_sample_rate()), (15, 9600));
    /// assert_eq!((asc.sample_rate(), asc.channels()), (9600, 1));
    /// # Ok::<(), weir_aac::Error>(())
    /// ```
    pub fn core_sample_rate(&self) -> u32 {
        self.sampling_frequency
    }

    /// Duration of one access unit in ticks of a `clock_rate` Hz clock:
    /// [`samples_per_frame`](Self::samples_per_frame) at [`sample_rate`](Self::sample_rate),
    /// rescaled (rounded down). An RTP (RFC 3640, RFC 6416) or MP4 clock for HE-AAC runs at
    /// either the core or the output rate; an AU lasts 1024 ticks on the first and 2048 on
    /// the second. With a zero rate, `samples_per_frame()`.
    ///
    /// ```
    /// use weir_aac::AudioSpecificConfig;
    /// let lc = AudioSpecificConfig::lc(48_000, 2)?;
    /// assert_eq!(lc.frame_duration(48_000), 1024);
    /// assert_eq!(lc.frame_duration(90_000), 1920);
    /// let he = AudioSpecificConfig::he_aac(48_000, 2, false)?; // 24 kHz core
    /// assert_eq!((he.frame_duration(48_000), he.frame_duration(24_000)), (2048, 1024));
    /// # Ok::<(), weir_aac::Error>(())
    /// ```
    pub fn frame_duration(&self, clock_rate: u32) -> u32 {
        let samples = self.samples_per_frame();
        let rate = self.sample_rate();
        if rate == 0 || clock_rate == 0 {
            return samples;
        }
        let ticks = u64::from(samples) * u64::from(clock_rate) / u64::from(rate);
        u32::try_from(ticks).unwrap_or(u32::MAX)
    }

    /// Samples per frame of the core coder: 960 or 1024 (480/512 for LD/ELD), doubled with SBR.
    pub fn samples_per_frame(&self) -> u32 {
        let ld = matches!(
            self.object_type,
            object_type::ER_AAC_LD | object_type::ER_AAC_ELD
        );
        let core = match (ld, self.frame_length_flag) {
            (false, false) => 1024,
            (false, true) => 960,
            (true, false) => 512,
            (true, true) => 480,
        };
        if self.sbr_present() {
            core * 2
        } else {
            core
        }
    }

    /// A `weir_media::TrackInfo` for this config: codec AAC, clock rate = output sample rate
    /// (the RTP/MP4 convention), `config` = the serialized AudioSpecificConfig, audio
    /// parameters from [`sample_rate`](Self::sample_rate) and [`channels`](Self::channels).
    ///
    /// ```
    /// use weir_aac::AudioSpecificConfig;
    /// use weir_media::{Codec, TrackId};
    /// let t = AudioSpecificConfig::lc(48000, 2).unwrap().track_info(TrackId(1));
    /// assert_eq!((t.codec, t.clock_rate, &t.config[..]), (Codec::Aac, 48000, &[0x11, 0x90][..]));
    /// assert_eq!(t.audio.unwrap().channels, 2);
    /// ```
    pub fn track_info(&self, id: weir_media::TrackId) -> weir_media::TrackInfo {
        weir_media::TrackInfo::new(id, weir_media::Codec::Aac, self.sample_rate())
            .with_config(self.to_bytes())
            .with_audio(weir_media::AudioParams {
                sample_rate: self.sample_rate(),
                channels: self.channels(),
            })
    }

    /// The profile name as ffprobe prints it (`LC`, `HE-AAC`, `HE-AACv2`, `Main`, `SSR`,
    /// `LTP`, `LD`, `ELD`), `None` for other object types.
    pub fn profile_name(&self) -> Option<&'static str> {
        if self.ps_present() {
            return Some("HE-AACv2");
        }
        if self.sbr_present() {
            return Some("HE-AAC");
        }
        Some(match self.object_type {
            object_type::AAC_MAIN => "Main",
            object_type::AAC_LC => "LC",
            object_type::AAC_SSR => "SSR",
            object_type::AAC_LTP => "LTP",
            object_type::ER_AAC_LD => "LD",
            object_type::ER_AAC_ELD => "ELD",
            _ => return None,
        })
    }
}
