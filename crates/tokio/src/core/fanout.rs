//! Helper threads that share a publish batch's direct writes with the publishing task.
//!
//! A direct write ([`super::ring::Direct::offer`]) is one non-blocking vectored write per
//! player; on loopback and on a busy NIC most of its cost is the kernel's TCP send path, so
//! one publishing task writing to every player in turn makes the last player's delay grow
//! with the player count, and a hot stream can only use one core. With helpers, a batch
//! with many direct players is split into shards by the player's ring slot (stable for the
//! player's life, so each player's batches stay in order): the publishing task writes shard
//! 0 itself, each helper thread the shard with its number.
//!
//! Helpers are plain threads: a direct write never waits (the socket's backlog goes to the
//! player's own task), so they need no runtime. They start on the first split and stop
//! when the hub that owns the pool is dropped. A helper that falls behind (more than
//! [`MAX_QUEUED`] batches waiting) is skipped: the publishing task writes that shard
//! itself, and players whose earlier batch is still queued hand themselves back to their
//! own task (they see a gap), which catches up from the ring.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use super::ring::Direct;
use super::unit::Unit;

/// The default direct players below which a batch is written by the publishing task
/// alone. On the 2-core benchmark machine a helper cut the p99 delay at 100 players by a
/// quarter but cost about a third more CPU per delivered bit; at 10,000 players it was the
/// difference between keeping up and falling seconds behind.
pub(crate) const DEFAULT_MIN_SPLIT: usize = 1000;

/// Batches a helper may have waiting before the publishing task stops handing it more.
pub(crate) const MAX_QUEUED: usize = 64;

/// One shard of one publish batch.
pub(crate) struct Job {
    pub(crate) from: u64,
    pub(crate) units: Arc<[Arc<Unit>]>,
    pub(crate) players: Vec<Arc<dyn Direct>>,
}

impl Job {
    /// Writes the shard on the calling thread.
    pub(crate) fn run(self) {
        for d in &self.players {
            d.offer(self.from, &self.units);
        }
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    stop: bool,
}

/// One helper's queue.
#[derive(Default)]
struct Lane {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Lane {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn serve(&self) {
        let mut q = self.lock();
        loop {
            if let Some(job) = q.jobs.pop_front() {
                drop(q);
                job.run();
                q = self.lock();
            } else if q.stop {
                return;
            } else {
                q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

/// A helper's queue and its thread (none when it could not be started).
type Helper = (Arc<Lane>, Option<JoinHandle<()>>);

/// The helper threads of one hub.
pub(crate) struct FanoutPool {
    helpers: usize,
    min_split: usize,
    lanes: OnceLock<Vec<Helper>>,
}

impl std::fmt::Debug for FanoutPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanoutPool")
            .field("helpers", &self.helpers)
            .field("min_split", &self.min_split)
            .field("started", &self.lanes.get().is_some())
            .finish()
    }
}

impl FanoutPool {
    /// A pool of `helpers` threads (started on first use) that take shares of batches
    /// with at least `min_split` direct players; 0 helpers turn splitting off.
    pub(crate) fn new(helpers: usize, min_split: usize) -> FanoutPool {
        FanoutPool {
            helpers,
            min_split: min_split.max(2),
            lanes: OnceLock::new(),
        }
    }

    /// Shards a batch to `directs` players is split into (the publishing task's included).
    pub(crate) fn shards(&self, directs: usize) -> usize {
        if directs >= self.min_split {
            self.helpers + 1
        } else {
            1
        }
    }

    fn lanes(&self) -> &[Helper] {
        self.lanes.get_or_init(|| {
            (0..self.helpers)
                .map(|i| {
                    let lane = Arc::new(Lane::default());
                    let l = lane.clone();
                    let handle = std::thread::Builder::new()
                        .name(format!("weir-fanout-{i}"))
                        .spawn(move || l.serve())
                        .ok();
                    (lane, handle)
                })
                .collect()
        })
    }

    /// Hands shard `shard` (1-based: shard 0 is the caller's) to its helper; gives the
    /// job back when the helper is behind or could not be started.
    pub(crate) fn submit(&self, shard: usize, job: Job) -> Result<(), Job> {
        let Some((lane, Some(_))) = self.lanes().get(shard.wrapping_sub(1)) else {
            return Err(job);
        };
        let mut q = lane.lock();
        if q.jobs.len() >= MAX_QUEUED || q.stop {
            return Err(job);
        }
        q.jobs.push_back(job);
        drop(q);
        lane.ready.notify_one();
        Ok(())
    }
}

impl Drop for FanoutPool {
    fn drop(&mut self) {
        let Some(lanes) = self.lanes.take() else {
            return;
        };
        for (lane, handle) in lanes {
            lane.lock().stop = true;
            lane.ready.notify_one();
            // A helper finishes its queued writes (none of them waits) and exits; the
            // last hub handle may be dropped on a helper itself, which must not join itself.
            if let Some(h) = handle {
                if h.thread().id() != std::thread::current().id() {
                    let _ = h.join();
                }
            }
        }
    }
}
