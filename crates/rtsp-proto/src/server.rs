//! Sans-IO RTSP server side of one TCP connection.
//!
//! Feed bytes with [`ServerSession::handle_input`], drain [`ServerSession::poll_transmit`] to the
//! socket, and answer the [`ServerEvent`]s that need the application (DESCRIBE, ANNOUNCE, SETUP,
//! PLAY, PAUSE, RECORD, parameters with a body). Everything else — OPTIONS, keep-alives,
//! TEARDOWN, authentication, state checks (455), session checks (454), transport checks (461),
//! version and `Require` checks — is answered here.
//!
//! Requests are answered strictly in order: while one waits for the application, later
//! pipelined requests are queued (interleaved frames are still delivered at once).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::auth::{AuthConfig, AuthOutcome, Authenticator};
use crate::codec::{Decoder, Item, Limits};
use crate::error::{Error, Result};
use crate::headers::{RangeSpec, RtpInfo, SessionHeader, TransportSpec};
use crate::message::{InterleavedFrame, Message, Method, Request, Response, Version};
use crate::RandomSource;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Decoder limits.
    pub limits: Limits,
    /// Session timeout announced in `Session: …;timeout=` and enforced by `handle_timeout`.
    /// Use at least 2 s: ffmpeg halves it in whole seconds and, at 1 s, sends a keep-alive with
    /// every packet.
    pub session_timeout: Duration,
    /// Authentication; `None` for an open server. OPTIONS is never challenged.
    pub auth: Option<AuthConfig>,
    /// `Server` header value.
    pub server_name: String,
    /// Accept `RTP/AVP` (UDP) transports.
    pub allow_udp: bool,
    /// Accept `RTP/AVP/TCP` interleaved transports.
    pub allow_tcp: bool,
    /// Accept multicast transports.
    pub allow_multicast: bool,
    /// How many pipelined requests may wait behind one the application has not answered.
    pub max_queued_requests: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            session_timeout: Duration::from_secs(60),
            auth: None,
            server_name: concat!("weir-rtsp-proto/", env!("CARGO_PKG_VERSION")).to_string(),
            allow_udp: true,
            allow_tcp: true,
            allow_multicast: false,
            max_queued_requests: 16,
        }
    }
}

/// RTSP session state (RFC 2326 Appendix A.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// No session, or torn down.
    Init,
    /// SETUP done, not playing or recording.
    Ready,
    /// PLAY accepted.
    Playing,
    /// RECORD accepted.
    Recording,
}

/// Identifies a request waiting for the application's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(u64);

/// What the application must (or may) react to.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// DESCRIBE: answer with [`ServerSession::respond_describe`] or [`ServerSession::reject`] (404).
    Describe {
        /// Answer handle.
        id: RequestId,
        /// The request.
        request: Request,
    },
    /// ANNOUNCE with an SDP body: [`ServerSession::accept_announce`] or reject.
    Announce {
        /// Answer handle.
        id: RequestId,
        /// The request (SDP in `request.body`).
        request: Request,
    },
    /// SETUP: pick one of `transports` (already filtered by the config) and
    /// [`ServerSession::accept_setup`] with the server side filled in, or reject (461, 459, 404).
    Setup {
        /// Answer handle.
        id: RequestId,
        /// The request.
        request: Request,
        /// Acceptable transports from the `Transport` header, client preference order.
        transports: Vec<TransportSpec>,
    },
    /// PLAY: [`ServerSession::accept_play`] or reject.
    Play {
        /// Answer handle.
        id: RequestId,
        /// The request.
        request: Request,
        /// Requested range.
        range: Option<RangeSpec>,
    },
    /// PAUSE while playing or recording: [`ServerSession::accept_pause`].
    Pause {
        /// Answer handle.
        id: RequestId,
        /// The request.
        request: Request,
    },
    /// RECORD: [`ServerSession::accept_record`] or reject.
    Record {
        /// Answer handle.
        id: RequestId,
        /// The request.
        request: Request,
        /// Requested range.
        range: Option<RangeSpec>,
    },
    /// GET_PARAMETER or SET_PARAMETER with a body: answer with [`ServerSession::respond`].
    /// (Without a body they are keep-alives and answered automatically.)
    Parameter {
        /// Answer handle.
        id: RequestId,
        /// The request.
        request: Request,
    },
    /// The client tore the session down (already answered).
    Teardown {
        /// The session that ended.
        session_id: String,
    },
    /// An interleaved frame from the client (RTP when recording, RTCP).
    Interleaved(InterleavedFrame),
    /// No request or [`ServerSession::touch`] within the session timeout; the session is gone.
    SessionTimedOut {
        /// The session that expired.
        session_id: String,
    },
}

