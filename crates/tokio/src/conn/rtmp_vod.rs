//! The RTMP connection's VOD plays (app `vod`: `rtmp://HOST/vod/{root}/{path}`), a child of
//! `conn::rtmp` working on the connection's state; the playing is [`VodRtmpPlayer`]'s.

use std::time::Duration;

use tracing::debug;
use weir_rtmp_chunk::RequestId;

use super::Conn;
use crate::auth::{Access, AuthRequest};
use crate::core::{Peer, Role};
use crate::egress::vod::rtmp::{vod_path, VodRtmpPlayer};
use crate::egress::vod::{AsyncMedia, VodError};

/// The RTMP app of VOD plays: `vod`, or `vod/{root}` (ffmpeg splits
/// `rtmp://HOST/vod/media/clip.mp4` into app `vod/media` and name `mp4:clip.mp4`).
pub(super) fn is_vod_app(app: &str) -> bool {
    app == "vod" || app.starts_with("vod/")
}

impl Conn {
    pub(super) async fn play_vod(
        &mut self,
        request: RequestId,
        stream_id: u32,
        name: String,
        query: Option<String>,
        start: f64,
    ) -> Result<(), weir_rtmp_chunk::Error> {
        let rel = match self.app.strip_prefix("vod/") {
            Some(root) => format!("{}/{}", root.trim_matches('/'), vod_path(&name)),
            None => vod_path(&name),
        };
        let key = format!("vod/{rel}");
        let id = self.ctx.hub.next_id();
        let req = AuthRequest::new(
            "vod-rtmp",
            Access::Play,
            key.clone(),
            query.clone(),
            self.peer,
        )
        .with_session(id);
        if !self.ctx.auth.check(req).await {
            return self
                .session
                .reject_play(request, "NetStream.Play.Failed", "playing refused");
        }
        let vod = self.ctx.vod.clone();
        let found = tokio::task::spawn_blocking(move || match vod.resolve(&rel) {
            // ffmpeg drops `.flv` from the stream name.
            Err(VodError::NotFound) if !rel.rsplit('/').next().unwrap_or("").contains('.') => {
                vod.resolve(&format!("{rel}.flv"))
            }
            r => r,
        })
        .await;
        let path = match found {
            Ok(Ok(p)) => p,
            Ok(Err(VodError::Forbidden)) => {
                return self
                    .session
                    .reject_play(request, "NetStream.Play.Failed", "forbidden")
            }
            _ => {
                return self.session.reject_play(
                    request,
                    "NetStream.Play.StreamNotFound",
                    "no such file",
                )
            }
        };
        let media = match AsyncMedia::open(&self.ctx.vod, path).await {
            Ok(m) => m,
            Err(e) => {
                debug!(peer = %self.peer, file = key, error = %e, "vod rtmp: not playable");
                return self.session.reject_play(
                    request,
                    "NetStream.Play.StreamNotFound",
                    "not a playable file",
                );
            }
        };
        self.session.accept_play(request)?;
        let mut player = VodRtmpPlayer::new(stream_id, media);
        // Listed like a live player, on this connection's link (a kick closes it).
        let peer = Peer::new(self.peer, self.link.clone())
            .with_id(id)
            .with_query(query);
        player.set_session(
            self.ctx
                .hub
                .register_session("vod-rtmp", Role::Player, &key, peer),
        );
        player.prime().await;
        if start > 0.0 && start.is_finite() {
            player.seek(Duration::from_secs_f64(start)).await;
        }
        self.vod = Some(Box::new(player));
        Ok(())
    }

    pub(super) async fn vod_seek(&mut self, stream_id: u32, ms: f64) {
        if let Some(v) = self.vod.as_mut().filter(|v| v.stream_id == stream_id) {
            let t = if ms.is_finite() && ms > 0.0 {
                ms / 1000.0
            } else {
                0.0
            };
            v.seek(Duration::from_secs_f64(t)).await;
        }
    }

    pub(super) fn vod_pause(&mut self, stream_id: u32, pause: bool) {
        if let Some(v) = self.vod.as_mut().filter(|v| v.stream_id == stream_id) {
            v.pause(pause);
        }
    }
}
