//! Reading `moov`: tracks, edit lists, sample tables (ISO/IEC 14496-12 §8.2–8.7) and the
//! `trex` defaults for fragments (§8.8.3).

use weir_h264::AvcConfig;
use weir_h265::HevcConfig;
use weir_media::{rescale, Codec, Timebase, TrackId, TrackInfo};

use super::{DemuxConfig, Sample};
use crate::boxes::{kind, Child, Children, Cursor, FourCc};
use crate::entry::parse_stsd;
use crate::error::{Error, Result};

/// One track of the movie, with its samples from the `moov` tables (empty for a
/// fragmented file's init segment).
#[derive(Clone, Debug)]
pub(crate) struct Track {
    pub info: TrackInfo,
    pub track_id: u32,
    pub timescale: u32,
    /// NAL length-prefix size of the samples when it is not 4 (re-framed on output).
    pub length_size: Option<u8>,
    /// Added to media decode times: the edit list's start (empty edits minus media_time).
    pub dts_offset: i64,
    /// Added to presentation times so none precedes its decode time: the largest negative
    /// composition offset seen (what ffmpeg's demuxer calls `dts_shift`; CMAF files use
    /// negative offsets).
    pub cts_shift: i64,
    pub samples: Vec<Sample>,
    /// `trex` defaults: duration, size, flags.
    pub trex: (u32, u32, u32),
}

impl Track {
    /// Decode time of a sample in the track timescale (edit list applied).
    pub(crate) fn dts(&self, s: &Sample) -> i64 {
        s.dts.saturating_add(self.dts_offset)
    }

    /// Presentation time of a sample.
    pub(crate) fn pts(&self, s: &Sample) -> i64 {
        self.dts(s)
            .saturating_add(i64::from(s.cto))
            .saturating_add(self.cts_shift)
    }
}

/// The parsed movie.
#[derive(Clone, Debug, Default)]
pub(crate) struct Movie {
    pub timescale: u32,
    pub duration: u64,
    pub tracks: Vec<Track>,
    /// `mvex` present: fragments may follow.
    pub fragmented: bool,
    /// Tracks skipped for an unsupported codec.
    pub skipped: Vec<FourCc>,
}

