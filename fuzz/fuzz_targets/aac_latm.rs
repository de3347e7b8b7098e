#![no_main]
//! LATM/LOAS: StreamMuxConfig parse (re-serialization must re-parse identically),
//! AudioMuxElement decode with and without muxConfigPresent, and the LOAS splitter.
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_aac::latm::{LatmDecoder, LoasReader, StreamMuxConfig};
use weir_aac::AudioSpecificConfig;

fuzz_target!(|data: &[u8]| {
    if let Ok(smc) = StreamMuxConfig::parse(data) {
        let bytes = smc.try_to_bytes().expect("a parsed StreamMuxConfig must encode");
        let again = StreamMuxConfig::parse(&bytes).expect("serialized StreamMuxConfig must parse");
        assert_eq!(again.try_to_bytes().unwrap(), bytes);
    }
    let b = Bytes::copy_from_slice(data);
    let mut dec = LatmDecoder::new();
    let _ = dec.decode(&b, true);
    if let Ok(asc) = AudioSpecificConfig::lc(48000, 2) {
        let mut dec = LatmDecoder::with_config(StreamMuxConfig::single(asc));
        let _ = dec.decode(&b, false);
    }
    let mut loas = LoasReader::new();
    loas.push(data);
    let mut dec = LatmDecoder::new();
    while let Some(el) = loas.pop() {
        let _ = dec.decode(&el, true);
    }
});
