//! Recording: streams written to files, one more hub subscriber per recorded stream.
//!
//! * What is recorded: streams whose `app/stream` matches a [`RecordConfig::streams`]
//!   pattern, from their publish on, and streams started at run time
//!   ([`Recorders::start`], the API's `POST /api/v1/recordings/{app}/{stream}`).
//! * How: a recorder subscribes to the stream like a player (it costs what one player
//!   costs: a cursor into the stream's ring), turns units into file operations with the
//!   sans-IO [`segment::Segmenter`] (fMP4, MP4, FLV or MPEG-TS; a new file at the first
//!   keyframe after `segment`, and on codec change) and hands them to a blocking writer
//!   thread through a queue bounded in bytes: a slow disk drops recording data (to the
//!   next keyframe, counted), never stalls the stream or its players.
//! * Where: `{dir}/{app}/{stream}/{UTC start}.{ext}` (`2026-12-07T10-00-00Z.mp4`).
//! * A publisher that comes back within the grace period keeps the stream, so the
//!   recorder stays subscribed and the file goes on with one timeline.
//! * Finished files are announced ([`Recorders::events`]: the `on_record_done` hook) and
//!   retention deletes old ones by age and total size, never one being written or served.

pub(crate) mod catalog;
pub(crate) mod naming;
mod retention;
pub(crate) mod segment;
mod writer;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, Notify};
use tracing::{debug, info, warn};
use weir_media::Codec;

use crate::core::{Hub, HubEvent, SubscribeOptions};
pub(crate) use crate::egress::{RecordConfig, RecordFormat};
use crate::net::Tasks;
use catalog::{FileEntry, InUse, ProbeCache};
use segment::{Op, Segmenter};
use writer::{Counters, DropGate};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Takes the units the subscription has ready now (at most a ring's worth), without
/// waiting.
fn take_ready(sub: &mut crate::core::Subscription, out: &mut Vec<Arc<crate::core::Unit>>) {
    out.clear();
    while out.len() < 16_384 {
        match sub.try_next() {
            crate::core::TryNext::Unit(u) => out.push(u),
            crate::core::TryNext::Empty | crate::core::TryNext::Ended => break,
        }
    }
}

/// A finished recording file.
#[derive(Clone, Debug)]
pub(crate) struct RecordDone {
    /// `app/stream`.
    pub(crate) key: String,
    pub(crate) path: PathBuf,
    /// Wall-clock time (Unix ms) of its first frame.
    pub(crate) start_ms: i64,
    pub(crate) duration: Duration,
    pub(crate) bytes: u64,
    pub(crate) frames: u64,
    pub(crate) codecs: Vec<Codec>,
    pub(crate) format: RecordFormat,
}

/// Live numbers of one running recorder.
#[derive(Debug, Default)]
pub(crate) struct RecStats {
    counters: Arc<Counters>,
    /// Frames not recorded: dropped for a slow disk, skipped by the hub (the recorder fell
    /// behind), or not writable.
    pub(crate) dropped: AtomicU64,
    /// Media time in the file being written, ms.
    pub(crate) open_ms: AtomicU64,
    /// Unix ms when recording started.
    pub(crate) started_ms: AtomicU64,
}

impl RecStats {
    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }
    /// Files finished so far.
    pub(crate) fn files(&self) -> u64 {
        self.counters.files.load(Ordering::Relaxed)
    }
}

struct Active {
    id: u64,
    stop: Arc<Notify>,
    stats: Arc<RecStats>,
}

#[derive(Default)]
struct State {
    active: HashMap<String, Active>,
    /// Started through the API: recorded whenever published, until stopped.
    armed: HashSet<String>,
    /// Stopped through the API although a pattern matches: not recorded until started.
    disarmed: HashSet<String>,
}

/// One stream's recording state, for the API.
#[derive(Debug, Clone)]
pub(crate) struct RecordingStatus {
    pub(crate) key: String,
    /// A recorder is running (the stream is live or awaited).
    pub(crate) active: bool,
    pub(crate) stats: Option<Arc<RecStats>>,
}

/// The relay's recorders.
pub(crate) struct Recorders {
    pub(crate) config: RecordConfig,
    hub: Hub,
    tasks: Arc<Tasks>,
    play_wait: Duration,
    state: Mutex<State>,
    events: broadcast::Sender<RecordDone>,
    /// Files being written or served (never deleted by retention).
    pub(crate) in_use: Arc<InUse>,
    /// Files being written.
    writing: Arc<InUse>,
    pub(crate) probes: ProbeCache,
    retention_due: Notify,
    next_id: AtomicU64,
}

