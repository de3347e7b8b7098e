//! weir-mp4 against the crates.io peers, same frames, same group:
//!
//! * `mux_fragment`: one 2 s fragment (`moof` + `mdat`) of 25 fps H.264 + 48 kHz AAC —
//!   weir's `FragmentedMuxer` vs `mp4-atom` encoding the same `moof` and `mdat` (`mp4` has
//!   no fragment writer).
//! * `mux_progressive`: a 10 s file — weir's `ProgressiveMuxer` vs `mp4::Mp4Writer`.
//! * `demux_progressive`: every sample of that file — weir's `MemoryDemuxer` vs
//!   `mp4::Mp4Reader`; `mp4-atom` decoding the file's boxes (`moov` with its tables,
//!   `mdat` sliced; no sample index, no frames: less work than a demux).
//! * `demux_fragmented`: every sample of a fragmented 10 s file — weir vs `mp4-atom`
//!   decoding every `moof` (`mdat` sliced).

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mp4_atom::{Decode, Encode};
use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_mp4::{
    Cut, DemuxConfig, FragmentConfig, FragmentedMuxer, MemoryDemuxer, ProgressiveConfig,
    ProgressiveMuxer,
};

const SPS: &[u8] = &[
    0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x04, 0x26, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00,
    0x03, 0x00, 0xc8, 0x3c, 0x48, 0x99, 0x20,
];
const PPS: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];

fn tracks() -> Vec<TrackInfo> {
    let avcc = weir_h264::AvcConfig::from_parameter_sets(
        &[Bytes::from_static(SPS)],
        &[Bytes::from_static(PPS)],
    )
    .unwrap()
    .to_bytes();
    vec![
        TrackInfo::new(TrackId(0), Codec::H264, 90_000).with_config(avcc),
        TrackInfo::new(TrackId(1), Codec::Aac, 48_000)
            .with_config(Bytes::from_static(&[0x11, 0x90])),
    ]
}

/// `secs` seconds of 25 fps video (keyframe every 2 s: 40 KB, others 8 KB, B-frame
/// composition offsets) and 48 kHz AAC (~370 B), interleaved by decode time.
fn frames(secs: i64) -> Vec<Frame> {
    let mut v = Vec::new();
    for i in 0..secs * 25 {
        let key = i % 50 == 0;
        let size = if key { 40_000 } else { 8_000 };
        let data = Bytes::from(vec![(i % 251) as u8; size]);
        let dts = Timestamp::new(i * 3600, Timebase::MPEG);
        let pts = Timestamp::new(
            i * 3600 + if key { 7200 } else { 3600 * (i % 3) },
            Timebase::MPEG,
        );
        v.push(Frame::new(TrackId(0), pts, dts, data).with_keyframe(key));
    }
    let tb = Timebase::hz(48_000).unwrap();
    for i in 0..secs * 48_000 / 1024 {
        let t = Timestamp::new(i * 1024, tb);
        v.push(
            Frame::new(TrackId(1), t, t, Bytes::from(vec![(i % 13) as u8; 370]))
                .with_keyframe(true),
        );
    }
    v.sort_by(|a, b| a.dts.cmp_instant(b.dts));
    v
}

fn payload_bytes(frames: &[Frame]) -> u64 {
    frames.iter().map(|f| f.data.len() as u64).sum()
}

/// mp4-atom building the moof weir writes (a traf per track with per-sample duration,
/// size, flags and composition offsets) and, with `copy`, the mdat after it.
fn atom_fragment(tracks: &[TrackInfo], frames: &[Frame], seq: u32, copy: bool) -> Vec<u8> {
    let mut trafs = Vec::new();
    let mut data = Vec::new();
    for (ti, t) in tracks.iter().enumerate() {
        let mine: Vec<&Frame> = frames.iter().filter(|f| f.track == t.id).collect();
        let mut entries = Vec::with_capacity(mine.len());
        for (i, f) in mine.iter().enumerate() {
            let next = mine
                .get(i + 1)
                .map_or(f.dts.ticks() + 1024, |n| n.dts.ticks());
            entries.push(mp4_atom::TrunEntry {
                duration: Some((next - f.dts.ticks()) as u32),
                size: Some(f.data.len() as u32),
                flags: Some(if f.keyframe { 0x0200_0000 } else { 0x0101_0000 }),
                cts: Some(f.composition_offset()),
            });
            if copy {
                data.extend_from_slice(&f.data);
            }
        }
        trafs.push(mp4_atom::Traf {
            tfhd: mp4_atom::Tfhd {
                track_id: ti as u32 + 1,
                default_base_is_moof: true,
                ..Default::default()
            },
            tfdt: Some(mp4_atom::Tfdt {
                base_media_decode_time: mine[0].dts.ticks() as u64,
            }),
            trun: vec![mp4_atom::Trun {
                data_offset: Some(0),
                samples: mp4_atom::TrunSamples::Explicit(entries),
            }],
            ..Default::default()
        });
    }
    let moof = mp4_atom::Moof {
        mfhd: mp4_atom::Mfhd {
            sequence_number: seq,
        },
        traf: trafs,
    };
    let mut out = Vec::with_capacity(data.len() + 4096);
    moof.encode(&mut out).unwrap();
    if copy {
        // The mdat as weir writes it: a header, then the payloads appended.
        mp4_atom::Header {
            kind: mp4_atom::FourCC::new(b"mdat"),
            size: Some(data.len()),
        }
        .encode(&mut out)
        .unwrap();
        out.extend_from_slice(&data);
    }
    out
}

