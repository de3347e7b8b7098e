//! Progressive MP4: `ftyp`, one `mdat` written as frames come, `moov` at the end — or
//! moved to the front by a "faststart" finish.

use bytes::{Bytes, BytesMut};
use weir_media::{rescale, Frame, Timebase};

use super::moov::{file_type, write_moov, Edit, TrakSpec};
use super::{movie_timescale, setup_tracks, track_index, TrackState};
use crate::boxes::{kind, BoxWriter};
use crate::entry::ParameterSets;
use crate::error::{Error, Result};

/// Settings of a [`ProgressiveMuxer`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProgressiveConfig {
    /// `avc1`/`hvc1` (default) or `avc3`/`hev1` sample entries.
    pub parameter_sets: ParameterSets,
    /// `mvhd` timescale (edit lists are in it); `None` = the tracks' common timescale, or
    /// 1000 when they differ.
    pub movie_timescale: Option<u32>,
    /// Most samples across all tracks (24 bytes of index each, kept until the finish).
    /// The default, 16 M, holds 48 hours of 25 fps video with 48 kHz AAC.
    pub max_samples: usize,
}

impl Default for ProgressiveConfig {
    fn default() -> ProgressiveConfig {
        ProgressiveConfig {
            parameter_sets: ParameterSets::OutOfBand,
            movie_timescale: None,
            max_samples: 16 << 20,
        }
    }
}

/// Bytes to overwrite in what was already written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    /// Offset from the start of the output.
    pub offset: u64,
    /// The bytes to write there.
    pub bytes: Bytes,
}

/// The end of a progressive file with `moov` last.
#[derive(Clone, Debug)]
pub struct Finish {
    /// The `moov` box: write it at [`moov_offset`](Finish::moov_offset) (the current end).
    pub moov: Bytes,
    /// Where `moov` goes: the number of bytes written so far.
    pub moov_offset: u64,
    /// The `mdat` size, to write over its placeholder.
    pub patches: Vec<Patch>,
}

/// A progressive file rearranged with `moov` in front ("faststart"): the new file is
/// [`head`](FastStart::head) followed by the bytes `copy_from..copy_from + copy_len` of
/// the output written so far (the media data).
#[derive(Clone, Debug)]
pub struct FastStart {
    /// `ftyp`, `moov` (chunk offsets shifted to the new layout) and the `mdat` header.
    pub head: Bytes,
    /// Offset in the old output where the media data starts.
    pub copy_from: u64,
    /// Length of the media data.
    pub copy_len: u64,
}

#[derive(Copy, Clone, Debug)]
struct Sample {
    dts: i64,
    cto: i32,
    size: u32,
    key: bool,
}

#[derive(Copy, Clone, Debug)]
struct Chunk {
    offset: u64,
    samples: u32,
}

#[derive(Debug, Default)]
struct Index {
    samples: Vec<Sample>,
    chunks: Vec<Chunk>,
    last_duration: u32,
}

/// Progressive MP4 muxer, streaming: it returns the bytes to write and never holds media.
///
/// Write [`header`](Self::header) first, then what each [`write_frame`](Self::write_frame)
/// returns, in order; at the end either append [`Finish::moov`] and apply the
/// [`Finish::patches`] (the `mdat` size lives in a 64-bit `largesize` so any length fits),
/// or build a new file from [`FastStart`].
///
/// Tables (ISO/IEC 14496-12 §8.6–8.7): `stts`, `stsz`, `stsc`, `stco` — `co64` as soon as
/// any chunk offset reaches 2^32 —, `stss` for video unless every sample is a keyframe,
/// `ctts` when any composition offset is not 0 (version 1, signed, when one is negative).
/// Decode times start at 0 in the media timeline; an edit list (§8.6.6) puts the track
/// back at its presentation time: an empty edit when it starts after 0, a `media_time`
/// skip for the B-frame delay or for frames before 0 (AAC priming). The demuxer undoes
/// exactly this, so timestamps round-trip (edit durations are in the movie timescale:
/// see [`ProgressiveConfig::movie_timescale`]). Durations in `mvhd`/`tkhd`/`mdhd` are the
/// media's: the last sample of a track gets the codec's frame length (AAC, Opus, G.711),
/// else the previous DTS step.
#[derive(Debug)]
pub struct ProgressiveMuxer {
    tracks: Vec<TrackState>,
    index: Vec<Index>,
    config: ProgressiveConfig,
    ftyp: Bytes,
    mdat_start: u64,
    pos: u64,
    last_track: Option<usize>,
    total_samples: usize,
    finished: bool,
}

const MDAT_HEADER: u64 = 16;

