//! Cameras and GB28181 devices lie. Each test sends a crafted GB28181 stream (RTP carrying
//! MPEG-PS, muxed by weir-ps and then damaged the way real devices damage it) to the relay
//! and checks what players get: pictures bit-exact to the source, timestamps a player can
//! use, and a stream that starts promptly and ends cleanly.
//!
//! The PS-level quirks have unit tests in `crates/ps/tests/quirks.rs`; these are end to end.

mod common;
mod wait;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use weir_flv::TagType;
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_rtmp_chunk::ClientEvent;
use weir_testutil::{interop_or_skip, TempDir};

const SSRC: u32 = 0x0DE1_CE01;
const GOP: usize = 25;

/// A device's media: video elementary stream (the reference pictures), tracks, and
/// canonical frames of both tracks (90 kHz, sorted by DTS).
struct Device {
    es: PathBuf,
    video: TrackInfo,
    audio: TrackInfo,
    frames: Vec<Frame>,
    audio_frames: usize,
}

impl Device {
    fn tracks(&self) -> [TrackInfo; 2] {
        [self.video.clone(), self.audio.clone()]
    }
}

fn device(dir: &TempDir, vcodec: Codec, seconds: u32) -> Device {
    let t = seconds.to_string();
    let es = dir.join(if vcodec == Codec::H264 {
        "src.h264"
    } else {
        "src.hevc"
    });
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        &t,
        "-pix_fmt",
        "yuv420p",
        "-flags:v",
        "+bitexact",
    ];
    if vcodec == Codec::H264 {
        args.extend([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            "0",
            "-f",
            "h264",
        ]);
    } else {
        args.extend([
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "bframes=0:keyint=25:min-keyint=25:log-level=none",
            "-f",
            "hevc",
        ]);
    }
    args.push(es.to_str().unwrap());
    weir_testutil::ffmpeg(&args);
    let aus = es_access_units(&es);
    let video =
        TrackInfo::new(TrackId(0), vcodec, 90_000).with_config(video_config(vcodec, &aus[0]));
    let mut frames = video_frames(vcodec, video.id, &aus);
    let aac = dir.join("src.aac");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        &t,
        "-c:a",
        "aac",
        "-f",
        "adts",
        aac.to_str().unwrap(),
    ]);
    let adts = Bytes::from(std::fs::read(&aac).unwrap());
    let raw: Vec<(weir_aac::AdtsHeader, Bytes)> =
        weir_aac::adts_frames(&adts).map(|r| r.unwrap()).collect();
    let audio = TrackInfo::new(TrackId(1), Codec::Aac, 90_000)
        .with_config(raw[0].0.to_config().to_bytes())
        .with_audio(AudioParams {
            sample_rate: 44_100,
            channels: 1,
        });
    for (i, (_, p)) in raw.iter().enumerate() {
        let ts = Timestamp::new(i as i64 * 1024 * 90_000 / 44_100, Timebase::MPEG);
        frames.push(Frame::new(audio.id, ts, ts, p.clone()).with_keyframe(true));
    }
    frames.sort_by_key(|f| (f.dts.ticks(), f.track));
    Device {
        es,
        video,
        audio,
        frames,
        audio_frames: raw.len(),
    }
}

/// One PS pack per frame, as the device's muxer writes them.
fn ps_frames(tracks: &[TrackInfo], frames: &[Frame]) -> Vec<(Frame, Bytes)> {
    let mut mux = weir_ps::PsMuxer::new(tracks, weir_ps::PsMuxConfig::default()).unwrap();
    frames
        .iter()
        .map(|f| {
            let mut out = BytesMut::new();
            mux.write_frame(f, &mut out).unwrap();
            (f.clone(), out.freeze())
        })
        .collect()
}

/// Where the PSM packet (`00 00 01 BC`, length) sits in a PS pack.
fn find_psm(ps: &[u8]) -> Option<(usize, usize)> {
    let at = ps.windows(4).position(|w| w == [0, 0, 1, 0xBC])?;
    let len = usize::from(u16::from_be_bytes([ps[at + 4], ps[at + 5]]));
    Some((at, 6 + len))
}

/// A PSM rewrite.
type PsmEdit = dyn Fn(&[u8]) -> Vec<u8>;

/// Rewrites the PSM of every pack that has one.
fn edit_psm(ps: &[(Frame, Bytes)], edit: impl Fn(&[u8]) -> Vec<u8>) -> Vec<(Frame, Bytes)> {
    ps.iter()
        .map(|(f, b)| match find_psm(b) {
            Some((at, len)) => {
                let mut out = b[..at].to_vec();
                out.extend(edit(&b[at..at + len]));
                out.extend_from_slice(&b[at + len..]);
                (f.clone(), Bytes::from(out))
            }
            None => (f.clone(), b.clone()),
        })
        .collect()
}

/// What one player got.
struct Played {
    flv: Bytes,
    media: FlvMedia,
    /// Time from the first packet sent to the first picture an RTMP player got.
    first_picture: Option<Duration>,
    rtmp: FlvMedia,
}

