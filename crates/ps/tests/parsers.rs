//! Every parser on random and truncated input: an error or a value, never a panic.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_ps::psm::{parse_pack_header, Psm, PsmEntry};
use weir_ps::PsDemuxer;

proptest! {
    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..300) {
        let _ = Psm::parse(&data);
        let _ = parse_pack_header(&data);
        let mut d = PsDemuxer::new();
        for c in data.chunks(chunk) {
            d.push(c);
            while d.poll_event().is_some() {}
        }
        d.frame_end();
        d.flush();
        while d.poll_event().is_some() {}
    }

    /// Random bytes after a valid start code reach the deeper paths.
    #[test]
    fn random_packets(id in 0xB9u8..=0xFF, body in proptest::collection::vec(any::<u8>(), 0..500)) {
        let mut data = vec![0, 0, 1, id];
        data.extend_from_slice(&body);
        let _ = Psm::parse(&data);
        let _ = parse_pack_header(&data);
        let mut d = PsDemuxer::new();
        d.push(&data);
        d.flush();
        while d.poll_event().is_some() {}
    }

    #[test]
    fn truncated_psm(n in 0usize..200, version in 0u8..32) {
        let psm = Psm {
            version,
            current: true,
            info: Bytes::from_static(&[0x40, 2, 1, 2]),
            streams: vec![PsmEntry { stream_type: 0x24, stream_id: 0xE0, descriptors: Bytes::from_static(&[0x0A, 1, 0]) }],
            crc_ok: true,
        };
        let mut out = BytesMut::new();
        psm.write(&mut out);
        let cut = &out[..n.min(out.len())];
        match Psm::parse(cut) {
            Ok(p) => prop_assert_eq!(p, psm),
            Err(_) => prop_assert!(cut.len() < out.len()),
        }
    }
}
