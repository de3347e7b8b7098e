//! The access-unit assembler over arbitrary NAL streams: the input is split into NAL
//! units by a length byte each (so slice headers, SPS and PPS in any order reach it), and
//! also fed as Annex B in odd pieces. Must never panic; with default limits no byte is lost.
#![no_main]
use libfuzzer_sys::fuzz_target;
use weir_h264::{AccessUnitAssembler, AnnexBAccessUnits};

fuzz_target!(|data: &[u8]| {
    let mut a = AccessUnitAssembler::new();
    let mut rest = data;
    let mut pushed = 0usize;
    let mut out = 0usize;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (nal, tail) = tail.split_at(n);
        if !nal.is_empty() {
            pushed += 4 + nal.len();
        }
        if let Some(au) = a.push(nal).expect("no limit can be hit") {
            out += au.data.len();
        }
        rest = tail;
    }
    if let Some(au) = a.flush() {
        out += au.data.len();
    }
    assert_eq!(pushed, out);

    let mut r = AnnexBAccessUnits::new();
    for piece in data.chunks(13) {
        r.push(piece);
        while let Ok(Some(_)) = r.poll() {}
    }
    r.finish();
    while let Ok(Some(_)) = r.poll() {}
});
