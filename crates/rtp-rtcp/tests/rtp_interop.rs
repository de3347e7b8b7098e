//! Interop with real ffmpeg over loopback UDP: ffmpeg's RTP/RTCP sender parsed by
//! `RtpPacket`/`Compound`, and our `RtpHeader`/RTCP output consumed by ffmpeg's SDP/RTP
//! demuxer. Bytes are compared exactly.

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use weir_rtp_rtcp::rtcp::{Goodbye, SenderReport, SourceDescription};
use weir_rtp_rtcp::stats::{ReceiverStats, SenderStats};
use weir_rtp_rtcp::{
    Compound, HeaderExtension, NtpTime, RtcpLimits, RtcpPacket, RtpHeader, RtpPacket,
};
use weir_testutil::{ffmpeg, udp_rx_queue, wait_until, ChildGuard, TempDir};

/// Bound on each ffmpeg run; only a failing test gets near it (every wait is on a condition).
const DEADLINE: Duration = Duration::from_secs(60);

/// Two consecutive free UDP ports on 127.0.0.1 (RTP, RTCP = RTP + 1), both bound.
fn bind_pair() -> (UdpSocket, UdpSocket) {
    for _ in 0..200 {
        let a = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = a.local_addr().expect("addr").port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if let Ok(b) = UdpSocket::bind(("127.0.0.1", port + 1)) {
            return (a, b);
        }
    }
    panic!("no free even/odd UDP port pair");
}

/// Makes `seconds` of a 440 Hz sine as raw µ-law at 8 kHz (deterministic).
fn make_mulaw(dir: &TempDir, seconds: u32) -> (std::path::PathBuf, Vec<u8>) {
    let path = dir.join("src.ulaw");
    ffmpeg([
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency=440:sample_rate=8000:duration={seconds}"),
        "-c:a",
        "pcm_mulaw",
        "-f",
        "mulaw",
        path.to_str().expect("utf8 path"),
    ]);
    let bytes = std::fs::read(&path).expect("read source");
    assert_eq!(bytes.len(), 8000 * seconds as usize);
    (path, bytes)
}