/// Starts a relay, an HTTP-FLV and an RTMP player, sends the packets (UDP or TCP) over
/// about `seconds`, and returns what the players got once the stream ended.
async fn run(packets: &[Bytes], tcp: bool, seconds: f64) -> Played {
    let mut config = test_config();
    config.gb28181.idle_timeout = Duration::from_millis(600);
    let relay = TestRelay::start(config).await;
    let key = weir_tokio::ingest::gb28181::stream_key(SSRC);
    let http = tokio::spawn({
        let (addr, path) = (relay.http, format!("/{key}.flv"));
        async move { http_get(addr, &path).await }
    });
    let rtmp = tokio::spawn({
        let (addr, key) = (relay.rtmp, key.clone());
        async move {
            let (app, name) = key.split_once('/').unwrap();
            let mut p = rtmp_connect(addr, app).await.play(name).await.unwrap();
            let mut tags = Vec::new();
            let mut first = None;
            while let Some(ev) = next_event(&mut p, Duration::from_secs(8)).await {
                match ev {
                    ClientEvent::Video { timestamp, data } => {
                        if first.is_none() && !is_video_sequence_header(&data) {
                            first = Some(Instant::now());
                        }
                        tags.push(weir_flv::Tag::new(TagType::Video, timestamp, data));
                    }
                    ClientEvent::Audio { timestamp, data } => {
                        tags.push(weir_flv::Tag::new(TagType::Audio, timestamp, data))
                    }
                    ClientEvent::StreamEof { .. } => break,
                    _ => {}
                }
            }
            (tags, first)
        }
    });
    relay.wait_for_players(&key, 2).await;
    let start = Instant::now();
    gb_send(&relay, packets, tcp, seconds).await;
    let limit = Duration::from_secs(20);
    let (code, _, flv) = tokio::time::timeout(limit, http)
        .await
        .expect("HTTP-FLV player ends")
        .unwrap();
    assert_eq!(code, 200);
    let (tags, first) = tokio::time::timeout(limit, rtmp)
        .await
        .expect("RTMP player ends")
        .unwrap();
    relay.stop().await;
    let (_, flv_tags_) = flv_tags(flv.clone());
    Played {
        media: flv_media(&flv_tags_),
        flv,
        first_picture: first.map(|t| t.duration_since(start)),
        rtmp: flv_media(&tags),
    }
}

/// The HTTP-FLV player's pictures decode to the source's, from the first one on; returns
/// how many.
fn assert_bit_exact(dev: &Device, dir: &TempDir, m: &FlvMedia, what: &str) -> usize {
    let ext = if dev.video.codec == Codec::H264 {
        "h264"
    } else {
        "hevc"
    };
    let out = dir.join(&format!("{}.{ext}", what.replace([' ', '/'], "_")));
    std::fs::write(&out, &m.annexb).unwrap();
    let start = assert_pictures(&dev.es, &out, &["-f", ext], GOP, what);
    assert_eq!(start, 0, "{what}: a waiting player gets every picture");
    m.video_times.len()
}

fn assert_audio(dev: &Device, m: &FlvMedia, what: &str) {
    assert!(
        m.audio.len() >= dev.audio_frames * 6 / 10,
        "{what}: {} of {} audio frames",
        m.audio.len(),
        dev.audio_frames
    );
}

/// Timestamps strictly increase and step by about one frame (40 ms at 25 fps).
fn assert_video_timing(m: &FlvMedia, what: &str) {
    let dts: Vec<i64> = m.video_times.iter().map(|t| t.0).collect();
    for w in dts.windows(2) {
        assert!(w[1] > w[0], "{what}: DTS {} then {}", w[0], w[1]);
        assert!(w[1] - w[0] <= 200, "{what}: DTS gap {} → {}", w[0], w[1]);
    }
    let avg = (dts[dts.len() - 1] - dts[0]) as f64 / (dts.len() - 1) as f64;
    assert!(
        (32.0..=48.0).contains(&avg),
        "{what}: average frame step {avg:.1} ms (want 40 ± 20%): {dts:?}"
    );
}

/// The PSM lists an AAC stream the device never sends. Players must not wait for it:
/// the picture comes promptly, and the stream they are told about is video-only (an FLV
/// header promising audio makes flv.js and others wait for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps_announces_audio_never_sent() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-noaudio");
    let dev = device(&dir, Codec::H264, 4);
    let video_only: Vec<Frame> = dev
        .frames
        .iter()
        .filter(|f| f.track == dev.video.id)
        .cloned()
        .collect();
    // The muxer is told about both tracks, so every PSM announces the audio.
    let ps = ps_frames(&dev.tracks(), &video_only);
    let psm = weir_ps::psm::Psm::parse(&ps[0].1[find_psm(&ps[0].1).unwrap().0..]).unwrap();
    assert_eq!(psm.streams.len(), 2, "the PSM announces audio");
    let played = run(&gb_packetize(&ps, SSRC), false, 4.0).await;
    let first = played.first_picture.expect("a picture");
    assert!(
        first < Duration::from_millis(2500),
        "first picture after {first:?}: players waited for the announced audio"
    );
    assert_bit_exact(&dev, &dir, &played.media, "video of a PS announcing audio");
    assert!(played.media.audio.is_empty() && played.media.audio_track.is_none());
    let (header, _) = flv_tags(played.flv.clone());
    assert!(header.has_video);
    assert!(
        !header.has_audio,
        "the FLV header promises audio that never comes"
    );
    // And ffmpeg sees a playable video-only stream.
    let f = dir.join("out.flv");
    std::fs::write(&f, &played.flv).unwrap();
    let kinds = weir_testutil::ffprobe([
        "-show_entries",
        "stream=codec_type,codec_name,width,height",
        "-of",
        "csv=p=0",
        f.to_str().unwrap(),
    ]);
    assert_eq!(kinds.trim(), "h264,video,320,240");
}

