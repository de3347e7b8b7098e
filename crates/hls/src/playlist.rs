//! The media playlist model (RFC 8216bis §4.4) and its writer.

use std::fmt::{self, Write};
use std::time::Duration;

use crate::attr::{write_seconds, ByteRange};
use crate::date::DateTime;

/// `EXT-X-PLAYLIST-TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlaylistType {
    /// `EVENT`: segments are only appended.
    Event,
    /// `VOD`: the playlist never changes.
    Vod,
}

/// `EXT-X-SERVER-CONTROL` (§4.4.3.8): the delivery directives a server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub struct ServerControl {
    /// `CAN-BLOCK-RELOAD=YES`: blocking playlist reload (§6.2.5.2).
    pub can_block_reload: bool,
    /// `CAN-SKIP-UNTIL`: the Skip Boundary of delta updates (§6.2.5.1); at least six target
    /// durations.
    pub can_skip_until: Option<Duration>,
    /// `CAN-SKIP-DATERANGES=YES`.
    pub can_skip_dateranges: bool,
    /// `HOLD-BACK`: at least three target durations (absent: three target durations).
    pub hold_back: Option<Duration>,
    /// `PART-HOLD-BACK`: at least twice (and, per Apple, three times) the part target.
    pub part_hold_back: Option<Duration>,
}

/// `EXT-X-SKIP` (§4.4.5.2): the segments a delta update left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub struct Skip {
    /// `SKIPPED-SEGMENTS`.
    pub skipped_segments: u64,
    /// `RECENTLY-REMOVED-DATERANGES`, tab-separated IDs (present when date ranges were
    /// skipped too).
    pub recently_removed_dateranges: Option<String>,
}

/// `EXT-X-MAP` (§4.4.4.5): where the Media Initialization Section is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Map {
    /// `URI`.
    pub uri: String,
    /// `BYTERANGE` (with an offset).
    pub byterange: Option<ByteRange>,
}

impl Map {
    /// A map of a whole resource.
    pub fn new(uri: impl Into<String>) -> Map {
        Map {
            uri: uri.into(),
            byterange: None,
        }
    }
}

/// `EXT-X-PART` (§4.4.4.9): a Partial Segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Part {
    /// `URI`.
    pub uri: String,
    /// `DURATION`; at most the part target.
    pub duration: Duration,
    /// `INDEPENDENT=YES`: the part starts with an independent frame.
    pub independent: bool,
    /// `BYTERANGE`.
    pub byterange: Option<ByteRange>,
    /// `GAP=YES`: the part is not available.
    pub gap: bool,
}

impl Part {
    /// A part of `duration` at `uri`.
    pub fn new(uri: impl Into<String>, duration: Duration) -> Part {
        Part {
            uri: uri.into(),
            duration,
            independent: false,
            byterange: None,
            gap: false,
        }
    }

    /// Sets `INDEPENDENT`.
    pub fn with_independent(mut self, independent: bool) -> Part {
        self.independent = independent;
        self
    }
}

/// A Media Segment: its URI line and the tags that apply to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Segment {
    /// The URI line.
    pub uri: String,
    /// `EXTINF` duration.
    pub duration: Duration,
    /// `EXTINF` title (often empty).
    pub title: String,
    /// `EXT-X-DISCONTINUITY` before it.
    pub discontinuity: bool,
    /// `EXT-X-PROGRAM-DATE-TIME` of its first sample.
    pub program_date_time: Option<DateTime>,
    /// An `EXT-X-MAP` tag written before it (it also applies to the segments after, until
    /// the next one: see [`MediaPlaylist::map_of`]).
    pub map: Option<Map>,
    /// `EXT-X-BYTERANGE`.
    pub byterange: Option<ByteRange>,
    /// `EXT-X-GAP`.
    pub gap: bool,
    /// `EXT-X-BITRATE` (kbit/s) written before it.
    pub bitrate: Option<u64>,
    /// Its Partial Segments (listed near the live edge of a Low-Latency playlist).
    pub parts: Vec<Part>,
    /// Tags before the URI line this model does not type (`EXT-X-KEY`,
    /// `EXT-X-DATERANGE`…), verbatim and in order.
    pub other_tags: Vec<String>,
}

impl Segment {
    /// A segment of `duration` at `uri`.
    pub fn new(uri: impl Into<String>, duration: Duration) -> Segment {
        Segment {
            uri: uri.into(),
            duration,
            title: String::new(),
            discontinuity: false,
            program_date_time: None,
            map: None,
            byterange: None,
            gap: false,
            bitrate: None,
            parts: Vec::new(),
            other_tags: Vec::new(),
        }
    }
}

