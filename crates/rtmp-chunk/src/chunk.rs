//! The chunk stream (RTMP specification section 5.3): decoder, encoder and shared
//! pre-chunked payloads for write-once fan-out.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::{Error, Result};

/// Default chunk size before any Set Chunk Size (section 5.4.1).
pub const DEFAULT_CHUNK_SIZE: u32 = 128;
/// The largest chunk size the specification allows (31 bits).
pub const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;
/// Largest length a message header can carry (24 bits).
pub const MAX_MESSAGE_LEN: u32 = 0xFF_FFFF;
const EXT_TS: u32 = 0xFF_FFFF;

/// Resource bounds for a chunk decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Largest message length accepted from the peer (default 8 MiB). The message
    /// header can declare up to 16 MiB - 1.
    pub max_message_size: u32,
    /// Largest number of distinct chunk stream ids the peer may use (default 64).
    pub max_chunk_streams: usize,
    /// Largest chunk size the peer may set (default and maximum 2^31 - 1).
    pub max_chunk_size: u32,
    /// Largest total of partially received message bytes across all chunk streams
    /// (default 32 MiB), so interleaved unfinished messages cannot add up.
    pub max_buffered_bytes: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_message_size: 8 << 20,
            max_chunk_streams: 64,
            max_chunk_size: MAX_CHUNK_SIZE,
            max_buffered_bytes: 32 << 20,
        }
    }
}

/// How the decoder treats the extended-timestamp field of type-3 chunks.
///
/// The specification (section 5.3.1.3) says a type-3 chunk repeats the 4-byte extended
/// timestamp when the preceding header of its chunk stream used one; ffmpeg, librtmp,
/// OBS and nginx-rtmp write it that way. Some other encoders (older Red5 and FMS builds,
/// several hardware encoders) omit it on continuation chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Type3ExtendedTimestamp {
    /// On the first type-3 chunk that could carry the field, peek at the next four bytes:
    /// when they equal the expected extended timestamp the peer uses the specification
    /// form, otherwise it omits the field. The decision is kept for the connection
    /// (default; accepts both forms).
    #[default]
    Auto,
    /// Always expect the field (specification, ffmpeg/librtmp form).
    Always,
    /// Never expect the field on type-3 chunks.
    Never,
}

/// Header fields of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Absolute timestamp in milliseconds (32-bit, wraps).
    pub timestamp: u32,
    /// Message type id (1..=22 are defined).
    pub type_id: u8,
    /// Message stream id.
    pub stream_id: u32,
}

/// One reassembled message as it came off the chunk stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// Chunk stream id it arrived on.
    pub csid: u32,
    /// Header fields.
    pub header: MessageHeader,
    /// The body (a zero-copy slice of the input when the message fit in one chunk).
    pub payload: Bytes,
}

#[derive(Debug, Default)]
struct DecState {
    csid: u32,
    have_header: bool,
    timestamp: u32,
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    ext: Option<u32>,
    /// Bytes still missing from the message in progress (0 = none in progress).
    remaining: u32,
    buf: BytesMut,
}

/// Decodes chunks into messages. Applies Set Chunk Size and Abort messages itself (they
/// change how later chunks are read) and still returns them to the caller.
#[derive(Debug)]
pub struct ChunkDecoder {
    chunk_size: u32,
    limits: ChunkLimits,
    type3_ext: Type3ExtendedTimestamp,
    streams: Vec<DecState>,
    last: usize,
    /// In `Auto` mode: whether this peer repeats extended timestamps on type-3 chunks,
    /// once observed.
    type3_learned: Option<bool>,
    total_buffered: usize,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        ChunkDecoder::new(ChunkLimits::default())
    }
}

