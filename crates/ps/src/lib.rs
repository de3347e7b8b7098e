//! Sans-IO MPEG program stream demux and mux, as used by GB/T 28181.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
