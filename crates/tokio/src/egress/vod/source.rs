//! A media file read frame by frame with seeking: MP4 (weir-mp4's sans-IO demuxer) or FLV
//! (weir-flv's tag parser and demuxer, with a keyframe index built on open). Blocking file
//! reads: call from `spawn_blocking` (see [`super::AsyncMedia`]).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use weir_flv::{FlvDemuxer, FlvEvent, FlvHeader, TagHeader, TagType};
use weir_media::{Codec, Frame, MediaKind, Timebase, Timestamp, TrackInfo};
use weir_mp4::{DemuxConfig, Demuxer};

/// Largest read the demuxer may ask for at once (a `moov` of a long file fits).
const MAX_READ: usize = 256 << 20;

fn bad(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Reads up to `len` bytes at `offset` (fewer at the end of the file).
fn read_at(file: &mut File, offset: u64, len: usize) -> io::Result<Bytes> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = BytesMut::zeroed(len.min(MAX_READ));
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf.freeze())
}

struct Mp4 {
    file: File,
    demux: Demuxer,
}

impl Mp4 {
    /// Feeds the demuxer until a frame is ready (`None` at the end).
    fn next(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(f) = self.demux.poll_frame() {
                return Ok(Some(f));
            }
            let Some(req) = self.demux.poll_read() else {
                return Ok(None);
            };
            let data = read_at(&mut self.file, req.offset, req.len)?;
            self.demux.handle_data(req.offset, data).map_err(bad)?;
        }
    }

    fn seek(&mut self, t: Duration) -> io::Result<()> {
        if self.demux.seek(t).map_err(bad)?.is_some() {
            return Ok(());
        }
        while self.demux.last_seek().is_none() {
            let Some(req) = self.demux.poll_read() else {
                break;
            };
            let data = read_at(&mut self.file, req.offset, req.len)?;
            self.demux.handle_data(req.offset, data).map_err(bad)?;
            if self.demux.last_seek().is_some() {
                break;
            }
        }
        Ok(())
    }
}

/// An FLV file: tags read in order from an offset; seeking through a keyframe index.
struct Flv {
    file: File,
    first_tag: u64,
    pos: u64,
    demux: FlvDemuxer,
    ready: VecDeque<Frame>,
    /// (time ms, offset) of every video keyframe tag (of every tag when there is no video).
    keys: Vec<(i64, u64)>,
    /// The sequence headers, to prime a fresh demuxer after a seek.
    configs: Vec<(TagType, u32, Bytes)>,
}

impl Flv {
    fn tag_at(&mut self, pos: u64) -> io::Result<Option<(TagHeader, u64)>> {
        let h = read_at(&mut self.file, pos, weir_flv::TAG_HEADER_LEN)?;
        if h.len() < weir_flv::TAG_HEADER_LEN {
            return Ok(None);
        }
        let th = TagHeader::parse(&h, pos).map_err(bad)?;
        let next = pos + weir_flv::TAG_HEADER_LEN as u64 + u64::from(th.data_size) + 4;
        Ok(Some((th, next)))
    }

    fn next(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(f) = self.ready.pop_front() {
                return Ok(Some(f));
            }
            let Some((th, next)) = self.tag_at(self.pos)? else {
                return Ok(None);
            };
            let body = read_at(
                &mut self.file,
                self.pos + weir_flv::TAG_HEADER_LEN as u64,
                th.data_size as usize,
            )?;
            if body.len() < th.data_size as usize {
                return Ok(None);
            }
            self.pos = next;
            // A tag the demuxer cannot read concerns that tag only.
            let _ = self.demux.push(th.tag_type, th.timestamp, &body);
            while let Some(ev) = self.demux.poll_event() {
                if let FlvEvent::Frame(f) = ev {
                    self.ready.push_back(f);
                }
            }
        }
    }

    /// A demuxer that has seen the sequence headers (its clock starts anew, so a seek back
    /// is not mistaken for a wrap).
    fn fresh_demux(&mut self) {
        self.demux = FlvDemuxer::new();
        for (t, ts, body) in &self.configs {
            let _ = self.demux.push(*t, *ts, body);
        }
        while self.demux.poll_event().is_some() {}
    }

    fn seek(&mut self, t: Duration) {
        let target = i64::try_from(t.as_millis()).unwrap_or(i64::MAX);
        let pos = self
            .keys
            .iter()
            .rev()
            .find(|k| k.0 <= target)
            .or(self.keys.first())
            .map_or(self.first_tag, |k| k.1);
        self.pos = pos;
        self.ready.clear();
        self.fresh_demux();
    }
}

