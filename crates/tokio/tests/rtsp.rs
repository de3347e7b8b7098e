//! RTSP play and publish against real ffmpeg: TCP interleaved and UDP, pictures compared
//! decoded (md5 per picture) with the source from a keyframe on, audio present.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use tokio::process::Child;
use weir_testutil::{interop_or_skip, TempDir};

/// Plays `url` with ffmpeg's RTSP client: video copied to raw H.264 (`out.h264`), audio to
/// ADTS (`out.aac`). (Matroska refuses the first B-frame packets of an RTSP input: RTP
/// carries no DTS, so ffmpeg has none for them.)
fn rtsp_play(url: &str, transport: &str, dir: &Path) -> Child {
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
        dir.join("out.h264").display().to_string(),
        "-map".into(),
        "0:a".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "adts".into(),
        dir.join("out.aac").display().to_string(),
    ])
}

/// Publishes `src` in real time to `url` with ffmpeg's RTSP muxer.
fn rtsp_push(src: &Path, url: &str, transport: &str) -> Child {
    ffmpeg_child(&[
        "-re".into(),
        "-i".into(),
        src.display().to_string(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "rtsp".into(),
        "-rtsp_transport".into(),
        transport.into(),
        url.into(),
    ])
}

/// Asserts that `got` decodes to the source pictures from a keyframe on; returns where.
fn assert_pictures_from_keyframe(src: &Path, got: &Path, what: &str) -> usize {
    let want = weir_testutil::decoded_video_md5(src, &[]);
    let have = weir_testutil::decoded_video_md5(got, &[]);
    assert!(!have.is_empty(), "{what}: no pictures");
    let start = want
        .iter()
        .position(|m| *m == have[0])
        .unwrap_or_else(|| panic!("{what}: first picture is not in the source"));
    assert!(
        keyframe_indices(src).contains(&start),
        "{what}: starts at source picture #{start}, not a keyframe"
    );
    assert_eq!(
        have,
        want[start..].to_vec(),
        "{what}: pictures from #{start}"
    );
    start
}

fn assert_audio(file: &Path, min: usize, what: &str) {
    let audio = packets(file, "0:a");
    assert!(audio.len() >= min, "{what}: {} audio packets", audio.len());
}

async fn play_case(transport: &str) {
    let dir = TempDir::new(&format!("rtsp-play-{transport}"));
    let src = make_source(&dir, "src.flv", 4, &[]);
    let relay = TestRelay::start(test_config()).await;
    let key = format!("live/{transport}");
    let publisher = push(&src, &relay.rtmp_url(&key));
    // Join mid-stream: the player must start on the cached keyframe.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let player = rtsp_play(&relay.rtsp_url(&key), transport, dir.path());
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    wait_ok(player, "rtsp player", Duration::from_secs(30)).await;
    let what = format!("rtsp/{transport}");
    assert_pictures_from_keyframe(&src, &dir.join("out.h264"), &what);
    assert_audio(&dir.join("out.aac"), 40, &what);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_tcp_player_gets_source_pictures_from_a_keyframe() {
    interop_or_skip!();
    play_case("tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_udp_player_gets_source_pictures_from_a_keyframe() {
    interop_or_skip!();
    play_case("udp").await;
}

async fn publish_case(transport: &str) {
    let dir = TempDir::new(&format!("rtsp-publish-{transport}"));
    // RTP carries no DTS: a source without B-frames keeps pts == dts valid.
    let src = make_source(
        &dir,
        "src.flv",
        4,
        &["-bf", "0", "-x264-params", "bframes=0"],
    );
    let relay = TestRelay::start(test_config()).await;
    let key = format!("live/pub{transport}");
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url(&key), &out);
    relay.wait_for_players(&key, 1).await;
    let publisher = rtsp_push(&src, &relay.rtsp_url(&key), transport);
    wait_ok(publisher, "rtsp publisher", Duration::from_secs(30)).await;
    wait_ok(player, "http-flv player", Duration::from_secs(30)).await;
    let what = format!("rtsp-publish/{transport}");
    let start = assert_pictures_from_keyframe(&src, &out, &what);
    assert_eq!(start, 0, "{what}: a waiting player gets every picture");
    assert_audio(&out, 150, &what);
    // Both tracks start together in the source; the RTCP sender reports keep them aligned.
    let (v, a) = (packets(&out, "0:v"), packets(&out, "0:a"));
    let skew = (v[0].dts - a[0].dts).abs();
    assert!(skew <= 100, "{what}: A/V start skew {skew} ms");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_tcp_publish_is_relayed_to_http_flv_bit_exact() {
    interop_or_skip!();
    publish_case("tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_udp_publish_is_relayed_to_http_flv_bit_exact() {
    interop_or_skip!();
    publish_case("udp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_digest_auth_per_app_for_publish_and_play() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-auth");
    let src = make_source(
        &dir,
        "src.flv",
        4,
        &["-bf", "0", "-x264-params", "bframes=0"],
    );
    let mut config = test_config();
    config.rtsp_auth.insert(
        "secure".into(),
        weir_tokio::RtspAppAuth::new("alice", "s3cret"),
    );
    let relay = TestRelay::start(config).await;
    let addr = relay.rtsp.expect("rtsp");

    // Publishing without credentials is refused (401 after the challenge).
    let denied = rtsp_push(&src, &format!("rtsp://{addr}/secure/a"), "tcp");
    let out = denied.wait_with_output().await.expect("ffmpeg");
    assert!(
        !out.status.success(),
        "publish without credentials succeeded"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{err}");

    // With credentials (Digest MD5, what ffmpeg implements) it goes through.
    let publisher = rtsp_push(&src, &format!("rtsp://alice:s3cret@{addr}/secure/a"), "tcp");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let wrong = rtsp_play(
        &format!("rtsp://alice:wrong@{addr}/secure/a"),
        "tcp",
        &dir.join(""),
    );
    let out = wrong.wait_with_output().await.expect("ffmpeg");
    assert!(
        !out.status.success(),
        "play with a wrong password succeeded"
    );
    let play_dir = dir.join("ok");
    std::fs::create_dir_all(&play_dir).unwrap();
    let player = rtsp_play(
        &format!("rtsp://alice:s3cret@{addr}/secure/a"),
        "tcp",
        &play_dir,
    );
    wait_ok(publisher, "rtsp publisher", Duration::from_secs(30)).await;
    wait_ok(player, "rtsp player", Duration::from_secs(30)).await;
    assert_pictures_from_keyframe(&src, &play_dir.join("out.h264"), "rtsp auth play");
    assert_audio(&play_dir.join("out.aac"), 40, "rtsp auth play");
    relay.stop().await;
}

/// An RTSP proxy for a UDP publisher that loses and reorders about 1% of its RTP: the
/// `server_port` pair of every SETUP answer is replaced by a pair of the proxy's, which
/// forwards to the relay, dropping every 97th RTP packet and swapping every 89th with the
/// next one. Returns the proxy's RTSP address and a counter of (dropped, swapped).
async fn lossy_rtsp_proxy(
    relay: std::net::SocketAddr,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<(u32, u32)>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = std::sync::Arc::new(std::sync::Mutex::new((0u32, 0u32)));
    let c2 = counts.clone();
    tokio::spawn(async move {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let server = tokio::net::TcpStream::connect(relay).await.unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut cr, &mut sw).await;
        });
        let mut buf = vec![0u8; 16384];
        loop {
            let n = match tokio::time::timeout(Duration::from_secs(20), sr.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => n,
                _ => return,
            };
            let mut text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if let Some(pos) = text.find("server_port=") {
                let rest = &text[pos + 12..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '-'))
                    .unwrap_or(rest.len());
                let ports: Vec<u16> = rest[..end].split('-').map(|p| p.parse().unwrap()).collect();
                let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let rtcp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let mine = format!(
                    "server_port={}-{}",
                    rtp.local_addr().unwrap().port(),
                    rtcp.local_addr().unwrap().port()
                );
                text.replace_range(pos..pos + 12 + end, &mine);
                let to_rtp = std::net::SocketAddr::new(relay.ip(), ports[0]);
                let to_rtcp = std::net::SocketAddr::new(relay.ip(), ports[1]);
                let counts = c2.clone();
                tokio::spawn(async move {
                    let mut b = vec![0u8; 2048];
                    let mut i = 0u32;
                    let mut held: Option<Vec<u8>> = None;
                    while let Ok(Ok(n)) =
                        tokio::time::timeout(Duration::from_secs(5), rtp.recv(&mut b)).await
                    {
                        i += 1;
                        if i % 97 == 0 {
                            counts.lock().unwrap().0 += 1;
                            continue;
                        }
                        if i % 89 == 0 {
                            counts.lock().unwrap().1 += 1;
                            held = Some(b[..n].to_vec());
                            continue;
                        }
                        let _ = rtp.send_to(&b[..n], to_rtp).await;
                        if let Some(h) = held.take() {
                            let _ = rtp.send_to(&h, to_rtp).await;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut b = vec![0u8; 2048];
                    while let Ok(Ok(n)) =
                        tokio::time::timeout(Duration::from_secs(5), rtcp.recv(&mut b)).await
                    {
                        let _ = rtcp.send_to(&b[..n], to_rtcp).await;
                    }
                });
            }
            if cw.write_all(text.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    (addr, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_udp_publish_with_loss_and_reordering_yields_no_corrupt_pictures() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-lossy");
    let src = make_source(
        &dir,
        "src.flv",
        4,
        &["-bf", "0", "-x264-params", "bframes=0"],
    );
    let relay = TestRelay::start(test_config()).await;
    let (proxy, counts) = lossy_rtsp_proxy(relay.rtsp.expect("rtsp")).await;
    let key = "live/lossy";
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url(key), &out);
    relay.wait_for_players(key, 1).await;
    let publisher = rtsp_push(&src, &format!("rtsp://{proxy}/{key}"), "udp");
    wait_ok(publisher, "rtsp publisher", Duration::from_secs(30)).await;
    wait_ok(player, "http-flv player", Duration::from_secs(30)).await;
    let (dropped, swapped) = *counts.lock().unwrap();
    assert!(
        dropped >= 2 && swapped >= 2,
        "proxy: {dropped} dropped, {swapped} swapped"
    );

    // Every picture is a source picture, in source order: damaged frames were dropped
    // and the stream resumed at a keyframe.
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    let have = weir_testutil::decoded_video_md5(&out, &[]);
    assert!(have.len() >= 25, "only {} pictures", have.len());
    let keys = keyframe_indices(&src);
    let mut pos = 0;
    let mut prev: Option<usize> = None;
    for (i, m) in have.iter().enumerate() {
        let at = want[pos..].iter().position(|w| w == m).unwrap_or_else(|| {
            panic!("picture {i} is corrupt (not a source picture after #{pos})")
        }) + pos;
        if prev.is_some_and(|p| at != p + 1) || prev.is_none() {
            assert!(
                keys.contains(&at),
                "picture {i} resumes at source #{at}, not a keyframe"
            );
        }
        prev = Some(at);
        pos = at + 1;
    }
    assert!(packets(&out, "0:a").len() >= 100, "audio present");
    relay.stop().await;
}
