//! AAC bitstream: ADTS, AudioSpecificConfig, LATM/LOAS.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
