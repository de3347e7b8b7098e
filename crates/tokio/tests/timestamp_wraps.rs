//! Source clocks that wrap mid-stream, at every width real sources wrap at:
//!
//! * ffmpeg's (and OBS's) FLV/RTMP muxer keeps 31 bits of the millisecond clock, so its
//!   timestamps go back to 0 after 2³¹ ms (24.8 days);
//! * RTMP's own clock is 32 bits of milliseconds and wraps after 2³² ms (49.7 days),
//!   carried in extended timestamps;
//! * MPEG-PS (GB28181) PTS/DTS are 33 bits of 90 kHz and wrap after 26.5 h;
//! * RTP timestamps are 32 bits of the media clock (13.3 h at 90 kHz, 27 h at 44.1 kHz).
//!
//! Each test publishes 6 s of H.264 with B-frames + AAC (testsrc2 and a tone, made
//! deterministically by ffmpeg) whose clock starts 3 s before the wrap, from weir's RTMP
//! client, a GB28181 test device (UDP and TCP) or a scripted RTSP publisher (TCP
//! interleaved and UDP). Players wait on every egress — RTMP, HTTP-FLV, WebSocket-FLV, RTSP
//! over TCP and over UDP, HLS — and one subscribes to the hub itself; the wrap happens
//! after they all joined. Every one of them must see:
//!
//! * every picture, bit-exact to the source, from the first (a keyframe);
//! * per track, decode timestamps strictly increasing, never stepping by more than three
//!   frame durations, and never after the presentation time;
//! * every picture at its source presentation time (relative to the first picture, within
//!   2 ms of rounding) — so presentation order is the source's and the wrap is invisible;
//! * the audio a bit-exact, contiguous run of the source's, each frame at its source
//!   time, and audio and video as far apart as in the source (within 50 ms).
//!
//! (The hub moves a stream whose first timestamp is outside [0, 1 h) to start at 1 s, so
//! players see small timestamps: the wrap happens in the source only.)

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use tokio::sync::watch;
use weir_media::{Codec, Frame, MediaKind, Timebase, Timestamp};
use weir_rtp_rtcp::payload::{packetizer_for_track, PacketizerConfig};
use weir_testutil::{interop_or_skip, TempDir};

const SECONDS: u32 = 6;
/// The source clock starts this long (ms of media time) before its wrap.
const BEFORE_WRAP_MS: u64 = 3000;
const GOP: usize = 25;
const FRAME_MS: f64 = 40.0;
const AAC_FRAME_MS: f64 = 1024.0 * 1000.0 / 44_100.0;
/// Rounding allowed between a timestamp and the source's (millisecond clocks on the way).
const TOLERANCE_MS: f64 = 2.0;
const SSRC: u32 = 0x0000_3A9E;

#[derive(Clone, Copy, Debug)]
enum Ingest {
    /// weir's RTMP client; the clock keeps `bits` bits (31: ffmpeg, 32: RTMP).
    Rtmp { bits: u32 },
    /// A GB28181 device: RTP/PS, 33-bit PES clock.
    Gb28181 { tcp: bool },
    /// A scripted RTSP publisher: 32-bit RTP clocks.
    Rtsp { tcp: bool },
}

/// The timestamps one player saw, in ms and in the order received: video (dts, pts),
/// audio.
#[derive(Default, Debug)]
struct Times {
    video: Vec<(f64, f64)>,
    audio: Vec<f64>,
}

/// Subscribes to the hub like a player and records every frame's timestamps (and audio
/// payloads) until the stream ends; `counts` follows how many video and audio frames came.
async fn hub_view(
    hub: weir_tokio::Hub,
    key: String,
    counts: watch::Sender<(usize, usize)>,
) -> (Times, Vec<Bytes>) {
    let mut sub = hub.subscribe(&key, "test").await.expect("hub subscription");
    let (mut times, mut audio) = (Times::default(), Vec::new());
    let ms = |t: Timestamp| {
        let tb = t.timebase();
        t.ticks() as f64 * f64::from(tb.num()) * 1000.0 / f64::from(tb.den())
    };
    while let Some(u) = sub.next().await {
        let (Some(f), Some(track)) = (u.frame_data(), u.track()) else {
            continue;
        };
        if track.codec.kind() == MediaKind::Video {
            times.video.push((ms(f.dts), ms(f.pts)));
        } else {
            times.audio.push(ms(f.dts));
            audio.push(f.data.clone());
        }
        counts.send_replace((times.video.len(), times.audio.len()));
    }
    (times, audio)
}

