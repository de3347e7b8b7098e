use super::*;
use crate::audio::ExAudioHeader;
use crate::codecs::opus_head;
use crate::video::VideoFrameType;
use bytes::BytesMut;

fn events(d: &mut FlvDemuxer) -> Vec<FlvEvent> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

fn video_body(h: VideoTagHeader, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::from(&h.to_bytes()[..]);
    b.extend_from_slice(payload);
    b.freeze()
}

/// A real 320x240 baseline avcC with the given NAL length size.
fn avcc(length_size: u8) -> Bytes {
    let sps = Bytes::from_static(&[
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ]);
    let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
    let mut c = weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps]).unwrap();
    c.nal_length_size = length_size;
    c.to_bytes()
}

#[test]
fn avc_length_size_conversion_and_zero_copy() {
    let mut d = FlvDemuxer::new();
    let seq = VideoTagHeader::legacy(
        VideoFrameType::Key,
        VideoCodecId::Avc,
        VideoPacketType::SequenceStart,
        0,
    );
    d.push(TagType::Video, 0, &video_body(seq, &avcc(2)))
        .unwrap();
    let ev = events(&mut d);
    let FlvEvent::Track(t) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(t.codec, Codec::H264);
    assert_eq!(
        t.video,
        Some(weir_media::VideoParams {
            width: 320,
            height: 240
        })
    );
    // Two NAL units with 2-byte prefixes → 4-byte prefixes.
    let nalu = VideoTagHeader::legacy(
        VideoFrameType::Key,
        VideoCodecId::Avc,
        VideoPacketType::CodedFrames,
        40,
    );
    d.push(
        TagType::Video,
        1000,
        &video_body(nalu, &[0, 2, 0x65, 1, 0, 1, 0x06]),
    )
    .unwrap();
    let ev = events(&mut d);
    let FlvEvent::Frame(f) = &ev[0] else { panic!() };
    assert_eq!(&f.data[..], &[0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x06]);
    assert_eq!(
        (f.dts.ticks(), f.pts.ticks(), f.keyframe),
        (1000, 1040, true)
    );

    // Same record again with 4-byte lengths: a new Track, and frames are not copied.
    d.push(TagType::Video, 2000, &video_body(seq, &avcc(4)))
        .unwrap();
    assert!(matches!(&events(&mut d)[..], [FlvEvent::Track(_)]));
    // A repeated identical sequence header is not announced again.
    d.push(TagType::Video, 2000, &video_body(seq, &avcc(4)))
        .unwrap();
    assert!(events(&mut d).is_empty());
    let body = video_body(nalu, &[0, 0, 0, 1, 0x41]);
    d.push(TagType::Video, 2040, &body).unwrap();
    let ev = events(&mut d);
    let FlvEvent::Frame(f) = &ev[0] else { panic!() };
    assert_eq!(
        f.data.as_ptr(),
        body[5..].as_ptr(),
        "zero-copy slice of the tag body"
    );
    // Broken prefix.
    assert!(matches!(
        d.push(TagType::Video, 2080, &video_body(nalu, &[0, 0, 0, 9, 0x41])),
        Err(Error::Nal(_))
    ));
    // End of sequence.
    let eos = VideoTagHeader::legacy(
        VideoFrameType::Key,
        VideoCodecId::Avc,
        VideoPacketType::SequenceEnd,
        0,
    );
    d.push(TagType::Video, 3000, &video_body(eos, &[])).unwrap();
    assert_eq!(events(&mut d), vec![FlvEvent::EndOfSequence(VIDEO_TRACK)]);
}

#[test]
fn nal_frames_need_sequence_header() {
    let mut d = FlvDemuxer::new();
    let nalu = VideoTagHeader::enhanced(
        VideoFrameType::Key,
        VideoFourCc::Hvc1,
        VideoPacketType::CodedFramesX,
        0,
    );
    assert_eq!(
        d.push(TagType::Video, 0, &video_body(nalu, &[0, 0, 0, 1, 0x26])),
        Err(Error::NoSequenceHeader { codec: Codec::H265 })
    );
    let bad = VideoTagHeader::legacy(
        VideoFrameType::Key,
        VideoCodecId::Hevc,
        VideoPacketType::SequenceStart,
        0,
    );
    assert!(matches!(
        d.push(TagType::Video, 0, &video_body(bad, &[1, 2, 3])),
        Err(Error::BadConfig { what: "hvcC", .. })
    ));
    let vp6 = Bytes::from_static(&[0x14, 0, 0]);
    assert_eq!(
        d.push(TagType::Video, 0, &vp6),
        Err(Error::UnmappedVideoCodec { codec_id: 4 })
    );
}

