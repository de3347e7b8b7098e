//! weir-media's NAL byte-stream layer on arbitrary bytes: the zero-copy Annex B iterator
//! and the incremental splitter (fed in pieces) must agree; Annex B → length-prefixed →
//! Annex B keeps every unit; length-prefixed parsing of garbage and emulation prevention
//! removal/insertion never panic and round-trip.
#![no_main]
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_media::nal;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let stream = Bytes::copy_from_slice(body);
    let units: Vec<Bytes> = nal::annexb_nalus(&stream).collect();

    let mut s = nal::AnnexBSplitter::new(1 << 20);
    let mut split = Vec::new();
    for piece in body.chunks(usize::from(cut).max(1)) {
        s.push(piece);
        while let Some(n) = s.next_nal().expect("under the limit") {
            split.push(n);
        }
    }
    split.extend(s.finish());
    assert_eq!(split, units);

    for size in [1u8, 2, 4] {
        let mut lp = BytesMut::new();
        if nal::annexb_to_length_prefixed(&stream, size, &mut lp).is_ok() {
            let lp = lp.freeze();
            let listed: Vec<Bytes> = nal::length_prefixed_nalus(&lp, size)
                .expect("valid size")
                .collect::<Result<_, _>>()
                .expect("well-formed");
            assert_eq!(listed, units);
            let mut back = BytesMut::new();
            nal::length_prefixed_to_annexb(&lp, size, &mut back).expect("well-formed");
            let again: Vec<Bytes> = nal::annexb_nalus(&back.freeze()).collect();
            assert_eq!(again, units);
            let _ = nal::convert_length_size(&lp, size, 4);
        }
    }

    let garbage = Bytes::copy_from_slice(body);
    for size in 0u8..6 {
        if let Ok(it) = nal::length_prefixed_nalus(&garbage, size) {
            for u in it {
                let _ = u;
            }
        }
        let mut out = BytesMut::new();
        let _ = nal::length_prefixed_to_annexb(body, size, &mut out);
    }

    let rbsp = nal::remove_emulation_prevention(body);
    let mut escaped = Vec::new();
    nal::insert_emulation_prevention(body, &mut escaped);
    assert_eq!(&nal::remove_emulation_prevention(&escaped)[..], body);
    let _ = rbsp;
});
