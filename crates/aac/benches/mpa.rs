//! MPEG audio frame scan: walk an MP3 stream frame by frame from the headers alone and sum
//! its duration — weir-aac's `MpaHeader` vs the `mp3-duration` crate, same buffer.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_aac::mpa::{ChannelMode, Layer, MpaHeader, MpegVersion};

/// 2000 MPEG-1 Layer III frames, 128 kbit/s at 44.1 kHz, padded the way LAME pads
/// (so that the average frame is 417.96 bytes); payloads are zeros (no Xing/Info tag).
fn stream() -> (Vec<u8>, usize) {
    let base = MpaHeader::new(
        MpegVersion::Mpeg1,
        Layer::III,
        128_000,
        44_100,
        ChannelMode::JointStereo,
    )
    .unwrap();
    let n = 2000;
    let mut out = Vec::new();
    let mut rest: u64 = 0;
    for _ in 0..n {
        // 144 * 128000 / 44100 = 417.959…: pad when the fractional part accumulates.
        rest += 144 * 128_000 % 44_100;
        let mut h = base;
        h.padding = rest >= 44_100;
        if h.padding {
            rest -= 44_100;
        }
        let len = h.frame_len().unwrap();
        out.extend_from_slice(&h.to_bytes());
        out.resize(out.len() + len - 4, 0);
    }
    (out, n)
}

fn weir_scan(data: &[u8]) -> Duration {
    let mut pos = 0;
    let mut nanos: u64 = 0;
    while let Some(rest) = data.get(pos..) {
        let Ok(h) = MpaHeader::parse(rest) else { break };
        let Some(len) = h.frame_len() else { break };
        nanos += u64::from(h.samples_per_frame()) * 1_000_000_000 / u64::from(h.sample_rate());
        pos += len;
    }
    Duration::from_nanos(nanos)
}

fn mpa_scan(c: &mut Criterion) {
    let (data, frames) = stream();
    let ours = weir_scan(&data);
    let theirs = mp3_duration::from_read(&mut &data[..]).unwrap();
    assert_eq!(ours, theirs, "both must walk every frame");
    let mut g = c.benchmark_group("mpa_scan");
    g.throughput(Throughput::Elements(frames as u64));
    g.bench_function("weir_mpa_header_scan", |b| {
        b.iter(|| weir_scan(black_box(&data)))
    });
    g.bench_function("mp3_duration_from_read", |b| {
        b.iter(|| mp3_duration::from_read(&mut black_box(&data[..])).unwrap())
    });
    g.finish();
}

criterion_group!(benches, mpa_scan);
criterion_main!(benches);
