//! Sans-IO RTSP client side of one TCP connection.
//!
//! Call the request methods ([`ClientSession::describe`], [`ClientSession::setup`], …), write
//! [`ClientSession::poll_transmit`] to the socket, feed received bytes to
//! [`ClientSession::handle_input`] and react to [`ClientEvent`]s. The session retries once with
//! credentials after `401 Unauthorized`, follows same-server redirects (301/302/303/307) and
//! reports redirects to another server as [`ClientEvent::Redirect`], adds `Session` and
//! `Authorization` headers, and sends keep-alives when [`ClientSession::poll_timeout`] fires.
//! The same timer reports requests that got no answer within
//! [`ClientConfig::request_timeout`] as [`ClientEvent::TimedOut`].
//!
//! Requests may be pipelined, but a request only carries the `Session` header once the SETUP
//! that created the session has been answered: wait for [`ClientEvent::SetupDone`] before PLAY
//! or RECORD.
//!
//! Camera quirks handled here: `Content-Base` missing, relative, without a scheme or with a
//! doubled one ([`crate::url::resolve_base`]); relative `Location`s; SETUP answers without a
//! `Transport` (the requested one applies) or with other interleaved channels than asked
//! (the answer applies); garbage between interleaved frames, skipped when
//! [`ClientConfig::skip_garbage`] is on (the default); responses without `CSeq`. Input that
//! cannot be parsed closes the session with an [`Error::Input`] naming the request it
//! answered and the byte offset of the failing message in the connection.
//!
//! [`TransportPolicy`] decides between UDP and TCP interleaved (with the `auto` fallback).

mod transport;

pub use transport::{Fallback, TransportPolicy, TransportPreference};

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use weir_sdp::SessionDescription;

use crate::auth::ClientAuth;
use crate::codec::{Decoder, Item, Limits};
use crate::error::{Error, Result};
use crate::headers::{RangeSpec, RtpInfo, SessionHeader, TransportSpec};
use crate::message::{Headers, InterleavedFrame, Message, Method, Request, Response};
use crate::url::RtspUrl;
use crate::RandomSource;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Presentation URL; credentials in it (`rtsp://user:pass@…`) are used for auth and stripped
    /// from request lines.
    pub url: String,
    /// Credentials overriding those of the URL.
    pub credentials: Option<(String, String)>,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Decoder limits.
    pub limits: Limits,
    /// How many redirects to follow per request.
    pub max_redirects: u8,
    /// Keep-alive interval; default: half the server's session timeout.
    pub keepalive_interval: Option<Duration>,
    /// How long to wait for a response before reporting [`ClientEvent::TimedOut`].
    pub request_timeout: Duration,
    /// Skip bytes between interleaved frames that belong to no frame or message (cameras
    /// with buggy RTP/TCP) instead of failing; see [`Decoder::set_resync`]. Default true.
    pub skip_garbage: bool,
}

impl ClientConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> ClientConfig {
        ClientConfig {
            url: url.into(),
            credentials: None,
            user_agent: concat!("weir-rtsp-proto/", env!("CARGO_PKG_VERSION")).to_string(),
            limits: Limits::default(),
            max_redirects: 3,
            keepalive_interval: None,
            request_timeout: Duration::from_secs(20),
            skip_garbage: true,
        }
    }
}

/// Client-side view of the session state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// No session.
    Init,
    /// SETUP done.
    Ready,
    /// PLAY acknowledged.
    Playing,
    /// RECORD acknowledged.
    Recording,
}