impl ProgressiveMuxer {
    /// A muxer for `tracks` (see [`FragmentedMuxer::new`](crate::FragmentedMuxer::new)).
    ///
    /// # Errors
    /// [`Error::BadTracks`], [`Error::UnsupportedCodec`], [`Error::BadConfig`].
    pub fn new(
        tracks: &[weir_media::TrackInfo],
        config: ProgressiveConfig,
    ) -> Result<ProgressiveMuxer> {
        let tracks = setup_tracks(tracks, config.parameter_sets)?;
        let mut buf = BytesMut::with_capacity(32);
        file_type(
            &mut BoxWriter::new(&mut buf),
            kind::FTYP,
            b"isom",
            &[b"isom", b"iso2", b"mp41"],
        );
        let mdat_start = buf.len() as u64;
        Ok(ProgressiveMuxer {
            index: (0..tracks.len()).map(|_| Index::default()).collect(),
            tracks,
            config,
            ftyp: buf.freeze(),
            mdat_start,
            pos: mdat_start + MDAT_HEADER,
            last_track: None,
            total_samples: 0,
            finished: false,
        })
    }

    /// `ftyp` and the `mdat` header: the first bytes of the file.
    pub fn header(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.ftyp.len() + 16);
        b.extend_from_slice(&self.ftyp);
        b.extend_from_slice(&self.mdat_header(0));
        b.freeze()
    }

    fn mdat_header(&self, size: u64) -> [u8; 16] {
        let mut h = [0u8; 16];
        h[3] = 1; // size 1: the 64-bit largesize follows
        h[4..8].copy_from_slice(b"mdat");
        h[8..].copy_from_slice(&size.to_be_bytes());
        h
    }

    /// The tracks as written (see [`FragmentedMuxer::tracks`](crate::FragmentedMuxer::tracks)).
    pub fn tracks(&self) -> Vec<weir_media::TrackInfo> {
        self.tracks.iter().map(|t| t.mux.info.clone()).collect()
    }

    /// Bytes of output so far, including [`header`](Self::header).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Records a frame and returns its payload, to be written at the current position
    /// (the same `Bytes`, not a copy). Audio samples are all sync samples.
    ///
    /// # Errors
    /// [`Error::Finished`], [`Error::UnknownTrack`], [`Error::NonMonotonicDts`],
    /// [`Error::Overflow`] (a sample over 4 GiB, a DTS step or composition offset over 32
    /// bits), [`Error::LimitExceeded`] past [`ProgressiveConfig::max_samples`].
    pub fn write_frame(&mut self, frame: Frame) -> Result<Bytes> {
        if self.finished {
            return Err(Error::Finished);
        }
        let i = track_index(&self.tracks, &frame)?;
        if self.total_samples >= self.config.max_samples {
            return Err(Error::LimitExceeded {
                what: "samples",
                value: self.total_samples as u64 + 1,
                limit: self.config.max_samples as u64,
            });
        }
        let t = &mut self.tracks[i];
        let size = u32::try_from(frame.data.len()).map_err(|_| Error::Overflow {
            track: frame.track,
            field: "sample size",
            value: frame.data.len() as i128,
        })?;
        let timing = t.timing(&frame, true)?;
        let key = frame.keyframe || !t.is_video();
        let idx = &mut self.index[i];
        idx.last_duration = t.fallback_duration(&frame.data);
        idx.samples.push(Sample {
            dts: timing.dts,
            cto: timing.cto as i32, // range checked by timing()
            size,
            key,
        });
        match idx.chunks.last_mut() {
            Some(c) if self.last_track == Some(i) => c.samples += 1,
            _ => idx.chunks.push(Chunk {
                offset: self.pos,
                samples: 1,
            }),
        }
        self.last_track = Some(i);
        self.total_samples += 1;
        self.pos += u64::from(size);
        Ok(frame.data)
    }

    /// Accounts for `len` bytes inside the `mdat` that no sample references (the caller
    /// writes padding of its own, or seeks forward to leave a hole in a sparse file).
    /// The next frame starts a new chunk.
    ///
    /// # Errors
    /// [`Error::Finished`].
    pub fn skip(&mut self, len: u64) -> Result<()> {
        if self.finished {
            return Err(Error::Finished);
        }
        self.pos = self.pos.saturating_add(len);
        self.last_track = None;
        Ok(())
    }

    /// Ends the file with `moov` at the end.
    ///
    /// # Errors
    /// [`Error::Finished`] when called twice.
    pub fn finish(&mut self) -> Result<Finish> {
        if self.finished {
            return Err(Error::Finished);
        }
        self.finished = true;
        let mdat_len = self.pos - self.mdat_start;
        Ok(Finish {
            moov: self.moov(0),
            moov_offset: self.pos,
            patches: vec![Patch {
                offset: self.mdat_start + 8,
                bytes: Bytes::copy_from_slice(&mdat_len.to_be_bytes()),
            }],
        })
    }

    /// Ends the file with `moov` moved in front of the media data (see [`FastStart`]).
    ///
    /// # Errors
    /// [`Error::Finished`] when called twice.
    pub fn finish_faststart(&mut self) -> Result<FastStart> {
        if self.finished {
            return Err(Error::Finished);
        }
        self.finished = true;
        // Chunk offsets move by the moov's size, whose size depends on whether the moved
        // offsets need co64: iterate to the fixed point (two rounds at most in practice).
        let mut moov = self.moov(0);
        for _ in 0..4 {
            let next = self.moov(moov.len() as u64);
            let done = next.len() == moov.len();
            moov = next;
            if done {
                break;
            }
        }
        let data_start = self.mdat_start + MDAT_HEADER;
        let copy_len = self.pos - data_start;
        let mut head = BytesMut::with_capacity(self.ftyp.len() + moov.len() + 16);
        head.extend_from_slice(&self.ftyp);
        head.extend_from_slice(&moov);
        head.extend_from_slice(&self.mdat_header(copy_len + MDAT_HEADER));
        Ok(FastStart {
            head: head.freeze(),
            copy_from: data_start,
            copy_len,
        })
    }

    /// The `moov` with every chunk offset moved by `shift`.
    fn moov(&self, shift: u64) -> Bytes {
        let movie_ts = movie_timescale(&self.tracks, self.config.movie_timescale);
        let mut plans = Vec::with_capacity(self.tracks.len());
        for (t, idx) in self.tracks.iter().zip(&self.index) {
            plans.push(plan(t, idx, movie_ts));
        }
        let tables: Vec<TablesWriter<'_>> = self
            .tracks
            .iter()
            .zip(&self.index)
            .map(|(t, idx)| {
                let video = t.is_video();
                Box::new(move |w: &mut BoxWriter<'_>| write_tables(w, idx, video, shift))
                    as TablesWriter<'_>
            })
            .collect();
        let specs: Vec<TrakSpec<'_>> = self
            .tracks
            .iter()
            .zip(plans)
            .zip(&tables)
            .map(|((t, p), tables)| TrakSpec {
                track: &t.mux,
                track_id: t.track_id,
                media_duration: p.media_duration,
                movie_duration: p.movie_duration,
                edits: p.edits,
                tables: tables.as_ref(),
            })
            .collect();
        let movie_duration = specs.iter().map(|s| s.movie_duration).max().unwrap_or(0);
        let table_bytes: usize = self
            .index
            .iter()
            .map(|i| i.samples.len() * 16 + i.chunks.len() * 20)
            .sum();
        let mut buf = BytesMut::with_capacity(1024 + table_bytes);
        write_moov(
            &mut BoxWriter::new(&mut buf),
            movie_ts,
            movie_duration,
            &specs,
            false,
        );
        buf.freeze()
    }
}

