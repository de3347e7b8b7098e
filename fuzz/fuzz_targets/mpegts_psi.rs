#![no_main]
//! PSI section parser and reassembler: sections, PAT and PMT from arbitrary bytes.
use libfuzzer_sys::fuzz_target;
use weir_mpegts::psi::{parse_section, Pat, Pmt, SectionAssembler};

fn tables(raw: &[u8]) {
    if let Ok((s, n)) = parse_section(raw) {
        assert!(n <= raw.len());
        let _ = Pat::from_section(&s);
        if let Ok(pmt) = Pmt::from_section(&s) {
            for st in &pmt.streams {
                for _ in st.descriptors() {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    tables(data);
    // The same bytes as a sequence of 184-byte packet payloads, every other one a unit start.
    let mut a = SectionAssembler::new();
    for (i, p) in data.chunks(184).enumerate() {
        a.push(i % 2 == 0, p, tables);
    }
});
