//! Property tests: mux → demux gives back every frame (payload, PTS, DTS, keyframe flag)
//! and every track, for fragmented and progressive (moov last / faststart) files with
//! random frame sizes, durations, composition offsets, keyframes, cut points and holes.

mod common;

use bytes::Bytes;
use common::*;
use proptest::prelude::*;
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_mp4::{FragmentConfig, FragmentedMuxer, ProgressiveConfig, ProgressiveMuxer};

const SPS: &[u8] = &[
    0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x04, 0x26, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00,
    0x03, 0x00, 0xc8, 0x3c, 0x48, 0x99, 0x20,
];
const PPS: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];

fn video_track(id: u32) -> TrackInfo {
    let avcc = weir_h264::AvcConfig::from_parameter_sets(
        &[Bytes::from_static(SPS)],
        &[Bytes::from_static(PPS)],
    )
    .unwrap()
    .to_bytes();
    TrackInfo::new(TrackId(id), Codec::H264, 90_000).with_config(avcc)
}

fn audio_track(id: u32, kind: u8) -> TrackInfo {
    match kind % 3 {
        0 => TrackInfo::new(TrackId(id), Codec::Aac, 44_100)
            .with_config(Bytes::from_static(&[0x12, 0x10])),
        1 => TrackInfo::new(TrackId(id), Codec::Opus, 48_000).with_audio(AudioParams {
            sample_rate: 48_000,
            channels: 2,
        }),
        _ => TrackInfo::new(TrackId(id), Codec::G711U, 8_000).with_audio(AudioParams {
            sample_rate: 8_000,
            channels: 1,
        }),
    }
}

/// One track's frames: (size, DTS step, composition offset, keyframe).
type Spec = Vec<(usize, u32, u32, bool)>;

fn frames_for(track: &TrackInfo, start_ms: i64, spec: &Spec, video: bool) -> Vec<Frame> {
    let tb = Timebase::hz(track.clock_rate).unwrap();
    let mut dts = start_ms * i64::from(track.clock_rate) / 1000;
    let mut out = Vec::new();
    for (i, (size, step, cto, key)) in spec.iter().enumerate() {
        let data: Bytes = (0..*size)
            .map(|b| (b * 7 + i) as u8)
            .collect::<Vec<_>>()
            .into();
        let cto = if video { i64::from(*cto) } else { 0 };
        let f = Frame::new(
            track.id,
            Timestamp::new(dts + cto, tb),
            Timestamp::new(dts, tb),
            data,
        )
        .with_keyframe(!video || i == 0 || *key);
        out.push(f);
        dts += i64::from(*step);
    }
    out
}

/// Interleaves per-track frame lists by decode time (what a live source delivers).
fn interleave(tracks: Vec<Vec<Frame>>) -> Vec<Frame> {
    let mut all: Vec<Frame> = tracks.into_iter().flatten().collect();
    all.sort_by(|a, b| a.dts.cmp_instant(b.dts));
    all
}

fn check_back(tracks: &[TrackInfo], frames: &[Frame], data: Vec<u8>) {
    let (back_tracks, back) = demux_mp4(data);
    assert_eq!(back_tracks.len(), tracks.len());
    for (a, b) in tracks.iter().zip(&back_tracks) {
        assert_eq!((a.id, a.codec, a.clock_rate), (b.id, b.codec, b.clock_rate));
        if !a.config.is_empty() {
            assert_eq!(a.config, b.config);
        }
        assert_eq!(
            frames_of(frames, a.id),
            frames_of(&back, b.id),
            "track {:?}",
            a.id
        );
    }
    // Decode order across tracks.
    for w in back.windows(2) {
        assert!(w[0].dts.cmp_instant(w[1].dts).is_le(), "decode order");
    }
}

