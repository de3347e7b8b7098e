//! Codec coverage of the relay: H.265 (enhanced RTMP and legacy codec id 12), Opus
//! (enhanced RTMP audio), audio-only and video-only streams, metadata forwarding.
//!
//! ffmpeg 5.1 (Debian 12) can neither mux nor demux HEVC or Opus in FLV, so those streams
//! are published with weir's own RTMP client and FLV muxer, and checked byte for byte on
//! the way out plus by decoding the H.265 that comes out with ffmpeg.

mod common;

use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_flv::{FlvDemuxer, FlvEvent, FlvMuxer, HevcSignalling, MuxConfig, ReaderConfig, TagType};
use weir_media::{nal, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_rtmp_chunk::ClientEvent;
use weir_testutil::{interop_or_skip, TempDir};

/// Splits an Annex B file into access units using the packet sizes ffmpeg's parser reports.
fn annexb_access_units(file: &Path) -> Vec<Bytes> {
    let data = Bytes::from(std::fs::read(file).unwrap());
    let mut at = 0;
    weir_testutil::framemd5(file, "0:v", &[])
        .iter()
        .map(|l| {
            let size: usize = l.split(',').nth(3).unwrap().trim().parse().unwrap();
            let au = data.slice(at..at + size);
            at += size;
            au
        })
        .collect()
}

fn opus_head() -> Bytes {
    let mut h = b"OpusHead".to_vec();
    h.extend_from_slice(&[1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]);
    Bytes::from(h)
}

/// Raw HTTP/1.0 GET (no chunked encoding): the response body until the server closes.
async fn http_get_body(addr: std::net::SocketAddr, path: &str) -> Bytes {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head")
        + 4;
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    Bytes::from(all[split..].to_vec())
}

async fn h265_and_opus_through_the_relay(signalling: HevcSignalling) {
    let dir = TempDir::new("relay-hevc");
    let src = dir.join("src.hevc");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "2",
        "-c:v",
        "libx265",
        "-x265-params",
        "bframes=0:keyint=25:log-level=none",
        "-f",
        "hevc",
        src.to_str().unwrap(),
    ]);
    let aus = annexb_access_units(&src);
    assert_eq!(aus.len(), 50);
    // Parameter sets from the first access unit → hvcC.
    let (mut vps, mut sps, mut pps) = (vec![], vec![], vec![]);
    for n in nal::annexb_nalus(&aus[0]) {
        match (n[0] >> 1) & 0x3f {
            32 => vps.push(n),
            33 => sps.push(n),
            34 => pps.push(n),
            _ => {}
        }
    }
    let hvcc = weir_h265::HevcConfig::from_parameter_sets(&vps, &sps, &pps).unwrap();
    let video = TrackInfo::new(TrackId(0), Codec::H265, 1000).with_config(hvcc.to_bytes());
    let audio = TrackInfo::new(TrackId(1), Codec::Opus, 1000).with_config(opus_head());
    let mux = FlvMuxer::new(MuxConfig::default().hevc(signalling));
    let mut sent: Vec<(TagType, Bytes)> = Vec::new();
    sent.push((
        TagType::Video,
        mux.sequence_header(&video, 0).unwrap().unwrap().body,
    ));
    sent.push((
        TagType::Audio,
        mux.sequence_header(&audio, 0).unwrap().unwrap().body,
    ));
    let mut timed = Vec::new();
    for (i, au) in aus.iter().enumerate() {
        let ts = i as i64 * 40;
        let mut data = BytesMut::new();
        nal::annexb_to_length_prefixed(au, 4, &mut data).unwrap();
        let t = Timestamp::new(ts, Timebase::MILLIS);
        let f = Frame::new(video.id, t, t, data.freeze()).with_keyframe(weir_h265::is_keyframe(&{
            let mut d = BytesMut::new();
            nal::annexb_to_length_prefixed(au, 4, &mut d).unwrap();
            d.freeze()
        }));
        timed.push((
            ts as u32,
            TagType::Video,
            mux.frame(&video, &f).unwrap().body,
        ));
        // Two 20 ms Opus packets per video frame (synthetic payloads: the relay is a
        // pass-through and must deliver them untouched).
        for k in 0..2 {
            let ats = ts + 20 * k;
            let payload = Bytes::from(vec![0xFC, (i as u8).wrapping_mul(3), k as u8, 0x55, 0xAA]);
            let t = Timestamp::new(ats, Timebase::MILLIS);
            let f = Frame::new(audio.id, t, t, payload).with_keyframe(true);
            timed.push((
                ats as u32,
                TagType::Audio,
                mux.frame(&audio, &f).unwrap().body,
            ));
        }
    }
    sent.extend(timed.iter().map(|(_, t, b)| (*t, b.clone())));

    let relay = TestRelay::start(test_config()).await;
    // An RTMP player and an HTTP-FLV player wait for the stream.
    let rtmp_player = tokio::spawn({
        let addr = relay.rtmp;
        async move {
            let mut p = rtmp_connect(addr, "live").await.play("hevc").await.unwrap();
            let mut got = Vec::new();
            while let Some(ev) = next_event(&mut p, Duration::from_secs(5)).await {
                match ev {
                    ClientEvent::Video { data, .. } => got.push((TagType::Video, data)),
                    ClientEvent::Audio { data, .. } => got.push((TagType::Audio, data)),
                    ClientEvent::StreamEof { .. } => break,
                    _ => {}
                }
            }
            got
        }
    });
    let http_player = tokio::spawn(http_get_body(relay.http, "/live/hevc.flv"));
    relay.wait_for_players("live/hevc", 2).await;

    let mut publisher = rtmp_connect(relay.rtmp, "live")
        .await
        .publish("hevc")
        .await
        .unwrap();
    for (t, body) in &sent[..2] {
        match t {
            TagType::Video => publisher.session().send_video(0, body.clone()).unwrap(),
            _ => publisher.session().send_audio(0, body.clone()).unwrap(),
        }
    }
    for (ts, t, body) in &timed {
        match t {
            TagType::Video => publisher.session().send_video(*ts, body.clone()).unwrap(),
            _ => publisher.session().send_audio(*ts, body.clone()).unwrap(),
        }
        publisher.flush().await.unwrap();
    }
    publisher.close().await.unwrap();
    drop(publisher);

    let got_rtmp = tokio::time::timeout(Duration::from_secs(20), rtmp_player)
        .await
        .unwrap()
        .unwrap();
    assert_same_tags(
        &got_rtmp,
        &sent,
        "RTMP player receives the published tag bodies untouched",
    );
    let flv = tokio::time::timeout(Duration::from_secs(20), http_player)
        .await
        .unwrap()
        .unwrap();
    let (header, tags) = weir_flv::read_all(flv, ReaderConfig::default()).unwrap();
    let header = header.unwrap();
    assert!(header.has_video && header.has_audio);
    let got_http: Vec<(TagType, Bytes)> = tags
        .iter()
        .filter(|t| t.tag_type != TagType::Script)
        .map(|t| (t.tag_type, t.body.clone()))
        .collect();
    assert_same_tags(
        &got_http,
        &sent,
        "HTTP-FLV player receives the published tag bodies untouched",
    );

    // What came out decodes to the same pictures as the source.
    let mut demux = FlvDemuxer::new();
    let mut annexb = BytesMut::new();
    for tag in &tags {
        demux.push_tag(tag).unwrap();
        while let Some(ev) = demux.poll_event() {
            if let FlvEvent::Frame(f) = ev {
                if f.track == weir_flv::VIDEO_TRACK {
                    nal::length_prefixed_to_annexb(&f.data, 4, &mut annexb).unwrap();
                }
            }
        }
    }
    let out = dir.join("out.hevc");
    std::fs::write(&out, &annexb).unwrap();
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    assert_eq!(want.len(), 50);
    assert_eq!(
        weir_testutil::decoded_video_md5(&out, &["-f", "hevc"]),
        want
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_enhanced_rtmp_and_opus_pass_through() {
    interop_or_skip!();
    h265_and_opus_through_the_relay(HevcSignalling::Enhanced).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_codec_id_12_passes_through() {
    interop_or_skip!();
    h265_and_opus_through_the_relay(HevcSignalling::LegacyCodecId12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_and_video_only_streams() {
    interop_or_skip!();
    let dir = TempDir::new("relay-av-only");
    let src = make_source(&dir, "src.flv", 3, &[]);
    let relay = TestRelay::start(test_config()).await;
    for (name, drop_flag, keep) in [("vonly", "-an", "0:v"), ("aonly", "-vn", "0:a")] {
        let out = dir.join(&format!("{name}.flv"));
        let key = format!("live/{name}");
        let player = play_ffmpeg(&relay.http_url(&key), &out);
        relay.wait_for_players(&key, 1).await;
        let publisher = ffmpeg_child(&[
            "-re".into(),
            "-i".into(),
            src.display().to_string(),
            drop_flag.into(),
            "-c".into(),
            "copy".into(),
            "-f".into(),
            "flv".into(),
            relay.rtmp_url(&key),
        ]);
        wait_ok(publisher, "publisher", Duration::from_secs(20)).await;
        wait_ok(player, "player", Duration::from_secs(20)).await;
        let flags = std::fs::read(&out).unwrap()[4];
        assert_eq!(
            flags,
            if keep == "0:v" { 1 } else { 4 },
            "{name}: FLV header flags"
        );
        let streams = weir_testutil::ffprobe([
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            streams.trim(),
            if keep == "0:v" { "video" } else { "audio" },
            "{name}"
        );
        let md5 = |f: &Path| {
            packets(f, keep)
                .into_iter()
                .map(|p| p.md5)
                .collect::<Vec<_>>()
        };
        assert_eq!(md5(&out), md5(&src), "{name}: payload bit-exact");
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_forwarded_to_players() {
    interop_or_skip!();
    let dir = TempDir::new("relay-meta");
    let src = make_source(&dir, "src.flv", 2, &[]);
    let relay = TestRelay::start(test_config()).await;
    let body = tokio::spawn(http_get_body(relay.http, "/live/meta.flv"));
    relay.wait_for_players("live/meta", 1).await;
    wait_ok(
        push(&src, &relay.rtmp_url("live/meta")),
        "publisher",
        Duration::from_secs(20),
    )
    .await;
    let flv = tokio::time::timeout(Duration::from_secs(20), body)
        .await
        .unwrap()
        .unwrap();
    let (_, tags) = weir_flv::read_all(flv, ReaderConfig::default()).unwrap();
    let script = tags
        .iter()
        .find(|t| t.tag_type == TagType::Script)
        .expect("onMetaData tag");
    assert_eq!(
        script.timestamp, 0,
        "metadata at timestamp 0 (ffmpeg reads a later one as subtitles)"
    );
    let data = weir_flv::ScriptData::parse(&script.body, Default::default()).unwrap();
    let md = data.metadata().expect("onMetaData");
    assert_eq!(md.get_f64("width"), Some(320.0));
    assert_eq!(md.get_f64("height"), Some(240.0));
    assert_eq!(md.get_f64("videocodecid"), Some(7.0));
    assert_eq!(md.get_f64("audiocodecid"), Some(10.0));
    relay.stop().await;
}

/// Frame ingest (the path RTSP and GB28181 publishers use): canonical H.264 frames and a
/// TrackInfo in; FLV built by the relay out, playable by ffmpeg and bit-exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_ingest_is_served_as_flv_bit_exact() {
    interop_or_skip!();
    let dir = TempDir::new("relay-frames");
    let src = dir.join("src.h264");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-bf",
        "0",
        "-bsf:v",
        "h264_mp4toannexb",
        "-f",
        "h264",
        src.to_str().unwrap(),
    ]);
    let aus = annexb_access_units(&src);
    assert_eq!(aus.len(), 50);
    let (mut sps, mut pps) = (vec![], vec![]);
    for n in nal::annexb_nalus(&aus[0]) {
        match n[0] & 0x1f {
            7 => sps.push(n),
            8 => pps.push(n),
            _ => {}
        }
    }
    let avcc = weir_h264::AvcConfig::from_parameter_sets(&sps, &pps).unwrap();
    let track = TrackInfo::new(TrackId(7), Codec::H264, 90_000).with_config(avcc.to_bytes());

    let relay = TestRelay::start(test_config()).await;
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url("live/frames"), &out);
    relay.wait_for_players("live/frames", 1).await;
    {
        let publisher = relay.hub.publish("live/frames", "test").unwrap();
        publisher.track(track.clone());
        for (i, au) in aus.iter().enumerate() {
            let mut data = BytesMut::new();
            nal::annexb_to_length_prefixed(au, 4, &mut data).unwrap();
            let data = data.freeze();
            let t = Timestamp::new(i as i64 * 3600, Timebase::MPEG);
            let key = weir_h264::is_keyframe(&data);
            publisher.frame(Frame::new(track.id, t, t, data).with_keyframe(key));
        }
    }
    wait_ok(player, "player", Duration::from_secs(20)).await;
    // ffmpeg's own FLV of the same elementary stream is the reference.
    let reference = dir.join("ref.flv");
    weir_testutil::ffmpeg([
        "-r",
        "25",
        "-i",
        src.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        "flv",
        reference.to_str().unwrap(),
    ]);
    let want: Vec<String> = packets(&reference, "0:v")
        .into_iter()
        .map(|p| p.md5)
        .collect();
    let got: Vec<String> = packets(&out, "0:v").into_iter().map(|p| p.md5).collect();
    assert_eq!(got.len(), 50);
    assert_eq!(
        got, want,
        "frames built into FLV by the relay equal ffmpeg's own remux"
    );
    assert_eq!(
        weir_testutil::decoded_video_md5(&out, &[]),
        weir_testutil::decoded_video_md5(&src, &[]),
        "and decode to the source pictures"
    );
    relay.stop().await;
}
