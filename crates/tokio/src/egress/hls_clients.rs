//! HLS clients as sessions.
//!
//! An HLS player is a series of HTTP requests, not a connection. The first playlist
//! request of a client opens a session (listed by the API, asked of the authorization hook
//! once, counted, kickable); the playlist it gets back names its segments with
//! `?session=ID` (after the client's own query, so token schemes keep working), and later
//! requests carry it. A playlist reload without it (a player that reloads the URL it was
//! first given) is matched by client address and stream. A session ends after
//! [`HlsClients::expiry`] without a request (swept on requests and by the relay's timer);
//! a kicked one gets 403 until then. Opening and ending a session are the hub's
//! `PlayerJoined`/`PlayerLeft` events, as for a connected player (`on_play_stop`,
//! `on_stream_none_reader`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::core::{Hub, HubEvent, Link, Peer, Role, SessionHandle};

/// The query parameter that carries the session id.
pub(crate) const SESSION_PARAM: &str = "session";

struct Client {
    handle: SessionHandle,
    key: String,
    ip: IpAddr,
    last: Instant,
    peer: SocketAddr,
    query: Option<String>,
}

/// What a request belongs to.
pub(crate) enum Lookup {
    /// An existing session (its id and link).
    Known(u64, Arc<Link>),
    /// None yet (a first playlist request): authorize, then [`HlsClients::open`].
    New,
    /// The session was kicked.
    Kicked,
}

/// The HLS sessions of a relay.
pub(crate) struct HlsClients {
    hub: Hub,
    /// The sessions' protocol (`hls`, `ll-hls`).
    protocol: &'static str,
    expiry: Duration,
    clients: Mutex<HashMap<u64, Client>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The session id in a query string, and the query without it.
pub(crate) fn split_query(query: Option<&str>) -> (Option<u64>, Option<String>) {
    let Some(q) = query else {
        return (None, None);
    };
    let mut id = None;
    let rest: Vec<&str> = q
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some((k, v)) if k == SESSION_PARAM => {
                id = v.parse().ok();
                false
            }
            _ => !kv.is_empty(),
        })
        .collect();
    let rest = (!rest.is_empty()).then(|| rest.join("&"));
    (id, rest)
}

