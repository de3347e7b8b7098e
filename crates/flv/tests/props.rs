//! Property tests: write → read identity, chunking independence, hostile input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weir_flv::*;
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};

fn tag_strategy() -> impl Strategy<Value = Tag> {
    (
        prop_oneof![
            Just(TagType::Audio),
            Just(TagType::Video),
            Just(TagType::Script)
        ],
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(t, ts, body)| Tag::new(t, ts, Bytes::from(body)))
}

fn file(tags: &[Tag]) -> Vec<u8> {
    let mut out = BytesMut::new();
    FlvHeader::new(true, true).write_with_first_tag_size(&mut out);
    for t in tags {
        t.write(&mut out).unwrap();
    }
    out.to_vec()
}

/// Feeds `data` split at `cuts` and collects tags (stops at the first error).
fn read_chunked(data: &[u8], cuts: &[usize], config: ReaderConfig) -> (Vec<Tag>, Option<Error>) {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    let mut reader = FlvReader::with_config(config);
    let mut buf = BytesMut::new();
    let mut tags = Vec::new();
    for w in points.windows(2) {
        buf.extend_from_slice(&data[w[0]..w[1]]);
        loop {
            match reader.decode(&mut buf) {
                Ok(Some(t)) => tags.push(t),
                Ok(None) => break,
                Err(e) => return (tags, Some(e)),
            }
        }
    }
    (tags, None)
}

