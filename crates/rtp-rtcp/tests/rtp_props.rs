//! Property tests for RTP packets: build → parse identity, RFC 8285 element roundtrips,
//! and hostile input never panicking.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_rtp_rtcp::rtp::{ONE_BYTE_PROFILE, TWO_BYTE_PROFILE};
use weir_rtp_rtcp::{HeaderExtension, RtpHeader, RtpPacket, SequenceUnwrapper};

fn extension() -> impl Strategy<Value = Option<HeaderExtension>> {
    prop::option::of(
        (any::<u16>(), 0usize..40).prop_flat_map(|(profile, words)| {
            prop::collection::vec(any::<u8>(), words * 4)
                .prop_map(move |d| HeaderExtension::new(profile, Bytes::from(d)))
        }),
    )
}

fn header() -> impl Strategy<Value = RtpHeader> {
    (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u32>(), 0..=15),
        extension(),
        any::<u8>(),
    )
        .prop_map(
            |(
                marker,
                payload_type,
                sequence_number,
                timestamp,
                ssrc,
                csrcs,
                extension,
                padding,
            )| {
                RtpHeader {
                    marker,
                    payload_type,
                    sequence_number,
                    timestamp,
                    ssrc,
                    csrcs,
                    extension,
                    padding,
                }
            },
        )
}

/// Touches every accessor of a parsed packet.
fn exercise(p: &RtpPacket) {
    let _ = (
        p.version(),
        p.padding(),
        p.marker(),
        p.payload_type(),
        p.sequence_number(),
    );
    let _ = (
        p.timestamp(),
        p.ssrc(),
        p.csrcs().count(),
        p.payload().len(),
        p.padding_len(),
    );
    assert_eq!(
        p.header_len() + p.payload_len() + p.padding_len(),
        p.as_bytes().len()
    );
    if let Some(ext) = p.extension() {
        let _ = ext.elements().count();
        let _ = ext.one_byte_elements().count();
        let _ = ext.two_byte_elements().count();
    }
    let _ = format!("{p:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn build_parse_identity(hdr in header(), payload in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut out = BytesMut::new();
        hdr.write_with_payload(&payload, &mut out).unwrap();
        prop_assert_eq!(out.len(), hdr.header_len() + payload.len() + usize::from(hdr.padding));
        let pkt = RtpPacket::parse(out.freeze()).unwrap();
        prop_assert_eq!(pkt.header(), hdr.clone());
        prop_assert_eq!(&pkt.payload()[..], &payload[..]);
        prop_assert_eq!(pkt.payload_bytes(), &payload[..]);
        prop_assert_eq!(pkt.csrc_count() as usize, hdr.csrcs.len());
        // Split writing (header, payload, padding) gives the same bytes.
        let mut split = BytesMut::new();
        hdr.write(&mut split).unwrap();
        prop_assert_eq!(split.len(), hdr.header_len());
        split.extend_from_slice(&payload);
        hdr.write_padding(&mut split);
        prop_assert_eq!(&split[..], &pkt.as_bytes()[..]);
    }

    #[test]
    fn truncated_packets_never_panic(hdr in header(), payload in prop::collection::vec(any::<u8>(), 0..64), cut in any::<prop::sample::Index>()) {
        let bytes = hdr.to_packet(&payload).unwrap();
        let n = cut.index(bytes.len() + 1);
        if let Ok(p) = RtpPacket::parse(bytes.slice(..n)) {
            exercise(&p);
            // A truncated prefix only parses when it still holds the whole header.
            prop_assert!(n >= hdr.header_len());
        }
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = RtpPacket::parse(Bytes::from(data)) {
            exercise(&p);
        }
    }

    #[test]
    fn one_byte_elements_roundtrip(els in prop::collection::vec((1u8..=14, prop::collection::vec(any::<u8>(), 1..=16)), 0..12)) {
        let ext = HeaderExtension::one_byte(els.iter().map(|(id, d)| (*id, &d[..]))).unwrap();
        prop_assert_eq!(ext.profile, ONE_BYTE_PROFILE);
        let got: Vec<(u8, Vec<u8>)> = ext.elements().map(|e| e.unwrap()).map(|e| (e.id, e.data.to_vec())).collect();
        prop_assert_eq!(got, els.clone());
        // Through a packet.
        let hdr = RtpHeader { extension: Some(ext), ..RtpHeader::new(96, 1, 2, 3) };
        let pkt = RtpPacket::parse(hdr.to_packet(b"x").unwrap()).unwrap();
        let got: Vec<(u8, Vec<u8>)> = pkt.extension().unwrap().elements().map(|e| e.unwrap()).map(|e| (e.id, e.data.to_vec())).collect();
        prop_assert_eq!(got, els);
    }

    #[test]
    fn two_byte_elements_roundtrip(appbits in 0u8..16, els in prop::collection::vec((1u8..=255, prop::collection::vec(any::<u8>(), 0..=40)), 0..12)) {
        let ext = HeaderExtension::two_byte(appbits, els.iter().map(|(id, d)| (*id, &d[..]))).unwrap();
        prop_assert_eq!(ext.profile, TWO_BYTE_PROFILE | u16::from(appbits));
        let got: Vec<(u8, Vec<u8>)> = ext.elements().map(|e| e.unwrap()).map(|e| (e.id, e.data.to_vec())).collect();
        prop_assert_eq!(got, els);
    }

    #[test]
    fn sequence_unwrap_matches_model(start in any::<u16>(), steps in prop::collection::vec(-1000i64..1000, 1..300)) {
        let mut u = SequenceUnwrapper::new();
        let mut ext = i64::from(start);
        prop_assert_eq!(u.unwrap(start), ext);
        for s in steps {
            ext += s;
            prop_assert_eq!(u.unwrap(ext.rem_euclid(65536) as u16), ext);
        }
    }
}
