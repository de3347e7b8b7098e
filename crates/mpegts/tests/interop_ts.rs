//! Interop with ffmpeg/ffprobe: TS written by ffmpeg demuxed bit-exactly, TS written by
//! weir-mpegts read back by ffmpeg, HLS segments decoding standalone.

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_mpegts::hls::{HlsSegmenter, SegmenterConfig};
use weir_mpegts::{MuxConfig, TsMuxer};
use weir_testutil::{decoded_video_md5, probe_stream, TempDir};

const VIDEO: &str = "-f lavfi -i testsrc2=size=320x240:rate=25:duration=2";
const AUDIO: &str = "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=2";
/// Output options: one IDR every 25 frames, deterministic.
const OPTS: &str = "-g 25 -threads 1 -bitexact";

/// Checks the video frames of `d` against ffmpeg's packets of the same file: the same NAL
/// units per frame (ffmpeg keeps a trailing zero byte after the last NAL unit that Annex B
/// §B.2 calls trailing_zero_8bits, so units are compared, not start-code framing), the same
/// PTS/DTS and keyframes.
fn check_video(dir: &TempDir, ts: &std::path::Path, d: &Demuxed, codec: Codec) {
    let want = ffmpeg_packets(ts, "0:v", dir.path());
    let got = d.frames_of(codec);
    assert_eq!(got.len(), want.len(), "frame count");
    for (i, (g, (_, w))) in got.iter().zip(&want).enumerate() {
        let theirs: Vec<Bytes> = weir_media::nal::annexb_nalus(w).collect();
        assert_eq!(
            canonical_nals(&g.data),
            theirs,
            "frame {i} NAL units differ from ffmpeg's packet"
        );
        assert!(!g.incomplete);
    }
    let (g0, t0) = (got[0].dts.ticks(), want[0].0.dts);
    for (g, (t, _)) in got.iter().zip(&want) {
        assert_eq!(g.dts.ticks() - g0, t.dts - t0);
        assert_eq!(g.pts.ticks() - g0, t.pts - t0);
    }
    assert!(got[0].keyframe);
    let keys = got.iter().filter(|f| f.keyframe).count();
    assert_eq!(keys, 2, "50 frames with -g 25 have two IDR/IRAP frames");
    // The avcC / hvcC record was learned from the in-band parameter sets, before frame 0.
    let info = d.track(codec);
    assert!(!info.config.is_empty());
    assert_eq!(info.config[0], 1, "configurationVersion");
    assert_eq!(info.video.map(|p| (p.width, p.height)), Some((320, 240)));
    let first_update = d
        .events
        .iter()
        .position(|e| matches!(e, weir_mpegts::Event::TrackUpdated(t) if t.codec == codec))
        .unwrap();
    let first_frame = d
        .events
        .iter()
        .position(|e| matches!(e, weir_mpegts::Event::Frame(f) if f.track == info.id))
        .unwrap();
    assert!(first_update < first_frame);
}

/// Audio frames equal ffmpeg's packets byte for byte (AAC: ffmpeg keeps the ADTS header,
/// weir strips it).
fn check_audio(dir: &TempDir, ts: &std::path::Path, d: &Demuxed, codec: Codec) {
    let want = ffmpeg_packets(ts, "0:a", dir.path());
    let got = d.frames_of(codec);
    assert_eq!(got.len(), want.len(), "audio frame count");
    for (i, (g, (_, w))) in got.iter().zip(&want).enumerate() {
        let w = if codec == Codec::Aac {
            let h = weir_aac::AdtsHeader::parse(w).unwrap();
            w.slice(h.header_len()..)
        } else {
            w.clone()
        };
        assert_eq!(g.data, w, "audio frame {i}");
    }
    let (g0, t0) = (got[0].pts.ticks(), want[0].0.pts);
    for (g, (w, _)) in got.iter().zip(&want) {
        assert!(
            (g.pts.ticks() - g0 - (w.pts - t0)).abs() <= 1,
            "audio pts {} vs {}",
            g.pts.ticks() - g0,
            w.pts - t0
        );
    }
}

#[test]
fn demux_ffmpeg_ts_h264_aac() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("ts-h264");
    let ts = dir.join("a.ts");
    ffmpeg_args(&format!(
        "{VIDEO} {AUDIO} {OPTS} -c:v libx264 -bf 2 -c:a aac -b:a 64k -f mpegts {}",
        ts.display()
    ));
    let data = std::fs::read(&ts).unwrap();
    // 7 TS packets per read, as UDP delivers them.
    let d = demux_ts(&data, 1316);
    check_video(&dir, &ts, &d, Codec::H264);
    check_audio(&dir, &ts, &d, Codec::Aac);
    let v = d.track(Codec::H264);
    assert_eq!(v.video.map(|p| (p.width, p.height)), Some((320, 240)));
    let a = d.track(Codec::Aac);
    assert_eq!(
        a.audio.map(|p| (p.sample_rate, p.channels)),
        Some((44_100, 1))
    );
    assert_eq!(
        &a.config[..],
        &[0x12, 0x08],
        "AAC-LC 44.1 kHz mono AudioSpecificConfig"
    );
}

