#![no_main]
//! Arbitrary bytes after a valid S0/S1/S2 (mode byte even) or instead of one (odd).
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_rtmp_chunk::handshake::{HandshakeConfig, ServerHandshake};
use weir_rtmp_chunk::{ClientConfig, ClientEvent, ClientSession};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let mut client = ClientSession::new(ClientConfig::new("live", "rtmp://127.0.0.1/live"));
    let _ = if mode & 2 == 0 { client.publish("s", "live") } else { client.play("s") };
    let mut input = BytesMut::new();
    if mode & 1 == 0 {
        let mut s = ServerHandshake::new(HandshakeConfig::default());
        let mut c0c1 = BytesMut::new();
        while let Some(b) = client.poll_transmit() {
            c0c1.extend_from_slice(&b);
        }
        let _ = s.handle_input(&mut c0c1, &mut input);
    }
    input.extend_from_slice(data);
    let step = usize::from(mode >> 2).max(1) * 8;
    let mut buf = BytesMut::new();
    for piece in input.chunks(step) {
        buf.extend_from_slice(piece);
        if client.handle_input(&mut buf).is_err() {
            return;
        }
        while let Some(ev) = client.poll_event() {
            if let ClientEvent::PublishStarted { .. } = ev {
                let _ = client.send_video(0, Bytes::from_static(&[0x17, 0, 0, 0, 0]));
            }
        }
        while client.poll_transmit().is_some() {}
    }
});
