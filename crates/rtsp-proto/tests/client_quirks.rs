//! `ClientSession` against answers real cameras give (from public descriptions of device
//! behaviour in retina's, go2rtc's and moonfire-nvr's issue trackers), without sockets:
//! requests go out as bytes, the camera's answers come in as bytes — whole, or one byte at
//! a time.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use weir_rtsp_proto::headers::TransportSpec;
use weir_rtsp_proto::{ClientConfig, ClientEvent, ClientSession, Error, Method};

fn client(url: &str) -> ClientSession {
    let mut n = 0u64;
    let rng = Box::new(move || {
        n += 1;
        n
    });
    ClientSession::new(ClientConfig::new(url), rng, Instant::now()).unwrap()
}

fn sent(c: &mut ClientSession) -> Vec<String> {
    std::iter::from_fn(|| c.poll_transmit())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

/// Feeds `input` in pieces of `step` bytes; returns the events.
fn feed(c: &mut ClientSession, input: &[u8], step: usize) -> Vec<ClientEvent> {
    let mut buf = BytesMut::new();
    let mut ev = Vec::new();
    for piece in input.chunks(step.max(1)) {
        buf.extend_from_slice(piece);
        c.handle_input(&mut buf, Instant::now()).unwrap();
        ev.extend(std::iter::from_fn(|| c.poll_event()));
    }
    assert!(buf.is_empty(), "everything consumed");
    ev
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n";

fn describe_answer(cseq: u32, extra: &str) -> String {
    format!(
        "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{extra}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
}

/// `Content-Base` as cameras send it: missing, schemeless (mobile camera apps, SV3C),
/// doubled scheme (no-name cameras), relative — each resolves to a base the SDP's controls
/// resolve against, and the answer split byte by byte gives the same result.
#[test]
fn quirk_content_base_variants() {
    let url = "rtsp://10.0.0.5:554/stream1";
    for (header, base) in [
        ("", "rtsp://10.0.0.5:554/stream1"),
        (
            "Content-Base: 10.0.0.5:554/stream1/\r\n",
            "rtsp://10.0.0.5:554/stream1/",
        ),
        (
            "Content-Base: rtsp://rtsp://10.0.0.5:554/stream1/\r\n",
            "rtsp://10.0.0.5:554/stream1/",
        ),
        (
            "Content-Base: /live/main/\r\n",
            "rtsp://10.0.0.5:554/live/main/",
        ),
        (
            "Content-Location: rtsp://10.0.0.5:554/loc/\r\n",
            "rtsp://10.0.0.5:554/loc/",
        ),
    ] {
        for step in [usize::MAX, 1] {
            let mut c = client(url);
            c.describe(Instant::now()).unwrap();
            let answer = describe_answer(1, header);
            let ev = feed(&mut c, answer.as_bytes(), step);
            let [ClientEvent::Described { sdp, base_url, .. }] = &ev[..] else {
                panic!("{ev:?}")
            };
            assert_eq!(base_url, base, "{header:?}");
            let track = sdp.media[0].control_url(sdp, base_url);
            assert_eq!(
                track,
                format!("{}/trackID=1", base.trim_end_matches('/')),
                "{header:?}"
            );
        }
    }
}

/// A redirect with a relative `Location` is followed on the same connection, to the
/// resolved URL, with the credentials kept.
#[test]
fn quirk_relative_location() {
    let mut c = client("rtsp://u:p@cam:554/live/old");
    c.describe(Instant::now()).unwrap();
    sent(&mut c);
    let r = "RTSP/1.0 302 Found\r\nCSeq: 1\r\nLocation: new?x=1\r\n\r\n";
    assert!(feed(&mut c, r.as_bytes(), usize::MAX).is_empty());
    let again = sent(&mut c);
    assert!(
        again[0].starts_with("DESCRIBE rtsp://cam:554/live/new?x=1 RTSP/1.0\r\n"),
        "{again:?}"
    );
    assert_eq!(c.url(), "rtsp://cam:554/live/new?x=1");
}

/// The client sends no `Require` header (servers answer 551 to options they do not know).
#[test]
fn quirk_require_less_requests() {
    let mut c = client("rtsp://cam/s");
    let now = Instant::now();
    c.options(now).unwrap();
    c.describe(now).unwrap();
    c.setup(
        "rtsp://cam/s/trackID=1",
        &TransportSpec::tcp_interleaved(0, 1),
        now,
    )
    .unwrap();
    for r in sent(&mut c) {
        assert!(!r.to_ascii_lowercase().contains("\r\nrequire:"), "{r}");
    }
}

/// Interleaved channels the server chose (not from 0), and garbage between interleaved
/// frames (live555 before 2017.06.04): the frames on the answered channels come through,
/// what lies between is skipped and counted, the next answer is still read.
#[test]
fn quirk_garbage_between_frames_on_server_chosen_channels() {
    for step in [usize::MAX, 1, 5] {
        let mut c = client("rtsp://cam/s");
        c.setup(
            "rtsp://cam/s/trackID=1",
            &TransportSpec::tcp_interleaved(0, 1),
            Instant::now(),
        )
        .unwrap();
        let mut input = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: 77;timeout=30\r\nTransport: RTP/AVP/TCP;unicast;interleaved=6-7\r\n\r\n".to_vec();
        let rtp = |seq: u8| {
            let mut f = vec![b'$', 6, 0, 12, 0x80, 96, 0, seq, 0, 0, 0, 0, 0, 0, 0, 9];
            f.truncate(16);
            f
        };
        input.extend(rtp(1));
        input.extend_from_slice(b"\x00\x01 garbage from a cut frame $\x01\x00\x08\x80\x60 more");
        input.extend(rtp(2));
        input.extend_from_slice(b"RTSP/1.0 200 OK\r\nCSeq: 9\r\n\r\n");
        input.extend(rtp(3));
        let ev = feed(&mut c, &input, step);
        let seqs: Vec<u8> = ev
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Interleaved(f) if f.channel == 6 => Some(f.payload[3]),
                _ => None,
            })
            .collect();
        assert_eq!(seqs, [1, 2, 3], "step {step}");
        let ClientEvent::SetupDone { transport, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(transport.interleaved.unwrap().rtp, 6);
        assert!(c.skipped_bytes() >= 35, "{}", c.skipped_bytes());
        assert_eq!(c.input_position(), input.len() as u64);
    }
}

/// A SETUP answer whose `Transport` drops the interleaved channels: the requested ones are
/// in force.
#[test]
fn quirk_setup_answer_without_interleaved() {
    let mut c = client("rtsp://cam/s");
    c.setup(
        "rtsp://cam/s/t1",
        &TransportSpec::tcp_interleaved(2, 3),
        Instant::now(),
    )
    .unwrap();
    let r = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: 1\r\nTransport: RTP/AVP/TCP;unicast\r\n\r\n";
    let ev = feed(&mut c, r.as_bytes(), usize::MAX);
    let [ClientEvent::SetupDone { transport, .. }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        transport.interleaved.map(|i| (i.rtp, i.rtcp)),
        Some((2, Some(3)))
    );
}

/// Errors say where: an answer that does not parse closes the session with the request it
/// answered and the offset of the failing message in the connection's input.
#[test]
fn unparsable_answer_names_request_and_offset() {
    let mut c = client("rtsp://cam/s");
    let now = Instant::now();
    c.options(now).unwrap();
    c.describe(now).unwrap();
    let first = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n";
    let bad = "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type application/sdp\r\n\r\n";
    let mut buf = BytesMut::from(format!("{first}{bad}").as_bytes());
    let err = c.handle_input(&mut buf, now).unwrap_err();
    let Error::Input {
        context,
        stream_offset,
        source,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(context, "response to DESCRIBE rtsp://cam/s (CSeq 2)");
    assert_eq!(*stream_offset, first.len() as u64);
    assert!(
        matches!(**source, Error::Malformed { offset: 26, .. }),
        "{source:?}"
    );
    assert!(err.to_string().contains("at byte 26"), "{err}");
    // The good answer before it was handled; the session is closed from now on.
    assert!(matches!(c.poll_event(), Some(ClientEvent::Options { .. })));
    assert!(c.is_closed());
    let mut more = BytesMut::from(&b"RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n"[..]);
    assert_eq!(c.handle_input(&mut more, now), Err(Error::Closed));
}

/// Failed requests carry their URL and CSeq.
#[test]
fn failures_name_the_request() {
    let mut c = client("rtsp://cam/s");
    c.describe(Instant::now()).unwrap();
    let ev = feed(
        &mut c,
        b"RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n",
        usize::MAX,
    );
    assert!(
        matches!(&ev[..], [ClientEvent::Failed { method: Method::Describe, url, cseq: 1, status: 404, .. }] if url == "rtsp://cam/s"),
        "{ev:?}"
    );
}

/// Keep-alive: GET_PARAMETER when the server's `Public` lists it, OPTIONS otherwise, at half
/// the session timeout, with the session id.
#[test]
fn keepalive_method_follows_public() {
    for (public, method) in [
        (
            "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER",
            Method::GetParameter,
        ),
        ("OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN", Method::Options),
    ] {
        let mut c = client("rtsp://cam/s");
        let t0 = Instant::now();
        assert_eq!(c.keepalive_method(), Method::GetParameter, "before OPTIONS");
        c.options(t0).unwrap();
        c.setup("rtsp://cam/s/t", &TransportSpec::tcp_interleaved(0, 1), t0)
            .unwrap();
        sent(&mut c);
        let answers = format!(
            "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: {public}\r\n\r\nRTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: abc;timeout=10\r\n\r\n"
        );
        feed(&mut c, answers.as_bytes(), usize::MAX);
        assert_eq!(c.keepalive_method(), method);
        assert_eq!(c.keepalive_due(), Some(t0 + Duration::from_secs(5)));
        c.handle_timeout(t0 + Duration::from_secs(5));
        let ka = sent(&mut c);
        assert!(
            ka[0].starts_with(&format!("{} rtsp://cam/s RTSP/1.0\r\n", method.as_str()))
                && ka[0].contains("Session: abc\r\n"),
            "{ka:?}"
        );
    }
}

/// The session's input may be fed the interleaved media of a whole stream; a payload is a
/// zero-copy slice of the input.
#[test]
fn interleaved_payloads_are_slices_of_the_input() {
    let mut c = client("rtsp://cam/s");
    let mut buf = BytesMut::from(&b"$\x00\x00\x04\x80\x60\x00\x01"[..]);
    let before = buf.as_ptr() as usize;
    c.handle_input(&mut buf, Instant::now()).unwrap();
    let Some(ClientEvent::Interleaved(f)) = c.poll_event() else {
        panic!()
    };
    assert_eq!(f.payload, Bytes::from_static(b"\x80\x60\x00\x01"));
    assert_eq!(f.payload.as_ptr() as usize, before + 4);
}
