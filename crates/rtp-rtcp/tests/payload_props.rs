//! Property tests for the payload formats: packetize → depacketize is the identity for
//! random frames and MTUs; random loss never panics and never yields a corrupt frame that
//! is not flagged; arbitrary packets never panic.

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use weir_media::{Frame, Timebase, Timestamp, TrackId};
use weir_rtp_rtcp::payload::aac::{AacDepacketizer, AacPacketizer, AuHeaderLayout};
use weir_rtp_rtcp::payload::g711::{G711Depacketizer, G711Law, G711Packetizer};
use weir_rtp_rtcp::payload::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
use weir_rtp_rtcp::payload::h265::{H265Depacketizer, H265Packetizer};
use weir_rtp_rtcp::payload::jpeg::{JpegDepacketizer, JpegPacketizer};
use weir_rtp_rtcp::payload::latm::{LatmDepacketizer, LatmPacketizer, StreamMuxConfig};
use weir_rtp_rtcp::payload::mp2t::{Mp2tDepacketizer, Mp2tPacketizer};
use weir_rtp_rtcp::payload::opus::{OpusDepacketizer, OpusPacketizer};
use weir_rtp_rtcp::payload::ps::{PsDepacketizer, PsPacketizer};
use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
use weir_rtp_rtcp::RtpPacket;

fn frame(ticks: i64, clock: u32, data: Vec<u8>, key: bool) -> Frame {
    let ts = Timestamp::new(ticks, Timebase::hz(clock).unwrap());
    Frame::new(TrackId(0), ts, ts, Bytes::from(data)).with_keyframe(key)
}

/// Feeds packets (optionally keeping only those `keep` says) and collects frames. The
/// first packet is always kept: loss before the first packet a receiver sees is
/// undetectable by sequence numbers.
fn run<D: Depacketizer>(d: &mut D, packets: &[Bytes], keep: &dyn Fn(usize) -> bool) -> Vec<Frame> {
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if i > 0 && !keep(i) {
            continue;
        }
        let pkt = RtpPacket::parse(p.clone()).expect("our packets parse");
        let _ = d.push(&pkt);
        while let Some(f) = d.pull() {
            out.push(f);
        }
    }
    d.flush();
    while let Some(f) = d.pull() {
        out.push(f);
    }
    out
}

fn all<P: Packetizer>(p: &mut P, frames: &[Frame], mtu: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    for f in frames {
        p.packetize(f, &mut out).expect("packetize");
    }
    assert!(out.iter().all(|b| b.len() <= mtu), "packet over the MTU");
    out
}

/// Random NAL units for H.264 (1-byte header) or H.265 (2-byte header).
fn nal_frames(hevc: bool) -> impl Strategy<Value = Vec<(Vec<Vec<u8>>, bool)>> {
    let nal =
        (0usize..6, prop::collection::vec(any::<u8>(), 0..2500)).prop_map(move |(t, body)| {
            let mut n = Vec::with_capacity(body.len() + 2);
            if hevc {
                let ty = [1u8, 19, 32, 33, 34, 39][t];
                n.push(ty << 1);
                n.push(1);
            } else {
                let ty = [1u8, 5, 6, 7, 8, 9][t];
                n.push(0x60 | ty);
            }
            n.extend(body);
            n
        });
    prop::collection::vec(prop::collection::vec(nal, 1..6), 1..8).prop_map(move |frames| {
        frames
            .into_iter()
            .map(|mut nals| {
                // Every access unit holds a picture (picture-less ones are carried into the
                // next access unit by design).
                let vcl = |n: &Vec<u8>| {
                    if hevc {
                        (n[0] >> 1) & 0x3f <= 31
                    } else {
                        (1..=5).contains(&(n[0] & 0x1f))
                    }
                };
                if !nals.iter().any(vcl) {
                    nals.push(if hevc {
                        vec![2, 1, 0xab]
                    } else {
                        vec![0x41, 0xab]
                    });
                }
                let key = nals.iter().any(|n| {
                    if hevc {
                        (16..=21).contains(&((n[0] >> 1) & 0x3f))
                    } else {
                        n[0] & 0x1f == 5
                    }
                });
                (nals, key)
            })
            .collect()
    })
}

