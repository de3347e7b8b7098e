//! TS demux and mux throughput, weir-mpegts against the `mpeg2ts` crate on the same bytes.
//!
//! The stream: 20 s of 25 fps H.264 (20–60 KB frames, an IDR every second) plus AAC, about
//! 20 MB, muxed by weir-mpegts.
//!
//! * demux: weir goes all the way to canonical frames (Annex B → length-prefixed, ADTS
//!   stripped); mpeg2ts reads PES packets (`PesPacketReader`).
//! * mux: weir packetizes frames (PES headers, AUD insertion, ADTS, PCR, PAT/PMT); mpeg2ts
//!   has no muxer, so it serializes the same stream's packets, already built, with
//!   `TsPacketWriter` — less work than weir does.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use mpeg2ts::pes::{PesPacketReader, ReadPesPacket};
use mpeg2ts::ts::{ReadTsPacket, TsPacketReader, TsPacketWriter, WriteTsPacket};
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_mpegts::{Event, MuxConfig, TsDemuxer, TsMuxer};

fn tracks() -> Vec<TrackInfo> {
    vec![
        TrackInfo::new(TrackId(0), Codec::H264, 90_000),
        TrackInfo::new(TrackId(1), Codec::Aac, 44_100)
            .with_config(Bytes::from_static(&[0x12, 0x10]))
            .with_audio(AudioParams {
                sample_rate: 44_100,
                channels: 2,
            }),
    ]
}

fn frames() -> Vec<Frame> {
    let mut out = Vec::new();
    let mut seed = 1u32;
    let mut rnd = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        seed >> 8
    };
    let mut audio_t = 0i64;
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
        // ~43 AAC frames per second, 400 bytes each.
        while audio_t * 90_000 / 44_100 <= i * 3600 {
            let t = Timestamp::new(audio_t, Timebase::hz(44_100).unwrap());
            let raw: Vec<u8> = (0..400).map(|_| (rnd() % 256) as u8).collect();
            out.push(Frame::new(TrackId(1), t, t, Bytes::from(raw)).with_keyframe(true));
            audio_t += 1024;
        }
    }
    out
}

fn mux(frames: &[Frame], out: &mut BytesMut) {
    let mut m = TsMuxer::new(&tracks(), MuxConfig::default()).unwrap();
    for f in frames {
        m.write_frame(f, out).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let frames = frames();
    let mut ts = BytesMut::new();
    mux(&frames, &mut ts);
    let ts = ts.freeze();
    // Sanity: every frame comes back.
    let mut d = TsDemuxer::new();
    d.push(&ts);
    d.flush();
    let n = std::iter::from_fn(|| d.poll_event())
        .filter(|e| matches!(e, Event::Frame(_)))
        .count();
    assert_eq!(n, frames.len());

    let mut g = c.benchmark_group("ts_demux");
    g.throughput(Throughput::Bytes(ts.len() as u64));
    g.sample_size(10);
    g.bench_function("weir_mpegts", |b| {
        b.iter(|| {
            let mut d = TsDemuxer::new();
            let mut n = 0usize;
            for chunk in ts.chunks(64 * 1024) {
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
    g.bench_function("mpeg2ts", |b| {
        b.iter(|| {
            let mut r = PesPacketReader::new(TsPacketReader::new(&ts[..]));
            let mut n = 0usize;
            while let Ok(Some(p)) = r.read_pes_packet() {
                n += p.data.len();
            }
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ts_mux");
    g.throughput(Throughput::Bytes(ts.len() as u64));
    g.sample_size(10);
    let mut out = BytesMut::with_capacity(ts.len() + 4096);
    g.bench_function("weir_mpegts", |b| {
        b.iter(|| {
            out.clear();
            mux(&frames, &mut out);
            black_box(out.len())
        })
    });
    let mut packets = Vec::new();
    let mut r = TsPacketReader::new(&ts[..]);
    while let Ok(Some(p)) = r.read_ts_packet() {
        packets.push(p);
    }
    g.bench_function("mpeg2ts_writer_prebuilt_packets", |b| {
        b.iter(|| {
            let mut w = TsPacketWriter::new(Vec::with_capacity(ts.len()));
            for p in &packets {
                w.write_ts_packet(p).unwrap();
            }
            black_box(w.into_stream().len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
