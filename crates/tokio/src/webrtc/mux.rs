//! Sans-IO demultiplexing of the one WebRTC media port across sessions.
//!
//! Every session shares one UDP socket and one TCP port. A datagram (or an RFC 6544 framed
//! packet on a TCP connection) is routed to its session:
//!
//! * by the remote address, once that address has been seen in a STUN binding request for
//!   the session;
//! * otherwise, only a STUN message is routable: its `USERNAME` attribute is
//!   `server-ufrag:client-ufrag` (RFC 8445 §7.2.2), and the server ufrag names the session
//!   (each session's is random and unique). The address is then remembered for it.
//!
//! Everything else (junk, DTLS or RTP from an unknown address) is dropped and counted. The
//! address table is bounded per session and in total, so junk from many sources cannot
//! grow memory; the session's own ICE agent (str0m) still checks each STUN message's
//! integrity, so a forged binding request only wastes one table entry.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};

/// The STUN magic cookie (RFC 5389 §6).
const MAGIC_COOKIE: u32 = 0x2112_A442;
/// The STUN `USERNAME` attribute.
const ATTR_USERNAME: u16 = 0x0006;
/// The STUN `MESSAGE-INTEGRITY` attribute.
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
/// Longest STUN username accepted (RFC 5389 §15.3: < 513 bytes).
const MAX_USERNAME: usize = 512;

/// What a packet on the media port is (RFC 7983 §7: by its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketClass {
    /// STUN (0..=3).
    Stun,
    /// DTLS (20..=63).
    Dtls,
    /// RTP or RTCP (128..=191).
    Rtp,
    /// Anything else.
    Other,
}

/// The class of `data` by its first byte.
pub(crate) fn classify(data: &[u8]) -> PacketClass {
    match data.first() {
        Some(0..=3) => PacketClass::Stun,
        Some(20..=63) => PacketClass::Dtls,
        Some(128..=191) => PacketClass::Rtp,
        _ => PacketClass::Other,
    }
}

/// The `USERNAME` of a well-formed STUN message, if it has one. Also refuses messages
/// whose first attribute is `MESSAGE-INTEGRITY` (nothing to authenticate; some ICE agents
/// mishandled them).
pub(crate) fn stun_username(data: &[u8]) -> Option<&[u8]> {
    let header = data.get(..20)?;
    if header[0] & 0xC0 != 0 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let cookie = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    if cookie != MAGIC_COOKIE || len % 4 != 0 {
        return None;
    }
    let mut attrs = data.get(20..20 + len)?;
    let mut first = true;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let alen = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + alen)?;
        if first && kind == ATTR_MESSAGE_INTEGRITY {
            return None;
        }
        first = false;
        if kind == ATTR_USERNAME {
            return (alen <= MAX_USERNAME).then_some(value);
        }
        let padded = (alen + 3) & !3;
        attrs = attrs.get(4 + padded..)?;
    }
    None
}

/// The server's (local) ufrag of a STUN username `server:client`.
pub(crate) fn local_ufrag(username: &[u8]) -> &[u8] {
    match username.iter().position(|b| *b == b':') {
        Some(i) => &username[..i],
        None => username,
    }
}

/// Why a packet was not routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drop {
    /// Not STUN, from an address no session knows.
    UnknownSource,
    /// STUN without a username, or one naming no session.
    UnknownUfrag,
    /// The address table is full.
    TableFull,
}

/// The routing table of one media port. `K` identifies a session.
#[derive(Debug)]
pub(crate) struct Demux<K> {
    by_ufrag: HashMap<Vec<u8>, K>,
    by_addr: HashMap<SocketAddr, K>,
    /// Addresses per session at most.
    per_session: usize,
    /// Addresses in all at most.
    total: usize,
    counts: HashMap<K, usize>,
}

impl<K: Copy + Eq + Hash> Demux<K> {
    /// A table allowing `per_session` remote addresses per session and `total` in all.
    pub(crate) fn new(per_session: usize, total: usize) -> Demux<K> {
        Demux {
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            per_session: per_session.max(1),
            total: total.max(1),
            counts: HashMap::new(),
        }
    }