#[test]
fn av1_vp9_and_video_metadata() {
    let mut d = FlvDemuxer::new();
    let seq = VideoTagHeader::enhanced(
        VideoFrameType::Key,
        VideoFourCc::Av01,
        VideoPacketType::SequenceStart,
        0,
    );
    d.push(TagType::Video, 0, &video_body(seq, &[0x81, 0, 0x0C, 0]))
        .unwrap();
    let frame = VideoTagHeader::enhanced(
        VideoFrameType::Inter,
        VideoFourCc::Av01,
        VideoPacketType::CodedFrames,
        0,
    );
    d.push(
        TagType::Video,
        33,
        &video_body(frame, &[0x12, 0, 0x32, 1, 2]),
    )
    .unwrap();
    let ev = events(&mut d);
    assert!(
        matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::Av1 && t.config[..] == [0x81, 0, 0x0C, 0])
    );
    assert!(
        matches!(&ev[1], FlvEvent::Frame(f) if !f.keyframe && f.data[..] == [0x12, 0, 0x32, 1, 2] && f.dts.ticks() == 33)
    );

    // VP9 frames without a vpcC still make a track.
    let frame = VideoTagHeader::enhanced(
        VideoFrameType::Key,
        VideoFourCc::Vp09,
        VideoPacketType::CodedFrames,
        0,
    );
    d.push(TagType::Video, 66, &video_body(frame, &[0x82, 0x49]))
        .unwrap();
    let ev = events(&mut d);
    assert!(matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::Vp9));
    assert!(matches!(&ev[1], FlvEvent::Frame(f) if f.keyframe));

    let meta = VideoTagHeader::enhanced(
        VideoFrameType::Command,
        VideoFourCc::Hvc1,
        VideoPacketType::Metadata,
        0,
    );
    let mut amf = BytesMut::new();
    weir_amf::amf0::encode(&"colorInfo".into(), &mut amf).unwrap();
    weir_amf::amf0::encode(
        &Amf0Value::object([(
            "colorConfig",
            Amf0Value::object([("bitDepth", 10.0.into())]),
        )]),
        &mut amf,
    )
    .unwrap();
    d.push(TagType::Video, 0, &video_body(meta, &amf)).unwrap();
    let ev = events(&mut d);
    let FlvEvent::VideoMetadata(v) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(v[0].as_str(), Some("colorInfo"));
}

#[test]
fn opus_and_g711() {
    let mut d = FlvDemuxer::new();
    let seq = AudioTagHeader::Enhanced(ExAudioHeader {
        packet_type: AudioPacketType::SequenceStart,
        fourcc: AudioFourCc::Opus,
        timestamp_offset_nanos: 0,
    });
    let mut body = BytesMut::from(&seq.to_bytes()[..]);
    body.extend_from_slice(&opus_head(2));
    d.push(TagType::Audio, 0, &body.freeze()).unwrap();
    let ev = events(&mut d);
    assert!(
        matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::Opus
        && t.audio == Some(AudioParams { sample_rate: 48_000, channels: 2 }))
    );
    // Opus frames before a sequence header are fine too (no config needed).
    let mut d = FlvDemuxer::new();
    d.push(
        TagType::Audio,
        20,
        &Bytes::from_static(b"\x91Opus\xfc\xff\xfe"),
    )
    .unwrap();
    let ev = events(&mut d);
    assert!(matches!(&ev[1], FlvEvent::Frame(f) if f.data[..] == [0xfc, 0xff, 0xfe]));

    // µ-law stereo.
    d.push(TagType::Audio, 40, &Bytes::from_static(&[0x83, 0xff, 0x7f]))
        .unwrap();
    let ev = events(&mut d);
    assert!(
        matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::G711U
        && t.audio == Some(AudioParams { sample_rate: 8000, channels: 2 }))
    );
    assert!(matches!(&ev[1], FlvEvent::Frame(f) if f.keyframe && f.data.len() == 2));

    assert_eq!(
        d.push(TagType::Audio, 0, &Bytes::from_static(&[0xAF, 1, 0x21])),
        Err(Error::NoSequenceHeader { codec: Codec::Aac })
    );
    assert_eq!(
        d.push(TagType::Audio, 0, &Bytes::from_static(&[0xB2, 1])),
        Err(Error::UnmappedSoundFormat { sound_format: 11 })
    );
    assert_eq!(
        d.push(TagType::Audio, 0, &Bytes::from_static(b"\x91fLaC")),
        Err(Error::UnmappedFourCc { fourcc: *b"fLaC" })
    );
}

