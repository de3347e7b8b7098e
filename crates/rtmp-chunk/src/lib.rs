//! Sans-IO RTMP: handshake, chunk stream, messages, server and client sessions.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
//! Nothing here touches a socket, a clock or a thread: bytes go in, events and bytes
//! come out.
//!
//! * [`handshake`] — simple and digest ("complex") handshakes, both sides, both schemas.
//! * [`ChunkDecoder`] / [`ChunkEncoder`] — the chunk stream with bounded memory
//!   ([`ChunkLimits`]), extended timestamps (both type-3 conventions), Set Chunk Size and
//!   Abort; [`PreparedMessage`] chunks a body once for many connections (write-once fan-out).
//! * [`message`] — protocol control, user control, command, data and media messages, and
//!   builders for every NetConnection/NetStream command.
//! * [`ServerSession`] / [`ClientSession`] — connection state machines.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use weir_rtmp_chunk::{ChunkDecoder, ChunkEncoder, MessageHeader};
//!
//! let mut enc = ChunkEncoder::new();
//! let mut wire = BytesMut::new();
//! enc.write_set_chunk_size(4096, &mut wire).unwrap();
//! let header = MessageHeader { timestamp: 40, type_id: 9, stream_id: 1 };
//! enc.write_message(6, header, &[0x17; 5000], &mut wire).unwrap();
//!
//! let mut dec = ChunkDecoder::default();
//! let set = dec.decode(&mut wire).unwrap().unwrap();
//! assert_eq!(set.header.type_id, 1);
//! assert_eq!(dec.chunk_size(), 4096); // applied by the decoder itself
//! let video = dec.decode(&mut wire).unwrap().unwrap();
//! assert_eq!((video.header, video.payload.len()), (header, 5000));
//! assert!(wire.is_empty());
//! ```
//!
//! **Time and randomness**: the crate reads no clock and no OS randomness. The handshake's
//! random bytes come from [`HandshakeConfig::seed`](handshake::HandshakeConfig) (the
//! caller picks it; tests fix it for reproducible transcripts), and nothing else needs
//! time or chance.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod chunk;
mod client;
mod conn;
mod error;
pub mod handshake;
pub mod message;
mod server;

pub use chunk::{
    ChunkDecoder, ChunkEncoder, ChunkLimits, MessageHeader, PreparedMessage, RawMessage,
    Type3ExtendedTimestamp, TYPE0_HEADER_MAX,
};
pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use conn::SessionConfig;
pub use error::{Error, Result};
pub use message::{Message, UserControl};
pub use server::{RequestId, ServerEvent, ServerSession};
