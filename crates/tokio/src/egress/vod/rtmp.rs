//! RTMP VOD: `rtmp://HOST/vod/{root}/{path}` (app `vod`) plays a file in real time —
//! `onMetaData` with the duration, the tracks' sequence headers, then the frames — with
//! `play` start positions, `seek` (to the keyframe at or before) and `pause`/resume.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;
use weir_media::{Frame, MediaKind, Timebase, Timestamp, TrackInfo};
use weir_rtmp_chunk::ServerSession;

use super::pace::{media_time, Pacer};
use super::AsyncMedia;
use crate::core::{MetaValue, StreamMetadata, Unit};
use crate::format::flv;

/// Frames sent per wake-up at most.
const BATCH: usize = 32;
/// How far ahead of real time frames go out (the player's buffer).
const LEAD: Duration = Duration::from_millis(500);

/// The stream name of an RTMP VOD play → the path under `/vod/` (ffmpeg and Flash prefix
/// MP4 names with `mp4:`; ffmpeg drops a `.flv` extension, so `None`-extension names are
/// tried with `.flv` too by the caller).
pub(crate) fn vod_path(name: &str) -> String {
    let n = name.trim_start_matches('/');
    n.strip_prefix("mp4:")
        .or_else(|| n.strip_prefix("flv:"))
        .unwrap_or(n)
        .to_string()
}

/// A file playing on one RTMP message stream.
pub(crate) struct VodRtmpPlayer {
    /// The message stream it plays on.
    pub(crate) stream_id: u32,
    media: AsyncMedia,
    tracks: Vec<Arc<TrackInfo>>,
    pacer: Pacer,
    paused: bool,
    /// Headers (metadata, sequence headers) still to send.
    headers: bool,
    due: Vec<Frame>,
    ended: bool,
    /// Added to every timestamp (see [`super::lead_in`]).
    shift: Duration,
    /// Its entry in the session list (`vod-rtmp`), while it plays.
    session: Option<crate::core::SessionHandle>,
}

impl VodRtmpPlayer {
    /// Lists the player as `session` (the API lists it; kicking it closes the connection)
    /// until the player is dropped.
    pub(crate) fn set_session(&mut self, session: crate::core::SessionHandle) {
        self.session = Some(session);
    }

    pub(crate) fn new(stream_id: u32, media: AsyncMedia) -> VodRtmpPlayer {
        let tracks = media.tracks().iter().cloned().map(Arc::new).collect();
        VodRtmpPlayer {
            stream_id,
            media,
            tracks,
            pacer: Pacer::new(LEAD),
            paused: false,
            headers: true,
            due: Vec::new(),
            ended: false,
            shift: Duration::ZERO,
            session: None,
        }
    }

    /// Finds the timestamp shift; call before the first seek.
    pub(crate) async fn prime(&mut self) {
        self.shift = super::lead_in(&mut self.media).await;
    }

    /// Moves to the keyframe at or before `t` (play start, `seek`).
    pub(crate) async fn seek(&mut self, t: Duration) {
        if let Err(e) = self.media.seek(t).await {
            debug!(error = %e, "vod rtmp: seek failed");
        }
        self.pacer.reset();
        self.due.clear();
        self.ended = false;
        // Players flush their buffers on seek: send the sequence headers again.
        self.headers = true;
    }

    /// `pause` (true) or resume (false).
    pub(crate) fn pause(&mut self, pause: bool) {
        let now = Instant::now();
        if pause && !self.paused {
            self.pacer.pause(now);
        } else if !pause && self.paused {
            self.pacer.resume(now);
        }
        self.paused = pause;
    }

    /// Waits for frames that are due (cancel-safe); false at the end of the file (once).
    pub(crate) async fn ready(&mut self) -> bool {
        if self.paused {
            return std::future::pending().await;
        }
        if self.headers || !self.due.is_empty() {
            return true;
        }
        if self.ended {
            return std::future::pending().await;
        }
        let next = match self.media.peek().await {
            Ok(Some(f)) => media_time(f.dts),
            _ => {
                self.ended = true;
                return false;
            }
        };
        tokio::time::sleep_until(self.pacer.due(next, Instant::now())).await;
        let now = Instant::now();
        while self.due.len() < BATCH {
            let due = match self.media.peek().await {
                Ok(Some(f)) => self.pacer.due(media_time(f.dts), now) <= now,
                _ => false,
            };
            if !due {
                break;
            }
            match self.media.next().await {
                Ok(Some(f)) => self.due.push(f),
                _ => break,
            }
        }
        true
    }

    fn metadata(&self) -> StreamMetadata {
        let mut p = Vec::new();
        if let Some(d) = self.media.duration() {
            p.push(("duration".to_string(), MetaValue::Number(d.as_secs_f64())));
        }
        for t in &self.tracks {
            if let (MediaKind::Video, Some(v)) = (t.codec.kind(), t.video) {
                p.push(("width".to_string(), MetaValue::Number(f64::from(v.width))));
                p.push(("height".to_string(), MetaValue::Number(f64::from(v.height))));
            }
        }
        StreamMetadata { properties: p }
    }

    /// Queues what [`VodRtmpPlayer::ready`] found; at the end of the file, end of stream
    /// (returns false).
    pub(crate) fn send(
        &mut self,
        session: &mut ServerSession,
        chunk_size: u32,
        more: bool,
    ) -> Result<bool, weir_rtmp_chunk::Error> {
        let send = |session: &mut ServerSession, u: &Unit| match flv::rtmp_message(u, chunk_size) {
            Some(msg) => session.send_prepared(self.stream_id, flv::timestamp(u), &msg),
            None => Ok(()),
        };
        if self.headers {
            self.headers = false;
            let t0 = self
                .due
                .first()
                .map_or(Timestamp::new(0, Timebase::MILLIS), |f| {
                    super::shifted(f.clone(), self.shift).dts
                });
            send(session, &Unit::metadata(Arc::new(self.metadata()), t0))?;
            for t in &self.tracks {
                send(session, &Unit::config(t.clone(), t0))?;
            }
        }
        for f in self.due.drain(..) {
            let Some(t) = self.tracks.iter().find(|t| t.id == f.track) else {
                continue;
            };
            let u = Unit::frame(t.clone(), super::shifted(f, self.shift));
            send(session, &u)?;
        }
        if !more {
            let _ = session.send_stream_eof(self.stream_id);
            return Ok(false);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stream_names() {
        assert_eq!(super::vod_path("mp4:media/clip.mp4"), "media/clip.mp4");
        assert_eq!(super::vod_path("media/clip"), "media/clip");
        assert_eq!(super::vod_path("/rec/live/a/x.mp4"), "rec/live/a/x.mp4");
    }
}
