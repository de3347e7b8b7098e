//! Interop with real ffmpeg in all four directions, bytes verified with framemd5.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpListener};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::*;
use weir_rtmp_chunk::handshake::HandshakeKind;
use weir_rtmp_chunk::{
    ClientConfig, ClientEvent, ClientSession, ServerEvent, ServerSession, SessionConfig,
};

/// Bound on each step; only a failing test gets near it (every wait is on a condition).
const T: Duration = Duration::from_secs(60);

struct Published {
    tags: Vec<Tag>,
    hs: Option<HandshakeKind>,
    app: Option<String>,
    name: Option<String>,
    query: Option<String>,
}

/// Runs `ffmpeg [pre_input] -i src -c copy -f flv rtmp://.../live/test?token=abc` against a
/// ServerSession and collects the received tags.
fn publish_from_ffmpeg(src: &std::path::Path, pre_input: &[&str]) -> Published {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("rtmp://127.0.0.1:{port}/live/test?token=abc");
    let mut args: Vec<&str> = pre_input.to_vec();
    args.extend(["-i", src.to_str().unwrap(), "-c", "copy", "-f", "flv", &url]);
    let mut child = Child::spawn(&args);
    let mut sock = accept_from(&listener, &mut child, T);
    let mut server = ServerSession::new(SessionConfig::default());
    let mut buf = BytesMut::new();
    let mut p = Published {
        tags: Vec::new(),
        hs: None,
        app: None,
        name: None,
        query: None,
    };
    let deadline = Instant::now() + T;
    'outer: while Instant::now() < deadline {
        let eof = read_some(&mut sock, &mut buf).is_none();
        server.handle_input(&mut buf).unwrap();
        if eof {
            server.handle_eof();
        }
        while let Some(ev) = server.poll_event() {
            match ev {
                ServerEvent::HandshakeDone(k) => p.hs = Some(k),
                ServerEvent::ConnectRequest { request, app, .. } => {
                    p.app = Some(app);
                    server.accept_connect(request).unwrap();
                }
                ServerEvent::PublishRequest {
                    request,
                    name,
                    query,
                    publish_type,
                    ..
                } => {
                    assert_eq!(publish_type, "live");
                    p.name = Some(name);
                    p.query = query;
                    server.accept_publish(request).unwrap();
                }
                ServerEvent::Metadata { metadata, .. } => p.tags.push(metadata_tag(&metadata)),
                ServerEvent::Audio {
                    timestamp, data, ..
                } => p.tags.push(Tag {
                    kind: 8,
                    timestamp,
                    body: data,
                }),
                ServerEvent::Video {
                    timestamp, data, ..
                } => p.tags.push(Tag {
                    kind: 9,
                    timestamp,
                    body: data,
                }),
                ServerEvent::Unpublished { .. } | ServerEvent::Closed => break 'outer,
                _ => {}
            }
        }
        write_all(&mut sock, || server.poll_transmit());
    }
    let (ok, err) = child.wait(T);
    assert!(ok, "ffmpeg failed: {err}");
    p
}

/// (a) ffmpeg publishes to our ServerSession; the tags we receive, written to FLV,
/// match the source packet for packet.
#[test]
fn ffmpeg_publishes_to_server_session() {
    weir_testutil::interop_or_skip!();
    let dir = weir_testutil::TempDir::new("rtmp-a");
    let src = make_source(dir.path());
    let p = publish_from_ffmpeg(&src, &["-re"]);
    // ffmpeg sends the digest ("complex") handshake.
    assert!(matches!(p.hs, Some(HandshakeKind::Digest(_))), "{:?}", p.hs);
    assert_eq!(p.app.as_deref(), Some("live"));
    assert_eq!(p.name.as_deref(), Some("test"));
    assert_eq!(p.query.as_deref(), Some("token=abc"));
    let out = dir.join("received.flv");
    write_flv(&out, &p.tags);
    assert_same_packets(&src, &out);
}

/// A source whose timestamps start at 16800 s (beyond 0xFFFFFF ms), so every chunk
/// header uses the extended timestamp, including ffmpeg's type-3 continuation chunks.
fn make_offset_source(dir: &std::path::Path) -> std::path::PathBuf {
    let src = make_source(dir);
    let off = dir.join("src_offset.flv");
    weir_testutil::ffmpeg([
        "-copyts",
        "-i",
        src.to_str().unwrap(),
        "-c",
        "copy",
        "-output_ts_offset",
        "16800",
        "-f",
        "flv",
        off.to_str().unwrap(),
    ]);
    off
}

