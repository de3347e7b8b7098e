//! The sans-IO demuxer: it asks for byte ranges, the caller answers with the bytes.

mod moof;
mod moov;

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use weir_media::{nal, Frame, MediaKind, Timebase, Timestamp, TrackInfo};

use crate::boxes::{kind, BoxHeader, FourCc};
use crate::error::{Error, Result};
use moov::{parse_moov, Movie};

/// Limits of a [`Demuxer`]; hitting one is an [`Error::LimitExceeded`] or
/// [`Error::BoxTooLarge`], never an allocation of an attacker-chosen size.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DemuxConfig {
    /// Largest `moov` or `moof` read into memory (default 128 MiB: the index of a day of
    /// video and audio fits in about 40 MiB).
    pub max_box_size: u64,
    /// Most samples across the `moov` sample tables (default 4 Mi: about 15 hours of
    /// 25 fps video with 48 kHz AAC; 32 bytes of index each, so at most 128 MiB — a
    /// constant-size `stsz` can declare that many samples in a few bytes). Raise it for
    /// longer files.
    pub max_samples: usize,
    /// Most samples in one `moof` (default 256 Ki).
    pub max_fragment_samples: usize,
    /// Most tracks (default 32).
    pub max_tracks: usize,
    /// Largest sample (default 64 MiB).
    pub max_sample_size: u32,
    /// Most fragments remembered for seeking (default 1 M; 40 bytes or so each).
    pub max_fragments: usize,
}

impl Default for DemuxConfig {
    fn default() -> DemuxConfig {
        DemuxConfig {
            max_box_size: 128 << 20,
            max_samples: 4 << 20,
            max_fragment_samples: 256 << 10,
            max_tracks: 32,
            max_sample_size: 64 << 20,
            max_fragments: 1 << 20,
        }
    }
}

/// Bytes the demuxer needs: `len` bytes at file offset `offset`. Answer with
/// [`Demuxer::handle_data`]; fewer bytes than asked (or none) mean the file ends there.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    /// File offset.
    pub offset: u64,
    /// Bytes wanted.
    pub len: usize,
}

/// Where a seek landed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SeekPosition {
    /// Presentation time of the keyframe playback restarts from (primary track timebase).
    pub time: Timestamp,
    /// File offset of that keyframe's data (for HTTP range hints).
    pub offset: u64,
}

/// One sample of the index: media decode time (before the edit-list shift).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    pub offset: u64,
    pub dts: i64,
    pub size: u32,
    pub cto: i32,
    pub key: bool,
}

/// A fragment remembered for seeking: its offset and the presentation times of the
/// primary track's keyframes in it.
#[derive(Clone, Debug)]
struct FragEntry {
    moof: u64,
    /// End of the `moof` box (the next top-level header follows the mdat after it).
    end: u64,
    first_pts: Option<i64>,
    keys: Box<[i64]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Reading the box header at the offset.
    Header(u64),
    /// Reading the whole box (a `moov` or `moof`).
    Body {
        offset: u64,
        size: u64,
        fourcc: FourCc,
    },
    /// Reading the data of the next sample (`poll_read` picks it).
    Samples,
    /// Nothing more (end of file or an error).
    Done,
}

