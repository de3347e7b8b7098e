//! The RTSP connection's VOD requests (`rtsp://HOST/vod/{root}/{path}`): a child of
//! `conn::rtsp` (it works on the connection's own state), handing the playing to
//! [`VodRtspPlayer`].

use bytes::Bytes;
use tracing::debug;
use weir_rtsp_proto::headers::TransportSpec;
use weir_rtsp_proto::{Request, RequestId};

use super::{key_of, split_control, Conn};
use crate::auth::{Access, AuthRequest};
use crate::core::{Peer, Role};
use crate::egress::vod::rtsp::{unsupported_scale, VodRtspPlayer};
use crate::egress::vod::{AsyncMedia, VodError};

/// The key prefix of VOD presentations.
pub(super) const PREFIX: &str = "vod/";

impl Conn {
    /// Opens `key` (`vod/{root}/{path}`) for this connection after the authorization hook
    /// and the `vod` app's Digest credentials; the RTSP status on failure.
    async fn open_vod(&mut self, id: RequestId, req: &Request, key: &str) -> Result<(), u16> {
        if self.vod.as_ref().is_some_and(|v| v.key() == key) {
            return Ok(());
        }
        let query = key_of(&req.uri).and_then(|k| k.1);
        let sid = self.ctx.hub.next_id();
        let auth = AuthRequest::new("vod-rtsp", Access::Play, key, query.clone(), self.peer)
            .with_session(sid);
        if !self.ctx.auth.check(auth).await {
            return Err(403);
        }
        if !self.digest_ok(id, req, key, Access::Play) {
            return Err(0);
        }
        let rel = key.strip_prefix(PREFIX).unwrap_or_default().to_string();
        let vod = self.ctx.vod.clone();
        let path = match tokio::task::spawn_blocking(move || vod.resolve(&rel)).await {
            Ok(Ok(p)) => p,
            Ok(Err(VodError::Forbidden)) => return Err(403),
            _ => return Err(404),
        };
        let media = match AsyncMedia::open(&self.ctx.vod, path).await {
            Ok(m) => m,
            Err(e) => {
                debug!(peer = %self.peer, file = key, error = %e, "vod rtsp: not playable");
                return Err(415);
            }
        };
        let mut player = VodRtspPlayer::new(key.to_string(), media);
        if player.track_count() == 0 {
            return Err(415);
        }
        // Listed like a live player, on this connection's link (a kick closes it).
        let peer = Peer::new(self.peer, self.link.clone())
            .with_id(sid)
            .with_query(query);
        player.set_session(
            self.ctx
                .hub
                .register_session("vod-rtsp", Role::Player, key, peer),
        );
        self.vod = Some(Box::new(player));
        Ok(())
    }

    fn reject_vod(&mut self, id: RequestId, status: u16) -> Result<(), weir_rtsp_proto::Error> {
        match status {
            // A Digest challenge was sent already.
            0 => Ok(()),
            s => self.session.reject(id, s),
        }
    }

    pub(super) async fn describe_vod(
        &mut self,
        id: RequestId,
        req: &Request,
        key: &str,
    ) -> Result<(), weir_rtsp_proto::Error> {
        if let Err(s) = self.open_vod(id, req, key).await {
            return self.reject_vod(id, s);
        }
        let Some(v) = self.vod.as_ref() else {
            return self.session.reject(id, 404);
        };
        let sdp = v.sdp(self.local_ip);
        let base = format!("{}/", req.uri.trim_end_matches('/'));
        self.session
            .respond_describe(id, Bytes::from(sdp), Some(&base))
    }

    pub(super) async fn setup_vod(
        &mut self,
        id: RequestId,
        req: &Request,
        transports: &[TransportSpec],
    ) -> Result<(), weir_rtsp_proto::Error> {
        let Some((key, control)) = split_control(&req.uri) else {
            return self.session.reject(id, 404);
        };
        if let Err(s) = self.open_vod(id, req, &key).await {
            return self.reject_vod(id, s);
        }
        let count = self.vod.as_ref().map_or(0, |v| v.track_count());
        let idx = control
            .strip_prefix("trackID=")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| i < count);
        let Some(idx) = idx else {
            return self.session.reject(id, 404);
        };
        let Some((mut spec, transport)) = self.choose_transport(idx, transports, false).await
        else {
            return self.session.reject(id, 461);
        };
        spec.ssrc = self
            .vod
            .as_mut()
            .and_then(|v| v.set_transport(idx, transport));
        self.session.accept_setup(id, &spec)
    }

    pub(super) async fn play_vod(
        &mut self,
        id: RequestId,
        req: &Request,
    ) -> Result<(), weir_rtsp_proto::Error> {
        if unsupported_scale(req.headers.get("Scale")).is_some() {
            // Header Field Not Valid for Resource: only real-time playback.
            return self.session.reject(id, 456);
        }
        let range = match req.headers.range() {
            Some(Ok(r)) => Some(r),
            Some(Err(_)) => return self.session.reject(id, 457),
            None => None,
        };
        let base = format!("{}/", req.uri.trim_end_matches('/'));
        let Some(v) = self.vod.as_mut().filter(|v| v.has_transport()) else {
            return self.session.reject(id, 455);
        };
        match v.play(range.as_ref(), &base).await {
            Ok((range, info)) => self.session.accept_play(id, Some(&range), &info),
            Err(e) => {
                debug!(peer = %self.peer, error = %e, "vod rtsp: PLAY failed");
                self.session.reject(id, 500)
            }
        }
    }
}

/// Whether a request URL names a VOD presentation.
pub(super) fn is_vod(uri: &str) -> bool {
    key_of(uri).is_some_and(|(k, _)| k.starts_with(PREFIX))
}
