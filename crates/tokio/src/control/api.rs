//! The HTTP API (`/api/v1/...`): streams, sessions, kicking a session, the server, and the
//! OpenAPI document describing them. JSON in and out; errors are `{"error": "…"}` with the
//! right status.
//!
//! Who may use it: with `api.token` set, every request needs `Authorization: Bearer TOKEN`
//! (401 otherwise); without one, reads are open and changes (`DELETE`) are accepted from
//! loopback clients only (403 otherwise).

use std::net::SocketAddr;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde::Serialize;
use weir_media::{Codec, MediaKind, TrackInfo};

use crate::core::{Role, SessionInfo, StreamInfo};
use crate::ctx::Ctx;
use crate::net::http::{empty, full, Body};

/// The OpenAPI 3 document of this API.
const OPENAPI: &str = include_str!("openapi.json");

/// A parsed API request.
pub(crate) struct ApiRequest<'a> {
    pub(crate) method: &'a Method,
    /// The path after `/api/v1`.
    pub(crate) path: &'a str,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) peer: SocketAddr,
}

/// A JSON error response.
pub(crate) fn error(code: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": message }).to_string();
    full(code, "application/json", Bytes::from(body))
}

fn json(code: StatusCode, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(v) => full(code, "application/json", Bytes::from(v)),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Who may use the API: with `api.token`, a request needs the bearer token (401); without,
/// changes come from loopback clients only (403).
// The error is the response itself, built once per refused request.
#[allow(clippy::result_large_err)]
pub(crate) fn access(ctx: &Ctx, req: &ApiRequest<'_>) -> Result<(), Response<Body>> {
    let mutating = req.method != Method::GET && req.method != Method::HEAD;
    match &ctx.config.api.token {
        Some(token) => {
            let ok = req
                .authorization
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), token.as_bytes()));
            if !ok {
                let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return Err(r);
            }
        }
        None if mutating && !req.peer.ip().is_loopback() => {
            return Err(error(
                StatusCode::FORBIDDEN,
                "changes are accepted from loopback clients only (set api.token to allow others)",
            ));
        }
        None => {}
    }
    Ok(())
}

/// Answers `req` (the path already known to start with `/api/v1`).
pub(crate) fn handle(ctx: &Ctx, req: &ApiRequest<'_>) -> Response<Body> {
    if let Err(denied) = access(ctx, req) {
        return denied;
    }
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match (req.method.clone(), segments.as_slice()) {
        (Method::GET | Method::HEAD, ["openapi.json"]) => full(
            StatusCode::OK,
            "application/json",
            Bytes::from_static(OPENAPI.as_bytes()),
        ),
        (Method::GET | Method::HEAD, ["streams"]) => streams(ctx),
        (Method::GET | Method::HEAD, ["streams", rest @ ..]) if rest.len() >= 2 => {
            let key = rest.join("/");
            match ctx.hub.stream(&key) {
                Some(s) => json(StatusCode::OK, &stream_json(ctx, &s, &ctx.hub.sessions())),
                None => error(StatusCode::NOT_FOUND, "no such stream"),
            }
        }
        (Method::GET | Method::HEAD, ["sessions"]) => sessions(ctx),
        (Method::DELETE, ["sessions", id]) => match id.parse::<u64>() {
            Ok(id) if ctx.hub.kick(id) => empty(StatusCode::NO_CONTENT),
            // Ids are opaque strings to clients: one that is not ours is no session.
            _ => error(StatusCode::NOT_FOUND, "no such session"),
        },
        (Method::GET | Method::HEAD, ["server"]) => server(ctx),
        (_, ["sessions", _]) => not_allowed("DELETE"),
        (_, ["streams" | "sessions" | "server" | "openapi.json", ..]) => not_allowed("GET, HEAD"),
        _ => error(StatusCode::NOT_FOUND, "no such API endpoint"),
    }
}

/// 405 with the `Allow` header RFC 9110 §15.5.6 requires.
fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// Compares secrets without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Serialize)]
struct PublisherJson {
    id: String,
    protocol: &'static str,
    remote_addr: Option<String>,
}

#[derive(Serialize)]
struct TrackJson {
    id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    codec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<u8>,
}

#[derive(Serialize)]
struct HlsJson {
    segments: u64,
    dropped_tracks: Vec<String>,
}

#[derive(Serialize)]
struct StreamJson {
    app: String,
    stream: String,
    key: String,
    online: bool,
    publisher: Option<PublisherJson>,
    tracks: Vec<TrackJson>,
    players: usize,
    bytes_in: u64,
    bitrate_kbps: u64,
    uptime_s: u64,
    // Earlier fields, kept for tools written against them.
    live: bool,
    video: bool,
    audio: bool,
    units: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hls: Option<HlsJson>,
    /// Why WebRTC players get no audio (a codec WebRTC does not carry).
    #[serde(skip_serializing_if = "Option::is_none")]
    webrtc_audio: Option<String>,
}

/// Why WebRTC players of a stream with `tracks` get no audio: its audio codec is not Opus.
fn webrtc_audio(tracks: &[std::sync::Arc<TrackInfo>]) -> Option<String> {
    let audio = tracks.iter().find(|t| t.codec.kind() == MediaKind::Audio)?;
    (cfg!(feature = "webrtc") && audio.codec != Codec::Opus).then(|| {
        format!(
            "unsupported codec {}",
            audio.codec.to_string().to_ascii_lowercase()
        )
    })
}

