//! The receive loop: writes, reads, datagrams, timers, the answers to requests, and the
//! events [`RtspClient::next`] yields.

use std::io::IoSlice;
use std::pin::Pin;
use std::time::Instant;

use bytes::Buf;
use tokio::io::{AsyncReadExt, AsyncWrite};
use tokio::sync::mpsc;
use tracing::{debug, info};
use weir_rtsp_proto::{ClientEvent, Method};

use super::conn::Conn;
use super::media::{Media, Outgoing};
use super::{RtspClient, RtspClientError, RtspEvent};
use crate::net::rtp_transport::Datagram;

/// What woke [`RtspClient::step`].
enum Wake {
    Read(std::io::Result<usize>),
    Udp(Option<Datagram>),
    Timer,
}

async fn recv_opt(rx: &mut Option<mpsc::Receiver<Datagram>>) -> Option<Datagram> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

impl RtspClient {
    /// Writes what the session has queued (vectored; cancel-safe: progress is kept in
    /// `out` after every write).
    async fn flush(&mut self) -> Result<(), RtspClientError> {
        while let Some(b) = self.conn.session.poll_transmit() {
            self.conn.out.push_back(b);
        }
        if self.eof {
            self.conn.out.clear();
            return Ok(());
        }
        while !self.conn.out.is_empty() {
            let conn = &mut self.conn;
            let written = std::future::poll_fn(|cx| {
                let mut slices = [IoSlice::new(&[]); 16];
                let n = conn
                    .out
                    .iter()
                    .zip(slices.iter_mut())
                    .map(|(b, s)| *s = IoSlice::new(b))
                    .count();
                Pin::new(&mut conn.sock).poll_write_vectored(cx, &slices[..n])
            })
            .await;
            let mut n = match written {
                Ok(0) => {
                    let e = std::io::Error::new(std::io::ErrorKind::WriteZero, "socket closed");
                    return Err(self.io_err("write")(e));
                }
                Ok(n) => n,
                Err(e) => return Err(self.io_err("write")(e)),
            };
            while n > 0 {
                let Some(front) = self.conn.out.front_mut() else {
                    break;
                };
                if front.len() <= n {
                    n -= front.len();
                    self.conn.out.pop_front();
                } else {
                    front.advance(n);
                    n = 0;
                }
            }
        }
        Ok(())
    }

