//! The HTTP players that are not FLV: LL-HLS requests (sessions like HLS's, asked of the
//! authorization hook once) and the live HTTP-TS / HTTP-fMP4 / MJPEG streams (asked of the
//! hook, subscribed like HTTP-FLV).

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::{Response, StatusCode};
use tokio::sync::Notify;

use crate::auth::{Access, AuthRequest};
use crate::core::{HubError, Link, Peer, SubscribeOptions};
use crate::ctx::Ctx;
use crate::egress::hls_clients::{split_query, Lookup, SESSION_PARAM};
use crate::egress::http_media::{self, Format};
use crate::egress::llhls::{self, LlPath};
use crate::net::http::{status, Body};

/// Answers an LL-HLS request from `peer` (sessions as for HLS: the first request opens one,
/// asked of the authorization hook once; URIs in the playlist carry `?session=ID`).
pub(crate) async fn llhls(
    ctx: &Ctx,
    path: LlPath,
    query: Option<String>,
    peer: SocketAddr,
) -> Response<Body> {
    let key = path.key().to_string();
    let (sid, client_query) = split_query(query.as_deref());
    // The query the playlist's URIs carry: the client's own, without delivery directives.
    let client_query = client_query.and_then(|q| weir_hls::strip_directives(&q));
    let mut opened = false;
    let (id, link) = match ctx.ll_clients.lookup(&key, peer, sid) {
        Lookup::Kicked => return status(StatusCode::FORBIDDEN, "session ended\n"),
        Lookup::Known(id, link) => (id, link),
        Lookup::New => {
            let id = ctx.hub.next_id();
            let auth = AuthRequest::new(
                "ll-hls",
                Access::Play,
                key.clone(),
                client_query.clone(),
                peer,
            )
            .with_session(id);
            if !ctx.auth.check(auth).await {
                return status(StatusCode::FORBIDDEN, "forbidden\n");
            }
            opened = true;
            ctx.ll_clients.open(&key, peer, client_query.clone(), id)
        }
    };
    let suffix = match &client_query {
        Some(q) => format!("?{q}&{SESSION_PARAM}={id}"),
        None => format!("?{SESSION_PARAM}={id}"),
    };
    let reply = ctx.llhls.handle(&path, query.as_deref(), &suffix).await;
    let r = llhls::http::reply(reply, &link);
    if opened && r.status() != StatusCode::OK {
        // Nothing to play: a session opened for this request ends with it.
        ctx.ll_clients.close(id);
    }
    r
}

/// Answers `GET`/`HEAD /{app}/{stream}.{ts,mp4,mjpeg}` from `peer`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn media(
    ctx: &Ctx,
    format: Format,
    key: String,
    query: Option<String>,
    head: bool,
    peer: SocketAddr,
    kill: Arc<Notify>,
    link: Arc<Link>,
) -> Response<Body> {
    let protocol = format.protocol();
    let id = ctx.hub.next_id();
    let auth =
        AuthRequest::new(protocol, Access::Play, key.clone(), query.clone(), peer).with_session(id);
    if !ctx.auth.check(auth).await {
        return status(StatusCode::FORBIDDEN, "forbidden\n");
    }
    let opts = format
        .options(SubscribeOptions::new().peer(Peer::new(peer, link).with_query(query).with_id(id)));
    let sub = match ctx.hub.subscribe_with(&key, protocol, opts).await {
        Ok(s) => s,
        Err(HubError::NotFound(_)) => return status(StatusCode::NOT_FOUND, "stream not found\n"),
        Err(_) => return status(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
    };
    if let Some(r) = format.refuse(&sub) {
        return r;
    }
    if head {
        return format.head();
    }
    http_media::response(sub, format, ctx.config.player_stuck_timeout, kill)
}
