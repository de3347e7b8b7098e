//! The RTMP handshake, both sides, sans-IO.
//!
//! Two forms exist in the wild:
//!
//! * **simple** (RTMP specification section 5.2): C1/S1 are `time, zero, 1528 random
//!   bytes`, C2/S2 echo the peer's C1/S1;
//! * **digest** ("complex", used by Flash Player, ffmpeg, OBS, librtmp): the version field
//!   of C1 is non-zero and C1 embeds an HMAC-SHA256 digest at a position derived from
//!   four offset bytes. Two layouts ("schemas") exist: schema 0 puts the key block first
//!   and the digest block at byte 772; schema 1 puts the digest block at byte 8. The
//!   server answers with a digest in S1 (same schema) and an S2 whose last 32 bytes are
//!   an HMAC keyed by the client's digest.
//!
//! The server detects the form: when C1's version field is non-zero and a digest
//! validates in either schema, it answers in kind; otherwise it falls back to the simple
//! echo. The client sends a digest C1 by default, validates S1/S2 when the server
//! answered in digest form, and echoes S1 otherwise.

use bytes::{Buf, BufMut, BytesMut};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, Result};

/// Size of C1/C2/S1/S2.
pub const HANDSHAKE_SIZE: usize = 1536;
/// The protocol version in C0/S0.
pub const RTMP_VERSION: u8 = 3;

const DIGEST_LEN: usize = 32;
const SHARED_TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];
const FP_TEXT: &[u8] = b"Genuine Adobe Flash Player 001";
const FMS_TEXT: &[u8] = b"Genuine Adobe Flash Media Server 001";

fn full_key(text: &[u8]) -> Vec<u8> {
    let mut k = text.to_vec();
    k.extend_from_slice(&SHARED_TAIL);
    k
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Where the digest block sits in C1/S1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Key block at byte 8, digest block at byte 772.
    Schema0,
    /// Digest block at byte 8, key block at byte 772 (what ffmpeg and OBS send).
    Schema1,
}

/// Which handshake form was negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeKind {
    /// C2/S2 echo C1/S1.
    Simple,
    /// HMAC-SHA256 digests in the given schema.
    Digest(Schema),
}

/// Byte offset of the digest inside a 1536-byte C1/S1 for `schema`.
pub fn digest_offset(packet: &[u8; HANDSHAKE_SIZE], schema: Schema) -> usize {
    let base = match schema {
        Schema::Schema0 => 772,
        Schema::Schema1 => 8,
    };
    let sum: usize = packet[base..base + 4].iter().map(|b| usize::from(*b)).sum();
    base + 4 + sum % 728
}

fn packet_digest(packet: &[u8; HANDSHAKE_SIZE], offset: usize, key: &[u8]) -> [u8; 32] {
    let (before, rest) = packet.split_at(offset);
    let after = rest.get(DIGEST_LEN..).unwrap_or(&[]);
    hmac(key, &[before, after])
}

/// Writes a digest into `packet` (C1 with the Flash Player key or S1 with the server key).
fn sign_packet(packet: &mut [u8; HANDSHAKE_SIZE], schema: Schema, key: &[u8]) -> [u8; 32] {
    let off = digest_offset(packet, schema);
    let d = packet_digest(packet, off, key);
    packet[off..off + DIGEST_LEN].copy_from_slice(&d);
    d
}

/// Finds a valid digest in `packet` keyed by `key`, trying both schemas.
pub fn find_digest(packet: &[u8; HANDSHAKE_SIZE], key: &[u8]) -> Option<(Schema, [u8; 32])> {
    for schema in [Schema::Schema1, Schema::Schema0] {
        let off = digest_offset(packet, schema);
        let d = packet_digest(packet, off, key);
        if packet.get(off..off + DIGEST_LEN) == Some(&d[..]) {
            return Some((schema, d));
        }
    }
    None
}

/// C2/S2 in digest form: random bytes whose last 32 bytes are an HMAC keyed by
/// HMAC(`full_key`, peer digest).
fn signed_response(rng: &mut Rng, peer_digest: &[u8; 32], full_key: &[u8]) -> [u8; HANDSHAKE_SIZE] {
    let mut p = [0u8; HANDSHAKE_SIZE];
    rng.fill(&mut p);
    let key = hmac(full_key, &[peer_digest]);
    let sig = hmac(&key, &[&p[..HANDSHAKE_SIZE - DIGEST_LEN]]);
    p[HANDSHAKE_SIZE - DIGEST_LEN..].copy_from_slice(&sig);
    p
}

