//! In-memory ServerSession <-> ClientSession tests: request/accept/reject flows, media,
//! control messages, limits and hostile input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_amf::Amf0Value;
use weir_rtmp_chunk::handshake::{ClientHandshake, HandshakeConfig};
use weir_rtmp_chunk::message::{commands, csid};
use weir_rtmp_chunk::{
    ChunkDecoder, ChunkEncoder, ClientConfig, ClientEvent, ClientSession, Error, Message,
    ServerEvent, ServerSession, SessionConfig, UserControl,
};

/// Moves bytes both ways until quiet; returns all events seen. Transmit pieces are
/// appended to one persistent buffer per direction, as a socket would deliver them.
fn pump(
    s: &mut ServerSession,
    c: &mut ClientSession,
    mut on_s: impl FnMut(&mut ServerSession, &ServerEvent),
) -> (Vec<ServerEvent>, Vec<ClientEvent>) {
    let (mut se, mut ce) = (Vec::new(), Vec::new());
    let (mut to_s, mut to_c) = (BytesMut::new(), BytesMut::new());
    for _ in 0..50 {
        let mut moved = false;
        while let Some(b) = c.poll_transmit() {
            moved = true;
            to_s.extend_from_slice(&b);
        }
        s.handle_input(&mut to_s).unwrap();
        while let Some(ev) = s.poll_event() {
            on_s(s, &ev);
            se.push(ev);
        }
        while let Some(b) = s.poll_transmit() {
            moved = true;
            to_c.extend_from_slice(&b);
        }
        c.handle_input(&mut to_c).unwrap();
        while let Some(ev) = c.poll_event() {
            ce.push(ev);
        }
        if !moved {
            break;
        }
    }
    assert!(to_s.is_empty() && to_c.is_empty());
    (se, ce)
}

fn accept_all(s: &mut ServerSession, ev: &ServerEvent) {
    match ev {
        ServerEvent::ConnectRequest { request, .. } => s.accept_connect(*request).unwrap(),
        ServerEvent::PublishRequest { request, .. } => s.accept_publish(*request).unwrap(),
        ServerEvent::PlayRequest { request, .. } => s.accept_play(*request).unwrap(),
        _ => {}
    }
}

#[test]
fn publish_media_and_unpublish() {
    let mut s = ServerSession::new(SessionConfig::default());
    let mut c = ClientSession::new(ClientConfig::new("live?key=1", "rtmp://h/live?key=1"));
    c.publish("cam", "record").unwrap();
    let (se, ce) = pump(&mut s, &mut c, accept_all);
    let connect = se.iter().find_map(|e| match e {
        ServerEvent::ConnectRequest {
            app, query, tc_url, ..
        } => Some((app.clone(), query.clone(), tc_url.clone())),
        _ => None,
    });
    assert_eq!(
        connect,
        Some((
            "live".into(),
            Some("key=1".into()),
            Some("rtmp://h/live?key=1".into())
        ))
    );
    assert!(se.iter().any(|e| matches!(e, ServerEvent::PublishRequest { name, publish_type, .. } if name == "cam" && publish_type == "record")));
    assert!(ce
        .iter()
        .any(|e| matches!(e, ClientEvent::Connected { .. })));
    assert!(ce
        .iter()
        .any(|e| matches!(e, ClientEvent::PublishStarted { stream_id: 1 })));
    assert!(c.is_publishing());

    let md = Amf0Value::ecma_array([("width", 320.0.into())]);
    c.send_metadata(&md).unwrap();
    let big = Bytes::from(vec![0x27; 100_000]);
    c.send_video(40, big.clone()).unwrap();
    c.send_audio(41, Bytes::from_static(&[0xAF, 1, 2])).unwrap();
    c.close_stream().unwrap();
    let (se, _) = pump(&mut s, &mut c, accept_all);
    assert!(matches!(&se[0], ServerEvent::Metadata { metadata, .. } if *metadata == md));
    assert!(
        matches!(&se[1], ServerEvent::Video { timestamp: 40, data, stream_id: 1 } if *data == big)
    );
    assert!(matches!(&se[2], ServerEvent::Audio { timestamp: 41, .. }));
    assert!(matches!(&se[3], ServerEvent::Unpublished { name, .. } if name == "cam"));
}

