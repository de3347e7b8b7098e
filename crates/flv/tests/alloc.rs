//! Hot paths do not allocate per packet: reading tags, tags → frames, frames → tag parts.

use bytes::{Bytes, BytesMut};
use weir_flv::{FlvDemuxer, FlvEvent, FlvMuxer, FlvReader, MuxConfig, Tag};
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};

#[global_allocator]
static GLOBAL: weir_testutil::alloc::Counting = weir_testutil::alloc::Counting;

fn allocs() -> usize {
    weir_testutil::alloc::count()
}

fn stream() -> (Bytes, TrackInfo, Vec<Frame>) {
    let sps = Bytes::from_static(&[
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ]);
    let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
    let video = TrackInfo::new(TrackId(0), Codec::H264, 1000).with_config(
        weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps])
            .unwrap()
            .to_bytes(),
    );
    let audio = TrackInfo::new(TrackId(1), Codec::Aac, 1000)
        .with_config(Bytes::from_static(&[0x12, 0x08]))
        .with_audio(AudioParams {
            sample_rate: 44_100,
            channels: 1,
        });
    let muxer = FlvMuxer::new(MuxConfig::default());
    let mut out = BytesMut::new();
    muxer
        .write_start(&[video.clone(), audio.clone()], "t", &mut out)
        .unwrap();
    let mut frames = Vec::new();
    for i in 0..200i64 {
        let ts = Timestamp::new(i * 20, Timebase::MILLIS);
        let f = if i % 2 == 0 {
            Frame::new(
                video.id,
                ts,
                ts,
                Bytes::from_static(&[0, 0, 0, 3, 0x41, 1, 2, 0, 0, 0, 1, 0x06]),
            )
            .with_keyframe(i % 50 == 0)
        } else {
            Frame::new(
                audio.id,
                ts,
                ts,
                Bytes::from_static(&[0x21, 0x10, 0x04, 0x60]),
            )
        };
        let t = if i % 2 == 0 { &video } else { &audio };
        muxer.frame(t, &f).unwrap().write(&mut out).unwrap();
        frames.push(f);
    }
    (out.freeze(), video, frames)
}

#[test]
fn no_allocation_per_packet() {
    let (file, video, frames) = stream();

    // Reader over a Bytes input: no allocation at all.
    let mut input = file.clone();
    let mut reader = FlvReader::new();
    let mut tags: Vec<Tag> = Vec::with_capacity(256);
    let before = allocs();
    while let Some(tag) = reader.decode_bytes(&mut input).unwrap() {
        tags.push(tag);
    }
    assert_eq!(allocs() - before, 0, "reader allocated");
    assert_eq!(tags.len(), 203);

    // Demuxer: after the sequence headers (track setup may allocate), frames are free.
    let mut demux = FlvDemuxer::new();
    for t in &tags[..3] {
        demux.push_tag(t).unwrap();
        while demux.poll_event().is_some() {}
    }
    let mut n = 0;
    let before = allocs();
    for t in &tags[3..] {
        demux.push_tag(t).unwrap();
        while let Some(ev) = demux.poll_event() {
            if let FlvEvent::Frame(f) = ev {
                n += f.data.len();
            }
        }
    }
    assert_eq!(allocs() - before, 0, "demuxer allocated per frame");
    assert!(n > 0);

    // Muxer: the tag parts (inline header + shared payload) and per-subscriber wire
    // headers need no allocation.
    let muxer = FlvMuxer::new(MuxConfig::default());
    let before = allocs();
    let mut total = 0;
    for f in frames.iter().filter(|f| f.track == video.id) {
        let parts = muxer.frame_parts(&video, f).unwrap();
        let header =
            weir_flv::tag_header(parts.tag_type, parts.body_len(), parts.timestamp).unwrap();
        total += header.len() + parts.body_len();
    }
    assert_eq!(allocs() - before, 0, "frame_parts allocated");
    assert!(total > 0);
    // Fan-out of a built tag: clones share the body.
    let tag = muxer.frame(&video, &frames[0]).unwrap();
    // The first clone of a freshly frozen buffer moves it to a shared allocation: once per
    // tag, not per subscriber.
    drop(tag.body.clone());
    let before = allocs();
    for ts in 0..100u32 {
        let (h, body, trailer) = tag.wire_parts(ts).unwrap();
        total += h.len() + body.len() + trailer.len();
    }
    assert_eq!(allocs() - before, 0, "wire_parts allocated");
    assert!(total > 100 * tag.wire_len());
}
