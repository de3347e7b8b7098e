//! Property and unit tests for the NAL byte-stream layer.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_media::nal::{self, AnnexBSplitter};
use weir_media::Error;

/// The obvious O(n) reference: first index i >= from with data[i..i+3] == 00 00 01.
fn naive_find(data: &[u8], from: usize) -> Option<usize> {
    (from..data.len().saturating_sub(2))
        .find(|&i| data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1)
}

/// Bytes biased towards 0 and 1 so start codes and near-misses are common.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![4 => Just(0u8), 2 => Just(1u8), 1 => Just(3u8), 3 => any::<u8>()],
        0..400,
    )
}

/// Valid NAL units: non-empty, first byte non-zero, last byte non-zero, no start-code emulation.
fn nal_unit() -> impl Strategy<Value = Vec<u8>> {
    (1u8..=255, prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(h, rbsp)| {
        let mut out = vec![h];
        nal::insert_emulation_prevention(&rbsp, &mut out);
        if out.last() == Some(&0) {
            out.push(0x80);
        }
        out
    })
}

proptest! {
    #[test]
    fn start_code_scan_matches_reference(data in stream_bytes(), from in 0usize..50) {
        prop_assert_eq!(nal::find_start_code(&data, from), naive_find(&data, from));
    }

    #[test]
    fn splitter_is_chunking_independent(data in stream_bytes(), cuts in prop::collection::vec(0usize..400, 0..10)) {
        let whole: Vec<Bytes> = nal::annexb_nalus(&Bytes::from(data.clone())).collect();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort_unstable();
        let mut s = AnnexBSplitter::new(1 << 20);
        let mut got = Vec::new();
        let mut prev = 0;
        for c in cuts.into_iter().chain(std::iter::once(data.len())) {
            s.push(&data[prev..c]);
            prev = c;
            while let Some(n) = s.next_nal().unwrap() {
                got.push(n);
            }
        }
        got.extend(s.finish());
        prop_assert_eq!(got, whole);
    }

    #[test]
    fn annexb_length_prefixed_roundtrip(nalus in prop::collection::vec(nal_unit(), 0..8), four in any::<bool>(), ls in prop::sample::select(vec![1u8, 2, 4])) {
        let mut annexb = Vec::new();
        for n in &nalus {
            annexb.extend_from_slice(if four { &[0, 0, 0, 1][..] } else { &[0, 0, 1][..] });
            annexb.extend_from_slice(n);
        }
        let annexb = Bytes::from(annexb);
        let mut lp = BytesMut::new();
        let res = nal::annexb_to_length_prefixed(&annexb, ls, &mut lp);
        if ls == 1 && nalus.iter().any(|n| n.len() > 255) {
            let is_too_long = matches!(res, Err(Error::NalTooLong { .. }));
            prop_assert!(is_too_long);
            return Ok(());
        }
        prop_assert_eq!(res.unwrap(), nalus.len());
        let lp = lp.freeze();
        let parsed: Vec<Bytes> = nal::length_prefixed_nalus(&lp, ls).unwrap().map(|r| r.unwrap()).collect();
        prop_assert_eq!(parsed.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), nalus.clone());
        let mut back = BytesMut::new();
        nal::length_prefixed_to_annexb(&lp, ls, &mut back).unwrap();
        let again: Vec<Vec<u8>> = nal::annexb_nalus(&back.freeze()).map(|b| b.to_vec()).collect();
        prop_assert_eq!(again, nalus.clone());
        // Canonical conversion from any size, and back.
        let canon = nal::convert_length_size(&lp, ls, 4).unwrap();
        let n4: Vec<Vec<u8>> = nal::length_prefixed_nalus(&canon, 4).unwrap().map(|r| r.unwrap().to_vec()).collect();
        prop_assert_eq!(n4, nalus);
    }

    #[test]
    fn emulation_prevention_roundtrip(rbsp in prop::collection::vec(prop_oneof![3 => Just(0u8), 1 => 1u8..=3, 2 => any::<u8>()], 0..300)) {
        let mut escaped = Vec::new();
        nal::insert_emulation_prevention(&rbsp, &mut escaped);
        // No start-code emulation (00 00 0x, x <= 2) anywhere in the escaped payload.
        prop_assert!(escaped.windows(3).all(|w| !(w[0] == 0 && w[1] == 0 && w[2] <= 2)));
        prop_assert_eq!(nal::remove_emulation_prevention(&escaped).into_owned(), rbsp);
    }

    #[test]
    fn length_prefixed_garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..200), ls in 0u8..6) {
        let data = Bytes::from(data);
        if let Ok(it) = nal::length_prefixed_nalus(&data, ls) {
            let items: Vec<_> = it.collect();
            // At most one error, and only as the last item.
            let errs = items.iter().filter(|r| r.is_err()).count();
            prop_assert!(errs <= 1);
            if errs == 1 { prop_assert!(items.last().unwrap().is_err()); }
        }
        let mut out = BytesMut::new();
        let _ = nal::length_prefixed_to_annexb(&data, ls, &mut out);
        let _ = nal::convert_length_size(&data, ls, 4);
    }
}

