//! RTP parse/build and RTCP parse, ours next to peers in the same groups: `rtc-rtp` /
//! `rtc-rtcp` (the webrtc-rs `rtp`/`rtcp` code in its sans-IO edition; the `rtp` crate
//! itself pulls tokio through webrtc-util), `rtp-rs` and `rtp-types` for RTP, `rtcp-types`
//! for RTCP.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtc_shared::marshal::{Marshal, Unmarshal};
use weir_rtp_rtcp::rtcp::{ReceiverReport, ReportBlock, SenderReport, SourceDescription};
use weir_rtp_rtcp::{
    Compound, HeaderExtension, NtpTime, RtcpLimits, RtcpPacket, RtpHeader, RtpPacket, RtpPacketRef,
};

fn simple_header() -> RtpHeader {
    RtpHeader {
        marker: true,
        ..RtpHeader::new(96, 4242, 90_000, 0x1234_5678)
    }
}

fn rich_header() -> RtpHeader {
    let ext = HeaderExtension::one_byte([(1u8, &[0x12u8, 0x34, 0x56][..]), (3, &[0xAB][..])])
        .expect("ext");
    RtpHeader {
        csrcs: vec![1, 2],
        extension: Some(ext),
        padding: 4,
        ..simple_header()
    }
}

fn bench_rtp_parse(c: &mut Criterion) {
    let payload = vec![0x5Au8; 1200];
    for (name, hdr) in [
        ("simple_1200B", simple_header()),
        ("csrc_ext_pad_1200B", rich_header()),
    ] {
        let pkt: Bytes = hdr.to_packet(&payload).expect("build");
        let raw: Vec<u8> = pkt.to_vec();
        let mut g = c.benchmark_group(format!("rtp_parse/{name}"));
        g.throughput(Throughput::Elements(1));
        // Borrowed slice in, like the peers.
        g.bench_function("weir_ref", |b| {
            b.iter(|| {
                let p = RtpPacketRef::parse(black_box(&raw[..])).expect("parse");
                black_box((
                    p.sequence_number(),
                    p.timestamp(),
                    p.ssrc(),
                    p.marker(),
                    p.payload_type(),
                    p.payload_bytes().len(),
                ))
            })
        });
        // Owned `Bytes` in, payload out as a `Bytes` slice, for both: each iteration pays
        // the same buffer clone/drop and payload-slice refcount traffic.
        g.bench_function("weir_bytes", |b| {
            b.iter(|| {
                let p = RtpPacket::parse(black_box(&pkt).clone()).expect("parse");
                black_box((
                    p.sequence_number(),
                    p.timestamp(),
                    p.ssrc(),
                    p.marker(),
                    p.payload_type(),
                    p.payload(),
                ))
            })
        });
        g.bench_function("rtc-rtp_bytes", |b| {
            b.iter(|| {
                let mut bytes = black_box(&pkt).clone();
                let p = rtc_rtp::Packet::unmarshal(&mut bytes).expect("parse");
                let h = &p.header;
                black_box((
                    h.sequence_number,
                    h.timestamp,
                    h.ssrc,
                    h.marker,
                    h.payload_type,
                    p.payload,
                ))
            })
        });
        g.bench_function("rtp-rs", |b| {
            b.iter(|| {
                let p = rtp_rs::RtpReader::new(black_box(&raw[..])).expect("parse");
                black_box((
                    u16::from(p.sequence_number()),
                    p.timestamp(),
                    p.ssrc(),
                    p.mark(),
                    p.payload_type(),
                    p.payload().len(),
                ))
            })
        });
        g.bench_function("rtp-types", |b| {
            b.iter(|| {
                let p = rtp_types::RtpPacket::parse(black_box(&raw[..])).expect("parse");
                black_box((
                    p.sequence_number(),
                    p.timestamp(),
                    p.ssrc(),
                    p.marker_bit(),
                    p.payload_type(),
                    p.payload().len(),
                ))
            })
        });
        g.finish();
    }
}

fn bench_rtp_build(c: &mut Criterion) {
    let payload = vec![0x5Au8; 1200];
    let mut g = c.benchmark_group("rtp_build/simple_1200B");
    g.throughput(Throughput::Elements(1));
    let hdr = simple_header();
    let mut out = BytesMut::with_capacity(2048);
    g.bench_function("weir", |b| {
        b.iter(|| {
            out.clear();
            black_box(&hdr)
                .write_with_payload(black_box(&payload), &mut out)
                .expect("write");
            black_box(out.len())
        })
    });
    let mut buf = vec![0u8; 2048];
    g.bench_function("rtp-rs", |b| {
        b.iter(|| {
            let n = rtp_rs::RtpPacketBuilder::new()
                .payload_type(96)
                .marked(true)
                .sequence(rtp_rs::Seq::from(4242))
                .timestamp(90_000)
                .ssrc(0x1234_5678)
                .payload(black_box(&payload))
                .build_into(&mut buf)
                .expect("build");
            black_box(n)
        })
    });
    let peer = rtc_rtp::Packet {
        header: rtc_rtp::Header {
            version: 2,
            marker: true,
            payload_type: 96,
            sequence_number: 4242,
            timestamp: 90_000,
            ssrc: 0x1234_5678,
            ..Default::default()
        },
        payload: Bytes::from(payload.clone()),
    };
    let mut peer_buf = vec![0u8; 2048];
    g.bench_function("rtc-rtp", |b| {
        b.iter(|| black_box(black_box(&peer).marshal_to(&mut peer_buf).expect("build")))
    });
    let mut vec_out: Vec<u8> = Vec::with_capacity(2048);
    g.bench_function("rtp-types", |b| {
        b.iter(|| {
            vec_out.clear();
            rtp_types::RtpPacketBuilder::<&[u8], &[u8]>::new()
                .payload_type(96)
                .marker_bit(true)
                .sequence_number(4242)
                .timestamp(90_000)
                .ssrc(0x1234_5678)
                .payload(black_box(&payload[..]))
                .write_into_vec(&mut vec_out)
                .expect("build");
            black_box(vec_out.len())
        })
    });
    // Header only: what a packetizer writes before appending a payload slice.
    g.bench_function("weir_header_only", |b| {
        b.iter(|| {
            out.clear();
            black_box(&hdr).write(&mut out).expect("write");
            black_box(out.len())
        })
    });
    g.finish();
}

