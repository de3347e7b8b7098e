//! Timestamp repair: turns the timestamps real sources send into ones every muxer accepts.
//!
//! Sources lie: RTMP clocks wrap at 2³² ms, cameras restart their clocks, encoders step
//! backwards, publishers reconnect with a fresh clock. [`TimestampRepair`] sits between
//! an ingest and the outputs and guarantees, per track:
//!
//! * **monotonic DTS**: every output DTS is strictly greater than the track's previous one;
//! * **no jumps**: a track stepping forward by more than [`RepairConfig::max_gap`] when
//!   the *stream* clock does not explain it, or stepping back by more than
//!   [`RepairConfig::max_backward`], is a discontinuity and is smoothed away;
//! * **A/V sync**: all tracks share one offset, so a discontinuity seen by one track is
//!   applied to the others as well, and a legitimate gap in one track (audio that pauses
//!   while video goes on) is *not* mistaken for a jump, because jumps are measured against
//!   the clock of the whole stream, not of the track;
//! * **wrap handling**: with [`RepairConfig::wrap_bits`] set (32 for RTMP/FLV, 33 for
//!   MPEG PTS), input ticks are first extended past the wrap;
//! * **sane composition offsets**: `pts < dts` or a PTS further than `max_gap` from the DTS is
//!   replaced by `pts = dts`;
//! * **stuck clocks**: a run of frames whose timestamp does not advance at all (cameras that
//!   stamp every frame 0, or repeat the last value) gets a synthesized clock advancing by the
//!   track's frame duration — the last good step of that track, else the one set with
//!   [`TimestampRepair::set_frame_duration`], else [`RepairConfig::default_frame_duration`] —
//!   instead of one tick per frame, which players would run through at absurd speed. When
//!   the source clock advances again it is trusted again; if the synthesized clock ran ahead
//!   of it by more than [`RepairConfig::max_backward`], all tracks take a new offset so the
//!   output neither steps back nor squeezes frames.
//!
//! Every change is reported as a [`Repair`] so the caller can log it.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::repair::{RepairConfig, Repair, TimestampRepair};
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//!
//! let ms = |t| Timestamp::new(t, Timebase::MILLIS);
//! let mut fix = TimestampRepair::new(RepairConfig::default());
//! let mut out = Vec::new();
//! // 40 ms frames, then the publisher's clock restarts at 0.
//! for t in [1000, 1040, 1080, 0, 40] {
//!     let mut f = Frame::new(TrackId(0), ms(t), ms(t), Bytes::new());
//!     let r = fix.repair(&mut f);
//!     out.push((f.dts.ticks(), r));
//! }
//! let dts: Vec<i64> = out.iter().map(|(d, _)| *d).collect();
//! assert_eq!(dts, [1000, 1040, 1080, 1120, 1160]);
//! assert!(matches!(out[3].1, Repair::Discontinuity { .. }));
//! ```

use crate::{Frame, Timebase, Timestamp, TrackId, WrapExtender};

const NANOS: Timebase = Timebase::NANOS;

/// Settings for [`TimestampRepair`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairConfig {
    /// A DTS further than this from the stream clock (in either direction) is a
    /// discontinuity. Default 5 s.
    pub max_gap: core::time::Duration,
    /// Width of the input timestamp counter, for wrap extension (32 for RTMP/FLV
    /// milliseconds, 33 for MPEG PTS/DTS). `None` (default): input ticks are already
    /// extended.
    pub wrap_bits: Option<u32>,
    /// Start the output at 0 instead of at the first input timestamp. Default false.
    pub rebase_to_zero: bool,
    /// Frame duration assumed after a discontinuity, and for synthesizing a stuck clock,
    /// when a track has no history yet and no duration of its own
    /// ([`TimestampRepair::set_frame_duration`]). Default 20 ms.
    pub default_frame_duration: core::time::Duration,
    /// A track whose DTS steps back by more than this is a discontinuity (an encoder or
    /// camera restarting its clock); smaller steps back are only made monotonic.
    /// Default 100 ms.
    pub max_backward: core::time::Duration,
}

impl Default for RepairConfig {
    fn default() -> Self {
        RepairConfig {
            max_gap: core::time::Duration::from_secs(5),
            wrap_bits: None,
            rebase_to_zero: false,
            default_frame_duration: core::time::Duration::from_millis(20),
            max_backward: core::time::Duration::from_millis(100),
        }
    }
}

