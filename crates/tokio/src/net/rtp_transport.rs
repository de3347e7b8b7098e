//! Where one RTP stream and its RTCP go or come from: interleaved channels on the RTSP
//! connection, or a pair of UDP sockets (bound from a configured port range, read by
//! small tasks that forward datagrams to the connection).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Largest UDP datagram read.
const UDP_BUF: usize = 2048;

/// A datagram received on one of a connection's UDP sockets.
#[derive(Debug)]
pub(crate) struct Datagram {
    /// Which of the connection's tracks the socket belongs to.
    pub(crate) track: usize,
    /// Received on the RTCP socket.
    pub(crate) rtcp: bool,
    pub(crate) data: Bytes,
}

/// The transport of one RTP stream.
#[derive(Debug)]
pub(crate) enum RtpTransport {
    /// Interleaved on the RTSP connection (RFC 2326 §10.12).
    Tcp { rtp: u8, rtcp: Option<u8> },
    /// A UDP port pair.
    Udp {
        rtp_sock: Arc<UdpSocket>,
        rtcp_sock: Arc<UdpSocket>,
        rtp_to: SocketAddr,
        rtcp_to: SocketAddr,
        readers: [tokio::task::JoinHandle<()>; 2],
    },
}

impl RtpTransport {
    /// Over UDP.
    pub(crate) fn is_udp(&self) -> bool {
        matches!(self, RtpTransport::Udp { .. })
    }
}

impl Drop for RtpTransport {
    fn drop(&mut self) {
        if let RtpTransport::Udp { readers, .. } = self {
            for r in readers {
                r.abort();
            }
        }
    }
}

/// Binds an RTP/RTCP port pair (even, odd) from `lo..=hi` on `ip`.
pub(crate) async fn bind_pair(ip: IpAddr, lo: u16, hi: u16) -> Option<(UdpSocket, UdpSocket)> {
    static CURSOR: AtomicU16 = AtomicU16::new(0);
    let lo = lo.saturating_add(lo % 2);
    if hi <= lo {
        return None;
    }
    let pairs = (hi - lo).div_ceil(2);
    if pairs == 0 {
        return None;
    }
    let start = CURSOR.fetch_add(1, Ordering::Relaxed) % pairs;
    for i in 0..pairs {
        let n = (start + i) % pairs;
        let port = lo.saturating_add(n * 2);
        if port.checked_add(1).is_none_or(|p| p > hi) {
            continue;
        }
        let Ok(a) = UdpSocket::bind(SocketAddr::new(ip, port)).await else {
            continue;
        };
        let Ok(b) = UdpSocket::bind(SocketAddr::new(ip, port + 1)).await else {
            continue;
        };
        return Some((a, b));
    }
    None
}

/// Reads `sock` and forwards its datagrams (tagged with `track` and `rtcp`) to `tx`; with
/// `forward` false they are read and dropped (a player's RTP port receives nothing of
/// interest, but must not fill up).
pub(crate) fn spawn_reader(
    sock: Arc<UdpSocket>,
    track: usize,
    rtcp: bool,
    tx: mpsc::Sender<Datagram>,
    forward: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(64 * UDP_BUF);
        loop {
            if buf.capacity() < UDP_BUF {
                buf.reserve(64 * UDP_BUF);
            }
            buf.resize(UDP_BUF, 0);
            let n = match sock.recv(&mut buf).await {
                Ok(n) => n,
                // An ICMP "port unreachable" for an earlier send surfaces here: harmless.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    continue
                }
                Err(_) => return,
            };
            let data = buf.split_to(n).freeze();
            buf.clear();
            if !forward {
                continue;
            }
            if tx.send(Datagram { track, rtcp, data }).await.is_err() {
                return;
            }
        }
    })
}
