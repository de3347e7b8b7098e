//! RTSP with real media through a test-only server on `ServerSession`: RTP packets made by
//! ffmpeg's own RTP muxer (an ffmpeg-fed source) are served to `ffmpeg -rtsp_transport tcp`
//! and `udp`; the video it receives decodes to the source pictures bit for bit and the
//! audio packet counts match. H.264 + AAC and H.265 + Opus.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use weir_sdp::SessionDescription;
use weir_testutil::TempDir;

/// Encodes 2 s of testsrc2 + sine with the given codecs into Matroska.
fn source(dir: &TempDir, name: &str, video: &[&str], audio: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "2",
        "-map",
        "0:v",
        "-map",
        "1:a",
    ];
    args.extend_from_slice(video);
    args.extend_from_slice(audio);
    args.push(out.to_str().unwrap());
    weir_testutil::ffmpeg(&args);
    out
}

/// Runs ffmpeg's RTP muxer on `src` (one output per stream, paced in real time) into two
/// local UDP sockets; returns its SDP and the packets per stream.
fn ffmpeg_rtp(dir: &TempDir, src: &Path) -> (SessionDescription, Vec<Vec<Bytes>>) {
    let socks: Vec<UdpSocket> = (0..2)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    for s in &socks {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    }
    let ports: Vec<u16> = socks
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    let sdp_path = dir.join("rtp.sdp");
    let child = spawn_ffmpeg(&[
        "-re",
        "-i",
        src.to_str().unwrap(),
        "-map",
        "0:v",
        "-c",
        "copy",
        "-f",
        "rtp",
        &format!("rtp://127.0.0.1:{}", ports[0]),
        "-map",
        "0:a",
        "-c",
        "copy",
        "-f",
        "rtp",
        &format!("rtp://127.0.0.1:{}", ports[1]),
        "-sdp_file",
        sdp_path.to_str().unwrap(),
    ]);
    // Collect until ffmpeg has exited and the sockets are empty (everything it sent is in
    // their queues by then) — not until some silence, which a slow start under load breaks.
    let mut child = child;
    let mut packets: Vec<Vec<Bytes>> = vec![Vec::new(), Vec::new()];
    let deadline = Instant::now() + DEADLINE;
    loop {
        let exited = child.try_wait().is_some();
        for (i, s) in socks.iter().enumerate() {
            let mut b = [0u8; 4096];
            while let Ok(n) = s.recv(&mut b) {
                // RTCP (PT 200–204) is sent to port+1; anything else here is RTP.
                if n >= 12 && !(200..=204).contains(&b[1]) {
                    packets[i].push(Bytes::copy_from_slice(&b[..n]));
                }
            }
        }
        if exited {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ffmpeg RTP muxer still running after {DEADLINE:?}"
        );
    }
    let (ok, err) = wait_child(child, DEADLINE);
    assert!(ok, "ffmpeg RTP muxer failed: {err}");
    let sdp = SessionDescription::parse(&std::fs::read(&sdp_path).unwrap()).unwrap();
    assert_eq!(sdp.media.len(), 2);
    (sdp, packets)
}

fn serve_to_ffmpeg(src: &Path, dir: &TempDir, transport: &str, vformat: &str) {
    let (sdp, packets) = ffmpeg_rtp(dir, src);
    let tracks: Vec<RtpTrack> = sdp
        .media
        .iter()
        .cloned()
        .zip(packets)
        .map(|(mut media, packets)| {
            media.port = 0;
            media.connections.clear();
            RtpTrack { media, packets }
        })
        .collect();
    let sent_audio = tracks[1].packets.len();
    let (l, port) = listener();
    let server = std::thread::spawn(move || serve_one(l, Mode::PlayRtp { tracks }, None));
    let out = dir.join(&format!("out-{transport}.mkv"));
    let url = format!("rtsp://127.0.0.1:{port}/live/a");
    let child = spawn_ffmpeg(&[
        "-rtsp_transport",
        transport,
        "-i",
        &url,
        "-map",
        "0",
        "-c",
        "copy",
        out.to_str().unwrap(),
    ]);
    let (ok, err) = wait_child(child, DEADLINE);
    let outcome = server.join().unwrap();
    assert!(ok, "ffmpeg RTSP client failed: {err}");
    assert!(
        outcome.methods.contains(&"PLAY".to_string()),
        "{:?}",
        outcome.methods
    );
    // Video: the decoded pictures equal the source's (ffmpeg's RTP receiver holds the
    // last frame until the next one starts, so the very last may be missing).
    let want = weir_testutil::decoded_video_md5(src, &[]);
    let got = weir_testutil::decoded_video_md5(&out, &[]);
    assert!(
        got.len() + 1 >= want.len(),
        "{vformat}/{transport}: {} of {} pictures",
        got.len(),
        want.len()
    );
    assert_eq!(
        got[..],
        want[..got.len()],
        "{vformat}/{transport}: pictures differ"
    );
    // Audio: every access unit the RTP muxer sent arrives. Opus sends one per packet; the
    // AAC (mpeg4-generic) muxer packs several per packet and never flushes its last few
    // (up to 5, an ffmpeg quirk named in tests/interop.rs), so compare with the source.
    let audio = weir_testutil::framemd5(&out, "0:a", &[]).len();
    let source_audio = weir_testutil::framemd5(src, "0:a", &[]).len();
    if vformat == "h264" {
        assert!(
            audio + 5 >= source_audio && audio <= source_audio,
            "{vformat}/{transport}: {audio} AAC frames of {source_audio}"
        );
    } else {
        assert!(
            audio + 1 >= sent_audio && audio <= sent_audio,
            "{vformat}/{transport}: {audio} Opus packets, {sent_audio} sent"
        );
    }
}

