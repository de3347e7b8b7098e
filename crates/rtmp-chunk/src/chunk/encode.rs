//! The chunk encoder (header compression, RTMP specification 5.3.1.2) and pre-chunked
//! shared payloads for write-once fan-out.

use bytes::{BufMut, Bytes, BytesMut};

use super::{MessageHeader, DEFAULT_CHUNK_SIZE, EXT_TS, MAX_CHUNK_SIZE, MAX_MESSAGE_LEN};
use crate::{Error, Result};

/// The longest type-0 chunk header: 3-byte basic header, 11-byte message header and a
/// 4-byte extended timestamp.
pub const TYPE0_HEADER_MAX: usize = 18;

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

fn put_basic(fmt: u8, csid: u32, out: &mut impl BufMut) {
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

fn put_u24(v: u32, out: &mut impl BufMut) {
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
    /// extended timestamp other than the one the message was prepared with, and with
    /// [`Error::InvalidState`] when `out` has room for less than
    /// [`TYPE0_HEADER_MAX`] bytes (a stack buffer of that size always fits).
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
    pub fn write_type0_header<B: BufMut>(
        &self,
        timestamp: u32,
        stream_id: u32,
        out: &mut B,
    ) -> Result<()> {
        let needs_ext = timestamp >= EXT_TS;
        if needs_ext != self.ext.is_some() || (needs_ext && self.ext != Some(timestamp)) {
            return Err(Error::PreparedMismatch("extended timestamp differs"));
        }
        if out.remaining_mut() < TYPE0_HEADER_MAX {
            return Err(Error::InvalidState(
                "output has room for less than a type-0 header",
            ));
        }
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
