//! SDP (RFC 8866) parse and build with typed RTP media helpers.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
