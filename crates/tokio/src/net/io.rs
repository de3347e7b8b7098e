//! Vectored writes and socket options.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes every buffer in `bufs` with as few vectored writes as the socket allows, then
/// clears `bufs` (keeping its capacity).
///
/// The `IoSlice` array is built inside each poll, so it is not part of the caller's future:
/// every connection task stays small (it is the per-player memory of the relay).
pub async fn write_all_bufs<W: AsyncWrite + Unpin>(
    w: &mut W,
    bufs: &mut Vec<Bytes>,
) -> io::Result<()> {
    let mut idx = 0;
    let mut off = 0;
    while idx < bufs.len() {
        let mut written =
            std::future::poll_fn(|cx| poll_write_from(Pin::new(&mut *w), cx, &bufs[idx..], off))
                .await?;
        if written == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "socket closed while writing",
            ));
        }
        while written > 0 && idx < bufs.len() {
            let left = bufs[idx].len() - off;
            if written >= left {
                written -= left;
                idx += 1;
                off = 0;
            } else {
                off += written;
                written = 0;
            }
        }
    }
    bufs.clear();
    w.flush().await
}

/// One vectored write of `bufs` (the first one from `off`).
fn poll_write_from<W: AsyncWrite>(
    w: Pin<&mut W>,
    cx: &mut Context<'_>,
    bufs: &[Bytes],
    off: usize,
) -> Poll<io::Result<usize>> {
    const MAX_SLICES: usize = 64;
    let mut slices = [IoSlice::new(&[]); MAX_SLICES];
    let mut n = 0;
    for (i, b) in bufs.iter().enumerate().take(MAX_SLICES) {
        let s = if i == 0 {
            b.get(off..).unwrap_or(&[])
        } else {
            &b[..]
        };
        slices[n] = IoSlice::new(s);
        n += 1;
    }
    w.poll_write_vectored(cx, &slices[..n])
}

/// Applies the relay's socket options to an accepted TCP connection.
pub(crate) fn tune_socket(sock: &tokio::net::TcpStream, nodelay: bool, send_buffer: Option<usize>) {
    if let Err(e) = sock.set_nodelay(nodelay) {
        tracing::debug!(error = %e, "TCP_NODELAY");
    }
    if let Some(size) = send_buffer {
        let s = socket2::SockRef::from(sock);
        if let Err(e) = s.set_send_buffer_size(size) {
            tracing::debug!(error = %e, "SO_SNDBUF");
        }
    }
}

/// Asks for a receive buffer of `bytes` on a UDP socket; returns what the kernel granted.
/// Linux caps `SO_RCVBUF` at `net.core.rmem_max` (often 208 KiB–4 MiB); a process allowed to
/// (`CAP_NET_ADMIN`, e.g. root) gets the full size with `SO_RCVBUFFORCE`. A burst that
/// overflows the buffer is lost (`RcvbufErrors` in `/proc/net/snmp`), and a receive task
/// that shares a busy machine is late by tens of milliseconds now and then.
pub(crate) fn set_recv_buffer(
    sock: &tokio::net::UdpSocket,
    bytes: usize,
) -> std::io::Result<usize> {
    let s = socket2::SockRef::from(sock);
    s.set_recv_buffer_size(bytes)?;
    // (Linux reports twice the size asked for: the kernel's bookkeeping share.)
    let granted = s.recv_buffer_size()?;
    #[cfg(target_os = "linux")]
    if granted < bytes {
        use nix::sys::socket::{setsockopt, sockopt::RcvBufForce};
        if setsockopt(sock, RcvBufForce, &bytes).is_ok() {
            return s.recv_buffer_size();
        }
    }
    Ok(granted)
}

/// Runs `fut` with a `limit`, arming the timer only if the first poll does not finish it:
/// a write that the socket takes at once (the common case for a healthy player) costs no
/// timer and no allocation.
pub(crate) async fn within<F: std::future::Future>(
    limit: std::time::Duration,
    fut: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut fut = std::pin::pin!(fut);
    let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(out) => Ok(out),
        // Boxed: the timer lives on the heap only while a write waits, so it does not grow
        // every connection's future (per-player memory).
        Poll::Pending => Box::pin(tokio::time::timeout(limit, fut)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process may force socket buffer sizes (CAP_NET_ADMIN in its effective set).
    fn may_force() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|caps| caps & (1 << 12) != 0)
    }

    #[tokio::test]
    async fn a_receive_buffer_above_rmem_max_is_forced_when_allowed() {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        // Above what SO_RCVBUF alone can give (twice rmem_max).
        let want = (rmem_max * 4).max(8 << 20);
        let got = set_recv_buffer(&sock, want).unwrap();
        if cfg!(target_os = "linux") && may_force() {
            assert!(got >= want, "forced: asked {want}, got {got}");
        } else {
            // Capped by the kernel: what it granted is what the caller is told.
            let real = socket2::SockRef::from(&sock).recv_buffer_size().unwrap();
            assert_eq!(got, real);
        }
    }
}
