#![no_main]
//! PS demuxer on arbitrary bytes in arbitrary pieces: never panics, bounded memory.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1) * 5;
    let mut d = weir_ps::PsDemuxer::new();
    for c in rest.chunks(chunk) {
        d.push(c);
        while d.poll_event().is_some() {}
    }
    d.flush();
    while d.poll_event().is_some() {}
});
