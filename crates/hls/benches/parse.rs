//! Media playlist parse: weir-hls vs m3u8-rs on a Low-Latency HLS playlist (fMP4 parts,
//! server control, preload hint) as a live server writes it.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_hls::MediaPlaylist;

/// Ten 2 s segments, the last three with their 200 ms parts, an open segment, a hint.
fn ll_playlist() -> String {
    let mut s = String::from(
        "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n\
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,PART-HOLD-BACK=0.66\n\
#EXT-X-PART-INF:PART-TARGET=0.22\n#EXT-X-MEDIA-SEQUENCE:100\n#EXT-X-INDEPENDENT-SEGMENTS\n\
#EXT-X-MAP:URI=\"ll7-init0.mp4?session=42\"\n",
    );
    let mut part = 1000;
    for seg in 100..110 {
        s.push_str(&format!(
            "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:{:02}.000Z\n",
            (seg - 100) * 2
        ));
        if seg >= 107 {
            for i in 0..10 {
                let ind = if i == 0 { ",INDEPENDENT=YES" } else { "" };
                s.push_str(&format!(
                    "#EXT-X-PART:DURATION=0.2,URI=\"ll7-p{part}.m4s?session=42\"{ind}\n"
                ));
                part += 1;
            }
        } else {
            part += 10;
        }
        s.push_str(&format!("#EXTINF:2.0,\nll7-s{seg}.m4s?session=42\n"));
    }
    s.push_str("#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:20.000Z\n");
    for i in 0..4 {
        let ind = if i == 0 { ",INDEPENDENT=YES" } else { "" };
        s.push_str(&format!(
            "#EXT-X-PART:DURATION=0.2,URI=\"ll7-p{part}.m4s?session=42\"{ind}\n"
        ));
        part += 1;
    }
    s.push_str(&format!(
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"ll7-p{part}.m4s?session=42\"\n"
    ));
    s
}

fn bench(c: &mut Criterion) {
    let text = ll_playlist();
    let ours = MediaPlaylist::parse(&text).expect("weir-hls parses it");
    assert_eq!(ours.segments.len(), 10);
    match m3u8_rs::parse_media_playlist_res(text.as_bytes()) {
        Ok(p) => assert_eq!(p.segments.len(), 10),
        Err(e) => panic!("m3u8-rs: {e:?}"),
    }
    let mut g = c.benchmark_group("hls_parse_ll_media_playlist");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("weir-hls", |b| {
        b.iter(|| MediaPlaylist::parse(black_box(&text)).unwrap())
    });
    g.bench_function("m3u8-rs", |b| {
        b.iter(|| m3u8_rs::parse_media_playlist_res(black_box(text.as_bytes())).unwrap())
    });
    g.finish();

    let peer = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
    let mut g = c.benchmark_group("hls_write_ll_media_playlist");
    g.bench_function("weir-hls", |b| b.iter(|| black_box(&ours).to_string()));
    g.bench_function("m3u8-rs", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(text.len());
            black_box(&peer).write_to(&mut out).unwrap();
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