    /// Registers session `key` with its local ICE ufrag. False if the ufrag is taken.
    pub(crate) fn add(&mut self, ufrag: &str, key: K) -> bool {
        if self.by_ufrag.contains_key(ufrag.as_bytes()) {
            return false;
        }
        self.by_ufrag.insert(ufrag.as_bytes().to_vec(), key);
        true
    }

    /// Forgets session `key` and every address routed to it.
    pub(crate) fn remove(&mut self, key: K) {
        self.by_ufrag.retain(|_, k| *k != key);
        self.by_addr.retain(|_, k| *k != key);
        self.counts.remove(&key);
    }

    /// Sessions registered.
    #[allow(dead_code)] // tests and the fuzz target
    pub(crate) fn sessions(&self) -> usize {
        self.by_ufrag.len()
    }

    /// Remote addresses known.
    #[allow(dead_code)] // tests and the fuzz target
    pub(crate) fn addresses(&self) -> usize {
        self.by_addr.len()
    }

    /// The session a packet from `source` belongs to.
    pub(crate) fn route(&mut self, source: SocketAddr, data: &[u8]) -> Result<K, Drop> {
        if classify(data) == PacketClass::Stun {
            if let Some(user) = stun_username(data) {
                let Some(&key) = self.by_ufrag.get(local_ufrag(user)) else {
                    return Err(Drop::UnknownUfrag);
                };
                return self.learn(source, key);
            }
        }
        self.by_addr
            .get(&source)
            .copied()
            .ok_or(Drop::UnknownSource)
    }

    /// The session a STUN message names by its username, without learning the address
    /// (the first packet of an ICE-TCP connection, which is bound to its session).
    pub(crate) fn by_stun(&self, data: &[u8]) -> Result<K, Drop> {
        if classify(data) != PacketClass::Stun {
            return Err(Drop::UnknownSource);
        }
        let user = stun_username(data).ok_or(Drop::UnknownUfrag)?;
        self.by_ufrag
            .get(local_ufrag(user))
            .copied()
            .ok_or(Drop::UnknownUfrag)
    }

    fn learn(&mut self, source: SocketAddr, key: K) -> Result<K, Drop> {
        match self.by_addr.get(&source) {
            Some(k) if *k == key => return Ok(key),
            Some(&old) => {
                // The address moved to another session (a client reusing its port).
                self.by_addr.remove(&source);
                if let Some(c) = self.counts.get_mut(&old) {
                    *c = c.saturating_sub(1);
                }
            }
            None => {}
        }
        let count = self.counts.get(&key).copied().unwrap_or(0);
        if count >= self.per_session || self.by_addr.len() >= self.total {
            return Err(Drop::TableFull);
        }
        self.by_addr.insert(source, key);
        self.counts.insert(key, count + 1);
        Ok(key)
    }
}

/// Largest packet accepted on an ICE-TCP connection (RFC 4571 allows 65535).
pub(crate) const MAX_TCP_PACKET: usize = 65_535;

/// RFC 4571 / RFC 6544 framing: a 16-bit length before every packet. The decoder follows
/// the tokio-util `Decoder` contract: `Ok(None)` until a whole packet is buffered, and only
/// what was used is consumed.
#[derive(Debug, Default)]
pub(crate) struct TcpFraming;