/// Checks one player's timestamps against the source (see the module docs). `audio` is
/// what it got of the audio (already checked to be a contiguous run of the source's).
fn check_times(src: &MediaSource, t: &Times, audio: &[Bytes], what: &str) {
    let v = &t.video;
    assert!(
        v.len() + 1 >= src.video_times.len(),
        "{what}: {} of {} pictures",
        v.len(),
        src.video_times.len()
    );
    for (i, w) in v.windows(2).enumerate() {
        let ((d0, _), (d1, p1)) = (w[0], w[1]);
        assert!(
            d1 > d0 && d1 - d0 <= 3.0 * FRAME_MS + TOLERANCE_MS,
            "{what}: video dts {d0} → {d1} at picture {}",
            i + 1
        );
        assert!(
            d1 <= p1 + TOLERANCE_MS,
            "{what}: picture {} dts {d1} after pts {p1}",
            i + 1
        );
    }
    // (ffmpeg's RTSP reader leaves the first picture's pts unset: presentation times are
    // compared from the first picture that has one.)
    let unknown = v.iter().filter(|x| x.1.is_nan()).count();
    assert!(unknown <= 1, "{what}: {unknown} pictures without pts");
    let r = v.iter().position(|x| !x.1.is_nan()).expect("a pts");
    let (pr, sr) = (v[r].1, src.video_times[r].1 as f64);
    for (i, ((_, p), (_, sp))) in v.iter().zip(&src.video_times).enumerate().skip(r) {
        let (got, want) = (p - pr, *sp as f64 - sr);
        assert!(
            (got - want).abs() <= TOLERANCE_MS,
            "{what}: picture {i} presented at {got:.1} ms, source {want} ms (relative to picture {r})"
        );
    }
    let mut pts: Vec<f64> = v.iter().map(|x| x.1).filter(|p| !p.is_nan()).collect();
    pts.sort_by(f64::total_cmp);
    for w in pts.windows(2) {
        assert!(
            w[1] > w[0] && w[1] - w[0] <= 3.0 * FRAME_MS + TOLERANCE_MS,
            "{what}: presentation times {} → {}",
            w[0],
            w[1]
        );
    }

    let a = &t.audio;
    assert!(a.len() >= 2, "{what}: {} audio frames", a.len());
    for (j, x) in a.iter().enumerate() {
        let want = j as f64 * AAC_FRAME_MS;
        assert!(
            ((x - a[0]) - want).abs() <= TOLERANCE_MS,
            "{what}: audio frame {j} at {:.1} ms, source {want:.1} ms (relative to the first): {a:?}",
            x - a[0]
        );
    }
    // Where the first picture is presented, by the source's distance from the reference.
    let first_pts = pr - (sr - src.video_times[0].1 as f64);
    check_sync(src, first_pts, a[0], audio, what);
}

/// Pictures bit-exact from the first source picture; audio bit-exact and contiguous.
fn check_media(
    src: &MediaSource,
    es: &std::path::Path,
    args: &[&str],
    audio: &[Bytes],
    what: &str,
) {
    let start = assert_pictures(&src.es, es, args, GOP, what);
    assert_eq!(start, 0, "{what}: a waiting player gets every picture");
    check_audio(src, audio, what);
}