fn canonical(nals: &[Vec<u8>]) -> Vec<u8> {
    let mut d = BytesMut::new();
    for n in nals {
        d.put_u32(n.len() as u32);
        d.put_slice(n);
    }
    d.to_vec()
}

/// Swaps packet `i` with `i + 1` wherever `swap[i]` (never moving the first packet).
fn reorder(packets: &[Bytes], swap: &[bool]) -> Vec<Bytes> {
    let mut v = packets.to_vec();
    let mut i = 1;
    while i + 1 < v.len() {
        if swap.get(i).copied().unwrap_or(false) {
            v.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    v
}

fn nal_case(hevc: bool, frames: &[(Vec<Vec<u8>>, bool)], mtu: usize, drop: &[bool], swap: &[bool]) {
    let input: Vec<Frame> = frames
        .iter()
        .enumerate()
        .map(|(i, (nals, key))| frame(i as i64 * 3000, 90_000, canonical(nals), *key))
        .collect();
    let cfg = PacketizerConfig::new(90_000)
        .with_mtu(mtu)
        .with_initial_sequence_number(65530);
    let packets = if hevc {
        all(
            &mut H265Packetizer::with_parameter_sets(cfg, Vec::new()),
            &input,
            mtu,
        )
    } else {
        all(
            &mut H264Packetizer::with_parameter_sets(
                cfg,
                Vec::new(),
                PacketizationMode::NonInterleaved,
            ),
            &input,
            mtu,
        )
    };
    let dcfg = DepacketizerConfig::new(90_000);
    let depack_list = |packets: &[Bytes], keep: &dyn Fn(usize) -> bool| {
        if hevc {
            run(&mut H265Depacketizer::new(dcfg.clone()), packets, keep)
        } else {
            run(&mut H264Depacketizer::new(dcfg.clone()), packets, keep)
        }
    };
    let depack = |keep: &dyn Fn(usize) -> bool| depack_list(&packets, keep);
    // No loss: identity.
    let got = depack(&|_| true);
    assert_eq!(got.len(), input.len());
    for (g, w) in got.iter().zip(&input) {
        assert_eq!(g.data, w.data);
        assert_eq!(g.pts, w.pts);
        assert_eq!(g.keyframe, w.keyframe);
        assert!(!g.incomplete);
    }
    // Loss: every frame not flagged incomplete is exactly its original; a flagged one
    // holds only whole NAL units of its original, in order.
    // Loss, and separately reordering (a late packet is stale for an in-order consumer, so
    // it acts like loss): the same guarantees.
    let lossy = depack(&|i| !drop.get(i).copied().unwrap_or(false));
    let reordered = depack_list(&reorder(&packets, swap), &|_| true);
    for g in lossy.iter().chain(&reordered) {
        let w = input
            .iter()
            .find(|w| w.pts == g.pts)
            .expect("timestamp of a sent frame");
        if !g.incomplete {
            assert_eq!(g.data, w.data);
        } else {
            let orig: Vec<Bytes> = weir_media::nal::length_prefixed_nalus(&w.data, 4)
                .unwrap()
                .map(|n| n.unwrap())
                .collect();
            let mut at = 0;
            for n in weir_media::nal::length_prefixed_nalus(&g.data, 4).unwrap() {
                let n = n.expect("well-formed");
                let pos = orig[at..]
                    .iter()
                    .position(|o| *o == n)
                    .expect("a whole original NAL unit");
                at += pos + 1;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn h264_roundtrip_and_loss(frames in nal_frames(false), mtu in 40usize..1500, drop in prop::collection::vec(prop::bool::weighted(0.1), 0..400), swap in prop::collection::vec(prop::bool::weighted(0.05), 0..400)) {
        nal_case(false, &frames, mtu, &drop, &swap);
    }

    #[test]
    fn h265_roundtrip_and_loss(frames in nal_frames(true), mtu in 40usize..1500, drop in prop::collection::vec(prop::bool::weighted(0.1), 0..400), swap in prop::collection::vec(prop::bool::weighted(0.05), 0..400)) {
        nal_case(true, &frames, mtu, &drop, &swap);
    }

    #[test]
    fn aac_roundtrip_and_loss(sizes in prop::collection::vec(1usize..4000, 1..30), group in 1usize..6, mtu in 100usize..1500, drop in prop::collection::vec(prop::bool::weighted(0.15), 0..200)) {
        let input: Vec<Frame> = sizes.iter().enumerate()
            .map(|(i, &n)| frame(i as i64 * 1024, 44_100, (0..n).map(|b| (b * 7 + i) as u8).collect(), true))
            .collect();
        let mut p = AacPacketizer::new(PacketizerConfig::new(44_100).with_mtu(mtu), &[0x12, 0x10]).unwrap();
        let mut packets = Vec::new();
        for chunk in input.chunks(group) {
            p.packetize_many(chunk, &mut packets).unwrap();
        }
        prop_assert!(packets.iter().all(|b| b.len() <= mtu));
        let mk = || AacDepacketizer::new(DepacketizerConfig::new(44_100), AuHeaderLayout::AAC_HBR, 1024);
        let got = run(&mut mk(), &packets, &|_| true);
        prop_assert_eq!(got.len(), input.len());
        for (g, w) in got.iter().zip(&input) {
            prop_assert_eq!(&g.data, &w.data);
            prop_assert_eq!(g.pts, w.pts);
        }
        let got = run(&mut mk(), &packets, &|i| !drop.get(i).copied().unwrap_or(false));
        for g in &got {
            let w = input.iter().find(|w| w.pts == g.pts).expect("sent timestamp");
            prop_assert_eq!(&g.data, &w.data, "AUs are delivered whole or not at all");
        }
    }

    #[test]
    fn latm_roundtrip_and_loss(sizes in prop::collection::vec(0usize..3000, 1..20), mtu in 60usize..1500, drop in prop::collection::vec(prop::bool::weighted(0.15), 0..200)) {
        let input: Vec<Frame> = sizes.iter().enumerate()
            .map(|(i, &n)| frame(i as i64 * 1024, 48_000, (0..n).map(|b| (b * 3 + i) as u8).collect(), true))
            .collect();
        let mut p = LatmPacketizer::new(PacketizerConfig::new(48_000).with_mtu(mtu), &[0x11, 0x90]).unwrap();
        let packets = all(&mut p, &input, mtu);
        let asc = weir_aac::AudioSpecificConfig::parse(&[0x11, 0x90]).unwrap();
        let mux = StreamMuxConfig::parse(&StreamMuxConfig::single(asc).to_bytes()).unwrap();
        prop_assert_eq!(&mux.first_config().unwrap().to_bytes()[..], &[0x11, 0x90]);
        let got = run(&mut LatmDepacketizer::new(DepacketizerConfig::new(48_000), mux.clone()), &packets, &|_| true);
        prop_assert_eq!(got.len(), input.len());
        for (g, w) in got.iter().zip(&input) {
            prop_assert_eq!(&g.data, &w.data);
            prop_assert_eq!(g.pts, w.pts);
        }
        let got = run(&mut LatmDepacketizer::new(DepacketizerConfig::new(48_000), mux), &packets, &|i| !drop.get(i).copied().unwrap_or(false));
        for g in &got {
            let w = input.iter().find(|w| w.pts == g.pts).expect("sent timestamp");
            prop_assert_eq!(&g.data, &w.data);
        }
    }

    #[test]
    fn opus_and_g711_roundtrip(sizes in prop::collection::vec(1usize..1000, 1..20), mtu in 1100usize..1500) {
        let input: Vec<Frame> = sizes.iter().enumerate()
            .map(|(i, &n)| frame(i as i64 * 960, 48_000, vec![i as u8; n], true))
            .collect();
        let packets = all(&mut OpusPacketizer::new(PacketizerConfig::new(48_000).with_mtu(mtu), 2), &input, mtu);
        let got = run(&mut OpusDepacketizer::new(DepacketizerConfig::new(48_000)), &packets, &|_| true);
        prop_assert_eq!(got, input);

        // G.711: blocks are split to the MTU; samples and their timing survive.
        let mut t = 0i64;
        let input: Vec<Frame> = sizes.iter().map(|&n| { let f = frame(t, 8_000, (0..n).map(|b| b as u8).collect(), true); t += n as i64; f }).collect();
        let small = mtu - 1000;
        let packets = all(&mut G711Packetizer::new(PacketizerConfig::new(8_000).with_mtu(small), G711Law::Mu), &input, small);
        let got = run(&mut G711Depacketizer::new(DepacketizerConfig::new(8_000)), &packets, &|_| true);
        let want: Vec<u8> = input.iter().flat_map(|f| f.data.iter().copied()).collect();
        let have: Vec<u8> = got.iter().flat_map(|f| f.data.iter().copied()).collect();
        prop_assert_eq!(have, want);
        let mut next = 0;
        for g in &got {
            prop_assert_eq!(g.pts.ticks(), next);
            next += g.data.len() as i64;
        }
    }

    #[test]
    fn mp2t_and_ps_roundtrip(n_ts in prop::collection::vec(1usize..30, 1..6), ps in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..6000), 1..6), mtu in 200usize..1500, drop in prop::collection::vec(prop::bool::weighted(0.2), 0..100)) {
        let input: Vec<Frame> = n_ts.iter().enumerate().map(|(i, &n)| {
            let mut d = vec![0u8; n * 188];
            for (k, p) in d.chunks_mut(188).enumerate() { p[0] = 0x47; p[1] = k as u8; p[2] = i as u8; }
            frame(i as i64 * 3000, 90_000, d, false)
        }).collect();
        let packets = all(&mut Mp2tPacketizer::new(PacketizerConfig::new(90_000).with_mtu(mtu)), &input, mtu);
        let got = run(&mut Mp2tDepacketizer::new(DepacketizerConfig::new(90_000)), &packets, &|_| true);
        let want: Vec<u8> = input.iter().flat_map(|f| f.data.iter().copied()).collect();
        let have: Vec<u8> = got.iter().flat_map(|f| f.data.iter().copied()).collect();
        prop_assert_eq!(have, want);

        let input: Vec<Frame> = ps.into_iter().enumerate().map(|(i, d)| frame(i as i64 * 3600, 90_000, d, false)).collect();
        let packets = all(&mut PsPacketizer::new(PacketizerConfig::new(90_000).with_mtu(mtu)), &input, mtu);
        let got = run(&mut PsDepacketizer::new(DepacketizerConfig::new(90_000)), &packets, &|_| true);
        prop_assert_eq!(got.len(), input.len());
        for (g, w) in got.iter().zip(&input) {
            prop_assert_eq!(&g.data, &w.data);
            prop_assert_eq!(g.pts, w.pts);
            prop_assert!(!g.incomplete);
        }
        let got = run(&mut PsDepacketizer::new(DepacketizerConfig::new(90_000)), &packets, &|i| !drop.get(i).copied().unwrap_or(false));
        for g in &got {
            let w = input.iter().find(|w| w.pts == g.pts).expect("sent timestamp");
            if !g.incomplete {
                prop_assert_eq!(&g.data, &w.data);
            }
        }
    }

    #[test]
    fn jpeg_roundtrip_and_loss(scan in prop::collection::vec(any::<u8>(), 1..20_000), q in prop_oneof![1u8..100, Just(255u8)], jtype in prop_oneof![Just(0u8), Just(1), Just(64), Just(65)], w in 1u8..100, h in 1u8..100, mtu in 200usize..1500, drop in prop::collection::vec(prop::bool::weighted(0.2), 0..100)) {
        // Build an RTP/JPEG stream by hand, depacketize it into a JPEG, then check that the
        // packetizer reproduces the same scan, Q and size, and that depacketizing its output
        // gives the same image back.
        let mut first = vec![0, 0, 0, 0, jtype, q, w, h];
        if jtype >= 64 {
            first.extend_from_slice(&[0, 4, 0xff, 0xff]);
        }
        if q == 255 {
            first.extend_from_slice(&[0, 0, 0, 128]);
            first.extend((0..128).map(|i| (i % 50 + 1) as u8));
        }
        let scan = {
            let mut s = scan;
            if s.ends_with(&[0xff]) { s.push(0); }
            s
        };
        first.extend_from_slice(&scan);
        let mut d = JpegDepacketizer::new(DepacketizerConfig::new(90_000));
        d.push_payload(7, 1000, true, Bytes::from(first)).unwrap();
        let jpeg = d.pull().unwrap();
        prop_assert!(!jpeg.incomplete);
        let mut p = JpegPacketizer::new(PacketizerConfig::new(90_000).with_mtu(mtu));
        let mut packets = Vec::new();
        p.packetize(&jpeg, &mut packets).unwrap();
        prop_assert!(packets.iter().all(|b| b.len() <= mtu));
        let got = run(&mut JpegDepacketizer::new(DepacketizerConfig::new(90_000)), &packets, &|_| true);
        prop_assert_eq!(got.len(), 1);
        prop_assert_eq!(&got[0].data, &jpeg.data);
        let got = run(&mut JpegDepacketizer::new(DepacketizerConfig::new(90_000)), &packets, &|i| !drop.get(i).copied().unwrap_or(false));
        for g in &got {
            if !g.incomplete {
                prop_assert_eq!(&g.data, &jpeg.data);
            } else {
                // A truncated image: a prefix of the scan, then EOI.
                let body = &g.data[..g.data.len() - 2];
                prop_assert!(jpeg.data.starts_with(body));
            }
        }
    }

    #[test]
    fn arbitrary_packets_never_panic(pkts in prop::collection::vec((any::<u16>(), 0u32..4, any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)), 0..40)) {
        let cfg = DepacketizerConfig::new(90_000).with_max_frame_size(1 << 16);
        let mut ds: Vec<Box<dyn Depacketizer>> = vec![
            Box::new(H264Depacketizer::with_parameter_sets(cfg.clone(), vec![Bytes::from_static(&[0x67, 1]), Bytes::from_static(&[0x68, 2])])),
            Box::new(H265Depacketizer::new(cfg.clone())),
            Box::new(AacDepacketizer::new(cfg.clone(), AuHeaderLayout::AAC_HBR, 1024)),
            Box::new(LatmDepacketizer::new(cfg.clone(), StreamMuxConfig::parse(&[0x40, 0x00, 0x24, 0x20, 0x3f, 0xc0]).unwrap())),
            Box::new(OpusDepacketizer::new(cfg.clone())),
            Box::new(G711Depacketizer::new(cfg.clone())),
            Box::new(JpegDepacketizer::new(cfg.clone())),
            Box::new(Mp2tDepacketizer::new(cfg.clone())),
            Box::new(PsDepacketizer::new(cfg)),
        ];
        for d in ds.iter_mut() {
            for (seq, ts, m, payload) in &pkts {
                let _ = d.push_payload(*seq, *ts, *m, Bytes::from(payload.clone()));
                while d.pull().is_some() {}
            }
            d.flush();
            while d.pull().is_some() {}
        }
    }
}

#[test]
fn h264_mode0_refuses_large_nal_units_and_injects_parameter_sets() {
    let sps = vec![0x67, 0x42, 0xc0, 0x1e, 0xd9];
    let pps = vec![0x68, 0xce, 0x3c, 0x80];
    let mut avcc = vec![1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, sps.len() as u8];
    avcc.extend_from_slice(&sps);
    avcc.extend_from_slice(&[1, 0, pps.len() as u8]);
    avcc.extend_from_slice(&pps);
    let idr = vec![0x65; 500];
    let f = frame(0, 90_000, canonical(std::slice::from_ref(&idr)), true);
    let mut p = H264Packetizer::new(
        PacketizerConfig::new(90_000).with_mtu(300),
        &avcc,
        PacketizationMode::SingleNal,
    );
    let mut out = Vec::new();
    assert!(p.packetize(&f, &mut out).is_err());
    assert!(out.is_empty());
    let sdp = p.sdp();
    assert_eq!(sdp.rtpmap, "H264/90000");
    assert_eq!(
        sdp.fmtp.as_deref(),
        Some("packetization-mode=0;profile-level-id=42c01e;sprop-parameter-sets=Z0LAHtk=,aM48gA==")
    );

    // Mode 1: SPS+PPS are sent first (aggregated in one STAP-A), then the IDR as FU-A.
    let mut p = H264Packetizer::new(
        PacketizerConfig::new(90_000).with_mtu(300),
        &avcc,
        PacketizationMode::NonInterleaved,
    );
    p.packetize(&f, &mut out).unwrap();
    let first = RtpPacket::parse(out[0].clone()).unwrap();
    assert_eq!(first.payload()[0] & 0x1f, 24);
    assert!(!first.marker());
    assert!(RtpPacket::parse(out.last().unwrap().clone())
        .unwrap()
        .marker());
    let got = run(
        &mut H264Depacketizer::new(DepacketizerConfig::new(90_000)),
        &out,
        &|_| true,
    );
    assert_eq!(
        got[0].data,
        canonical(&[sps.clone(), pps.clone(), idr.clone()])
    );

    // The depacketizer injects sprop parameter sets before the first keyframe that lacks them.
    let mut p = H264Packetizer::with_parameter_sets(
        PacketizerConfig::new(90_000),
        Vec::new(),
        PacketizationMode::NonInterleaved,
    );
    let mut out = Vec::new();
    p.packetize(&f, &mut out).unwrap();
    p.packetize(
        &frame(3000, 90_000, canonical(std::slice::from_ref(&idr)), true),
        &mut out,
    )
    .unwrap();
    let mut d = H264Depacketizer::from_fmtp(
        DepacketizerConfig::new(90_000),
        "packetization-mode=1;sprop-parameter-sets=Z0LAHtk=,aM48gA==",
    )
    .unwrap();
    let got = run(&mut d, &out, &|_| true);
    assert_eq!(got[0].data, canonical(&[sps, pps, idr.clone()]));
    assert_eq!(got[1].data, canonical(&[idr]), "only the first keyframe");
}

#[test]
fn rfc3640_example_packet() {
    // Two AUs in one packet: AU-headers-length 32 bits, sizes 3 and 2 (13-bit size,
    // 3-bit index/delta = 0).
    let payload = Bytes::from_static(&[0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2, 3, 4, 5]);
    let mut d = AacDepacketizer::from_fmtp(
        DepacketizerConfig::new(16_000),
        "streamtype=5; profile-level-id=15; mode=AAC-hbr; config=1408; SizeLength=13; IndexLength=3; IndexDeltaLength=3",
    )
    .unwrap();
    d.push_payload(1, 100, true, payload).unwrap();
    let a = d.pull().unwrap();
    let b = d.pull().unwrap();
    assert_eq!((&a.data[..], a.pts.ticks()), (&[1u8, 2, 3][..], 100));
    assert_eq!((&b.data[..], b.pts.ticks()), (&[4u8, 5][..], 1124));
    // An AU shorter than its header says, with the marker set, is a fragment whose rest
    // never comes: dropped.
    let short = Bytes::from_static(&[0x00, 0x10, 0x00, 0x18, 1]);
    d.push_payload(2, 2148, true, short).unwrap();
    assert!(d.pull().is_none());
    // An AU-headers-length that ends inside a header is an error; the depacketizer carries on.
    let bad = Bytes::from_static(&[0x00, 0x11, 0x00, 0x18, 1]);
    assert!(d.push_payload(3, 2148, true, bad).is_err());
    let next = Bytes::from_static(&[0x00, 0x10, 0x00, 0x08, 9]);
    d.push_payload(4, 3172, true, next).unwrap();
    let c = d.pull().unwrap();
    assert_eq!(&c.data[..], &[9]);
    assert!(c.incomplete, "follows a dropped AU");
}

#[test]
fn ps_without_marker_splits_on_timestamp_and_flags_system_header() {
    let mut d = PsDepacketizer::new(DepacketizerConfig::new(90_000));
    d.push_payload(1, 0, false, Bytes::from_static(&[0, 0, 1, 0xba, 1, 2]))
        .unwrap();
    d.push_payload(2, 0, false, Bytes::from_static(&[0, 0, 1, 0xbb, 3]))
        .unwrap();
    assert!(d.pull().is_none());
    d.push_payload(3, 3600, false, Bytes::from_static(&[0, 0, 1, 0xba, 9]))
        .unwrap();
    let f = d.pull().unwrap();
    assert_eq!(&f.data[..], &[0, 0, 1, 0xba, 1, 2, 0, 0, 1, 0xbb, 3]);
    assert!(f.keyframe && !f.incomplete);
    // A gap inside the next frame flags it.
    d.push_payload(5, 3600, true, Bytes::from_static(&[7]))
        .unwrap();
    let f = d.pull().unwrap();
    assert!(f.incomplete && !f.keyframe);
}

#[test]
fn emit_incomplete_false_drops_damaged_frames() {
    let input: Vec<Frame> = (0..20)
        .map(|i| {
            frame(
                i * 3000,
                90_000,
                canonical(&[vec![0x41; 3000 + i as usize]]),
                false,
            )
        })
        .collect();
    let mut p = H264Packetizer::with_parameter_sets(
        PacketizerConfig::new(90_000).with_mtu(1000),
        Vec::new(),
        PacketizationMode::NonInterleaved,
    );
    let packets = all(&mut p, &input, 1000);
    let cfg = DepacketizerConfig::new(90_000).with_emit_incomplete(false);
    let got = run(&mut H264Depacketizer::new(cfg), &packets, &|i| i % 7 != 3);
    assert!(!got.is_empty() && got.len() < input.len());
    for g in &got {
        assert!(!g.incomplete);
        let w = input.iter().find(|w| w.pts == g.pts).unwrap();
        assert_eq!(g.data, w.data);
    }
}

/// The SDP a packetizer announces configures a depacketizer (via `depacketizer_for`) that
/// restores the frames, for every codec `packetizer_for_track` knows.
#[test]
fn sdp_from_packetizer_configures_matching_depacketizer() {
    use weir_media::{AudioParams, Codec, TrackInfo};
    use weir_rtp_rtcp::payload::{depacketizer_for, packetizer_for_track};
    let sps = vec![0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8];
    let pps = vec![0x68, 0xce, 0x3c, 0x80];
    let mut avcc = vec![1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, sps.len() as u8];
    avcc.extend_from_slice(&sps);
    avcc.extend_from_slice(&[1, 0, pps.len() as u8]);
    avcc.extend_from_slice(&pps);
    let idr = {
        let mut v = vec![0x65];
        v.extend((0..4000u32).map(|i| (i % 251) as u8));
        v
    };
    // A minimal baseline JPEG from the RTP/JPEG depacketizer itself.
    let jpeg = {
        let mut d = JpegDepacketizer::new(DepacketizerConfig::new(90_000));
        let mut p = vec![0, 0, 0, 0, 1, 60, 40, 30];
        p.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        d.push_payload(0, 0, true, Bytes::from(p)).unwrap();
        d.pull().unwrap().data
    };
    let cases: Vec<(TrackInfo, Vec<u8>, bool)> = vec![
        (
            TrackInfo::new(TrackId(0), Codec::H264, 90_000).with_config(Bytes::from(avcc)),
            canonical(&[sps.clone(), pps.clone(), idr.clone()]),
            true,
        ),
        (
            TrackInfo::new(TrackId(0), Codec::H265, 90_000),
            canonical(&[vec![0x26, 0x01, 1, 2, 3], vec![0x02, 0x01, 4, 5]]),
            true,
        ),
        (
            TrackInfo::new(TrackId(0), Codec::Aac, 44_100)
                .with_config(Bytes::from_static(&[0x12, 0x10])),
            vec![0x21; 3000],
            true,
        ),
        (
            TrackInfo::new(TrackId(0), Codec::Opus, 48_000).with_audio(AudioParams {
                sample_rate: 48_000,
                channels: 2,
            }),
            vec![0xfc, 1, 2, 3],
            true,
        ),
        (
            TrackInfo::new(TrackId(0), Codec::G711A, 8_000),
            vec![0xd5; 160],
            true,
        ),
        (
            TrackInfo::new(TrackId(0), Codec::G711U, 8_000),
            vec![0xff; 160],
            true,
        ),
        (
            TrackInfo::new(TrackId(0), Codec::Mjpeg, 90_000),
            jpeg.to_vec(),
            true,
        ),
    ];
    for (track, data, key) in cases {
        let (mut p, sdp) = packetizer_for_track(&track, PacketizerConfig::new(0)).unwrap();
        let ts = Timestamp::new(1234, track.timebase());
        let f = Frame::new(TrackId(0), ts, ts, Bytes::from(data)).with_keyframe(key);
        let mut out = Vec::new();
        p.packetize(&f, &mut out).unwrap();
        let (mut d, codec) =
            depacketizer_for(&sdp.rtpmap, sdp.fmtp.as_deref(), DepacketizerConfig::new(0))
                .unwrap_or_else(|e| panic!("{sdp:?}: {e}"));
        assert_eq!(codec, Some(track.codec), "{sdp:?}");
        let got = run(&mut d, &out, &|_| true);
        assert_eq!(got.len(), 1, "{sdp:?}");
        assert_eq!(got[0].data, f.data, "{sdp:?}");
        assert_eq!(got[0].pts, f.pts, "{sdp:?}");
    }
}
