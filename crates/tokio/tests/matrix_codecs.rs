//! Any-to-any beyond H.264 + AAC: the codec cells of the relay matrix. Each test is one
//! ingest with one codec pair, played through every egress at once (RTMP, HTTP-FLV,
//! WebSocket-FLV, RTSP over TCP and UDP, HLS):
//!
//! * H.265 + AAC from every ingest (enhanced RTMP published with weir's client, since
//!   ffmpeg 5.1 cannot put HEVC in FLV; RTSP pushed by ffmpeg; GB28181 PS with HEVC);
//! * Opus from the ingests that carry it (enhanced RTMP, RTSP) — GB28181 PS has no Opus
//!   stream type;
//! * G.711 A-law/µ-law from RTSP, GB28181 (PS stream types 0x90/0x91) and RTMP (sound
//!   formats 7/8): carried by RTSP and FLV (8 kHz), left out of HLS with a log line and the
//!   `dropped_tracks` API flag.
//!
//! * B-frames (H.264/H.265 + AAC from RTMP, GB28181 and RTSP): pictures bit-exact on
//!   every egress, presentation times kept and decode times increasing on FLV and HLS.
//!
//! Every waiting player must get every picture from the first (a keyframe), bit-exact;
//! audio payloads must be a contiguous run of the source's (bit-exact), with a plausible
//! amount; on FLV and HLS the first picture and the first audio are as far apart as in
//! the source (A/V sync). FLV egress is
//! read with weir-flv (enhanced FLV is beyond ffmpeg 5.1); legacy FLV carrying G.711 is
//! also probed with ffprobe. RTSP is played by ffmpeg, HLS segments decoded by ffmpeg.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use weir_flv::{FlvMuxer, MuxConfig, TagType};
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_testutil::{interop_or_skip, TempDir};

#[derive(Copy, Clone, Debug, PartialEq)]
enum Ingest {
    Rtmp,
    RtspTcp,
    RtspUdp,
    GbUdp,
    GbTcp,
}

const SSRC: u32 = 0x0000_C0DE;
const GOP: usize = 25;

/// A source: video elementary stream, canonical frames of both tracks, the reference
/// audio payloads, and a Matroska file of the same media for ffmpeg's RTSP push.
struct Source {
    video: TrackInfo,
    audio: TrackInfo,
    es: PathBuf,
    frames: Vec<Frame>,
    audio_units: Vec<Bytes>,
    mkv: PathBuf,
    /// (dts, pts) of each picture in ms, in decode order (B-frames: pts ≠ dts).
    video_times: Vec<(i64, i64)>,
    bframes: bool,
    /// Presentation time of the first audio frame, ms.
    audio_shift: i64,
}

fn ff(args: &[&str]) {
    weir_testutil::ffmpeg(args);
}

