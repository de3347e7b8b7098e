//! Push/pop throughput: weir-jitter vs webrtc-rs `webrtc-media` `SampleBuilder` (the
//! nearest crates.io peer: a sequence-number reorder buffer feeding a depacketizer) on the
//! same packet sequences, one packet per sample.

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_jitter::{Config, JitterBuffer, Output};

const N: usize = 10_000;

/// Sequence numbers in arrival order: in order, or with every pair swapped.
fn order(swapped: bool) -> Vec<u16> {
    (0..N)
        .map(|i| {
            let i = if swapped { i ^ 1 } else { i };
            (65000 + i) as u16 // wraps past 65535
        })
        .collect()
}

struct PassThrough;

impl rtp::packetizer::Depacketizer for PassThrough {
    fn depacketize(&mut self, b: &Bytes) -> Result<Bytes, rtp::Error> {
        Ok(b.clone())
    }
    fn is_partition_head(&self, _payload: &Bytes) -> bool {
        true
    }
    fn is_partition_tail(&self, marker: bool, _payload: &Bytes) -> bool {
        marker
    }
}

fn weir(seqs: &[u16], payload: &Bytes) -> usize {
    let mut jb = JitterBuffer::new(Config::reorder(90_000, Duration::from_millis(20))).unwrap();
    let t0 = Instant::now();
    let mut out = 0;
    for (k, &s) in seqs.iter().enumerate() {
        let now = t0 + Duration::from_micros(k as u64 * 500);
        let ts = u32::from(s.wrapping_sub(65000)) * 3000;
        jb.push(s, ts, now, payload.clone());
        jb.handle_timeout(now);
        while let Some(o) = jb.pop() {
            if let Output::Packet(p) = o {
                out += p.payload.len();
            }
        }
    }
    out
}

fn webrtc(seqs: &[u16], payload: &Bytes) -> usize {
    let mut sb = webrtc_media::io::sample_builder::SampleBuilder::new(64, PassThrough, 90_000);
    let mut out = 0;
    for &s in seqs {
        let ts = u32::from(s.wrapping_sub(65000)) * 3000;
        let p = rtp::packet::Packet {
            header: rtp::header::Header {
                version: 2,
                marker: true,
                payload_type: 96,
                sequence_number: s,
                timestamp: ts,
                ssrc: 1,
                ..Default::default()
            },
            payload: payload.clone(),
        };
        sb.push(p);
        while let Some(sample) = sb.pop() {
            out += sample.data.len();
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let payload = Bytes::from(vec![0u8; 1200]);
    for (name, swapped) in [("jitter_in_order", false), ("jitter_pair_swapped", true)] {
        let seqs = order(swapped);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("weir_jitter", |b| {
            b.iter(|| weir(black_box(&seqs), &payload))
        });
        g.bench_function("webrtc_media_sample_builder", |b| {
            b.iter(|| webrtc(black_box(&seqs), &payload))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