    pub(super) fn send_rtcp(&mut self, packets: Vec<Outgoing>) {
        for p in packets {
            match p {
                Outgoing::Interleaved(channel, b) => {
                    if let Err(e) = self.conn.session.send_interleaved(channel, b) {
                        debug!(error = %e, "rtsp client: RTCP not sent");
                    }
                }
                Outgoing::Udp(sock, to, b) => {
                    if let Err(e) = sock.try_send_to(&b, to) {
                        debug!(error = %e, "rtsp client: RTCP not sent");
                    }
                }
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let watchdog = self
            .playing
            .then(|| self.last_media.checked_add(self.config.media_timeout))
            .flatten();
        [
            self.conn.session.poll_timeout(),
            self.media.as_ref().and_then(Media::poll_timeout),
            self.policy.poll_timeout(),
            watchdog,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Waits for input, a datagram or a timer, and handles it.
    async fn step(&mut self) -> Result<(), RtspClientError> {
        self.flush().await?;
        let deadline = self.next_deadline();
        let conn = &mut self.conn;
        if conn.buf.capacity() - conn.buf.len() < 4096 {
            conn.buf.reserve(64 << 10);
        }
        let wake = tokio::select! {
            r = conn.sock.read_buf(&mut conn.buf), if !self.eof => Wake::Read(r),
            d = recv_opt(&mut self.udp_rx) => Wake::Udp(d),
            _ = sleep_opt(deadline) => Wake::Timer,
        };
        let now = Instant::now();
        match wake {
            Wake::Read(Err(e)) => return Err(self.io_err("read")(e)),
            Wake::Read(Ok(0)) => {
                debug!(url = %self.conn.url, "rtsp client: connection closed by the server");
                self.eof = true;
            }
            Wake::Read(Ok(_)) => {
                if let Err(e) = self.conn.session.handle_input(&mut self.conn.buf, now) {
                    // Complete items before the bad one still count.
                    self.drain_session(now);
                    return Err(self.proto_err(e));
                }
                self.drain_session(now);
            }
            Wake::Udp(Some(d)) => {
                if let Some(m) = self.media.as_mut() {
                    m.datagram(d, now, &mut self.events);
                    if let Some(rx) = self.udp_rx.as_mut() {
                        for _ in 0..256 {
                            let Ok(d) = rx.try_recv() else { break };
                            m.datagram(d, now, &mut self.events);
                        }
                    }
                }
            }
            Wake::Udp(None) => self.udp_rx = None,
            Wake::Timer => self.on_timer(now)?,
        }
        if self.media.as_mut().is_some_and(Media::take_activity) {
            self.last_media = now;
            self.policy.on_media();
        }
        Ok(())
    }

    fn drain_session(&mut self, now: Instant) {
        while let Some(ev) = self.conn.session.poll_event() {
            match ev {
                ClientEvent::Interleaved(f) => {
                    let known = match self.media.as_mut() {
                        Some(m) => m.interleaved(f.channel, f.payload, now, &mut self.events),
                        None => false,
                    };
                    if !known {
                        debug!(
                            channel = f.channel,
                            "rtsp client: interleaved frame on no track's channel"
                        );
                    }
                }
                ClientEvent::ServerRequest(r) => {
                    debug!(method = %r.method, "rtsp client: request from the server answered");
                }
                other => self.outcomes.push_back(other),
            }
        }
    }

    fn on_timer(&mut self, now: Instant) -> Result<(), RtspClientError> {
        self.conn.session.handle_timeout(now);
        self.drain_session(now);
        if let Some(m) = self.media.as_mut() {
            let mut send = Vec::new();
            m.handle_timeout(now, &mut self.events, &mut send);
            self.send_rtcp(send);
        }
        if let Some(fb) = self.policy.handle_timeout(now) {
            info!(url = %self.conn.url, "rtsp client: {fb}; switching to TCP");
            self.pending_fallback = Some(fb);
        }
        if self.playing
            && self.pending_fallback.is_none()
            && now.saturating_duration_since(self.last_media) >= self.config.media_timeout
        {
            return Err(RtspClientError::NoMedia {
                url: self.conn.url.clone(),
                waited: self.config.media_timeout,
            });
        }
        Ok(())
    }

    /// Waits for the answer to the request just queued.
    pub(super) async fn outcome(&mut self, method: Method) -> Result<ClientEvent, RtspClientError> {
        loop {
            if let Some(ev) = self.outcomes.pop_front() {
                return Ok(ev);
            }
            if self.eof {
                return Err(RtspClientError::Closed {
                    url: self.conn.url.clone(),
                    method,
                });
            }
            self.step().await?;
        }
    }

    /// Starts over on a new connection to `url` (a redirect, or the TCP fallback).
    pub(super) async fn reconnect(&mut self, url: String) -> Result<(), RtspClientError> {
        self.skipped_before += self.conn.session.skipped_bytes();
        self.conn = Conn::open(&url, &self.config, self.credentials.clone()).await?;
        self.url = url;
        self.stats.connections += 1;
        self.eof = false;
        self.outcomes.clear();
        Ok(())
    }

    /// The `auto` transport gave up on UDP after PLAY: start over on a new connection, TCP.
    async fn restart_over_tcp(&mut self) -> Result<(), RtspClientError> {
        if self.conn.session.teardown(Instant::now()).is_ok() {
            let _ = self.flush().await;
        }
        self.media = None;
        self.udp_rx = None;
        self.playing = false;
        let url = self.url.clone();
        self.reconnect(url).await?;
        self.describe().await?;
        self.setup_selected().await?;
        self.play().await
    }

    /// The next event; `Ok(None)` at the end of the stream (the server closed the
    /// connection or said goodbye on every track). Keep calling it: it also sends the
    /// keep-alives and receiver reports.
    ///
    /// Cancel-safe: it can be a branch of `tokio::select!` (with a timer, a shutdown
    /// signal); a dropped call loses no event and leaves no request half-written. (A drop
    /// while the `auto` fallback is re-establishing the session makes the next call start
    /// that over.)
    ///
    /// # Errors
    /// [`RtspClientError::NoMedia`] when the stream stalls, input that does not parse, socket
    /// errors.
    pub async fn next(&mut self) -> Result<Option<RtspEvent>, RtspClientError> {
        if !self.playing && self.events.is_empty() && !self.ended && self.pending_fallback.is_none()
        {
            return Err(self.usage("next() before play()"));
        }
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Ok(Some(ev));
            }
            if self.ended {
                return Ok(None);
            }
            if self.pending_fallback.is_some() {
                // Kept until the new session plays: a cancelled restart starts over.
                self.restart_over_tcp().await?;
                self.pending_fallback = None;
                continue;
            }
            for stray in self.outcomes.drain(..) {
                debug!(answer = ?stray, "rtsp client: unexpected answer while playing");
            }
            self.step().await?;
            let bye = self.media.as_ref().is_some_and(Media::all_bye);
            if self.eof || bye {
                if let Some(m) = self.media.as_mut() {
                    m.finish(Instant::now(), &mut self.events);
                }
                self.ended = true;
            }
        }
    }
}