/// Writes one track's sample tables.
type TablesWriter<'a> = Box<dyn Fn(&mut BoxWriter<'_>) + 'a>;

struct Plan {
    media_duration: u64,
    movie_duration: u64,
    edits: Vec<Edit>,
}

/// Durations and the edit list of one track (see the type docs of [`ProgressiveMuxer`]).
fn plan(t: &TrackState, idx: &Index, movie_ts: u32) -> Plan {
    let (Some(first), Some(last)) = (idx.samples.first(), idx.samples.last()) else {
        return Plan {
            media_duration: 0,
            movie_duration: 0,
            edits: Vec::new(),
        };
    };
    let media_duration = u64::try_from(last.dts.saturating_sub(first.dts))
        .unwrap_or(0)
        .saturating_add(u64::from(idx.last_duration));
    let min_pts = idx
        .samples
        .iter()
        .map(|s| s.dts.saturating_add(i64::from(s.cto)))
        .min()
        .unwrap_or(first.dts);
    // empty - media_time = first DTS, both ≥ 0, media_time at the first presented sample.
    let media_time = min_pts
        .saturating_sub(first.dts)
        .max(first.dts.saturating_neg())
        .max(0);
    let empty = first.dts.saturating_add(media_time);
    let ts = Timebase::hz(t.mux.timescale).unwrap_or(Timebase::MILLIS);
    let mts = Timebase::hz(movie_ts).unwrap_or(Timebase::MILLIS);
    let to_movie =
        |v: u64| u64::try_from(rescale(i64::try_from(v).unwrap_or(i64::MAX), ts, mts)).unwrap_or(0);
    let to_movie_ceil = |v: u64| {
        let n = u128::from(v) * u128::from(movie_ts);
        u64::try_from(n.div_ceil(u128::from(t.mux.timescale.max(1)))).unwrap_or(u64::MAX)
    };
    let mut edits = Vec::new();
    // The presentation ends with the latest-presented sample (with B-frames that is not
    // the last one decoded).
    let max_pts = idx
        .samples
        .iter()
        .map(|s| s.dts.saturating_add(i64::from(s.cto)))
        .max()
        .unwrap_or(last.dts);
    let end = u64::try_from(max_pts.saturating_sub(first.dts))
        .unwrap_or(0)
        .saturating_add(u64::from(idx.last_duration));
    let presented = end
        .max(media_duration)
        .saturating_sub(u64::try_from(media_time).unwrap_or(0));
    let empty_movie = to_movie(u64::try_from(empty).unwrap_or(0));
    if empty_movie > 0 {
        edits.push(Edit {
            segment_duration: empty_movie,
            media_time: -1,
        });
    }
    if !edits.is_empty() || media_time > 0 {
        edits.push(Edit {
            segment_duration: to_movie_ceil(presented),
            media_time,
        });
    }
    let movie_duration = if edits.is_empty() {
        to_movie(media_duration)
    } else {
        edits.iter().map(|e| e.segment_duration).sum()
    };
    Plan {
        media_duration,
        movie_duration,
        edits,
    }
}

