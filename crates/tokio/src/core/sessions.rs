//! Sessions: every publisher and player of every protocol, for the API, hooks and
//! metrics — who it is (protocol, role, stream, address), what it moved (bytes in/out),
//! and how to end it ([`Kick`]).
//!
//! A publisher or player registers when the hub accepts it and unregisters when it goes
//! away; protocols whose players hold no hub subscription of their own (HLS clients
//! reading a shared segmenter) register through [`Hub::register_session`].
//!
//! [`Hub::register_session`]: super::Hub::register_session
//! [`Hub::next_id`]: super::Hub::next_id A connection
//! passes its [`Link`] (kick signal and byte counters) to the sessions it opens, so a kick
//! ends the whole connection and its traffic is counted once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::time::Instant;

/// A session's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// Publishes a stream.
    Publisher,
    /// Plays a stream.
    Player,
}

impl Role {
    /// `publisher` or `player`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Publisher => "publisher",
            Role::Player => "player",
        }
    }
}

/// A connection's (or a virtual session's) kick signal and traffic counters, shared by
/// the sessions it opens.
#[derive(Debug, Default)]
pub struct Link {
    kicked: AtomicBool,
    notify: Notify,
    /// A connection task waiting with [`Link::poll_kicked`] (a waker slot: an RTMP
    /// connection waits for a kick for its whole life, and a future for that would be
    /// part of what every player costs).
    waker: Mutex<Option<Waker>>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    /// Where its traffic is added when it closes (set by its first session).
    totals: OnceLock<(Weak<Totals>, &'static str)>,
}

/// Bytes (in, out) of closed links, per protocol.
type Totals = Mutex<BTreeMap<&'static str, (u64, u64)>>;

impl Drop for Link {
    fn drop(&mut self) {
        if let Some((totals, protocol)) = self.totals.get() {
            if let Some(totals) = totals.upgrade() {
                let mut t = lock(&totals);
                let e = t.entry(protocol).or_insert((0, 0));
                e.0 += self.bytes_in();
                e.1 += self.bytes_out();
            }
        }
    }
}

impl Link {
    /// A fresh link.
    pub fn new() -> Arc<Link> {
        Arc::new(Link::default())
    }

    /// Asks whoever serves the connection to close it.
    pub fn kick(&self) {
        self.kicked.store(true, Ordering::Release);
        self.notify.notify_waiters();
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }

    /// Whether [`Link::kick`] was called.
    pub fn is_kicked(&self) -> bool {
        self.kicked.load(Ordering::Acquire)
    }

    /// Resolves once the link is kicked (at once if it already was).
    pub async fn kicked(&self) {
        loop {
            let n = self.notify.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.is_kicked() {
                return;
            }
            n.await;
        }
    }

    /// Ready once the link is kicked; otherwise remembers `cx`'s waker (one waiter: the
    /// task serving the connection). For tasks that cannot spare a [`Link::kicked`]
    /// future.
    pub fn poll_kicked(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_kicked() {
            return Poll::Ready(());
        }
        {
            let mut slot = lock(&self.waker);
            match &mut *slot {
                Some(w) => w.clone_from(cx.waker()),
                None => *slot = Some(cx.waker().clone()),
            }
        }
        // A kick between the first check and storing the waker found no waker.
        if self.is_kicked() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Counts bytes received.
    pub fn add_in(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts bytes sent.
    pub fn add_out(&self, n: usize) {
        self.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Bytes received so far.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Ordering::Relaxed)
    }

    /// Bytes sent so far.
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out.load(Ordering::Relaxed)
    }
}

/// Who a session is, given when it registers.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    /// The client's address.
    pub addr: Option<SocketAddr>,
    /// The query string the client sent (`?token=…`).
    pub query: Option<String>,
    /// The connection's link (a fresh one when `None`).
    pub link: Option<Arc<Link>>,
    /// The session id to use (one the authorization hook was told); a fresh one when
    /// `None`.
    pub id: Option<u64>,
}

impl Peer {
    /// A peer at `addr` on `link`.
    pub fn new(addr: SocketAddr, link: Arc<Link>) -> Peer {
        Peer {
            addr: Some(addr),
            query: None,
            link: Some(link),
            id: None,
        }
    }

    /// With a session id allocated beforehand ([`Hub::next_id`](super::Hub::next_id)).
    pub fn with_id(mut self, id: u64) -> Peer {
        self.id = Some(id);
        self
    }

    /// With the client's query string.
    pub fn with_query(mut self, query: Option<String>) -> Peer {
        self.query = query;
        self
    }
}

/// A snapshot of one session.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionInfo {
    /// Stable id (unique in this server's lifetime).
    pub id: u64,
    /// `rtmp`, `rtsp`, `http-flv`, `ws-flv`, `hls`, `gb28181`, …
    pub protocol: &'static str,
    /// Publisher or player.
    pub role: Role,
    /// `app/stream`.
    pub key: String,
    /// The client's address.
    pub remote_addr: Option<SocketAddr>,
    /// The query string it sent.
    pub query: Option<String>,
    /// Bytes received from it (its connection's, shared with other sessions on it).
    pub bytes_in: u64,
    /// Bytes sent to it.
    pub bytes_out: u64,
    /// How long it has been connected.
    pub uptime: Duration,
    /// When it started (wall clock).
    pub started: SystemTime,
}

