#![no_main]
//! ServerSession fed arbitrary bytes in arbitrary chunks, with an application that answers
//! every event (alternating accept/reject) and time that moves forward.
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_rtsp_proto::auth::AuthConfig;
use weir_rtsp_proto::{Response, ServerConfig, ServerEvent, ServerSession};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let t0 = Instant::now();
    let mut n = 0u64;
    let auth = if ctl & 1 == 1 { Some(AuthConfig::digest("r", "u", "p")) } else { None };
    let cfg = ServerConfig { auth, max_queued_requests: 4, session_timeout: Duration::from_secs(5), ..ServerConfig::default() };
    let mut s = ServerSession::new(cfg, Box::new(move || { n += 1; n }), t0);
    let mut buf = BytesMut::new();
    let step = usize::from(ctl >> 1).max(1);
    let mut k = 0u64;
    for chunk in rest.chunks(step) {
        k += 1;
        let now = t0 + Duration::from_millis(k * 700);
        buf.extend_from_slice(chunk);
        if s.handle_input(&mut buf, now).is_err() {
            break;
        }
        s.handle_timeout(now);
        let _ = s.poll_timeout();
        while let Some(ev) = s.poll_event() {
            let accept = k % 2 == 0;
            let _ = match ev {
                ServerEvent::Describe { id, .. } if accept => s.respond_describe(id, Bytes::from_static(b"v=0\r\n"), None),
                ServerEvent::Announce { id, .. } if accept => s.accept_announce(id),
                ServerEvent::Setup { id, transports, .. } if accept => s.accept_setup(id, &transports[0]),
                ServerEvent::Play { id, .. } if accept => s.accept_play(id, None, &[]),
                ServerEvent::Pause { id, .. } if accept => s.accept_pause(id),
                ServerEvent::Record { id, .. } if accept => s.accept_record(id),
                ServerEvent::Parameter { id, .. } => s.respond(id, Response::new(200)),
                ServerEvent::Describe { id, .. }
                | ServerEvent::Announce { id, .. }
                | ServerEvent::Setup { id, .. }
                | ServerEvent::Play { id, .. }
                | ServerEvent::Pause { id, .. }
                | ServerEvent::Record { id, .. } => s.reject(id, 404),
                ServerEvent::Interleaved(f) => s.send_interleaved(f.channel, f.payload),
                _ => Ok(()),
            };
        }
        while s.poll_transmit().is_some() {}
    }
});
