//! RTP/RTCP packets, statistics and payload formats (H.264, H.265, AAC, Opus, G.711, JPEG, MP2T, PS).
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace. Sans-IO:
//! nothing here touches a socket or a clock; bytes and time go in, bytes come out.
//!
//! * [`RtpPacket`] — a validated zero-copy view over a `Bytes` RTP packet (RFC 3550 5.1):
//!   CSRCs, padding, header extensions with RFC 8285 one-/two-byte element iterators;
//!   [`RtpPacketRef`] is the same over a borrowed slice. [`RtpHeader`] writes headers
//!   (and payload and padding) into a `BytesMut`.
//! * [`SequenceUnwrapper`] / [`TimestampUnwrapper`] — 16-bit sequence numbers and 32-bit
//!   timestamps extended to 64 bits.
//! * [`rtcp`] — SR, RR, SDES, BYE, APP, generic NACK, PLI, FIR and compound packets with the
//!   RFC 3550 A.2 validity checks; [`NtpTime`] for the 64-bit NTP timestamps.
//! * [`stats`] — reception statistics (RFC 3550 A.1/A.3/A.8: extended highest sequence,
//!   cumulative and fractional loss, interarrival jitter, LSR/DLSR), sender counters with
//!   the NTP↔RTP mapping, and [`RtcpSession`] which schedules compound reports (RFC 3550
//!   6.2/A.7 or a fixed interval).
//! * [`payload`] — RTP payload formats: depacketizers to and packetizers from
//!   [`weir_media::Frame`]s. AAC configurations (AudioSpecificConfig, LATM StreamMuxConfig)
//!   are parsed and built by `weir-aac`, H.264/H.265 parameter sets by `weir-h264` and
//!   `weir-h265`.
//!
//! **Time and randomness** come in from the caller. Every time-dependent call takes an
//! [`Instant`](std::time::Instant) (`ReceiverStats::new`/`on_rtp`, `RtcpSession::new`,
//! `handle_rtp`, `handle_rtcp`, `handle_timeout`) and the NTP wallclock of a sender report is
//! an [`NtpTime`] argument (`NtpTime::from_system_time` converts a reading you took); the
//! crate never reads a clock. The values RFC 3550 wants random — SSRC, initial sequence
//! number, timestamp offset ([`payload::PacketizerConfig`]) and the RTCP interval
//! randomization (`SessionConfig::seed`) — are given by the caller; the crate has no source
//! of randomness, and its maps are ordered (no per-process hash seed), so the same inputs
//! give the same packets.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::BytesMut;
//! use weir_rtp_rtcp::stats::ReceiverStats;
//! use weir_rtp_rtcp::{Compound, RtcpLimits, RtcpPacket, RtpHeader, RtpPacket};
//! use weir_rtp_rtcp::rtcp::{ReceiverReport, SourceDescription};
//!
//! // A sender writes PCMU packets: header then payload into one buffer, no extra copies.
//! let mut hdr = RtpHeader::new(0, 65_535, 8_000, 0xC0FFEE);
//! let mut wire = Vec::new();
//! for _ in 0..3 {
//!     let mut out = BytesMut::new();
//!     hdr.write_with_payload(&[0xFF; 160], &mut out)?;
//!     wire.push(out.freeze());
//!     hdr.sequence_number = hdr.sequence_number.wrapping_add(1);
//!     hdr.timestamp = hdr.timestamp.wrapping_add(160);
//! }
//!
//! // A receiver parses them (payloads are slices of the received buffers) and keeps stats.
//! let t0 = Instant::now();
//! let mut stats = ReceiverStats::new(0xC0FFEE, 8_000, 1, t0);
//! for (i, bytes) in wire.into_iter().enumerate() {
//!     let pkt = RtpPacket::parse(bytes)?;
//!     assert_eq!(pkt.payload().len(), 160);
//!     stats.on_rtp(pkt.sequence_number(), pkt.timestamp(), t0 + Duration::from_millis(20 * i as u64));
//! }
//! let block = stats.report_block(t0 + Duration::from_secs(1));
//! assert_eq!(block.extended_highest_seq, 65_536 + 1); // wrapped once, at seq 1
//! assert_eq!(block.cumulative_lost, 0);
//!
//! // …and reports back in a compound RR + SDES.
//! let rr = Compound::new(vec![
//!     RtcpPacket::ReceiverReport(ReceiverReport { ssrc: 1, reports: vec![block], ..Default::default() }),
//!     RtcpPacket::SourceDescription(SourceDescription::cname(1, "receiver@example")),
//! ]);
//! let bytes = rr.to_bytes()?;
//! assert_eq!(Compound::parse(bytes, &RtcpLimits::default())?, rr);
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod ntp;
pub mod payload;
pub mod rtcp;
pub mod rtp;
mod seq;
pub mod stats;

pub use error::{Error, Result};
pub use ntp::{dlsr_to_duration, duration_to_dlsr, NtpTime, NTP_UNIX_OFFSET_SECS};
pub use rtcp::{Compound, RtcpLimits, RtcpPacket};
pub use rtp::{
    ExtensionElement, ExtensionForm, HeaderExtension, RtpHeader, RtpPacket, RtpPacketRef,
};
pub use seq::{SequenceUnwrapper, TimestampUnwrapper};
pub use stats::{ReceiverStats, RtcpSession, SenderStats, SessionConfig};
