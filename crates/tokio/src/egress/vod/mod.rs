//! Playback of files (VOD): recordings and media files under named roots, served as
//! `/vod/{root}/{path}` over HTTP (bytes with `Range`, FLV remux, time-span assembly of
//! recordings), RTSP ([`rtsp`]) and RTMP ([`rtmp`]).
//!
//! Paths never leave their root: a path with empty, `.` or `..` parts, a backslash or a
//! NUL is refused (404), and a path that resolves (through symlinks) outside the root's
//! canonical directory is forbidden (403). Every player consults the authorization hook
//! ([`crate::auth::Access::Play`], protocol `vod-http`, `vod-rtsp`, `vod-rtmp`, key
//! `vod/{root}/{path}`), and holds the file in use while it plays so that retention never
//! deletes it.

#[cfg(feature = "http")]
pub(crate) mod http;
pub(crate) mod pace;
#[cfg(feature = "rtmp")]
pub(crate) mod rtmp;
#[cfg(feature = "rtsp")]
pub(crate) mod rtsp;
pub(crate) mod source;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use weir_media::{Frame, TrackInfo};

use super::record::catalog::{InUse, InUseGuard};
use super::record::naming::safe_relative;
use super::{RecordConfig, VodConfig};
use source::MediaFile;

/// Why a VOD path is not served.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VodError {
    /// No such root or file, or a malformed path.
    #[error("not found")]
    NotFound,
    /// The path leads outside its root.
    #[error("forbidden")]
    Forbidden,
}

/// The VOD roots and the in-use registry shared with retention.
#[derive(Debug)]
pub(crate) struct Vod {
    roots: HashMap<String, PathBuf>,
    pub(crate) in_use: Arc<InUse>,
    /// Where HTTP players are listed as sessions.
    pub(crate) hub: crate::core::Hub,
}

impl Vod {
    /// Roots from `vod`, with `rec` = the recording directory unless set.
    pub(crate) fn new(
        vod: &VodConfig,
        record: &RecordConfig,
        in_use: Arc<InUse>,
        hub: crate::core::Hub,
    ) -> Vod {
        let mut roots = vod.roots.clone();
        roots
            .entry("rec".to_string())
            .or_insert_with(|| record.dir.clone());
        Vod { roots, in_use, hub }
    }

    /// `{root}/{path}` (the part after `/vod/`) → the file, checked to stay inside its
    /// root. Blocking (file system).
    pub(crate) fn resolve(&self, root_and_path: &str) -> Result<PathBuf, VodError> {
        let (root, path) = root_and_path
            .trim_start_matches('/')
            .split_once('/')
            .ok_or(VodError::NotFound)?;
        let dir = self.roots.get(root).ok_or(VodError::NotFound)?;
        let rel = safe_relative(path).ok_or(VodError::NotFound)?;
        resolve_in(dir, &rel)
    }

    /// Opens `path` for playing: holds it in use, reads its index. Blocking.
    pub(crate) fn open(&self, path: &Path) -> io::Result<(MediaFile, InUseGuard)> {
        let guard = self.in_use.guard(path);
        let file = MediaFile::open(path)?;
        Ok((file, guard))
    }
}

/// `dir/rel` if it is a file inside `dir` once symlinks are resolved.
pub(crate) fn resolve_in(dir: &Path, rel: &Path) -> Result<PathBuf, VodError> {
    let root = std::fs::canonicalize(dir).map_err(|_| VodError::NotFound)?;
    let full = std::fs::canonicalize(root.join(rel)).map_err(|_| VodError::NotFound)?;
    if !full.starts_with(&root) {
        return Err(VodError::Forbidden);
    }
    if !full.is_file() {
        return Err(VodError::NotFound);
    }
    Ok(full)
}

/// A read job on the blocking pool: the file comes back with the frames it read.
type Job = tokio::task::JoinHandle<(MediaFile, io::Result<Vec<Frame>>)>;

/// A [`MediaFile`] read off the runtime: reads run on the blocking pool, a batch at a
/// time. [`AsyncMedia::next`] is cancel-safe (a read in flight is picked up by the next
/// call).
pub(crate) struct AsyncMedia {
    inner: Option<MediaFile>,
    job: Option<Job>,
    tracks: Vec<TrackInfo>,
    duration: Option<Duration>,
    /// Frames read ahead.
    buf: std::collections::VecDeque<Frame>,
    ended: bool,
    _guard: Option<InUseGuard>,
}

/// Frames read per trip to the blocking pool.
const READ_AHEAD: usize = 32;

