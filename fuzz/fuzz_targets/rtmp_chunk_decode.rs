#![no_main]
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use weir_amf::DecodeLimits;
use weir_rtmp_chunk::{ChunkDecoder, ChunkLimits, Message, Type3ExtendedTimestamp};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let limits = ChunkLimits { max_message_size: 1 << 20, max_chunk_streams: 16, max_chunk_size: 1 << 20, max_buffered_bytes: 1 << 22 };
    let mut dec = ChunkDecoder::new(limits);
    dec.set_type3_extended_timestamp(match mode % 3 {
        0 => Type3ExtendedTimestamp::Auto,
        1 => Type3ExtendedTimestamp::Always,
        _ => Type3ExtendedTimestamp::Never,
    });
    // Feed in pieces whose size comes from the mode byte, to exercise partial chunks.
    let step = usize::from(mode / 3).max(1);
    let mut buf = BytesMut::new();
    for piece in data.chunks(step) {
        buf.extend_from_slice(piece);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(raw)) => {
                    let _ = Message::decode(&raw, DecodeLimits::default());
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
