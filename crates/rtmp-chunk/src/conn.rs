//! State shared by the server and client sessions: chunk codec, transmit queue,
//! acknowledgement window and automatic protocol-control replies.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use weir_amf::{CommandMessage, DecodeLimits};

use crate::chunk::{
    ChunkDecoder, ChunkEncoder, ChunkLimits, MessageHeader, PreparedMessage, RawMessage,
    Type3ExtendedTimestamp,
};
use crate::handshake::HandshakeConfig;
use crate::message::{csid, write_message, Message, UserControl};
use crate::Result;

/// Settings common to [`ServerSession`](crate::ServerSession) and [`ClientSession`](crate::ClientSession).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Chunk size we announce and send with (default 4096).
    pub chunk_size: u32,
    /// Window Acknowledgement Size we announce (default 2 500 000).
    pub window_ack_size: u32,
    /// Set Peer Bandwidth we announce (default 2 500 000, dynamic).
    pub peer_bandwidth: u32,
    /// Chunk decoder bounds.
    pub limits: ChunkLimits,
    /// AMF decoding bounds for commands and data messages.
    pub amf_limits: DecodeLimits,
    /// Handshake settings (seed, digest form).
    pub handshake: HandshakeConfig,
    /// How type-3 extended timestamps are read.
    pub type3_ext_decode: Type3ExtendedTimestamp,
    /// Whether we repeat extended timestamps on type-3 chunks (default true).
    pub type3_ext_encode: bool,
    /// Largest number of message streams (`createStream`) per connection (default 8).
    pub max_streams: usize,
    /// Largest number of undelivered events (default 16384), counting those produced
    /// within one `handle_input` call; beyond it `handle_input` fails with
    /// [`Error::BufferLimit`](crate::Error::BufferLimit). Drain
    /// [`poll_event`](crate::ServerSession::poll_event) after every call.
    pub max_pending_events: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            chunk_size: 4096,
            window_ack_size: 2_500_000,
            peer_bandwidth: 2_500_000,
            limits: ChunkLimits::default(),
            amf_limits: DecodeLimits::default(),
            handshake: HandshakeConfig::default(),
            type3_ext_decode: Type3ExtendedTimestamp::Auto,
            type3_ext_encode: true,
            max_streams: 8,
            max_pending_events: 16384,
        }
    }
}

/// Size of the blocks per-message headers are written into.
const HEADER_BLOCK: usize = 512;

pub(crate) struct Conn {
    pub(crate) decoder: ChunkDecoder,
    pub(crate) encoder: ChunkEncoder,
    out: BytesMut,
    queue: VecDeque<Bytes>,
    queued_bytes: usize,
    received: u64,
    acked: u64,
    /// The peer's Window Acknowledgement Size: we acknowledge after this many bytes.
    peer_window: u32,
    pub(crate) amf_limits: DecodeLimits,
}

impl Conn {
    pub(crate) fn new(cfg: &SessionConfig) -> Conn {
        let mut decoder = ChunkDecoder::new(cfg.limits);
        decoder.set_type3_extended_timestamp(cfg.type3_ext_decode);
        let mut encoder = ChunkEncoder::new();
        encoder.set_type3_extended_timestamp(cfg.type3_ext_encode);
        Conn {
            decoder,
            encoder,
            out: BytesMut::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            received: 0,
            acked: 0,
            peer_window: 0,
            amf_limits: cfg.amf_limits,
        }
    }