/// ffmpeg publishing with extended timestamps (> 0xFFFFFF ms).
#[test]
fn ffmpeg_publishes_extended_timestamps() {
    weir_testutil::interop_or_skip!();
    let dir = weir_testutil::TempDir::new("rtmp-ext-pub");
    let src = make_offset_source(dir.path());
    let p = publish_from_ffmpeg(&src, &["-copyts"]);
    // Sequence headers go out at 0; every coded frame carries an extended timestamp.
    let frames = p
        .tags
        .iter()
        .filter(|t| t.kind == 9 && t.body.get(1) == Some(&1));
    assert!(frames.clone().count() >= 50);
    assert!(frames.clone().all(|t| t.timestamp >= 16_800_000));
    assert!(
        p.tags.iter().any(|t| t.kind == 9 && t.body.len() > 4096),
        "needs multi-chunk messages"
    );
    let out = dir.join("received.flv");
    write_flv(&out, &p.tags);
    assert_same_packets(&src, &out);
}

/// Runs a ClientSession over `sock` until `done` says stop or the peer closes.
fn pump_client(
    sock: &mut std::net::TcpStream,
    client: &mut ClientSession,
    mut on_event: impl FnMut(&mut ClientSession, ClientEvent) -> bool,
) {
    let mut buf = BytesMut::new();
    let deadline = Instant::now() + T;
    while Instant::now() < deadline {
        write_all(sock, || client.poll_transmit());
        let eof = read_some(sock, &mut buf).is_none();
        client.handle_input(&mut buf).unwrap();
        while let Some(ev) = client.poll_event() {
            if !on_event(client, ev) {
                write_all(sock, || client.poll_transmit());
                return;
            }
        }
        if eof {
            return;
        }
    }
    panic!("client pump timed out");
}

/// (b) Our ClientSession publishes to `ffmpeg -listen 1` which records to FLV.
#[test]
fn client_session_publishes_to_ffmpeg() {
    weir_testutil::interop_or_skip!();
    let dir = weir_testutil::TempDir::new("rtmp-b");
    let src = make_source(dir.path());
    let tags = read_flv(&src);
    let out = dir.join("out.flv");
    let (child, port, mut sock) = spawn_ffmpeg_listener(T, |port| {
        let url = format!("rtmp://127.0.0.1:{port}/live/x");
        let out = out.display().to_string();
        ["-listen", "1", "-f", "flv", "-i", &url, "-c", "copy", &out]
            .map(String::from)
            .to_vec()
    });
    sock.set_nodelay(true).unwrap();
    let mut client = ClientSession::new(ClientConfig::new(
        "live",
        format!("rtmp://127.0.0.1:{port}/live"),
    ));
    client.publish("x", "live").unwrap();
    let mut connected = false;
    pump_client(&mut sock, &mut client, |c, ev| {
        match ev {
            ClientEvent::Connected { .. } => connected = true,
            ClientEvent::PublishStarted { .. } => {
                for t in &tags {
                    match t.kind {
                        18 => c.send_metadata(&metadata_of_tag(t)).unwrap(),
                        8 => c.send_audio(t.timestamp, t.body.clone()).unwrap(),
                        9 => c.send_video(t.timestamp, t.body.clone()).unwrap(),
                        _ => {}
                    }
                }
                c.close_stream().unwrap();
                return false;
            }
            ClientEvent::Rejected {
                code, description, ..
            } => panic!("rejected: {code} {description}"),
            _ => {}
        }
        true
    });
    assert!(connected);
    sock.flush().unwrap();
    let _ = sock.shutdown(Shutdown::Write);
    let (ok, err) = child.wait(T);
    drop(sock);
    assert!(ok, "ffmpeg failed: {err}");
    assert_same_packets(&src, &out);
}

/// (c) Our ClientSession plays from `ffmpeg -listen 1` serving a file.
#[test]
fn client_session_plays_from_ffmpeg() {
    weir_testutil::interop_or_skip!();
    let dir = weir_testutil::TempDir::new("rtmp-c");
    let src = make_source(dir.path());
    let (child, port, mut sock) = spawn_ffmpeg_listener(T, |port| {
        let url = format!("rtmp://127.0.0.1:{port}/live/x");
        let src = src.display().to_string();
        ["-i", &src, "-c", "copy", "-f", "flv", "-listen", "1", &url]
            .map(String::from)
            .to_vec()
    });
    let mut client = ClientSession::new(ClientConfig::new(
        "live",
        format!("rtmp://127.0.0.1:{port}/live"),
    ));
    client.play("x").unwrap();
    let mut tags = Vec::new();
    let mut started = false;
    pump_client(&mut sock, &mut client, |_, ev| {
        match ev {
            ClientEvent::PlayStarted { .. } => started = true,
            ClientEvent::Metadata { metadata, .. } => tags.push(metadata_tag(&metadata)),
            ClientEvent::Audio { timestamp, data } => tags.push(Tag {
                kind: 8,
                timestamp,
                body: data,
            }),
            ClientEvent::Video { timestamp, data } => tags.push(Tag {
                kind: 9,
                timestamp,
                body: data,
            }),
            ClientEvent::Rejected {
                code, description, ..
            } => panic!("rejected: {code} {description}"),
            _ => {}
        }
        true
    });
    let (ok, err) = child.wait(T);
    assert!(ok, "ffmpeg failed: {err}");
    assert!(started);
    let out = dir.join("played.flv");
    write_flv(&out, &tags);
    assert_same_packets(&src, &out);
}

