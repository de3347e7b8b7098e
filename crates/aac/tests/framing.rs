//! ADTS multi-block frames, resync, limits, and LATM features ffmpeg does not produce
//! (chunked streams, multiple programs, frameLengthType 1).

use bytes::{BufMut, Bytes, BytesMut};
use weir_aac::latm::{write_audio_mux_element, LatmDecoder, LatmLayer, StreamMuxConfig};
use weir_aac::{adts_frames, AdtsHeader, AdtsReader, AudioSpecificConfig, Error};
use weir_media::bits::BitWriter;

/// Builds a CRC-protected ADTS frame holding `blocks` (each followed by a 2-byte CRC), with
/// raw_data_block_position measured from the end of the header, as fdk-aac does.
fn multi_block_frame(blocks: &[&[u8]]) -> Bytes {
    let asc = AudioSpecificConfig::lc(48000, 2).unwrap();
    let mut h = AdtsHeader::for_payload(&asc, 0).unwrap();
    h.protection_absent = false;
    h.number_of_raw_data_blocks = (blocks.len() - 1) as u8;
    let mut pos = 0u16;
    let mut body = BytesMut::new();
    for (i, b) in blocks.iter().enumerate() {
        if i > 0 {
            h.raw_data_block_positions[i - 1] = pos;
        }
        body.put_slice(b);
        body.put_u16(0xC0C0 + i as u16);
        pos += b.len() as u16 + 2;
    }
    h.crc = Some(0xBEEF);
    h.frame_length = (h.header_len() + body.len()) as u16;
    let mut out = BytesMut::new();
    h.write(&mut out);
    out.put_slice(&body);
    out.freeze()
}

#[test]
fn multiple_raw_blocks_with_crc_are_split() {
    let blocks: [&[u8]; 3] = [b"first", b"second block", b"3"];
    let frame = multi_block_frame(&blocks);
    let (h, payload) = adts_frames(&frame).next().unwrap().unwrap();
    assert_eq!(h.header_len(), 7 + 2 * 2 + 2);
    assert_eq!(h.raw_blocks(), 3);
    assert_eq!(h.crc, Some(0xBEEF));
    let split: Vec<Bytes> = h.split_raw_blocks(&payload).unwrap().collect();
    assert_eq!(
        split,
        blocks
            .iter()
            .map(|b| Bytes::copy_from_slice(b))
            .collect::<Vec<_>>()
    );
}

#[test]
fn single_block_with_crc() {
    let frame = multi_block_frame(&[b"only"]);
    let (h, payload) = adts_frames(&frame).next().unwrap().unwrap();
    assert_eq!(h.header_len(), 9);
    // With one block and CRC the header CRC precedes the block; no per-block CRC.
    assert_eq!(&payload[..4], b"only");
}

#[test]
fn multiple_raw_blocks_without_crc_are_reported() {
    let asc = AudioSpecificConfig::lc(44100, 2).unwrap();
    let mut h = AdtsHeader::for_payload(&asc, 10).unwrap();
    h.number_of_raw_data_blocks = 1;
    let mut out = BytesMut::new();
    h.write(&mut out);
    out.put_slice(&[0u8; 10]);
    let out = out.freeze();
    let (h, payload) = adts_frames(&out).next().unwrap().unwrap();
    assert_eq!(
        payload.len(),
        10,
        "the whole payload is still returned as one unit"
    );
    assert_eq!(
        h.split_raw_blocks(&payload).unwrap_err(),
        Error::UnsplittableRawBlocks { blocks: 2 }
    );
}

#[test]
fn bad_block_positions_are_errors() {
    let blocks: [&[u8]; 2] = [b"ab", b"cd"];
    let frame = multi_block_frame(&blocks);
    let mut bytes = frame.to_vec();
    bytes[7] = 0xFF; // raw_data_block_position[1] far past the end
    let bytes = Bytes::from(bytes);
    let (h, payload) = adts_frames(&bytes).next().unwrap().unwrap();
    assert!(h.split_raw_blocks(&payload).is_err());
}

