//! Tests for the timestamp repair layer, one per real-source failure mode.

use bytes::Bytes;
use proptest::prelude::*;
use weir_media::repair::{Repair, RepairConfig, TimestampRepair};
use weir_media::{Frame, Timebase, Timestamp, TrackId};

const V: TrackId = TrackId(0);
const A: TrackId = TrackId(1);

fn frame(track: TrackId, dts: i64, pts: i64, tb: Timebase) -> Frame {
    Frame::new(
        track,
        Timestamp::new(pts, tb),
        Timestamp::new(dts, tb),
        Bytes::new(),
    )
}

fn run(
    fix: &mut TimestampRepair,
    track: TrackId,
    dts: i64,
    pts: i64,
    tb: Timebase,
) -> (i64, i64, Repair) {
    let mut f = frame(track, dts, pts, tb);
    let r = fix.repair(&mut f);
    (f.dts.ticks(), f.pts.ticks(), r)
}

#[test]
fn clean_input_passes_through() {
    let mut fix = TimestampRepair::new(RepairConfig::default());
    for i in 0..100 {
        let (d, p, r) = run(&mut fix, V, i * 40, i * 40 + 80, Timebase::MILLIS);
        assert_eq!((d, p, r), (i * 40, i * 40 + 80, Repair::None));
        let (d, _, r) = run(&mut fix, A, i * 40 + 3, i * 40 + 3, Timebase::MILLIS);
        assert_eq!((d, r), (i * 40 + 3, Repair::None));
    }
}

#[test]
fn rtmp_clock_across_extended_timestamp_boundary_and_32_bit_wrap() {
    // Start just below 0xFFFFFF (where RTMP switches to extended timestamps) and run
    // past 2^32 ms, feeding the 32-bit wire value each time.
    for start in [0xFF_FFF0i64, 0xFFFF_FF00] {
        let mut fix = TimestampRepair::new(RepairConfig::rtmp());
        let mut last = None;
        for i in 0..200i64 {
            let t = start + i * 33;
            let wire = t & 0xFFFF_FFFF;
            let (d, _, r) = run(&mut fix, V, wire, wire, Timebase::MILLIS);
            assert_eq!(r, Repair::None, "frame {i}");
            assert_eq!(d, t, "extended value continues past the wrap");
            if let Some(l) = last {
                assert_eq!(d - l, 33);
            }
            last = Some(d);
        }
    }
}

#[test]
fn publisher_clock_restart_keeps_av_sync() {
    let mut fix = TimestampRepair::new(RepairConfig::default());
    let tb = Timebase::MILLIS;
    let mut outs = Vec::new();
    // 10 s of 25 fps video and ~43 fps audio, then both clocks restart at 0.
    for (base, restart) in [(10_000i64, false), (0, true)] {
        for i in 0..50i64 {
            let (vd, _, vr) = run(&mut fix, V, base + i * 40, base + i * 40, tb);
            let (ad, _, ar) = run(&mut fix, A, base + i * 40 + 5, base + i * 40 + 5, tb);
            if restart && i == 0 {
                assert!(
                    matches!(vr, Repair::Discontinuity { track: V, jump_ns } if jump_ns < -9_000_000_000)
                );
                // The shared offset already covers audio: no second discontinuity.
                assert_eq!(ar, Repair::None);
            } else {
                assert_eq!((vr, ar), (Repair::None, Repair::None));
            }
            outs.push((vd, ad));
        }
    }
    // Monotonic, and the A/V relation (audio 5 ms after video) survives the restart.
    for w in outs.windows(2) {
        assert!(w[1].0 > w[0].0 && w[1].1 > w[0].1);
    }
    for (vd, ad) in &outs {
        assert_eq!(ad - vd, 5);
    }
    // The restart is smoothed: no gap bigger than a frame or so.
    assert!(outs[50].0 - outs[49].0 <= 80);
}