#[test]
fn demux_ffmpeg_ts_h265_mp2() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("ts-h265");
    let ts = dir.join("b.ts");
    ffmpeg_args(&format!(
        "{VIDEO} {AUDIO} {OPTS} -c:v libx265 -x265-params log-level=none:pools=none:frame-threads=1 -c:a mp2 -f mpegts {}",
        ts.display()
    ));
    let data = std::fs::read(&ts).unwrap();
    let d = demux_ts(&data, 65_536);
    check_video(&dir, &ts, &d, Codec::H265);
    check_audio(&dir, &ts, &d, Codec::MpegAudio);
}

fn interleave(video: Vec<Frame>, audio: Vec<Frame>) -> Vec<Frame> {
    let mut all: Vec<Frame> = video.into_iter().chain(audio).collect();
    all.sort_by(|a, b| a.dts.cmp_instant(b.dts));
    all
}

/// Source elementary streams made by ffmpeg, split into canonical frames.
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
    let (enc, fmt, ext) = match codec {
        Codec::H264 => ("libx264 -bf 0", "h264", "h264"),
        _ => (
            "libx265 -x265-params log-level=none:pools=none:frame-threads=1:bframes=0",
            "hevc",
            "hevc",
        ),
    };
    let v = dir.join(&format!("src.{ext}"));
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
    let video: Vec<Frame> = split_annexb(codec, &std::fs::read(&v).unwrap())
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            let t = Timestamp::new(i as i64 * 3600, Timebase::MPEG);
            let key = match codec {
                Codec::H264 => weir_h264::is_keyframe(&data),
                _ => i % 25 == 0,
            };
            Frame::new(TrackId(0), t, t, data).with_keyframe(key)
        })
        .collect();
    assert_eq!(video.len(), 50);
    let audio: Vec<Frame> = aus
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            let t = Timestamp::new(i as i64 * 1024, Timebase::hz(rate).unwrap());
            Frame::new(TrackId(1), t, t, data).with_keyframe(true)
        })
        .collect();
    (v, a, interleave(video, audio), vt, at)
}

fn mux_and_check(codec: Codec) {
    let dir = TempDir::new("ts-mux");
    let (src_v, src_a, frames, vt, at) = sources(&dir, codec);
    let mut mux = TsMuxer::new(&[vt, at], MuxConfig::default()).unwrap();
    let mut out = BytesMut::new();
    for f in &frames {
        mux.write_frame(f, &mut out).unwrap();
    }
    let ts = dir.join("out.ts");
    std::fs::write(&ts, &out).unwrap();
    let name = if codec == Codec::H264 { "h264" } else { "hevc" };
    let v = probe_stream(&ts, "v", "codec_name,width,height");
    assert!(v.contains(&("codec_name".into(), name.into())), "{v:?}");
    assert!(
        v.contains(&("width".into(), "320".into())) && v.contains(&("height".into(), "240".into())),
        "{v:?}"
    );
    // ffprobe lists the stream once per program and once on its own.
    let a = probe_stream(&ts, "a", "codec_name,sample_rate,channels");
    assert_eq!(
        a[..3],
        vec![
            ("codec_name".into(), "aac".into()),
            ("sample_rate".into(), "44100".into()),
            ("channels".into(), "1".into())
        ]
    );
    let ours = decoded_video_md5(&ts, &[]);
    let theirs = decoded_video_md5(&src_v, &[]);
    assert_eq!(ours.len(), 50);
    assert_eq!(ours, theirs, "decoded video differs from the source");
    assert_eq!(
        decoded_audio_md5(&ts),
        decoded_audio_md5(&src_a),
        "decoded audio differs"
    );
    // Timestamps as written: 40 ms apart.
    let r = rows(&ts, "0:v");
    assert!(r.windows(2).all(|w| w[1].dts - w[0].dts == 3600));
}

#[test]
fn mux_h264_aac_ts_reads_back_in_ffmpeg() {
    weir_testutil::interop_or_skip!();
    mux_and_check(Codec::H264);
}

#[test]
fn mux_h265_aac_ts_reads_back_in_ffmpeg() {
    weir_testutil::interop_or_skip!();
    mux_and_check(Codec::H265);
}

