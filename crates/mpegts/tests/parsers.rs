//! Every parser on random and truncated input: an error or a value, never a panic.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_media::Codec;
use weir_mpegts::packet::parse_packet;
use weir_mpegts::pes::{parse_pes_header, write_pes_header};
use weir_mpegts::psi::{parse_section, Pat, PatEntry, Pmt, PmtStream, SectionAssembler};
use weir_mpegts::{infer_codec, AuSplitter};

proptest! {
    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_packet(&data);
        if let Ok((s, n)) = parse_section(&data) {
            prop_assert!(n <= data.len());
            let _ = Pat::from_section(&s);
            let _ = Pmt::from_section(&s);
        }
        if let Ok(h) = parse_pes_header(&data) {
            prop_assert!(h.header_len <= data.len().max(h.header_len));
        }
        let _ = infer_codec(true, &data);
        let _ = infer_codec(false, &data);
        let mut a = SectionAssembler::new();
        for (i, c) in data.chunks(184).enumerate() {
            a.push(i % 3 == 0, c, |s| { let _ = parse_section(s); });
        }
        for codec in [Codec::H264, Codec::H265] {
            let mut sp = AuSplitter::new(codec, 1000);
            sp.push(&data, Some(0), None);
            while let Ok(Some(_)) = sp.next_au() {}
            let _ = sp.flush();
        }
    }

    #[test]
    fn truncated_tables_and_headers(n in 0usize..400, version in 0u8..32, pts in any::<u64>()) {
        let mut sec = BytesMut::new();
        Pmt {
            program_number: 1,
            pcr_pid: 0x100,
            program_info: Bytes::from_static(&[5, 4, b'H', b'D', b'M', b'V']),
            streams: (0..10).map(|i| PmtStream { stream_type: 0x1B, pid: 0x100 + i, descriptors: Bytes::from_static(&[0x0A, 4, b'e', b'n', b'g', 0]) }).collect(),
        }
        .write_section(version, &mut sec);
        let cut = &sec[..n.min(sec.len())];
        match parse_section(cut) {
            Ok((s, _)) => { prop_assert_eq!(cut.len(), sec.len()); prop_assert_eq!(Pmt::from_section(&s).unwrap().streams.len(), 10); }
            Err(_) => prop_assert!(cut.len() < sec.len()),
        }
        let mut pat = BytesMut::new();
        Pat { transport_stream_id: 9, programs: vec![PatEntry { program_number: 1, pid: 0x1000 }] }.write_section(version, &mut pat);
        prop_assert_eq!(Pat::from_section(&parse_section(&pat).unwrap().0).unwrap().transport_stream_id, 9);
        let mut pes = BytesMut::new();
        write_pes_header(&mut pes, 0xE0, Some(pts), Some(pts / 2), 10);
        let h = parse_pes_header(&pes).unwrap();
        prop_assert_eq!(h.pts, Some(pts & ((1 << 33) - 1)));
        for k in 0..pes.len() {
            prop_assert!(parse_pes_header(&pes[..k]).is_err());
        }
    }
}
