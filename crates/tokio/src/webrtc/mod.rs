//! WebRTC: WHEP playback and WHIP publish on str0m (ICE-lite, DTLS, SRTP are str0m's).
//!
//! **Owns**: the WHEP/WHIP HTTP resources (`http`), the one media port shared by every
//! session — UDP, and ICE-TCP with RFC 6544 framing on the same port number (`io`), each
//! session's str0m instance and its task (`driver`), the player side (`play`: hub units →
//! str0m frames, write-once Annex B per unit, paced joins, keyframe requests answered from
//! the GOP cache) and the publisher side (`publish`: str0m RTP → the relay's RTP ingest
//! pipeline → the hub). Sans-IO and unit-tested: the demultiplexer and TCP framing (`mux`),
//! offer checks and trickle fragments (`sdp`), pacing and keyframe-request limiting
//! (`pace`), the resource registry (`registry`).
//!
//! Like `conn`, it sits above ingest and egress and may import both, with [`crate::core`],
//! [`crate::net`], [`crate::auth`].

mod settings;
pub use settings::WebRtcConfig;

#[cfg(feature = "webrtc")]
mod driver;
#[cfg(feature = "webrtc")]
pub(crate) mod http;
#[cfg(feature = "webrtc")]
pub(crate) mod io;
#[cfg(feature = "webrtc")]
pub(crate) mod mux;
#[cfg(feature = "webrtc")]
pub(crate) mod pace;
#[cfg(feature = "webrtc")]
mod play;
#[cfg(feature = "webrtc")]
mod publish;
#[cfg(feature = "webrtc")]
pub(crate) mod registry;
#[cfg(feature = "webrtc")]
pub(crate) mod sdp;

#[cfg(feature = "webrtc")]
pub(crate) use io::WebRtc;
