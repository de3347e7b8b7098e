//! GB/T 28181 media ingest: RTP carrying an MPEG program stream, over UDP and over TCP
//! with RFC 4571 framing (passive mode: the device connects to us).
//!
//! Every SSRC is one stream, published as `rtp/XXXXXXXX` (the SSRC in 8 uppercase hex
//! digits, as ZLMediaKit names them), through the frame-ingest pipeline (jitter buffer on
//! UDP, PS depacketizing and demuxing). A stream that receives nothing for the idle timeout
//! ends.
//!
//! Admission (who may create a stream, and who may feed it):
//! * every new SSRC goes through the relay's authorization hook (protocol `gb28181`,
//!   [`Access::Publish`], key `rtp/SSRC`, the source address and the SSRC); packets that
//!   arrive meanwhile are queued (bounded) and published once it allows;
//! * a UDP stream is bound to the source address that started it: datagrams with its SSRC
//!   from any other address are dropped and counted ([`Gb28181Stats::spoofed`]);
//! * the number of streams, and of streams per source IP, is capped;
//! * a refused SSRC is remembered until it has been quiet for the idle timeout: its
//!   packets are dropped silently, with one log line per refusal, not one per packet.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use weir_rtp_rtcp::RtpPacket;

use super::pipeline::{PsDecoder, RtpIngest};
use super::publish_event;
use super::settings::{Gb28181Config, Gb28181Stats};
use crate::auth::{Access, AuthHook, AuthRequest};
use crate::core::{Hub, HubError, Link, Peer, Publisher};
use crate::net::{accept_loop, Tasks};

/// The stream key of an SSRC.
pub fn stream_key(ssrc: u32) -> String {
    format!("rtp/{ssrc:08X}")
}

/// What the GB28181 listeners share.
#[derive(Clone)]
pub(crate) struct GbCtx {
    pub(crate) hub: Hub,
    pub(crate) auth: AuthHook,
    pub(crate) config: Gb28181Config,
    pub(crate) stats: Arc<Gb28181Stats>,
    pub(crate) tasks: Arc<Tasks>,
}

/// One device stream (one SSRC) being published.
struct GbStream {
    publisher: Publisher,
    ingest: RtpIngest<PsDecoder>,
    last_packet: Instant,
    reported_lost: u64,
}

impl GbStream {
    fn new(publisher: Publisher, ctx: &GbCtx, udp: bool) -> GbStream {
        let reorder = udp.then_some((90_000, ctx.config.jitter_latency));
        GbStream {
            publisher,
            ingest: RtpIngest::new(PsDecoder::default(), reorder),
            last_packet: Instant::now(),
            reported_lost: 0,
        }
    }

    fn packet(&mut self, pkt: RtpPacket, now: Instant) {
        self.last_packet = now;
        self.publisher.session().link().add_in(pkt.as_bytes().len());
        self.ingest.push(pkt, now.into_std());
        self.publish();
    }

    fn handle_timeout(&mut self, now: Instant, stats: &Gb28181Stats) {
        self.ingest.handle_timeout(now.into_std());
        self.publish();
        let lost = self.ingest.lost_packets();
        stats
            .lost
            .fetch_add(lost - self.reported_lost, Ordering::Relaxed);
        self.reported_lost = lost;
    }

    fn publish(&mut self) {
        while let Some(ev) = self.ingest.poll_event() {
            publish_event(&self.publisher, ev);
        }
    }

    fn finish(&mut self) {
        self.ingest.finish(Instant::now().into_std());
        self.publish();
        let lost = self.ingest.lost_packets();
        if lost > 0 {
            info!(
                stream = self.publisher.key(),
                lost, "GB28181 stream lost packets"
            );
        }
        info!(stream = self.publisher.key(), "GB28181 stream ended");
    }
}

/// Admission of a new SSRC: authorize, then publish.
async fn admit(
    ctx: &GbCtx,
    ssrc: u32,
    from: SocketAddr,
    transport: &'static str,
) -> Result<Publisher, String> {
    let key = stream_key(ssrc);
    let id = ctx.hub.next_id();
    let req = AuthRequest::new("gb28181", Access::Publish, key.clone(), None, from)
        .with_ssrc(ssrc)
        .with_session(id);
    if !ctx.auth.check(req).await {
        return Err("refused by the authorization hook".into());
    }
    match ctx
        .hub
        .publish_with(&key, "gb28181", Peer::new(from, Link::new()))
    {
        Ok(p) => {
            info!(stream = key, %from, transport, "GB28181 stream started");
            Ok(p)
        }
        Err(HubError::Busy(_)) => Err("stream name busy".into()),
        Err(e) => Err(e.to_string()),
    }
}