impl HlsClients {
    pub(crate) fn new(hub: Hub, expiry: Duration) -> HlsClients {
        HlsClients {
            hub,
            protocol: "hls",
            expiry,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Sessions of another protocol than `hls` (LL-HLS players are `ll-hls` sessions).
    pub(crate) fn with_protocol(mut self, protocol: &'static str) -> HlsClients {
        self.protocol = protocol;
        self
    }

    /// The session a request for `key` from `peer` belongs to.
    pub(crate) fn lookup(&self, key: &str, peer: SocketAddr, id: Option<u64>) -> Lookup {
        self.sweep();
        let mut clients = lock(&self.clients);
        let found = match id {
            Some(id) => clients.get_mut(&id).filter(|c| c.key == key),
            None => clients
                .values_mut()
                .filter(|c| c.key == key && c.ip == peer.ip())
                .max_by_key(|c| c.last),
        };
        match found {
            Some(c) if c.handle.link().is_kicked() => Lookup::Kicked,
            Some(c) => {
                c.last = Instant::now();
                Lookup::Known(c.handle.id(), c.handle.link().clone())
            }
            None => Lookup::New,
        }
    }

    /// Opens a session for an authorized first request; returns its id and link.
    pub(crate) fn open(
        &self,
        key: &str,
        peer: SocketAddr,
        query: Option<String>,
        id: u64,
    ) -> (u64, Arc<Link>) {
        let link = Link::new();
        let handle = self.hub.register_session(
            self.protocol,
            Role::Player,
            key,
            Peer::new(peer, link.clone())
                .with_query(query.clone())
                .with_id(id),
        );
        let id = handle.id();
        lock(&self.clients).insert(
            id,
            Client {
                handle,
                key: key.to_string(),
                ip: peer.ip(),
                last: Instant::now(),
                peer,
                query,
            },
        );
        self.hub.emit(HubEvent::PlayerJoined {
            key: key.to_string(),
            protocol: self.protocol,
            session: id,
        });
        (id, link)
    }

    /// Ends session `id`.
    pub(crate) fn close(&self, id: u64) {
        let gone = lock(&self.clients).remove(&id);
        if let Some(c) = gone {
            self.left(c);
        }
    }

    /// Ends sessions idle for longer than the expiry.
    pub(crate) fn sweep(&self) {
        let expiry = self.expiry;
        let mut gone = Vec::new();
        lock(&self.clients).retain(|_, c| {
            let keep = c.last.elapsed() <= expiry;
            if !keep {
                gone.push((c.handle.id(), c.key.clone(), c.peer, c.query.take()));
            }
            keep
        });
        for (session, key, peer, query) in gone {
            self.emit_left(session, key, peer, query);
        }
    }

    /// Sweeps every second until the relay shuts down (the task is aborted).
    pub(crate) async fn run_sweeper(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sweep();
        }
    }

    fn left(&self, c: Client) {
        let Client {
            handle,
            key,
            peer,
            query,
            ..
        } = c;
        let id = handle.id();
        drop(handle);
        self.emit_left(id, key, peer, query);
    }

    /// The session handle is dropped before the event, so the stream's player count no
    /// longer includes it when the event is handled.
    fn emit_left(&self, session: u64, key: String, peer: SocketAddr, query: Option<String>) {
        self.hub.emit(HubEvent::PlayerLeft {
            key,
            protocol: self.protocol,
            session,
            dropped: 0,
            peer: Some(peer),
            query,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_in_queries() {
        assert_eq!(split_query(None), (None, None));
        assert_eq!(split_query(Some("session=7")), (Some(7), None));
        assert_eq!(
            split_query(Some("token=a&session=12&x=1")),
            (Some(12), Some("token=a&x=1".into()))
        );
        assert_eq!(
            split_query(Some("session=zz&t=1")),
            (None, Some("t=1".into()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_open_match_by_address_expire_and_kick() {
        let hub = Hub::default();
        let mut events = hub.events();
        let clients = HlsClients::new(hub.clone(), Duration::from_millis(50));
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        assert!(matches!(clients.lookup("live/a", peer, None), Lookup::New));
        let (id, _) = clients.open("live/a", peer, Some("t=1".into()), hub.next_id());
        assert_eq!(hub.sessions()[0].protocol, "hls");
        // Another port of the same client (a new TCP connection) reloading the playlist.
        let other: SocketAddr = "10.0.0.1:5001".parse().unwrap();
        assert!(matches!(clients.lookup("live/a", other, None), Lookup::Known(i, _) if i == id));
        assert!(
            matches!(clients.lookup("live/a", other, Some(id)), Lookup::Known(i, _) if i == id)
        );
        assert!(matches!(
            clients.lookup("live/b", other, Some(id)),
            Lookup::New
        ));
        assert!(hub.kick(id));
        assert!(matches!(
            clients.lookup("live/a", peer, Some(id)),
            Lookup::Kicked
        ));
        tokio::time::advance(Duration::from_millis(80)).await;
        clients.sweep();
        assert!(hub.sessions().is_empty(), "expired");
        // Opening and expiring are the hub's player events (on_play_stop, none_reader).
        assert!(matches!(
            events.try_recv(),
            Ok(HubEvent::PlayerJoined { session, protocol: "hls", .. }) if session == id
        ));
        match events.try_recv() {
            Ok(HubEvent::PlayerLeft {
                session,
                protocol: "hls",
                peer,
                query,
                ..
            }) => {
                assert_eq!(
                    (session, peer, query.as_deref()),
                    (id, Some(peer_addr()), Some("t=1"))
                );
            }
            other => panic!("expected PlayerLeft, got {other:?}"),
        }
    }

    fn peer_addr() -> SocketAddr {
        "10.0.0.1:5000".parse().unwrap()
    }
}
