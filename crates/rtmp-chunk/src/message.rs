//! The message layer: protocol control, user control, command, data and media messages
//! (RTMP specification sections 5.4, 6.2 and 7).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use weir_amf::{amf0, Amf0Value, CommandMessage, DecodeLimits};

use crate::chunk::{MessageHeader, RawMessage};
use crate::{Error, Result};

/// Message type ids.
pub mod type_id {
    /// Set Chunk Size (5.4.1).
    pub const SET_CHUNK_SIZE: u8 = 1;
    /// Abort Message (5.4.2).
    pub const ABORT: u8 = 2;
    /// Acknowledgement (5.4.3).
    pub const ACKNOWLEDGEMENT: u8 = 3;
    /// User Control Message (6.2).
    pub const USER_CONTROL: u8 = 4;
    /// Window Acknowledgement Size (5.4.4).
    pub const WINDOW_ACK_SIZE: u8 = 5;
    /// Set Peer Bandwidth (5.4.5).
    pub const SET_PEER_BANDWIDTH: u8 = 6;
    /// Audio.
    pub const AUDIO: u8 = 8;
    /// Video.
    pub const VIDEO: u8 = 9;
    /// Data message, AMF3.
    pub const DATA_AMF3: u8 = 15;
    /// Shared object, AMF3.
    pub const SHARED_OBJECT_AMF3: u8 = 16;
    /// Command message, AMF3.
    pub const COMMAND_AMF3: u8 = 17;
    /// Data message, AMF0.
    pub const DATA_AMF0: u8 = 18;
    /// Shared object, AMF0.
    pub const SHARED_OBJECT_AMF0: u8 = 19;
    /// Command message, AMF0.
    pub const COMMAND_AMF0: u8 = 20;
    /// Aggregate message.
    pub const AGGREGATE: u8 = 22;
}

/// Conventional chunk stream ids (as used by ffmpeg, OBS and nginx-rtmp).
pub mod csid {
    /// Protocol control and user control messages.
    pub const CONTROL: u32 = 2;
    /// Commands on the connection (stream 0).
    pub const COMMAND: u32 = 3;
    /// Audio.
    pub const AUDIO: u32 = 4;
    /// Data and commands on a media stream.
    pub const DATA: u32 = 5;
    /// Video.
    pub const VIDEO: u32 = 6;
}

/// User Control events (section 6.2 / 7.1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserControl {
    /// Stream Begin (0).
    StreamBegin(u32),
    /// Stream EOF (1).
    StreamEof(u32),
    /// Stream Dry (2).
    StreamDry(u32),
    /// Set Buffer Length (3): stream id and buffer length in ms.
    SetBufferLength {
        /// Stream id.
        stream_id: u32,
        /// Buffer length in milliseconds.
        buffer_ms: u32,
    },
    /// Stream Is Recorded (4).
    StreamIsRecorded(u32),
    /// Ping Request (6) with a timestamp.
    PingRequest(u32),
    /// Ping Response (7) echoing the request's timestamp.
    PingResponse(u32),
    /// Any other event type with its raw data.
    Other {
        /// Event type.
        event_type: u16,
        /// Event data.
        data: Bytes,
    },
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// Set Chunk Size.
    SetChunkSize(u32),
    /// Abort Message for a chunk stream.
    Abort(u32),
    /// Acknowledgement with the sequence number (bytes received so far).
    Acknowledgement(u32),
    /// User Control event.
    UserControl(UserControl),
    /// Window Acknowledgement Size.
    WindowAckSize(u32),
    /// Set Peer Bandwidth: window size and limit type (0 hard, 1 soft, 2 dynamic).
    SetPeerBandwidth {
        /// Window size.
        size: u32,
        /// Limit type.
        limit_type: u8,
    },
    /// Audio data (an FLV audio tag body).
    Audio(Bytes),
    /// Video data (an FLV video tag body).
    Video(Bytes),
    /// A command (type 20, or 17 when `amf3`).
    Command {
        /// Whether it arrived as an AMF3 command (type 17).
        amf3: bool,
        /// The command.
        command: CommandMessage,
    },
    /// A data message (type 18, or 15 when `amf3`): the decoded values, and the AMF0 body
    /// (without the AMF3 format byte) for forwarding.
    Data {
        /// Whether it arrived as AMF3 data (type 15).
        amf3: bool,
        /// Decoded values (`@setDataFrame`, `onMetaData`, object, ...).
        values: Vec<Amf0Value>,
        /// The raw AMF0 body.
        body: Bytes,
    },
    /// An aggregate message (type 22), not split.
    Aggregate(Bytes),
    /// Shared-object messages and unknown types, raw.
    Other {
        /// Type id.
        type_id: u8,
        /// Body.
        body: Bytes,
    },
}

