//! What HLS and LL-HLS share: a per-stream task started by the first request for a stream
//! (an internal hub subscription), listed while it runs and a while after for players
//! finishing the stream, and stopped when nobody has asked for the stream for a while.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, info};

use crate::core::{Hub, SubscribeOptions, Subscription};

/// Locks `m`, also when a holder panicked.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A stream's output state, as the start-up and the idle check see it.
pub(super) trait LiveState: Default + Send + 'static {
    /// Whether requests may still use the stream (otherwise the next one starts a new task).
    fn usable(&self) -> bool;
    /// Marks the stream failed: requests get 404, the next one starts a new task.
    fn fail(&mut self);
    /// When a request last asked for the stream.
    fn last_access(&mut self) -> &mut Option<Instant>;
}

/// A stream's output, shared by its task and the requests.
pub(super) struct LiveStream<S> {
    /// The task instance (LL-HLS URIs carry it; HLS leaves it 0).
    pub(super) epoch: u64,
    /// The output.
    pub(super) state: Mutex<S>,
    /// Woken when the output changes (and when the task ends).
    pub(super) changed: Notify,
}

impl<S: LiveState> LiveStream<S> {
    /// The state, locked, with this request's access noted.
    pub(super) fn touch(&self) -> MutexGuard<'_, S> {
        let mut st = lock(&self.state);
        *st.last_access() = Some(Instant::now());
        st
    }

    /// Whether nobody has asked for the stream for `timeout`: then it is marked failed (the
    /// task stops; `what` names the format in the log).
    pub(super) fn idle_stop(&self, key: &str, what: &str, timeout: Duration) -> bool {
        let mut st = lock(&self.state);
        let idle = st.last_access().is_none_or(|t| t.elapsed() > timeout);
        if idle {
            info!(stream = key, "{what}: no requests for a while, stopping");
            st.fail();
        }
        idle
    }

    /// The task's subscription to `key` (internal, from the GOP cache; `what` is the
    /// protocol name); `None`, the stream marked failed, when there is no such stream.
    pub(super) async fn subscribe(
        &self,
        hub: &Hub,
        key: &str,
        what: &'static str,
    ) -> Option<Subscription> {
        let opts = SubscribeOptions::new().internal();
        match hub.subscribe_with(key, what, opts).await {
            Ok(s) => Some(s),
            Err(e) => {
                debug!(stream = key, error = %e, "{what}: no stream");
                lock(&self.state).fail();
                None
            }
        }
    }
}

/// The streams of one format with their tasks, by stream key.
pub(super) struct LiveStreams<S> {
    streams: Arc<Mutex<HashMap<String, Arc<LiveStream<S>>>>>,
}

impl<S: LiveState> LiveStreams<S> {
    /// None yet.
    pub(super) fn new() -> LiveStreams<S> {
        LiveStreams {
            streams: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The stream listed under `key`.
    pub(super) fn get(&self, key: &str) -> Option<Arc<LiveStream<S>>> {
        lock(&self.streams).get(key).cloned()
    }

    /// The stream of `key`; when none usable is listed, a new one (instance `epoch()`, last
    /// asked for now) whose task is spawned: `run`, then the waiting requests woken, then
    /// `linger` for players finishing the stream, after which it is marked failed and
    /// unlisted.
    pub(super) fn get_or_start<F, Fut>(
        &self,
        key: &str,
        epoch: impl FnOnce() -> u64,
        linger: Duration,
        run: F,
    ) -> Arc<LiveStream<S>>
    where
        F: FnOnce(String, Arc<LiveStream<S>>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
        S: Sync,
    {
        let mut streams = lock(&self.streams);
        if let Some(s) = streams.get(key) {
            if lock(&s.state).usable() {
                return s.clone();
            }
        }
        let mut state = S::default();
        *state.last_access() = Some(Instant::now());
        let s = Arc::new(LiveStream {
            epoch: epoch(),
            state: Mutex::new(state),
            changed: Notify::new(),
        });
        streams.insert(key.to_string(), s.clone());
        let work = run(key.to_string(), s.clone());
        let listed = self.streams.clone();
        let key = key.to_string();
        let stream = s.clone();
        tokio::spawn(async move {
            work.await;
            stream.changed.notify_waiters();
            tokio::time::sleep(linger).await;
            lock(&stream.state).fail();
            stream.changed.notify_waiters();
            let mut streams = lock(&listed);
            if streams.get(&key).is_some_and(|s| Arc::ptr_eq(s, &stream)) {
                streams.remove(&key);
            }
        });
        s
    }
}