impl TcpFraming {
    /// The next packet in `buf`, if whole. A zero length is an error (nothing is framed
    /// empty; a peer sending it is not speaking RFC 4571).
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, &'static str> {
        let Some(head) = buf.get(..2) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
        if len == 0 {
            return Err("zero-length RFC 4571 frame");
        }
        if buf.len() < 2 + len {
            return Ok(None);
        }
        buf.advance(2);
        Ok(Some(buf.split_to(len).freeze()))
    }

    /// `packet` framed into `out`. Packets over 65535 bytes are refused.
    pub(crate) fn encode(packet: &[u8], out: &mut BytesMut) -> Result<(), &'static str> {
        let len = u16::try_from(packet.len()).map_err(|_| "packet over 65535 bytes")?;
        out.reserve(2 + packet.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(packet);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A STUN binding request with a USERNAME (and padding) and a trailing attribute.
    pub(crate) fn binding(username: &str) -> Vec<u8> {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&ATTR_USERNAME.to_be_bytes());
        attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attrs.extend_from_slice(username.as_bytes());
        while attrs.len() % 4 != 0 {
            attrs.push(0);
        }
        attrs.extend_from_slice(&ATTR_MESSAGE_INTEGRITY.to_be_bytes());
        attrs.extend_from_slice(&20u16.to_be_bytes());
        attrs.extend_from_slice(&[0xAB; 20]);
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        m.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&attrs);
        m
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn stun_username_parsing() {
        let m = binding("srv1:cli");
        assert_eq!(stun_username(&m), Some(&b"srv1:cli"[..]));
        assert_eq!(local_ufrag(b"srv1:cli"), b"srv1");
        // Truncations and a wrong cookie are not STUN.
        for n in 0..m.len() {
            let _ = stun_username(&m[..n]);
        }
        let mut bad = m.clone();
        bad[4] ^= 1;
        assert_eq!(stun_username(&bad), None);
        // MESSAGE-INTEGRITY first: refused.
        let mut mi = vec![0x00, 0x01, 0x00, 24];
        mi.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        mi.extend_from_slice(&[0; 12]);
        mi.extend_from_slice(&ATTR_MESSAGE_INTEGRITY.to_be_bytes());
        mi.extend_from_slice(&20u16.to_be_bytes());
        mi.extend_from_slice(&[0; 20]);
        assert_eq!(stun_username(&mi), None);
    }

    #[test]
    fn classifies_by_first_byte() {
        assert_eq!(classify(&[0]), PacketClass::Stun);
        assert_eq!(classify(&[22]), PacketClass::Dtls);
        assert_eq!(classify(&[0x80]), PacketClass::Rtp);
        assert_eq!(classify(&[]), PacketClass::Other);
        assert_eq!(classify(&[255]), PacketClass::Other);
    }

    #[test]
    fn routes_by_ufrag_then_address() {
        let mut d = Demux::new(2, 100);
        assert!(d.add("aaaa", 1u64));
        assert!(d.add("bbbb", 2u64));
        assert!(!d.add("aaaa", 3u64));
        // DTLS before any STUN: unknown.
        assert_eq!(d.route(addr(1), &[22, 0]), Err(Drop::UnknownSource));
        assert_eq!(d.route(addr(1), &binding("aaaa:x")), Ok(1));
        assert_eq!(d.route(addr(1), &[22, 0]), Ok(1));
        assert_eq!(d.route(addr(2), &binding("bbbb:y")), Ok(2));
        assert_eq!(
            d.route(addr(3), &binding("cccc:y")),
            Err(Drop::UnknownUfrag)
        );
        // Per-session cap.
        assert_eq!(d.route(addr(4), &binding("aaaa:x")), Ok(1));
        assert_eq!(d.route(addr(5), &binding("aaaa:x")), Err(Drop::TableFull));
        // An address moving to another session.
        assert_eq!(d.route(addr(4), &binding("bbbb:x")), Ok(2));
        assert_eq!(d.route(addr(5), &binding("aaaa:x")), Ok(1));
        d.remove(1);
        assert_eq!(d.route(addr(1), &[0x80]), Err(Drop::UnknownSource));
        assert_eq!(d.sessions(), 1);
        assert_eq!(d.addresses(), 2);
    }

    #[test]
    fn total_addresses_are_bounded() {
        let mut d = Demux::new(1000, 10);
        d.add("u", 1u64);
        for p in 0..100 {
            let _ = d.route(addr(p), &binding("u:x"));
        }
        assert_eq!(d.addresses(), 10);
    }

    #[test]
    fn tcp_framing_roundtrip_and_partial_input() {
        let mut wire = BytesMut::new();
        TcpFraming::encode(b"hello", &mut wire).unwrap();
        TcpFraming::encode(&[1; 300], &mut wire).unwrap();
        let all = wire.clone().freeze();
        // Fed one byte at a time, the same two packets come out.
        let mut f = TcpFraming;
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for b in all.iter() {
            buf.extend_from_slice(&[*b]);
            while let Some(p) = f.decode(&mut buf).unwrap() {
                out.push(p);
            }
        }
        assert_eq!(out.len(), 2);
        assert_eq!(&out[0][..], b"hello");
        assert_eq!(out[1].len(), 300);
        assert!(buf.is_empty());
        let mut zero = BytesMut::from(&[0u8, 0][..]);
        assert!(f.decode(&mut zero).is_err());
        assert!(TcpFraming::encode(&vec![0; 70_000], &mut wire).is_err());
    }
}
