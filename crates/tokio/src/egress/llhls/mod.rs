//! LL-HLS egress: `/{app}/{stream}/ll.m3u8`, Low-Latency HLS on fMP4/CMAF parts, served
//! from memory; plain HLS players read the same playlist ignoring the part tags.
//!
//! The first request for a stream starts its packager (an internal hub subscription,
//! starting from the GOP cache): frames go through `weir-mp4`'s fragmented muxer, cut into
//! parts and segments where `weir-hls`'s scheduler says, into the stream's
//! [`LivePlaylist`]. The packager stops when nobody asked for the stream for
//! `idle_timeout`, or when the stream ends (the playlist then gets `EXT-X-ENDLIST`).
//!
//! Resources of a packager instance carry its number `E` (a stream published again, or
//! requested again after an idle stop, gets a new one, so URIs never name two things):
//! `llE-init{v}.mp4` (the `EXT-X-MAP`), `llE-p{n}.m4s` (part `n`, numbered across
//! segments so that a preload hint's URI stays right whichever segment the part ends up
//! in), `llE-s{msn}.m4s` (a complete segment: its parts back to back).
//!
//! Requests that wait — blocking playlist reloads (RFC 8216bis §6.2.5.2), the hinted part
//! (§6.2.6), the first playlist before the first segment — are bounded in time (three
//! target durations, then 503) and in number (`ll_max_waiting` relay-wide, then 503).

pub(crate) mod http;
mod mux;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tracing::info;
use weir_hls::{DeliveryDirectives, LivePlaylist, PartLookup, Readiness, UriNames};
use weir_media::Codec;

use super::live::{lock, LiveState, LiveStream, LiveStreams};
use crate::core::{Hub, TryNext};
use crate::egress::HlsConfig;
use crate::net::path::key_and_file;
use mux::Packager;

/// The playlist file name.
pub(crate) const PLAYLIST: &str = "ll.m3u8";

/// A stream's packaged output, shared by the packager and the requests.
#[derive(Default)]
pub(super) struct State {
    pub(super) live: Option<LivePlaylist<Bytes>>,
    /// Initialization sections by map version (the last few).
    pub(super) inits: Vec<(u32, Bytes)>,
    pub(super) dropped: Vec<Codec>,
    pub(super) parts: u64,
    failed: bool,
    last_access: Option<Instant>,
}

impl LiveState for State {
    fn usable(&self) -> bool {
        !self.failed
    }
    fn fail(&mut self) {
        self.failed = true;
    }
    fn last_access(&mut self) -> &mut Option<Instant> {
        &mut self.last_access
    }
}

type LlStream = LiveStream<State>;

/// A resource of `ll.m3u8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LlPath {
    /// `ll.m3u8`.
    Playlist(String),
    /// `llE-init{v}.mp4`.
    Init(String, u64, u32),
    /// `llE-p{n}.m4s`.
    Part(String, u64, u64),
    /// `llE-s{msn}.m4s`.
    Segment(String, u64, u64),
}

impl LlPath {
    pub(crate) fn key(&self) -> &str {
        match self {
            LlPath::Playlist(k)
            | LlPath::Init(k, ..)
            | LlPath::Part(k, ..)
            | LlPath::Segment(k, ..) => k,
        }
    }
}

/// `/{app}/{stream}/{file}` with an LL-HLS file name.
pub(crate) fn parse_path(path: &str) -> Option<LlPath> {
    let (key, file) = key_and_file(path)?;
    let key = key.to_string();
    if file == PLAYLIST {
        return Some(LlPath::Playlist(key));
    }
    let (epoch, name) = file.strip_prefix("ll")?.split_once('-')?;
    let epoch = epoch.parse().ok()?;
    if let Some(v) = name
        .strip_prefix("init")
        .and_then(|n| n.strip_suffix(".mp4"))
    {
        return Some(LlPath::Init(key, epoch, v.parse().ok()?));
    }
    let name = name.strip_suffix(".m4s")?;
    if let Some(n) = name.strip_prefix('p') {
        return Some(LlPath::Part(key, epoch, n.parse().ok()?));
    }
    let n = name.strip_prefix('s')?;
    Some(LlPath::Segment(key, epoch, n.parse().ok()?))
}

