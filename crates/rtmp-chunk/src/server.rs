//! The sans-IO server session.

mod command;
mod requests;
mod send;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use weir_amf::{Amf0Value, CommandMessage};

use crate::conn::{Conn, SessionConfig};
use crate::handshake::{HandshakeKind, ServerHandshake};
use crate::message::Message;
use crate::{Error, Result};

/// Identifies a request the application must accept or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// What happened on a [`ServerSession`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The handshake completed.
    HandshakeDone(HandshakeKind),
    /// A `connect` command. Answer with [`ServerSession::accept_connect`] or
    /// [`ServerSession::reject_connect`].
    ConnectRequest {
        /// Request to answer.
        request: RequestId,
        /// The `app` property, without any `?query`.
        app: String,
        /// The `tcUrl` property, when present.
        tc_url: Option<String>,
        /// Query string (after `?`) found in `app` or `tcUrl`, e.g. an auth token.
        query: Option<String>,
        /// The whole command object.
        command_object: Amf0Value,
    },
    /// A `publish` command.
    PublishRequest {
        /// Request to answer.
        request: RequestId,
        /// Message stream id.
        stream_id: u32,
        /// Stream name without `?query`.
        name: String,
        /// Query string after `?` in the stream name.
        query: Option<String>,
        /// `live`, `record` or `append`.
        publish_type: String,
    },
    /// A `play` (or `play2`) command.
    PlayRequest {
        /// Request to answer.
        request: RequestId,
        /// Message stream id.
        stream_id: u32,
        /// Stream name without `?query`.
        name: String,
        /// Query string after `?` in the stream name.
        query: Option<String>,
        /// Start (-2 live or recorded, -1 live only, >= 0 position in seconds).
        start: f64,
        /// Duration (-1 = to the end).
        duration: f64,
        /// Reset flag.
        reset: bool,
    },
    /// `@setDataFrame`/`onMetaData` from a publisher.
    Metadata {
        /// Message stream id.
        stream_id: u32,
        /// Timestamp.
        timestamp: u32,
        /// The metadata object (usually an ECMA array).
        metadata: Amf0Value,
    },
    /// Another data message.
    Data {
        /// Message stream id.
        stream_id: u32,
        /// Timestamp.
        timestamp: u32,
        /// Decoded values.
        values: Vec<Amf0Value>,
    },
    /// An audio message (FLV audio tag body).
    Audio {
        /// Message stream id.
        stream_id: u32,
        /// Timestamp in ms.
        timestamp: u32,
        /// Body.
        data: Bytes,
    },
    /// A video message (FLV video tag body).
    Video {
        /// Message stream id.
        stream_id: u32,
        /// Timestamp in ms.
        timestamp: u32,
        /// Body.
        data: Bytes,
    },
    /// A publisher stopped (`FCUnpublish`, `closeStream`, `deleteStream` or connection end).
    Unpublished {
        /// Message stream id.
        stream_id: u32,
        /// Stream name.
        name: String,
    },
    /// A player stopped (`closeStream`, `deleteStream` or connection end).
    PlayStopped {
        /// Message stream id.
        stream_id: u32,
        /// Stream name.
        name: String,
    },
    /// `pause` from a player (already answered with a status).
    Pause {
        /// Message stream id.
        stream_id: u32,
        /// True to pause, false to resume.
        pause: bool,
        /// Position in ms.
        ms: f64,
    },
    /// `seek` from a player (already answered with a status).
    Seek {
        /// Message stream id.
        stream_id: u32,
        /// Position in ms.
        ms: f64,
    },
    /// The peer asked for a buffer length (User Control 3).
    BufferLength {
        /// Message stream id.
        stream_id: u32,
        /// Buffer in ms.
        ms: u32,
    },
    /// A command the session does not handle itself; reply with
    /// [`ServerSession::send_command`] if needed.
    Command {
        /// Message stream id.
        stream_id: u32,
        /// The command.
        command: CommandMessage,
    },
    /// The session ended ([`ServerSession::handle_eof`] or a rejected connect).
    Closed,
}

#[derive(Debug, Clone, PartialEq)]
enum StreamMode {
    Idle,
    PublishPending(String),
    Publishing(String),
    PlayPending(String),
    Playing(String),
}

#[derive(Debug)]
struct Stream {
    id: u32,
    mode: StreamMode,
}

