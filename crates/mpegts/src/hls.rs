//! HLS segmentation: cut a muxed transport stream at keyframes into segments that each
//! decode on their own.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use weir_media::{Frame, MediaKind, Timebase, Timestamp, TrackId, TrackInfo};

use crate::{Error, MuxConfig, TsMuxer};

/// Segmenter settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmenterConfig {
    /// A segment is closed at the first keyframe at or after this duration (the
    /// playlist's EXT-X-TARGETDURATION should be the rounded-up maximum of the
    /// reported durations).
    pub target_duration: Duration,
    /// Muxer settings for the segments.
    pub mux: MuxConfig,
}

impl SegmenterConfig {
    /// Default muxer settings with the given target duration.
    pub fn with_target(target_duration: Duration) -> SegmenterConfig {
        SegmenterConfig {
            target_duration,
            ..SegmenterConfig::default()
        }
    }
}

impl Default for SegmenterConfig {
    fn default() -> SegmenterConfig {
        SegmenterConfig {
            target_duration: Duration::from_secs(2),
            mux: MuxConfig::default(),
        }
    }
}

/// One finished segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Media sequence number (0, 1, 2, …).
    pub sequence: u64,
    /// The TS bytes: PAT, PMT, then frames starting with a keyframe.
    pub data: Bytes,
    /// DTS of the first frame (90 kHz).
    pub start: Timestamp,
    /// Time until the next segment's first frame (for the last segment: until the end of
    /// its last frame, estimated from the frame spacing).
    pub duration: Duration,
    /// Frames in the segment.
    pub frames: u32,
    /// True when the segment follows a gap (frames were dropped before it): the playlist
    /// should mark it with EXT-X-DISCONTINUITY.
    pub discontinuity: bool,
}

/// Cuts frames into HLS MPEG-TS segments.
///
/// Frames before the first keyframe of the video track (any frame for audio-only
/// streams) are dropped so every segment starts with PAT, PMT and a keyframe.
///
/// ```
/// use bytes::Bytes;
/// use std::time::Duration;
/// use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
/// use weir_mpegts::hls::{HlsSegmenter, SegmenterConfig};
/// let video = TrackInfo::new(TrackId(0), Codec::H264, 90_000);
/// let cfg = SegmenterConfig::with_target(Duration::from_secs(1));
/// let mut seg = HlsSegmenter::new(&[video], cfg)?;
/// for i in 0..60i64 {
///     let t = Timestamp::new(i * 3600, Timebase::MPEG); // 25 fps
///     let key = i % 25 == 0;
///     let nal = if key { 0x65 } else { 0x41 };
///     let data = Bytes::from(vec![0, 0, 0, 2, nal, 0x88]);
///     seg.push(&Frame::new(TrackId(0), t, t, data).with_keyframe(key))?;
/// }
/// let first = seg.poll_segment().unwrap();
/// assert_eq!(first.duration, Duration::from_secs(1));
/// assert_eq!(first.frames, 25);
/// # Ok::<(), weir_mpegts::Error>(())
/// ```
#[derive(Debug)]
pub struct HlsSegmenter {
    muxer: TsMuxer,
    target: i64,
    video: Option<TrackId>,
    cur: BytesMut,
    start: Option<i64>,
    frames: u32,
    last_dts: Option<i64>,
    step: i64,
    sequence: u64,
    ready: VecDeque<Segment>,
    gap: bool,
}

impl HlsSegmenter {
    /// A segmenter for `tracks`. The first video track decides where segments are cut.
    ///
    /// # Errors
    /// As [`TsMuxer::new`].
    pub fn new(tracks: &[TrackInfo], cfg: SegmenterConfig) -> Result<HlsSegmenter, Error> {
        let muxer = TsMuxer::new(tracks, cfg.mux)?;
        let target = i64::try_from(cfg.target_duration.as_micros())
            .unwrap_or(i64::MAX / 90)
            .saturating_mul(9)
            / 100;
        Ok(HlsSegmenter {
            muxer,
            target,
            video: tracks
                .iter()
                .find(|t| t.codec.kind() == MediaKind::Video)
                .map(|t| t.id),
            cur: BytesMut::new(),
            start: None,
            frames: 0,
            last_dts: None,
            step: 0,
            sequence: 0,
            ready: VecDeque::new(),
            gap: false,
        })
    }

