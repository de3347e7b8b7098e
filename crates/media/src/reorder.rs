//! Decoding timestamps for video that arrives with presentation times only.
//!
//! RTP carries one timestamp per access unit, the *presentation* time (RFC 6184 §5.1,
//! RFC 7798 §4.1); it has no field for the decoding time. With B-frames the access units
//! arrive in decoding order, so their PTS go up and down (I0 P3 B1 B2 …) and a muxer that
//! needs a DTS (FLV, MP4, MPEG-TS, RTMP) has to invent one. [`DtsGenerator`] does it the way
//! x264 and ffmpeg do, without holding frames back:
//!
//! With a reorder depth `d` (H.264 `max_num_reorder_frames`, E.2.1; H.265
//! `sps_max_num_reorder_pics`, 7.4.3.2.1: the most frames that can precede any frame in
//! decoding order and follow it in output order), the `i`-th frame in decoding order gets
//! `dts_i = s_{i-d}`, where `s_k` is the `k`-th smallest PTS of the stream; for the first `d`
//! frames, `s_0` is extrapolated backwards by the frame duration. The generator keeps the
//! PTS of the last `d + 1` frames in a min-heap and releases the smallest one per frame:
//! because no frame is preceded in decoding order by more than `d` frames that it precedes
//! in output order, that smallest value is exactly `s_{i-d}`, and it is never later than
//! the frame's own PTS. The result is strictly increasing and `dts <= pts`, with no output
//! delay and bounded memory (`d` ≤ [`MAX_REORDER_DEPTH`]).
//!
//! Streams lie about their depth. When a frame shows the depth was too small (its PTS is
//! earlier than one already released as a DTS), the generator raises the depth by one and
//! reports it ([`DtsEvent::DepthRaised`]); the DTS stays strictly increasing (the few
//! frames around the change may be moved one tick after the previous DTS,
//! [`DtsEvent::Clamped`]). A PTS jump longer
//! than [`DtsGenerator::with_max_jump`] (a camera clock restart) starts over, as does a
//! change of timebase; [`DtsGenerator::reset`] does the same on demand.
//!
//! ```
//! use core::time::Duration;
//! use weir_media::reorder::{h264_reorder_depth, DtsGenerator};
//! use weir_media::{Timebase, Timestamp};
//!
//! // x264 with B-pyramid: High profile, VUI max_num_reorder_frames = 2, 25 fps at 90 kHz.
//! let depth = h264_reorder_depth(100, Some(2));
//! let mut gen = DtsGenerator::new(depth, Duration::from_millis(40));
//! // Decoding order I0 P4 B2 b1 b3 P8 …, in frames of 3600 ticks.
//! let pts = [0, 4, 2, 1, 3, 8, 6, 5, 7];
//! let dts: Vec<i64> = pts
//!     .iter()
//!     .map(|p| gen.next_dts(Timestamp::new(p * 3600, Timebase::MPEG)).ticks() / 3600)
//!     .collect();
//! assert_eq!(dts, [-2, -1, 0, 1, 2, 3, 4, 5, 6]);
//! ```

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::BinaryHeap;

use crate::{Frame, Timebase, Timestamp};

/// The largest reorder depth the generator tracks (the H.264/H.265 DPB holds at most 16
/// frames, so no conforming stream reorders further).
pub const MAX_REORDER_DEPTH: u32 = 16;

/// The depth [`h264_reorder_depth`] assumes for an H.264 profile that may carry B-frames
/// when the SPS does not signal `max_num_reorder_frames`.
///
/// The spec's inference (E.2.1) is `MaxDpbFrames`, up to 16, which needs the level and the
/// picture size. 4 covers what real encoders emit: x264 and x265 use at most 2 (B-pyramid),
/// hardware encoders (NVENC, QSV, VideoToolbox, camera SoCs) 1 to 3. Guessing too high
/// costs nothing but a larger `pts - dts` (the DTS is still valid and nothing is delayed);
/// guessing too low gives a few frames whose PTS precede their DTS until the generator
/// raises the depth itself.
pub const ASSUMED_H264_REORDER_DEPTH: u32 = 4;