#[test]
fn hls_segments_decode_standalone() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("hls");
    let (src_v, _, frames, vt, at) = sources(&dir, Codec::H264);
    let cfg = SegmenterConfig::with_target(std::time::Duration::from_millis(900));
    let mut seg = HlsSegmenter::new(&[vt, at], cfg).unwrap();
    let mut segments = Vec::new();
    for f in &frames {
        seg.push(f).unwrap();
        while let Some(s) = seg.poll_segment() {
            segments.push(s);
        }
    }
    segments.extend(seg.finish());
    // 50 frames with a keyframe every 25: cut at frame 25.
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[0].duration, std::time::Duration::from_secs(1));
    assert_eq!(segments[1].duration, std::time::Duration::from_secs(1));
    let source = decoded_video_md5(&src_v, &[]);
    let mut decoded = Vec::new();
    for s in &segments {
        let p = dir.join(&format!("seg{}.ts", s.sequence));
        std::fs::write(&p, &s.data).unwrap();
        let first = weir_testutil::ffprobe([
            "-select_streams",
            "v",
            "-show_entries",
            "frame=key_frame",
            "-read_intervals",
            "%+#1",
            "-of",
            "csv=p=0",
            p.to_str().unwrap(),
        ]);
        assert_eq!(
            first.trim().trim_end_matches(','),
            "1",
            "segment {} does not start with a keyframe",
            s.sequence
        );
        let md5s = decoded_video_md5(&p, &[]);
        assert_eq!(
            md5s.len(),
            25,
            "segment {} decodes all its frames on its own",
            s.sequence
        );
        decoded.extend(md5s);
        let a = probe_stream(&p, "a", "codec_name");
        assert_eq!(a[0], ("codec_name".into(), "aac".into()));
    }
    assert_eq!(decoded, source);

    // The playlist plays as a whole too.
    let m3u8 =
        weir_mpegts::hls::media_playlist(&segments, true, |s| format!("seg{}.ts", s.sequence));
    let list = dir.join("index.m3u8");
    std::fs::write(&list, m3u8).unwrap();
    assert_eq!(decoded_video_md5(&list, &[]), source);
}

#[test]
fn demux_ffmpeg_ts_aac_latm() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("ts-latm");
    let (adts, latm, ts) = (dir.join("s.aac"), dir.join("s.latm"), dir.join("s.ts"));
    ffmpeg_args(&format!(
        "{AUDIO} {OPTS} -c:a aac -f adts {}",
        adts.display()
    ));
    ffmpeg_args(&format!(
        "-i {} -c copy -f latm {}",
        adts.display(),
        latm.display()
    ));
    ffmpeg_args(&format!(
        "-i {} -c copy -f mpegts {}",
        latm.display(),
        ts.display()
    ));
    let d = demux_ts(&std::fs::read(&ts).unwrap(), 188);
    let (want, asc, _) = split_adts(&Bytes::from(std::fs::read(&adts).unwrap()));
    let got: Vec<Bytes> = d
        .frames_of(Codec::Aac)
        .into_iter()
        .map(|f| f.data)
        .collect();
    assert_eq!(
        got, want,
        "LATM payloads equal the ADTS source's raw access units"
    );
    assert_eq!(d.track(Codec::Aac).config, asc);
}

#[test]
fn opus_ts_both_ways() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("ts-opus");
    let ts = dir.join("o.ts");
    ffmpeg_args(&format!("-f lavfi -i sine=frequency=440:sample_rate=48000:duration=1 {OPTS} -c:a libopus -ac 2 -f mpegts {}", ts.display()));
    let d = demux_ts(&std::fs::read(&ts).unwrap(), 1316);
    let want = ffmpeg_packets(&ts, "0:a", dir.path());
    let got = d.frames_of(Codec::Opus);
    assert_eq!(got.len(), want.len());
    for (g, (_, w)) in got.iter().zip(&want) {
        assert_eq!(&g.data, w);
    }
    assert_eq!(d.track(Codec::Opus).audio.map(|a| a.channels), Some(2));

    // And back: weir muxes the packets, ffmpeg reads the same packets.
    let info = d.track(Codec::Opus);
    let mut mux = TsMuxer::new(&[info], MuxConfig::default()).unwrap();
    let mut out = BytesMut::new();
    for f in &got {
        mux.write_frame(f, &mut out).unwrap();
    }
    let ours = dir.join("ours.ts");
    std::fs::write(&ours, &out).unwrap();
    let a = probe_stream(&ours, "a", "codec_name,channels");
    assert_eq!(
        a[..2],
        [
            ("codec_name".into(), "opus".into()),
            ("channels".into(), "2".into())
        ]
    );
    let back = ffmpeg_packets(&ours, "0:a", dir.path());
    assert_eq!(back.len(), got.len());
    for (g, (_, w)) in got.iter().zip(&back) {
        assert_eq!(&g.data, w);
    }
}