enum Kind {
    Mp4(Box<Mp4>),
    Flv(Box<Flv>),
}

/// An open media file.
pub(crate) struct MediaFile {
    path: std::path::PathBuf,
    kind: Kind,
    tracks: Vec<TrackInfo>,
    duration: Option<Duration>,
}

impl std::fmt::Debug for MediaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaFile")
            .field("tracks", &self.tracks.len())
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

/// Whether a file name looks like FLV (by extension).
pub(crate) fn is_flv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("flv"))
}

impl MediaFile {
    /// Opens an MP4 or FLV file (by its first bytes) and reads its index.
    ///
    /// # Errors
    /// I/O errors; `InvalidData` for files that are neither, or broken.
    pub(crate) fn open(path: &Path) -> io::Result<MediaFile> {
        let mut m = MediaFile::open_at_start(path)?;
        if m.tracks.is_empty() {
            return Err(bad("no playable track"));
        }
        m.measure()?;
        Ok(m)
    }

    fn open_at_start(path: &Path) -> io::Result<MediaFile> {
        let mut file = File::open(path)?;
        let head = read_at(&mut file, 0, 16)?;
        let mut m = if head.starts_with(b"FLV") {
            MediaFile::open_flv(file)?
        } else {
            MediaFile::open_mp4(file)?
        };
        m.path = path.to_path_buf();
        Ok(m)
    }

    /// Back to the first frame of every track (a seek to 0 would start the other tracks at
    /// the first keyframe's presentation time and skip audio decoded before it).
    fn rewind(&mut self) -> io::Result<()> {
        let fresh = MediaFile::open_at_start(&self.path)?;
        self.kind = fresh.kind;
        Ok(())
    }

    fn open_mp4(file: File) -> io::Result<MediaFile> {
        let mut mp4 = Mp4 {
            file,
            demux: Demuxer::new(DemuxConfig::default()),
        };
        while mp4.demux.tracks().is_empty() {
            let Some(req) = mp4.demux.poll_read() else {
                break;
            };
            let data = read_at(&mut mp4.file, req.offset, req.len)?;
            mp4.demux.handle_data(req.offset, data).map_err(bad)?;
        }
        let tracks = mp4.demux.tracks().to_vec();
        let duration = mp4.demux.duration().filter(|d| !d.is_zero());
        Ok(MediaFile {
            path: std::path::PathBuf::new(),
            kind: Kind::Mp4(Box::new(mp4)),
            tracks,
            duration,
        })
    }