fn u32_at(body: &[u8], what: &'static str) -> Result<u32> {
    let b: [u8; 4] = body
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::Malformed {
            what,
            reason: "shorter than 4 bytes",
        })?;
    Ok(u32::from_be_bytes(b))
}

impl Message {
    /// Decodes the body of `raw` according to its type id.
    pub fn decode(raw: &RawMessage, limits: DecodeLimits) -> Result<Message> {
        let body = &raw.payload;
        Ok(match raw.header.type_id {
            type_id::SET_CHUNK_SIZE => {
                Message::SetChunkSize(u32_at(body, "Set Chunk Size")? & 0x7FFF_FFFF)
            }
            type_id::ABORT => Message::Abort(u32_at(body, "Abort")?),
            type_id::ACKNOWLEDGEMENT => Message::Acknowledgement(u32_at(body, "Acknowledgement")?),
            type_id::WINDOW_ACK_SIZE => {
                Message::WindowAckSize(u32_at(body, "Window Acknowledgement Size")?)
            }
            type_id::SET_PEER_BANDWIDTH => Message::SetPeerBandwidth {
                size: u32_at(body, "Set Peer Bandwidth")?,
                // Some peers omit the limit type byte; treat as dynamic.
                limit_type: body.get(4).copied().unwrap_or(2),
            },
            type_id::USER_CONTROL => Message::UserControl(decode_user_control(body.clone())?),
            type_id::AUDIO => Message::Audio(body.clone()),
            type_id::VIDEO => Message::Video(body.clone()),
            type_id::COMMAND_AMF0 => Message::Command {
                amf3: false,
                command: CommandMessage::parse_with(body, limits).map_err(Error::amf("command"))?,
            },
            type_id::COMMAND_AMF3 => Message::Command {
                amf3: true,
                command: CommandMessage::parse_amf3_with(body, limits)
                    .map_err(Error::amf("AMF3 command"))?,
            },
            type_id::DATA_AMF0 | type_id::DATA_AMF3 => {
                let amf3 = raw.header.type_id == type_id::DATA_AMF3;
                let body = if amf3 && body.first() == Some(&0) {
                    body.slice(1..)
                } else {
                    body.clone()
                };
                let values = amf0::decode_all_with(&body, limits).map_err(Error::amf("data"))?;
                Message::Data { amf3, values, body }
            }
            type_id::AGGREGATE => Message::Aggregate(body.clone()),
            other => Message::Other {
                type_id: other,
                body: body.clone(),
            },
        })
    }

    /// The type id this message is sent with.
    pub fn type_id(&self) -> u8 {
        match self {
            Message::SetChunkSize(_) => type_id::SET_CHUNK_SIZE,
            Message::Abort(_) => type_id::ABORT,
            Message::Acknowledgement(_) => type_id::ACKNOWLEDGEMENT,
            Message::UserControl(_) => type_id::USER_CONTROL,
            Message::WindowAckSize(_) => type_id::WINDOW_ACK_SIZE,
            Message::SetPeerBandwidth { .. } => type_id::SET_PEER_BANDWIDTH,
            Message::Audio(_) => type_id::AUDIO,
            Message::Video(_) => type_id::VIDEO,
            Message::Command { amf3: false, .. } => type_id::COMMAND_AMF0,
            Message::Command { amf3: true, .. } => type_id::COMMAND_AMF3,
            Message::Data { amf3: false, .. } => type_id::DATA_AMF0,
            Message::Data { amf3: true, .. } => type_id::DATA_AMF3,
            Message::Aggregate(_) => type_id::AGGREGATE,
            Message::Other { type_id, .. } => *type_id,
        }
    }

