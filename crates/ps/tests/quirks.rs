//! Real-device behaviour (GB/T 28181 cameras and NVRs) that departs from ISO/IEC 13818-1,
//! one named test per quirk, on hand-built streams.

use bytes::{BufMut, Bytes, BytesMut};
use weir_media::{Codec, Frame};
use weir_mpegts::pes::write_pes_header;
use weir_ps::psm::{write_pack_header, Psm, PsmEntry};
use weir_ps::{Event, PsDemuxConfig, PsDemuxer};

const SPS: &[u8] = &[
    0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
    0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
];
const PPS: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];

/// A slice NAL unit whose header is valid for `SPS`/`PPS` (so access units can be told
/// apart by frame_num / POC as H.264 §7.4.1.2.4 says), followed by filler bytes.
fn slice(idr: bool, frame_num: u32, n: usize) -> Vec<u8> {
    let sps = weir_h264::Sps::parse(SPS).unwrap();
    let mut w = weir_media::bits::BitWriter::new();
    w.write_ue(0); // first_mb_in_slice
    w.write_ue(if idr { 7 } else { 5 }); // slice_type: all I / all P
    w.write_ue(0); // pic_parameter_set_id
    let max_frame_num = 1u32 << sps.log2_max_frame_num;
    w.write_bits(
        u64::from(frame_num % max_frame_num),
        u32::from(sps.log2_max_frame_num),
    );
    if !sps.frame_mbs_only {
        w.write_bits(0, 1); // field_pic_flag
    }
    if idr {
        w.write_ue(0); // idr_pic_id
    }
    if sps.pic_order_cnt_type == 0 {
        let bits = u32::from(sps.log2_max_pic_order_cnt_lsb);
        w.write_bits(u64::from(2 * frame_num) & ((1 << bits) - 1), bits);
    }
    w.write_bits(0xFF, 8);
    let mut rbsp = w.finish();
    rbsp.extend((0..n).map(|i| (i % 250 + 1) as u8));
    let mut nal = vec![if idr { 0x65 } else { 0x41 }];
    weir_media::nal::insert_emulation_prevention(&rbsp, &mut nal);
    nal
}

fn idr(n: usize) -> Vec<u8> {
    slice(true, 0, n)
}

fn p_slice(n: usize, frame_num: u8) -> Vec<u8> {
    slice(false, u32::from(frame_num), n)
}

fn annexb(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(n);
    }
    out
}

fn canonical(nals: &[&[u8]]) -> Bytes {
    let mut out = BytesMut::new();
    for n in nals {
        out.put_u32(n.len() as u32);
        out.put_slice(n);
    }
    out.freeze()
}

/// A PES with an explicit PES_packet_length (0 = unbounded).
fn pes(out: &mut BytesMut, id: u8, pts: Option<u64>, payload: &[u8], unbounded: bool) {
    let start = out.len();
    write_pes_header(out, id, pts, None, payload.len());
    if unbounded {
        out[start + 4] = 0;
        out[start + 5] = 0;
    }
    out.put_slice(payload);
}

fn run(data: &[u8], cfg: PsDemuxConfig) -> (Vec<Event>, PsDemuxer) {
    let mut d = PsDemuxer::with_config(cfg);
    let mut ev = Vec::new();
    for c in data.chunks(700) {
        d.push(c);
        ev.extend(std::iter::from_fn(|| d.poll_event()));
    }
    d.flush();
    ev.extend(std::iter::from_fn(|| d.poll_event()));
    (ev, d)
}