#[test]
fn ffmpeg_rtp_sender_parsed_bit_exact_and_sr_mapping_consistent() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("rtp-interop-rx");
    let (src_path, src) = make_mulaw(&dir, 2);
    let (rtp_sock, rtcp_sock) = bind_pair();
    let port = rtp_sock.local_addr().expect("addr").port();
    rtp_sock
        .set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    rtcp_sock.set_nonblocking(true).expect("nonblocking");

    let mut child = ChildGuard::spawn(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
            .args(["-f", "mulaw", "-ar", "8000", "-ac", "1", "-i"])
            .arg(&src_path)
            .args(["-c:a", "copy", "-f", "rtp"])
            .arg(format!("rtp://127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );

    let t0 = Instant::now();
    let wall0 = SystemTime::now();
    let mut packets: Vec<(RtpPacket, Instant)> = Vec::new();
    let mut srs: Vec<(SenderReport, Instant)> = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut exited_at: Option<Instant> = None;
    let deadline = t0 + DEADLINE;
    loop {
        let now = Instant::now();
        assert!(now < deadline, "ffmpeg did not finish in time");
        if exited_at.is_none() {
            if let Some(status) = child.try_wait() {
                assert!(status.success(), "ffmpeg failed: {status}");
                exited_at = Some(now);
            }
        }
        // Once ffmpeg has exited, everything it sent is queued in our sockets: read on
        // until both are empty (the RTP read below times out after 20 ms).
        if exited_at.is_some_and(|t| now > t)
            && udp_rx_queue(port).is_none_or(|q| q == 0)
            && udp_rx_queue(port + 1).is_none_or(|q| q == 0)
        {
            break;
        }
        if let Ok(n) = rtp_sock.recv(&mut buf) {
            let pkt =
                RtpPacket::parse(Bytes::copy_from_slice(&buf[..n])).expect("ffmpeg RTP parses");
            packets.push((pkt, Instant::now()));
        }
        while let Ok(n) = rtcp_sock.recv(&mut buf) {
            let compound =
                Compound::parse(Bytes::copy_from_slice(&buf[..n]), &RtcpLimits::default())
                    .expect("ffmpeg RTCP compound validates");
            for p in compound.packets {
                if let RtcpPacket::SenderReport(sr) = p {
                    srs.push((sr, Instant::now()));
                }
            }
        }
    }

    // Every packet: PCMU, one SSRC, consecutive sequence numbers (mod 2^16), 8 kHz timestamps.
    assert!(packets.len() >= 20, "only {} packets", packets.len());
    let first = &packets[0].0;
    let ssrc = first.ssrc();
    let mut payload = Vec::new();
    for (i, (p, _)) in packets.iter().enumerate() {
        assert_eq!(p.version(), 2);
        assert_eq!(p.payload_type(), 0, "PCMU");
        assert_eq!(p.ssrc(), ssrc);
        assert_eq!(
            p.sequence_number(),
            first.sequence_number().wrapping_add(i as u16)
        );
        assert_eq!(
            p.timestamp(),
            first.timestamp().wrapping_add(payload.len() as u32)
        );
        payload.extend_from_slice(&p.payload());
    }
    assert_eq!(payload.len(), src.len());
    assert!(
        payload == src,
        "concatenated payloads differ from the source µ-law bytes"
    );

    // ffmpeg's SR: same SSRC, NTP close to our wallclock, and the NTP↔RTP mapping places
    // every packet's timestamp at (about) its arrival time, since -re paces in real time.
    assert!(!srs.is_empty(), "no RTCP SR from ffmpeg");
    let (sr, sr_arrival) = &srs[0];
    assert_eq!(sr.ssrc, ssrc);
    let sr_wall = sr.ntp_time.to_unix();
    let sr_wall_expected =
        wall0.duration_since(SystemTime::UNIX_EPOCH).expect("clock") + (*sr_arrival - t0);
    assert!(
        sr_wall.abs_diff(sr_wall_expected) < Duration::from_secs(2),
        "SR NTP time {sr_wall:?} far from wallclock {sr_wall_expected:?}"
    );
    let mut stats = ReceiverStats::new(ssrc, 8000, 1, t0);
    stats.on_sender_report(sr, *sr_arrival);
    for (p, arrival) in &packets {
        let mapped = stats.rtp_to_ntp(p.timestamp()).expect("mapping").to_unix();
        let arrival_wall = sr_wall + arrival.saturating_duration_since(*sr_arrival);
        let arrival_wall = if *arrival < *sr_arrival {
            sr_wall - sr_arrival.duration_since(*arrival)
        } else {
            arrival_wall
        };
        assert!(
            mapped.abs_diff(arrival_wall) < Duration::from_millis(600),
            "seq {}: SR mapping puts ts {} at {mapped:?}, it arrived at {arrival_wall:?}",
            p.sequence_number(),
            p.timestamp()
        );
    }
    // Counters in later SRs never exceed what had been sent.
    for (sr, _) in &srs {
        assert!(sr.packet_count as usize <= packets.len());
        assert!(sr.octet_count as usize <= src.len());
    }

    // Our receiver statistics over ffmpeg's stream.
    for (p, arrival) in &packets {
        stats.on_rtp(p.sequence_number(), p.timestamp(), *arrival);
    }
    let block = stats.report_block(Instant::now());
    assert_eq!(block.ssrc, ssrc);
    assert_eq!(block.cumulative_lost, 0);
    assert_eq!(block.fraction_lost, 0);
    assert_eq!(
        block.extended_highest_seq & 0xFFFF,
        u32::from(packets.last().expect("packets").0.sequence_number())
    );
    assert_eq!(block.last_sr, sr.ntp_time.middle32());
    assert!(block.delay_since_last_sr > 0);
    // Loopback with -re pacing: jitter well under one packet (320 samples).
    assert!(block.jitter < 320, "jitter {}", block.jitter);
}

#[test]
fn our_rtp_and_rtcp_consumed_by_ffmpeg_bit_exact() {
    weir_testutil::interop_or_skip!();
    send_pcmu_to_ffmpeg(false);
}

/// The same with every header feature: 2 CSRCs, an RFC 8285 one-byte extension and padding
/// on every packet; ffmpeg's own RTP parser must strip them all.
#[test]
fn our_rtp_with_csrcs_extension_padding_consumed_by_ffmpeg() {
    weir_testutil::interop_or_skip!();
    send_pcmu_to_ffmpeg(true);
}

fn send_pcmu_to_ffmpeg(decorated: bool) {
    let dir = TempDir::new("rtp-interop-tx");
    let (_, src) = make_mulaw(&dir, 1);
    // Reserve a port pair, release it for ffmpeg.
    let port = {
        let (a, _b) = bind_pair();
        a.local_addr().expect("addr").port()
    };
    let sdp = format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=weir\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    let sdp_path = dir.join("in.sdp");
    std::fs::write(&sdp_path, sdp).expect("write sdp");
    let out_path = dir.join("out.ulaw");
    let mut child = ChildGuard::spawn(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
            .args(["-protocol_whitelist", "file,udp,rtp", "-i"])
            .arg(&sdp_path)
            .args(["-c", "copy", "-f", "mulaw"])
            .arg(&out_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    // Send only once ffmpeg has bound both ports, so no packet goes into the void.
    for p in [port, port + 1] {
        if let Err(e) = child.wait_udp_bound(p, DEADLINE) {
            panic!("ffmpeg never bound UDP port {p}: {e}");
        }
    }

    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind tx");
    let tx_rtcp = UdpSocket::bind("127.0.0.1:0").expect("bind tx rtcp");
    let ssrc = 0x5EED_0001;
    // Start just below the 16-bit wrap so ffmpeg has to follow it.
    let mut hdr = RtpHeader::new(0, 65_530, 0xFFFF_FF00, ssrc);
    hdr.marker = true;
    if decorated {
        hdr.csrcs = vec![0x0101_0101, 0x0202_0202];
        hdr.extension = Some(
            HeaderExtension::one_byte([(1u8, &[0x30u8][..]), (5, &[1u8, 2, 3, 4, 5][..])])
                .expect("extension"),
        );
        hdr.padding = 7;
    }
    let t0 = Instant::now();
    let mut sender = SenderStats::new(ssrc, 8000);
    let mut out = BytesMut::with_capacity(2048);
    for (i, chunk) in src.chunks(160).enumerate() {
        out.clear();
        hdr.write(&mut out).expect("header");
        assert_eq!(out.len(), hdr.header_len());
        out.extend_from_slice(chunk);
        hdr.write_padding(&mut out);
        tx.send_to(&out, ("127.0.0.1", port)).expect("send rtp");
        let now = t0 + Duration::from_millis(20 * i as u64);
        sender.on_rtp_sent(hdr.timestamp, chunk.len(), now);
        if i == 10 {
            // A sender report with SDES mid-stream: ffmpeg must accept it.
            let sr =
                sender.sender_report(now, NtpTime::from_system_time(SystemTime::now()), vec![]);
            let compound = Compound::new(vec![
                RtcpPacket::SenderReport(sr),
                RtcpPacket::SourceDescription(SourceDescription::cname(ssrc, "weir@127.0.0.1")),
            ]);
            tx_rtcp
                .send_to(
                    &compound.to_bytes().expect("compound"),
                    ("127.0.0.1", port + 1),
                )
                .expect("send rtcp");
        }
        hdr.marker = false;
        hdr.sequence_number = hdr.sequence_number.wrapping_add(1);
        hdr.timestamp = hdr.timestamp.wrapping_add(chunk.len() as u32);
        std::thread::sleep(Duration::from_millis(2));
    }
    // Say goodbye once ffmpeg has read every RTP packet (its RTP socket's queue is empty):
    // it ends the input on a BYE for every stream, and reads RTCP before RTP when both are
    // pending, so an early BYE would cut the stream short.
    let read_all = wait_until(Instant::now() + DEADLINE, || {
        child.try_wait().is_some() || udp_rx_queue(port).is_none_or(|q| q == 0)
    });
    assert!(read_all, "ffmpeg stopped reading: {}", child.stderr_text());
    let bye = Compound::new(vec![
        RtcpPacket::SenderReport(sender.sender_report(
            Instant::now(),
            NtpTime::from_system_time(SystemTime::now()),
            vec![],
        )),
        RtcpPacket::SourceDescription(SourceDescription::cname(ssrc, "weir@127.0.0.1")),
        RtcpPacket::Goodbye(Goodbye {
            sources: vec![ssrc],
            reason: Some(Bytes::from_static(b"end of test")),
        }),
    ]);
    let bye_bytes = bye.to_bytes().expect("bye");
    // A second parser view of our own output: strict compound validation.
    assert_eq!(
        Compound::parse(bye_bytes.clone(), &RtcpLimits::default()).expect("reparse"),
        bye
    );

    let ended = wait_until(Instant::now() + DEADLINE, || {
        if child.try_wait().is_some() {
            return true;
        }
        tx_rtcp
            .send_to(&bye_bytes, ("127.0.0.1", port + 1))
            .expect("send bye");
        child.wait_timeout(Duration::from_millis(100)).is_some()
    });
    assert!(ended, "ffmpeg did not end on RTCP BYE");
    let f = child.finish(Duration::ZERO);
    assert!(f.success(), "ffmpeg failed: {:?}\n{}", f.status, f.stderr);
    let got = std::fs::read(&out_path).expect("ffmpeg output");
    assert_eq!(
        got.len(),
        src.len(),
        "ffmpeg wrote {} bytes of {}",
        got.len(),
        src.len()
    );
    assert!(
        got == src,
        "ffmpeg's output differs from what we packetized"
    );
}