#[test]
fn play_flow_with_shared_chunks() {
    let mut s = ServerSession::new(SessionConfig::default());
    let mut c = ClientSession::new(ClientConfig::new("live", "rtmp://h/live"));
    c.play("show?t=9").unwrap();
    let mut sid = 0;
    let (se, ce) = pump(&mut s, &mut c, |s, ev| {
        if let ServerEvent::PlayRequest { stream_id, .. } = ev {
            sid = *stream_id;
        }
        accept_all(s, ev)
    });
    assert!(se.iter().any(|e| matches!(e, ServerEvent::PlayRequest { name, query, reset: true, .. } if name == "show" && query.as_deref() == Some("t=9"))));
    assert!(se
        .iter()
        .any(|e| matches!(e, ServerEvent::BufferLength { ms: 1000, .. })));
    assert!(ce
        .iter()
        .any(|e| matches!(e, ClientEvent::PlayStarted { .. })));
    let codes: Vec<_> = ce
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Status { code, .. } => Some(code.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(codes, ["NetStream.Play.Reset", "NetStream.Play.Start"]);

    s.send_metadata(sid, &Amf0Value::ecma_array([("duration", 0.0.into())]))
        .unwrap();
    let body = Bytes::from(vec![9u8; 10_000]);
    let p = s.prepare(9, 1000, &body).unwrap();
    s.send_prepared(sid, 1000, &p).unwrap();
    s.send_video(sid, 1040, &body).unwrap();
    s.send_audio(sid, 1041, &Bytes::from_static(&[0xAF, 1]))
        .unwrap();
    s.send_stream_eof(sid).unwrap();
    let (_, ce) = pump(&mut s, &mut c, accept_all);
    assert!(matches!(&ce[0], ClientEvent::Metadata { .. }));
    assert!(matches!(&ce[1], ClientEvent::Video { timestamp: 1000, data } if *data == body));
    assert!(matches!(&ce[2], ClientEvent::Video { timestamp: 1040, data } if *data == body));
    assert!(matches!(
        &ce[3],
        ClientEvent::Audio {
            timestamp: 1041,
            ..
        }
    ));
    assert!(ce
        .iter()
        .any(|e| matches!(e, ClientEvent::StreamEof { .. })));
    // Not playing on an unknown stream.
    assert!(matches!(
        s.send_video(77, 0, &body),
        Err(Error::Unknown {
            what: "stream",
            id: 77
        })
    ));
}

/// `shrink_to_fit` between accepting and transmitting (the server's idle-player trim)
/// loses nothing queued, and the session keeps working after it.
#[test]
fn shrinking_a_waiting_session_keeps_what_it_queued() {
    let mut s = ServerSession::new(SessionConfig::default());
    let mut c = ClientSession::new(ClientConfig::new("live", "rtmp://h/live"));
    c.play("show").unwrap();
    let mut sid = 0;
    let (_, ce) = pump(&mut s, &mut c, |s, ev| {
        if let ServerEvent::PlayRequest { stream_id, .. } = ev {
            sid = *stream_id;
        }
        accept_all(s, ev);
        s.shrink_to_fit();
    });
    assert!(ce
        .iter()
        .any(|e| matches!(e, ClientEvent::PlayStarted { .. })));
    s.shrink_to_fit();
    let body = Bytes::from(vec![5u8; 9_000]);
    s.send_video(sid, 40, &body).unwrap();
    s.shrink_to_fit();
    let (_, ce) = pump(&mut s, &mut c, accept_all);
    assert!(matches!(&ce[..], [ClientEvent::Video { timestamp: 40, data }] if *data == body));
}

#[test]
fn rejections_reach_the_client() {
    let mut s = ServerSession::new(SessionConfig::default());
    let mut c = ClientSession::new(ClientConfig::new("live", "rtmp://h/live"));
    c.publish("taken", "live").unwrap();
    let (_, ce) = pump(&mut s, &mut c, |s, ev| match ev {
        ServerEvent::ConnectRequest { request, .. } => s.accept_connect(*request).unwrap(),
        ServerEvent::PublishRequest { request, .. } => s
            .reject_publish(*request, "NetStream.Publish.BadName", "already publishing")
            .unwrap(),
        _ => {}
    });
    assert!(ce.iter().any(|e| matches!(e, ClientEvent::Rejected { what: "publish", code, .. } if code == "NetStream.Publish.BadName")));
    assert!(!c.is_publishing());
    assert!(c.send_video(0, Bytes::new()).is_err());

    let mut s = ServerSession::new(SessionConfig::default());
    let mut c = ClientSession::new(ClientConfig::new("live", "rtmp://h/live"));
    let (se, ce) = pump(&mut s, &mut c, |s, ev| {
        if let ServerEvent::ConnectRequest { request, .. } = ev {
            s.reject_connect(*request, "bad token").unwrap()
        }
    });
    assert!(ce.iter().any(|e| matches!(e, ClientEvent::Rejected { what: "connect", description, .. } if description == "bad token")));
    assert!(se.iter().any(|e| matches!(e, ServerEvent::Closed)));
    assert!(s.is_closed());
}

#[test]
fn eof_reports_active_streams() {
    let mut s = ServerSession::new(SessionConfig::default());
    let mut c = ClientSession::new(ClientConfig::new("live", "rtmp://h/live"));
    c.publish("a", "live").unwrap();
    pump(&mut s, &mut c, accept_all);
    s.handle_eof();
    let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        matches!(&evs[..], [ServerEvent::Unpublished { name, .. }, ServerEvent::Closed] if name == "a")
    );
}