/// An FLV player (RTMP, HTTP-FLV, WS-FLV): pictures, audio and timestamps.
fn check_flv(src: &MediaSource, dir: &TempDir, tags: &[weir_flv::Tag], what: &str) {
    let m = flv_media(tags);
    let es = dir.join(&format!("{}.h264", what.replace(['/', ' ', '→'], "_")));
    std::fs::write(&es, &m.annexb).unwrap();
    check_media(src, &es, &["-f", "h264"], &m.audio, what);
    let times = Times {
        video: m
            .video_times
            .iter()
            .map(|&(d, p)| (d as f64, p as f64))
            .collect(),
        audio: m.audio_times.iter().map(|&t| t as f64).collect(),
    };
    check_times(src, &times, &m.audio, what);
}

/// Packet times of a `framemd5` listing / file as [`Times`] (stream 0 video, 1 audio).
fn times_of(streams: Vec<Vec<(f64, f64)>>, what: &str) -> Times {
    assert_eq!(streams.len(), 2, "{what}: video and audio streams");
    Times {
        video: streams[0].clone(),
        audio: streams[1].iter().map(|t| t.1).collect(),
    }
}

/// Publishes the source over RTMP with weir's client, its clock starting
/// [`BEFORE_WRAP_MS`] before 2^`bits` ms and keeping `bits` bits.
async fn publish_rtmp(relay: &TestRelay, key: &str, src: &MediaSource, bits: u32) {
    let period = 1u64 << bits;
    let base = period - BEFORE_WRAP_MS;
    let wire = move |t: u32| ((base + u64::from(t)) % period) as u32;
    let last = src
        .frames
        .last()
        .unwrap()
        .dts
        .rescale(Timebase::MILLIS)
        .ticks();
    assert!(wire(0) > wire(last as u32), "the clock wraps mid-stream");
    rtmp_publish_clock(relay, key, src, wire).await;
}

/// Sends the source as a GB28181 device whose PES clock starts [`BEFORE_WRAP_MS`] before
/// 2^33 (90 kHz) and wraps (the RTP timestamps, its low 32 bits, wrap with it).
async fn publish_gb28181(relay: &TestRelay, src: &MediaSource, tcp: bool) {
    let period = 1i64 << 33;
    let base = period - BEFORE_WRAP_MS as i64 * 90;
    let wrap = |t: Timestamp| {
        Timestamp::new(
            (t.rescale(Timebase::MPEG).ticks() + base) % period,
            Timebase::MPEG,
        )
    };
    // In sending (decode) order: once wrapped, the timestamps no longer sort.
    let frames: Vec<Frame> = src
        .frames
        .iter()
        .map(|f| {
            Frame::new(f.track, wrap(f.pts), wrap(f.dts), f.data.clone()).with_keyframe(f.keyframe)
        })
        .collect();
    assert!(
        frames[0].dts.ticks() > frames[frames.len() - 1].dts.ticks(),
        "the clock wraps mid-stream"
    );
    let packets = gb_rtp_packets_in_order(&[src.video.clone(), src.audio.clone()], &frames, SSRC);
    gb_send(relay, &packets, tcp, f64::from(SECONDS)).await;
}