/// Serves `tags` to an ffmpeg player connecting to a ServerSession; returns the FLV
/// ffmpeg recorded, the handshake kind and the play query.
fn serve_ffmpeg_player(
    dir: &weir_testutil::TempDir,
    tags: &[Tag],
    shared: bool,
    cfg: SessionConfig,
) -> (std::path::PathBuf, Option<HandshakeKind>, Option<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = dir.join("out.flv");
    let url = format!("rtmp://127.0.0.1:{port}/live/x?token=t");
    let mut child = Child::spawn(&[
        "-copyts",
        "-i",
        &url,
        "-c",
        "copy",
        "-f",
        "flv",
        out.to_str().unwrap(),
    ]);
    let mut sock = accept_from(&listener, &mut child, T);
    sock.set_nodelay(true).unwrap();
    let mut server = ServerSession::new(cfg);
    let mut buf = BytesMut::new();
    let mut hs = None;
    let mut play_query = None;
    let deadline = Instant::now() + T;
    let mut sent = false;
    while Instant::now() < deadline && !sent {
        let eof = read_some(&mut sock, &mut buf).is_none();
        assert!(!eof, "ffmpeg closed early");
        server.handle_input(&mut buf).unwrap();
        while let Some(ev) = server.poll_event() {
            match ev {
                ServerEvent::HandshakeDone(k) => hs = Some(k),
                ServerEvent::ConnectRequest { request, .. } => {
                    server.accept_connect(request).unwrap()
                }
                ServerEvent::PlayRequest {
                    request,
                    stream_id,
                    name,
                    query,
                    ..
                } => {
                    assert_eq!(name, "x");
                    play_query = query;
                    server.accept_play(request).unwrap();
                    for t in tags {
                        match (t.kind, shared) {
                            (18, _) => server
                                .send_metadata(stream_id, &metadata_of_tag(t))
                                .unwrap(),
                            // The shared-chunk (fan-out) path.
                            (8 | 9, true) => {
                                let p = server.prepare(t.kind, t.timestamp, &t.body).unwrap();
                                server.send_prepared(stream_id, t.timestamp, &p).unwrap();
                            }
                            (8, false) => {
                                server.send_audio(stream_id, t.timestamp, &t.body).unwrap()
                            }
                            (9, false) => {
                                server.send_video(stream_id, t.timestamp, &t.body).unwrap()
                            }
                            _ => {}
                        }
                    }
                    server.send_stream_eof(stream_id).unwrap();
                    sent = true;
                }
                _ => {}
            }
        }
        write_all(&mut sock, || server.poll_transmit());
    }
    assert!(sent, "no play request");
    sock.flush().unwrap();
    let _ = sock.shutdown(Shutdown::Write);
    let drain_deadline = Instant::now() + T;
    while Instant::now() < drain_deadline {
        if read_some(&mut sock, &mut buf).is_none() {
            break;
        }
    }
    drop(sock);
    let (ok, err) = child.wait(T);
    assert!(ok, "ffmpeg failed: {err}");
    (out, hs, play_query)
}

/// (d) ffmpeg plays from our ServerSession, which serves tags read from an FLV file
/// through the shared-chunk path. ffmpeg validates our digest S1/S2 when playing (server
/// version byte >= 3).
#[test]
fn ffmpeg_plays_from_server_session() {
    weir_testutil::interop_or_skip!();
    let dir = weir_testutil::TempDir::new("rtmp-d");
    let src = make_source(dir.path());
    let (out, hs, query) =
        serve_ffmpeg_player(&dir, &read_flv(&src), true, SessionConfig::default());
    assert!(matches!(hs, Some(HandshakeKind::Digest(_))), "{hs:?}");
    assert_eq!(query.as_deref(), Some("token=t"));
    assert_same_packets(&src, &out);
}

/// ffmpeg plays extended timestamps from our server (type-3 chunks repeat the field, as
/// ffmpeg expects), through the per-connection copying/vectored path.
#[test]
fn ffmpeg_plays_extended_timestamps() {
    weir_testutil::interop_or_skip!();
    let dir = weir_testutil::TempDir::new("rtmp-ext-play");
    let src = make_offset_source(dir.path());
    let (out, _, _) = serve_ffmpeg_player(&dir, &read_flv(&src), false, SessionConfig::default());
    assert_same_packets(&src, &out);
}

/// A server configured for the simple handshake only: ffmpeg's digest C1 gets the plain
/// echo, and ffmpeg (which validates only when S1 carries a server version) plays fine.
#[test]
fn ffmpeg_plays_with_simple_handshake_fallback() {
    weir_testutil::interop_or_skip!();
    let dir = weir_testutil::TempDir::new("rtmp-simple");
    let src = make_source(dir.path());
    let mut cfg = SessionConfig::default();
    cfg.handshake.digest = false;
    let (out, hs, _) = serve_ffmpeg_player(&dir, &read_flv(&src), true, cfg);
    assert_eq!(hs, Some(HandshakeKind::Simple));
    assert_same_packets(&src, &out);
}
