//! RTSP messages: requests, responses, headers and interleaved binary frames.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// RTSP method (RFC 2326 §10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `OPTIONS`
    Options,
    /// `DESCRIBE`
    Describe,
    /// `ANNOUNCE`
    Announce,
    /// `SETUP`
    Setup,
    /// `PLAY`
    Play,
    /// `PAUSE`
    Pause,
    /// `RECORD`
    Record,
    /// `TEARDOWN`
    Teardown,
    /// `GET_PARAMETER`
    GetParameter,
    /// `SET_PARAMETER`
    SetParameter,
    /// `REDIRECT`
    Redirect,
    /// Any other token.
    Extension(String),
}

impl Method {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Options => "OPTIONS",
            Method::Describe => "DESCRIBE",
            Method::Announce => "ANNOUNCE",
            Method::Setup => "SETUP",
            Method::Play => "PLAY",
            Method::Pause => "PAUSE",
            Method::Record => "RECORD",
            Method::Teardown => "TEARDOWN",
            Method::GetParameter => "GET_PARAMETER",
            Method::SetParameter => "SET_PARAMETER",
            Method::Redirect => "REDIRECT",
            Method::Extension(s) => s,
        }
    }

    /// Parses a method token (case-sensitive, as the RFC says).
    pub fn parse(s: &str) -> Method {
        match s {
            "OPTIONS" => Method::Options,
            "DESCRIBE" => Method::Describe,
            "ANNOUNCE" => Method::Announce,
            "SETUP" => Method::Setup,
            "PLAY" => Method::Play,
            "PAUSE" => Method::Pause,
            "RECORD" => Method::Record,
            "TEARDOWN" => Method::Teardown,
            "GET_PARAMETER" => Method::GetParameter,
            "SET_PARAMETER" => Method::SetParameter,
            "REDIRECT" => Method::Redirect,
            other => Method::Extension(other.to_string()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Protocol version of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `RTSP/1.0` (RFC 2326).
    Rtsp10,
    /// `RTSP/2.0` (RFC 7826): parsed so a server can answer 505.
    Rtsp20,
}

impl Version {
    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Rtsp10 => "RTSP/1.0",
            Version::Rtsp20 => "RTSP/2.0",
        }
    }
}

/// UTF-8 text held in `Bytes`, so parsed header names and values are zero-copy slices of the
/// received message.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Text(Bytes);

impl Text {
    /// Wraps bytes that are known to be UTF-8 (callers validate).
    pub(crate) fn from_utf8_bytes(b: Bytes) -> Text {
        Text(b)
    }
    pub(crate) fn as_str(&self) -> &str {
        // Always valid: built from `String`s or from validated input.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Bytes::from(s))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Header list: order-preserving, names compared case-insensitively, repeats allowed.
/// Parsed headers share the received message's buffer (no copy per header).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(Text, Text)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }
    /// First value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    /// All values of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    /// Appends a header (keeps existing ones with the same name).
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries
            .push((Text::from(name.into()), Text::from(value.into())));
    }
    pub(crate) fn append_text(&mut self, name: Text, value: Text) {
        self.entries.push((name, value));
    }
    /// Replaces every header called `name` by one with `value`.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.append(name, value);
    }
    /// Removes every header called `name`.
    pub fn remove(&mut self, name: &str) {
        self.entries
            .retain(|(k, _)| !k.as_str().eq_ignore_ascii_case(name));
    }
    /// Iterates `(name, value)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// The `CSeq` value.
    pub fn cseq(&self) -> Option<u32> {
        self.get("CSeq").and_then(|v| v.trim().parse().ok())
    }
    fn write(&self, dst: &mut BytesMut, body_len: usize) {
        let mut has_len = false;
        for (k, v) in &self.entries {
            if k.as_str().eq_ignore_ascii_case("Content-Length") {
                has_len = true;
            }
            dst.put_slice(&k.0);
            dst.put_slice(b": ");
            dst.put_slice(&v.0);
            dst.put_slice(b"\r\n");
        }
        if !has_len && body_len > 0 {
            dst.put_slice(format!("Content-Length: {body_len}\r\n").as_bytes());
        }
        dst.put_slice(b"\r\n");
    }
}

