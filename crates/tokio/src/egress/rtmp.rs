//! RTMP play: a player's units as RTMP messages, pre-chunked once per unit for the relay's
//! chunk size and shared by every RTMP player ([`crate::format::flv::rtmp_message`]).
//!
//! Every media message goes out with a type-0 (absolute) header, so a player's output
//! depends on no per-connection encoder state. That lets the stream's publishing task
//! write a batch to a caught-up player itself ([`RtmpDirect`], one non-blocking vectored
//! write, no task woken); the player's own task takes over whenever the socket does not
//! take everything, the stream ends or the player is behind, and reads the ring as usual
//! (skipping to a keyframe, cut off when stuck).

use std::borrow::Cow;
use std::io::IoSlice;
use std::sync::Arc;

use bytes::Bytes;
use tracing::info;
use weir_rtmp_chunk::{PreparedMessage, ServerSession, TYPE0_HEADER_MAX};

use crate::core::{Direct, Link, Subscription, Unit, UnitKind};
use crate::format::flv;
use crate::net::{OutState, SharedOut};

/// Units written per batch before the socket is flushed. In steady state a batch is one
/// or two units; the cap bounds the per-player transmit queue after a burst (GOP replay).
pub(crate) const BATCH_UNITS: usize = 16;
/// A joining player's first batch: metadata, up to two track configurations and the
/// cached GOP's keyframe. Its task then lets the other tasks run before it replays the
/// rest of the GOP, so players that join together each get a picture first instead of
/// waiting for the whole GOP of those served before them.
const FIRST_BATCH_UNITS: usize = 4;

/// Queues `unit` as an RTMP message (type-0 header, shared chunks) for `stream_id`;
/// returns the bytes queued.
fn queue_unit(st: &mut OutState, unit: &Unit, stream_id: u32, chunk_size: u32) -> usize {
    let Some(msg) = flv::rtmp_message(unit, chunk_size) else {
        return 0;
    };
    let header = if stream_id == 1 {
        flv::rtmp_header_stream1(unit, &msg).clone()
    } else {
        let ts = flv::timestamp(unit);
        let mut ok = true;
        let header = st.header(|b| ok = msg.write_type0_header(ts, stream_id, b).is_ok());
        if !ok {
            return 0;
        }
        header
    };
    if header.is_empty() {
        return 0;
    }
    let n = header.len() + msg.chunks().len();
    st.push(header);
    st.push(msg.chunks().clone());
    n
}

/// Units a direct write takes at a time (two slices each: header and chunks).
const DIRECT_GROUP: usize = 32;

/// One unit of a direct write, borrowed from the unit's shared encodings: the header is
/// the shared stream-1 header or written here (another message stream id).
struct Piece<'u> {
    msg: Cow<'u, PreparedMessage>,
    shared_header: Option<&'u Bytes>,
    header: [u8; TYPE0_HEADER_MAX],
    header_len: usize,
}

impl<'u> Piece<'u> {
    /// `None` when the unit has no RTMP form (it is skipped).
    fn new(unit: &'u Unit, stream_id: u32, chunk_size: u32) -> Option<Piece<'u>> {
        let msg = flv::rtmp_message(unit, chunk_size)?;
        let mut p = Piece {
            msg,
            shared_header: None,
            header: [0; TYPE0_HEADER_MAX],
            header_len: 0,
        };
        if stream_id == 1 {
            let h = match &p.msg {
                Cow::Borrowed(m) => flv::rtmp_header_stream1(unit, m),
                Cow::Owned(_) => return p.own_header(unit, stream_id),
            };
            p.shared_header = Some(h).filter(|h| !h.is_empty());
            return p.shared_header.is_some().then_some(p);
        }
        p.own_header(unit, stream_id)
    }

    fn own_header(mut self, unit: &Unit, stream_id: u32) -> Option<Piece<'u>> {
        let mut room = &mut self.header[..];
        self.msg
            .write_type0_header(flv::timestamp(unit), stream_id, &mut room)
            .ok()?;
        self.header_len = TYPE0_HEADER_MAX - room.len();
        Some(self)
    }

    fn header(&self) -> &[u8] {
        match self.shared_header {
            Some(h) => h,
            None => &self.header[..self.header_len],
        }
    }

    fn len(&self) -> usize {
        self.header().len() + self.msg.chunks().len()
    }