#[test]
fn audio_gap_is_not_a_discontinuity() {
    // Audio stops for 12 s while video continues (a muted camera): when audio resumes its
    // timestamps are consistent with the stream clock and must not be shifted.
    let mut fix = TimestampRepair::new(RepairConfig::default());
    let tb = Timebase::MPEG;
    for i in 0..25 * 20i64 {
        let t = i * 3600;
        let (vd, _, vr) = run(&mut fix, V, t, t, tb);
        assert_eq!((vd, vr), (t, Repair::None));
        if !(25..25 * 13).contains(&i) {
            let (ad, _, ar) = run(&mut fix, A, t + 90, t + 90, tb);
            assert_eq!(
                (ad, ar),
                (t + 90, Repair::None),
                "audio frame at video frame {i}"
            );
        }
    }
}

#[test]
fn forward_jump_in_both_tracks_is_smoothed() {
    let mut fix = TimestampRepair::new(RepairConfig::mpeg());
    let tb = Timebase::MPEG;
    let hour = 90_000 * 3600;
    let mut v = Vec::new();
    for i in 0..20i64 {
        let t = i * 3600 + if i >= 10 { hour } else { 0 };
        v.push(run(&mut fix, V, t, t + 7200, tb));
        run(&mut fix, A, t, t, tb);
    }
    assert!(matches!(v[10].2, Repair::Discontinuity { .. }));
    for w in v.windows(2) {
        assert_eq!(w[1].0 - w[0].0, 3600, "steps stay one frame");
        assert_eq!(w[1].1 - w[1].0, 7200, "composition offset kept");
    }
}

#[test]
fn mpeg_33_bit_wrap() {
    let mut fix = TimestampRepair::new(RepairConfig::mpeg());
    let start = (1i64 << 33) - 10 * 3600;
    for i in 0..20i64 {
        let t = start + i * 3600;
        let (d, _, r) = run(
            &mut fix,
            V,
            t & ((1 << 33) - 1),
            t & ((1 << 33) - 1),
            Timebase::MPEG,
        );
        assert_eq!((d, r), (t, Repair::None));
    }
}

#[test]
fn small_backward_step_is_made_monotonic() {
    let mut fix = TimestampRepair::new(RepairConfig::default());
    let tb = Timebase::MILLIS;
    run(&mut fix, V, 1000, 1000, tb);
    run(&mut fix, V, 1040, 1040, tb);
    let (d, p, r) = run(&mut fix, V, 1020, 1020, tb);
    assert_eq!((d, p), (1041, 1041));
    assert_eq!(
        r,
        Repair::NonMonotonic {
            track: V,
            by_ticks: 21
        }
    );
    let (d, _, r) = run(&mut fix, V, 1080, 1080, tb);
    assert_eq!((d, r), (1080, Repair::None));
}

#[test]
fn bad_composition_offset_is_reset() {
    let mut fix = TimestampRepair::new(RepairConfig::default());
    let (d, p, r) = run(&mut fix, V, 500, 400, Timebase::MILLIS);
    assert_eq!((d, p), (500, 500));
    assert_eq!(
        r,
        Repair::BadCompositionOffset {
            track: V,
            offset_ticks: -100
        }
    );
    let (_, p, r) = run(&mut fix, V, 540, 540 + 3_600_000, Timebase::MILLIS);
    assert_eq!(p, 540);
    assert!(matches!(r, Repair::BadCompositionOffset { .. }));
}

#[test]
fn republish_continues_after_last_output() {
    let mut fix = TimestampRepair::new(RepairConfig::default().with_rebase_to_zero(true));
    let tb = Timebase::MILLIS;
    assert_eq!(run(&mut fix, V, 5000, 5000, tb).0, 0);
    assert_eq!(run(&mut fix, V, 5040, 5040, tb).0, 40);
    fix.reset_input();
    // New session starts at an arbitrary clock; output resumes one default frame later.
    assert_eq!(run(&mut fix, V, 777, 777, tb).0, 60);
    assert_eq!(run(&mut fix, V, 817, 817, tb).0, 100);
}