/// A raw peer speaking chunks directly to a server after a simple handshake.
struct RawPeer {
    enc: ChunkEncoder,
    dec: ChunkDecoder,
}

impl RawPeer {
    fn connect(s: &mut ServerSession) -> RawPeer {
        let mut hs = ClientHandshake::new(HandshakeConfig {
            digest: false,
            ..Default::default()
        });
        let mut out = BytesMut::new();
        hs.start(&mut out);
        s.handle_input(&mut out).unwrap();
        let mut reply = BytesMut::new();
        s.transmit_into(&mut reply);
        let mut c2 = BytesMut::new();
        assert!(hs.handle_input(&mut reply, &mut c2).unwrap());
        s.handle_input(&mut c2).unwrap();
        RawPeer {
            enc: ChunkEncoder::new(),
            dec: ChunkDecoder::default(),
        }
    }
    fn send(
        &mut self,
        s: &mut ServerSession,
        stream_id: u32,
        m: &Message,
    ) -> weir_rtmp_chunk::Result<()> {
        let mut b = BytesMut::new();
        weir_rtmp_chunk::message::write_message(
            &mut self.enc,
            m.default_csid(),
            0,
            stream_id,
            m,
            &mut b,
        )
        .unwrap();
        s.handle_input(&mut b)
    }
    fn recv(&mut self, s: &mut ServerSession) -> Vec<Message> {
        let mut b = BytesMut::new();
        s.transmit_into(&mut b);
        let mut out = Vec::new();
        while let Some(raw) = self.dec.decode(&mut b).unwrap() {
            out.push(Message::decode(&raw, Default::default()).unwrap());
        }
        out
    }
}

#[test]
fn control_messages_are_answered() {
    let mut s = ServerSession::new(SessionConfig::default());
    let mut p = RawPeer::connect(&mut s);
    p.recv(&mut s);
    p.send(
        &mut s,
        0,
        &Message::UserControl(UserControl::PingRequest(1234)),
    )
    .unwrap();
    p.send(
        &mut s,
        0,
        &Message::SetPeerBandwidth {
            size: 5000,
            limit_type: 2,
        },
    )
    .unwrap();
    let got = p.recv(&mut s);
    assert_eq!(
        got,
        [
            Message::UserControl(UserControl::PingResponse(1234)),
            Message::WindowAckSize(5000)
        ]
    );
    // Ask for acknowledgements every 100 bytes, then send > 100 bytes.
    p.send(&mut s, 0, &Message::WindowAckSize(100)).unwrap();
    let filler = Message::data(vec![Amf0Value::String("x".repeat(150))]).unwrap();
    p.send(&mut s, 0, &filler).unwrap();
    let got = p.recv(&mut s);
    // The first acknowledgement covers the handshake too (nothing was acknowledged yet).
    assert!(
        matches!(got.last(), Some(Message::Acknowledgement(n)) if u64::from(*n) == s.bytes_received()),
        "{got:?}"
    );
    assert!(got.iter().all(|m| matches!(m, Message::Acknowledgement(_))));
    // The peer changes its chunk size: later messages still decode.
    let mut b = BytesMut::new();
    p.enc.write_set_chunk_size(7, &mut b).unwrap();
    s.handle_input(&mut b).unwrap();
    let cmd = commands::connect(1.0, "app", "rtmp://x/app", "test");
    p.send(&mut s, 0, &Message::command(cmd)).unwrap();
    assert!(matches!(
        s.poll_event(),
        Some(ServerEvent::HandshakeDone(_))
    ));
    assert!(matches!(s.poll_event(), Some(ServerEvent::Data { .. })));
    assert!(
        matches!(s.poll_event(), Some(ServerEvent::ConnectRequest { app, .. }) if app == "app")
    );
}

