//! PS demux and mux throughput on 20 s of 25 fps H.264 (20–60 KB frames) plus G.711A, about
//! 20 MB, muxed by weir-ps. No maintained Rust program-stream crate exists to compare with.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_ps::{Event, PsDemuxer, PsMuxer};

fn tracks() -> Vec<TrackInfo> {
    vec![
        TrackInfo::new(TrackId(0), Codec::H264, 90_000),
        TrackInfo::new(TrackId(1), Codec::G711A, 8_000),
    ]
}

fn frames() -> Vec<Frame> {
    let mut out = Vec::new();
    let mut seed = 7u32;
    let mut rnd = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        seed >> 8
    };
    for i in 0..500i64 {
        let key = i % 25 == 0;
        let size = if key {
            60_000
        } else {
            20_000 + (rnd() % 20_000) as usize
        };
        // Slice header bits: first_mb_in_slice 0, slice_type I (2) / P (0), PPS 0.
        let mut nal = vec![if key { 0x65 } else { 0x41 }, if key { 0xB8 } else { 0xE0 }];
        nal.extend((0..size).map(|_| (rnd() % 255 + 1) as u8));
        let mut data = BytesMut::new();
        data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        data.extend_from_slice(&nal);
        let t = Timestamp::new(i * 3600, Timebase::MPEG);
        out.push(Frame::new(TrackId(0), t, t, data.freeze()).with_keyframe(key));
        out.push(Frame::new(TrackId(1), t, t, Bytes::from(vec![0xD5; 320])).with_keyframe(true));
    }
    out
}

fn bench(c: &mut Criterion) {
    let frames = frames();
    let mut ps = BytesMut::new();
    let mut m = PsMuxer::new(&tracks(), Default::default()).unwrap();
    for f in &frames {
        m.write_frame(f, &mut ps).unwrap();
    }
    let ps = ps.freeze();
    // Sanity: every frame comes back.
    let mut d = PsDemuxer::new();
    d.push(&ps);
    d.flush();
    let n = std::iter::from_fn(|| d.poll_event())
        .filter(|e| matches!(e, Event::Frame(_)))
        .count();
    assert_eq!(n, frames.len());
    let mut g = c.benchmark_group("ps_demux");
    g.throughput(Throughput::Bytes(ps.len() as u64));
    g.sample_size(10);
    g.bench_function("weir_ps_rtp_sized_pushes", |b| {
        b.iter(|| {
            let mut d = PsDemuxer::new();
            let mut n = 0usize;
            for chunk in ps.chunks(1400) {
                d.push(chunk);
                while let Some(e) = d.poll_event() {
                    if let Event::Frame(f) = e {
                        n += f.data.len();
                    }
                }
            }
            d.flush();
            while let Some(e) = d.poll_event() {
                if let Event::Frame(f) = e {
                    n += f.data.len();
                }
            }
            black_box(n)
        })
    });
    g.finish();
    let mut g = c.benchmark_group("ps_mux");
    g.throughput(Throughput::Bytes(ps.len() as u64));
    g.sample_size(10);
    let mut out = BytesMut::with_capacity(ps.len() + 4096);
    g.bench_function("weir_ps", |b| {
        b.iter(|| {
            out.clear();
            let mut m = PsMuxer::new(&tracks(), Default::default()).unwrap();
            for f in &frames {
                m.write_frame(f, &mut out).unwrap();
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
