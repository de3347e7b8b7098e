//! GB/T 28181 media ingest: RTP carrying an MPEG program stream, over UDP and over TCP
//! with RFC 4571 framing (passive mode: the device connects to us).
//!
//! Every SSRC is one stream, published as `rtp/XXXXXXXX` (the SSRC in 8 uppercase hex
//! digits, as ZLMediaKit names them). UDP packets go through a jitter buffer (reordering,
//! loss → the damaged frame is flagged and the stream recovers at the next keyframe); the
//! PS bytes of each frame are reassembled (`weir_rtp_rtcp::payload::ps`) and demuxed
//! (`weir_ps`) into canonical frames. A stream that receives nothing for the idle timeout
//! ends.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use weir_jitter::{Config as JitterConfig, JitterBuffer, Output};
use weir_ps::{Event as PsEvent, PsDemuxer};
use weir_rtp_rtcp::payload::ps::PsDepacketizer;
use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig};
use weir_rtp_rtcp::RtpPacket;

use crate::hub::{HubError, Publisher};
use crate::server::Ctx;

/// The stream key of an SSRC.
pub fn stream_key(ssrc: u32) -> String {
    format!("rtp/{ssrc:08X}")
}

/// One device stream (one SSRC).
struct Ingest {
    publisher: Publisher,
    jitter: Option<JitterBuffer<RtpPacket>>,
    depack: PsDepacketizer,
    demux: PsDemuxer,
    last_packet: Instant,
    lost: u64,
    /// A frame was damaged, or the stream has not had a keyframe yet (a device joined
    /// mid-GOP): video frames are held back until the next keyframe, so no player gets
    /// pictures that reference missing data (or inter frames before any decoder
    /// configuration).
    await_keyframe: bool,
    dropped_frames: u64,
    video_track: weir_media::TrackId,
}

impl Ingest {
    fn new(ctx: &Ctx, ssrc: u32, udp: bool, protocol: &'static str) -> Result<Ingest, HubError> {
        let key = stream_key(ssrc);
        let publisher = ctx.hub.publish(&key, protocol)?;
        info!(stream = key, protocol, "GB28181 stream started");
        let jitter = if udp {
            JitterBuffer::new(JitterConfig::reorder(
                90_000,
                ctx.config.gb28181_jitter_latency,
            ))
            .ok()
        } else {
            None
        };
        Ok(Ingest {
            publisher,
            jitter,
            depack: PsDepacketizer::new(DepacketizerConfig::new(90_000)),
            demux: PsDemuxer::new(),
            last_packet: Instant::now(),
            lost: 0,
            await_keyframe: true,
            dropped_frames: 0,
            video_track: weir_media::TrackId(u32::MAX),
        })
    }

