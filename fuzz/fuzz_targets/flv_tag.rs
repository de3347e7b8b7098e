#![no_main]
//! Tag body → Frame conversion (FlvDemuxer) and the codec header parsers, on arbitrary
//! bodies: no panics; headers that parse re-serialise to the bytes they came from.
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_flv::{AudioTagHeader, FlvDemuxer, TagType, VideoTagHeader};

fuzz_target!(|input: &[u8]| {
    let mut demux = FlvDemuxer::new();
    // Split the input into a few tag bodies of different types, so sequence headers and
    // frames meet each other.
    for (i, body) in input.split(|&b| b == 0xFE).enumerate().take(16) {
        let ty = match i % 3 {
            0 => TagType::Video,
            1 => TagType::Audio,
            _ => TagType::Script,
        };
        let _ = demux.push(ty, (i as u32).wrapping_mul(0x1234_5678), &Bytes::copy_from_slice(body));
        while demux.poll_event().is_some() {}
        if let Ok((h, n)) = VideoTagHeader::parse(body) {
            assert!(n <= body.len());
            let (again, m) = VideoTagHeader::parse(&h.to_bytes()).expect("own header parses");
            assert_eq!(again, h);
            assert_eq!(m, h.to_bytes().len());
        }
        if let Ok((h, n)) = AudioTagHeader::parse(body) {
            assert!(n <= body.len());
            let (again, _) = AudioTagHeader::parse(&h.to_bytes()).expect("own header parses");
            assert_eq!(again, h);
        }
    }
});