/// No PSM at all: the codecs are recognised from the elementary streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps_without_psm() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-nopsm");
    let dev = device(&dir, Codec::H264, 2);
    let ps = ps_frames(&dev.tracks(), &dev.frames);
    let ps = edit_psm(&ps, |_| Vec::new());
    assert!(ps.iter().all(|(_, b)| find_psm(b).is_none()));
    let played = run(&gb_packetize(&ps, SSRC), false, 2.0).await;
    assert_bit_exact(&dev, &dir, &played.media, "PS without PSM");
    assert_eq!(
        played.media.audio_track.as_ref().map(|t| t.codec),
        Some(Codec::Aac)
    );
    assert_audio(&dev, &played.media, "PS without PSM");
}

/// A PSM with a wrong CRC, one cut short, and one full of garbage: the first is used
/// (devices often write no CRC), the others are skipped as damage and the codecs are
/// recognised from the elementary streams. Either way the stream plays bit-exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps_with_corrupt_psm() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-badpsm");
    let dev = device(&dir, Codec::H264, 2);
    let ps = ps_frames(&dev.tracks(), &dev.frames);
    let bad_crc = |p: &[u8]| {
        let mut p = p.to_vec();
        let n = p.len();
        for b in &mut p[n - 4..] {
            *b ^= 0x5A;
        }
        p
    };
    let truncated = |p: &[u8]| {
        // The header says 8 bytes: the elementary stream map runs past the end.
        let mut p = p[..14].to_vec();
        p[4..6].copy_from_slice(&8u16.to_be_bytes());
        p
    };
    let garbage = |p: &[u8]| {
        let mut p = p.to_vec();
        let mut x: u32 = 0x1234_5678;
        for b in &mut p[6..] {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *b = (x >> 16) as u8;
        }
        p
    };
    let cases: [(&str, &PsmEdit); 3] = [
        ("bad CRC", &bad_crc),
        ("truncated", &truncated),
        ("garbage", &garbage),
    ];
    for (what, edit) in cases {
        let damaged = edit_psm(&ps, edit);
        let psm_bytes = &damaged[0].1[find_psm(&damaged[0].1).unwrap().0..];
        if let Ok(p) = weir_ps::psm::Psm::parse(psm_bytes) {
            assert!(!p.crc_ok, "{what}: the damage is real");
        }
        let played = run(&gb_packetize(&damaged, SSRC), false, 2.0).await;
        let what = format!("PSM {what}");
        assert_bit_exact(&dev, &dir, &played.media, &what);
        assert_audio(&dev, &played.media, &what);
    }
}

/// Every PES carries PTS = DTS = 0 and every RTP packet the same timestamp: players get
/// timestamps that increase by about the frame duration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dts_pts_stuck_at_zero() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-zero");
    let dev = device(&dir, Codec::H264, 2);
    let zero = Timestamp::new(0, Timebase::MPEG);
    let stuck: Vec<Frame> = dev
        .frames
        .iter()
        .map(|f| Frame::new(f.track, zero, zero, f.data.clone()).with_keyframe(f.keyframe))
        .collect();
    let ps = ps_frames(&dev.tracks(), &stuck);
    let packets = gb_packetize(&ps, SSRC);
    assert!(packets.iter().all(|p| p[4..8] == [0, 0, 0, 0]));
    let played = run(&packets, false, 2.0).await;
    assert_bit_exact(&dev, &dir, &played.media, "PTS/DTS stuck at 0");
    assert_video_timing(&played.media, "PTS/DTS stuck at 0 (HTTP-FLV)");
    assert_video_timing(&played.rtmp, "PTS/DTS stuck at 0 (RTMP)");
    let a = &played.media.audio_times;
    assert!(!a.is_empty(), "audio present");
    assert!(
        a.windows(2).all(|w| w[1] > w[0]),
        "audio timestamps increase: {a:?}"
    );
}

/// Appends `extra` to every SPS NAL unit of an Annex B access unit (after its
/// rbsp_trailing_bits), as some cameras do.
fn pad_sps(codec: Codec, frame: &Frame, extra: &[u8]) -> Frame {
    let mut out = BytesMut::new();
    for n in weir_h264::length_prefixed_units(&frame.data, 4) {
        let sps = match codec {
            Codec::H264 => n[0] & 0x1f == 7,
            _ => (n[0] >> 1) & 0x3f == 33,
        };
        let len = n.len() + if sps { extra.len() } else { 0 };
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(n);
        if sps {
            out.extend_from_slice(extra);
        }
    }
    Frame::new(frame.track, frame.pts, frame.dts, out.freeze()).with_keyframe(frame.keyframe)
}

/// SPS with bytes after rbsp_trailing_bits (zeros and garbage): the track is still
/// described as 320×240 and the pictures are the same as without the padding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sps_with_trailing_bytes() {
    interop_or_skip!();
    for codec in [Codec::H264, Codec::H265] {
        let dir = TempDir::new(&format!("quirk-sps-{codec}"));
        let dev = device(&dir, codec, 2);
        let extra = [0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF, 0x00];
        let padded: Vec<Frame> = dev
            .frames
            .iter()
            .map(|f| {
                if f.track == dev.video.id && f.keyframe {
                    pad_sps(codec, f, &extra)
                } else {
                    f.clone()
                }
            })
            .collect();
        assert_ne!(padded[0].data, dev.frames[0].data);
        // The device's own PSM/track info knows nothing of the codec configuration:
        // the relay learns it from the padded in-band SPS.
        let video = TrackInfo::new(dev.video.id, codec, 90_000);
        let ps = ps_frames(&[video, dev.audio.clone()], &padded);
        let played = run(&gb_packetize(&ps, SSRC), true, 2.0).await;
        let what = format!("{codec} SPS with trailing bytes");
        assert_bit_exact(&dev, &dir, &played.media, &what);
        // The decoder configuration players get says 320×240.
        let config = played.media.video_config.clone().expect("sequence header");
        let (w, h) = match codec {
            Codec::H264 => {
                let sps = weir_h264::AvcConfig::parse(&config)
                    .unwrap()
                    .parsed_sps()
                    .unwrap();
                (sps.width(), sps.height())
            }
            _ => {
                let sps = weir_h265::HevcConfig::parse(&config)
                    .unwrap()
                    .parsed_sps()
                    .unwrap();
                (sps.width(), sps.height())
            }
        };
        assert_eq!((w, h), (320, 240), "{what}: sequence header");
        if codec == Codec::H264 {
            let f = dir.join("out.flv");
            std::fs::write(&f, &played.flv).unwrap();
            let v = weir_testutil::probe_stream(&f, "v:0", "width,height");
            assert_eq!(
                v,
                [
                    ("width".to_string(), "320".to_string()),
                    ("height".to_string(), "240".to_string())
                ],
                "{what}: ffprobe"
            );
        }
        assert_audio(&dev, &played.media, &what);
    }
}