fn response_valid(p: &[u8; HANDSHAKE_SIZE], my_digest: &[u8; 32], full_key: &[u8]) -> bool {
    let key = hmac(full_key, &[my_digest]);
    let sig = hmac(&key, &[&p[..HANDSHAKE_SIZE - DIGEST_LEN]]);
    p[HANDSHAKE_SIZE - DIGEST_LEN..] == sig
}

/// A tiny deterministic generator (xorshift64*) for handshake filler bytes; the caller
/// supplies the seed, keeping the crate free of OS randomness.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

fn take_packet(buf: &mut BytesMut) -> [u8; HANDSHAKE_SIZE] {
    let mut p = [0u8; HANDSHAKE_SIZE];
    buf.copy_to_slice(&mut p);
    p
}

/// Settings shared by both handshake sides.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// Seed for the filler bytes.
    pub seed: u64,
    /// Value of the time field in C1/S1.
    pub epoch: u32,
    /// Client: send a digest C1 (default true). Server: answer digest C1s in kind (default true).
    pub digest: bool,
    /// Client: schema for the digest C1 (default [`Schema::Schema1`], like ffmpeg).
    pub schema: Schema,
}

impl Default for HandshakeConfig {
    fn default() -> Self {
        HandshakeConfig {
            seed: 0x5745_4952,
            epoch: 0,
            digest: true,
            schema: Schema::Schema1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    WaitC0C1,
    WaitC2,
    Done,
}

/// The server side: reads C0+C1, writes S0+S1+S2, reads C2.
#[derive(Debug, Clone)]
pub struct ServerHandshake {
    cfg: HandshakeConfig,
    rng: Rng,
    state: ServerState,
    kind: Option<HandshakeKind>,
    /// The generator's state before it filled S1's random part: enough to check C2's
    /// echo of it, where keeping S1 itself would make every connection's handshake state
    /// 1.5 KB (a relay accepts thousands).
    s1_random: Rng,
}

impl ServerHandshake {
    /// A server handshake in its initial state.
    pub fn new(cfg: HandshakeConfig) -> Self {
        let rng = Rng::new(cfg.seed);
        ServerHandshake {
            cfg,
            s1_random: rng.clone(),
            rng,
            state: ServerState::WaitC0C1,
            kind: None,
        }
    }

    /// Which form the client used (known after C1).
    pub fn kind(&self) -> Option<HandshakeKind> {
        self.kind
    }

    /// True once C2 has been consumed.
    pub fn is_done(&self) -> bool {
        self.state == ServerState::Done
    }

    /// Consumes what it can from `input`, appends S0+S1+S2 to `out` when C1 is complete.
    /// Returns `Ok(true)` once the handshake is complete; bytes after C2 stay in `input`.
    pub fn handle_input(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<bool> {
        if self.state == ServerState::WaitC0C1 {
            if input.len() < 1 + HANDSHAKE_SIZE {
                if let Some(&v) = input.first() {
                    if v != RTMP_VERSION {
                        return Err(Error::BadVersion(v));
                    }
                }
                return Ok(false);
            }
            let v = input.get_u8();
            if v != RTMP_VERSION {
                return Err(Error::BadVersion(v));
            }
            let c1 = take_packet(input);
            self.respond(&c1, out);
            self.state = ServerState::WaitC2;
        }
        if self.state == ServerState::WaitC2 {
            if input.len() < HANDSHAKE_SIZE {
                return Ok(false);
            }
            let c2 = take_packet(input);
            if self.kind == Some(HandshakeKind::Simple) && !self.c2_echoes_s1(&c2) {
                // Many clients send arbitrary C2 bytes; the specification's echo rule is
                // not enforced by any major server, so only note it.
                tracing::debug!("RTMP C2 does not echo S1");
            }
            self.state = ServerState::Done;
        }
        Ok(self.state == ServerState::Done)
    }

    fn respond(&mut self, c1: &[u8; HANDSHAKE_SIZE], out: &mut BytesMut) {
        let fp_key = FP_TEXT;
        let client_digest = if self.cfg.digest && c1[4..8] != [0, 0, 0, 0] {
            find_digest(c1, fp_key)
        } else {
            None
        };
        let mut s1 = [0u8; HANDSHAKE_SIZE];
        self.s1_random = self.rng.clone();
        self.rng.fill(&mut s1[8..]);
        s1[..4].copy_from_slice(&self.cfg.epoch.to_be_bytes());
        out.reserve(1 + 2 * HANDSHAKE_SIZE);
        out.put_u8(RTMP_VERSION);
        match client_digest {
            Some((schema, digest)) => {
                // A server version >= 3 in S1 tells ffmpeg-style clients to validate the digest.
                s1[4..8].copy_from_slice(&[4, 5, 0, 1]);
                sign_packet(&mut s1, schema, FMS_TEXT);
                let s2 = signed_response(&mut self.rng, &digest, &full_key(FMS_TEXT));
                out.put_slice(&s1);
                out.put_slice(&s2);
                self.kind = Some(HandshakeKind::Digest(schema));
            }
            None => {
                out.put_slice(&s1);
                out.put_slice(c1);
                self.kind = Some(HandshakeKind::Simple);
            }
        }
    }

    /// Whether C2 carries S1's random part (the simple handshake's echo), S1 made again
    /// from the generator's earlier state.
    fn c2_echoes_s1(&self, c2: &[u8; HANDSHAKE_SIZE]) -> bool {
        let mut s1 = [0u8; HANDSHAKE_SIZE];
        self.s1_random.clone().fill(&mut s1[8..]);
        c2[8..] == s1[8..]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    Start,
    WaitS0S1S2,
    Done,
}

/// The client side: writes C0+C1, reads S0+S1+S2, writes C2.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    cfg: HandshakeConfig,
    rng: Rng,
    state: ClientState,
    c1: [u8; HANDSHAKE_SIZE],
    c1_digest: Option<[u8; 32]>,
    kind: Option<HandshakeKind>,
    server_signature_ok: Option<bool>,
}

impl ClientHandshake {
    /// A client handshake in its initial state.
    pub fn new(cfg: HandshakeConfig) -> Self {
        let rng = Rng::new(cfg.seed);
        ClientHandshake {
            cfg,
            rng,
            state: ClientState::Start,
            c1: [0; HANDSHAKE_SIZE],
            c1_digest: None,
            kind: None,
            server_signature_ok: None,
        }
    }

    /// Appends C0+C1 to `out`. Call once, first.
    pub fn start(&mut self, out: &mut BytesMut) {
        if self.state != ClientState::Start {
            return;
        }
        let mut c1 = [0u8; HANDSHAKE_SIZE];
        self.rng.fill(&mut c1[8..]);
        c1[..4].copy_from_slice(&self.cfg.epoch.to_be_bytes());
        if self.cfg.digest {
            // A Flash Player version (9.0.124.2) in the version field signals the digest form.
            c1[4..8].copy_from_slice(&[9, 0, 124, 2]);
            self.c1_digest = Some(sign_packet(&mut c1, self.cfg.schema, FP_TEXT));
        }
        out.reserve(1 + HANDSHAKE_SIZE);
        out.put_u8(RTMP_VERSION);
        out.put_slice(&c1);
        self.c1 = c1;
        self.state = ClientState::WaitS0S1S2;
    }

    /// Which form the server answered with (known after S1).
    pub fn kind(&self) -> Option<HandshakeKind> {
        self.kind
    }

    /// In digest form, whether S2 carried a valid signature of our C1 digest.
    pub fn server_signature_ok(&self) -> Option<bool> {
        self.server_signature_ok
    }

    /// True once C2 has been written.
    pub fn is_done(&self) -> bool {
        self.state == ClientState::Done
    }

    /// Consumes S0+S1+S2 from `input` and appends C2 to `out`. Returns `Ok(true)` when
    /// the handshake is complete.
    pub fn handle_input(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<bool> {
        match self.state {
            ClientState::Done => return Ok(true),
            ClientState::Start => return Err(Error::InvalidState("handshake not started")),
            ClientState::WaitS0S1S2 => {}
        }
        if let Some(&v) = input.first() {
            if v != RTMP_VERSION {
                return Err(Error::BadVersion(v));
            }
        }
        if input.len() < 1 + 2 * HANDSHAKE_SIZE {
            return Ok(false);
        }
        input.advance(1);
        let s1 = take_packet(input);
        let s2 = take_packet(input);
        let server_digest = if self.c1_digest.is_some() && s1[4..8] != [0, 0, 0, 0] {
            find_digest(&s1, FMS_TEXT)
        } else {
            None
        };
        match (server_digest, self.c1_digest) {
            (Some((schema, sd)), Some(my)) => {
                let ok = response_valid(&s2, &my, &full_key(FMS_TEXT));
                if !ok {
                    tracing::debug!("RTMP S2 signature does not match our C1 digest");
                }
                self.server_signature_ok = Some(ok);
                let c2 = signed_response(&mut self.rng, &sd, &full_key(FP_TEXT));
                out.put_slice(&c2);
                self.kind = Some(HandshakeKind::Digest(schema));
            }
            _ => {
                // Simple form (or a server whose S1 has no valid digest): echo S1.
                if s2[8..] != self.c1[8..] {
                    tracing::debug!("RTMP S2 does not echo C1");
                }
                out.put_slice(&s1);
                self.kind = Some(HandshakeKind::Simple);
            }
        }
        self.state = ClientState::Done;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server keeps the generator's state, not S1 (1.5 KB per connection), and still
    /// recognises C2's echo of S1.
    #[test]
    fn c2_echo_is_checked_against_s1_made_again() {
        assert!(std::mem::size_of::<ServerHandshake>() <= 64);
        let mut s = ServerHandshake::new(HandshakeConfig {
            digest: false,
            ..HandshakeConfig::default()
        });
        let mut input = BytesMut::new();
        input.put_u8(RTMP_VERSION);
        input.put_slice(&[0u8; HANDSHAKE_SIZE]);
        let mut out = BytesMut::new();
        assert!(!s.handle_input(&mut input, &mut out).unwrap());
        let s1: [u8; HANDSHAKE_SIZE] = out[1..1 + HANDSHAKE_SIZE].try_into().unwrap();
        assert!(s.c2_echoes_s1(&s1));
        let mut other = s1;
        other[100] ^= 1;
        assert!(!s.c2_echoes_s1(&other));
        // A C2 that does not echo is still accepted (no major server enforces it).
        input.put_slice(&other);
        assert!(s.handle_input(&mut input, &mut out).unwrap());
    }

    fn run(
        client_cfg: HandshakeConfig,
        server_cfg: HandshakeConfig,
    ) -> (ClientHandshake, ServerHandshake) {
        let mut c = ClientHandshake::new(client_cfg);
        let mut s = ServerHandshake::new(server_cfg);
        let mut to_server = BytesMut::new();
        let mut to_client = BytesMut::new();
        c.start(&mut to_server);
        // Feed the server byte by byte to exercise partial input.
        let all = to_server.split();
        for b in all.iter() {
            to_server.put_u8(*b);
            assert!(!s.handle_input(&mut to_server, &mut to_client).unwrap());
        }
        assert_eq!(to_client.len(), 1 + 2 * HANDSHAKE_SIZE);
        assert!(c.handle_input(&mut to_client, &mut to_server).unwrap());
        to_server.put_slice(b"after");
        assert!(s.handle_input(&mut to_server, &mut to_client).unwrap());
        assert_eq!(&to_server[..], b"after");
        (c, s)
    }

    #[test]
    fn digest_both_schemas() {
        for schema in [Schema::Schema0, Schema::Schema1] {
            let (c, s) = run(
                HandshakeConfig {
                    schema,
                    ..Default::default()
                },
                HandshakeConfig::default(),
            );
            assert_eq!(s.kind(), Some(HandshakeKind::Digest(schema)));
            assert_eq!(c.kind(), Some(HandshakeKind::Digest(schema)));
            assert_eq!(c.server_signature_ok(), Some(true));
        }
    }

    #[test]
    fn simple_and_fallback() {
        let (c, s) = run(
            HandshakeConfig {
                digest: false,
                ..Default::default()
            },
            HandshakeConfig::default(),
        );
        assert_eq!(s.kind(), Some(HandshakeKind::Simple));
        assert_eq!(c.kind(), Some(HandshakeKind::Simple));
        // Server configured for simple only: a digest client falls back to the echo.
        let (c, s) = run(
            HandshakeConfig::default(),
            HandshakeConfig {
                digest: false,
                ..Default::default()
            },
        );
        assert_eq!(s.kind(), Some(HandshakeKind::Simple));
        assert_eq!(c.kind(), Some(HandshakeKind::Simple));
    }

    #[test]
    fn non_zero_version_without_valid_digest_falls_back() {
        let mut s = ServerHandshake::new(HandshakeConfig::default());
        let mut input = BytesMut::new();
        input.put_u8(3);
        let mut c1 = [7u8; HANDSHAKE_SIZE];
        c1[4..8].copy_from_slice(&[9, 0, 124, 2]);
        input.put_slice(&c1);
        let mut out = BytesMut::new();
        s.handle_input(&mut input, &mut out).unwrap();
        assert_eq!(s.kind(), Some(HandshakeKind::Simple));
        assert_eq!(&out[1 + HANDSHAKE_SIZE..], &c1[..], "S2 echoes C1");
    }

    #[test]
    fn bad_version_is_error() {
        let mut s = ServerHandshake::new(HandshakeConfig::default());
        let mut input = BytesMut::from(&[6u8][..]);
        assert_eq!(
            s.handle_input(&mut input, &mut BytesMut::new()),
            Err(Error::BadVersion(6))
        );
    }
}
