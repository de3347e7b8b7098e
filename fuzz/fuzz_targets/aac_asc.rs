#![no_main]
//! AudioSpecificConfig parse; whatever parses must re-serialize to bytes that parse to the
//! same serialization (build -> parse identity on arbitrary configs).
use libfuzzer_sys::fuzz_target;
use weir_aac::AudioSpecificConfig;

fuzz_target!(|data: &[u8]| {
    if let Ok(asc) = AudioSpecificConfig::parse(data) {
        let _ = (asc.sample_rate(), asc.channels(), asc.profile_name(), asc.samples_per_frame());
        let bytes = asc.try_to_bytes().expect("a parsed ASC must encode");
        let again = AudioSpecificConfig::parse(&bytes).expect("serialized ASC must parse");
        assert_eq!(again.to_bytes(), bytes);
        let _ = weir_aac::AdtsHeader::for_payload(&asc, data.len());
    }
});