/// Parsed basic + message header of one chunk, before any state is changed.
struct ChunkHead {
    fmt: u8,
    csid: u32,
    header_len: usize,
    ts_field: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

fn be24(b: &[u8]) -> u32 {
    b.iter()
        .take(3)
        .fold(0u32, |acc, x| (acc << 8) | u32::from(*x))
}

fn be32(b: &[u8]) -> u32 {
    b.iter()
        .take(4)
        .fold(0u32, |acc, x| (acc << 8) | u32::from(*x))
}

fn parse_head(buf: &[u8]) -> Option<ChunkHead> {
    let b0 = *buf.first()?;
    let fmt = b0 >> 6;
    let (csid, basic) = match b0 & 0x3F {
        0 => (64 + u32::from(*buf.get(1)?), 2),
        1 => (
            64 + u32::from(*buf.get(1)?) + 256 * u32::from(*buf.get(2)?),
            3,
        ),
        n => (u32::from(n), 1),
    };
    let mh_len = match fmt {
        0 => 11,
        1 => 7,
        2 => 3,
        _ => 0,
    };
    let mh = buf.get(basic..basic + mh_len)?;
    let mut head = ChunkHead {
        fmt,
        csid,
        header_len: basic + mh_len,
        ts_field: 0,
        length: 0,
        type_id: 0,
        stream_id: 0,
    };
    if fmt <= 2 {
        head.ts_field = be24(mh);
    }
    if fmt <= 1 {
        head.length = be24(mh.get(3..)?);
        head.type_id = *mh.get(6)?;
    }
    if fmt == 0 {
        let s = mh.get(7..11)?;
        head.stream_id = u32::from_le_bytes([*s.first()?, *s.get(1)?, *s.get(2)?, *s.get(3)?]);
    }
    Some(head)
}

impl ChunkDecoder {
    /// A decoder with the default chunk size (128) and the given limits.
    pub fn new(limits: ChunkLimits) -> Self {
        ChunkDecoder {
            chunk_size: DEFAULT_CHUNK_SIZE,
            limits,
            type3_ext: Type3ExtendedTimestamp::Auto,
            streams: Vec::new(),
            last: 0,
            type3_learned: None,
            total_buffered: 0,
        }
    }

    /// Chooses how type-3 extended timestamps are read.
    pub fn set_type3_extended_timestamp(&mut self, rule: Type3ExtendedTimestamp) {
        self.type3_ext = rule;
    }

    /// The peer's current chunk size.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// The limits in force.
    pub fn limits(&self) -> &ChunkLimits {
        &self.limits
    }

    /// Sets the peer's chunk size (normally done automatically on Set Chunk Size).
    pub fn set_chunk_size(&mut self, size: u32) -> Result<()> {
        if size == 0 || size > self.limits.max_chunk_size || size > MAX_CHUNK_SIZE {
            return Err(Error::BadChunkSize {
                size,
                limit: self.limits.max_chunk_size,
            });
        }
        self.chunk_size = size;
        Ok(())
    }

    /// Drops the partial message of chunk stream `csid` (Abort Message, section 5.4.2).
    pub fn abort(&mut self, csid: u32) {
        if let Some(s) = self.streams.iter_mut().find(|s| s.csid == csid) {
            self.total_buffered = self.total_buffered.saturating_sub(s.buf.len());
            s.remaining = 0;
            s.buf = BytesMut::new();
        }
    }

    /// Bytes buffered in partially received messages.
    pub fn buffered(&self) -> usize {
        self.total_buffered
    }

    fn state_index(&mut self, csid: u32) -> Result<usize> {
        if let Some(s) = self.streams.get(self.last) {
            if s.csid == csid {
                return Ok(self.last);
            }
        }
        if let Some(i) = self.streams.iter().position(|s| s.csid == csid) {
            self.last = i;
            return Ok(i);
        }
        if self.streams.len() >= self.limits.max_chunk_streams {
            return Err(Error::TooManyChunkStreams {
                csid,
                limit: self.limits.max_chunk_streams,
            });
        }
        self.streams.push(DecState {
            csid,
            ..DecState::default()
        });
        self.last = self.streams.len() - 1;
        Ok(self.last)
    }