#[derive(Debug)]
/// One session in the registry (its id is the map's key). Kept small: a player's entry
/// is part of what every player costs.
struct Entry {
    protocol: &'static str,
    role: Role,
    key: Box<str>,
    addr: Option<SocketAddr>,
    query: Option<Box<str>>,
    link: Arc<Link>,
    /// When it registered (its wall-clock start is derived from it when listed).
    since: Instant,
}

/// The registry of sessions.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    entries: Mutex<BTreeMap<u64, Entry>>,
    /// Bytes (in, out) of connections that have closed, per protocol.
    closed: Arc<Totals>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sessions {
    pub(crate) fn register(
        self: &Arc<Self>,
        id: u64,
        protocol: &'static str,
        role: Role,
        key: &str,
        peer: Peer,
    ) -> SessionHandle {
        let link = peer.link.clone().unwrap_or_default();
        let _ = link.totals.set((Arc::downgrade(&self.closed), protocol));
        lock(&self.entries).insert(
            id,
            Entry {
                protocol,
                role,
                key: key.into(),
                addr: peer.addr,
                query: peer.query.map(String::into_boxed_str),
                link: link.clone(),
                since: Instant::now(),
            },
        );
        SessionHandle {
            sessions: self.clone(),
            id,
            link,
        }
    }

    /// Player sessions per stream.
    pub(crate) fn players_by_stream(&self) -> std::collections::HashMap<String, usize> {
        let mut m = std::collections::HashMap::new();
        for e in lock(&self.entries)
            .values()
            .filter(|e| e.role == Role::Player)
        {
            *m.entry(e.key.to_string()).or_insert(0) += 1;
        }
        m
    }

    pub(crate) fn list(&self) -> Vec<SessionInfo> {
        let now = SystemTime::now();
        lock(&self.entries)
            .iter()
            .map(|(id, e)| {
                let uptime = e.since.elapsed();
                SessionInfo {
                    id: *id,
                    protocol: e.protocol,
                    role: e.role,
                    key: e.key.to_string(),
                    remote_addr: e.addr,
                    query: e.query.as_deref().map(str::to_string),
                    bytes_in: e.link.bytes_in(),
                    bytes_out: e.link.bytes_out(),
                    uptime,
                    started: now.checked_sub(uptime).unwrap_or(now),
                }
            })
            .collect()
    }

    /// Kicks session `id`; false when there is none.
    pub(crate) fn kick(&self, id: u64) -> bool {
        match lock(&self.entries).get(&id) {
            Some(e) => {
                e.link.kick();
                true
            }
            None => false,
        }
    }

    /// The address and query session `id` registered with.
    fn peer(&self, id: u64) -> (Option<SocketAddr>, Option<String>) {
        lock(&self.entries).get(&id).map_or((None, None), |e| {
            (e.addr, e.query.as_deref().map(str::to_string))
        })
    }

    fn remove(&self, id: u64) {
        lock(&self.entries).remove(&id);
    }

    pub(crate) fn closed_totals(&self) -> Vec<(&'static str, u64, u64)> {
        lock(&self.closed)
            .iter()
            .map(|(p, (i, o))| (*p, *i, *o))
            .collect()
    }
}

/// A registered session; dropping it unregisters.
#[derive(Debug)]
pub struct SessionHandle {
    sessions: Arc<Sessions>,
    id: u64,
    link: Arc<Link>,
}

impl SessionHandle {
    /// A handle listed nowhere (an internal consumer's).
    pub(crate) fn detached(id: u64) -> SessionHandle {
        SessionHandle {
            sessions: Arc::default(),
            id,
            link: Link::new(),
        }
    }

    /// The session's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its link (kick signal, counters).
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// The client's address and query string, as registered (none for a detached
    /// handle).
    pub fn peer(&self) -> (Option<SocketAddr>, Option<String>) {
        self.sessions.peer(self.id)
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.sessions.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task waiting with `poll_kicked` (the RTMP connection's way) is woken by a kick.
    #[tokio::test]
    async fn poll_kicked_wakes_the_waiting_task() {
        let link = Link::new();
        let waiting = link.clone();
        let task =
            tokio::spawn(async move { std::future::poll_fn(|cx| waiting.poll_kicked(cx)).await });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while lock(&link.waker).is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "the task never waited"
            );
            tokio::task::yield_now().await;
        }
        link.kick();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the kick woke the task")
            .unwrap();
    }

    #[tokio::test]
    async fn register_list_kick_unregister() {
        let s = Arc::new(Sessions::default());
        let link = Link::new();
        let addr: SocketAddr = "127.0.0.1:5".parse().unwrap();
        let h = s.register(
            7,
            "rtmp",
            Role::Player,
            "live/a",
            Peer::new(addr, link.clone()),
        );
        link.add_out(100);
        let l = s.list();
        assert_eq!((l[0].id, l[0].protocol, l[0].bytes_out), (7, "rtmp", 100));
        assert!(s.kick(7));
        tokio::time::timeout(Duration::from_secs(1), h.link().kicked())
            .await
            .unwrap();
        assert!(!s.kick(8));
        drop(h);
        assert!(s.list().is_empty());
    }
}
