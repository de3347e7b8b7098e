//! The sans-IO client session (pushers, pullers, relays).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use weir_amf::{Amf0Value, CommandMessage};

use crate::chunk::MessageHeader;
use crate::conn::{Conn, SessionConfig};
use crate::handshake::{ClientHandshake, HandshakeKind};
use crate::message::{commands, csid, metadata_of, split_aggregate, type_id, Message, UserControl};
use crate::{Error, Result};

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The `app` to connect to (may carry `?query`).
    pub app: String,
    /// The `tcUrl` (e.g. `rtmp://host:1935/live`).
    pub tc_url: String,
    /// The `flashVer` we announce.
    pub flash_ver: String,
    /// Extra properties appended to the `connect` command object.
    pub extra_connect_properties: Vec<(String, Amf0Value)>,
    /// Buffer length announced to the server when playing (ms, default 1000).
    pub play_buffer_ms: u32,
    /// Common session settings.
    pub session: SessionConfig,
}

impl ClientConfig {
    /// Settings for `app` at `tc_url` with defaults elsewhere.
    pub fn new(app: impl Into<String>, tc_url: impl Into<String>) -> Self {
        ClientConfig {
            app: app.into(),
            tc_url: tc_url.into(),
            flash_ver: "FMLE/3.0 (compatible; weir)".into(),
            extra_connect_properties: Vec::new(),
            play_buffer_ms: 1000,
            session: SessionConfig::default(),
        }
    }
}