/// Rewrites the RTP timestamp of a packet.
fn set_rtp_ts(p: &Bytes, ts: u32) -> Bytes {
    let mut v = p.to_vec();
    v[4..8].copy_from_slice(&ts.to_be_bytes());
    Bytes::from(v)
}

/// The device's clock jumps at a keyframe mid-stream — one hour forward, then later 30 s
/// back (PES PTS/DTS and RTP timestamps alike): players see monotonic timestamps without
/// a gap, and every picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_timestamps_jump() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-jump");
    let dev = device(&dir, Codec::H264, 3);
    // Offsets (90 kHz) from the 2nd and 3rd GOP on: +1 h, then +1 h − 30 s − 1 h = −30 s.
    let second = Timestamp::new(25 * 3600, Timebase::MPEG);
    let third = Timestamp::new(50 * 3600, Timebase::MPEG);
    let offset = |f: &Frame| -> i64 {
        if f.dts.ticks() >= third.ticks() {
            -30 * 90_000
        } else if f.dts.ticks() >= second.ticks() {
            3600 * 90_000
        } else {
            0
        }
    };
    let base = 5_000_000i64;
    let jumped: Vec<Frame> = dev
        .frames
        .iter()
        .map(|f| {
            let o = offset(f) + base;
            let t = |x: Timestamp| Timestamp::new(x.ticks() + o, Timebase::MPEG);
            Frame::new(f.track, t(f.pts), t(f.dts), f.data.clone()).with_keyframe(f.keyframe)
        })
        .collect();
    let ps = ps_frames(&dev.tracks(), &jumped);
    let packets = gb_packetize(&ps, SSRC);
    for tcp in [false, true] {
        let played = run(&packets, tcp, 3.0).await;
        let what = format!(
            "clock jumps (GB28181 over {})",
            if tcp { "TCP" } else { "UDP" }
        );
        let n = assert_bit_exact(&dev, &dir, &played.media, &what);
        assert_eq!(n, 75, "{what}: every picture");
        assert_video_timing(&played.media, &what);
        assert_audio(&dev, &played.media, &what);
        let a = &played.media.audio_times;
        assert!(
            a.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] < 200),
            "{what}: audio timestamps {a:?}"
        );
    }
}

/// Devices that never set the RTP marker bit: frames end when the timestamp changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_marker_never_set() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-marker");
    let dev = device(&dir, Codec::H264, 2);
    let ps = ps_frames(&dev.tracks(), &dev.frames);
    let packets: Vec<Bytes> = gb_packetize(&ps, SSRC)
        .iter()
        .map(|p| {
            let mut v = p.to_vec();
            v[1] &= 0x7F;
            Bytes::from(v)
        })
        .collect();
    let played = run(&packets, false, 2.0).await;
    let n = assert_bit_exact(&dev, &dir, &played.media, "no RTP marker");
    // The last frame has no following timestamp: it ends with the stream.
    assert!(n >= 49, "{n} pictures");
    assert_audio(&dev, &played.media, "no RTP marker");
}

/// Video PES packets with PES_packet_length 0 (allowed only for video in TS, but devices
/// do it in PS): each runs to the next start code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pes_length_zero() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-pes0");
    let dev = device(&dir, Codec::H265, 2);
    let ps: Vec<(Frame, Bytes)> = ps_frames(&dev.tracks(), &dev.frames)
        .into_iter()
        .map(|(f, b)| {
            let mut v = b.to_vec();
            let mut i = 0;
            while i + 6 <= v.len() {
                if v[i..i + 4] == [0, 0, 1, 0xE0] {
                    v[i + 4] = 0;
                    v[i + 5] = 0;
                    i += 6;
                } else {
                    i += 1;
                }
            }
            (f, Bytes::from(v))
        })
        .collect();
    let played = run(&gb_packetize(&ps, SSRC), true, 2.0).await;
    assert_bit_exact(&dev, &dir, &played.media, "PES length 0");
    assert_audio(&dev, &played.media, "PES length 0");
}

/// The RTP timestamps jump (here: a random 32-bit value per GOP) while the PES
/// timestamps are right: the PS clock wins, players see a steady 25 fps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_clock_unrelated_to_pes_clock() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-rtpclock");
    let dev = device(&dir, Codec::H264, 2);
    let ps = ps_frames(&dev.tracks(), &dev.frames);
    let packets = gb_packetize(&ps, SSRC);
    // Packet timestamps grow by 3600 per frame; shift each GOP by an unrelated amount.
    let mut gop_shift = 0u32;
    let mut last = None;
    let mut frames = 0;
    let packets: Vec<Bytes> = packets
        .iter()
        .map(|p| {
            let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
            if last != Some(ts) {
                last = Some(ts);
                frames += 1;
                if frames % 40 == 0 {
                    gop_shift = gop_shift.wrapping_add(0x9E37_79B9);
                }
            }
            set_rtp_ts(p, ts.wrapping_add(gop_shift))
        })
        .collect();
    let played = run(&packets, false, 2.0).await;
    assert_bit_exact(&dev, &dir, &played.media, "RTP clock jumps");
    assert_video_timing(&played.media, "RTP clock jumps");
    assert_audio(&dev, &played.media, "RTP clock jumps");
}