fn read_batch(m: &mut MediaFile) -> io::Result<Vec<Frame>> {
    let mut v = Vec::with_capacity(READ_AHEAD);
    while v.len() < READ_AHEAD {
        match m.next_frame()? {
            Some(f) => v.push(f),
            None => break,
        }
    }
    Ok(v)
}

impl AsyncMedia {
    pub(crate) fn new(file: MediaFile, guard: Option<InUseGuard>) -> AsyncMedia {
        AsyncMedia {
            tracks: file.tracks().to_vec(),
            duration: file.duration(),
            inner: Some(file),
            job: None,
            buf: std::collections::VecDeque::new(),
            ended: false,
            _guard: guard,
        }
    }

    /// Opens `path` through `vod` on the blocking pool.
    pub(crate) async fn open(vod: &Arc<Vod>, path: PathBuf) -> io::Result<AsyncMedia> {
        let v = vod.clone();
        let (file, guard) = tokio::task::spawn_blocking(move || v.open(&path))
            .await
            .map_err(io::Error::other)??;
        Ok(AsyncMedia::new(file, Some(guard)))
    }

    pub(crate) fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    pub(crate) fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// Waits for the job in flight, if any; its frames are returned.
    async fn settle(&mut self) -> io::Result<Vec<Frame>> {
        let Some(job) = self.job.as_mut() else {
            return Ok(Vec::new());
        };
        let joined = job.await;
        self.job = None;
        let (file, r) = joined.map_err(io::Error::other)?;
        self.inner = Some(file);
        r
    }

    fn start(
        &mut self,
        f: impl FnOnce(&mut MediaFile) -> io::Result<Vec<Frame>> + Send + 'static,
    ) -> io::Result<()> {
        let mut file = self
            .inner
            .take()
            .ok_or_else(|| io::Error::other("media file lost"))?;
        self.job = Some(tokio::task::spawn_blocking(move || {
            let r = f(&mut file);
            (file, r)
        }));
        Ok(())
    }

    /// The next frame (`None` at the end). Cancel-safe.
    ///
    /// # Errors
    /// I/O errors, broken files.
    pub(crate) async fn next(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(f) = self.buf.pop_front() {
                return Ok(Some(f));
            }
            if self.ended && self.job.is_none() {
                return Ok(None);
            }
            if self.job.is_none() {
                self.start(read_batch)?;
            }
            let frames = self.settle().await?;
            self.ended = frames.len() < READ_AHEAD;
            self.buf.extend(frames);
        }
    }

    /// Peeks at the next frame without taking it. Cancel-safe.
    pub(crate) async fn peek(&mut self) -> io::Result<Option<&Frame>> {
        if self.buf.is_empty() {
            if let Some(f) = self.next().await? {
                self.buf.push_front(f);
            }
        }
        Ok(self.buf.front())
    }

    /// Moves to the keyframe at or before `npt` (frames read ahead are dropped).
    ///
    /// # Errors
    /// I/O errors, broken files.
    pub(crate) async fn seek(&mut self, npt: Duration) -> io::Result<()> {
        let _ = self.settle().await;
        self.buf.clear();
        self.ended = false;
        self.start(move |m| {
            m.seek(npt)?;
            read_batch(m)
        })?;
        let frames = self.settle().await?;
        self.ended = frames.len() < READ_AHEAD;
        self.buf.extend(frames);
        Ok(())
    }
}

/// How far a file's timestamps must move so that none is negative (files with B-frames
/// start decoding before presentation time 0; FLV and RTMP timestamps are unsigned).
/// Call before any seek: it looks at the first frame.
pub(crate) async fn lead_in(media: &mut AsyncMedia) -> Duration {
    match media.peek().await {
        Ok(Some(f)) => {
            let ns = f.dts.rescale(weir_media::Timebase::NANOS).ticks();
            Duration::from_nanos(u64::try_from(-ns).unwrap_or(0))
        }
        _ => Duration::ZERO,
    }
}

/// `f` with its timestamps moved later by `by`.
pub(crate) fn shifted(mut f: Frame, by: Duration) -> Frame {
    if by.is_zero() {
        return f;
    }
    let ns = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
    let add = |t: weir_media::Timestamp| {
        let tb = t.timebase();
        let v = t
            .rescale(weir_media::Timebase::NANOS)
            .ticks()
            .saturating_add(ns);
        weir_media::Timestamp::new(v, weir_media::Timebase::NANOS).rescale(tb)
    };
    f.dts = add(f.dts);
    f.pts = add(f.pts);
    f
}
