//! ADTS frame iteration: weir-aac vs the `adts-reader` crate on the same buffer, plus
//! ASC/LATM parse costs.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_aac::latm::{write_audio_mux_element, LatmDecoder, StreamMuxConfig};
use weir_aac::{adts_frames, raw_to_adts, AdtsReader, AudioSpecificConfig};

/// 2000 frames of 150..=850 pseudo-random bytes (deterministic LCG).
fn stream() -> (Bytes, usize) {
    let asc = AudioSpecificConfig::lc(48000, 2).unwrap();
    let mut out = BytesMut::new();
    let mut x: u32 = 12345;
    let n = 2000;
    for _ in 0..n {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let len = 150 + (x >> 16) as usize % 700;
        let payload: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31) & 0x7F)
            .collect();
        raw_to_adts(&asc, &payload, &mut out).unwrap();
    }
    (out.freeze(), n)
}

struct Sum(usize);

impl adts_reader::AdtsConsumer for Sum {
    fn new_config(
        &mut self,
        _: adts_reader::MpegVersion,
        _: adts_reader::ProtectionIndicator,
        _: adts_reader::AudioObjectType,
        _: adts_reader::SamplingFrequencyIndex,
        _: u8,
        _: adts_reader::ChannelConfiguration,
        _: adts_reader::Originality,
        _: u8,
    ) {
    }
    fn payload(&mut self, _: adts_reader::BufferFullness, _: u8, buf: &[u8]) {
        self.0 += buf.len();
    }
    fn error(&mut self, _: adts_reader::AdtsParseError) {}
}

fn adts_iteration(c: &mut Criterion) {
    let (data, frames) = stream();
    let mut g = c.benchmark_group("adts_iterate");
    g.throughput(Throughput::Elements(frames as u64));
    g.bench_function("weir_adts_frames", |b| {
        b.iter(|| {
            let mut sum = 0;
            for f in adts_frames(black_box(&data)) {
                let (h, p) = f.unwrap();
                sum += p.len() + usize::from(h.sampling_frequency_index);
            }
            sum
        })
    });
    g.bench_function("weir_adts_frames_ref", |b| {
        b.iter(|| {
            let mut sum = 0;
            for f in weir_aac::adts_frames_ref(black_box(&data)) {
                let (h, p) = f.unwrap();
                sum += p.len() + usize::from(h.sampling_frequency_index);
            }
            sum
        })
    });
    g.bench_function("adts_reader_header_loop", |b| {
        b.iter(|| {
            let mut buf: &[u8] = black_box(&data[..]);
            let mut sum = 0;
            while !buf.is_empty() {
                let h = adts_reader::AdtsHeader::from_bytes(buf).unwrap();
                let len = usize::from(h.frame_length());
                sum += h.payload().unwrap().len() + usize::from(u8::from(h.sampling_frequency()));
                buf = &buf[len..];
            }
            sum
        })
    });
    g.bench_function("weir_adts_reader_push_pop", |b| {
        b.iter(|| {
            let mut r = AdtsReader::new();
            r.push(black_box(&data));
            let mut sum = 0;
            while let Some((_, p)) = r.pop() {
                sum += p.len();
            }
            sum
        })
    });
    g.bench_function("weir_adts_reader_push_bytes_pop", |b| {
        b.iter(|| {
            let mut r = AdtsReader::new();
            r.push_bytes(black_box(&data).clone());
            let mut sum = 0;
            while let Some((_, p)) = r.pop() {
                sum += p.len();
            }
            sum
        })
    });
    g.bench_function("adts_reader_parser_push", |b| {
        b.iter(|| {
            let mut p = adts_reader::AdtsParser::new(Sum(0));
            p.push(black_box(&data));
            p.consumer.0
        })
    });
    g.finish();
}

fn config_parsing(c: &mut Criterion) {
    let mut g = c.benchmark_group("aac_config");
    let asc = [0x12u8, 0x10, 0x56, 0xE5, 0x00];
    g.bench_function("asc_parse", |b| {
        b.iter(|| AudioSpecificConfig::parse(black_box(&asc)).unwrap())
    });
    let smc = StreamMuxConfig::single(AudioSpecificConfig::lc(48000, 2).unwrap());
    let au = vec![0x21u8; 400];
    let mut el = BytesMut::new();
    write_audio_mux_element(&smc, false, false, &[&au], &mut el).unwrap();
    let el = el.freeze();
    let mut dec = LatmDecoder::with_config(smc.clone());
    g.bench_function("latm_decode_cpresent0", |b| {
        b.iter(|| dec.decode(black_box(&el), false).unwrap())
    });
    let mut out = BytesMut::with_capacity(1024);
    g.bench_function("latm_build_cpresent0", |b| {
        b.iter(|| {
            out.clear();
            write_audio_mux_element(&smc, false, false, &[black_box(&au)], &mut out).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, adts_iteration, config_parsing);
criterion_main!(benches);