    /// Encodes the body. Media and raw bodies are returned without copying.
    pub fn encode_body(&self) -> Result<Bytes> {
        let mut out = BytesMut::new();
        match self {
            Message::SetChunkSize(v)
            | Message::Abort(v)
            | Message::Acknowledgement(v)
            | Message::WindowAckSize(v) => out.put_u32(*v),
            Message::SetPeerBandwidth { size, limit_type } => {
                out.put_u32(*size);
                out.put_u8(*limit_type);
            }
            Message::UserControl(uc) => encode_user_control(uc, &mut out),
            Message::Audio(b)
            | Message::Video(b)
            | Message::Aggregate(b)
            | Message::Other { body: b, .. } => return Ok(b.clone()),
            Message::Command { amf3, command } => {
                if *amf3 {
                    out.put_u8(0);
                }
                command.encode(&mut out).map_err(Error::amf("command"))?;
            }
            Message::Data { amf3, body, .. } => {
                if *amf3 {
                    out.put_u8(0);
                }
                out.put_slice(body);
            }
        }
        Ok(out.freeze())
    }

    /// The conventional chunk stream id for this message.
    pub fn default_csid(&self) -> u32 {
        match self {
            Message::Audio(_) => csid::AUDIO,
            Message::Video(_) | Message::Aggregate(_) => csid::VIDEO,
            Message::Command { .. } => csid::COMMAND,
            Message::Data { .. } | Message::Other { .. } => csid::DATA,
            _ => csid::CONTROL,
        }
    }

    /// Builds a data message from AMF0 values.
    pub fn data(values: Vec<Amf0Value>) -> Result<Message> {
        let mut out = BytesMut::new();
        amf0::encode_all(&values, &mut out).map_err(Error::amf("data"))?;
        Ok(Message::Data {
            amf3: false,
            values,
            body: out.freeze(),
        })
    }

    /// Builds an AMF0 command message.
    pub fn command(command: CommandMessage) -> Message {
        Message::Command {
            amf3: false,
            command,
        }
    }
}

fn decode_user_control(mut body: Bytes) -> Result<UserControl> {
    if body.len() < 2 {
        return Err(Error::Malformed {
            what: "User Control",
            reason: "shorter than 2 bytes",
        });
    }
    let event = body.get_u16();
    let arg = |b: &Bytes| u32_at(b, "User Control");
    Ok(match event {
        0 => UserControl::StreamBegin(arg(&body)?),
        1 => UserControl::StreamEof(arg(&body)?),
        2 => UserControl::StreamDry(arg(&body)?),
        3 => {
            let stream_id = arg(&body)?;
            let buffer_ms = u32_at(body.get(4..).unwrap_or(&[]), "User Control SetBufferLength")?;
            UserControl::SetBufferLength {
                stream_id,
                buffer_ms,
            }
        }
        4 => UserControl::StreamIsRecorded(arg(&body)?),
        6 => UserControl::PingRequest(arg(&body)?),
        7 => UserControl::PingResponse(arg(&body)?),
        other => UserControl::Other {
            event_type: other,
            data: body,
        },
    })
}

fn encode_user_control(uc: &UserControl, out: &mut BytesMut) {
    let (ev, a) = match uc {
        UserControl::StreamBegin(s) => (0, *s),
        UserControl::StreamEof(s) => (1, *s),
        UserControl::StreamDry(s) => (2, *s),
        UserControl::SetBufferLength {
            stream_id,
            buffer_ms,
        } => {
            out.put_u16(3);
            out.put_u32(*stream_id);
            out.put_u32(*buffer_ms);
            return;
        }
        UserControl::StreamIsRecorded(s) => (4, *s),
        UserControl::PingRequest(t) => (6, *t),
        UserControl::PingResponse(t) => (7, *t),
        UserControl::Other { event_type, data } => {
            out.put_u16(*event_type);
            out.put_slice(data);
            return;
        }
    };
    out.put_u16(ev);
    out.put_u32(a);
}

