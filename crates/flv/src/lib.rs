//! FLV container and tags, enhanced RTMP codec headers, FLV tag to media frame conversion.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
