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

use std::time::Duration;

use common::*;
use weir_flv::TagType;
use weir_media::{Codec, TrackId, TrackInfo};
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

fn ff(args: &[&str]) {
    weir_testutil::ffmpeg(args);
}

/// The FLV a player got: pictures bit-exact, audio bit-exact, G.711 signalled as legacy
/// sound format 7/8 at 8 kHz.
fn check_flv(src: &MediaSource, dir: &TempDir, tags: &[weir_flv::Tag], what: &str) {
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
fn check_times(src: &MediaSource, got: &[(i64, i64)], scale: i64, what: &str) {
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
    let want = serde_json::json!([codec.to_string()]);
    // Generous: only a failing test waits this long (a loaded machine is slow to publish).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let (_, _, body) = http_get(http, "/api/v1/streams").await;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let streams = v["streams"].as_array().cloned().unwrap_or_default();
        if streams
            .iter()
            .any(|s| s["key"] == key.as_str() && s["hls"]["dropped_tracks"] == want)
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
    let src = media_source(&dir, vcodec, acodec, bframes, 2);
    let mut config = test_config();
    config.hls.target_duration = Duration::from_secs(1);
    config.gb28181.idle_timeout = Duration::from_millis(600);
    let relay = TestRelay::start(config).await;
    let key = match ingest {
        Ingest::GbUdp | Ingest::GbTcp => weir_tokio::ingest::gb28181::stream_key(SSRC),
        _ => "live/codecs".to_string(),
    };
    let p = |n: &str| dir.join(n);
    let af = audio_fmt(acodec);
    // Every egress waits for the stream.
    let players = Egresses::start(&relay, &key, &dir, vcodec, acodec, 0).await;
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
    let played = players.finish(limit).await;
    let (rtmp_tags, http_body, ws_body, ts) =
        (played.rtmp, played.http_flv, played.ws_flv, played.hls);
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
    for r in &played.rtsp {
        let what = format!("{name} → {}", r.name);
        let start = assert_pictures(&src.es, &r.video, &[], GOP, &what);
        assert_eq!(start, 0, "{what}: a waiting player gets every picture");
        check_audio(&src, &audio_units_of(acodec, &r.audio), &what);
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
