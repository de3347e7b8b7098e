//! Transport-layer behaviour of the demuxer and muxer on hand-made streams.

use bytes::{Bytes, BytesMut};
use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_mpegts::packet::{parse_packet, PacketHeader};
use weir_mpegts::pes::write_pes_header;
use weir_mpegts::psi::{Pat, PatEntry, Pmt, PmtStream};
use weir_mpegts::{Error, Event, MuxConfig, TsDemuxer, TsMuxer};

fn nal_frame(nal: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
    out.extend_from_slice(nal);
    out.freeze()
}

fn video_frame(i: i64, size: usize) -> Frame {
    let mut nal = vec![if i % 10 == 0 { 0x65 } else { 0x41 }, 0x88];
    nal.extend((0..size).map(|k| (k % 200 + 1) as u8));
    let t = Timestamp::new(i * 3600, Timebase::MPEG);
    Frame::new(TrackId(0), t, t, nal_frame(&nal)).with_keyframe(i % 10 == 0)
}

fn stream(n: i64) -> (Vec<u8>, Vec<Frame>) {
    let mut m = TsMuxer::new(
        &[TrackInfo::new(TrackId(0), Codec::H264, 90_000)],
        MuxConfig::default(),
    )
    .unwrap();
    let mut out = BytesMut::new();
    let frames: Vec<Frame> = (0..n)
        .map(|i| video_frame(i, 500 + i as usize * 37))
        .collect();
    for f in &frames {
        m.write_frame(f, &mut out).unwrap();
    }
    (out.to_vec(), frames)
}

fn run(data: &[u8], chunk: usize) -> Vec<Event> {
    let mut d = TsDemuxer::new();
    let mut ev = Vec::new();
    for c in data.chunks(chunk) {
        d.push(c);
        ev.extend(std::iter::from_fn(|| d.poll_event()));
    }
    d.flush();
    ev.extend(std::iter::from_fn(|| d.poll_event()));
    ev
}

fn frames(ev: &[Event]) -> Vec<Frame> {
    ev.iter()
        .filter_map(|e| {
            if let Event::Frame(f) = e {
                Some(f.clone())
            } else {
                None
            }
        })
        .collect()
}

/// Data without the AUD the muxer inserted.
fn strip_aud(f: &Frame) -> Bytes {
    f.data.slice(6..)
}

#[test]
fn m2ts_192_and_dvb_204_packets() {
    let (ts, sent) = stream(20);
    for (size, pre, post) in [(192usize, 4usize, 0usize), (204, 0, 16)] {
        let mut v = Vec::new();
        for p in ts.chunks(188) {
            v.extend(vec![0xAB; pre]);
            v.extend_from_slice(p);
            v.extend(vec![0xCD; post]);
        }
        for chunk in [1, 5, 188, 192, 204, 1000, 1 << 20] {
            let ev = run(&v, chunk);
            assert!(ev
                .iter()
                .any(|e| matches!(e, Event::Synced { packet_size, .. } if *packet_size == size)));
            assert!(!ev
                .iter()
                .any(|e| matches!(e, Event::SyncLost { .. } | Event::Loss { .. })));
            let got = frames(&ev);
            assert_eq!(got.len(), sent.len(), "{size}");
            for (g, s) in got.iter().zip(&sent) {
                assert_eq!(strip_aud(g), s.data, "{size} {chunk}");
            }
        }
    }
}

