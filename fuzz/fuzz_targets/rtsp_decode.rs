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

fuzz_target!(|data: &[u8]| {
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
