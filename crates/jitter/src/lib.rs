//! RTP jitter buffer: reordering, loss detection and NACK, RFC 3550 jitter, playout delay.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
//!
//! [`JitterBuffer`] is sans-IO and generic over the payload: give it each packet's RTP
//! sequence number, RTP timestamp, arrival [`Instant`](std::time::Instant) and any `T`;
//! take packets back strictly in sequence order, with gaps reported as
//! [`Output::Lost`]. Time only moves when you say so (`push` arrival times and
//! [`JitterBuffer::handle_timeout`]); [`JitterBuffer::poll_timeout`] says when to call again.
//!
//! **Time and randomness**: the buffer never reads a clock. Its notion of "now" is the
//! latest instant it was given (a `push` arrival or a `handle_timeout` argument), and every
//! deadline it reports is computed from those; [`JitterBuffer::pop`] releases what was due at
//! that instant. It uses no randomness, so the same calls give the same output.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use weir_jitter::{Config, JitterBuffer, Output};
//!
//! let mut jb = JitterBuffer::new(Config::reorder(90_000, Duration::from_millis(50))).unwrap();
//! let t0 = Instant::now();
//! for (seq, ts) in [(10u16, 0u32), (12, 6000), (11, 3000), (14, 12000)] {
//!     jb.push(seq, ts, t0, seq);
//! }
//! // Nothing before the start-up wait (the latency) has passed.
//! assert!(jb.pop().is_none());
//! jb.handle_timeout(t0 + Duration::from_millis(50));
//! let mut out = Vec::new();
//! while let Some(o) = jb.pop() {
//!     out.push(match o {
//!         Output::Packet(p) => format!("{}", p.payload),
//!         Output::Lost { first, count } => format!("lost {first}+{count}"),
//!         Output::Late(p) => format!("late {}", p.seq), // only with LatePolicy::Deliver
//!     });
//! }
//! assert_eq!(out, ["10", "11", "12", "lost 13+1", "14"]);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod buffer;
mod config;
mod jitter;
mod nack;

pub use buffer::{JitterBuffer, Output, Packet, PushOutcome, Stats};
pub use config::{Config, LatePolicy, NackConfig, Playout};
pub use jitter::JitterEstimator;
pub use nack::{nack_pairs, nack_seqs};

/// Errors of this crate (configuration only: pushing and popping never fail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid jitter buffer config: {field} {reason}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}
