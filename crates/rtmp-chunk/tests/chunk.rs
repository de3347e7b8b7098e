use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use weir_rtmp_chunk::{
    ChunkDecoder, ChunkEncoder, ChunkLimits, Error, MessageHeader, PreparedMessage, RawMessage,
    Type3ExtendedTimestamp, TYPE0_HEADER_MAX,
};

#[derive(Debug, Clone)]
struct Msg {
    csid: u32,
    header: MessageHeader,
    payload: Vec<u8>,
}

fn msgs(max_ts_step: u32) -> impl Strategy<Value = Vec<Msg>> {
    proptest::collection::vec(
        (
            prop_oneof![
                Just(3u32),
                Just(4),
                Just(63),
                Just(64),
                Just(319),
                Just(320),
                Just(65599)
            ],
            0..max_ts_step,
            prop_oneof![Just(8u8), Just(9), Just(18), Just(20)],
            0u32..3,
            prop_oneof![0usize..10, 100usize..300, 1000usize..5000],
            any::<u8>(),
        ),
        1..20,
    )
    .prop_map(|v| {
        let mut ts = std::collections::HashMap::new();
        v.into_iter()
            .map(|(csid, step, type_id, stream_id, len, fill)| {
                let t = ts.entry(csid).or_insert(0u32);
                *t = t.wrapping_add(step);
                let payload = (0..len).map(|i| fill.wrapping_add(i as u8)).collect();
                Msg {
                    csid,
                    header: MessageHeader {
                        timestamp: *t,
                        type_id,
                        stream_id,
                    },
                    payload,
                }
            })
            .collect()
    })
}

/// Decodes `wire` in one piece at `chunk_size`.
fn decode_whole(wire: &[u8], chunk_size: u32) -> Vec<RawMessage> {
    let mut dec = ChunkDecoder::default();
    dec.set_chunk_size(chunk_size).unwrap();
    decode_all(&mut dec, wire, &[wire.len()])
}

