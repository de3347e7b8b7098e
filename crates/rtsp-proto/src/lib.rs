//! Sans-IO RTSP 1.0: messages, typed headers, authentication, interleaved frames, client and server sessions.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
mod codec;
mod error;
pub mod headers;
mod message;
mod url;

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
