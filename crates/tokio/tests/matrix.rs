//! Any-to-any: every ingest (RTMP, RTSP over TCP and UDP, GB28181 over UDP and TCP) played
//! through every egress at once (RTMP, HTTP-FLV, WebSocket-FLV, RTSP over TCP and UDP, HLS),
//! H.264 + AAC. Each egress must decode to the source pictures from a keyframe on and carry
//! audio. (No B-frames: RTP carries no DTS, so RTP ingest and egress need decode order =
//! presentation order.)

mod common;
mod wait;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use weir_media::{nal, AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_testutil::{interop_or_skip, TempDir};

#[derive(Copy, Clone, Debug, PartialEq)]
enum Ingest {
    Rtmp,
    RtspTcp,
    RtspUdp,
    GbUdp,
    GbTcp,
}

const SSRC: u32 = 0x0000_0A5E;

/// The source as files: an FLV (for RTMP/RTSP pushes), the H.264 elementary stream that
/// defines the expected pictures, and (for GB28181) the RTP/PS packets of the same media.
struct Source {
    flv: PathBuf,
    h264: PathBuf,
    gb_packets: Vec<Bytes>,
}

fn source(dir: &TempDir) -> Source {
    let h264 = dir.join("src.h264");
    let aac = dir.join("src.aac");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "3",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-bf",
        "0",
        "-f",
        "h264",
        h264.to_str().unwrap(),
    ]);
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        "3",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "adts",
        aac.to_str().unwrap(),
    ]);
    let flv = dir.join("src.flv");
    weir_testutil::ffmpeg([
        "-r",
        "25",
        "-i",
        h264.to_str().unwrap(),
        "-i",
        aac.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        "flv",
        flv.to_str().unwrap(),
    ]);
    // GB28181: the same media as PS over RTP.
    let data = Bytes::from(std::fs::read(&h264).unwrap());
    let mut at = 0;
    let mut aus = Vec::new();
    for l in weir_testutil::framemd5(&h264, "0:v", &["-r", "25"]) {
        let size: usize = l.split(',').nth(3).unwrap().trim().parse().unwrap();
        aus.push(data.slice(at..at + size));
        at += size;
    }
    let (mut sps, mut pps) = (vec![], vec![]);
    for n in nal::annexb_nalus(&aus[0]) {
        match n[0] & 0x1f {
            7 => sps.push(n),
            8 => pps.push(n),
            _ => {}
        }
    }
    let video = TrackInfo::new(TrackId(0), Codec::H264, 90_000).with_config(
        weir_h264::AvcConfig::from_parameter_sets(&sps, &pps)
            .unwrap()
            .to_bytes(),
    );
    let adts = Bytes::from(std::fs::read(&aac).unwrap());
    let raw: Vec<(weir_aac::AdtsHeader, Bytes)> =
        weir_aac::adts_frames(&adts).map(|r| r.unwrap()).collect();
    let audio = TrackInfo::new(TrackId(1), Codec::Aac, 90_000)
        .with_config(raw[0].0.to_config().to_bytes())
        .with_audio(AudioParams {
            sample_rate: 44_100,
            channels: 1,
        });
    let mut frames = Vec::new();
    for (i, au) in aus.iter().enumerate() {
        let mut d = BytesMut::new();
        nal::annexb_to_length_prefixed(au, 4, &mut d).unwrap();
        let d = d.freeze();
        let t = Timestamp::new(i as i64 * 3600, Timebase::MPEG);
        let key = weir_h264::is_keyframe(&d);
        frames.push(Frame::new(video.id, t, t, d).with_keyframe(key));
    }
    for (i, (_, p)) in raw.iter().enumerate() {
        let t = Timestamp::new(i as i64 * 1024 * 90_000 / 44_100, Timebase::MPEG);
        frames.push(Frame::new(audio.id, t, t, p.clone()).with_keyframe(true));
    }
    frames.sort_by_key(|f| (f.dts.ticks(), f.track));
    let mut mux = weir_ps::PsMuxer::new(&[video, audio], weir_ps::PsMuxConfig::default()).unwrap();
    let mut cfg = weir_rtp_rtcp::payload::PacketizerConfig::new(90_000);
    cfg.ssrc = SSRC;
    cfg.payload_type = 96;
    let mut pk = weir_rtp_rtcp::payload::ps::PsPacketizer::new(cfg);
    let mut gb_packets = Vec::new();
    for f in &frames {
        let mut ps = BytesMut::new();
        mux.write_frame(f, &mut ps).unwrap();
        let ps_frame = Frame::new(f.track, f.pts, f.dts, ps.freeze()).with_keyframe(f.keyframe);
        weir_rtp_rtcp::payload::Packetizer::packetize(&mut pk, &ps_frame, &mut gb_packets).unwrap();
    }
    Source {
        flv,
        h264,
        gb_packets,
    }
}

