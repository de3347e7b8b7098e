//! Fragment cutting (GOPs, LL-HLS parts), `styp`/`sidx`, muxer errors, and hostile files
//! rejected with errors within limits.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_mp4::boxes::{Children, FourCc};
use weir_mp4::{
    Cut, DemuxConfig, Error, FragmentConfig, FragmentedMuxer, MemoryDemuxer, ProgressiveConfig,
    ProgressiveMuxer,
};

const SPS: &[u8] = &[
    0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x04, 0x26, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00,
    0x03, 0x00, 0xc8, 0x3c, 0x48, 0x99, 0x20,
];
const PPS: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];

fn video() -> TrackInfo {
    let avcc = weir_h264::AvcConfig::from_parameter_sets(
        &[Bytes::from_static(SPS)],
        &[Bytes::from_static(PPS)],
    )
    .unwrap()
    .to_bytes();
    TrackInfo::new(TrackId(0), Codec::H264, 90_000).with_config(avcc)
}

fn aac() -> TrackInfo {
    TrackInfo::new(TrackId(1), Codec::Aac, 48_000).with_config(Bytes::from_static(&[0x11, 0x90]))
}

/// 25 fps video with a keyframe every `gop` frames, and AAC, interleaved by time.
fn stream(secs: i64, gop: i64) -> Vec<Frame> {
    let mut v = Vec::new();
    for i in 0..secs * 25 {
        let t = Timestamp::new(i * 3600, Timebase::MPEG);
        v.push(
            Frame::new(TrackId(0), t, t, Bytes::from(vec![i as u8; 100]))
                .with_keyframe(i % gop == 0),
        );
    }
    let tb = Timebase::hz(48_000).unwrap();
    for i in 0..secs * 48_000 / 1024 {
        let t = Timestamp::new(i * 1024, tb);
        v.push(Frame::new(TrackId(1), t, t, Bytes::from(vec![1; 20])).with_keyframe(true));
    }
    v.sort_by(|a, b| a.dts.cmp_instant(b.dts));
    v
}

#[test]
fn fragments_per_gop_start_with_keyframes() {
    let mut mux = FragmentedMuxer::new(&[video(), aac()], FragmentConfig::default()).unwrap();
    let mut frags = Vec::new();
    for f in stream(6, 25) {
        if let Some(frag) = mux
            .push_and_cut(f, Cut::at_keyframes(Duration::from_millis(1500)))
            .unwrap()
        {
            frags.push(frag);
        }
    }
    frags.extend(mux.finish().unwrap());
    // Keyframes every second, at least 1.5 s per fragment: cuts at 2 s, 4 s.
    let starts: Vec<f64> = frags.iter().map(|f| f.start.as_secs_f64()).collect();
    assert_eq!(starts, [0.0, 2.0, 4.0]);
    assert!(frags.iter().all(|f| f.independent));
    assert_eq!(frags[0].duration(), Duration::from_secs(2));
    assert_eq!(
        frags.iter().map(|f| f.sequence).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn ll_hls_parts_are_independent_only_at_keyframes() {
    let mut mux = FragmentedMuxer::new(&[video(), aac()], FragmentConfig::default()).unwrap();
    let mut parts = Vec::new();
    for f in stream(4, 50) {
        if let Some(p) = mux
            .push_and_cut(f, Cut::every(Duration::from_millis(200)))
            .unwrap()
        {
            parts.push(p);
        }
    }
    assert_eq!(parts.len(), 19); // 4 s of 200 ms parts; the last stays queued
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p.duration(), Duration::from_millis(200), "part {i}");
        assert_eq!(p.independent, i % 10 == 0, "part {i}"); // a keyframe every 2 s
    }
}

#[test]
fn styp_and_sidx_lead_each_fragment() {
    let mut config = FragmentConfig::default();
    config.styp = true;
    config.sidx = true;
    let mut mux = FragmentedMuxer::new(&[video()], config).unwrap();
    for f in stream(1, 25).into_iter().filter(|f| f.track == TrackId(0)) {
        mux.push(f).unwrap();
    }
    let frag = mux.finish().unwrap().unwrap();
    let bytes = frag.to_bytes();
    let kids: Vec<_> = Children::new(&bytes, 0).map(Result::unwrap).collect();
    let kinds: Vec<FourCc> = kids.iter().map(|c| c.fourcc).collect();
    assert_eq!(
        kinds,
        [
            FourCc(*b"styp"),
            FourCc(*b"sidx"),
            FourCc(*b"moof"),
            FourCc(*b"mdat")
        ]
    );
    // sidx references exactly the moof + mdat that follow (§8.16.3).
    let sidx = kids[1].body;
    let referenced = u32::from_be_bytes(sidx[32..36].try_into().unwrap()) & 0x7FFF_FFFF;
    let moof_mdat = bytes.len() as u64 - kids[2].offset;
    assert_eq!(u64::from(referenced), moof_mdat);
    let duration = u32::from_be_bytes(sidx[36..40].try_into().unwrap());
    assert_eq!(duration, 90_000);
    assert_eq!(sidx[40] & 0x80, 0x80, "starts with SAP");
}