#[test]
fn timestamps_extend_past_32_bits() {
    let mut d = FlvDemuxer::new();
    for ts in [u32::MAX - 20, 5u32] {
        d.push(TagType::Audio, ts, &Bytes::from_static(&[0x72, 0xD5]))
            .unwrap();
    }
    let dts: Vec<i64> = events(&mut d)
        .into_iter()
        .filter_map(|e| match e {
            FlvEvent::Frame(f) => Some(f.dts.ticks()),
            _ => None,
        })
        .collect();
    assert_eq!(dts, vec![i64::from(u32::MAX) - 20, (1i64 << 32) + 5]);
}

fn audio_dts(timestamps: &[u32]) -> Vec<i64> {
    let mut d = FlvDemuxer::new();
    for &ts in timestamps {
        d.push(TagType::Audio, ts, &Bytes::from_static(&[0x72, 0xD5]))
            .unwrap();
    }
    events(&mut d)
        .into_iter()
        .filter_map(|e| match e {
            FlvEvent::Frame(f) => Some(f.dts.ticks()),
            _ => None,
        })
        .collect()
}

/// ffmpeg's and OBS's FLV muxers write 31 bits: after 2³¹ − 1 ms the clock goes back to
/// 0, and the stream goes on where it was.
#[test]
fn a_31_bit_clock_going_back_to_0_continues() {
    let top = 1i64 << 31;
    let dts = audio_dts(&[(1 << 31) - 46, (1 << 31) - 23, 0, 23, 46]);
    assert_eq!(dts, vec![top - 46, top - 23, top, top + 23, top + 46]);
}

/// A 32-bit clock passing 2³¹ (and later 2³²) keeps its absolute value.
#[test]
fn a_32_bit_clock_keeps_its_value_across_2_pow_31_and_2_pow_32() {
    let top = 1i64 << 31;
    let dts = audio_dts(&[(1 << 31) - 23, 1 << 31, (1 << 31) + 23]);
    assert_eq!(dts, vec![top - 23, top, top + 23]);
    let dts = audio_dts(&[u32::MAX - 22, 0, 23]);
    assert_eq!(dts, vec![(1i64 << 32) - 23, 1 << 32, (1i64 << 32) + 23]);
}

/// A publisher that restarts its clock still goes back (repair is the hub's job).
#[test]
fn a_clock_restart_still_steps_back() {
    assert_eq!(audio_dts(&[90_000, 0, 23]), vec![90_000, 0, 23]);
}

#[test]
fn annexb_in_nalu_tags_is_converted() {
    let mut d = FlvDemuxer::new();
    let seq = VideoTagHeader::legacy(
        VideoFrameType::Key,
        VideoCodecId::Avc,
        VideoPacketType::SequenceStart,
        0,
    );
    d.push(TagType::Video, 0, &video_body(seq, &avcc(4)))
        .unwrap();
    let nalu = VideoTagHeader::legacy(
        VideoFrameType::Key,
        VideoCodecId::Avc,
        VideoPacketType::CodedFrames,
        0,
    );
    // Two NAL units with start codes (3- and 4-byte) instead of length prefixes.
    d.push(
        TagType::Video,
        0,
        &video_body(nalu, &[0, 0, 0, 1, 0x65, 0xAA, 0, 0, 1, 0x06, 0xBB]),
    )
    .unwrap();
    let ev = events(&mut d);
    let FlvEvent::Frame(f) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        &f.data[..],
        &[0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 2, 0x06, 0xBB]
    );
    // A well-formed 4-byte-prefixed NAL of length 1 is not mistaken for a start code.
    d.push(TagType::Video, 40, &video_body(nalu, &[0, 0, 0, 1, 0x65]))
        .unwrap();
    let ev = events(&mut d);
    let FlvEvent::Frame(f) = &ev[0] else { panic!() };
    assert_eq!(&f.data[..], &[0, 0, 0, 1, 0x65]);
}

#[test]
fn adts_in_aac_frames_is_stripped() {
    let mut d = FlvDemuxer::new();
    d.push(
        TagType::Audio,
        0,
        &Bytes::from_static(&[0xAF, 0, 0x12, 0x08]),
    )
    .unwrap();
    // ADTS header (LC, 44.1 kHz, mono, frame length 10) + 3 payload bytes.
    let asc = weir_aac::AudioSpecificConfig::parse(&[0x12, 0x08]).unwrap();
    let mut adts = BytesMut::new();
    weir_aac::raw_to_adts(&asc, &[0x21, 0x10, 0x04], &mut adts).unwrap();
    let mut body = BytesMut::from(&[0xAF, 1][..]);
    body.extend_from_slice(&adts);
    d.push(TagType::Audio, 23, &body.freeze()).unwrap();
    let ev = events(&mut d);
    let FlvEvent::Frame(f) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!(&f.data[..], &[0x21, 0x10, 0x04]);
    // A raw frame that merely starts with 0xFF is left alone.
    d.push(
        TagType::Audio,
        46,
        &Bytes::from_static(&[0xAF, 1, 0xFF, 0xF1, 0x00]),
    )
    .unwrap();
    let ev = events(&mut d);
    let FlvEvent::Frame(f) = &ev[0] else { panic!() };
    assert_eq!(&f.data[..], &[0xFF, 0xF1, 0x00]);
}

