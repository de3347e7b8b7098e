//! RTP/RTCP packets, statistics and payload formats (H.264, H.265, AAC, Opus, G.711, JPEG, MP2T, PS).
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod payload;