/// The answer to an LL-HLS request.
pub(crate) enum LlReply {
    Playlist(String),
    /// An initialization section.
    Init(Bytes),
    /// A part, or a segment as its parts.
    Media(Vec<Bytes>),
    /// 400 with a reason.
    BadRequest(&'static str),
    NotFound,
    /// 503: waited too long, or too many requests waiting.
    Unavailable(&'static str),
}

/// URIs of one packager instance, with the client's query suffix.
struct Names<'a> {
    epoch: u64,
    suffix: &'a str,
}

impl UriNames for Names<'_> {
    fn map(&self, w: &mut dyn fmt::Write, version: u32) -> fmt::Result {
        write!(w, "ll{}-init{version}.mp4{}", self.epoch, self.suffix)
    }
    fn segment(&self, w: &mut dyn fmt::Write, msn: u64) -> fmt::Result {
        write!(w, "ll{}-s{msn}.m4s{}", self.epoch, self.suffix)
    }
    fn part(&self, w: &mut dyn fmt::Write, n: u64) -> fmt::Result {
        write!(w, "ll{}-p{n}.m4s{}", self.epoch, self.suffix)
    }
}

/// Counts a request that waits; gives the slot back when dropped.
struct WaitSlot<'a>(&'a AtomicUsize);

impl Drop for WaitSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The registry of per-stream LL-HLS packagers.
pub(crate) struct LlHls {
    hub: Hub,
    config: HlsConfig,
    play_wait: Duration,
    streams: LiveStreams<State>,
    waiting: AtomicUsize,
}

