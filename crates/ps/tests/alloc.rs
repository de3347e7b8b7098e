//! The demuxer does not allocate per packet: RTP-sized pieces of one shared receive buffer
//! (as the GB28181 ingest hands them over) cost an allocation per 16 KiB block and about one
//! per delivered frame, not one per piece.

use bytes::{Bytes, BytesMut};
use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_ps::{Event, PsDemuxer, PsMuxer};

#[global_allocator]
static GLOBAL: weir_testutil::alloc::Counting = weir_testutil::alloc::Counting;

fn allocs() -> usize {
    weir_testutil::alloc::count()
}

/// 200 frames of 25 fps H.264 (keyframes 30 KB, others 4–8 KB) muxed by weir-ps, and where
/// each frame's bytes end.
fn program_stream() -> (Bytes, Vec<usize>) {
    let tracks = [TrackInfo::new(TrackId(0), Codec::H264, 90_000)];
    let mut m = PsMuxer::new(&tracks, Default::default()).unwrap();
    let mut ps = BytesMut::new();
    let mut ends = Vec::new();
    for i in 0..200i64 {
        let key = i % 50 == 0;
        let size = if key {
            30_000
        } else {
            4_000 + (i as usize * 37) % 4_000
        };
        let mut nal = vec![if key { 0x65 } else { 0x41 }, if key { 0xB8 } else { 0xE0 }];
        nal.extend((0..size).map(|j| (j % 251 + 1) as u8));
        let mut data = BytesMut::new();
        data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        data.extend_from_slice(&nal);
        let t = Timestamp::new(i * 3600, Timebase::MPEG);
        let f = Frame::new(TrackId(0), t, t, data.freeze()).with_keyframe(key);
        m.write_frame(&f, &mut ps).unwrap();
        ends.push(ps.len());
    }
    (ps.freeze(), ends)
}

#[test]
fn rtp_sized_pieces_of_a_shared_buffer_are_not_copied_one_allocation_each() {
    let (ps, ends) = program_stream();
    // RTP-sized pieces, each frame's bytes on their own (as a device packetizes them), all
    // slices of one shared buffer (as the UDP receive path makes them).
    let mut pieces = Vec::new();
    let mut from = 0;
    for end in &ends {
        while from < *end {
            let to = (from + 1400).min(*end);
            pieces.push(ps.slice(from..to));
            from = to;
        }
    }
    let mut d = PsDemuxer::new();
    let mut got = 0;
    // The first tenth warms the demuxer up (its tables, the event queue).
    let warm = pieces.len() / 10;
    let (mut start, mut counted) = (0, 0);
    for (i, piece) in pieces.iter().enumerate() {
        if i == warm {
            start = allocs();
            counted = got;
        }
        d.push_bytes(piece.clone());
        while let Some(e) = d.poll_event() {
            if matches!(e, Event::Frame(_)) {
                got += 1;
            }
        }
    }
    let spent = allocs() - start;
    let measured = pieces.len() - warm;
    let frames = got - counted;
    d.flush();
    while let Some(e) = d.poll_event() {
        if matches!(e, Event::Frame(_)) {
            got += 1;
        }
    }
    assert_eq!(got, ends.len(), "every frame comes back");
    // Before: a piece arriving with nothing buffered was copied into an allocation of its
    // own size, which the next pieces grew again — 1.3 allocations per piece here.
    assert!(
        spent <= frames * 2 + measured / 8,
        "{spent} allocations for {measured} pieces and {frames} frames"
    );
}