    pub(crate) fn out(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    pub(crate) fn send(
        &mut self,
        csid: u32,
        timestamp: u32,
        stream_id: u32,
        msg: &Message,
    ) -> Result<()> {
        write_message(
            &mut self.encoder,
            csid,
            timestamp,
            stream_id,
            msg,
            &mut self.out,
        )
    }

    pub(crate) fn send_command(
        &mut self,
        csid: u32,
        stream_id: u32,
        cmd: CommandMessage,
    ) -> Result<()> {
        self.send(csid, 0, stream_id, &Message::command(cmd))
    }

    pub(crate) fn send_control(&mut self, msg: &Message) -> Result<()> {
        self.send(csid::CONTROL, 0, 0, msg)
    }

    /// Sends a media body; large bodies at large chunk sizes go out as shared slices.
    pub(crate) fn send_media(
        &mut self,
        csid: u32,
        header: MessageHeader,
        payload: &Bytes,
    ) -> Result<()> {
        // Slicing pays off only for large chunks of large bodies (keyframes); below that a
        // copy is cheaper than the per-piece reference counting (see benches/chunk.rs).
        if payload.len() <= 16 * 1024 || self.encoder.chunk_size() < 4096 {
            return self
                .encoder
                .write_message(csid, header, payload, &mut self.out);
        }
        self.flush_out();
        let before = self.queue.len();
        self.encoder.write_message_vectored(
            csid,
            header,
            payload,
            &mut self.out,
            &mut self.queue,
        )?;
        self.queued_bytes += self
            .queue
            .iter()
            .skip(before)
            .map(Bytes::len)
            .sum::<usize>();
        Ok(())
    }

    pub(crate) fn send_prepared(
        &mut self,
        p: &PreparedMessage,
        timestamp: u32,
        stream_id: u32,
    ) -> Result<()> {
        // Headers go into small blocks shared by a few dozen messages: one allocation per
        // block rather than per message, and a block is freed once its headers are sent.
        if self.out.capacity() - self.out.len() < 32 {
            if self.out.is_empty() {
                self.out = BytesMut::with_capacity(HEADER_BLOCK);
            } else {
                self.out.reserve(HEADER_BLOCK);
            }
        }
        self.encoder
            .write_prepared_header(p, timestamp, stream_id, &mut self.out)?;
        self.flush_out();
        self.queued_bytes += p.chunks().len();
        self.queue.push_back(p.chunks().clone());
        Ok(())
    }

    pub(crate) fn set_chunk_size(&mut self, size: u32) -> Result<()> {
        self.encoder.write_set_chunk_size(size, &mut self.out)
    }

    fn flush_out(&mut self) {
        if !self.out.is_empty() {
            let b = self.out.split().freeze();
            self.queued_bytes += b.len();
            self.queue.push_back(b);
        }
        // A connection that wrote something big (handshake, connect reply) must not keep
        // that capacity around for its 1–18-byte media headers: with hundreds of players
        // per stream, per-connection memory is what matters.
        if self.out.capacity() > 4 * HEADER_BLOCK {
            self.out = BytesMut::new();
        }
    }

    /// Frees unused capacity (see `ServerSession::shrink_to_fit`).
    pub(crate) fn shrink_to_fit(&mut self) {
        if self.out.is_empty() {
            self.out = BytesMut::new();
        }
        self.queue.shrink_to_fit();
        self.decoder.shrink_to_fit();
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Bytes> {
        self.flush_out();
        let Some(b) = self.queue.pop_front() else {
            if self.queue.capacity() > 64 {
                self.queue.shrink_to(16);
            }
            return None;
        };
        self.queued_bytes = self.queued_bytes.saturating_sub(b.len());
        Some(b)
    }

    pub(crate) fn transmit_into(&mut self, dst: &mut BytesMut) -> usize {
        let mut n = 0;
        while let Some(b) = self.queue.pop_front() {
            n += b.len();
            dst.extend_from_slice(&b);
        }
        n += self.out.len();
        dst.extend_from_slice(&self.out);
        self.out.clear();
        self.queued_bytes = 0;
        n
    }

    pub(crate) fn pending_transmit(&self) -> usize {
        self.queued_bytes + self.out.len()
    }

    /// Decodes one message from `buf`, counting consumed bytes toward acknowledgements.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RawMessage>> {
        let before = buf.len();
        let r = self.decoder.decode(buf);
        self.count_received(before.saturating_sub(buf.len()))?;
        r
    }

    pub(crate) fn count_received(&mut self, n: usize) -> Result<()> {
        self.received = self.received.wrapping_add(n as u64);
        if self.peer_window > 0
            && self.received.saturating_sub(self.acked) >= u64::from(self.peer_window)
        {
            self.acked = self.received;
            // Section 5.4.3: the sequence number is the byte count so far (wrapping at 32 bits).
            self.send_control(&Message::Acknowledgement(self.received as u32))?;
        }
        Ok(())
    }

    /// Handles protocol-control and user-control messages common to both sides.
    /// Returns true when the message was consumed.
    pub(crate) fn handle_control(&mut self, msg: &Message) -> Result<bool> {
        match msg {
            Message::SetChunkSize(_) | Message::Abort(_) => Ok(true), // applied by the decoder
            Message::Acknowledgement(_) => Ok(true),
            Message::WindowAckSize(w) => {
                self.peer_window = *w;
                Ok(true)
            }
            Message::SetPeerBandwidth { size, .. } => {
                // Section 5.4.5: answer with a Window Acknowledgement Size of the new window.
                self.send_control(&Message::WindowAckSize(*size))?;
                Ok(true)
            }
            Message::UserControl(UserControl::PingRequest(t)) => {
                self.send_control(&Message::UserControl(UserControl::PingResponse(*t)))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub(crate) fn bytes_received(&self) -> u64 {
        self.received
    }
}

/// Splits `name?query` into the name and the query (without `?`).
pub(crate) fn split_query(s: &str) -> (String, Option<String>) {
    match s.split_once('?') {
        Some((n, q)) => (n.to_owned(), Some(q.to_owned())),
        None => (s.to_owned(), None),
    }
}
