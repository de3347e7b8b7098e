//! The WHEP and WHIP HTTP resources (RFC 9725 and the WHEP draft):
//!
//! * `POST /{app}/{stream}/whep|whip` with an SDP offer → `201 Created`, the answer, a
//!   `Location` (`…/whep|whip/{token}`, an unguessable token) and an `ETag`;
//! * `PATCH <Location>` with `application/trickle-ice-sdpfrag` → remote candidates, 204;
//! * `DELETE <Location>` → the session ends;
//! * `OPTIONS` → CORS and `Accept-Post: application/sdp`.
//!
//! The authorization hook decides before anything is created (`webrtc`, play or publish,
//! with the URL query — or `token=` and the bearer token OBS sends — as the credential).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use str0m::change::SdpOffer;
use str0m::Rtc;
use tokio::sync::mpsc;
use tracing::{debug, info};
use weir_media::MediaKind;

use super::driver::Driver;
use super::io::{Msg, Registration, WebRtc};
use super::registry::{self, Kind, Refused, Resource, WebRtcPath};
use super::sdp::{self, SdpError};
use super::{play, publish};
use crate::auth::{Access, AuthRequest};
use crate::core::{HubError, Link, Peer, SubscribeOptions};
use crate::ctx::Ctx;
use crate::net::http::{body_up_to, cors_with, empty, full, plain, Body};
use crate::net::random_u64;

/// Whether `path` is a WebRTC path (then [`handle`] answers it).
pub(crate) fn is_webrtc_path(path: &str) -> bool {
    registry::parse_path(path).is_some()
}

/// Adds the CORS headers WHEP and WHIP clients need.
fn cors(r: Response<Body>) -> Response<Body> {
    cors_with(
        r,
        "OPTIONS, POST, PATCH, DELETE",
        "Authorization, Content-Type, If-Match",
        "Location, ETag, Accept-Patch, Accept-Post, Link",
    )
}

/// A plain-text response (a line) with the CORS headers.
fn text(code: StatusCode, msg: impl Into<String>) -> Response<Body> {
    let mut m = msg.into();
    m.push('\n');
    cors(plain(code, m))
}

/// Answers a WebRTC request.
pub(crate) async fn handle(ctx: &Ctx, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let Some(path) = registry::parse_path(req.uri().path()) else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let Some(webrtc) = ctx.webrtc.clone() else {
        return text(StatusCode::NOT_FOUND, "WebRTC is off on this server");
    };
    let method = req.method().clone();
    match (&path, method) {
        (_, Method::OPTIONS) => {
            let mut r = cors(empty(StatusCode::NO_CONTENT));
            r.headers_mut()
                .insert("accept-post", HeaderValue::from_static("application/sdp"));
            r
        }
        (WebRtcPath::Endpoint(kind, key), Method::POST) => {
            create(ctx, &webrtc, *kind, key, req, peer).await
        }
        (WebRtcPath::Resource(kind, key, token), Method::DELETE) => {
            match webrtc.resource(*kind, key, token) {
                Some((id, _, tx)) => {
                    let _ = tx.send(Msg::Close).await;
                    debug!(session = id, "WebRTC resource deleted");
                    cors(empty(StatusCode::OK))
                }
                None => text(StatusCode::NOT_FOUND, "no such session"),
            }
        }
        (WebRtcPath::Resource(kind, key, token), Method::PATCH) => {
            patch(&webrtc, *kind, key, token, req).await
        }
        (WebRtcPath::Endpoint(..), _) => allow("OPTIONS, POST"),
        (WebRtcPath::Resource(..), _) => allow("OPTIONS, PATCH, DELETE"),
    }
}

fn allow(methods: &'static str) -> Response<Body> {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(methods));
    r
}

fn content_type_is(req: &Request<Incoming>, want: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

/// The request's body, up to `max` bytes.
// The error is the response itself, built once per refused request.
#[allow(clippy::result_large_err)]
async fn body(req: Request<Incoming>, max: usize) -> Result<Bytes, Response<Body>> {
    body_up_to(req.into_body(), max).await.ok_or_else(|| {
        text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {max} bytes"),
        )
    })
}

/// The credential of a request: its query, with the bearer token (OBS's WHIP "Bearer
/// Token") added as `token=…`.
fn credential(req: &Request<Incoming>) -> Option<String> {
    let query = req.uri().query().map(str::to_string);
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    match (query, bearer) {
        (q, None) => q,
        (None, Some(b)) => Some(format!("token={b}")),
        (Some(q), Some(b)) => Some(format!("{q}&token={b}")),
    }
}

