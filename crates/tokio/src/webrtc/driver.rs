//! One session's str0m instance and what surrounds it: packets in from the port, transmits
//! out (UDP through the shared socket, TCP through the session's ICE-TCP connections),
//! events collected for the player or publisher logic, the connect deadline and the
//! reason a session that never connected is logged with.
//!
//! str0m's rule is kept: every mutation (input, write, candidate) is followed by
//! [`Driver::drain`] until it yields a timeout.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcError};
use tokio::sync::mpsc;
use tracing::{debug, info};

use super::io::{tcp_frame, Msg, WebRtc};
use crate::core::Link;

/// What the session should do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Go on.
    Continue,
    /// End the session (the reason is logged by the caller).
    End(String),
}

/// A session's str0m instance and its plumbing.
pub(crate) struct Driver {
    pub(crate) rtc: Rtc,
    webrtc: Arc<WebRtc>,
    pub(crate) rx: mpsc::Receiver<Msg>,
    tcp: Vec<(SocketAddr, mpsc::Sender<Bytes>)>,
    /// Events of the last drains, for the caller.
    pub(crate) events: VecDeque<Event>,
    /// When str0m wants its next timeout.
    pub(crate) timeout: Instant,
    pub(crate) link: Arc<Link>,
    /// "WHEP live/cam #12", for the log.
    pub(crate) label: String,
    /// When the session must be connected by.
    pub(crate) connect_by: Instant,
    /// ICE, DTLS and SRTP are up.
    pub(crate) connected: bool,
    stun_seen: bool,
    ice_connected: bool,
    dtls_error: Option<String>,
}

impl Driver {
    /// A driver for `rtc`, answering on `webrtc`'s port.
    pub(crate) fn new(
        rtc: Rtc,
        webrtc: Arc<WebRtc>,
        rx: mpsc::Receiver<Msg>,
        link: Arc<Link>,
        label: String,
        now: Instant,
    ) -> Driver {
        let connect_by = now + webrtc.config.connect_timeout;
        Driver {
            rtc,
            webrtc,
            rx,
            tcp: Vec::new(),
            events: VecDeque::new(),
            timeout: now,
            link,
            label,
            connect_by,
            connected: false,
            stun_seen: false,
            ice_connected: false,
            dtls_error: None,
        }
    }

    /// Polls str0m until it yields its next timeout: transmits go out, events are queued.
    pub(crate) fn drain(&mut self) -> Result<(), RtcError> {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(t) => {
                    self.timeout = t;
                    return Ok(());
                }
                Output::Transmit(t) => self.transmit(&t),
                Output::Event(e) => {
                    self.observe(&e);
                    self.events.push_back(e);
                }
            }
        }
    }

    fn transmit(&mut self, t: &Transmit) {
        self.link.add_out(t.contents.len());
        match t.proto {
            Protocol::Udp => {
                if self
                    .webrtc
                    .udp
                    .try_send_to(&t.contents, t.destination)
                    .is_err()
                {
                    self.webrtc
                        .counters
                        .send_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {
                let sent = self
                    .tcp
                    .iter()
                    .find(|(a, _)| *a == t.destination)
                    .and_then(|(_, tx)| tcp_frame(&t.contents).map(|f| tx.try_send(f).is_ok()));
                if sent != Some(true) {
                    self.webrtc
                        .counters
                        .send_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn observe(&mut self, e: &Event) {
        match e {
            Event::IceConnectionStateChange(s) => {
                debug!(session = %self.label, state = ?s, "ICE state");
                if matches!(
                    s,
                    IceConnectionState::Connected | IceConnectionState::Completed
                ) {
                    self.ice_connected = true;
                }
            }
            Event::Connected => {
                self.connected = true;
                info!(session = %self.label, "WebRTC connected");
            }
            _ => {}
        }
    }

    /// Why a session that did not connect by its deadline did not.
    pub(crate) fn never_connected_reason(&self) -> String {
        let t = self.webrtc.config.connect_timeout;
        if let Some(e) = &self.dtls_error {
            return format!("DTLS failed: {e}");
        }
        if !self.stun_seen {
            return format!(
                "ICE timeout: no connectivity check (STUN) from the client within {t:?} — \
                 are the announced candidates reachable (webrtc.candidates for NAT/Docker)?"
            );
        }
        if !self.ice_connected {
            return format!("ICE timeout: connectivity checks did not succeed within {t:?}");
        }
        format!("DTLS timeout: ICE connected but the DTLS handshake did not finish within {t:?}")
    }

    /// One message from the port or the HTTP side.
    pub(crate) fn input(&mut self, msg: Msg, now: Instant) -> Flow {
        match msg {
            Msg::Packet {
                proto,
                source,
                data,
            } => {
                self.link.add_in(data.len());
                let destination = match proto {
                    Protocol::Udp => self.webrtc.local,
                    _ => self.webrtc.tcp_addr().unwrap_or(self.webrtc.local),
                };
                let Ok(r) = Receive::new(proto, source, destination, &data) else {
                    return Flow::Continue;
                };
                if super::mux::classify(&data) == super::mux::PacketClass::Stun {
                    self.stun_seen = true;
                }
                match self.rtc.handle_input(Input::Receive(now, r)) {
                    Ok(()) => Flow::Continue,
                    Err(RtcError::Dtls(e)) => {
                        self.dtls_error = Some(e.to_string());
                        Flow::End(format!("DTLS failed: {e}"))
                    }
                    Err(e) => {
                        debug!(session = %self.label, error = %e, "input refused");
                        Flow::Continue
                    }
                }
            }
            Msg::Tcp(addr, tx) => {
                // A client's ICE-TCP connections (bounded like its addresses).
                self.tcp.retain(|(a, t)| *a != addr && !t.is_closed());
                if self.tcp.len() < 8 {
                    self.tcp.push((addr, tx));
                }
                Flow::Continue
            }
            Msg::Candidates(list) => {
                for c in list {
                    match Candidate::from_sdp_string(&c) {
                        Ok(c) => self.rtc.add_remote_candidate(c),
                        Err(e) => {
                            debug!(session = %self.label, error = %e, "trickled candidate refused")
                        }
                    }
                }
                Flow::Continue
            }
            Msg::Close => Flow::End("resource deleted (DELETE)".into()),
        }
    }

    /// Lets str0m's timers run.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Flow {
        match self.rtc.handle_input(Input::Timeout(now)) {
            Ok(()) => {}
            Err(RtcError::Dtls(e)) => {
                self.dtls_error = Some(e.to_string());
                return Flow::End(format!("DTLS failed: {e}"));
            }
            Err(e) => debug!(session = %self.label, error = %e, "timeout handling failed"),
        }
        if !self.connected && now >= self.connect_by {
            return Flow::End(self.never_connected_reason());
        }
        if !self.rtc.is_alive() {
            return Flow::End("the peer closed the connection".into());
        }
        Flow::Continue
    }

    /// A disconnect event ends a connected session.
    pub(crate) fn ended_by(e: &Event) -> Option<String> {
        match e {
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                Some("ICE disconnected (no consent from the client)".into())
            }
            Event::Closed => Some("the peer closed the connection".into()),
            _ => None,
        }
    }
}
