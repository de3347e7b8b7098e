//! avcC parsing on arbitrary bytes; whatever parses must re-serialise and parse back equal.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cfg) = weir_h264::AvcConfig::parse(data) {
        if cfg.validate().is_ok() {
            let again = weir_h264::AvcConfig::parse(&cfg.to_bytes()).expect("re-parse");
            assert_eq!(again.sps, cfg.sps);
            assert_eq!(again.pps, cfg.pps);
            assert_eq!(again.nal_length_size, cfg.nal_length_size);
        }
        let _ = cfg.parsed_sps();
        let _ = cfg.to_annexb();
    }
});