/// The IP the client reached this server at (the `Host` header, when it is an address).
fn host_ip(req: &Request<Incoming>) -> Option<IpAddr> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    if let Ok(a) = host.parse::<SocketAddr>() {
        return Some(a.ip());
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
}

async fn create(
    ctx: &Ctx,
    webrtc: &Arc<WebRtc>,
    kind: Kind,
    key: &str,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    if !content_type_is(&req, "application/sdp") {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the offer must be sent as Content-Type: application/sdp",
        );
    }
    let query = credential(&req);
    let hint = host_ip(&req);
    let id = ctx.hub.next_id();
    let access = match kind {
        Kind::Whep => Access::Play,
        Kind::Whip => Access::Publish,
    };
    let auth = AuthRequest::new("webrtc", access, key, query.clone(), peer).with_session(id);
    if !ctx.auth.check(auth).await {
        if query.is_none() {
            let mut r = text(StatusCode::UNAUTHORIZED, "unauthorized");
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
        return text(StatusCode::FORBIDDEN, "forbidden");
    }
    let offer = match body(req, webrtc.config.max_sdp_bytes).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let summary = match sdp::summarize(&offer) {
        Ok(s) => s,
        Err(e) => return sdp_error(&e),
    };
    if !webrtc.has_room() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "too many WebRTC sessions");
    }
    let link = Link::new();
    let peer_info = Peer::new(peer, link.clone()).with_query(query).with_id(id);
    let label = format!("{} {key} #{id}", kind.segment().to_uppercase());
    match kind {
        Kind::Whep => {
            create_player(ctx, webrtc, key, &offer, &summary, peer_info, label, hint).await
        }
        Kind::Whip => create_publisher(ctx, webrtc, key, &offer, &summary, peer_info, label, hint),
    }
}

fn sdp_error(e: &SdpError) -> Response<Body> {
    match e {
        SdpError::Malformed(m) => text(StatusCode::BAD_REQUEST, m.clone()),
        SdpError::NotAcceptable(m) => text(StatusCode::NOT_ACCEPTABLE, m.clone()),
    }
}

/// What creating the str0m side of a session yields.
struct Negotiated {
    driver: Driver,
    answer: String,
    token: String,
    tx: mpsc::Sender<Msg>,
    ufrag: String,
}

/// Accepts `offer` on `rtc` with the port's candidates.
// The error is the response itself, built once per refused request.
#[allow(clippy::result_large_err)]
fn negotiate(
    webrtc: &Arc<WebRtc>,
    mut rtc: Rtc,
    offer: &[u8],
    link: Arc<Link>,
    label: String,
    hint: Option<IpAddr>,
) -> Result<Negotiated, Response<Body>> {
    let candidates = webrtc.candidates(hint);
    if candidates.is_empty() {
        return Err(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no ICE candidate to announce: set webrtc.candidates (the media port is bound to a wildcard address)",
        ));
    }
    for c in candidates {
        rtc.add_local_candidate(c);
    }
    let text_offer = String::from_utf8_lossy(offer);
    let offer = SdpOffer::from_sdp_string(&text_offer)
        .map_err(|e| text(StatusCode::BAD_REQUEST, format!("bad SDP offer: {e}")))?;
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .map_err(|e| {
            text(
                StatusCode::NOT_ACCEPTABLE,
                format!("offer not accepted: {e}"),
            )
        })?
        .to_sdp_string();
    let ufrag = answer
        .lines()
        .find_map(|l| l.trim().strip_prefix("a=ice-ufrag:"))
        .map(str::to_string)
        .ok_or_else(|| {
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "answer without ICE ufrag",
            )
        })?;
    let (tx, rx) = mpsc::channel(512);
    let driver = Driver::new(rtc, webrtc.clone(), rx, link, label, Instant::now());
    Ok(Negotiated {
        driver,
        answer,
        token: registry::token(random_u64(), random_u64()),
        tx,
        ufrag,
    })
}

fn created(kind: Kind, key: &str, n: &Negotiated, etag: &str) -> Response<Body> {
    let mut r = cors(full(
        StatusCode::CREATED,
        "application/sdp",
        Bytes::from(n.answer.clone()),
    ));
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&registry::location(kind, key, &n.token)) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        "accept-patch",
        HeaderValue::from_static("application/trickle-ice-sdpfrag"),
    );
    r
}

/// Lists a negotiated session (its resource under a new ETag, its ICE ufrag): the
/// registration and the `201 Created` answer.
// The error is the response itself, built once per refused request.
#[allow(clippy::result_large_err)]
fn register(
    webrtc: &Arc<WebRtc>,
    kind: Kind,
    key: &str,
    session: u64,
    n: &Negotiated,
) -> Result<(Registration, Response<Body>), Response<Body>> {
    let etag = format!("\"{}\"", &n.token[..12]);
    let resource = Resource {
        kind,
        key: key.to_string(),
        session,
        etag: etag.clone(),
        handle: n.tx.clone(),
    };
    let registration = webrtc
        .register(&n.ufrag, &n.token, resource)
        .map_err(refused)?;
    Ok((registration, created(kind, key, n, &etag)))
}