/// An RTSP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI (`*` for server-wide OPTIONS).
    pub uri: String,
    /// Version.
    pub version: Version,
    /// Headers.
    pub headers: Headers,
    /// Body (zero-copy slice of the input buffer when parsed).
    pub body: Bytes,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: impl Into<String>) -> Request {
        Request {
            method,
            uri: uri.into(),
            version: Version::Rtsp10,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }
    /// Serializes into `dst`; adds `Content-Length` when there is a body and none is set.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(64 + self.uri.len() + self.body.len());
        dst.put_slice(self.method.as_str().as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(self.uri.as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(self.version.as_str().as_bytes());
        dst.put_slice(b"\r\n");
        self.headers.write(dst, self.body.len());
        dst.put_slice(&self.body);
    }
    /// Serializes to a fresh buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.encode(&mut b);
        b.freeze()
    }
}

/// An RTSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Version.
    pub version: Version,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Bytes,
}

impl Response {
    /// A response with the standard reason phrase for `status`.
    pub fn new(status: u16) -> Response {
        Response {
            version: Version::Rtsp10,
            status,
            reason: reason_phrase(status).to_string(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }
    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// Serializes into `dst`; adds `Content-Length` when there is a body and none is set.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(64 + self.body.len());
        dst.put_slice(self.version.as_str().as_bytes());
        dst.put_slice(format!(" {:03} ", self.status).as_bytes());
        dst.put_slice(self.reason.as_bytes());
        dst.put_slice(b"\r\n");
        self.headers.write(dst, self.body.len());
        dst.put_slice(&self.body);
    }
    /// Serializes to a fresh buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.encode(&mut b);
        b.freeze()
    }
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Headers of either kind.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
    /// Serializes into `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Message::Request(r) => r.encode(dst),
            Message::Response(r) => r.encode(dst),
        }
    }
}

/// One `$`-framed binary packet on the RTSP TCP connection (RFC 2326 §10.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterleavedFrame {
    /// Channel id from the `Transport: interleaved=` pair.
    pub channel: u8,
    /// Payload (an RTP or RTCP packet), zero-copy.
    pub payload: Bytes,
}

impl InterleavedFrame {
    /// The 4-byte frame header for `payload_len` bytes on `channel`; `None` when longer than 65535.
    pub fn header(channel: u8, payload_len: usize) -> Option<[u8; 4]> {
        let len = u16::try_from(payload_len).ok()?;
        let [hi, lo] = len.to_be_bytes();
        Some([b'$', channel, hi, lo])
    }
    /// Serializes header and payload into `dst`; `false` (nothing written) when too long.
    pub fn encode(&self, dst: &mut BytesMut) -> bool {
        match Self::header(self.channel, self.payload.len()) {
            Some(h) => {
                dst.put_slice(&h);
                dst.put_slice(&self.payload);
                true
            }
            None => false,
        }
    }
}

/// The standard reason phrase for an RTSP status code (RFC 2326 §7.1.1).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        250 => "Low on Storage Space",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Time-out",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Large",
        415 => "Unsupported Media Type",
        451 => "Parameter Not Understood",
        452 => "Conference Not Found",
        453 => "Not Enough Bandwidth",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        456 => "Header Field Not Valid for Resource",
        457 => "Invalid Range",
        458 => "Parameter Is Read-Only",
        459 => "Aggregate operation not allowed",
        460 => "Only aggregate operation allowed",
        461 => "Unsupported transport",
        462 => "Destination unreachable",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Time-out",
        505 => "RTSP Version not supported",
        551 => "Option not supported",
        _ => "Unknown",
    }
}