fn find<'a>(body: &'a [u8], base: u64, want: FourCc) -> Result<Option<Child<'a>>> {
    for c in Children::new(body, base) {
        let c = c?;
        if c.fourcc == want {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

fn need<'a>(body: &'a [u8], base: u64, want: FourCc, context: &'static str) -> Result<Child<'a>> {
    find(body, base, want)?.ok_or(Error::MissingBox {
        fourcc: want,
        context,
    })
}

/// Parses a whole `moov` payload.
pub(crate) fn parse_moov(body: &[u8], base: u64, cfg: &DemuxConfig) -> Result<Movie> {
    let mut movie = Movie::default();
    let mvhd = need(body, base, kind::MVHD, "moov")?;
    let mut c = Cursor::of(&mvhd);
    let (v, _) = c.full_header()?;
    c.skip(if v == 1 { 16 } else { 8 }, "creation/modification time")?;
    movie.timescale = c.u32("timescale")?;
    movie.duration = c.u32_or_u64(v, "duration")?;
    let mut total_samples = 0usize;
    let mut trex = Vec::new();
    for child in Children::new(body, base) {
        let child = child?;
        match child.fourcc {
            kind::TRAK => {
                if movie.tracks.len() >= cfg.max_tracks {
                    return Err(Error::LimitExceeded {
                        what: "tracks",
                        value: movie.tracks.len() as u64 + 1,
                        limit: cfg.max_tracks as u64,
                    });
                }
                match parse_trak(&child, movie.timescale, cfg, &mut total_samples)? {
                    Ok(t) => movie.tracks.push(t),
                    Err(fourcc) => movie.skipped.push(fourcc),
                }
            }
            kind::MVEX => {
                movie.fragmented = true;
                for t in Children::new(child.body, child.body_offset) {
                    let t = t?;
                    if t.fourcc == kind::TREX {
                        let mut c = Cursor::of(&t);
                        c.full_header()?;
                        let id = c.u32("track_ID")?;
                        c.u32("default_sample_description_index")?;
                        let d = (
                            c.u32("default_sample_duration")?,
                            c.u32("default_sample_size")?,
                            c.u32("default_sample_flags")?,
                        );
                        trex.push((id, d));
                    }
                }
            }
            _ => {}
        }
    }
    for t in &mut movie.tracks {
        if let Some((_, d)) = trex.iter().find(|(id, _)| *id == t.track_id) {
            t.trex = *d;
        }
    }
    Ok(movie)
}

/// A track, or the sample-entry code of a track whose codec is not supported.
fn parse_trak(
    trak: &Child<'_>,
    movie_timescale: u32,
    cfg: &DemuxConfig,
    total_samples: &mut usize,
) -> Result<Result<Track, FourCc>> {
    let (body, base) = (trak.body, trak.body_offset);
    let tkhd = need(body, base, kind::TKHD, "trak")?;
    let mut c = Cursor::of(&tkhd);
    let (v, _) = c.full_header()?;
    c.skip(if v == 1 { 16 } else { 8 }, "creation/modification time")?;
    let track_id = c.u32("track_ID")?;
    if track_id == 0 {
        return Err(c.invalid("track_ID", 0));
    }
    let mdia = need(body, base, kind::MDIA, "trak")?;
    let mdhd = need(mdia.body, mdia.body_offset, kind::MDHD, "mdia")?;
    let mut c = Cursor::of(&mdhd);
    let (v, _) = c.full_header()?;
    c.skip(if v == 1 { 16 } else { 8 }, "creation/modification time")?;
    let timescale = c.u32("timescale")?;
    if timescale == 0 {
        return Err(c.invalid("timescale", 0));
    }
    let minf = need(mdia.body, mdia.body_offset, kind::MINF, "mdia")?;
    let stbl = need(minf.body, minf.body_offset, kind::STBL, "minf")?;
    let stsd = need(stbl.body, stbl.body_offset, kind::STSD, "stbl")?;
    let id = TrackId(track_id - 1);
    let Some(mut info) = parse_stsd(&Cursor::of(&stsd), id, timescale)? else {
        let entry = stsd
            .body
            .get(12..16)
            .and_then(|b| b.try_into().ok())
            .map(FourCc);
        return Ok(Err(entry.unwrap_or(FourCc(*b"????"))));
    };
    let length_size = nal_length_size(&mut info)?;
    let dts_offset = match find(body, base, kind::EDTS)? {
        Some(edts) => edit_offset(&edts, movie_timescale, timescale)?,
        None => 0,
    };
    let samples = sample_table(&stbl, cfg, total_samples)?;
    let cts_shift = samples
        .iter()
        .map(|s| -i64::from(s.cto))
        .max()
        .unwrap_or(0)
        .max(0);
    Ok(Ok(Track {
        cts_shift,
        info,
        track_id,
        timescale,
        length_size,
        dts_offset,
        samples,
        trex: (0, 0, 0),
    }))
}

/// The NAL length size of an avcC/hvcC other than 4; the config is rewritten to 4 so it
/// matches the re-framed samples.
fn nal_length_size(info: &mut TrackInfo) -> Result<Option<u8>> {
    let bad = |e: &dyn ToString| Error::BadConfig {
        track: info.id,
        codec: info.codec,
        reason: e.to_string(),
    };
    match info.codec {
        Codec::H264 => {
            let mut cfg = AvcConfig::parse_bytes(&info.config).map_err(|e| bad(&e))?;
            if cfg.nal_length_size == 4 {
                return Ok(None);
            }
            let n = cfg.nal_length_size;
            cfg.nal_length_size = 4;
            info.config = cfg.to_bytes();
            Ok(Some(n))
        }
        Codec::H265 => {
            let mut cfg = HevcConfig::parse_bytes(&info.config).map_err(|e| bad(&e))?;
            if cfg.nal_length_size == 4 {
                return Ok(None);
            }
            let n = cfg.nal_length_size;
            cfg.nal_length_size = 4;
            info.config = cfg.to_bytes();
            Ok(Some(n))
        }
        _ => Ok(None),
    }
}

/// The decode-time shift an edit list implies (§8.6.6): leading empty edits delay the
/// track; the first real edit's `media_time` is where presentation starts. Later edits
/// (cuts inside the media) are not applied.
fn edit_offset(edts: &Child<'_>, movie_timescale: u32, timescale: u32) -> Result<i64> {
    let Some(elst) = find(edts.body, edts.body_offset, kind::ELST)? else {
        return Ok(0);
    };
    let mut c = Cursor::of(&elst);
    let (v, _) = c.full_header()?;
    let n = c.u32("entry_count")?;
    let mut empty: u64 = 0;
    let mut media_time = 0i64;
    for _ in 0..n {
        let duration = c.u32_or_u64(v, "segment_duration")?;
        let time = if v == 1 {
            c.u64("media_time")? as i64
        } else {
            i64::from(c.i32("media_time")?)
        };
        c.u32("media_rate")?;
        if time == -1 {
            empty = empty.saturating_add(duration);
        } else {
            media_time = time;
            break;
        }
    }
    let movie = Timebase::hz(movie_timescale.max(1)).unwrap_or(Timebase::MILLIS);
    let media = Timebase::hz(timescale).unwrap_or(Timebase::MILLIS);
    let empty = rescale(i64::try_from(empty).unwrap_or(i64::MAX), movie, media);
    Ok(empty.saturating_sub(media_time))
}

/// Expands `stts`/`ctts`/`stss`/`stsz`/`stsc`/`stco` into samples (media decode times,
/// file offsets), bounded by [`DemuxConfig::max_samples`].
fn sample_table(stbl: &Child<'_>, cfg: &DemuxConfig, total: &mut usize) -> Result<Vec<Sample>> {
    let (body, base) = (stbl.body, stbl.body_offset);
    // Sizes (§8.7.3): stsz, or the compact stz2.
    let mut sizes: Vec<u32> = Vec::new();
    let count: usize;
    let mut constant = None;
    if let Some(stsz) = find(body, base, kind::STSZ)? {
        let mut c = Cursor::of(&stsz);
        c.full_header()?;
        let size = c.u32("sample_size")?;
        let n = u64::from(c.u32("sample_count")?);
        count = check_total(n, cfg, total)?;
        if size == 0 {
            let n = c.check_count(n, 4, "entry_size")?;
            sizes.reserve_exact(n);
            for _ in 0..n {
                sizes.push(c.u32("entry_size")?);
            }
        } else {
            constant = Some(size);
        }
    } else if let Some(stz2) = find(body, base, kind::STZ2)? {
        let mut c = Cursor::of(&stz2);
        c.full_header()?;
        let field = c.u32("field_size")? & 0xFF;
        let n = u64::from(c.u32("sample_count")?);
        count = check_total(n, cfg, total)?;
        let bits = match field {
            4 | 8 | 16 => field as u64,
            f => return Err(c.invalid("field_size", u64::from(f))),
        };
        let bytes = usize::try_from((n * bits).div_ceil(8)).unwrap_or(usize::MAX);
        let raw = c.take(bytes, "entry_size")?;
        sizes.reserve_exact(count);
        for i in 0..count {
            let v = match bits {
                4 => raw
                    .get(i / 2)
                    .map(|b| if i % 2 == 0 { b >> 4 } else { b & 0xF })
                    .map(u32::from),
                8 => raw.get(i).map(|&b| u32::from(b)),
                _ => raw
                    .get(2 * i..2 * i + 2)
                    .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]]))),
            };
            sizes.push(v.unwrap_or(0));
        }
    } else if find(body, base, kind::STSC)?.is_none() {
        return Ok(Vec::new()); // fragmented init: no tables at all
    } else {
        return Err(Error::MissingBox {
            fourcc: kind::STSZ,
            context: "stbl",
        });
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut samples = Vec::with_capacity(count);
    let size_of = |i: usize| constant.unwrap_or_else(|| sizes.get(i).copied().unwrap_or(0));
    // Decode times (§8.6.1.2).
    let stts = need(body, base, kind::STTS, "stbl")?;
    let mut c = Cursor::of(&stts);
    c.full_header()?;
    let entries = c.u32("entry_count")?;
    let entries = c.check_count(u64::from(entries), 8, "stts entries")?;
    let mut dts: i64 = 0;
    let mut last_delta = 0u32;
    'outer: for _ in 0..entries {
        let n = c.u32("sample_count")?;
        let delta = c.u32("sample_delta")?;
        last_delta = delta;
        for _ in 0..n {
            if samples.len() == count {
                break 'outer;
            }
            samples.push(Sample {
                offset: 0,
                dts,
                size: size_of(samples.len()),
                cto: 0,
                key: true,
            });
            dts = dts.saturating_add(i64::from(delta));
        }
    }
    // Quirk: an stts shorter than the sample count; the rest repeat the last delta.
    while samples.len() < count {
        samples.push(Sample {
            offset: 0,
            dts,
            size: size_of(samples.len()),
            cto: 0,
            key: true,
        });
        dts = dts.saturating_add(i64::from(last_delta));
    }
    // Composition offsets (§8.6.1.3); version 0 values are read as signed, as players do.
    if let Some(ctts) = find(body, base, kind::CTTS)? {
        let mut c = Cursor::of(&ctts);
        c.full_header()?;
        let entries = c.u32("entry_count")?;
        let entries = c.check_count(u64::from(entries), 8, "ctts entries")?;
        let mut i = 0usize;
        for _ in 0..entries {
            let n = c.u32("sample_count")?;
            let off = c.i32("sample_offset")?;
            for _ in 0..n {
                match samples.get_mut(i) {
                    Some(s) => s.cto = off,
                    None => break,
                }
                i += 1;
            }
        }
    }
    // Sync samples (§8.6.2): absent means every sample is one.
    if let Some(stss) = find(body, base, kind::STSS)? {
        let mut c = Cursor::of(&stss);
        c.full_header()?;
        let n = c.u32("entry_count")?;
        let n = c.check_count(u64::from(n), 4, "stss entries")?;
        for s in &mut samples {
            s.key = false;
        }
        for _ in 0..n {
            let k = c.u32("sample_number")? as usize;
            if let Some(s) = k.checked_sub(1).and_then(|k| samples.get_mut(k)) {
                s.key = true;
            }
        }
    }
    // Chunks (§8.7.4, §8.7.5).
    let offsets = chunk_offsets(body, base)?;
    let stsc = need(body, base, kind::STSC, "stbl")?;
    let mut c = Cursor::of(&stsc);
    c.full_header()?;
    let n = c.u32("entry_count")?;
    let n = c.check_count(u64::from(n), 12, "stsc entries")?;
    let mut runs = Vec::with_capacity(n);
    for _ in 0..n {
        let first = c.u32("first_chunk")?;
        let per = c.u32("samples_per_chunk")?;
        c.u32("sample_description_index")?;
        runs.push((first, per));
    }
    let mut next = 0usize;
    for (r, &(first, per)) in runs.iter().enumerate() {
        let end = runs
            .get(r + 1)
            .map_or(offsets.len() as u64, |e| u64::from(e.0.saturating_sub(1)));
        let start = u64::from(first.saturating_sub(1));
        for chunk in start..end.min(offsets.len() as u64) {
            let Some(&base_off) = offsets.get(chunk as usize) else {
                break;
            };
            let mut off = base_off;
            for _ in 0..per {
                let Some(s) = samples.get_mut(next) else {
                    break;
                };
                s.offset = off;
                off = off.saturating_add(u64::from(s.size));
                next += 1;
            }
            if next == samples.len() {
                break;
            }
        }
    }
    if next < samples.len() {
        // Samples no chunk holds: the file is cut or the tables disagree; keep the rest out.
        samples.truncate(next);
    }
    Ok(samples)
}

fn check_total(n: u64, cfg: &DemuxConfig, total: &mut usize) -> Result<usize> {
    let sum = (*total as u64).saturating_add(n);
    if sum > cfg.max_samples as u64 {
        return Err(Error::LimitExceeded {
            what: "samples",
            value: sum,
            limit: cfg.max_samples as u64,
        });
    }
    *total = sum as usize;
    Ok(n as usize)
}

fn chunk_offsets(body: &[u8], base: u64) -> Result<Vec<u64>> {
    let (child, wide) = match find(body, base, kind::STCO)? {
        Some(c) => (c, false),
        None => (need(body, base, kind::CO64, "stbl (stco or co64)")?, true),
    };
    let mut c = Cursor::of(&child);
    c.full_header()?;
    let n = c.u32("entry_count")?;
    let n = c.check_count(u64::from(n), if wide { 8 } else { 4 }, "chunk offsets")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(if wide {
            c.u64("chunk_offset")?
        } else {
            u64::from(c.u32("chunk_offset")?)
        });
    }
    Ok(out)
}