/// Sends packets as a GB28181 device would, paced roughly in real time (3 s of media).
async fn gb_send(relay: &TestRelay, packets: &[Bytes], tcp: bool) {
    let (udp, tcp_addr) = relay.gb28181();
    let per_tick = packets.len().div_ceil(150).max(1);
    if tcp {
        let mut s = tokio::net::TcpStream::connect(tcp_addr).await.unwrap();
        for chunk in packets.chunks(per_tick) {
            for p in chunk {
                s.write_all(&(p.len() as u16).to_be_bytes()).await.unwrap();
                s.write_all(p).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        s.shutdown().await.unwrap();
    } else {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for chunk in packets.chunks(per_tick) {
            for p in chunk {
                sock.send_to(p, udp).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn rtsp_play(url: &str, transport: &str, video: &Path, audio: &Path) -> tokio::process::Child {
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
        "h264".into(),
        video.display().to_string(),
        "-map".into(),
        "0:a".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "adts".into(),
        audio.display().to_string(),
    ])
}

async fn ws_record(url: String, out: PathBuf) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connect");
    let mut file = Vec::new();
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(tokio_tungstenite::tungstenite::Message::Binary(b)) => file.extend_from_slice(&b),
            Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    std::fs::write(out, file).unwrap();
}

/// Polls the HLS playlist until it ends; returns the concatenated segments.
async fn hls_record(relay_http: std::net::SocketAddr, key: String, out: PathBuf) {
    let mut have = std::collections::BTreeMap::new();
    for _ in 0..200 {
        let (code, _, body) = http_get(relay_http, &format!("/{key}/index.m3u8")).await;
        if code != 200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let text = String::from_utf8_lossy(&body).to_string();
        // Segment URIs carry the HLS session (`N.ts?session=ID`).
        for uri in text
            .lines()
            .filter(|l| l.split('?').next().is_some_and(|p| p.ends_with(".ts")))
        {
            let path = uri.split('?').next().unwrap_or(uri);
            let seq: u64 = path.trim_end_matches(".ts").parse().unwrap();
            if let std::collections::btree_map::Entry::Vacant(e) = have.entry(seq) {
                let (code, _, data) = http_get(relay_http, &format!("/{key}/{uri}")).await;
                if code == 200 {
                    e.insert(data);
                }
            }
        }
        if text.contains("#EXT-X-ENDLIST") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let all: Vec<u8> = have.values().flat_map(|b| b.iter().copied()).collect();
    std::fs::write(out, all).unwrap();
}

fn check(src_h264: &Path, video: &Path, audio: &Path, what: &str) {
    let want = weir_testutil::decoded_video_md5(src_h264, &[]);
    let got = weir_testutil::decoded_video_md5(video, &[]);
    assert!(got.len() >= 25, "{what}: {} pictures", got.len());
    let start = want
        .iter()
        .position(|m| *m == got[0])
        .unwrap_or_else(|| panic!("{what}: first picture not in the source"));
    assert_eq!(
        start % 25,
        0,
        "{what}: starts at source picture {start}, not a keyframe"
    );
    assert_eq!(
        got,
        want[start..start + got.len()].to_vec(),
        "{what}: pictures"
    );
    // The tail may be short by a frame for RTP egress (ffmpeg's receiver holds the last one).
    assert!(
        start + got.len() + 1 >= want.len(),
        "{what}: {} of {} pictures from #{start}",
        got.len(),
        want.len()
    );
    let a = packets(audio, "0:a");
    assert!(a.len() >= 40, "{what}: {} audio packets", a.len());
}

async fn any_to_any(ingest: Ingest) {
    let dir = TempDir::new(&format!("matrix-{ingest:?}"));
    let src = source(&dir);
    let mut config = test_config();
    config.hls.target_duration = Duration::from_secs(1);
    config.gb28181.idle_timeout = Duration::from_millis(600);
    let relay = TestRelay::start(config).await;
    let key = match ingest {
        Ingest::GbUdp | Ingest::GbTcp => weir_tokio::ingest::gb28181::stream_key(SSRC),
        _ => "live/matrix".to_string(),
    };
    let p = |n: &str| dir.join(n);
    // Every egress waits for the stream.
    let rtmp = play_ffmpeg(&relay.rtmp_url(&key), &p("rtmp.flv"));
    let http = play_ffmpeg(&relay.http_url(&key), &p("http.flv"));
    let ws = tokio::spawn(ws_record(relay.ws_url(&key), p("ws.flv")));
    let rtsp_tcp = rtsp_play(
        &relay.rtsp_url(&key),
        "tcp",
        &p("rtsp-tcp.h264"),
        &p("rtsp-tcp.aac"),
    );
    let rtsp_udp = rtsp_play(
        &relay.rtsp_url(&key),
        "udp",
        &p("rtsp-udp.h264"),
        &p("rtsp-udp.aac"),
    );
    // All five players (RTMP, HTTP-FLV, WS-FLV, RTSP over TCP and UDP: DESCRIBE waits too)
    // are waiting before the publish starts.
    wait::until("five players waiting", || {
        relay.hub.waiting_players(&key) >= 5
    })
    .await;
    let hls = tokio::spawn(hls_record(relay.http, key.clone(), p("hls.ts")));
    match ingest {
        Ingest::Rtmp => {
            wait_ok(
                push(&src.flv, &relay.rtmp_url(&key)),
                "rtmp publisher",
                Duration::from_secs(30),
            )
            .await
        }
        Ingest::RtspTcp | Ingest::RtspUdp => {
            let transport = if ingest == Ingest::RtspTcp {
                "tcp"
            } else {
                "udp"
            };
            let publisher = ffmpeg_child(&[
                "-re".into(),
                "-i".into(),
                src.flv.display().to_string(),
                "-c".into(),
                "copy".into(),
                "-f".into(),
                "rtsp".into(),
                "-rtsp_transport".into(),
                transport.into(),
                relay.rtsp_url(&key),
            ]);
            wait_ok(publisher, "rtsp publisher", Duration::from_secs(30)).await
        }
        Ingest::GbUdp => {
            gb_send(&relay, &src.gb_packets, false).await;
            String::new()
        }
        Ingest::GbTcp => {
            gb_send(&relay, &src.gb_packets, true).await;
            String::new()
        }
    };
    let limit = Duration::from_secs(30);
    wait_ok(rtmp, "rtmp player", limit).await;
    wait_ok(http, "http-flv player", limit).await;
    wait_ok(rtsp_tcp, "rtsp/tcp player", limit).await;
    wait_ok(rtsp_udp, "rtsp/udp player", limit).await;
    tokio::time::timeout(limit, ws).await.unwrap().unwrap();
    tokio::time::timeout(limit, hls).await.unwrap().unwrap();
    let name = format!("{ingest:?}");
    check(
        &src.h264,
        &p("rtmp.flv"),
        &p("rtmp.flv"),
        &format!("{name} → RTMP"),
    );
    check(
        &src.h264,
        &p("http.flv"),
        &p("http.flv"),
        &format!("{name} → HTTP-FLV"),
    );
    check(
        &src.h264,
        &p("ws.flv"),
        &p("ws.flv"),
        &format!("{name} → WS-FLV"),
    );
    check(
        &src.h264,
        &p("rtsp-tcp.h264"),
        &p("rtsp-tcp.aac"),
        &format!("{name} → RTSP/TCP"),
    );
    check(
        &src.h264,
        &p("rtsp-udp.h264"),
        &p("rtsp-udp.aac"),
        &format!("{name} → RTSP/UDP"),
    );
    check(
        &src.h264,
        &p("hls.ts"),
        &p("hls.ts"),
        &format!("{name} → HLS"),
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_to_any_from_rtmp() {
    interop_or_skip!();
    any_to_any(Ingest::Rtmp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_to_any_from_rtsp_tcp() {
    interop_or_skip!();
    any_to_any(Ingest::RtspTcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_to_any_from_rtsp_udp() {
    interop_or_skip!();
    any_to_any(Ingest::RtspUdp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_to_any_from_gb28181_udp() {
    interop_or_skip!();
    any_to_any(Ingest::GbUdp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_to_any_from_gb28181_tcp() {
    interop_or_skip!();
    any_to_any(Ingest::GbTcp).await;
}
