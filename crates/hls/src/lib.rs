//! Sans-IO HTTP Live Streaming and Low-Latency HLS (RFC 8216bis, "HLS 2nd Edition").
//!
//! * [`MediaPlaylist`]: the media playlist model, written with `Display` and read with
//!   [`MediaPlaylist::parse`] (bounded by [`ParseLimits`], errors carry the line number):
//!   `EXTINF`, `EXT-X-MAP`, `EXT-X-PROGRAM-DATE-TIME`, `EXT-X-PART`, `EXT-X-PART-INF`,
//!   `EXT-X-SERVER-CONTROL`, `EXT-X-SKIP`, `EXT-X-PRELOAD-HINT`,
//!   `EXT-X-RENDITION-REPORT` and the rest of §4.4's media playlist tags (untyped ones kept
//!   verbatim).
//! * [`DeliveryDirectives`]: the `_HLS_msn` / `_HLS_part` / `_HLS_skip` query of a playlist
//!   request (§6.2.5), with the 400 cases.
//! * [`Scheduler`]: where a packager cuts parts and segments, from decode timestamps and
//!   keyframes.
//! * [`LivePlaylist`]: a live Low-Latency playlist being produced — the window of
//!   segments and parts with their payloads, blocking playlist reload
//!   ([`LivePlaylist::readiness`], §6.2.5.2), delta updates (§6.2.5.1), preload hints
//!   (§6.2.6) and the playlist text.
//!
//! No sockets, clocks or threads: the caller passes time in (timestamps, dates), waits
//! for [`Readiness::Wait`] requests itself and bounds that wait.
//!
//! ```
//! use std::time::Duration;
//! use weir_hls::{
//!     Cut, DeliveryDirectives, LiveConfig, LivePlaylist, MediaPlaylist, PartInfo, Readiness,
//!     ScheduleConfig, Scheduler, UriNames,
//! };
//! use weir_media::{Timebase, Timestamp};
//!
//! struct Names;
//! impl UriNames for Names {
//!     fn map(&self, w: &mut dyn std::fmt::Write, v: u32) -> std::fmt::Result { write!(w, "init{v}.mp4") }
//!     fn segment(&self, w: &mut dyn std::fmt::Write, msn: u64) -> std::fmt::Result { write!(w, "s{msn}.m4s") }
//!     fn part(&self, w: &mut dyn std::fmt::Write, n: u64) -> std::fmt::Result { write!(w, "p{n}.m4s") }
//! }
//!
//! // 25 fps video with a keyframe every second: 200 ms parts, 1 s segments.
//! let mut cuts = Scheduler::new(ScheduleConfig::new(Duration::from_millis(200), Duration::from_secs(1)));
//! let mut live: Option<LivePlaylist<Vec<u8>>> = None;
//! let mut part_start = 0i64;
//! for i in 0..70i64 {
//!     let cut = cuts.frame(Timestamp::new(i * 40, Timebase::MILLIS), i % 25 == 0);
//!     if cut == Cut::None {
//!         continue;
//!     }
//!     // A packager would take the fragment of the frames before this one here.
//!     let live = live.get_or_insert_with(|| {
//!         LivePlaylist::new(LiveConfig::new(cuts.target_duration(), cuts.part_target().unwrap(), 6))
//!     });
//!     let duration = Duration::from_millis((i * 40 - part_start) as u64);
//!     live.push_part(PartInfo::new(duration, part_start % 1000 == 0), vec![]);
//!     part_start = i * 40;
//!     if cut == Cut::Segment {
//!         live.close_segment();
//!     }
//! }
//! let live = live.unwrap();
//! // Segments 0 and 1 are complete, segment 2 has three parts so far.
//! let asks = |q: &str| live.readiness(&DeliveryDirectives::parse(q).unwrap());
//! assert_eq!(asks("_HLS_msn=2&_HLS_part=2"), Readiness::Ready);
//! assert_eq!(asks("_HLS_msn=2&_HLS_part=3"), Readiness::Wait);
//! assert_eq!(asks("_HLS_msn=9"), Readiness::TooFarAhead);
//!
//! let mut text = String::new();
//! live.render(&mut text, &Names, false);
//! let p = MediaPlaylist::parse(&text)?;
//! assert_eq!(p.segments.len(), 2);
//! assert_eq!(p.open_segment.unwrap().parts.len(), 3);
//! assert_eq!(p.preload_hints[0].uri, "p13.m4s");
//! # Ok::<(), weir_hls::Error>(())
//! ```
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod attr;
mod date;
mod directives;
mod error;
mod live;
mod parse;
mod playlist;
mod schedule;

pub use attr::ByteRange;
pub use date::DateTime;
pub use directives::{strip_directives, DeliveryDirectives, SkipRequest};
pub use error::{Error, Result};
pub use live::{LiveConfig, LivePlaylist, PartInfo, PartLookup, PartRef, Readiness, UriNames};
pub use parse::ParseLimits;
pub use playlist::{
    HintType, Map, MediaPlaylist, OpenSegment, Part, PlaylistType, PreloadHint, RenditionReport,
    Segment, ServerControl, Skip,
};
pub use schedule::{Cut, ScheduleConfig, Scheduler};
