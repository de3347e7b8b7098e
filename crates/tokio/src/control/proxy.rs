//! `/api/v1/pulls` and `/api/v1/pushes`: streams pulled from other servers and push
//! rules forwarding streams to them — add (`POST`), list (`GET`), remove (`DELETE …/{id}`).
//! Same access rule as the rest of the API.

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::api::{access, error, ApiRequest};
use crate::ctx::Ctx;
use crate::net::http::{empty, full, Body};
use crate::proxy::{PullConfig, PullError, PullStatus, PushConfig, PushStatus};

/// The body of `POST /api/v1/pulls`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPull {
    app: String,
    stream: String,
    url: String,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    on_demand: bool,
    #[serde(default)]
    record: bool,
    #[serde(default)]
    tls_ca: Option<String>,
}

#[derive(Serialize)]
struct PullJson {
    id: String,
    app: String,
    stream: String,
    url: String,
    transport: Option<String>,
    on_demand: bool,
    record: bool,
    tls_ca: Option<String>,
    state: &'static str,
    retries: u64,
    attempts: u64,
    last_error: Option<String>,
    frames: u64,
}

fn pull_json(p: &PullStatus) -> PullJson {
    PullJson {
        id: p.id.to_string(),
        app: p.config.app.clone(),
        stream: p.config.stream.clone(),
        url: redact(&p.config.url),
        transport: p.config.transport.clone(),
        on_demand: p.config.on_demand,
        record: p.config.record,
        tls_ca: p.config.tls_ca.clone(),
        state: p.state.as_str(),
        retries: p.retries,
        attempts: p.attempts,
        last_error: p.last_error.clone(),
        frames: p.frames,
    }
}

/// A URL without its password (`rtsp://user:***@cam/…`): the API lists pulls to anyone
/// who may read it.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let auth_end = rest.find('/').unwrap_or(rest.len());
    match rest[..auth_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{}", &rest[auth_end..])
        }
        None => url.to_string(),
    }
}

fn json(code: StatusCode, v: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(v) {
        Ok(b) => full(code, "application/json", Bytes::from(b)),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// The body of `POST /api/v1/pushes`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPush {
    app: String,
    stream: String,
    url: String,
}

#[derive(Serialize)]
struct ActiveJson {
    stream: String,
    url: String,
}

#[derive(Serialize)]
struct PushJson {
    id: String,
    app: String,
    stream: String,
    url: String,
    active: Vec<ActiveJson>,
    attempts: u64,
    failures: u64,
    last_error: Option<String>,
    frames: u64,
}

fn push_json(p: &PushStatus) -> PushJson {
    PushJson {
        id: p.id.to_string(),
        app: p.config.app.clone(),
        stream: p.config.stream.clone(),
        url: redact(&p.config.url),
        active: p
            .active
            .iter()
            .map(|(s, u)| ActiveJson {
                stream: s.clone(),
                url: redact(u),
            })
            .collect(),
        attempts: p.attempts,
        failures: p.failures,
        last_error: p.last_error.clone(),
        frames: p.frames,
    }
}

/// Answers a `/pulls` or `/pushes` request; `body` is the request body (for POST).
pub(crate) fn handle(ctx: &Ctx, req: &ApiRequest<'_>, body: &Bytes) -> Response<Body> {
    if let Err(denied) = access(ctx, req) {
        return denied;
    }
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    if segments.first() == Some(&"pushes") {
        return pushes(ctx, req, &segments, body);
    }
    match (req.method.clone(), segments.as_slice()) {
        (Method::GET | Method::HEAD, ["pulls"]) => {
            let list: Vec<PullJson> = ctx.pulls.list().iter().map(pull_json).collect();
            json(StatusCode::OK, &serde_json::json!({ "pulls": list }))
        }
        (Method::POST, ["pulls"]) => {
            let new: NewPull = match serde_json::from_slice(body) {
                Ok(n) => n,
                Err(e) => return error(StatusCode::BAD_REQUEST, &format!("bad pull: {e}")),
            };
            let mut config = PullConfig::new(new.app, new.stream, new.url)
                .on_demand(new.on_demand)
                .record(new.record);
            config.transport = new.transport;
            config.tls_ca = new.tls_ca;
            match ctx.pulls.add(config) {
                Ok(id) => json(
                    StatusCode::CREATED,
                    &ctx.pulls.get(id).map(|p| pull_json(&p)),
                ),
                Err(e @ PullError::Duplicate(_)) => error(StatusCode::CONFLICT, &e.to_string()),
                Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
            }
        }
        (Method::GET | Method::HEAD, ["pulls", id]) => {
            match id.parse::<u64>().ok().and_then(|id| ctx.pulls.get(id)) {
                Some(p) => json(StatusCode::OK, &pull_json(&p)),
                None => error(StatusCode::NOT_FOUND, "no such pull"),
            }
        }
        (Method::DELETE, ["pulls", id]) => match id.parse::<u64>() {
            Ok(id) if ctx.pulls.remove(id) => empty(StatusCode::NO_CONTENT),
            _ => error(StatusCode::NOT_FOUND, "no such pull"),
        },
        (_, ["pulls"]) => not_allowed("GET, HEAD, POST"),
        (_, ["pulls", _]) => not_allowed("GET, HEAD, DELETE"),
        _ => error(StatusCode::NOT_FOUND, "no such API endpoint"),
    }
}

fn pushes(ctx: &Ctx, req: &ApiRequest<'_>, segments: &[&str], body: &Bytes) -> Response<Body> {
    match (req.method.clone(), segments) {
        (Method::GET | Method::HEAD, ["pushes"]) => {
            let list: Vec<PushJson> = ctx.pushes.list().iter().map(push_json).collect();
            json(StatusCode::OK, &serde_json::json!({ "pushes": list }))
        }
        (Method::POST, ["pushes"]) => {
            let new: NewPush = match serde_json::from_slice(body) {
                Ok(n) => n,
                Err(e) => return error(StatusCode::BAD_REQUEST, &format!("bad push: {e}")),
            };
            match ctx
                .pushes
                .add(PushConfig::new(new.app, new.stream, new.url))
            {
                Ok(id) => json(
                    StatusCode::CREATED,
                    &ctx.pushes.get(id).map(|p| push_json(&p)),
                ),
                Err(e) => error(StatusCode::BAD_REQUEST, &e),
            }
        }
        (Method::GET | Method::HEAD, ["pushes", id]) => {
            match id.parse::<u64>().ok().and_then(|id| ctx.pushes.get(id)) {
                Some(p) => json(StatusCode::OK, &push_json(&p)),
                None => error(StatusCode::NOT_FOUND, "no such push"),
            }
        }
        (Method::DELETE, ["pushes", id]) => match id.parse::<u64>() {
            Ok(id) if ctx.pushes.remove(id) => empty(StatusCode::NO_CONTENT),
            _ => error(StatusCode::NOT_FOUND, "no such push"),
        },
        (_, ["pushes"]) => not_allowed("GET, HEAD, POST"),
        (_, ["pushes", _]) => not_allowed("GET, HEAD, DELETE"),
        _ => error(StatusCode::NOT_FOUND, "no such API endpoint"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_listed() {
        assert_eq!(
            super::redact("rtsp://admin:hunter2@10.0.0.5:554/Streaming/101"),
            "rtsp://admin:***@10.0.0.5:554/Streaming/101"
        );
        assert_eq!(super::redact("rtmp://a/live/x"), "rtmp://a/live/x");
        assert_eq!(super::redact("not a url"), "not a url");
    }
}