/// One fragment from a long-lived muxer (as in a live stream): the frames shifted by
/// `iteration` fragments' worth of time, pushed, flushed.
fn weir_fragment(mux: &mut FragmentedMuxer, frames: &[Frame], iteration: i64, copy: bool) -> usize {
    for f in frames {
        let mut f = f.clone();
        let shift = iteration * i64::from(f.dts.timebase().den()) * 2; // 2 s per fragment
        f.dts = Timestamp::new(f.dts.ticks() + shift, f.dts.timebase());
        f.pts = Timestamp::new(f.pts.ticks() + shift, f.pts.timebase());
        mux.push(f).unwrap();
    }
    let frag = mux.finish().unwrap().unwrap();
    if copy {
        black_box(frag.to_bytes()).len()
    } else {
        black_box(frag.header()).len()
    }
}

fn mux_fragment(c: &mut Criterion) {
    let tracks = tracks();
    let frames = frames(2);
    // The whole fragment as one buffer (payloads copied in).
    let mut g = c.benchmark_group("mux_fragment");
    g.throughput(Throughput::Bytes(payload_bytes(&frames)));
    g.bench_function("weir-mp4", |b| {
        let mut mux = FragmentedMuxer::new(&tracks, FragmentConfig::default()).unwrap();
        let mut i = 0;
        b.iter(|| {
            i += 1;
            weir_fragment(&mut mux, &frames, i, true)
        })
    });
    g.bench_function("mp4-atom", |b| {
        b.iter(|| black_box(atom_fragment(&tracks, &frames, 1, true)))
    });
    g.finish();
    // The muxing work alone: weir's moof + mdat header (payloads stay shared `Bytes`) vs
    // mp4-atom encoding the same moof.
    let mut g = c.benchmark_group("mux_fragment_moof_only");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("weir-mp4", |b| {
        let mut mux = FragmentedMuxer::new(&tracks, FragmentConfig::default()).unwrap();
        let mut i = 0;
        b.iter(|| {
            i += 1;
            weir_fragment(&mut mux, &frames, i, false)
        })
    });
    g.bench_function("mp4-atom", |b| {
        b.iter(|| black_box(atom_fragment(&tracks, &frames, 1, false)))
    });
    g.finish();
}

fn weir_progressive(tracks: &[TrackInfo], frames: &[Frame]) -> Vec<u8> {
    let mut mux = ProgressiveMuxer::new(tracks, ProgressiveConfig::default()).unwrap();
    let mut out = Vec::with_capacity(payload_bytes(frames) as usize + 65536);
    out.extend_from_slice(&mux.header());
    for f in frames {
        out.extend_from_slice(&mux.write_frame(f.clone()).unwrap());
    }
    let fin = mux.finish().unwrap();
    for p in &fin.patches {
        let at = p.offset as usize;
        out[at..at + p.bytes.len()].copy_from_slice(&p.bytes);
    }
    out.extend_from_slice(&fin.moov);
    out
}

fn weir_fragmented(tracks: &[TrackInfo], frames: &[Frame]) -> Vec<u8> {
    let mut mux = FragmentedMuxer::new(tracks, FragmentConfig::default()).unwrap();
    let mut out = mux.init_segment().to_vec();
    for f in frames {
        if let Some(frag) = mux
            .push_and_cut(f.clone(), Cut::at_keyframes(Duration::from_secs(1)))
            .unwrap()
        {
            out.extend_from_slice(&frag.to_bytes());
        }
    }
    out.extend_from_slice(&mux.finish().unwrap().unwrap().to_bytes());
    out
}

