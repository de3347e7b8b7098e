//! SDP (RFC 8866) parse and build with typed RTP media helpers.
//!
//! * [`SessionDescription::parse`] is tolerant of what real cameras send (bare `\n`, trailing
//!   spaces, a missing `s=`, duplicate attributes, unknown lines — kept verbatim in `raw_lines`);
//!   [`SessionDescription::parse_strict`] enforces the RFC 8866 grammar and line order.
//! * Every line type round-trips: `v o s i u e p c b t r z k a m`.
//! * Typed helpers: [`RtpMap`], [`Fmtp`], `control` with [`resolve_control`], [`Range`],
//!   `framerate`, [`Direction`].
//! * Builders for H.264, H.265, AAC (`mpeg4-generic` and `MP4A-LATM`), Opus, PCMU/PCMA and JPEG
//!   media sections, and decoders for their `fmtp` parameters ([`H264Params`], [`H265Params`],
//!   [`AacParams`]). AAC configurations are parsed and built by `weir-aac`
//!   ([`stream_mux_config`], [`AacParams::audio_specific_config`]).
//!
//! **Time and randomness**: none. Parsing and building are pure functions of their input;
//! values SDP wants unique or timed (`o=` session id and version, `t=`, `r=`, `z=`) are the
//! caller's to fill in ([`SessionDescription::rtsp_presentation`] writes `0 0` and `t=0 0`).
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
//!
//! ```
//! use weir_sdp::{SessionDescription, MediaDescription, H264Params, resolve_control};
//!
//! let text = b"v=0\no=- 1 1 IN IP4 10.0.0.2\nc=IN IP4 0.0.0.0\nt=0 0\na=control:*\n\
//!              m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n\
//!              a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkA,aM48gA==\n\
//!              a=control:trackID=0  \n";
//! // No `s=`, bare LF line ends, trailing spaces: a typical camera. Tolerant parse accepts it.
//! let sdp = SessionDescription::parse(text).unwrap();
//! let video = &sdp.media[0];
//! let map = video.rtpmap(96).unwrap().unwrap();
//! assert_eq!((map.encoding.as_str(), map.clock_rate), ("H264", 90000));
//! let h264 = H264Params::from_fmtp(&video.fmtp(96).unwrap().unwrap()).unwrap();
//! assert_eq!(h264.sps[0].as_ref(), &[0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00]);
//! assert_eq!(video.control_url(&sdp, "rtsp://cam/stream/"), "rtsp://cam/stream/trackID=0");
//! // Strict mode names the first problem.
//! assert!(SessionDescription::parse_strict(text).is_err());
//!
//! // Building: a PCMU track for an RTSP DESCRIBE answer.
//! let mut out = SessionDescription::rtsp_presentation("live", "127.0.0.1");
//! out.media.push(MediaDescription::pcmu(8000, 1, 97).with_control("trackID=0"));
//! let again = SessionDescription::parse_strict(out.to_string().as_bytes()).unwrap();
//! assert_eq!(again, out);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod attrs;
mod codecs;
mod error;
mod range;
mod session;

pub use attrs::{resolve_control, Direction, Fmtp, RtpMap};
pub use codecs::{decode_hex, stream_mux_config, AacParams, H264Params, H265Params};
pub use error::{Error, Result};
pub use range::{NptTime, Range, RangeSpec, SmpteKind, SmpteTime, UtcTime};
pub use session::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, ParseOptions, RawLine, Repeat,
    SessionDescription, TimeZone, Timing,
};

impl SessionDescription {
    /// A session skeleton for an RTSP DESCRIBE answer or ANNOUNCE body:
    /// `v=0`, `o=- 0 0 IN IP4 <origin_addr>`, `s=<name>`, `c=IN IP4 0.0.0.0`, `t=0 0`,
    /// `a=control:*`, `a=range:npt=0-`. Add media sections to `media`.
    pub fn rtsp_presentation(name: &str, origin_addr: &str) -> SessionDescription {
        let ip6 = origin_addr.contains(':');
        let addr_type = if ip6 { "IP6" } else { "IP4" };
        SessionDescription {
            origin: Some(Origin {
                username: "-".into(),
                session_id: "0".into(),
                session_version: "0".into(),
                net_type: "IN".into(),
                addr_type: addr_type.into(),
                unicast_address: origin_addr.into(),
            }),
            session_name: Some(if name.is_empty() {
                "-".into()
            } else {
                name.into()
            }),
            connections: vec![Connection {
                net_type: "IN".into(),
                addr_type: addr_type.into(),
                address: if ip6 { "::".into() } else { "0.0.0.0".into() },
                ttl: None,
                num_addresses: None,
            }],
            timings: vec![Timing {
                start: 0,
                stop: 0,
                repeats: Vec::new(),
            }],
            attributes: vec![
                Attribute::new("control", "*"),
                Attribute::new("range", "npt=0-"),
            ],
            ..SessionDescription::default()
        }
    }
}