impl RepairConfig {
    /// The settings for RTMP/FLV input: 32-bit millisecond clocks.
    pub fn rtmp() -> RepairConfig {
        RepairConfig {
            wrap_bits: Some(32),
            ..RepairConfig::default()
        }
    }

    /// Sets [`RepairConfig::max_gap`].
    pub fn with_max_gap(mut self, max_gap: core::time::Duration) -> RepairConfig {
        self.max_gap = max_gap;
        self
    }

    /// Sets [`RepairConfig::wrap_bits`].
    pub fn with_wrap_bits(mut self, wrap_bits: Option<u32>) -> RepairConfig {
        self.wrap_bits = wrap_bits;
        self
    }

    /// Sets [`RepairConfig::rebase_to_zero`].
    pub fn with_rebase_to_zero(mut self, rebase: bool) -> RepairConfig {
        self.rebase_to_zero = rebase;
        self
    }

    /// Sets [`RepairConfig::max_backward`].
    pub fn with_max_backward(mut self, d: core::time::Duration) -> RepairConfig {
        self.max_backward = d;
        self
    }

    /// Sets [`RepairConfig::default_frame_duration`].
    pub fn with_default_frame_duration(mut self, d: core::time::Duration) -> RepairConfig {
        self.default_frame_duration = d;
        self
    }

    /// The settings for MPEG-TS/PS input: 33-bit 90 kHz clocks.
    pub fn mpeg() -> RepairConfig {
        RepairConfig {
            wrap_bits: Some(33),
            ..RepairConfig::default()
        }
    }
}

/// What [`TimestampRepair::repair`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repair {
    /// Nothing (beyond wrap extension and the constant offset).
    None,
    /// The input jumped by `jump_ns` against the stream clock; a new offset was taken so
    /// the output continues smoothly. Applies to every track from now on.
    Discontinuity {
        /// The track that saw it first.
        track: TrackId,
        /// Input jump in nanoseconds (negative: backwards).
        jump_ns: i64,
    },
    /// The track's DTS did not increase; it was moved forward by `by_ticks`.
    NonMonotonic {
        /// The track.
        track: TrackId,
        /// Ticks added (in the frame's timebase).
        by_ticks: i64,
    },
    /// The composition offset was invalid (`pts < dts` or absurdly large) and was reset to 0.
    BadCompositionOffset {
        /// The track.
        track: TrackId,
        /// The offending `pts - dts`, in the frame's timebase.
        offset_ticks: i64,
    },
    /// The track's timestamp did not advance (a stuck source clock, e.g. every frame
    /// stamped 0); the output was synthesized one frame duration after the previous one.
    Synthesized {
        /// The track.
        track: TrackId,
        /// Frames synthesized so far in this run (1 for the first stuck frame).
        run: u32,
        /// The frame duration used, in nanoseconds.
        step_ns: i64,
    },
}

#[derive(Debug)]
struct TrackState {
    id: TrackId,
    ext: Option<WrapExtender>,
    last_in_ns: Option<i64>,
    last_out: Option<Timestamp>,
    /// Typical DTS step of this track, in ns.
    step_ns: i64,
    /// `step_ns` was measured on this track (not assumed).
    step_learned: bool,
    /// Frames synthesized in the current stuck run (0: the source clock is advancing).
    stuck_run: u32,
    /// Output instant (ns) of the last frame before the current stuck run.
    stuck_base_ns: i64,
}

/// The repair state for one stream (all of its tracks). See the [module docs](self).
#[derive(Debug)]
pub struct TimestampRepair {
    config: RepairConfig,
    tracks: Vec<TrackState>,
    /// output_ns = input_ns + offset_ns
    offset_ns: Option<i64>,
    /// The stream clock: latest input instant seen on any track (ns).
    stream_in_ns: Option<i64>,
    /// Latest output instant on any track (ns).
    stream_out_ns: Option<i64>,
}

impl TimestampRepair {
    /// A repairer with no history.
    pub fn new(config: RepairConfig) -> TimestampRepair {
        TimestampRepair {
            config,
            tracks: Vec::new(),
            offset_ns: None,
            stream_in_ns: None,
            stream_out_ns: None,
        }
    }

