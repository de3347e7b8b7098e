#![no_main]
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use weir_rtmp_chunk::handshake::{ClientHandshake, HandshakeConfig, ServerHandshake};

fuzz_target!(|data: &[u8]| {
    let mut s = ServerHandshake::new(HandshakeConfig::default());
    let mut out = BytesMut::new();
    let mut input = BytesMut::from(data);
    let _ = s.handle_input(&mut input, &mut out);

    let mut c = ClientHandshake::new(HandshakeConfig::default());
    c.start(&mut out);
    let mut input = BytesMut::from(data);
    let _ = c.handle_input(&mut input, &mut out);
});
