#![no_main]
//! ADTS: header parse, the zero-copy iterators, raw block splitting and the incremental
//! reader (fed in two pieces) must agree and never panic.
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_aac::{adts_frames, adts_frames_ref, AdtsHeader, AdtsReader};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = AdtsHeader::parse(data) {
        let mut out = BytesMut::new();
        h.write(&mut out);
        assert_eq!(AdtsHeader::parse(&out).unwrap(), h);
        let _ = h.to_config().to_bytes();
    }
    let b = Bytes::copy_from_slice(data);
    let owned: Vec<_> = adts_frames(&b).collect();
    let borrowed: Vec<_> = adts_frames_ref(data).collect();
    assert_eq!(owned.len(), borrowed.len());
    if let Ok(Some((pce, rest))) = weir_aac::split_pce(&b) {
        let el = weir_aac::pce_element(&pce).expect("parsed PCE must encode");
        assert_eq!(el.len() + rest.len(), b.len());
    }
    for (h, p) in owned.into_iter().flatten() {
        let _ = h.config_and_payload(&p);
        if let Ok(blocks) = h.split_raw_blocks(&p) {
            assert!(blocks.count() >= 1);
        }
    }
    let split = data.first().map_or(0, |&x| usize::from(x)).min(data.len());
    let mut r = AdtsReader::new();
    r.push(&data[..split]);
    let mut copied = 0;
    while r.pop().is_some() {
        copied += 1;
    }
    r.push(&data[split..]);
    while let Some((h, p)) = r.pop() {
        assert_eq!(p.len(), h.payload_len());
        copied += 1;
    }
    // The zero-copy path finds the same frames.
    let mut z = AdtsReader::new();
    z.push_bytes(b.slice(..split));
    let mut zero = 0;
    while z.pop().is_some() {
        zero += 1;
    }
    z.push_bytes(b.slice(split..));
    while z.pop().is_some() {
        zero += 1;
    }
    assert_eq!(zero, copied);
    assert_eq!(z.skipped_bytes(), r.skipped_bytes());
});
