//! Batched UDP sends: the RTP packets a player gets from one batch of units go out with as
//! few system calls as the platform allows (`sendmmsg(2)` on Linux: up to
//! [`MAX_BATCH`] datagrams per call; elsewhere one `send_to` per datagram).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tracing::debug;

/// Datagrams per `sendmmsg` call.
pub(crate) const MAX_BATCH: usize = 64;

/// Consecutive datagrams for one socket and destination.
struct Run {
    sock: Arc<UdpSocket>,
    to: SocketAddr,
    end: usize,
}

/// Datagrams queued for sending. The queue's storage is reused from batch to batch.
#[derive(Default)]
pub(crate) struct UdpBatch {
    runs: Vec<Run>,
    packets: Vec<Bytes>,
}

impl UdpBatch {
    /// Queues `packet` for `to` through `sock`.
    pub(crate) fn push(&mut self, sock: &Arc<UdpSocket>, to: SocketAddr, packet: Bytes) {
        self.packets.push(packet);
        let end = self.packets.len();
        match self.runs.last_mut() {
            Some(r) if Arc::ptr_eq(&r.sock, sock) && r.to == to => r.end = end,
            _ => self.runs.push(Run {
                sock: sock.clone(),
                to,
                end,
            }),
        }
    }

    /// Sends everything queued; returns the bytes sent. A datagram the kernel refuses (e.g.
    /// the peer's port is closed) is dropped with a debug line; the rest still go out.
    pub(crate) async fn flush(&mut self) -> usize {
        let total = self.packets.iter().map(Bytes::len).sum();
        let mut start = 0;
        for run in &self.runs {
            let mut sent = start;
            while sent < run.end {
                let chunk = self.packets.get(sent..run.end.min(sent + MAX_BATCH));
                let Some(chunk) = chunk else { break };
                let r = run
                    .sock
                    .try_io(Interest::WRITABLE, || send_many(&run.sock, run.to, chunk));
                match r {
                    Ok(n) => sent += n.max(1),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if run.sock.writable().await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        debug!(error = %e, to = %run.to, "UDP send failed; datagram dropped");
                        sent += 1;
                    }
                }
            }
            start = run.end;
        }
        self.runs.clear();
        self.packets.clear();
        total
    }
}

#[cfg(target_os = "linux")]
fn send_many(sock: &UdpSocket, to: SocketAddr, packets: &[Bytes]) -> io::Result<usize> {
    use nix::sys::socket::{sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;

    let addr = SockaddrStorage::from(to);
    let iovs: Vec<[IoSlice<'_>; 1]> = packets.iter().map(|p| [IoSlice::new(p)]).collect();
    let addrs: Vec<Option<SockaddrStorage>> = vec![Some(addr); packets.len()];
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(packets.len(), None);
    let cmsgs: [ControlMessage<'_>; 0] = [];
    let sent = sendmmsg(
        sock.as_raw_fd(),
        &mut headers,
        &iovs,
        &addrs,
        cmsgs,
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    Ok(sent.count())
}

#[cfg(not(target_os = "linux"))]
fn send_many(sock: &UdpSocket, to: SocketAddr, packets: &[Bytes]) -> io::Result<usize> {
    let mut n = 0;
    for p in packets {
        match sock.try_send_to(p, to) {
            Ok(_) => n += 1,
            Err(e) if n == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batch_delivers_every_datagram_in_order() {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tx = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let to = rx.local_addr().unwrap();
        let mut batch = UdpBatch::default();
        // More than one sendmmsg call's worth.
        for i in 0..(MAX_BATCH as u16 + 10) {
            batch.push(&tx, to, Bytes::from(i.to_be_bytes().to_vec()));
        }
        batch.flush().await;
        let mut buf = [0u8; 16];
        for i in 0..(MAX_BATCH as u16 + 10) {
            let (n, _) =
                tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv_from(&mut buf))
                    .await
                    .unwrap()
                    .unwrap();
            assert_eq!(&buf[..n], &i.to_be_bytes());
        }
        assert!(batch.packets.is_empty() && batch.runs.is_empty());
    }
}