/// The reorder depth to give [`DtsGenerator::new`] for an H.264 stream, from its SPS:
/// `profile_idc` and, when the VUI carries `bitstream_restriction`, its
/// `max_num_reorder_frames`.
///
/// The signalled value wins (clamped to [`MAX_REORDER_DEPTH`]). Without it: 0 for
/// Baseline / Constrained Baseline (66, no B slices) and CAVLC 4:4:4 Intra (44), else
/// [`ASSUMED_H264_REORDER_DEPTH`].
///
/// ```
/// use weir_media::reorder::{h264_reorder_depth, ASSUMED_H264_REORDER_DEPTH};
/// assert_eq!(h264_reorder_depth(100, Some(2)), 2); // x264 --b-pyramid
/// assert_eq!(h264_reorder_depth(66, None), 0);     // Baseline camera
/// assert_eq!(h264_reorder_depth(77, None), ASSUMED_H264_REORDER_DEPTH);
/// ```
pub fn h264_reorder_depth(profile_idc: u8, max_num_reorder_frames: Option<u32>) -> u32 {
    match max_num_reorder_frames {
        Some(n) => n.min(MAX_REORDER_DEPTH),
        None if matches!(profile_idc, 66 | 44) => 0,
        None => ASSUMED_H264_REORDER_DEPTH,
    }
}

/// The reorder depth to give [`DtsGenerator::new`] for an H.265 stream:
/// `sps_max_num_reorder_pics` of the highest sub-layer (always present in an H.265 SPS),
/// clamped to [`MAX_REORDER_DEPTH`].
pub fn h265_reorder_depth(sps_max_num_reorder_pics: u32) -> u32 {
    sps_max_num_reorder_pics.min(MAX_REORDER_DEPTH)
}

/// What a video stream's codec configuration says about its timing: how deep it reorders
/// (the depth to give [`DtsGenerator::new`]) and its nominal frame rate.
///
/// The codec crates compute it from the sequence parameter set: `weir_h264::AvcConfig::
/// video_timing` (depth by [`h264_reorder_depth`]: the VUI `max_num_reorder_frames`, else 0
/// for Baseline / Constrained Baseline and CAVLC 4:4:4 Intra, else
/// [`ASSUMED_H264_REORDER_DEPTH`]; fps from VUI timing), `weir_h265::HevcConfig::
/// video_timing` (depth by [`h265_reorder_depth`]: `sps_max_num_reorder_pics`), and free
/// functions taking the raw avcC/hvcC that fall back to [`VideoTiming::ASSUMED`] when the
/// record or its SPS does not parse.
///
/// ```
/// use core::time::Duration;
/// use weir_media::reorder::{VideoTiming, ASSUMED_H264_REORDER_DEPTH};
/// let t = VideoTiming::new(2, Some(25.0));
/// assert_eq!(t.frame_duration(), Some(Duration::from_millis(40)));
/// assert_eq!(VideoTiming::ASSUMED.reorder_depth, ASSUMED_H264_REORDER_DEPTH);
/// assert_eq!(VideoTiming::ASSUMED.fps, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct VideoTiming {
    /// Frames that may precede a frame in decoding order and follow it in output order.
    pub reorder_depth: u32,
    /// Frames per second from the SPS VUI timing, when signalled.
    pub fps: Option<f64>,
}

impl VideoTiming {
    /// What to assume without a usable configuration: [`ASSUMED_H264_REORDER_DEPTH`] and no
    /// frame rate (the rate is then learned from the timestamps).
    pub const ASSUMED: VideoTiming = VideoTiming {
        reorder_depth: ASSUMED_H264_REORDER_DEPTH,
        fps: None,
    };

    /// A timing with the given depth (clamped to [`MAX_REORDER_DEPTH`]) and frame rate.
    pub fn new(reorder_depth: u32, fps: Option<f64>) -> VideoTiming {
        VideoTiming {
            reorder_depth: reorder_depth.min(MAX_REORDER_DEPTH),
            fps,
        }
    }