impl Recorders {
    pub(crate) fn new(
        config: RecordConfig,
        hub: Hub,
        tasks: Arc<Tasks>,
        play_wait: Duration,
    ) -> Arc<Recorders> {
        let (events, _) = broadcast::channel(256);
        Arc::new(Recorders {
            config,
            hub,
            tasks,
            play_wait,
            state: Mutex::new(State::default()),
            events,
            in_use: Arc::default(),
            writing: Arc::default(),
            probes: ProbeCache::default(),
            retention_due: Notify::new(),
            next_id: AtomicU64::new(1),
        })
    }

    /// Finished files from now on.
    pub(crate) fn events(&self) -> broadcast::Receiver<RecordDone> {
        self.events.subscribe()
    }

    /// Whether `key` is recorded when published.
    pub(crate) fn wanted(&self, key: &str) -> bool {
        let st = lock(&self.state);
        st.armed.contains(key)
            || (!st.disarmed.contains(key)
                && self.config.streams.iter().any(|p| naming::matches(p, key)))
    }

    /// Records `key` from now on (and whenever it is published again) until
    /// [`Recorders::stop`]. False when the key is not a safe path.
    pub(crate) fn start(self: &Arc<Self>, key: &str) -> bool {
        if naming::safe_relative(key).is_none() || !key.contains('/') {
            return false;
        }
        {
            let mut st = lock(&self.state);
            st.armed.insert(key.to_string());
            st.disarmed.remove(key);
        }
        if self.hub.stream(key).is_some() {
            self.spawn(key);
        }
        true
    }

    /// Stops recording `key` (the file being written is finished) and forgets the API
    /// start; a matching pattern records it again only after [`Recorders::start`]. False
    /// when it was neither recorded nor wanted.
    pub(crate) fn stop(&self, key: &str) -> bool {
        let wanted = self.wanted(key);
        let mut st = lock(&self.state);
        st.armed.remove(key);
        if self.config.streams.iter().any(|p| naming::matches(p, key)) {
            st.disarmed.insert(key.to_string());
        }
        // The recorder leaves the list itself once its file is finished.
        let active = st.active.get(key);
        if let Some(a) = active {
            a.stop.notify_one();
        }
        active.is_some() || wanted
    }

