#![no_main]
//! MPEG audio frame headers: whatever parses must re-serialize to the bytes it came from,
//! and its derived values (frame length, samples, rates) must be computable without panic;
//! `find_header` must agree with `parse` at the offset it reports.
use libfuzzer_sys::fuzz_target;
use weir_aac::mpa::{find_header, MpaHeader, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = MpaHeader::parse(data) {
        assert_eq!(&h.to_bytes()[..], &data[..HEADER_LEN]);
        let _ = (h.bitrate(), h.sample_rate(), h.channels(), h.samples_per_frame());
        if let Some(len) = h.frame_len() {
            assert!(len >= HEADER_LEN);
        }
    }
    if let Some((at, h)) = find_header(data) {
        assert_eq!(MpaHeader::parse(&data[at..]).ok(), Some(h));
    }
});
