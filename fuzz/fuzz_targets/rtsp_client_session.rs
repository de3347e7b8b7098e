#![no_main]
//! ClientSession: issue a request sequence, then feed arbitrary server bytes in chunks.
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_rtsp_proto::headers::TransportSpec;
use weir_rtsp_proto::{ClientConfig, ClientEvent, ClientSession};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let t0 = Instant::now();
    let mut n = 0u64;
    let Ok(mut c) = ClientSession::new(ClientConfig::new("rtsp://u:p@127.0.0.1:554/live/a"), Box::new(move || { n += 1; n }), t0) else { return };
    let _ = c.options(t0);
    let _ = c.describe(t0);
    let _ = c.setup("rtsp://127.0.0.1:554/live/a/trackID=0", &TransportSpec::tcp_interleaved(0, 1), t0);
    let _ = c.play(None, t0);
    let _ = c.announce(Bytes::from_static(b"v=0\r\n"), t0);
    let mut buf = BytesMut::new();
    let step = usize::from(ctl).max(1);
    let mut k = 0u64;
    for chunk in rest.chunks(step) {
        k += 1;
        let now = t0 + Duration::from_secs(k * 7);
        buf.extend_from_slice(chunk);
        if c.handle_input(&mut buf, now).is_err() {
            break;
        }
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
