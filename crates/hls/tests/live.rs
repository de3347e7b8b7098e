//! LivePlaylist behaviour, one rule of RFC 8216bis per test.

use std::fmt::{self, Write};
use std::time::Duration;

use weir_hls::{
    DeliveryDirectives, LiveConfig, LivePlaylist, MediaPlaylist, PartInfo, PartLookup, Readiness,
    UriNames,
};

struct Names;
impl UriNames for Names {
    fn map(&self, w: &mut dyn Write, v: u32) -> fmt::Result {
        write!(w, "init{v}.mp4")
    }
    fn segment(&self, w: &mut dyn Write, msn: u64) -> fmt::Result {
        write!(w, "s{msn}.m4s")
    }
    fn part(&self, w: &mut dyn Write, n: u64) -> fmt::Result {
        write!(w, "p{n}.m4s")
    }
}

const PART: Duration = Duration::from_millis(200);

/// `segments` complete segments of 5 parts (1 s, target duration 1), then `open` parts.
fn live(segments: usize, open: usize, window: usize) -> LivePlaylist<u64> {
    let mut l = LivePlaylist::new(LiveConfig::new(1, PART, window));
    for s in 0..segments {
        for i in 0..5 {
            l.push_part(PartInfo::new(PART, i == 0), (s * 5 + i) as u64);
        }
        l.close_segment();
    }
    for i in 0..open {
        l.push_part(PartInfo::new(PART, i == 0), 1000 + i as u64);
    }
    l
}

fn ask(l: &LivePlaylist<u64>, q: &str) -> Readiness {
    l.readiness(&DeliveryDirectives::parse(q).unwrap())
}

fn render(l: &LivePlaylist<u64>, skip: bool) -> MediaPlaylist {
    let mut s = String::new();
    l.render(&mut s, &Names, skip);
    MediaPlaylist::parse(&s).unwrap()
}

#[test]
fn blocking_reload_waits_for_the_part_and_refuses_far_ahead() {
    let l = live(3, 2, 10); // segments 0..2 complete, segment 3 has parts 0 and 1
    assert_eq!(ask(&l, "_HLS_msn=3&_HLS_part=1"), Readiness::Ready);
    assert_eq!(ask(&l, "_HLS_msn=3&_HLS_part=2"), Readiness::Wait);
    assert_eq!(
        ask(&l, "_HLS_msn=3"),
        Readiness::Wait,
        "msn alone: the whole segment"
    );
    assert_eq!(ask(&l, "_HLS_msn=2"), Readiness::Ready);
    assert_eq!(ask(&l, "_HLS_msn=4"), Readiness::Wait, "last complete + 2");
    assert_eq!(
        ask(&l, "_HLS_msn=5"),
        Readiness::TooFarAhead,
        "last complete + 3"
    );
    // Advance Part Limit: 3 / 0.2 s = 15 parts.
    assert_eq!(ask(&l, "_HLS_msn=3&_HLS_part=16"), Readiness::Wait);
    assert_eq!(ask(&l, "_HLS_msn=3&_HLS_part=17"), Readiness::TooFarAhead);
    assert_eq!(ask(&l, "_HLS_msn=0&_HLS_part=0"), Readiness::Ready);
}

#[test]
fn a_part_index_past_a_segment_means_the_next_segment() {
    // §6.2.5.2: segment 2 has 5 parts; part 5 of it is part 0 of segment 3.
    let l = live(3, 0, 10);
    assert_eq!(ask(&l, "_HLS_msn=2&_HLS_part=4"), Readiness::Ready);
    assert_eq!(ask(&l, "_HLS_msn=2&_HLS_part=5"), Readiness::Wait);
    let l = live(3, 1, 10);
    assert_eq!(ask(&l, "_HLS_msn=2&_HLS_part=5"), Readiness::Ready);
}

#[test]
fn plain_requests_wait_for_a_complete_segment_and_end_answers_all() {
    let mut l = live(0, 3, 10);
    assert_eq!(ask(&l, ""), Readiness::Wait);
    l.end();
    assert_eq!(ask(&l, ""), Readiness::Ready);
    assert_eq!(
        ask(&l, "_HLS_msn=40"),
        Readiness::Ready,
        "§6.2.5.2: ignored after ENDLIST"
    );
    let p = render(&l, true);
    assert!(p.end_list && p.preload_hints.is_empty() && p.skip.is_none());
}

#[test]
fn window_keeps_three_target_durations_and_parts_only_near_the_end() {
    let l = live(20, 2, 4);
    let p = render(&l, false);
    assert_eq!(p.segments.len(), 4);
    assert_eq!(p.media_sequence, 16);
    // Parts listed for the segments within three target durations of the end.
    let with_parts = p.segments.iter().filter(|s| !s.parts.is_empty()).count();
    assert_eq!(with_parts, 3);
    assert_eq!(p.open_segment.as_ref().unwrap().parts.len(), 2);
    // A window of 1 segment still lists three target durations (§6.2.2).
    let p = render(&live(20, 0, 1), false);
    assert_eq!(p.segments.len(), 3);
}

#[test]
fn delta_updates_skip_what_is_past_the_skip_boundary() {
    let l = live(12, 1, 12);
    let full = render(&l, false);
    let delta = render(&l, true);
    // CAN-SKIP-UNTIL = 6 s: of 12 s of segments (+0.2 s), the first 6 end more than 6 s
    // before the end.
    assert_eq!(delta.skip.as_ref().unwrap().skipped_segments, 6);
    assert_eq!(delta.media_sequence, full.media_sequence);
    let uris = |p: &[weir_hls::Segment]| p.iter().map(|s| s.uri.clone()).collect::<Vec<_>>();
    assert_eq!(uris(&delta.segments), uris(&full.segments[6..]));
    assert_eq!(delta.segments[1..], full.segments[7..]);
    assert_eq!(delta.msn_of(0), full.msn_of(6));
    assert!(
        delta.map_of(0).is_some(),
        "the map of the first segment kept"
    );
}

#[test]
fn parts_hints_and_segments_are_looked_up() {
    let l = live(12, 2, 4);
    let next = l.next_part_number();
    assert_eq!(next, 62);
    assert_eq!(l.part(61), PartLookup::Ready(&1001));
    assert_eq!(l.part(next), PartLookup::Hinted);
    assert_eq!(l.part(next + 1), PartLookup::NotFound);
    assert_eq!(l.part(0), PartLookup::NotFound, "long gone");
    // Segments that left the playlist stay downloadable a while.
    assert!(l.segment(7).is_some());
    assert!(l.segment(12).is_none(), "in progress");
    let p = render(&l, false);
    assert_eq!(p.preload_hints[0].uri, format!("p{next}.m4s"));
}

#[test]
fn a_new_map_starts_a_discontinuity() {
    let mut l = live(2, 2, 10);
    l.new_map();
    l.push_part(PartInfo::new(PART, true), 7);
    let p = render(&l, false);
    assert_eq!(p.segments.len(), 3, "the open segment was closed");
    let o = p.open_segment.unwrap();
    assert!(o.discontinuity);
    assert_eq!(o.map.unwrap().uri, "init1.mp4");
}