/// Writes `msg` with `header` fields (type id taken from the message) through `encoder`.
pub fn write_message(
    encoder: &mut crate::ChunkEncoder,
    csid: u32,
    timestamp: u32,
    stream_id: u32,
    msg: &Message,
    out: &mut BytesMut,
) -> Result<()> {
    let body = msg.encode_body()?;
    let header = MessageHeader {
        timestamp,
        type_id: msg.type_id(),
        stream_id,
    };
    encoder.write_message(csid, header, &body, out)
}

/// Builders for the commands of section 7.2 and the status replies peers expect.
pub mod commands {
    use super::*;

    fn cmd(name: &str, tid: f64, obj: Amf0Value, args: Vec<Amf0Value>) -> CommandMessage {
        CommandMessage::new(name, tid, obj, args)
    }

    /// `connect(tid, {app, tcUrl, flashVer, ...})` with the usual properties; add more to
    /// the returned command object as needed.
    pub fn connect(tid: f64, app: &str, tc_url: &str, flash_ver: &str) -> CommandMessage {
        let obj = Amf0Value::object([
            ("app", app.into()),
            ("type", "nonprivate".into()),
            ("flashVer", flash_ver.into()),
            ("tcUrl", tc_url.into()),
            ("fpad", false.into()),
            ("capabilities", 15.0.into()),
            ("audioCodecs", 4071.0.into()),
            ("videoCodecs", 252.0.into()),
            ("videoFunction", 1.0.into()),
        ]);
        cmd("connect", tid, obj, vec![])
    }

    /// `createStream(tid, null)`.
    pub fn create_stream(tid: f64) -> CommandMessage {
        cmd("createStream", tid, Amf0Value::Null, vec![])
    }

    /// `releaseStream(tid, null, name)`.
    pub fn release_stream(tid: f64, name: &str) -> CommandMessage {
        cmd("releaseStream", tid, Amf0Value::Null, vec![name.into()])
    }

    /// `FCPublish(tid, null, name)`.
    pub fn fc_publish(tid: f64, name: &str) -> CommandMessage {
        cmd("FCPublish", tid, Amf0Value::Null, vec![name.into()])
    }

    /// `FCUnpublish(tid, null, name)`.
    pub fn fc_unpublish(tid: f64, name: &str) -> CommandMessage {
        cmd("FCUnpublish", tid, Amf0Value::Null, vec![name.into()])
    }

    /// `publish(0, null, name, type)` where type is `live`, `record` or `append`.
    pub fn publish(name: &str, publish_type: &str) -> CommandMessage {
        cmd(
            "publish",
            0.0,
            Amf0Value::Null,
            vec![name.into(), publish_type.into()],
        )
    }

    /// `deleteStream(0, null, stream_id)`.
    pub fn delete_stream(stream_id: u32) -> CommandMessage {
        cmd("deleteStream", 0.0, Amf0Value::Null, vec![stream_id.into()])
    }

    /// `closeStream(0, null)` (sent on the media stream).
    pub fn close_stream() -> CommandMessage {
        cmd("closeStream", 0.0, Amf0Value::Null, vec![])
    }

    /// `play(0, null, name, start, duration, reset)`. `start` -2 = live or recorded,
    /// -1 = live only; `duration` -1 = until the end.
    pub fn play(name: &str, start: f64, duration: f64, reset: bool) -> CommandMessage {
        cmd(
            "play",
            0.0,
            Amf0Value::Null,
            vec![name.into(), start.into(), duration.into(), reset.into()],
        )
    }

    /// `play2(0, null, parameters)`.
    pub fn play2(parameters: Amf0Value) -> CommandMessage {
        cmd("play2", 0.0, Amf0Value::Null, vec![parameters])
    }

    /// `pause(0, null, pause, ms)`.
    pub fn pause(pause: bool, ms: f64) -> CommandMessage {
        cmd("pause", 0.0, Amf0Value::Null, vec![pause.into(), ms.into()])
    }

    /// `seek(0, null, ms)`.
    pub fn seek(ms: f64) -> CommandMessage {
        cmd("seek", 0.0, Amf0Value::Null, vec![ms.into()])
    }