#[test]
fn resync_after_garbage_and_a_cut_packet() {
    let (ts, sent) = stream(30);
    let mut v = ts[..188 * 40].to_vec();
    v.extend_from_slice(&[0x47; 3]); // sync-looking garbage
    v.extend((0..1000).map(|i| (i % 71) as u8));
    v.extend_from_slice(&ts[188 * 40..188 * 60 + 100]); // a packet cut short
    v.extend_from_slice(&ts[188 * 61..]);
    let ev = run(&v, 777);
    assert!(ev.iter().any(|e| matches!(e, Event::SyncLost { .. })));
    assert!(
        ev.iter()
            .filter(|e| matches!(e, Event::Synced { .. }))
            .count()
            >= 2
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Loss { pid: 0x100, .. })));
    let got = frames(&ev);
    // The last frames come out intact.
    let last = got.last().unwrap();
    assert_eq!(strip_aud(last), sent.last().unwrap().data);
    assert!(!last.incomplete);
    assert!(got.iter().any(|f| f.incomplete));
}

#[test]
fn continuity_gap_marks_the_frame_incomplete_and_duplicates_are_dropped() {
    let (ts, sent) = stream(5);
    let pkts: Vec<&[u8]> = ts.chunks(188).collect();
    // Packet 3 is the second video packet of frame 0 (PAT, PMT, frame start, ...).
    let mut v: Vec<u8> = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        if i == 4 {
            continue; // lost
        }
        v.extend_from_slice(p);
        if i == 8 {
            v.extend_from_slice(p); // sent twice (§2.4.3.3 allows one duplicate)
        }
    }
    let ev = run(&v, 188);
    let losses: Vec<&Event> = ev
        .iter()
        .filter(|e| matches!(e, Event::Loss { .. }))
        .collect();
    assert_eq!(losses.len(), 1, "{losses:?}");
    let got = frames(&ev);
    assert_eq!(got.len(), sent.len());
    assert!(got[0].incomplete);
    assert!(got[1..].iter().all(|f| !f.incomplete));
    assert_eq!(strip_aud(&got[1]), sent[1].data);
}

fn section_packets(pid: u16, cc: &mut u8, section: &[u8]) -> Vec<u8> {
    assert!(section.len() < 183);
    let mut p = PacketHeader {
        transport_error: false,
        payload_unit_start: true,
        priority: false,
        pid,
        scrambling: 0,
        has_adaptation_field: false,
        has_payload: true,
        continuity_counter: *cc,
    }
    .to_bytes()
    .to_vec();
    *cc = (*cc + 1) & 15;
    p.push(0);
    p.extend_from_slice(section);
    p.resize(188, 0xFF);
    p
}

fn pes_packets(pid: u16, cc: &mut u8, stream_id: u8, pts: u64, payload: &[u8]) -> Vec<u8> {
    let mut pes = BytesMut::new();
    write_pes_header(&mut pes, stream_id, Some(pts), None, payload.len());
    pes.extend_from_slice(payload);
    let mut out = Vec::new();
    let mut first = true;
    for chunk in pes.chunks(184) {
        let stuff = 184 - chunk.len();
        let mut p = PacketHeader {
            transport_error: false,
            payload_unit_start: first,
            priority: false,
            pid,
            scrambling: 0,
            has_adaptation_field: stuff > 0,
            has_payload: true,
            continuity_counter: *cc,
        }
        .to_bytes()
        .to_vec();
        if stuff > 0 {
            p.push((stuff - 1) as u8);
            if stuff > 1 {
                p.push(0);
                p.extend(vec![0xFF; stuff - 2]);
            }
        }
        p.extend_from_slice(chunk);
        out.extend_from_slice(&p);
        *cc = (*cc + 1) & 15;
        first = false;
    }
    out
}

fn tables(version: u8, streams: Vec<PmtStream>, cc: &mut [u8; 2]) -> Vec<u8> {
    let mut s = BytesMut::new();
    Pat {
        transport_stream_id: 1,
        programs: vec![PatEntry {
            program_number: 1,
            pid: 0x1000,
        }],
    }
    .write_section(version, &mut s);
    let mut out = section_packets(0, &mut cc[0], &s);
    s.clear();
    Pmt {
        program_number: 1,
        pcr_pid: 0x100,
        program_info: Bytes::new(),
        streams,
    }
    .write_section(version, &mut s);
    out.extend(section_packets(0x1000, &mut cc[1], &s));
    out
}