fn source(dir: &TempDir, vcodec: Codec, acodec: Codec, bframes: bool) -> Source {
    let (es, fmt) = match vcodec {
        Codec::H264 => (dir.join("src.h264"), "h264"),
        _ => (dir.join("src.hevc"), "hevc"),
    };
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "2",
        "-pix_fmt",
        "yuv420p",
        "-flags:v",
        "+bitexact",
    ];
    match vcodec {
        Codec::H264 => args.extend([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            if bframes { "2" } else { "0" },
            "-x264-params",
            if bframes {
                "bframes=2:b-adapt=0"
            } else {
                "bframes=0"
            },
        ]),
        _ => args.extend([
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            if bframes {
                "bframes=2:b-adapt=0:keyint=25:min-keyint=25:log-level=none"
            } else {
                "bframes=0:keyint=25:min-keyint=25:log-level=none"
            },
        ]),
    }
    // With B-frames the timestamps come from a Matroska encode (a raw elementary stream
    // has none); the elementary stream is extracted from it.
    let vmkv = dir.join("src-video.mkv");
    args.extend(["-f", "matroska", vmkv.to_str().unwrap()]);
    ff(&args);
    ff(&[
        "-i",
        vmkv.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        fmt,
        es.to_str().unwrap(),
    ]);
    let aus = es_access_units(&es);
    assert_eq!(aus.len(), 50);
    let mut video_times: Vec<(i64, i64)> = packets(&vmkv, "0:v")
        .iter()
        .map(|p| (p.dts, p.pts))
        .collect();
    let shift = -video_times.iter().map(|t| t.0).min().unwrap_or(0);
    for t in &mut video_times {
        *t = (t.0 + shift, t.1 + shift);
    }
    assert_eq!(video_times.len(), 50);
    assert_eq!(
        video_times.iter().any(|t| t.0 != t.1),
        bframes,
        "B-frames in the source"
    );
    let video =
        TrackInfo::new(TrackId(0), vcodec, 90_000).with_config(video_config(vcodec, &aus[0]));
    let mut frames = video_frames(vcodec, video.id, &aus);
    for (f, (dts, pts)) in frames.iter_mut().zip(&video_times) {
        f.dts = Timestamp::new(dts * 90, Timebase::MPEG);
        f.pts = Timestamp::new(pts * 90, Timebase::MPEG);
    }

    // Audio moves with the video's shift, keeping the encode's A/V relation (both start
    // at presentation time 0 in the Matroska file ffmpeg pushes).
    let at = |ticks: i64| Timestamp::new(ticks + shift * 90, Timebase::MPEG);
    let (audio, audio_units, afile, ain): (TrackInfo, Vec<Bytes>, PathBuf, Vec<&str>) = match acodec
    {
        Codec::Aac => {
            let f = dir.join("src.aac");
            ff(&[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=44100",
                "-t",
                "2",
                "-c:a",
                "aac",
                "-b:a",
                "64k",
                "-f",
                "adts",
                f.to_str().unwrap(),
            ]);
            let adts = Bytes::from(std::fs::read(&f).unwrap());
            let raw: Vec<(weir_aac::AdtsHeader, Bytes)> =
                weir_aac::adts_frames(&adts).map(|r| r.unwrap()).collect();
            let t = TrackInfo::new(TrackId(1), Codec::Aac, 90_000)
                .with_config(raw[0].0.to_config().to_bytes())
                .with_audio(AudioParams {
                    sample_rate: 44_100,
                    channels: 1,
                });
            for (i, (_, p)) in raw.iter().enumerate() {
                let ts = at(i as i64 * 1024 * 90_000 / 44_100);
                frames.push(Frame::new(t.id, ts, ts, p.clone()).with_keyframe(true));
            }
            (t, raw.into_iter().map(|(_, p)| p).collect(), f, vec![])
        }
        Codec::Opus => {
            let f = dir.join("src.ogg");
            ff(&[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                "2",
                "-c:a",
                "libopus",
                "-b:a",
                "32k",
                "-ac",
                "1",
                "-fflags",
                "+bitexact",
                "-f",
                "ogg",
                f.to_str().unwrap(),
            ]);
            let pk = ogg_packets(&std::fs::read(&f).unwrap());
            assert!(pk[0].starts_with(b"OpusHead"));
            let t = TrackInfo::new(TrackId(1), Codec::Opus, 90_000)
                .with_config(pk[0].clone())
                .with_audio(AudioParams {
                    sample_rate: 48_000,
                    channels: 1,
                });
            let units: Vec<Bytes> = pk[2..].to_vec();
            for (i, p) in units.iter().enumerate() {
                let ts = at(i as i64 * 1800);
                frames.push(Frame::new(t.id, ts, ts, p.clone()).with_keyframe(true));
            }
            (t, units, f, vec![])
        }
        _ => {
            let (f, enc, raw) = if acodec == Codec::G711A {
                (dir.join("src.al"), "pcm_alaw", "alaw")
            } else {
                (dir.join("src.ul"), "pcm_mulaw", "mulaw")
            };
            // A chirp: G.711 of a steady tone repeats every few hundred bytes, which
            // would let a gap pass the contiguity check.
            ff(&[
                "-f",
                "lavfi",
                "-i",
                "aevalsrc=0.5*sin(2*PI*(200+300*t)*t):s=8000:d=2",
                "-c:a",
                enc,
                "-ar",
                "8000",
                "-ac",
                "1",
                "-f",
                raw,
                f.to_str().unwrap(),
            ]);
            let bytes = Bytes::from(std::fs::read(&f).unwrap());
            let t = TrackInfo::new(TrackId(1), acodec, 90_000).with_audio(AudioParams {
                sample_rate: 8000,
                channels: 1,
            });
            // 40 ms (320 samples) per frame, as many cameras send.
            let units: Vec<Bytes> = (0..bytes.len())
                .step_by(320)
                .map(|i| bytes.slice(i..(i + 320).min(bytes.len())))
                .collect();
            for (i, p) in units.iter().enumerate() {
                let ts = at(i as i64 * 3600);
                frames.push(Frame::new(t.id, ts, ts, p.clone()).with_keyframe(true));
            }
            (t, units, f, vec!["-f", raw, "-ar", "8000", "-ac", "1"])
        }
    };
    frames.sort_by_key(|f| (f.dts.ticks(), f.track));
    let mkv = dir.join("src.mkv");
    let mut args = vec!["-i", vmkv.to_str().unwrap()];
    args.extend(ain);
    args.extend([
        "-i",
        afile.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        "matroska",
        mkv.to_str().unwrap(),
    ]);
    ff(&args);
    Source {
        video,
        audio,
        es,
        frames,
        audio_units,
        mkv,
        video_times,
        bframes,
        audio_shift: shift,
    }
}