    /// The muxer (to update a track's configuration).
    pub fn muxer_mut(&mut self) -> &mut TsMuxer {
        &mut self.muxer
    }

    /// Bytes of the segment being built.
    pub fn pending_len(&self) -> usize {
        self.cur.len()
    }

    /// Adds a frame. When it starts a new segment, the previous one becomes available
    /// from [`HlsSegmenter::poll_segment`].
    ///
    /// # Errors
    /// As [`TsMuxer::write_frame`]; the frame is skipped and the segment stays usable.
    pub fn push(&mut self, frame: &Frame) -> Result<(), Error> {
        let dts = frame.dts.rescale(Timebase::MPEG).ticks();
        let cuts = match self.video {
            Some(v) => frame.track == v && frame.keyframe,
            None => true,
        };
        match self.start {
            None => {
                if !cuts || !frame.keyframe {
                    // Waiting for the first keyframe.
                    self.gap = self.sequence > 0;
                    return Ok(());
                }
                self.begin(dts);
            }
            Some(start) => {
                if cuts && dts.saturating_sub(start) >= self.target {
                    self.close(Some(dts));
                    self.begin(dts);
                }
            }
        }
        let before = self.cur.len();
        if let Err(e) = self.muxer.write_frame(frame, &mut self.cur) {
            self.cur.truncate(before);
            return Err(e);
        }
        self.frames += 1;
        if Some(frame.track) == self.video || self.video.is_none() {
            if let Some(last) = self.last_dts {
                if dts > last {
                    self.step = dts - last;
                }
            }
            self.last_dts = Some(dts);
        }
        Ok(())
    }

    /// Drops the segment being built and waits for the next keyframe (after the caller
    /// lost frames); the next segment is flagged as a discontinuity.
    pub fn reset(&mut self) {
        self.cur.clear();
        self.start = None;
        self.frames = 0;
        self.gap = true;
    }

    fn begin(&mut self, dts: i64) {
        self.start = Some(dts);
        self.frames = 0;
        self.muxer.request_tables();
    }

    fn close(&mut self, end: Option<i64>) {
        let Some(start) = self.start.take() else {
            return;
        };
        let end = end.unwrap_or_else(|| self.last_dts.unwrap_or(start).saturating_add(self.step));
        let ticks = u64::try_from(end.saturating_sub(start)).unwrap_or(0);
        let seg = Segment {
            sequence: self.sequence,
            data: self.cur.split().freeze(),
            start: Timestamp::new(start, Timebase::MPEG),
            duration: Duration::from_micros(ticks.saturating_mul(100) / 9),
            frames: self.frames,
            discontinuity: std::mem::take(&mut self.gap),
        };
        self.sequence += 1;
        self.frames = 0;
        self.ready.push_back(seg);
    }

    /// The next finished segment.
    pub fn poll_segment(&mut self) -> Option<Segment> {
        self.ready.pop_front()
    }

    /// Closes the segment being built (end of stream) and returns it with any others
    /// still queued.
    pub fn finish(&mut self) -> Vec<Segment> {
        self.close(None);
        self.ready.drain(..).collect()
    }
}

