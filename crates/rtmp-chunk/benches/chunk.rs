//! Chunk stream encode/decode throughput on a realistic message mix (2.5 Mbit/s-class
//! video with periodic keyframes, AAC audio), ours vs `rml_rtmp` in the same group, at
//! chunk sizes 128 and 4096. Also the write-once fan-out path (one PreparedMessage shared
//! by many players).

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rml_rtmp::chunk_io::{ChunkDeserializer, ChunkSerializer};
use rml_rtmp::messages::MessagePayload;
use rml_rtmp::time::RtmpTimestamp;
use weir_rtmp_chunk::{ChunkDecoder, ChunkEncoder, MessageHeader, PreparedMessage};

struct Msg {
    csid: u32,
    header: MessageHeader,
    payload: Bytes,
}

fn stream() -> Vec<Msg> {
    let mut v = Vec::new();
    let mut seed = 0x1234_5678u32;
    for i in 0..120u32 {
        let vlen = if i % 60 == 0 {
            100_000
        } else {
            9_000 + (i as usize * 37) % 3000
        };
        let payload: Vec<u8> = (0..vlen)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        v.push(Msg {
            csid: 6,
            header: MessageHeader {
                timestamp: i * 33,
                type_id: 9,
                stream_id: 1,
            },
            payload: payload.into(),
        });
        for a in 0..2u32 {
            let payload = Bytes::from(vec![0xAF; 380 + (a as usize)]);
            v.push(Msg {
                csid: 4,
                header: MessageHeader {
                    timestamp: i * 33 + a * 21,
                    type_id: 8,
                    stream_id: 1,
                },
                payload,
            });
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let msgs = stream();
    let total: usize = msgs.iter().map(|m| m.payload.len()).sum();
    let rml_msgs: Vec<MessagePayload> = msgs
        .iter()
        .map(|m| MessagePayload {
            timestamp: RtmpTimestamp::new(m.header.timestamp),
            type_id: m.header.type_id,
            message_stream_id: m.header.stream_id,
            data: m.payload.clone(),
        })
        .collect();

    for chunk_size in [128u32, 4096] {
        let mut g = c.benchmark_group(format!("chunk_encode_{chunk_size}"));
        g.throughput(Throughput::Bytes(total as u64));
        let mut out = BytesMut::with_capacity(total * 2);
        g.bench_function(BenchmarkId::new("weir", chunk_size), |b| {
            b.iter(|| {
                let mut enc = ChunkEncoder::new();
                enc.set_chunk_size(chunk_size).unwrap();
                out.clear();
                for m in &msgs {
                    enc.write_message(m.csid, m.header, &m.payload, &mut out)
                        .unwrap();
                }
                out.len()
            })
        });
        g.bench_function(BenchmarkId::new("weir_vectored", chunk_size), |b| {
            // Zero-copy: headers into a shared scratch buffer, payload chunks as slices.
            let mut scratch = BytesMut::with_capacity(64 * 1024);
            let mut pieces: Vec<Bytes> = Vec::with_capacity(total / chunk_size as usize * 2 + 1024);
            b.iter(|| {
                let mut enc = ChunkEncoder::new();
                enc.set_chunk_size(chunk_size).unwrap();
                pieces.clear();
                for m in &msgs {
                    enc.write_message_vectored(
                        m.csid,
                        m.header,
                        &m.payload,
                        &mut scratch,
                        &mut pieces,
                    )
                    .unwrap();
                }
                pieces.len()
            })
        });
        g.bench_function(BenchmarkId::new("weir_prepared_share", chunk_size), |b| {
            // Per player cost once messages are prepared: a header write + a Bytes clone.
            let prepared: Vec<_> = msgs
                .iter()
                .map(|m| {
                    PreparedMessage::new(
                        m.csid,
                        chunk_size,
                        m.header.type_id,
                        m.header.timestamp,
                        &m.payload,
                    )
                    .unwrap()
                })
                .collect();
            let mut headers = BytesMut::with_capacity(msgs.len() * 16);
            let mut queue: Vec<Bytes> = Vec::with_capacity(msgs.len());
            b.iter(|| {
                let mut enc = ChunkEncoder::new();
                enc.set_chunk_size(chunk_size).unwrap();
                headers.clear();
                queue.clear();
                for (m, p) in msgs.iter().zip(&prepared) {
                    enc.write_prepared_header(
                        p,
                        m.header.timestamp,
                        m.header.stream_id,
                        &mut headers,
                    )
                    .unwrap();
                    queue.push(p.chunks().clone());
                }
                queue.len()
            })
        });
        g.bench_function(BenchmarkId::new("rml_rtmp", chunk_size), |b| {
            b.iter(|| {
                let mut ser = ChunkSerializer::new();
                ser.set_max_chunk_size(chunk_size, RtmpTimestamp::new(0))
                    .unwrap();
                let mut n = 0;
                for m in &rml_msgs {
                    n += ser.serialize(m, false, false).unwrap().bytes.len();
                }
                n
            })
        });
        g.finish();

        let mut enc = ChunkEncoder::new();
        enc.set_chunk_size(chunk_size).unwrap();
        let mut wire = BytesMut::new();
        for m in &msgs {
            enc.write_message(m.csid, m.header, &m.payload, &mut wire)
                .unwrap();
        }
        let wire = wire.freeze();
        let mut g = c.benchmark_group(format!("chunk_decode_{chunk_size}"));
        g.throughput(Throughput::Bytes(total as u64));
        g.bench_function(BenchmarkId::new("weir", chunk_size), |b| {
            // The input buffer is prepared outside the timing, as a socket read would
            // fill it; rml_rtmp reads from the same bytes without a copy either.
            b.iter_batched_ref(
                || BytesMut::from(&wire[..]),
                |buf| {
                    let mut dec = ChunkDecoder::default();
                    dec.set_chunk_size(chunk_size).unwrap();
                    let mut n = 0;
                    while let Some(m) = dec.decode(buf).unwrap() {
                        n += m.payload.len();
                    }
                    assert_eq!(n, total);
                    n
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::new("rml_rtmp", chunk_size), |b| {
            b.iter(|| {
                let mut de = ChunkDeserializer::new();
                de.set_max_chunk_size(chunk_size as usize).unwrap();
                let mut n = 0;
                let mut next = de.get_next_message(&wire).unwrap();
                while let Some(m) = next {
                    n += m.data.len();
                    next = de.get_next_message(&[]).unwrap();
                }
                assert_eq!(n, total);
                n
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