    /// Queues what of this piece is past the first `written` bytes; returns the bytes
    /// written of it (at most its length).
    fn queue_rest(&self, st: &mut OutState, written: usize) -> usize {
        let header = self.header();
        let chunks = self.msg.chunks();
        if written < header.len() {
            let rest = match self.shared_header {
                Some(h) => h.slice(written..),
                None => Bytes::copy_from_slice(&header[written..]),
            };
            st.push(rest);
            st.push(chunks.clone());
        } else if written - header.len() < chunks.len() {
            st.push(chunks.slice(written - header.len()..));
        }
        written.min(self.len())
    }
}

/// The publishing task's path to one RTMP player.
pub(crate) struct RtmpDirect {
    out: Arc<SharedOut>,
    stream_id: u32,
    chunk_size: u32,
    link: Arc<Link>,
}

impl RtmpDirect {
    /// Writes `group` (at most [`DIRECT_GROUP`] units, no end unit) with one vectored
    /// write of the units' shared bytes, nothing copied or queued; whatever the socket
    /// does not take is queued (owned) for the connection's task. Returns the bytes
    /// accepted and whether everything was written.
    fn write_group(&self, st: &mut OutState, group: &[Arc<Unit>]) -> (usize, bool) {
        let pieces: [Option<Piece<'_>>; DIRECT_GROUP] = std::array::from_fn(|i| {
            group
                .get(i)
                .and_then(|u| Piece::new(u, self.stream_id, self.chunk_size))
        });
        let mut slices = [IoSlice::new(&[]); 2 * DIRECT_GROUP];
        let mut n = 0;
        let mut total = 0;
        for p in pieces.iter().flatten() {
            slices[n] = IoSlice::new(p.header());
            slices[n + 1] = IoSlice::new(p.msg.chunks());
            n += 2;
            total += p.len();
        }
        if total == 0 {
            return (0, true);
        }
        let mut written = self.out.try_write(st, &slices[..n]);
        if written == total {
            return (total, true);
        }
        for p in pieces.iter().flatten() {
            written -= p.queue_rest(st, written);
        }
        (total, false)
    }
}

impl Direct for RtmpDirect {
    fn offer(&self, from: u64, units: &[Arc<Unit>]) {
        let mut st = self.out.lock();
        if !st.direct {
            return;
        }
        if st.pos < from {
            // Units this player never saw were published: its task catches up.
            self.out.hand_back(&mut st);
            return;
        }
        let skip = usize::try_from(st.pos - from).unwrap_or(usize::MAX);
        let mut rest = units.get(skip..).unwrap_or(&[]);
        let mut accepted = 0;
        let mut all_written = true;
        while !rest.is_empty() {
            let end = rest.iter().position(|u| u.kind() == UnitKind::End);
            let take = end.unwrap_or(rest.len()).min(DIRECT_GROUP);
            let (group, after) = rest.split_at(take);
            if all_written {
                let (n, done) = self.write_group(&mut st, group);
                accepted += n;
                all_written = done;
            } else {
                // The socket is full: the rest waits for the connection's task, in order.
                for u in group {
                    accepted += queue_unit(&mut st, u, self.stream_id, self.chunk_size);
                }
            }
            st.pos += take as u64;
            rest = after;
            if end == Some(take) {
                // The task ends the play (stream EOF) from here.
                all_written = false;
                break;
            }
        }
        self.link.add_out(accepted);
        if !all_written || st.failed {
            self.out.hand_back(&mut st);
        }
    }
}

/// One playing RTMP stream of a connection.
pub(crate) struct RtmpPlayer {
    /// The RTMP message stream it plays on.
    pub(crate) stream_id: u32,
    pub(crate) sub: Subscription,
    units: Vec<Arc<Unit>>,
    /// The stream ended: send end-of-stream with the batch.
    ended: bool,
    out: Arc<SharedOut>,
    /// The publishing task delivers (the player was caught up when last checked).
    direct: bool,
    /// Batches sent so far, up to 2 (the first is [`FIRST_BATCH_UNITS`] long).
    batches: u8,
}

impl std::fmt::Debug for RtmpPlayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtmpPlayer")
            .field("stream_id", &self.stream_id)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

