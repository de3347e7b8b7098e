//! ClientSession against ServerSession in memory, state-machine errors, timeouts, auth, redirects.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use weir_rtsp_proto::auth::{AuthConfig, DigestAlgorithm};
use weir_rtsp_proto::headers::{Pair, RangeSpec, RtpInfo, TransportSpec};
use weir_rtsp_proto::*;
use weir_sdp::{MediaDescription, SessionDescription};

fn rng(seed: u64) -> Box<dyn RandomSource + Send> {
    let mut s = seed;
    Box::new(move || {
        // xorshift64*
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// Moves bytes both ways until quiet; the server app answers with `app`.
fn pump(
    c: &mut ClientSession,
    s: &mut ServerSession,
    now: Instant,
    app: &mut dyn FnMut(&mut ServerSession, ServerEvent),
) -> Vec<ClientEvent> {
    let mut events = Vec::new();
    for _ in 0..50 {
        let mut moved = false;
        let mut to_server = BytesMut::new();
        while let Some(b) = c.poll_transmit() {
            to_server.extend_from_slice(&b);
            moved = true;
        }
        if !to_server.is_empty() {
            s.handle_input(&mut to_server, now).unwrap();
            assert!(to_server.is_empty());
        }
        while let Some(ev) = s.poll_event() {
            app(s, ev);
            moved = true;
        }
        let mut to_client = BytesMut::new();
        while let Some(b) = s.poll_transmit() {
            to_client.extend_from_slice(&b);
            moved = true;
        }
        if !to_client.is_empty() {
            c.handle_input(&mut to_client, now).unwrap();
        }
        while let Some(ev) = c.poll_event() {
            events.push(ev);
        }
        if !moved {
            break;
        }
    }
    events
}

fn sdp() -> Bytes {
    let mut d = SessionDescription::rtsp_presentation("test", "127.0.0.1");
    d.media
        .push(MediaDescription::pcmu(8000, 1, 97).with_control("trackID=0"));
    d.to_bytes()
}

fn app(s: &mut ServerSession, ev: ServerEvent) {
    match ev {
        ServerEvent::Describe { id, request } => {
            if request.uri.ends_with("/live/a") {
                s.respond_describe(id, sdp(), None).unwrap()
            } else {
                s.reject(id, 404).unwrap()
            }
        }
        ServerEvent::Setup { id, transports, .. } => {
            let mut t = transports[0].clone();
            if !t.is_tcp() {
                t.server_port = Some(Pair::new(6000, 6001));
            }
            t.ssrc = Some(0x1234);
            s.accept_setup(id, &t).unwrap()
        }
        ServerEvent::Play { id, request, .. } => {
            let info = [RtpInfo {
                url: format!("{}/trackID=0", request.uri.trim_end_matches('/')),
                seq: Some(7),
                rtptime: Some(99),
            }];
            s.accept_play(id, Some(&RangeSpec::parse("npt=0-").unwrap()), &info)
                .unwrap()
        }
        ServerEvent::Pause { id, .. } => s.accept_pause(id).unwrap(),
        ServerEvent::Record { id, .. } => s.accept_record(id).unwrap(),
        ServerEvent::Announce { id, .. } => s.accept_announce(id).unwrap(),
        ServerEvent::Parameter { id, .. } => s.respond(id, Response::new(200)).unwrap(),
        _ => {}
    }
}

fn server(auth: Option<AuthConfig>, now: Instant) -> ServerSession {
    ServerSession::new(
        ServerConfig {
            auth,
            ..ServerConfig::default()
        },
        rng(1),
        now,
    )
}

#[test]
fn play_flow_with_digest_auth_and_keepalive() {
    let t0 = Instant::now();
    let mut s = server(Some(AuthConfig::digest("weir", "user", "pa ss")), t0);
    let mut c = ClientSession::new(
        ClientConfig::new("rtsp://user:pa%20ss@127.0.0.1:8554/live/a"),
        rng(2),
        t0,
    )
    .unwrap();
    c.options(t0).unwrap();
    let ev = pump(&mut c, &mut s, t0, &mut app);
    assert!(
        matches!(&ev[0], ClientEvent::Options { public } if public.contains(&Method::GetParameter))
    );

    c.describe(t0).unwrap();
    let ev = pump(&mut c, &mut s, t0, &mut app);
    let ClientEvent::Described { sdp, base_url, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(base_url, "rtsp://127.0.0.1:8554/live/a/");
    let track = sdp.media[0].control_url(sdp, base_url);
    assert_eq!(track, "rtsp://127.0.0.1:8554/live/a/trackID=0");

    c.setup(&track, &TransportSpec::tcp_interleaved(0, 1), t0)
        .unwrap();
    let ev = pump(&mut c, &mut s, t0, &mut app);
    let ClientEvent::SetupDone {
        transport, session, ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(transport.ssrc, Some(0x1234));
    assert_eq!(session.timeout, Some(60));
    assert_eq!(s.session_id(), Some(session.id.as_str()));

    c.play(None, t0).unwrap();
    let ev = pump(&mut c, &mut s, t0, &mut app);
    let ClientEvent::Playing { rtp_info, range } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(rtp_info[0].seq, Some(7));
    assert!(range.is_some());
    assert_eq!(
        (s.state(), c.state()),
        (SessionState::Playing, ClientState::Playing)
    );

    // Media both ways.
    s.send_interleaved(0, Bytes::from_static(b"rtp")).unwrap();
    c.send_interleaved(1, Bytes::from_static(b"rtcp")).unwrap();
    let mut got_server = Vec::new();
    let ev = pump(&mut c, &mut s, t0, &mut |_s, ev| got_server.push(ev));
    assert!(matches!(&ev[0], ClientEvent::Interleaved(f) if f.channel == 0 && f.payload == "rtp"));
    assert!(
        matches!(&got_server[0], ServerEvent::Interleaved(f) if f.channel == 1 && f.payload == "rtcp")
    );

    // Keep-alive after half the timeout keeps the server session alive past its timeout.
    let due = c.poll_timeout().unwrap();
    assert_eq!(due, t0 + Duration::from_secs(30));
    for k in 1..=3 {
        let now = t0 + Duration::from_secs(30 * k);
        c.handle_timeout(now);
        let ev = pump(&mut c, &mut s, now, &mut app);
        assert!(ev.is_empty(), "keep-alive answers are swallowed: {ev:?}");
        s.handle_timeout(now + Duration::from_secs(1));
        assert_eq!(s.state(), SessionState::Playing);
    }

    c.teardown(t0 + Duration::from_secs(95)).unwrap();
    let ev = pump(&mut c, &mut s, t0 + Duration::from_secs(95), &mut app);
    assert!(matches!(ev[0], ClientEvent::TornDown));
    assert_eq!(s.state(), SessionState::Init);
    assert!(c.poll_timeout().is_none());
}

#[test]
fn wrong_password_fails_after_one_retry() {
    let t0 = Instant::now();
    let mut s = server(Some(AuthConfig::digest("weir", "user", "right")), t0);
    let mut c =
        ClientSession::new(ClientConfig::new("rtsp://user:wrong@h/live/a"), rng(3), t0).unwrap();
    c.describe(t0).unwrap();
    let ev = pump(&mut c, &mut s, t0, &mut app);
    assert!(
        matches!(&ev[0], ClientEvent::Failed { status: 401, .. }),
        "{ev:?}"
    );
}

#[test]
fn sha256_only_server_and_nonce_expiry() {
    let t0 = Instant::now();
    let mut cfg = AuthConfig::digest("weir", "u", "p");
    cfg.digest = vec![DigestAlgorithm::Sha256];
    cfg.nonce_lifetime = Duration::from_secs(10);
    let mut s = server(Some(cfg), t0);
    let mut c = ClientSession::new(ClientConfig::new("rtsp://u:p@h/live/a"), rng(4), t0).unwrap();
    c.describe(t0).unwrap();
    let ev = pump(&mut c, &mut s, t0, &mut app);
    assert!(matches!(&ev[0], ClientEvent::Described { .. }), "{ev:?}");
    // 20 s later the nonce is stale; the client re-authenticates transparently.
    let later = t0 + Duration::from_secs(20);
    c.describe(later).unwrap();
    let ev = pump(&mut c, &mut s, later, &mut app);
    assert!(matches!(&ev[0], ClientEvent::Described { .. }), "{ev:?}");
}

#[test]
fn server_state_errors() {
    let t0 = Instant::now();
    let mut s = server(None, t0);
    let send = |s: &mut ServerSession, text: &str| -> String {
        let mut b = BytesMut::from(text.as_bytes());
        s.handle_input(&mut b, t0).unwrap();
        while let Some(ev) = s.poll_event() {
            app(s, ev);
        }
        let mut out = Vec::new();
        while let Some(t) = s.poll_transmit() {
            out.extend_from_slice(&t);
        }
        String::from_utf8(out).unwrap()
    };
    // PLAY before SETUP: 455.
    assert!(
        send(&mut s, "PLAY rtsp://h/live/a RTSP/1.0\r\nCSeq: 1\r\n\r\n")
            .starts_with("RTSP/1.0 455 ")
    );
    // Unknown session: 454.
    assert!(send(
        &mut s,
        "PLAY rtsp://h/live/a RTSP/1.0\r\nCSeq: 2\r\nSession: nope\r\n\r\n"
    )
    .starts_with("RTSP/1.0 454 "));
    // Unsupported transports: 461 (multicast disabled; UDP without client_port; unknown profile).
    assert!(send(&mut s, "SETUP rtsp://h/live/a/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;multicast,RTP/SAVP;unicast;client_port=1-2,RTP/AVP;unicast\r\n\r\n")
        .starts_with("RTSP/1.0 461 "));
    assert!(send(
        &mut s,
        "SETUP rtsp://h/live/a/trackID=0 RTSP/1.0\r\nCSeq: 4\r\nTransport: garbage/\r\n\r\n"
    )
    .starts_with("RTSP/1.0 461 "));
    // Missing CSeq: 400; RTSP/2.0: 505; Require: 551.
    assert!(send(&mut s, "OPTIONS * RTSP/1.0\r\n\r\n").starts_with("RTSP/1.0 400 "));
    assert!(send(&mut s, "OPTIONS * RTSP/2.0\r\nCSeq: 5\r\n\r\n").starts_with("RTSP/1.0 505 "));
    let r = send(
        &mut s,
        "OPTIONS * RTSP/1.0\r\nCSeq: 6\r\nRequire: funky-feature\r\n\r\n",
    );
    assert!(
        r.starts_with("RTSP/1.0 551 ") && r.contains("Unsupported: funky-feature\r\n"),
        "{r}"
    );
    // Good UDP SETUP, second transport chosen from a multi-transport header.
    let r = send(&mut s, "SETUP rtsp://h/live/a/trackID=0 RTSP/1.0\r\nCSeq: 7\r\nTransport: RTP/AVP;multicast,RTP/AVP;unicast;client_port=5000-5001\r\n\r\n");
    assert!(
        r.starts_with("RTSP/1.0 200 ") && r.contains("client_port=5000-5001;server_port=6000-6001"),
        "{r}"
    );
    let sid = s.session_id().unwrap().to_string();
    // PLAY without the Session header once a session exists: 454.
    assert!(
        send(&mut s, "PLAY rtsp://h/live/a RTSP/1.0\r\nCSeq: 8\r\n\r\n")
            .starts_with("RTSP/1.0 454 ")
    );
    // PAUSE in Ready: harmless 200; RECORD then PLAY: 455.
    assert!(send(
        &mut s,
        &format!("PAUSE rtsp://h/live/a RTSP/1.0\r\nCSeq: 9\r\nSession: {sid}\r\n\r\n")
    )
    .starts_with("RTSP/1.0 200 "));
    assert!(send(
        &mut s,
        &format!("RECORD rtsp://h/live/a RTSP/1.0\r\nCSeq: 10\r\nSession: {sid}\r\n\r\n")
    )
    .starts_with("RTSP/1.0 200 "));
    assert_eq!(s.state(), SessionState::Recording);
    assert!(send(
        &mut s,
        &format!("PLAY rtsp://h/live/a RTSP/1.0\r\nCSeq: 11\r\nSession: {sid}\r\n\r\n")
    )
    .starts_with("RTSP/1.0 455 "));
    // SETUP while recording: 455.
    assert!(send(&mut s, &format!("SETUP rtsp://h/live/a/x RTSP/1.0\r\nCSeq: 12\r\nSession: {sid}\r\nTransport: RTP/AVP/TCP;interleaved=2-3\r\n\r\n"))
        .starts_with("RTSP/1.0 455 "));
    // Unknown method: 501.
    assert!(send(&mut s, "FROB * RTSP/1.0\r\nCSeq: 13\r\n\r\n").starts_with("RTSP/1.0 501 "));
    // Session timeout.
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    s.handle_timeout(t0 + Duration::from_secs(59));
    assert!(s.poll_event().is_none());
    s.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::SessionTimedOut {
            session_id: sid.clone()
        })
    );
    assert_eq!(s.state(), SessionState::Init);
    assert!(send(
        &mut s,
        &format!("TEARDOWN rtsp://h/live/a RTSP/1.0\r\nCSeq: 14\r\nSession: {sid}\r\n\r\n")
    )
    .starts_with("RTSP/1.0 454 "));
    // Malformed input: 400 and closed.
    let mut b = BytesMut::from(&b"\x01\x02garbage"[..]);
    assert!(s.handle_input(&mut b, t0).is_err());
    assert!(s.is_closed());
    assert!(s.poll_transmit().unwrap().starts_with(b"RTSP/1.0 400 "));
}

#[test]
fn pipelined_requests_answered_in_order() {
    let t0 = Instant::now();
    let mut s = server(None, t0);
    let mut b = BytesMut::from(
        &b"DESCRIBE rtsp://h/live/a RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\nGET_PARAMETER rtsp://h/live/a RTSP/1.0\r\nCSeq: 3\r\n\r\n"[..],
    );
    s.handle_input(&mut b, t0).unwrap();
    // Nothing is answered until the application answers DESCRIBE.
    assert!(s.poll_transmit().is_none());
    let Some(ServerEvent::Describe { id, .. }) = s.poll_event() else {
        panic!()
    };
    s.respond_describe(id, sdp(), None).unwrap();
    let all: Vec<String> = std::iter::from_fn(|| s.poll_transmit())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    assert_eq!(all.len(), 3);
    for (n, r) in all.iter().enumerate() {
        assert!(r.contains(&format!("CSeq: {}\r\n", n + 1)), "{r}");
    }
    // Answering twice is an API error, not a panic.
    assert!(s.respond_describe(id, sdp(), None).is_err());
}

#[test]
fn client_redirects() {
    let t0 = Instant::now();
    let mut c = ClientSession::new(ClientConfig::new("rtsp://h:554/old"), rng(5), t0).unwrap();
    c.describe(t0).unwrap();
    let _ = c.poll_transmit().unwrap();
    // Same server: followed on this connection.
    let mut b = BytesMut::from(
        &b"RTSP/1.0 302 Moved Temporarily\r\nCSeq: 1\r\nLocation: rtsp://h/new\r\n\r\n"[..],
    );
    c.handle_input(&mut b, t0).unwrap();
    let again = c.poll_transmit().unwrap();
    assert!(
        again.starts_with(b"DESCRIBE rtsp://h/new RTSP/1.0\r\nCSeq: 2\r\n"),
        "{again:?}"
    );
    assert_eq!(c.url(), "rtsp://h/new");
    // Other server: reported.
    let mut b = BytesMut::from(
        &b"RTSP/1.0 301 Moved Permanently\r\nCSeq: 2\r\nLocation: rtsp://other:8554/x\r\n\r\n"[..],
    );
    c.handle_input(&mut b, t0).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Redirect {
            url: "rtsp://other:8554/x".into()
        })
    );
    // Server-initiated requests are answered.
    let mut b = BytesMut::from(&b"GET_PARAMETER rtsp://h/new RTSP/1.0\r\nCSeq: 9\r\n\r\n"[..]);
    c.handle_input(&mut b, t0).unwrap();
    assert!(c
        .poll_transmit()
        .unwrap()
        .starts_with(b"RTSP/1.0 200 OK\r\nCSeq: 9\r\n"));
}

#[test]
fn record_flow() {
    let t0 = Instant::now();
    let mut s = server(None, t0);
    let mut c =
        ClientSession::new(ClientConfig::new("rtsp://127.0.0.1/live/pub"), rng(6), t0).unwrap();
    c.announce(sdp(), t0).unwrap();
    let mut announced = None;
    let ev = pump(&mut c, &mut s, t0, &mut |s, ev| {
        if let ServerEvent::Announce { request, .. } = &ev {
            announced = Some(request.body.clone());
        }
        app(s, ev)
    });
    assert_eq!(ev, vec![ClientEvent::Announced]);
    assert_eq!(announced.unwrap(), sdp());
    let mut t = TransportSpec::tcp_interleaved(0, 1);
    t.mode = vec![headers::TransportMode::Record];
    c.setup("rtsp://127.0.0.1/live/pub/trackID=0", &t, t0)
        .unwrap();
    let ev = pump(&mut c, &mut s, t0, &mut app);
    assert!(matches!(ev[0], ClientEvent::SetupDone { .. }));
    c.record(None, t0).unwrap();
    let ev = pump(&mut c, &mut s, t0, &mut app);
    assert_eq!(ev[0], ClientEvent::Recording);
    assert_eq!(s.state(), SessionState::Recording);
}

#[test]
fn aggregate_checks_459_and_460() {
    let t0 = Instant::now();
    let mut s = server(None, t0);
    let mut two = SessionDescription::rtsp_presentation("two", "127.0.0.1");
    two.media
        .push(MediaDescription::pcmu(8000, 1, 97).with_control("trackID=0"));
    two.media
        .push(MediaDescription::jpeg(Some(25.0)).with_control("trackID=1"));
    let two = two.to_bytes();
    let send = |s: &mut ServerSession, text: String| -> String {
        let mut b = BytesMut::from(text.as_bytes());
        s.handle_input(&mut b, t0).unwrap();
        while let Some(ev) = s.poll_event() {
            match ev {
                ServerEvent::Describe { id, .. } => {
                    s.respond_describe(id, two.clone(), None).unwrap()
                }
                other => app(s, other),
            }
        }
        let mut out = Vec::new();
        while let Some(t) = s.poll_transmit() {
            out.extend_from_slice(&t);
        }
        String::from_utf8(out).unwrap()
    };
    assert!(send(
        &mut s,
        "DESCRIBE rtsp://h/live/b RTSP/1.0\r\nCSeq: 1\r\n\r\n".into()
    )
    .starts_with("RTSP/1.0 200 "));
    // SETUP of the aggregate URL of a two-stream presentation: 459.
    let r = send(&mut s, "SETUP rtsp://h/live/b/ RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n".into());
    assert!(r.starts_with("RTSP/1.0 459 "), "{r}");
    assert!(send(&mut s, "SETUP rtsp://h/live/b/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n".into())
        .starts_with("RTSP/1.0 200 "));
    let sid = s.session_id().unwrap().to_string();
    assert!(send(&mut s, format!("SETUP rtsp://h/live/b/trackID=1 RTSP/1.0\r\nCSeq: 4\r\nSession: {sid}\r\nTransport: RTP/AVP/TCP;interleaved=2-3\r\n\r\n"))
        .starts_with("RTSP/1.0 200 "));
    // PLAY of one stream of the two: 460; PLAY of the aggregate: 200.
    let r = send(
        &mut s,
        format!("PLAY rtsp://h/live/b/trackID=1 RTSP/1.0\r\nCSeq: 5\r\nSession: {sid}\r\n\r\n"),
    );
    assert!(r.starts_with("RTSP/1.0 460 "), "{r}");
    assert!(send(
        &mut s,
        format!("PLAY rtsp://h/live/b/ RTSP/1.0\r\nCSeq: 6\r\nSession: {sid}\r\n\r\n")
    )
    .starts_with("RTSP/1.0 200 "));
}

#[test]
fn client_tolerates_odd_answers() {
    let t0 = Instant::now();
    let mut c = ClientSession::new(ClientConfig::new("rtsp://cam/s"), rng(8), t0).unwrap();
    let t = TransportSpec::tcp_interleaved(4, 5);
    c.setup("rtsp://cam/s/track1", &t, t0).unwrap();
    // Quirk: a camera answering SETUP without a Transport header; the requested one applies.
    let mut b =
        BytesMut::from(&b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: 12345678; timeout=20\r\n\r\n"[..]);
    c.handle_input(&mut b, t0).unwrap();
    let Some(ClientEvent::SetupDone {
        transport, session, ..
    }) = c.poll_event()
    else {
        panic!()
    };
    assert_eq!(transport, t);
    assert_eq!(session.timeout, Some(20));
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    // A DESCRIBE answer whose body is not SDP: reported, connection still usable.
    c.describe(t0).unwrap();
    let mut b =
        BytesMut::from(&b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 3\r\n\r\n\xff\xfe\xfd"[..]);
    c.handle_input(&mut b, t0).unwrap();
    assert!(matches!(
        c.poll_event(),
        Some(ClientEvent::InvalidResponse {
            method: Method::Describe,
            ..
        })
    ));
    // Keep-alive falls back to OPTIONS when GET_PARAMETER is refused.
    let later = t0 + Duration::from_secs(10);
    while c.poll_transmit().is_some() {}
    c.handle_timeout(later);
    let ka = c.poll_transmit().unwrap();
    assert!(
        ka.starts_with(b"GET_PARAMETER rtsp://cam/s RTSP/1.0\r\nCSeq: 3\r\n"),
        "{ka:?}"
    );
    let mut b = BytesMut::from(&b"RTSP/1.0 501 Not Implemented\r\nCSeq: 3\r\n\r\n"[..]);
    c.handle_input(&mut b, later).unwrap();
    assert!(c.poll_event().is_none());
    c.handle_timeout(later + Duration::from_secs(10));
    let ka = c.poll_transmit().unwrap();
    assert!(
        ka.starts_with(b"OPTIONS rtsp://cam/s RTSP/1.0\r\nCSeq: 4\r\n"),
        "{ka:?}"
    );
    assert!(std::str::from_utf8(&ka)
        .unwrap()
        .contains("Session: 12345678\r\n"));
}

#[test]
fn client_request_timeout() {
    let t0 = Instant::now();
    let mut c = ClientSession::new(ClientConfig::new("rtsp://silent/s"), rng(9), t0).unwrap();
    let cseq = c.options(t0).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(20)));
    c.handle_timeout(t0 + Duration::from_secs(19));
    assert!(c.poll_event().is_none());
    c.handle_timeout(t0 + Duration::from_secs(20));
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::TimedOut {
            method: Method::Options,
            cseq
        })
    );
    assert_eq!(c.pending_requests(), 0);
    assert_eq!(c.poll_timeout(), None);
    // A late answer is ignored.
    let mut b = BytesMut::from(format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n").as_bytes());
    c.handle_input(&mut b, t0 + Duration::from_secs(21))
        .unwrap();
    assert!(c.poll_event().is_none());
}

#[test]
fn server_assigns_interleaved_channels_when_client_omits_them() {
    let t0 = Instant::now();
    let mut s = server(None, t0);
    let mut b = BytesMut::from(&b"SETUP rtsp://h/live/a/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast\r\n\r\n"[..]);
    s.handle_input(&mut b, t0).unwrap();
    let Some(ServerEvent::Setup { id, transports, .. }) = s.poll_event() else {
        panic!()
    };
    assert_eq!(transports[0].interleaved, Some(Pair::new(0, 1)));
    s.accept_setup(id, &transports[0]).unwrap();
    let sid = s.session_id().unwrap().to_string();
    let mut b = BytesMut::from(
        format!("SETUP rtsp://h/live/a/trackID=1 RTSP/1.0\r\nCSeq: 2\r\nSession: {sid}\r\nTransport: RTP/AVP/TCP;unicast\r\n\r\n").as_bytes(),
    );
    s.handle_input(&mut b, t0).unwrap();
    let Some(ServerEvent::Setup { transports, .. }) = s.poll_event() else {
        panic!()
    };
    assert_eq!(transports[0].interleaved, Some(Pair::new(2, 3)));
}
