//! A Low-Latency HLS playlist being produced: the window of segments and parts, what a
//! blocking request may be answered with, delta updates, and the playlist text.

use std::collections::VecDeque;
use std::fmt::{self, Write};
use std::time::Duration;

use crate::attr::write_seconds;
use crate::date::DateTime;
use crate::directives::DeliveryDirectives;
use crate::playlist::{
    write_extinf, write_part, write_segment_head, write_server_control, ServerControl,
};

/// Settings of a [`LivePlaylist`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveConfig {
    /// `EXT-X-TARGETDURATION`, seconds.
    pub target_duration: u64,
    /// `PART-TARGET`.
    pub part_target: Duration,
    /// Complete segments listed (more are listed when these span less than three target
    /// durations: §6.2.2 forbids a shorter live playlist).
    pub window: usize,
}

impl LiveConfig {
    /// Settings for the given target duration, part target and window.
    pub fn new(target_duration: u64, part_target: Duration, window: usize) -> LiveConfig {
        LiveConfig {
            target_duration: target_duration.max(1),
            part_target,
            window: window.max(1),
        }
    }

    fn td(&self) -> Duration {
        Duration::from_secs(self.target_duration)
    }

    /// The Skip Boundary advertised as `CAN-SKIP-UNTIL`: six target durations, the least
    /// §4.4.3.8 allows.
    pub fn skip_boundary(&self) -> Duration {
        self.td() * 6
    }

    /// `PART-HOLD-BACK`: three part targets (§4.4.3.8 requires two, recommends three; Apple
    /// requires three).
    pub fn part_hold_back(&self) -> Duration {
        self.part_target * 3
    }

    /// The `EXT-X-SERVER-CONTROL` this playlist writes.
    pub fn server_control(&self) -> ServerControl {
        ServerControl {
            can_block_reload: true,
            can_skip_until: Some(self.skip_boundary()),
            can_skip_dateranges: false,
            hold_back: None,
            part_hold_back: Some(self.part_hold_back()),
        }
    }

    /// The Advance Part Limit of §6.2.5.2: three divided by the part target in seconds
    /// when that is under one second, else three.
    pub fn advance_part_limit(&self) -> u64 {
        let ms = self.part_target.as_millis().max(1);
        if ms < 1000 {
            u64::try_from(3000 / ms).unwrap_or(3)
        } else {
            3
        }
    }
}

/// One part as the packager made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartInfo {
    /// Its duration (at most the part target).
    pub duration: Duration,
    /// It starts with an independent frame (`INDEPENDENT=YES`).
    pub independent: bool,
    /// The date and time of its first sample (used for the segment it opens).
    pub program_date_time: Option<DateTime>,
}

impl PartInfo {
    /// A part of `duration`.
    pub fn new(duration: Duration, independent: bool) -> PartInfo {
        PartInfo {
            duration,
            independent,
            program_date_time: None,
        }
    }

    /// With the date and time of its first sample.
    pub fn with_program_date_time(mut self, t: DateTime) -> PartInfo {
        self.program_date_time = Some(t);
        self
    }
}

/// Where a part is: its segment's Media Sequence Number, its Part Index in that segment,
/// and its number among all parts of the playlist (what its URI is made from, so that a
/// preload hint's URI stays right whichever segment the part ends up in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartRef {
    /// Media Sequence Number of its parent segment.
    pub msn: u64,
    /// Part Index within the parent segment.
    pub index: u64,
    /// Number among all parts (0 for the first part of the playlist).
    pub number: u64,
}

#[derive(Debug)]
struct LivePart<T> {
    number: u64,
    duration: Duration,
    independent: bool,
    payload: T,
}

#[derive(Debug)]
struct LiveSegment<T> {
    msn: u64,
    parts: Vec<LivePart<T>>,
    duration: Duration,
    complete: bool,
    discontinuity: bool,
    map: u32,
    pdt: Option<DateTime>,
}

/// What a playlist request can be answered with now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Readiness {
    /// Answer now.
    Ready,
    /// Hold the request until the playlist changes (bounded by the caller: §6.2.5.2 says
    /// 503 after three target durations).
    Wait,
    /// Answer 400 now: the request is too far ahead (§6.2.5.2).
    TooFarAhead,
}

/// A part request's answer.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartLookup<'a, T> {
    /// The part.
    Ready(&'a T),
    /// The part named by the preload hint: hold the request until it exists (§6.2.6).
    Hinted,
    /// Unknown, no longer held, or further ahead than the hint: 404.
    NotFound,
}

