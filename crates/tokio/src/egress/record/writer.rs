//! The blocking side of a recording: one thread (from tokio's blocking pool) per recording
//! carries out the segmenter's [`Op`]s on the disk, so a slow disk never blocks the
//! runtime. The queue in front of it is bounded in bytes by the recorder (see
//! [`DropGate`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::warn;

use super::catalog::InUse;
use super::naming::file_name;
use super::segment::{Op, Summary};
use crate::core::Unit;

/// A finished file.
#[derive(Clone, Debug)]
pub(crate) struct Done {
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
    pub(crate) summary: Summary,
}

/// Counters shared by a recorder and its writer.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Bytes queued for the disk, not yet written.
    pub(crate) queued: AtomicUsize,
    /// Bytes written.
    pub(crate) written: AtomicU64,
    /// Files finished.
    pub(crate) files: AtomicU64,
    /// Write errors.
    pub(crate) errors: AtomicU64,
}

/// Writes are gathered up to this many bytes, and flushed whenever the queue is empty:
/// fewer system calls under load, nothing held back when the recorder is idle.
const WRITE_BUF: usize = 256 << 10;

struct Open {
    file: BufWriter<File>,
    path: PathBuf,
    len: u64,
}

/// Creates `{dir}/{stamp}[_{n}].{ext}`, never overwriting a file.
fn create(dir: &Path, start_ms: i64, ext: &str) -> io::Result<(File, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let secs = start_ms.div_euclid(1000);
    for n in 0..1000 {
        let path = dir.join(file_name(secs, n, ext));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "1000 files started in one second",
    ))
}

/// Runs until the sender side is dropped; `done` is told about every finished file.
pub(crate) fn run(
    dir: PathBuf,
    ext: &'static str,
    mut rx: mpsc::UnboundedReceiver<Op>,
    counters: Arc<Counters>,
    in_use: [Arc<InUse>; 2],
    done: impl Fn(Done),
) {
    let mut open: Option<Open> = None;
    while let Some(op) = rx.blocking_recv() {
        let n = op.len();
        let r = step(&dir, ext, op, &mut open, &in_use, &done, &counters);
        if let Err(e) = r {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            warn!(dir = %dir.display(), error = %e, "recording: write failed; file abandoned");
            if let Some(o) = open.take() {
                in_use.iter().for_each(|s| s.release(&o.path));
            }
        }
        counters.queued.fetch_sub(n, Ordering::AcqRel);
        if rx.is_empty() {
            if let Some(o) = open.as_mut() {
                if let Err(e) = o.file.flush() {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    warn!(dir = %dir.display(), error = %e, "recording: write failed; file abandoned");
                    if let Some(o) = open.take() {
                        in_use.iter().for_each(|s| s.release(&o.path));
                    }
                }
            }
        }
    }
    if let Some(mut o) = open.take() {
        let _ = o.file.flush();
        let _ = o.file.get_ref().sync_data();
        in_use.iter().for_each(|s| s.release(&o.path));
    }
}

fn step(
    dir: &Path,
    ext: &'static str,
    op: Op,
    open: &mut Option<Open>,
    in_use: &[Arc<InUse>; 2],
    done: &impl Fn(Done),
    counters: &Counters,
) -> io::Result<()> {
    match op {
        Op::Open { start_ms, head } => {
            if let Some(o) = open.take() {
                in_use.iter().for_each(|s| s.release(&o.path));
            }
            let (file, path) = create(dir, start_ms, ext)?;
            let mut file = BufWriter::with_capacity(WRITE_BUF, file);
            in_use.iter().for_each(|s| s.hold(&path));
            file.write_all(&head)?;
            counters
                .written
                .fetch_add(head.len() as u64, Ordering::Relaxed);
            *open = Some(Open {
                file,
                path,
                len: head.len() as u64,
            });
        }
        Op::Append(parts) => {
            let Some(o) = open.as_mut() else {
                return Ok(());
            };
            for p in &parts {
                o.file.write_all(p)?;
                o.len += p.len() as u64;
            }
            counters.written.fetch_add(
                parts.iter().map(|p| p.len() as u64).sum(),
                Ordering::Relaxed,
            );
        }
        Op::Patch { offset, bytes } => {
            let Some(o) = open.as_mut() else {
                return Ok(());
            };
            o.file.seek(SeekFrom::Start(offset))?;
            o.file.write_all(&bytes)?;
            o.file.seek(SeekFrom::End(0))?;
        }
        Op::Close(summary) => {
            let Some(mut o) = open.take() else {
                return Ok(());
            };
            let synced = o.file.flush().and_then(|()| o.file.get_ref().sync_data());
            in_use.iter().for_each(|s| s.release(&o.path));
            synced?;
            counters.files.fetch_add(1, Ordering::Relaxed);
            done(Done {
                path: o.path,
                bytes: o.len,
                summary,
            });
        }
    }
    Ok(())
}

/// Admission of units while the disk is slow: once more than `budget` bytes wait, frames
/// are dropped (configurations still pass) until the queue has drained to half and a
/// keyframe (any frame without video) arrives.
#[derive(Debug)]
pub(crate) struct DropGate {
    budget: usize,
    dropping: bool,
    /// Frames dropped.
    pub(crate) dropped: u64,
}