impl RtmpPlayer {
    /// A player of `sub` on message stream `stream_id`, writing through `out`.
    pub(crate) fn new(
        stream_id: u32,
        sub: Subscription,
        out: Arc<SharedOut>,
        chunk_size: u32,
        link: Arc<Link>,
    ) -> RtmpPlayer {
        sub.set_direct(Some(Arc::new(RtmpDirect {
            out: out.clone(),
            stream_id,
            chunk_size,
            link,
        })));
        RtmpPlayer {
            stream_id,
            sub,
            units: Vec::new(),
            ended: false,
            out,
            direct: false,
            batches: 0,
        }
    }

    /// True once, right after the first batch (the keyframe) was queued: the connection
    /// yields to the other tasks after writing it.
    pub(crate) fn first_batch_sent(&mut self) -> bool {
        if self.batches == 1 {
            self.batches = 2;
            return true;
        }
        false
    }

    /// Once everything is written and nothing is left to read, hands the player to the
    /// publishing task.
    pub(crate) fn try_direct(&mut self) {
        if self.direct || self.ended || !self.units.is_empty() {
            return;
        }
        let mut st = self.out.lock();
        if st.direct || !st.is_empty() || st.failed || !self.sub.caught_up() {
            return;
        }
        st.direct = true;
        st.pos = self.sub.position();
        st.release_buffers();
        self.direct = true;
        // The publishing task writes from the units themselves from now on.
        self.units = Vec::new();
    }

    /// Waits for the next batch of units (cancel-safe: units taken stay queued here). In
    /// direct mode, first waits until the publishing task hands the player back.
    pub(crate) async fn ready(&mut self) {
        if !self.units.is_empty() || self.ended {
            return;
        }
        if self.direct {
            let pos = self.out.handed_back().await;
            self.sub.set_position(pos);
            self.direct = false;
        }
        let max = if self.batches == 0 {
            FIRST_BATCH_UNITS
        } else {
            BATCH_UNITS
        };
        let more = self.sub.next_batch(&mut self.units, max).await;
        self.ended = !more;
    }

    /// Queues the batch for writing (the connection's flush writes it); false when the
    /// stream has ended (end of stream was queued on the session too).
    pub(crate) fn send(
        &mut self,
        session: &mut ServerSession,
        chunk_size: u32,
        link: &Link,
    ) -> Result<bool, weir_rtmp_chunk::Error> {
        {
            let mut st = self.out.lock();
            let mut queued = 0;
            for u in self.units.drain(..) {
                queued += queue_unit(&mut st, &u, self.stream_id, chunk_size);
            }
            link.add_out(queued);
        }
        if self.units.capacity() > BATCH_UNITS {
            self.units.shrink_to(BATCH_UNITS);
        }
        if self.batches == 0 {
            self.batches = 1;
        }
        if self.ended {
            let _ = session.send_stream_eof(self.stream_id);
            info!(stream = self.sub.key(), "stream ended; player released");
            return Ok(false);
        }
        Ok(true)
    }
}