    /// Decodes the next complete message from `buf`, consuming exactly the chunks used.
    /// Returns `Ok(None)` when more input is needed (nothing of an incomplete chunk is
    /// consumed).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RawMessage>> {
        loop {
            let Some(head) = parse_head(buf) else {
                return Ok(None);
            };
            let type3_ext = self.type3_ext;
            let max_msg = self.limits.max_message_size;
            let chunk_size = self.chunk_size;
            let idx = self.state_index(head.csid)?;
            let Some(st) = self.streams.get_mut(idx) else {
                return Ok(None);
            };
            if head.fmt != 0 && !st.have_header {
                return Err(Error::MissingPreviousHeader {
                    csid: head.csid,
                    fmt: head.fmt,
                });
            }
            let mut pos = head.header_len;
            let mut learned = None;
            // Extended timestamp (section 5.3.1.3).
            let mut ext_value = None;
            if head.fmt <= 2 {
                if head.ts_field == EXT_TS {
                    let Some(b) = buf.get(pos..pos + 4) else {
                        return Ok(None);
                    };
                    ext_value = Some(be32(b));
                    pos += 4;
                }
            } else if let Some(expected) = st.ext {
                match type3_ext {
                    Type3ExtendedTimestamp::Never => {}
                    Type3ExtendedTimestamp::Always => {
                        if buf.len() < pos + 4 {
                            return Ok(None);
                        }
                        pos += 4;
                    }
                    Type3ExtendedTimestamp::Auto => match self.type3_learned {
                        Some(true) => {
                            if buf.len() < pos + 4 {
                                return Ok(None);
                            }
                            pos += 4;
                        }
                        Some(false) => {}
                        None => {
                            // Decide once per connection, on the first such chunk, by
                            // comparing with the field value or the absolute timestamp.
                            let Some(b) = buf.get(pos..pos + 4) else {
                                return Ok(None);
                            };
                            let v = be32(b);
                            let present = v == expected || v == st.timestamp;
                            if present {
                                pos += 4;
                            }
                            learned = Some(present);
                        }
                    },
                }
            }
            let length = if head.fmt <= 1 {
                head.length
            } else {
                st.length
            };
            let starting = head.fmt != 3 || st.remaining == 0;
            if starting && length > max_msg {
                return Err(Error::MessageTooLarge {
                    csid: head.csid,
                    len: length,
                    limit: max_msg,
                });
            }
            let remaining = if starting { length } else { st.remaining };
            let n = remaining.min(chunk_size) as usize;
            if buf.len() < pos + n {
                return Ok(None);
            }
            // The whole chunk is here: commit header state.
            if learned.is_some() {
                self.type3_learned = learned;
            }
            if head.fmt != 3 && st.remaining != 0 {
                tracing::debug!(
                    csid = head.csid,
                    "new message header before previous message completed; dropping it"
                );
                self.total_buffered = self.total_buffered.saturating_sub(st.buf.len());
                st.buf.clear();
            }
            if starting {
                let field = ext_value.unwrap_or(head.ts_field);
                match head.fmt {
                    0 => {
                        st.timestamp = field;
                        st.delta = field;
                        st.stream_id = head.stream_id;
                    }
                    1 | 2 => {
                        st.delta = field;
                        st.timestamp = st.timestamp.wrapping_add(field);
                    }
                    _ => st.timestamp = st.timestamp.wrapping_add(st.delta),
                }
                if head.fmt <= 1 {
                    st.length = head.length;
                    st.type_id = head.type_id;
                }
                if head.fmt <= 2 {
                    st.ext = ext_value;
                }
                st.have_header = true;
            }
            buf.advance(pos);
            let data = buf.split_to(n);
            let header = MessageHeader {
                timestamp: st.timestamp,
                type_id: st.type_id,
                stream_id: st.stream_id,
            };
            let done = if starting && n as u32 == length {
                st.remaining = 0;
                Some(data.freeze())
            } else {
                let limit = self.limits.max_buffered_bytes;
                if self.total_buffered.saturating_add(n) > limit {
                    return Err(Error::BufferLimit {
                        len: self.total_buffered.saturating_add(n),
                        limit,
                    });
                }
                if starting {
                    st.buf = BytesMut::with_capacity((length as usize).min(64 * 1024));
                }
                st.buf.extend_from_slice(&data);
                self.total_buffered += n;
                st.remaining = remaining - n as u32;
                if st.remaining == 0 {
                    self.total_buffered = self.total_buffered.saturating_sub(st.buf.len());
                    Some(std::mem::take(&mut st.buf).freeze())
                } else {
                    None
                }
            };
            if let Some(payload) = done {
                let msg = RawMessage {
                    csid: head.csid,
                    header,
                    payload,
                };
                self.apply_control(&msg)?;
                return Ok(Some(msg));
            }
        }
    }