/// How URIs are written into the playlist.
pub trait UriNames {
    /// Writes the URI of the initialization section `version`.
    fn map(&self, w: &mut dyn Write, version: u32) -> fmt::Result;
    /// Writes the URI of the complete segment `msn`.
    fn segment(&self, w: &mut dyn Write, msn: u64) -> fmt::Result;
    /// Writes the URI of part `number` (see [`PartRef::number`]).
    fn part(&self, w: &mut dyn Write, number: u64) -> fmt::Result;
}

struct Named<'a, N: ?Sized>(&'a N, Kind);

#[derive(Clone, Copy)]
enum Kind {
    Map(u32),
    Part(u64),
}

impl<N: UriNames + ?Sized> fmt::Display for Named<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Kind::Map(v) => self.0.map(f, v),
            Kind::Part(n) => self.0.part(f, n),
        }
    }
}

/// A Low-Latency HLS media playlist being produced, with the payload of every part it
/// still holds (`T`: the bytes, however the caller keeps them).
///
/// Sans-IO: the caller pushes parts as its packager cuts them ([`push_part`]), ends segments
/// ([`close_segment`]) and the stream ([`end`]); for each request it asks [`readiness`]
/// (blocking reload, §6.2.5.2), renders the playlist ([`render`], delta updates §6.2.5.1)
/// and looks up parts ([`part`], preload hints §6.2.6) and segments ([`segment`]). Waiting
/// and timeouts are the caller's.
///
/// [`push_part`]: LivePlaylist::push_part
/// [`close_segment`]: LivePlaylist::close_segment
/// [`end`]: LivePlaylist::end
/// [`readiness`]: LivePlaylist::readiness
/// [`render`]: LivePlaylist::render
/// [`part`]: LivePlaylist::part
/// [`segment`]: LivePlaylist::segment
#[derive(Debug)]
pub struct LivePlaylist<T> {
    config: LiveConfig,
    /// Segments still held, oldest first; the last may be open (in progress).
    segments: VecDeque<LiveSegment<T>>,
    /// How many of the oldest held segments are no longer listed.
    unlisted: usize,
    next_msn: u64,
    next_part: u64,
    map: u32,
    pending_discontinuity: bool,
    discontinuity_sequence: u64,
    ended: bool,
}

impl<T> LivePlaylist<T> {
    /// An empty playlist.
    pub fn new(config: LiveConfig) -> LivePlaylist<T> {
        LivePlaylist {
            config,
            segments: VecDeque::new(),
            unlisted: 0,
            next_msn: 0,
            next_part: 0,
            map: 0,
            pending_discontinuity: false,
            discontinuity_sequence: 0,
            ended: false,
        }
    }

    /// The settings.
    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    /// The initialization section version the next segment uses.
    pub fn map_version(&self) -> u32 {
        self.map
    }

    /// A new initialization section (the tracks changed): the open segment is closed and
    /// the next one starts with `EXT-X-DISCONTINUITY` and the new `EXT-X-MAP`.
    pub fn new_map(&mut self) -> u32 {
        self.close_segment();
        self.map = self.map.wrapping_add(1);
        self.pending_discontinuity = !self.segments.is_empty();
        self.map
    }

    fn open(&mut self) -> Option<&mut LiveSegment<T>> {
        self.segments.back_mut().filter(|s| !s.complete)
    }

    /// Adds a part to the open segment (opening one if needed). Ignored after [`end`].
    ///
    /// [`end`]: LivePlaylist::end
    pub fn push_part(&mut self, info: PartInfo, payload: T) -> Option<PartRef> {
        if self.ended {
            return None;
        }
        if self.open().is_none() {
            let msn = self.next_msn;
            self.next_msn += 1;
            let discontinuity = std::mem::take(&mut self.pending_discontinuity);
            let map = self.map;
            self.segments.push_back(LiveSegment {
                msn,
                parts: Vec::new(),
                duration: Duration::ZERO,
                complete: false,
                discontinuity,
                map,
                pdt: info.program_date_time,
            });
        }
        let number = self.next_part;
        self.next_part += 1;
        let seg = self.segments.back_mut()?;
        seg.duration += info.duration;
        seg.parts.push(LivePart {
            number,
            duration: info.duration,
            independent: info.independent,
            payload,
        });
        Some(PartRef {
            msn: seg.msn,
            index: seg.parts.len() as u64 - 1,
            number,
        })
    }

