//! SPS, PPS and slice-header parsing on arbitrary bytes (with and without a matching
//! NAL header): must never panic; a parsed SPS must have a sane picture size.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut nal = Vec::with_capacity(data.len() + 1);
    nal.push(0x67);
    nal.extend_from_slice(data);
    if let Ok(sps) = weir_h264::Sps::parse(&nal) {
        assert!(sps.width() > 0 && sps.height() > 0);
        assert!(sps.width() <= 16 * weir_h264::MAX_MBS_PER_DIMENSION);
        let _ = sps.fps();
        let _ = sps.max_num_reorder_frames();
        nal[0] = 0x68;
        let _ = weir_h264::Pps::parse_with_sps(&nal, &sps);
    }
    nal[0] = 0x68;
    if let Ok(pps) = weir_h264::Pps::parse(&nal) {
        let _ = pps.num_slice_groups;
    }
    let _ = weir_h264::Sps::parse(data);
    let _ = weir_h264::slice_start(data);
});
