//! Shared helpers (see `weir_testutil::video`).
#![allow(dead_code, unused_imports)]

pub use weir_testutil::video::*;
