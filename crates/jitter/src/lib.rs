//! RTP jitter buffer: reordering, loss detection and NACK, RFC 3550 jitter, playout delay.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
