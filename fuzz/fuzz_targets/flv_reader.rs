#![no_main]
//! The incremental FLV reader: arbitrary bytes in arbitrary chunks, with and without resync.
//! Whatever it reads must not depend on the chunking, and written tags must read back.
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use weir_flv::{FlvReader, PreviousTagSizeCheck, ReaderConfig, Tag};

fn read(data: &[u8], chunk: usize, config: ReaderConfig) -> (Vec<Tag>, bool) {
    let mut reader = FlvReader::with_config(config);
    let mut buf = BytesMut::new();
    let mut tags = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match reader.decode(&mut buf) {
                Ok(Some(t)) => tags.push(t),
                Ok(None) => break,
                Err(_) => return (tags, true),
            }
        }
    }
    (tags, false)
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else { return };
    let config = ReaderConfig::default()
        .resync(flags & 1 != 0)
        .expect_header(flags & 2 == 0)
        .previous_tag_size(if flags & 4 != 0 { PreviousTagSizeCheck::Strict } else { PreviousTagSizeCheck::Lenient })
        .max_tag_size(1 << 16)
        .max_resync_bytes(4096);
    let chunk = usize::from(flags >> 3) + 1;
    let whole = read(data, data.len(), config);
    let split = read(data, chunk, config);
    assert_eq!(whole, split, "chunking changed the result");

    // Re-writing what was read gives a stream that reads back to the same tags.
    let mut out = BytesMut::new();
    for t in &whole.0 {
        t.write(&mut out).expect("tags read fit the format");
    }
    let (again, err) = read(&out, out.len(), ReaderConfig::default().expect_header(false));
    assert!(!err);
    assert_eq!(again, whole.0);
});
