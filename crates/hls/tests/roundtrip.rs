//! Property tests: writing then parsing a playlist gives it back; the directive parser and
//! the playlist parser never panic on any input; the scheduler keeps every part within
//! PART-TARGET (and above 85 % of it unless it ends a segment) for any frame rate.

use std::time::Duration;

use proptest::prelude::*;
use weir_hls::{
    Cut, DateTime, DeliveryDirectives, Map, MediaPlaylist, OpenSegment, Part, PreloadHint,
    ScheduleConfig, Scheduler, Segment, ServerControl, Skip,
};
use weir_media::{Timebase, Timestamp};

fn dur() -> impl Strategy<Value = Duration> {
    // Written with 10 µs resolution.
    (0u64..10_000_000).prop_map(|n| Duration::from_micros(n * 10))
}

fn uri() -> impl Strategy<Value = String> {
    "[a-z0-9_./?=&-]{1,24}".prop_filter("not a comment", |s| !s.starts_with('#'))
}

fn part() -> impl Strategy<Value = Part> {
    (uri(), dur(), any::<bool>(), any::<bool>()).prop_map(|(u, d, i, g)| {
        let mut p = Part::new(u, d).with_independent(i);
        p.gap = g;
        p
    })
}

fn segment() -> impl Strategy<Value = Segment> {
    (
        uri(),
        dur(),
        any::<bool>(),
        proptest::option::of(0i64..4_000_000_000_000),
        proptest::option::of(uri()),
        proptest::collection::vec(part(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(u, d, disc, pdt, map, parts, gap)| {
            let mut s = Segment::new(u, d);
            s.discontinuity = disc;
            s.program_date_time = pdt.map(DateTime::from_unix_millis);
            s.map = map.map(Map::new);
            s.parts = parts;
            s.gap = gap;
            s
        })
}

fn playlist() -> impl Strategy<Value = MediaPlaylist> {
    (
        (1u64..100, any::<u64>(), 0u64..1000, any::<bool>()),
        proptest::option::of((dur(), dur(), dur())),
        proptest::option::of(0u64..50),
        proptest::collection::vec(segment(), 0..12),
        proptest::option::of(proptest::collection::vec(part(), 1..5)),
        proptest::option::of(uri()),
        any::<bool>(),
    )
        .prop_map(|((td, ms, ds, ind), ll, skip, segments, open, hint, end)| {
            let mut p = MediaPlaylist::default();
            p.version = Some(9);
            p.target_duration = td;
            p.media_sequence = ms;
            p.discontinuity_sequence = ds;
            p.independent_segments = ind;
            if let Some((pt, until, phb)) = ll {
                p.part_target = Some(pt);
                let mut sc = ServerControl::default();
                sc.can_block_reload = true;
                sc.can_skip_until = Some(until);
                sc.part_hold_back = Some(phb);
                p.server_control = Some(sc);
            }
            p.skip = skip.map(|n| {
                let mut s = Skip::default();
                s.skipped_segments = n;
                s
            });
            p.segments = segments;
            p.open_segment = open.map(|parts| {
                let mut o = OpenSegment::default();
                o.parts = parts;
                o
            });
            p.preload_hints = hint.into_iter().map(PreloadHint::part).collect();
            p.end_list = end;
            p
        })
}

proptest! {
    #[test]
    fn write_then_parse_is_identity(p in playlist()) {
        let text = p.to_string();
        let back = MediaPlaylist::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, p);
    }

    #[test]
    fn parsers_never_panic(text in "(#EXT[-A-Z]{0,20}(:[-A-Z0-9=,.\"@a-z]{0,30})?\n|[a-z0-9.]{0,10}\n){0,30}") {
        let _ = MediaPlaylist::parse(&format!("#EXTM3U\n{text}"));
        let _ = DeliveryDirectives::parse(&text.replace('\n', "&"));
    }

    #[test]
    fn directives_roundtrip(msn in any::<u64>(), part in proptest::option::of(any::<u64>())) {
        let q = match part {
            Some(n) => format!("x=1&_HLS_msn={msn}&_HLS_part={n}"),
            None => format!("_HLS_msn={msn}"),
        };
        let d = DeliveryDirectives::parse(&q).unwrap();
        prop_assert_eq!((d.msn, d.part), (Some(msn), part));
    }

    #[test]
    fn parts_stay_within_the_target(
        frame_us in 5_000u64..120_000,
        jitter in 0u64..2,
        part_ms in 50u64..1000,
        gop in 1usize..120,
    ) {
        let mut s = Scheduler::new(ScheduleConfig::new(
            Duration::from_millis(part_ms),
            Duration::from_secs(2),
        ));
        let mut part_start = 0i64;
        let mut t = 0i64;
        for i in 0..600usize {
            // Millisecond timestamps of a frame rate that does not divide them evenly.
            let ms = t / 1000 + (i as i64 % 2) * jitter as i64;
            let cut = s.frame(Timestamp::new(ms, Timebase::MILLIS), i % gop == 0);
            if cut != Cut::None {
                let pt = s.part_target().unwrap();
                let d = Duration::from_millis((ms - part_start) as u64);
                // Millisecond timestamps make a step up to 1 ms longer than any seen before
                // (8.055 ms frames step 8 or 9 ms; the first 9 can end a part 1 ms over).
                prop_assert!(
                    d <= pt + Duration::from_millis(jitter + 1),
                    "part {d:?} over {pt:?}"
                );
                if cut == Cut::Part {
                    // A part that does not end a segment is cut only when the next frame
                    // would not fit: it is short of the target by less than the longest
                    // recent frame step (millisecond timestamps round a step up by at most
                    // 1 ms, and the jitter adds its own).
                    let step = Duration::from_millis(frame_us.div_ceil(1000) + jitter);
                    prop_assert!(d + step > pt, "part {d:?} ends early: target {pt:?}, frame {step:?}");
                }
                part_start = ms;
            }
            t += frame_us as i64;
        }
    }
}