#[test]
fn muxer_errors() {
    let mut mux = FragmentedMuxer::new(&[video()], FragmentConfig::default()).unwrap();
    let t = |n| Timestamp::new(n, Timebase::MPEG);
    let f = |n| {
        Frame::new(
            TrackId(0),
            t(n),
            t(n),
            Bytes::from_static(&[0, 0, 0, 1, 0x65]),
        )
    };
    mux.push(f(3000)).unwrap();
    assert!(matches!(
        mux.push(f(0)),
        Err(Error::NonMonotonicDts {
            previous: 3000,
            dts: 0,
            ..
        })
    ));
    mux.push(f(6000)).unwrap(); // the rejected frame left no trace
    assert!(matches!(
        mux.push(Frame::new(TrackId(9), t(0), t(0), Bytes::new())),
        Err(Error::UnknownTrack { track: TrackId(9) })
    ));
    let mut mux = FragmentedMuxer::new(&[video()], FragmentConfig::default()).unwrap();
    assert!(matches!(
        mux.push(f(-1)),
        Err(Error::NegativeDecodeTime { .. })
    ));
    assert!(matches!(
        FragmentedMuxer::new(&[video(), video()], FragmentConfig::default()),
        Err(Error::BadTracks { .. })
    ));
    assert!(matches!(
        FragmentedMuxer::new(
            &[TrackInfo::new(TrackId(0), Codec::H264, 90_000)],
            FragmentConfig::default()
        ),
        Err(Error::BadConfig { .. })
    ));
    let mut p = ProgressiveMuxer::new(&[video()], ProgressiveConfig::default()).unwrap();
    p.write_frame(f(0)).unwrap();
    assert!(matches!(
        p.write_frame(f(1 << 33)),
        Err(Error::Overflow {
            field: "sample duration",
            ..
        })
    ));
    p.finish().unwrap();
    assert!(matches!(p.write_frame(f(1)), Err(Error::Finished)));
}

fn small_file() -> Vec<u8> {
    mux_progressive(
        &[video(), aac()],
        &stream(1, 25),
        ProgressiveConfig::default(),
        true,
    )
}

/// Byte offset of the payload of the first `fourcc` box.
fn find(data: &[u8], fourcc: &[u8; 4]) -> usize {
    data.windows(4).position(|w| w == fourcc).unwrap() + 4
}

#[test]
fn hostile_files_give_errors() {
    let base = small_file();
    // A moov over the box-size limit.
    let mut cfg = DemuxConfig::default();
    cfg.max_box_size = 100;
    assert!(matches!(
        MemoryDemuxer::new(Bytes::from(base.clone()), cfg),
        Err(Error::BoxTooLarge { limit: 100, .. })
    ));
    // A sample count over the limit (constant size, so a tiny stsz declares 4 G samples).
    let mut f = base.clone();
    let stsz = find(&f, b"stsz");
    f[stsz + 4..stsz + 8].copy_from_slice(&1u32.to_be_bytes());
    f[stsz + 8..stsz + 12].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        MemoryDemuxer::new(Bytes::from(f), DemuxConfig::default()),
        Err(Error::LimitExceeded {
            what: "samples",
            ..
        })
    ));
    // An stts that claims more entries than the box holds.
    let mut f = base.clone();
    let stts = find(&f, b"stts");
    f[stts + 4..stts + 8].copy_from_slice(&0x1000_0000u32.to_be_bytes());
    assert!(matches!(
        MemoryDemuxer::new(Bytes::from(f), DemuxConfig::default()),
        Err(Error::Truncated { .. })
    ));
    // A child box larger than its parent.
    let mut f = base.clone();
    let trak = find(&f, b"trak") - 8;
    f[trak..trak + 4].copy_from_slice(&0x7000_0000u32.to_be_bytes());
    assert!(MemoryDemuxer::new(Bytes::from(f), DemuxConfig::default()).is_err());
    // No moov at all.
    assert!(matches!(
        MemoryDemuxer::new(
            Bytes::from_static(&[0, 0, 0, 8, b'f', b'r', b'e', b'e']),
            DemuxConfig::default()
        ),
        Err(Error::NoMovie { offset: 8 })
    ));
    // A chunk offset pointing past the end of the file.
    let mut f = base;
    let stco = find(&f, b"stco");
    f[stco + 8..stco + 12].copy_from_slice(&0xFFFF_0000u32.to_be_bytes());
    let mut d = MemoryDemuxer::new(Bytes::from(f), DemuxConfig::default()).unwrap();
    let mut result = Ok(None);
    for _ in 0..1000 {
        result = d.next_frame();
        if !matches!(result, Ok(Some(_))) {
            break;
        }
    }
    assert!(
        matches!(
            result,
            Err(Error::Truncated {
                field: "sample",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn sans_io_rejects_answers_to_questions_not_asked() {
    let mut d = weir_mp4::Demuxer::default();
    assert_eq!(d.poll_read().map(|r| r.offset), Some(0));
    assert!(matches!(
        d.handle_data(5, Bytes::new()),
        Err(Error::UnexpectedData {
            offset: 5,
            expected: Some(0)
        })
    ));
}

#[test]
fn progressive_durations_equal_the_media() {
    let file = small_file();
    let (tracks, frames) = demux_mp4(file.clone());
    assert_eq!(tracks.len(), 2);
    let d = MemoryDemuxer::new(Bytes::from(file), DemuxConfig::default()).unwrap();
    // 25 frames of 40 ms (the last one's length from the previous step): exactly 1 s of
    // video, longer than the AAC (46 frames of 1024 at 48 kHz); the movie is as long as
    // its longest track.
    let movie = d.demuxer().duration().unwrap();
    assert_eq!(movie, Duration::from_secs(1));
    assert_eq!(frames.iter().filter(|f| f.track == TrackId(0)).count(), 25);
}