/// Publishes the source with a scripted RTSP publisher whose RTP clocks start
/// [`BEFORE_WRAP_MS`] before 2^32 (video 90 kHz, audio 44.1 kHz) and wrap; each track's
/// first RTCP sender report maps media time 0 of both to the same wallclock. Paced in
/// real time; TEARDOWN once the hub has every frame (`counts`).
async fn publish_rtsp(
    relay: &TestRelay,
    key: &str,
    src: &MediaSource,
    tcp: bool,
    mut counts: watch::Receiver<(usize, usize)>,
) {
    use weir_rtp_rtcp::rtcp::SenderReport;
    use weir_rtp_rtcp::{Compound, NtpTime, RtcpPacket};
    let audio_clock = 44_100u32;
    let mut audio_info = src.audio.clone();
    audio_info.clock_rate = audio_clock;
    let offset =
        |clock: u32| (1u64 << 32).wrapping_sub(BEFORE_WRAP_MS * u64::from(clock) / 1000) as u32;
    let (v_off, a_off) = (offset(90_000), offset(audio_clock));
    let cfg = |pt: u8, ssrc: u32, off: u32| {
        PacketizerConfig::new(0)
            .with_payload_type(pt)
            .with_ssrc(ssrc)
            .with_initial_sequence_number(65_000)
            .with_timestamp_offset(off)
    };
    let (mut vpk, vsdp) = packetizer_for_track(&src.video, cfg(96, 0x0101_0101, v_off)).unwrap();
    let (mut apk, asdp) = packetizer_for_track(&audio_info, cfg(97, 0x0202_0202, a_off)).unwrap();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=wrap\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=video 0 RTP/AVP 96\r\n{}a=control:streamid=0\r\n\
         m=audio 0 RTP/AVP 97\r\n{}a=control:streamid=1\r\n",
        vsdp.attribute_lines(),
        asdp.attribute_lines()
    );
    let mut p = RtspPublisher::publish(relay, key, &sdp, &["streamid=0", "streamid=1"], tcp).await;
    // Media time 0 of both tracks at one wallclock instant.
    let ntp = NtpTime::new(3_900_000_000, 0);
    for (track, ssrc, rtp_time) in [(0, 0x0101_0101, v_off), (1, 0x0202_0202, a_off)] {
        let sr = SenderReport {
            ssrc,
            ntp_time: ntp,
            rtp_time,
            ..SenderReport::default()
        };
        let c = Compound::new(vec![RtcpPacket::SenderReport(sr)]);
        p.send_rtcp(track, c.to_bytes().unwrap()).await;
    }
    let start = tokio::time::Instant::now();
    let (mut audio_index, mut video_frames, mut audio_frames) = (0i64, 0, 0);
    let mut wrapped = [false, false];
    for f in &src.frames {
        let due = f.dts.rescale(Timebase::MILLIS).ticks().max(0) as u64;
        tokio::time::sleep_until(start + Duration::from_millis(due)).await;
        let mut packets = Vec::new();
        let track = if f.track == src.video.id {
            video_frames += 1;
            vpk.packetize(f, &mut packets).unwrap();
            0
        } else {
            // Exactly 1024 samples per frame on the audio clock (from the frame index,
            // not a rounded 90 kHz time), plus the source's audio start.
            let tb = Timebase::hz(audio_clock).unwrap();
            let at = Timestamp::new(
                audio_index * 1024 + src.audio_shift * i64::from(audio_clock) / 1000,
                tb,
            );
            audio_index += 1;
            audio_frames += 1;
            let frame = Frame::new(f.track, at, at, f.data.clone()).with_keyframe(true);
            apk.packetize(&frame, &mut packets).unwrap();
            1
        };
        for pkt in packets {
            let ts = u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]);
            wrapped[track] |= ts < [v_off, a_off][track];
            p.send_rtp(track, pkt).await;
        }
    }
    assert_eq!(wrapped, [true, true], "both RTP clocks wrap mid-stream");
    // Every frame is in the hub (UDP: past the jitter buffer) before TEARDOWN.
    let all = {
        let wait = counts.wait_for(|c| c.0 >= video_frames && c.1 >= audio_frames);
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_ok()
    };
    if !all {
        let got = *counts.borrow();
        eprintln!("RTSP publisher: the hub did not get every frame: {got:?}");
    }
    p.teardown().await;
}