impl Drop for RtmpPlayer {
    fn drop(&mut self) {
        // The publishing task lets go of the socket.
        self.sub.set_direct(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};
    use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
    use weir_rtmp_chunk::ChunkDecoder;

    const CHUNK: u32 = 128;

    fn audio(track: &Arc<TrackInfo>, i: u32, len: usize) -> Arc<Unit> {
        let t = Timestamp::new(i64::from(i) * 20, Timebase::MILLIS);
        let data = Bytes::from(vec![i as u8; len]);
        Arc::new(Unit::frame(
            track.clone(),
            Frame::new(TrackId(1), t, t, data),
        ))
    }

    /// A connected pair with small socket buffers, so a few units fill them.
    async fn pair() -> (Arc<SharedOut>, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_recv_buffer_size(4096).unwrap();
        s.set_nonblocking(true).unwrap();
        let client = tokio::net::TcpSocket::from_std_stream(s.into());
        let (client, accepted) = tokio::join!(client.connect(l.local_addr().unwrap()), l.accept());
        let (server, _) = accepted.unwrap();
        socket2::SockRef::from(&server)
            .set_send_buffer_size(4096)
            .unwrap();
        (Arc::new(SharedOut::new(server)), client.unwrap())
    }

    /// A joining player's first batch is short and holds the cached GOP's keyframe (its
    /// task yields once that is written); the rest of the GOP follows in full batches.
    #[tokio::test]
    async fn a_joining_player_gets_the_keyframe_in_a_short_first_batch() {
        let hub = crate::Hub::new(crate::HubConfig {
            track_wait: Duration::from_millis(20),
            ..Default::default()
        });
        let p = hub.publish("live/join", "test").unwrap();
        p.track(
            TrackInfo::new(TrackId(0), Codec::H264, 1000)
                .with_config(Bytes::from_static(&[1, 0x64, 0, 0x1f, 0xff])),
        );
        for i in 0..40u8 {
            let t = Timestamp::new(i64::from(i) * 40, Timebase::MILLIS);
            let nal = if i == 0 { 0x65 } else { 0x41 };
            let data = Bytes::from(vec![0, 0, 0, 2, nal, i]);
            p.frame(Frame::new(TrackId(0), t, t, data).with_keyframe(i == 0));
        }
        let sub = hub.subscribe("live/join", "rtmp").await.unwrap();
        let (out, _client) = pair().await;
        let mut player = RtmpPlayer::new(1, sub, out, CHUNK, Link::new());
        let mut session = ServerSession::new(weir_rtmp_chunk::SessionConfig::default());
        player.ready().await;
        let first = player.units.len();
        assert!(first <= FIRST_BATCH_UNITS, "first batch of {first}");
        assert!(player.units.iter().any(|u| u.is_keyframe()));
        assert!(player.send(&mut session, CHUNK, &Link::new()).unwrap());
        assert!(player.first_batch_sent(), "yield after the first batch");
        assert!(!player.first_batch_sent(), "only once");
        player.ready().await;
        assert_eq!(player.units.len(), BATCH_UNITS, "then full batches");
        assert!(player.units.iter().all(|u| !u.is_keyframe()));
    }

    /// The publishing task writes whole messages from the units' shared bytes; when the
    /// socket fills mid-message, the rest of that message and the later units are queued
    /// in order for the connection's task, which finishes them: the player receives
    /// every message intact — for stream id 1 (shared headers) and 2 (headers written per
    /// player).
    #[tokio::test]
    async fn direct_writes_stay_whole_messages_when_the_socket_fills() {
        let track = Arc::new(TrackInfo::new(TrackId(1), Codec::G711A, 8000).with_audio(
            AudioParams {
                sample_rate: 8000,
                channels: 1,
            },
        ));
        for stream_id in [1, 2] {
            let (out, mut client) = pair().await;
            let units: Vec<_> = (0..300).map(|i| audio(&track, i, 3000)).collect();
            {
                let mut st = out.lock();
                st.direct = true;
                st.release_buffers();
            }
            let direct = RtmpDirect {
                out: out.clone(),
                stream_id,
                chunk_size: CHUNK,
                link: Link::new(),
            };
            // Batches of 5 until the socket is full and the player is handed back.
            let mut from = 0u64;
            for batch in units.chunks(5) {
                direct.offer(from, batch);
                from += batch.len() as u64;
                if !out.lock().direct {
                    break;
                }
            }
            let stopped = {
                let mut st = out.lock();
                assert!(!st.direct, "a full socket hands the player back");
                assert!(!st.is_empty(), "what the socket did not take is queued");
                // The connection's task goes on from where the publisher stopped.
                let pos = usize::try_from(st.pos).unwrap();
                for u in &units[pos..] {
                    queue_unit(&mut st, u, stream_id, CHUNK);
                }
                pos
            };
            assert!(stopped < units.len(), "the socket filled before the end");
            let reader = tokio::spawn(async move {
                let mut dec = ChunkDecoder::default();
                dec.set_chunk_size(CHUNK).unwrap();
                let mut buf = bytes::BytesMut::new();
                let mut msgs = Vec::new();
                while msgs.len() < 300 {
                    let mut b = [0u8; 65536];
                    let n = client.read(&mut b).await.unwrap();
                    assert!(n > 0, "connection closed after {} messages", msgs.len());
                    buf.extend_from_slice(&b[..n]);
                    while let Some(m) = dec.decode(&mut buf).unwrap() {
                        msgs.push(m);
                    }
                }
                msgs
            });
            out.write_all(&mut Vec::new(), Duration::from_secs(10))
                .await
                .unwrap();
            let msgs = tokio::time::timeout(Duration::from_secs(10), reader)
                .await
                .unwrap()
                .unwrap();
            for (i, m) in msgs.iter().enumerate() {
                assert_eq!(m.header.stream_id, stream_id);
                assert_eq!(m.header.timestamp, i as u32 * 20, "message {i}");
                assert_eq!(m.payload.len(), 3001, "message {i}");
                assert!(m.payload[1..].iter().all(|&b| b == i as u8), "message {i}");
            }
        }
    }
}
