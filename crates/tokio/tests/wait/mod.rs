//! Waits on the relay's own state, with deadlines, for tests that used to sleep a fixed time
//! and hope a publisher had got going (a loaded machine starts ffmpeg late).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use weir_tokio::core::Role;
use weir_tokio::Hub;

/// Bound on every wait here; only a failing test gets near it.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Polls `cond` every 10 ms until it holds; panics with `what` after [`DEADLINE`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not after {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`until`] with a condition that has to await (an HTTP request, …); polled every 10 ms
/// after each answer.
pub async fn until_async<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !cond().await {
        assert!(Instant::now() < deadline, "{what}: not after {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `key` has a connected publisher whose tracks are known (so DESCRIBE and
/// players see them) and whose session has been up for at least `for_at_least`: how far
/// into a real-time stream a player joins, counted from the publisher's real start (the
/// tests used to sleep from the moment they spawned ffmpeg, which a loaded machine starts
/// late).
pub async fn stream_live(hub: &Hub, key: &str, for_at_least: Duration) {
    until(&format!("stream {key} live for {for_at_least:?}"), || {
        let live = hub
            .streams()
            .iter()
            .any(|s| s.key == key && s.live && !s.tracks.is_empty());
        live && hub
            .sessions()
            .iter()
            .any(|s| s.key == key && s.role == Role::Publisher && s.uptime >= for_at_least)
    })
    .await;
}

/// Waits until `key` has no connected publisher (it may still be in its grace period).
pub async fn publisher_gone(hub: &Hub, key: &str) {
    until(&format!("publisher of {key} gone"), || {
        !hub.streams().iter().any(|s| s.key == key && s.live)
    })
    .await;
}

/// Waits until `key` has exactly `n` connected players.
pub async fn players(hub: &Hub, key: &str, n: usize) {
    until(&format!("{n} players on {key}"), || {
        hub.streams().iter().any(|s| s.key == key && s.players == n)
    })
    .await;
}