/// The segment in progress at the live edge of a Low-Latency playlist: the parts listed
/// after the last URI line, with the tags of their parent segment written before them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub struct OpenSegment {
    /// `EXT-X-DISCONTINUITY` before its first part.
    pub discontinuity: bool,
    /// `EXT-X-PROGRAM-DATE-TIME` of its first sample.
    pub program_date_time: Option<DateTime>,
    /// An `EXT-X-MAP` written before its first part.
    pub map: Option<Map>,
    /// Its parts so far.
    pub parts: Vec<Part>,
    /// Untyped tags written before its first part, verbatim.
    pub other_tags: Vec<String>,
}

/// `EXT-X-PRELOAD-HINT` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HintType {
    /// `PART`: a Partial Segment.
    Part,
    /// `MAP`: a Media Initialization Section.
    Map,
}

/// `EXT-X-PRELOAD-HINT` (§4.4.5.3): a resource the client may request before it exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PreloadHint {
    /// `TYPE`.
    pub hint_type: HintType,
    /// `URI`; the URI the resource gets when it is listed.
    pub uri: String,
    /// `BYTERANGE-START`.
    pub byterange_start: Option<u64>,
    /// `BYTERANGE-LENGTH`.
    pub byterange_length: Option<u64>,
}

impl PreloadHint {
    /// A hint for the part at `uri`.
    pub fn part(uri: impl Into<String>) -> PreloadHint {
        PreloadHint {
            hint_type: HintType::Part,
            uri: uri.into(),
            byterange_start: None,
            byterange_length: None,
        }
    }
}

/// `EXT-X-RENDITION-REPORT` (§4.4.5.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RenditionReport {
    /// `URI` of the other rendition's media playlist.
    pub uri: String,
    /// `LAST-MSN`.
    pub last_msn: Option<u64>,
    /// `LAST-PART`.
    pub last_part: Option<u64>,
}

/// A Media Playlist.
///
/// Build one and write it with [`Display`](fmt::Display), or read one with
/// [`MediaPlaylist::parse`]. Segments come in playlist order; the parts of the segment
/// still in progress at the live edge (listed after the last URI line) are in
/// [`open_segment`](MediaPlaylist::open_segment).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub struct MediaPlaylist {
    /// `EXT-X-VERSION`.
    pub version: Option<u32>,
    /// `EXT-X-TARGETDURATION`, seconds.
    pub target_duration: u64,
    /// `EXT-X-MEDIA-SEQUENCE`: the Media Sequence Number of the first segment.
    pub media_sequence: u64,
    /// `EXT-X-DISCONTINUITY-SEQUENCE`.
    pub discontinuity_sequence: u64,
    /// `EXT-X-PLAYLIST-TYPE`.
    pub playlist_type: Option<PlaylistType>,
    /// `EXT-X-INDEPENDENT-SEGMENTS`.
    pub independent_segments: bool,
    /// `EXT-X-I-FRAMES-ONLY`.
    pub i_frames_only: bool,
    /// `EXT-X-PART-INF:PART-TARGET`.
    pub part_target: Option<Duration>,
    /// `EXT-X-SERVER-CONTROL`.
    pub server_control: Option<ServerControl>,
    /// `EXT-X-SKIP` (a delta update).
    pub skip: Option<Skip>,
    /// Media Segments.
    pub segments: Vec<Segment>,
    /// The segment in progress at the live edge: its parts (and their segment's tags)
    /// listed after the last URI line.
    pub open_segment: Option<OpenSegment>,
    /// `EXT-X-PRELOAD-HINT`s.
    pub preload_hints: Vec<PreloadHint>,
    /// `EXT-X-RENDITION-REPORT`s.
    pub rendition_reports: Vec<RenditionReport>,
    /// `EXT-X-ENDLIST`.
    pub end_list: bool,
    /// Playlist-level tags this model does not type, verbatim.
    pub other_tags: Vec<String>,
}

impl MediaPlaylist {
    /// The `EXT-X-MAP` that applies to segment `i` (the last one written at or before it).
    pub fn map_of(&self, i: usize) -> Option<&Map> {
        self.segments
            .get(..=i)?
            .iter()
            .rev()
            .find_map(|s| s.map.as_ref())
    }

    /// The Media Sequence Number of segment `i`, counting the segments a delta update
    /// skipped.
    pub fn msn_of(&self, i: usize) -> u64 {
        let skipped = self.skip.as_ref().map_or(0, |s| s.skipped_segments);
        self.media_sequence
            .saturating_add(skipped)
            .saturating_add(i as u64)
    }

    /// The sum of the segments' durations (without the open segment's parts).
    pub fn duration(&self) -> Duration {
        self.segments.iter().map(|s| s.duration).sum()
    }
}