/// Publishes the source over (enhanced) RTMP with weir's client, paced in real time.
async fn rtmp_publish(relay: &TestRelay, key: &str, src: &Source) {
    let (app, name) = key.split_once('/').unwrap();
    let mux = FlvMuxer::new(MuxConfig::default());
    let mut p = rtmp_connect(relay.rtmp, app)
        .await
        .publish(name)
        .await
        .unwrap();
    for t in [&src.video, &src.audio] {
        if let Some(tag) = mux.sequence_header(t, 0).unwrap() {
            match tag.tag_type {
                TagType::Video => p.session().send_video(0, tag.body).unwrap(),
                _ => p.session().send_audio(0, tag.body).unwrap(),
            }
        }
    }
    let start = tokio::time::Instant::now();
    for f in &src.frames {
        let track = if f.track == src.video.id {
            &src.video
        } else {
            &src.audio
        };
        let tag = mux.frame(track, f).unwrap();
        let due = start + Duration::from_millis(tag.timestamp.into());
        tokio::time::sleep_until(due).await;
        match tag.tag_type {
            TagType::Video => p.session().send_video(tag.timestamp, tag.body).unwrap(),
            _ => p.session().send_audio(tag.timestamp, tag.body).unwrap(),
        }
        p.flush().await.unwrap();
    }
    p.close().await.unwrap();
}

/// Plays `url` with ffmpeg's RTSP client: video into an elementary stream, audio into a
/// file of its own kind.
fn rtsp_play(
    url: &str,
    transport: &str,
    vfmt: &str,
    afmt: &str,
    v: &Path,
    a: &Path,
) -> tokio::process::Child {
    ffmpeg_child(&[
        "-rtsp_transport".into(),
        transport.into(),
        "-i".into(),
        url.into(),
        "-map".into(),
        "0:v".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        vfmt.into(),
        v.display().to_string(),
        "-map".into(),
        "0:a".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        afmt.into(),
        a.display().to_string(),
    ])
}

fn video_fmt(c: Codec) -> &'static str {
    if c == Codec::H264 {
        "h264"
    } else {
        "hevc"
    }
}

fn audio_fmt(c: Codec) -> &'static str {
    match c {
        Codec::Aac => "adts",
        Codec::Opus => "ogg",
        Codec::G711A => "alaw",
        _ => "mulaw",
    }
}

