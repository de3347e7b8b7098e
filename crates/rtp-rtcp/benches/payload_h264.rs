//! H.264 packetize / depacketize throughput: weir vs the webrtc-rs codecs (`rtc-rtp`, the
//! sans-IO edition of webrtc-rs `rtp`), in the same groups.
//!
//! Workload: one access unit of SPS + PPS + a 60 000-byte IDR slice + a 9 000-byte second
//! slice, MTU 1200 (FU-A for the slices, STAP-A or single packets for the parameter sets).
//! weir produces complete RTP packets (header included) from the canonical length-prefixed
//! frame; the peer produces payloads only (no RTP header) from Annex B. Depacketizing, both
//! get the same payloads and produce length-prefixed NAL units (`is_avc = true` for the peer).

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rtc_rtp::packetizer::{Depacketizer as _, Payloader as _};
use weir_media::{Frame, Timebase, Timestamp, TrackId};
use weir_rtp_rtcp::payload::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};

const MTU: usize = 1200;

fn nal(header: u8, len: usize, seed: u8) -> Vec<u8> {
    let mut n = vec![header];
    n.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1));
    n
}

fn access_unit() -> Vec<Vec<u8>> {
    vec![
        nal(0x67, 24, 1),
        nal(0x68, 4, 2),
        nal(0x65, 60_000, 3),
        nal(0x65, 9_000, 4),
    ]
}

fn bench(c: &mut Criterion) {
    let nals = access_unit();
    let total: usize = nals.iter().map(Vec::len).sum();
    let mut canonical = BytesMut::new();
    let mut annexb = BytesMut::new();
    for n in &nals {
        canonical.put_u32(n.len() as u32);
        canonical.put_slice(n);
        annexb.put_slice(&[0, 0, 0, 1]);
        annexb.put_slice(n);
    }
    let canonical = canonical.freeze();
    let annexb = annexb.freeze();
    let ts = Timestamp::new(0, Timebase::MPEG);
    let frame = Frame::new(TrackId(0), ts, ts, canonical.clone()).with_keyframe(true);

    let mut g = c.benchmark_group("h264_packetize");
    g.throughput(Throughput::Bytes(total as u64));
    let mut pk = H264Packetizer::with_parameter_sets(
        PacketizerConfig::new(90_000).with_mtu(MTU),
        Vec::new(),
        PacketizationMode::NonInterleaved,
    );
    let mut out = Vec::with_capacity(128);
    g.bench_function("weir", |b| {
        b.iter(|| {
            out.clear();
            pk.packetize(&frame, &mut out).expect("packetize");
            out.len()
        })
    });
    let mut peer = rtc_rtp::codec::h264::H264Payloader::default();
    g.bench_function("rtc-rtp (webrtc-rs)", |b| {
        b.iter(|| peer.payload(MTU - 12, &annexb).expect("payload").len())
    });
    g.finish();

    // The same payloads for both depacketizers.
    out.clear();
    pk.packetize(&frame, &mut out).expect("packetize");
    let payloads: Vec<Bytes> = out.iter().map(|p| p.slice(12..)).collect();
    let n = payloads.len();
    let mut g = c.benchmark_group("h264_depacketize");
    g.throughput(Throughput::Bytes(total as u64));
    let mut seq: u16 = 0;
    let mut rtp_ts: u32 = 0;
    let mut dp = H264Depacketizer::new(DepacketizerConfig::new(90_000));
    g.bench_function("weir", |b| {
        b.iter(|| {
            rtp_ts = rtp_ts.wrapping_add(3000);
            for (i, p) in payloads.iter().enumerate() {
                dp.push_payload(seq, rtp_ts, i + 1 == n, p.clone())
                    .expect("push");
                seq = seq.wrapping_add(1);
            }
            dp.pull().expect("frame").data.len()
        })
    });
    g.bench_function("rtc-rtp (webrtc-rs)", |b| {
        b.iter_batched_ref(
            || {
                let mut d = rtc_rtp::codec::h264::H264Packet::default();
                d.is_avc = true;
                d
            },
            |d| {
                let mut au = BytesMut::with_capacity(total + 64);
                for p in &payloads {
                    let out = d.depacketize(p).expect("depacketize");
                    au.put_slice(&out);
                }
                au.len()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