#[derive(Debug)]
struct Awaiting {
    id: RequestId,
    method: Method,
    cseq: String,
    uri: String,
    body: Option<Bytes>,
}

/// The server side of one RTSP connection. See the module docs.
pub struct ServerSession {
    config: ServerConfig,
    decoder: Decoder,
    rng: Box<dyn RandomSource + Send>,
    auth: Option<Authenticator>,
    state: SessionState,
    session_id: Option<String>,
    last_activity: Instant,
    now: Instant,
    next_id: u64,
    awaiting: Option<Awaiting>,
    queued: VecDeque<Request>,
    events: VecDeque<ServerEvent>,
    transmits: VecDeque<Bytes>,
    out: BytesMut,
    closed: bool,
    /// Aggregate URL and per-track URLs of the presentation described or announced on this
    /// connection, for the 459/460 aggregate checks.
    presentation: Option<(String, Vec<String>)>,
    /// URLs accepted by SETUP.
    setup_urls: Vec<String>,
    /// Interleaved channels of accepted SETUPs.
    used_channels: Vec<u8>,
}

fn norm_url(u: &str) -> &str {
    u.trim().trim_end_matches('/')
}

fn presentation_of(base: &str, sdp: &[u8]) -> Option<(String, Vec<String>)> {
    let d = weir_sdp::SessionDescription::parse(sdp).ok()?;
    let aggregate = match d.control() {
        Some(c) => weir_sdp::resolve_control(base, c),
        None => base.to_string(),
    };
    let tracks = d.media.iter().map(|m| m.control_url(&d, base)).collect();
    Some((aggregate, tracks))
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("state", &self.state)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

const PUBLIC: &str = "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

impl ServerSession {
    /// A session for a newly accepted connection.
    pub fn new(
        config: ServerConfig,
        rng: Box<dyn RandomSource + Send>,
        now: Instant,
    ) -> ServerSession {
        ServerSession {
            decoder: Decoder::new(config.limits),
            auth: config.auth.clone().map(Authenticator::new),
            config,
            rng,
            state: SessionState::Init,
            session_id: None,
            last_activity: now,
            now,
            next_id: 0,
            awaiting: None,
            queued: VecDeque::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            out: BytesMut::with_capacity(4096),
            closed: false,
            presentation: None,
            setup_urls: Vec::new(),
            used_channels: Vec::new(),
        }
    }

    /// Current state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Current session id, once SETUP succeeded.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// True after a fatal protocol error: write out the pending transmits, then close.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Feeds received bytes; consumes every complete item from `buf`.
    ///
    /// A malformed message queues `400 Bad Request`, closes the session and returns the error.
    pub fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        self.now = now;
        loop {
            let item = match self.decoder.decode(buf) {
                Ok(Some(i)) => i,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "rtsp server: bad input, closing");
                    let status = match e {
                        Error::UnsupportedVersion { .. } => 505,
                        Error::LimitExceeded {
                            what: "body bytes", ..
                        } => 413,
                        Error::LimitExceeded { .. } => 400,
                        _ => 400,
                    };
                    let mut r = Response::new(status);
                    r.headers.append("Server", self.config.server_name.clone());
                    r.encode(&mut self.out);
                    let b = self.out.split().freeze();
                    self.transmits.push_back(b);
                    self.closed = true;
                    return Err(e);
                }
            };
            match item {
                Item::Interleaved(f) => {
                    if self.session_id.is_some() {
                        self.last_activity = now;
                    }
                    self.events.push_back(ServerEvent::Interleaved(f));
                }
                Item::Message(Message::Response(r)) => {
                    tracing::debug!(
                        status = r.status,
                        "rtsp server: ignoring response from client"
                    );
                }
                Item::Message(Message::Request(req)) => {
                    if self.queued.len() >= self.config.max_queued_requests {
                        self.closed = true;
                        return Err(Error::LimitExceeded {
                            what: "queued requests",
                            limit: self.config.max_queued_requests,
                        });
                    }
                    self.queued.push_back(req);
                    // Answer now when nothing is waiting, so events keep wire order.
                    self.drain_queue();
                }
            }
        }
        self.drain_queue();
        Ok(())
    }

    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Next bytes to write to the connection, in order.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmits.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session_id
            .as_ref()
            .and_then(|_| self.last_activity.checked_add(self.config.session_timeout))
    }

    /// Expires the session when its timeout passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if let Some(deadline) = self.poll_timeout() {
            if now >= deadline {
                if let Some(id) = self.session_id.take() {
                    tracing::debug!(session = %id, "rtsp server: session timed out");
                    self.state = SessionState::Init;
                    self.setup_urls.clear();
                    self.used_channels.clear();
                    self.events
                        .push_back(ServerEvent::SessionTimedOut { session_id: id });
                }
            }
        }
    }

    /// Records liveness from outside the RTSP connection (e.g. RTCP receiver reports over UDP).
    pub fn touch(&mut self, now: Instant) {
        self.last_activity = now;
    }

    /// Queues an interleaved frame (`$`, channel, length, payload) without copying the payload.
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
    // Answers.

    fn take_awaiting(&mut self, id: RequestId, expect: &[Method]) -> Result<Awaiting> {
        match &self.awaiting {
            Some(a) if a.id == id => {
                if !expect.is_empty() && !expect.contains(&a.method) {
                    return Err(Error::InvalidUse {
                        reason: "answer does not fit the request's method",
                    });
                }
            }
            _ => {
                return Err(Error::InvalidUse {
                    reason: "no such pending request",
                })
            }
        }
        self.awaiting.take().ok_or(Error::InvalidUse {
            reason: "no such pending request",
        })
    }

    /// Answers DESCRIBE with an SDP body. `content_base` defaults to the request URL plus `/`.
    pub fn respond_describe(
        &mut self,
        id: RequestId,
        sdp: Bytes,
        content_base: Option<&str>,
    ) -> Result<()> {
        let a = self.take_awaiting(id, &[Method::Describe])?;
        let mut r = Response::new(200);
        let base = match content_base {
            Some(b) => b.to_string(),
            None if a.uri.ends_with('/') => a.uri.clone(),
            None => format!("{}/", a.uri),
        };
        self.presentation = presentation_of(&base, &sdp);
        r.headers.append("Content-Base", base);
        r.headers.append("Content-Type", "application/sdp");
        r.body = sdp;
        self.send(&a.cseq, r);
        self.drain_queue();
        Ok(())
    }

    /// Accepts an ANNOUNCE.
    pub fn accept_announce(&mut self, id: RequestId) -> Result<()> {
        let a = self.take_awaiting(id, &[Method::Announce])?;
        self.presentation = a.body.as_ref().and_then(|b| presentation_of(&a.uri, b));
        self.send(&a.cseq, Response::new(200));
        self.drain_queue();
        Ok(())
    }

    /// Accepts a SETUP with the chosen transport (echoed in the `Transport` header; fill in
    /// `server_port`, `ssrc`, `interleaved` as applicable). Creates the session on the first SETUP.
    pub fn accept_setup(&mut self, id: RequestId, transport: &TransportSpec) -> Result<()> {
        let a = self.take_awaiting(id, &[Method::Setup])?;
        if self.session_id.is_none() {
            self.session_id = Some(format!("{:016X}", self.rng.next_u64()));
        }
        if self.state == SessionState::Init {
            self.state = SessionState::Ready;
        }
        self.last_activity = self.now;
        self.setup_urls.push(a.uri.clone());
        if let Some(p) = transport.interleaved.filter(|_| transport.is_tcp()) {
            self.used_channels.push(p.rtp);
            self.used_channels.extend(p.rtcp);
        }
        let mut r = Response::new(200);
        r.headers.append("Transport", transport.to_string());
        self.send(&a.cseq, r);
        self.drain_queue();
        Ok(())
    }

    /// Accepts PLAY: state becomes Playing. Send media after draining this response.
    pub fn accept_play(
        &mut self,
        id: RequestId,
        range: Option<&RangeSpec>,
        rtp_info: &[RtpInfo],
    ) -> Result<()> {
        let a = self.take_awaiting(id, &[Method::Play])?;
        self.state = SessionState::Playing;
        let mut r = Response::new(200);
        if let Some(range) = range {
            r.headers.append("Range", range.to_string());
        }
        if !rtp_info.is_empty() {
            r.headers
                .append("RTP-Info", RtpInfo::list_to_string(rtp_info));
        }
        self.send(&a.cseq, r);
        self.drain_queue();
        Ok(())
    }

    /// Accepts PAUSE: state becomes Ready.
    pub fn accept_pause(&mut self, id: RequestId) -> Result<()> {
        let a = self.take_awaiting(id, &[Method::Pause])?;
        self.state = SessionState::Ready;
        self.send(&a.cseq, Response::new(200));
        self.drain_queue();
        Ok(())
    }

    /// Accepts RECORD: state becomes Recording.
    pub fn accept_record(&mut self, id: RequestId) -> Result<()> {
        let a = self.take_awaiting(id, &[Method::Record])?;
        self.state = SessionState::Recording;
        self.send(&a.cseq, Response::new(200));
        self.drain_queue();
        Ok(())
    }

    /// Rejects any pending request with `status` (404, 403, 459, 461, …). State is unchanged.
    pub fn reject(&mut self, id: RequestId, status: u16) -> Result<()> {
        let a = self.take_awaiting(id, &[])?;
        self.send(&a.cseq, Response::new(status));
        self.drain_queue();
        Ok(())
    }

    /// Answers any pending request with a custom response (`CSeq`, `Session`, `Server` are
    /// added). State is unchanged; prefer the typed `accept_*` methods.
    pub fn respond(&mut self, id: RequestId, response: Response) -> Result<()> {
        let a = self.take_awaiting(id, &[])?;
        self.send(&a.cseq, response);
        self.drain_queue();
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Internals.

    /// Lowest even channel `n` with `n` and `n + 1` unused.
    fn free_channel_pair(&self) -> Option<crate::headers::Pair<u8>> {
        (0u8..=254)
            .step_by(2)
            .find(|n| !self.used_channels.contains(n) && !self.used_channels.contains(&(n + 1)))
            .map(|n| crate::headers::Pair::new(n, n + 1))
    }

    fn send(&mut self, cseq: &str, mut r: Response) {
        let mut headers = crate::message::Headers::new();
        headers.append("CSeq", cseq);
        for (k, v) in r
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("CSeq"))
        {
            headers.append(k, v);
        }
        r.headers = headers;
        if let Some(id) = &self.session_id {
            if r.headers.get("Session").is_none() {
                let timeout =
                    u32::try_from(self.config.session_timeout.as_secs()).unwrap_or(u32::MAX);
                r.headers.append(
                    "Session",
                    SessionHeader {
                        id: id.clone(),
                        timeout: Some(timeout),
                    }
                    .to_string(),
                );
            }
        }
        r.headers.append("Server", self.config.server_name.clone());
        r.encode(&mut self.out);
        let b = self.out.split().freeze();
        self.transmits.push_back(b);
    }

    fn simple(&mut self, cseq: &str, status: u16) {
        self.send(cseq, Response::new(status));
    }

    fn drain_queue(&mut self) {
        while self.awaiting.is_none() {
            let Some(req) = self.queued.pop_front() else {
                break;
            };
            self.process(req);
        }
    }

    fn await_app(&mut self, req: &Request, cseq: String) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        let body = (req.method == Method::Announce).then(|| req.body.clone());
        self.awaiting = Some(Awaiting {
            id,
            method: req.method.clone(),
            cseq,
            uri: req.uri.clone(),
            body,
        });
        id
    }

    fn process(&mut self, req: Request) {
        let Some(cseq) = req.headers.get("CSeq").map(str::to_string) else {
            // RFC 2326 §12.17: CSeq is mandatory.
            let mut r = Response::new(400);
            r.headers.append("Server", self.config.server_name.clone());
            r.encode(&mut self.out);
            let b = self.out.split().freeze();
            self.transmits.push_back(b);
            return;
        };
        if req.version != Version::Rtsp10 {
            return self.simple(&cseq, 505);
        }
        let require = req.headers.require();
        if !require.is_empty() {
            let mut r = Response::new(551);
            r.headers.append("Unsupported", require.join(", "));
            return self.send(&cseq, r);
        }
        if req.method != Method::Options {
            if let Some(auth) = self.auth.as_mut() {
                let outcome = auth.verify(
                    req.method.as_str(),
                    &req.uri,
                    req.headers.get("Authorization"),
                    self.now,
                    self.rng.as_mut(),
                );
                match outcome {
                    AuthOutcome::Granted { username } => {
                        tracing::trace!(%username, "rtsp server: authenticated")
                    }
                    AuthOutcome::Challenge(values) => {
                        let mut r = Response::new(401);
                        for v in values {
                            r.headers.append("WWW-Authenticate", v);
                        }
                        return self.send(&cseq, r);
                    }
                }
            }
        }
        // Session checks (RFC 2326 §12.37): a Session header must name our session.
        let session_hdr = match req.headers.session() {
            Some(Ok(s)) => Some(s),
            Some(Err(_)) => return self.simple(&cseq, 454),
            None => None,
        };
        if let Some(s) = &session_hdr {
            if self.session_id.as_deref() != Some(s.id.as_str()) {
                return self.simple(&cseq, 454);
            }
        }
        let has_session = self.session_id.is_some();
        if session_hdr.is_some() || has_session {
            self.last_activity = self.now;
        }
        // Methods that act on a session need it named once it exists.
        let needs_session = matches!(
            req.method,
            Method::Play | Method::Pause | Method::Record | Method::Teardown
        );
        if needs_session && has_session && session_hdr.is_none() {
            return self.simple(&cseq, 454);
        }
        // RFC 2326 §11.3.12: with several streams set up, PLAY/PAUSE/RECORD on one stream's URL
        // is refused (460); this server controls the presentation as a whole.
        let is_aggregate = self
            .presentation
            .as_ref()
            .is_some_and(|(agg, _)| norm_url(agg) == norm_url(&req.uri));
        if matches!(req.method, Method::Play | Method::Pause | Method::Record)
            && self.setup_urls.len() > 1
            && !is_aggregate
            && self
                .setup_urls
                .iter()
                .any(|u| norm_url(u) == norm_url(&req.uri))
        {
            return self.simple(&cseq, 460);
        }
        match req.method {
            Method::Options => {
                let mut r = Response::new(200);
                r.headers.append("Public", PUBLIC);
                self.send(&cseq, r);
            }
            Method::Describe => {
                let id = self.await_app(&req, cseq);
                self.events
                    .push_back(ServerEvent::Describe { id, request: req });
            }
            Method::Announce => {
                if req.body.is_empty() {
                    return self.simple(&cseq, 400);
                }
                let id = self.await_app(&req, cseq);
                self.events
                    .push_back(ServerEvent::Announce { id, request: req });
            }
            Method::Setup => {
                if matches!(self.state, SessionState::Playing | SessionState::Recording) {
                    // Changing transports while streaming is not supported (RFC 2326 §10.4 allows 455).
                    return self.simple(&cseq, 455);
                }
                let transports = match req.headers.transport() {
                    None => return self.simple(&cseq, 400),
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "rtsp server: unparsable Transport");
                        return self.simple(&cseq, 461);
                    }
                    Some(Ok(list)) => list,
                };
                let usable: Vec<TransportSpec> = transports
                    .into_iter()
                    .filter(|t| {
                        t.protocol.eq_ignore_ascii_case("RTP")
                            && (t.profile.eq_ignore_ascii_case("AVP")
                                || t.profile.eq_ignore_ascii_case("AVPF"))
                    })
                    .filter(|t| {
                        if t.is_tcp() {
                            self.config.allow_tcp
                        } else {
                            self.config.allow_udp
                        }
                    })
                    .filter(|t| {
                        self.config.allow_multicast
                            || t.delivery != Some(crate::headers::Delivery::Multicast)
                    })
                    .filter(|t| {
                        t.is_tcp()
                            || t.client_port.is_some()
                            || t.delivery == Some(crate::headers::Delivery::Multicast)
                    })
                    .map(|mut t| {
                        // RFC 2326 §12.39: without `interleaved` the server picks the channels.
                        if t.is_tcp() && t.interleaved.is_none() {
                            t.interleaved = self.free_channel_pair();
                        }
                        t
                    })
                    .filter(|t| !t.is_tcp() || t.interleaved.is_some())
                    .collect();
                if usable.is_empty() {
                    return self.simple(&cseq, 461);
                }
                if let Some((aggregate, tracks)) = &self.presentation {
                    // RFC 2326 §11.3.11: SETUP names one stream; the aggregate URL of a
                    // multi-stream presentation is refused with 459.
                    if tracks.len() > 1 && norm_url(aggregate) == norm_url(&req.uri) {
                        return self.simple(&cseq, 459);
                    }
                }
                let id = self.await_app(&req, cseq);
                self.events.push_back(ServerEvent::Setup {
                    id,
                    request: req,
                    transports: usable,
                });
            }
            Method::Play => {
                if !has_session || self.state == SessionState::Recording {
                    return self.simple(&cseq, 455);
                }
                let range = match req.headers.range() {
                    Some(Ok(r)) => Some(r),
                    Some(Err(_)) => return self.simple(&cseq, 457),
                    None => None,
                };
                let id = self.await_app(&req, cseq);
                self.events.push_back(ServerEvent::Play {
                    id,
                    request: req,
                    range,
                });
            }
            Method::Pause => match self.state {
                SessionState::Init => self.simple(&cseq, 455),
                SessionState::Ready => self.simple(&cseq, 200),
                SessionState::Playing | SessionState::Recording => {
                    let id = self.await_app(&req, cseq);
                    self.events
                        .push_back(ServerEvent::Pause { id, request: req });
                }
            },
            Method::Record => {
                if !has_session || self.state == SessionState::Playing {
                    return self.simple(&cseq, 455);
                }
                let range = match req.headers.range() {
                    Some(Ok(r)) => Some(r),
                    Some(Err(_)) => return self.simple(&cseq, 457),
                    None => None,
                };
                let id = self.await_app(&req, cseq);
                self.events.push_back(ServerEvent::Record {
                    id,
                    request: req,
                    range,
                });
            }
            Method::Teardown => {
                if !has_session {
                    return self.simple(&cseq, 455);
                }
                self.simple(&cseq, 200);
                if let Some(id) = self.session_id.take() {
                    self.state = SessionState::Init;
                    self.setup_urls.clear();
                    self.used_channels.clear();
                    self.events
                        .push_back(ServerEvent::Teardown { session_id: id });
                }
            }
            Method::GetParameter | Method::SetParameter => {
                if req.body.is_empty() {
                    // Keep-alive.
                    self.simple(&cseq, 200);
                } else {
                    let id = self.await_app(&req, cseq);
                    self.events
                        .push_back(ServerEvent::Parameter { id, request: req });
                }
            }
            Method::Redirect | Method::Extension(_) => {
                let mut r = Response::new(501);
                r.headers.append("Public", PUBLIC);
                self.send(&cseq, r);
            }
        }
    }
}
