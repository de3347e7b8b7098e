#![no_main]
//! weir-hls media playlist parser: any bytes; what parses writes back out and re-parses to
//! the same playlist.
use libfuzzer_sys::fuzz_target;
use weir_hls::MediaPlaylist;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = MediaPlaylist::parse(text) {
        let _ = p.map_of(p.segments.len().saturating_sub(1));
        let _ = p.msn_of(p.segments.len());
        let out = p.to_string();
        match MediaPlaylist::parse(&out) {
            Ok(again) => {
                assert_eq!(again.segments.len(), p.segments.len());
                assert_eq!(again.media_sequence, p.media_sequence);
            }
            Err(e) => panic!("written playlist must re-parse: {e}\n{out}"),
        }
    }
});