/// What happened, for the application.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// OPTIONS answered.
    Options {
        /// Methods from `Public`.
        public: Vec<Method>,
    },
    /// DESCRIBE answered with a parsed SDP.
    Described {
        /// The session description (tolerant parse).
        sdp: Box<SessionDescription>,
        /// Base for resolving `a=control` (Content-Base, Content-Location or request URL).
        base_url: String,
        /// The raw SDP.
        raw: Bytes,
    },
    /// ANNOUNCE accepted.
    Announced,
    /// SETUP accepted.
    SetupDone {
        /// The URL that was set up.
        url: String,
        /// The server's `Transport` answer (server ports, ssrc, interleaved channels).
        transport: TransportSpec,
        /// The session.
        session: SessionHeader,
    },
    /// PLAY accepted.
    Playing {
        /// `Range` of the answer.
        range: Option<RangeSpec>,
        /// `RTP-Info` of the answer.
        rtp_info: Vec<RtpInfo>,
    },
    /// PAUSE accepted.
    Paused,
    /// RECORD accepted.
    Recording,
    /// TEARDOWN answered (the session is gone either way).
    TornDown,
    /// GET_PARAMETER/SET_PARAMETER answered (not for automatic keep-alives).
    Parameter {
        /// The response.
        response: Response,
    },
    /// A request failed (after auth retry / redirects).
    Failed {
        /// Method of the failed request.
        method: Method,
        /// Its URL.
        url: String,
        /// Its CSeq.
        cseq: u32,
        /// Status code.
        status: u16,
        /// The response.
        response: Response,
    },
    /// A 2xx answer that could not be used (unparsable SDP, missing `Session` on SETUP, …).
    /// The connection stays usable.
    InvalidResponse {
        /// Method of the request.
        method: Method,
        /// Its URL.
        url: String,
        /// Its CSeq.
        cseq: u32,
        /// What is wrong.
        error: Error,
        /// The response.
        response: Response,
    },
    /// No response within [`ClientConfig::request_timeout`]; the request is abandoned.
    TimedOut {
        /// Method of the request.
        method: Method,
        /// Its CSeq.
        cseq: u32,
    },
    /// The server redirected to another server: reconnect there with a new session.
    Redirect {
        /// The new URL.
        url: String,
    },
    /// An interleaved frame from the server.
    Interleaved(InterleavedFrame),
    /// A request from the server (already answered: 200 for OPTIONS/GET_PARAMETER/SET_PARAMETER,
    /// 501 otherwise; a REDIRECT request also yields [`ClientEvent::Redirect`]).
    ServerRequest(Request),
}

#[derive(Debug, Clone)]
struct InFlight {
    cseq: u32,
    method: Method,
    url: String,
    headers: Headers,
    body: Bytes,
    auth_retried: bool,
    redirects: u8,
    keepalive: bool,
    sent_at: Instant,
}

/// The client side of one RTSP connection. See the module docs.
pub struct ClientSession {
    config: ClientConfig,
    url: RtspUrl,
    /// Aggregate control URL for PLAY/PAUSE/RECORD/TEARDOWN.
    aggregate_url: String,
    decoder: Decoder,
    rng: Box<dyn RandomSource + Send>,
    auth: Option<ClientAuth>,
    next_cseq: u32,
    in_flight: VecDeque<InFlight>,
    session: Option<SessionHeader>,
    state: ClientState,
    server_public: Option<Vec<Method>>,
    last_sent: Instant,
    events: VecDeque<ClientEvent>,
    transmits: VecDeque<Bytes>,
    out: BytesMut,
    /// Sticky: input could not be parsed.
    closed: bool,
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

const MAX_IN_FLIGHT: usize = 32;

impl ClientSession {
    /// A client for `config.url`.
    pub fn new(
        config: ClientConfig,
        rng: Box<dyn RandomSource + Send>,
        now: Instant,
    ) -> Result<ClientSession> {
        let url = RtspUrl::parse(&config.url)?;
        let creds = config.credentials.clone().or_else(|| {
            url.username
                .clone()
                .map(|u| (u, url.password.clone().unwrap_or_default()))
        });
        let mut decoder = Decoder::new(config.limits);
        decoder.set_resync(config.skip_garbage);
        Ok(ClientSession {
            aggregate_url: url.without_credentials(),
            decoder,
            auth: creds.map(|(u, p)| ClientAuth::new(u, p)),
            config,
            url,
            rng,
            next_cseq: 1,
            in_flight: VecDeque::new(),
            session: None,
            state: ClientState::Init,
            server_public: None,
            last_sent: now,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            out: BytesMut::with_capacity(2048),
            closed: false,
        })
    }

    /// True once input could not be parsed (the connection must be closed).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes of the connection's input consumed so far.
    pub fn input_position(&self) -> u64 {
        self.decoder.position()
    }

    /// Bytes skipped as garbage between interleaved frames so far.
    pub fn skipped_bytes(&self) -> u64 {
        self.decoder.skipped_bytes()
    }