#[test]
fn stream_limit_and_commands_on_stream_zero() {
    let cfg = SessionConfig {
        max_streams: 2,
        ..SessionConfig::default()
    };
    let mut s = ServerSession::new(cfg);
    let mut p = RawPeer::connect(&mut s);
    p.send(
        &mut s,
        0,
        &Message::command(commands::connect(1.0, "a", "rtmp://x/a", "t")),
    )
    .unwrap();
    while let Some(ev) = s.poll_event() {
        if let ServerEvent::ConnectRequest { request, .. } = ev {
            s.accept_connect(request).unwrap();
        }
    }
    p.recv(&mut s);
    for t in 2..5 {
        p.send(
            &mut s,
            0,
            &Message::command(commands::create_stream(f64::from(t))),
        )
        .unwrap();
    }
    let replies: Vec<String> = p
        .recv(&mut s)
        .into_iter()
        .filter_map(|m| match m {
            Message::Command { command, .. } => Some(command.name),
            _ => None,
        })
        .collect();
    assert_eq!(replies, ["_result", "_result", "_error"]);
    // publish on stream 0 is a protocol error
    let e = p.send(&mut s, 0, &Message::command(commands::publish("x", "live")));
    assert!(matches!(e, Err(Error::Malformed { .. })));
    let _ = csid::COMMAND;
}

proptest! {
    #[test]
    fn server_survives_garbage_after_handshake(data in proptest::collection::vec(any::<u8>(), 0..3000), step in 1usize..600) {
        let mut s = ServerSession::new(SessionConfig::default());
        let _p = RawPeer::connect(&mut s);
        let mut buf = BytesMut::new();
        for piece in data.chunks(step) {
            buf.extend_from_slice(piece);
            if s.handle_input(&mut buf).is_err() {
                break;
            }
            while let Some(ev) = s.poll_event() {
                accept_all(&mut s, &ev);
            }
            while s.poll_transmit().is_some() {}
        }
    }

    #[test]
    fn client_survives_garbage(data in proptest::collection::vec(any::<u8>(), 0..5000), step in 1usize..600) {
        let mut c = ClientSession::new(ClientConfig::new("live", "rtmp://h/live"));
        c.play("x").unwrap();
        let mut buf = BytesMut::new();
        for piece in data.chunks(step) {
            buf.extend_from_slice(piece);
            if c.handle_input(&mut buf).is_err() {
                break;
            }
            while c.poll_event().is_some() {}
        }
    }
}

fn tag(kind: u8, ts: u32, body: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(&ts.to_be_bytes()[1..]);
    v.push((ts >> 24) as u8);
    v.extend_from_slice(&[0, 0, 0]);
    v.extend_from_slice(body);
    v.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
    v
}

#[test]
fn aggregate_messages_are_split() {
    let mut body = tag(9, 5000, &[0x17, 1, 2]);
    body.extend(tag(8, 5010, &[0xAF, 1]));
    let parts = weir_rtmp_chunk::message::split_aggregate(&Bytes::from(body.clone()), 100).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(
        (parts[0].type_id, parts[0].timestamp, &parts[0].body[..]),
        (9, 100, &[0x17u8, 1, 2][..])
    );
    assert_eq!((parts[1].type_id, parts[1].timestamp), (8, 110));
    // Truncated / overrunning parts are errors.
    assert!(
        weir_rtmp_chunk::message::split_aggregate(&Bytes::from(body[..20].to_vec()), 0).is_err()
    );

    // A publisher sending an aggregate: the server emits the parts as media events.
    let mut s = ServerSession::new(SessionConfig::default());
    let mut p = RawPeer::connect(&mut s);
    p.send(
        &mut s,
        0,
        &Message::command(commands::connect(1.0, "a", "rtmp://x/a", "t")),
    )
    .unwrap();
    while let Some(ev) = s.poll_event() {
        accept_all(&mut s, &ev);
    }
    p.send(&mut s, 0, &Message::command(commands::create_stream(2.0)))
        .unwrap();
    p.send(
        &mut s,
        1,
        &Message::command(commands::publish("agg", "live")),
    )
    .unwrap();
    while let Some(ev) = s.poll_event() {
        accept_all(&mut s, &ev);
    }
    p.send(&mut s, 1, &Message::Aggregate(Bytes::from(body)))
        .unwrap();
    let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        matches!(
            &evs[..],
            [
                ServerEvent::Video { timestamp: 0, .. },
                ServerEvent::Audio { timestamp: 10, .. }
            ]
        ),
        "{evs:?}"
    );
}