/// (app, stream) of `app/stream` (the app may itself contain `/`).
fn split_key(key: &str) -> (String, String) {
    match key.rsplit_once('/') {
        Some((a, s)) => (a.to_string(), s.to_string()),
        None => (String::new(), key.to_string()),
    }
}

fn track_json(t: &TrackInfo) -> TrackJson {
    let video = t.codec.kind() == MediaKind::Video;
    let mut j = TrackJson {
        id: t.id.0,
        kind: if video { "video" } else { "audio" },
        codec: t.codec.to_string(),
        width: t.video.map(|v| v.width),
        height: t.video.map(|v| v.height),
        fps: None,
        sample_rate: t.audio.map(|a| a.sample_rate),
        channels: t.audio.map(|a| a.channels),
    };
    // What the codec configuration says, when the ingest gave no parameters.
    match t.codec {
        Codec::H264 => {
            if let Ok(sps) = weir_h264::AvcConfig::parse(&t.config).and_then(|c| c.parsed_sps()) {
                j.width = Some(sps.width());
                j.height = Some(sps.height());
                j.fps = sps.fps();
            }
        }
        Codec::H265 => {
            if let Ok(sps) = weir_h265::HevcConfig::parse(&t.config).and_then(|c| c.parsed_sps()) {
                j.width = Some(sps.width());
                j.height = Some(sps.height());
                j.fps = sps.fps();
            }
        }
        Codec::Aac => {
            if let Ok(asc) = weir_aac::AudioSpecificConfig::parse(&t.config) {
                j.sample_rate = Some(asc.sample_rate());
                j.channels = Some(asc.channels());
            }
        }
        _ => {}
    }
    j.fps = j.fps.filter(|f| f.is_finite() && *f > 0.0);
    j
}

fn stream_json(ctx: &Ctx, s: &StreamInfo, sessions: &[SessionInfo]) -> StreamJson {
    let (app, stream) = split_key(&s.key);
    let publisher = s.publisher.map(|id| {
        let session = sessions.iter().find(|x| x.id == id);
        PublisherJson {
            id: id.to_string(),
            protocol: session.map_or(s.protocol.unwrap_or(""), |x| x.protocol),
            remote_addr: session.and_then(|x| x.remote_addr).map(|a| a.to_string()),
        }
    });
    let hls = ctx.hls.info(&s.key).map(|h| HlsJson {
        segments: h.segments,
        dropped_tracks: h.dropped_tracks.iter().map(ToString::to_string).collect(),
    });
    StreamJson {
        app,
        stream,
        key: s.key.clone(),
        online: s.live,
        publisher,
        tracks: s.tracks.iter().map(|t| track_json(t)).collect(),
        players: s.players,
        bytes_in: s.bytes_in,
        bitrate_kbps: s.bitrate / 1000,
        uptime_s: s.uptime.as_secs(),
        live: s.live,
        video: s.shape.has_video,
        audio: s.shape.has_audio,
        units: s.units,
        hls,
        webrtc_audio: webrtc_audio(&s.tracks),
    }
}

fn streams(ctx: &Ctx) -> Response<Body> {
    let sessions = ctx.hub.sessions();
    let list: Vec<StreamJson> = ctx
        .hub
        .streams()
        .iter()
        .map(|s| stream_json(ctx, s, &sessions))
        .collect();
    json(StatusCode::OK, &serde_json::json!({ "streams": list }))
}

#[derive(Serialize)]
struct SessionJson {
    id: String,
    protocol: &'static str,
    role: &'static str,
    app: String,
    stream: String,
    remote_addr: Option<String>,
    bytes_in: u64,
    bytes_out: u64,
    uptime_s: u64,
}

fn session_json(s: &SessionInfo) -> SessionJson {
    let (app, stream) = split_key(&s.key);
    SessionJson {
        id: s.id.to_string(),
        protocol: s.protocol,
        role: s.role.as_str(),
        app,
        stream,
        remote_addr: s.remote_addr.map(|a| a.to_string()),
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
        uptime_s: s.uptime.as_secs(),
    }
}

fn sessions(ctx: &Ctx) -> Response<Body> {
    let list: Vec<SessionJson> = ctx.hub.sessions().iter().map(session_json).collect();
    json(StatusCode::OK, &serde_json::json!({ "sessions": list }))
}

fn server(ctx: &Ctx) -> Response<Body> {
    let sessions = ctx.hub.sessions();
    let publishers = sessions
        .iter()
        .filter(|s| s.role == Role::Publisher)
        .count();
    let listeners = &ctx.listeners;
    let body = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "server_id": ctx.config.hooks.server_id,
        "uptime_s": ctx.started.elapsed().as_secs(),
        "listeners": {
            "rtmp": listeners.rtmp.map(|a| a.to_string()),
            "http": listeners.http.map(|a| a.to_string()),
            "rtsp": listeners.rtsp.map(|a| a.to_string()),
            "gb28181": listeners.gb28181.map(|a| a.to_string()),
        },
        "counts": {
            "streams": ctx.hub.streams().len(),
            "sessions": sessions.len(),
            "publishers": publishers,
            "players": sessions.len() - publishers,
        },
    });
    json(StatusCode::OK, &body)
}