impl DropGate {
    pub(crate) fn new(budget: usize) -> DropGate {
        DropGate {
            budget: budget.max(1),
            dropping: false,
            dropped: 0,
        }
    }

    /// Whether `unit` goes to the segmenter, with `queued` bytes waiting now.
    pub(crate) fn admit(&mut self, unit: &Unit, queued: usize, has_video: bool) -> bool {
        if !unit.is_frame() {
            return true;
        }
        if self.dropping {
            let resume = queued <= self.budget / 2 && (unit.is_keyframe() || !has_video);
            if !resume {
                self.dropped += 1;
                return false;
            }
            self.dropping = false;
        } else if queued > self.budget {
            self.dropping = true;
            self.dropped += 1;
            return false;
        }
        true
    }
}

/// Appends gathered in the recorder before they go to the writer thread (fewer wake-ups
/// of it for formats that produce bytes every frame): sent at 128 KiB, after 500 ms, and
/// before any other operation (a new file, a patch, a close).
#[derive(Debug, Default)]
pub(crate) struct AppendBatch {
    parts: Vec<bytes::Bytes>,
    bytes: usize,
    since: Option<std::time::Instant>,
}

impl AppendBatch {
    const MAX_BYTES: usize = 128 << 10;
    const MAX_AGE: std::time::Duration = std::time::Duration::from_millis(500);

    /// Takes `ops` (drained) at `now`; `send` gets what is due, in order.
    pub(crate) fn take(
        &mut self,
        ops: &mut Vec<Op>,
        now: std::time::Instant,
        mut send: impl FnMut(Op),
    ) {
        for op in ops.drain(..) {
            match op {
                Op::Append(parts) => {
                    self.bytes += parts.iter().map(bytes::Bytes::len).sum::<usize>();
                    self.parts.extend(parts);
                    self.since.get_or_insert(now);
                }
                other => {
                    self.flush(&mut send);
                    send(other);
                }
            }
        }
        let old = self
            .since
            .is_some_and(|t| now.duration_since(t) >= Self::MAX_AGE);
        if self.bytes >= Self::MAX_BYTES || old {
            self.flush(&mut send);
        }
    }

    fn flush(&mut self, send: &mut impl FnMut(Op)) {
        if !self.parts.is_empty() {
            send(Op::Append(std::mem::take(&mut self.parts)));
        }
        self.bytes = 0;
        self.since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};

    fn unit(key: bool) -> Unit {
        let t = Arc::new(TrackInfo::new(TrackId(0), Codec::H264, 1000));
        let ts = Timestamp::new(0, Timebase::MILLIS);
        Unit::frame(
            t,
            Frame::new(TrackId(0), ts, ts, Bytes::new()).with_keyframe(key),
        )
    }

    #[test]
    fn drops_to_the_next_keyframe_once_drained() {
        let mut g = DropGate::new(100);
        assert!(g.admit(&unit(false), 100, true));
        assert!(!g.admit(&unit(false), 101, true), "over budget: drop");
        assert!(!g.admit(&unit(true), 60, true), "not drained to half yet");
        assert!(
            !g.admit(&unit(false), 10, true),
            "drained, but not a keyframe"
        );
        assert!(g.admit(&unit(true), 10, true), "keyframe: resume");
        assert!(g.admit(&unit(false), 90, true));
        assert_eq!(g.dropped, 3);
        // Without video any frame resumes.
        let mut g = DropGate::new(100);
        assert!(!g.admit(&unit(false), 200, false));
        assert!(g.admit(&unit(false), 0, false));
    }

    #[test]
    fn appends_are_gathered_until_due() {
        let t0 = std::time::Instant::now();
        let mut b = AppendBatch::default();
        let mut sent = Vec::new();
        let small = || Op::Append(vec![Bytes::from(vec![0u8; 1000])]);
        b.take(&mut vec![small(), small()], t0, |o| sent.push(o.len()));
        assert!(sent.is_empty(), "small and young: held");
        let t1 = t0 + std::time::Duration::from_millis(600);
        b.take(&mut vec![small()], t1, |o| sent.push(o.len()));
        assert_eq!(sent, [3000], "held long enough: sent as one");
        let big = Op::Append(vec![Bytes::from(vec![0u8; 200 << 10])]);
        b.take(&mut vec![big], t1, |o| sent.push(o.len()));
        assert_eq!(sent, [3000, 200 << 10]);
        let patch = Op::Patch {
            offset: 0,
            bytes: Bytes::from_static(b"x"),
        };
        b.take(&mut vec![small(), patch], t1, |o| sent.push(o.len()));
        assert_eq!(
            sent,
            [3000, 200 << 10, 1000, 1],
            "an append goes before a patch"
        );
    }

    #[test]
    fn names_never_collide() {
        let dir = std::env::temp_dir().join(format!("weir-rec-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (_, a) = create(&dir, 1_000_500, "mp4").unwrap();
        let (_, b) = create(&dir, 1_000_900, "mp4").unwrap();
        assert_ne!(a, b);
        assert!(b.to_string_lossy().ends_with("_1.mp4"), "{}", b.display());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