#[test]
fn four_byte_start_codes_and_trailing_zeros() {
    let data = Bytes::from_static(&[
        9, 9, 0, 0, 0, 1, 0x67, 0xAA, 0, 0, 0, 0, 0, 1, 0x68, 0, 0, 1, 0x65, 0xBB, 0, 0,
    ]);
    let v: Vec<Bytes> = nal::annexb_nalus(&data).collect();
    assert_eq!(
        v,
        vec![
            Bytes::from_static(&[0x67, 0xAA]),
            Bytes::from_static(&[0x68]),
            Bytes::from_static(&[0x65, 0xBB])
        ]
    );
}

#[test]
fn splitter_enforces_limit_and_resyncs() {
    let mut s = AnnexBSplitter::new(16);
    s.push(&[0, 0, 1]);
    s.push(&[0x65; 40]);
    assert_eq!(s.next_nal(), Err(Error::NalOverLimit { limit: 16 }));
    s.push(&[0, 0, 1, 0x67, 1, 0, 0, 1, 0x68]);
    assert_eq!(
        s.next_nal().unwrap().unwrap(),
        Bytes::from_static(&[0x67, 1])
    );
    assert_eq!(s.finish().unwrap(), Bytes::from_static(&[0x68]));
    assert!(s.finish().is_none());
}

#[test]
fn splitter_bounded_without_start_codes() {
    let mut s = AnnexBSplitter::new(1024);
    for _ in 0..1000 {
        s.push(&[0x42; 1000]);
        assert_eq!(s.next_nal(), Ok(None));
        assert!(s.buffered() <= 2);
    }
}

#[test]
fn truncated_length_prefix_reports_offset() {
    let data = Bytes::from_static(&[0, 0, 0, 2, 0x65, 0x01, 0, 0, 0, 9, 0x41]);
    let v: Vec<_> = nal::length_prefixed_nalus(&data, 4).unwrap().collect();
    assert_eq!(v[0], Ok(Bytes::from_static(&[0x65, 0x01])));
    assert_eq!(
        v[1],
        Err(Error::NalTruncated {
            offset: 6,
            declared: 9,
            available: 5
        })
    );
    assert_eq!(v.len(), 2);
    assert_eq!(
        nal::length_prefixed_nalus(&data, 0).unwrap_err(),
        Error::InvalidLengthSize { length_size: 0 }
    );
}

#[test]
fn same_size_conversion_is_zero_copy() {
    let data = Bytes::from(vec![0, 0, 0, 1, 0x65]);
    let out = nal::convert_length_size(&data, 4, 4).unwrap();
    assert_eq!(out.as_ptr(), data.as_ptr());
}

#[test]
fn emulation_prevention_known_vector() {
    // H.264 7.4.1 example patterns.
    let rbsp = [
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x00,
    ];
    let mut out = Vec::new();
    nal::insert_emulation_prevention(&rbsp, &mut out);
    assert_eq!(out, [0, 0, 3, 0, 0, 3, 1, 0, 0, 3, 2, 0, 0, 3, 3, 0, 0, 3]);
    assert!(matches!(
        nal::remove_emulation_prevention(&[1, 2, 3]),
        std::borrow::Cow::Borrowed(_)
    ));
}

/// The block-wise scan (64 positions at a time) must find a lone start code at every
/// offset, from every starting point, including across block edges and near the end.
#[test]
fn start_code_found_at_every_offset_across_blocks() {
    for len in [3usize, 65, 66, 67, 130, 200] {
        for at in 0..=len - 3 {
            let mut data = vec![0xaau8; len];
            data[at..at + 3].copy_from_slice(&[0, 0, 1]);
            for from in [0, at.saturating_sub(1), at, at + 1] {
                let want = (from <= at).then_some(at);
                assert_eq!(
                    nal::find_start_code(&data, from),
                    want,
                    "len {len} at {at} from {from}"
                );
            }
        }
    }
    // Zero pairs without a 01 (emulation-prevented data) are skipped.
    let mut data = vec![0x55u8; 300];
    for p in (10..280).step_by(37) {
        data[p..p + 3].copy_from_slice(&[0, 0, 3]);
    }
    data[290..293].copy_from_slice(&[0, 0, 1]);
    assert_eq!(nal::find_start_code(&data, 0), Some(290));
    assert_eq!(nal::find_start_code(&data, usize::MAX), None);
}