    /// Every stream recorded now or wanted.
    pub(crate) fn status(&self) -> Vec<RecordingStatus> {
        let st = lock(&self.state);
        let mut keys: HashSet<&String> = st.active.keys().collect();
        keys.extend(st.armed.iter());
        let mut out: Vec<RecordingStatus> = keys
            .into_iter()
            .map(|k| RecordingStatus {
                key: k.clone(),
                active: st.active.contains_key(k),
                stats: st.active.get(k).map(|a| a.stats.clone()),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Whether `path` is a file a recorder is writing now.
    pub(crate) fn is_writing(&self, path: &std::path::Path) -> bool {
        self.writing.contains(path)
    }

    /// The recording files on the disk (blocking: call from `spawn_blocking`).
    pub(crate) fn files(&self) -> Vec<FileEntry> {
        catalog::scan(&self.config.dir)
    }

    /// Starts a recorder for `key` unless one runs.
    fn spawn(self: &Arc<Self>, key: &str) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let stop = Arc::new(Notify::new());
        let stats = Arc::new(RecStats::default());
        stats
            .started_ms
            .store(now_ms().max(0) as u64, Ordering::Relaxed);
        {
            let mut st = lock(&self.state);
            if st.active.contains_key(key) {
                return;
            }
            st.active.insert(
                key.to_string(),
                Active {
                    id,
                    stop: stop.clone(),
                    stats: stats.clone(),
                },
            );
        }
        let me = self.clone();
        let key = key.to_string();
        let guard = self.tasks.enter();
        tokio::spawn(async move {
            let _guard = guard;
            me.record(&key, stop, stats).await;
            let mut st = lock(&me.state);
            if st.active.get(&key).is_some_and(|a| a.id == id) {
                st.active.remove(&key);
            }
        });
    }

    /// Watches the hub: starts a recorder when a wanted stream is published.
    pub(crate) async fn run(self: Arc<Self>) {
        let mut events = self.hub.events();
        loop {
            match events.recv().await {
                Ok(HubEvent::Published { key, .. }) => {
                    if self.wanted(&key) {
                        self.spawn(&key);
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    warn!(missed = n, "recorders fell behind the hub's events");
                    for s in self.hub.streams() {
                        if s.live && self.wanted(&s.key) {
                            self.spawn(&s.key);
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Records `key` until the stream ends or `stop` fires.
    async fn record(self: &Arc<Self>, key: &str, stop: Arc<Notify>, stats: Arc<RecStats>) {
        let opts = SubscribeOptions::new().wait(self.play_wait).internal();
        let sub = tokio::select! {
            s = self.hub.subscribe_with(key, "record", opts) => s,
            () = stop.notified() => return,
        };
        let mut sub = match sub {
            Ok(s) => s,
            Err(e) => {
                debug!(stream = key, error = %e, "recording: stream gone");
                return;
            }
        };
        let Some(dir) = naming::stream_dir(&self.config.dir, key) else {
            return;
        };
        let c = &self.config;
        info!(stream = key, dir = %dir.display(), format = ?c.format, "recording started");
        let mut seg = Segmenter::new(c.format, c.segment, c.fragment, sub.tracks());
        let mut gate = DropGate::new(c.queue_bytes);
        let (tx, rx) = mpsc::unbounded_channel::<Op>();
        let counters = stats.counters.clone();
        let writer = {
            let me = self.clone();
            let key = key.to_string();
            let (counters, in_use) = (counters.clone(), self.in_use.clone());
            let writing = self.writing.clone();
            let ext = c.format.extension();
            let format = c.format;
            tokio::task::spawn_blocking(move || {
                writer::run(dir, ext, rx, counters, [in_use, writing], |d| {
                    me.finished(&key, d, format);
                })
            })
        };
        let mut units = Vec::with_capacity(64);
        let mut ops = Vec::new();
        let mut batch = writer::AppendBatch::default();
        loop {
            let more = tokio::select! {
                m = sub.next_batch(&mut units, 64) => m,
                () = stop.notified() => {
                    // Stopped: what the stream had delivered by now is still recorded.
                    take_ready(&mut sub, &mut units);
                    false
                }
            };
            let wall = now_ms();
            for u in &units {
                let queued = counters.queued.load(Ordering::Acquire);
                if gate.admit(u, queued, seg.has_video()) {
                    seg.push(u, wall, &mut ops);
                }
            }
            units.clear();
            batch.take(&mut ops, std::time::Instant::now(), |op| {
                counters.queued.fetch_add(op.len(), Ordering::AcqRel);
                let _ = tx.send(op);
            });
            stats.dropped.store(
                gate.dropped + sub.dropped() + seg.skipped,
                Ordering::Relaxed,
            );
            let open = seg.open_duration().unwrap_or_default();
            stats.open_ms.store(
                u64::try_from(open.as_millis()).unwrap_or(0),
                Ordering::Relaxed,
            );
            if !more {
                break;
            }
        }
        seg.close(&mut ops);
        batch.take(&mut ops, std::time::Instant::now(), |op| {
            counters.queued.fetch_add(op.len(), Ordering::AcqRel);
            let _ = tx.send(op);
        });
        drop(tx);
        drop(sub);
        let _ = writer.await;
        info!(
            stream = key,
            bytes = stats.written(),
            files = stats.files(),
            dropped = stats.dropped.load(Ordering::Relaxed),
            "recording stopped"
        );
    }

    fn finished(&self, key: &str, d: writer::Done, format: RecordFormat) {
        info!(stream = key, file = %d.path.display(), bytes = d.bytes, duration = ?d.summary.duration, "recording file finished");
        let _ = self.events.send(RecordDone {
            key: key.to_string(),
            path: d.path,
            start_ms: d.summary.start_ms,
            duration: d.summary.duration,
            bytes: d.bytes,
            frames: d.summary.frames,
            codecs: d.summary.codecs,
            format,
        });
        self.retention_due.notify_one();
    }

    /// Deletes old files (by age and total size) now and then, and after every finished
    /// file. Returns at once when no limit is set.
    pub(crate) async fn run_retention(self: Arc<Self>) {
        let c = &self.config;
        let max_age = (c.max_age_hours > 0)
            .then(|| Duration::from_secs(c.max_age_hours.saturating_mul(3600)));
        let max_bytes = (c.max_bytes > 0).then_some(c.max_bytes);
        if max_age.is_none() && max_bytes.is_none() {
            return;
        }
        let interval = c.retention_interval.max(Duration::from_millis(10));
        loop {
            let me = self.clone();
            let _ = tokio::task::spawn_blocking(move || me.retain(max_age, max_bytes)).await;
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = self.retention_due.notified() => {}
            }
        }
    }

    /// One retention pass (blocking). Returns the files deleted.
    pub(crate) fn retain(&self, max_age: Option<Duration>, max_bytes: Option<u64>) -> Vec<PathBuf> {
        let files = self.files();
        let doomed = retention::select(&files, SystemTime::now(), max_age, max_bytes, |f| {
            self.in_use.contains(&f.path)
        });
        let mut deleted = Vec::new();
        for p in doomed {
            // Checked again right before: a player may have opened it since.
            if self.in_use.contains(&p) {
                continue;
            }
            match std::fs::remove_file(&p) {
                Ok(()) => {
                    info!(file = %p.display(), "retention: recording deleted");
                    self.probes.forget(&p);
                    deleted.push(p);
                }
                Err(e) => debug!(file = %p.display(), error = %e, "retention: not deleted"),
            }
        }
        deleted
    }
}