#[test]
fn private_streams_pass_through_and_pmt_changes_add_and_remove_tracks() {
    let mut cc = [0u8; 2];
    let mut ccs = [0u8; 3];
    let private = PmtStream {
        stream_type: 0x06,
        pid: 0x101,
        descriptors: Bytes::new(),
    };
    let mp2 = PmtStream {
        stream_type: 0x03,
        pid: 0x102,
        descriptors: Bytes::new(),
    };
    let mut v = tables(0, vec![private.clone()], &mut cc);
    v.extend(pes_packets(
        0x101,
        &mut ccs[1],
        0xBD,
        9000,
        b"private payload",
    ));
    v.extend(pes_packets(0x101, &mut ccs[1], 0xBD, 9100, b"more"));
    v.extend(tables(1, vec![mp2], &mut cc));
    // MPEG-1 layer II 48 kHz frames (384 bytes each), two per PES.
    let mut frame = vec![0xFF, 0xFD, 0x84, 0x00];
    frame.resize(384, 0x55);
    let two = [frame.clone(), frame.clone()].concat();
    v.extend(pes_packets(0x102, &mut ccs[2], 0xC0, 90_000, &two));
    let ev = run(&v, 188);
    let data: Vec<&Event> = ev.iter().filter(|e| matches!(e, Event::Data(_))).collect();
    assert_eq!(data.len(), 2);
    if let Event::Data(d) = data[0] {
        assert_eq!(
            (d.pid, d.stream_type, d.stream_id, d.pts),
            (0x101, 0x06, 0xBD, Some(9000))
        );
        assert_eq!(&d.data[..], b"private payload");
    }
    assert!(ev.iter().any(|e| matches!(e, Event::TrackAdded(t) if t.codec == Codec::MpegAudio && t.id == TrackId(0x102))));
    let got = frames(&ev);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].pts.ticks(), 90_000);
    assert_eq!(got[1].pts.ticks(), 90_000 + 1152 * 90_000 / 48_000);
    assert_eq!(&got[1].data[..], &frame[..]);
    // PMT version 1 dropped nothing weir framed (PID 0x101 was data only), so no removal;
    // a version without 0x102 removes it.
    let mut v2 = v.clone();
    v2.extend(tables(2, vec![], &mut cc));
    let ev = run(&v2, 188);
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::TrackRemoved(TrackId(0x102)))));
}

#[test]
fn corrupt_psi_is_reported_and_ignored() {
    let mut cc = [0u8; 2];
    let h264 = PmtStream {
        stream_type: 0x1B,
        pid: 0x100,
        descriptors: Bytes::new(),
    };
    let mut bad = tables(0, vec![h264.clone()], &mut cc);
    bad[188 + 20] ^= 0x40; // inside the PMT section
    let mut v = bad;
    v.extend(tables(0, vec![h264], &mut cc));
    let ev = run(&v, 188);
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Corrupt {
            pid: Some(0x1000),
            error: Error::SectionCrc { table_id: 2, .. }
        }
    )));
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::TrackAdded(_)))
            .count(),
        1
    );
}