/// The device switches SSRC mid-stream (a re-INVITE, or firmware that does it on a
/// keyframe): the new SSRC is a new stream (`rtp/` + SSRC); the old one ends cleanly once
/// its packets stop (idle timeout), its player having got every picture sent under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrc_change_mid_stream() {
    interop_or_skip!();
    const SSRC2: u32 = 0x0DE1_CE02;
    let dir = TempDir::new("quirk-ssrc");
    let dev = device(&dir, Codec::H264, 2);
    let ps = ps_frames(&dev.tracks(), &dev.frames);
    let cut = ps
        .iter()
        .position(|(f, _)| f.track == dev.video.id && f.dts.ticks() == 25 * 3600)
        .unwrap();
    assert!(ps[cut].0.keyframe);
    let mut packets = gb_packetize(&ps[..cut], SSRC);
    packets.extend(gb_packetize(&ps[cut..], SSRC2));

    let mut config = test_config();
    config.gb28181.idle_timeout = Duration::from_millis(600);
    let relay = TestRelay::start(config).await;
    let (a, b) = (
        weir_tokio::ingest::gb28181::stream_key(SSRC),
        weir_tokio::ingest::gb28181::stream_key(SSRC2),
    );
    let player = |key: &str| {
        let (addr, path) = (relay.http, format!("/{key}.flv"));
        tokio::spawn(async move { http_get(addr, &path).await })
    };
    let (pa, pb) = (player(&a), player(&b));
    relay.wait_for_players(&a, 1).await;
    relay.wait_for_players(&b, 1).await;
    gb_send(&relay, &packets, false, 2.0).await;
    let limit = Duration::from_secs(10);
    let (_, _, fa) = tokio::time::timeout(limit, pa)
        .await
        .expect("the old SSRC's stream ends")
        .unwrap();
    let (_, _, fb) = tokio::time::timeout(limit, pb).await.unwrap().unwrap();
    relay.stop().await;
    let want = weir_testutil::decoded_video_md5(&dev.es, &[]);
    let decode = |flv: Bytes, name: &str| {
        let m = flv_media(&flv_tags(flv).1);
        let f = dir.join(name);
        std::fs::write(&f, &m.annexb).unwrap();
        (weir_testutil::decoded_video_md5(&f, &["-f", "h264"]), m)
    };
    let (got_a, ma) = decode(fa, "a.h264");
    let (got_b, mb) = decode(fb, "b.h264");
    assert_eq!(
        got_a,
        want[..25].to_vec(),
        "old SSRC: pictures sent under it"
    );
    assert_eq!(
        got_b,
        want[25..].to_vec(),
        "new SSRC: the rest, from its keyframe"
    );
    assert!(
        !ma.audio.is_empty() && !mb.audio.is_empty(),
        "audio on both"
    );
}

/// A camera publishing over RTSP (ANNOUNCE, SETUP with RTP over UDP, RECORD), scripted
/// so its RTP can be anything.
struct RtspCam {
    sock: tokio::net::TcpStream,
    buf: BytesMut,
    cseq: u32,
    session: Option<String>,
    url: String,
    rtp: tokio::net::UdpSocket,
    /// The server's RTP port of each track, in SETUP order.
    targets: Vec<std::net::SocketAddr>,
}