/// Sans-IO MP4 demuxer (progressive, faststart, moov-at-end and fragmented files).
///
/// Drive it with two calls: [`poll_frame`](Self::poll_frame) hands out the next frame
/// when one is ready; otherwise [`poll_read`](Self::poll_read) says which bytes to read
/// next (`None` = the end), and [`handle_data`](Self::handle_data) takes them. In
/// fragmented and faststart files reads move forward through the file, going back only
/// within the interleaving window (inside the current fragment, or to the other track's
/// chunk), so a forward-only source with a small buffer can feed them; a `moov` at the end
/// makes the demuxer come back for the media data.
///
/// Frames come in decode order, tracks interleaved by decode time; H.264/H.265 samples
/// are re-framed to 4-byte NAL lengths when the file uses another size. Timestamps are in
/// the track's timescale with the edit list's shift applied (leading empty edits and the
/// first edit's `media_time`), so a file from [`ProgressiveMuxer`](crate::ProgressiveMuxer)
/// gives back the timestamps it was given. Tracks with codecs outside weir-media's
/// [`Codec`](weir_media::Codec) set are skipped ([`skipped_tracks`](Self::skipped_tracks)).
#[derive(Debug)]
pub struct Demuxer {
    config: DemuxConfig,
    state: State,
    /// Where the top-level walk resumes after the current samples.
    walk: u64,
    movie: Option<Movie>,
    infos: Vec<TrackInfo>,
    /// Per-track position in its `samples`.
    next: Vec<usize>,
    /// Per-track running decode time for fragments.
    frag_dts: Vec<i64>,
    primary: usize,
    /// End of the `moov` box (the walk resumes there after a seek into moov samples).
    moov_end: u64,
    /// The `moov` tables' samples of a fragmented file (restored by a seek into them).
    moov_samples: Vec<Vec<Sample>>,
    fragments: Vec<FragEntry>,
    /// The walk has reached the end of the file.
    walk_done: bool,
    /// A seek waiting for fragments to be indexed: target in primary ticks.
    seeking: Option<i64>,
    /// Fragments to parse without reading their samples (seek scan).
    scanning: bool,
    /// After a seek into a fragment: skip samples before these (per track) once it is read.
    skip_to: Option<(u64, i64)>,
    last_seek: Option<SeekPosition>,
    ready: VecDeque<Frame>,
    /// The next sample to read in `State::Samples` (kept by `settle`).
    cur: Option<(usize, Sample)>,
}

impl Default for Demuxer {
    fn default() -> Demuxer {
        Demuxer::new(DemuxConfig::default())
    }
}

impl Demuxer {
    /// A demuxer at the start of a file.
    pub fn new(config: DemuxConfig) -> Demuxer {
        Demuxer {
            config,
            state: State::Header(0),
            walk: 0,
            movie: None,
            infos: Vec::new(),
            next: Vec::new(),
            frag_dts: Vec::new(),
            primary: 0,
            moov_end: 0,
            moov_samples: Vec::new(),
            fragments: Vec::new(),
            walk_done: false,
            seeking: None,
            scanning: false,
            skip_to: None,
            last_seek: None,
            ready: VecDeque::new(),
            cur: None,
        }
    }

    /// The tracks, once the `moov` has been read (empty before).
    pub fn tracks(&self) -> &[TrackInfo] {
        &self.infos
    }

    /// Sample-entry codes of tracks skipped for an unsupported codec.
    pub fn skipped_tracks(&self) -> &[FourCc] {
        self.movie.as_ref().map_or(&[], |m| &m.skipped)
    }

    /// The movie declares fragments (`mvex`).
    pub fn is_fragmented(&self) -> bool {
        self.movie.as_ref().is_some_and(|m| m.fragmented)
    }

    /// The `mvhd` duration (0 in most fragmented files).
    pub fn duration(&self) -> Option<Duration> {
        let m = self.movie.as_ref()?;
        let ts = u128::from(m.timescale.max(1));
        u64::try_from(u128::from(m.duration) * 1_000_000_000 / ts)
            .ok()
            .map(Duration::from_nanos)
    }

    /// Nothing more will come: the end of the file was reached, or an error stopped it.
    pub fn is_finished(&self) -> bool {
        self.state == State::Done && self.ready.is_empty()
    }

    /// The next frame, when one is ready.
    pub fn poll_frame(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }

    /// The bytes needed next; `None` at the end.
    pub fn poll_read(&self) -> Option<ReadRequest> {
        match &self.state {
            State::Header(offset) => Some(ReadRequest {
                offset: *offset,
                len: 16,
            }),
            State::Body { offset, size, .. } => Some(ReadRequest {
                offset: *offset,
                len: usize::try_from(*size).unwrap_or(usize::MAX),
            }),
            State::Samples => {
                let (_, s) = self.cur?;
                Some(ReadRequest {
                    offset: s.offset,
                    len: s.size as usize,
                })
            }
            State::Done => None,
        }
    }

