#![no_main]
//! ClientSession: issue a request sequence, then feed arbitrary server bytes in chunks (in
//! strict and in garbage-skipping mode).
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_rtsp_proto::headers::TransportSpec;
use weir_rtsp_proto::{ClientConfig, ClientEvent, ClientSession};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let t0 = Instant::now();
    let mut n = 0u64;
    let mut cfg = ClientConfig::new("rtsp://u:p@127.0.0.1:554/live/a");
    // Both decoder modes: strict, and skipping garbage between interleaved frames.
    cfg.skip_garbage = ctl & 0x80 != 0;
    let Ok(mut c) = ClientSession::new(cfg, Box::new(move || { n += 1; n }), t0) else { return };
    let _ = c.options(t0);
    let _ = c.describe(t0);
    let _ = c.setup("rtsp://127.0.0.1:554/live/a/trackID=0", &TransportSpec::tcp_interleaved(0, 1), t0);
    let _ = c.play(None, t0);
    let _ = c.announce(Bytes::from_static(b"v=0\r\n"), t0);
    let mut buf = BytesMut::new();
    let step = usize::from(ctl & 0x7f).max(1);
    let mut k = 0u64;
    for chunk in rest.chunks(step) {
        k += 1;
        let now = t0 + Duration::from_secs(k * 7);
        buf.extend_from_slice(chunk);
        if let Err(e) = c.handle_input(&mut buf, now) {
            // Errors say where: the failing message starts within what was consumed.
            if let weir_rtsp_proto::Error::Input { stream_offset, .. } = e {
                assert!(stream_offset <= c.input_position());
            }
            assert!(c.is_closed());
            break;
        }
        let _ = c.keepalive_method();
        let _ = c.skipped_bytes();
        c.handle_timeout(now);
        while let Some(ev) = c.poll_event() {
            if let ClientEvent::Interleaved(f) = ev {
                let _ = c.send_interleaved(f.channel, f.payload);
            }
        }
        while c.poll_transmit().is_some() {}
        if c.pending_requests() == 0 {
            let _ = c.teardown(now);
        }
    }
});
