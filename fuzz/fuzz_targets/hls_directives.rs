#![no_main]
//! weir-hls request side: delivery directives of any query, and the live playlist's answer
//! to them (readiness, part lookup, rendering) never panic.
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use weir_hls::{
    strip_directives, DeliveryDirectives, LiveConfig, LivePlaylist, PartInfo, UriNames,
};

struct Names;
impl UriNames for Names {
    fn map(&self, w: &mut dyn std::fmt::Write, v: u32) -> std::fmt::Result { write!(w, "i{v}") }
    fn segment(&self, w: &mut dyn std::fmt::Write, n: u64) -> std::fmt::Result { write!(w, "s{n}") }
    fn part(&self, w: &mut dyn std::fmt::Write, n: u64) -> std::fmt::Result { write!(w, "p{n}") }
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else { return };
    let Ok(query) = std::str::from_utf8(rest) else { return };
    let _ = strip_directives(query);
    let Ok(d) = DeliveryDirectives::parse(query) else { return };
    let mut live = LivePlaylist::new(LiveConfig::new(1, Duration::from_millis(200), 3));
    for i in 0..u64::from(shape) {
        live.push_part(PartInfo::new(Duration::from_millis(200), i % 5 == 0), i);
        if i % 5 == 4 {
            live.close_segment();
        }
    }
    let _ = live.readiness(&d);
    if let Some(n) = d.msn {
        let _ = live.part(n);
        let _ = live.segment(n);
    }
    let mut out = String::new();
    live.render(&mut out, &Names, d.skip.is_some());
});
