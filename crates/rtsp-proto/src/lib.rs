//! Sans-IO RTSP 1.0: messages, typed headers, authentication, interleaved frames, client and server sessions.
//!
//! * [`Decoder`]: incremental parser for an RTSP TCP stream — requests, responses and `$`
//!   interleaved frames mixed, pipelined, split anywhere (tokio-util `Decoder` contract), with
//!   [`Limits`] on header bytes, header count and body size.
//! * [`Request`] / [`Response`] build and serialize; [`headers`] has typed `Session`,
//!   `Transport`, `Range`, `RTP-Info`, `Public`, `Require`/`Unsupported`, `Scale`/`Speed`.
//! * [`auth`]: Basic and Digest (MD5, SHA-256, `-sess`, `qop=auth`) for both sides, nonce expiry,
//!   constant-time comparison.
//! * [`server::ServerSession`] and [`client::ClientSession`]: sans-IO state machines. Time is an
//!   `Instant` argument, randomness comes from a caller-supplied [`RandomSource`]. The client
//!   handles what real cameras send: `Content-Base` missing, relative, schemeless or with a
//!   doubled scheme ([`url::resolve_base`]), relative redirects, garbage between interleaved
//!   frames ([`Decoder::set_resync`]), SETUP answers without or with other channels; its
//!   errors name the request and the byte offset of the message that failed to parse
//!   ([`Error::Input`]). [`client::TransportPolicy`] makes the UDP/TCP/`auto` decision.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use weir_rtsp_proto::server::{ServerConfig, ServerEvent, ServerSession, SessionState};
//! use weir_rtsp_proto::headers::TransportSpec;
//!
//! let now = Instant::now();
//! let mut n = 0u64;
//! let rng = Box::new(move || { n += 1; n });
//! let mut server = ServerSession::new(ServerConfig::default(), rng, now);
//!
//! // A client's SETUP arrives in two pieces, followed by its interleaved RTCP.
//! let mut buf = BytesMut::from(&b"SETUP rtsp://h/live/a/trackID=0 RTSP/1.0\r\nCSeq: 3\r\n"[..]);
//! server.handle_input(&mut buf, now).unwrap();
//! assert!(server.poll_event().is_none());
//! buf.extend_from_slice(b"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n$\x01\x00\x01X");
//! server.handle_input(&mut buf, now).unwrap();
//! let Some(ServerEvent::Setup { id, transports, .. }) = server.poll_event() else { panic!() };
//! assert_eq!(transports[0].interleaved.unwrap().rtp, 0);
//! assert!(matches!(server.poll_event(), Some(ServerEvent::Interleaved(f)) if f.channel == 1));
//! server.accept_setup(id, &transports[0]).unwrap();
//! assert_eq!(server.state(), SessionState::Ready);
//! let reply = server.poll_transmit().unwrap();
//! assert!(reply.starts_with(b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod client;
mod codec;
mod error;
pub mod headers;
mod message;
pub mod server;
pub mod url;

pub use codec::{Decoder, Item, Limits};
pub use error::{Error, Result};
pub use message::{
    reason_phrase, Headers, InterleavedFrame, Message, Method, Request, Response, Version,
};
pub use url::RtspUrl;

/// A caller-supplied source of randomness (session ids, nonces, cnonces), so that sessions are
/// deterministic under test. Closures `FnMut() -> u64` implement it.
pub trait RandomSource {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;
}

impl<F: FnMut() -> u64> RandomSource for F {
    fn next_u64(&mut self) -> u64 {
        self()
    }
}

pub use client::{ClientConfig, ClientEvent, ClientSession, ClientState};
pub use server::{RequestId, ServerConfig, ServerEvent, ServerSession, SessionState};