fn spec(max: usize) -> impl Strategy<Value = Spec> {
    prop::collection::vec(
        (0usize..3000, 1u32..6000, 0u32..20_000, any::<bool>()),
        1..max,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fragmented_roundtrip(
        v in spec(60),
        a in prop::option::of((spec(80), any::<u8>())),
        start_ms in 0i64..100_000,
        cuts in prop::collection::vec(any::<bool>(), 0..140),
        styp in any::<bool>(),
        sidx in any::<bool>(),
    ) {
        let mut tracks = vec![video_track(0)];
        let mut lists = vec![frames_for(&tracks[0], start_ms, &v, true)];
        if let Some((spec, kind)) = &a {
            tracks.push(audio_track(7, *kind));
            lists.push(frames_for(&tracks[1], start_ms, spec, false));
        }
        let frames = interleave(lists);
        let mut config = FragmentConfig::default();
        config.styp = styp;
        config.sidx = sidx;
        let mut mux = FragmentedMuxer::new(&tracks, config).unwrap();
        let mut file = mux.init_segment().to_vec();
        let mut sequence = 0;
        for (i, f) in frames.iter().enumerate() {
            mux.push(f.clone()).unwrap();
            if cuts.get(i).copied().unwrap_or(false) {
                if let Some(frag) = mux.flush_fragment().unwrap() {
                    sequence += 1;
                    prop_assert_eq!(frag.sequence, sequence);
                    prop_assert_eq!(frag.len(), frag.to_bytes().len() as u64);
                    file.extend_from_slice(&frag.to_bytes());
                }
            }
        }
        if let Some(frag) = mux.finish().unwrap() {
            file.extend_from_slice(&frag.to_bytes());
        }
        check_back(&tracks, &frames, file);
    }

    #[test]
    fn progressive_roundtrip(
        v in spec(60),
        a in prop::option::of((spec(80), any::<u8>())),
        start_ms in -2_000i64..100_000,
        holes in prop::collection::vec(prop::option::of(0u64..5000), 0..140),
        faststart in any::<bool>(),
    ) {
        let mut tracks = vec![video_track(3)];
        let mut lists = vec![frames_for(&tracks[0], start_ms, &v, true)];
        if let Some((spec, kind)) = &a {
            tracks.push(audio_track(1, *kind));
            lists.push(frames_for(&tracks[1], start_ms, spec, false));
        }
        let frames = interleave(lists);
        // A movie timescale every track timescale divides: edit lists convert exactly.
        let mut config = ProgressiveConfig::default();
        config.movie_timescale = Some(35_280_000);
        let mut mux = ProgressiveMuxer::new(&tracks, config).unwrap();
        let mut out = mux.header().to_vec();
        for (i, f) in frames.iter().enumerate() {
            if let Some(Some(n)) = holes.get(i) {
                mux.skip(*n).unwrap();
                out.resize(out.len() + *n as usize, 0xEE);
            }
            out.extend_from_slice(&mux.write_frame(f.clone()).unwrap());
        }
        let file = if faststart {
            let fs = mux.finish_faststart().unwrap();
            let mut file = fs.head.to_vec();
            file.extend_from_slice(&out[fs.copy_from as usize..]);
            prop_assert_eq!(out.len() as u64 - fs.copy_from, fs.copy_len);
            file
        } else {
            let fin = mux.finish().unwrap();
            for p in &fin.patches {
                let at = p.offset as usize;
                out[at..at + p.bytes.len()].copy_from_slice(&p.bytes);
            }
            out.extend_from_slice(&fin.moov);
            out
        };
        check_back(&tracks, &frames, file);
    }
}

#[test]
fn faststart_switches_to_co64_when_the_shift_crosses_4gib() {
    let tracks = [video_track(0)];
    let mut mux = ProgressiveMuxer::new(&tracks, ProgressiveConfig::default()).unwrap();
    let t = Timestamp::new(0, Timebase::MPEG);
    mux.write_frame(Frame::new(TrackId(0), t, t, Bytes::from_static(&[0; 10])).with_keyframe(true))
        .unwrap();
    // The next chunk ends up a few bytes under 2^32; the moov moved in front pushes it over.
    mux.skip((1u64 << 32) - mux.position() - 20).unwrap();
    let t = Timestamp::new(3000, Timebase::MPEG);
    mux.write_frame(Frame::new(TrackId(0), t, t, Bytes::from_static(&[0; 10])))
        .unwrap();
    let fs = mux.finish_faststart().unwrap();
    let co64 = fs.head.windows(4).position(|w| w == b"co64").expect("co64");
    let entries = &fs.head[co64 + 8..co64 + 8 + 4 + 16];
    assert_eq!(u32::from_be_bytes(entries[..4].try_into().unwrap()), 2);
    let second = u64::from_be_bytes(entries[12..20].try_into().unwrap());
    let moov_len = fs.head.len() as u64 - fs.copy_from; // ftyp + moov + mdat header - old data start
    assert_eq!(second, (1u64 << 32) - 20 + moov_len);
    assert!(second > u64::from(u32::MAX));
}