/// Run-length entries `(count, value)`.
fn runs<T: PartialEq + Copy>(values: impl Iterator<Item = T>) -> Vec<(u32, T)> {
    let mut out: Vec<(u32, T)> = Vec::new();
    for v in values {
        match out.last_mut() {
            Some((n, last)) if *last == v && *n < u32::MAX => *n += 1,
            _ => out.push((1, v)),
        }
    }
    out
}

fn write_tables(w: &mut BoxWriter<'_>, idx: &Index, video: bool, shift: u64) {
    let s = &idx.samples;
    // stts (§8.6.1.2)
    let durations = s
        .windows(2)
        .map(|p| (p[1].dts - p[0].dts) as u32)
        .chain(s.last().map(|_| idx.last_duration));
    let stts = runs(durations);
    let m = w.open_full(kind::STTS, 0, 0);
    w.u32(stts.len() as u32);
    for (n, d) in stts {
        w.u32(n);
        w.u32(d);
    }
    w.close(m);
    // ctts (§8.6.1.3)
    if s.iter().any(|x| x.cto != 0) {
        let negative = s.iter().any(|x| x.cto < 0);
        let ctts = runs(s.iter().map(|x| x.cto));
        let m = w.open_full(kind::CTTS, u8::from(negative), 0);
        w.u32(ctts.len() as u32);
        for (n, o) in ctts {
            w.u32(n);
            w.i32(o);
        }
        w.close(m);
    }
    // stss (§8.6.2)
    if video && s.iter().any(|x| !x.key) {
        let keys: Vec<u32> = s
            .iter()
            .enumerate()
            .filter(|(_, x)| x.key)
            .map(|(i, _)| i as u32 + 1)
            .collect();
        let m = w.open_full(kind::STSS, 0, 0);
        w.u32(keys.len() as u32);
        for k in keys {
            w.u32(k);
        }
        w.close(m);
    }
    // stsc (§8.7.4)
    let m = w.open_full(kind::STSC, 0, 0);
    let mut entries: Vec<(u32, u32)> = Vec::new();
    for (i, c) in idx.chunks.iter().enumerate() {
        if entries.last().map(|e| e.1) != Some(c.samples) {
            entries.push((i as u32 + 1, c.samples));
        }
    }
    w.u32(entries.len() as u32);
    for (first, n) in entries {
        w.u32(first);
        w.u32(n);
        w.u32(1);
    }
    w.close(m);
    // stsz (§8.7.3)
    let m = w.open_full(kind::STSZ, 0, 0);
    let constant = s
        .first()
        .map(|x| x.size)
        .filter(|&z| s.iter().all(|x| x.size == z));
    w.u32(constant.unwrap_or(0));
    w.u32(s.len() as u32);
    if constant.is_none() {
        for x in s {
            w.u32(x.size);
        }
    }
    w.close(m);
    // stco / co64 (§8.7.5)
    let wide = idx
        .chunks
        .iter()
        .any(|c| c.offset + shift > u64::from(u32::MAX));
    let m = w.open_full(if wide { kind::CO64 } else { kind::STCO }, 0, 0);
    w.u32(idx.chunks.len() as u32);
    for c in &idx.chunks {
        if wide {
            w.u64(c.offset + shift);
        } else {
            w.u32((c.offset + shift) as u32);
        }
    }
    w.close(m);
}
