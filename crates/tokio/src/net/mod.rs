//! Moving bytes: accept loops, vectored writes, batched UDP sends, connection counting,
//! randomness.
//!
//! **Owns**: sockets and the tasks around them, nothing about media or protocols.
//!
//! **May import**: tokio, hyper, socket2, nix — nothing else of this crate.

mod accept;
pub mod http;
mod io;
mod random;
pub(crate) mod rtp_transport;
mod tasks;
mod udp;

pub(crate) use accept::accept_loop;
pub(crate) use io::tune_socket;
pub use io::write_all_bufs;
pub(crate) use random::random_u64;
pub(crate) use tasks::Tasks;
pub(crate) use udp::UdpBatch;