    fn apply_control(&mut self, msg: &RawMessage) -> Result<()> {
        match msg.header.type_id {
            crate::message::type_id::SET_CHUNK_SIZE => {
                let size = msg.payload.get(..4).map(be32).ok_or(Error::Malformed {
                    what: "Set Chunk Size",
                    reason: "shorter than 4 bytes",
                })?;
                // Section 5.4.1: the top bit must be zero.
                if size & 0x8000_0000 != 0 {
                    return Err(Error::BadChunkSize {
                        size,
                        limit: self.limits.max_chunk_size,
                    });
                }
                self.set_chunk_size(size)
            }
            crate::message::type_id::ABORT => {
                let csid = msg.payload.get(..4).map(be32).ok_or(Error::Malformed {
                    what: "Abort",
                    reason: "shorter than 4 bytes",
                })?;
                self.abort(csid);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct EncState {
    csid: u32,
    timestamp: u32,
    /// `None` right after a type-0 header (a type-3 header would then be ambiguous
    /// between implementations, so it is never used there).
    delta: Option<u32>,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

/// Writes messages as chunks.
///
/// Header compression: type 0 for the first message of a chunk stream, a new message
/// stream id, a timestamp going backwards, or a timestamp at or above 0xFFFFFF (so
/// extended timestamps always carry the absolute time); type 1 when length or type
/// changes; type 2 when only the delta changes; type 3 when everything repeats.
#[derive(Debug)]
pub struct ChunkEncoder {
    chunk_size: u32,
    type3_ext: bool,
    streams: Vec<EncState>,
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        ChunkEncoder::new()
    }
}

fn put_basic(fmt: u8, csid: u32, out: &mut BytesMut) {
    match csid {
        2..=63 => out.put_u8((fmt << 6) | csid as u8),
        64..=319 => {
            out.put_u8(fmt << 6);
            out.put_u8((csid - 64) as u8);
        }
        _ => {
            out.put_u8((fmt << 6) | 1);
            let v = csid - 64;
            out.put_u8((v & 0xFF) as u8);
            out.put_u8((v >> 8) as u8);
        }
    }
}

fn check_csid(csid: u32) -> Result<()> {
    if (2..=65599).contains(&csid) {
        Ok(())
    } else {
        Err(Error::InvalidState("chunk stream id must be in 2..=65599"))
    }
}

fn put_u24(v: u32, out: &mut BytesMut) {
    out.put_u8((v >> 16) as u8);
    out.put_u8((v >> 8) as u8);
    out.put_u8(v as u8);
}

impl ChunkEncoder {
    /// An encoder with the default chunk size (128) writing type-3 extended timestamps.
    pub fn new() -> Self {
        ChunkEncoder {
            chunk_size: DEFAULT_CHUNK_SIZE,
            type3_ext: true,
            streams: Vec::new(),
        }
    }

    /// Whether continuation (type-3) chunks repeat the extended timestamp (default
    /// true, as the specification, ffmpeg and librtmp do).
    pub fn set_type3_extended_timestamp(&mut self, on: bool) {
        self.type3_ext = on;
    }

    /// Our current outgoing chunk size.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Changes the outgoing chunk size. The peer must be told first: prefer
    /// [`write_set_chunk_size`](Self::write_set_chunk_size).
    pub fn set_chunk_size(&mut self, size: u32) -> Result<()> {
        if size == 0 || size > MAX_CHUNK_SIZE {
            return Err(Error::BadChunkSize {
                size,
                limit: MAX_CHUNK_SIZE,
            });
        }
        self.chunk_size = size;
        Ok(())
    }

    /// Writes a Set Chunk Size message (on chunk stream 2) and switches to `size`.
    pub fn write_set_chunk_size(&mut self, size: u32, out: &mut BytesMut) -> Result<()> {
        if size == 0 || size > MAX_CHUNK_SIZE {
            return Err(Error::BadChunkSize {
                size,
                limit: MAX_CHUNK_SIZE,
            });
        }
        let header = MessageHeader {
            timestamp: 0,
            type_id: crate::message::type_id::SET_CHUNK_SIZE,
            stream_id: 0,
        };
        self.write_message(2, header, &size.to_be_bytes(), out)?;
        self.chunk_size = size;
        Ok(())
    }

    fn state(&mut self, csid: u32) -> Option<&mut EncState> {
        self.streams.iter_mut().find(|s| s.csid == csid)
    }

    /// Writes the first chunk header for a message and updates the chunk stream state.
    /// Returns the extended timestamp value continuation chunks must repeat.
    fn write_header(
        &mut self,
        csid: u32,
        h: MessageHeader,
        length: u32,
        out: &mut BytesMut,
    ) -> Option<u32> {
        let prev = self.state(csid).copied();
        let (fmt, field) = match prev {
            Some(p)
                if p.stream_id == h.stream_id
                    && h.timestamp >= p.timestamp
                    && h.timestamp < EXT_TS =>
            {
                let delta = h.timestamp - p.timestamp;
                if p.length != length || p.type_id != h.type_id {
                    (1, delta)
                } else if p.delta != Some(delta) {
                    (2, delta)
                } else {
                    (3, delta)
                }
            }
            _ => (0, h.timestamp),
        };
        put_basic(fmt, csid, out);
        let ext = if field >= EXT_TS { Some(field) } else { None };
        if fmt <= 2 {
            put_u24(if ext.is_some() { EXT_TS } else { field }, out);
        }
        if fmt <= 1 {
            put_u24(length, out);
            out.put_u8(h.type_id);
        }
        if fmt == 0 {
            out.put_u32_le(h.stream_id);
        }
        if let Some(e) = ext {
            out.put_u32(e);
        }
        let st = EncState {
            csid,
            timestamp: h.timestamp,
            delta: if fmt == 0 { None } else { Some(field) },
            length,
            type_id: h.type_id,
            stream_id: h.stream_id,
        };
        match self.state(csid) {
            Some(s) => *s = st,
            None => self.streams.push(st),
        }
        ext
    }

    /// Appends `payload` as one message on chunk stream `csid` to `out`. Allocation-free
    /// when `out` has room.
    pub fn write_message(
        &mut self,
        csid: u32,
        header: MessageHeader,
        payload: &[u8],
        out: &mut BytesMut,
    ) -> Result<()> {
        check_csid(csid)?;
        let length = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l <= MAX_MESSAGE_LEN)
            .ok_or(Error::EncodeTooLarge { len: payload.len() })?;
        let cs = self.chunk_size as usize;
        let chunks = payload.len().div_ceil(cs).max(1);
        out.reserve(payload.len() + 16 + (chunks - 1) * 8);
        let ext = self.write_header(csid, header, length, out);
        let mut rest = payload;
        let mut first = true;
        loop {
            if !first {
                put_basic(3, csid, out);
                if let (Some(e), true) = (ext, self.type3_ext) {
                    out.put_u32(e);
                }
            }
            first = false;
            let (now, later) = rest.split_at(rest.len().min(cs));
            out.put_slice(now);
            rest = later;
            if rest.is_empty() {
                break;
            }
        }
        Ok(())
    }

    /// Zero-copy variant of [`write_message`](Self::write_message): chunk headers are
    /// written into `scratch` and split off, payload chunks are `Bytes::slice`s of
    /// `payload`; both are pushed to `out` in wire order, ready for a vectored write.
    /// No payload byte is copied; headers share `scratch`'s allocation (reserve it once
    /// for many messages).
    pub fn write_message_vectored(
        &mut self,
        csid: u32,
        header: MessageHeader,
        payload: &Bytes,
        scratch: &mut BytesMut,
        out: &mut impl Extend<Bytes>,
    ) -> Result<()> {
        check_csid(csid)?;
        let length = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l <= MAX_MESSAGE_LEN)
            .ok_or(Error::EncodeTooLarge { len: payload.len() })?;
        let cs = self.chunk_size as usize;
        if scratch.capacity() - scratch.len() < 32 {
            scratch.reserve(4096);
        }
        let ext = self.write_header(csid, header, length, scratch);
        let mut start = 0;
        loop {
            if start > 0 {
                if scratch.capacity() - scratch.len() < 8 {
                    scratch.reserve(4096);
                }
                put_basic(3, csid, scratch);
                if let (Some(e), true) = (ext, self.type3_ext) {
                    scratch.put_u32(e);
                }
            }
            let end = payload.len().min(start + cs);
            out.extend([scratch.split().freeze(), payload.slice(start..end)]);
            start = end;
            if start >= payload.len() {
                break;
            }
        }
        Ok(())
    }

    /// Writes the per-connection first-chunk header for a [`PreparedMessage`] and updates
    /// this encoder's state; the caller then sends [`PreparedMessage::chunks`] unchanged.
    ///
    /// This is the write-once fan-out path: a relay prepares each media message once per
    /// chunk size and shares the resulting `Bytes` with every player; only this header
    /// (1 to 18 bytes) is per player. Fails with [`Error::PreparedMismatch`] when the
    /// prepared chunk size or extended timestamp does not fit this connection.
    pub fn write_prepared_header(
        &mut self,
        prepared: &PreparedMessage,
        timestamp: u32,
        stream_id: u32,
        out: &mut BytesMut,
    ) -> Result<()> {
        if prepared.chunk_size != self.chunk_size {
            return Err(Error::PreparedMismatch("chunk size differs"));
        }
        let needs_ext = timestamp >= EXT_TS;
        if needs_ext && prepared.ext != Some(timestamp) {
            return Err(Error::PreparedMismatch("extended timestamp differs"));
        }
        if !needs_ext && prepared.ext.is_some() {
            return Err(Error::PreparedMismatch(
                "prepared with an extended timestamp",
            ));
        }
        if prepared.ext.is_some() && !self.type3_ext && prepared.continuation_chunks > 0 {
            return Err(Error::PreparedMismatch(
                "type-3 extended timestamp setting differs",
            ));
        }
        let header = MessageHeader {
            timestamp,
            type_id: prepared.type_id,
            stream_id,
        };
        out.reserve(18);
        self.write_header(prepared.csid, header, prepared.length, out);
        Ok(())
    }
}

/// A message body pre-split into chunks (with the type-3 continuation headers in place)
/// for one chunk stream id and chunk size, shareable by many connections.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use weir_rtmp_chunk::{ChunkDecoder, ChunkEncoder, PreparedMessage};
///
/// let body = Bytes::from(vec![7u8; 1000]);
/// // Once per message, for all players using chunk size 128:
/// let shared = PreparedMessage::new(6, 128, 9, 40, &body).unwrap();
/// // Per player: a few header bytes, then the shared chunks.
/// let mut player = ChunkEncoder::new();
/// let mut wire = BytesMut::new();
/// player.write_prepared_header(&shared, 40, 1, &mut wire).unwrap();
/// wire.extend_from_slice(shared.chunks());
///
/// let msg = ChunkDecoder::default().decode(&mut wire).unwrap().unwrap();
/// assert_eq!(msg.payload, body);
/// assert_eq!(msg.header.timestamp, 40);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedMessage {
    csid: u32,
    chunk_size: u32,
    type_id: u8,
    length: u32,
    ext: Option<u32>,
    continuation_chunks: usize,
    chunks: Bytes,
}

impl PreparedMessage {
    /// Splits `payload` for chunk stream `csid` and `chunk_size`. `timestamp` matters
    /// only when it is at or above 0xFFFFFF (the continuation headers then carry it).
    pub fn new(
        csid: u32,
        chunk_size: u32,
        type_id: u8,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<Self> {
        check_csid(csid)?;
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(Error::BadChunkSize {
                size: chunk_size,
                limit: MAX_CHUNK_SIZE,
            });
        }
        let length = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l <= MAX_MESSAGE_LEN)
            .ok_or(Error::EncodeTooLarge { len: payload.len() })?;
        let ext = if timestamp >= EXT_TS {
            Some(timestamp)
        } else {
            None
        };
        let cs = chunk_size as usize;
        let continuation_chunks = payload.len().div_ceil(cs).max(1) - 1;
        let mut out = BytesMut::with_capacity(payload.len() + continuation_chunks * 7);
        let mut rest = payload;
        let mut first = true;
        loop {
            if !first {
                put_basic(3, csid, &mut out);
                if let Some(e) = ext {
                    out.put_u32(e);
                }
            }
            first = false;
            let (now, later) = rest.split_at(rest.len().min(cs));
            out.put_slice(now);
            rest = later;
            if rest.is_empty() {
                break;
            }
        }
        Ok(PreparedMessage {
            csid,
            chunk_size,
            type_id,
            length,
            ext,
            continuation_chunks,
            chunks: out.freeze(),
        })
    }

