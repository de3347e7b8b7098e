//! RTMP command messages: `name, transaction id, command object, args...`.

use bytes::{Bytes, BytesMut};

use crate::{amf0, Amf0Value, DecodeLimits, Error, Result};

/// A decoded RTMP command (message type 20, or 17 for the AMF3 flavour).
///
/// ```
/// use weir_amf::{Amf0Value, CommandMessage};
/// let cmd = CommandMessage::new("connect", 1.0, Amf0Value::object([("app", "live".into())]), vec![]);
/// let body = cmd.to_bytes().unwrap();
/// let back = CommandMessage::parse(&body).unwrap();
/// assert_eq!(back.name, "connect");
/// assert_eq!(back.command_object.get_str("app"), Some("live"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CommandMessage {
    /// Command name (`connect`, `publish`, `_result`, `onStatus`, ...).
    pub name: String,
    /// Transaction id (0 for commands that expect no reply).
    pub transaction_id: f64,
    /// The command object (`Null` when the command has none).
    pub command_object: Amf0Value,
    /// Remaining arguments.
    pub args: Vec<Amf0Value>,
}

impl CommandMessage {
    /// Builds a command.
    pub fn new(
        name: impl Into<String>,
        transaction_id: f64,
        command_object: Amf0Value,
        args: Vec<Amf0Value>,
    ) -> Self {
        CommandMessage {
            name: name.into(),
            transaction_id,
            command_object,
            args,
        }
    }

    /// Parses an AMF0 command message body (message type 20).
    pub fn parse(body: &[u8]) -> Result<Self> {
        Self::parse_with(body, DecodeLimits::default())
    }

    /// [`parse`](Self::parse) with explicit limits.
    pub fn parse_with(body: &[u8], limits: DecodeLimits) -> Result<Self> {
        let mut values = amf0::decode_all_with(body, limits)?.into_iter();
        let name = match values.next() {
            Some(v) => v
                .as_str()
                .ok_or(Error::BadCommand("command name is not a string"))?
                .to_owned(),
            None => return Err(Error::BadCommand("empty command message")),
        };
        // Some peers omit the transaction id and/or command object in onStatus-style
        // notifications; treat absence as 0 / Null.
        let transaction_id = match values.next() {
            Some(v) => v
                .as_f64()
                .ok_or(Error::BadCommand("transaction id is not a number"))?,
            None => 0.0,
        };
        let command_object = values.next().unwrap_or(Amf0Value::Null);
        Ok(CommandMessage {
            name,
            transaction_id,
            command_object,
            args: values.collect(),
        })
    }

    /// Parses an AMF3 command message body (message type 17): a format byte (0) followed
    /// by AMF0 values, any of which may switch to AMF3 with marker 0x11.
    pub fn parse_amf3(body: &[u8]) -> Result<Self> {
        Self::parse_with(strip_amf3_format_byte(body), DecodeLimits::default())
    }

    /// [`parse_amf3`](Self::parse_amf3) with explicit limits.
    pub fn parse_amf3_with(body: &[u8], limits: DecodeLimits) -> Result<Self> {
        Self::parse_with(strip_amf3_format_byte(body), limits)
    }

    /// Appends the AMF0 body (message type 20) to `out`.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let name = Amf0Value::String(self.name.clone());
        amf0::encode(&name, out)?;
        amf0::encode(&Amf0Value::Number(self.transaction_id), out)?;
        amf0::encode(&self.command_object, out)?;
        amf0::encode_all(&self.args, out)
    }

    /// The AMF0 body as a new buffer.
    pub fn to_bytes(&self) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(128);
        self.encode(&mut out)?;
        Ok(out.freeze())
    }

    /// The first argument as a string (the stream name of `publish`/`play`, for example).
    pub fn arg_str(&self, i: usize) -> Option<&str> {
        self.args.get(i)?.as_str()
    }

    /// The `i`-th argument as a number.
    pub fn arg_f64(&self, i: usize) -> Option<f64> {
        self.args.get(i)?.as_f64()
    }
}

/// AMF3 command and data messages (types 17 and 15) start with a format byte that is
/// 0 in practice. Strip it when present.
pub fn strip_amf3_format_byte(body: &[u8]) -> &[u8] {
    match body.split_first() {
        Some((0, rest)) => rest,
        _ => body,
    }
}
