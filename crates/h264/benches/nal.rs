//! Annex B scanning / conversion and SPS parsing, Weir vs `h264-reader` vs raw `memchr`,
//! in the same groups so the numbers are ratios from one run.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use h264_reader::nal::Nal;
use weir_h264::nal;

/// 8 MiB of Annex B: NAL units of 200 B – 60 KiB of pseudo-random payload (like entropy-coded
/// slices), emulation prevention applied, alternating 4- and 3-byte start codes.
fn stream() -> Bytes {
    let mut out = Vec::with_capacity(8 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut i = 0;
    while out.len() < 8 << 20 {
        let len = 200 + (next() % 60_000) as usize;
        let mut rbsp: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        rbsp[0] = if i % 30 == 0 { 0x65 } else { 0x41 };
        if let Some(last) = rbsp.last_mut() {
            *last |= 1;
        }
        if i % 2 == 0 {
            out.extend_from_slice(&[0, 0, 0, 1]);
        } else {
            out.extend_from_slice(&[0, 0, 1]);
        }
        nal::insert_emulation_prevention(&rbsp, &mut out);
        i += 1;
    }
    Bytes::from(out)
}

fn scan(c: &mut Criterion) {
    let data = stream();
    let mut g = c.benchmark_group("annexb_scan_8MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("memchr_memmem_000001", |b| {
        let finder = memchr::memmem::Finder::new(&[0, 0, 1]);
        b.iter(|| black_box(finder.find_iter(&data).count()))
    });
    g.bench_function("weir_find_start_code", |b| {
        b.iter(|| {
            let mut n = 0;
            let mut at = 0;
            while let Some(p) = nal::find_start_code(&data, at) {
                n += 1;
                at = p + 3;
            }
            black_box(n)
        })
    });
    g.bench_function("weir_annexb_nalus", |b| {
        b.iter(|| black_box(nal::annexb_nalus(&data).count()))
    });
    g.bench_function("weir_splitter_64k_pushes", |b| {
        b.iter(|| {
            let mut s = nal::AnnexBSplitter::new(1 << 20);
            let mut n = 0;
            for chunk in data.chunks(64 * 1024) {
                s.push(chunk);
                while let Ok(Some(_)) = s.next_nal() {
                    n += 1;
                }
            }
            n += usize::from(s.finish().is_some());
            black_box(n)
        })
    });
    g.bench_function("h264_reader_annexb", |b| {
        b.iter(|| {
            let mut n = 0usize;
            let mut r = h264_reader::annexb::AnnexBReader::accumulate(
                |_nal: h264_reader::nal::RefNal<'_>| {
                    n += 1;
                    h264_reader::push::NalInterest::Ignore
                },
            );
            r.push(&data);
            r.reset();
            drop(r);
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("annexb_to_avcc_8MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    let mut out = BytesMut::with_capacity(data.len() + 4096);
    g.bench_function("weir_annexb_to_length_prefixed", |b| {
        b.iter(|| {
            out.clear();
            nal::annexb_to_length_prefixed(&data, 4, &mut out).unwrap();
            black_box(out.len())
        })
    });
    let mut avcc = BytesMut::new();
    nal::annexb_to_length_prefixed(&data, 4, &mut avcc).unwrap();
    let avcc = avcc.freeze();
    let mut back = BytesMut::with_capacity(data.len() + 4096);
    g.bench_function("weir_length_prefixed_to_annexb", |b| {
        b.iter(|| {
            back.clear();
            nal::length_prefixed_to_annexb(&avcc, 4, &mut back).unwrap();
            black_box(back.len())
        })
    });
    g.bench_function("memcpy_baseline", |b| {
        b.iter(|| {
            back.clear();
            back.extend_from_slice(&data);
            black_box(back.len())
        })
    });
    g.finish();
}

fn access_units(c: &mut Criterion) {
    let data = stream();
    let mut g = c.benchmark_group("access_units_8MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("weir_annexb_access_units_64k_pushes", |b| {
        b.iter(|| {
            let mut r = weir_h264::AnnexBAccessUnits::new();
            let mut n = 0;
            for chunk in data.chunks(64 * 1024) {
                r.push(chunk);
                while let Ok(Some(au)) = r.poll() {
                    n += au.nal_count;
                }
            }
            r.finish();
            while let Ok(Some(au)) = r.poll() {
                n += au.nal_count;
            }
            black_box(n)
        })
    });
    g.bench_function("h264_reader_annexb_buffered", |b| {
        // h264-reader has no access-unit assembly; its closest work is accumulating every
        // NAL unit whole (NalInterest::Buffer) and looking at each one's header.
        b.iter(|| {
            let mut n = 0usize;
            let mut r = h264_reader::annexb::AnnexBReader::accumulate(
                |nal: h264_reader::nal::RefNal<'_>| {
                    if nal.is_complete() {
                        n += usize::from(nal.header().is_ok());
                    }
                    h264_reader::push::NalInterest::Buffer
                },
            );
            for chunk in data.chunks(64 * 1024) {
                r.push(chunk);
            }
            r.reset();
            drop(r);
            black_box(n)
        })
    });
    g.finish();
}

const SPS: &[(&str, &[u8])] = &[
    (
        "baseline_320x240",
        &[
            0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
            0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
        ],
    ),
    (
        "high_1080p",
        &[
            0x67, 0x64, 0x00, 0x28, 0xac, 0xb4, 0x03, 0xc0, 0x11, 0x3f, 0x2e, 0x02, 0x20, 0x00,
            0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x06, 0x41, 0xe3, 0x06, 0x54,
        ],
    ),
];

fn sps(c: &mut Criterion) {
    let mut g = c.benchmark_group("h264_sps_parse");
    for (name, bytes) in SPS {
        let ours = weir_h264::Sps::parse(bytes).unwrap();
        let theirs = h264_reader::nal::sps::SeqParameterSet::from_bits(
            h264_reader::nal::RefNal::new(bytes, &[], true).rbsp_bits(),
        )
        .unwrap();
        assert_eq!(
            theirs.pixel_dimensions().unwrap(),
            (ours.width(), ours.height())
        );
        g.bench_with_input(BenchmarkId::new("weir", name), bytes, |b, bytes| {
            b.iter(|| black_box(weir_h264::Sps::parse(bytes).unwrap().width()))
        });
        g.bench_with_input(BenchmarkId::new("h264_reader", name), bytes, |b, bytes| {
            b.iter(|| {
                let nal = h264_reader::nal::RefNal::new(bytes, &[], true);
                let sps =
                    h264_reader::nal::sps::SeqParameterSet::from_bits(nal.rbsp_bits()).unwrap();
                black_box(sps.pic_width_in_mbs())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, scan, access_units, sps);
criterion_main!(benches);