impl RtspCam {
    async fn request(&mut self, head: &str, body: &str) -> weir_rtsp_proto::Response {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.cseq += 1;
        let mut req = format!("{head}\r\nCSeq: {}\r\n", self.cseq);
        if let Some(s) = &self.session {
            req.push_str(&format!("Session: {s}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.sock.write_all(req.as_bytes()).await.unwrap();
        let mut dec = weir_rtsp_proto::Decoder::new(weir_rtsp_proto::Limits::default());
        loop {
            if let Some(weir_rtsp_proto::Item::Message(weir_rtsp_proto::Message::Response(r))) =
                dec.decode(&mut self.buf).unwrap()
            {
                if let Some(s) = r.headers.get("Session") {
                    self.session = Some(s.split(';').next().unwrap().trim().to_string());
                }
                return r;
            }
            let n =
                tokio::time::timeout(Duration::from_secs(10), self.sock.read_buf(&mut self.buf))
                    .await
                    .expect("RTSP response")
                    .unwrap();
            assert!(n > 0, "RTSP connection closed");
        }
    }

    /// ANNOUNCE `sdp`, SETUP each of `controls` over UDP, RECORD.
    async fn publish(relay: &TestRelay, key: &str, sdp: &str, controls: &[&str]) -> RtspCam {
        let url = relay.rtsp_url(key);
        let mut cam = RtspCam {
            sock: tokio::net::TcpStream::connect(relay.rtsp.unwrap())
                .await
                .unwrap(),
            buf: BytesMut::new(),
            cseq: 0,
            session: None,
            url: url.clone(),
            rtp: tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            targets: Vec::new(),
        };
        let r = cam.request(&format!("ANNOUNCE {url} RTSP/1.0"), sdp).await;
        assert_eq!(r.status, 200);
        let port = cam.rtp.local_addr().unwrap().port();
        for c in controls {
            let r = cam
                .request(
                    &format!("SETUP {url}/{c} RTSP/1.0\r\nTransport: RTP/AVP;unicast;client_port={port}-{};mode=record", port + 1),
                    "",
                )
                .await;
            assert_eq!(r.status, 200);
            let transport = r.headers.get("Transport").unwrap().to_string();
            let server_port: u16 = transport
                .split(';')
                .find_map(|p| p.trim().strip_prefix("server_port="))
                .and_then(|p| p.split('-').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("server_port in {transport}"));
            cam.targets.push(std::net::SocketAddr::new(
                relay.rtsp.unwrap().ip(),
                server_port,
            ));
        }
        let r = cam.request(&format!("RECORD {url} RTSP/1.0"), "").await;
        assert_eq!(r.status, 200);
        cam
    }

    async fn send(&self, track: usize, packet: &[u8]) {
        self.rtp.send_to(packet, self.targets[track]).await.unwrap();
    }

    async fn teardown(mut self) {
        // TEARDOWN goes out on TCP once the relay has read every RTP datagram we sent (its
        // UDP sockets' queues are empty); it then publishes what is in flight and ends.
        let targets = self.targets.clone();
        wait::until("relay read our RTP", || {
            targets
                .iter()
                .all(|t| weir_testutil::udp_rx_queue(t.port()).is_none_or(|q| q == 0))
        })
        .await;
        let url = self.url.clone();
        let _ = self.request(&format!("TEARDOWN {url} RTSP/1.0"), "").await;
    }
}

const CAM_VIDEO_SDP: &str = "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:track1\r\n";

fn cam_sdp(media: &[&str]) -> String {
    let mut s = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n".to_string();
    for m in media {
        s.push_str(m);
    }
    s
}

/// Sends the device's video over the camera's first track in real time, the RTP timestamp
/// of picture `i` shifted by `shift(i)`; returns when the last picture is out.
async fn cam_send_video(cam: &RtspCam, dev: &Device, shift: impl Fn(usize) -> u32) {
    let (mut pk, _) = weir_rtp_rtcp::payload::packetizer_for_track(
        &dev.video,
        weir_rtp_rtcp::payload::PacketizerConfig::new(90_000),
    )
    .unwrap();
    let start = tokio::time::Instant::now();
    let video = dev.frames.iter().filter(|f| f.track == dev.video.id);
    for (i, f) in video.enumerate() {
        let mut pkts = Vec::new();
        pk.packetize(f, &mut pkts).unwrap();
        tokio::time::sleep_until(start + Duration::from_millis(i as u64 * 40)).await;
        for p in &pkts {
            let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]).wrapping_add(shift(i));
            cam.send(0, &set_rtp_ts(p, ts)).await;
        }
    }
}

/// A camera publishing over RTSP with RTP over UDP whose RTP clock jumps an hour forward
/// at the second keyframe and 30 s back at the third (no RTCP sender reports to explain
/// it): players see steady, monotonic timestamps and every picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_udp_rtp_timestamps_jump() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-rtsp-jump");
    let dev = device(&dir, Codec::H264, 3);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/jumpcam";
    let http = tokio::spawn({
        let (addr, path) = (relay.http, format!("/{key}.flv"));
        async move { http_get(addr, &path).await }
    });
    relay.wait_for_players(key, 1).await;
    let cam = RtspCam::publish(&relay, key, &cam_sdp(&[CAM_VIDEO_SDP]), &["track1"]).await;
    let hour = 3600u32 * 90_000;
    cam_send_video(&cam, &dev, |i| match i {
        0..25 => 0,
        25..50 => hour,
        _ => hour.wrapping_sub(30 * 90_000 + hour),
    })
    .await;
    cam.teardown().await;
    let (code, _, flv) = tokio::time::timeout(Duration::from_secs(15), http)
        .await
        .expect("player ends")
        .unwrap();
    assert_eq!(code, 200);
    relay.stop().await;
    let m = flv_media(&flv_tags(flv).1);
    let what = "RTSP/UDP RTP clock jumps";
    let n = assert_bit_exact(&dev, &dir, &m, what);
    assert!(n >= 74, "{what}: {n} pictures");
    assert_video_timing(&m, what);
}

/// The camera's SDP lists an AAC track it never sends (common with audio switched off in
/// the camera's settings): players get a prompt, playable, video-only stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_sdp_announces_audio_never_sent() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-rtsp-noaudio");
    let dev = device(&dir, Codec::H264, 4);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/mutecam";
    let http = tokio::spawn({
        let (addr, path) = (relay.http, format!("/{key}.flv"));
        async move { http_get(addr, &path).await }
    });
    let rtmp = tokio::spawn({
        let addr = relay.rtmp;
        async move {
            let mut p = rtmp_connect(addr, "live")
                .await
                .play("mutecam")
                .await
                .unwrap();
            while let Some(ev) = next_event(&mut p, Duration::from_secs(8)).await {
                if let ClientEvent::Video { data, .. } = ev {
                    if !is_video_sequence_header(&data) {
                        return Some(Instant::now());
                    }
                }
            }
            None
        }
    });
    relay.wait_for_players(key, 2).await;
    let aac = "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/44100/1\r\na=fmtp:97 streamtype=5;profile-level-id=15;mode=AAC-hbr;config=1208;sizelength=13;indexlength=3;indexdeltalength=3\r\na=control:track2\r\n";
    let cam = RtspCam::publish(
        &relay,
        key,
        &cam_sdp(&[CAM_VIDEO_SDP, aac]),
        &["track1", "track2"],
    )
    .await;
    let start = Instant::now();
    cam_send_video(&cam, &dev, |_| 0).await;
    cam.teardown().await;
    let limit = Duration::from_secs(15);
    let (code, _, flv) = tokio::time::timeout(limit, http).await.unwrap().unwrap();
    assert_eq!(code, 200);
    let first = tokio::time::timeout(limit, rtmp)
        .await
        .unwrap()
        .unwrap()
        .expect("a picture");
    relay.stop().await;
    let first = first.duration_since(start);
    assert!(
        first < Duration::from_millis(2500),
        "first picture after {first:?}: players waited for the announced audio"
    );
    let (header, tags) = flv_tags(flv);
    let m = flv_media(&tags);
    assert_bit_exact(&dev, &dir, &m, "RTSP SDP announcing audio");
    assert!(m.audio.is_empty());
    assert!(
        !header.has_audio,
        "the FLV header promises audio that never comes"
    );
}