fn sr_sdes() -> Compound {
    let block = |ssrc| ReportBlock {
        ssrc,
        fraction_lost: 3,
        cumulative_lost: 17,
        extended_highest_seq: 123_456,
        jitter: 42,
        last_sr: 0xABCD_1234,
        delay_since_last_sr: 6553,
    };
    Compound::new(vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 1,
            ntp_time: NtpTime::new(3_900_000_000, 1234),
            rtp_time: 90_000,
            packet_count: 1000,
            octet_count: 1_200_000,
            reports: vec![block(2), block(3)],
            profile_extension: Bytes::new(),
        }),
        RtcpPacket::SourceDescription(SourceDescription::cname(1, "weir-bench@127.0.0.1")),
    ])
}

fn rr_only() -> Compound {
    Compound::new(vec![RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 9,
        reports: vec![ReportBlock {
            ssrc: 1,
            extended_highest_seq: 70_000,
            ..Default::default()
        }],
        profile_extension: Bytes::new(),
    })])
}

fn bench_rtcp_parse(c: &mut Criterion) {
    let limits = RtcpLimits::default();
    for (name, compound) in [("sr2_sdes", sr_sdes()), ("rr1", rr_only())] {
        let bytes = compound.to_bytes().expect("build");
        let raw = bytes.to_vec();
        let mut g = c.benchmark_group(format!("rtcp_parse/{name}"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("weir", |b| {
            b.iter(|| {
                let c = Compound::parse(black_box(&bytes).clone(), &limits).expect("parse");
                let mut acc = 0u64;
                for p in &c.packets {
                    match p {
                        RtcpPacket::SenderReport(sr) => {
                            acc += sr.ntp_time.0 + u64::from(sr.rtp_time);
                            for b in &sr.reports {
                                acc += u64::from(b.extended_highest_seq) + u64::from(b.jitter);
                            }
                        }
                        RtcpPacket::ReceiverReport(rr) => {
                            for b in &rr.reports {
                                acc += u64::from(b.extended_highest_seq) + u64::from(b.jitter);
                            }
                        }
                        RtcpPacket::SourceDescription(s) => {
                            for ch in &s.chunks {
                                for it in &ch.items {
                                    acc += it.value.len() as u64;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                black_box(acc)
            })
        });
        g.bench_function("rtcp-types", |b| {
            b.iter(|| {
                let c = rtcp_types::Compound::parse(black_box(&raw[..])).expect("parse");
                let mut acc = 0u64;
                for p in c {
                    match p.expect("packet") {
                        rtcp_types::Packet::Sr(sr) => {
                            acc += sr.ntp_timestamp() + u64::from(sr.rtp_timestamp());
                            for b in sr.report_blocks() {
                                acc += u64::from(b.extended_sequence_number())
                                    + u64::from(b.interarrival_jitter());
                            }
                        }
                        rtcp_types::Packet::Rr(rr) => {
                            for b in rr.report_blocks() {
                                acc += u64::from(b.extended_sequence_number())
                                    + u64::from(b.interarrival_jitter());
                            }
                        }
                        rtcp_types::Packet::Sdes(s) => {
                            for ch in s.chunks() {
                                for it in ch.items() {
                                    acc += it.value().len() as u64;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                black_box(acc)
            })
        });
        g.bench_function("rtc-rtcp", |b| {
            b.iter(|| {
                let mut buf = black_box(&bytes).clone();
                let packets = rtc_rtcp::packet::unmarshal(&mut buf).expect("parse");
                let mut acc = 0u64;
                for p in &packets {
                    let any = p.as_any();
                    if let Some(sr) = any.downcast_ref::<rtc_rtcp::sender_report::SenderReport>() {
                        acc += sr.ntp_time + u64::from(sr.rtp_time);
                        for b in &sr.reports {
                            acc += u64::from(b.last_sequence_number) + u64::from(b.jitter);
                        }
                    } else if let Some(rr) =
                        any.downcast_ref::<rtc_rtcp::receiver_report::ReceiverReport>()
                    {
                        for b in &rr.reports {
                            acc += u64::from(b.last_sequence_number) + u64::from(b.jitter);
                        }
                    } else if let Some(s) =
                        any.downcast_ref::<rtc_rtcp::source_description::SourceDescription>()
                    {
                        for ch in &s.chunks {
                            for it in &ch.items {
                                acc += it.text.len() as u64;
                            }
                        }
                    }
                }
                black_box(acc)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench_rtp_parse, bench_rtp_build, bench_rtcp_parse);
criterion_main!(benches);
