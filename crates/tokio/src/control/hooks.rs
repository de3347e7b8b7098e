//! Webhooks: an HTTP POST with a JSON body per stream or session event.
//!
//! * `on_publish` and `on_play` **decide** (they join the authorization hook): allowed when
//!   the hook answers 2xx with an empty body, a body of `0`, or a JSON object whose `code`
//!   is 0 — the ZLMediaKit and SRS conventions; anything else denies. A timeout or a
//!   connection error denies unless `fail_open`. A client waits for one answer; a per-key
//!   cache (`cache_ttl`, off by default) saves repeated questions.
//! * `on_unpublish`, `on_play_stop`, `on_stream_none_reader`, `on_stream_not_found` (and
//!   `on_record_done`) **notify**: queued (bounded), sent by one worker, retried once; a
//!   full queue or a failure is logged and counted. They never block media.
//!
//! Body: `{event, server_id, session_id, protocol, app, stream, query, remote_addr}`, plus
//! the event's own fields (`on_record_done`: `file`, `url`, `start`, `duration_s`, `bytes`,
//! `codecs`, `format`).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::auth::{Access, AuthFuture, AuthHook, AuthRequest, Authorize};
use crate::config::HooksConfig;
use crate::core::{Hub, HubEvent};

/// Largest hook answer read.
const MAX_ANSWER: usize = 64 << 10;

/// What a hook is told.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HookBody {
    pub(crate) event: &'static str,
    pub(crate) server_id: String,
    pub(crate) session_id: String,
    pub(crate) protocol: &'static str,
    pub(crate) app: String,
    pub(crate) stream: String,
    pub(crate) query: Option<String>,
    pub(crate) remote_addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    /// Event-specific fields, flattened into the body (`on_record_done`: the file, its
    /// start, duration, size and codecs).
    #[serde(flatten)]
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    event: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

