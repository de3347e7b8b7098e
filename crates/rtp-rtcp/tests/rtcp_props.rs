//! Property tests for RTCP: compound build → parse identity, padding, and hostile input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_rtp_rtcp::rtcp::{
    packet_type, App, Feedback, FirEntry, FullIntraRequest, GenericNack, Goodbye, NackPair,
    PictureLossIndication, ReceiverReport, ReportBlock, RtcpIter, SdesChunk, SdesItem,
    SdesItemType, SenderReport, SourceDescription, UnknownPacket,
};
use weir_rtp_rtcp::{Compound, NtpTime, RtcpLimits, RtcpPacket};

fn aligned_bytes(max_words: usize) -> impl Strategy<Value = Bytes> {
    (0..=max_words)
        .prop_flat_map(|w| prop::collection::vec(any::<u8>(), w * 4).prop_map(Bytes::from))
}

fn block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7F_FFFF,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq,
                jitter,
                last_sr,
                delay_since_last_sr,
            )| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq,
                jitter,
                last_sr,
                delay_since_last_sr,
            },
        )
}

fn sr() -> impl Strategy<Value = RtcpPacket> {
    (
        any::<u32>(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(block(), 0..=31),
        aligned_bytes(4),
    )
        .prop_map(
            |(ssrc, ntp, rtp_time, packet_count, octet_count, reports, profile_extension)| {
                RtcpPacket::SenderReport(SenderReport {
                    ssrc,
                    ntp_time: NtpTime(ntp),
                    rtp_time,
                    packet_count,
                    octet_count,
                    reports,
                    profile_extension,
                })
            },
        )
}

fn rr() -> impl Strategy<Value = RtcpPacket> {
    (
        any::<u32>(),
        prop::collection::vec(block(), 0..=31),
        aligned_bytes(4),
    )
        .prop_map(|(ssrc, reports, profile_extension)| {
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports,
                profile_extension,
            })
        })
}

fn sdes() -> impl Strategy<Value = RtcpPacket> {
    let item = (1u8..=255, prop::collection::vec(any::<u8>(), 0..=255))
        .prop_map(|(t, v)| SdesItem::new(SdesItemType::from_u8(t), Bytes::from(v)));
    let chunk = (any::<u32>(), prop::collection::vec(item, 0..5))
        .prop_map(|(ssrc, items)| SdesChunk { ssrc, items });
    prop::collection::vec(chunk, 0..=6)
        .prop_map(|chunks| RtcpPacket::SourceDescription(SourceDescription { chunks }))
}

fn other() -> impl Strategy<Value = RtcpPacket> {
    prop_oneof![
        sdes(),
        (
            prop::collection::vec(any::<u32>(), 0..=31),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..=255))
        )
            .prop_map(|(sources, reason)| RtcpPacket::Goodbye(Goodbye {
                sources,
                reason: reason.map(Bytes::from)
            })),
        (0u8..32, any::<u32>(), any::<[u8; 4]>(), aligned_bytes(8)).prop_map(
            |(subtype, ssrc, name, data)| RtcpPacket::App(App {
                subtype,
                ssrc,
                name,
                data
            })
        ),
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec((any::<u16>(), any::<u16>()), 0..20)
        )
            .prop_map(|(s, m, pairs)| {
                RtcpPacket::Nack(GenericNack {
                    sender_ssrc: s,
                    media_ssrc: m,
                    pairs: pairs
                        .into_iter()
                        .map(|(pid, blp)| NackPair { pid, blp })
                        .collect(),
                })
            }),
        (any::<u32>(), any::<u32>()).prop_map(|(s, m)| RtcpPacket::Pli(PictureLossIndication {
            sender_ssrc: s,
            media_ssrc: m
        })),
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec((any::<u32>(), any::<u8>()), 0..8)
        )
            .prop_map(|(s, m, e)| {
                RtcpPacket::Fir(FullIntraRequest {
                    sender_ssrc: s,
                    media_ssrc: m,
                    entries: e
                        .into_iter()
                        .map(|(ssrc, seq_nr)| FirEntry { ssrc, seq_nr })
                        .collect(),
                })
            }),
        (
            any::<bool>(),
            0u8..32,
            any::<u32>(),
            any::<u32>(),
            aligned_bytes(6)
        )
            .prop_filter_map("FMT with a typed variant", |(rtpfb, fmt, s, m, fci)| {
                let pt = if rtpfb {
                    packet_type::RTPFB
                } else {
                    packet_type::PSFB
                };
                let typed = fmt == 1 || (!rtpfb && fmt == 4);
                (!typed).then(|| {
                    RtcpPacket::Feedback(Feedback {
                        packet_type: pt,
                        fmt,
                        sender_ssrc: s,
                        media_ssrc: m,
                        fci,
                    })
                })
            }),
        (any::<u8>(), 0u8..32, aligned_bytes(6)).prop_filter_map(
            "interpreted type",
            |(pt, count, body)| {
                (!(200..=206).contains(&pt)).then(|| {
                    RtcpPacket::Unknown(UnknownPacket {
                        packet_type: pt,
                        count,
                        body,
                    })
                })
            }
        ),
        sr(),
        rr(),
    ]
}

