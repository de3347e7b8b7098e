//! The media playlist parser.

use std::time::Duration;

use crate::attr::{attributes, decimal_integer, seconds, ByteRange, Value};
use crate::date::DateTime;
use crate::error::{Error, Result};
use crate::playlist::{
    HintType, Map, MediaPlaylist, OpenSegment, Part, PlaylistType, PreloadHint, RenditionReport,
    Segment, ServerControl, Skip,
};

/// Limits of [`MediaPlaylist::parse_with`]: input past them is an error, never an
/// allocation of an attacker-chosen size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseLimits {
    /// Largest playlist, bytes (default 4 MiB).
    pub max_bytes: usize,
    /// Longest line, bytes (default 64 KiB).
    pub max_line_bytes: usize,
    /// Most segments (default 100 000).
    pub max_segments: usize,
    /// Most parts, all segments together (default 100 000).
    pub max_parts: usize,
}

impl Default for ParseLimits {
    fn default() -> ParseLimits {
        ParseLimits {
            max_bytes: 4 << 20,
            max_line_bytes: 64 << 10,
            max_segments: 100_000,
            max_parts: 100_000,
        }
    }
}

/// Tags of a segment seen before its URI line.
#[derive(Default)]
struct Pending {
    extinf: Option<(Duration, String)>,
    discontinuity: bool,
    pdt: Option<DateTime>,
    map: Option<Map>,
    byterange: Option<ByteRange>,
    gap: bool,
    bitrate: Option<u64>,
    parts: Vec<Part>,
    other: Vec<String>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.extinf.is_none()
            && !self.discontinuity
            && self.pdt.is_none()
            && self.map.is_none()
            && self.byterange.is_none()
            && !self.gap
            && self.bitrate.is_none()
            && self.parts.is_empty()
            && self.other.is_empty()
    }
}

const MULTIVARIANT: &[&str] = &[
    "EXT-X-STREAM-INF",
    "EXT-X-I-FRAME-STREAM-INF",
    "EXT-X-MEDIA",
    "EXT-X-SESSION-DATA",
    "EXT-X-SESSION-KEY",
    "EXT-X-CONTENT-STEERING",
];

/// Playlist-level tags kept verbatim (not applied to a segment).
const PLAYLIST_LEVEL: &[&str] = &["EXT-X-START", "EXT-X-DEFINE", "EXT-X-ALLOW-CACHE"];

struct Parser {
    limits: ParseLimits,
    line: usize,
    p: MediaPlaylist,
    pending: Pending,
    parts: usize,
    target_seen: bool,
}

type Attrs<'a> = Vec<(&'a str, Value<'a>)>;

impl Parser {
    fn err(&self, tag: &'static str, reason: &'static str) -> Error {
        Error::Line {
            line: self.line,
            tag,
            reason,
        }
    }

    fn attrs<'a>(&self, tag: &'static str, v: &'a str) -> Result<Attrs<'a>> {
        attributes(v).ok_or_else(|| self.err(tag, "malformed attribute list"))
    }

    fn int(&self, tag: &'static str, v: &str) -> Result<u64> {
        decimal_integer(v).ok_or_else(|| self.err(tag, "not a decimal-integer"))
    }

    fn secs(&self, tag: &'static str, v: Value<'_>) -> Result<Duration> {
        v.plain()
            .and_then(seconds)
            .ok_or_else(|| self.err(tag, "not a decimal-floating-point number"))
    }

    fn quoted<'a>(&self, tag: &'static str, v: Value<'a>) -> Result<&'a str> {
        v.quoted()
            .ok_or_else(|| self.err(tag, "value must be quoted"))
    }

    fn yes(&self, tag: &'static str, v: Value<'_>) -> Result<bool> {
        match v.plain() {
            Some("YES") => Ok(true),
            Some("NO") => Ok(false),
            _ => Err(self.err(tag, "value must be YES")),
        }
    }

