//! An LL-HLS playlist checker for the tests (Apple's mediastreamvalidator is not available
//! here): the MUST rules of RFC 8216bis that a live Low-Latency media playlist can be
//! checked for from the outside, on one playlist and across the playlists polled over time,
//! built on weir-hls's parser.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use weir_hls::{HintType, MediaPlaylist, Part};

/// One listed part, as first seen.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenPart {
    pub uri: String,
    pub duration: Duration,
    pub independent: bool,
}

/// What the checker remembers across polls.
#[derive(Default)]
pub struct Checker {
    /// msn → (uri, duration, program date ms).
    segments: HashMap<u64, (String, Duration, Option<i64>)>,
    /// msn → the segment's parts once it was complete.
    parts_of: HashMap<u64, Vec<SeenPart>>,
    /// Part URI (without query) → how it was listed.
    parts: HashMap<String, SeenPart>,
    last_msn: u64,
    target: Option<(u64, Duration)>,
    pub playlists: usize,
    pub new_parts: Vec<SeenPart>,
}

/// The URI without its query.
pub fn path_of(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri)
}

/// The number in a part URI `llE-pN.m4s`.
pub fn part_number(uri: &str) -> u64 {
    let p = path_of(uri);
    p.rsplit_once("-p")
        .and_then(|(_, n)| n.strip_suffix(".m4s"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a part URI: {uri}"))
}

fn close(a: Duration, b: Duration, tol: Duration) -> bool {
    a.max(b) - a.min(b) <= tol
}

impl Checker {
    /// Checks one full (not delta) playlist; `ask` is the blocking request it answered
    /// (`_HLS_msn`, `_HLS_part`), if any.
    pub fn full(&mut self, text: &str, ask: Option<(u64, Option<u64>)>) -> MediaPlaylist {
        let p = MediaPlaylist::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(p.skip.is_none(), "a full playlist has no EXT-X-SKIP");
        self.common(&p, text);
        // MSN never decreases (§6.2.2) and a segment once listed never changes (§6.2.1).
        assert!(
            p.media_sequence >= self.last_msn,
            "MEDIA-SEQUENCE went back\n{text}"
        );
        self.last_msn = p.media_sequence;
        let mut prev_end: Option<(i64, Duration)> = None;
        for (i, s) in p.segments.iter().enumerate() {
            let msn = p.msn_of(i);
            let pdt = s.program_date_time.map(|t| t.unix_millis());
            let entry = (path_of(&s.uri).to_string(), s.duration, pdt);
            match self.segments.get(&msn) {
                Some(old) => assert_eq!(old, &entry, "segment {msn} changed\n{text}"),
                None => {
                    self.segments.insert(msn, entry);
                }
            }
            // PDT of every segment, consistent with the durations (§6.2.1: no ambiguity).
            let pdt = pdt.unwrap_or_else(|| panic!("segment {msn} without PDT\n{text}"));
            if let Some((t, d)) = prev_end {
                let gap = pdt - t - d.as_millis() as i64;
                assert!(gap.abs() <= 2, "PDT of {msn} off by {gap} ms\n{text}");
            }
            prev_end = Some((pdt, s.duration));
            // A segment's parts, when listed, add up to it and start independent.
            if !s.parts.is_empty() {
                let sum: Duration = s.parts.iter().map(|x| x.duration).sum();
                assert!(
                    close(sum, s.duration, Duration::from_millis(1)),
                    "segment {msn}: parts {sum:?} vs EXTINF {:?}\n{text}",
                    s.duration
                );
                assert!(
                    s.parts[0].independent,
                    "segment {msn} starts independent\n{text}"
                );
                let seen: Vec<SeenPart> = s.parts.iter().map(seen).collect();
                match self.parts_of.get(&msn) {
                    Some(old) => assert_eq!(old, &seen, "parts of {msn} changed\n{text}"),
                    None => {
                        self.parts_of.insert(msn, seen);
                    }
                }
            }
        }
        if let (Some((t, d)), Some(o)) = (prev_end, &p.open_segment) {
            if let Some(open) = o.program_date_time {
                let gap = open.unix_millis() - t - d.as_millis() as i64;
                assert!(gap.abs() <= 2, "open segment PDT off by {gap} ms\n{text}");
            }
        }
        // Parts are listed in order, numbered one after another; the hint names the next.
        let all: Vec<&Part> = p
            .segments
            .iter()
            .flat_map(|s| &s.parts)
            .chain(p.open_segment.iter().flat_map(|o| &o.parts))
            .collect();
        for w in all.windows(2) {
            assert_eq!(part_number(&w[1].uri), part_number(&w[0].uri) + 1, "{text}");
        }
        if !p.end_list {
            assert_eq!(p.preload_hints.len(), 1, "one hint\n{text}");
            let h = &p.preload_hints[0];
            assert_eq!(h.hint_type, HintType::Part);
            if let Some(last) = all.last() {
                assert_eq!(part_number(&h.uri), part_number(&last.uri) + 1, "{text}");
            }
        }
        // A blocking reload returns a playlist holding what was asked (§6.2.5.2).
        if let Some((msn, part)) = ask {
            let next = p.msn_of(p.segments.len());
            let open = p.open_segment.as_ref().map_or(0, |o| o.parts.len() as u64);
            let have = match part {
                None => next > msn,
                Some(_) if msn + 1 < next => true,
                Some(k) if msn + 1 == next => {
                    // Past the last part of a complete segment means the next one's part 0.
                    let count = p.segments.last().map_or(0, |s| s.parts.len() as u64);
                    k < count || count == 0 || open > 0
                }
                Some(k) => msn == next && open > k,
            };
            assert!(
                have,
                "blocking reload {msn}/{part:?} answered without it\n{text}"
            );
        }
        for s in all {
            self.note_part(s, text);
        }
        self.playlists += 1;
        p
    }

    fn note_part(&mut self, s: &Part, text: &str) {
        let key = path_of(&s.uri).to_string();
        let now = seen(s);
        match self.parts.get(&key) {
            Some(old) => assert_eq!(old, &now, "part {key} changed\n{text}"),
            None => {
                self.parts.insert(key, now.clone());
                self.new_parts.push(now);
            }
        }
    }

    /// The rules every playlist (full or delta) follows.
    fn common(&mut self, p: &MediaPlaylist, text: &str) {
        assert!(
            p.version.unwrap_or(0) >= 9,
            "EXT-X-VERSION ≥ 9 for EXT-X-SKIP\n{text}"
        );
        assert!(p.independent_segments, "{text}");
        let td = p.target_duration;
        let pt = p.part_target.unwrap_or_else(|| panic!("PART-INF\n{text}"));
        // Neither changes (§6.2.1).
        match self.target {
            Some(t) => assert_eq!(t, (td, pt), "TARGETDURATION/PART-TARGET changed"),
            None => self.target = Some((td, pt)),
        }
        assert!(pt <= Duration::from_secs(1), "parts of at most 1 s");
        let sc = p
            .server_control
            .unwrap_or_else(|| panic!("SERVER-CONTROL\n{text}"));
        assert!(sc.can_block_reload);
        assert!(
            sc.part_hold_back.unwrap() >= pt * 3,
            "PART-HOLD-BACK ≥ 3 × PART-TARGET"
        );
        assert!(
            sc.can_skip_until.unwrap() >= Duration::from_secs(td * 6),
            "Skip Boundary ≥ 6 TD"
        );
        assert!(
            p.segments
                .iter()
                .enumerate()
                .all(|(i, s)| i == 0 || s.map.is_none())
                || p.segments.iter().any(|s| s.discontinuity),
            "one EXT-X-MAP without a discontinuity\n{text}"
        );
        assert!(
            p.map_of(0).is_some() || p.segments.is_empty(),
            "EXT-X-MAP first\n{text}"
        );
        for s in &p.segments {
            // §6.2.1: the duration, rounded to whole seconds, is at most the target.
            let rounded = (s.duration.as_millis() + 500) / 1000;
            assert!(
                rounded as u64 <= td,
                "EXTINF {:?} over TARGETDURATION {td}",
                s.duration
            );
        }
        let parts = p
            .segments
            .iter()
            .flat_map(|s| &s.parts)
            .chain(p.open_segment.iter().flat_map(|o| &o.parts));
        for x in parts {
            assert!(
                x.duration <= pt,
                "part {} {:?} over PART-TARGET {pt:?}",
                x.uri,
                x.duration
            );
        }
    }

    /// Checks a delta update against a full playlist answering the same request.
    pub fn delta(&mut self, text: &str, full: &MediaPlaylist) {
        let d = MediaPlaylist::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        self.common(&d, text);
        assert_eq!(d.media_sequence, full.media_sequence, "{text}");
        let skip = d.skip.as_ref().map_or(0, |s| s.skipped_segments);
        // What is not skipped is what the full playlist lists for those numbers.
        for (i, s) in d.segments.iter().enumerate() {
            let msn = d.msn_of(i);
            let j = (msn - full.media_sequence) as usize;
            if let Some(f) = full.segments.get(j) {
                assert_eq!(
                    (&s.uri, s.duration),
                    (&f.uri, f.duration),
                    "delta {msn}\n{text}"
                );
                assert_eq!(s.program_date_time, f.program_date_time);
            }
        }
        // Skipped segments end further than the Skip Boundary from the end (§6.2.5.1).
        if skip > 0 {
            let until = d.server_control.unwrap().can_skip_until.unwrap();
            let rest: Duration = d.segments.iter().map(|s| s.duration).sum::<Duration>()
                + d.open_segment
                    .iter()
                    .flat_map(|o| &o.parts)
                    .map(|x| x.duration)
                    .sum::<Duration>();
            assert!(
                rest >= until,
                "kept {rest:?} < skip boundary {until:?}\n{text}"
            );
        }
        self.playlists += 1;
    }

    pub fn segments_seen(&self) -> usize {
        self.segments.len()
    }
}

fn seen(p: &Part) -> SeenPart {
    SeenPart {
        uri: path_of(&p.uri).to_string(),
        duration: p.duration,
        independent: p.independent,
    }
}
