//! Shared media vocabulary for the Weir crates (being written).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