fn mux_progressive(c: &mut Criterion) {
    let tracks = tracks();
    let frames = frames(10);
    let mut g = c.benchmark_group("mux_progressive");
    g.throughput(Throughput::Bytes(payload_bytes(&frames)));
    g.bench_function("weir-mp4", |b| {
        b.iter(|| black_box(weir_progressive(&tracks, &frames)))
    });
    g.bench_function("mp4", |b| {
        b.iter(|| {
            let config = mp4::Mp4Config {
                major_brand: "isom".parse().unwrap(),
                minor_version: 512,
                compatible_brands: vec!["isom".parse().unwrap(), "mp41".parse().unwrap()],
                timescale: 1000,
            };
            let out = Cursor::new(Vec::with_capacity(payload_bytes(&frames) as usize + 65536));
            let mut w = mp4::Mp4Writer::write_start(out, &config).unwrap();
            let mut video = mp4::TrackConfig::from(mp4::AvcConfig {
                width: 64,
                height: 64,
                seq_param_set: SPS.to_vec(),
                pic_param_set: PPS.to_vec(),
            });
            video.timescale = 90_000;
            w.add_track(&video).unwrap();
            let mut audio = mp4::TrackConfig::from(mp4::AacConfig {
                bitrate: 128_000,
                profile: mp4::AudioObjectType::AacLowComplexity,
                freq_index: mp4::SampleFreqIndex::Freq48000,
                chan_conf: mp4::ChannelConfig::Stereo,
            });
            audio.timescale = 48_000;
            w.add_track(&audio).unwrap();
            let mut next = [0u64; 2];
            for (i, f) in frames.iter().enumerate() {
                let t = f.track.0 as usize;
                let following = frames[i + 1..].iter().find(|n| n.track == f.track);
                let dur = following.map_or(1024, |n| n.dts.ticks() - f.dts.ticks()) as u32;
                w.write_sample(
                    t as u32 + 1,
                    &mp4::Mp4Sample {
                        start_time: next[t],
                        duration: dur,
                        rendering_offset: f.composition_offset() as i32,
                        is_sync: f.keyframe,
                        bytes: f.data.clone(),
                    },
                )
                .unwrap();
                next[t] += u64::from(dur);
            }
            w.write_end().unwrap();
            black_box(w.into_writer());
        })
    });
    g.finish();
}

/// mp4-atom reading a file the way its docs advise for large files: every box header,
/// `mdat` bodies skipped (sliced), every other box decoded.
fn atom_walk(file: &[u8]) -> usize {
    use mp4_atom::DecodeAtom;
    let mut buf: &[u8] = file;
    let mut n = 0;
    while !buf.is_empty() {
        let h = mp4_atom::Header::decode(&mut buf).unwrap();
        let size = h.size.unwrap_or(buf.len());
        let (body, rest) = buf.split_at(size);
        if h.kind == mp4_atom::FourCC::new(b"mdat") {
            n += body.len();
        } else {
            let mut b = body;
            black_box(mp4_atom::Any::decode_atom(&h, &mut b).unwrap());
        }
        buf = rest;
    }
    n
}

fn demux(c: &mut Criterion) {
    let tracks = tracks();
    let frames = frames(10);
    let file = Bytes::from(weir_progressive(&tracks, &frames));
    let mut g = c.benchmark_group("demux_progressive");
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("weir-mp4", |b| {
        b.iter(|| {
            let mut d = MemoryDemuxer::new(file.clone(), DemuxConfig::default()).unwrap();
            let mut n = 0usize;
            while let Some(f) = d.next_frame().unwrap() {
                n += f.data.len();
            }
            black_box(n)
        })
    });
    g.bench_function("mp4", |b| {
        b.iter(|| {
            let mut r =
                mp4::Mp4Reader::read_header(Cursor::new(&file[..]), file.len() as u64).unwrap();
            let mut n = 0usize;
            for id in [1u32, 2] {
                let count = r.sample_count(id).unwrap();
                for s in 1..=count {
                    n += r.read_sample(id, s).unwrap().unwrap().bytes.len();
                }
            }
            black_box(n)
        })
    });
    g.bench_function("weir-mp4 (index only)", |b| {
        b.iter(|| black_box(MemoryDemuxer::new(file.clone(), DemuxConfig::default()).unwrap()))
    });
    g.bench_function("mp4-atom (boxes only)", |b| {
        b.iter(|| black_box(atom_walk(&file)))
    });
    g.finish();

    let file = Bytes::from(weir_fragmented(&tracks, &frames));
    let mut g = c.benchmark_group("demux_fragmented");
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("weir-mp4 (index only)", |b| {
        b.iter(|| {
            // Seeking past the end reads every moof (not the samples) to index fragments.
            let mut d = MemoryDemuxer::new(file.clone(), DemuxConfig::default()).unwrap();
            black_box(d.seek(Duration::from_secs(3600)).unwrap())
        })
    });
    g.bench_function("weir-mp4", |b| {
        b.iter(|| {
            let mut d = MemoryDemuxer::new(file.clone(), DemuxConfig::default()).unwrap();
            let mut n = 0usize;
            while let Some(f) = d.next_frame().unwrap() {
                n += f.data.len();
            }
            black_box(n)
        })
    });
    g.bench_function("mp4-atom (boxes only)", |b| {
        b.iter(|| black_box(atom_walk(&file)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30);
    targets = mux_fragment, mux_progressive, demux
}
criterion_main!(benches);
