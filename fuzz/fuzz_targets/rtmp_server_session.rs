#![no_main]
//! Arbitrary bytes after a valid handshake (mode byte even) or instead of one (odd).
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use weir_rtmp_chunk::handshake::{ClientHandshake, HandshakeConfig};
use weir_rtmp_chunk::{ServerEvent, ServerSession, SessionConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let mut server = ServerSession::new(SessionConfig::default());
    let mut input = BytesMut::new();
    if mode & 1 == 0 {
        let mut c = ClientHandshake::new(HandshakeConfig::default());
        let mut c0c1 = BytesMut::new();
        c.start(&mut c0c1);
        input.extend_from_slice(&c0c1);
        input.extend_from_slice(&[0u8; 1536]);
    }
    input.extend_from_slice(data);
    let step = usize::from(mode >> 1).max(1) * 16;
    let mut buf = BytesMut::new();
    for piece in input.chunks(step) {
        buf.extend_from_slice(piece);
        if server.handle_input(&mut buf).is_err() {
            return;
        }
        while let Some(ev) = server.poll_event() {
            // Accept everything so the fuzzer reaches publish/play states.
            let _ = match ev {
                ServerEvent::ConnectRequest { request, .. } => server.accept_connect(request),
                ServerEvent::PublishRequest { request, .. } => server.accept_publish(request),
                ServerEvent::PlayRequest { request, stream_id, .. } => {
                    let r = server.accept_play(request);
                    let _ = server.send_video(stream_id, 0, &bytes::Bytes::from_static(&[0x17, 0, 0, 0, 0]));
                    r
                }
                _ => Ok(()),
            };
        }
        while server.poll_transmit().is_some() {}
    }
    server.handle_eof();
    while server.poll_event().is_some() {}
});
