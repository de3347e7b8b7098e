//! The RTMP connection: runs a sans-IO [`ServerSession`] over a TCP connection, asks the
//! authorization hook, and hands publishes to [`FlvPublisher`] (ingest) and plays to
//! [`RtmpPlayer`] (egress).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info};
use weir_flv::Metadata;
use weir_rtmp_chunk::{RequestId, ServerEvent, ServerSession, SessionConfig};

use crate::auth::{Access, AuthRequest};
use crate::core::{HubError, Link, Peer, SubscribeOptions};
use crate::ctx::Ctx;
use crate::egress::rtmp::RtmpPlayer;
use crate::ingest::FlvPublisher;
use crate::net::{accept_loop, random_u64, tune_socket, SharedOut, WriteError};

#[cfg(feature = "record")]
#[path = "rtmp_vod.rs"]
mod vod;

/// Room made in the read buffer before each read (the handshake's packets are 1,537 bytes).
const READ_BUF: usize = 2048;
/// Room made before each read of a connection that plays (it only sends acknowledgements,
/// a few a minute): its buffer is allocated when data arrives and freed once handled, so
/// a waiting player holds none.
const PLAYER_READ_BUF: usize = 256;

pub(crate) async fn serve(listener: TcpListener, ctx: Arc<Ctx>, shutdown: watch::Receiver<bool>) {
    let tasks = ctx.tasks.clone();
    accept_loop(
        listener,
        "rtmp",
        tasks,
        shutdown,
        // The connection's future itself is the task (it logs how it ended): a wrapping
        // `async` block would keep the arguments a second time beside it.
        move |sock, peer, stop| connection(sock, peer, ctx.clone(), stop),
    )
    .await;
}

struct Conn {
    session: ServerSession,
    ctx: Arc<Ctx>,
    peer: SocketAddr,
    app: String,
    /// Publishing message streams.
    publishers: Vec<(u32, FlvPublisher)>,
    player: Option<RtmpPlayer>,
    /// A file played (app `vod`).
    vod: VodSlot,
    out: Vec<Bytes>,
    /// The socket's output, shared with the publishing task of a played stream.
    shared: Arc<SharedOut>,
    /// The connection's kick signal and byte counters, shared by its sessions.
    link: Arc<Link>,
}

#[cfg(feature = "record")]
type VodSlot = Option<Box<crate::egress::vod::rtmp::VodRtmpPlayer>>;
#[cfg(not(feature = "record"))]
type VodSlot = ();

#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Rtmp(#[from] weir_rtmp_chunk::Error),
    #[error("player stuck for longer than {0:?}")]
    Stuck(Duration),
}