#[test]
fn pes_header_split_across_packets() {
    let mut cc = [0u8; 2];
    let mut v = tables(
        0,
        vec![PmtStream {
            stream_type: 0x1B,
            pid: 0x100,
            descriptors: Bytes::new(),
        }],
        &mut cc,
    );
    let mut pes = BytesMut::new();
    let es = [0, 0, 0, 1, 0x65, 0x88, 1, 2, 3];
    write_pes_header(&mut pes, 0xE0, Some(1234), None, es.len());
    pes.extend_from_slice(&es);
    // First packet: 182 bytes of adaptation field, then 2 bytes of PES header.
    for (i, part) in [&pes[..2], &pes[2..]].iter().enumerate() {
        let stuff = 184 - part.len();
        let mut p = PacketHeader {
            transport_error: false,
            payload_unit_start: i == 0,
            priority: false,
            pid: 0x100,
            scrambling: 0,
            has_adaptation_field: true,
            has_payload: true,
            continuity_counter: i as u8,
        }
        .to_bytes()
        .to_vec();
        p.push((stuff - 1) as u8);
        p.push(0);
        p.extend(vec![0xFF; stuff - 2]);
        p.extend_from_slice(part);
        assert_eq!(p.len(), 188);
        assert!(parse_packet(&p).is_ok());
        v.extend(p);
    }
    let got = frames(&run(&v, 100));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].pts.ticks(), 1234);
    assert_eq!(&got[0].data[..], &[0, 0, 0, 5, 0x65, 0x88, 1, 2, 3]);
    assert!(got[0].keyframe);
}