#[test]
fn malformed_data_is_dropped_but_malformed_command_fails() {
    let mut s = ServerSession::new(SessionConfig::default());
    let mut p = RawPeer::connect(&mut s);
    let bad = Message::Other {
        type_id: 18,
        body: Bytes::from_static(&[0x02, 0xFF]),
    };
    p.send(&mut s, 0, &bad).unwrap();
    p.send(
        &mut s,
        0,
        &Message::command(commands::connect(1.0, "a", "rtmp://x/a", "t")),
    )
    .unwrap();
    let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        matches!(evs.last(), Some(ServerEvent::ConnectRequest { .. })),
        "{evs:?}"
    );
    let bad_cmd = Message::Other {
        type_id: 20,
        body: Bytes::from_static(&[0x02, 0xFF]),
    };
    assert!(matches!(
        p.send(&mut s, 0, &bad_cmd),
        Err(Error::Amf {
            what: "command",
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn media_passes_through_sessions_intact(
        chunk_size in prop_oneof![Just(128u32), Just(4096), 1u32..300, 4096u32..70000],
        msgs in proptest::collection::vec((any::<bool>(), 0u32..0x0200_0000, 0usize..40_000, any::<u8>()), 1..12),
    ) {
        let cfg = SessionConfig { chunk_size, ..SessionConfig::default() };
        let mut s = ServerSession::new(cfg.clone());
        let mut ccfg = ClientConfig::new("live", "rtmp://h/live");
        ccfg.session = cfg;
        let mut c = ClientSession::new(ccfg);
        c.publish("p", "live").unwrap();
        pump(&mut s, &mut c, accept_all);
        prop_assert!(c.is_publishing());
        let mut ts = 0u32;
        let mut sent = Vec::new();
        for (video, step, len, fill) in msgs {
            ts = ts.wrapping_add(step);
            let body = Bytes::from(vec![fill; len]);
            if video { c.send_video(ts, body.clone()).unwrap() } else { c.send_audio(ts, body.clone()).unwrap() }
            sent.push((video, ts, body));
        }
        let (se, _) = pump(&mut s, &mut c, accept_all);
        let got: Vec<_> = se
            .into_iter()
            .filter_map(|e| match e {
                ServerEvent::Video { timestamp, data, .. } => Some((true, timestamp, data)),
                ServerEvent::Audio { timestamp, data, .. } => Some((false, timestamp, data)),
                _ => None,
            })
            .collect();
        prop_assert_eq!(got, sent);
    }
}

#[test]
fn chunk_size_change_mid_stream() {
    let mut s = ServerSession::new(SessionConfig::default());
    let mut c = ClientSession::new(ClientConfig::new("live", "rtmp://h/live"));
    c.play("x").unwrap();
    let mut sid = 0;
    pump(&mut s, &mut c, |s, ev| {
        if let ServerEvent::PlayRequest { stream_id, .. } = ev {
            sid = *stream_id;
        }
        accept_all(s, ev)
    });
    let body = Bytes::from(vec![5u8; 3000]);
    let old = s.prepare(9, 0, &body).unwrap();
    s.set_chunk_size(100).unwrap();
    assert_eq!(s.chunk_size(), 100);
    assert!(matches!(
        s.send_prepared(sid, 0, &old),
        Err(Error::PreparedMismatch(_))
    ));
    let new = s.prepare(9, 0, &body).unwrap();
    s.send_prepared(sid, 0, &new).unwrap();
    s.send_video(sid, 10, &body).unwrap();
    assert!(s.set_chunk_size(0).is_err());
    let (_, ce) = pump(&mut s, &mut c, accept_all);
    let vids: Vec<_> = ce
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Video { timestamp, data } => Some((*timestamp, data.len())),
            _ => None,
        })
        .collect();
    assert_eq!(vids, [(0, 3000), (10, 3000)]);
}
