//! Counting live connection tasks, so shutdown can wait for them.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Notify;

/// Live connection tasks.
#[derive(Debug, Default)]
pub(crate) struct Tasks {
    live: AtomicUsize,
    idle: Notify,
}

/// Held by a task while it runs.
pub(crate) struct TaskGuard(Arc<Tasks>);

impl Tasks {
    /// Counts a task until the guard drops.
    pub(crate) fn enter(self: &Arc<Self>) -> TaskGuard {
        self.live.fetch_add(1, Ordering::AcqRel);
        TaskGuard(self.clone())
    }

    /// Tasks running now.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Waits until no task runs.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let n = self.idle.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.live.load(Ordering::Acquire) == 0 {
                return;
            }
            n.await;
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

pin_project_lite::pin_project! {
    /// A connection's future holding its task's guard: runs `fut` and counts the task
    /// until it ends. A plain struct around the future, so the spawned task is the size
    /// of the connection's future (an `async` block awaiting a captured future stores
    /// it twice).
    pub(crate) struct Tracked<F> {
        #[pin]
        fut: F,
        _guard: TaskGuard,
    }
}

impl<F: Future> Tracked<F> {
    /// `fut`, counted by `guard` while it runs.
    pub(crate) fn new(fut: F, guard: TaskGuard) -> Tracked<F> {
        Tracked { fut, _guard: guard }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().fut.poll(cx).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tracked_counts_the_task_and_adds_little_to_its_size() {
        let tasks = Arc::new(Tasks::default());
        let big = [7u8; 1024];
        let fut = async move {
            tokio::task::yield_now().await;
            std::hint::black_box(&big);
        };
        let inner = std::mem::size_of_val(&fut);
        let t = Tracked::new(fut, tasks.enter());
        assert!(
            std::mem::size_of_val(&t) <= inner + 16,
            "{} vs {inner}",
            std::mem::size_of_val(&t)
        );
        assert_eq!(tasks.live(), 1);
        t.await;
        assert_eq!(tasks.live(), 0);
    }
}