fn frames(ev: &[Event]) -> Vec<Frame> {
    ev.iter()
        .filter_map(|e| {
            if let Event::Frame(f) = e {
                Some(f.clone())
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn quirk_missing_psm_infers_codec_from_es() {
    let mut s = BytesMut::new();
    for i in 0..3u64 {
        write_pack_header(&mut s, i * 3600, 1000);
        let v = if i == 0 {
            annexb(&[SPS, PPS, &idr(100)])
        } else {
            annexb(&[&p_slice(50, i as u8)])
        };
        pes(&mut s, 0xE0, Some(i * 3600), &v, false);
        // ADTS AAC-LC 44.1 kHz mono, 4-byte raw frame.
        let adts = [0xFF, 0xF1, 0x50, 0x40, 0x01, 0x7F, 0xFC, 1, 2, 3, 4];
        pes(&mut s, 0xC0, Some(i * 3600), &adts, false);
    }
    let (ev, d) = run(&s, PsDemuxConfig::default());
    assert!(d.psm().is_none());
    let added: Vec<Codec> = ev
        .iter()
        .filter_map(|e| {
            if let Event::TrackAdded(t) = e {
                Some(t.codec)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(added, vec![Codec::H264, Codec::Aac]);
    let f = frames(&ev);
    let video: Vec<&Frame> = f.iter().filter(|f| f.track.0 == 0xE0).collect();
    assert_eq!(video.len(), 3);
    assert_eq!(video[0].data, canonical(&[SPS, PPS, &idr(100)]));
    assert!(video[0].keyframe && !video[1].keyframe);
    let audio: Vec<&Frame> = f.iter().filter(|f| f.track.0 == 0xC0).collect();
    assert_eq!(audio.len(), 3);
    assert_eq!(&audio[0].data[..], &[1, 2, 3, 4]);
    let aac = ev
        .iter()
        .rev()
        .find_map(|e| {
            if let Event::TrackUpdated(t) = e {
                (t.codec == Codec::Aac).then(|| t.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(&aac.config[..], &[0x12, 0x08]);

    // H.265 without a PSM: VPS header 0x40 0x01.
    let mut s = BytesMut::new();
    write_pack_header(&mut s, 0, 1000);
    pes(
        &mut s,
        0xE0,
        Some(0),
        &annexb(&[&[0x40, 0x01, 0x0c, 0x01], &[0x26, 0x01, 0xaf, 0x09]]),
        false,
    );
    let (ev, _) = run(&s, PsDemuxConfig::default());
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::TrackAdded(t) if t.codec == Codec::H265)));
}

#[test]
fn quirk_video_pes_length_zero_is_unbounded() {
    let big = idr(200_000); // more than a PES length can say
    let mut s = BytesMut::new();
    write_pack_header(&mut s, 0, 1000);
    pes(&mut s, 0xE0, Some(0), &annexb(&[SPS, PPS, &big]), true);
    write_pack_header(&mut s, 3600, 1000);
    pes(&mut s, 0xE0, Some(3600), &annexb(&[&p_slice(10, 1)]), true);
    let (ev, _) = run(&s, PsDemuxConfig::default());
    let f = frames(&ev);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].data, canonical(&[SPS, PPS, &big]));
    assert_eq!(f[1].data, canonical(&[&p_slice(10, 1)]));
    assert_eq!(f[1].pts.ticks(), 3600);
}

#[test]
fn quirk_h264_without_auds_split_and_merged_pes() {
    // Frame 0 split over three PES packets (PTS only on the first); frames 1 and 2 share one
    // PES (its PTS belongs to frame 1, frame 2 is timed by the frame spacing). No AUDs.
    let f0 = annexb(&[SPS, PPS, &idr(3000)]);
    let f1 = annexb(&[&p_slice(40, 1)]);
    let f2 = annexb(&[&p_slice(40, 2)]);
    let f3 = annexb(&[&p_slice(40, 3)]);
    let mut s = BytesMut::new();
    write_pack_header(&mut s, 0, 1000);
    pes(&mut s, 0xE0, Some(90_000), &f0[..1000], false);
    pes(&mut s, 0xE0, None, &f0[1000..2000], false);
    write_pack_header(&mut s, 0, 1000);
    pes(&mut s, 0xE0, None, &f0[2000..], false);
    let mut merged = f1.clone();
    merged.extend_from_slice(&f2);
    pes(&mut s, 0xE0, Some(93_600), &merged, false);
    pes(&mut s, 0xE0, Some(100_800), &f3, false);
    let (ev, _) = run(&s, PsDemuxConfig::default());
    let f = frames(&ev);
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].data, canonical(&[SPS, PPS, &idr(3000)]));
    assert_eq!(f[1].data, canonical(&[&p_slice(40, 1)]));
    assert_eq!(f[2].data, canonical(&[&p_slice(40, 2)]));
    assert_eq!(f[3].data, canonical(&[&p_slice(40, 3)]));
    let pts: Vec<i64> = f.iter().map(|f| f.pts.ticks()).collect();
    assert_eq!(pts, vec![90_000, 93_600, 97_200, 100_800]);
    assert!(f[0].keyframe);
}

#[test]
fn quirk_audio_pes_with_bogus_pts() {
    // G.711A, 320 bytes = 40 ms per PES. The device stamps every audio PES with PTS 0
    // after the first, then (after a real restart) with a consistent new clock.
    let psm = Psm {
        version: 0,
        current: true,
        info: Bytes::new(),
        streams: vec![PsmEntry {
            stream_type: 0x90,
            stream_id: 0xC0,
            descriptors: Bytes::new(),
        }],
        crc_ok: true,
    };
    let mut s = BytesMut::new();
    write_pack_header(&mut s, 0, 1000);
    psm.write(&mut s);
    let samples = [0xD5u8; 320];
    for i in 0..40u64 {
        let pts = if i == 0 { 900_000 } else { 0 };
        pes(&mut s, 0xC0, Some(pts), &samples, false);
    }
    let (ev, d) = run(&s, PsDemuxConfig::default());
    let f = frames(&ev);
    assert_eq!(f.len(), 40);
    for (i, fr) in f.iter().enumerate() {
        assert_eq!(fr.pts.ticks(), 900_000 + i as i64 * 3600, "frame {i}");
    }
    // A stuck PTS never looks like a clock jump, however long it lasts.
    assert_eq!(d.bogus_pts_fixed(0xC0), 39);

    // A jump that persists is a real discontinuity: believed after the configured count.
    let mut cfg = PsDemuxConfig::default();
    cfg.es.audio_pts_resync_after = 3;
    let mut s2 = BytesMut::new();
    write_pack_header(&mut s2, 0, 1000);
    psm.write(&mut s2);
    for i in 0..8u64 {
        let pts = if i < 2 {
            i * 3600
        } else {
            5_000_000 + i * 3600
        };
        pes(&mut s2, 0xC0, Some(pts), &samples, false);
    }
    let (ev, _) = run(&s2, cfg);
    let pts: Vec<i64> = frames(&ev).iter().map(|f| f.pts.ticks()).collect();
    assert_eq!(pts[..4], [0, 3600, 7200, 10_800]);
    assert_eq!(pts[4], 5_000_000 + 4 * 3600);
    assert_eq!(pts[7], 5_000_000 + 7 * 3600);
}

#[test]
fn quirk_psm_with_wrong_crc_is_used() {
    let psm = Psm {
        version: 1,
        current: true,
        info: Bytes::new(),
        streams: vec![PsmEntry {
            stream_type: 0x1B,
            stream_id: 0xE0,
            descriptors: Bytes::new(),
        }],
        crc_ok: true,
    };
    let mut s = BytesMut::new();
    write_pack_header(&mut s, 0, 1000);
    psm.write(&mut s);
    let n = s.len();
    s[n - 4..].copy_from_slice(&[0, 0, 0, 0]); // devices often write zero
    pes(&mut s, 0xE0, Some(0), &annexb(&[SPS, PPS, &idr(10)]), false);
    let (ev, _) = run(&s, PsDemuxConfig::default());
    assert!(ev.iter().any(|e| matches!(e, Event::Psm(p) if !p.crc_ok)));
    assert_eq!(frames(&ev).len(), 1);
}

#[test]
fn garbage_between_packs_is_skipped_and_reported() {
    let mut s = BytesMut::new();
    write_pack_header(&mut s, 0, 1000);
    pes(&mut s, 0xE0, Some(0), &annexb(&[SPS, PPS, &idr(10)]), false);
    s.put_slice(&[0x11; 333]);
    write_pack_header(&mut s, 3600, 1000);
    pes(&mut s, 0xE0, Some(3600), &annexb(&[&p_slice(10, 1)]), false);
    let (ev, _) = run(&s, PsDemuxConfig::default());
    assert_eq!(frames(&ev).len(), 2);
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Corrupt(weir_ps::Error::Garbage { skipped: 333, .. })
    )));
}

#[test]
fn rtp_marker_frame_end_delivers_each_frame_at_once() {
    use weir_media::{Timebase, Timestamp, TrackId, TrackInfo};
    let mut mux = weir_ps::PsMuxer::new(
        &[TrackInfo::new(TrackId(0), Codec::H264, 90_000)],
        Default::default(),
    )
    .unwrap();
    let mut d = PsDemuxer::new();
    for i in 0..5i64 {
        let nals: Vec<Vec<u8>> = if i == 0 {
            vec![SPS.to_vec(), PPS.to_vec(), idr(5000)]
        } else {
            vec![p_slice(3000, i as u8)]
        };
        let refs: Vec<&[u8]> = nals.iter().map(|n| &n[..]).collect();
        let data = canonical(&refs);
        let t = Timestamp::new(i * 3600, Timebase::MPEG);
        let mut ps = BytesMut::new();
        mux.write_frame(
            &Frame::new(TrackId(0), t, t, data.clone()).with_keyframe(i == 0),
            &mut ps,
        )
        .unwrap();
        // As RTP payloads of at most 1400 bytes; the marker comes with the last one.
        for piece in ps.chunks(1400) {
            d.push(piece);
        }
        d.frame_end();
        let f = frames(&std::iter::from_fn(|| d.poll_event()).collect::<Vec<_>>());
        assert_eq!(
            f.len(),
            1,
            "frame {i} delivered right after its last packet"
        );
        assert_eq!(f[0].data, data);
        assert_eq!(f[0].pts.ticks(), i * 3600);
    }
}

#[test]
fn quirk_joining_mid_gop_before_the_first_psm() {
    // PSMs come only with keyframes; a receiver joining mid-GOP infers the codec first,
    // and the PSM that follows confirms it without restarting the track.
    let psm = Psm {
        version: 0,
        current: true,
        info: Bytes::new(),
        streams: vec![PsmEntry {
            stream_type: 0x1B,
            stream_id: 0xE0,
            descriptors: Bytes::new(),
        }],
        crc_ok: true,
    };
    let mut s = BytesMut::new();
    for i in 0..4u64 {
        write_pack_header(&mut s, i * 3600, 1000);
        let v = if i == 2 {
            psm.write(&mut s);
            annexb(&[SPS, PPS, &idr(100)])
        } else {
            annexb(&[&p_slice(60, i as u8)])
        };
        pes(&mut s, 0xE0, Some(i * 3600), &v, false);
    }
    let (ev, _) = run(&s, PsDemuxConfig::default());
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::TrackAdded(_)))
            .count(),
        1
    );
    let f = frames(&ev);
    assert_eq!(f.len(), 4);
    assert!(f[2].keyframe);
    assert_eq!(
        f.iter().map(|f| f.pts.ticks()).collect::<Vec<_>>(),
        vec![0, 3600, 7200, 10_800]
    );
}

