//! Incremental decoder for an RTSP TCP stream: requests, responses and `$` interleaved frames,
//! with pipelining and partial input.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::message::{
    Headers, InterleavedFrame, Message, Method, Request, Response, Text, Version,
};

/// Size limits of the decoder. A limit hit is an [`Error::LimitExceeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum bytes of start line plus headers (including the blank line).
    pub max_header_bytes: usize,
    /// Maximum number of header lines.
    pub max_headers: usize,
    /// Maximum body size (`Content-Length`).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_body: 1024 * 1024,
        }
    }
}

/// What the decoder produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A request or response.
    Message(Message),
    /// An interleaved binary frame.
    Interleaved(InterleavedFrame),
}

/// Stream decoder following the tokio-util `Decoder` contract: [`decode`](Self::decode) returns
/// `Ok(None)` until a whole item is buffered, consumes exactly the bytes of the item it returns,
/// and never drops a byte of the next one.
///
/// With [`Decoder::set_resync`] on (what an RTSP *client* wants against real cameras), bytes
/// that cannot start an item are skipped instead of failing the stream: some servers (live555
/// before 2017.06.04, several camera firmwares) write truncated interleaved frames or stray
/// bytes between frames. The decoder then looks for the next `$` on a known channel (see
/// [`Decoder::add_channel`]) carrying an RTP/RTCP version-2 packet, or the next `RTSP/1.`
/// status line or request line, and counts what it skipped ([`Decoder::skipped_bytes`]).
///
/// [`Decoder::position`] and [`Decoder::item_start`] tell where in the stream the decoder is,
/// so an error can name the byte offset of the message that failed to parse.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    limits: Limits,
    /// Header end found in an earlier call while the body was still incomplete
    /// (`(head_len, total_len)`), so a slow body is not rescanned.
    pending: Option<(usize, usize)>,
    /// How far the header-end scan got (resume point for partial headers).
    scanned: usize,
    /// Bytes consumed from the stream so far.
    consumed: u64,
    /// Stream offset of the item being decoded (or of the last one).
    item_start: u64,
    /// Skip garbage between items instead of failing.
    resync: bool,
    /// Bytes skipped as garbage.
    skipped: u64,
    /// Garbage was skipped and no item has started since (stricter checks apply).
    in_garbage: bool,
    /// Interleaved channels in use (bit set); empty: any channel.
    channels: [u64; 4],
}

/// Longest method token a resynchronising decoder recognises at the start of a request line.
const MAX_METHOD_LEN: usize = 16;

/// What the bytes at the front of a buffer are, for resynchronisation.
#[derive(Debug, PartialEq, Eq)]
enum Start {
    /// An item can start here.
    Item,
    /// Not enough bytes to tell.
    NeedMore,
    /// Garbage.
    Garbage,
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            ..Decoder::default()
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Skips bytes that cannot start an item instead of failing (see the type docs).
    pub fn set_resync(&mut self, on: bool) {
        self.resync = on;
    }

    /// Registers an interleaved channel in use: while resynchronising, only a `$` on a
    /// registered channel counts as a frame start (any channel when none is registered).
    pub fn add_channel(&mut self, channel: u8) {
        if let Some(w) = self.channels.get_mut(usize::from(channel / 64)) {
            *w |= 1 << (channel % 64);
        }
    }

    fn channel_known(&self, channel: u8) -> bool {
        if self.channels == [0; 4] {
            return true;
        }
        self.channels
            .get(usize::from(channel / 64))
            .is_some_and(|w| w & (1 << (channel % 64)) != 0)
    }

    /// Bytes skipped as garbage so far (resync mode).
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// Bytes of the stream consumed so far (items, blank lines and skipped garbage).
    pub fn position(&self) -> u64 {
        self.consumed
    }

    /// Stream offset of the first byte of the item decoded last — or, after an error, of the
    /// item that failed.
    pub fn item_start(&self) -> u64 {
        self.item_start
    }