impl LlHls {
    pub(crate) fn new(hub: Hub, config: HlsConfig, play_wait: Duration) -> LlHls {
        LlHls {
            hub,
            config,
            play_wait,
            streams: LiveStreams::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    fn wait_slot(&self) -> Option<WaitSlot<'_>> {
        let n = self.waiting.fetch_add(1, Ordering::AcqRel);
        let slot = WaitSlot(&self.waiting);
        (n < self.config.ll_max_waiting).then_some(slot)
    }

    /// Three target durations: how long a request may wait (§6.2.5.2).
    fn block_limit(&self) -> Duration {
        Packager::target_duration(&self.config) * 3
    }

    /// The stream's packager, started if needed.
    fn stream(self: &Arc<Self>, key: &str) -> Arc<LlStream> {
        let me = self.clone();
        let epoch = || self.hub.next_id();
        // An ended stream's parts are kept a while for players finishing it.
        self.streams.get_or_start(
            key,
            epoch,
            self.block_limit(),
            move |key, stream| async move {
                me.run(&key, &stream).await;
            },
        )
    }

    /// An existing packager of `key` with instance `epoch`.
    fn existing(&self, key: &str, epoch: u64) -> Option<Arc<LlStream>> {
        let s = self.streams.get(key)?;
        (s.epoch == epoch).then_some(s)
    }

    /// Answers a request for `path`; playlist URIs get `suffix` (the client's query and
    /// session id); `query` is the request's own query (delivery directives).
    pub(crate) async fn handle(
        self: &Arc<Self>,
        path: &LlPath,
        query: Option<&str>,
        suffix: &str,
    ) -> LlReply {
        match path {
            LlPath::Playlist(key) => {
                let d = match DeliveryDirectives::parse(query.unwrap_or("")) {
                    Ok(d) => d,
                    Err(_) => return LlReply::BadRequest("bad delivery directive\n"),
                };
                self.playlist(key, &d, suffix).await
            }
            LlPath::Init(key, epoch, v) => {
                let Some(s) = self.existing(key, *epoch) else {
                    return LlReply::NotFound;
                };
                let st = s.touch();
                match st.inits.iter().find(|(x, _)| x == v) {
                    Some((_, b)) => LlReply::Init(b.clone()),
                    None => LlReply::NotFound,
                }
            }
            LlPath::Part(key, epoch, n) => self.part(key, *epoch, *n).await,
            LlPath::Segment(key, epoch, msn) => {
                let Some(s) = self.existing(key, *epoch) else {
                    return LlReply::NotFound;
                };
                let st = s.touch();
                let seg = st.live.as_ref().and_then(|l| l.segment(*msn));
                match seg {
                    Some(parts) => LlReply::Media(parts.cloned().collect()),
                    None => LlReply::NotFound,
                }
            }
        }
    }

    async fn playlist(
        self: &Arc<Self>,
        key: &str,
        d: &DeliveryDirectives,
        suffix: &str,
    ) -> LlReply {
        let s = self.stream(key);
        let start = Instant::now();
        // The first request of a stream may wait for it to be published and for its first
        // segment; a blocking reload for three target durations.
        let deadline = if d.is_blocking() {
            start + self.block_limit()
        } else {
            start + self.play_wait + self.block_limit()
        };
        let mut slot = None;
        loop {
            let notified = s.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = s.touch();
                if st.failed {
                    return LlReply::NotFound;
                }
                match st.live.as_ref().map(|l| l.readiness(d)) {
                    Some(Readiness::Ready) => {
                        let Some(live) = st.live.as_ref() else {
                            return LlReply::NotFound;
                        };
                        let mut text = String::with_capacity(4096);
                        let names = Names {
                            epoch: s.epoch,
                            suffix,
                        };
                        live.render(&mut text, &names, d.skip.is_some());
                        return LlReply::Playlist(text);
                    }
                    Some(Readiness::TooFarAhead) => {
                        return LlReply::BadRequest("_HLS_msn/_HLS_part too far ahead\n")
                    }
                    // Nothing packaged yet: only the first segment or its parts can come.
                    None if d.msn.is_some_and(|m| m > 1) => {
                        return LlReply::BadRequest("_HLS_msn too far ahead\n")
                    }
                    Some(Readiness::Wait) | None => {}
                    Some(_) => return LlReply::NotFound,
                }
            }
            if slot.is_none() {
                match self.wait_slot() {
                    Some(w) => slot = Some(w),
                    None => return LlReply::Unavailable("too many waiting requests\n"),
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return if d.is_blocking() {
                    LlReply::Unavailable("the requested part did not come in time\n")
                } else {
                    LlReply::NotFound
                };
            }
        }
    }

    async fn part(&self, key: &str, epoch: u64, n: u64) -> LlReply {
        let Some(s) = self.existing(key, epoch) else {
            return LlReply::NotFound;
        };
        let deadline = Instant::now() + self.block_limit();
        let mut slot = None;
        loop {
            let notified = s.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = s.touch();
                if st.failed {
                    return LlReply::NotFound;
                }
                match st.live.as_ref().map(|l| l.part(n)) {
                    Some(PartLookup::Ready(b)) => return LlReply::Media(vec![b.clone()]),
                    Some(PartLookup::Hinted) => {}
                    // Before the first part, part 0 is the one hinted.
                    None if n == 0 => {}
                    _ => return LlReply::NotFound,
                }
            }
            if slot.is_none() {
                match self.wait_slot() {
                    Some(w) => slot = Some(w),
                    None => return LlReply::Unavailable("too many waiting requests\n"),
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return LlReply::Unavailable("the hinted part did not come in time\n");
            }
        }
    }

    async fn run(&self, key: &str, stream: &LlStream) {
        let Some(mut sub) = stream.subscribe(&self.hub, key, "ll-hls").await else {
            return;
        };
        info!(stream = key, "ll-hls: packaging");
        let mut p = Packager::new(key, &self.config);
        {
            let mut st = lock(&stream.state);
            for t in sub.tracks().to_vec() {
                p.config(&mut st, &t);
            }
        }
        // The GOP replay, taken at once: its newest frame dates the stream.
        let mut replay = Vec::new();
        while replay.len() < 100_000 {
            match sub.try_next() {
                TryNext::Unit(u) => replay.push(u),
                _ => break,
            }
        }
        p.anchor(replay.iter().rev().find_map(|u| u.frame_data()));
        let mut ended = false;
        {
            let mut st = lock(&stream.state);
            for u in &replay {
                self.unit(&mut p, &mut st, u);
            }
        }
        stream.changed.notify_waiters();
        drop(replay);
        let mut check_idle = tokio::time::interval(Duration::from_secs(1));
        while !ended {
            let unit = tokio::select! {
                u = sub.next() => u,
                _ = check_idle.tick() => {
                    if stream.idle_stop(key, "ll-hls", self.config.idle_timeout) {
                        return;
                    }
                    continue;
                }
            };
            let mut st = lock(&stream.state);
            let before = st.parts;
            match unit {
                Some(u) => {
                    p.anchor(u.frame_data());
                    self.unit(&mut p, &mut st, &u);
                }
                None => {
                    p.finish(&mut st);
                    ended = true;
                }
            }
            let changed = ended || st.parts != before;
            drop(st);
            // Waiting requests are woken by new parts only (not by every audio frame).
            if changed {
                stream.changed.notify_waiters();
            }
        }
    }

    fn unit(&self, p: &mut Packager, st: &mut State, u: &crate::core::Unit) {
        match (u.track(), u.frame_data()) {
            (Some(track), None) if u.is_config() => p.config(st, track),
            (Some(_), Some(frame)) => p.frame(st, frame),
            _ => {}
        }
    }
}
