//! Reading `moof` (ISO/IEC 14496-12 §8.8.4–8.8.12): track fragments into samples with
//! absolute file offsets and media decode times.

use weir_media::MediaKind;

use super::moov::Track;
use super::{DemuxConfig, Sample};
use crate::boxes::{kind, Children, Cursor};
use crate::error::{Error, Result};

/// tfhd flags (§8.8.7.1).
const BASE_DATA_OFFSET: u32 = 0x01;
const SAMPLE_DESCRIPTION_INDEX: u32 = 0x02;
const DEFAULT_DURATION: u32 = 0x08;
const DEFAULT_SIZE: u32 = 0x10;
const DEFAULT_FLAGS: u32 = 0x20;
const DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// trun flags (§8.8.8.1).
const DATA_OFFSET: u32 = 0x01;
const FIRST_SAMPLE_FLAGS: u32 = 0x04;
const SAMPLE_DURATION: u32 = 0x100;
const SAMPLE_SIZE: u32 = 0x200;
const SAMPLE_FLAGS: u32 = 0x400;
const SAMPLE_CTO: u32 = 0x800;

/// A sync sample neither is flagged non-sync nor depends on others (§8.8.3.1).
fn is_sync(flags: u32) -> bool {
    flags & 0x0001_0000 == 0 && (flags >> 24) & 0x3 != 1
}

/// Parses a `moof` payload at file offset `moof_offset` (its header) and fills each
/// track's `samples` with the fragment's samples (cleared first). `next_dts` keeps each
/// track's running decode time for fragments without `tfdt`.
pub(crate) fn parse_moof(
    body: &[u8],
    body_offset: u64,
    moof_offset: u64,
    tracks: &mut [Track],
    next_dts: &mut [i64],
    cfg: &DemuxConfig,
) -> Result<()> {
    for t in tracks.iter_mut() {
        t.samples.clear();
    }
    let mut total = 0usize;
    // Base for a traf without base-data-offset or default-base-is-moof: the moof for the
    // first, the end of the previous traf's data for the others (§8.8.7.1).
    let mut implicit_base = moof_offset;
    for traf in Children::new(body, body_offset) {
        let traf = traf?;
        if traf.fourcc != kind::TRAF {
            continue;
        }
        let mut tfhd = None;
        let mut tfdt = None;
        for c in Children::new(traf.body, traf.body_offset) {
            let c = c?;
            match c.fourcc {
                kind::TFHD => tfhd = Some(c),
                kind::TFDT => tfdt = Some(c),
                _ => {}
            }
        }
        let Some(tfhd) = tfhd else {
            return Err(Error::MissingBox {
                fourcc: kind::TFHD,
                context: "traf",
            });
        };
        let mut c = Cursor::of(&tfhd);
        let (_, flags) = c.full_header()?;
        let track_id = c.u32("track_ID")?;
        let Some(ti) = tracks.iter().position(|t| t.track_id == track_id) else {
            continue; // a track we skipped (unsupported codec) or never saw
        };
        let track = &mut tracks[ti];
        let base = if flags & BASE_DATA_OFFSET != 0 {
            c.u64("base_data_offset")?
        } else if flags & DEFAULT_BASE_IS_MOOF != 0 {
            moof_offset
        } else {
            implicit_base
        };
        if flags & SAMPLE_DESCRIPTION_INDEX != 0 {
            c.u32("sample_description_index")?;
        }
        let (mut d_dur, mut d_size, mut d_flags) = track.trex;
        if flags & DEFAULT_DURATION != 0 {
            d_dur = c.u32("default_sample_duration")?;
        }
        if flags & DEFAULT_SIZE != 0 {
            d_size = c.u32("default_sample_size")?;
        }
        if flags & DEFAULT_FLAGS != 0 {
            d_flags = c.u32("default_sample_flags")?;
        }
        let dts_slot = next_dts.get_mut(ti).ok_or(Error::BadTracks {
            reason: "internal: track state mismatch",
        })?;
        if let Some(tfdt) = tfdt {
            let mut c = Cursor::of(&tfdt);
            let (v, _) = c.full_header()?;
            let t = c.u32_or_u64(v, "baseMediaDecodeTime")?;
            *dts_slot = i64::try_from(t).map_err(|_| c.invalid("baseMediaDecodeTime", t))?;
        }
        let audio = track.info.codec.kind() == MediaKind::Audio;
        let mut data_end = base;
        for trun in Children::new(traf.body, traf.body_offset) {
            let trun = trun?;
            if trun.fourcc != kind::TRUN {
                continue;
            }
            let mut c = Cursor::of(&trun);
            let (v, flags) = c.full_header()?;
            let n = u64::from(c.u32("sample_count")?);
            let mut pos = if flags & DATA_OFFSET != 0 {
                let off = i64::from(c.i32("data_offset")?);
                base.checked_add_signed(off)
                    .ok_or_else(|| c.invalid("data_offset", off as u64))?
            } else {
                data_end
            };
            let first_flags = if flags & FIRST_SAMPLE_FLAGS != 0 {
                Some(c.u32("first_sample_flags")?)
            } else {
                None
            };
            let per = [SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, SAMPLE_CTO]
                .iter()
                .filter(|&&f| flags & f != 0)
                .count()
                * 4;
            // Entries must fit the box, except that an entry-less trun may still declare
            // samples that all use the defaults; those are bounded by the sample limit.
            let n = if per > 0 {
                c.check_count(n, per, "trun samples")?
            } else {
                n as usize
            };
            total = total.saturating_add(n);
            if total > cfg.max_samples {
                return Err(Error::LimitExceeded {
                    what: "samples in one fragment",
                    value: total as u64,
                    limit: cfg.max_samples as u64,
                });
            }
            track.samples.reserve(n);
            for i in 0..n {
                let dur = if flags & SAMPLE_DURATION != 0 {
                    c.u32("sample_duration")?
                } else {
                    d_dur
                };
                let size = if flags & SAMPLE_SIZE != 0 {
                    c.u32("sample_size")?
                } else {
                    d_size
                };
                let sflags = if flags & SAMPLE_FLAGS != 0 {
                    c.u32("sample_flags")?
                } else if i == 0 {
                    first_flags.unwrap_or(d_flags)
                } else {
                    d_flags
                };
                let cto = if flags & SAMPLE_CTO != 0 {
                    // Version 0 is unsigned; read both as signed, as players do (v0 values
                    // never reach 2^31 in practice).
                    let _ = v;
                    c.i32("sample_composition_time_offset")?
                } else {
                    0
                };
                track.cts_shift = track.cts_shift.max(-i64::from(cto));
                track.samples.push(Sample {
                    offset: pos,
                    dts: *dts_slot,
                    size,
                    cto,
                    key: audio || is_sync(sflags),
                });
                pos = pos.saturating_add(u64::from(size));
                *dts_slot = dts_slot.saturating_add(i64::from(dur));
            }
            data_end = pos;
        }
        implicit_base = data_end;
    }
    Ok(())
}
