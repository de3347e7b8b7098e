//! AMF0 decode of a typical `connect` command (captured from ffmpeg) and of an
//! `onMetaData` object, ours vs the `amf` and `rml_amf0` crates in the same group.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use weir_amf::{amf0, Amf0Value, CommandMessage};

fn metadata_body() -> Vec<u8> {
    let md = Amf0Value::ecma_array([
        ("duration", 0.0.into()),
        ("width", 1920.0.into()),
        ("height", 1080.0.into()),
        ("videodatarate", 2500.0.into()),
        ("framerate", 30.0.into()),
        ("videocodecid", 7.0.into()),
        ("audiodatarate", 128.0.into()),
        ("audiosamplerate", 48000.0.into()),
        ("audiosamplesize", 16.0.into()),
        ("stereo", true.into()),
        ("audiocodecid", 10.0.into()),
        (
            "encoder",
            "obs-output module (libobs version 30.0.0)".into(),
        ),
        ("filesize", 0.0.into()),
    ]);
    let mut b = BytesMut::new();
    amf0::encode_all(&["@setDataFrame".into(), "onMetaData".into(), md], &mut b).unwrap();
    b.to_vec()
}

fn bench(c: &mut Criterion) {
    let inputs: [(&str, Vec<u8>); 2] = [
        (
            "connect",
            include_bytes!("../tests/data/ffmpeg_play_connect.bin").to_vec(),
        ),
        ("metadata", metadata_body()),
    ];
    let mut g = c.benchmark_group("amf0_decode");
    for (name, body) in &inputs {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("weir_amf", name), body, |b, body| {
            b.iter(|| amf0::decode_all(std::hint::black_box(body)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("amf", name), body, |b, body| {
            b.iter(|| {
                let mut r = &body[..];
                let mut n = 0;
                while !r.is_empty() {
                    let v = amf::amf0::Value::read_from(&mut r).unwrap();
                    std::hint::black_box(v);
                    n += 1;
                }
                n
            })
        });
        g.bench_with_input(BenchmarkId::new("rml_amf0", name), body, |b, body| {
            b.iter(|| {
                let mut cur = std::io::Cursor::new(&body[..]);
                rml_amf0::deserialize(&mut cur).unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("amf0_command");
    let body = &inputs[0].1;
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("weir_amf_parse", |b| {
        b.iter(|| CommandMessage::parse(std::hint::black_box(body)).unwrap())
    });
    let cmd = CommandMessage::parse(body).unwrap();
    let mut out = BytesMut::with_capacity(512);
    g.bench_function("weir_amf_encode", |b| {
        b.iter(|| {
            out.clear();
            cmd.encode(&mut out).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
