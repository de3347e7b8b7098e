//! AMF0 encode/decode and AMF3 decode for RTMP and FLV.
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
//!
//! * [`Amf0Value`] — every AMF0 type, with ordered properties and accessors
//!   ([`as_str`](Amf0Value::as_str), [`as_f64`](Amf0Value::as_f64), [`get`](Amf0Value::get)).
//! * [`amf0`] — `decode` / `decode_all` / `encode` / `encode_all`, with [`DecodeLimits`]
//!   bounding depth, value count and string bytes.
//! * [`amf3`] — AMF3 decoding with string/object/trait reference tables, reached directly
//!   or through the AMF0 "switch to AMF3" marker ([`Amf0Value::Amf3`]).
//! * [`CommandMessage`] — RTMP command bodies (`connect`, `publish`, `_result`, ...).
//!
//! ```
//! use bytes::BytesMut;
//! use weir_amf::{amf0, Amf0Value, CommandMessage};
//!
//! // An RTMP `connect` command as ffmpeg sends it (abridged).
//! let connect = CommandMessage::new(
//!     "connect",
//!     1.0,
//!     Amf0Value::object([
//!         ("app", "live".into()),
//!         ("tcUrl", "rtmp://127.0.0.1/live".into()),
//!         ("fpad", false.into()),
//!         ("audioCodecs", 3191.0.into()),
//!     ]),
//!     vec![],
//! );
//! let mut body = BytesMut::new();
//! connect.encode(&mut body).unwrap();
//!
//! let values = amf0::decode_all(&body).unwrap();
//! assert_eq!(values[0].as_str(), Some("connect"));
//! assert_eq!(values[2].get_str("tcUrl"), Some("rtmp://127.0.0.1/live"));
//! assert_eq!(CommandMessage::parse(&body).unwrap(), connect);
//! ```
//!
//! **Time and randomness**: none — encoding and decoding are pure functions of their input
//! (AMF dates are carried as given, never read from a clock).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod amf0;
pub mod amf3;
mod command;
mod error;
mod reader;
mod value;

pub use amf3::Amf3Value;
pub use command::{strip_amf3_format_byte, CommandMessage};
pub use error::{Error, Result};
pub use value::{Amf0Value, DecodeLimits};
