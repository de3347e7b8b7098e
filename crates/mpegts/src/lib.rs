//! Sans-IO MPEG-TS demux and mux (PAT/PMT/PES/PCR) with an HLS segmenter.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
