#![no_main]
use libfuzzer_sys::fuzz_target;
use weir_amf::{amf0, CommandMessage, DecodeLimits};

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits { max_depth: 16, max_elements: 4096, max_string_bytes: 1 << 20 };
    if let Ok(values) = amf0::decode_all_with(data, limits) {
        // Whatever decodes must re-encode and decode to the same values (NaN aside).
        let mut out = bytes::BytesMut::new();
        let text = format!("{values:?}");
        // AMF3 cyclic references are positional and cannot survive inline re-encoding.
        if amf0::encode_all(&values, &mut out).is_ok() && !text.contains("CyclicReference") {
            let again = amf0::decode_all_with(&out, limits).expect("re-decode of our own encoding");
            assert_eq!(text, format!("{again:?}"));
        }
    }
    let _ = CommandMessage::parse_with(data, limits);
    let _ = CommandMessage::parse_amf3_with(data, limits);
});