    fn part(&mut self, v: &str) -> Result<()> {
        const T: &str = "EXT-X-PART";
        self.parts += 1;
        if self.parts > self.limits.max_parts {
            return Err(Error::LimitExceeded {
                what: "parts",
                limit: self.limits.max_parts,
            });
        }
        let (mut uri, mut duration) = (None, None);
        let mut part = Part::new("", Duration::ZERO);
        for (k, v) in self.attrs(T, v)? {
            match k {
                "URI" => uri = Some(self.quoted(T, v)?),
                "DURATION" => duration = Some(self.secs(T, v)?),
                "INDEPENDENT" => part.independent = self.yes(T, v)?,
                "GAP" => part.gap = self.yes(T, v)?,
                "BYTERANGE" => {
                    part.byterange = Some(
                        ByteRange::parse(self.quoted(T, v)?)
                            .ok_or_else(|| self.err(T, "bad BYTERANGE"))?,
                    )
                }
                _ => {}
            }
        }
        part.uri = uri.ok_or_else(|| self.err(T, "no URI"))?.to_string();
        part.duration = duration.ok_or_else(|| self.err(T, "no DURATION"))?;
        self.pending.parts.push(part);
        Ok(())
    }

    fn server_control(&mut self, v: &str) -> Result<()> {
        const T: &str = "EXT-X-SERVER-CONTROL";
        let mut sc = ServerControl::default();
        for (k, v) in self.attrs(T, v)? {
            match k {
                "CAN-BLOCK-RELOAD" => sc.can_block_reload = self.yes(T, v)?,
                "CAN-SKIP-UNTIL" => sc.can_skip_until = Some(self.secs(T, v)?),
                "CAN-SKIP-DATERANGES" => sc.can_skip_dateranges = self.yes(T, v)?,
                "HOLD-BACK" => sc.hold_back = Some(self.secs(T, v)?),
                "PART-HOLD-BACK" => sc.part_hold_back = Some(self.secs(T, v)?),
                _ => {}
            }
        }
        self.p.server_control = Some(sc);
        Ok(())
    }

    fn map(&mut self, v: &str) -> Result<()> {
        const T: &str = "EXT-X-MAP";
        let mut map = Map::new("");
        let mut uri = None;
        for (k, v) in self.attrs(T, v)? {
            match k {
                "URI" => uri = Some(self.quoted(T, v)?),
                "BYTERANGE" => {
                    map.byterange = Some(
                        ByteRange::parse(self.quoted(T, v)?)
                            .ok_or_else(|| self.err(T, "bad BYTERANGE"))?,
                    )
                }
                _ => {}
            }
        }
        map.uri = uri.ok_or_else(|| self.err(T, "no URI"))?.to_string();
        self.pending.map = Some(map);
        Ok(())
    }

    fn hint(&mut self, v: &str) -> Result<()> {
        const T: &str = "EXT-X-PRELOAD-HINT";
        let (mut kind, mut uri) = (None, None);
        let (mut start, mut len) = (None, None);
        for (k, v) in self.attrs(T, v)? {
            match (k, v) {
                ("TYPE", Value::Plain("PART")) => kind = Some(HintType::Part),
                ("TYPE", Value::Plain("MAP")) => kind = Some(HintType::Map),
                ("TYPE", _) => return Err(self.err(T, "TYPE must be PART or MAP")),
                ("URI", v) => uri = Some(self.quoted(T, v)?),
                ("BYTERANGE-START", Value::Plain(n)) => start = Some(self.int(T, n)?),
                ("BYTERANGE-LENGTH", Value::Plain(n)) => len = Some(self.int(T, n)?),
                _ => {}
            }
        }
        self.p.preload_hints.push(PreloadHint {
            hint_type: kind.ok_or_else(|| self.err(T, "no TYPE"))?,
            uri: uri.ok_or_else(|| self.err(T, "no URI"))?.to_string(),
            byterange_start: start,
            byterange_length: len,
        });
        Ok(())
    }

    fn report(&mut self, v: &str) -> Result<()> {
        const T: &str = "EXT-X-RENDITION-REPORT";
        let mut r = RenditionReport {
            uri: String::new(),
            last_msn: None,
            last_part: None,
        };
        let mut uri = None;
        for (k, v) in self.attrs(T, v)? {
            match (k, v) {
                ("URI", v) => uri = Some(self.quoted(T, v)?),
                ("LAST-MSN", Value::Plain(n)) => r.last_msn = Some(self.int(T, n)?),
                ("LAST-PART", Value::Plain(n)) => r.last_part = Some(self.int(T, n)?),
                _ => {}
            }
        }
        r.uri = uri.ok_or_else(|| self.err(T, "no URI"))?.to_string();
        self.p.rendition_reports.push(r);
        Ok(())
    }

