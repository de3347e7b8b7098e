//! The recordings API (`/api/v1/recordings...`) and the `on_record_done` hook.
//!
//! * `GET /api/v1/recordings`: every stream with recording files or a recorder — its files
//!   (name, `/vod/rec/...` URL, start, duration, bytes, codecs) and the recorder's state.
//! * `GET /api/v1/recordings/{app}/{stream}`: one stream.
//! * `POST /api/v1/recordings/{app}/{stream}`: record it from now on (at once when it is
//!   live, else from its next publish) until `DELETE`.
//! * `DELETE /api/v1/recordings/{app}/{stream}`: stop (the file being written is finished).
//!
//! Access as for the rest of the API (bearer token, or loopback-only changes).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use hyper::{Method, Response, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::api::{self, ApiRequest};
use super::hooks::Hooks;
use crate::ctx::Ctx;
use crate::egress::record::catalog::FileEntry;
use crate::egress::record::naming::{rfc3339_ms, safe_relative};
use crate::egress::record::{RecordDone, RecordFormat, Recorders};
use crate::egress::vod::source::probe;
use crate::net::http::{empty, full, Body};

fn format_name(f: RecordFormat) -> &'static str {
    match f {
        RecordFormat::Fmp4 => "fmp4",
        RecordFormat::Mp4 => "mp4",
        RecordFormat::Flv => "flv",
        RecordFormat::Ts => "ts",
    }
}

#[derive(Serialize)]
struct FileJson {
    name: String,
    url: String,
    start: String,
    duration_s: Option<f64>,
    bytes: u64,
    codecs: Vec<String>,
    in_progress: bool,
}

#[derive(Serialize)]
struct StreamJson {
    app: String,
    stream: String,
    key: String,
    /// A recorder is writing (or waiting for the stream).
    recording: bool,
    /// Recorded whenever published: started through the API or matching `record.streams`.
    wanted: bool,
    format: &'static str,
    /// Bytes written by the running recorder.
    bytes_written: u64,
    /// Frames the running recorder left out (slow disk, fell behind, unsupported).
    dropped: u64,
    files: Vec<FileJson>,
}

fn split(key: &str) -> (String, String) {
    match key.rsplit_once('/') {
        Some((a, s)) => (a.to_string(), s.to_string()),
        None => (String::new(), key.to_string()),
    }
}

fn file_json(r: &Recorders, f: &FileEntry) -> FileJson {
    let in_progress = r.in_use.contains(&f.path) && r.is_writing(&f.path);
    let probed = if in_progress {
        None
    } else {
        r.probes.get(f, probe)
    };
    let (duration, codecs) = probed.unwrap_or((None, Vec::new()));
    FileJson {
        url: format!("/vod/rec/{}/{}", f.key, f.name),
        name: f.name.clone(),
        start: rfc3339_ms(f.start_secs.saturating_mul(1000)),
        duration_s: duration.map(|d| d.as_secs_f64()),
        bytes: f.bytes,
        codecs: codecs.iter().map(ToString::to_string).collect(),
        in_progress,
    }
}

/// Every stream (or the one `only`) with files or a recorder. Blocking (reads the disk).
fn listing(r: &Recorders, only: Option<&str>) -> Vec<StreamJson> {
    let files = r.files();
    let status = r.status();
    let mut keys: Vec<String> = files.iter().map(|f| f.key.clone()).collect();
    keys.extend(status.iter().map(|s| s.key.clone()));
    if let Some(k) = only {
        keys.retain(|x| x == k);
    }
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let st = status.iter().find(|s| s.key == key);
            let stats = st.and_then(|s| s.stats.clone());
            let (app, stream) = split(&key);
            StreamJson {
                app,
                stream,
                recording: st.is_some_and(|s| s.active),
                wanted: r.wanted(&key),
                format: format_name(r.config.format),
                bytes_written: stats.as_ref().map_or(0, |s| s.written()),
                dropped: stats
                    .as_ref()
                    .map_or(0, |s| s.dropped.load(Ordering::Relaxed)),
                files: files
                    .iter()
                    .filter(|f| f.key == key)
                    .map(|f| file_json(r, f))
                    .collect(),
                key,
            }
        })
        .collect()
}