/// A quoted attribute value (the model keeps URIs free of `"`, CR and LF; others are
/// dropped rather than producing a broken line).
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        write_clean(f, self.0, |c| matches!(c, '"' | '\r' | '\n'))?;
        f.write_char('"')
    }
}

/// Writes `#EXT-X-PART:DURATION=…,URI="…"[,INDEPENDENT=YES][,BYTERANGE=…][,GAP=YES]`.
pub(crate) fn write_part(
    w: &mut impl Write,
    uri: impl fmt::Display,
    duration: Duration,
    independent: bool,
    byterange: Option<ByteRange>,
    gap: bool,
) -> fmt::Result {
    w.write_str("#EXT-X-PART:DURATION=")?;
    write_seconds(w, duration)?;
    write!(w, ",URI=\"{uri}\"")?;
    if independent {
        w.write_str(",INDEPENDENT=YES")?;
    }
    if let Some(b) = byterange {
        write!(w, ",BYTERANGE=\"{b}\"")?;
    }
    if gap {
        w.write_str(",GAP=YES")?;
    }
    w.write_char('\n')
}

/// Writes the header tags a Low-Latency playlist and [`MediaPlaylist`] share.
pub(crate) fn write_server_control(w: &mut impl Write, sc: &ServerControl) -> fmt::Result {
    w.write_str("#EXT-X-SERVER-CONTROL:")?;
    let mut sep = "";
    if sc.can_block_reload {
        w.write_str("CAN-BLOCK-RELOAD=YES")?;
        sep = ",";
    }
    if let Some(d) = sc.can_skip_until {
        write!(w, "{sep}CAN-SKIP-UNTIL=")?;
        write_seconds(w, d)?;
        sep = ",";
        if sc.can_skip_dateranges {
            w.write_str(",CAN-SKIP-DATERANGES=YES")?;
        }
    }
    if let Some(d) = sc.hold_back {
        write!(w, "{sep}HOLD-BACK=")?;
        write_seconds(w, d)?;
        sep = ",";
    }
    if let Some(d) = sc.part_hold_back {
        write!(w, "{sep}PART-HOLD-BACK=")?;
        write_seconds(w, d)?;
    }
    w.write_char('\n')
}

/// Writes the tags of a segment that come before its parts (discontinuity, map, date).
pub(crate) fn write_segment_head(
    w: &mut impl Write,
    discontinuity: bool,
    map: Option<(&dyn fmt::Display, Option<ByteRange>)>,
    pdt: Option<DateTime>,
) -> fmt::Result {
    if discontinuity {
        w.write_str("#EXT-X-DISCONTINUITY\n")?;
    }
    if let Some((uri, range)) = map {
        write!(w, "#EXT-X-MAP:URI=\"{uri}\"")?;
        if let Some(b) = range {
            write!(w, ",BYTERANGE=\"{b}\"")?;
        }
        w.write_char('\n')?;
    }
    if let Some(t) = pdt {
        writeln!(w, "#EXT-X-PROGRAM-DATE-TIME:{t}")?;
    }
    Ok(())
}

/// Writes `#EXTINF:<duration>,<title>`.
pub(crate) fn write_extinf(w: &mut impl Write, duration: Duration, title: &str) -> fmt::Result {
    w.write_str("#EXTINF:")?;
    write_seconds(w, duration)?;
    w.write_char(',')?;
    write_clean(w, title, |c| matches!(c, '\r' | '\n'))?;
    w.write_char('\n')
}

/// Writes a line verbatim (a line break inside would start another line: left out).
fn write_uri_line(w: &mut impl Write, uri: &str) -> fmt::Result {
    write_clean(w, uri, |c| c == '\n')?;
    w.write_char('\n')
}

/// Writes `s` without the characters `bad` picks (in one piece when it has none).
fn write_clean(w: &mut impl Write, s: &str, bad: impl Fn(char) -> bool) -> fmt::Result {
    if !s.contains(&bad) {
        return w.write_str(s);
    }
    for c in s.chars().filter(|c| !bad(*c)) {
        w.write_char(c)?;
    }
    Ok(())
}

fn write_segment(f: &mut String, s: &Segment) -> fmt::Result {
    write_head(f, s.discontinuity, s.map.as_ref(), s.program_date_time)?;
    for t in &s.other_tags {
        write_uri_line(f, t)?;
    }
    for p in &s.parts {
        write_part(
            f,
            Unquoted(&p.uri),
            p.duration,
            p.independent,
            p.byterange,
            p.gap,
        )?;
    }
    if let Some(b) = s.bitrate {
        writeln!(f, "#EXT-X-BITRATE:{b}")?;
    }
    if let Some(b) = s.byterange {
        writeln!(f, "#EXT-X-BYTERANGE:{b}")?;
    }
    if s.gap {
        f.write_str("#EXT-X-GAP\n")?;
    }
    write_extinf(f, s.duration, &s.title)?;
    write_uri_line(f, &s.uri)
}