#[test]
fn all_sample_rate_indices() {
    for (i, rate) in weir_aac::asc::SAMPLE_RATES.iter().enumerate() {
        let asc = AudioSpecificConfig::lc(*rate, 1).unwrap();
        assert_eq!(usize::from(asc.sampling_frequency_index), i);
        let h = AdtsHeader::for_payload(&asc, 1).unwrap();
        let mut out = BytesMut::new();
        h.write(&mut out);
        let p = AdtsHeader::parse(&out).unwrap();
        assert_eq!(p.sample_rate(), *rate);
        assert_eq!(p.to_config(), asc);
    }
    // Reserved indices 13, 14 and the forbidden 15 are rejected in ADTS.
    for sfi in 13u8..16 {
        let b = [0xFF, 0xF1, (1 << 6) | (sfi << 2), 0x80, 0x01, 0x1F, 0xFC];
        assert!(matches!(
            AdtsHeader::parse(&b),
            Err(Error::InvalidField {
                field: "sampling_frequency_index",
                ..
            })
        ));
    }
}

#[test]
fn adts_build_limits() {
    let asc = AudioSpecificConfig::lc(44100, 2).unwrap();
    assert!(matches!(
        AdtsHeader::for_payload(&asc, 8185),
        Err(Error::TooLong { .. })
    ));
    assert!(AdtsHeader::for_payload(&asc, 8184).is_ok());
    let he = AudioSpecificConfig::he_aac(44100, 2, false).unwrap();
    // HE-AAC goes into ADTS as its LC core at the core rate (implicit SBR).
    let h = AdtsHeader::for_payload(&he, 3).unwrap();
    assert_eq!((h.profile, h.sample_rate()), (1, 22050));
    let mut odd = AudioSpecificConfig::lc(50000, 2).unwrap();
    assert!(matches!(
        AdtsHeader::for_payload(&odd, 3),
        Err(Error::NotAdtsCompatible { .. })
    ));
    odd = AudioSpecificConfig::lc(48000, 2).unwrap();
    odd.object_type = 5;
    assert!(AdtsHeader::for_payload(&odd, 3).is_err());
}

#[test]
fn reader_resyncs_over_garbage_and_false_syncs() {
    let asc = AudioSpecificConfig::lc(48000, 2).unwrap();
    let mut s = BytesMut::new();
    s.put_slice(&[0xFF, 0xF1, 0xFF, 0xFF, 0x00]); // a false sync with a reserved index
    weir_aac::raw_to_adts(&asc, b"one", &mut s).unwrap();
    s.put_slice(b"garbage");
    weir_aac::raw_to_adts(&asc, b"two", &mut s).unwrap();
    let mut r = AdtsReader::new();
    let mut got = Vec::new();
    for b in s.iter() {
        r.push(&[*b]);
        while let Some((_, p)) = r.pop() {
            got.push(p);
        }
    }
    assert_eq!(
        got,
        vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")]
    );
    assert_eq!(r.skipped_bytes(), 5 + 7);
    assert_eq!(r.frames(), 2);
}

#[test]
fn truncated_iterator_reports_error() {
    let asc = AudioSpecificConfig::lc(48000, 2).unwrap();
    let mut s = BytesMut::new();
    weir_aac::raw_to_adts(&asc, b"hello", &mut s).unwrap();
    weir_aac::raw_to_adts(&asc, b"world", &mut s).unwrap();
    let s = s.freeze().slice(..20);
    let items: Vec<_> = adts_frames(&s).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert!(matches!(
        items[1],
        Err(Error::Truncated {
            what: "ADTS frame",
            ..
        })
    ));
}