    fn packet(&mut self, pkt: RtpPacket, now: Instant) {
        self.last_packet = now;
        match self.jitter.as_mut() {
            Some(j) => {
                let _ = j.push(pkt.sequence_number(), pkt.timestamp(), now.into_std(), pkt);
                self.drain_jitter();
            }
            None => self.depacketize(&pkt),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some(j) = self.jitter.as_mut() {
            j.handle_timeout(now.into_std());
        }
        self.drain_jitter();
    }

    fn drain_jitter(&mut self) {
        while let Some(out) = self.jitter.as_mut().and_then(JitterBuffer::pop) {
            match out {
                Output::Packet(p) => self.depacketize(&p.payload),
                Output::Lost { count, .. } => {
                    // The depacketizer sees the sequence gap on the next packet and flags
                    // the damaged frame; count for the log.
                    self.lost += u64::from(count);
                }
                Output::Late(_) => {}
            }
        }
    }

    fn depacketize(&mut self, pkt: &RtpPacket) {
        if let Err(e) = self.depack.push(pkt) {
            debug!(stream = self.publisher.key(), error = %e, "GB28181: RTP payload dropped");
        }
        self.pull_frames();
    }

    fn pull_frames(&mut self) {
        while let Some(ps) = self.depack.pull() {
            if ps.incomplete {
                // Lost packets inside this frame: its PS bytes are damaged. Resync the
                // demuxer; downstream players recover at the next keyframe.
                debug!(
                    stream = self.publisher.key(),
                    "GB28181: incomplete frame dropped"
                );
                self.demux.reset();
                self.await_keyframe = true;
                self.dropped_frames += 1;
                continue;
            }
            self.demux.push_bytes(ps.data);
            self.demux.frame_end();
            self.publish_events();
        }
    }

    fn publish_events(&mut self) {
        while let Some(ev) = self.demux.poll_event() {
            match ev {
                PsEvent::TrackAdded(t) | PsEvent::TrackUpdated(t) => {
                    if t.codec.kind() == weir_media::MediaKind::Video {
                        self.video_track = t.id;
                    }
                    info!(stream = self.publisher.key(), codec = %t.codec, track = t.id.0, "GB28181 track");
                    self.publisher.track(t);
                }
                PsEvent::Frame(f) => {
                    let video = f.track == self.video_track;
                    if video && self.await_keyframe {
                        if !f.keyframe {
                            self.dropped_frames += 1;
                            continue;
                        }
                        self.await_keyframe = false;
                        if self.dropped_frames > 0 {
                            info!(
                                stream = self.publisher.key(),
                                dropped = self.dropped_frames,
                                "GB28181: video resumes at a keyframe (frames before it dropped)"
                            );
                        }
                    }
                    self.publisher.frame(f);
                }
                PsEvent::Corrupt(e) => {
                    debug!(stream = self.publisher.key(), error = %e, "GB28181: PS damage")
                }
                _ => {}
            }
        }
    }

    fn finish(&mut self) {
        if let Some(j) = self.jitter.as_mut() {
            j.handle_timeout((Instant::now() + Duration::from_secs(3600)).into_std());
        }
        self.drain_jitter();
        self.depack.flush();
        self.pull_frames();
        self.demux.flush();
        self.publish_events();
        if self.lost > 0 {
            info!(
                stream = self.publisher.key(),
                lost = self.lost,
                "GB28181 stream lost packets"
            );
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        info!(stream = self.publisher.key(), "GB28181 stream ended");
    }
}

/// Receives RTP/PS datagrams on `sock` until shutdown.
pub(crate) async fn serve_udp(sock: UdpSocket, ctx: Arc<Ctx>, mut shutdown: watch::Receiver<bool>) {
    let mut sessions: HashMap<u32, Option<Ingest>> = HashMap::new();
    let mut buf = BytesMut::with_capacity(64 << 10);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let idle = ctx.config.gb28181_idle_timeout;
    loop {
        tokio::select! {
            r = sock.recv_buf_from(&mut buf) => {
                let Ok((_, from)) = r else { continue };
                let data = buf.split().freeze();
                if buf.capacity() < 2048 {
                    buf.reserve(64 << 10);
                }
                let Ok(pkt) = RtpPacket::parse(data) else {
                    debug!(%from, "GB28181/UDP: not an RTP packet");
                    continue;
                };
                let ssrc = pkt.ssrc();
                let entry = sessions.entry(ssrc).or_insert_with(|| match Ingest::new(&ctx, ssrc, true, "gb28181-udp") {
                    Ok(i) => Some(i),
                    Err(e) => {
                        warn!(ssrc = format!("{ssrc:08X}"), error = %e, "GB28181/UDP: stream refused");
                        None
                    }
                });
                if let Some(ingest) = entry.as_mut() {
                    ingest.packet(pkt, Instant::now());
                }
            }
            // Timers only while some device is streaming: an idle relay sleeps.
            _ = tick.tick(), if !sessions.is_empty() => {
                let now = Instant::now();
                sessions.retain(|_, s| match s {
                    Some(i) => {
                        i.handle_timeout(now);
                        if now.duration_since(i.last_packet) > idle {
                            i.finish();
                            false
                        } else {
                            true
                        }
                    }
                    // A refused SSRC is retried after the idle time has passed.
                    None => false,
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    for s in sessions.values_mut().flatten() {
        s.finish();
    }
}

/// Accepts RFC 4571 TCP connections (one device stream each) until shutdown.
pub(crate) async fn serve_tcp(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    let ctx = ctx.clone();
                    let guard = ctx.tasks.enter();
                    let shutdown = shutdown.clone();
                    tokio::spawn(async move {
                        let _guard = guard;
                        tcp_connection(sock, peer, ctx, shutdown).await;
                    });
                }
                Err(e) => {
                    warn!(error = %e, "GB28181/TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

async fn tcp_connection(
    mut sock: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle = ctx.config.gb28181_idle_timeout;
    let mut buf = BytesMut::with_capacity(64 << 10);
    let mut ingest: Option<Ingest> = None;
    loop {
        // RFC 4571: a 16-bit length, then one RTP packet.
        while buf.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if buf.len() < 2 + len {
                break;
            }
            buf.advance(2);
            let data = buf.split_to(len).freeze();
            let Ok(pkt) = RtpPacket::parse(data) else {
                debug!(%peer, "GB28181/TCP: not an RTP packet");
                continue;
            };
            if ingest.is_none() {
                match Ingest::new(&ctx, pkt.ssrc(), false, "gb28181-tcp") {
                    Ok(i) => ingest = Some(i),
                    Err(e) => {
                        warn!(%peer, error = %e, "GB28181/TCP: stream refused");
                        return;
                    }
                }
            }
            if let Some(i) = ingest.as_mut() {
                i.packet(pkt, Instant::now());
            }
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 << 10);
        }
        tokio::select! {
            r = tokio::time::timeout(idle, sock.read_buf(&mut buf)) => match r {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => {}
                Err(_) => {
                    info!(%peer, "GB28181/TCP: no data for {idle:?}, ending");
                    break;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    if let Some(i) = ingest.as_mut() {
        i.finish();
    }
}