/// A plain function returning the connection's future: an `async fn` would keep its
/// arguments twice in the future (as captured and as moved locals), and the future is
/// most of what an idle player costs.
fn connection(
    sock: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send {
    tune_socket(&sock, ctx.config.tcp_nodelay, ctx.config.send_buffer_bytes);
    let shared = Arc::new(SharedOut::new(sock));
    let mut session_config = SessionConfig {
        chunk_size: ctx.config.rtmp.chunk_size,
        ..SessionConfig::default()
    };
    session_config.limits.max_message_size = ctx.config.rtmp.max_message_bytes;
    // The handshake's random bytes (the session is sans-IO: randomness comes from here).
    session_config.handshake.seed = random_u64();
    let chunk_size = ctx.config.rtmp.chunk_size;
    let mut c = Conn {
        session: ServerSession::new(session_config),
        ctx,
        peer,
        app: String::new(),
        publishers: Vec::new(),
        player: None,
        vod: VodSlot::default(),
        out: Vec::new(),
        shared,
        link: Link::new(),
    };
    let mut rbuf = BytesMut::new();
    async move {
        let result = loop {
            // Flush whatever the session has to say.
            while let Some(b) = c.session.poll_transmit() {
                c.out.push(b);
            }
            // Writes the session's messages and the player's queued media (if any).
            if let Err(e) = c.flush().await {
                break Err(e);
            }
            if c.player.as_mut().is_some_and(RtmpPlayer::first_batch_sent) {
                // The keyframe is out: let the players that joined with this one get
                // theirs before this one replays the rest of the GOP.
                tokio::task::yield_now().await;
            }
            if let Some(p) = c.player.as_mut() {
                // Keep a waiting player small: its session says little from now on.
                if c.out.is_empty() {
                    c.out = Vec::new();
                }
                c.session.shrink_to_fit();
                p.try_direct();
            }
            if c.session.is_closed() {
                break Ok(());
            }
            let playing = c.player.is_some();
            let vod_playing = vod_active(&c.vod);
            tokio::select! {
                read = c.shared.read_buf(&mut rbuf, if playing { PLAYER_READ_BUF } else { READ_BUF }) => {
                    match read {
                        Ok(0) => {
                            c.session.handle_eof();
                            Box::pin(c.events()).await;
                            break Ok(());
                        }
                        Ok(n) => {
                            c.link.add_in(n);
                            if let Err(e) = c.session.handle_input(&mut rbuf) {
                                break Err(e.into());
                            }
                            // The units of one read are one publish batch: players wake once.
                            let batches: Vec<_> = c.publishers.iter().map(|(_, p)| p.publisher().batch()).collect();
                            Box::pin(c.events()).await;
                            drop(batches);
                            if c.player.is_some() && rbuf.is_empty() {
                                // A player waits with no read buffer.
                                rbuf = BytesMut::new();
                            }
                        }
                        Err(e) => break Err(e.into()),
                    }
                }
                () = ready(&mut c.player), if playing => {
                    if let Some(p) = c.player.as_mut() {
                        match p.send(&mut c.session, chunk_size, &c.link) {
                            Ok(true) => {}
                            Ok(false) => c.player = None,
                            Err(e) => break Err(e.into()),
                        }
                    }
                }
                more = vod_ready(&mut c.vod), if vod_playing => {
                    if let Err(e) = vod_send(&mut c, chunk_size, more) {
                        break Err(e.into());
                    }
                }
                () = std::future::poll_fn(|cx| c.link.poll_kicked(cx)) => {
                    info!(peer = %c.peer, "rtmp connection kicked");
                    break Ok(());
                }
                _ = shutdown.changed() => {
                    if let Some(p) = c.player.as_ref() {
                        let _ = c.session.send_stream_eof(p.stream_id);
                    }
                    while let Some(b) = c.session.poll_transmit() {
                        c.out.push(b);
                    }
                    let _ = c.shared.write_all(&mut c.out, Duration::from_millis(500)).await;
                    break Ok(());
                }
            }
        };
        if let Err(e) = &result {
            debug!(peer = %c.peer, error = %e, "rtmp connection ended");
        }
    }
}

fn vod_active(slot: &VodSlot) -> bool {
    #[cfg(feature = "record")]
    return slot.is_some();
    #[cfg(not(feature = "record"))]
    {
        let _ = slot;
        false
    }
}

/// Waits for the VOD file's next frames (boxed: a rare, large future).
async fn vod_ready(slot: &mut VodSlot) -> bool {
    #[cfg(feature = "record")]
    if let Some(v) = slot.as_mut() {
        return Box::pin(v.ready()).await;
    }
    let _ = slot;
    std::future::pending().await
}

fn vod_send(c: &mut Conn, chunk_size: u32, more: bool) -> Result<(), weir_rtmp_chunk::Error> {
    #[cfg(feature = "record")]
    if let Some(v) = c.vod.as_mut() {
        v.send(&mut c.session, chunk_size, more)?;
    }
    let _ = (c, chunk_size, more);
    Ok(())
}

async fn ready(player: &mut Option<RtmpPlayer>) {
    match player {
        Some(p) => p.ready().await,
        None => std::future::pending().await,
    }
}

impl Conn {
    /// Writes what is queued within the stuck-player timeout (counted on the link).
    async fn flush(&mut self) -> Result<(), ConnError> {
        let stuck = self.ctx.config.player_stuck_timeout;
        match self.shared.write_all(&mut self.out, stuck).await {
            Ok(n) => {
                self.link.add_out(n);
                Ok(())
            }
            Err(WriteError::Io(e)) => Err(e.into()),
            Err(WriteError::Stuck) => {
                self.ctx
                    .hub
                    .counters()
                    .players_stuck
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(ConnError::Stuck(stuck))
            }
        }
    }

    async fn events(&mut self) {
        while let Some(ev) = self.session.poll_event() {
            if let Err(e) = self.event(ev).await {
                debug!(peer = %self.peer, error = %e, "rtmp event handling failed");
            }
        }
    }

    fn publisher(&mut self, stream_id: u32) -> Option<&mut FlvPublisher> {
        self.publishers
            .iter_mut()
            .find(|(id, _)| *id == stream_id)
            .map(|(_, p)| p)
    }

    async fn event(&mut self, ev: ServerEvent) -> Result<(), weir_rtmp_chunk::Error> {
        match ev {
            ServerEvent::ConnectRequest {
                request,
                app,
                query,
                ..
            } => {
                let req = AuthRequest::new("rtmp", Access::Connect, app.clone(), query, self.peer);
                if self.ctx.auth.check(req).await {
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
            } => {
                self.publish(request, stream_id, name, query, publish_type)
                    .await
            }
            #[cfg(feature = "record")]
            ServerEvent::PlayRequest {
                request,
                stream_id,
                name,
                query,
                start,
                ..
            } if vod::is_vod_app(&self.app) => {
                Box::pin(self.play_vod(request, stream_id, name, query, start)).await
            }
            ServerEvent::PlayRequest {
                request,
                stream_id,
                name,
                query,
                ..
            } => self.play(request, stream_id, name, query).await,
            #[cfg(feature = "record")]
            ServerEvent::Seek { stream_id, ms } => {
                Box::pin(self.vod_seek(stream_id, ms)).await;
                Ok(())
            }
            #[cfg(feature = "record")]
            ServerEvent::Pause {
                stream_id, pause, ..
            } => {
                self.vod_pause(stream_id, pause);
                Ok(())
            }
            ServerEvent::Video {
                stream_id,
                timestamp,
                data,
            } => {
                if let Some(p) = self.publisher(stream_id) {
                    p.video(timestamp, data);
                }
                Ok(())
            }
            ServerEvent::Audio {
                stream_id,
                timestamp,
                data,
            } => {
                if let Some(p) = self.publisher(stream_id) {
                    p.audio(timestamp, data);
                }
                Ok(())
            }
            ServerEvent::Metadata {
                stream_id,
                metadata,
                ..
            } => {
                if let Some(md) = Metadata::from_amf(&metadata) {
                    if let Some(p) = self.publisher(stream_id) {
                        p.metadata(&md);
                    }
                }
                Ok(())
            }
            ServerEvent::Unpublished { stream_id, name } => {
                self.publishers.retain(|(id, _)| *id != stream_id);
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
                #[cfg(feature = "record")]
                if self.vod.as_ref().is_some_and(|v| v.stream_id == stream_id) {
                    self.vod = None;
                }
                Ok(())
            }
            ServerEvent::Closed => {
                self.publishers.clear();
                self.player = None;
                self.vod = VodSlot::default();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn publish(
        &mut self,
        request: RequestId,
        stream_id: u32,
        name: String,
        query: Option<String>,
        publish_type: String,
    ) -> Result<(), weir_rtmp_chunk::Error> {
        let key = format!("{}/{}", self.app, name);
        let id = self.ctx.hub.next_id();
        let req = AuthRequest::new(
            "rtmp",
            Access::Publish,
            key.clone(),
            query.clone(),
            self.peer,
        )
        .with_session(id);
        if name.is_empty() || !self.ctx.auth.check(req).await {
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
        let peer = Peer::new(self.peer, self.link.clone())
            .with_query(query)
            .with_id(id);
        match self.ctx.hub.publish_with(&key, "rtmp", peer) {
            Ok(p) => {
                self.publishers.retain(|(id, _)| *id != stream_id);
                self.publishers.push((stream_id, FlvPublisher::new(p)));
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
        let id = self.ctx.hub.next_id();
        let req = AuthRequest::new("rtmp", Access::Play, key.clone(), query.clone(), self.peer)
            .with_session(id);
        if !self.ctx.auth.check(req).await {
            return self
                .session
                .reject_play(request, "NetStream.Play.Failed", "playing refused");
        }
        let opts =
            SubscribeOptions::new().peer(Peer::new(self.peer, self.link.clone()).with_query(query));
        match self.ctx.hub.subscribe_with(&key, "rtmp", opts).await {
            Ok(sub) => {
                self.session.accept_play(request)?;
                self.player = Some(RtmpPlayer::new(
                    stream_id,
                    sub,
                    self.shared.clone(),
                    self.ctx.config.rtmp.chunk_size,
                    self.link.clone(),
                ));
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

#[cfg(test)]
mod tests {
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
        assert!(size <= 1280, "RTMP connection future is {size} bytes");
    }
}
#[cfg(test)]
mod tmp_sizes {
    #[test]
    fn sizes() {
        use std::mem::size_of;
        eprintln!("Conn {}", size_of::<super::Conn>());
        eprintln!(
            "ServerSession {}",
            size_of::<weir_rtmp_chunk::ServerSession>()
        );
        eprintln!(
            "RtmpPlayer {}",
            size_of::<crate::egress::rtmp::RtmpPlayer>()
        );
        eprintln!("Subscription {}", size_of::<crate::core::Subscription>());
        eprintln!("SharedOut {}", size_of::<crate::net::SharedOut>());
        eprintln!("Link {}", size_of::<crate::core::Link>());
        eprintln!("TcpStream {}", size_of::<tokio::net::TcpStream>());
    }
}