/// The audio payloads of a file written in [`audio_fmt`].
fn audio_units_of(c: Codec, file: &Path) -> Vec<Bytes> {
    let data = Bytes::from(std::fs::read(file).unwrap_or_default());
    match c {
        Codec::Aac => weir_aac::adts_frames(&data).map(|r| r.unwrap().1).collect(),
        Codec::Opus => ogg_packets(&data).into_iter().skip(2).collect(),
        _ => vec![data],
    }
}

/// Asserts the audio that came out is the source's, bit for bit, contiguous, and enough.
fn check_audio(src: &Source, got: &[Bytes], what: &str) {
    match src.audio.codec {
        Codec::G711A | Codec::G711U => {
            let want: Vec<u8> = src.audio_units.concat();
            let got: Vec<u8> = got.concat();
            assert!(got.len() >= 9600, "{what}: {} G.711 bytes", got.len());
            assert!(
                want.windows(got.len()).any(|w| w == got.as_slice()),
                "{what}: G.711 bytes are not a contiguous run of the source"
            );
        }
        _ => {
            let min = src.audio_units.len() * 6 / 10;
            assert!(
                got.len() >= min,
                "{what}: {} of {} audio packets",
                got.len(),
                src.audio_units.len()
            );
            assert!(
                src.audio_units.windows(got.len()).any(|w| w == got),
                "{what}: audio packets are not a contiguous run of the source"
            );
        }
    }
}

/// Source time (ms) of the first audio a player got.
fn audio_start_ms(src: &Source, got: &[Bytes]) -> f64 {
    match src.audio.codec {
        Codec::G711A | Codec::G711U => {
            let want: Vec<u8> = src.audio_units.concat();
            let got: Vec<u8> = got.concat();
            let head = &got[..got.len().min(800)];
            let at = want.windows(head.len()).position(|w| w == head).unwrap();
            at as f64 / 8.0
        }
        codec => {
            let at = src
                .audio_units
                .windows(got.len())
                .position(|w| w == got)
                .unwrap();
            let ms = if codec == Codec::Aac {
                1024.0 * 1000.0 / 44_100.0
            } else {
                20.0
            };
            at as f64 * ms
        }
    }
}

/// A/V sync: the first picture and the first audio are as far apart as in the source
/// (within 50 ms: millisecond rounding, packet granularity).
fn check_sync(src: &Source, video_pts: f64, audio_ts: f64, audio: &[Bytes], what: &str) {
    let want = src.video_times[0].1 as f64 - (audio_start_ms(src, audio) + src.audio_shift as f64);
    let got = video_pts - audio_ts;
    assert!(
        (got - want).abs() <= 50.0,
        "{what}: video − audio = {got:.1} ms, source {want:.1} ms"
    );
}

/// The FLV a player got: pictures bit-exact, audio bit-exact, G.711 signalled as legacy
/// sound format 7/8 at 8 kHz.
fn check_flv(src: &Source, dir: &TempDir, tags: &[weir_flv::Tag], what: &str) {
    let m = flv_media(tags);
    assert_eq!(m.video_codec, Some(src.video.codec), "{what}: video codec");
    let es = dir.join(&format!(
        "{}.{}",
        what.replace(['/', ' ', '→'], "_"),
        video_fmt(src.video.codec)
    ));
    std::fs::write(&es, &m.annexb).unwrap();
    let start = assert_pictures(&src.es, &es, &["-f", video_fmt(src.video.codec)], GOP, what);
    assert_eq!(start, 0, "{what}: a waiting player gets every picture");
    let a = m.audio_track.as_ref().expect("audio track");
    assert_eq!(a.codec, src.audio.codec, "{what}: audio codec");
    if matches!(a.codec, Codec::G711A | Codec::G711U) {
        let body = &tags
            .iter()
            .find(|t| t.tag_type == TagType::Audio)
            .unwrap()
            .body;
        let format = body[0] >> 4;
        let want = if a.codec == Codec::G711A { 7 } else { 8 };
        assert_eq!(format, want, "{what}: FLV SoundFormat");
    }
    check_audio(src, &m.audio, what);
    check_sync(
        src,
        m.video_times[0].1 as f64,
        m.audio_times[0] as f64,
        &m.audio,
        what,
    );
    if src.bframes {
        check_times(src, &m.video_times, 1, what);
    }
}