    fn skip(&mut self, v: &str) -> Result<()> {
        const T: &str = "EXT-X-SKIP";
        let mut skip = Skip::default();
        let mut n = None;
        for (k, v) in self.attrs(T, v)? {
            match (k, v) {
                ("SKIPPED-SEGMENTS", Value::Plain(x)) => n = Some(self.int(T, x)?),
                ("RECENTLY-REMOVED-DATERANGES", v) => {
                    skip.recently_removed_dateranges = Some(self.quoted(T, v)?.to_string())
                }
                _ => {}
            }
        }
        if self.p.skip.is_some() || !self.p.segments.is_empty() {
            return Err(self.err(T, "must appear once, before the segments"));
        }
        skip.skipped_segments = n.ok_or_else(|| self.err(T, "no SKIPPED-SEGMENTS"))?;
        self.p.skip = Some(skip);
        Ok(())
    }

    fn extinf(&mut self, v: &str) -> Result<()> {
        const T: &str = "EXTINF";
        let (d, title) = v.split_once(',').unwrap_or((v, ""));
        let d = seconds(d.trim()).ok_or_else(|| self.err(T, "bad duration"))?;
        self.pending.extinf = Some((d, title.to_string()));
        Ok(())
    }

    fn tag(&mut self, name: &str, value: Option<&str>, raw: &str) -> Result<()> {
        let v = value.unwrap_or("");
        match name {
            "EXT-X-VERSION" => {
                let n = self.int("EXT-X-VERSION", v)?;
                self.p.version =
                    Some(u32::try_from(n).map_err(|_| self.err("EXT-X-VERSION", "too large"))?);
            }
            "EXT-X-TARGETDURATION" => {
                self.p.target_duration = self.int("EXT-X-TARGETDURATION", v)?;
                self.target_seen = true;
            }
            "EXT-X-MEDIA-SEQUENCE" => {
                self.p.media_sequence = self.int("EXT-X-MEDIA-SEQUENCE", v)?
            }
            "EXT-X-DISCONTINUITY-SEQUENCE" => {
                self.p.discontinuity_sequence = self.int("EXT-X-DISCONTINUITY-SEQUENCE", v)?
            }
            "EXT-X-PLAYLIST-TYPE" => {
                self.p.playlist_type = Some(match v {
                    "EVENT" => PlaylistType::Event,
                    "VOD" => PlaylistType::Vod,
                    _ => return Err(self.err("EXT-X-PLAYLIST-TYPE", "must be EVENT or VOD")),
                })
            }
            "EXT-X-INDEPENDENT-SEGMENTS" => self.p.independent_segments = true,
            "EXT-X-I-FRAMES-ONLY" => self.p.i_frames_only = true,
            "EXT-X-ENDLIST" => self.p.end_list = true,
            "EXT-X-PART-INF" => {
                const T: &str = "EXT-X-PART-INF";
                let mut pt = None;
                for (k, v) in self.attrs(T, v)? {
                    if k == "PART-TARGET" {
                        pt = Some(self.secs(T, v)?);
                    }
                }
                self.p.part_target = Some(pt.ok_or_else(|| self.err(T, "no PART-TARGET"))?);
            }
            "EXT-X-SERVER-CONTROL" => self.server_control(v)?,
            "EXT-X-SKIP" => self.skip(v)?,
            "EXTINF" => self.extinf(v)?,
            "EXT-X-DISCONTINUITY" => self.pending.discontinuity = true,
            "EXT-X-GAP" => self.pending.gap = true,
            "EXT-X-BYTERANGE" => {
                self.pending.byterange = Some(
                    ByteRange::parse(v).ok_or_else(|| self.err("EXT-X-BYTERANGE", "bad range"))?,
                )
            }
            "EXT-X-BITRATE" => self.pending.bitrate = Some(self.int("EXT-X-BITRATE", v)?),
            "EXT-X-PROGRAM-DATE-TIME" => {
                self.pending.pdt = Some(DateTime::parse(v).map_err(|_| {
                    self.err("EXT-X-PROGRAM-DATE-TIME", "not an ISO 8601 date-time")
                })?)
            }
            "EXT-X-MAP" => self.map(v)?,
            "EXT-X-PART" => self.part(v)?,
            "EXT-X-PRELOAD-HINT" => self.hint(v)?,
            "EXT-X-RENDITION-REPORT" => self.report(v)?,
            n if MULTIVARIANT.contains(&n) => return Err(Error::Multivariant { line: self.line }),
            n if PLAYLIST_LEVEL.contains(&n) => self.p.other_tags.push(raw.to_string()),
            _ => self.pending.other.push(raw.to_string()),
        }
        Ok(())
    }

