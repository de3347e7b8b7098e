#![no_main]
use libfuzzer_sys::fuzz_target;
use weir_amf::{amf3, DecodeLimits};

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits { max_depth: 16, max_elements: 4096, max_string_bytes: 1 << 20 };
    let _ = amf3::decode_all_with(data, limits);
    let mut input = data;
    let _ = amf3::decode_with(&mut input, limits);
});