    /// The shared chunk bytes that follow the per-connection header.
    pub fn chunks(&self) -> &Bytes {
        &self.chunks
    }

    /// Writes a complete type-0 first-chunk header (absolute timestamp, length, type and
    /// message stream id) for this message, depending on no earlier header: a sender that
    /// puts every message on its chunk stream with a type-0 header keeps no per-connection
    /// state at all (a relay writing to many players from one task). The chunks then
    /// follow unchanged. Fails with [`Error::PreparedMismatch`] when `timestamp` needs an
    /// extended timestamp other than the one the message was prepared with.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use weir_rtmp_chunk::{ChunkDecoder, PreparedMessage};
    ///
    /// let shared = PreparedMessage::new(6, 128, 9, 40, &[7u8; 300]).unwrap();
    /// let mut wire = BytesMut::new();
    /// shared.write_type0_header(40, 1, &mut wire).unwrap();
    /// wire.extend_from_slice(shared.chunks());
    /// let msg = ChunkDecoder::default().decode(&mut wire).unwrap().unwrap();
    /// assert_eq!((msg.header.timestamp, msg.payload.len()), (40, 300));
    /// ```
    pub fn write_type0_header(
        &self,
        timestamp: u32,
        stream_id: u32,
        out: &mut BytesMut,
    ) -> Result<()> {
        let needs_ext = timestamp >= EXT_TS;
        if needs_ext != self.ext.is_some() || (needs_ext && self.ext != Some(timestamp)) {
            return Err(Error::PreparedMismatch("extended timestamp differs"));
        }
        out.reserve(18);
        put_basic(0, self.csid, out);
        put_u24(timestamp.min(EXT_TS), out);
        put_u24(self.length, out);
        out.put_u8(self.type_id);
        out.put_u32_le(stream_id);
        if needs_ext {
            out.put_u32(timestamp);
        }
        Ok(())
    }

    /// Chunk stream id it was prepared for.
    pub fn csid(&self) -> u32 {
        self.csid
    }

    /// Chunk size it was prepared for.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Message type id.
    pub fn type_id(&self) -> u8 {
        self.type_id
    }

    /// Body length.
    pub fn len(&self) -> u32 {
        self.length
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }
}
