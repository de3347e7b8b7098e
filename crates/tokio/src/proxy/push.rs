//! Push forwarding: a live stream (or every stream matching a pattern) is forwarded to
//! another server over RTMP or RTSP (ANNOUNCE/RECORD), for as long as it is live, with the
//! pulls' reconnect policy.
//!
//! Each push rule watches the hub: when a matching stream is published, a forwarder
//! subscribes to it (as an internal consumer, not a player) and sends what it receives —
//! FLV tags over RTMP, RTP over RTSP — reconnecting with backoff when the destination
//! drops; it stops when the stream ends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;
use tracing::{info, warn};

use super::pull::backoff_delay;
use super::settings::{PullBackoff, PushConfig};
use crate::core::{Hub, HubEvent, SubscribeOptions};

/// A forwarding's status, for the API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PushStatus {
    /// The rule's id.
    pub id: u64,
    /// The rule.
    pub config: PushConfig,
    /// Streams being forwarded now, with their destination URL.
    pub active: Vec<(String, String)>,
    /// Connection attempts in all.
    pub attempts: u64,
    /// Failed attempts in all.
    pub failures: u64,
    /// Why the last attempt ended.
    pub last_error: Option<String>,
    /// Frames forwarded in all.
    pub frames: u64,
}

struct Rule {
    status: Arc<Mutex<PushStatus>>,
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// The relay's push rules.
pub struct Pushes {
    hub: Hub,
    backoff: PullBackoff,
    rules: Mutex<BTreeMap<u64, Rule>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether `key` (`app/stream`) matches `pattern` (`*` matches any run of characters
/// within one path part; a part of just `*` matches any part).
pub(crate) fn matches(pattern: &str, key: &str) -> bool {
    fn glob(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                glob(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && glob(p, &s[1..]))
            }
            (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
            _ => false,
        }
    }
    glob(pattern.as_bytes(), key.as_bytes())
}

/// The destination of `key` for `url`: `{app}`, `{stream}` and `{key}` are replaced.
pub(crate) fn destination(url: &str, key: &str) -> String {
    let (app, stream) = key.rsplit_once('/').unwrap_or(("", key));
    url.replace("{key}", key)
        .replace("{app}", app)
        .replace("{stream}", stream)
}

impl Pushes {
    /// A registry.
    pub fn new(hub: Hub, backoff: PullBackoff) -> Arc<Pushes> {
        Arc::new(Pushes {
            hub,
            backoff,
            rules: Mutex::new(BTreeMap::new()),
        })
    }

    /// Adds a rule; returns its id.
    ///
    /// # Errors
    /// An unsupported destination URL.
    pub fn add(self: &Arc<Self>, config: PushConfig) -> Result<u64, String> {
        let lower = config.url.to_ascii_lowercase();
        let ok = (lower.starts_with("rtmp://") && cfg!(feature = "rtmp"))
            || (lower.starts_with("rtsp://") && cfg!(feature = "rtsp"));
        if !ok {
            return Err(format!(
                "unsupported destination `{}` (rtmp://, rtsp://)",
                config.url
            ));
        }
        if config.pattern().is_empty() {
            return Err("empty stream pattern".into());
        }
        let id = self.hub.next_id();
        let status = Arc::new(Mutex::new(PushStatus {
            id,
            config: config.clone(),
            active: Vec::new(),
            attempts: 0,
            failures: 0,
            last_error: None,
            frames: 0,
        }));
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(self.clone().watch(config, status.clone(), stop.clone()));
        lock(&self.rules).insert(id, Rule { status, stop, task });
        Ok(id)
    }

    /// Removes rule `id` (its forwardings stop); false when there is none.
    pub fn remove(&self, id: u64) -> bool {
        let Some(r) = lock(&self.rules).remove(&id) else {
            return false;
        };
        r.stop.notify_waiters();
        r.task.abort();
        true
    }

    /// Every rule's status.
    pub fn list(&self) -> Vec<PushStatus> {
        lock(&self.rules)
            .values()
            .map(|r| lock(&r.status).clone())
            .collect()
    }

    /// One rule's status.
    pub fn get(&self, id: u64) -> Option<PushStatus> {
        lock(&self.rules).get(&id).map(|r| lock(&r.status).clone())
    }

    /// Stops every rule.
    pub fn shutdown(&self) {
        let ids: Vec<u64> = lock(&self.rules).keys().copied().collect();
        for id in ids {
            self.remove(id);
        }
    }

    /// Starts a forwarder for every matching stream, now and as streams are published.
    async fn watch(
        self: Arc<Self>,
        config: PushConfig,
        status: Arc<Mutex<PushStatus>>,
        stop: Arc<Notify>,
    ) {
        let mut events = self.hub.events();
        let pattern = config.pattern();
        let mut forwarders: BTreeMap<String, tokio::task::JoinHandle<()>> = BTreeMap::new();
        let start = |key: &str, forwarders: &mut BTreeMap<String, tokio::task::JoinHandle<()>>| {
            forwarders.retain(|_, t| !t.is_finished());
            if forwarders.contains_key(key) {
                return;
            }
            let url = destination(&config.url, key);
            let task = tokio::spawn(self.clone().forward(
                key.to_string(),
                url,
                status.clone(),
                stop.clone(),
            ));
            forwarders.insert(key.to_string(), task);
        };
        for s in self.hub.streams().into_iter().filter(|s| s.live) {
            if matches(&pattern, &s.key) {
                start(&s.key, &mut forwarders);
            }
        }
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(HubEvent::Published { key, .. }) if matches(&pattern, &key) => start(&key, &mut forwarders),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                () = stop.notified() => break,
            }
        }
        for (_, t) in forwarders {
            t.abort();
        }
    }

