//! The chunk decoder: chunks in, reassembled messages out (RTMP specification 5.3.1, 5.4).

use bytes::{Buf, BytesMut};

use super::{
    ChunkLimits, MessageHeader, RawMessage, Type3ExtendedTimestamp, DEFAULT_CHUNK_SIZE, EXT_TS,
    MAX_CHUNK_SIZE,
};
use crate::{Error, Result};

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

    /// Frees what idle chunk streams hold: the spare capacity of their message buffers
    /// and of the state list (a relay calls it on connections that have gone quiet, such
    /// as players, which send a few acknowledgements a minute). Headers are kept, so later
    /// chunks that rely on them still decode.
    pub fn shrink_to_fit(&mut self) {
        for s in &mut self.streams {
            if s.buf.is_empty() {
                s.buf = BytesMut::new();
            }
        }
        self.streams.shrink_to_fit();
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
                            let avail = buf.get(pos..).unwrap_or(&[]);
                            let present = match avail.get(..4) {
                                Some(b) => {
                                    let v = be32(b);
                                    v == expected || v == st.timestamp
                                }
                                // Fewer than 4 bytes that cannot begin either value: a
                                // short last chunk, decided now rather than waiting for
                                // bytes that may never come.
                                None if [expected, st.timestamp]
                                    .iter()
                                    .any(|v| v.to_be_bytes().starts_with(avail)) =>
                                {
                                    return Ok(None)
                                }
                                None => false,
                            };
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