    /// Completes the open segment (if it has parts) and drops what left the window.
    pub fn close_segment(&mut self) {
        if let Some(s) = self.open() {
            s.complete = true;
            self.evict();
        }
    }

    /// The stream ended: the open segment is completed and the playlist gets
    /// `EXT-X-ENDLIST`.
    pub fn end(&mut self) {
        self.close_segment();
        self.ended = true;
    }

    /// True once [`end`](LivePlaylist::end) was called.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    fn listed(&self) -> impl Iterator<Item = &LiveSegment<T>> {
        self.segments.iter().skip(self.unlisted)
    }

    fn evict(&mut self) {
        let min = self.config.td() * 3;
        loop {
            let complete: Vec<&LiveSegment<T>> = self.listed().filter(|s| s.complete).collect();
            let Some(first) = complete.first() else { break };
            let total: Duration = complete.iter().map(|s| s.duration).sum();
            // §6.2.2: never leave less than three target durations listed.
            if complete.len() <= self.config.window || total - first.duration < min {
                break;
            }
            if first.discontinuity {
                self.discontinuity_sequence += 1;
            }
            self.unlisted += 1;
        }
        // Segments (and their parts) stay downloadable after they leave the playlist: for
        // their availability duration (§6.2.2) and, for parts, three target durations after
        // their tags went (§6.2.2) — both covered by keeping them while they end less than
        // the listed duration plus six target durations before the live edge.
        let listed: Duration = self.listed().map(|s| s.duration).sum();
        let keep = listed + self.config.td() * 6;
        while self.unlisted > 0 {
            let age: Duration = self.segments.iter().skip(1).map(|s| s.duration).sum();
            if age <= keep {
                break;
            }
            self.segments.pop_front();
            self.unlisted -= 1;
        }
    }

    /// The last part: its segment's MSN and its Part Index.
    pub fn last_part(&self) -> Option<PartRef> {
        let s = self.segments.iter().rev().find(|s| !s.parts.is_empty())?;
        let p = s.parts.last()?;
        Some(PartRef {
            msn: s.msn,
            index: s.parts.len() as u64 - 1,
            number: p.number,
        })
    }

    /// The number the next part will get (the preload hint's part).
    pub fn next_part_number(&self) -> u64 {
        self.next_part
    }

    /// True when at least one segment is complete and listed.
    pub fn has_segment(&self) -> bool {
        self.listed().any(|s| s.complete)
    }

    /// Media Sequence Number of the segment in progress (or the next one).
    fn live_msn(&self) -> u64 {
        match self.segments.back() {
            Some(s) if !s.complete => s.msn,
            _ => self.next_msn,
        }
    }

    /// Whether a playlist request with these directives can be answered now.
    ///
    /// * no `_HLS_msn`: ready once a complete segment is listed (a player that does not
    ///   read parts, such as ffmpeg, refuses a playlist without one);
    /// * `_HLS_msn=M` alone: ready once segment `M` is complete (§6.2.5.2);
    /// * with `_HLS_part=N`: ready once part `N` of segment `M`, or anything later, is
    ///   listed; a Part Index past a complete segment's last part means part 0 of the next
    ///   segment (§6.2.5.2);
    /// * [`Readiness::TooFarAhead`] when `M` is more than two past the last complete
    ///   segment, or the part more than the Advance Part Limit past the last part;
    /// * ready at once after [`end`](LivePlaylist::end) (the directives are ignored then).
    pub fn readiness(&self, d: &DeliveryDirectives) -> Readiness {
        if self.ended {
            return Readiness::Ready;
        }
        let Some(msn) = d.msn else {
            return if self.has_segment() {
                Readiness::Ready
            } else {
                Readiness::Wait
            };
        };
        let live = self.live_msn();
        // "the last Media Segment in the current Playlist" is the last complete one,
        // live - 1; more than two past it is refused.
        if msn > live.saturating_add(1) {
            return Readiness::TooFarAhead;
        }
        let last = self.last_part();
        let Some(part) = d.part else {
            return if msn < live {
                Readiness::Ready
            } else {
                Readiness::Wait
            };
        };
        // Parts a request is ahead of the last one.
        let ahead = match last {
            Some(l) if msn == l.msn => part.saturating_sub(l.index),
            // The segment in progress may get more parts first: at least this many.
            Some(l) if msn > l.msn => part.saturating_add(1),
            Some(_) => 0,
            None => part.saturating_add(1),
        };
        if ahead > self.config.advance_part_limit() {
            return Readiness::TooFarAhead;
        }
        let Some(last) = last else {
            return Readiness::Wait;
        };
        // (msn, part) normalized: past a complete segment's end means the next segment.
        let (mut m, mut p) = (msn, part);
        if let Some(s) = self.segments.iter().find(|s| s.msn == m) {
            if s.complete && p >= s.parts.len() as u64 {
                m += 1;
                p = 0;
            }
        } else if m < self.segments.front().map_or(0, |s| s.msn) {
            // Older than anything held: the full playlist answers it (§6.2.5.2).
            return Readiness::Ready;
        }
        if (m, p) <= (last.msn, last.index) {
            Readiness::Ready
        } else {
            Readiness::Wait
        }
    }

    /// A part by its number.
    pub fn part(&self, number: u64) -> PartLookup<'_, T> {
        if number == self.next_part && !self.ended {
            return PartLookup::Hinted;
        }
        for s in self.segments.iter().rev() {
            let Some(first) = s.parts.first() else {
                continue;
            };
            if number >= first.number {
                return match s.parts.get((number - first.number) as usize) {
                    Some(p) => PartLookup::Ready(&p.payload),
                    None => PartLookup::NotFound,
                };
            }
        }
        PartLookup::NotFound
    }

    /// The parts' payloads of complete segment `msn`, if held.
    pub fn segment(&self, msn: u64) -> Option<impl Iterator<Item = &T>> {
        let s = self.segments.iter().find(|s| s.msn == msn && s.complete)?;
        Some(s.parts.iter().map(|p| &p.payload))
    }

    /// Writes the playlist (a delta update skipping old segments when `skip` is set and the
    /// playlist has not ended, §6.2.5.1) into `out`.
    pub fn render(&self, out: &mut String, names: &dyn UriNames, skip: bool) {
        // Writing into a String cannot fail.
        let _ = self.write(out, names, skip);
    }

    fn write(&self, w: &mut String, names: &dyn UriNames, skip: bool) -> fmt::Result {
        let c = &self.config;
        w.push_str("#EXTM3U\n#EXT-X-VERSION:9\n");
        writeln!(w, "#EXT-X-TARGETDURATION:{}", c.target_duration)?;
        write_server_control(w, &c.server_control())?;
        w.push_str("#EXT-X-PART-INF:PART-TARGET=");
        write_seconds(w, c.part_target)?;
        w.push('\n');
        let listed: Vec<&LiveSegment<T>> = self.listed().collect();
        let first_msn = listed.first().map_or(self.next_msn, |s| s.msn);
        writeln!(w, "#EXT-X-MEDIA-SEQUENCE:{first_msn}")?;
        if self.discontinuity_sequence > 0 {
            writeln!(
                w,
                "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
                self.discontinuity_sequence
            )?;
        }
        w.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        let end: Duration = listed.iter().map(|s| s.duration).sum();
        // Segments ending further than the Skip Boundary from the end are skipped.
        let mut skipped = 0;
        if skip && !self.ended {
            let mut at = Duration::ZERO;
            for s in listed.iter().filter(|s| s.complete) {
                at += s.duration;
                if end - at > c.skip_boundary() {
                    skipped += 1;
                } else {
                    break;
                }
            }
            if skipped > 0 {
                writeln!(w, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}")?;
            }
        }
        // Parts are listed for the segments within three target durations of the end.
        let parts_from = end.saturating_sub(c.td() * 3);
        let mut at = Duration::ZERO;
        let mut map = None;
        for s in &listed {
            at += s.duration;
            if skipped > 0 {
                skipped -= 1;
                continue;
            }
            let new_map = (map != Some(s.map)).then_some(s.map);
            map = Some(s.map);
            let m = new_map.map(|v| Named(names, Kind::Map(v)));
            let m = m.as_ref().map(|n| (n as &dyn fmt::Display, None));
            write_segment_head(w, s.discontinuity, m, s.pdt)?;
            if !s.complete || at >= parts_from {
                for p in &s.parts {
                    let uri = Named(names, Kind::Part(p.number));
                    write_part(w, uri, p.duration, p.independent, None, false)?;
                }
            }
            if s.complete {
                write_extinf(w, s.duration, "")?;
                names.segment(w, s.msn)?;
                w.push('\n');
            }
        }
        if self.ended {
            w.push_str("#EXT-X-ENDLIST\n");
        } else {
            w.push_str("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"");
            names.part(w, self.next_part)?;
            w.push_str("\"\n");
        }
        Ok(())
    }
}
