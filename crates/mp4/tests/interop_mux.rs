//! Files written by weir-mp4 from ffmpeg-made sources, checked by ffprobe/ffmpeg: stream
//! parameters, packet counts, decoded pictures and sound equal to the source's.

mod common;

use common::*;
use weir_media::{Codec, MediaKind, TrackInfo};
use weir_mp4::{FragmentConfig, ParameterSets, ProgressiveConfig};
use weir_testutil::{decoded_video_md5, interop_or_skip, TempDir};

#[derive(Copy, Clone, Debug, PartialEq)]
enum Layout {
    Fragmented,
    FragmentedInBand,
    MoovAtEnd,
    FastStart,
}

const ALL: [Layout; 4] = [
    Layout::Fragmented,
    Layout::FragmentedInBand,
    Layout::MoovAtEnd,
    Layout::FastStart,
];

/// Makes `source.ts` with ffmpeg, demuxes it with weir-mpegts, muxes it with weir-mp4 in
/// every layout and checks each file against the source.
fn check(name: &str, ffmpeg_args: &str, expect: &[(&str, &str)], audio_md5: bool) {
    let dir = TempDir::new(name);
    let src = dir.join("source.ts");
    ffmpeg(&format!("{ffmpeg_args} -f mpegts {}", src.display()));
    let (tracks, frames) = demux_ts(&src);
    assert!(!frames.is_empty());
    let src_video = tracks
        .iter()
        .any(|t| t.codec.kind() == MediaKind::Video)
        .then(|| decoded_video_md5(&src, &[]));
    let src_audio = audio_md5.then(|| decoded_audio_md5(&src));
    for layout in ALL {
        let data = match layout {
            Layout::Fragmented => mux_fragmented(&tracks, &frames, FragmentConfig::default(), 1000),
            Layout::FragmentedInBand => {
                let mut c = FragmentConfig::default();
                c.parameter_sets = ParameterSets::InBand;
                c.styp = true;
                c.sidx = true;
                mux_fragmented(&tracks, &frames, c, 0)
            }
            Layout::MoovAtEnd => {
                mux_progressive(&tracks, &frames, ProgressiveConfig::default(), false)
            }
            Layout::FastStart => {
                mux_progressive(&tracks, &frames, ProgressiveConfig::default(), true)
            }
        };
        let out = dir.join(&format!("{layout:?}.mp4"));
        std::fs::write(&out, &data).unwrap();
        decodes_clean(&out);
        for (i, t) in tracks.iter().enumerate() {
            let n = frames.iter().filter(|f| f.track == t.id).count();
            assert_eq!(
                packet_count(&out, i),
                n,
                "{layout:?}: packets of stream {i} ({})",
                t.codec
            );
        }
        for (key, want) in expect {
            let (idx, key) = key.split_once(':').unwrap();
            if key == "codec_tag_string" && layout == Layout::FragmentedInBand {
                continue; // avc3 / hev1 there
            }
            let got = stream(&out, idx.parse().unwrap(), key);
            assert_eq!(
                got.get(key).map(String::as_str),
                Some(*want),
                "{layout:?}: stream {idx} {key}"
            );
        }
        if matches!(layout, Layout::MoovAtEnd | Layout::FastStart) {
            // Each track lasts as long as its media: first DTS to last DTS plus one frame.
            for (i, t) in tracks.iter().enumerate() {
                let mine = frames_of(&frames, t.id);
                let first = mine.first().unwrap().dts.as_secs_f64();
                let last = mine.last().unwrap().dts.as_secs_f64();
                let step = last - mine[mine.len() - 2].dts.as_secs_f64();
                let got: f64 = stream(&out, i, "duration")["duration"].parse().unwrap();
                let want = last - first + step;
                assert!(
                    (got - want).abs() <= step * 1.01,
                    "{layout:?} stream {i}: duration {got}, media {want}"
                );
            }
        }
        if let Some(want) = &src_video {
            assert_eq!(
                &decoded_video_md5(&out, &[]),
                want,
                "{layout:?}: decoded pictures"
            );
        }
        if let Some(want) = &src_audio {
            assert_eq!(&decoded_audio_md5(&out), want, "{layout:?}: decoded sound");
        }
        // And weir's own demuxer gives back the frames.
        let (back_tracks, back) = demux_mp4(data);
        assert_eq!(back_tracks.len(), tracks.len());
        for (a, b) in tracks.iter().zip(&back_tracks) {
            assert_same_track(a, b);
            let want = frames_of(&frames, a.id);
            let got = frames_of(&back, b.id);
            assert_eq!(got.len(), want.len());
            for (x, y) in want.iter().zip(&got) {
                assert_eq!(x.data, y.data, "{layout:?} payload");
                let tb = y.dts.timebase();
                assert_eq!(x.dts.rescale(tb), y.dts, "{layout:?} dts");
                assert_eq!(x.pts.rescale(tb), y.pts, "{layout:?} pts");
            }
        }
    }
}

fn assert_same_track(a: &TrackInfo, b: &TrackInfo) {
    assert_eq!(a.codec, b.codec);
    assert_eq!(a.clock_rate, b.clock_rate);
    if !a.config.is_empty() {
        assert_eq!(a.config, b.config, "{} config", a.codec);
    }
    if a.codec.kind() == MediaKind::Audio && a.codec != Codec::Aac {
        return;
    }
    if let (Some(x), Some(y)) = (a.audio, b.audio) {
        assert_eq!(x, y);
    }
}

#[test]
fn h264_bframes_aac() {
    interop_or_skip!();
    check(
        "mp4-h264-aac",
        "-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
         -t 3 -c:v libx264 -bf 2 -g 25 -pix_fmt yuv420p -c:a aac -b:a 96k -ac 2",
        &[
            ("0:codec_name", "h264"),
            ("0:width", "320"),
            ("0:height", "240"),
            ("0:has_b_frames", "2"),
            ("1:codec_name", "aac"),
            ("1:sample_rate", "48000"),
            ("1:channels", "2"),
        ],
        true,
    );
}

#[test]
fn h265_aac() {
    interop_or_skip!();
    check(
        "mp4-h265-aac",
        "-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 \
         -t 2 -c:v libx265 -x265-params log-level=error:bframes=3:keyint=25 -pix_fmt yuv420p -c:a aac -ac 1",
        &[
            ("0:codec_name", "hevc"),
            ("0:codec_tag_string", "hvc1"),
            ("0:width", "320"),
            ("0:height", "240"),
            ("1:codec_name", "aac"),
            ("1:sample_rate", "44100"),
            ("1:channels", "1"),
        ],
        true,
    );
}

#[test]
fn h264_opus() {
    interop_or_skip!();
    check(
        "mp4-h264-opus",
        "-f lavfi -i testsrc2=size=160x120:rate=30 -f lavfi -i sine=frequency=300:sample_rate=48000 \
         -t 2 -c:v libx264 -bf 0 -g 30 -pix_fmt yuv420p -c:a libopus -b:a 64k -ac 2",
        &[
            ("0:codec_name", "h264"),
            ("1:codec_name", "opus"),
            ("1:sample_rate", "48000"),
            ("1:channels", "2"),
        ],
        true,
    );
}