    /// The method the next keep-alive will use: GET_PARAMETER when the server lists it in
    /// `Public` (or did not answer OPTIONS), OPTIONS otherwise — and OPTIONS from then on once
    /// a GET_PARAMETER keep-alive was answered 405/501.
    pub fn keepalive_method(&self) -> Method {
        match &self.server_public {
            Some(p) if !p.contains(&Method::GetParameter) => Method::Options,
            _ => Method::GetParameter,
        }
    }

    /// When the next keep-alive is due, if a session exists.
    pub fn keepalive_due(&self) -> Option<Instant> {
        self.session.as_ref()?;
        self.last_sent.checked_add(self.keepalive_interval())
    }

    /// The presentation URL without credentials.
    pub fn url(&self) -> String {
        self.url.without_credentials()
    }

    /// Aggregate control URL used for PLAY/PAUSE/RECORD/TEARDOWN.
    pub fn aggregate_url(&self) -> &str {
        &self.aggregate_url
    }

    /// Current state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The session, once SETUP succeeded.
    pub fn session(&self) -> Option<&SessionHeader> {
        self.session.as_ref()
    }

    /// Requests awaiting a response.
    pub fn pending_requests(&self) -> usize {
        self.in_flight.len()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Next bytes to write.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmits.pop_front()
    }

    /// When the next keep-alive is due (only while a session exists).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let keepalive = match self.session {
            Some(_) => self.last_sent.checked_add(self.keepalive_interval()),
            None => None,
        };
        let oldest = self
            .in_flight
            .iter()
            .map(|f| f.sent_at)
            .min()
            .and_then(|t| t.checked_add(self.config.request_timeout));
        match (keepalive, oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn keepalive_interval(&self) -> Duration {
        if let Some(d) = self.config.keepalive_interval {
            return d.max(Duration::from_millis(100));
        }
        let t = self.session.as_ref().and_then(|s| s.timeout).unwrap_or(60);
        Duration::from_secs(u64::from(t.max(2)) / 2)
    }

    /// Sends a keep-alive if one is due: GET_PARAMETER when the server lists it in `Public`
    /// (or did not answer OPTIONS), OPTIONS otherwise.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Requests without an answer in time are given up.
        let limit = self.config.request_timeout;
        while let Some(pos) = self
            .in_flight
            .iter()
            .position(|f| f.sent_at.checked_add(limit).is_some_and(|d| now >= d))
        {
            if let Some(f) = self.in_flight.remove(pos) {
                tracing::debug!(method = %f.method, cseq = f.cseq, "rtsp client: request timed out");
                if !f.keepalive {
                    self.events.push_back(ClientEvent::TimedOut {
                        method: f.method,
                        cseq: f.cseq,
                    });
                }
            }
        }
        if self.session.is_none() {
            return;
        }
        let Some(due) = self.last_sent.checked_add(self.keepalive_interval()) else {
            return;
        };
        if now < due {
            return;
        }
        let method = self.keepalive_method();
        let url = self.aggregate_url.clone();
        if let Err(e) = self.send_request(method, url, Headers::new(), Bytes::new(), now, true) {
            tracing::debug!(error = %e, "rtsp client: keep-alive not sent");
        }
    }

