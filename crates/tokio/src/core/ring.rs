//! A stream's fan-out ring: the last units published, shared by every player, each of which
//! keeps only a position into it.
//!
//! Unlike a general broadcast channel it wakes waiting players once per *publish batch*,
//! not once per unit: an ingest that turns one socket read into several units (a video
//! frame and the audio frames sent with it) holds the wake-ups ([`Ring::hold`]) until the
//! read is processed, so every player wakes once and writes the whole batch with one
//! vectored write. Wakers live in a per-stream table indexed by a small per-player slot,
//! so registering is a store, not an allocation, and a wake-up takes one lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Waker};
use std::time::Duration;

use super::fanout::{FanoutPool, Job};
use super::unit::Unit;

/// Units a ring keeps however long they have been held.
const MIN_UNITS: usize = 16;

/// What a player's read from the ring gave.
#[derive(Debug)]
pub(crate) enum Read {
    /// Units were appended to the caller's vector.
    Units,
    /// The player fell behind by this many units (its position moved to the oldest kept).
    Lagged(u64),
    /// Nothing new (with a context: the waker is registered).
    Empty,
}

/// A player the publishing task may write to itself (see [`Ring::set_direct`]).
pub(crate) trait Direct: Send + Sync {
    /// The units at stream positions `from..` were just published. A player in direct
    /// mode writes those it has not had, without waiting; otherwise it does nothing (its
    /// task reads the ring).
    fn offer(&self, from: u64, units: &[Arc<Unit>]);
}

/// One player's entry.
#[derive(Default)]
struct Entry {
    waker: Option<Waker>,
    direct: Option<Arc<dyn Direct>>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("waiting", &self.waker.is_some())
            .field("direct", &self.direct.is_some())
            .finish()
    }
}

#[derive(Debug, Default)]
struct Inner {
    units: VecDeque<Arc<Unit>>,
    /// When each unit arrived, ms since the ring's start (only with a time bound).
    arrived: VecDeque<u32>,
    /// Position of `units[0]` in the stream.
    base: u64,
    /// Where the units not yet offered to direct players start.
    offered: u64,
    /// Players with a direct path.
    directs: usize,
    /// One entry per player.
    wakers: Vec<Entry>,
    /// Free entries of `wakers`.
    free: Vec<usize>,
    /// Units were pushed while wake-ups were held.
    pending_wake: bool,
}

