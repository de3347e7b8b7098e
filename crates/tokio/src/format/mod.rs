//! Unit encodings: how a [`Unit`](crate::core::Unit) looks in each wire format, built once
//! per unit (or per stream, for stateful ones like RTP) and shared by every player of that
//! format.
//!
//! **Owns**: the FLV body/tag/RTMP message of a unit, the write-once RTP, MPEG-TS and
//! fMP4 stages (taps), MJPEG multipart parts.
//!
//! **May import**: [`crate::core`], [`crate::net`] (randomness) and the format crates.
//! Ingests use it to seed encodings they already have; egresses to send them.

#[cfg(feature = "flv")]
pub mod flv;
#[cfg(feature = "http")]
pub(crate) mod fmp4;
#[cfg(feature = "http")]
pub(crate) mod mjpeg;
#[cfg(feature = "rtsp")]
pub(crate) mod rtp;
#[cfg(feature = "http")]
mod stage;
#[cfg(feature = "http")]
pub(crate) mod ts;
