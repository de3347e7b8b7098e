//! H.264/AVC bitstream: NAL units, Annex B and AVCC framing, SPS/PPS parsing, avcC records, access-unit boundaries.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
