//! RTSP message parse: weir-rtsp-proto's Decoder vs rtsp-types on a SETUP request and a
//! DESCRIBE response with an SDP body; interleaved frame splitting.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use weir_rtsp_proto::{Decoder, Item};

const SETUP: &[u8] = b"SETUP rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1 RTSP/1.0\r\n\
CSeq: 4\r\n\
Authorization: Digest username=\"admin\", realm=\"IP Camera\", nonce=\"3b4c8e2a0f3d7a6c\", uri=\"rtsp://192.168.1.64:554/Streaming/Channels/101/\", response=\"2f1d2ca4e1f0a0b7d7c5a77b9c3e8d11\"\r\n\
User-Agent: Lavf59.27.100\r\n\
Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n";

const SDP_BODY: &str = "v=0\r\no=- 1 1 IN IP4 192.168.1.64\r\ns=Media Presentation\r\nt=0 0\r\na=control:*\r\n\
m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z00AKp2o,aO48gA==\r\n\
a=control:trackID=1\r\n";

fn describe_reply() -> &'static [u8] {
    let text = format!(
        "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/sdp\r\n\
         Content-Base: rtsp://192.168.1.64:554/Streaming/Channels/101/\r\nContent-Length: {}\r\n\r\n{}",
        SDP_BODY.len(),
        SDP_BODY
    );
    Box::leak(text.into_bytes().into_boxed_slice())
}

fn ours(input: &'static [u8]) -> usize {
    ours_buf(BytesMut::from(input))
}

/// The buffer is prepared outside the timed section (a socket read fills it in real use).
fn ours_buf(mut buf: BytesMut) -> usize {
    let mut dec = Decoder::default();
    match dec.decode(&mut buf).unwrap() {
        Some(Item::Message(m)) => m.headers().len(),
        _ => unreachable!(),
    }
}

fn peer(input: &'static [u8]) -> usize {
    let (m, _) = rtsp_types::Message::<Vec<u8>>::parse(input).unwrap();
    match m {
        rtsp_types::Message::Request(r) => r.headers().count(),
        rtsp_types::Message::Response(r) => r.headers().count(),
        rtsp_types::Message::Data(_) => 0,
    }
}

fn bench(c: &mut Criterion) {
    assert_eq!(ours(SETUP), peer(SETUP));
    let reply = describe_reply();
    assert_eq!(ours(reply), peer(reply));
    for (name, input) in [
        ("rtsp_parse_setup_request", SETUP),
        ("rtsp_parse_describe_response", reply),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function("weir-rtsp-proto", |b| {
            b.iter_batched(
                || BytesMut::from(input),
                |buf| ours_buf(black_box(buf)),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("rtsp-types", |b| b.iter(|| peer(black_box(input))));
        g.finish();
    }

    // 64 interleaved RTP packets of 1400 bytes in one buffer.
    let mut wire = BytesMut::new();
    for i in 0..64u8 {
        wire.extend_from_slice(&[b'$', i % 2, 0x05, 0x78]);
        wire.extend_from_slice(&[0u8; 1400]);
    }
    let wire: Bytes = wire.freeze();
    let mut g = c.benchmark_group("rtsp_interleaved_64x1400");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("weir-rtsp-proto", |b| {
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut dec = Decoder::default();
                let mut n = 0;
                while let Some(Item::Interleaved(f)) = dec.decode(&mut buf).unwrap() {
                    n += f.payload.len();
                }
                n
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("rtsp-types", |b| {
        // Same fresh input buffer per iteration as ours, so both read the same (cold) memory.
        b.iter_batched(
            || wire.to_vec(),
            |input| {
                let mut rest: &[u8] = &input;
                let mut n = 0;
                while !rest.is_empty() {
                    let (m, used) = rtsp_types::Message::<&[u8]>::parse(rest).unwrap();
                    if let rtsp_types::Message::Data(d) = m {
                        n += d.len();
                    }
                    rest = &rest[used..];
                }
                n
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
