//! The movie box shared by both muxers: `mvhd`, `trak` (`tkhd`, `edts`, `mdia`) and, for
//! fragmented files, `mvex` (ISO/IEC 14496-12 §8.2–8.8).

use weir_media::MediaKind;

use crate::boxes::{kind, BoxWriter, FourCc};
use crate::entry::MuxTrack;

/// One edit list entry (§8.6.6): `media_time` −1 is an empty edit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Edit {
    /// Movie timescale.
    pub segment_duration: u64,
    /// Media timescale; −1 for an empty edit.
    pub media_time: i64,
}

/// What one `trak` needs beyond its [`MuxTrack`].
pub(crate) struct TrakSpec<'a> {
    pub track: &'a MuxTrack,
    /// MP4 `track_ID` (≥ 1).
    pub track_id: u32,
    /// `mdhd` duration (media timescale).
    pub media_duration: u64,
    /// `tkhd` duration (movie timescale).
    pub movie_duration: u64,
    pub edits: Vec<Edit>,
    /// Writes the sample tables that follow `stsd` in `stbl`.
    pub tables: &'a dyn Fn(&mut BoxWriter<'_>),
}

/// `ftyp` / `styp` (§4.3).
pub(crate) fn file_type(
    w: &mut BoxWriter<'_>,
    fourcc: FourCc,
    major: &[u8; 4],
    compat: &[&[u8; 4]],
) {
    let m = w.open(fourcc);
    w.bytes(major);
    w.u32(if fourcc == kind::FTYP { 0x200 } else { 0 });
    for c in compat {
        w.bytes(*c);
    }
    w.close(m);
}

fn wide(v: u64) -> bool {
    v > u64::from(u32::MAX)
}

/// `moov` with `mvhd` and one `trak` per spec; `mvex` with a `trex` per track when
/// `fragmented`.
pub(crate) fn write_moov(
    w: &mut BoxWriter<'_>,
    movie_timescale: u32,
    movie_duration: u64,
    traks: &[TrakSpec<'_>],
    fragmented: bool,
) {
    let moov = w.open(kind::MOOV);
    let next_id = traks
        .iter()
        .map(|t| t.track_id)
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    // mvhd (§8.2.2). Creation and modification times are 0: a sans-IO muxer reads no clock.
    let v = u8::from(wide(movie_duration));
    let m = w.open_full(kind::MVHD, v, 0);
    if v == 1 {
        w.zeros(16);
        w.u32(movie_timescale);
        w.u64(movie_duration);
    } else {
        w.zeros(8);
        w.u32(movie_timescale);
        w.u32(movie_duration as u32);
    }
    w.u32(0x0001_0000); // rate 1.0
    w.u16(0x0100); // volume 1.0
    w.zeros(10);
    w.unity_matrix();
    w.zeros(24);
    w.u32(next_id);
    w.close(m);
    for t in traks {
        trak(w, t);
    }
    if fragmented {
        let mvex = w.open(kind::MVEX);
        for t in traks {
            // trex (§8.8.3): defaults are unused, every trun carries its own values.
            let m = w.open_full(kind::TREX, 0, 0);
            w.u32(t.track_id);
            w.u32(1);
            w.zeros(12);
            w.close(m);
        }
        w.close(mvex);
    }
    w.close(moov);
}

fn trak(w: &mut BoxWriter<'_>, t: &TrakSpec<'_>) {
    let video = t.track.kind() == MediaKind::Video;
    let trak = w.open(kind::TRAK);
    // tkhd (§8.3.2): flags track_enabled | track_in_movie.
    let v = u8::from(wide(t.movie_duration));
    let m = w.open_full(kind::TKHD, v, 3);
    if v == 1 {
        w.zeros(16);
        w.u32(t.track_id);
        w.u32(0);
        w.u64(t.movie_duration);
    } else {
        w.zeros(8);
        w.u32(t.track_id);
        w.u32(0);
        w.u32(t.movie_duration as u32);
    }
    w.zeros(8);
    w.u16(0); // layer
    w.u16(0); // alternate_group
    w.u16(if video { 0 } else { 0x0100 });
    w.u16(0);
    w.unity_matrix();
    let dims = t.track.video.unwrap_or_default();
    w.u32(dims.width.min(0xFFFF) << 16);
    w.u32(dims.height.min(0xFFFF) << 16);
    w.close(m);
    if !t.edits.is_empty() {
        let edts = w.open(kind::EDTS);
        let v = u8::from(t.edits.iter().any(|e| {
            wide(e.segment_duration) || e.media_time > i64::from(i32::MAX) || e.media_time < -1
        }));
        let m = w.open_full(kind::ELST, v, 0);
        w.u32(t.edits.len() as u32);
        for e in &t.edits {
            if v == 1 {
                w.u64(e.segment_duration);
                w.u64(e.media_time as u64);
            } else {
                w.u32(e.segment_duration as u32);
                w.i32(e.media_time as i32);
            }
            w.u32(0x0001_0000); // media_rate 1.0
        }
        w.close(m);
        w.close(edts);
    }
    let mdia = w.open(kind::MDIA);
    // mdhd (§8.4.2), language "und".
    let v = u8::from(wide(t.media_duration));
    let m = w.open_full(kind::MDHD, v, 0);
    if v == 1 {
        w.zeros(16);
        w.u32(t.track.timescale);
        w.u64(t.media_duration);
    } else {
        w.zeros(8);
        w.u32(t.track.timescale);
        w.u32(t.media_duration as u32);
    }
    w.u16(0x55C4);
    w.u16(0);
    w.close(m);
    // hdlr (§8.4.3)
    let m = w.open_full(kind::HDLR, 0, 0);
    w.u32(0);
    w.bytes(if video { b"vide" } else { b"soun" });
    w.zeros(12);
    w.bytes(if video {
        b"VideoHandler\0"
    } else {
        b"SoundHandler\0"
    });
    w.close(m);
    let minf = w.open(kind::MINF);
    if video {
        let m = w.open_full(kind::VMHD, 0, 1);
        w.zeros(8);
        w.close(m);
    } else {
        let m = w.open_full(kind::SMHD, 0, 0);
        w.zeros(4);
        w.close(m);
    }
    let dinf = w.open(kind::DINF);
    let dref = w.open_full(kind::DREF, 0, 0);
    w.u32(1);
    let url = w.open_full(kind::URL, 0, 1); // media in this file
    w.close(url);
    w.close(dref);
    w.close(dinf);
    let stbl = w.open(kind::STBL);
    let stsd = w.open_full(kind::STSD, 0, 0);
    w.u32(1);
    w.bytes(&t.track.entry);
    w.close(stsd);
    (t.tables)(w);
    w.close(stbl);
    w.close(minf);
    w.close(mdia);
    w.close(trak);
}

/// The empty sample tables of a fragmented file's `stbl` (§8.8.1: samples live in
/// fragments).
pub(crate) fn empty_tables(w: &mut BoxWriter<'_>) {
    for fourcc in [kind::STTS, kind::STSC, kind::STCO] {
        let m = w.open_full(fourcc, 0, 0);
        w.u32(0);
        w.close(m);
    }
    let m = w.open_full(kind::STSZ, 0, 0);
    w.zeros(8);
    w.close(m);
}
