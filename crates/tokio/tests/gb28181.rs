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
        if (x >> 16).is_multiple_of(100) {
            dropped += 1;
            continue;
        }
        impaired.push(p.clone());
        if (x >> 8).is_multiple_of(50) && impaired.len() > 2 {
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

/// Datagrams carrying a live stream's SSRC from another source address (a spoofer, or a
/// second device misconfigured with the same SSRC) are dropped and counted: the player
/// gets the first device's pictures, bit-exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gb28181_spoofed_source_packets_are_dropped() {
    interop_or_skip!();
    let dir = TempDir::new("gb-spoof");
    let src = device_stream(&dir, 2);
    let (relay, udp, _) = relay().await;
    let key = "rtp/0BEBC201";
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url(key), &out);
    relay.wait_for_players(key, 1).await;
    let device = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let spoofer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // The spoofer's packets: same SSRC and sequence numbers, payload garbage.
    for (i, p) in src.packets.iter().enumerate() {
        device.send_to(p, udp).await.unwrap();
        if i > 0 {
            let mut evil = p.to_vec();
            for b in &mut evil[12..] {
                *b ^= 0x5A;
            }
            spoofer.send_to(&evil, udp).await.unwrap();
        }
        if i % 20 == 19 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    wait_ok(player, "player", Duration::from_secs(30)).await;
    let want = weir_testutil::decoded_video_md5(&src.h264, &[]);
    assert_eq!(weir_testutil::decoded_video_md5(&out, &[]), want);
    assert_eq!(
        relay.gb_stats.spoofed(),
        src.packets.len() as u64 - 1,
        "every spoofed datagram dropped and counted"
    );
    relay.stop().await;
}

/// Every GB28181 stream goes through the authorization hook with its SSRC and source
/// address: a refused SSRC creates no stream (UDP or TCP), is asked about once — not per
/// packet — and stays refused while it keeps sending; an allowed one plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gb28181_refused_by_the_auth_hook() {
    interop_or_skip!();
    use std::sync::{Arc, Mutex};
    use weir_tokio::{Access, AuthHook, AuthRequest};
    let dir = TempDir::new("gb-auth");
    let src = device_stream(&dir, 2);
    let seen: Arc<Mutex<Vec<AuthRequest>>> = Arc::default();
    let log = seen.clone();
    let hook = AuthHook::from_async(move |r: AuthRequest| {
        let log = log.clone();
        async move {
            let allow = r.ssrc != Some(SSRC);
            log.lock().unwrap().push(r);
            allow
        }
    });
    let mut config = test_config();
    config.gb28181.idle_timeout = Duration::from_secs(1);
    config.play_wait = Duration::from_millis(300);
    let relay = TestRelay::start_with_auth(config, hook).await;
    let (udp, tcp) = relay.gb28181();
    let device = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // The UDP refusal is remembered: after one question the whole stream is dropped. The
    // first packet asks (packets arriving while the hook thinks are not counted); the rest
    // go in batches of 16, each once the relay has counted the previous one (a loaded
    // machine's socket buffer would otherwise lose some, which are then not counted).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    device.send_to(&src.packets[0], udp).await.unwrap();
    while relay.gb_stats.refused() < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the hook was never asked"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let base = relay.gb_stats.dropped();
    let mut sent = 0u64;
    for batch in src.packets[1..].chunks(16) {
        for p in batch {
            device.send_to(p, udp).await.unwrap();
        }
        sent += batch.len() as u64;
        while relay.gb_stats.dropped() - base < sent {
            assert!(
                std::time::Instant::now() < deadline,
                "packets of the refused SSRC not dropped: {} of {sent}",
                relay.gb_stats.dropped() - base
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert!(
        relay.hub.streams().is_empty(),
        "no stream for a refused SSRC"
    );
    assert_eq!(relay.gb_stats.refused(), 1);
    // Over TCP the connection is refused too.
    let mut s = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let p = &src.packets[0];
    s.write_all(&(p.len() as u16).to_be_bytes()).await.unwrap();
    s.write_all(p).await.unwrap();
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read(&mut s, &mut b),
    )
    .await
    .expect("refused TCP connection closed")
    .unwrap_or(0);
    assert_eq!(n, 0);
    let (code, _, _) = http_get(relay.http, "/rtp/0BEBC201.flv").await;
    assert_eq!(code, 404);
    {
        let seen: Vec<AuthRequest> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.protocol == "gb28181")
            .cloned()
            .collect();
        assert_eq!(seen.len(), 2, "one question per refused stream: {seen:?}");
        let udp_req = &seen[0];
        assert_eq!(
            (
                udp_req.protocol,
                udp_req.access,
                udp_req.key.as_str(),
                udp_req.ssrc,
                udp_req.peer
            ),
            (
                "gb28181",
                Access::Publish,
                "rtp/0BEBC201",
                Some(SSRC),
                device.local_addr().unwrap()
            )
        );
    }
    // Another SSRC is allowed and plays.
    let other: Vec<Bytes> = src
        .packets
        .iter()
        .map(|p| {
            let mut v = p.to_vec();
            v[8..12].copy_from_slice(&0x0000_0042u32.to_be_bytes());
            Bytes::from(v)
        })
        .collect();
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url("rtp/00000042"), &out);
    relay.wait_for_players("rtp/00000042", 1).await;
    send_udp(udp, &other).await;
    drop(s);
    // The stream ends one idle timeout after its last packet; the player with it.
    wait_ok(player, "player", Duration::from_secs(30)).await;
    let want = weir_testutil::decoded_video_md5(&src.h264, &[]);
    assert_eq!(weir_testutil::decoded_video_md5(&out, &[]), want);
    relay.stop().await;
}

/// The number of streams one source may open is capped; past it, new SSRCs are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gb28181_streams_per_source_are_capped() {
    let mut config = test_config();
    config.gb28181.max_streams_per_source = 2;
    config.gb28181.idle_timeout = Duration::from_secs(30);
    let relay = TestRelay::start(config).await;
    let (udp, _) = relay.gb28181();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for ssrc in 1..=4u32 {
        // A bare RTP header with an empty PS payload.
        let mut p = vec![0x80, 96, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&ssrc.to_be_bytes());
        sock.send_to(&p, udp).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while relay.gb_stats.refused() < 2 {
        assert!(std::time::Instant::now() < deadline, "cap not enforced");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(relay.gb_stats.refused(), 2);
    relay.stop().await;
}