fn compound() -> impl Strategy<Value = Compound> {
    (
        prop_oneof![sr(), rr()],
        prop::collection::vec(other(), 0..6),
    )
        .prop_map(|(first, rest)| {
            let mut packets = vec![first];
            packets.extend(rest);
            Compound::new(packets)
        })
}

/// Sets the P bit on the last packet of `bytes` (starting at `last_offset`) and appends
/// `words` 32-bit words of padding.
fn pad_last(bytes: &[u8], last_offset: usize, words: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    let pad = words * 4;
    v[last_offset] |= 0x20;
    let len = u16::from_be_bytes([v[last_offset + 2], v[last_offset + 3]]) + words as u16;
    v[last_offset + 2..last_offset + 4].copy_from_slice(&len.to_be_bytes());
    v.resize(v.len() + pad - 1, 0);
    v.push(pad as u8);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn compound_build_parse_identity(c in compound()) {
        let mut out = BytesMut::new();
        c.write(&mut out).unwrap();
        prop_assert_eq!(out.len(), c.wire_len());
        prop_assert_eq!(out.len() % 4, 0);
        let parsed = Compound::parse(out.freeze(), &RtcpLimits::default()).unwrap();
        prop_assert_eq!(parsed, c);
    }

    #[test]
    fn padded_last_packet_parses_the_same(c in compound(), words in 1usize..4) {
        let bytes = c.to_bytes().unwrap();
        let last_offset = bytes.len() - c.packets.last().unwrap().wire_len();
        let padded = pad_last(&bytes, last_offset, words);
        let parsed = Compound::parse(Bytes::from(padded), &RtcpLimits::default()).unwrap();
        prop_assert_eq!(parsed, c.clone());
        // Padding on a packet that is not the last violates RFC 3550 A.2.
        if c.packets.len() > 1 {
            let mut v = bytes.to_vec();
            v[0] |= 0x20;
            prop_assert!(Compound::parse(Bytes::from(v), &RtcpLimits::default()).is_err());
        }
    }

    #[test]
    fn every_packet_alone_roundtrips(p in other()) {
        let mut out = BytesMut::new();
        p.write(&mut out).unwrap();
        prop_assert_eq!(out.len(), p.wire_len());
        prop_assert_eq!(RtcpPacket::parse(out.freeze()).unwrap(), p);
    }

    #[test]
    fn truncated_compounds_error_without_panic(c in compound(), cut in any::<prop::sample::Index>()) {
        let bytes = c.to_bytes().unwrap();
        let n = cut.index(bytes.len());
        let r = Compound::parse(bytes.slice(..n), &RtcpLimits::default());
        // A cut on a packet boundary is a shorter valid compound; anywhere else it is an error.
        if let Ok(parsed) = r {
            prop_assert!(parsed.packets.len() < c.packets.len());
            prop_assert_eq!(&parsed.packets[..], &c.packets[..parsed.packets.len()]);
        }
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let bytes = Bytes::from(data);
        let _ = Compound::parse(bytes.clone(), &RtcpLimits { max_packets: 8, allow_reduced_size: true });
        for p in RtcpIter::new(bytes.clone()).take(64).flatten() {
            let mut out = BytesMut::new();
            let _ = p.write(&mut out);
        }
        let _ = RtcpPacket::parse(bytes);
    }

    #[test]
    fn random_bodies_behind_valid_headers_never_panic(pt in 200u8..=206, count in 0u8..32, body in prop::collection::vec(any::<u8>(), 0..40)) {
        let words = body.len() / 4;
        let mut v = vec![0x80 | count, pt];
        v.extend_from_slice(&(words as u16).to_be_bytes());
        v.extend_from_slice(&body[..words * 4]);
        let _ = RtcpPacket::parse(Bytes::from(v));
    }
}
