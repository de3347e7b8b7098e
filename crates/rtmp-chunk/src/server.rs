//! The sans-IO server session.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use weir_amf::{Amf0Value, CommandMessage};

use crate::chunk::{MessageHeader, PreparedMessage};
use crate::conn::{split_query, Conn, SessionConfig};
use crate::handshake::{HandshakeKind, ServerHandshake};
use crate::message::{commands, csid, metadata_of, split_aggregate, type_id, Message, UserControl};
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

    /// Our outgoing chunk size (for [`PreparedMessage`]s).
    pub fn chunk_size(&self) -> u32 {
        self.conn.encoder.chunk_size()
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

    /// Accepts a `connect`: sends Window Acknowledgement Size, Set Peer Bandwidth, Set
    /// Chunk Size and `_result` with `NetConnection.Connect.Success`.
    pub fn accept_connect(&mut self, request: RequestId) -> Result<()> {
        let Pending::Connect {
            tid,
            object_encoding,
        } = self.take_pending(request)?
        else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        self.conn
            .send_control(&Message::WindowAckSize(self.cfg.window_ack_size))?;
        self.conn.send_control(&Message::SetPeerBandwidth {
            size: self.cfg.peer_bandwidth,
            limit_type: 2,
        })?;
        self.conn.set_chunk_size(self.cfg.chunk_size)?;
        let props = Amf0Value::object([
            ("fmsVer", "FMS/3,5,7,7009".into()),
            ("capabilities", 31.0.into()),
            ("mode", 1.0.into()),
        ]);
        let mut info = commands::status_info(
            "status",
            "NetConnection.Connect.Success",
            "Connection succeeded.",
        );
        if let Some(p) = info.properties_mut() {
            p.push(("objectEncoding".into(), object_encoding.into()));
        }
        self.conn
            .send_command(csid::COMMAND, 0, commands::result(tid, props, info))?;
        self.phase = Phase::Connected;
        Ok(())
    }

    /// Rejects a `connect` with `NetConnection.Connect.Rejected` and closes the session.
    pub fn reject_connect(&mut self, request: RequestId, description: &str) -> Result<()> {
        let Pending::Connect { tid, .. } = self.take_pending(request)? else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        let info = commands::status_info("error", "NetConnection.Connect.Rejected", description);
        self.conn.send_command(
            csid::COMMAND,
            0,
            commands::error(tid, Amf0Value::Null, info),
        )?;
        self.phase = Phase::Closed;
        self.events.push_back(ServerEvent::Closed);
        Ok(())
    }

    /// Accepts a `publish`: sends Stream Begin and `NetStream.Publish.Start`.
    pub fn accept_publish(&mut self, request: RequestId) -> Result<()> {
        let Pending::Publish { stream_id, name } = self.take_pending(request)? else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        if let Some(s) = self.stream_mut(stream_id) {
            s.mode = StreamMode::Publishing(name.clone());
        }
        self.conn
            .send_control(&Message::UserControl(UserControl::StreamBegin(stream_id)))?;
        let cmd = commands::on_status(
            "status",
            "NetStream.Publish.Start",
            &format!("{name} is now published."),
        );
        self.conn.send_command(csid::DATA, stream_id, cmd)
    }

    /// Rejects a `publish` with an error status (`code` e.g. `NetStream.Publish.BadName`
    /// for a name already in use, `NetStream.Publish.Denied` for an auth failure).
    pub fn reject_publish(
        &mut self,
        request: RequestId,
        code: &str,
        description: &str,
    ) -> Result<()> {
        let Pending::Publish { stream_id, .. } = self.take_pending(request)? else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        if let Some(s) = self.stream_mut(stream_id) {
            s.mode = StreamMode::Idle;
        }
        self.conn.send_command(
            csid::DATA,
            stream_id,
            commands::on_status("error", code, description),
        )
    }

    /// Accepts a `play`: sends Stream Begin, `NetStream.Play.Reset` (when requested),
    /// `NetStream.Play.Start` and `|RtmpSampleAccess`. Then send
    /// media with [`send_audio`](Self::send_audio) and friends.
    pub fn accept_play(&mut self, request: RequestId) -> Result<()> {
        let Pending::Play {
            stream_id,
            name,
            reset,
        } = self.take_pending(request)?
        else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        if let Some(s) = self.stream_mut(stream_id) {
            s.mode = StreamMode::Playing(name.clone());
        }
        self.conn
            .send_control(&Message::UserControl(UserControl::StreamBegin(stream_id)))?;
        if reset {
            let c = commands::on_status(
                "status",
                "NetStream.Play.Reset",
                &format!("Playing and resetting {name}."),
            );
            self.conn.send_command(csid::DATA, stream_id, c)?;
        }
        let c = commands::on_status(
            "status",
            "NetStream.Play.Start",
            &format!("Started playing {name}."),
        );
        self.conn.send_command(csid::DATA, stream_id, c)?;
        // `|RtmpSampleAccess` is the one data message sent before media, as nginx-rtmp
        // does. No `onStatus(NetStream.Data.Start)` data message: ffmpeg's FLV demuxer
        // turns any data message it does not know into a data stream that never advances,
        // so `ffmpeg -i rtmp://… -t N` would never stop.
        let access = Message::data(vec!["|RtmpSampleAccess".into(), true.into(), true.into()])?;
        self.conn.send(csid::DATA, 0, stream_id, &access)
    }

    /// Rejects a `play` (`code` e.g. `NetStream.Play.StreamNotFound`).
    pub fn reject_play(&mut self, request: RequestId, code: &str, description: &str) -> Result<()> {
        let Pending::Play { stream_id, .. } = self.take_pending(request)? else {
            return Err(Error::Unknown {
                what: "request",
                id: request.0,
            });
        };
        if let Some(s) = self.stream_mut(stream_id) {
            s.mode = StreamMode::Idle;
        }
        self.conn.send_command(
            csid::DATA,
            stream_id,
            commands::on_status("error", code, description),
        )
    }

    fn check_playing(&self, stream_id: u32) -> Result<()> {
        match self.streams.iter().find(|s| s.id == stream_id) {
            Some(Stream {
                mode: StreamMode::Playing(_),
                ..
            }) => Ok(()),
            Some(_) => Err(Error::InvalidState("stream is not playing")),
            None => Err(Error::Unknown {
                what: "stream",
                id: u64::from(stream_id),
            }),
        }
    }

    /// Sends an audio message to a playing stream.
    pub fn send_audio(&mut self, stream_id: u32, timestamp: u32, data: &Bytes) -> Result<()> {
        self.check_playing(stream_id)?;
        let h = MessageHeader {
            timestamp,
            type_id: type_id::AUDIO,
            stream_id,
        };
        self.conn.send_media(csid::AUDIO, h, data)
    }

    /// Sends a video message to a playing stream.
    pub fn send_video(&mut self, stream_id: u32, timestamp: u32, data: &Bytes) -> Result<()> {
        self.check_playing(stream_id)?;
        let h = MessageHeader {
            timestamp,
            type_id: type_id::VIDEO,
            stream_id,
        };
        self.conn.send_media(csid::VIDEO, h, data)
    }

    /// Sends `onMetaData(metadata)` to a playing stream.
    pub fn send_metadata(&mut self, stream_id: u32, metadata: &Amf0Value) -> Result<()> {
        self.check_playing(stream_id)?;
        let m = commands::on_metadata(metadata.clone())?;
        self.conn.send(csid::DATA, 0, stream_id, &m)
    }

    /// Sends a pre-chunked shared message (see [`PreparedMessage`]) to a playing stream.
    /// Build it with [`prepare`](Self::prepare) or [`PreparedMessage::new`] using this
    /// session's [`chunk_size`](Self::chunk_size) and the conventional chunk stream ids in
    /// [`csid`](crate::message::csid).
    pub fn send_prepared(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        prepared: &PreparedMessage,
    ) -> Result<()> {
        self.check_playing(stream_id)?;
        self.conn.send_prepared(prepared, timestamp, stream_id)
    }

    /// Pre-chunks an audio/video/data body once for every player using this chunk size.
    pub fn prepare(&self, type_id: u8, timestamp: u32, body: &[u8]) -> Result<PreparedMessage> {
        let c = match type_id {
            type_id::AUDIO => csid::AUDIO,
            type_id::VIDEO => csid::VIDEO,
            _ => csid::DATA,
        };
        PreparedMessage::new(c, self.chunk_size(), type_id, timestamp, body)
    }

    /// Tells a player its stream ended (`NetStream.Play.UnpublishNotify`, Stream EOF).
    pub fn send_stream_eof(&mut self, stream_id: u32) -> Result<()> {
        self.check_playing(stream_id)?;
        let c = commands::on_status(
            "status",
            "NetStream.Play.UnpublishNotify",
            "Stream unpublished.",
        );
        self.conn.send_command(csid::DATA, stream_id, c)?;
        self.conn
            .send_control(&Message::UserControl(UserControl::StreamEof(stream_id)))
    }

    /// Sends any command (for example a reply to [`ServerEvent::Command`]).
    pub fn send_command(&mut self, stream_id: u32, command: CommandMessage) -> Result<()> {
        let c = if stream_id == 0 {
            csid::COMMAND
        } else {
            csid::DATA
        };
        self.conn.send_command(c, stream_id, command)
    }

    /// Sends Set Chunk Size and switches our outgoing chunk size (1..=2^31-1). Messages
    /// prepared for the old size no longer fit this session.
    pub fn set_chunk_size(&mut self, size: u32) -> Result<()> {
        self.conn.set_chunk_size(size)
    }

    /// Sends a Ping Request (User Control 6) with a caller-chosen timestamp.
    pub fn send_ping(&mut self, timestamp: u32) -> Result<()> {
        self.conn
            .send_control(&Message::UserControl(UserControl::PingRequest(timestamp)))
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

    fn reply_result(&mut self, tid: f64, value: Amf0Value) -> Result<()> {
        if tid != 0.0 {
            self.conn.send_command(
                csid::COMMAND,
                0,
                commands::result(tid, Amf0Value::Null, value),
            )?;
        }
        Ok(())
    }

    fn handle_message(&mut self, h: MessageHeader, msg: Message) -> Result<()> {
        if self.conn.handle_control(&msg)? {
            return Ok(());
        }
        let sid = h.stream_id;
        let publishing = |s: &Self| {
            s.streams
                .iter()
                .any(|st| st.id == sid && matches!(st.mode, StreamMode::Publishing(_)))
        };
        match msg {
            Message::Command { command, .. } => self.handle_command(sid, command),
            Message::Audio(data) if publishing(self) => {
                self.events.push_back(ServerEvent::Audio {
                    stream_id: sid,
                    timestamp: h.timestamp,
                    data,
                });
                Ok(())
            }
            Message::Video(data) if publishing(self) => {
                self.events.push_back(ServerEvent::Video {
                    stream_id: sid,
                    timestamp: h.timestamp,
                    data,
                });
                Ok(())
            }
            Message::Aggregate(body) if publishing(self) => {
                for part in split_aggregate(&body, h.timestamp)? {
                    let sub = MessageHeader {
                        timestamp: part.timestamp,
                        type_id: part.type_id,
                        stream_id: sid,
                    };
                    let raw = crate::RawMessage {
                        csid: 0,
                        header: sub,
                        payload: part.body,
                    };
                    let msg = Message::decode(&raw, self.conn.amf_limits)?;
                    if matches!(
                        msg,
                        Message::Audio(_) | Message::Video(_) | Message::Data { .. }
                    ) {
                        self.handle_message(sub, msg)?;
                    }
                }
                Ok(())
            }
            Message::Audio(_) | Message::Video(_) => {
                tracing::debug!(
                    stream_id = sid,
                    "media on a stream that is not publishing; ignored"
                );
                Ok(())
            }
            Message::Data { values, .. } => {
                let ev = match metadata_of(&values) {
                    Some(("onMetaData", md)) => ServerEvent::Metadata {
                        stream_id: sid,
                        timestamp: h.timestamp,
                        metadata: md.clone(),
                    },
                    _ => ServerEvent::Data {
                        stream_id: sid,
                        timestamp: h.timestamp,
                        values,
                    },
                };
                self.events.push_back(ev);
                Ok(())
            }
            Message::UserControl(UserControl::SetBufferLength {
                stream_id,
                buffer_ms,
            }) => {
                self.events.push_back(ServerEvent::BufferLength {
                    stream_id,
                    ms: buffer_ms,
                });
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn handle_command(&mut self, sid: u32, cmd: CommandMessage) -> Result<()> {
        let tid = cmd.transaction_id;
        match (self.phase, cmd.name.as_str()) {
            (Phase::AwaitConnect, "connect") => {
                let obj = &cmd.command_object;
                let (app, app_query) = split_query(obj.get_str("app").unwrap_or(""));
                let tc_url = obj.get_str("tcUrl").map(str::to_owned);
                let query = app_query.or_else(|| tc_url.as_deref().and_then(|t| split_query(t).1));
                let object_encoding = obj.get_f64("objectEncoding").unwrap_or(0.0);
                let request = self.new_request(Pending::Connect {
                    tid,
                    object_encoding,
                });
                self.phase = Phase::ConnectPending;
                self.events.push_back(ServerEvent::ConnectRequest {
                    request,
                    app,
                    tc_url,
                    query,
                    command_object: cmd.command_object,
                });
                Ok(())
            }
            (Phase::AwaitConnect | Phase::ConnectPending, _) => {
                tracing::debug!(command = %cmd.name, "command before connect completed; ignored");
                Ok(())
            }
            (_, "releaseStream" | "FCPublish" | "_checkbw") => {
                self.reply_result(tid, Amf0Value::Undefined)
            }
            (_, "createStream") => {
                if self.streams.len() >= self.cfg.max_streams {
                    let info = commands::status_info(
                        "error",
                        "NetConnection.Call.Failed",
                        "too many streams",
                    );
                    return self.conn.send_command(
                        csid::COMMAND,
                        0,
                        commands::error(tid, Amf0Value::Null, info),
                    );
                }
                let id = self.next_stream_id;
                self.next_stream_id = self.next_stream_id.wrapping_add(1).max(1);
                self.streams.push(Stream {
                    id,
                    mode: StreamMode::Idle,
                });
                self.reply_result(tid, f64::from(id).into())
            }
            (_, "getStreamLength") => self.reply_result(tid, 0.0.into()),
            (_, "publish") => {
                let raw = cmd.arg_str(0).unwrap_or("").to_owned();
                let publish_type = cmd.arg_str(1).unwrap_or("live").to_owned();
                let (name, query) = split_query(&raw);
                self.ensure_stream(sid)?.mode = StreamMode::PublishPending(name.clone());
                let request = self.new_request(Pending::Publish {
                    stream_id: sid,
                    name: name.clone(),
                });
                self.events.push_back(ServerEvent::PublishRequest {
                    request,
                    stream_id: sid,
                    name,
                    query,
                    publish_type,
                });
                Ok(())
            }
            (_, "play" | "play2") => {
                let (raw, start, duration, reset) = if cmd.name == "play" {
                    (
                        cmd.arg_str(0).unwrap_or("").to_owned(),
                        cmd.arg_f64(1).unwrap_or(-2.0),
                        cmd.arg_f64(2).unwrap_or(-1.0),
                        cmd.args
                            .get(3)
                            .and_then(|v| v.as_bool().or_else(|| v.as_f64().map(|n| n != 0.0)))
                            .unwrap_or(true),
                    )
                } else {
                    let p = cmd.args.first().cloned().unwrap_or(Amf0Value::Null);
                    (
                        p.get_str("streamName").unwrap_or("").to_owned(),
                        p.get_f64("start").unwrap_or(-2.0),
                        p.get_f64("len").unwrap_or(-1.0),
                        p.get_str("transition")
                            .map(|t| t == "reset")
                            .unwrap_or(false),
                    )
                };
                let (name, query) = split_query(&raw);
                self.ensure_stream(sid)?.mode = StreamMode::PlayPending(name.clone());
                let request = self.new_request(Pending::Play {
                    stream_id: sid,
                    name: name.clone(),
                    reset,
                });
                self.events.push_back(ServerEvent::PlayRequest {
                    request,
                    stream_id: sid,
                    name,
                    query,
                    start,
                    duration,
                    reset,
                });
                Ok(())
            }
            (_, "FCUnpublish") => {
                self.reply_result(tid, Amf0Value::Undefined)?;
                let (name, _) = split_query(cmd.arg_str(0).unwrap_or(""));
                let hit = self
                    .streams
                    .iter_mut()
                    .find(|s| matches!(&s.mode, StreamMode::Publishing(n) if *n == name));
                if let Some(s) = hit {
                    let mode = std::mem::replace(&mut s.mode, StreamMode::Idle);
                    let id = s.id;
                    self.stop_stream_event(id, mode);
                }
                Ok(())
            }
            (_, "deleteStream") => {
                let id = cmd.arg_f64(0).map(|f| f as u32).unwrap_or(sid);
                if let Some(i) = self.streams.iter().position(|s| s.id == id) {
                    let s = self.streams.remove(i);
                    self.stop_stream_event(s.id, s.mode);
                }
                Ok(())
            }
            (_, "closeStream") => {
                if let Some(s) = self.stream_mut(sid) {
                    let mode = std::mem::replace(&mut s.mode, StreamMode::Idle);
                    self.stop_stream_event(sid, mode);
                }
                Ok(())
            }
            (_, "pause") => {
                let pause = cmd
                    .args
                    .first()
                    .and_then(Amf0Value::as_bool)
                    .unwrap_or(true);
                let ms = cmd.arg_f64(1).unwrap_or(0.0);
                let code = if pause {
                    "NetStream.Pause.Notify"
                } else {
                    "NetStream.Unpause.Notify"
                };
                self.conn.send_command(
                    csid::DATA,
                    sid,
                    commands::on_status("status", code, code),
                )?;
                self.events.push_back(ServerEvent::Pause {
                    stream_id: sid,
                    pause,
                    ms,
                });
                Ok(())
            }
            (_, "seek") => {
                let ms = cmd.arg_f64(0).unwrap_or(0.0);
                let c = commands::on_status("status", "NetStream.Seek.Notify", "Seeking.");
                self.conn.send_command(csid::DATA, sid, c)?;
                self.events
                    .push_back(ServerEvent::Seek { stream_id: sid, ms });
                Ok(())
            }
            _ => {
                self.events.push_back(ServerEvent::Command {
                    stream_id: sid,
                    command: cmd,
                });
                Ok(())
            }
        }
    }
}
