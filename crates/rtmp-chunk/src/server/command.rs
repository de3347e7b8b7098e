//! Commands: handling received messages and commands, and sending any command.

use weir_amf::{Amf0Value, CommandMessage};

use super::{Pending, Phase, ServerEvent, ServerSession, Stream, StreamMode};
use crate::chunk::MessageHeader;
use crate::conn::split_query;
use crate::message::{commands, csid, metadata_of, split_aggregate, Message, UserControl};
use crate::Result;

impl ServerSession {
    /// Sends any command (for example a reply to [`ServerEvent::Command`]).
    pub fn send_command(&mut self, stream_id: u32, command: CommandMessage) -> Result<()> {
        let c = if stream_id == 0 {
            csid::COMMAND
        } else {
            csid::DATA
        };
        self.conn.send_command(c, stream_id, command)
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

    pub(super) fn handle_message(&mut self, h: MessageHeader, msg: Message) -> Result<()> {
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
