//! Property tests: message and header roundtrips, arbitrary splits, hostile input.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_rtsp_proto::auth::{
    Challenge, Credentials, DigestAlgorithm, DigestChallenge, DigestCredentials,
};
use weir_rtsp_proto::headers::{
    Delivery, LowerTransport, Pair, RtpInfo, SessionHeader, TransportMode, TransportSpec,
};
use weir_rtsp_proto::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,15}"
}

fn header_value() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,30}[!-~])?"
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        (
            token().prop_filter("no content-length", |t| {
                !t.eq_ignore_ascii_case("content-length")
            }),
            header_value(),
        ),
        0..8,
    )
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Options),
        Just(Method::Describe),
        Just(Method::Announce),
        Just(Method::Setup),
        Just(Method::Play),
        Just(Method::Pause),
        Just(Method::Record),
        Just(Method::Teardown),
        Just(Method::GetParameter),
        Just(Method::SetParameter),
        "[A-Z][A-Z_]{0,10}".prop_map(|s| Method::parse(&s)),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        method(),
        "rtsp://[a-z0-9.]{1,10}(:[0-9]{1,5})?(/[A-Za-z0-9=._-]{0,10}){0,3}",
        headers(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(m, uri, hs, body)| {
            let mut r = Request::new(m, uri);
            for (k, v) in hs {
                r.headers.append(k, v);
            }
            r.body = Bytes::from(body);
            r
        })
}

fn response() -> impl Strategy<Value = Response> {
    (
        100u16..600,
        headers(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(status, hs, body)| {
            let mut r = Response::new(status);
            for (k, v) in hs {
                r.headers.append(k, v);
            }
            r.body = Bytes::from(body);
            r
        })
}

#[derive(Debug, Clone)]
enum Piece {
    Req(Request),
    Resp(Response),
    Frame(u8, Vec<u8>),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        request().prop_map(Piece::Req),
        response().prop_map(Piece::Resp),
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..400))
            .prop_map(|(c, p)| Piece::Frame(c, p)),
    ]
}

fn strip_len(h: &Headers) -> Vec<(String, String)> {
    h.iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-length"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn same(piece: &Piece, item: &Item) -> bool {
    match (piece, item) {
        (Piece::Req(a), Item::Message(Message::Request(b))) => {
            a.method == b.method
                && a.uri == b.uri
                && a.body == b.body
                && strip_len(&a.headers) == strip_len(&b.headers)
        }
        (Piece::Resp(a), Item::Message(Message::Response(b))) => {
            a.status == b.status
                && a.reason == b.reason
                && a.body == b.body
                && strip_len(&a.headers) == strip_len(&b.headers)
        }
        (Piece::Frame(c, p), Item::Interleaved(f)) => {
            *c == f.channel && f.payload.as_ref() == p.as_slice()
        }
        _ => false,
    }
}

fn transport() -> impl Strategy<Value = TransportSpec> {
    (
        any::<bool>(),
        proptest::option::of(prop_oneof![
            Just(Delivery::Unicast),
            Just(Delivery::Multicast)
        ]),
        proptest::option::of((any::<u8>(), proptest::option::of(any::<u8>()))),
        proptest::option::of((any::<u16>(), proptest::option::of(any::<u16>()))),
        proptest::option::of((any::<u16>(), proptest::option::of(any::<u16>()))),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u8>()),
        proptest::collection::vec(
            prop_oneof![Just(TransportMode::Play), Just(TransportMode::Record)],
            0..3,
        ),
        proptest::option::of("[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}"),
        any::<bool>(),
    )
        .prop_map(
            |(tcp, delivery, il, cp, sp, ssrc, ttl, mode, dest, append)| {
                let mut t = if tcp {
                    TransportSpec::tcp_interleaved(0, 1)
                } else {
                    TransportSpec::udp_unicast(1, 2)
                };
                t.lower = if tcp { Some(LowerTransport::Tcp) } else { None };
                t.delivery = delivery;
                t.interleaved = il.map(|(rtp, rtcp)| Pair { rtp, rtcp });
                t.client_port = cp.map(|(rtp, rtcp)| Pair { rtp, rtcp });
                t.server_port = sp.map(|(rtp, rtcp)| Pair { rtp, rtcp });
                t.ssrc = ssrc;
                t.ttl = ttl;
                t.mode = mode;
                t.destination = dest;
                t.append = append;
                t
            },
        )
}

