//! FLV tag read throughput, weir-flv vs the `xflv` crate (xiu's FLV library), on the same
//! synthetic 2.5 Mbit/s H.264 + AAC stream: 10 s, 25 fps, GOP 50, 44.1 kHz AAC.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use weir_flv::{FlvDemuxer, FlvMuxer, FlvReader, MuxConfig};
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo, VideoParams};

fn pseudo_random(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn nal_frame(size: usize, idr: bool, seed: u32) -> Bytes {
    let mut nal = pseudo_random(size, seed);
    nal[0] = if idr { 0x65 } else { 0x41 };
    let mut out = BytesMut::new();
    weir_media::nal::put_length_prefixed(&mut out, &nal, 4).unwrap();
    out.freeze()
}

fn sample_file() -> Bytes {
    let sps = Bytes::from_static(&[
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ]);
    let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
    let avcc = weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps])
        .unwrap()
        .to_bytes();
    let video = TrackInfo::new(TrackId(0), Codec::H264, 1000)
        .with_config(avcc)
        .with_video(VideoParams {
            width: 320,
            height: 240,
        });
    let audio = TrackInfo::new(TrackId(1), Codec::Aac, 1000)
        .with_config(Bytes::from_static(&[0x12, 0x08]))
        .with_audio(AudioParams {
            sample_rate: 44_100,
            channels: 1,
        });
    let muxer = FlvMuxer::new(MuxConfig::default());
    let mut out = BytesMut::new();
    muxer
        .write_start(&[video.clone(), audio.clone()], "bench", &mut out)
        .unwrap();
    let mut frames = Vec::new();
    for i in 0..250i64 {
        let key = i % 50 == 0;
        let size = if key { 60_000 } else { 11_000 };
        let dts = Timestamp::new(i * 40, Timebase::MILLIS);
        let pts = Timestamp::new(i * 40 + 80, Timebase::MILLIS);
        frames.push((
            true,
            Frame::new(video.id, pts, dts, nal_frame(size, key, i as u32)).with_keyframe(key),
        ));
    }
    for i in 0..431i64 {
        let ts = Timestamp::new(i * 1024 * 1000 / 44_100, Timebase::MILLIS);
        frames.push((
            false,
            Frame::new(
                audio.id,
                ts,
                ts,
                Bytes::from(pseudo_random(370, 7 + i as u32)),
            ),
        ));
    }
    frames.sort_by_key(|(_, f)| f.dts.ticks());
    for (is_video, f) in &frames {
        let t = if *is_video { &video } else { &audio };
        muxer.frame(t, f).unwrap().write(&mut out).unwrap();
    }
    out.freeze()
}

fn read_weir(buf: &mut BytesMut) -> usize {
    let mut reader = FlvReader::new();
    let mut n = 0;
    while let Some(tag) = reader.decode(buf).unwrap() {
        n += tag.body.len();
    }
    n
}

