//! Access units.

use bytes::Bytes;

use crate::{Timestamp, TrackId};

/// One access unit of one track: a picture or a chunk of sound.
///
/// The payload layout is fixed per codec (see [`Codec`](crate::Codec)); for H.264/H.265
/// it is NAL units with 4-byte big-endian length prefixes, which [`crate::nal`] converts
/// to and from Annex B and other length sizes.
///
/// ```
/// use bytes::Bytes;
/// use weir_media::{Frame, Timebase, Timestamp, TrackId};
/// let tb = Timebase::MPEG;
/// let mut f = Frame::new(TrackId(0), Timestamp::new(3600, tb), Timestamp::new(0, tb),
///                        Bytes::from_static(&[0, 0, 0, 1, 0x65]));
/// f.keyframe = true;
/// assert_eq!(f.composition_offset(), 3600);
/// assert_eq!(f.pts.rescale(Timebase::MILLIS).ticks(), 40);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frame {
    /// Which track this frame belongs to.
    pub track: TrackId,
    /// Presentation time.
    pub pts: Timestamp,
    /// Decoding time (equal to `pts` for codecs without reordering). Same timebase as `pts`.
    pub dts: Timestamp,
    /// A random access point: decoding can start here (IDR/IRAP for video; every audio frame).
    pub keyframe: bool,
    /// Some of the frame's data was lost on the way (a depacketizer saw a sequence gap);
    /// the payload holds what arrived.
    pub incomplete: bool,
    /// The payload, in the codec's canonical layout.
    pub data: Bytes,
}

impl Frame {
    /// A complete, non-key frame. Set `keyframe` / `incomplete` afterwards as needed.
    pub fn new(track: TrackId, pts: Timestamp, dts: Timestamp, data: Bytes) -> Frame {
        Frame {
            track,
            pts,
            dts,
            keyframe: false,
            incomplete: false,
            data,
        }
    }

    /// Builder-style setter for [`Frame::keyframe`].
    pub fn with_keyframe(mut self, keyframe: bool) -> Frame {
        self.keyframe = keyframe;
        self
    }

    /// `pts - dts` in the timebase of `dts` (`pts` is rescaled first if the two differ).
    pub fn composition_offset(&self) -> i64 {
        let pts = self.pts.rescale(self.dts.timebase());
        pts.ticks().saturating_sub(self.dts.ticks())
    }
}