/// The device starts sending mid-GOP (the platform's INVITE arrived between keyframes):
/// players start at the first keyframe, never on pictures that reference missing ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_starts_mid_gop() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-midgop");
    let dev = device(&dir, Codec::H264, 3);
    let ps = ps_frames(&dev.tracks(), &dev.frames);
    // From the 11th picture on (PSM and parameter sets only come with keyframes).
    let from = ps
        .iter()
        .position(|(f, _)| f.track == dev.video.id && f.dts.ticks() == 10 * 3600)
        .unwrap();
    let played = run(&gb_packetize(&ps[from..], SSRC), false, 2.6).await;
    let out = dir.join("out.h264");
    std::fs::write(&out, &played.media.annexb).unwrap();
    let start = assert_pictures(&dev.es, &out, &["-f", "h264"], GOP, "mid-GOP start");
    assert_eq!(start, 25, "the first keyframe sent");
    assert!(played.media.video_keyframes[0], "first frame a keyframe");
    assert_audio(&dev, &played.media, "mid-GOP start");
}

/// Audio PES stamped with PTS 0 (after the first) while the video clock is right: the
/// audio gets timestamps from its own sample count and stays in sync with the video.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_pts_stuck_video_fine() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-audio0");
    let dev = device(&dir, Codec::H264, 2);
    let zero = Timestamp::new(0, Timebase::MPEG);
    let mut first = true;
    let frames: Vec<Frame> = dev
        .frames
        .iter()
        .map(|f| {
            if f.track == dev.audio.id && !std::mem::take(&mut first) {
                Frame::new(f.track, zero, zero, f.data.clone()).with_keyframe(true)
            } else {
                f.clone()
            }
        })
        .collect();
    let played = run(
        &gb_packetize(&ps_frames(&dev.tracks(), &frames), SSRC),
        false,
        2.0,
    )
    .await;
    let what = "audio PTS stuck at 0";
    assert_bit_exact(&dev, &dir, &played.media, what);
    assert_video_timing(&played.media, what);
    assert_audio(&dev, &played.media, what);
    let a = &played.media.audio_times;
    let step = (a[a.len() - 1] - a[0]) as f64 / (a.len() - 1) as f64;
    assert!(
        (step - 1024.0 * 1000.0 / 44_100.0).abs() < 2.0,
        "{what}: audio step {step:.2} ms: {a:?}"
    );
    // Audio and video end together (both clocks run at the real rate from one start).
    let v_end = played.media.video_times.last().unwrap().0;
    let a_end = *a.last().unwrap();
    assert!(
        (v_end - a_end).abs() <= 100,
        "{what}: video ends at {v_end} ms, audio at {a_end} ms"
    );
}

/// An RTMP publisher whose stream starts mid-GOP (a restreamer that joined its source
/// between keyframes): a player waiting for the stream starts at the first keyframe,
/// never on inter frames it cannot decode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_publish_starting_mid_gop() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-rtmp-midgop");
    let dev = device(&dir, Codec::H264, 2);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/midgop";
    let http = tokio::spawn({
        let (addr, path) = (relay.http, format!("/{key}.flv"));
        async move { http_get(addr, &path).await }
    });
    relay.wait_for_players(key, 1).await;
    let mux = weir_flv::FlvMuxer::new(weir_flv::MuxConfig::default());
    let mut p = rtmp_connect(relay.rtmp, "live")
        .await
        .publish("midgop")
        .await
        .unwrap();
    for t in [&dev.video, &dev.audio] {
        let tag = mux.sequence_header(t, 0).unwrap().unwrap();
        match tag.tag_type {
            TagType::Video => p.session().send_video(0, tag.body).unwrap(),
            _ => p.session().send_audio(0, tag.body).unwrap(),
        }
    }
    // From the 11th picture on.
    for f in dev.frames.iter().filter(|f| f.dts.ticks() >= 10 * 3600) {
        let track = if f.track == dev.video.id {
            &dev.video
        } else {
            &dev.audio
        };
        let tag = mux.frame(track, f).unwrap();
        match tag.tag_type {
            TagType::Video => p.session().send_video(tag.timestamp, tag.body).unwrap(),
            _ => p.session().send_audio(tag.timestamp, tag.body).unwrap(),
        }
        p.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.close().await.unwrap();
    drop(p);
    let (code, _, flv) = tokio::time::timeout(Duration::from_secs(15), http)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, 200);
    relay.stop().await;
    let m = flv_media(&flv_tags(flv).1);
    assert!(
        m.video_keyframes.first() == Some(&true),
        "the player's first picture is not a keyframe: {:?}",
        &m.video_keyframes[..m.video_keyframes.len().min(5)]
    );
    let out = dir.join("out.h264");
    std::fs::write(&out, &m.annexb).unwrap();
    let start = assert_pictures(&dev.es, &out, &["-f", "h264"], GOP, "RTMP mid-GOP start");
    assert_eq!(start, 25);
}