    /// Forwards `key` to `url` until the stream ends, reconnecting on failures.
    async fn forward(
        self: Arc<Self>,
        key: String,
        url: String,
        status: Arc<Mutex<PushStatus>>,
        stop: Arc<Notify>,
    ) {
        let opts = SubscribeOptions::new().internal();
        let Ok(mut sub) = self.hub.subscribe_with(&key, "push", opts).await else {
            return;
        };
        lock(&status).active.push((key.clone(), url.clone()));
        info!(stream = key, %url, "push: forwarding");
        let mut failures = 0u64;
        let mut jitter = self.hub.next_id().wrapping_mul(0x2545_F491_4F6C_DD1D);
        loop {
            lock(&status).attempts += 1;
            let started = Instant::now();
            let frames = |n: u64| lock(&status).frames += n;
            let result = tokio::select! {
                r = sinks::run(&url, &mut sub, &frames) => r,
                () = stop.notified() => break,
            };
            match result {
                Ok(()) => break, // the stream ended
                Err(e) => {
                    if started.elapsed() >= self.backoff.reset_after {
                        failures = 0;
                    }
                    {
                        let mut st = lock(&status);
                        st.failures += 1;
                        st.last_error = Some(e.clone());
                    }
                    jitter ^= jitter << 13;
                    jitter ^= jitter >> 7;
                    jitter ^= jitter << 17;
                    let delay = backoff_delay(&self.backoff, failures, jitter);
                    failures += 1;
                    warn!(stream = key, %url, error = %e, retry_in_ms = delay.as_millis() as u64, "push: destination lost");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = stop.notified() => break,
                    }
                    // Start again at a keyframe, with the stream's configurations.
                    let opts = SubscribeOptions::new().internal();
                    match self.hub.subscribe_with(&key, "push", opts).await {
                        Ok(s) => sub = s,
                        Err(_) => break,
                    }
                }
            }
        }
        lock(&status).active.retain(|(k, _)| *k != key);
        info!(stream = key, %url, "push: stopped");
    }
}

mod sinks {
    //! The destination drivers: each connects and sends the subscription's units until the
    //! stream ends (Ok) or the destination fails (Err).

    use crate::core::Subscription;

    pub(super) async fn run(
        url: &str,
        sub: &mut Subscription,
        frames: &impl Fn(u64),
    ) -> Result<(), String> {
        let lower = url.to_ascii_lowercase();
        #[cfg(feature = "rtmp")]
        if lower.starts_with("rtmp://") {
            return rtmp(url, sub, frames).await;
        }
        #[cfg(feature = "rtsp")]
        if lower.starts_with("rtsp://") {
            return rtsp(url, sub, frames).await;
        }
        let _ = (lower, sub, frames);
        Err(format!("unsupported destination {url}"))
    }

    #[cfg(feature = "rtmp")]
    async fn rtmp(url: &str, sub: &mut Subscription, frames: &impl Fn(u64)) -> Result<(), String> {
        use crate::client::{RtmpClient, RtmpUrl};
        use crate::core::UnitKind;
        use crate::format::flv;
        let u = RtmpUrl::parse(url).map_err(|e| e.to_string())?;
        let client = RtmpClient::connect(&u).await.map_err(|e| e.to_string())?;
        let mut client = client.publish(&u.stream).await.map_err(|e| e.to_string())?;
        let mut units = Vec::new();
        loop {
            let more = sub.next_batch(&mut units, 16).await;
            for unit in &units {
                let body = flv::body(unit).clone();
                if body.is_empty() {
                    continue;
                }
                let ts = flv::timestamp(unit);
                let r = match unit.kind() {
                    UnitKind::Video => client.session().send_video(ts, body),
                    UnitKind::Audio => client.session().send_audio(ts, body),
                    _ => continue,
                };
                r.map_err(|e| e.to_string())?;
                if unit.is_frame() {
                    frames(1);
                }
            }
            client.flush().await.map_err(|e| e.to_string())?;
            if !more {
                let _ = client.close().await;
                return Ok(());
            }
        }
    }

    #[cfg(feature = "rtsp")]
    async fn rtsp(url: &str, sub: &mut Subscription, frames: &impl Fn(u64)) -> Result<(), String> {
        use crate::client::RtspPublisher;
        let tracks: Vec<_> = sub.tracks().iter().map(|t| (**t).clone()).collect();
        let mut publisher = RtspPublisher::connect(url, &tracks)
            .await
            .map_err(|e| e.to_string())?;
        let mut units = Vec::new();
        loop {
            let more = sub.next_batch(&mut units, 16).await;
            for unit in &units {
                if let Some(f) = unit.frame_data() {
                    publisher.send(f).await.map_err(|e| e.to_string())?;
                    frames(1);
                }
            }
            publisher.flush().await.map_err(|e| e.to_string())?;
            if !more {
                let _ = publisher.teardown().await;
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_destinations() {
        assert!(matches("live/*", "live/cam"));
        assert!(matches("live/cam", "live/cam"));
        assert!(matches("*/cam", "live/cam"));
        assert!(!matches("live/*", "other/cam"));
        assert!(!matches("live/*", "live/a/b"), "one part");
        assert!(matches("live/cam*", "live/cam2"));
        assert_eq!(
            destination("rtmp://up/live/{stream}", "live/cam"),
            "rtmp://up/live/cam"
        );
        assert_eq!(destination("rtsp://up/{key}", "a/b"), "rtsp://up/a/b");
    }
}