enum Entry {
    /// The authorization hook is deciding; packets queue.
    Pending {
        source: SocketAddr,
        queued: Vec<RtpPacket>,
        since: Instant,
    },
    Live {
        source: SocketAddr,
        stream: Box<GbStream>,
    },
    /// Refused: its packets are dropped until it has been quiet for the idle timeout.
    Refused { source: SocketAddr, last: Instant },
}

impl Entry {
    fn source(&self) -> SocketAddr {
        match self {
            Entry::Pending { source, .. }
            | Entry::Live { source, .. }
            | Entry::Refused { source, .. } => *source,
        }
    }
}

/// The UDP side: SSRC → stream, with the admission rules of the module docs.
struct UdpIngest {
    ctx: GbCtx,
    entries: HashMap<u32, Entry>,
    /// Live and pending streams per source IP.
    per_source: HashMap<IpAddr, usize>,
    decisions: mpsc::UnboundedSender<(u32, Result<Publisher, String>)>,
    /// (ssrc, spoofing source) pairs already logged, cleared every idle period.
    spoof_logged: Vec<(u32, SocketAddr)>,
    cap_logged: bool,
}

impl UdpIngest {
    fn admitted(&self) -> usize {
        self.entries
            .values()
            .filter(|e| !matches!(e, Entry::Refused { .. }))
            .count()
    }