    /// Takes the bytes of the outstanding [`ReadRequest`] (`offset` must be its offset;
    /// fewer bytes than asked mean the file ends).
    ///
    /// # Errors
    /// [`Error::UnexpectedData`] for another offset; box and table errors with their
    /// offsets; [`Error::NoMovie`] when the file ends without a `moov`. After an error
    /// the demuxer is finished.
    pub fn handle_data(&mut self, offset: u64, data: Bytes) -> Result<()> {
        let expected = self.poll_read().map(|r| r.offset);
        if expected != Some(offset) {
            return Err(Error::UnexpectedData { offset, expected });
        }
        let r = self.step(offset, data);
        if r.is_err() {
            self.state = State::Done;
        }
        r
    }

    fn step(&mut self, offset: u64, data: Bytes) -> Result<()> {
        match self.state.clone() {
            State::Header(_) => self.on_header(offset, &data),
            State::Body { size, fourcc, .. } => {
                if (data.len() as u64) < size {
                    if fourcc == kind::MOOV {
                        return Err(Error::Truncated {
                            fourcc,
                            field: "box",
                            offset,
                            needed: size,
                            available: data.len() as u64,
                        });
                    }
                    // A fragment cut short (a recording killed mid-write): the file ends at
                    // the last complete one.
                    return self.end_of_walk(offset);
                }
                let body = data
                    .get(..usize::try_from(size).unwrap_or(usize::MAX))
                    .unwrap_or(&data);
                let hl = BoxHeader::parse(body, offset)?.map_or(8, |h| usize::from(h.header_len));
                let payload = body.get(hl..).unwrap_or(&[]);
                let body_offset = offset + hl as u64;
                self.walk = offset.saturating_add(size);
                if fourcc == kind::MOOV {
                    self.on_moov(payload, body_offset)
                } else {
                    self.on_moof(payload, body_offset, offset)
                }
            }
            State::Samples => self.on_sample(data),
            State::Done => Ok(()),
        }
    }

    fn on_header(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let Some(h) = BoxHeader::parse(data, offset)? else {
            return self.end_of_walk(offset);
        };
        let next = h.size.and_then(|s| offset.checked_add(s));
        let wanted = if self.movie.is_none() {
            h.fourcc == kind::MOOV
        } else {
            h.fourcc == kind::MOOF
        };
        if wanted {
            let Some(size) = h.size else {
                return Err(Error::BadBoxSize {
                    fourcc: h.fourcc,
                    offset,
                    size: 0,
                });
            };
            if size > self.config.max_box_size {
                return Err(Error::BoxTooLarge {
                    fourcc: h.fourcc,
                    offset,
                    size,
                    limit: self.config.max_box_size,
                });
            }
            self.state = State::Body {
                offset,
                size,
                fourcc: h.fourcc,
            };
            return Ok(());
        }
        match next {
            Some(n) => {
                self.walk = n;
                self.state = State::Header(n);
                Ok(())
            }
            None => self.end_of_walk(offset),
        }
    }

    /// The top-level walk reached the end of the file.
    fn end_of_walk(&mut self, offset: u64) -> Result<()> {
        self.walk_done = true;
        if self.movie.is_none() {
            return Err(Error::NoMovie { offset });
        }
        if self.seeking.is_some() {
            return self.resolve_fragment_seek();
        }
        self.state = State::Done;
        Ok(())
    }

    fn on_moov(&mut self, body: &[u8], body_offset: u64) -> Result<()> {
        if self.movie.is_some() {
            // A second moov: ignore it and continue.
            self.state = State::Header(self.walk);
            return Ok(());
        }
        let movie = parse_moov(body, body_offset, &self.config)?;
        self.infos = movie.tracks.iter().map(|t| t.info.clone()).collect();
        self.next = vec![0; movie.tracks.len()];
        self.frag_dts = vec![0; movie.tracks.len()];
        self.primary = movie
            .tracks
            .iter()
            .position(|t| t.info.codec.kind() == MediaKind::Video)
            .unwrap_or(0);
        self.moov_end = self.walk;
        if movie.fragmented {
            self.moov_samples = movie.tracks.iter().map(|t| t.samples.clone()).collect();
        }
        self.movie = Some(movie);
        self.state = State::Samples;
        self.settle();
        Ok(())
    }