#[derive(Debug)]
enum Pending {
    Connect {
        tid: f64,
        object_encoding: f64,
    },
    Publish {
        stream_id: u32,
        name: String,
    },
    Play {
        stream_id: u32,
        name: String,
        reset: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    AwaitConnect,
    ConnectPending,
    Connected,
    Closed,
}

/// A server-side RTMP connection without IO.
///
/// Feed received bytes to [`handle_input`](Self::handle_input), then drain
/// [`poll_event`](Self::poll_event) and [`poll_transmit`](Self::poll_transmit).
/// `releaseStream`, `FCPublish`, `createStream`, `getStreamLength`, pings, window
/// acknowledgements and chunk-size changes are answered automatically; `connect`,
/// `publish` and `play` wait for the application's decision.
///
/// ```
/// use bytes::BytesMut;
/// use weir_rtmp_chunk::{ClientConfig, ClientEvent, ClientSession, ServerEvent, ServerSession, SessionConfig};
///
/// let mut server = ServerSession::new(SessionConfig::default());
/// let mut client = ClientSession::new(ClientConfig::new("live", "rtmp://localhost/live"));
/// client.publish("cam1?token=s3cret", "live").unwrap();
/// let mut published = None;
/// // One buffer per direction stands in for the two halves of a socket.
/// let (mut to_server, mut to_client) = (BytesMut::new(), BytesMut::new());
/// for _ in 0..20 {
///     client.transmit_into(&mut to_server);
///     server.handle_input(&mut to_server).unwrap();
///     server.transmit_into(&mut to_client);
///     client.handle_input(&mut to_client).unwrap();
///     while let Some(ev) = server.poll_event() {
///         match ev {
///             ServerEvent::ConnectRequest { request, .. } => server.accept_connect(request).unwrap(),
///             ServerEvent::PublishRequest { request, name, query, .. } => {
///                 published = Some((name, query));
///                 server.accept_publish(request).unwrap();
///             }
///             _ => {}
///         }
///     }
///     while let Some(ev) = client.poll_event() {
///         if let ClientEvent::PublishStarted { .. } = ev {
///             client.send_video(0, bytes::Bytes::from_static(&[0x17, 0, 0, 0, 0])).unwrap();
///         }
///     }
/// }
/// assert_eq!(published, Some(("cam1".to_string(), Some("token=s3cret".to_string()))));
/// ```
pub struct ServerSession {
    cfg: SessionConfig,
    /// Dropped once complete to keep per-connection state small.
    handshake: Option<Box<ServerHandshake>>,
    conn: Conn,
    phase: Phase,
    events: VecDeque<ServerEvent>,
    pending: Vec<(RequestId, Pending)>,
    next_request: u64,
    streams: Vec<Stream>,
    next_stream_id: u32,
    input: BytesMut,
}

impl ServerSession {
    /// A new session waiting for the client's C0+C1.
    pub fn new(cfg: SessionConfig) -> Self {
        let handshake = ServerHandshake::new(cfg.handshake.clone());
        let conn = Conn::new(&cfg);
        ServerSession {
            cfg,
            handshake: Some(Box::new(handshake)),
            conn,
            phase: Phase::Handshake,
            events: VecDeque::new(),
            pending: Vec::new(),
            next_request: 1,
            streams: Vec::new(),
            next_stream_id: 1,
            input: BytesMut::new(),
        }
    }