/// A camera pushing over RTSP (SDP with `sprop-parameter-sets`) whose RTP starts mid-GOP:
/// a player waiting for the stream must start at the first keyframe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_publish_starting_mid_gop() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-rtsp-midgop");
    let dev = device(&dir, Codec::H264, 2);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/midgopcam";
    let http = tokio::spawn({
        let (addr, path) = (relay.http, format!("/{key}.flv"));
        async move { http_get(addr, &path).await }
    });
    relay.wait_for_players(key, 1).await;
    let (_, fmt) = weir_rtp_rtcp::payload::packetizer_for_track(
        &dev.video,
        weir_rtp_rtcp::payload::PacketizerConfig::new(90_000),
    )
    .unwrap();
    assert!(fmt
        .fmtp
        .as_deref()
        .unwrap_or("")
        .contains("sprop-parameter-sets"));
    let media = format!(
        "m=video 0 RTP/AVP {}\r\n{}a=control:track1\r\n",
        fmt.payload_type,
        fmt.attribute_lines()
    );
    let cam = RtspCam::publish(&relay, key, &cam_sdp(&[&media]), &["track1"]).await;
    let (mut pk, _) = weir_rtp_rtcp::payload::packetizer_for_track(
        &dev.video,
        weir_rtp_rtcp::payload::PacketizerConfig::new(90_000),
    )
    .unwrap();
    let start = tokio::time::Instant::now();
    let video = dev.frames.iter().filter(|f| f.track == dev.video.id);
    for (i, f) in video.enumerate().skip(10) {
        let mut pkts = Vec::new();
        pk.packetize(f, &mut pkts).unwrap();
        tokio::time::sleep_until(start + Duration::from_millis(i as u64 * 40)).await;
        for p in &pkts {
            cam.send(0, p).await;
        }
    }
    cam.teardown().await;
    let (code, _, flv) = tokio::time::timeout(Duration::from_secs(15), http)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, 200);
    relay.stop().await;
    let m = flv_media(&flv_tags(flv).1);
    assert!(
        m.video_keyframes.first() == Some(&true),
        "the player's first picture is not a keyframe: {:?}",
        &m.video_keyframes[..m.video_keyframes.len().min(5)]
    );
    let out = dir.join("out.h264");
    std::fs::write(&out, &m.annexb).unwrap();
    let start = assert_pictures(&dev.es, &out, &["-f", "h264"], GOP, "RTSP mid-GOP start");
    assert_eq!(start, 25);
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The SPS in the camera's SDP (`sprop-parameter-sets`) has bytes after its
/// rbsp_trailing_bits and the RTP carries no parameter sets in band: the relay still
/// describes the track as 320×240 and players decode the source pictures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_sprop_sps_with_trailing_bytes() {
    interop_or_skip!();
    let dir = TempDir::new("quirk-sprop-pad");
    let dev = device(&dir, Codec::H264, 2);
    let avcc = weir_h264::AvcConfig::parse(&dev.video.config).unwrap();
    let mut sps = avcc.sps[0].to_vec();
    sps.extend_from_slice(&[0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF]);
    let media = format!(
        "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets={},{}\r\na=control:track1\r\n",
        base64(&sps),
        base64(&avcc.pps[0])
    );
    let relay = TestRelay::start(test_config()).await;
    let key = "live/padcam";
    let http = tokio::spawn({
        let (addr, path) = (relay.http, format!("/{key}.flv"));
        async move { http_get(addr, &path).await }
    });
    relay.wait_for_players(key, 1).await;
    let cam = RtspCam::publish(&relay, key, &cam_sdp(&[&media]), &["track1"]).await;
    // The pictures without their in-band SPS/PPS.
    let track = TrackInfo::new(dev.video.id, Codec::H264, 90_000);
    let (mut pk, _) = weir_rtp_rtcp::payload::packetizer_for_track(
        &track,
        weir_rtp_rtcp::payload::PacketizerConfig::new(90_000),
    )
    .unwrap();
    let start = tokio::time::Instant::now();
    let video = dev.frames.iter().filter(|f| f.track == dev.video.id);
    for (i, f) in video.enumerate() {
        let mut data = BytesMut::new();
        for n in weir_h264::length_prefixed_units(&f.data, 4) {
            if !matches!(n[0] & 0x1f, 7 | 8) {
                data.extend_from_slice(&(n.len() as u32).to_be_bytes());
                data.extend_from_slice(n);
            }
        }
        let bare = Frame::new(f.track, f.pts, f.dts, data.freeze()).with_keyframe(f.keyframe);
        let mut pkts = Vec::new();
        pk.packetize(&bare, &mut pkts).unwrap();
        tokio::time::sleep_until(start + Duration::from_millis(i as u64 * 40)).await;
        for p in &pkts {
            cam.send(0, p).await;
        }
    }
    cam.teardown().await;
    let (code, _, flv) = tokio::time::timeout(Duration::from_secs(15), http)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, 200);
    relay.stop().await;
    let m = flv_media(&flv_tags(flv).1);
    let what = "sprop SPS with trailing bytes";
    let config = m.video_config.clone().expect("sequence header");
    let got = weir_h264::AvcConfig::parse(&config).unwrap();
    let parsed = got.parsed_sps().unwrap();
    assert_eq!((parsed.width(), parsed.height()), (320, 240), "{what}");
    let n = assert_bit_exact(&dev, &dir, &m, what);
    assert!(n >= 49, "{what}: {n} pictures");
}
