#![no_main]
//! The MP4 box layer on arbitrary bytes: headers and nested children never panic.
use libfuzzer_sys::fuzz_target;
use weir_mp4::boxes::{BoxHeader, Children};

fn walk(data: &[u8], base: u64, depth: u32) {
    if depth > 16 {
        return;
    }
    for child in Children::new(data, base) {
        let Ok(child) = child else { return };
        let _ = BoxHeader::parse(child.body, child.body_offset);
        // Full boxes hide their children behind 4 bytes of version/flags; try both.
        walk(child.body, child.body_offset, depth + 1);
        if let Some(rest) = child.body.get(4..) {
            walk(rest, child.body_offset + 4, depth + 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = BoxHeader::parse(data, 0);
    walk(data, 0, 0);
});