    fn on_moof(&mut self, body: &[u8], body_offset: u64, moof: u64) -> Result<()> {
        let cfg = DemuxConfig {
            max_samples: self.config.max_fragment_samples,
            ..self.config.clone()
        };
        let Some(movie) = self.movie.as_mut() else {
            self.state = State::Header(self.walk);
            return Ok(());
        };
        moof::parse_moof(
            body,
            body_offset,
            moof,
            &mut movie.tracks,
            &mut self.frag_dts,
            &cfg,
        )?;
        self.next.iter_mut().for_each(|n| *n = 0);
        // Remember the fragment for seeking.
        if self.fragments.last().is_none_or(|f| f.moof < moof) {
            if self.fragments.len() >= self.config.max_fragments {
                return Err(Error::LimitExceeded {
                    what: "fragments",
                    value: self.fragments.len() as u64 + 1,
                    limit: self.config.max_fragments as u64,
                });
            }
            if let Some(p) = movie.tracks.get(self.primary) {
                self.fragments.push(FragEntry {
                    moof,
                    end: self.walk,
                    first_pts: p.samples.iter().map(|s| p.pts(s)).min(),
                    keys: p
                        .samples
                        .iter()
                        .filter(|s| s.key)
                        .map(|s| p.pts(s))
                        .collect(),
                });
            }
        }
        if let Some((at, target)) = self.skip_to {
            if at == moof {
                self.skip_to = None;
                self.position_at(target);
            }
        }
        if let Some(target) = self.seeking {
            let past = self
                .fragments
                .last()
                .and_then(|f| f.first_pts)
                .is_some_and(|p| p > target);
            if past {
                return self.resolve_fragment_seek();
            }
            if self.scanning {
                self.state = State::Header(self.walk);
                return Ok(());
            }
        }
        self.state = State::Samples;
        self.settle();
        Ok(())
    }

    /// In `Samples` with nothing left to read: resume the walk (or end).
    fn settle(&mut self) {
        if self.state != State::Samples {
            return;
        }
        self.cur = self.peek_sample();
        if self.cur.is_none() {
            self.state = if self.walk_done {
                State::Done
            } else {
                State::Header(self.walk)
            };
        }
    }

    /// The next sample in decode order across tracks: `(track, sample)`.
    fn peek_sample(&self) -> Option<(usize, Sample)> {
        let movie = self.movie.as_ref()?;
        let mut best: Option<(usize, Sample, i128, i128)> = None;
        for (i, t) in movie.tracks.iter().enumerate() {
            let Some(s) = t.samples.get(*self.next.get(i)?) else {
                continue;
            };
            let dts = i128::from(t.dts(s));
            let ts = i128::from(t.timescale);
            let better = match &best {
                None => true,
                Some((_, _, bd, bts)) => dts * bts < *bd * ts,
            };
            if better {
                best = Some((i, *s, dts, ts));
            }
        }
        best.map(|(i, s, _, _)| (i, s))
    }

    fn on_sample(&mut self, data: Bytes) -> Result<()> {
        let Some((ti, s)) = self.cur else {
            self.settle();
            return Ok(());
        };
        let movie = self.movie.as_ref().ok_or(Error::NoMovie { offset: 0 })?;
        let t = &movie.tracks[ti];
        if s.size > self.config.max_sample_size {
            return Err(Error::LimitExceeded {
                what: "sample size",
                value: u64::from(s.size),
                limit: u64::from(self.config.max_sample_size),
            });
        }
        if (data.len() as u64) < u64::from(s.size) {
            if movie.fragmented {
                // The last fragment of a killed recording: its data ends early.
                self.state = State::Done;
                return Ok(());
            }
            return Err(Error::Truncated {
                fourcc: kind::MDAT,
                field: "sample",
                offset: s.offset,
                needed: u64::from(s.size),
                available: data.len() as u64,
            });
        }
        let data = data.slice(..s.size as usize);
        let data = match t.length_size {
            Some(n) => nal::convert_length_size(&data, n, nal::CANONICAL_LENGTH_SIZE).map_err(
                |source| Error::Nal {
                    track: t.info.id,
                    offset: s.offset,
                    source,
                },
            )?,
            None => data,
        };
        let tb = Timebase::hz(t.timescale).unwrap_or(Timebase::MILLIS);
        let dts = t.dts(&s);
        let pts = t.pts(&s);
        let frame = Frame::new(
            t.info.id,
            Timestamp::new(pts, tb),
            Timestamp::new(dts, tb),
            data,
        )
        .with_keyframe(s.key);
        self.ready.push_back(frame);
        if let Some(n) = self.next.get_mut(ti) {
            *n += 1;
        }
        self.settle();
        Ok(())
    }

