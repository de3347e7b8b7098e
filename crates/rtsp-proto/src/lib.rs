//! Sans-IO RTSP 1.0: messages, typed headers, authentication, interleaved frames, client and server sessions.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
