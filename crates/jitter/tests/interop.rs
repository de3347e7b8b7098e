//! Real RTP from ffmpeg (H.264 over RTP to a loopback UDP socket) through the jitter buffer:
//! the packets are shuffled, dropped and duplicated deterministically; the output must be the
//! original sequence minus exactly the dropped packets, with bit-exact payloads.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bytes::Bytes;
use weir_jitter::{Config, JitterBuffer, NackConfig, Output};

fn rtp_seq_ts(p: &[u8]) -> (u16, u32) {
    assert!(p.len() >= 12 && p[0] >> 6 == 2, "not RTP v2");
    (
        u16::from_be_bytes([p[2], p[3]]),
        u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
    )
}

#[test]
fn ffmpeg_rtp_through_jitter_buffer() {
    weir_testutil::interop_or_skip!();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    // Small frames, fixed size slices so each frame spans several packets.
    weir_testutil::ffmpeg([
        "-f".to_string(),
        "lavfi".into(),
        "-i".into(),
        "testsrc2=size=320x240:rate=25".into(),
        "-frames:v".into(),
        "25".into(),
        "-c:v".into(),
        "libx264".into(),
        "-g".into(),
        "25".into(),
        "-bitexact".into(),
        "-pkt_size".into(),
        "400".into(),
        "-f".into(),
        "rtp".into(),
        format!("rtp://127.0.0.1:{port}"),
    ]);
    let mut received: Vec<(Instant, Bytes)> = Vec::new();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        match sock.recv(&mut buf) {
            Ok(n) => received.push((Instant::now(), Bytes::copy_from_slice(&buf[..n]))),
            Err(_) => break,
        }
    }
    assert!(received.len() > 40, "only {} RTP packets", received.len());
    // ffmpeg numbers packets consecutively from a random start.
    let first = rtp_seq_ts(&received[0].1).0;
    for (i, (_, p)) in received.iter().enumerate() {
        assert_eq!(
            rtp_seq_ts(p).0,
            first.wrapping_add(i as u16),
            "loopback reordered or lost"
        );
    }

    // Deterministic impairment: swap neighbours in blocks of 3, drop every 9th, repeat every 11th.
    let mut order: Vec<usize> = (0..received.len()).collect();
    for c in order.chunks_mut(3) {
        c.reverse();
    }
    let dropped: Vec<usize> = (0..received.len())
        .filter(|i| i % 9 == 4 && *i + 1 < received.len())
        .collect();
    let mut cfg = Config::reorder(90_000, Duration::from_millis(20));
    cfg.nack = Some(NackConfig::default());
    let mut jb: JitterBuffer<Bytes> = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    let mut out_packets = Vec::new();
    let mut lost = Vec::new();
    let mut step = 0u32;
    let mut push =
        |jb: &mut JitterBuffer<Bytes>, i: usize, out: &mut Vec<Bytes>, lost: &mut Vec<u16>| {
            let (seq, ts) = rtp_seq_ts(&received[i].1);
            let now = t0 + Duration::from_millis(2) * step;
            step += 1;
            jb.push(seq, ts, now, received[i].1.clone());
            jb.handle_timeout(now);
            while let Some(o) = jb.pop() {
                match o {
                    Output::Packet(p) => out.push(p.payload),
                    Output::Lost { first, count } => {
                        lost.extend((0..count).map(|k| first.wrapping_add(k)))
                    }
                    Output::Late(p) => panic!("late {}", p.seq),
                }
            }
        };
    for &i in &order {
        if dropped.contains(&i) {
            continue;
        }
        push(&mut jb, i, &mut out_packets, &mut lost);
        if i % 11 == 0 {
            push(&mut jb, i, &mut out_packets, &mut lost);
        }
    }
    jb.handle_timeout(t0 + Duration::from_secs(5));
    while let Some(o) = jb.pop() {
        match o {
            Output::Packet(p) => out_packets.push(p.payload),
            Output::Lost { first, count } => lost.extend((0..count).map(|k| first.wrapping_add(k))),
            Output::Late(p) => panic!("late {}", p.seq),
        }
    }
    let expected: Vec<Bytes> = (0..received.len())
        .filter(|i| !dropped.contains(i))
        .map(|i| received[i].1.clone())
        .collect();
    assert_eq!(out_packets, expected, "payloads out of order or altered");
    let expected_lost: Vec<u16> = dropped
        .iter()
        .map(|&i| first.wrapping_add(i as u16))
        .collect();
    assert_eq!(lost, expected_lost);
    let s = jb.stats();
    let repeats = (0..received.len())
        .filter(|i| i % 11 == 0 && !dropped.contains(i))
        .count();
    assert_eq!(s.duplicates + s.late, repeats as u64);
    assert!(
        s.nacks >= dropped.len() as u64,
        "every drop was NACKed at least once"
    );

    // The RFC 3550 estimate over the real arrival times stays finite and sane.
    let mut est = weir_jitter::JitterEstimator::new(90_000);
    for (t, p) in &received {
        est.update(*t, i64::from(rtp_seq_ts(p).1));
    }
    assert!(est.jitter() < 90_000 * 5, "jitter {}", est.jitter());
}