#[test]
fn quirk_clock_jump_on_video_moves_audio_at_once() {
    // H.264 + G.711A; the device's clock jumps by an hour at frame 4, on both streams.
    // Audio must follow at once (not be "repaired" onto the old clock until enough PTS
    // agree), or the demuxer's output would be an hour out of A/V sync for a while.
    let psm = Psm {
        version: 0,
        current: true,
        info: Bytes::new(),
        streams: vec![
            PsmEntry {
                stream_type: 0x1B,
                stream_id: 0xE0,
                descriptors: Bytes::new(),
            },
            PsmEntry {
                stream_type: 0x90,
                stream_id: 0xC0,
                descriptors: Bytes::new(),
            },
        ],
        crc_ok: true,
    };
    let jump = 3600 * 90_000u64;
    let samples = [0xD5u8; 320];
    let mut s = BytesMut::new();
    for i in 0..8u64 {
        let pts = 900_000 + i * 3600 + if i >= 4 { jump } else { 0 };
        write_pack_header(&mut s, pts, 1000);
        if i == 0 {
            psm.write(&mut s);
        }
        let (sps, pps, vcl) = (
            SPS.to_vec(),
            PPS.to_vec(),
            if i == 0 {
                idr(50)
            } else {
                p_slice(50, i as u8)
            },
        );
        let au = if i == 0 {
            annexb(&[&sps, &pps, &vcl])
        } else {
            annexb(&[&vcl])
        };
        pes(&mut s, 0xE0, Some(pts), &au, false);
        pes(&mut s, 0xC0, Some(pts), &samples, false);
    }
    let (ev, d) = run(&s, PsDemuxConfig::default());
    let f = frames(&ev);
    let audio: Vec<i64> = f
        .iter()
        .filter(|f| f.track.0 == 0xC0)
        .map(|f| f.pts.ticks())
        .collect();
    let video: Vec<i64> = f
        .iter()
        .filter(|f| f.track.0 == 0xE0)
        .map(|f| f.pts.ticks())
        .collect();
    assert_eq!(video.len(), 8);
    assert_eq!(audio, video, "audio follows the video clock, jump included");
    assert_eq!(d.bogus_pts_fixed(0xC0), 0);
    // Without the video jump the same audio PTS stay bogus (the stuck/random-PTS quirk).
    let mut s2 = BytesMut::new();
    for i in 0..8u64 {
        let pts = 900_000 + i * 3600 + if i >= 4 { jump } else { 0 };
        write_pack_header(&mut s2, pts, 1000);
        if i == 0 {
            psm.write(&mut s2);
        }
        pes(&mut s2, 0xC0, Some(pts), &samples, false);
    }
    let (_, d2) = run(&s2, PsDemuxConfig::default());
    assert_eq!(d2.bogus_pts_fixed(0xC0), 4);
}