/// The webhooks of a relay.
pub(crate) struct Hooks {
    config: HooksConfig,
    client: Client<HttpConnector, Full<Bytes>>,
    queue: Mutex<Option<mpsc::Sender<HookBody>>>,
    cache: Mutex<HashMap<String, (bool, Instant)>>,
    calls: Family<CallLabels, Counter>,
    latency: Family<EventLabels, Histogram>,
    pulls: std::sync::OnceLock<Arc<crate::proxy::Pulls>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn split_key(key: &str) -> (String, String) {
    match key.rsplit_once('/') {
        Some((a, s)) => (a.to_string(), s.to_string()),
        None => (String::new(), key.to_string()),
    }
}

impl Hooks {
    pub(crate) fn new(config: HooksConfig) -> Arc<Hooks> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.timeout));
        connector.set_nodelay(true);
        Arc::new(Hooks {
            client: Client::builder(TokioExecutor::new()).build(connector),
            config,
            queue: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            calls: Family::default(),
            latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 14))
            }),
            pulls: std::sync::OnceLock::new(),
        })
    }

    fn url(&self, event: &str) -> Option<&str> {
        let c = &self.config;
        match event {
            "on_publish" => c.on_publish.as_deref(),
            "on_play" => c.on_play.as_deref(),
            "on_unpublish" => c.on_unpublish.as_deref(),
            "on_play_stop" => c.on_play_stop.as_deref(),
            "on_stream_none_reader" => c.on_stream_none_reader.as_deref(),
            "on_stream_not_found" => c.on_stream_not_found.as_deref(),
            "on_record_done" => c.on_record_done.as_deref(),
            _ => None,
        }
    }

    /// Whether any notification hook is set (the event worker runs only then).
    pub(crate) fn notifies(&self) -> bool {
        let c = &self.config;
        c.on_unpublish.is_some()
            || c.on_play_stop.is_some()
            || c.on_stream_none_reader.is_some()
            || c.on_stream_not_found.is_some()
            || c.on_record_done.is_some()
    }

    /// A body for `event` about session `id` of `key`.
    pub(crate) fn body(
        &self,
        event: &'static str,
        id: Option<u64>,
        protocol: &'static str,
        key: &str,
        query: Option<String>,
        addr: Option<SocketAddr>,
    ) -> HookBody {
        let (app, stream) = split_key(key);
        HookBody {
            event,
            server_id: self.config.server_id.clone(),
            session_id: id.map(|i| i.to_string()).unwrap_or_default(),
            protocol,
            app,
            stream,
            query,
            remote_addr: addr.map(|a| a.to_string()),
            user: None,
            extra: serde_json::Map::new(),
        }
    }

    /// One POST; Ok(allowed) when answered, Err when it failed or timed out.
    async fn post(&self, url: &str, body: &HookBody) -> Result<bool, String> {
        self.post_answer(url, body)
            .await
            .map(|(allowed, _)| allowed)
    }

    /// One POST; Ok((allowed, answer body)).
    async fn post_answer(&self, url: &str, body: &HookBody) -> Result<(bool, Bytes), String> {
        let json = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let mut req = Request::new(Full::new(Bytes::from(json)));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = url.parse().map_err(|e| format!("{url}: {e}"))?;
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let call = async {
            let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
            let ok = resp.status().is_success();
            let answer = Limited::new(resp.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<(bool, Bytes), String>((ok && allows(&answer), answer))
        };
        match tokio::time::timeout(self.config.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {:?}", self.config.timeout)),
        }
    }

    fn count(&self, event: &'static str, result: &str, started: Instant) {
        self.calls
            .get_or_create(&CallLabels {
                event: event.to_string(),
                result: result.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&EventLabels {
                event: event.to_string(),
            })
            .observe(started.elapsed().as_secs_f64());
    }

    /// Asks a deciding hook; true when it is not set.
    pub(crate) async fn decide(&self, body: HookBody) -> bool {
        let Some(url) = self.url(body.event) else {
            return true;
        };
        let cache_key = format!(
            "{}|{}/{}|{}|{}",
            body.event,
            body.app,
            body.stream,
            body.query.as_deref().unwrap_or(""),
            body.remote_addr
                .as_deref()
                .map_or("", |a| a.rsplit_once(':').map_or(a, |x| x.0)),
        );
        let ttl = self.config.cache_ttl;
        if !ttl.is_zero() {
            if let Some((allowed, at)) = lock(&self.cache).get(&cache_key) {
                if at.elapsed() < ttl {
                    return *allowed;
                }
            }
        }
        let started = Instant::now();
        let allowed = match self.post(url, &body).await {
            Ok(a) => {
                self.count(body.event, if a { "allow" } else { "deny" }, started);
                a
            }
            Err(e) => {
                self.count(body.event, "error", started);
                warn!(event = body.event, error = %e, fail_open = self.config.fail_open, "hook failed");
                self.config.fail_open
            }
        };
        if !ttl.is_zero() {
            let mut cache = lock(&self.cache);
            cache.retain(|_, (_, at)| at.elapsed() < ttl);
            if cache.len() < 10_000 {
                cache.insert(cache_key, (allowed, Instant::now()));
            }
        }
        allowed
    }

    /// Queues a notification (dropped and counted when the queue is full).
    pub(crate) fn notify(&self, body: HookBody) {
        if self.url(body.event).is_none() {
            return;
        }
        let queue = lock(&self.queue);
        let sent = queue
            .as_ref()
            .is_some_and(|q| q.try_send(body.clone()).is_ok());
        if !sent {
            self.calls
                .get_or_create(&CallLabels {
                    event: body.event.to_string(),
                    result: "dropped".to_string(),
                })
                .inc();
            warn!(event = body.event, "hook queue full: notification dropped");
        }
    }

    /// Starts the notification worker and the hub-event watcher (within a runtime).
    pub(crate) fn start(self: &Arc<Self>, hub: Hub) -> Vec<tokio::task::JoinHandle<()>> {
        if !self.notifies() {
            return Vec::new();
        }
        let (tx, mut rx) = mpsc::channel::<HookBody>(self.config.queue.max(1));
        *lock(&self.queue) = Some(tx);
        let me = self.clone();
        let worker = tokio::spawn(async move {
            while let Some(body) = rx.recv().await {
                let Some(url) = me.url(body.event) else {
                    continue;
                };
                let started = Instant::now();
                let mut result = me.post_answer(url, &body).await;
                if result.is_err() {
                    // Retried once.
                    result = me.post_answer(url, &body).await;
                }
                match result {
                    Ok((_, answer)) => {
                        me.count(body.event, "sent", started);
                        if body.event == "on_stream_not_found" {
                            me.pull_from_answer(&body, &answer);
                        }
                    }
                    Err(e) => {
                        me.count(body.event, "error", started);
                        warn!(event = body.event, error = %e, "notification hook failed");
                    }
                }
            }
        });
        let watcher = tokio::spawn(watch_events(self.clone(), hub));
        vec![worker, watcher]
    }

    /// The pulls an `on_stream_not_found` answer may start (set by the relay).
    pub(crate) fn set_pulls(&self, pulls: Arc<crate::proxy::Pulls>) {
        let _ = self.pulls.set(pulls);
    }

    /// An `on_stream_not_found` answer `{"code": 0, "url": "rtsp://…"}` pulls the stream
    /// from that URL, on demand (the waiting player gets it; it is let go when nobody
    /// watches) — ZLMediaKit's pattern.
    fn pull_from_answer(&self, body: &HookBody, answer: &[u8]) {
        let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(answer)
        else {
            return;
        };
        let Some(url) = o.get("url").and_then(serde_json::Value::as_str) else {
            return;
        };
        if o.get("code")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0)
            != 0
        {
            return;
        }
        let Some(pulls) = self.pulls.get() else {
            return;
        };
        let config = crate::proxy::PullConfig::new(body.app.clone(), body.stream.clone(), url)
            .on_demand(true);
        match pulls.add(config) {
            Ok(id) => {
                debug!(id, stream = %format!("{}/{}", body.app, body.stream), "on_stream_not_found: pulling")
            }
            Err(e) => debug!(error = %e, "on_stream_not_found: pull not started"),
        }
    }

    /// Adds the hook metrics to `r`.
    pub(crate) fn register_metrics(&self, r: &mut Registry) {
        r.register(
            "hook_calls",
            "Webhook calls by event and result",
            self.calls.clone(),
        );
        r.register(
            "hook_latency_seconds",
            "Webhook round-trip time by event",
            self.latency.clone(),
        );
    }
}