fn refused(e: Refused) -> Response<Body> {
    match e {
        Refused::Full => text(StatusCode::SERVICE_UNAVAILABLE, "too many WebRTC sessions"),
        Refused::Taken => text(StatusCode::SERVICE_UNAVAILABLE, "try again"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn create_player(
    ctx: &Ctx,
    webrtc: &Arc<WebRtc>,
    key: &str,
    offer: &[u8],
    summary: &sdp::OfferSummary,
    peer: Peer,
    label: String,
    hint: Option<IpAddr>,
) -> Response<Body> {
    let (id, link) = (peer.id.unwrap_or(0), peer.link.clone().unwrap_or_default());
    let opts = SubscribeOptions::new().peer(peer);
    let sub = match ctx.hub.subscribe_with(key, "webrtc", opts).await {
        Ok(s) => s,
        Err(HubError::NotFound(_)) => return text(StatusCode::NOT_FOUND, "stream not found"),
        Err(_) => return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
    };
    let codec = |k: MediaKind| {
        sub.tracks()
            .iter()
            .find(|t| t.codec.kind() == k)
            .map(|t| t.codec)
    };
    let plan = match sdp::plan_play(summary, codec(MediaKind::Video), codec(MediaKind::Audio)) {
        Ok(p) => p,
        Err(e) => return sdp_error(&e),
    };
    if let Some(note) = &plan.audio_note {
        info!(session = %label, "audio left out of WebRTC: {note}");
    }
    if let Some(note) = &plan.video_note {
        info!(session = %label, "video left out of WebRTC: {note}");
    }
    let rtc = play::rtc(&webrtc.config, plan.video, Instant::now());
    let n = match negotiate(webrtc, rtc, offer, link, label, hint) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let (registration, response) = match register(webrtc, Kind::Whep, key, id, &n) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let player = play::Player {
        driver: n.driver,
        sub,
        plan,
        webrtc: webrtc.clone(),
        registration,
    };
    tokio::spawn(player.run());
    response
}

#[allow(clippy::too_many_arguments)]
fn create_publisher(
    ctx: &Ctx,
    webrtc: &Arc<WebRtc>,
    key: &str,
    offer: &[u8],
    summary: &sdp::OfferSummary,
    peer: Peer,
    label: String,
    hint: Option<IpAddr>,
) -> Response<Body> {
    if let Err(e) = sdp::check_publish(summary) {
        return sdp_error(&e);
    }
    let (id, link) = (peer.id.unwrap_or(0), peer.link.clone().unwrap_or_default());
    let rtc = publish::rtc(Instant::now());
    let n = match negotiate(webrtc, rtc, offer, link, label, hint) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let publisher = match ctx.hub.publish_with(key, "webrtc", peer) {
        Ok(p) => p,
        Err(HubError::Busy(_)) => {
            return text(
                StatusCode::CONFLICT,
                "the stream is already being published",
            )
        }
        Err(_) => return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
    };
    let (registration, response) = match register(webrtc, Kind::Whip, key, id, &n) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let p = publish::WhipPublisher {
        driver: n.driver,
        publisher,
        webrtc: webrtc.clone(),
        registration,
    };
    tokio::spawn(p.run());
    response
}

async fn patch(
    webrtc: &Arc<WebRtc>,
    kind: Kind,
    key: &str,
    token: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let Some((_, etag, tx)) = webrtc.resource(kind, key, token) else {
        return text(StatusCode::NOT_FOUND, "no such session");
    };
    if !content_type_is(&req, "application/trickle-ice-sdpfrag") {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "PATCH takes Content-Type: application/trickle-ice-sdpfrag",
        );
    }
    if let Some(m) = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if m.trim() != "*" && m.trim() != etag {
            return text(StatusCode::PRECONDITION_FAILED, "ETag does not match");
        }
    }
    let frag = match body(req, webrtc.config.max_sdp_bytes).await {
        Ok(b) => match sdp::parse_fragment(&b) {
            Ok(f) => f,
            Err(e) => return sdp_error(&e),
        },
        Err(r) => return r,
    };
    if !frag.candidates.is_empty() && tx.send(Msg::Candidates(frag.candidates)).await.is_err() {
        return text(StatusCode::NOT_FOUND, "no such session");
    }
    cors(empty(StatusCode::NO_CONTENT))
}
