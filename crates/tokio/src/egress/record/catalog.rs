//! What is on the disk: the recording files of every stream (for the API and the
//! time-span assembly), files in use (being written or served: retention skips them), and
//! a cache of probed durations and codecs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use weir_media::Codec;

use super::naming::parse_file_name;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The key a file is known by: its canonical path when it exists.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Files being written or served, with a use count.
#[derive(Debug, Default)]
pub(crate) struct InUse {
    files: Mutex<HashMap<PathBuf, usize>>,
}

impl InUse {
    /// Marks `path` in use (pair with [`InUse::release`]).
    pub(crate) fn hold(&self, path: &Path) {
        *lock(&self.files).entry(canonical(path)).or_insert(0) += 1;
    }

    /// Ends one use of `path`.
    pub(crate) fn release(&self, path: &Path) {
        let key = canonical(path);
        let mut files = lock(&self.files);
        if let Some(n) = files.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                files.remove(&key);
            }
        }
    }

    /// Whether `path` is in use.
    pub(crate) fn contains(&self, path: &Path) -> bool {
        lock(&self.files).contains_key(&canonical(path))
    }

    /// Holds `path` until the guard drops.
    pub(crate) fn guard(self: &Arc<Self>, path: &Path) -> InUseGuard {
        self.hold(path);
        InUseGuard {
            set: self.clone(),
            path: path.to_path_buf(),
        }
    }
}

/// One use of a file (a player reading it).
#[derive(Debug)]
pub(crate) struct InUseGuard {
    set: Arc<InUse>,
    path: PathBuf,
}

impl Drop for InUseGuard {
    fn drop(&mut self) {
        self.set.release(&self.path);
    }
}

/// One recording file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FileEntry {
    /// `app/stream`.
    pub(crate) key: String,
    pub(crate) path: PathBuf,
    /// File name.
    pub(crate) name: String,
    /// Unix seconds of its start (from the name).
    pub(crate) start_secs: i64,
    pub(crate) bytes: u64,
    pub(crate) modified: SystemTime,
}

/// Every recording file under `dir` (`{dir}/{app...}/{stream}/{stamp}.{ext}`), sorted by
/// stream then start. Blocking.
pub(crate) fn scan(dir: &Path) -> Vec<FileEntry> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new(), 0usize)];
    while let Some((d, rel, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let name = e.file_name().to_string_lossy().into_owned();
            if ft.is_dir() && depth < 8 {
                let r = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                stack.push((e.path(), r, depth + 1));
            } else if ft.is_file() && rel.contains('/') {
                let Some((start_secs, _)) = parse_file_name(&name) else {
                    continue;
                };
                let Ok(md) = e.metadata() else { continue };
                out.push(FileEntry {
                    key: rel.clone(),
                    path: e.path(),
                    name,
                    start_secs,
                    bytes: md.len(),
                    modified: md.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.key, a.start_secs, &a.name).cmp(&(&b.key, b.start_secs, &b.name)));
    out
}

/// Duration and codecs of a file, when it could be read.
pub(crate) type Probe = Option<(Option<Duration>, Vec<Codec>)>;

/// Probed files by (path, size, modification time).
#[derive(Debug, Default)]
pub(crate) struct ProbeCache {
    entries: Mutex<HashMap<PathBuf, (u64, SystemTime, Probe)>>,
}

impl ProbeCache {
    /// The probe of `f`, read with `probe` when the file is new or changed. Blocking.
    pub(crate) fn get(&self, f: &FileEntry, probe: impl FnOnce(&Path) -> Probe) -> Probe {
        if let Some((len, modified, p)) = lock(&self.entries).get(&f.path) {
            if *len == f.bytes && *modified == f.modified {
                return p.clone();
            }
        }
        let p = probe(&f.path);
        let mut entries = lock(&self.entries);
        if entries.len() > 100_000 {
            entries.clear();
        }
        entries.insert(f.path.clone(), (f.bytes, f.modified, p.clone()));
        p
    }

    /// Forgets a file that was deleted.
    pub(crate) fn forget(&self, path: &Path) {
        lock(&self.entries).remove(path);
    }
}

/// Duration and codecs of an MPEG-TS recording (for listings): the file is read through
/// weir-mpegts's demuxer in 1 MiB pieces (memory stays bounded; listings cache the answer).
/// The duration is the longest track's, from its first to its last decode time plus the
/// last frame's step. `None` when the file cannot be read or holds no frame.
pub(crate) fn probe_ts(path: &Path) -> Option<(Option<Duration>, Vec<Codec>)> {
    use std::io::Read;
    use weir_mpegts::{Event, TsDemuxer};
    let mut file = std::fs::File::open(path).ok()?;
    let mut demux = TsDemuxer::new();
    let mut codecs: Vec<(weir_media::TrackId, Codec)> = Vec::new();
    // Per track: first dts, last dts, last step (90 kHz ticks).
    let mut times: HashMap<weir_media::TrackId, (i64, i64, i64)> = HashMap::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = false;
    while !done {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            demux.flush();
            done = true;
        } else {
            demux.push(buf.get(..n)?);
        }
        while let Some(ev) = demux.poll_event() {
            match ev {
                Event::TrackAdded(t) if !codecs.iter().any(|(id, _)| *id == t.id) => {
                    codecs.push((t.id, t.codec));
                }
                Event::Frame(f) => {
                    let dts = f.dts.ticks();
                    let e = times.entry(f.track).or_insert((dts, dts, 0));
                    if dts > e.1 {
                        e.2 = dts - e.1;
                        e.1 = dts;
                    }
                }
                _ => {}
            }
        }
    }
    let ticks = times
        .values()
        .map(|(first, last, step)| last.saturating_sub(*first).saturating_add(*step))
        .max()?;
    let duration = Duration::from_micros(u64::try_from(ticks).ok()?.saturating_mul(100) / 9);
    Some((Some(duration), codecs.into_iter().map(|(_, c)| c).collect()))
}
