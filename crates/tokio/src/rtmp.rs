//! The RTMP server driver: runs a sans-IO [`ServerSession`] per TCP connection and connects
//! publishers and players to the [`Hub`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};
use weir_flv::Metadata;
use weir_rtmp_chunk::{RequestId, ServerEvent, ServerSession, SessionConfig};

use crate::hub::{HubError, Publisher, Subscription, TryNext};
use crate::io::{tune_socket, write_all_bufs};
use crate::server::{Access, AuthRequest, Ctx};

/// Units written per batch before the socket is flushed. In steady state a batch is one
/// or two units; the cap bounds the per-player transmit queue after a burst (GOP replay).
const BATCH_UNITS: usize = 16;
/// Read buffer per connection: players send little after the handshake.
const READ_BUF: usize = 2048;
/// Read buffer of a connection once it plays (it only receives acknowledgements).
const PLAYER_READ_BUF: usize = 512;

pub(crate) async fn serve(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    let ctx = ctx.clone();
                    let shutdown = shutdown.clone();
                    let guard = ctx.tasks.enter();
                    tokio::spawn(async move {
                        let _guard = guard;
                        if let Err(e) = connection(sock, peer, ctx, shutdown).await {
                            debug!(%peer, error = %e, "rtmp connection ended");
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "rtmp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

struct Playing {
    stream_id: u32,
    sub: Subscription,
}

struct Conn {
    session: ServerSession,
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    app: String,
    publishers: Vec<(u32, Publisher)>,
    /// Publishing stream ids that have not sent a video keyframe yet (see
    /// [`is_inter_frame`]), and how many inter frames were dropped before it.
    awaiting_keyframe: Vec<(u32, u64)>,
    player: Option<Playing>,
    out: Vec<Bytes>,
}

#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Rtmp(#[from] weir_rtmp_chunk::Error),
    #[error("player stuck for longer than {0:?}")]
    Stuck(Duration),
}

async fn connection(
    sock: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConnError> {
    tune_socket(&sock, ctx.config.tcp_nodelay, ctx.config.send_buffer_bytes);
    let (mut rd, mut wr) = sock.into_split();
    let mut session_config = SessionConfig {
        chunk_size: ctx.config.rtmp_chunk_size,
        ..SessionConfig::default()
    };
    session_config.limits.max_message_size = ctx.config.max_message_bytes;
    let mut c = Conn {
        session: ServerSession::new(session_config),
        ctx: ctx.clone(),
        peer,
        app: String::new(),
        publishers: Vec::new(),
        awaiting_keyframe: Vec::new(),
        player: None,
        out: Vec::with_capacity(8),
    };
    let mut rbuf = BytesMut::with_capacity(READ_BUF);
    let stuck = ctx.config.player_stuck_timeout;
    let result = loop {
        // Flush whatever the session has to say.
        while let Some(b) = c.session.poll_transmit() {
            c.out.push(b);
        }
        if !c.out.is_empty() {
            match tokio::time::timeout(stuck, write_all_bufs(&mut wr, &mut c.out)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => break Err(e.into()),
                Err(_) => break Err(ConnError::Stuck(stuck)),
            }
            // Keep an idle player small after a burst (GOP replay).
            c.out.shrink_to(16);
        }
        if c.session.is_closed() {
            break Ok(());
        }
        let playing = c.player.is_some();
        tokio::select! {
            read = rd.read_buf(&mut rbuf) => {
                match read {
                    Ok(0) => {
                        c.session.handle_eof();
                        Box::pin(c.events()).await;
                        break Ok(());
                    }
                    Ok(_) => {
                        if let Err(e) = c.session.handle_input(&mut rbuf) {
                            break Err(e.into());
                        }
                        Box::pin(c.events()).await;
                        if c.player.is_some() && rbuf.is_empty() && rbuf.capacity() > PLAYER_READ_BUF {
                            // A player only sends acknowledgements from now on.
                            rbuf = BytesMut::with_capacity(PLAYER_READ_BUF);
                        } else if rbuf.capacity() - rbuf.len() < 256 {
                            rbuf.reserve(if c.player.is_some() { PLAYER_READ_BUF } else { READ_BUF });
                        }
                    }
                    Err(e) => break Err(e.into()),
                }
            }
            unit = next_unit(&mut c.player), if playing => {
                if let Err(e) = c.send_units(unit) {
                    break Err(e);
                }
            }
            _ = shutdown.changed() => {
                if let Some(p) = c.player.as_ref() {
                    let _ = c.session.send_stream_eof(p.stream_id);
                }
                while let Some(b) = c.session.poll_transmit() {
                    c.out.push(b);
                }
                let _ = tokio::time::timeout(Duration::from_millis(500), write_all_bufs(&mut wr, &mut c.out)).await;
                break Ok(());
            }
        }
    };
    if let Err(e) = &result {
        debug!(peer = %c.peer, error = %e, "rtmp connection error");
    }
    result
}

async fn next_unit(player: &mut Option<Playing>) -> Option<Arc<crate::Unit>> {
    match player {
        Some(p) => p.sub.next().await,
        None => std::future::pending().await,
    }
}

impl Conn {
    /// Sends `first` and whatever else is ready, as one batch.
    fn send_units(&mut self, first: Option<Arc<crate::Unit>>) -> Result<(), ConnError> {
        let Some(p) = self.player.as_mut() else {
            return Ok(());
        };
        let chunk_size = self.ctx.config.rtmp_chunk_size;
        let mut next = first;
        let mut n = 0;
        loop {
            match next {
                Some(unit) => {
                    if let Some(msg) = unit.rtmp_message(chunk_size) {
                        self.session
                            .send_prepared(p.stream_id, unit.timestamp(), &msg)?;
                    }
                }
                None => {
                    // The stream ended.
                    let _ = self.session.send_stream_eof(p.stream_id);
                    info!(peer = %self.peer, stream = p.sub.key(), "stream ended; player released");
                    self.player = None;
                    return Ok(());
                }
            }
            n += 1;
            if n >= BATCH_UNITS {
                return Ok(());
            }
            next = match p.sub.try_next() {
                TryNext::Unit(u) => Some(u),
                TryNext::Empty => return Ok(()),
                TryNext::Ended => None,
            };
        }
    }

    async fn events(&mut self) {
        while let Some(ev) = self.session.poll_event() {
            if let Err(e) = self.event(ev).await {
                debug!(peer = %self.peer, error = %e, "rtmp event handling failed");
            }
        }
    }

    async fn event(&mut self, ev: ServerEvent) -> Result<(), weir_rtmp_chunk::Error> {
        match ev {
            ServerEvent::ConnectRequest {
                request,
                app,
                query,
                ..
            } => {
                let auth = AuthRequest {
                    protocol: "rtmp",
                    access: Access::Connect,
                    key: app.clone(),
                    query,
                    peer: self.peer,
                };
                if (self.ctx.auth)(&auth) {
                    self.app = app;
                    self.session.accept_connect(request)
                } else {
                    self.session.reject_connect(request, "connection refused")
                }
            }
            ServerEvent::PublishRequest {
                request,
                stream_id,
                name,
                query,
                publish_type,
            } => self.publish(request, stream_id, name, query, publish_type),
            ServerEvent::PlayRequest {
                request,
                stream_id,
                name,
                query,
                ..
            } => self.play(request, stream_id, name, query).await,
            ServerEvent::Video {
                stream_id,
                timestamp,
                data,
            } => {
                if let Some((_, p)) = self.publishers.iter().find(|(id, _)| *id == stream_id) {
                    // A stream that starts mid-GOP (a restreamer that joined its source
                    // between keyframes): inter frames before the first keyframe cannot
                    // be decoded by anyone; players waiting for the stream would get them.
                    if let Some(i) = self
                        .awaiting_keyframe
                        .iter()
                        .position(|(id, _)| *id == stream_id)
                    {
                        if is_inter_frame(&data) {
                            self.awaiting_keyframe[i].1 += 1;
                            return Ok(());
                        }
                        if is_keyframe(&data) {
                            let (_, dropped) = self.awaiting_keyframe.swap_remove(i);
                            if dropped > 0 {
                                info!(stream = p.key(), dropped, "RTMP publish started mid-GOP: inter frames before the first keyframe dropped");
                            }
                        }
                    }
                    p.video(timestamp, data);
                }
                Ok(())
            }
            ServerEvent::Audio {
                stream_id,
                timestamp,
                data,
            } => {
                if let Some((_, p)) = self.publishers.iter().find(|(id, _)| *id == stream_id) {
                    p.audio(timestamp, data);
                }
                Ok(())
            }
            ServerEvent::Metadata {
                stream_id,
                metadata,
                ..
            } => {
                if let Some((_, p)) = self.publishers.iter().find(|(id, _)| *id == stream_id) {
                    if let Some(md) = Metadata::from_amf(&metadata) {
                        let video = md.get("videocodecid").is_some();
                        let audio = md.get("audiocodecid").is_some();
                        match md.to_script_body() {
                            Ok(body) => p.metadata(body, video, audio),
                            Err(e) => debug!(error = %e, "metadata not re-encodable"),
                        }
                    }
                }
                Ok(())
            }
            ServerEvent::Unpublished { stream_id, name } => {
                self.publishers.retain(|(id, _)| *id != stream_id);
                self.awaiting_keyframe.retain(|(id, _)| *id != stream_id);
                debug!(peer = %self.peer, stream = name, "unpublished");
                Ok(())
            }
            ServerEvent::PlayStopped { stream_id, .. } => {
                if self
                    .player
                    .as_ref()
                    .is_some_and(|p| p.stream_id == stream_id)
                {
                    self.player = None;
                }
                Ok(())
            }
            ServerEvent::Closed => {
                self.publishers.clear();
                self.awaiting_keyframe.clear();
                self.player = None;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn publish(
        &mut self,
        request: RequestId,
        stream_id: u32,
        name: String,
        query: Option<String>,
        publish_type: String,
    ) -> Result<(), weir_rtmp_chunk::Error> {
        let key = format!("{}/{}", self.app, name);
        let auth = AuthRequest {
            protocol: "rtmp",
            access: Access::Publish,
            key: key.clone(),
            query,
            peer: self.peer,
        };
        if name.is_empty() || !(self.ctx.auth)(&auth) {
            return self.session.reject_publish(
                request,
                "NetStream.Publish.Unauthorized",
                "publishing refused",
            );
        }
        if publish_type != "live" {
            debug!(
                stream = key,
                publish_type, "non-live publish type served as live"
            );
        }
        match self.ctx.hub.publish(&key, "rtmp") {
            Ok(p) => {
                self.publishers.push((stream_id, p));
                self.awaiting_keyframe.retain(|(id, _)| *id != stream_id);
                self.awaiting_keyframe.push((stream_id, 0));
                self.session.accept_publish(request)
            }
            Err(HubError::Busy(_)) => {
                info!(peer = %self.peer, stream = key, "publish refused: name busy");
                self.session.reject_publish(
                    request,
                    "NetStream.Publish.BadName",
                    "stream is already being published",
                )
            }
            Err(e) => {
                self.session
                    .reject_publish(request, "NetStream.Publish.Failed", &e.to_string())
            }
        }
    }

    async fn play(
        &mut self,
        request: RequestId,
        stream_id: u32,
        name: String,
        query: Option<String>,
    ) -> Result<(), weir_rtmp_chunk::Error> {
        let key = format!("{}/{}", self.app, name);
        let auth = AuthRequest {
            protocol: "rtmp",
            access: Access::Play,
            key: key.clone(),
            query,
            peer: self.peer,
        };
        if !(self.ctx.auth)(&auth) {
            return self
                .session
                .reject_play(request, "NetStream.Play.Failed", "playing refused");
        }
        match self.ctx.hub.subscribe(&key, "rtmp").await {
            Ok(sub) => {
                self.session.accept_play(request)?;
                self.player = Some(Playing { stream_id, sub });
                Ok(())
            }
            Err(HubError::NotFound(_)) => {
                self.session
                    .reject_play(request, "NetStream.Play.StreamNotFound", "no such stream")
            }
            Err(e) => self
                .session
                .reject_play(request, "NetStream.Play.Failed", &e.to_string()),
        }
    }
}

/// Whether an FLV video tag body (legacy or enhanced RTMP) carries coded picture data, not
/// a sequence header, end of sequence or metadata.
fn is_coded_frame(data: &[u8]) -> bool {
    let Some(&b0) = data.first() else {
        return false;
    };
    if b0 & 0x80 != 0 {
        // Enhanced RTMP: VideoPacketType in the low nibble (1 CodedFrames, 3 CodedFramesX,
        // 6 Multitrack).
        matches!(b0 & 0x0F, 1 | 3 | 6)
    } else if matches!(b0 & 0x0F, 7 | 12 | 13) {
        // Legacy AVC (and HEVC/AV1 under the non-standard ids 12/13): AVCPacketType 1.
        data.get(1) == Some(&1)
    } else {
        true
    }
}

/// An inter frame (FLV frame type 2 or 3: needs earlier pictures to decode).
fn is_inter_frame(data: &[u8]) -> bool {
    data.first()
        .is_some_and(|b| matches!((b >> 4) & 0x07, 2 | 3))
        && is_coded_frame(data)
}

/// A keyframe with picture data (frame type 1, not a sequence header).
fn is_keyframe(data: &[u8]) -> bool {
    data.first().is_some_and(|b| (b >> 4) & 0x07 == 1) && is_coded_frame(data)
}

#[cfg(test)]
mod tests {
    use super::{is_inter_frame, is_keyframe};

    #[test]
    fn video_frame_kinds() {
        assert!(is_keyframe(&[0x17, 1, 0, 0, 0]));
        assert!(!is_keyframe(&[0x17, 0, 0, 0, 0]), "AVC sequence header");
        assert!(is_inter_frame(&[0x27, 1, 0, 0, 0]));
        assert!(!is_inter_frame(&[0x27, 0]));
        // Enhanced RTMP: IsExHeader | frame type | packet type, then the FourCC.
        assert!(is_keyframe(&[0x80 | 0x10 | 3, b'h', b'v', b'c', b'1']));
        assert!(
            !is_keyframe(&[0x80 | 0x10, b'h', b'v', b'c', b'1']),
            "SequenceStart"
        );
        assert!(is_inter_frame(&[
            0x80 | 0x20 | 1,
            b'h',
            b'v',
            b'c',
            b'1',
            0,
            0,
            0
        ]));
        assert!(!is_inter_frame(&[]) && !is_keyframe(&[]));
    }

    use super::*;

    /// The connection task is most of what a player costs in memory: keep its future small
    /// (large, rare sub-futures — request handling — are boxed; write buffers live only
    /// inside a poll).
    #[tokio::test]
    async fn connection_future_is_small() {
        let relay = crate::Relay::new(crate::RelayConfig::loopback_ephemeral())
            .bind()
            .await
            .unwrap();
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (sock, peer) = l.accept().await.unwrap();
        let (_tx, rx) = watch::channel(false);
        let fut = connection(sock, peer, relay.ctx.clone(), rx);
        let size = std::mem::size_of_val(&fut);
        drop((fut, client));
        eprintln!("RTMP connection future: {size} bytes");
        assert!(size <= 1536, "RTMP connection future is {size} bytes");
    }
}