    fn uri(&mut self, uri: &str) -> Result<()> {
        let p = std::mem::take(&mut self.pending);
        let (duration, title) = p
            .extinf
            .ok_or_else(|| self.err("URI", "a segment URI without EXTINF"))?;
        if self.p.segments.len() >= self.limits.max_segments {
            return Err(Error::LimitExceeded {
                what: "segments",
                limit: self.limits.max_segments,
            });
        }
        self.p.segments.push(Segment {
            uri: uri.to_string(),
            duration,
            title,
            discontinuity: p.discontinuity,
            program_date_time: p.pdt,
            map: p.map,
            byterange: p.byterange,
            gap: p.gap,
            bitrate: p.bitrate,
            parts: p.parts,
            other_tags: p.other,
        });
        Ok(())
    }
}

impl MediaPlaylist {
    /// Parses a media playlist with the default [`ParseLimits`].
    ///
    /// Unknown tags are kept verbatim ([`Segment::other_tags`],
    /// [`MediaPlaylist::other_tags`]); unknown attributes are ignored; comments and blank
    /// lines are skipped; CRLF line ends are accepted.
    ///
    /// # Errors
    /// [`Error::NotPlaylist`], [`Error::Line`] (with the line number and tag),
    /// [`Error::Missing`] (`EXT-X-TARGETDURATION`), [`Error::Multivariant`],
    /// [`Error::LimitExceeded`].
    pub fn parse(text: &str) -> Result<MediaPlaylist> {
        MediaPlaylist::parse_with(text, ParseLimits::default())
    }

    /// Parses a media playlist within `limits`.
    ///
    /// # Errors
    /// As [`MediaPlaylist::parse`].
    pub fn parse_with(text: &str, limits: ParseLimits) -> Result<MediaPlaylist> {
        if text.len() > limits.max_bytes {
            return Err(Error::LimitExceeded {
                what: "bytes",
                limit: limits.max_bytes,
            });
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.split('\n');
        match lines.next().map(|l| l.trim_end()) {
            Some("#EXTM3U") => {}
            _ => return Err(Error::NotPlaylist),
        }
        let mut ps = Parser {
            limits,
            line: 1,
            p: MediaPlaylist::default(),
            pending: Pending::default(),
            parts: 0,
            target_seen: false,
        };
        for raw in lines {
            ps.line += 1;
            if raw.len() > limits.max_line_bytes {
                return Err(Error::LimitExceeded {
                    what: "line bytes",
                    limit: limits.max_line_bytes,
                });
            }
            let line = raw.trim_end_matches(['\r', ' ', '\t']);
            if line.is_empty() {
                continue;
            }
            if let Some(tag) = line.strip_prefix('#').filter(|t| t.starts_with("EXT")) {
                let (name, value) = match tag.split_once(':') {
                    Some((n, v)) => (n, Some(v)),
                    None => (tag, None),
                };
                ps.tag(name, value, line)?;
            } else if line.starts_with('#') {
                // A comment.
            } else {
                ps.uri(line)?;
            }
        }
        if !ps.target_seen {
            return Err(Error::Missing {
                tag: "EXT-X-TARGETDURATION",
            });
        }
        let rest = std::mem::take(&mut ps.pending);
        if rest.extinf.is_some() {
            return Err(Error::Line {
                line: ps.line,
                tag: "EXTINF",
                reason: "no URI line follows",
            });
        }
        if !rest.is_empty() {
            ps.p.open_segment = Some(OpenSegment {
                discontinuity: rest.discontinuity,
                program_date_time: rest.pdt,
                map: rest.map,
                parts: rest.parts,
                other_tags: rest.other,
            });
        }
        Ok(ps.p)
    }
}