/// What happened on a [`ClientSession`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake completed.
    HandshakeDone(HandshakeKind),
    /// `connect` succeeded.
    Connected {
        /// The server's properties object (`fmsVer`, `capabilities`).
        properties: Amf0Value,
        /// The information object (`code` = `NetConnection.Connect.Success`).
        information: Amf0Value,
    },
    /// `publish` succeeded (`NetStream.Publish.Start`): send media now.
    PublishStarted {
        /// Message stream id.
        stream_id: u32,
    },
    /// `play` succeeded (`NetStream.Play.Start`).
    PlayStarted {
        /// Message stream id.
        stream_id: u32,
    },
    /// The server refused a request; the session is unusable for it.
    Rejected {
        /// `connect`, `createStream`, `publish` or `play`.
        what: &'static str,
        /// Status code.
        code: String,
        /// Description.
        description: String,
    },
    /// Any `onStatus` notification.
    Status {
        /// Message stream id.
        stream_id: u32,
        /// `status`, `warning` or `error`.
        level: String,
        /// Status code.
        code: String,
        /// Description.
        description: String,
    },
    /// `onMetaData` while playing.
    Metadata {
        /// Timestamp.
        timestamp: u32,
        /// The metadata object.
        metadata: Amf0Value,
    },
    /// Another data message while playing.
    Data {
        /// Timestamp.
        timestamp: u32,
        /// Decoded values.
        values: Vec<Amf0Value>,
    },
    /// An audio message.
    Audio {
        /// Timestamp in ms.
        timestamp: u32,
        /// Body (FLV audio tag body).
        data: Bytes,
    },
    /// A video message.
    Video {
        /// Timestamp in ms.
        timestamp: u32,
        /// Body (FLV video tag body).
        data: Bytes,
    },
    /// Stream EOF (User Control 1) from the server.
    StreamEof {
        /// Message stream id.
        stream_id: u32,
    },
    /// A command the session does not handle.
    Command {
        /// Message stream id.
        stream_id: u32,
        /// The command.
        command: CommandMessage,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Intent {
    Publish { name: String, publish_type: String },
    Play { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Connecting,
    Connected,
    CreatingStream,
    StartingStream,
    Publishing,
    Playing,
    Failed,
}

const TID_CONNECT: f64 = 1.0;

/// A client-side RTMP connection without IO: handshake → `connect` → `createStream` →
/// `publish` or `play`.
///
/// The constructor queues C0+C1; call [`publish`](Self::publish) or
/// [`play`](Self::play) at any time (the request runs once connected), feed received bytes
/// to [`handle_input`](Self::handle_input), and drain [`poll_transmit`](Self::poll_transmit)
/// and [`poll_event`](Self::poll_event). See [`ServerSession`](crate::ServerSession) for
/// an in-memory example pairing both.
pub struct ClientSession {
    cfg: ClientConfig,
    /// Dropped once complete to keep per-connection state small.
    handshake: Option<Box<ClientHandshake>>,
    conn: Conn,
    phase: Phase,
    intent: Option<Intent>,
    events: VecDeque<ClientEvent>,
    next_tid: f64,
    create_tid: f64,
    stream_id: u32,
    input: BytesMut,
}

impl ClientSession {
    /// Creates the session and queues C0+C1.
    pub fn new(cfg: ClientConfig) -> Self {
        let mut handshake = ClientHandshake::new(cfg.session.handshake.clone());
        let mut conn = Conn::new(&cfg.session);
        handshake.start(conn.out());
        ClientSession {
            cfg,
            handshake: Some(Box::new(handshake)),
            conn,
            phase: Phase::Handshake,
            intent: None,
            events: VecDeque::new(),
            next_tid: 2.0,
            create_tid: 0.0,
            stream_id: 0,
            input: BytesMut::new(),
        }
    }

    /// Publishes `name` (with any `?query`) as `publish_type` (`live`, `record`, `append`)
    /// once connected. [`ClientEvent::PublishStarted`] reports success.
    pub fn publish(&mut self, name: &str, publish_type: &str) -> Result<()> {
        self.set_intent(Intent::Publish {
            name: name.to_owned(),
            publish_type: publish_type.to_owned(),
        })
    }

    /// Plays `name` once connected. [`ClientEvent::PlayStarted`] reports success.
    pub fn play(&mut self, name: &str) -> Result<()> {
        self.set_intent(Intent::Play {
            name: name.to_owned(),
        })
    }

    fn set_intent(&mut self, intent: Intent) -> Result<()> {
        if self.intent.is_some() {
            return Err(Error::InvalidState(
                "publish/play already requested on this session",
            ));
        }
        self.intent = Some(intent);
        if self.phase == Phase::Connected {
            self.start_intent()?;
        }
        Ok(())
    }

    fn tid(&mut self) -> f64 {
        let t = self.next_tid;
        self.next_tid += 1.0;
        t
    }

    fn start_intent(&mut self) -> Result<()> {
        let Some(intent) = self.intent.clone() else {
            return Ok(());
        };
        if let Intent::Publish { name, .. } = &intent {
            let (t1, t2) = (self.tid(), self.tid());
            self.conn
                .send_command(csid::COMMAND, 0, commands::release_stream(t1, name))?;
            self.conn
                .send_command(csid::COMMAND, 0, commands::fc_publish(t2, name))?;
        }
        self.create_tid = self.tid();
        self.conn
            .send_command(csid::COMMAND, 0, commands::create_stream(self.create_tid))?;
        self.phase = Phase::CreatingStream;
        Ok(())
    }

    /// Processes received bytes; a partial chunk stays in `buf`.
    pub fn handle_input(&mut self, buf: &mut BytesMut) -> Result<()> {
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
            self.handshake = None;
            if let Some(k) = kind {
                self.events.push_back(ClientEvent::HandshakeDone(k));
            }
            self.send_connect()?;
        }
        loop {
            if self.events.len() >= self.cfg.session.max_pending_events {
                return Err(Error::BufferLimit {
                    len: self.events.len(),
                    limit: self.cfg.session.max_pending_events,
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

    /// Like [`handle_input`](Self::handle_input) for a borrowed slice.
    pub fn handle_bytes(&mut self, data: &[u8]) -> Result<()> {
        let mut buf = std::mem::take(&mut self.input);
        buf.extend_from_slice(data);
        let r = self.handle_input(&mut buf);
        let limit = self.cfg.session.limits.max_message_size as usize + 4096;
        if buf.len() > limit {
            return Err(Error::BufferLimit {
                len: buf.len(),
                limit,
            });
        }
        self.input = buf;
        r
    }

    fn send_connect(&mut self) -> Result<()> {
        self.conn.set_chunk_size(self.cfg.session.chunk_size)?;
        let mut c = commands::connect(
            TID_CONNECT,
            &self.cfg.app,
            &self.cfg.tc_url,
            &self.cfg.flash_ver,
        );
        if let Some(p) = c.command_object.properties_mut() {
            p.extend(self.cfg.extra_connect_properties.iter().cloned());
        }
        self.conn.send_command(csid::COMMAND, 0, c)?;
        self.phase = Phase::Connecting;
        Ok(())
    }

    /// Next event, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Next bytes to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.conn.poll_transmit()
    }

    /// Appends all pending output to `dst`; returns the number of bytes.
    pub fn transmit_into(&mut self, dst: &mut BytesMut) -> usize {
        self.conn.transmit_into(dst)
    }

    /// Bytes waiting in the transmit queue.
    pub fn pending_transmit(&self) -> usize {
        self.conn.pending_transmit()
    }

    /// The message stream id once created.
    pub fn stream_id(&self) -> Option<u32> {
        (self.stream_id != 0).then_some(self.stream_id)
    }

    /// True while publishing.
    pub fn is_publishing(&self) -> bool {
        self.phase == Phase::Publishing
    }

    /// True while playing.
    pub fn is_playing(&self) -> bool {
        self.phase == Phase::Playing
    }

    fn check_publishing(&self) -> Result<()> {
        if self.phase == Phase::Publishing {
            Ok(())
        } else {
            Err(Error::InvalidState("not publishing"))
        }
    }

    /// Sends an audio message (FLV audio tag body).
    pub fn send_audio(&mut self, timestamp: u32, data: Bytes) -> Result<()> {
        self.check_publishing()?;
        let h = MessageHeader {
            timestamp,
            type_id: type_id::AUDIO,
            stream_id: self.stream_id,
        };
        self.conn.send_media(csid::AUDIO, h, &data)
    }

    /// Sends a video message (FLV video tag body).
    pub fn send_video(&mut self, timestamp: u32, data: Bytes) -> Result<()> {
        self.check_publishing()?;
        let h = MessageHeader {
            timestamp,
            type_id: type_id::VIDEO,
            stream_id: self.stream_id,
        };
        self.conn.send_media(csid::VIDEO, h, &data)
    }

    /// Sends `@setDataFrame("onMetaData", metadata)`.
    pub fn send_metadata(&mut self, metadata: &Amf0Value) -> Result<()> {
        self.check_publishing()?;
        let m = commands::set_data_frame(metadata.clone())?;
        self.conn.send(csid::DATA, 0, self.stream_id, &m)
    }

    /// Sends any command on the connection (stream 0) or the media stream.
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

    /// Stops publishing or playing: `FCUnpublish` (when publishing) and `deleteStream`.
    pub fn close_stream(&mut self) -> Result<()> {
        if self.stream_id == 0 {
            return Ok(());
        }
        if let (Phase::Publishing, Some(Intent::Publish { name, .. })) =
            (self.phase, self.intent.clone())
        {
            let t = self.tid();
            self.conn
                .send_command(csid::COMMAND, 0, commands::fc_unpublish(t, &name))?;
        }
        self.conn
            .send_command(csid::COMMAND, 0, commands::delete_stream(self.stream_id))?;
        self.stream_id = 0;
        self.phase = Phase::Connected;
        self.intent = None;
        Ok(())
    }

    fn reject(&mut self, what: &'static str, info: Option<&Amf0Value>) {
        let code = info
            .and_then(|i| i.get_str("code"))
            .unwrap_or("")
            .to_owned();
        let description = info
            .and_then(|i| i.get_str("description"))
            .unwrap_or("")
            .to_owned();
        self.phase = Phase::Failed;
        self.events.push_back(ClientEvent::Rejected {
            what,
            code,
            description,
        });
    }

    fn handle_message(&mut self, h: MessageHeader, msg: Message) -> Result<()> {
        if self.conn.handle_control(&msg)? {
            return Ok(());
        }
        let playing = self.phase == Phase::Playing || self.phase == Phase::StartingStream;
        match msg {
            Message::Command { command, .. } => self.handle_command(h.stream_id, command),
            Message::Audio(data) if playing => {
                self.events.push_back(ClientEvent::Audio {
                    timestamp: h.timestamp,
                    data,
                });
                Ok(())
            }
            Message::Video(data) if playing => {
                self.events.push_back(ClientEvent::Video {
                    timestamp: h.timestamp,
                    data,
                });
                Ok(())
            }
            Message::Data { values, .. } => {
                let ev = match metadata_of(&values) {
                    Some(("onMetaData", md)) => ClientEvent::Metadata {
                        timestamp: h.timestamp,
                        metadata: md.clone(),
                    },
                    _ => ClientEvent::Data {
                        timestamp: h.timestamp,
                        values,
                    },
                };
                self.events.push_back(ev);
                Ok(())
            }
            Message::Aggregate(body) if playing => {
                for part in split_aggregate(&body, h.timestamp)? {
                    let sub = MessageHeader {
                        timestamp: part.timestamp,
                        type_id: part.type_id,
                        stream_id: h.stream_id,
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
            Message::UserControl(UserControl::StreamEof(stream_id)) => {
                self.events.push_back(ClientEvent::StreamEof { stream_id });
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn handle_command(&mut self, sid: u32, cmd: CommandMessage) -> Result<()> {
        let tid = cmd.transaction_id;
        match cmd.name.as_str() {
            "_result" | "_error" if tid == TID_CONNECT && self.phase == Phase::Connecting => {
                let info = cmd.args.first().cloned().unwrap_or(Amf0Value::Null);
                if cmd.name == "_error" {
                    self.reject("connect", Some(&info));
                    return Ok(());
                }
                self.phase = Phase::Connected;
                self.events.push_back(ClientEvent::Connected {
                    properties: cmd.command_object,
                    information: info,
                });
                self.start_intent()
            }
            "_result" | "_error"
                if tid == self.create_tid && self.phase == Phase::CreatingStream =>
            {
                if cmd.name == "_error" {
                    self.reject("createStream", cmd.args.first());
                    return Ok(());
                }
                let id = cmd
                    .arg_f64(0)
                    .filter(|f| *f >= 1.0 && *f <= f64::from(u32::MAX))
                    .map(|f| f as u32);
                let Some(id) = id else {
                    return Err(Error::Malformed {
                        what: "createStream result",
                        reason: "no stream id",
                    });
                };
                self.stream_id = id;
                self.phase = Phase::StartingStream;
                match self.intent.clone() {
                    Some(Intent::Publish { name, publish_type }) => {
                        self.conn.send_command(
                            csid::DATA,
                            id,
                            commands::publish(&name, &publish_type),
                        )?;
                    }
                    Some(Intent::Play { name }) => {
                        let bl = UserControl::SetBufferLength {
                            stream_id: 0,
                            buffer_ms: self.cfg.play_buffer_ms,
                        };
                        self.conn.send_control(&Message::UserControl(bl))?;
                        self.conn.send_command(
                            csid::DATA,
                            id,
                            commands::play(&name, -2.0, -1.0, true),
                        )?;
                        let bl = UserControl::SetBufferLength {
                            stream_id: id,
                            buffer_ms: self.cfg.play_buffer_ms,
                        };
                        self.conn.send_control(&Message::UserControl(bl))?;
                    }
                    None => {}
                }
                Ok(())
            }
            "onStatus" => {
                let info = cmd.args.first().cloned().unwrap_or(Amf0Value::Null);
                let level = info.get_str("level").unwrap_or("").to_owned();
                let code = info.get_str("code").unwrap_or("").to_owned();
                let description = info.get_str("description").unwrap_or("").to_owned();
                let starting = self.phase == Phase::StartingStream;
                match (starting, code.as_str(), &self.intent) {
                    (true, "NetStream.Publish.Start", Some(Intent::Publish { .. })) => {
                        self.phase = Phase::Publishing;
                        self.events.push_back(ClientEvent::PublishStarted {
                            stream_id: self.stream_id,
                        });
                    }
                    (true, "NetStream.Play.Start", Some(Intent::Play { .. })) => {
                        self.phase = Phase::Playing;
                        self.events.push_back(ClientEvent::PlayStarted {
                            stream_id: self.stream_id,
                        });
                    }
                    (true, _, Some(intent)) if level == "error" => {
                        let what = if matches!(intent, Intent::Publish { .. }) {
                            "publish"
                        } else {
                            "play"
                        };
                        self.reject(what, Some(&info));
                    }
                    _ => {}
                }
                self.events.push_back(ClientEvent::Status {
                    stream_id: sid,
                    level,
                    code,
                    description,
                });
                Ok(())
            }
            _ => {
                self.events.push_back(ClientEvent::Command {
                    stream_id: sid,
                    command: cmd,
                });
                Ok(())
            }
        }
    }
}
