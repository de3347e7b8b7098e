//! Sans-IO RTMP: handshake, chunk stream, messages, server and client sessions.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
