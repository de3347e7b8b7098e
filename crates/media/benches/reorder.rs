//! `DtsGenerator` per-frame cost. No crates.io crate assigns DTS to PTS-only streams, so
//! the group's baseline is the offline assignment (sort all PTS, shift by the depth),
//! which needs the whole stream in memory; `TimestampRepair` is measured alongside since
//! the relay runs both per frame.

use std::time::Duration;

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use weir_media::reorder::DtsGenerator;
use weir_media::repair::{RepairConfig, TimestampRepair};
use weir_media::{Frame, Timebase, Timestamp, TrackId};

/// 10 000 frames in decoding order, reordered like x264's B-pyramid (I0 P4 B2 b1 b3 …).
fn stream() -> Vec<i64> {
    let gop = [0i64, 4, 2, 1, 3];
    let mut v = Vec::with_capacity(10_000);
    let mut base = -4;
    while v.len() < 10_000 {
        for r in gop.iter().skip(if base < 0 { 0 } else { 1 }) {
            v.push((base.max(0) + r) * 3600);
        }
        base = base.max(0) + 4;
    }
    v.truncate(10_000);
    v
}

fn dts(c: &mut Criterion) {
    let pts = stream();
    let mut g = c.benchmark_group("dts_generation");
    g.throughput(Throughput::Elements(pts.len() as u64));
    for depth in [0u32, 2, 16] {
        g.bench_with_input(
            BenchmarkId::new("weir_dts_generator", depth),
            &depth,
            |b, &d| {
                b.iter(|| {
                    let mut gen = DtsGenerator::new(d, Duration::from_millis(40));
                    let mut acc = 0i64;
                    for &p in &pts {
                        acc ^= gen.next_dts(Timestamp::new(p, Timebase::MPEG)).ticks();
                    }
                    black_box(acc)
                })
            },
        );
    }
    g.bench_function("offline_sort_baseline/2", |b| {
        b.iter(|| {
            let mut sorted = pts.clone();
            sorted.sort_unstable();
            let mut acc = 0i64;
            for i in 0..pts.len() {
                acc ^= if i >= 2 {
                    sorted[i - 2]
                } else {
                    sorted[0] - (2 - i as i64) * 3600
                };
            }
            black_box(acc)
        })
    });
    g.bench_function("timestamp_repair", |b| {
        b.iter(|| {
            let mut fix = TimestampRepair::new(RepairConfig::mpeg());
            let mut acc = 0i64;
            for (i, &p) in pts.iter().enumerate() {
                let dts = Timestamp::new((i as i64 - 2) * 3600, Timebase::MPEG);
                let mut f = Frame::new(
                    TrackId(0),
                    Timestamp::new(p, Timebase::MPEG),
                    dts,
                    Bytes::new(),
                );
                let _ = fix.repair(&mut f);
                acc ^= f.dts.ticks();
            }
            black_box(acc)
        })
    });
    g.finish();
}

criterion_group!(benches, dts);
criterion_main!(benches);
