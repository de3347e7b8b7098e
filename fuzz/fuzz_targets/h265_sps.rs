//! VPS, SPS and PPS parsing on arbitrary bytes behind each NAL header: never panics; a
//! parsed SPS has a sane picture size.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut nal = Vec::with_capacity(data.len() + 2);
    nal.extend_from_slice(&[0x42, 0x01]);
    nal.extend_from_slice(data);
    if let Ok(sps) = weir_h265::Sps::parse(&nal) {
        assert!(sps.width() > 0 && sps.height() > 0);
        assert!(sps.width() <= weir_h265::MAX_DIMENSION);
        let _ = sps.fps();
        let _ = sps.max_num_reorder_pics();
    }
    nal[0] = 0x40;
    let _ = weir_h265::Vps::parse(&nal);
    nal[0] = 0x44;
    if let Ok(pps) = weir_h265::Pps::parse(&nal) {
        let _ = pps.parallelism_type();
    }
    let _ = weir_h265::Sps::parse(data);
});
