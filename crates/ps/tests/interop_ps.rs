//! Interop with ffmpeg/ffprobe: PS written by ffmpeg (no PSM) demuxed bit-exactly; PS
//! written by weir-ps (with PSM, H.264/H.265 + AAC as GB28181 devices send it) read back by
//! weir-ps and by ffmpeg.

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_ps::{Event, PsMuxer};
use weir_testutil::{decoded_video_md5, probe_stream, TempDir};

const VIDEO: &str = "-f lavfi -i testsrc2=size=320x240:rate=25:duration=2";
const AUDIO: &str = "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=2";
const OPTS: &str = "-g 25 -threads 1 -bitexact";
/// RTP-payload-sized pieces, uneven on purpose.
const RTP_CHUNKS: &[usize] = &[1400, 1400, 900, 1400, 37, 1400];

fn check_ffmpeg_ps(format: &str) {
    let dir = TempDir::new("ps-ffmpeg");
    let ps = dir.join("a.ps");
    ffmpeg_args(&format!(
        "{VIDEO} {AUDIO} {OPTS} -c:v libx264 -bf 0 -c:a mp2 -f {format} {}",
        ps.display()
    ));
    let data = std::fs::read(&ps).unwrap();
    let d = demux_ps(&data, RTP_CHUNKS);
    // ffmpeg's PS muxer writes no PSM: both codecs were inferred from the ES.
    assert!(!d.events.iter().any(|e| matches!(e, Event::Psm(_))));
    let video = ffmpeg_packets(&ps, "0:v", dir.path());
    let got = d.frames_of(Codec::H264);
    assert_eq!(got.len(), video.len(), "video frame count");
    for (i, (g, (_, w))) in got.iter().zip(&video).enumerate() {
        let theirs: Vec<Bytes> = weir_media::nal::annexb_nalus(w).collect();
        assert_eq!(canonical_nals(&g.data), theirs, "video frame {i}");
    }
    let (g0, t0) = (got[0].pts.ticks(), video[0].0.pts);
    for (i, (g, (w, _))) in got.iter().zip(&video).enumerate() {
        assert_eq!(g.pts.ticks() - g0, w.pts - t0, "video pts of frame {i}");
    }
    assert_eq!(got.iter().filter(|f| f.keyframe).count(), 2);
    let info = d.track(Codec::H264);
    assert!(!info.config.is_empty());
    assert_eq!(info.video.map(|v| (v.width, v.height)), Some((320, 240)));
    let audio = ffmpeg_packets(&ps, "0:a", dir.path());
    let got = d.frames_of(Codec::MpegAudio);
    assert_eq!(got.len(), audio.len(), "audio frame count");
    for (i, (g, (_, w))) in got.iter().zip(&audio).enumerate() {
        assert_eq!(&g.data, w, "audio frame {i}");
    }
    let (g0, t0) = (got[0].pts.ticks(), audio[0].0.pts);
    for (i, (g, (w, _))) in got.iter().zip(&audio).enumerate() {
        assert!(
            (g.pts.ticks() - g0 - (w.pts - t0)).abs() <= 1,
            "audio pts of frame {i}"
        );
    }
}

#[test]
fn demux_ffmpeg_vob_h264_mp2_without_psm() {
    weir_testutil::interop_or_skip!();
    check_ffmpeg_ps("vob");
}

#[test]
fn demux_ffmpeg_mpeg1_system_stream_h264_mp2() {
    weir_testutil::interop_or_skip!();
    // `-f mpeg` writes MPEG-1 pack and PES headers.
    check_ffmpeg_ps("mpeg");
}

