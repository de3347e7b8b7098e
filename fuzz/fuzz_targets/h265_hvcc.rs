//! hvcC parsing on arbitrary bytes (re-serialise and parse back equal), the hvcC builder on
//! the NAL units found, and the H.265 access-unit assembler on the same bytes. The same
//! bytes as a canonical access unit: the hvcC built from its in-band VPS/SPS/PPS must
//! serialise and parse back with the same sets; timing never panics.
#![no_main]
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cfg) = weir_h265::HevcConfig::parse(data) {
        if cfg.validate().is_ok() {
            let again = weir_h265::HevcConfig::parse(&cfg.to_bytes()).expect("re-parse");
            assert_eq!(again, cfg);
        }
        let units: Vec<Bytes> = cfg.arrays.iter().flat_map(|a| a.nalus.iter().cloned()).collect();
        let _ = weir_h265::HevcConfig::from_nal_units(&units);
        let _ = cfg.parsed_sps();
    }
    let timing = weir_h265::video_timing(data);
    assert!(timing.reorder_depth <= weir_media::reorder::MAX_REORDER_DEPTH);
    if let Some(cfg) = weir_h265::HevcConfig::from_access_unit(data) {
        let again = weir_h265::HevcConfig::parse(&cfg.to_bytes()).expect("built hvcC parses");
        assert!(again.vps().eq(cfg.vps()) && again.sps().eq(cfg.sps()) && again.pps().eq(cfg.pps()));
        assert_eq!(again.video_timing(), cfg.video_timing());
    }
    let mut a = weir_h265::AccessUnitAssembler::new();
    for nal in data.split(|&b| b == 0xff) {
        let _ = a.push(nal);
    }
    let _ = a.flush();
});