fn decode_all(dec: &mut ChunkDecoder, wire: &[u8], pieces: &[usize]) -> Vec<RawMessage> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < wire.len() {
        let step = pieces
            .get(i % pieces.len().max(1))
            .copied()
            .unwrap_or(wire.len())
            .max(1);
        i += 1;
        let end = (pos + step).min(wire.len());
        buf.extend_from_slice(&wire[pos..end]);
        pos = end;
        while let Some(m) = dec.decode(&mut buf).unwrap() {
            out.push(m);
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    out
}

/// Splits one encoded message (no extended timestamps) into its chunks.
fn split_chunks(wire: &[u8], chunk_size: usize, payload_len: usize) -> Vec<Vec<u8>> {
    let basic = |b: u8| match b & 0x3F {
        0 => 2,
        1 => 3,
        _ => 1,
    };
    let fmt = wire[0] >> 6;
    let first_hdr = basic(wire[0]) + [11, 7, 3, 0][fmt as usize];
    let mut chunks = Vec::new();
    let first_len = first_hdr + payload_len.min(chunk_size);
    chunks.push(wire[..first_len].to_vec());
    let mut pos = first_len;
    let mut left = payload_len - payload_len.min(chunk_size);
    while left > 0 {
        let h = basic(wire[pos]);
        let n = left.min(chunk_size);
        chunks.push(wire[pos..pos + h + n].to_vec());
        pos += h + n;
        left -= n;
    }
    assert_eq!(pos, wire.len());
    chunks
}

proptest! {
    #[test]
    fn roundtrip_random_chunk_sizes(ms in msgs(1000), chunk_size in prop_oneof![1u32..16, 100u32..200, Just(4096u32)], pieces in proptest::collection::vec(1usize..700, 1..8)) {
        let mut enc = ChunkEncoder::new();
        let mut wire = BytesMut::new();
        enc.write_set_chunk_size(chunk_size, &mut wire).unwrap();
        for m in &ms {
            enc.write_message(m.csid, m.header, &m.payload, &mut wire).unwrap();
        }
        let mut dec = ChunkDecoder::default();
        let got = decode_all(&mut dec, &wire, &pieces);
        prop_assert_eq!(got.len(), ms.len() + 1);
        for (g, m) in got[1..].iter().zip(&ms) {
            prop_assert_eq!(g.csid, m.csid);
            prop_assert_eq!(g.header, m.header);
            prop_assert_eq!(&g.payload[..], &m.payload[..]);
        }
    }

    #[test]
    fn roundtrip_interleaved_chunk_streams(ms in msgs(1000), chunk_size in 1u32..300, seed in any::<u64>()) {
        // Encode each message separately (encoder state follows per-csid order), split into
        // chunks, then interleave chunks of different chunk streams randomly while keeping
        // the order within each chunk stream.
        let mut enc = ChunkEncoder::new();
        let mut pre = BytesMut::new();
        enc.write_set_chunk_size(chunk_size, &mut pre).unwrap();
        let mut queues: Vec<(u32, std::collections::VecDeque<Vec<u8>>)> = Vec::new();
        for m in &ms {
            let mut w = BytesMut::new();
            enc.write_message(m.csid, m.header, &m.payload, &mut w).unwrap();
            let chunks = split_chunks(&w, chunk_size as usize, m.payload.len());
            match queues.iter_mut().find(|(c, _)| *c == m.csid) {
                Some((_, q)) => q.extend(chunks),
                None => queues.push((m.csid, chunks.into())),
            }
        }
        let mut wire = pre.to_vec();
        let mut s = seed | 1;
        while queues.iter().any(|(_, q)| !q.is_empty()) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            let live: Vec<usize> = (0..queues.len()).filter(|i| !queues[*i].1.is_empty()).collect();
            let i = live[(s % live.len() as u64) as usize];
            wire.extend(queues[i].1.pop_front().unwrap());
        }
        let mut dec = ChunkDecoder::default();
        let got = decode_all(&mut dec, &wire, &[wire.len()]);
        prop_assert_eq!(got.len(), ms.len() + 1);
        for c in ms.iter().map(|m| m.csid).collect::<std::collections::BTreeSet<_>>() {
            let want: Vec<_> = ms.iter().filter(|m| m.csid == c).map(|m| (m.header, m.payload.clone())).collect();
            let have: Vec<_> = got.iter().filter(|g| g.csid == c).map(|g| (g.header, g.payload.to_vec())).collect();
            prop_assert_eq!(have, want);
        }
    }

    #[test]
    fn extended_timestamps_both_type3_forms(ms in msgs(0x0100_0000), chunk_size in 1u32..200, spec_form in any::<bool>()) {
        let mut enc = ChunkEncoder::new();
        enc.set_type3_extended_timestamp(spec_form);
        let mut wire = BytesMut::new();
        enc.write_set_chunk_size(chunk_size, &mut wire).unwrap();
        for m in &ms {
            enc.write_message(m.csid, m.header, &m.payload, &mut wire).unwrap();
        }
        let rules = if spec_form {
            [Type3ExtendedTimestamp::Auto, Type3ExtendedTimestamp::Always]
        } else {
            [Type3ExtendedTimestamp::Auto, Type3ExtendedTimestamp::Never]
        };
        for rule in rules {
            let mut dec = ChunkDecoder::default();
            dec.set_type3_extended_timestamp(rule);
            let got = decode_all(&mut dec, &wire, &[wire.len()]);
            prop_assert_eq!(got.len(), ms.len() + 1);
            for (g, m) in got[1..].iter().zip(&ms) {
                prop_assert_eq!(g.header, m.header);
                prop_assert_eq!(&g.payload[..], &m.payload[..]);
            }
        }
    }

    #[test]
    fn prepared_equals_direct(ms in msgs(0x0100_0000), chunk_size in 1u32..300) {
        // The fan-out path must produce bytes a decoder reads identically to write_message.
        let mut enc = ChunkEncoder::new();
        enc.set_chunk_size(chunk_size).unwrap();
        let mut wire = BytesMut::new();
        for m in &ms {
            let p = PreparedMessage::new(m.csid, chunk_size, m.header.type_id, m.header.timestamp, &m.payload).unwrap();
            enc.write_prepared_header(&p, m.header.timestamp, m.header.stream_id, &mut wire).unwrap();
            wire.extend_from_slice(p.chunks());
        }
        let got = decode_whole(&wire, chunk_size);
        prop_assert_eq!(got.len(), ms.len());
        for (g, m) in got.iter().zip(&ms) {
            prop_assert_eq!(g.header, m.header);
            prop_assert_eq!(&g.payload[..], &m.payload[..]);
        }
    }

    /// A type-0 header written into a stack buffer (a relay's per-player header, no
    /// allocation) is the one written into a `BytesMut`, and decodes with the chunks.
    #[test]
    fn type0_header_into_a_stack_buffer_matches(
        ms in msgs(0x0100_0000),
        stream_id in 0u32..u32::MAX,
        chunk_size in 1u32..600,
    ) {
        let mut wire = BytesMut::new();
        for m in &ms {
            let p = PreparedMessage::new(m.csid, chunk_size, m.header.type_id, m.header.timestamp, &m.payload).unwrap();
            let mut heap = BytesMut::new();
            p.write_type0_header(m.header.timestamp, stream_id, &mut heap).unwrap();
            let mut stack = [0u8; TYPE0_HEADER_MAX];
            let mut room = &mut stack[..];
            p.write_type0_header(m.header.timestamp, stream_id, &mut room).unwrap();
            let len = TYPE0_HEADER_MAX - room.len();
            prop_assert_eq!(&stack[..len], &heap[..]);
            // Too little room is an error, never a panic.
            let mut short = [0u8; TYPE0_HEADER_MAX - 1];
            prop_assert!(p.write_type0_header(m.header.timestamp, stream_id, &mut &mut short[..]).is_err());
            wire.extend_from_slice(&stack[..len]);
            wire.extend_from_slice(p.chunks());
        }
        let got = decode_whole(&wire, chunk_size);
        prop_assert_eq!(got.len(), ms.len());
        for (g, m) in got.iter().zip(&ms) {
            prop_assert_eq!(g.header.timestamp, m.header.timestamp);
            prop_assert_eq!(g.header.stream_id, stream_id);
            prop_assert_eq!(&g.payload[..], &m.payload[..]);
        }
    }

    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut dec = ChunkDecoder::new(ChunkLimits { max_message_size: 1 << 16, max_chunk_streams: 8, max_chunk_size: 1 << 16, max_buffered_bytes: 1 << 18 });
        let mut buf = BytesMut::from(&data[..]);
        for _ in 0..100 {
            match dec.decode(&mut buf) {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
}

/// Shrinking an idle decoder frees its buffers but keeps the headers: a later message
/// whose chunk header leans on the previous one (type 3: same length, type, stream and
/// timestamp delta) still decodes; one still in progress is not disturbed.
#[test]
fn shrinking_keeps_headers_and_messages_in_progress() {
    let mut wire = BytesMut::new();
    // csid 3, type 0: timestamp 100, 10 bytes, type 20, stream 1.
    wire.put_u8(0x03);
    wire.put_slice(&[0, 0, 100, 0, 0, 10, 20, 1, 0, 0, 0]);
    wire.put_slice(&[1; 10]);
    // csid 4, type 0: 200 bytes at chunk size 128 (the first chunk only, for now).
    wire.put_u8(0x04);
    wire.put_slice(&[0, 0, 5, 0, 0, 200, 9, 1, 0, 0, 0]);
    wire.put_slice(&[2; 128]);
    let mut dec = ChunkDecoder::default();
    let mut buf = wire.clone();
    let first = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(first.payload[..], [1; 10]);
    assert!(dec.decode(&mut buf).unwrap().is_none());
    dec.shrink_to_fit();
    // csid 3, type 3 (no header): another 10 bytes; csid 4, type 3: the last 72 bytes.
    let mut more = BytesMut::new();
    more.put_u8(0xC3);
    more.put_slice(&[3; 10]);
    more.put_u8(0xC4);
    more.put_slice(&[4; 72]);
    let second = dec.decode(&mut more).unwrap().unwrap();
    assert_eq!((second.header.type_id, second.header.stream_id), (20, 1));
    assert_eq!(second.payload[..], [3; 10]);
    let third = dec.decode(&mut more).unwrap().unwrap();
    assert_eq!(third.payload.len(), 200);
    assert_eq!(third.payload[..128], [2; 128]);
    assert_eq!(third.payload[128..], [4; 72]);
}

#[test]
fn ffmpeg_style_type3_with_extended_timestamp() {
    // Hand-built per the specification: type 0 with timestamp 0x01000000 (extended), 200-byte
    // body at chunk size 128, continuation repeats the extended timestamp (ffmpeg/librtmp).
    let ts: u32 = 0x0100_0000;
    let mut with = BytesMut::new();
    with.put_u8(0x06); // fmt 0, csid 6
    with.put_slice(&[0xFF, 0xFF, 0xFF, 0x00, 0x00, 200, 9, 1, 0, 0, 0]);
    with.put_u32(ts);
    with.put_slice(&[0xAA; 128]);
    with.put_u8(0xC6);
    with.put_u32(ts);
    with.put_slice(&[0xBB; 72]);
    // The same without the repeated field (seen from some other encoders).
    let mut without = BytesMut::new();
    without.put_slice(&with[..1 + 11 + 4 + 128]);
    without.put_u8(0xC6);
    without.put_slice(&[0xBB; 72]);

    for (wire, rule, ok) in [
        (&with, Type3ExtendedTimestamp::Auto, true),
        (&without, Type3ExtendedTimestamp::Auto, true),
        (&with, Type3ExtendedTimestamp::Always, true),
        (&without, Type3ExtendedTimestamp::Never, true),
        (&with, Type3ExtendedTimestamp::Never, false),
    ] {
        let mut dec = ChunkDecoder::default();
        dec.set_type3_extended_timestamp(rule);
        let mut buf = wire.clone();
        let m = dec.decode(&mut buf).unwrap();
        let good = m.as_ref().is_some_and(|m| {
            m.header.timestamp == ts
                && m.payload.len() == 200
                && m.payload[..128] == [0xAA; 128]
                && m.payload[128..] == [0xBB; 72]
        });
        assert_eq!(good, ok, "rule {rule:?}");
    }
}

#[test]
fn hostile_message_size_is_an_error_without_allocation() {
    let mut dec = ChunkDecoder::default();
    // 16 MB - 1 declared.
    let mut buf = BytesMut::from(&[0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0][..]);
    assert_eq!(
        dec.decode(&mut buf),
        Err(Error::MessageTooLarge {
            csid: 4,
            len: 0xFF_FFFF,
            limit: 8 << 20
        })
    );
    assert_eq!(dec.buffered(), 0);
}

#[test]
fn too_many_chunk_streams_is_an_error() {
    let mut dec = ChunkDecoder::new(ChunkLimits {
        max_chunk_streams: 10,
        ..ChunkLimits::default()
    });
    let mut buf = BytesMut::new();
    for c in 0..1000u32 {
        // 3-byte basic header form, 1-byte message each.
        buf.put_slice(&[
            0x01,
            (c & 0xFF) as u8,
            (c >> 8) as u8,
            0,
            0,
            0,
            0,
            0,
            1,
            9,
            1,
            0,
            0,
            0,
            0x55,
        ]);
    }
    let mut n = 0;
    let err = loop {
        match dec.decode(&mut buf) {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("ran out"),
            Err(e) => break e,
        }
    };
    assert_eq!(n, 10);
    assert!(matches!(err, Error::TooManyChunkStreams { limit: 10, .. }));
}

#[test]
fn chunk_size_limits_and_abort() {
    let mut dec = ChunkDecoder::new(ChunkLimits {
        max_chunk_size: 65536,
        ..ChunkLimits::default()
    });
    let mut buf = BytesMut::from(
        &[
            0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF,
        ][..],
    );
    assert!(matches!(
        dec.decode(&mut buf),
        Err(Error::BadChunkSize {
            size: 0x7FFF_FFFF,
            limit: 65536
        })
    ));
    let mut dec = ChunkDecoder::default();
    let mut buf = BytesMut::from(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0][..]);
    assert!(matches!(
        dec.decode(&mut buf),
        Err(Error::BadChunkSize { size: 0, .. })
    ));

    // Abort: start a 300-byte message on csid 6 (128-byte first chunk), abort it, then a
    // fresh message on csid 6 decodes cleanly.
    let mut dec = ChunkDecoder::default();
    let mut buf = BytesMut::new();
    buf.put_slice(&[0x06, 0, 0, 0, 0, 0x01, 0x2C, 9, 1, 0, 0, 0]);
    buf.put_slice(&[1; 128]);
    buf.put_slice(&[0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 6]);
    buf.put_slice(&[0x06, 0, 0, 10, 0, 0, 3, 9, 1, 0, 0, 0, 7, 7, 7]);
    let abort = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(abort.header.type_id, 2);
    assert_eq!(dec.buffered(), 0);
    let m = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!((m.header.timestamp, &m.payload[..]), (10, &[7u8, 7, 7][..]));
}

#[test]
fn type1_without_previous_header_is_an_error() {
    let mut dec = ChunkDecoder::default();
    let mut buf = BytesMut::from(&[0x44, 0, 0, 0, 0, 0, 1, 9, 0][..]);
    assert_eq!(
        dec.decode(&mut buf),
        Err(Error::MissingPreviousHeader { csid: 4, fmt: 1 })
    );
}

#[test]
fn header_compression_and_zero_copy() {
    let mut enc = ChunkEncoder::new();
    let mut wire = BytesMut::new();
    let h = |ts| MessageHeader {
        timestamp: ts,
        type_id: 8,
        stream_id: 1,
    };
    enc.write_message(4, h(0), &[1; 10], &mut wire).unwrap(); // type 0: 12 + 10
    enc.write_message(4, h(23), &[2; 10], &mut wire).unwrap(); // type 2 (delta changes from "none"): 4 + 10
    enc.write_message(4, h(46), &[3; 10], &mut wire).unwrap(); // type 3: 1 + 10
    enc.write_message(4, h(70), &[4; 11], &mut wire).unwrap(); // type 1: 8 + 11
    assert_eq!(wire.len(), 22 + 14 + 11 + 19);
    assert_eq!(wire[22] >> 6, 2);
    assert_eq!(wire[36] >> 6, 3);
    assert_eq!(wire[47] >> 6, 1);
    let mut dec = ChunkDecoder::default();
    let ptr_range = wire.as_ptr_range();
    let mut buf = wire;
    let mut ts = vec![];
    while let Some(m) = dec.decode(&mut buf).unwrap() {
        // Single-chunk messages are slices of the input buffer, not copies.
        assert!(ptr_range.contains(&m.payload.as_ptr()));
        ts.push(m.header.timestamp);
    }
    assert_eq!(ts, [0, 23, 46, 70]);
    let _ = Bytes::new();
}

proptest! {
    #[test]
    fn vectored_equals_copying(ms in msgs(0x0100_0000), chunk_size in 1u32..5000) {
        let mut a = ChunkEncoder::new();
        let mut b = ChunkEncoder::new();
        a.set_chunk_size(chunk_size).unwrap();
        b.set_chunk_size(chunk_size).unwrap();
        let mut flat = BytesMut::new();
        let mut scratch = BytesMut::new();
        let mut pieces: Vec<Bytes> = Vec::new();
        for m in &ms {
            a.write_message(m.csid, m.header, &m.payload, &mut flat).unwrap();
            let payload = Bytes::from(m.payload.clone());
            b.write_message_vectored(m.csid, m.header, &payload, &mut scratch, &mut pieces).unwrap();
        }
        let joined: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
        prop_assert_eq!(&flat[..], &joined[..]);
    }
}

#[test]
fn unfinished_messages_cannot_add_up() {
    let limits = ChunkLimits {
        max_buffered_bytes: 1000,
        ..ChunkLimits::default()
    };
    let mut dec = ChunkDecoder::new(limits);
    let mut buf = BytesMut::new();
    // Ten chunk streams each start a 1 MB message with one 128-byte chunk.
    for c in 3..13u8 {
        buf.put_slice(&[c, 0, 0, 0, 0x0F, 0x42, 0x40, 9, 1, 0, 0, 0]);
        buf.put_slice(&[0; 128]);
    }
    // One call consumes every chunk; none completes a message, so it must stop on the limit.
    let err = dec.decode(&mut buf).err();
    assert!(
        matches!(err, Some(Error::BufferLimit { limit: 1000, .. })),
        "{err:?}"
    );
    assert!(dec.buffered() <= 1000);
}

/// Found by `extended_timestamps_both_type3_forms`: a message with an extended timestamp
/// whose last type-3 chunk is shorter than 4 bytes, from a sender that does not repeat the
/// field. `Auto` waited for 4 bytes to compare before deciding, so the message stayed
/// undecoded until more input came (none did). Fewer bytes that cannot begin the field
/// now decide it at once.
#[test]
fn auto_decides_on_a_short_last_type3_chunk() {
    let ms = [(1_491_815, vec![]), (16_777_215, vec![0, 1, 2, 3, 4])];
    let mut enc = ChunkEncoder::new();
    enc.set_type3_extended_timestamp(false);
    let mut wire = BytesMut::new();
    enc.write_set_chunk_size(3, &mut wire).unwrap();
    for (timestamp, payload) in &ms {
        let header = MessageHeader {
            timestamp: *timestamp,
            type_id: 8,
            stream_id: 0,
        };
        enc.write_message(319, header, payload, &mut wire).unwrap();
    }
    for rule in [Type3ExtendedTimestamp::Auto, Type3ExtendedTimestamp::Never] {
        let mut dec = ChunkDecoder::default();
        dec.set_type3_extended_timestamp(rule);
        let got = decode_all(&mut dec, &wire, &[wire.len()]);
        assert_eq!(got.len(), 3, "{rule:?}");
        assert_eq!(got[2].header.timestamp, 16_777_215);
        assert_eq!(got[2].payload[..], [0, 1, 2, 3, 4]);
    }
}
