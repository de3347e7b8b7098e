//! RTSP play and publish against real ffmpeg: TCP interleaved and UDP, pictures compared
//! decoded (md5 per picture) with the source from a keyframe on, audio present.

mod common;
mod wait;

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
    // Join mid-stream (1 s into the live stream): the player must start on the cached
    // keyframe.
    wait::stream_live(&relay.hub, &key, Duration::from_secs(1)).await;
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
    // B-frames (x264 bframes=2): RTP carries no DTS, so the relay derives it from the
    // picture order and the SPS reorder depth.
    let src = make_source(&dir, "src.flv", 4, &[]);
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
    // B-frames keep their timing: every packet's PTS and DTS, relative to the first, equal
    // the source's (what ffmpeg's own muxer gave them).
    let want = packets(&src, "0:v");
    assert!(
        want.iter().any(|p| p.pts != p.dts),
        "the source has B-frames"
    );
    assert_eq!(v.len(), want.len(), "{what}: every picture");
    for (i, (got, w)) in v.iter().zip(&want).enumerate() {
        assert_eq!(
            (got.pts - v[0].dts, got.dts - v[0].dts),
            (w.pts - want[0].dts, w.dts - want[0].dts),
            "{what}: packet {i} (pts, dts) relative to the first DTS"
        );
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_tcp_publish_with_b_frames_is_relayed_to_http_flv_bit_exact() {
    interop_or_skip!();
    publish_case("tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_udp_publish_with_b_frames_is_relayed_to_http_flv_bit_exact() {
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
    config.rtsp.auth.insert(
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
    wait::stream_live(&relay.hub, "secure/a", Duration::ZERO).await;
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
                        if i.is_multiple_of(97) {
                            counts.lock().unwrap().0 += 1;
                            continue;
                        }
                        if i.is_multiple_of(89) {
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

/// A scripted RTSP client over TCP (interleaved frames collected on the side).
struct RawClient {
    sock: tokio::net::TcpStream,
    buf: bytes::BytesMut,
    dec: weir_rtsp_proto::Decoder,
    cseq: u32,
    session: Option<String>,
    frames: Vec<weir_rtsp_proto::InterleavedFrame>,
}

impl RawClient {
    async fn connect(addr: std::net::SocketAddr) -> RawClient {
        RawClient {
            sock: tokio::net::TcpStream::connect(addr).await.unwrap(),
            buf: bytes::BytesMut::new(),
            dec: weir_rtsp_proto::Decoder::new(weir_rtsp_proto::Limits::default()),
            cseq: 0,
            session: None,
            frames: Vec::new(),
        }
    }

    /// Reads until the next item; None on timeout or EOF.
    async fn item(&mut self, timeout: Duration) -> Option<weir_rtsp_proto::Item> {
        use tokio::io::AsyncReadExt;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(i) = self.dec.decode(&mut self.buf).unwrap() {
                return Some(i);
            }
            match tokio::time::timeout_at(deadline, self.sock.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    async fn request(&mut self, method: &str, url: &str, extra: &str) -> weir_rtsp_proto::Response {
        use tokio::io::AsyncWriteExt;
        self.cseq += 1;
        let mut req = format!("{method} {url} RTSP/1.0\r\nCSeq: {}\r\n{extra}", self.cseq);
        if let Some(s) = &self.session {
            req.push_str(&format!("Session: {s}\r\n"));
        }
        req.push_str("\r\n");
        self.sock.write_all(req.as_bytes()).await.unwrap();
        loop {
            match self.item(Duration::from_secs(10)).await.expect("response") {
                weir_rtsp_proto::Item::Message(weir_rtsp_proto::Message::Response(r)) => {
                    if let Some(s) = r.headers.get("Session") {
                        self.session = Some(s.split(';').next().unwrap().trim().to_string());
                    }
                    return r;
                }
                weir_rtsp_proto::Item::Interleaved(f) => self.frames.push(f),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Collects interleaved frames until `done(frames)` holds; panics after a minute.
    async fn collect_until(
        &mut self,
        mut done: impl FnMut(&[weir_rtsp_proto::InterleavedFrame]) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + wait::DEADLINE;
        while !done(&self.frames) {
            let remaining = deadline
                .checked_duration_since(tokio::time::Instant::now())
                .unwrap_or_else(|| panic!("frames never came: {} so far", self.frames.len()));
            match self.item(remaining).await {
                Some(weir_rtsp_proto::Item::Interleaved(f)) => self.frames.push(f),
                Some(other) => panic!("unexpected {other:?}"),
                None => panic!(
                    "connection closed or no frame: {} so far",
                    self.frames.len()
                ),
            }
        }
    }

    /// Collects interleaved frames for `d`.
    async fn collect(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        while let Some(remaining) = deadline.checked_duration_since(tokio::time::Instant::now()) {
            match self.item(remaining).await {
                Some(weir_rtsp_proto::Item::Interleaved(f)) => self.frames.push(f),
                Some(other) => panic!("unexpected {other:?}"),
                None => return,
            }
        }
    }
}

/// True when an H.264 RTP payload starts an IDR picture (or carries its parameter sets).
fn starts_idr(rtp: &[u8]) -> bool {
    let p = weir_rtp_rtcp::RtpPacketRef::parse(rtp).unwrap();
    let pl = p.payload_bytes();
    match pl.first().map(|b| b & 0x1f) {
        Some(5 | 7 | 8) => true,
        Some(24) => pl.get(3).is_some_and(|b| matches!(b & 0x1f, 5 | 7)),
        Some(28) => pl.get(1).is_some_and(|b| b & 0x80 != 0 && b & 0x1f == 5),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_pause_resume_keepalive_and_session_timeout() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-pause");
    let src = make_source(&dir, "src.flv", 6, &[]);
    let mut config = test_config();
    config.rtsp.session_timeout = Duration::from_secs(2);
    let relay = TestRelay::start(config).await;
    let key = "live/pause";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let url = relay.rtsp_url(key);
    let mut c = RawClient::connect(relay.rtsp.unwrap()).await;

    let r = c.request("OPTIONS", &url, "").await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("Public").unwrap().contains("PAUSE"));
    let r = c
        .request("DESCRIBE", &url, "Accept: application/sdp\r\n")
        .await;
    assert_eq!(r.status, 200);
    let sdp = String::from_utf8_lossy(&r.body).into_owned();
    assert!(sdp.contains("a=rtpmap:96 H264/90000"), "{sdp}");
    assert!(sdp.contains("sprop-parameter-sets="), "{sdp}");
    assert!(sdp.contains("MPEG4-GENERIC/44100"), "{sdp}");
    for (i, ch) in [(0, "0-1"), (1, "2-3")] {
        let r = c
            .request(
                "SETUP",
                &format!("{url}/trackID={i}"),
                &format!("Transport: RTP/AVP/TCP;unicast;interleaved={ch}\r\n"),
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(r.headers.get("Session").unwrap().contains("timeout=2"));
    }
    let r = c.request("PLAY", &url, "Range: npt=0-\r\n").await;
    assert_eq!(r.status, 200);
    let info = r.headers.get("RTP-Info").unwrap().to_string();
    assert!(
        info.contains("trackID=0;seq=") && info.contains("rtptime="),
        "{info}"
    );
    assert_eq!(r.headers.get("Range"), Some("npt=now-"));
    // Until more than 10 video packets and an audio one have come (not for a fixed time).
    c.collect_until(|frames| {
        frames.iter().filter(|f| f.channel == 0).count() > 10
            && frames.iter().any(|f| f.channel == 2)
    })
    .await;
    let video: Vec<_> = c.frames.iter().filter(|f| f.channel == 0).collect();
    assert!(video.len() > 10, "{} video packets", video.len());
    assert!(
        starts_idr(&video[0].payload),
        "playback starts at a keyframe"
    );
    let first_seq = weir_rtp_rtcp::RtpPacketRef::parse(&video[0].payload)
        .unwrap()
        .sequence_number();
    assert!(
        info.contains(&format!("seq={first_seq}")),
        "{info} vs {first_seq}"
    );
    assert!(c.frames.iter().any(|f| f.channel == 2), "audio packets");

    // TEARDOWN on a fresh session is answered (a second player meanwhile).
    let mut d = RawClient::connect(relay.rtsp.unwrap()).await;
    assert_eq!(d.request("DESCRIBE", &url, "").await.status, 200);
    let r = d
        .request(
            "SETUP",
            &format!("{url}/trackID=0"),
            "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(d.request("TEARDOWN", &url, "").await.status, 200);

    // PAUSE: media stops; keep-alives keep the session.
    let r = c.request("PAUSE", &url, "").await;
    let last_seq_before_pause = c
        .frames
        .iter()
        .filter(|f| f.channel == 0)
        .map(|f| {
            weir_rtp_rtcp::RtpPacketRef::parse(&f.payload)
                .unwrap()
                .sequence_number()
        })
        .last()
        .unwrap();
    assert_eq!(r.status, 200);
    c.collect(Duration::from_millis(300)).await;
    c.frames.clear();
    for _ in 0..3 {
        let r = c.request("GET_PARAMETER", &url, "").await;
        assert_eq!(r.status, 200);
        tokio::time::sleep(Duration::from_millis(900)).await;
    }
    c.collect(Duration::from_millis(100)).await;
    assert!(
        c.frames.is_empty(),
        "{} packets while paused",
        c.frames.len()
    );

    // Resume: at a keyframe the player has not had yet (the RTP packets are shared by all
    // players, so the cached GOP it already got is not replayed with old sequence numbers).
    let r = c.request("PLAY", &url, "").await;
    assert_eq!(r.status, 200);
    c.collect_until(|frames| frames.iter().any(|f| f.channel == 0))
        .await;
    let video: Vec<_> = c.frames.iter().filter(|f| f.channel == 0).collect();
    assert!(
        !video.is_empty() && starts_idr(&video[0].payload),
        "resume at a keyframe"
    );
    let resumed = weir_rtp_rtcp::RtpPacketRef::parse(&video[0].payload)
        .unwrap()
        .sequence_number();
    assert!(
        resumed.wrapping_sub(last_seq_before_pause) as i16 > 0,
        "sequence numbers keep going forward after PAUSE: {last_seq_before_pause} then {resumed}"
    );

    // Paused and silent for longer than the timeout: the session is gone.
    let r = c.request("PAUSE", &url, "").await;
    assert_eq!(r.status, 200);
    c.collect(Duration::from_millis(3000)).await;
    let r = c.request("PLAY", &url, "").await;
    assert_eq!(r.status, 454, "session expired");

    drop(publisher);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_h265_publish_and_play() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-hevc");
    let src = dir.join("src.mkv");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "4",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "bframes=0:keyint=25:min-keyint=25:log-level=error",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        src.to_str().unwrap(),
    ]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/hevc";
    let publisher = rtsp_push(&src, &relay.rtsp_url(key), "tcp");
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let out = dir.join("out.hevc");
    let player = ffmpeg_child(&[
        "-rtsp_transport".into(),
        "udp".into(),
        "-i".into(),
        relay.rtsp_url(key),
        "-map".into(),
        "0:v".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "hevc".into(),
        out.display().to_string(),
    ]);
    wait_ok(publisher, "rtsp publisher", Duration::from_secs(30)).await;
    wait_ok(player, "rtsp player", Duration::from_secs(30)).await;
    assert_pictures_from_keyframe(&src, &out, "rtsp h265");
    relay.stop().await;
}

#[tokio::test]
async fn rtsp_garbage_gets_400_and_idle_connections_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = test_config();
    config.rtsp.session_timeout = Duration::from_secs(2);
    let relay = TestRelay::start(config).await;
    let addr = relay.rtsp.unwrap();

    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"\x16\x03\x01 this is not RTSP\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "connection not closed");
    assert!(
        got.starts_with(b"RTSP/1.0 400"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );

    let mut c = RawClient::connect(addr).await;
    let r = c.request("OPTIONS", "rtsp://127.0.0.1/live/none", "").await;
    assert_eq!(r.status, 200);

    // A connection that never sets up a session is closed after the session timeout.
    let start = std::time::Instant::now();
    assert!(c.item(Duration::from_secs(6)).await.is_none());
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_player_gets_audio_and_video_in_sync() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-sync");
    let src = make_source(
        &dir,
        "src.flv",
        4,
        &["-bf", "0", "-x264-params", "bframes=0"],
    );
    let relay = TestRelay::start(test_config()).await;
    let key = "live/sync";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let out = dir.join("out.mkv");
    let player = ffmpeg_child(&[
        "-rtsp_transport".into(),
        "tcp".into(),
        "-i".into(),
        relay.rtsp_url(key),
        "-map".into(),
        "0".into(),
        "-c".into(),
        "copy".into(),
        out.display().to_string(),
    ]);
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    wait_ok(player, "rtsp player", Duration::from_secs(30)).await;
    let (v, a) = (packets(&out, "0:v"), packets(&out, "0:a"));
    assert!(
        v.len() > 40 && a.len() > 80,
        "{} video, {} audio",
        v.len(),
        a.len()
    );
    // Source audio and video run from 0 together: the first picture (a keyframe at a
    // whole second) and the audio at that time must line up.
    let skew = (v[0].pts - a[0].pts).abs();
    assert!(skew <= 100, "A/V skew {skew} ms ({:?} / {:?})", v[0], a[0]);
    // Audio duration matches video duration (the RTP clock is the sample rate).
    let v_span = v.last().unwrap().pts - v[0].pts;
    let a_span = a.last().unwrap().pts - a[0].pts;
    assert!(
        (v_span - a_span).abs() <= 200,
        "spans: video {v_span} ms, audio {a_span} ms"
    );
    relay.stop().await;
}

/// A camera-like publisher: ANNOUNCE with no `sprop-parameter-sets` (SPS/PPS only in band),
/// RTP over TCP interleaved built with weir's packetizer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_publish_without_sprop_uses_in_band_parameter_sets() {
    interop_or_skip!();
    use bytes::Bytes;
    use tokio::io::AsyncWriteExt;
    let dir = TempDir::new("rtsp-nosprop");
    let src = dir.join("src.h264");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-frames:v",
        "50",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-bf",
        "0",
        "-bitexact",
        src.to_str().unwrap(),
    ]);
    // Access units (Annex B) by their framemd5 sizes, then length-prefixed.
    let data = Bytes::from(std::fs::read(&src).unwrap());
    let mut at = 0;
    let aus: Vec<Bytes> = weir_testutil::framemd5(&src, "0:v", &[])
        .iter()
        .map(|l| {
            let size: usize = l.split(',').nth(3).unwrap().trim().parse().unwrap();
            let au = data.slice(at..at + size);
            at += size;
            au
        })
        .collect();

    let relay = TestRelay::start(test_config()).await;
    let key = "live/cam";
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url(key), &out);
    relay.wait_for_players(key, 1).await;

    let url = relay.rtsp_url(key);
    let mut c = RawClient::connect(relay.rtsp.unwrap()).await;
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:track1\r\n";
    let r = c
        .request(
            "ANNOUNCE",
            &url,
            &format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                sdp.len()
            ),
        )
        .await;
    // (The helper appends a blank line; the body above already ended the request.)
    assert_eq!(r.status, 200);
    let r = c
        .request(
            "SETUP",
            &format!("{url}/track1"),
            "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(c.request("RECORD", &url, "").await.status, 200);

    let track = weir_media::TrackInfo::new(weir_media::TrackId(0), weir_media::Codec::H264, 90_000);
    let (mut pk, _) = weir_rtp_rtcp::payload::packetizer_for_track(
        &track,
        weir_rtp_rtcp::payload::PacketizerConfig::new(90_000),
    )
    .unwrap();
    let mut wire = Vec::new();
    for (i, au) in aus.iter().enumerate() {
        let mut lp = bytes::BytesMut::new();
        for nal in weir_media::nal::annexb_nalus(au) {
            lp.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            lp.extend_from_slice(&nal);
        }
        let ts = weir_media::Timestamp::new(i as i64 * 3600, weir_media::Timebase::MPEG);
        let mut frame = weir_media::Frame::new(weir_media::TrackId(0), ts, ts, lp.freeze());
        frame.keyframe = i % 25 == 0;
        let mut pkts = Vec::new();
        pk.packetize(&frame, &mut pkts).unwrap();
        for p in pkts {
            wire.extend_from_slice(&[b'$', 0]);
            wire.extend_from_slice(&(p.len() as u16).to_be_bytes());
            wire.extend_from_slice(&p);
        }
    }
    c.sock.write_all(&wire).await.unwrap();
    assert_eq!(c.request("TEARDOWN", &url, "").await.status, 200);
    wait_ok(player, "http-flv player", Duration::from_secs(30)).await;
    let start = assert_pictures_from_keyframe(&src, &out, "in-band parameter sets");
    assert_eq!(start, 0);
    relay.stop().await;
}

/// G.711 A-law with H.264: RTSP publish (UDP), RTSP play (TCP); the played A-law bytes are a
/// contiguous run of the source's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_g711_publish_and_play() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-g711");
    let src = dir.join("src.mkv");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=8000",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-bf",
        "0",
        "-c:a",
        "pcm_alaw",
        "-ac",
        "1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        src.to_str().unwrap(),
    ]);
    let src_al = dir.join("src.al");
    weir_testutil::ffmpeg([
        "-i",
        src.to_str().unwrap(),
        "-map",
        "0:a",
        "-c",
        "copy",
        "-f",
        "alaw",
        src_al.to_str().unwrap(),
    ]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/g711";
    let publisher = rtsp_push(&src, &relay.rtsp_url(key), "udp");
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let out_v = dir.join("out.h264");
    let out_a = dir.join("out.al");
    let player = ffmpeg_child(&[
        "-rtsp_transport".into(),
        "tcp".into(),
        "-i".into(),
        relay.rtsp_url(key),
        "-map".into(),
        "0:v".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "h264".into(),
        out_v.display().to_string(),
        "-map".into(),
        "0:a".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "alaw".into(),
        out_a.display().to_string(),
    ]);
    wait_ok(publisher, "rtsp publisher", Duration::from_secs(30)).await;
    wait_ok(player, "rtsp player", Duration::from_secs(30)).await;
    assert_pictures_from_keyframe(&src, &out_v, "rtsp g711 video");
    let want = std::fs::read(&src_al).unwrap();
    let got = std::fs::read(&out_a).unwrap();
    assert!(got.len() >= 8000, "{} A-law bytes", got.len());
    assert!(
        want.windows(got.len()).any(|w| w == got.as_slice()),
        "played A-law is not a contiguous run of the source"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_tcp_and_udp_players_at_once() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-two");
    let src = make_source(&dir, "src.flv", 4, &[]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/two";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let pa = rtsp_play(&relay.rtsp_url(key), "tcp", &a);
    let pb = rtsp_play(&relay.rtsp_url(key), "udp", &b);
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    wait_ok(pa, "tcp player", Duration::from_secs(30)).await;
    wait_ok(pb, "udp player", Duration::from_secs(30)).await;
    for (what, d) in [("tcp", &a), ("udp", &b)] {
        assert_pictures_from_keyframe(&src, &d.join("out.h264"), what);
        assert_audio(&d.join("out.aac"), 40, what);
    }
    relay.stop().await;
}

/// Write-once RTP fan-out: players of one stream get the very same RTP stream (SSRC,
/// sequence numbers, timestamps, payload bytes), packetized once in the publisher path —
/// a player that joins later starts at a keyframe inside that same numbering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_players_share_one_rtp_stream() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-shared");
    let src = make_source(&dir, "src.flv", 6, &[]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/shared";
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let url = relay.rtsp_url(key);
    let mut players = Vec::new();
    for _ in 0..3 {
        let mut c = RawClient::connect(relay.rtsp.unwrap()).await;
        assert_eq!(c.request("DESCRIBE", &url, "").await.status, 200);
        for (i, ch) in [(0, "0-1"), (1, "2-3")] {
            let r = c
                .request(
                    "SETUP",
                    &format!("{url}/trackID={i}"),
                    &format!("Transport: RTP/AVP/TCP;unicast;interleaved={ch}\r\n"),
                )
                .await;
            assert_eq!(r.status, 200);
        }
        let r = c.request("PLAY", &url, "").await;
        assert_eq!(r.status, 200);
        players.push((c, r.headers.get("RTP-Info").unwrap().to_string()));
        // Join at different moments (pacing the joins is the point here).
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The last joiner collects 40 video packets; the earlier ones collect up to the same
    // packet, so all three cover a common stretch however fast the machine runs.
    let seq_of = |f: &weir_rtsp_proto::InterleavedFrame| {
        weir_rtp_rtcp::RtpPacketRef::parse(&f.payload)
            .unwrap()
            .sequence_number()
    };
    let (last, _) = players.last_mut().unwrap();
    last.collect_until(|fs| fs.iter().filter(|f| f.channel == 0).count() > 40)
        .await;
    let target = last
        .frames
        .iter()
        .filter(|f| f.channel == 0)
        .map(seq_of)
        .last()
        .unwrap();
    for (c, _) in &mut players {
        c.collect_until(|fs| fs.iter().any(|f| f.channel == 0 && seq_of(f) == target))
            .await;
    }
    let mut by_seq: std::collections::HashMap<(u8, u16), bytes::Bytes> = Default::default();
    let mut ssrc: std::collections::HashMap<u8, u32> = Default::default();
    let mut overlaps = 0;
    for (c, info) in &players {
        let video: Vec<_> = c.frames.iter().filter(|f| f.channel == 0).collect();
        assert!(video.len() > 20, "{} video packets", video.len());
        assert!(
            starts_idr(&video[0].payload),
            "each player starts at a keyframe"
        );
        let first = weir_rtp_rtcp::RtpPacketRef::parse(&video[0].payload).unwrap();
        assert!(
            info.contains(&format!(
                "trackID=0;seq={};rtptime={}",
                first.sequence_number(),
                first.timestamp()
            )),
            "RTP-Info names the first packet: {info} vs {}/{}",
            first.sequence_number(),
            first.timestamp()
        );
        let mut prev: Option<u16> = None;
        for f in c.frames.iter().filter(|f| f.channel == 0 || f.channel == 2) {
            let p = weir_rtp_rtcp::RtpPacketRef::parse(&f.payload).unwrap();
            assert_eq!(
                *ssrc.entry(f.channel).or_insert(p.ssrc()),
                p.ssrc(),
                "one SSRC per track for all players"
            );
            if f.channel == 0 {
                if let Some(prev) = prev {
                    assert_eq!(p.sequence_number(), prev.wrapping_add(1), "no gaps");
                }
                prev = Some(p.sequence_number());
            }
            match by_seq.entry((f.channel, p.sequence_number())) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    assert_eq!(e.get(), &f.payload, "same packet bytes for every player");
                    overlaps += 1;
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(f.payload.clone());
                }
            }
        }
    }
    assert!(
        overlaps > 50,
        "players overlap in time: {overlaps} shared packets"
    );
    drop(publisher);
    relay.stop().await;
}

/// MJPEG published over RTSP (RFC 2435, `ffmpeg -c:v mjpeg -f rtsp`) is relayed to RTSP
/// players over TCP and UDP, fragmented to the MTU: every picture they decode is the
/// source's, and they get the whole clip from its first frame (every JPEG is a keyframe).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_mjpeg_publish_is_relayed_to_rtsp_players_over_tcp_and_udp() {
    interop_or_skip!();
    let dir = TempDir::new("rtsp-mjpeg");
    let src = dir.join("src.mkv");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "3",
        "-c:v",
        "mjpeg",
        // RFC 2435 carries only the standard Huffman tables (ffmpeg's RTP muxer refuses
        // the optimal ones its encoder picks by default).
        "-huffman",
        "default",
        "-pix_fmt",
        "yuvj420p",
        "-q:v",
        "4",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        src.to_str().unwrap(),
    ]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/mjpeg";
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    let mut players = Vec::new();
    let mut outs = Vec::new();
    let publisher = rtsp_push(&src, &relay.rtsp_url(key), "tcp");
    // Players start once the stream is live (DESCRIBE needs its tracks).
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    for transport in ["tcp", "udp"] {
        let out = dir.join(&format!("out-{transport}.mkv"));
        players.push(ffmpeg_child(&[
            "-rtsp_transport".into(),
            transport.into(),
            "-i".into(),
            relay.rtsp_url(key),
            "-c".into(),
            "copy".into(),
            out.display().to_string(),
        ]));
        outs.push(out);
    }
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    for p in players {
        wait_ok(p, "player", Duration::from_secs(30)).await;
    }
    for (out, tcp) in outs.iter().zip([true, false]) {
        let got = weir_testutil::decoded_video_md5(out, &[]);
        assert!(got.len() >= 10, "{}: {} pictures", out.display(), got.len());
        let start = want
            .iter()
            .position(|m| *m == got[0])
            .unwrap_or_else(|| panic!("{}: first picture not in the source", out.display()));
        if tcp {
            assert_eq!(
                got[..],
                want[start..start + got.len()],
                "{}: pictures bit-exact",
                out.display()
            );
        } else {
            // UDP on a loaded machine may lose a datagram (the player then drops that
            // JPEG): what arrives is the source's pictures, in order.
            let mut rest = want[start..].iter();
            for m in &got {
                assert!(
                    rest.any(|w| w == m),
                    "{}: a picture not from the source, or out of order",
                    out.display()
                );
            }
            assert!(
                got.len() * 10 >= (want.len() - start) * 8,
                "{}: {} of {} pictures",
                out.display(),
                got.len(),
                want.len() - start
            );
        }
    }
    relay.stop().await;
}
