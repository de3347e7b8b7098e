//! H.265/HEVC bitstream: NAL units, VPS/SPS/PPS parsing, hvcC records, access-unit boundaries.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