fn video_header_strategy() -> impl Strategy<Value = VideoTagHeader> {
    let ft = prop_oneof![
        Just(VideoFrameType::Key),
        Just(VideoFrameType::Inter),
        Just(VideoFrameType::DisposableInter),
        Just(VideoFrameType::GeneratedKey),
    ];
    let legacy = (
        ft.clone(),
        prop_oneof![Just(VideoCodecId::Avc), Just(VideoCodecId::Hevc)],
        prop_oneof![
            Just(VideoPacketType::SequenceStart),
            Just(VideoPacketType::CodedFrames),
            Just(VideoPacketType::SequenceEnd)
        ],
        -0x80_0000i32..=0x7F_FFFF,
    )
        .prop_map(|(f, c, p, ct)| VideoTagHeader::legacy(f, c, p, ct));
    let enhanced = (
        ft,
        prop_oneof![
            Just(VideoFourCc::Avc1),
            Just(VideoFourCc::Hvc1),
            Just(VideoFourCc::Av01),
            Just(VideoFourCc::Vp09),
            Just(VideoFourCc::Vp08)
        ],
        prop_oneof![
            Just(VideoPacketType::SequenceStart),
            Just(VideoPacketType::CodedFrames),
            Just(VideoPacketType::SequenceEnd),
            Just(VideoPacketType::CodedFramesX),
            Just(VideoPacketType::Metadata)
        ],
        -0x80_0000i32..=0x7F_FFFF,
        prop_oneof![Just(0u32), 1u32..1_000_000],
    )
        .prop_map(|(f, c, p, ct, nanos)| {
            let ct = if p == VideoPacketType::CodedFrames && c.has_composition_time() {
                ct
            } else {
                0
            };
            let mut h = VideoTagHeader::enhanced(f, c, p, ct);
            h.timestamp_offset_nanos = nanos;
            h
        });
    prop_oneof![legacy, enhanced]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn tags_write_read_identity(tags in proptest::collection::vec(tag_strategy(), 0..12)) {
        let data = file(&tags);
        let (h, got) = read_all(Bytes::from(data), ReaderConfig::default()).unwrap();
        prop_assert!(h.is_some());
        prop_assert_eq!(got, tags);
    }

    #[test]
    fn chunking_does_not_matter(
        tags in proptest::collection::vec(tag_strategy(), 1..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let data = file(&tags);
        let (got, err) = read_chunked(&data, &cuts, ReaderConfig::default());
        prop_assert!(err.is_none());
        prop_assert_eq!(got, tags);
    }

    /// With corruption and resync, the tags and the error (if any) still do not depend on
    /// how the input is split.
    #[test]
    fn corrupted_resync_is_chunking_independent(
        tags in proptest::collection::vec(tag_strategy(), 1..8),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        strict in any::<bool>(),
    ) {
        let mut data = file(&tags);
        for (pos, v) in flips {
            let i = 13 + pos % (data.len() - 13);
            data[i] = v;
        }
        let check = if strict { PreviousTagSizeCheck::Strict } else { PreviousTagSizeCheck::Lenient };
        let config = ReaderConfig::default().resync(true).previous_tag_size(check);
        let whole = read_chunked(&data, &[], config);
        let split = read_chunked(&data, &cuts, config);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn random_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000), resync in any::<bool>(), header in any::<bool>()) {
        let config = ReaderConfig::default().resync(resync).expect_header(header).max_resync_bytes(500);
        let mut input = data.clone();
        if header && input.len() > 9 {
            input[..9].copy_from_slice(b"FLV\x01\x05\x00\x00\x00\x09");
        }
        let (tags, _) = read_chunked(&input, &[7, 100, 1000], config);
        let mut demux = FlvDemuxer::new();
        for t in &tags {
            let _ = demux.push_tag(t);
            while demux.poll_event().is_some() {}
        }
        // Tag bodies fed straight to the demuxer.
        for ty in [TagType::Audio, TagType::Video, TagType::Script] {
            let _ = demux.push(ty, 0, &Bytes::from(data.clone()));
        }
    }

    #[test]
    fn video_header_roundtrip(h in video_header_strategy()) {
        let b = h.to_bytes();
        let (back, n) = VideoTagHeader::parse(&b).unwrap();
        prop_assert_eq!(back, h);
        prop_assert_eq!(n, b.len());
    }

    #[test]
    fn audio_header_roundtrip(
        fmt in prop_oneof![Just(SoundFormat::Mp3), Just(SoundFormat::Aac), Just(SoundFormat::G711ALaw), Just(SoundFormat::G711MuLaw), Just(SoundFormat::Speex)],
        rate in 0u8..4, sixteen in any::<bool>(), stereo in any::<bool>(), seq in any::<bool>(),
        enhanced in any::<bool>(), nanos in prop_oneof![Just(0u32), 1u32..1_000_000],
    ) {
        let h = if enhanced {
            AudioTagHeader::Enhanced(ExAudioHeader {
                packet_type: if seq { AudioPacketType::SequenceStart } else { AudioPacketType::CodedFrames },
                fourcc: AudioFourCc::Opus,
                timestamp_offset_nanos: nanos,
            })
        } else {
            let aac = (fmt == SoundFormat::Aac).then_some(if seq { AacPacketType::SequenceHeader } else { AacPacketType::Raw });
            AudioTagHeader::Legacy(LegacyAudioHeader { format: fmt, rate, sixteen_bit: sixteen, stereo, aac_packet_type: aac })
        };
        let b = h.to_bytes();
        let (back, n) = AudioTagHeader::parse(&b).unwrap();
        prop_assert_eq!(back, h);
        prop_assert_eq!(n, b.len());
    }

    /// Frame → tag → frame is the identity (timestamps in ms) for every audio codec and for
    /// H.264/H.265 with arbitrary NAL payloads and composition times.
    #[test]
    fn frame_tag_frame_identity(
        codec in prop_oneof![Just(Codec::G711A), Just(Codec::G711U), Just(Codec::Opus), Just(Codec::H264), Just(Codec::H265), Just(Codec::Av1), Just(Codec::Vp9)],
        nals in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..200), 1..4),
        dts in 0i64..100_000_000, ct in 0i64..5000, key in any::<bool>(), legacy in any::<bool>(),
    ) {
        let mut data = BytesMut::new();
        for n in &nals {
            weir_media::nal::put_length_prefixed(&mut data, n, 4).unwrap();
        }
        let data = data.freeze();
        let config = match codec {
            // Minimal records: the demuxer needs the length size; SPS parsing may fail
            // (picture size then stays unknown).
            Codec::H264 => Bytes::from_static(&[1, 0x42, 0, 0x1E, 0xFF, 0xE0, 0]),
            Codec::H265 => {
                let mut c = vec![1u8, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5D, 0xF0, 0, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 0];
                c.truncate(23);
                Bytes::from(c)
            }
            Codec::Av1 => Bytes::from_static(&[0x81, 0, 0x0C, 0]),
            _ => Bytes::new(),
        };
        let mut track = TrackInfo::new(TrackId(5), codec, 90_000).with_config(config);
        if codec.kind() == weir_media::MediaKind::Audio {
            track = track.with_audio(AudioParams { sample_rate: if codec == Codec::Opus { 48_000 } else { 8000 }, channels: 1 });
        }
        let video = codec.kind() == weir_media::MediaKind::Video;
        let tb = Timebase::MILLIS;
        // Only AVC/HEVC carry a composition time in FLV (AV1/VP9 have no reordering).
        let pts = if codec.is_nal_based() { dts + ct } else { dts };
        let frame = Frame::new(track.id, Timestamp::new(pts, tb), Timestamp::new(dts, tb), data.clone()).with_keyframe(key || !video);
        let muxer = FlvMuxer::new(MuxConfig::default()
            .hevc(if legacy { HevcSignalling::LegacyCodecId12 } else { HevcSignalling::Enhanced })
            .avc(if legacy { AvcSignalling::Legacy } else { AvcSignalling::Enhanced }));
        let mut demux = FlvDemuxer::new();
        if let Some(seq) = muxer.sequence_header(&track, 0).unwrap() {
            demux.push_tag(&seq).unwrap();
        }
        demux.push_tag(&muxer.frame(&track, &frame).unwrap()).unwrap();
        let mut got = None;
        while let Some(ev) = demux.poll_event() {
            if let FlvEvent::Frame(f) = ev { got = Some(f); }
        }
        let got = got.unwrap();
        prop_assert_eq!(got.data, data);
        prop_assert_eq!(got.dts.ticks(), dts);
        prop_assert_eq!(got.pts.ticks(), pts);
        prop_assert_eq!(got.keyframe, frame.keyframe);
    }

    #[test]
    fn metadata_roundtrip(
        nums in proptest::collection::vec(("[a-z]{1,12}", any::<f64>().prop_filter("not NaN", |f| !f.is_nan())), 0..10),
        strs in proptest::collection::vec(("[A-Z]{1,12}", "[ -~]{0,40}"), 0..5),
    ) {
        let mut m = Metadata::default();
        for (k, v) in &nums { m.set(k, (*v).into()); }
        for (k, v) in &strs { m.set(k, v.as_str().into()); }
        let body = m.to_script_body().unwrap();
        let back = ScriptData::parse(&body, Default::default()).unwrap().metadata().unwrap();
        prop_assert_eq!(back, m);
    }
}