async fn wrap_case(ingest: Ingest) {
    let name = format!("{ingest:?}");
    let dir = TempDir::new(&format!("wrap-{}", name.replace([' ', '{', '}', ':'], "")));
    let src = media_source(&dir, Codec::H264, Codec::Aac, true, SECONDS);
    let mut config = test_config();
    config.hls.target_duration = Duration::from_secs(1);
    config.gb28181.idle_timeout = Duration::from_millis(600);
    let relay = TestRelay::start(config).await;
    let key = match ingest {
        Ingest::Gb28181 { .. } => weir_tokio::ingest::gb28181::stream_key(SSRC),
        _ => "live/wrap".to_string(),
    };
    let (counts_tx, counts) = watch::channel((0, 0));
    let hub = tokio::spawn(hub_view(relay.hub.clone(), key.clone(), counts_tx));
    let players = Egresses::start(&relay, &key, &dir, Codec::H264, Codec::Aac, 1).await;
    match ingest {
        Ingest::Rtmp { bits } => publish_rtmp(&relay, &key, &src, bits).await,
        Ingest::Gb28181 { tcp } => publish_gb28181(&relay, &src, tcp).await,
        Ingest::Rtsp { tcp } => publish_rtsp(&relay, &key, &src, tcp, counts).await,
    }
    let limit = Duration::from_secs(30);
    let played = players.finish(limit).await;
    let (hub_times, hub_audio) = tokio::time::timeout(limit, hub)
        .await
        .expect("hub subscription ends")
        .unwrap();
    relay.stop().await;

    // Every egress is checked (a failure is reported with the others).
    let what = |egress: &str| format!("{name} → {egress}");
    let mut failed = Vec::new();
    let mut check = |egress: &str, f: &mut dyn FnMut(&str)| {
        let w = what(egress);
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&w))).is_err() {
            failed.push(w);
        }
    };
    check("hub", &mut |w| {
        check_audio(&src, &hub_audio, w);
        check_times(&src, &hub_times, &hub_audio, w);
    });
    check("RTMP", &mut |w| check_flv(&src, &dir, &played.rtmp, w));
    check("HTTP-FLV", &mut |w| {
        check_flv(&src, &dir, &flv_tags(played.http_flv.clone()).1, w)
    });
    check("WS-FLV", &mut |w| {
        check_flv(&src, &dir, &flv_tags(played.ws_flv.clone()).1, w)
    });
    for r in &played.rtsp {
        check(r.name, &mut |w| {
            let audio = audio_units_of(Codec::Aac, &r.audio);
            check_media(&src, &r.video, &[], &audio, w);
            let listing = std::fs::read_to_string(&r.packets).unwrap();
            check_times(&src, &times_of(framemd5_times(&listing), w), &audio, w);
        });
    }
    check("HLS", &mut |w| {
        let ts = dir.join("hls.ts");
        std::fs::write(&ts, &played.hls).unwrap();
        let adts = dir.join("hls.aac");
        weir_testutil::ffmpeg([
            "-i",
            ts.to_str().unwrap(),
            "-map",
            "0:a",
            "-c",
            "copy",
            "-f",
            "adts",
            adts.to_str().unwrap(),
        ]);
        let audio = audio_units_of(Codec::Aac, &adts);
        check_media(&src, &ts, &[], &audio, w);
        let times = times_of(file_times(&ts, &["0:v", "0:a"]), w);
        check_times(&src, &times, &audio, w);
    });
    assert!(failed.is_empty(), "failed: {failed:?} (messages above)");
}

/// ffmpeg's FLV/RTMP muxer keeps 31 bits: its clock goes from 2³¹ − 1 ms back to 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_flv_clock_reset_at_2_pow_31() {
    interop_or_skip!();
    wrap_case(Ingest::Rtmp { bits: 31 }).await;
}

/// RTMP's 32-bit millisecond clock wraps (extended timestamps on the wire).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_32_bit_clock_wrap() {
    interop_or_skip!();
    wrap_case(Ingest::Rtmp { bits: 32 }).await;
}

/// A GB28181 device's 33-bit PES PTS/DTS wrap (over UDP, then over TCP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gb28181_ps_33_bit_pts_wrap() {
    interop_or_skip!();
    wrap_case(Ingest::Gb28181 { tcp: false }).await;
    wrap_case(Ingest::Gb28181 { tcp: true }).await;
}

/// An RTSP publisher's 32-bit RTP clocks wrap (TCP interleaved, then UDP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_rtp_32_bit_clock_wrap() {
    interop_or_skip!();
    wrap_case(Ingest::Rtsp { tcp: true }).await;
    wrap_case(Ingest::Rtsp { tcp: false }).await;
}