    fn open_flv(mut file: File) -> io::Result<MediaFile> {
        let head = read_at(&mut file, 0, weir_flv::HEADER_LEN)?;
        let header = FlvHeader::parse(&head).map_err(bad)?;
        let first_tag = u64::from(header.data_offset) + 4;
        let mut flv = Flv {
            file,
            first_tag,
            pos: first_tag,
            demux: FlvDemuxer::new(),
            ready: VecDeque::new(),
            keys: Vec::new(),
            configs: Vec::new(),
        };
        // Index: every video keyframe (or every tag without video); tracks from the
        // sequence headers met on the way.
        let mut any_video = false;
        let mut all = Vec::new();
        let mut pos = first_tag;
        while let Some((th, next)) = flv.tag_at(pos)? {
            let ts = i64::from(th.timestamp);
            let body_at = pos + weir_flv::TAG_HEADER_LEN as u64;
            match th.tag_type {
                TagType::Video => {
                    any_video = true;
                    let b = read_at(&mut flv.file, body_at, th.data_size.min(8) as usize)?;
                    let key = b.first().is_some_and(|b| (b >> 4) & 0x7 == 1);
                    if flv_video_config(&b) {
                        let body = read_at(&mut flv.file, body_at, th.data_size as usize)?;
                        let _ = flv.demux.push(th.tag_type, th.timestamp, &body);
                        flv.configs.push((th.tag_type, th.timestamp, body));
                    } else if key {
                        flv.keys.push((ts, pos));
                    }
                }
                TagType::Audio => {
                    if flv.demux.audio_track().is_none() {
                        let body = read_at(&mut flv.file, body_at, th.data_size as usize)?;
                        let _ = flv.demux.push(th.tag_type, th.timestamp, &body);
                        flv.configs.push((th.tag_type, th.timestamp, body));
                    }
                    all.push((ts, pos));
                }
                TagType::Script => {}
            }
            pos = next;
        }
        if !any_video {
            flv.keys = all;
        }
        let mut tracks: Vec<TrackInfo> = flv.demux.tracks().cloned().collect();
        tracks.sort_by_key(|t| t.codec.kind() != MediaKind::Video);
        // Start reading over with a fresh demuxer (the index pass fed it out of order).
        flv.fresh_demux();
        Ok(MediaFile {
            path: std::path::PathBuf::new(),
            kind: Kind::Flv(Box::new(flv)),
            tracks,
            duration: None,
        })
    }

    /// When the index has no duration, finds the last frame's end: reads the file's last
    /// GOP.
    fn measure(&mut self) -> io::Result<()> {
        let Some(primary) = self.tracks.first().map(|t| t.id) else {
            return Ok(());
        };
        if self.duration.is_none() {
            self.seek(Duration::from_secs(100 * 365 * 86_400))?;
            let mut end: Option<Timestamp> = None;
            let mut step = Duration::ZERO;
            let mut last_dts: Option<Timestamp> = None;
            while let Some(f) = self.next_frame()? {
                if f.track != primary {
                    continue;
                }
                if let Some(d) = last_dts.and_then(|l| f.dts.duration_since(l)) {
                    step = d;
                }
                last_dts = Some(f.dts);
                if end.is_none_or(|e| f.pts.cmp_instant(e).is_gt()) {
                    end = Some(f.pts);
                }
            }
            self.duration = end
                .and_then(|e| e.duration_since(Timestamp::new(0, Timebase::MILLIS)))
                .map(|d| d + step);
            return self.rewind();
        }
        Ok(())
    }

    /// The tracks (video first).
    pub(crate) fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    /// The media duration, when known.
    pub(crate) fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// Codecs of the tracks.
    pub(crate) fn codecs(&self) -> Vec<Codec> {
        self.tracks.iter().map(|t| t.codec).collect()
    }

    /// The next frame in decode order.
    ///
    /// # Errors
    /// I/O errors and broken files.
    pub(crate) fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        match &mut self.kind {
            Kind::Mp4(m) => m.next(),
            Kind::Flv(f) => f.next(),
        }
    }

    /// Moves to the keyframe at or before `npt` (presentation time since media time 0).
    ///
    /// # Errors
    /// I/O errors and broken files.
    pub(crate) fn seek(&mut self, npt: Duration) -> io::Result<()> {
        if npt.is_zero() {
            return self.rewind();
        }
        match &mut self.kind {
            Kind::Mp4(m) => m.seek(npt),
            Kind::Flv(f) => {
                f.seek(npt);
                Ok(())
            }
        }
    }
}

/// Whether an FLV video tag body is a sequence header (AVC/HEVC packet type 0, or an
/// enhanced-RTMP `SequenceStart`).
fn flv_video_config(b: &[u8]) -> bool {
    match b.first() {
        Some(&h) if h & 0x80 != 0 => h & 0x0F == 0,
        Some(&h) if matches!(h & 0x0F, 7 | 12) => b.get(1) == Some(&0),
        _ => false,
    }
}

/// Duration and codecs of a file (for listings); `None` when it cannot be read.
pub(crate) fn probe(path: &Path) -> Option<(Option<Duration>, Vec<Codec>)> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ts"))
    {
        return crate::egress::record::catalog::probe_ts(path);
    }
    MediaFile::open(path)
        .ok()
        .map(|m| (m.duration(), m.codecs()))
}