/// The ring of one stream.
#[derive(Debug)]
pub(crate) struct Ring {
    inner: Mutex<Inner>,
    capacity: usize,
    /// How long a unit stays at most, in milliseconds since `start` (0: no bound).
    span_ms: u32,
    start: std::time::Instant,
    /// Publish batches in progress ([`Ring::hold`]): wake-ups wait for the last to end.
    holds: AtomicUsize,
    /// Helper threads that take shares of a batch's direct writes.
    pool: Arc<FanoutPool>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Ring {
    pub(crate) fn new(capacity: usize, span: Duration, pool: Arc<FanoutPool>) -> Ring {
        Ring {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            span_ms: u32::try_from(span.as_millis()).unwrap_or(u32::MAX),
            start: std::time::Instant::now(),
            holds: AtomicUsize::new(0),
            pool,
        }
    }

    /// The position the next unit will get (where a new player starts reading).
    pub(crate) fn tail(&self) -> u64 {
        let g = lock(&self.inner);
        g.base + g.units.len() as u64
    }

    /// A waker slot for a new player.
    pub(crate) fn register(&self) -> usize {
        let mut g = lock(&self.inner);
        match g.free.pop() {
            Some(i) => i,
            None => {
                g.wakers.push(Entry::default());
                g.wakers.len() - 1
            }
        }
    }

    /// Gives a player's waker slot back.
    pub(crate) fn unregister(&self, slot: usize) {
        let mut g = lock(&self.inner);
        if let Some(e) = g.wakers.get_mut(slot) {
            let had_direct = e.direct.take().is_some();
            e.waker = None;
            g.free.push(slot);
            if had_direct {
                g.directs -= 1;
            }
        }
        if g.free.len() == g.wakers.len() && g.wakers.capacity() > 64 {
            // Every player left: give a large table back.
            g.wakers = Vec::new();
            g.free = Vec::new();
        }
    }

    /// Appends `unit`; wakes the waiting players unless a publish batch holds the wake-ups.
    pub(crate) fn push(&self, unit: Arc<Unit>) {
        let now = if self.span_ms == 0 {
            0
        } else {
            u32::try_from(self.start.elapsed().as_millis()).unwrap_or(u32::MAX)
        };
        self.push_at(unit, now);
    }

    /// [`Ring::push`] at `now` milliseconds since the ring's start.
    fn push_at(&self, unit: Arc<Unit>, now: u32) {
        let mut g = lock(&self.inner);
        g.units.push_back(unit);
        if self.span_ms != 0 {
            g.arrived.push_back(now);
        }
        while g.units.len() > self.capacity || self.too_old(&g.arrived, now) {
            g.units.pop_front();
            g.arrived.pop_front();
            g.base += 1;
        }
        if self.holds.load(Ordering::Acquire) > 0 {
            g.pending_wake = true;
            return;
        }
        self.wake(g);
    }

    /// The oldest unit has been held longer than the ring's time (it always keeps
    /// [`MIN_UNITS`]). Measured by arrival, not by media timestamps: a publisher's tracks
    /// may start from unrelated clocks (a WHIP publish from Chromium does), and a
    /// timestamp jump must not empty the ring.
    fn too_old(&self, arrived: &VecDeque<u32>, now: u32) -> bool {
        self.span_ms != 0
            && arrived.len() > MIN_UNITS
            && arrived
                .front()
                .is_some_and(|t| now.wrapping_sub(*t) > self.span_ms)
    }

    /// Gives player `slot` a direct path (or takes it away).
    pub(crate) fn set_direct(&self, slot: usize, direct: Option<Arc<dyn Direct>>) {
        let mut g = lock(&self.inner);
        let on = direct.is_some();
        if let Some(e) = g.wakers.get_mut(slot) {
            let was = std::mem::replace(&mut e.direct, direct).is_some();
            match (was, on) {
                (false, true) => g.directs += 1,
                (true, false) => g.directs -= 1,
                _ => {}
            }
        }
    }

    /// Offers the units published since the last wake-up to the direct players, then
    /// wakes every waiting player (both outside the lock). With many direct players the
    /// writes are shared with the fan-out helpers, by player slot ([`super::fanout`]).
    fn wake(&self, mut g: MutexGuard<'_, Inner>) {
        g.pending_wake = false;
        let tail = g.base + g.units.len() as u64;
        let from = g.offered.max(g.base);
        g.offered = tail;
        let mut shards: Vec<Vec<Arc<dyn Direct>>> = Vec::new();
        let mut batch: Arc<[Arc<Unit>]> = Arc::new([]);
        if g.directs > 0 && from < tail {
            let n = self.pool.shards(g.directs);
            shards.resize_with(n, || Vec::with_capacity(g.directs / n + 1));
            for (i, e) in g.wakers.iter().enumerate() {
                if let Some(d) = &e.direct {
                    shards[i % n].push(d.clone());
                }
            }
            let start = usize::try_from(from - g.base).unwrap_or(0);
            batch = g.units.range(start..).cloned().collect();
        }
        let mut woken: Vec<Waker> = Vec::new();
        for e in g.wakers.iter_mut() {
            if let Some(w) = e.waker.take() {
                woken.push(w);
            }
        }
        drop(g);
        let mut shards = shards.into_iter();
        let own = shards.next().unwrap_or_default();
        let mut refused = Vec::new();
        for (k, players) in shards.enumerate() {
            if players.is_empty() {
                continue;
            }
            let job = Job {
                from,
                units: batch.clone(),
                players,
            };
            if let Err(job) = self.pool.submit(k + 1, job) {
                refused.push(job);
            }
        }
        for d in own {
            d.offer(from, &batch);
        }
        for job in refused {
            job.run();
        }
        for w in woken {
            w.wake();
        }
    }

    /// Holds wake-ups until the returned guard drops (one publish batch).
    pub(crate) fn hold(self: &Arc<Self>) -> WakeHold {
        self.holds.fetch_add(1, Ordering::AcqRel);
        WakeHold(self.clone())
    }

    /// Reads from `*pos` into `out` (up to `max` units in all), moving `*pos` on. With a
    /// context, registers the player's waker in `slot` when there is nothing to read.
    pub(crate) fn read(
        &self,
        pos: &mut u64,
        out: &mut Vec<Arc<Unit>>,
        max: usize,
        waiter: Option<(usize, &Context<'_>)>,
    ) -> Read {
        let mut g = lock(&self.inner);
        if *pos < g.base {
            let lagged = g.base - *pos;
            *pos = g.base;
            return Read::Lagged(lagged);
        }
        let start = usize::try_from(*pos - g.base).unwrap_or(usize::MAX);
        if start >= g.units.len() {
            if let Some((slot, cx)) = waiter {
                if let Some(e) = g.wakers.get_mut(slot) {
                    match &e.waker {
                        Some(old) if old.will_wake(cx.waker()) => {}
                        _ => e.waker = Some(cx.waker().clone()),
                    }
                }
            }
            return Read::Empty;
        }
        let n = (g.units.len() - start).min(max.saturating_sub(out.len()).max(1));
        out.extend(g.units.range(start..start + n).cloned());
        *pos += n as u64;
        Read::Units
    }
}

/// Holds a ring's wake-ups for one publish batch; wakes the players (if anything was
/// published) when the last hold ends.
#[derive(Debug)]
pub(crate) struct WakeHold(Arc<Ring>);

impl Drop for WakeHold {
    fn drop(&mut self) {
        let ring = &self.0;
        if ring.holds.fetch_sub(1, Ordering::AcqRel) == 1 {
            let g = lock(&ring.inner);
            if g.pending_wake {
                ring.wake(g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;
    use weir_media::{Timebase, Timestamp};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn unit() -> Arc<Unit> {
        Arc::new(Unit::end(Timestamp::new(0, Timebase::MILLIS)))
    }

    #[test]
    fn a_held_batch_wakes_once_and_reads_whole() {
        let ring = Arc::new(Ring::new(
            8,
            Duration::ZERO,
            Arc::new(FanoutPool::new(0, 2)),
        ));
        let slot = ring.register();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let cx = Context::from_waker(&waker);
        let mut pos = ring.tail();
        let mut out = Vec::new();
        let waiter = || Some((slot, &cx));
        assert!(matches!(
            ring.read(&mut pos, &mut out, 16, waiter()),
            Read::Empty
        ));
        {
            let _hold = ring.hold();
            ring.push(unit());
            ring.push(unit());
            ring.push(unit());
            assert_eq!(count.0.load(Ordering::Relaxed), 0, "held");
        }
        assert_eq!(count.0.load(Ordering::Relaxed), 1, "one wake for the batch");
        assert!(matches!(
            ring.read(&mut pos, &mut out, 16, waiter()),
            Read::Units
        ));
        assert_eq!(out.len(), 3);
        // Without a hold, every push wakes a waiting player.
        assert!(matches!(
            ring.read(&mut pos, &mut out, 16, waiter()),
            Read::Empty
        ));
        ring.push(unit());
        assert_eq!(count.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_player_behind_the_ring_is_told_how_far() {
        let ring = Ring::new(4, Duration::ZERO, Arc::new(FanoutPool::new(0, 2)));
        let mut pos = ring.tail();
        for _ in 0..10 {
            ring.push(unit());
        }
        let mut out = Vec::new();
        assert!(matches!(
            ring.read(&mut pos, &mut out, 16, None),
            Read::Lagged(6)
        ));
        assert!(matches!(
            ring.read(&mut pos, &mut out, 2, None),
            Read::Units
        ));
        assert_eq!(out.len(), 2);
        assert_eq!(pos, 8);
    }

    /// Records what it was offered and on which thread.
    #[derive(Default)]
    struct Rec {
        got: Mutex<Vec<(u64, usize, std::thread::ThreadId)>>,
    }
    impl Direct for Rec {
        fn offer(&self, from: u64, units: &[Arc<Unit>]) {
            let mut g = self.got.lock().unwrap();
            g.push((from, units.len(), std::thread::current().id()));
        }
    }

    #[test]
    fn many_direct_players_are_shared_with_a_helper_in_order() {
        let ring = Arc::new(Ring::new(
            64,
            Duration::ZERO,
            Arc::new(FanoutPool::new(1, 24)),
        ));
        let players: Vec<Arc<Rec>> = (0..40).map(|_| Arc::default()).collect();
        for p in &players {
            let slot = ring.register();
            ring.set_direct(slot, Some(p.clone()));
        }
        for batch in 0..20 {
            let _hold = ring.hold();
            for _ in 0..=batch % 3 {
                ring.push(unit());
            }
        }
        let total: u64 = (0..20).map(|b| b % 3 + 1).sum();
        let me = std::thread::current().id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut helped = 0;
        for p in &players {
            // The helper's shard may still be writing: wait for its last batch.
            loop {
                let got = p.got.lock().unwrap().clone();
                let end = got.last().map_or(0, |(from, n, _)| from + *n as u64);
                if end == total {
                    let mut next = 0;
                    for (from, n, _) in &got {
                        assert_eq!(*from, next, "batches in order, none twice");
                        next += *n as u64;
                    }
                    if got.iter().all(|(_, _, t)| *t != me) {
                        helped += 1;
                    }
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "helper never wrote");
                std::thread::yield_now();
            }
        }
        assert_eq!(helped, players.len() / 2, "one shard of two on the helper");
    }

    #[test]
    fn few_direct_players_are_written_by_the_publisher() {
        let ring = Arc::new(Ring::new(
            64,
            Duration::ZERO,
            Arc::new(FanoutPool::new(1, 24)),
        ));
        let p = Arc::new(Rec::default());
        let slot = ring.register();
        ring.set_direct(slot, Some(p.clone()));
        ring.push(unit());
        let got = p.got.lock().unwrap().clone();
        assert_eq!(got, vec![(0, 1, std::thread::current().id())]);
    }

    #[test]
    fn the_ring_keeps_units_for_at_most_its_time() {
        let ring = Ring::new(
            1024,
            Duration::from_secs(2),
            Arc::new(FanoutPool::new(0, 2)),
        );
        let mut pos = ring.tail();
        // 100 units arriving 40 ms apart; media timestamps that say nothing (two tracks
        // from unrelated clocks, one jumping by an hour each time).
        for i in 0..100u32 {
            let ts = if i % 2 == 0 {
                3_600_000 * i64::from(i)
            } else {
                7
            };
            ring.push_at(
                Arc::new(Unit::end(Timestamp::new(ts, Timebase::MILLIS))),
                i * 40,
            );
        }
        let mut out = Vec::new();
        // At most 2 s before the newest (3960 ms): units 49 (1960 ms) to 99 are kept.
        assert!(matches!(
            ring.read(&mut pos, &mut out, 1024, None),
            Read::Lagged(49)
        ));
        assert!(matches!(
            ring.read(&mut pos, &mut out, 1024, None),
            Read::Units
        ));
        assert_eq!(out.len(), 51);
        // After a long pause the ring keeps its last MIN_UNITS.
        ring.push_at(unit(), 3_600_000);
        let mut pos = 0;
        out.clear();
        let lag = match ring.read(&mut pos, &mut out, 1024, None) {
            Read::Lagged(n) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(lag, 101 - MIN_UNITS as u64);
    }

    #[test]
    fn slots_are_reused() {
        let ring = Ring::new(4, Duration::ZERO, Arc::new(FanoutPool::new(0, 2)));
        let a = ring.register();
        let b = ring.register();
        ring.unregister(a);
        assert_eq!(ring.register(), a);
        assert_ne!(a, b);
    }
}
