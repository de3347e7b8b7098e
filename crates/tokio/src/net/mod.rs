//! Moving bytes: accept loops, vectored writes, batched UDP sends, connection counting,
//! randomness.
//!
//! **Owns**: sockets and the tasks around them, nothing about media or protocols.
//!
//! **May import**: tokio, hyper, socket2, nix — nothing else of this crate.

#[cfg(any(
    feature = "rtmp",
    feature = "http",
    feature = "rtsp",
    feature = "gb28181"
))]
mod accept;
#[cfg(feature = "http")]
pub mod http;
mod io;
#[cfg(any(feature = "http", feature = "webrtc"))]
pub(crate) mod path;
#[cfg(any(feature = "rtsp", feature = "rtmp", feature = "webrtc"))]
mod random;
#[cfg(feature = "rtsp")]
pub(crate) mod rtp_transport;
#[cfg(feature = "rtmp")]
mod shared_out;
mod tasks;
#[cfg(feature = "rtsp")]
mod udp;

#[cfg(any(
    feature = "rtmp",
    feature = "http",
    feature = "rtsp",
    feature = "gb28181"
))]
pub(crate) use accept::accept_loop;
pub(crate) use io::set_recv_buffer;
pub use io::write_all_bufs;
#[cfg(any(feature = "rtmp", feature = "http", feature = "rtsp"))]
pub(crate) use io::{tune_socket, within};
#[cfg(any(feature = "rtsp", feature = "rtmp", feature = "webrtc"))]
pub(crate) use random::random_u64;
#[cfg(feature = "rtmp")]
pub(crate) use shared_out::{OutState, SharedOut, WriteError};
pub(crate) use tasks::Tasks;
#[cfg(feature = "rtsp")]
pub(crate) use udp::UdpBatch;