fn sources(
    dir: &TempDir,
    codec: Codec,
) -> (
    std::path::PathBuf,
    std::path::PathBuf,
    Vec<Frame>,
    TrackInfo,
    TrackInfo,
) {
    let (enc, fmt) = match codec {
        Codec::H264 => ("libx264 -bf 0", "h264"),
        _ => (
            "libx265 -x265-params log-level=none:pools=none:frame-threads=1:bframes=0",
            "hevc",
        ),
    };
    let v = dir.join(&format!("src.{fmt}"));
    let a = dir.join("src.aac");
    ffmpeg_args(&format!(
        "{VIDEO} {OPTS} -c:v {enc} -f {fmt} {}",
        v.display()
    ));
    ffmpeg_args(&format!(
        "{AUDIO} {OPTS} -c:a aac -b:a 64k -f adts {}",
        a.display()
    ));
    let vt = TrackInfo::new(TrackId(0), codec, 90_000);
    let (aus, asc, rate) = split_adts(&Bytes::from(std::fs::read(&a).unwrap()));
    let at = TrackInfo::new(TrackId(1), Codec::Aac, rate)
        .with_config(asc)
        .with_audio(AudioParams {
            sample_rate: rate,
            channels: 1,
        });
    let video = split_annexb(codec, &std::fs::read(&v).unwrap())
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            let t = Timestamp::new(i as i64 * 3600, Timebase::MPEG);
            Frame::new(TrackId(0), t, t, data).with_keyframe(i % 25 == 0)
        });
    let audio = aus.into_iter().enumerate().map(|(i, data)| {
        let t = Timestamp::new(i as i64 * 1024, Timebase::hz(rate).unwrap());
        Frame::new(TrackId(1), t, t, data).with_keyframe(true)
    });
    let mut all: Vec<Frame> = video.chain(audio).collect();
    all.sort_by(|a, b| a.dts.cmp_instant(b.dts));
    (v, a, all, vt, at)
}

fn mux_check(codec: Codec) {
    let dir = TempDir::new("ps-mux");
    let (src_v, src_a, frames, vt, at) = sources(&dir, codec);
    let mut mux = PsMuxer::new(&[vt.clone(), at.clone()], Default::default()).unwrap();
    let mut out = BytesMut::new();
    let mut per_frame = Vec::new();
    for f in &frames {
        let before = out.len();
        mux.write_frame(f, &mut out).unwrap();
        per_frame.push(out.len() - before);
    }
    let ps = dir.join("out.ps");
    std::fs::write(&ps, &out).unwrap();

    // weir-ps reads it back: same frames, PSM present.
    let d = demux_ps(&out, RTP_CHUNKS);
    assert!(d
        .events
        .iter()
        .any(|e| matches!(e, Event::Psm(p) if p.streams.len() == 2)));
    for (track, info) in [(0u32, &vt), (1, &at)] {
        let sent: Vec<&Frame> = frames.iter().filter(|f| f.track.0 == track).collect();
        let got = d.frames_of(info.codec);
        assert_eq!(got.len(), sent.len(), "{} frame count", info.codec);
        for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
            assert_eq!(g.data, s.data, "{} frame {i}", info.codec);
            assert_eq!(
                g.pts.ticks(),
                s.pts.rescale(Timebase::MPEG).ticks(),
                "{} pts {i}",
                info.codec
            );
        }
    }
    assert_eq!(d.track(Codec::Aac).config, at.config);

    // ffmpeg reads it: right streams, same decoded pictures and sound as the sources.
    let name = if codec == Codec::H264 { "h264" } else { "hevc" };
    let v = probe_stream(&ps, "v", "codec_name,width,height");
    assert_eq!(
        v[..3],
        [
            ("codec_name".into(), name.into()),
            ("width".into(), "320".into()),
            ("height".into(), "240".into())
        ]
    );
    let a = probe_stream(&ps, "a", "codec_name,sample_rate,channels");
    assert_eq!(
        a[..3],
        [
            ("codec_name".into(), "aac".into()),
            ("sample_rate".into(), "44100".into()),
            ("channels".into(), "1".into())
        ]
    );
    let ours = decoded_video_md5(&ps, &[]);
    assert_eq!(ours.len(), 50);
    assert_eq!(ours, decoded_video_md5(&src_v, &[]));
    assert_eq!(decoded_audio_md5(&ps), decoded_audio_md5(&src_a));
}

#[test]
fn mux_h265_aac_with_psm_gb28181_style() {
    weir_testutil::interop_or_skip!();
    mux_check(Codec::H265);
}

#[test]
fn mux_h264_aac_with_psm_gb28181_style() {
    weir_testutil::interop_or_skip!();
    mux_check(Codec::H264);
}