#[test]
fn latm_chunked_streams_reassemble() {
    // Two programs; allStreamsSameTimeFraming = 0; stream 1 is split over two chunks.
    let a = AudioSpecificConfig::lc(48000, 2).unwrap();
    let b = AudioSpecificConfig::lc(24000, 1).unwrap();
    let smc = StreamMuxConfig {
        audio_mux_version: 0,
        tara_buffer_fullness: 0,
        all_streams_same_time_framing: false,
        num_sub_frames: 0,
        programs: vec![
            vec![LatmLayer::new(a.clone())],
            vec![LatmLayer::new(b.clone())],
        ],
        other_data_len_bits: None,
        crc_check_sum: None,
    };
    let parsed = StreamMuxConfig::parse(&smc.to_bytes()).unwrap();
    assert_eq!(parsed, smc);
    // Element with muxConfigPresent=0: numChunk=2 (3 chunks): s1 part, s0 whole, s1 end.
    let mut w = BitWriter::new();
    w.write_bits(2, 4);
    for (idx, len, end) in [(1u64, 3u64, false), (0, 4, true), (1, 2, true)] {
        w.write_bits(idx, 4);
        w.write_bits(len, 8);
        w.write_bit(end);
    }
    for byte in b"abc".iter().chain(b"WXYZ").chain(b"de") {
        w.write_bits(u64::from(*byte), 8);
    }
    w.byte_align_zero();
    let el = Bytes::from(w.finish());
    let mut dec = LatmDecoder::with_config(smc);
    let out = dec.decode(&el, false).unwrap();
    let got: Vec<(u8, &[u8])> = out
        .payloads
        .iter()
        .map(|p| (p.stream, &p.data[..]))
        .collect();
    assert_eq!(got, vec![(0, &b"WXYZ"[..]), (1, &b"abcde"[..])]);
}

#[test]
fn latm_multi_stream_and_fixed_length() {
    let a = AudioSpecificConfig::lc(48000, 2).unwrap();
    let mut fixed = LatmLayer::new(a.clone());
    fixed.frame_length_type = 1;
    fixed.frame_length = 5; // 25-byte payloads
    fixed.use_same_config = true;
    let smc = StreamMuxConfig {
        audio_mux_version: 1,
        tara_buffer_fullness: 0xFF,
        all_streams_same_time_framing: true,
        num_sub_frames: 1,
        programs: vec![vec![LatmLayer::new(a), fixed]],
        other_data_len_bits: Some(9),
        crc_check_sum: Some(0x5A),
    };
    let p0 = vec![1u8; 300];
    let p1 = vec![2u8; 25];
    let p2 = vec![3u8; 0];
    let p3 = vec![4u8; 25];
    let mut el = BytesMut::new();
    write_audio_mux_element(&smc, true, true, &[&p0, &p1, &p2, &p3], &mut el).unwrap();
    let mut dec = LatmDecoder::new();
    let out = dec.decode(&el.freeze(), true).unwrap();
    let got: Vec<(u8, u8, &[u8])> = out
        .payloads
        .iter()
        .map(|p| (p.sub_frame, p.stream, &p.data[..]))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 0, &p0[..]),
            (0, 1, &p1[..]),
            (1, 0, &p2[..]),
            (1, 1, &p3[..])
        ]
    );
    // Wrong fixed length is refused.
    let mut el = BytesMut::new();
    assert!(write_audio_mux_element(&smc, true, true, &[&p0, &p0, &p2, &p3], &mut el).is_err());
}

#[test]
fn latm_errors() {
    let mut dec = LatmDecoder::new();
    // useSameStreamMux = 1 before any config.
    assert_eq!(
        dec.decode(&Bytes::from_static(&[0x80, 0x00]), true)
            .unwrap_err(),
        Error::MissingStreamMuxConfig
    );
    // audioMuxVersionA = 1 is reserved.
    assert_eq!(
        StreamMuxConfig::parse(&[0xC0, 0, 0, 0]).unwrap_err(),
        Error::ReservedMuxVersion
    );
    // A length above the limit.
    let smc = StreamMuxConfig::single(AudioSpecificConfig::lc(48000, 2).unwrap());
    let mut dec = LatmDecoder::with_config(smc);
    dec.set_limits(weir_aac::latm::LatmLimits { max_au_len: 100 });
    let el = Bytes::from(vec![0xFFu8; 10]);
    assert!(matches!(dec.decode(&el, false), Err(Error::Limit { .. })));
}

/// The README example.
#[test]
fn readme_example() {
    let data = Bytes::from_static(&[0xFF, 0xF1, 0x50, 0x80, 0x01, 0x1F, 0xFC, 0xAA]);
    for frame in adts_frames(&data) {
        let (header, raw_au) = frame.unwrap();
        let asc = header.to_config();
        assert_eq!((asc.sample_rate(), asc.channels()), (44100, 2));
        let mut back = BytesMut::new();
        weir_aac::raw_to_adts(&asc, &raw_au, &mut back).unwrap();
        assert_eq!(&back[..], &data[..]);
    }
}