    fn advance(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n);
        self.consumed = self.consumed.saturating_add(n as u64);
    }

    /// Decodes one item from the front of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Item>> {
        if self.pending.is_none() && self.scanned == 0 {
            // Tolerate stray CR/LF between messages (keep-alive blank lines, trailing CRLF
            // after a body some clients add).
            let skip = buf
                .iter()
                .take_while(|b| **b == b'\r' || **b == b'\n')
                .count();
            self.advance(buf, skip);
            if self.resync && !self.skip_garbage(buf) {
                return Ok(None);
            }
            self.item_start = self.consumed;
        }
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if first == b'$' && self.pending.is_none() && self.scanned == 0 {
            let Some(&[_, channel, hi, lo]) = buf.get(..4) else {
                return Ok(None);
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if buf.len() < 4 + len {
                return Ok(None);
            }
            self.advance(buf, 4);
            let payload = buf.split_to(len).freeze();
            self.consumed = self.consumed.saturating_add(len as u64);
            return Ok(Some(Item::Interleaved(InterleavedFrame {
                channel,
                payload,
            })));
        }
        if !first.is_ascii_alphabetic() {
            return Err(Error::Malformed {
                reason: "expected a method, `RTSP/` or `$`",
                offset: 0,
            });
        }
        let (head_len, total) = match self.pending {
            Some(p) => p,
            None => {
                let Some(head_len) = self.find_head_end(buf)? else {
                    return Ok(None);
                };
                let content_length = content_length(buf.get(..head_len).unwrap_or(&[]))?;
                if content_length > self.limits.max_body {
                    return Err(Error::LimitExceeded {
                        what: "body bytes",
                        limit: self.limits.max_body,
                    });
                }
                let total = head_len
                    .checked_add(content_length)
                    .ok_or(Error::LimitExceeded {
                        what: "body bytes",
                        limit: self.limits.max_body,
                    })?;
                (head_len, total)
            }
        };
        if buf.len() < total {
            self.pending = Some((head_len, total));
            return Ok(None);
        }
        self.pending = None;
        self.scanned = 0;
        let raw = buf.split_to(total).freeze();
        self.consumed = self.consumed.saturating_add(total as u64);
        let msg = parse_head(&raw, head_len, &self.limits)?;
        Ok(Some(Item::Message(msg)))
    }

    /// Resync mode, at an item boundary: drops bytes up to the next plausible item start.
    /// Returns false when more input is needed to decide.
    fn skip_garbage(&mut self, buf: &mut BytesMut) -> bool {
        match self.classify(buf, !self.in_garbage) {
            Start::Item => {
                self.in_garbage = false;
                return true;
            }
            Start::NeedMore => return false,
            Start::Garbage => {}
        }
        let mut at = 1;
        let found = loop {
            let Some(rest) = buf.get(at..) else {
                break None;
            };
            if rest.is_empty() {
                break None;
            }
            // Only `$`, `R` (status line) and upper-case letters (request line) can start an
            // item; jump between candidates.
            let next = rest
                .iter()
                .position(|b| *b == b'$' || b.is_ascii_uppercase());
            let Some(off) = next else {
                break None;
            };
            at += off;
            match self.classify(buf.get(at..).unwrap_or(&[]), false) {
                Start::Item | Start::NeedMore => break Some(at),
                Start::Garbage => at += 1,
            }
        };
        let drop = found.unwrap_or(buf.len());
        if drop > 0 {
            tracing::debug!(bytes = drop, at = self.consumed, "rtsp: skipped garbage");
            self.skipped = self.skipped.saturating_add(drop as u64);
            self.in_garbage = true;
            self.advance(buf, drop);
        }
        let item = found.is_some_and(|_| self.classify(buf, false) == Start::Item);
        if item {
            self.in_garbage = false;
        }
        item
    }

    /// Whether `b` starts with something an item can start with. `at_boundary`: right after a
    /// complete item, where a `$` frame header on a known channel is trusted; inside garbage
    /// the checks are stricter.
    fn classify(&self, b: &[u8], at_boundary: bool) -> Start {
        let Some(&first) = b.first() else {
            return Start::NeedMore;
        };
        if first == b'$' {
            let Some(&[_, channel, hi, lo]) = b.get(..4) else {
                return Start::NeedMore;
            };
            if !self.channel_known(channel) {
                return Start::Garbage;
            }
            if at_boundary {
                return Start::Item;
            }
            // Inside garbage a `$` is often just a payload byte: the frame must carry an
            // RTP/RTCP (version 2) packet, and when it is complete in the buffer, what follows
            // must look like an item start too.
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            let Some(&v) = b.get(4) else {
                return Start::NeedMore;
            };
            if len == 0 || v >> 6 != 2 {
                return Start::Garbage;
            }
            if let Some(&after) = b.get(4 + len) {
                if !(after == b'$'
                    || after == b'\r'
                    || after == b'\n'
                    || after.is_ascii_uppercase())
                {
                    return Start::Garbage;
                }
            }
            return Start::Item;
        }
        const STATUS: &[u8] = b"RTSP/1.";
        if first == b'R' && b.len() < STATUS.len() && STATUS.starts_with(b) {
            return Start::NeedMore;
        }
        if b.starts_with(STATUS) {
            return Start::Item;
        }
        // A request line from the server: METHOD SP.
        let token = b
            .iter()
            .take(MAX_METHOD_LEN + 1)
            .take_while(|c| c.is_ascii_uppercase() || **c == b'_')
            .count();
        match b.get(token) {
            Some(b' ') if token >= 3 => {
                // … followed by an RTSP URL or `*`.
                let uri = b.get(token + 1..).unwrap_or(&[]);
                const URL: &[u8] = b"rtsp";
                if uri.first() == Some(&b'*') || uri.starts_with(URL) {
                    Start::Item
                } else if uri.len() < URL.len() && URL.starts_with(uri) {
                    Start::NeedMore
                } else {
                    Start::Garbage
                }
            }
            None if token <= MAX_METHOD_LEN => Start::NeedMore,
            _ => Start::Garbage,
        }
    }

    /// Finds the end of the header block (`\r\n\r\n` or `\n\n`), returning its length.
    fn find_head_end(&mut self, buf: &BytesMut) -> Result<Option<usize>> {
        let limit = self.limits.max_header_bytes;
        let start = self.scanned.saturating_sub(3);
        let window = buf
            .get(start..buf.len().min(limit.saturating_add(4)))
            .unwrap_or(&[]);
        let mut i = 0;
        while let Some(off) = memchr::memchr(b'\n', window.get(i..).unwrap_or(&[])) {
            let pos = i + off;
            // `\n\n` or `\n\r\n`
            if window.get(pos + 1) == Some(&b'\n') {
                return Ok(Some(start + pos + 2));
            }
            if window.get(pos + 1) == Some(&b'\r') && window.get(pos + 2) == Some(&b'\n') {
                return Ok(Some(start + pos + 3));
            }
            i = pos + 1;
        }
        if buf.len() > limit {
            return Err(Error::LimitExceeded {
                what: "header bytes",
                limit,
            });
        }
        self.scanned = buf.len();
        Ok(None)
    }
}