    /// Queues an interleaved frame to the server (RTP when recording over TCP, RTCP).
    pub fn send_interleaved(&mut self, channel: u8, payload: Bytes) -> Result<()> {
        let hdr = InterleavedFrame::header(channel, payload.len()).ok_or(Error::LimitExceeded {
            what: "interleaved payload bytes",
            limit: 65535,
        })?;
        self.out.extend_from_slice(&hdr);
        let h = self.out.split().freeze();
        self.transmits.push_back(h);
        self.transmits.push_back(payload);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Requests. Each returns the CSeq used.

    /// OPTIONS on the presentation URL.
    pub fn options(&mut self, now: Instant) -> Result<u32> {
        let url = self.url();
        self.send_request(
            Method::Options,
            url,
            Headers::new(),
            Bytes::new(),
            now,
            false,
        )
    }

    /// DESCRIBE (Accept: application/sdp).
    pub fn describe(&mut self, now: Instant) -> Result<u32> {
        let mut h = Headers::new();
        h.append("Accept", "application/sdp");
        let url = self.url();
        self.send_request(Method::Describe, url, h, Bytes::new(), now, false)
    }

    /// ANNOUNCE an SDP (for publishing with RECORD).
    pub fn announce(&mut self, sdp: Bytes, now: Instant) -> Result<u32> {
        let mut h = Headers::new();
        h.append("Content-Type", "application/sdp");
        let url = self.url();
        self.send_request(Method::Announce, url, h, sdp, now, false)
    }

    /// SETUP one stream at `url` (resolve it with [`weir_sdp::MediaDescription::control_url`]).
    pub fn setup(&mut self, url: &str, transport: &TransportSpec, now: Instant) -> Result<u32> {
        let mut h = Headers::new();
        h.append("Transport", transport.to_string());
        self.send_request(Method::Setup, url.to_string(), h, Bytes::new(), now, false)
    }

    /// PLAY the aggregate URL.
    pub fn play(&mut self, range: Option<&RangeSpec>, now: Instant) -> Result<u32> {
        let mut h = Headers::new();
        if let Some(r) = range {
            h.append("Range", r.to_string());
        }
        let url = self.aggregate_url.clone();
        self.send_request(Method::Play, url, h, Bytes::new(), now, false)
    }

    /// PAUSE.
    pub fn pause(&mut self, now: Instant) -> Result<u32> {
        let url = self.aggregate_url.clone();
        self.send_request(Method::Pause, url, Headers::new(), Bytes::new(), now, false)
    }

    /// RECORD.
    pub fn record(&mut self, range: Option<&RangeSpec>, now: Instant) -> Result<u32> {
        let mut h = Headers::new();
        if let Some(r) = range {
            h.append("Range", r.to_string());
        }
        let url = self.aggregate_url.clone();
        self.send_request(Method::Record, url, h, Bytes::new(), now, false)
    }

    /// TEARDOWN.
    pub fn teardown(&mut self, now: Instant) -> Result<u32> {
        let url = self.aggregate_url.clone();
        self.send_request(
            Method::Teardown,
            url,
            Headers::new(),
            Bytes::new(),
            now,
            false,
        )
    }

    /// GET_PARAMETER with an optional body (`text/parameters`).
    pub fn get_parameter(&mut self, body: Bytes, now: Instant) -> Result<u32> {
        let mut h = Headers::new();
        if !body.is_empty() {
            h.append("Content-Type", "text/parameters");
        }
        let url = self.aggregate_url.clone();
        self.send_request(Method::GetParameter, url, h, body, now, false)
    }

    /// SET_PARAMETER with a body (`text/parameters`).
    pub fn set_parameter(&mut self, body: Bytes, now: Instant) -> Result<u32> {
        let mut h = Headers::new();
        h.append("Content-Type", "text/parameters");
        let url = self.aggregate_url.clone();
        self.send_request(Method::SetParameter, url, h, body, now, false)
    }

    fn send_request(
        &mut self,
        method: Method,
        url: String,
        headers: Headers,
        body: Bytes,
        now: Instant,
        keepalive: bool,
    ) -> Result<u32> {
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return Err(Error::LimitExceeded {
                what: "requests in flight",
                limit: MAX_IN_FLIGHT,
            });
        }
        let f = InFlight {
            cseq: 0,
            method,
            url,
            headers,
            body,
            auth_retried: false,
            redirects: 0,
            keepalive,
            sent_at: now,
        };
        Ok(self.transmit(f, now))
    }

    fn transmit(&mut self, mut f: InFlight, now: Instant) -> u32 {
        let cseq = self.next_cseq;
        self.next_cseq = self.next_cseq.wrapping_add(1).max(1);
        f.cseq = cseq;
        f.sent_at = now;
        let mut req = Request::new(f.method.clone(), f.url.clone());
        req.headers.append("CSeq", cseq.to_string());
        for (k, v) in f.headers.iter() {
            req.headers.append(k, v);
        }
        req.headers
            .append("User-Agent", self.config.user_agent.clone());
        if let Some(s) = &self.session {
            if f.method != Method::Options || f.keepalive {
                req.headers.append("Session", s.id.clone());
            }
        }
        if let Some(a) = self.auth.as_mut() {
            if let Some(v) = a.authorization(f.method.as_str(), &f.url, self.rng.as_mut()) {
                req.headers.append("Authorization", v);
            }
        }
        req.body = f.body.clone();
        req.encode(&mut self.out);
        let b = self.out.split().freeze();
        self.transmits.push_back(b);
        self.last_sent = now;
        self.in_flight.push_back(f);
        cseq
    }

