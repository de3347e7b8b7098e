//! Where parts and segments end: the cut decisions of a Low-Latency HLS packager, from the
//! primary track's decode timestamps and keyframes alone.

use std::time::Duration;

use weir_media::Timestamp;

/// Settings of a [`Scheduler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScheduleConfig {
    /// The wanted part duration (default 200 ms). The declared `PART-TARGET` is this
    /// rounded to a whole number of frames, plus a little room for timestamp jitter, so that
    /// every part is at most `PART-TARGET` and at least 85 % of it (§4.4.4.9).
    pub part: Duration,
    /// A segment ends at the first keyframe at least this long after its start (default
    /// 2 s). `EXT-X-TARGETDURATION` is this rounded up to whole seconds.
    pub segment: Duration,
    /// The primary track's frame duration, when known in advance (a video track's frame
    /// rate, an audio codec's frame length); otherwise the first two frames tell.
    pub frame_duration: Option<Duration>,
}

impl Default for ScheduleConfig {
    fn default() -> ScheduleConfig {
        ScheduleConfig {
            part: Duration::from_millis(200),
            segment: Duration::from_secs(2),
            frame_duration: None,
        }
    }
}

impl ScheduleConfig {
    /// A configuration with the given part and segment durations.
    pub fn new(part: Duration, segment: Duration) -> ScheduleConfig {
        ScheduleConfig {
            part,
            segment,
            frame_duration: None,
        }
    }

    /// `EXT-X-TARGETDURATION`: the segment duration rounded up to whole seconds (at least 1).
    pub fn target_duration(&self) -> u64 {
        let s = self.segment.as_secs() + u64::from(self.segment.subsec_nanos() > 0);
        s.max(1)
    }
}

/// What ends before a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cut {
    /// Nothing: the frame continues the current part.
    None,
    /// The current part ends before this frame.
    Part,
    /// The current part and segment end before this frame (a keyframe).
    Segment,
    /// The segment must end here although this frame is not a keyframe: without a cut it
    /// would outgrow `EXT-X-TARGETDURATION` (a keyframe interval longer than the target
    /// duration). The next segment does not start with an independent frame.
    ForcedSegment,
}

/// Decides where parts and segments end (sans-IO; time comes from the frames).
///
/// Feed it the primary track's frames (the first video track, else the first track) in
/// decode order; it answers, for each, what ends before it. A packager then ends its
/// fragment there (for `weir-mp4`'s `FragmentedMuxer`: push the frame, then flush, which
/// writes everything before it). The rules:
///
/// * a segment ends before a keyframe once it spans the segment duration (half a frame of
///   tolerance for millisecond timestamps) — so segments start with keyframes and a part
///   that starts a segment is independent;
/// * a part ends before a frame that would take it past `PART-TARGET`;
/// * before a frame that would take the segment past what rounds to
///   `EXT-X-TARGETDURATION`, the segment ends anyway ([`Cut::ForcedSegment`]; §6.2.1: a
///   segment's duration, rounded, MUST NOT exceed the target duration).
///
/// ```
/// use std::time::Duration;
/// use weir_hls::{Cut, ScheduleConfig, Scheduler};
/// use weir_media::{Timebase, Timestamp};
///
/// // 25 fps, a keyframe every second, 200 ms parts, 1 s segments.
/// let mut s = Scheduler::new(ScheduleConfig::new(Duration::from_millis(200), Duration::from_secs(1)));
/// let mut cuts = Vec::new();
/// for i in 0..51i64 {
///     cuts.push(s.frame(Timestamp::new(i * 40, Timebase::MILLIS), i % 25 == 0));
/// }
/// assert_eq!(s.part_target(), Some(Duration::from_millis(220)));
/// assert_eq!(cuts[5], Cut::Part); // 5 frames of 40 ms
/// assert_eq!(cuts[25], Cut::Segment);
/// assert_eq!(cuts.iter().filter(|c| **c != Cut::None).count(), 10);
/// ```
#[derive(Debug, Clone)]
pub struct Scheduler {
    config: ScheduleConfig,
    part_target: Option<Duration>,
    last: Option<Timestamp>,
    part_start: Option<Timestamp>,
    segment_start: Option<Timestamp>,
    frame: Option<Duration>,
    /// The last few frame steps: the next one is expected to be at most their largest
    /// (timestamps in milliseconds alternate between two values, cameras jitter).
    steps: [Duration; 8],
    step_at: usize,
}