#[test]
fn ffmpeg_plays_h264_aac_over_tcp_and_udp_bit_exact() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("rtsp-h264");
    let src = source(
        &dir,
        "src.mkv",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            "0",
        ],
        &["-c:a", "aac", "-b:a", "64k"],
    );
    for transport in ["tcp", "udp"] {
        serve_to_ffmpeg(&src, &dir, transport, "h264");
    }
}

#[test]
fn ffmpeg_plays_h265_opus_over_tcp_and_udp_bit_exact() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("rtsp-h265");
    let src = source(
        &dir,
        "src.mkv",
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "bframes=0:keyint=25:log-level=none",
        ],
        &["-c:a", "libopus", "-b:a", "48k"],
    );
    for transport in ["tcp", "udp"] {
        serve_to_ffmpeg(&src, &dir, transport, "h265");
    }
}

/// Depacketizes the packets of each announced media with weir's depacketizers; returns
/// (video Annex B bytes, audio frame count).
fn depacketize(sdp: &SessionDescription, packets: &[Vec<Bytes>]) -> (Vec<u8>, usize) {
    use weir_rtp_rtcp::payload::{depacketizer_for, Depacketizer, DepacketizerConfig};
    use weir_rtp_rtcp::RtpPacket;
    let mut annexb = bytes::BytesMut::new();
    let mut audio = 0;
    for (media, pkts) in sdp.media.iter().zip(packets) {
        let pt = &media.formats[0];
        let attr = |name: &str| {
            media
                .attributes
                .iter()
                .filter(|a| a.name == name)
                .filter_map(|a| a.value.as_deref())
                .find_map(|v| v.strip_prefix(pt.as_str()).map(|r| r.trim().to_string()))
        };
        let rtpmap = attr("rtpmap").expect("rtpmap");
        let fmtp = attr("fmtp");
        let clock = rtpmap.split('/').nth(1).unwrap().parse().unwrap();
        let (mut d, _) =
            depacketizer_for(&rtpmap, fmtp.as_deref(), DepacketizerConfig::new(clock)).unwrap();
        let mut sorted: Vec<RtpPacket> = pkts
            .iter()
            .map(|p| RtpPacket::parse(p.clone()).unwrap())
            .collect();
        // UDP may reorder on loopback under load; the depacketizer wants sequence order.
        sorted.sort_by_key(|p| p.sequence_number().wrapping_sub(sorted_first(pkts)));
        for p in &sorted {
            d.push(p).unwrap();
        }
        d.flush();
        while let Some(f) = d.pull() {
            assert!(!f.incomplete, "{rtpmap}: incomplete frame");
            if media.media == "video" {
                weir_media::nal::length_prefixed_to_annexb(&f.data, 4, &mut annexb).unwrap();
            } else {
                audio += 1;
            }
        }
    }
    (annexb.to_vec(), audio)
}

fn sorted_first(pkts: &[Bytes]) -> u16 {
    pkts.first().map_or(0, |p| u16::from_be_bytes([p[2], p[3]]))
}

fn check_pictures(dir: &TempDir, src: &Path, annexb: &[u8], what: &str) {
    let raw = dir.join(&format!("{what}.es"));
    std::fs::write(&raw, annexb).unwrap();
    let fmt = if what.starts_with("h265") {
        "hevc"
    } else {
        "h264"
    };
    let want = weir_testutil::decoded_video_md5(src, &[]);
    let got = weir_testutil::decoded_video_md5(&raw, &["-f", fmt]);
    assert_eq!(got, want, "{what}: pictures");
}

fn ffmpeg_pushes(src: &Path, dir: &TempDir, transport: &str, what: &str) {
    let (l, port) = listener();
    let server = std::thread::spawn(move || serve_one(l, Mode::Record, None));
    let url = format!("rtsp://127.0.0.1:{port}/live/a");
    let child = spawn_ffmpeg(&[
        "-re",
        "-i",
        src.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        "rtsp",
        "-rtsp_transport",
        transport,
        &url,
    ]);
    let (ok, err) = wait_child(child, DEADLINE);
    let outcome = server.join().unwrap();
    assert!(ok, "ffmpeg push failed: {err}");
    let sdp = outcome.announced.expect("ANNOUNCE");
    let (annexb, audio) = depacketize(&sdp, &outcome.packets);
    check_pictures(dir, src, &annexb, &format!("{what}-push-{transport}"));
    let source_audio = weir_testutil::framemd5(src, "0:a", &[]).len();
    assert!(
        audio + 5 >= source_audio && audio <= source_audio,
        "{what}/{transport}: {audio} audio frames of {source_audio}"
    );
}