    /// One frame's duration at [`fps`](Self::fps), when the rate is plausible (1 to 1000
    /// frames per second; a VUI can declare anything).
    pub fn frame_duration(&self) -> Option<Duration> {
        self.fps
            .filter(|f| (1.0..=1000.0).contains(f))
            .map(|f| Duration::from_secs_f64(1.0 / f))
    }
}

/// What [`DtsGenerator`] had to do beyond the plain assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtsEvent {
    /// Nothing: `dts` is the `depth`-delayed sorted PTS.
    None,
    /// The stream reorders deeper than the depth in use (the frame's PTS is earlier than
    /// one already released as a DTS); the depth was raised to `depth` (at most
    /// [`MAX_REORDER_DEPTH`]). The DTS is kept strictly increasing as for
    /// [`DtsEvent::Clamped`].
    DepthRaised {
        /// The depth now in use.
        depth: u32,
        /// As in [`DtsEvent::Clamped`].
        pts_behind_dts: bool,
    },
    /// The assigned DTS would not have been after the previous one (the frames just after
    /// a depth change) and was set to `previous + 1`.
    Clamped {
        /// The frame's PTS is not after the previous DTS, so no valid DTS exists for it
        /// without buffering: its `pts < dts` (a later stage, e.g.
        /// [`TimestampRepair`](crate::repair::TimestampRepair), sets `pts = dts`).
        pts_behind_dts: bool,
    },
    /// The frame's PTS equals the previous frame's (a source whose clock is stuck, e.g.
    /// every frame stamped 0). The frame gets the previous frame's DTS again (its own PTS
    /// if it is the first) and does not enter the reorder state, so
    /// [`TimestampRepair`](crate::repair::TimestampRepair) downstream sees the DTS stand
    /// still and synthesizes a clock at the frame rate it learned from the good frames.
    RepeatedPts,
    /// The PTS jumped by more than the configured limit from the latest PTS seen (a
    /// clock restart): the generator started over at this frame.
    Jump {
        /// `pts - latest PTS`, in the frame's timebase.
        jump_ticks: i64,
    },
    /// The frame's timebase differs from the previous frames': the generator started over.
    TimebaseChanged,
}

/// Assigns decoding timestamps to video frames that arrive in decoding order with
/// presentation timestamps only. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct DtsGenerator {
    depth: u32,
    frame_duration: Duration,
    max_jump: Duration,
    timebase: Option<Timebase>,
    /// PTS (ticks) not yet released as a DTS; at most `depth + 1` entries.
    pending: BinaryHeap<Reverse<i64>>,
    /// Latest PTS since the last (re)start, for jump detection.
    max_pts: Option<i64>,
    /// PTS of the previous frame, for stuck-clock detection.
    last_pts: Option<i64>,
    /// DTS given to the previous frame since the last (re)start.
    last_dts: Option<i64>,
    /// DTS given before the last (re)start: the next ones stay after it when they can.
    soft_floor: Option<i64>,
    /// Last released PTS, to learn the frame duration.
    last_released: Option<i64>,
    /// Largest PTS released at the current depth: a later PTS below it proves the
    /// depth too small.
    max_released: Option<i64>,
    /// Frame duration learned from consecutive released PTS, in ticks.
    learned_ticks: Option<i64>,
}

impl DtsGenerator {
    /// A generator for a stream with reorder depth `depth` (clamped to
    /// [`MAX_REORDER_DEPTH`]; see [`h264_reorder_depth`], [`h265_reorder_depth`]).
    ///
    /// `frame_duration` is used to extrapolate the DTS of the first `depth` frames until
    /// the real duration is learned from the PTS; give the nominal one when it is known
    /// (SPS VUI timing, SDP `a=framerate`), else e.g. 40 ms. A too-large value only makes
    /// those first DTS earlier.
    pub fn new(depth: u32, frame_duration: Duration) -> DtsGenerator {
        let depth = depth.min(MAX_REORDER_DEPTH);
        DtsGenerator {
            depth,
            frame_duration,
            max_jump: Duration::from_secs(5),
            timebase: None,
            pending: BinaryHeap::with_capacity(MAX_REORDER_DEPTH as usize + 2),
            max_pts: None,
            last_pts: None,
            last_dts: None,
            soft_floor: None,
            last_released: None,
            max_released: None,
            learned_ticks: None,
        }
    }