proptest! {
    #[test]
    fn stream_roundtrip_any_split(pieces in proptest::collection::vec(piece(), 1..6), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let mut wire = BytesMut::new();
        for p in &pieces {
            match p {
                Piece::Req(r) => r.encode(&mut wire),
                Piece::Resp(r) => r.encode(&mut wire),
                Piece::Frame(c, payload) => {
                    let f = InterleavedFrame { channel: *c, payload: Bytes::copy_from_slice(payload) };
                    prop_assert!(f.encode(&mut wire));
                }
            }
        }
        let wire = wire.freeze();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
        points.push(wire.len());
        points.sort_unstable();
        let mut dec = Decoder::default();
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        let mut from = 0;
        for p in points {
            buf.extend_from_slice(&wire[from..p]);
            from = p;
            while let Some(i) = dec.decode(&mut buf).unwrap() {
                items.push(i);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(items.len(), pieces.len());
        for (p, i) in pieces.iter().zip(&items) {
            prop_assert!(same(p, i), "{:?} vs {:?}", p, i);
        }
    }

    #[test]
    fn random_bytes_never_panic_decoder(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut dec = Decoder::new(Limits { max_header_bytes: 512, max_headers: 8, max_body: 512 });
        let mut buf = BytesMut::from(&data[..]);
        for _ in 0..100 {
            match dec.decode(&mut buf) {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }

    #[test]
    fn random_bytes_never_panic_sessions(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let now = Instant::now();
        let mut n = 0u64;
        let mut s = ServerSession::new(ServerConfig::default(), Box::new(move || { n += 1; n }), now);
        let mut buf = BytesMut::from(&data[..]);
        let _ = s.handle_input(&mut buf, now);
        let mut m = 0u64;
        let mut c = ClientSession::new(ClientConfig::new("rtsp://h/a"), Box::new(move || { m += 1; m }), now).unwrap();
        c.describe(now).unwrap();
        let mut buf = BytesMut::from(&data[..]);
        let _ = c.handle_input(&mut buf, now);
    }

    #[test]
    fn transport_roundtrip(list in proptest::collection::vec(transport(), 1..4)) {
        let text = TransportSpec::list_to_string(&list);
        prop_assert_eq!(TransportSpec::parse_list(&text).unwrap(), list, "{}", text);
    }

    #[test]
    fn rtp_info_roundtrip(entries in proptest::collection::vec(("rtsp://h/[a-z0-9/=]{1,12}", proptest::option::of(any::<u16>()), proptest::option::of(any::<u32>())), 1..4)) {
        let list: Vec<RtpInfo> = entries.into_iter().map(|(url, seq, rtptime)| RtpInfo { url, seq, rtptime }).collect();
        prop_assert_eq!(RtpInfo::parse_list(&RtpInfo::list_to_string(&list)).unwrap(), list);
    }

    #[test]
    fn session_roundtrip(id in "[A-Za-z0-9$._+-]{1,40}", timeout in proptest::option::of(any::<u32>())) {
        let h = SessionHeader { id, timeout };
        prop_assert_eq!(SessionHeader::parse(&h.to_string()).unwrap(), h);
    }

    #[test]
    fn auth_headers_roundtrip(user in "[ -~]{1,12}", realm in "[ -~]{0,12}", nonce in "[A-Za-z0-9+/=]{1,24}", nc in any::<u32>(), sha in any::<bool>()) {
        let c = Credentials::Digest(DigestCredentials {
            username: user.clone(),
            realm: realm.clone(),
            nonce: nonce.clone(),
            uri: "rtsp://h/a".into(),
            response: "0123abcd".into(),
            algorithm: Some(if sha { DigestAlgorithm::Sha256 } else { DigestAlgorithm::Md5 }),
            cnonce: Some("c".into()),
            opaque: None,
            qop: Some("auth".into()),
            nc: Some(nc),
        });
        prop_assert_eq!(Credentials::parse(&c.to_string()).unwrap(), c);
        let b = Credentials::Basic { username: user.replace(':', ""), password: realm.clone() };
        prop_assert_eq!(Credentials::parse(&b.to_string()).unwrap(), b);
        let ch = Challenge::Digest(DigestChallenge { realm, nonce, opaque: Some("o".into()), algorithm: None, qop: vec!["auth".into()], stale: nc % 2 == 0 });
        prop_assert_eq!(Challenge::parse_list(&ch.to_string()).unwrap(), vec![ch]);
    }
}
