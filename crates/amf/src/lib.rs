//! AMF0 encode/decode and AMF3 decode for RTMP and FLV.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
