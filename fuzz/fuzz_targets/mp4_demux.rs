#![no_main]
//! The MP4 demuxer on arbitrary files: whole-file reads, short reads and seeks never
//! panic and stay within the configured limits.
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use weir_mp4::{DemuxConfig, Demuxer, MemoryDemuxer};

fn config() -> DemuxConfig {
    let mut c = DemuxConfig::default();
    c.max_samples = 1 << 20;
    c.max_fragment_samples = 1 << 16;
    c.max_box_size = 1 << 20;
    c
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let file = Bytes::copy_from_slice(rest);
    if mode & 1 == 0 {
        let Ok(mut d) = MemoryDemuxer::new(file, config()) else { return };
        let mut n = 0;
        while let Ok(Some(_)) = d.next_frame() {
            n += 1;
            if n == 3 {
                let _ = d.seek(Duration::from_millis(u64::from(mode) * 50));
            }
        }
    } else {
        // The sans-IO path, every read answered with at most `cap` bytes.
        let cap = usize::from(mode >> 1) * 13 + 1;
        let mut d = Demuxer::new(config());
        for _ in 0..100_000 {
            while d.poll_frame().is_some() {}
            let Some(req) = d.poll_read() else { break };
            let start = (req.offset.min(file.len() as u64)) as usize;
            let end = start.saturating_add(req.len.min(cap)).min(file.len());
            if d.handle_data(req.offset, file.slice(start..end)).is_err() {
                break;
            }
        }
    }
});
