#![no_main]
//! TS demuxer on arbitrary bytes in arbitrary pieces: never panics, bounded memory.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1) * 7;
    let mut d = weir_mpegts::TsDemuxer::new();
    for c in rest.chunks(chunk) {
        d.push(c);
        while d.poll_event().is_some() {}
    }
    d.flush();
    while d.poll_event().is_some() {}
});