/// With B-frames: every picture keeps its presentation time (relative to the first) and
/// decode times increase and never pass the presentation time. `scale`: ticks per ms.
fn check_times(src: &Source, got: &[(i64, i64)], scale: i64, what: &str) {
    let (g0, s0) = (got[0].1, src.video_times[0].1);
    for (i, ((gd, gp), (_, sp))) in got.iter().zip(&src.video_times).enumerate() {
        assert_eq!((gp - g0) / scale, sp - s0, "{what}: picture {i} pts");
        assert!(gd <= gp, "{what}: picture {i} dts {gd} > pts {gp}");
    }
    assert!(
        got.windows(2).all(|w| w[1].0 > w[0].0),
        "{what}: dts not increasing: {got:?}"
    );
}

/// Polls the stream API until the HLS output of `key` reports `codec` as dropped.
async fn hls_dropped_flag(http: std::net::SocketAddr, key: String, codec: Codec) -> bool {
    let want = format!("\"dropped_tracks\":[\"{codec}\"]");
    for _ in 0..60 {
        let (_, _, body) = http_get(http, "/api/v1/streams").await;
        let text = String::from_utf8_lossy(&body);
        if text
            .split("{\"key\":")
            .any(|s| s.starts_with(&format!("\"{key}\"")) && s.contains(&want))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn cell(ingest: Ingest, vcodec: Codec, acodec: Codec, bframes: bool) {
    let b = if bframes { "-bframes" } else { "" };
    let name = format!("{ingest:?}-{vcodec}{b}-{acodec}");
    let dir = TempDir::new(&format!("mcodec-{name}"));
    let src = source(&dir, vcodec, acodec, bframes);
    let mut config = test_config();
    config.hls.target_duration = Duration::from_secs(1);
    config.gb28181.idle_timeout = Duration::from_millis(600);
    let relay = TestRelay::start(config).await;
    let key = match ingest {
        Ingest::GbUdp | Ingest::GbTcp => weir_tokio::ingest::gb28181::stream_key(SSRC),
        _ => "live/codecs".to_string(),
    };
    let p = |n: &str| dir.join(n);
    let (vf, af) = (video_fmt(vcodec), audio_fmt(acodec));
    // Every egress waits for the stream.
    let rtmp = tokio::spawn({
        let (addr, key) = (relay.rtmp, key.clone());
        async move { rtmp_play_tags(addr, &key).await }
    });
    let http = tokio::spawn({
        let (addr, path) = (relay.http, format!("/{key}.flv"));
        async move { http_get(addr, &path).await }
    });
    let ws = tokio::spawn(ws_record(relay.ws_url(&key)));
    let (tv, ta) = (p(&format!("rtsp-tcp.{vf}")), p(&format!("rtsp-tcp.{af}")));
    let (uv, ua) = (p(&format!("rtsp-udp.{vf}")), p(&format!("rtsp-udp.{af}")));
    let rtsp_tcp = rtsp_play(&relay.rtsp_url(&key), "tcp", vf, af, &tv, &ta);
    let rtsp_udp = rtsp_play(&relay.rtsp_url(&key), "udp", vf, af, &uv, &ua);
    relay.wait_for_players(&key, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hls = tokio::spawn(hls_record(relay.http, key.clone()));
    let g711 = matches!(acodec, Codec::G711A | Codec::G711U);
    let flag = g711.then(|| tokio::spawn(hls_dropped_flag(relay.http, key.clone(), acodec)));
    match ingest {
        Ingest::Rtmp => rtmp_publish(&relay, &key, &src).await,
        Ingest::RtspTcp | Ingest::RtspUdp => {
            let transport = if ingest == Ingest::RtspTcp {
                "tcp"
            } else {
                "udp"
            };
            let publisher = ffmpeg_child(&[
                "-re".into(),
                "-i".into(),
                src.mkv.display().to_string(),
                "-c".into(),
                "copy".into(),
                "-f".into(),
                "rtsp".into(),
                "-rtsp_transport".into(),
                transport.into(),
                relay.rtsp_url(&key),
            ]);
            wait_ok(publisher, "rtsp publisher", Duration::from_secs(20)).await;
        }
        Ingest::GbUdp | Ingest::GbTcp => {
            let packets =
                gb_rtp_packets(&[src.video.clone(), src.audio.clone()], &src.frames, SSRC);
            gb_send(&relay, &packets, ingest == Ingest::GbTcp, 2.0).await;
        }
    }
    let limit = Duration::from_secs(20);
    wait_ok(rtsp_tcp, "rtsp/tcp player", limit).await;
    wait_ok(rtsp_udp, "rtsp/udp player", limit).await;
    let rtmp_tags = tokio::time::timeout(limit, rtmp).await.unwrap().unwrap();
    let (code, _, http_body) = tokio::time::timeout(limit, http).await.unwrap().unwrap();
    assert_eq!(code, 200);
    let ws_body = tokio::time::timeout(limit, ws).await.unwrap().unwrap();
    let ts = tokio::time::timeout(limit, hls).await.unwrap().unwrap();
    let dropped_flag = match flag {
        Some(f) => Some(tokio::time::timeout(limit, f).await.unwrap().unwrap()),
        None => None,
    };

    check_flv(&src, &dir, &rtmp_tags, &format!("{name} → RTMP"));
    let (header, tags) = flv_tags(http_body.clone());
    assert!(
        header.has_video && header.has_audio,
        "{name} → HTTP-FLV header"
    );
    check_flv(&src, &dir, &tags, &format!("{name} → HTTP-FLV"));
    check_flv(
        &src,
        &dir,
        &flv_tags(ws_body).1,
        &format!("{name} → WS-FLV"),
    );
    if g711 && vcodec == Codec::H264 {
        // Legacy FLV with G.711 (and H.264, which ffmpeg 5.1 reads): what ffmpeg reads.
        let f = p("http.flv");
        std::fs::write(&f, &http_body).unwrap();
        let a = weir_testutil::probe_stream(&f, "a:0", "codec_name,sample_rate,channels");
        let codec = if acodec == Codec::G711A {
            "pcm_alaw"
        } else {
            "pcm_mulaw"
        };
        assert!(
            a.contains(&("codec_name".into(), codec.into())),
            "{name}: {a:?}"
        );
        assert!(
            a.contains(&("sample_rate".into(), "8000".into())),
            "{name}: {a:?}"
        );
    }
    for (t, v, a) in [("RTSP/TCP", &tv, &ta), ("RTSP/UDP", &uv, &ua)] {
        let what = format!("{name} → {t}");
        let start = assert_pictures(&src.es, v, &[], GOP, &what);
        assert_eq!(start, 0, "{what}: a waiting player gets every picture");
        check_audio(&src, &audio_units_of(acodec, a), &what);
    }
    let hls_file = p("hls.ts");
    std::fs::write(&hls_file, &ts).unwrap();
    let what = format!("{name} → HLS");
    let start = assert_pictures(&src.es, &hls_file, &[], GOP, &what);
    assert_eq!(
        start, 0,
        "{what}: the first segment starts at the first picture"
    );
    if bframes {
        let t: Vec<(i64, i64)> = packets(&hls_file, "0:v")
            .iter()
            .map(|p| (p.dts, p.pts))
            .collect();
        check_times(&src, &t, 90, &what);
    }
    let kinds = weir_testutil::ffprobe([
        "-show_entries",
        "stream=codec_type",
        "-of",
        "csv=p=0",
        hls_file.to_str().unwrap(),
    ]);
    if g711 {
        // MPEG-TS players cannot decode G.711: left out, flagged, never mislabelled.
        assert!(!kinds.contains("audio"), "{what}: {kinds}");
        assert_eq!(
            dropped_flag,
            Some(true),
            "{what}: dropped_tracks flag in the API"
        );
    } else {
        assert!(kinds.contains("audio"), "{what}: {kinds}");
        let a = p(&format!("hls.{af}"));
        ff(&[
            "-i",
            hls_file.to_str().unwrap(),
            "-map",
            "0:a",
            "-c",
            "copy",
            "-f",
            af,
            a.to_str().unwrap(),
        ]);
        let units = audio_units_of(acodec, &a);
        check_audio(&src, &units, &what);
        // (ffprobe: the TS timestamps as written; framemd5 shifts each stream.)
        let first_pts = |stream: &str| {
            let t = weir_testutil::ffprobe([
                "-select_streams",
                stream,
                "-show_entries",
                "packet=pts",
                "-of",
                "csv=p=0",
                "-read_intervals",
                "%+#1",
                hls_file.to_str().unwrap(),
            ]);
            let first = t
                .lines()
                .map(|l| l.trim().trim_end_matches(','))
                .find(|l| !l.is_empty());
            first.unwrap().parse::<f64>().unwrap() / 90.0
        };
        check_sync(&src, first_pts("v:0"), first_pts("a:0"), &units, &what);
    }
    relay.stop().await;
}

macro_rules! cells {
    ($($name:ident: $ingest:ident, $v:ident, $a:ident $(, $b:ident)?;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            interop_or_skip!();
            let bframes = false $(|| stringify!($b) == "bframes")?;
            cell(Ingest::$ingest, Codec::$v, Codec::$a, bframes).await;
        }
    )*};
}

cells! {
    h265_aac_from_rtmp_enhanced: Rtmp, H265, Aac;
    h265_aac_from_rtsp_tcp: RtspTcp, H265, Aac;
    h265_aac_from_rtsp_udp: RtspUdp, H265, Aac;
    h265_aac_from_gb28181_udp: GbUdp, H265, Aac;
    h265_aac_from_gb28181_tcp: GbTcp, H265, Aac;
    h264_opus_from_rtmp_enhanced: Rtmp, H264, Opus;
    h265_opus_from_rtmp_enhanced: Rtmp, H265, Opus;
    h264_opus_from_rtsp_tcp: RtspTcp, H264, Opus;
    h265_opus_from_rtsp_udp: RtspUdp, H265, Opus;
    h264_pcma_from_rtsp_udp: RtspUdp, H264, G711A;
    h264_pcmu_from_rtsp_tcp: RtspTcp, H264, G711U;
    h264_pcma_from_gb28181_udp: GbUdp, H264, G711A;
    h265_pcmu_from_gb28181_tcp: GbTcp, H265, G711U;
    h264_pcmu_from_rtmp: Rtmp, H264, G711U;
    h264_bframes_aac_from_rtmp: Rtmp, H264, Aac, bframes;
    h265_bframes_aac_from_rtmp_enhanced: Rtmp, H265, Aac, bframes;
    h264_bframes_aac_from_gb28181_udp: GbUdp, H264, Aac, bframes;
    h265_bframes_aac_from_gb28181_tcp: GbTcp, H265, Aac, bframes;
    h264_bframes_aac_from_rtsp_tcp: RtspTcp, H264, Aac, bframes;
}

/// The impossible cell: Opus cannot come in over GB28181, because MPEG-PS (and GB/T 28181's
/// stream-type registrations) has no Opus stream type; a device-side muxer refuses it
/// rather than mislabelling it.
#[test]
fn opus_has_no_gb28181_ps_stream_type() {
    let opus = TrackInfo::new(TrackId(1), Codec::Opus, 48_000);
    assert!(matches!(
        weir_ps::PsMuxer::new(&[opus], weir_ps::PsMuxConfig::default()),
        Err(weir_ps::Error::UnsupportedCodec { codec: Codec::Opus })
    ));
}
