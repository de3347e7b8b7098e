//! RTP/RTCP packets, statistics and payload formats (H.264, H.265, AAC, Opus, G.711, JPEG, MP2T, PS).
//!
//! Part of the [Weir](https://github.com/weir-media/weir) media protocol workspace.
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