    fn packet(&mut self, pkt: RtpPacket, from: SocketAddr, now: Instant) {
        let ssrc = pkt.ssrc();
        let stats = &self.ctx.stats;
        if let Some(entry) = self.entries.get_mut(&ssrc) {
            if entry.source() != from {
                stats.spoofed.fetch_add(1, Ordering::Relaxed);
                if !self.spoof_logged.contains(&(ssrc, from)) && self.spoof_logged.len() < 1024 {
                    self.spoof_logged.push((ssrc, from));
                    warn!(ssrc = format!("{ssrc:08X}"), %from, owner = %entry.source(), "GB28181/UDP: packets for a stream from another source dropped");
                }
                return;
            }
            match entry {
                Entry::Live { stream, .. } => stream.packet(pkt, now),
                Entry::Pending { queued, .. } => {
                    if queued.len() < self.ctx.config.max_pending_packets {
                        queued.push(pkt);
                    } else {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Entry::Refused { last, .. } => {
                    *last = now;
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            return;
        }
        // A new SSRC.
        let cfg = &self.ctx.config;
        let from_source = self.per_source.get(&from.ip()).copied().unwrap_or(0);
        let refusal = if self.admitted() >= cfg.max_streams {
            Some("too many GB28181 streams")
        } else if from_source >= cfg.max_streams_per_source {
            Some("too many GB28181 streams from this source")
        } else {
            None
        };
        if let Some(why) = refusal {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            // Refused entries are bounded too: past the cap, nothing is remembered (and
            // the log is rate-limited to one line per idle period).
            if self.entries.len() < cfg.max_streams.saturating_mul(4).max(64) {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                warn!(ssrc = format!("{ssrc:08X}"), %from, "GB28181/UDP: stream refused: {why}");
                self.entries.insert(
                    ssrc,
                    Entry::Refused {
                        source: from,
                        last: now,
                    },
                );
            } else if !self.cap_logged {
                self.cap_logged = true;
                warn!(%from, "GB28181/UDP: stream table full; datagrams of new SSRCs dropped");
            }
            return;
        }
        *self.per_source.entry(from.ip()).or_insert(0) += 1;
        self.entries.insert(
            ssrc,
            Entry::Pending {
                source: from,
                queued: vec![pkt],
                since: now,
            },
        );
        let ctx = self.ctx.clone();
        let tx = self.decisions.clone();
        tokio::spawn(async move {
            let r = admit(&ctx, ssrc, from, "udp").await;
            let _ = tx.send((ssrc, r));
        });
    }

    fn decided(&mut self, ssrc: u32, r: Result<Publisher, String>, now: Instant) {
        let Some(Entry::Pending { source, queued, .. }) = self.entries.remove(&ssrc) else {
            return; // expired meanwhile (the publisher, if any, unpublishes on drop)
        };
        match r {
            Ok(publisher) => {
                let mut stream = Box::new(GbStream::new(publisher, &self.ctx, true));
                for p in queued {
                    stream.packet(p, now);
                }
                self.entries.insert(ssrc, Entry::Live { source, stream });
            }
            Err(why) => {
                self.release_source(source);
                self.ctx.stats.refused.fetch_add(1, Ordering::Relaxed);
                warn!(ssrc = format!("{ssrc:08X}"), from = %source, "GB28181/UDP: stream refused: {why}");
                self.entries
                    .insert(ssrc, Entry::Refused { source, last: now });
            }
        }
    }

    fn release_source(&mut self, source: SocketAddr) {
        if let Some(n) = self.per_source.get_mut(&source.ip()) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_source.remove(&source.ip());
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        let idle = self.ctx.config.idle_timeout;
        let stats = self.ctx.stats.clone();
        let mut released = Vec::new();
        self.entries.retain(|_, e| match e {
            Entry::Live { stream, source } => {
                stream.handle_timeout(now, &stats);
                if stream.publisher.session().link().is_kicked() {
                    // Kicked: the stream ends, and the device's packets are dropped until
                    // it has been quiet for the idle timeout.
                    stream.finish();
                    released.push(*source);
                    *e = Entry::Refused {
                        source: *source,
                        last: now,
                    };
                    true
                } else if now.duration_since(stream.last_packet) > idle {
                    stream.finish();
                    released.push(*source);
                    false
                } else {
                    true
                }
            }
            Entry::Pending { since, source, .. } => {
                let keep = now.duration_since(*since) <= idle;
                if !keep {
                    released.push(*source);
                }
                keep
            }
            Entry::Refused { last, .. } => now.duration_since(*last) <= idle,
        });
        for s in released {
            self.release_source(s);
        }
    }

    fn finish(&mut self) {
        for e in self.entries.values_mut() {
            if let Entry::Live { stream, .. } = e {
                stream.finish();
            }
        }
        self.entries.clear();
    }
}

/// Receives RTP/PS datagrams on `sock` until shutdown.
pub(crate) async fn serve_udp(sock: UdpSocket, ctx: GbCtx, mut shutdown: watch::Receiver<bool>) {
    let (decisions, mut decided) = mpsc::unbounded_channel();
    let idle = ctx.config.idle_timeout;
    let mut ingest = UdpIngest {
        ctx,
        entries: HashMap::new(),
        per_source: HashMap::new(),
        decisions,
        spoof_logged: Vec::new(),
        cap_logged: false,
    };
    let mut buf = BytesMut::with_capacity(64 << 10);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut log_period = tokio::time::interval(idle.max(Duration::from_secs(1)));
    loop {
        tokio::select! {
            r = sock.recv_buf_from(&mut buf) => {
                let Ok((_, from)) = r else { continue };
                let data = buf.split().freeze();
                if buf.capacity() < 2048 {
                    buf.reserve(64 << 10);
                }
                match RtpPacket::parse(data) {
                    Ok(pkt) => ingest.packet(pkt, from, Instant::now()),
                    Err(_) => debug!(%from, "GB28181/UDP: not an RTP packet"),
                }
            }
            Some((ssrc, r)) = decided.recv() => ingest.decided(ssrc, r, Instant::now()),
            // Timers only while some device is streaming: an idle relay sleeps.
            _ = tick.tick(), if !ingest.entries.is_empty() => ingest.tick(Instant::now()),
            _ = log_period.tick() => {
                ingest.spoof_logged.clear();
                ingest.cap_logged = false;
            }
            _ = shutdown.changed() => break,
        }
    }
    ingest.finish();
}

async fn kicked(link: Option<&Link>) {
    match link {
        Some(l) => l.kicked().await,
        None => std::future::pending().await,
    }
}

/// Accepts RFC 4571 TCP connections (one device stream each) until shutdown.
pub(crate) async fn serve_tcp(listener: TcpListener, ctx: GbCtx, shutdown: watch::Receiver<bool>) {
    let tasks = ctx.tasks.clone();
    accept_loop(
        listener,
        "gb28181-tcp",
        tasks,
        shutdown,
        move |sock, peer, stop| tcp_connection(sock, peer, ctx.clone(), stop),
    )
    .await;
}

async fn tcp_connection(
    mut sock: TcpStream,
    peer: SocketAddr,
    ctx: GbCtx,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle = ctx.config.idle_timeout;
    let mut buf = BytesMut::with_capacity(64 << 10);
    let mut stream: Option<GbStream> = None;
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
            if stream.is_none() {
                match admit(&ctx, pkt.ssrc(), peer, "tcp").await {
                    Ok(p) => stream = Some(GbStream::new(p, &ctx, false)),
                    Err(why) => {
                        ctx.stats.refused.fetch_add(1, Ordering::Relaxed);
                        warn!(%peer, ssrc = format!("{:08X}", pkt.ssrc()), "GB28181/TCP: stream refused: {why}");
                        return;
                    }
                }
            }
            if let Some(s) = stream.as_mut() {
                s.packet(pkt, Instant::now());
            }
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 << 10);
        }
        let link = stream
            .as_ref()
            .map(|s| s.publisher.session().link().clone());
        tokio::select! {
            () = kicked(link.as_deref()) => break,
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
    if let Some(s) = stream.as_mut() {
        s.finish();
    }
}
