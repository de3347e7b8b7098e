#![no_main]
//! RTSP stream decoder (messages + `$` interleaved frames): whole input, and the same input
//! split at an arbitrary point, must decode to the same items.
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use weir_rtsp_proto::{Decoder, Item, Limits};

fn run(chunks: &[&[u8]]) -> (Vec<Item>, bool) {
    let mut dec = Decoder::new(Limits { max_header_bytes: 4096, max_headers: 32, max_body: 8192 });
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(i)) => items.push(i),
                Ok(None) => break,
                Err(_) => return (items, true),
            }
        }
    }
    (items, false)
}

/// Resync mode (what clients use against cameras that put garbage between interleaved
/// frames): never an error from garbage alone, never a lost byte — everything fed is either
/// consumed (items, blank lines, skipped garbage) or still buffered.
fn resync(data: &[u8], step: usize, channels: u8) {
    let mut dec = Decoder::new(Limits { max_header_bytes: 4096, max_headers: 32, max_body: 8192 });
    dec.set_resync(true);
    for c in 0..(channels % 4) {
        dec.add_channel(c * 2);
        dec.add_channel(c * 2 + 1);
    }
    let mut buf = BytesMut::new();
    let mut fed = 0u64;
    for c in data.chunks(step.max(1)) {
        buf.extend_from_slice(c);
        fed += c.len() as u64;
        loop {
            let r = dec.decode(&mut buf);
            assert_eq!(dec.position() + buf.len() as u64, fed, "bytes lost");
            assert!(dec.item_start() <= dec.position());
            match r {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    assert!(dec.skipped_bytes() <= fed);
}

fuzz_target!(|data: &[u8]| {
    if let Some((&ctl, rest)) = data.split_first() {
        resync(rest, usize::from(ctl >> 2), ctl);
    }
    let (whole, whole_err) = run(&[data]);
    if let Some(&cut) = data.first() {
        let cut = usize::from(cut) % data.len();
        let (a, b) = data.split_at(cut);
        let (split, split_err) = run(&[a, b]);
        if !whole_err && !split_err {
            assert_eq!(whole, split);
        }
    }
    // Re-encoding a decoded message yields something that decodes to the same message.
    for item in whole {
        if let Item::Message(m) = item {
            let mut out = BytesMut::new();
            m.encode(&mut out);
            let mut dec = Decoder::default();
            if let Ok(Some(Item::Message(again))) = dec.decode(&mut out) {
                assert_eq!(again.headers().cseq(), m.headers().cseq());
            }
        }
    }
});