/// Writes an HLS media playlist (RFC 8216 §4.3) for a sliding window of segments:
/// `EXT-X-TARGETDURATION` is the longest segment rounded up (§4.3.3.1), the media sequence
/// is the first segment's, `EXT-X-DISCONTINUITY` precedes segments that follow a gap, and
/// `EXT-X-ENDLIST` is added when `ended`. `uri` names each segment.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use weir_media::{Timebase, Timestamp};
/// use weir_mpegts::hls::{media_playlist, Segment};
/// let seg = |sequence, ms| Segment {
///     sequence,
///     data: Bytes::new(),
///     start: Timestamp::new(0, Timebase::MPEG),
///     duration: Duration::from_millis(ms),
///     frames: 0,
///     discontinuity: false,
/// };
/// let m3u8 = media_playlist(&[seg(7, 2000), seg(8, 2040)], false, |s| format!("{}.ts", s.sequence));
/// assert!(m3u8.contains("#EXT-X-TARGETDURATION:3\n"));
/// assert!(m3u8.contains("#EXT-X-MEDIA-SEQUENCE:7\n"));
/// assert!(m3u8.contains("#EXTINF:2.040,\n8.ts\n"));
/// ```
pub fn media_playlist(
    segments: &[Segment],
    ended: bool,
    uri: impl Fn(&Segment) -> String,
) -> String {
    use std::fmt::Write;
    let target = segments
        .iter()
        .map(|s| s.duration.as_millis().div_ceil(1000))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut out = String::new();
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:{}\n",
        segments.first().map_or(0, |s| s.sequence)
    );
    for s in segments {
        if s.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let ms = s.duration.as_millis();
        let _ = write!(out, "#EXTINF:{}.{:03},\n{}\n", ms / 1000, ms % 1000, uri(s));
    }
    if ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_media::{Codec, TrackInfo};

    fn vframe(i: i64, key: bool) -> Frame {
        let t = Timestamp::new(i * 3600, Timebase::MPEG);
        let data = Bytes::from(vec![0, 0, 0, 2, if key { 0x65 } else { 0x41 }, 0x88]);
        Frame::new(TrackId(0), t, t, data).with_keyframe(key)
    }

    fn aframe(i: i64) -> Frame {
        let t = Timestamp::new(i * 1800, Timebase::MPEG);
        Frame::new(TrackId(1), t, t, Bytes::from(vec![0xD5; 160])).with_keyframe(true)
    }

    #[test]
    fn waits_for_keyframe_and_cuts_near_target() {
        let tracks = [
            TrackInfo::new(TrackId(0), Codec::H264, 90_000),
            TrackInfo::new(TrackId(1), Codec::G711A, 8_000),
        ];
        let mut s = HlsSegmenter::new(
            &tracks,
            SegmenterConfig::with_target(Duration::from_millis(1500)),
        )
        .unwrap();
        // Keyframes every 10 frames (400 ms); the stream starts mid-GOP at frame 3.
        for i in 3..100 {
            s.push(&aframe(2 * i)).unwrap();
            s.push(&vframe(i, i % 10 == 0)).unwrap();
            s.push(&aframe(2 * i + 1)).unwrap();
        }
        let mut segs: Vec<Segment> = std::iter::from_fn(|| s.poll_segment()).collect();
        segs.extend(s.finish());
        // Cuts at 10, 50, 90 (first keyframes at least 1.5 s after the segment start).
        let starts: Vec<i64> = segs.iter().map(|g| g.start.ticks() / 3600).collect();
        assert_eq!(starts, vec![10, 50, 90]);
        assert_eq!(segs[0].duration, Duration::from_millis(1600));
        assert_eq!(segs[2].duration, Duration::from_millis(400)); // 10 frames of 40 ms
        assert_eq!(
            segs.iter().map(|g| g.sequence).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        for g in &segs {
            // PAT first, then PMT, then the keyframe with the random access indicator.
            let p0 = crate::packet::parse_packet(&g.data).unwrap();
            assert_eq!(p0.header.pid, 0);
            let p1 = crate::packet::parse_packet(&g.data[188..]).unwrap();
            assert_eq!(p1.header.pid, 0x1000);
            let mut d = crate::TsDemuxer::new();
            d.push(&g.data);
            d.flush();
            let first = std::iter::from_fn(|| d.poll_event()).find_map(|e| match e {
                crate::Event::Frame(f) => Some(f),
                _ => None,
            });
            let first = first.unwrap();
            assert!(first.keyframe && first.track == TrackId(0x100));
            assert!(!g.discontinuity);
        }
    }

    #[test]
    fn audio_only_and_discontinuity_after_reset() {
        let tracks = [TrackInfo::new(TrackId(1), Codec::G711A, 8_000)];
        let mut s = HlsSegmenter::new(
            &tracks,
            SegmenterConfig::with_target(Duration::from_secs(1)),
        )
        .unwrap();
        for i in 0..120 {
            s.push(&aframe(i)).unwrap();
            if i == 70 {
                s.reset();
            }
        }
        let mut segs: Vec<Segment> = std::iter::from_fn(|| s.poll_segment()).collect();
        segs.extend(s.finish());
        assert_eq!(segs[0].duration, Duration::from_secs(1));
        assert_eq!(segs[0].frames, 50);
        assert!(!segs[0].discontinuity);
        assert!(
            segs[1].discontinuity,
            "{:?}",
            segs.iter()
                .map(|g| (g.start, g.discontinuity))
                .collect::<Vec<_>>()
        );
        assert_eq!(segs[1].start.ticks(), 71 * 1800);
    }
}