fn content_length(head: &[u8]) -> Result<usize> {
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        if name.trim_ascii().eq_ignore_ascii_case(b"content-length") {
            let v = value.get(1..).unwrap_or(&[]).trim_ascii();
            let s = std::str::from_utf8(v).map_err(|_| Error::InvalidHeader {
                header: "Content-Length",
                reason: "not ASCII",
            })?;
            if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::InvalidHeader {
                    header: "Content-Length",
                    reason: "not a number",
                });
            }
            return s.parse().map_err(|_| Error::InvalidHeader {
                header: "Content-Length",
                reason: "not a number",
            });
        }
    }
    Ok(0)
}

fn parse_version(v: &str) -> Result<Version> {
    match v {
        "RTSP/1.0" => Ok(Version::Rtsp10),
        "RTSP/2.0" => Ok(Version::Rtsp20),
        _ => Err(Error::UnsupportedVersion {
            version: v.chars().take(16).collect(),
        }),
    }
}

fn parse_head(raw: &Bytes, head_len: usize, limits: &Limits) -> Result<Message> {
    let head = raw.get(..head_len).unwrap_or(&[]);
    let text = std::str::from_utf8(head).map_err(|e| Error::Malformed {
        reason: "header is not UTF-8",
        offset: e.valid_up_to(),
    })?;
    let body = raw.slice(head_len..);
    let mut lines = text.split('\n');
    let raw_start = lines.next().unwrap_or("");
    let start = raw_start.strip_suffix('\r').unwrap_or(raw_start);
    let mut headers = Headers::new();
    // Zero-copy: header names and values are slices of `raw` (the whole head is valid UTF-8).
    let base = text.as_ptr() as usize;
    let share = |part: &str| -> Text {
        let off = (part.as_ptr() as usize).wrapping_sub(base);
        match off.checked_add(part.len()) {
            Some(end) if end <= head.len() && off <= end => {
                Text::from_utf8_bytes(raw.slice(off..end))
            }
            _ => Text::from(part.to_string()),
        }
    };
    // Byte offset of each line in the message (for errors).
    let mut offset = raw_start.len() + 1;
    // Pending header: name, value, and the folded value text when continuation lines follow.
    let mut last: Option<(Text, Text, Option<String>)> = None;
    let flush = |headers: &mut Headers, last: Option<(Text, Text, Option<String>)>| {
        if let Some((k, v, folded)) = last {
            headers.append_text(k, folded.map(Text::from).unwrap_or(v));
        }
    };
    for raw_line in lines {
        let here = offset;
        offset += raw_line.len() + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // obsolete line folding: continuation of the previous value
            match last.as_mut() {
                Some((_, v, folded)) => {
                    let f = folded.get_or_insert_with(|| v.as_str().to_string());
                    f.push(' ');
                    f.push_str(line.trim());
                }
                None => {
                    return Err(Error::Malformed {
                        reason: "continuation line without header",
                        offset: here,
                    })
                }
            }
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(Error::Malformed {
            reason: "header line without `:`",
            offset: here,
        })?;
        let name = name.trim();
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(Error::Malformed {
                reason: "bad header name",
                offset: here,
            });
        }
        flush(&mut headers, last.take());
        if headers.len() + 1 > limits.max_headers {
            return Err(Error::LimitExceeded {
                what: "header count",
                limit: limits.max_headers,
            });
        }
        last = Some((share(name), share(value.trim()), None));
    }
    flush(&mut headers, last);

    if let Some(rest) = start.strip_prefix("RTSP/") {
        // Status-Line = RTSP-Version SP Status-Code SP Reason-Phrase
        let mut parts = rest.splitn(3, ' ');
        let ver = format!("RTSP/{}", parts.next().unwrap_or(""));
        let version = parse_version(&ver)?;
        let code = parts.next().unwrap_or("");
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Malformed {
                reason: "bad status code",
                offset: ver.len() + 1,
            });
        }
        let status = code.parse().map_err(|_| Error::Malformed {
            reason: "bad status code",
            offset: ver.len() + 1,
        })?;
        let reason = parts.next().unwrap_or("").trim().to_string();
        Ok(Message::Response(Response {
            version,
            status,
            reason,
            headers,
            body,
        }))
    } else {
        // Request-Line = Method SP Request-URI SP RTSP-Version
        let mut parts = start.split(' ').filter(|p| !p.is_empty());
        let method = parts.next().ok_or(Error::Malformed {
            reason: "empty request line",
            offset: 0,
        })?;
        if !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Error::Malformed {
                reason: "bad method token",
                offset: 0,
            });
        }
        let uri = parts.next().ok_or(Error::Malformed {
            reason: "missing request URI",
            offset: method.len(),
        })?;
        let ver = parts.next().ok_or(Error::Malformed {
            reason: "missing version",
            offset: method.len() + uri.len(),
        })?;
        if parts.next().is_some() {
            return Err(Error::Malformed {
                reason: "extra fields on request line",
                offset: 0,
            });
        }
        let version = parse_version(ver)?;
        Ok(Message::Request(Request {
            method: Method::parse(method),
            uri: uri.to_string(),
            version,
            headers,
            body,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(dec: &mut Decoder, buf: &mut BytesMut) -> Vec<Item> {
        let mut v = Vec::new();
        while let Some(i) = dec.decode(buf).unwrap() {
            v.push(i);
        }
        v
    }

    #[test]
    fn pipelined_and_interleaved() {
        let mut buf = BytesMut::from(
            &b"OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 1\r\n\r\n$\x00\x00\x03abc\
ANNOUNCE rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 4\r\n\r\nv=0\n\
RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n"[..],
        );
        let mut dec = Decoder::default();
        let items = decode_all(&mut dec, &mut buf);
        assert_eq!(items.len(), 4);
        assert!(buf.is_empty());
        match &items[1] {
            Item::Interleaved(f) => assert_eq!((f.channel, f.payload.as_ref()), (0, &b"abc"[..])),
            other => panic!("{other:?}"),
        }
        match &items[2] {
            Item::Message(Message::Request(r)) => {
                assert_eq!(r.method, Method::Announce);
                assert_eq!(r.body.as_ref(), b"v=0\n");
                assert_eq!(r.headers.cseq(), Some(2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn byte_by_byte() {
        let whole = b"DESCRIBE rtsp://h/a RTSP/1.0\r\nCSeq: 7\r\nContent-Length: 3\r\n\r\nxyz$\x01\x00\x02hi";
        let mut dec = Decoder::default();
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        for b in whole {
            buf.extend_from_slice(&[*b]);
            while let Some(i) = dec.decode(&mut buf).unwrap() {
                items.push(i);
            }
        }
        assert_eq!(items.len(), 2);
        assert!(buf.is_empty());
    }

    #[test]
    fn limits() {
        let mut dec = Decoder::new(Limits {
            max_header_bytes: 32,
            max_headers: 2,
            max_body: 10,
        });
        let mut buf = BytesMut::from(
            &b"OPTIONS rtsp://h/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa RTSP/1.0\r\n"[..],
        );
        assert!(matches!(
            dec.decode(&mut buf),
            Err(Error::LimitExceeded {
                what: "header bytes",
                ..
            })
        ));
        let mut dec = Decoder::new(Limits {
            max_header_bytes: 1000,
            max_headers: 2,
            max_body: 10,
        });
        let mut buf = BytesMut::from(&b"OPTIONS * RTSP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"[..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(Error::LimitExceeded {
                what: "header count",
                ..
            })
        ));
        let mut dec = Decoder::new(Limits {
            max_header_bytes: 1000,
            max_headers: 8,
            max_body: 10,
        });
        let mut buf = BytesMut::from(&b"OPTIONS * RTSP/1.0\r\nContent-Length: 11\r\n\r\n"[..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(Error::LimitExceeded {
                what: "body bytes",
                ..
            })
        ));
    }

    #[test]
    fn folded_headers_and_shared_values() {
        let mut buf = BytesMut::from(
            &b"SETUP rtsp://h/a RTSP/1.0\r\nCSeq:5\r\nTransport: RTP/AVP;\r\n  unicast;\r\n\tclient_port=1-2\r\nX: y \r\n\r\n"[..],
        );
        let Some(Item::Message(Message::Request(r))) = Decoder::default().decode(&mut buf).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            r.headers.get("transport"),
            Some("RTP/AVP; unicast; client_port=1-2")
        );
        assert_eq!(r.headers.cseq(), Some(5));
        assert_eq!(r.headers.get("X"), Some("y"));
        assert_eq!(r.headers.len(), 3);
        let mut buf = BytesMut::from(&b"OPTIONS * RTSP/1.0\r\n continued\r\n\r\n"[..]);
        assert!(Decoder::default().decode(&mut buf).is_err());
    }

    fn rtp(seq: u8) -> Vec<u8> {
        let mut p = vec![0x80, 0x60, 0, seq, 0, 0, 0, 1, 0, 0, 0, 7];
        p.extend_from_slice(b"payload");
        p
    }

    fn frame(channel: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![b'$', channel];
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// Quirk (live555 before 2017.06.04, e.g. older Reolink firmware): interleaved frames cut
    /// short and stray bytes between frames. In resync mode the decoder skips to the next
    /// frame on a known channel or the next message, and counts what it skipped.
    #[test]
    fn resync_skips_garbage_between_interleaved_frames() {
        let mut input = frame(2, &rtp(1));
        input.extend_from_slice(b"\x17\x00garbage $\x09\x00\x04\x80abc"); // `$` on an unknown channel
        input.extend_from_slice(b"$\x02\x00\x03xyz"); // known channel, not RTP (inside garbage)
        input.extend_from_slice(&frame(3, &rtp(2)));
        // A frame cut short: its header claims 40 bytes, 10 follow, then the next frames.
        input.extend_from_slice(b"$\x02\x00\x28");
        input.extend_from_slice(&rtp(9)[..10]);
        input.extend_from_slice(&frame(2, &rtp(4)));
        input.extend_from_slice(&frame(3, &rtp(5)));
        input.extend_from_slice(b"RTSP/1.0 200 OK\r\nCSeq: 4\r\n\r\n");
        input.extend_from_slice(b"lowercase junk PLAY");
        input.extend_from_slice(&frame(2, &rtp(3)));
        for step in [input.len(), 1, 3, 7] {
            let mut dec = Decoder::default();
            dec.set_resync(true);
            dec.add_channel(2);
            dec.add_channel(3);
            let mut buf = BytesMut::new();
            let mut items = Vec::new();
            for chunk in input.chunks(step) {
                buf.extend_from_slice(chunk);
                items.extend(decode_all(&mut dec, &mut buf));
            }
            let kinds: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Item::Interleaved(f) => format!("${}:{}", f.channel, f.payload[3]),
                    Item::Message(m) => format!("cseq {:?}", m.headers().cseq()),
                })
                .collect();
            assert_eq!(
                kinds,
                ["$2:1", "$3:2", "$2:9", "cseq Some(4)", "$2:3"],
                "step {step}"
            );
            assert!(buf.is_empty());
            assert_eq!(dec.position(), input.len() as u64);
            assert!(dec.skipped_bytes() > 30, "{}", dec.skipped_bytes());
        }
        // Without resync the same input is an error.
        let mut buf = BytesMut::from(&input[..]);
        let mut dec = Decoder::default();
        assert!(dec.decode(&mut buf).unwrap().is_some());
        assert!(dec.decode(&mut buf).is_err());
    }

    /// Offsets: where each item started in the stream.
    #[test]
    fn positions() {
        let mut dec = Decoder::default();
        let mut buf = BytesMut::from(
            &b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n\r\nRTSP/1.0 200 OK\r\nCSeq 2\r\n\r\n"[..],
        );
        assert!(dec.decode(&mut buf).unwrap().is_some());
        assert_eq!((dec.item_start(), dec.position()), (0, 28));
        assert!(matches!(
            dec.decode(&mut buf),
            Err(Error::Malformed { offset: 17, .. })
        ));
        assert_eq!(dec.item_start(), 30);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut buf = BytesMut::from(&b"\x80\x60\x00\x01"[..]);
        assert!(Decoder::default().decode(&mut buf).is_err());
        let mut buf = BytesMut::from(&b"RTSP/1.0 2000 OK\r\n\r\n"[..]);
        assert!(Decoder::default().decode(&mut buf).is_err());
        let mut buf = BytesMut::from(&b"PLAY rtsp://x RTSP/3.0\r\n\r\n"[..]);
        assert!(matches!(
            Decoder::default().decode(&mut buf),
            Err(Error::UnsupportedVersion { .. })
        ));
    }
}