#[test]
fn ffmpeg_pushes_h264_and_h265_bit_exact_over_tcp_and_udp() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("rtsp-push-video");
    let h264 = source(
        &dir,
        "h264.mkv",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            "0",
        ],
        &["-c:a", "aac", "-b:a", "64k"],
    );
    let h265 = source(
        &dir,
        "h265.mkv",
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "bframes=0:keyint=25:log-level=none",
        ],
        &["-c:a", "libopus", "-b:a", "48k"],
    );
    for transport in ["tcp", "udp"] {
        ffmpeg_pushes(&h264, &dir, transport, "h264");
        ffmpeg_pushes(&h265, &dir, transport, "h265");
    }
}

/// `ClientSession` + depacketizers pull from the test server fed by ffmpeg's RTP muxer.
#[test]
fn client_session_pulls_h264_and_h265_bit_exact() {
    use std::io::{ErrorKind, Read, Write};
    use weir_rtsp_proto::headers::TransportSpec;
    use weir_rtsp_proto::{ClientConfig, ClientEvent, ClientSession};
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("rtsp-pull");
    let sources = [
        (
            "h264",
            source(
                &dir,
                "h264.mkv",
                &[
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-g",
                    "25",
                    "-bf",
                    "0",
                ],
                &["-c:a", "aac", "-b:a", "64k"],
            ),
        ),
        (
            "h265",
            source(
                &dir,
                "h265.mkv",
                &[
                    "-c:v",
                    "libx265",
                    "-x265-params",
                    "bframes=0:keyint=25:log-level=none",
                ],
                &["-c:a", "libopus", "-b:a", "48k"],
            ),
        ),
    ];
    for (what, src) in &sources {
        let (sdp, packets) = ffmpeg_rtp(&dir, src);
        let sent: Vec<usize> = packets.iter().map(Vec::len).collect();
        let tracks: Vec<RtpTrack> = sdp
            .media
            .iter()
            .cloned()
            .zip(packets)
            .map(|(mut media, packets)| {
                media.port = 0;
                media.connections.clear();
                RtpTrack { media, packets }
            })
            .collect();
        let (l, port) = listener();
        let server = std::thread::spawn(move || serve_one(l, Mode::PlayRtp { tracks }, None));
        let url = format!("rtsp://127.0.0.1:{port}/live/a");
        let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let now = Instant::now();
        let mut c = ClientSession::new(ClientConfig::new(url.clone()), rng(5), now).unwrap();
        c.describe(now).unwrap();
        let mut buf = bytes::BytesMut::new();
        let mut described: Option<SessionDescription> = None;
        let mut setups = Vec::new();
        let mut received: Vec<Vec<Bytes>> = vec![Vec::new(), Vec::new()];
        let deadline = Instant::now() + DEADLINE;
        let mut done = false;
        while Instant::now() < deadline && !done {
            while let Some(b) = c.poll_transmit() {
                sock.write_all(&b).unwrap();
            }
            let mut tmp = [0u8; 65536];
            match sock.read(&mut tmp) {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&tmp[..n]);
                    c.handle_input(&mut buf, Instant::now()).unwrap();
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read: {e}"),
            }
            c.handle_timeout(Instant::now());
            while let Some(ev) = c.poll_event() {
                match ev {
                    ClientEvent::Described { sdp, base_url, .. } => {
                        for (i, m) in sdp.media.iter().enumerate() {
                            let control = m.control_url(&sdp, &base_url);
                            let t = TransportSpec::tcp_interleaved(2 * i as u8, 2 * i as u8 + 1);
                            c.setup(&control, &t, Instant::now()).unwrap();
                            setups.push(control);
                        }
                        described = Some(*sdp);
                    }
                    ClientEvent::SetupDone { .. } if c.pending_requests() == 0 => {
                        c.play(None, Instant::now()).unwrap();
                    }
                    ClientEvent::Interleaved(f) if f.channel % 2 == 0 => {
                        received[usize::from(f.channel / 2)].push(f.payload);
                        if received.iter().zip(&sent).all(|(r, s)| r.len() >= *s) {
                            done = true;
                        }
                    }
                    ClientEvent::Failed { method, status, .. } => {
                        panic!("{method:?} failed with {status}")
                    }
                    _ => {}
                }
            }
        }
        let _ = c.teardown(Instant::now());
        while let Some(b) = c.poll_transmit() {
            let _ = sock.write_all(&b);
        }
        drop(sock);
        let _ = server.join();
        let sdp = described.expect("DESCRIBE answered");
        assert_eq!(
            received.iter().map(Vec::len).collect::<Vec<_>>(),
            sent,
            "{what}: every RTP packet received"
        );
        let (annexb, audio) = depacketize(&sdp, &received);
        check_pictures(&dir, src, &annexb, &format!("{what}-pull"));
        assert!(audio > 0, "{what}: audio frames");
    }
}
