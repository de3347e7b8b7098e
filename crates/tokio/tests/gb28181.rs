//! GB28181 ingest with a test device: H.264 + AAC muxed into MPEG-PS by weir-ps,
//! packetized as GB28181 devices do (RTP, PS of one frame per timestamp, marker on the
//! last packet), sent over UDP and over TCP (RFC 4571), played back by ffmpeg over
//! HTTP-FLV and compared with the source pictures.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use tokio::io::AsyncWriteExt;
use weir_media::{nal, AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_ps::{PsMuxConfig, PsMuxer};
use weir_rtp_rtcp::payload::ps::PsPacketizer;
use weir_rtp_rtcp::payload::{Packetizer, PacketizerConfig};
use weir_testutil::{interop_or_skip, TempDir};

const SSRC: u32 = 0x0BEB_C201;

struct Source {
    h264: std::path::PathBuf,
    packets: Vec<Bytes>,
}

/// Makes H.264 + AAC with ffmpeg, muxes it to PS frame by frame and packetizes it.
fn device_stream(dir: &TempDir, seconds: u32) -> Source {
    let h264 = dir.join("src.h264");
    let aac = dir.join("src.aac");
    let t = seconds.to_string();
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        &t,
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
        &t,
        "-c:a",
        "aac",
        "-f",
        "adts",
        aac.to_str().unwrap(),
    ]);
    // Video access units by ffmpeg's own packet sizes.
    let data = Bytes::from(std::fs::read(&h264).unwrap());
    let mut at = 0;
    let mut aus = Vec::new();
    for l in weir_testutil::framemd5(&h264, "0:v", &[]) {
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
    let asc = raw[0].0.to_config();
    let audio = TrackInfo::new(TrackId(1), Codec::Aac, 90_000)
        .with_config(asc.to_bytes())
        .with_audio(AudioParams {
            sample_rate: 44_100,
            channels: 1,
        });
    let mut frames: Vec<Frame> = Vec::new();
    for (i, au) in aus.iter().enumerate() {
        let mut d = BytesMut::new();
        nal::annexb_to_length_prefixed(au, 4, &mut d).unwrap();
        let d = d.freeze();
        let t = Timestamp::new(i as i64 * 3600, Timebase::MPEG);
        let key = weir_h264::is_keyframe(&d);
        frames.push(Frame::new(video.id, t, t, d).with_keyframe(key));
    }
    for (i, (_, payload)) in raw.iter().enumerate() {
        let t = Timestamp::new(i as i64 * 1024 * 90_000 / 44_100, Timebase::MPEG);
        frames.push(Frame::new(audio.id, t, t, payload.clone()).with_keyframe(true));
    }
    frames.sort_by_key(|f| (f.dts.ticks(), f.track));
    let mut mux = PsMuxer::new(&[video, audio], PsMuxConfig::default()).unwrap();
    let mut cfg = PacketizerConfig::new(90_000);
    cfg.ssrc = SSRC;
    cfg.payload_type = 96;
    let mut pk = PsPacketizer::new(cfg);
    let mut packets = Vec::new();
    for f in &frames {
        let mut ps = BytesMut::new();
        mux.write_frame(f, &mut ps).unwrap();
        let ps_frame = Frame::new(f.track, f.pts, f.dts, ps.freeze()).with_keyframe(f.keyframe);
        pk.packetize(&ps_frame, &mut packets).unwrap();
    }
    Source { h264, packets }
}

async fn relay() -> (common::TestRelay, SocketAddr, SocketAddr) {
    let mut config = test_config();
    config.gb28181.idle_timeout = Duration::from_millis(600);
    let relay = TestRelay::start(config).await;
    let (udp, tcp) = relay.gb28181();
    (relay, udp, tcp)
}

async fn send_udp(to: SocketAddr, packets: &[Bytes]) {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for (i, p) in packets.iter().enumerate() {
        sock.send_to(p, to).await.unwrap();
        if i % 20 == 19 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

async fn send_tcp(to: SocketAddr, packets: &[Bytes]) {
    let mut s = tokio::net::TcpStream::connect(to).await.unwrap();
    for p in packets {
        s.write_all(&(p.len() as u16).to_be_bytes()).await.unwrap();
        s.write_all(p).await.unwrap();
    }
    s.shutdown().await.unwrap();
}

async fn play_and_check(
    relay: &common::TestRelay,
    dir: &TempDir,
    src: &Source,
    send: impl std::future::Future<Output = ()>,
) {
    let key = "rtp/0BEBC201";
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url(key), &out);
    relay.wait_for_players(key, 1).await;
    send.await;
    wait_ok(player, "player", Duration::from_secs(30)).await;
    let want = weir_testutil::decoded_video_md5(&src.h264, &[]);
    let got = weir_testutil::decoded_video_md5(&out, &[]);
    assert_eq!(got, want, "pictures bit-exact to the device's source");
    let audio = packets(&out, "0:a");
    assert!(audio.len() >= 80, "audio present: {} packets", audio.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gb28181_over_udp_and_tcp_is_playable_bit_exact() {
    interop_or_skip!();
    let dir = TempDir::new("gb");
    let src = device_stream(&dir, 2);
    let (relay, udp, tcp) = relay().await;
    play_and_check(&relay, &dir, &src, send_udp(udp, &src.packets)).await;
    // The UDP stream ended after its idle timeout; the same SSRC comes back over TCP.
    let dir2 = TempDir::new("gb-tcp");
    play_and_check(&relay, &dir2, &src, send_tcp(tcp, &src.packets)).await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gb28181_udp_loss_and_reordering_yield_no_corrupt_pictures() {
    interop_or_skip!();
    let dir = TempDir::new("gb-loss");
    let src = device_stream(&dir, 4);
    // Deterministic impairment: drop ~1% of packets and swap neighbours now and then.
    let mut impaired = Vec::new();
    let mut x: u32 = 12345;
    let mut dropped = 0;
    for p in &src.packets {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        if (x >> 16) % 100 == 0 {
            dropped += 1;
            continue;
        }
        impaired.push(p.clone());
        if (x >> 8) % 50 == 0 && impaired.len() > 2 {
            let n = impaired.len();
            impaired.swap(n - 1, n - 2);
        }
    }
    assert!(dropped > 0);
    let (relay, udp, _) = relay().await;
    let key = "rtp/0BEBC201";
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url(key), &out);
    relay.wait_for_players(key, 1).await;
    send_udp(udp, &impaired).await;
    wait_ok(player, "player", Duration::from_secs(30)).await;
    let want = weir_testutil::decoded_video_md5(&src.h264, &[]);
    let got = weir_testutil::decoded_video_md5(&out, &[]);
    // Every picture a player decodes is a source picture (damaged frames and those that
    // depend on them are held back until the next keyframe), and most survive.
    assert!(
        got.iter().all(|m| want.contains(m)),
        "a corrupt picture reached the player"
    );
    assert!(
        got.len() >= want.len() / 3,
        "{} of {} pictures",
        got.len(),
        want.len()
    );
    relay.stop().await;
}

#[test]
fn stream_keys_are_uppercase_hex() {
    assert_eq!(
        weir_tokio::ingest::gb28181::stream_key(0x0beb_c201),
        "rtp/0BEBC201"
    );
    assert_eq!(weir_tokio::ingest::gb28181::stream_key(1), "rtp/00000001");
}