    /// The seek position reached by the last [`seek`](Self::seek), once known.
    pub fn last_seek(&self) -> Option<SeekPosition> {
        self.last_seek
    }

    /// Moves to the keyframe of the primary track (the first video track, else the first
    /// track) at or before `time` (presentation time; the first keyframe when none is
    /// before). Other tracks restart at their first sample presented at or after that
    /// keyframe. Frames already handed out by [`poll_frame`](Self::poll_frame) are
    /// dropped.
    ///
    /// Returns the position at once when the index covers `time` (progressive files,
    /// fragments already read). Otherwise (a fragmented file read only partly) returns
    /// `None` and indexes fragments first: keep driving `poll_read`/`handle_data`; the
    /// first frame that comes out is the keyframe, and [`last_seek`](Self::last_seek)
    /// tells where it landed.
    ///
    /// # Errors
    /// [`Error::NoMovie`] before the `moov` has been read.
    pub fn seek(&mut self, time: Duration) -> Result<Option<SeekPosition>> {
        let movie = self
            .movie
            .as_ref()
            .ok_or(Error::NoMovie { offset: self.walk })?;
        self.ready.clear();
        self.last_seek = None;
        self.skip_to = None;
        let Some(p) = movie.tracks.get(self.primary) else {
            self.state = State::Done;
            return Ok(None);
        };
        let ts = u128::from(p.timescale);
        let target =
            i64::try_from(time.as_nanos().saturating_mul(ts) / 1_000_000_000).unwrap_or(i64::MAX);
        let fragmented = movie.fragmented;
        let moov_primary = if fragmented {
            self.moov_samples
                .get(self.primary)
                .map_or(&[][..], |s| &s[..])
        } else {
            &p.samples[..]
        };
        let in_moov = moov_primary.iter().any(|s| p.pts(s) > target);
        if !fragmented || in_moov {
            // Samples from the moov tables: the index is complete.
            if fragmented {
                let saved = self.moov_samples.clone();
                if let Some(m) = self.movie.as_mut() {
                    for (t, s) in m.tracks.iter_mut().zip(saved) {
                        t.samples = s;
                    }
                }
            }
            self.walk_done = !fragmented;
            self.walk = self.moov_end;
            self.state = State::Samples;
            let pos = self.position_at(target);
            self.settle();
            return Ok(pos);
        }
        self.seeking = Some(target);
        let covered = self
            .fragments
            .last()
            .and_then(|f| f.first_pts)
            .is_some_and(|p| p > target);
        if covered || self.walk_done {
            self.resolve_fragment_seek()?;
            return Ok(self.last_seek);
        }
        // Index forward from the last fragment known (or from here).
        self.scanning = true;
        let from = self
            .fragments
            .last()
            .map_or(self.walk, |f| f.end.max(self.walk));
        self.walk = from;
        self.state = State::Header(from);
        Ok(None)
    }

