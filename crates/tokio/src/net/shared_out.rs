//! A TCP connection's output shared between its own task and a stream's publishing task.
//!
//! Fan-out writes to a healthy player from the publishing task, straight after a publish
//! batch, without waking the player's task ([`crate::core`]'s direct delivery): the
//! publisher encodes the batch and makes one non-blocking vectored write. Whatever the
//! socket does not take stays here as the backlog, the player leaves direct mode and its
//! own task takes over — it writes the backlog (waiting, within the stuck-player timeout)
//! and catches up from the stream's ring, skipping to a keyframe when it fell behind. A
//! slow socket therefore never makes the publisher (or any other player) wait.
//!
//! Every write of the connection — its own control messages too — goes through the same
//! lock, so messages never interleave mid-way.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;

/// Slices per vectored write.
const MAX_SLICES: usize = 64;

/// What is written and who writes it.
#[derive(Debug, Default)]
pub(crate) struct OutState {
    /// Bytes accepted for writing and not yet written, in order (the first from
    /// `front_off`).
    backlog: VecDeque<Bytes>,
    front_off: usize,
    /// The publishing task delivers this player's units (the player is caught up and its
    /// socket keeps up).
    pub(crate) direct: bool,
    /// In direct mode: the stream position of the next unit to deliver.
    pub(crate) pos: u64,
    /// Small per-message headers, cut from shared blocks.
    pub(crate) headers: BytesMut,
    /// The socket failed.
    pub(crate) failed: bool,
    /// The connection's task, waiting for the publisher to hand the player back (a waker
    /// slot rather than a `Notify`: it keeps the waiting future a few bytes long).
    takeover: Option<Waker>,
}

impl OutState {
    /// Queues `b` for writing.
    pub(crate) fn push(&mut self, b: Bytes) {
        if !b.is_empty() {
            self.backlog.push_back(b);
        }
    }

    /// Frees the output buffers a direct-mode player does not use (its writes come from
    /// the units' shared bytes); a backlog or a header block is allocated again if it
    /// falls behind.
    pub(crate) fn release_buffers(&mut self) {
        if self.backlog.is_empty() {
            self.backlog = VecDeque::new();
            self.front_off = 0;
        }
        self.headers = BytesMut::new();
    }

    /// Nothing waits to be written.
    pub(crate) fn is_empty(&self) -> bool {
        self.backlog.is_empty()
    }

    /// A per-message header of up to 18 bytes, written by `write` into a shared block.
    pub(crate) fn header(&mut self, write: impl FnOnce(&mut BytesMut)) -> Bytes {
        if self.headers.capacity() - self.headers.len() < 32 {
            self.headers = BytesMut::with_capacity(1024);
        }
        write(&mut self.headers);
        self.headers.split().freeze()
    }

    /// Writes as much of the backlog as the socket takes now; returns the bytes written.
    fn write_now(&mut self, sock: &TcpStream) -> io::Result<usize> {
        let mut total = 0;
        while !self.backlog.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut n = 0;
            for (i, b) in self.backlog.iter().take(MAX_SLICES).enumerate() {
                let s = if i == 0 {
                    b.get(self.front_off..).unwrap_or(&[])
                } else {
                    &b[..]
                };
                slices[n] = IoSlice::new(s);
                n += 1;
            }
            let mut written = match sock.try_write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            };
            total += written;
            while written > 0 {
                let Some(front) = self.backlog.front() else {
                    break;
                };
                let left = front.len() - self.front_off;
                if written >= left {
                    written -= left;
                    self.backlog.pop_front();
                    self.front_off = 0;
                } else {
                    self.front_off += written;
                    written = 0;
                }
            }
        }
        if self.backlog.is_empty() && self.backlog.capacity() > 16 {
            // Back to what a caught-up player needs (a GOP replay grows it).
            self.backlog.shrink_to(8);
        }
        Ok(total)
    }
}