#[test]
/// Also a real-client quirk: in M2TS mode ffmpeg declares AAC as stream_type 0x06 (private
/// PES) with no descriptor; the codec is inferred from the ES, as players do.
fn demux_ffmpeg_m2ts_192_byte_packets_quirk_aac_as_private_stream_type() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("m2ts");
    let ts = dir.join("a.m2ts");
    ffmpeg_args(&format!(
        "{VIDEO} {AUDIO} {OPTS} -c:v libx264 -bf 2 -c:a aac -f mpegts -mpegts_m2ts_mode 1 {}",
        ts.display()
    ));
    let data = std::fs::read(&ts).unwrap();
    assert_eq!(data.len() % 192, 0);
    let d = demux_ts(&data, 6144);
    assert!(d.events.iter().any(|e| matches!(
        e,
        weir_mpegts::Event::Synced {
            packet_size: 192,
            ..
        }
    )));
    check_video(&dir, &ts, &d, Codec::H264);
    check_audio(&dir, &ts, &d, Codec::Aac);
}

/// FLV/RTMP and MP4 sources keep H.264/H.265 parameter sets out of band (avcC/hvcC) and
/// their keyframes carry only slices. The muxer puts the track's parameter sets in front of
/// such keyframes, so every HLS segment still decodes on its own.
fn out_of_band_parameter_sets(codec: Codec) {
    let dir = TempDir::new("ts-oob");
    let (src_v, _, frames, vt, at) = sources(&dir, codec);
    let is_param = |n: &Bytes| match codec {
        Codec::H264 => matches!(n[0] & 0x1F, 7 | 8),
        _ => matches!((n[0] >> 1) & 0x3F, 32..=34),
    };
    let first = frames.iter().find(|f| f.track == TrackId(0)).unwrap();
    let params: Vec<Bytes> = canonical_nals(&first.data)
        .into_iter()
        .filter(|n| is_param(n))
        .collect();
    let pick = |t: u8| -> Vec<Bytes> {
        params
            .iter()
            .filter(|n| match codec {
                Codec::H264 => n[0] & 0x1F == t,
                _ => (n[0] >> 1) & 0x3F == t,
            })
            .cloned()
            .collect()
    };
    let config = match codec {
        Codec::H264 => weir_h264::AvcConfig::from_parameter_sets(&pick(7), &pick(8))
            .unwrap()
            .to_bytes(),
        _ => weir_h265::HevcConfig::from_parameter_sets(&pick(32), &pick(33), &pick(34))
            .unwrap()
            .to_bytes(),
    };
    let vt = vt.with_config(config);
    // Strip every in-band parameter set.
    let stripped: Vec<Frame> = frames
        .into_iter()
        .map(|mut f| {
            if f.track == TrackId(0) {
                let mut d = bytes::BytesMut::new();
                for n in canonical_nals(&f.data).into_iter().filter(|n| !is_param(n)) {
                    weir_media::nal::put_length_prefixed(&mut d, &n, 4).unwrap();
                }
                f.data = d.freeze();
            }
            f
        })
        .collect();
    let mut seg = weir_mpegts::HlsSegmenter::new(
        &[vt, at],
        weir_mpegts::SegmenterConfig::with_target(std::time::Duration::from_millis(900)),
    )
    .unwrap();
    for f in &stripped {
        seg.push(f).unwrap();
    }
    let mut segments = Vec::new();
    while let Some(s) = seg.poll_segment() {
        segments.push(s);
    }
    segments.extend(seg.finish());
    assert!(segments.len() >= 2);
    let want = weir_testutil::decoded_video_md5(&src_v, &[]);
    let mut all = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        let p = dir.join(&format!("seg{i}.ts"));
        std::fs::write(&p, &s.data).unwrap();
        // Decodes standalone: every picture of the segment is a source picture.
        let got = weir_testutil::decoded_video_md5(&p, &[]);
        assert!(
            !got.is_empty() && got.iter().all(|m| want.contains(m)),
            "segment {i} does not decode on its own"
        );
        all.extend_from_slice(&s.data);
    }
    let p = dir.join("all.ts");
    std::fs::write(&p, &all).unwrap();
    assert_eq!(weir_testutil::decoded_video_md5(&p, &[]), want);
}

#[test]
fn keyframes_get_out_of_band_parameter_sets_h264() {
    weir_testutil::interop_or_skip!();
    out_of_band_parameter_sets(Codec::H264);
}

#[test]
fn keyframes_get_out_of_band_parameter_sets_h265() {
    weir_testutil::interop_or_skip!();
    out_of_band_parameter_sets(Codec::H265);
}