#[test]
fn republish_whose_video_decode_clock_leads_continues_every_track() {
    // A new session whose first frame is audio at 0 while its video decode clock starts
    // two frames earlier (B-frames: DTS = PTS - 80 ms): the video resumes one frame after
    // its own last output, not in a run of equal clamped timestamps.
    let mut fix = TimestampRepair::new(RepairConfig::default());
    let tb = Timebase::MILLIS;
    for i in 0..10 {
        run(&mut fix, V, i * 40, i * 40 + 80, tb);
        run(&mut fix, A, i * 40 + 3, i * 40 + 3, tb);
    }
    fix.reset_input();
    let (a0, _, _) = run(&mut fix, A, 0, 0, tb);
    assert!(a0 > 363, "{a0}");
    let mut last = 360;
    for i in 0..5 {
        let (d, p, _) = run(&mut fix, V, i * 40 - 80, i * 40, tb);
        assert!(d > last, "frame {i}: {d} after {last}");
        assert_eq!(p - d, 80, "composition offset kept");
        last = d;
    }
    assert_eq!(last, 400 + 4 * 40);
    let (a1, _, _) = run(&mut fix, A, 21, 21, tb);
    assert!(a1 > a0, "audio goes on forward: {a1} after {a0}");
}

proptest! {
    #[test]
    fn output_is_always_monotonic(events in prop::collection::vec((any::<bool>(), any::<i64>(), -100i64..10_000, any::<bool>()), 1..200), wrap in any::<bool>()) {
        let config = if wrap { RepairConfig::rtmp() } else { RepairConfig::default() };
        let mut fix = TimestampRepair::new(config);
        let mut last = [None, None];
        for (is_audio, dts, cts, small) in events {
            let dts = if small { dts % 100_000 } else { dts };
            let track = if is_audio { A } else { V };
            let mut f = frame(track, dts, dts.saturating_add(cts), Timebase::MILLIS);
            let _ = fix.repair(&mut f);
            let i = usize::from(is_audio);
            if let Some(l) = last[i] {
                prop_assert!(f.dts.ticks() > l || f.dts.ticks() == i64::MAX);
            }
            prop_assert!(f.pts.ticks() >= f.dts.ticks());
            last[i] = Some(f.dts.ticks());
        }
    }
}

#[test]
fn encoder_restart_after_a_short_run_is_a_discontinuity_not_a_squeeze() {
    // 1 s of frames, then the clock restarts at 0: far below max_gap, but a track's clock
    // going back by more than max_backward is a restart and is re-based, not clamped.
    let mut fix = TimestampRepair::new(RepairConfig::default());
    let tb = Timebase::MILLIS;
    let mut out = Vec::new();
    for t in [1000, 1040, 1080, 0, 40, 80] {
        let (d, _, r) = run(&mut fix, V, t, t, tb);
        out.push((d, r));
    }
    let d: Vec<i64> = out.iter().map(|(d, _)| *d).collect();
    assert_eq!(d, [1000, 1040, 1080, 1120, 1160, 1200]);
    assert!(matches!(out[3].1, Repair::Discontinuity { .. }));
    // A small step back (encoder rounding) stays a clamp.
    let (d, _, r) = run(&mut fix, V, 60, 60, tb);
    assert_eq!(
        (d, r),
        (
            1201,
            Repair::NonMonotonic {
                track: V,
                by_ticks: 21
            }
        )
    );
}