    /// Processes received bytes. Consumes everything that forms complete chunks and
    /// leaves a partial chunk in `buf`.
    pub fn handle_input(&mut self, buf: &mut BytesMut) -> Result<()> {
        if self.phase == Phase::Closed {
            buf.clear();
            return Ok(());
        }
        if self.phase == Phase::Handshake {
            let before = buf.len();
            let Some(hs) = self.handshake.as_mut() else {
                return Err(Error::InvalidState("handshake state missing"));
            };
            let done = hs.handle_input(buf, self.conn.out())?;
            let kind = hs.kind();
            self.conn.count_received(before.saturating_sub(buf.len()))?;
            if !done {
                return Ok(());
            }
            self.phase = Phase::AwaitConnect;
            self.handshake = None;
            if let Some(kind) = kind {
                self.events.push_back(ServerEvent::HandshakeDone(kind));
            }
        }
        while self.phase != Phase::Closed {
            if self.events.len() >= self.cfg.max_pending_events {
                return Err(Error::BufferLimit {
                    len: self.events.len(),
                    limit: self.cfg.max_pending_events,
                });
            }
            let Some(raw) = self.conn.decode(buf)? else {
                break;
            };
            let msg = match Message::decode(&raw, self.conn.amf_limits) {
                Ok(m) => m,
                // Quirk tolerance: a malformed data message (odd metadata from some
                // encoders) is dropped; malformed commands and control messages fail.
                Err(e @ Error::Amf { what: "data", .. }) => {
                    tracing::warn!(error = %e, "dropping malformed data message");
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.handle_message(raw.header, msg)?;
        }
        Ok(())
    }

    /// Like [`handle_input`](Self::handle_input) for a borrowed slice; partial chunks are
    /// kept in an internal buffer bounded by the maximum message size.
    pub fn handle_bytes(&mut self, data: &[u8]) -> Result<()> {
        let mut buf = std::mem::take(&mut self.input);
        buf.extend_from_slice(data);
        let r = self.handle_input(&mut buf);
        let limit = self.cfg.limits.max_message_size as usize + 4096;
        if buf.len() > limit {
            return Err(Error::BufferLimit {
                len: buf.len(),
                limit,
            });
        }
        self.input = buf;
        r
    }

    /// The connection ended: emits `Unpublished`/`PlayStopped` for active streams, then `Closed`.
    pub fn handle_eof(&mut self) {
        if self.phase == Phase::Closed {
            return;
        }
        for s in std::mem::take(&mut self.streams) {
            self.stop_stream_event(s.id, s.mode);
        }
        self.phase = Phase::Closed;
        self.events.push_back(ServerEvent::Closed);
    }

    /// Next event, if any.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Frees the capacity the session keeps for events, requests and output it does not
    /// hold now (what it queued stays queued). For servers with many long-lived,
    /// quiet sessions — players — call it once the session is waiting: growing again
    /// costs an allocation when the peer next speaks.
    pub fn shrink_to_fit(&mut self) {
        self.events.shrink_to_fit();
        self.pending.shrink_to_fit();
        self.streams.shrink_to_fit();
        self.conn.shrink_to_fit();
    }

    /// Next bytes to send, if any. Shared media chunks come out as their own `Bytes`.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.conn.poll_transmit()
    }

    /// Appends all pending output to `dst`; returns the number of bytes.
    pub fn transmit_into(&mut self, dst: &mut BytesMut) -> usize {
        self.conn.transmit_into(dst)
    }

    /// Bytes waiting in the transmit queue (for backpressure decisions).
    pub fn pending_transmit(&self) -> usize {
        self.conn.pending_transmit()
    }

    /// Total bytes received so far.
    pub fn bytes_received(&self) -> u64 {
        self.conn.bytes_received()
    }

    /// True after a rejected connect or [`handle_eof`](Self::handle_eof); the
    /// application should close the socket once transmits are drained.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    fn take_pending(&mut self, req: RequestId) -> Result<Pending> {
        let i = self
            .pending
            .iter()
            .position(|(r, _)| *r == req)
            .ok_or(Error::Unknown {
                what: "request",
                id: req.0,
            })?;
        Ok(self.pending.remove(i).1)
    }

    fn new_request(&mut self, p: Pending) -> RequestId {
        let r = RequestId(self.next_request);
        self.next_request += 1;
        self.pending.push((r, p));
        r
    }

    fn stream_mut(&mut self, id: u32) -> Option<&mut Stream> {
        self.streams.iter_mut().find(|s| s.id == id)
    }

    fn ensure_stream(&mut self, id: u32) -> Result<&mut Stream> {
        if id == 0 {
            return Err(Error::Malformed {
                what: "command",
                reason: "media command on stream 0",
            });
        }
        if let Some(i) = self.streams.iter().position(|s| s.id == id) {
            return self.streams.get_mut(i).ok_or(Error::Unknown {
                what: "stream",
                id: u64::from(id),
            });
        }
        if self.streams.len() >= self.cfg.max_streams {
            return Err(Error::BufferLimit {
                len: self.streams.len() + 1,
                limit: self.cfg.max_streams,
            });
        }
        self.streams.push(Stream {
            id,
            mode: StreamMode::Idle,
        });
        self.streams.last_mut().ok_or(Error::Unknown {
            what: "stream",
            id: u64::from(id),
        })
    }

    fn stop_stream_event(&mut self, stream_id: u32, mode: StreamMode) {
        match mode {
            StreamMode::Publishing(name) => self
                .events
                .push_back(ServerEvent::Unpublished { stream_id, name }),
            StreamMode::Playing(name) => self
                .events
                .push_back(ServerEvent::PlayStopped { stream_id, name }),
            _ => {}
        }
    }
}