    /// Forgets all history (a new publisher session). Output continues after the last
    /// output instant so players see no step back.
    pub fn reset_input(&mut self) {
        for t in &mut self.tracks {
            t.last_in_ns = None;
            if let Some(e) = t.ext.as_mut() {
                e.reset();
            }
        }
        self.stream_in_ns = None;
        self.offset_ns = None;
    }

    fn track_index(&mut self, id: TrackId) -> usize {
        if let Some(i) = self.tracks.iter().position(|t| t.id == id) {
            return i;
        }
        self.tracks.push(TrackState {
            id,
            ext: self.config.wrap_bits.map(WrapExtender::new),
            last_in_ns: None,
            last_out: None,
            step_ns: duration_ns(self.config.default_frame_duration),
            step_learned: false,
            stuck_run: 0,
            stuck_base_ns: 0,
        });
        self.tracks.len() - 1
    }

    /// Sets the nominal frame duration of `track` (e.g. 40 ms for 25 fps video, 1024
    /// samples for AAC), used to synthesize a stuck clock and to resume after a
    /// discontinuity until the track's real step has been measured.
    pub fn set_frame_duration(&mut self, track: TrackId, duration: core::time::Duration) {
        let idx = self.track_index(track);
        let t = &mut self.tracks[idx];
        if !t.step_learned {
            t.step_ns = duration_ns(duration).max(1);
        }
    }