fn json_response(code: StatusCode, v: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(v) {
        Ok(b) => full(code, "application/json", Bytes::from(b)),
        Err(e) => api::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn list(ctx: &Ctx, only: Option<String>) -> Response<Body> {
    let r = ctx.recorders.clone();
    let only2 = only.clone();
    let list = tokio::task::spawn_blocking(move || listing(&r, only2.as_deref())).await;
    match (list, only) {
        (Ok(l), None) => json_response(StatusCode::OK, &json!({ "recordings": l })),
        (Ok(mut l), Some(_)) => match l.pop() {
            Some(one) => json_response(StatusCode::OK, &one),
            None => api::error(StatusCode::NOT_FOUND, "no recordings of this stream"),
        },
        (Err(e), _) => api::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Answers `/api/v1/recordings...` (the path after `/api/v1`).
pub(crate) async fn handle(ctx: &Ctx, req: &ApiRequest<'_>) -> Response<Body> {
    if let Err(denied) = api::access(ctx, req) {
        return denied;
    }
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let key = match segments.as_slice() {
        ["recordings"] | ["recordings", ""] => None,
        ["recordings", rest @ ..] if rest.len() >= 2 => Some(rest.join("/")),
        _ => return api::error(StatusCode::NOT_FOUND, "no such API endpoint"),
    };
    let valid = key
        .as_deref()
        .is_none_or(|k| safe_relative(k).is_some() && !k.starts_with('/'));
    if !valid {
        return api::error(StatusCode::BAD_REQUEST, "not an app/stream name");
    }
    let method = req.method;
    match (method, key) {
        (&Method::GET | &Method::HEAD, key) => list(ctx, key).await,
        (&Method::POST, Some(key)) => {
            if !ctx.recorders.start(&key) {
                return api::error(StatusCode::BAD_REQUEST, "not an app/stream name");
            }
            let (app, stream) = split(&key);
            let live = ctx.hub.stream(&key).is_some();
            json_response(
                StatusCode::CREATED,
                &json!({
                    "app": app,
                    "stream": stream,
                    "key": key,
                    "recording": live,
                    "wanted": true,
                    "format": format_name(ctx.recorders.config.format),
                }),
            )
        }
        (&Method::DELETE, Some(key)) => {
            if ctx.recorders.stop(&key) {
                empty(StatusCode::NO_CONTENT)
            } else {
                api::error(StatusCode::NOT_FOUND, "this stream is not being recorded")
            }
        }
        (_, None) => not_allowed("GET, HEAD"),
        (_, Some(_)) => not_allowed("GET, HEAD, POST, DELETE"),
    }
}

/// 405 with the `Allow` header.
fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = api::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut().insert(
        hyper::header::ALLOW,
        hyper::header::HeaderValue::from_static(allow),
    );
    r
}

/// The `on_record_done` body of a finished file.
fn done_body(hooks: &Hooks, d: &RecordDone) -> super::hooks::HookBody {
    let mut body = hooks.body("on_record_done", None, "record", &d.key, None, None);
    let name = d
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extra = json!({
        "file": d.path.display().to_string(),
        "url": format!("/vod/rec/{}/{}", d.key, name),
        "start": rfc3339_ms(d.start_ms),
        "duration_s": d.duration.as_secs_f64(),
        "bytes": d.bytes,
        "frames": d.frames,
        "codecs": d.codecs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "format": format_name(d.format),
    });
    if let serde_json::Value::Object(m) = extra {
        body.extra = m;
    }
    body
}

/// Tells `on_record_done` about every finished file.
pub(crate) async fn notify_done(recorders: Arc<Recorders>, hooks: Arc<Hooks>) {
    let mut events = recorders.events();
    loop {
        match events.recv().await {
            Ok(d) => hooks.notify(done_body(&hooks, &d)),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "on_record_done: notifications missed");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}