#[test]
fn stuck_at_zero_video_gets_frame_rate_clock() {
    // A camera stamping every video frame 0 (dts = pts = 0) while its audio clock is fine.
    // 25 fps video is announced; the synthesized clock advances 40 ms per frame (not one
    // tick), so it stays in step with the audio.
    let tb = Timebase::MPEG;
    let mut fix = TimestampRepair::new(RepairConfig::mpeg());
    fix.set_frame_duration(V, std::time::Duration::from_millis(40));
    let mut video = Vec::new();
    for i in 0..100i64 {
        let (d, p, r) = run(&mut fix, V, 0, 0, tb);
        video.push(d);
        assert_eq!(p, d, "pts follows the synthesized dts");
        if i == 0 {
            assert_eq!(r, Repair::None);
        } else {
            assert_eq!(
                r,
                Repair::Synthesized {
                    track: V,
                    run: i as u32,
                    step_ns: 40_000_000
                }
            );
        }
        // 8 kHz G.711-style audio, 40 ms packets, real clock.
        let (ad, _, ar) = run(&mut fix, A, i * 3600, i * 3600, tb);
        assert_eq!((ad, ar), (i * 3600, Repair::None), "audio untouched");
    }
    let expected: Vec<i64> = (0..100).map(|i| i * 3600).collect();
    assert_eq!(
        video, expected,
        "video runs on a 25 fps clock, in sync with audio"
    );

    // Without a per-track duration the configured default is used.
    let mut fix = TimestampRepair::new(
        RepairConfig::default().with_default_frame_duration(std::time::Duration::from_millis(33)),
    );
    let d: Vec<i64> = (0..4)
        .map(|_| run(&mut fix, V, 0, 0, Timebase::MILLIS).0)
        .collect();
    assert_eq!(d, [0, 33, 66, 99]);
}

#[test]
fn stuck_clock_uses_the_last_good_step_of_the_track() {
    // 30 ms steps (learned), then the clock freezes: synthesized at 30 ms, not the 20 ms
    // default and not the 40 ms nominal duration.
    let tb = Timebase::MILLIS;
    let mut fix = TimestampRepair::new(RepairConfig::default());
    fix.set_frame_duration(V, std::time::Duration::from_millis(40));
    let mut d = Vec::new();
    for t in [1000, 1030, 1060, 1060, 1060, 1060] {
        d.push(run(&mut fix, V, t, t, tb).0);
    }
    assert_eq!(d, [1000, 1030, 1060, 1090, 1120, 1150]);
}