    /// Sets the largest PTS step (either direction, from the latest PTS seen) that is not
    /// a clock restart. Default 5 s.
    pub fn with_max_jump(mut self, max_jump: Duration) -> DtsGenerator {
        self.max_jump = max_jump;
        self
    }

    /// The reorder depth in use (the configured one, or higher if the stream needed it).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The frame duration learned from the stream, if any, in the current timebase.
    pub fn learned_frame_duration(&self) -> Option<Timestamp> {
        Some(Timestamp::new(self.learned_ticks?, self.timebase?))
    }

    /// Starts over (a discontinuity, or a new coded video sequence after a reconnect):
    /// the next frame is treated like the first one. The depth and the learned frame
    /// duration are kept, and the next DTS stays after the last one when its PTS allows.
    pub fn reset(&mut self) {
        self.restart();
    }

    fn restart(&mut self) {
        self.pending.clear();
        self.max_pts = None;
        self.last_pts = None;
        self.soft_floor = self.last_dts.or(self.soft_floor);
        self.last_dts = None;
        self.last_released = None;
        self.max_released = None;
    }

    /// The DTS for the next frame in decoding order, whose PTS is `pts`; same timebase.
    pub fn next_dts(&mut self, pts: Timestamp) -> Timestamp {
        self.step(pts).0
    }

    /// Sets `frame.dts` from `frame.pts` (ignoring the incoming `dts`) and says what, if
    /// anything, was unusual.
    pub fn assign(&mut self, frame: &mut Frame) -> DtsEvent {
        let (dts, event) = self.step(frame.pts);
        frame.dts = dts;
        event
    }

    /// The DTS for a frame with presentation time `pts`, and what happened.
    pub fn step(&mut self, pts: Timestamp) -> (Timestamp, DtsEvent) {
        let tb = pts.timebase();
        let p = pts.ticks();
        let mut event = DtsEvent::None;
        if self.timebase != Some(tb) {
            if self.timebase.is_some() {
                event = DtsEvent::TimebaseChanged;
            }
            self.restart();
            self.soft_floor = None;
            self.learned_ticks = None;
            self.timebase = Some(tb);
        }
        if self.last_pts == Some(p) {
            let dts = self.last_dts.unwrap_or(p);
            return (Timestamp::new(dts, tb), DtsEvent::RepeatedPts);
        }
        if let Some(m) = self.max_pts {
            let jump = p.saturating_sub(m);
            if jump.saturating_abs() > duration_ticks(self.max_jump, tb) {
                self.restart();
                event = DtsEvent::Jump { jump_ticks: jump };
            }
        }
        self.max_pts = Some(self.max_pts.map_or(p, |m| m.max(p)));
        self.last_pts = Some(p);
        // A frame presented before one already released: at the depth in use, every later
        // frame's PTS is above all released ones, so the stream reorders deeper. Only
        // releases made at the current depth count (those before a raise are expected to
        // be out of order).
        let mut raised = false;
        if self.max_released.is_some_and(|m| p < m) && self.depth < MAX_REORDER_DEPTH {
            self.depth += 1;
            self.max_released = None;
            raised = true;
        }
        self.pending.push(Reverse(p));

        let candidate = if self.pending.len() > self.depth as usize {
            // Steady state: the smallest of the last depth + 1 PTS is s_{i-d}.
            let v = self.pending.pop().map_or(p, |Reverse(v)| v);
            if let Some(r) = self.last_released {
                let d = v.saturating_sub(r);
                if d > 0 {
                    self.learned_ticks = Some(d);
                }
            }
            self.last_released = Some(v);
            self.max_released = Some(self.max_released.map_or(v, |m| m.max(v)));
            v
        } else {
            // Fewer than depth + 1 frames so far: extrapolate s_0 backwards.
            let missing = (self.depth as usize + 1).saturating_sub(self.pending.len()) as i64;
            let min = self.pending.peek().map_or(p, |r| r.0);
            let dur = self.warmup_duration(tb);
            min.saturating_sub(dur.saturating_mul(missing))
        };

        let mut dts = candidate;
        match self.last_dts {
            Some(last) if dts <= last => {
                dts = last.saturating_add(1);
                event = DtsEvent::Clamped {
                    pts_behind_dts: dts > p,
                };
            }
            None => {
                // First frame after a restart: continue after the old clock if possible.
                if let Some(floor) = self.soft_floor {
                    if dts <= floor && floor < p {
                        dts = floor.saturating_add(1);
                    }
                }
            }
            Some(_) => {}
        }
        if raised {
            event = DtsEvent::DepthRaised {
                depth: self.depth,
                pts_behind_dts: dts > p,
            };
        }
        self.last_dts = Some(dts);
        (Timestamp::new(dts, tb), event)
    }