#[test]
fn muxer_pcr_interval_and_random_access() {
    // Video every 100 ms, audio every 20 ms: PCR-only packets must fill the gaps.
    let tracks = [
        TrackInfo::new(TrackId(0), Codec::H264, 90_000),
        TrackInfo::new(TrackId(1), Codec::G711A, 8_000),
    ];
    let mut m = TsMuxer::new(&tracks, MuxConfig::default()).unwrap();
    let mut out = BytesMut::new();
    for i in 0..50i64 {
        let t = Timestamp::new(i * 1800, Timebase::MPEG);
        if i % 5 == 0 {
            let f = video_frame(i / 5, 3000);
            let f = Frame::new(TrackId(0), t, t, f.data.clone()).with_keyframe(f.keyframe);
            m.write_frame(&f, &mut out).unwrap();
        }
        m.write_frame(
            &Frame::new(TrackId(1), t, t, Bytes::from(vec![0xD5; 160])),
            &mut out,
        )
        .unwrap();
    }
    let mut pcrs = Vec::new();
    let mut ra = 0;
    for p in out.chunks(188) {
        let p = parse_packet(p).unwrap();
        if let Some(af) = p.adaptation {
            if let Some(pcr) = af.pcr {
                assert_eq!(p.header.pid, 0x100, "PCR on the video PID");
                pcrs.push(pcr);
            }
            if af.random_access {
                ra += 1;
                assert!(p.header.payload_unit_start);
            }
        }
    }
    assert_eq!(ra, 1, "one keyframe among the 10 video frames");
    assert!(
        pcrs.windows(2)
            .all(|w| w[1] > w[0] && w[1] - w[0] <= 3600 * 300),
        "{pcrs:?}"
    );
    assert_eq!(*pcrs.last().unwrap(), 49 * 1800 * 300);

    // The demuxer reports the same PCRs when asked.
    let mut cfg = weir_mpegts::DemuxConfig::default();
    cfg.report_pcr = true;
    let mut d = TsDemuxer::with_config(cfg);
    d.push(&out);
    let seen: Vec<u64> = std::iter::from_fn(|| d.poll_event())
        .filter_map(|e| {
            if let Event::Pcr { pcr, .. } = e {
                Some(pcr)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(seen, pcrs);
}

fn annexb(nals: &[&[u8]]) -> Vec<u8> {
    nals.iter()
        .flat_map(|n| [&[0u8, 0, 0, 1][..], n].concat())
        .collect()
}

fn canonical(nals: &[&[u8]]) -> Bytes {
    let mut out = BytesMut::new();
    for n in nals {
        out.extend_from_slice(&(n.len() as u32).to_be_bytes());
        out.extend_from_slice(n);
    }
    out.freeze()
}

#[test]
fn several_access_units_per_pes_and_unaligned_pes() {
    let au = |i: u8| -> Vec<u8> {
        let mut v = vec![if i == 0 { 0x65 } else { 0x41 }, 0x88];
        v.extend((0..400).map(|k| (k % 200 + 1 + usize::from(i)) as u8));
        v
    };
    let aus: Vec<Vec<u8>> = (0..6).map(au).collect();
    let mut cc = [0u8; 2];
    let mut vcc = 0u8;
    let mut v = tables(
        0,
        vec![PmtStream {
            stream_type: 0x1B,
            pid: 0x100,
            descriptors: Bytes::new(),
        }],
        &mut cc,
    );
    let pes = |v: &mut Vec<u8>, vcc: &mut u8, pts: u64, data: &[u8]| {
        v.extend(pes_packets(0x100, vcc, 0xE0, pts, data))
    };
    // Aligned: AU0 alone, then AU1 + AU2 in one PES.
    pes(&mut v, &mut vcc, 0, &annexb(&[&aus[0]]));
    pes(&mut v, &mut vcc, 3600, &annexb(&[&aus[1], &aus[2]]));
    // Then the muxer stops aligning: AU3 is split over two PES, the second also holding AU4.
    let a3 = annexb(&[&aus[3]]);
    pes(&mut v, &mut vcc, 10_800, &a3[..200]);
    pes(
        &mut v,
        &mut vcc,
        14_400,
        &[&a3[200..], &annexb(&[&aus[4]])[..]].concat(),
    );
    pes(&mut v, &mut vcc, 18_000, &annexb(&[&aus[5]]));
    let got = frames(&run(&v, 188));
    let summary: Vec<(i64, usize)> = got.iter().map(|f| (f.pts.ticks(), f.data.len())).collect();
    assert_eq!(got[0].data, canonical(&[&aus[0]]), "{summary:?}");
    assert_eq!(got[1].data, canonical(&[&aus[1]]));
    assert_eq!(got[2].data, canonical(&[&aus[2]]));
    assert_eq!((got[1].pts.ticks(), got[2].pts.ticks()), (3600, 7200));
    // AU3 was cut by the first unaligned PES (it ended with its PES while the stream still
    // looked aligned); from then on units span PES packets.
    let last: Vec<&Frame> = got.iter().rev().take(2).collect();
    assert_eq!(last[1].data, canonical(&[&aus[4]]));
    assert_eq!(last[1].pts.ticks(), 14_400);
    assert_eq!(last[0].data, canonical(&[&aus[5]]));
    assert_eq!(last[0].pts.ticks(), 18_000);
}

#[test]
fn muxer_update_track_bumps_pmt_version() {
    use weir_media::AudioParams;
    let opus = TrackInfo::new(TrackId(0), Codec::Opus, 48_000).with_audio(AudioParams {
        sample_rate: 48_000,
        channels: 1,
    });
    let mut m = TsMuxer::new(std::slice::from_ref(&opus), MuxConfig::default()).unwrap();
    let mut out = BytesMut::new();
    let t = Timestamp::new(0, Timebase::MPEG);
    m.write_frame(
        &Frame::new(TrackId(0), t, t, Bytes::from_static(&[0xFC, 1])),
        &mut out,
    )
    .unwrap();
    m.update_track(opus.with_audio(AudioParams {
        sample_rate: 48_000,
        channels: 2,
    }))
    .unwrap();
    let t = Timestamp::new(1800, Timebase::MPEG);
    m.write_frame(
        &Frame::new(TrackId(0), t, t, Bytes::from_static(&[0xFC, 2])),
        &mut out,
    )
    .unwrap();
    let ev = run(&out, 188);
    let channels: Vec<u8> = ev
        .iter()
        .filter_map(|e| match e {
            Event::TrackAdded(t) | Event::TrackUpdated(t) => t.audio.map(|a| a.channels),
            _ => None,
        })
        .collect();
    assert_eq!(channels, vec![1, 2]);
    assert_eq!(
        ev.iter().filter(|e| matches!(e, Event::Program(_))).count(),
        2
    );
    assert_eq!(frames(&ev).len(), 2);
}