fn write_head(
    f: &mut String,
    discontinuity: bool,
    map: Option<&Map>,
    pdt: Option<DateTime>,
) -> fmt::Result {
    let unquoted = map.map(|m| (Unquoted(&m.uri), m.byterange));
    let map = unquoted.as_ref().map(|(u, b)| (u as &dyn fmt::Display, *b));
    write_segment_head(f, discontinuity, map, pdt)
}

/// A string written inside quotes: `"`, CR and LF left out.
pub(crate) struct Unquoted<'a>(pub(crate) &'a str);

impl fmt::Display for Unquoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_clean(f, self.0, |c| matches!(c, '"' | '\r' | '\n'))
    }
}

impl fmt::Display for MediaPlaylist {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Built in a String first: many small writes into a Formatter cost more.
        let mut text = String::with_capacity(64 + self.segments.len() * 96);
        self.write_into(&mut text)?;
        out.write_str(&text)
    }
}

impl MediaPlaylist {
    fn write_into(&self, f: &mut String) -> fmt::Result {
        f.write_str("#EXTM3U\n")?;
        if let Some(v) = self.version {
            writeln!(f, "#EXT-X-VERSION:{v}")?;
        }
        writeln!(f, "#EXT-X-TARGETDURATION:{}", self.target_duration)?;
        if let Some(sc) = &self.server_control {
            write_server_control(f, sc)?;
        }
        if let Some(pt) = self.part_target {
            f.write_str("#EXT-X-PART-INF:PART-TARGET=")?;
            write_seconds(f, pt)?;
            f.write_char('\n')?;
        }
        writeln!(f, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence)?;
        if self.discontinuity_sequence != 0 {
            writeln!(
                f,
                "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
                self.discontinuity_sequence
            )?;
        }
        match self.playlist_type {
            Some(PlaylistType::Event) => f.write_str("#EXT-X-PLAYLIST-TYPE:EVENT\n")?,
            Some(PlaylistType::Vod) => f.write_str("#EXT-X-PLAYLIST-TYPE:VOD\n")?,
            None => {}
        }
        if self.independent_segments {
            f.write_str("#EXT-X-INDEPENDENT-SEGMENTS\n")?;
        }
        if self.i_frames_only {
            f.write_str("#EXT-X-I-FRAMES-ONLY\n")?;
        }
        for t in &self.other_tags {
            write_uri_line(f, t)?;
        }
        if let Some(s) = &self.skip {
            write!(f, "#EXT-X-SKIP:SKIPPED-SEGMENTS={}", s.skipped_segments)?;
            if let Some(r) = &s.recently_removed_dateranges {
                write!(f, ",RECENTLY-REMOVED-DATERANGES={}", Quoted(r))?;
            }
            f.write_char('\n')?;
        }
        for s in &self.segments {
            write_segment(f, s)?;
        }
        if let Some(s) = &self.open_segment {
            write_head(f, s.discontinuity, s.map.as_ref(), s.program_date_time)?;
            for t in &s.other_tags {
                write_uri_line(f, t)?;
            }
            for p in &s.parts {
                write_part(
                    f,
                    Unquoted(&p.uri),
                    p.duration,
                    p.independent,
                    p.byterange,
                    p.gap,
                )?;
            }
        }
        for h in &self.preload_hints {
            let t = match h.hint_type {
                HintType::Part => "PART",
                HintType::Map => "MAP",
            };
            write!(f, "#EXT-X-PRELOAD-HINT:TYPE={t},URI={}", Quoted(&h.uri))?;
            if let Some(s) = h.byterange_start {
                write!(f, ",BYTERANGE-START={s}")?;
            }
            if let Some(l) = h.byterange_length {
                write!(f, ",BYTERANGE-LENGTH={l}")?;
            }
            f.write_char('\n')?;
        }
        for r in &self.rendition_reports {
            write!(f, "#EXT-X-RENDITION-REPORT:URI={}", Quoted(&r.uri))?;
            if let Some(m) = r.last_msn {
                write!(f, ",LAST-MSN={m}")?;
            }
            if let Some(p) = r.last_part {
                write!(f, ",LAST-PART={p}")?;
            }
            f.write_char('\n')?;
        }
        if self.end_list {
            f.write_str("#EXT-X-ENDLIST\n")?;
        }
        Ok(())
    }
}