    /// Points every track at the keyframe at or before `target` in the current samples.
    fn position_at(&mut self, target: i64) -> Option<SeekPosition> {
        let movie = self.movie.as_ref()?;
        let p = movie.tracks.get(self.primary)?;
        let pts = |s: &Sample| p.pts(s);
        let mut key = None;
        for (i, s) in p.samples.iter().enumerate() {
            if s.key && (pts(s) <= target || key.is_none()) {
                key = Some(i);
            }
        }
        let k = key.unwrap_or(0);
        let ks = p.samples.get(k)?;
        let key_pts = Timestamp::new(
            pts(ks),
            Timebase::hz(p.timescale).unwrap_or(Timebase::MILLIS),
        );
        let pos = SeekPosition {
            time: key_pts,
            offset: ks.offset,
        };
        for (i, t) in movie.tracks.iter().enumerate() {
            let n = if i == self.primary {
                k
            } else {
                let tb = Timebase::hz(t.timescale).unwrap_or(Timebase::MILLIS);
                t.samples
                    .iter()
                    .position(|s| {
                        let at = Timestamp::new(t.pts(s), tb);
                        at.cmp_instant(key_pts).is_ge()
                    })
                    .unwrap_or(t.samples.len())
            };
            if let Some(slot) = self.next.get_mut(i) {
                *slot = n;
            }
        }
        self.last_seek = Some(pos);
        Some(pos)
    }

    /// Picks the fragment holding the keyframe at or before the target and re-reads it.
    fn resolve_fragment_seek(&mut self) -> Result<()> {
        let Some(target) = self.seeking.take() else {
            return Ok(());
        };
        self.scanning = false;
        let mut pick = None;
        for f in &self.fragments {
            if f.keys.iter().any(|&k| k <= target) || (pick.is_none() && !f.keys.is_empty()) {
                pick = Some(f.moof);
            }
        }
        let Some(moof) = pick.or_else(|| self.fragments.first().map(|f| f.moof)) else {
            self.state = State::Done;
            return Ok(());
        };
        self.skip_to = Some((moof, target));
        self.walk_done = false;
        self.walk = moof;
        self.state = State::Header(moof);
        Ok(())
    }
}

/// Demuxes a whole file held in memory (zero-copy: frames are slices of `data`).
///
/// ```
/// # fn main() -> Result<(), weir_mp4::Error> {
/// # let file = bytes::Bytes::new();
/// # if file.is_empty() { return Ok(()) }
/// let mut demux = weir_mp4::MemoryDemuxer::new(file, Default::default())?;
/// while let Some(frame) = demux.next_frame()? {
///     println!("{:?} {} bytes", frame.track, frame.data.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MemoryDemuxer {
    demux: Demuxer,
    data: Bytes,
}

impl MemoryDemuxer {
    /// Reads `data` up to its `moov` (and first fragment header, if any).
    ///
    /// # Errors
    /// As [`Demuxer::handle_data`].
    pub fn new(data: Bytes, config: DemuxConfig) -> Result<MemoryDemuxer> {
        let mut m = MemoryDemuxer {
            demux: Demuxer::new(config),
            data,
        };
        while m.demux.movie.is_none() {
            if !m.feed()? {
                break;
            }
        }
        Ok(m)
    }

    fn feed(&mut self) -> Result<bool> {
        let Some(req) = self.demux.poll_read() else {
            return Ok(false);
        };
        let len = self.data.len() as u64;
        let start = req.offset.min(len);
        let end = start.saturating_add(req.len as u64).min(len);
        let chunk = self.data.slice(start as usize..end as usize);
        self.demux.handle_data(req.offset, chunk)?;
        Ok(true)
    }

    /// The tracks.
    pub fn tracks(&self) -> &[TrackInfo] {
        self.demux.tracks()
    }

    /// The underlying demuxer.
    pub fn demuxer(&self) -> &Demuxer {
        &self.demux
    }

    /// The next frame in decode order, `None` at the end.
    ///
    /// # Errors
    /// As [`Demuxer::handle_data`].
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if let Some(f) = self.demux.poll_frame() {
                return Ok(Some(f));
            }
            if !self.feed()? {
                return Ok(None);
            }
        }
    }

    /// Seeks (see [`Demuxer::seek`]), reading fragment headers as needed.
    ///
    /// # Errors
    /// As [`Demuxer::seek`] and [`Demuxer::handle_data`].
    pub fn seek(&mut self, time: Duration) -> Result<Option<SeekPosition>> {
        if let Some(p) = self.demux.seek(time)? {
            return Ok(Some(p));
        }
        while self.demux.last_seek.is_none() && self.demux.ready.is_empty() {
            if !self.feed()? {
                break;
            }
        }
        Ok(self.demux.last_seek)
    }
}