/// Whether a hook's answer body allows: empty, `0`, or a JSON object with `code` 0.
fn allows(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let t = text.trim();
    if t.is_empty() || t == "0" {
        return true;
    }
    match serde_json::from_str::<serde_json::Value>(t) {
        Ok(serde_json::Value::Object(o)) => {
            o.get("code").and_then(serde_json::Value::as_i64) == Some(0)
        }
        _ => false,
    }
}

/// Turns hub events into notifications; runs `on_stream_none_reader` timers.
async fn watch_events(hooks: Arc<Hooks>, hub: Hub) {
    let mut events = hub.events();
    let none_reader = hooks.config.none_reader;
    // Streams with no player: when the hook fires.
    let mut idle: HashMap<String, Instant> = HashMap::new();
    loop {
        let next = idle.values().min().copied();
        let ev = tokio::select! {
            ev = events.recv() => ev,
            () = sleep_until(next) => {
                let now = Instant::now();
                let due: Vec<String> = idle.iter().filter(|(_, t)| **t <= now).map(|(k, _)| k.clone()).collect();
                for key in due {
                    idle.remove(&key);
                    let s = hub.stream(&key);
                    if let Some(s) = s.filter(|s| s.players == 0) {
                        let body = hooks.body("on_stream_none_reader", s.publisher, s.protocol.unwrap_or(""), &key, None, None);
                        hooks.notify(body);
                    }
                }
                continue;
            }
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                debug!(missed = n, "hook watcher fell behind the hub's events");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match ev {
            HubEvent::Published { key, .. } => {
                if hub.stream(&key).is_some_and(|s| s.players == 0) {
                    idle.insert(key, Instant::now() + none_reader);
                }
            }
            HubEvent::PlayerJoined { key, .. } => {
                idle.remove(&key);
            }
            HubEvent::Unpublished {
                key,
                session,
                protocol,
                peer,
                query,
            } => {
                hooks.notify(hooks.body("on_unpublish", Some(session), protocol, &key, query, peer))
            }
            HubEvent::PlayerLeft {
                key,
                protocol,
                session,
                peer,
                query,
                ..
            } => {
                hooks.notify(hooks.body(
                    "on_play_stop",
                    Some(session),
                    protocol,
                    &key,
                    query,
                    peer,
                ));
                // The player's session may still be listed while its PlayerLeft is handled:
                // the timer starts whenever a player leaves a live stream, and whether anyone
                // is left is decided when it fires (a player joining meanwhile cancels it).
                if hub.stream(&key).is_some_and(|s| s.live) {
                    idle.insert(key, Instant::now() + none_reader);
                }
            }
            HubEvent::StreamNotFound { key, protocol } => {
                hooks.notify(hooks.body("on_stream_not_found", None, protocol, &key, None, None));
            }
            HubEvent::Ended { key } => {
                idle.remove(&key);
            }
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// The relay's authorization: the application's hook, then `on_publish`/`on_play`.
pub(crate) struct WithHooks {
    pub(crate) inner: AuthHook,
    pub(crate) hooks: Arc<Hooks>,
}

impl Authorize for WithHooks {
    fn authorize(&self, req: AuthRequest) -> AuthFuture {
        let inner = self.inner.clone();
        let hooks = self.hooks.clone();
        let fut: Pin<Box<dyn Future<Output = bool> + Send>> = Box::pin(async move {
            let event = match req.access {
                Access::Publish => "on_publish",
                Access::Play => "on_play",
                _ => return inner.check(req).await,
            };
            let body = hooks.body(
                event,
                req.session,
                req.protocol,
                &req.key,
                req.query.clone(),
                Some(req.peer),
            );
            inner.check(req).await && hooks.decide(body).await
        });
        fut
    }
}

#[cfg(test)]
mod tests {
    use super::allows;

    #[test]
    fn answers_that_allow() {
        for yes in [
            "",
            "0",
            " 0\n",
            "{\"code\":0}",
            "{\"code\": 0, \"msg\": \"ok\"}",
        ] {
            assert!(allows(yes.as_bytes()), "{yes:?}");
        }
        for no in ["1", "{\"code\":1}", "{\"code\":\"0\"}", "[]", "deny", "{}"] {
            assert!(!allows(no.as_bytes()), "{no:?}");
        }
    }

    #[test]
    fn bodies_split_app_and_stream() {
        let h = super::Hooks::new(crate::config::HooksConfig::default());
        let b = h.body(
            "on_play",
            Some(7),
            "rtmp",
            "live/sub/cam",
            Some("t=1".into()),
            None,
        );
        assert_eq!(
            (b.app.as_str(), b.stream.as_str(), b.session_id.as_str()),
            ("live/sub", "cam", "7")
        );
    }
}