    /// `getStreamLength(tid, null, name)`.
    pub fn get_stream_length(tid: f64, name: &str) -> CommandMessage {
        cmd("getStreamLength", tid, Amf0Value::Null, vec![name.into()])
    }

    /// `_result(tid, properties, info)`.
    pub fn result(tid: f64, properties: Amf0Value, info: Amf0Value) -> CommandMessage {
        cmd("_result", tid, properties, vec![info])
    }

    /// `_error(tid, properties, info)`.
    pub fn error(tid: f64, properties: Amf0Value, info: Amf0Value) -> CommandMessage {
        cmd("_error", tid, properties, vec![info])
    }

    /// A status info object `{level, code, description}`.
    pub fn status_info(level: &str, code: &str, description: &str) -> Amf0Value {
        Amf0Value::object([
            ("level", level.into()),
            ("code", code.into()),
            ("description", description.into()),
        ])
    }

    /// `onStatus(0, null, {level, code, description})`.
    pub fn on_status(level: &str, code: &str, description: &str) -> CommandMessage {
        cmd(
            "onStatus",
            0.0,
            Amf0Value::Null,
            vec![status_info(level, code, description)],
        )
    }

    /// `@setDataFrame("onMetaData", metadata)` as a publisher sends it.
    pub fn set_data_frame(metadata: Amf0Value) -> Result<Message> {
        Message::data(vec!["@setDataFrame".into(), "onMetaData".into(), metadata])
    }

    /// `onMetaData(metadata)` as a server forwards it to players.
    pub fn on_metadata(metadata: Amf0Value) -> Result<Message> {
        Message::data(vec!["onMetaData".into(), metadata])
    }
}

/// For data messages: strips a leading `@setDataFrame` and returns `(name, value)` for
/// `onMetaData`-style messages (`name` is the handler, e.g. `onMetaData`).
pub fn metadata_of(values: &[Amf0Value]) -> Option<(&str, &Amf0Value)> {
    let mut it = values.iter();
    let mut first = it.next()?.as_str()?;
    if first == "@setDataFrame" {
        first = it.next()?.as_str()?;
    }
    Some((first, it.next()?))
}

/// One message carried inside an aggregate message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatePart {
    /// Type id (8 audio, 9 video, 18 data, ...).
    pub type_id: u8,
    /// Absolute timestamp, rebased onto the aggregate message's timestamp.
    pub timestamp: u32,
    /// Body (a zero-copy slice of the aggregate).
    pub body: Bytes,
}

/// Splits an aggregate message (type 22) into its parts.
///
/// The body is a sequence of FLV-style tags: an 11-byte header (type, 24-bit size,
/// 24-bit timestamp + 8-bit extension, 24-bit stream id), the data and a 4-byte back
/// pointer. Part timestamps are taken relative to the first part and added to the
/// aggregate's own timestamp `base` (specification section 7.1.6).
pub fn split_aggregate(body: &Bytes, base: u32) -> Result<Vec<AggregatePart>> {
    let mut parts = Vec::new();
    let mut pos = 0usize;
    let mut first_ts = None;
    let bad = |reason| Error::Malformed {
        what: "Aggregate",
        reason,
    };
    while pos < body.len() {
        let h: [u8; 11] = body
            .get(pos..pos + 11)
            .and_then(|h| h.try_into().ok())
            .ok_or(bad("truncated sub-message header"))?;
        let [t, s0, s1, s2, t0, t1, t2, t3, ..] = h;
        let type_id = t & 0x1F;
        let size = (usize::from(s0) << 16) | (usize::from(s1) << 8) | usize::from(s2);
        let ts = u32::from_be_bytes([t3, t0, t1, t2]);
        let start = pos + 11;
        let end = start
            .checked_add(size)
            .filter(|e| *e <= body.len())
            .ok_or(bad("sub-message overruns the body"))?;
        let first = *first_ts.get_or_insert(ts);
        parts.push(AggregatePart {
            type_id,
            timestamp: base.wrapping_add(ts.wrapping_sub(first)),
            body: body.slice(start..end),
        });
        // Skip the back pointer (some senders omit it after the last part).
        pos = end.saturating_add(4).min(body.len());
    }
    Ok(parts)
}
