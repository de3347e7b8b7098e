//! The interleaved hot path allocates nothing per frame (amortized): decoding frames from a
//! buffer, and queueing frames with `ServerSession::send_interleaved`.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use weir_rtsp_proto::{Decoder, Item, ServerConfig, ServerSession};

#[global_allocator]
static GLOBAL: weir_testutil::alloc::Counting = weir_testutil::alloc::Counting;

const FRAMES: usize = 2000;

#[test]
fn interleaved_decode_and_send_do_not_allocate_per_frame() {
    let mut wire = BytesMut::with_capacity(FRAMES * 1404);
    for i in 0..FRAMES {
        wire.extend_from_slice(&[b'$', (i % 2) as u8, 0x05, 0x78]);
        wire.extend_from_slice(&[0x80; 1400]);
    }
    let mut dec = Decoder::default();
    let before = weir_testutil::alloc::count();
    let mut n = 0;
    while let Some(Item::Interleaved(f)) = dec.decode(&mut wire).unwrap() {
        n += 1;
        drop(f);
    }
    let decode_allocs = weir_testutil::alloc::count() - before;
    assert_eq!(n, FRAMES);
    assert!(
        decode_allocs <= 2,
        "{decode_allocs} allocations for {FRAMES} frames"
    );

    let mut n = 0u64;
    let mut s = ServerSession::new(
        ServerConfig::default(),
        Box::new(move || {
            n += 1;
            n
        }),
        Instant::now(),
    );
    let payload = Bytes::from(vec![0x80u8; 1400]);
    let before = weir_testutil::alloc::count();
    for i in 0..FRAMES {
        s.send_interleaved((i % 2) as u8, payload.clone()).unwrap();
        while let Some(b) = s.poll_transmit() {
            drop(b);
        }
    }
    let send_allocs = weir_testutil::alloc::count() - before;
    eprintln!("allocations: decode {decode_allocs}, send {send_allocs} for {FRAMES} frames");
    assert!(
        send_allocs <= FRAMES / 100,
        "{send_allocs} allocations for {FRAMES} frames"
    );
}