    /// Feeds received bytes; consumes every complete item.
    ///
    /// # Errors
    /// [`Error::Input`] when the input cannot be parsed (the session is closed from then on;
    /// later calls return [`Error::Closed`]).
    pub fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        loop {
            let item = match self.decoder.decode(buf) {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => {
                    self.closed = true;
                    let context = match self.in_flight.front() {
                        Some(f) => format!("response to {} {} (CSeq {})", f.method, f.url, f.cseq),
                        None => "input from the server".to_string(),
                    };
                    return Err(Error::Input {
                        context,
                        stream_offset: self.decoder.item_start(),
                        source: Box::new(e),
                    });
                }
            };
            match item {
                Item::Interleaved(f) => self.events.push_back(ClientEvent::Interleaved(f)),
                Item::Message(Message::Response(r)) => self.on_response(r, now)?,
                Item::Message(Message::Request(r)) => self.on_server_request(r),
            }
        }
        Ok(())
    }

    fn invalid(&mut self, f: InFlight, error: Error, response: Response) {
        self.events.push_back(ClientEvent::InvalidResponse {
            method: f.method,
            url: f.url,
            cseq: f.cseq,
            error,
            response,
        });
    }

    fn on_server_request(&mut self, req: Request) {
        let status = match req.method {
            Method::Options | Method::GetParameter | Method::SetParameter => 200,
            Method::Redirect => {
                if let Some(loc) = req.headers.location() {
                    self.events.push_back(ClientEvent::Redirect {
                        url: loc.to_string(),
                    });
                }
                200
            }
            _ => 501,
        };
        let mut r = Response::new(status);
        if let Some(c) = req.headers.get("CSeq") {
            r.headers.append("CSeq", c);
        }
        r.encode(&mut self.out);
        let b = self.out.split().freeze();
        self.transmits.push_back(b);
        self.events.push_back(ClientEvent::ServerRequest(req));
    }

    fn on_response(&mut self, r: Response, now: Instant) -> Result<()> {
        let cseq = r.headers.cseq();
        // Match by CSeq; a server that omits it answers the oldest request.
        let pos = match cseq {
            Some(c) => self.in_flight.iter().position(|f| f.cseq == c),
            None => (!self.in_flight.is_empty()).then_some(0),
        };
        let Some(pos) = pos else {
            tracing::debug!(?cseq, "rtsp client: response to no request");
            return Ok(());
        };
        let Some(mut f) = self.in_flight.remove(pos) else {
            return Ok(());
        };

        if r.status == 401 && !f.auth_retried {
            if let Some(a) = self.auth.as_mut() {
                if a.handle_challenges(r.headers.get_all("WWW-Authenticate"))
                    .is_ok()
                {
                    f.auth_retried = true;
                    self.transmit(f, now);
                    return Ok(());
                }
            }
        }
        if matches!(r.status, 301 | 302 | 303 | 307) && f.redirects < self.config.max_redirects {
            if let Some(loc) = r.headers.location() {
                // Quirk: relative `Location`s.
                let loc = crate::url::resolve_reference(&f.url, loc);
                let target = match RtspUrl::parse(&loc) {
                    Ok(t) => t,
                    Err(error) => {
                        self.invalid(f, error, r);
                        return Ok(());
                    }
                };
                if target.same_origin(&self.url) && self.session.is_none() {
                    f.redirects += 1;
                    f.url = target.without_credentials();
                    if matches!(
                        f.method,
                        Method::Options | Method::Describe | Method::Announce
                    ) {
                        // The presentation moved; keep our credentials.
                        let (u, p) = (self.url.username.clone(), self.url.password.clone());
                        self.url = RtspUrl {
                            username: u,
                            password: p,
                            ..target
                        };
                        self.aggregate_url = self.url.without_credentials();
                    }
                    self.transmit(f, now);
                } else {
                    self.events.push_back(ClientEvent::Redirect { url: loc });
                }
                return Ok(());
            }
        }
        if f.keepalive {
            if r.status == 405 || r.status == 501 {
                // Server lacks GET_PARAMETER: use OPTIONS from now on.
                self.server_public = Some(vec![Method::Options]);
            }
            return Ok(());
        }
        if !r.is_success() {
            if r.status == 454 {
                self.session = None;
                self.state = ClientState::Init;
            }
            self.events.push_back(ClientEvent::Failed {
                method: f.method,
                url: f.url,
                cseq: f.cseq,
                status: r.status,
                response: r,
            });
            return Ok(());
        }
        match f.method {
            Method::Options => {
                let public = r.headers.public().unwrap_or_default();
                self.server_public = Some(public.clone());
                self.events.push_back(ClientEvent::Options { public });
            }
            Method::Describe => {
                let base_url = crate::url::resolve_base(
                    &f.url,
                    r.headers
                        .content_base()
                        .or_else(|| r.headers.content_location()),
                );
                let sdp = match SessionDescription::parse(&r.body) {
                    Ok(sdp) => sdp,
                    Err(e) => {
                        self.invalid(f, Error::Sdp(e), r);
                        return Ok(());
                    }
                };
                self.aggregate_url = match sdp.control() {
                    Some(c) => weir_sdp::resolve_control(&base_url, c),
                    None => f.url.clone(),
                };
                self.events.push_back(ClientEvent::Described {
                    sdp: Box::new(sdp),
                    base_url,
                    raw: r.body.clone(),
                });
            }
            Method::Announce => self.events.push_back(ClientEvent::Announced),
            Method::Setup => {
                let session = match r.headers.session() {
                    Some(Ok(sess)) => sess,
                    Some(Err(e)) => {
                        self.invalid(f, e, r);
                        return Ok(());
                    }
                    None => {
                        let error = Error::MissingHeader { header: "Session" };
                        self.invalid(f, error, r);
                        return Ok(());
                    }
                };
                // Quirk: some servers omit or mangle Transport in the answer; then the
                // requested transport is what is in force.
                let answered = r
                    .headers
                    .transport()
                    .and_then(|t| t.ok())
                    .and_then(|l| l.into_iter().next());
                let requested = f
                    .headers
                    .transport()
                    .and_then(|t| t.ok())
                    .and_then(|l| l.into_iter().next());
                let Some(mut transport) = answered.or(requested.clone()) else {
                    let error = Error::MissingHeader {
                        header: "Transport",
                    };
                    self.invalid(f, error, r);
                    return Ok(());
                };
                // Quirk: an answer that drops the interleaved channels we asked for.
                if transport.is_tcp() && transport.interleaved.is_none() {
                    transport.interleaved = requested.and_then(|t| t.interleaved);
                }
                if let Some(ch) = transport.interleaved {
                    self.decoder.add_channel(ch.rtp);
                    if let Some(c) = ch.rtcp {
                        self.decoder.add_channel(c);
                    }
                }
                self.session = Some(session.clone());
                if self.state == ClientState::Init {
                    self.state = ClientState::Ready;
                }
                self.events.push_back(ClientEvent::SetupDone {
                    url: f.url,
                    transport,
                    session,
                });
            }
            Method::Play => {
                self.state = ClientState::Playing;
                let range = r.headers.range().and_then(|x| x.ok());
                let rtp_info = r
                    .headers
                    .rtp_info()
                    .and_then(|x| x.ok())
                    .unwrap_or_default();
                self.events
                    .push_back(ClientEvent::Playing { range, rtp_info });
            }
            Method::Pause => {
                self.state = ClientState::Ready;
                self.events.push_back(ClientEvent::Paused);
            }
            Method::Record => {
                self.state = ClientState::Recording;
                self.events.push_back(ClientEvent::Recording);
            }
            Method::Teardown => {
                self.session = None;
                self.state = ClientState::Init;
                self.events.push_back(ClientEvent::TornDown);
            }
            Method::GetParameter | Method::SetParameter => self
                .events
                .push_back(ClientEvent::Parameter { response: r }),
            Method::Redirect | Method::Extension(_) => {}
        }
        Ok(())
    }
}