fn read_xflv(buf: BytesMut) -> usize {
    let mut d = xflv::demuxer::FlvDemuxer::new(buf);
    d.read_flv_header().unwrap();
    let mut n = 0;
    loop {
        match d.read_flv_tag() {
            Ok(Some(xflv::define::FlvData::Video { data, .. }))
            | Ok(Some(xflv::define::FlvData::Audio { data, .. })) => n += data.len(),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let file = sample_file();
    // Same tags seen by both (xflv skips script tags, so compare audio+video payload).
    let mut check = BytesMut::from(&file[..]);
    let ours = {
        let mut reader = FlvReader::new();
        let mut n = 0;
        while let Some(tag) = reader.decode(&mut check).unwrap() {
            if tag.tag_type != weir_flv::TagType::Script {
                n += tag.body.len();
            }
        }
        n
    };
    assert_eq!(ours, read_xflv(BytesMut::from(&file[..])));

    let mut g = c.benchmark_group("flv_tag_read");
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("weir-flv", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&file[..]),
            read_weir,
            BatchSize::LargeInput,
        )
    });
    g.bench_function("weir-flv (Bytes input)", |b| {
        b.iter(|| {
            let mut buf = file.clone();
            let mut reader = FlvReader::new();
            let mut n = 0;
            while let Some(tag) = reader.decode_bytes(&mut buf).unwrap() {
                n += tag.body.len();
            }
            n
        })
    });
    g.bench_function("xflv", |b| {
        b.iter_batched(
            || BytesMut::from(&file[..]),
            read_xflv,
            BatchSize::LargeInput,
        )
    });
    g.finish();

    // Read + convert to frames. weir-flv yields canonical AVCC frames (zero-copy);
    // xflv converts H.264 to Annex B and AAC to ADTS, which is the only output it offers.
    let mut g = c.benchmark_group("flv_read_to_frames");
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("weir-flv", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&file[..]),
            |buf| {
                let mut reader = FlvReader::new();
                let mut demux = FlvDemuxer::new();
                let mut n = 0;
                while let Some(tag) = reader.decode(buf).unwrap() {
                    demux.push_tag(&tag).unwrap();
                    while let Some(ev) = demux.poll_event() {
                        if let weir_flv::FlvEvent::Frame(f) = ev {
                            n += f.data.len();
                        }
                    }
                }
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("weir-flv (Bytes input)", |b| {
        b.iter(|| {
            let mut buf = file.clone();
            let mut reader = FlvReader::new();
            let mut demux = FlvDemuxer::new();
            let mut n = 0;
            while let Some(tag) = reader.decode_bytes(&mut buf).unwrap() {
                demux.push_tag(&tag).unwrap();
                while let Some(ev) = demux.poll_event() {
                    if let weir_flv::FlvEvent::Frame(f) = ev {
                        n += f.data.len();
                    }
                }
            }
            n
        })
    });
    g.bench_function("xflv", |b| {
        b.iter_batched(
            || BytesMut::from(&file[..]),
            |buf| {
                let mut d = xflv::demuxer::FlvDemuxer::new(buf);
                d.read_flv_header().unwrap();
                let mut v = xflv::demuxer::FlvVideoTagDemuxer::new();
                let mut a = xflv::demuxer::FlvAudioTagDemuxer::new();
                let mut n = 0;
                loop {
                    match d.read_flv_tag() {
                        Ok(Some(xflv::define::FlvData::Video { timestamp, data })) => {
                            if let Ok(Some(f)) = v.demux(timestamp, data) {
                                n += f.data.len();
                            }
                        }
                        Ok(Some(xflv::define::FlvData::Audio { timestamp, data })) => {
                            if let Ok(f) = a.demux(timestamp, data) {
                                n += f.data.len();
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Writing tags whose bodies are already built (the fan-out case): weir-flv appends header,
/// shared body and trailer; xflv's muxer takes each body as an owned `BytesMut`.
fn bench_write(c: &mut Criterion) {
    let file = sample_file();
    let (_, tags) = weir_flv::read_all(file.clone(), weir_flv::ReaderConfig::default()).unwrap();
    let owned: Vec<(u8, u32, BytesMut)> = tags
        .iter()
        .map(|t| (t.tag_type.to_u8(), t.timestamp, BytesMut::from(&t.body[..])))
        .collect();
    let mut g = c.benchmark_group("flv_tag_write");
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("weir-flv", |b| {
        b.iter(|| {
            let mut out = BytesMut::with_capacity(file.len());
            weir_flv::FlvHeader::new(true, true).write_with_first_tag_size(&mut out);
            for t in &tags {
                t.write(&mut out).unwrap();
            }
            out.len()
        })
    });
    g.bench_function("xflv", |b| {
        b.iter_batched(
            || owned.clone(),
            |owned| {
                let mut m = xflv::muxer::FlvMuxer::new();
                m.write_flv_header(true, true).unwrap();
                m.write_previous_tag_size(0).unwrap();
                for (ty, ts, body) in owned {
                    let len = body.len() as u32;
                    m.write_flv_tag_header(ty, len, ts).unwrap();
                    m.write_flv_tag_body(body).unwrap();
                    m.write_previous_tag_size(len + 11).unwrap();
                }
                m.writer.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench, bench_write);
criterion_main!(benches);
