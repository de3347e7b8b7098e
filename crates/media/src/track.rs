//! Track descriptions.

use bytes::Bytes;

use crate::{Codec, Timebase};

/// Identifies a track within one stream. Containers map their own ids (FLV tag type, TS PID,
/// RTP payload/SSRC, PS stream id) to these.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TrackId(pub u32);

/// Picture parameters of a video track.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct VideoParams {
    /// Display width in pixels (after cropping).
    pub width: u32,
    /// Display height in pixels (after cropping).
    pub height: u32,
}

/// Sound parameters of an audio track.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AudioParams {
    /// Samples per second (the output rate, e.g. 44100 for HE-AAC with SBR at 22050 core).
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u8,
}

/// Everything a receiver needs to know about one track before its first frame.
///
/// ```
/// use weir_media::{Codec, TrackId, TrackInfo, AudioParams};
/// let aac = TrackInfo::new(TrackId(1), Codec::Aac, 48_000)
///     .with_config(bytes::Bytes::from_static(&[0x11, 0x90]))
///     .with_audio(AudioParams { sample_rate: 48_000, channels: 2 });
/// assert_eq!(aac.timebase().den(), 48_000);
/// assert!(aac.video.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackInfo {
    /// The track's id within its stream.
    pub id: TrackId,
    /// The codec.
    pub codec: Codec,
    /// Ticks per second of this track's frame timestamps (90000 for video on RTP/TS,
    /// 1000 for FLV, the sample rate for AAC on RTP, …).
    pub clock_rate: u32,
    /// The codec configuration record: avcC, hvcC, AudioSpecificConfig or OpusHead.
    /// Empty when unknown (for example before the first parameter sets arrive).
    pub config: Bytes,
    /// Picture size, when known.
    pub video: Option<VideoParams>,
    /// Sample rate and channels, when known.
    pub audio: Option<AudioParams>,
}

impl TrackInfo {
    /// A track with no config and no parameters yet. A zero clock rate is stored as 1 so the
    /// timebase stays valid.
    pub fn new(id: TrackId, codec: Codec, clock_rate: u32) -> TrackInfo {
        TrackInfo {
            id,
            codec,
            clock_rate: clock_rate.max(1),
            config: Bytes::new(),
            video: None,
            audio: None,
        }
    }

    /// Sets the codec configuration record.
    pub fn with_config(mut self, config: Bytes) -> TrackInfo {
        self.config = config;
        self
    }

    /// Sets the picture parameters.
    pub fn with_video(mut self, video: VideoParams) -> TrackInfo {
        self.video = Some(video);
        self
    }

    /// Sets the sound parameters.
    pub fn with_audio(mut self, audio: AudioParams) -> TrackInfo {
        self.audio = Some(audio);
        self
    }

    /// `1 / clock_rate` seconds.
    pub fn timebase(&self) -> Timebase {
        Timebase::hz(self.clock_rate).unwrap_or(Timebase::MILLIS)
    }
}
