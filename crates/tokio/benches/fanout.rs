//! The hub's fan-out: one frame published to 300 players, each taking it — Weir's ring
//! (one lock per read, no per-receiver slot lock) against `tokio::sync::broadcast` (the ring
//! the hub used before, and the nearest general-purpose peer) carrying the same units.

use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_tokio::core::{Hub, HubConfig, TryNext, Unit};

const PLAYERS: [usize; 2] = [30, 300];

fn frame(i: i64) -> Frame {
    let t = Timestamp::new(i * 40, Timebase::MILLIS);
    Frame::new(TrackId(0), t, t, Bytes::from_static(&[0u8; 64])).with_keyframe(i % 50 == 0)
}

fn fanout(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("fanout_one_unit");
    for n in PLAYERS {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("weir_hub", n), &n, |b, &n| {
            let hub = Hub::new(HubConfig::default());
            let p = hub.publish("live/bench", "bench").expect("publish");
            p.track(TrackInfo::new(TrackId(0), Codec::H264, 1000));
            p.frame(frame(0));
            let mut subs: Vec<_> = rt.block_on(async {
                let mut v = Vec::new();
                for _ in 0..n {
                    v.push(
                        hub.subscribe("live/bench", "bench")
                            .await
                            .expect("subscribe"),
                    );
                }
                v
            });
            for s in &mut subs {
                while let TryNext::Unit(_) = s.try_next() {}
            }
            let mut i = 1;
            b.iter(|| {
                p.frame(frame(i));
                i += 1;
                for s in &mut subs {
                    assert!(matches!(s.try_next(), TryNext::Unit(_)));
                }
            });
        });
        g.bench_with_input(BenchmarkId::new("tokio_broadcast", n), &n, |b, &n| {
            let (tx, _) = tokio::sync::broadcast::channel::<Arc<Unit>>(1024);
            let mut rxs: Vec<_> = (0..n).map(|_| tx.subscribe()).collect();
            let track = Arc::new(TrackInfo::new(TrackId(0), Codec::H264, 1000));
            let mut i = 1;
            b.iter(|| {
                // The same unit the hub builds for a frame (minus its timestamp repair).
                let _ = tx.send(Arc::new(Unit::frame(track.clone(), frame(i))));
                i += 1;
                for r in &mut rxs {
                    assert!(r.try_recv().is_ok());
                }
            });
        });
    }
    g.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
