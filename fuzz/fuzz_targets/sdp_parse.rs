#![no_main]
//! SDP parser (tolerant and strict) plus the typed helpers; re-serialized output must re-parse.
use libfuzzer_sys::fuzz_target;
use weir_sdp::{AacParams, H264Params, H265Params, SessionDescription};

fuzz_target!(|data: &[u8]| {
    for sdp in [SessionDescription::parse(data), SessionDescription::parse_strict(data)].into_iter().flatten() {
        let text = sdp.to_string();
        match SessionDescription::parse(text.as_bytes()) {
            Ok(again) => assert_eq!(again.media.len(), sdp.media.len()),
            // Serializing adds `s=-`/`t=0 0`, so input at the size limit may outgrow it.
            Err(weir_sdp::Error::LimitExceeded { .. }) => {}
            Err(e) => panic!("serialized SDP must re-parse: {e}"),
        }
        let _ = sdp.range();
        for m in &sdp.media {
            let _ = m.framerate();
            let _ = m.control_url(&sdp, "rtsp://h/a");
            for pt in m.payload_types() {
                let _ = m.rtpmap(pt);
                if let Some(Ok(f)) = m.fmtp(pt) {
                    let _ = H264Params::from_fmtp(&f);
                    let _ = H265Params::from_fmtp(&f);
                    let _ = AacParams::from_fmtp(&f);
                }
            }
        }
    }
});