#[test]
fn empty_frames_are_skipped() {
    let mut d = FlvDemuxer::new();
    d.push(TagType::Audio, 0, &Bytes::from_static(&[0x72]))
        .unwrap();
    let seq = VideoTagHeader::legacy(
        VideoFrameType::Key,
        VideoCodecId::Avc,
        VideoPacketType::SequenceStart,
        0,
    );
    d.push(TagType::Video, 0, &video_body(seq, &avcc(4)))
        .unwrap();
    let nalu = VideoTagHeader::legacy(
        VideoFrameType::Inter,
        VideoCodecId::Avc,
        VideoPacketType::CodedFrames,
        0,
    );
    d.push(TagType::Video, 0, &video_body(nalu, &[])).unwrap();
    let ev = events(&mut d);
    assert_eq!(ev.len(), 1);
    assert!(matches!(&ev[0], FlvEvent::Track(t) if t.codec == Codec::H264));
}

#[test]
fn custom_track_ids() {
    let mut d = FlvDemuxer::new().with_track_ids(TrackId(7), TrackId(8));
    d.push(TagType::Audio, 0, &Bytes::from_static(&[0x72, 0xD5]))
        .unwrap();
    let ev = events(&mut d);
    assert!(matches!(&ev[0], FlvEvent::Track(t) if t.id == TrackId(8)));
    assert!(matches!(&ev[1], FlvEvent::Frame(f) if f.track == TrackId(8)));
}

#[test]
fn rtmp_messages() {
    let mut d = FlvDemuxer::new();
    let mut body = BytesMut::from(&[0u8][..]); // AMF3 data message format byte
    body.extend_from_slice(&crate::Metadata::default().to_script_body().unwrap());
    assert!(d.push_rtmp_message(15, 0, &body.freeze()).unwrap());
    assert!(matches!(&events(&mut d)[..], [FlvEvent::Metadata(_)]));
    assert!(d
        .push_rtmp_message(8, 5, &Bytes::from_static(&[0x72, 0xD5]))
        .unwrap());
    assert_eq!(events(&mut d).len(), 2);
    assert!(!d.push_rtmp_message(20, 0, &Bytes::new()).unwrap());
}

#[test]
fn multitrack_tracks_get_their_own_ids() {
    let mut d = FlvDemuxer::new().with_max_tracks(2);
    // ManyTracks Opus CodedFrames: tracks 0 and 1.
    d.push(
        TagType::Audio,
        20,
        &Bytes::from_static(b"\x95\x11Opus\x00\x00\x00\x02ab\x01\x00\x00\x01c"),
    )
    .unwrap();
    let ev = events(&mut d);
    let ids: Vec<(TrackId, usize)> = ev
        .iter()
        .filter_map(|e| match e {
            FlvEvent::Frame(f) => Some((f.track, f.data.len())),
            _ => None,
        })
        .collect();
    assert_eq!(ids, vec![(AUDIO_TRACK, 2), (TrackId(3), 1)]);
    assert_eq!(d.tracks().count(), 2);
    assert_eq!(d.audio_track().unwrap().id, AUDIO_TRACK);
    // Video multitrack: av01 tracks 0 and 2 (one codec, ManyTracks, CodedFrames).
    d.push(
        TagType::Video,
        40,
        &Bytes::from_static(b"\x96\x11av01\x00\x00\x00\x01x\x02\x00\x00\x01y"),
    )
    .unwrap();
    let frames: Vec<TrackId> = events(&mut d)
        .into_iter()
        .filter_map(|e| match e {
            FlvEvent::Frame(f) => Some(f.track),
            _ => None,
        })
        .collect();
    assert_eq!(frames, vec![VIDEO_TRACK, TrackId(4)]);
    // A third audio track exceeds the limit of 2.
    assert_eq!(
        d.push(
            TagType::Audio,
            60,
            &Bytes::from_static(b"\x95\x01Opus\x05z")
        ),
        Err(Error::TooManyTracks { limit: 2 })
    );
}

#[test]
fn script_tags() {
    let mut d = FlvDemuxer::new();
    let text = ScriptData {
        name: "onTextData".into(),
        values: vec![Amf0Value::object([("text", "hi".into())])],
    };
    d.push(TagType::Script, 0, &text.to_bytes().unwrap())
        .unwrap();
    assert_eq!(events(&mut d), vec![FlvEvent::Script(text)]);
}
