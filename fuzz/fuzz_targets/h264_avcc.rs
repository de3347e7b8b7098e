//! avcC parsing on arbitrary bytes; whatever parses must re-serialise and parse back equal.
//! The same bytes as a canonical access unit: the avcC built from its in-band parameter
//! sets must serialise and parse back with the same sets; timing never panics.
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
    let timing = weir_h264::video_timing(data);
    assert!(timing.reorder_depth <= weir_media::reorder::MAX_REORDER_DEPTH);
    if let Some(cfg) = weir_h264::AvcConfig::from_access_unit(data) {
        let again = weir_h264::AvcConfig::parse(&cfg.to_bytes()).expect("built avcC parses");
        assert_eq!((&again.sps, &again.pps), (&cfg.sps, &cfg.pps));
        assert_eq!(again.video_timing(), cfg.video_timing());
    }
});