/// Why [`SharedOut::write_all`] stopped.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The socket failed.
    Io(io::Error),
    /// The socket accepted nothing for the stuck timeout.
    Stuck,
}

/// The shared output of one connection.
#[derive(Debug)]
pub(crate) struct SharedOut {
    sock: TcpStream,
    state: Mutex<OutState>,
}

impl SharedOut {
    pub(crate) fn new(sock: TcpStream) -> SharedOut {
        SharedOut {
            sock,
            state: Mutex::new(OutState::default()),
        }
    }

    /// Locks the state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, OutState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The publishing task's write in direct mode (nothing queued before it): one
    /// non-blocking vectored write of `slices`; returns the bytes the socket took. A
    /// failed socket is marked so (0 bytes); the caller queues what is left and hands
    /// the player back.
    pub(crate) fn try_write(&self, st: &mut OutState, slices: &[IoSlice<'_>]) -> usize {
        debug_assert!(st.backlog.is_empty(), "a direct write with a backlog");
        match self.sock.try_write_vectored(slices) {
            Ok(0) => {
                st.failed = true;
                0
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(_) => {
                st.failed = true;
                0
            }
        }
    }

    /// Ends direct mode and wakes the connection's task.
    pub(crate) fn hand_back(&self, st: &mut OutState) {
        if st.direct {
            st.direct = false;
            if let Some(w) = st.takeover.take() {
                w.wake();
            }
        }
    }

    /// The connection's task: waits until the publisher hands the player back (direct
    /// mode ended); returns the stream position to go on from.
    pub(crate) async fn handed_back(&self) -> u64 {
        std::future::poll_fn(|cx| {
            let mut st = self.lock();
            if st.direct {
                match &mut st.takeover {
                    Some(w) => w.clone_from(cx.waker()),
                    None => st.takeover = Some(cx.waker().clone()),
                }
                Poll::Pending
            } else {
                st.takeover = None;
                Poll::Ready(st.pos)
            }
        })
        .await
    }

    /// The connection's task: queues `out` after the backlog and writes everything,
    /// waiting for the socket up to `stuck` at a time. Returns the bytes of `out` (for the
    /// connection's counters).
    pub(crate) async fn write_all(
        &self,
        out: &mut Vec<Bytes>,
        stuck: Duration,
    ) -> Result<usize, WriteError> {
        let queued: usize = out.iter().map(Bytes::len).sum();
        let deadline = tokio::time::Instant::now() + stuck;
        {
            let mut st = self.lock();
            st.backlog.extend(out.drain(..));
        }
        loop {
            {
                let mut st = self.lock();
                match st.write_now(&self.sock) {
                    Ok(_) if st.backlog.is_empty() => return Ok(queued),
                    Ok(_) => {}
                    Err(e) => return Err(WriteError::Io(e)),
                }
                // A backlog: the publisher must not write past it.
                self.hand_back(&mut st);
            }
            // (The timer is boxed: it exists only while a write waits.)
            let writable = std::future::poll_fn(|cx| self.sock.poll_write_ready(cx));
            match Box::pin(tokio::time::timeout_at(deadline, writable)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(WriteError::Io(e)),
                Err(_) => return Err(WriteError::Stuck),
            }
        }
    }

    /// Reads what the socket has into `buf` (waiting for it), first making room for
    /// `room` bytes if it is nearly full — only once the socket is readable, so a connection that waits
    /// (an idle player) can hold an empty buffer. Polls readiness rather than awaiting
    /// `readable()`, which would put a waiter into every connection's future.
    pub(crate) async fn read_buf(&self, buf: &mut BytesMut, room: usize) -> io::Result<usize> {
        std::future::poll_fn(|cx| loop {
            match self.sock.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            // (Refilled only when nearly full: a publisher's units hold slices of it,
            // so a new block is allocated each time.)
            if buf.capacity() - buf.len() < room.min(256) {
                buf.reserve(room);
            }
            match self.sock.try_read_buf(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        })
        .await
    }
}