#[test]
fn stuck_pts_resumes_when_source_recovers() {
    let tb = Timebase::MPEG;
    let mut fix = TimestampRepair::new(RepairConfig::mpeg());
    let mut out = Vec::new();
    // 10 good frames, 5 frozen at the last value, then the source clock continues where
    // real time is (it kept running while the stamps were frozen).
    let input: Vec<i64> = (0..10)
        .map(|i| i * 3600)
        .chain([9 * 3600; 5])
        .chain((15..25).map(|i| i * 3600))
        .collect();
    for &t in &input {
        out.push(run(&mut fix, V, t, t + 7200, tb));
    }
    for (i, (d, p, r)) in out.iter().enumerate() {
        assert_eq!(*d, i as i64 * 3600, "frame {i}");
        if (10..15).contains(&i) {
            assert!(matches!(r, Repair::Synthesized { run, .. } if *run == i as u32 - 9));
        } else {
            assert_eq!(
                *r,
                Repair::None,
                "frame {i}: the source clock is trusted again"
            );
            assert_eq!(p - d, 7200, "composition offset kept");
        }
    }

    // Recovery behind the synthesized clock (the source re-sends the frozen stretch's
    // real times): every track takes a new offset instead of squeezing frames together.
    let mut fix = TimestampRepair::new(RepairConfig::mpeg());
    let mut v = Vec::new();
    let mut a = Vec::new();
    for (i, t) in [0i64, 1, 2, 2, 2, 2, 2, 2, 3, 4].iter().enumerate() {
        v.push(run(&mut fix, V, t * 3600, t * 3600, tb));
        a.push(run(&mut fix, A, i as i64 * 3600 + 10, i as i64 * 3600 + 10, tb).0);
    }
    let vd: Vec<i64> = v.iter().map(|x| x.0 / 3600).collect();
    assert_eq!(vd, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert!(matches!(v[8].2, Repair::Discontinuity { track: V, jump_ns } if jump_ns < 0));
    assert_eq!(v[9].2, Repair::None);
    for w in a.windows(2) {
        assert!(w[1] > w[0], "audio stays monotonic across the new offset");
    }
}

#[test]
fn single_repeated_timestamp_then_normal_clock() {
    // One duplicated stamp (an encoder rounding twice to the same ms) is one synthesized
    // frame; the next real stamp is then clamped by a tick rather than re-based.
    let tb = Timebase::MILLIS;
    let mut fix = TimestampRepair::new(RepairConfig::default());
    let mut d = Vec::new();
    for t in [0, 40, 80, 80, 120, 160] {
        d.push(run(&mut fix, V, t, t, tb));
    }
    let ts: Vec<i64> = d.iter().map(|x| x.0).collect();
    assert_eq!(ts, [0, 40, 80, 120, 121, 160]);
    assert!(matches!(d[3].2, Repair::Synthesized { run: 1, .. }));
    assert!(matches!(d[4].2, Repair::NonMonotonic { by_ticks: 1, .. }));
}

#[test]
fn b_frames_with_proper_dts_pass_untouched() {
    // x264 B-pyramid at 25 fps in 90 kHz: dts = sorted pts delayed two frames.
    let tb = Timebase::MPEG;
    let mut fix = TimestampRepair::new(RepairConfig::mpeg());
    let pts = [0i64, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11];
    for (i, p) in pts.iter().enumerate() {
        let dts = (i as i64 - 2) * 3600 + 900_000;
        let pts = p * 3600 + 900_000;
        let (d, pp, r) = run(&mut fix, V, dts, pts, tb);
        assert_eq!((d, pp, r), (dts, pts, Repair::None), "frame {i}");
    }
}

proptest! {
    #[test]
    fn stuck_runs_stay_strictly_increasing_at_frame_steps(
        events in prop::collection::vec((any::<bool>(), 0i64..6, any::<bool>()), 1..300),
    ) {
        // Few distinct values, so runs of identical stamps and steps back are common.
        let mut fix = TimestampRepair::new(RepairConfig::default());
        fix.set_frame_duration(V, std::time::Duration::from_millis(40));
        let mut last: [Option<i64>; 2] = [None, None];
        let mut last_in: [Option<i64>; 2] = [None, None];
        for (is_audio, v, advance) in events {
            let i = usize::from(is_audio);
            let t = if advance { last_in[i].unwrap_or(0) + 40 } else { v * 40 };
            let track = if is_audio { A } else { V };
            let (d, p, r) = run(&mut fix, track, t, t, Timebase::MILLIS);
            prop_assert!(p >= d);
            if let Some(l) = last[i] {
                prop_assert!(d > l, "track {} went from {} to {}", i, l, d);
                if let Repair::Synthesized { step_ns, .. } = r {
                    prop_assert!(step_ns > 0);
                    prop_assert!(d - l >= 1);
                }
            }
            last[i] = Some(d);
            last_in[i] = Some(t);
        }
    }

    #[test]
    fn a_frozen_clock_advances_by_the_learned_step(
        step in 1i64..200, good in 2usize..20, frozen in 1usize..50, start in -1_000_000i64..1_000_000,
    ) {
        let mut fix = TimestampRepair::new(RepairConfig::default());
        let mut out = Vec::new();
        for i in 0..good {
            out.push(run(&mut fix, V, start + i as i64 * step, start + i as i64 * step, Timebase::MILLIS).0);
        }
        let frozen_at = start + (good as i64 - 1) * step;
        for k in 1..=frozen {
            let (d, _, r) = run(&mut fix, V, frozen_at, frozen_at, Timebase::MILLIS);
            prop_assert_eq!(d, frozen_at + k as i64 * step);
            prop_assert_eq!(r, Repair::Synthesized { track: V, run: k as u32, step_ns: step * 1_000_000 });
        }
    }
}