    /// Repairs `frame`'s `pts`/`dts` in place and says what, if anything, was changed.
    /// The output keeps the frame's timebase.
    pub fn repair(&mut self, frame: &mut Frame) -> Repair {
        let tb = frame.dts.timebase();
        let max_gap = duration_ns(self.config.max_gap);
        let idx = self.track_index(frame.track);
        let mut report = Repair::None;

        // Composition offset in the DTS timebase.
        let mut cts = frame
            .pts
            .rescale(tb)
            .ticks()
            .saturating_sub(frame.dts.ticks());
        let cts_ns = Timestamp::new(cts, tb).rescale(NANOS).ticks();
        if cts < 0 || cts_ns > max_gap {
            report = Repair::BadCompositionOffset {
                track: frame.track,
                offset_ticks: cts,
            };
            cts = 0;
        }

        let raw = frame.dts.ticks();
        let track = &mut self.tracks[idx];
        let in_ticks = match track.ext.as_mut() {
            Some(e) => e.extend(raw as u64),
            None => raw,
        };
        let in_ns = Timestamp::new(in_ticks, tb).rescale(NANOS).ticks();

        // Establish or check the shared offset against the stream clock.
        let offset = match (self.offset_ns, self.stream_in_ns) {
            (Some(off), Some(stream_in)) => {
                let jump = in_ns.saturating_sub(stream_in);
                let own_jump = track.last_in_ns.map(|l| in_ns.saturating_sub(l));
                let max_back = duration_ns(self.config.max_backward);
                let discontinuity = match own_jump {
                    // The track's own clock went back: a restart, whatever the stream says.
                    Some(j) if j < max_back.saturating_neg() => true,
                    // A long forward step is a jump only if the stream clock does not
                    // explain it (a track that paused while others went on is fine).
                    Some(j) if j > max_gap => jump.saturating_abs() > max_gap,
                    Some(_) => false,
                    // A new track (or one after a discontinuity): compare with the stream.
                    None => jump.saturating_abs() > max_gap,
                };
                if discontinuity {
                    let resume = self
                        .stream_out_ns
                        .unwrap_or(0)
                        .saturating_add(track.step_ns.max(1));
                    let new_off = resume.saturating_sub(in_ns);
                    report = Repair::Discontinuity {
                        track: frame.track,
                        jump_ns: jump,
                    };
                    // Every track's history refers to the old clock now.
                    self.stream_in_ns = None;
                    for t in &mut self.tracks {
                        t.last_in_ns = None;
                    }
                    new_off
                } else if own_jump.is_none() {
                    // A track's first frame of a new session (or after a discontinuity)
                    // that the offset taken from another track's first frame would put at
                    // or behind this track's own last output (video whose decode clock
                    // leads its picture clock, joined after audio): move the shared offset
                    // on so it resumes a frame later — a small forward step for the other
                    // tracks instead of a run of clamped, equal timestamps here.
                    match track.last_out {
                        Some(last) if in_ns.saturating_add(off) <= last.rescale(NANOS).ticks() => {
                            let resume = last
                                .rescale(NANOS)
                                .ticks()
                                .saturating_add(track.step_ns.max(1));
                            report = Repair::Discontinuity {
                                track: frame.track,
                                jump_ns: jump,
                            };
                            resume.saturating_sub(in_ns)
                        }
                        _ => off,
                    }
                } else {
                    off
                }
            }
            (Some(off), None) => off,
            (None, _) => match self.stream_out_ns {
                // After reset_input: continue after the last output.
                Some(out) => out
                    .saturating_add(duration_ns(self.config.default_frame_duration))
                    .saturating_sub(in_ns),
                None if self.config.rebase_to_zero => in_ns.saturating_neg(),
                None => 0,
            },
        };
        self.offset_ns = Some(offset);

        let max_back = duration_ns(self.config.max_backward);
        let track = &mut self.tracks[idx];
        // Exactly the previous input (a discontinuity above clears `last_in_ns`).
        let stuck = track.last_in_ns == Some(in_ns);
        if let Some(last) = track.last_in_ns {
            let step = in_ns.saturating_sub(last);
            if step > 0 && step <= max_gap {
                track.step_ns = step;
                track.step_learned = true;
            }
        }
        track.last_in_ns = Some(in_ns);
        self.stream_in_ns = Some(self.stream_in_ns.map_or(in_ns, |s| s.max(in_ns)));

        let mut out = Timestamp::new(in_ns.saturating_add(offset), NANOS).rescale(tb);
        if let Some(last_ts) = track.last_out {
            let last = last_ts.rescale(tb).ticks();
            let last_ns = last_ts.rescale(NANOS).ticks();
            let step = track.step_ns.max(1);
            if stuck {
                // A stuck source clock: count frames from the last good output, one frame
                // duration each (from the run start, so rounding does not accumulate).
                if track.stuck_run == 0 {
                    track.stuck_base_ns = last_ns;
                }
                track.stuck_run = track.stuck_run.saturating_add(1);
                let synth = track
                    .stuck_base_ns
                    .saturating_add(step.saturating_mul(i64::from(track.stuck_run)));
                out = Timestamp::new(synth, NANOS).rescale(tb);
                if out.ticks() <= last {
                    out = Timestamp::new(last.saturating_add(1), tb);
                }
                if !matches!(report, Repair::Discontinuity { .. }) {
                    report = Repair::Synthesized {
                        track: frame.track,
                        run: track.stuck_run,
                        step_ns: step,
                    };
                }
            } else if out.ticks() <= last {
                let behind_ns = last_ns.saturating_sub(out.rescale(NANOS).ticks());
                if track.stuck_run > 0 && behind_ns > max_back {
                    // The source clock came back behind the synthesized one: take a new
                    // offset for every track (A/V stay in sync) so output goes on a frame
                    // after the last synthesized instant.
                    let resume = last_ns.saturating_add(step);
                    self.offset_ns = Some(resume.saturating_sub(in_ns));
                    out = Timestamp::new(resume, NANOS).rescale(tb);
                    if out.ticks() <= last {
                        out = Timestamp::new(last.saturating_add(1), tb);
                    }
                    report = Repair::Discontinuity {
                        track: frame.track,
                        jump_ns: behind_ns.saturating_neg(),
                    };
                } else {
                    let by = last.saturating_add(1).saturating_sub(out.ticks());
                    out = Timestamp::new(last.saturating_add(1), tb);
                    if report == Repair::None {
                        report = Repair::NonMonotonic {
                            track: frame.track,
                            by_ticks: by,
                        };
                    }
                }
            }
        }
        if !stuck {
            track.stuck_run = 0;
        }
        track.last_out = Some(out);
        let out_ns = out.rescale(NANOS).ticks();
        self.stream_out_ns = Some(self.stream_out_ns.map_or(out_ns, |s| s.max(out_ns)));

        frame.dts = out;
        frame.pts = Timestamp::new(out.ticks().saturating_add(cts), tb);
        report
    }
}

fn duration_ns(d: core::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