    /// The step used to extrapolate the first DTS: the learned (or configured) frame
    /// duration, or the smallest gap between the PTS seen so far if that is shorter.
    fn warmup_duration(&self, tb: Timebase) -> i64 {
        let mut dur = self
            .learned_ticks
            .unwrap_or_else(|| duration_ticks(self.frame_duration, tb));
        let mut seen = [0i64; MAX_REORDER_DEPTH as usize + 2];
        let mut n = 0;
        for (slot, Reverse(v)) in seen.iter_mut().zip(self.pending.iter()) {
            *slot = *v;
            n += 1;
        }
        let seen = &mut seen[..n];
        seen.sort_unstable();
        for w in seen.windows(2) {
            let gap = w[1].saturating_sub(w[0]);
            if gap > 0 && gap < dur {
                dur = gap;
            }
        }
        dur.max(1)
    }
}

/// `d` in ticks of `tb` (at least 1, saturating).
fn duration_ticks(d: Duration, tb: Timebase) -> i64 {
    let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    Timestamp::new(ns, Timebase::NANOS)
        .rescale(tb)
        .ticks()
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(depth: u32, pts: &[i64]) -> Vec<i64> {
        let mut g = DtsGenerator::new(depth, Duration::from_millis(40));
        pts.iter()
            .map(|p| g.next_dts(Timestamp::new(p * 3600, Timebase::MPEG)).ticks() / 3600)
            .collect()
    }

    #[test]
    fn depth_zero_passes_pts_through() {
        assert_eq!(run(0, &[0, 1, 2, 3, 4]), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn ipbb_depth_one() {
        // x264 --bframes 2 --b-pyramid none: I0 P3 B1 B2 P6 B4 B5.
        assert_eq!(run(1, &[0, 3, 1, 2, 6, 4, 5]), [-1, 0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn b_pyramid_depth_two() {
        // I0 P4 B2 b1 b3 P8 B6 b5 b7.
        assert_eq!(
            run(2, &[0, 4, 2, 1, 3, 8, 6, 5, 7]),
            [-2, -1, 0, 1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn heap_is_bounded() {
        let mut g = DtsGenerator::new(100, Duration::from_millis(40));
        assert_eq!(g.depth(), MAX_REORDER_DEPTH);
        for i in 0..1000 {
            g.next_dts(Timestamp::new(i * 3600, Timebase::MPEG));
            assert!(g.pending.len() <= MAX_REORDER_DEPTH as usize + 1);
        }
    }

    #[test]
    fn extrapolation_uses_learned_duration_after_reset() {
        let mut g = DtsGenerator::new(1, Duration::from_millis(100));
        let tb = Timebase::MPEG;
        for p in [0, 2, 1, 4, 3] {
            g.next_dts(Timestamp::new(p * 3000, tb));
        }
        assert_eq!(g.learned_frame_duration(), Some(Timestamp::new(3000, tb)));
        g.reset();
        // Extrapolated one learned frame back, not 100 ms.
        assert_eq!(g.next_dts(Timestamp::new(60_000, tb)).ticks(), 57_000);
    }
}