impl Scheduler {
    /// A scheduler. The part duration is clamped to 10 ms – 1 s, the segment duration to at
    /// least the part duration.
    pub fn new(mut config: ScheduleConfig) -> Scheduler {
        config.part = config
            .part
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        config.segment = config.segment.max(config.part);
        let mut s = Scheduler {
            config,
            part_target: None,
            last: None,
            part_start: None,
            segment_start: None,
            frame: None,
            steps: [Duration::ZERO; 8],
            step_at: 0,
        };
        if let Some(f) = config.frame_duration.filter(|f| !f.is_zero()) {
            s.decide_part_target(f);
        }
        s
    }

    /// The configuration.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// `EXT-X-TARGETDURATION`.
    pub fn target_duration(&self) -> u64 {
        self.config.target_duration()
    }

    /// `PART-TARGET`, once known (from the configured frame duration, or the second frame).
    /// It does not change afterwards.
    pub fn part_target(&self) -> Option<Duration> {
        self.part_target
    }

    fn decide_part_target(&mut self, frame: Duration) {
        self.frame = Some(frame);
        let f = frame.as_nanos().max(1);
        let want = self.config.part.as_nanos();
        let n = ((want + f / 2) / f).max(1);
        let whole = n * f;
        // Room for jitter: half a frame, but at most 15 % of the part, so that a part one
        // frame short of the target is still 85 % of it.
        let slack = (f / 2).min(whole * 15 / 100);
        let target = (whole + slack).div_ceil(1_000_000) * 1_000_000;
        let cap = u128::from(self.target_duration()) * 1_000_000_000;
        let target = target.min(cap).max(1_000_000);
        self.part_target = Some(Duration::from_nanos(
            u64::try_from(target).unwrap_or(u64::MAX),
        ));
    }

    /// Starts over: the next frame opens a new part and segment (after a discontinuity or
    /// a new muxer). `PART-TARGET` stays.
    pub fn restart(&mut self) {
        self.last = None;
        self.part_start = None;
        self.segment_start = None;
        self.steps = [Duration::ZERO; 8];
    }

    /// The next primary-track frame, at decode time `dts`: what ends before it.
    pub fn frame(&mut self, dts: Timestamp, keyframe: bool) -> Cut {
        let (Some(last), Some(part_start), Some(seg_start)) =
            (self.last, self.part_start, self.segment_start)
        else {
            self.last = Some(dts);
            self.part_start = Some(dts);
            self.segment_start = Some(dts);
            return Cut::None;
        };
        let step = dts.duration_since(last).unwrap_or_default();
        self.last = Some(dts);
        if self.part_target.is_none() && !step.is_zero() {
            self.decide_part_target(step);
        }
        let Some(target) = self.part_target else {
            return Cut::None;
        };
        if !step.is_zero() {
            self.steps[self.step_at % self.steps.len()] = step;
            self.step_at = self.step_at.wrapping_add(1);
        }
        let recent = self.steps.iter().copied().max().unwrap_or_default();
        let frame = if recent.is_zero() {
            self.frame.unwrap_or_default()
        } else {
            recent
        };
        let seg = dts.duration_since(seg_start).unwrap_or_default();
        let part = dts.duration_since(part_start).unwrap_or_default();
        let cut = if keyframe && seg + frame / 2 >= self.config.segment {
            Cut::Segment
        } else if part + frame > target || part >= target {
            // With one more part the segment would round above the target duration.
            let limit = Duration::from_secs(self.target_duration()) + Duration::from_millis(499);
            if seg + target > limit {
                Cut::ForcedSegment
            } else {
                Cut::Part
            }
        } else {
            Cut::None
        };
        match cut {
            Cut::None => {}
            Cut::Part => self.part_start = Some(dts),
            _ => {
                self.part_start = Some(dts);
                self.segment_start = Some(dts);
            }
        }
        cut
    }
}
