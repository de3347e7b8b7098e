//! HLS egress checked the way hls.js and ffmpeg use it: the playlist parses, every segment
//! decodes standalone and starts on a keyframe, durations match `#EXTINF`, and the
//! segments together carry the source pictures bit for bit.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use weir_testutil::{interop_or_skip, TempDir};

struct Playlist {
    media_sequence: u64,
    entries: Vec<(f64, String, bool)>,
    ended: bool,
    target: u64,
}

fn parse_playlist(text: &str) -> Playlist {
    assert!(text.starts_with("#EXTM3U"), "{text}");
    let mut p = Playlist {
        media_sequence: 0,
        entries: Vec::new(),
        ended: false,
        target: 0,
    };
    let mut dur = None;
    let mut disc = false;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            p.media_sequence = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            p.target = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            dur = Some(v.trim_end_matches(',').parse::<f64>().unwrap());
        } else if line == "#EXT-X-DISCONTINUITY" {
            disc = true;
        } else if line == "#EXT-X-ENDLIST" {
            p.ended = true;
        } else if !line.starts_with('#') && !line.is_empty() {
            p.entries.push((
                dur.take().expect("EXTINF before URI"),
                line.to_string(),
                disc,
            ));
            disc = false;
        }
    }
    p
}

fn probe_duration(file: &Path) -> f64 {
    weir_testutil::ffprobe([
        "-show_entries",
        "format=duration",
        "-of",
        "csv=p=0",
        file.to_str().unwrap(),
    ])
    .trim()
    .parse()
    .unwrap()
}

/// Fetches the playlist of `key` until it has ENDLIST, downloading every segment it lists.
async fn collect(
    relay: &TestRelay,
    key: &str,
    dir: &TempDir,
) -> (Vec<(u64, f64, std::path::PathBuf, bool)>, Vec<String>) {
    let mut got: Vec<(u64, f64, std::path::PathBuf, bool)> = Vec::new();
    let mut playlists = Vec::new();
    for _ in 0..200 {
        let (code, head, body) = http_get(relay.http, &format!("/{key}/index.m3u8")).await;
        assert_eq!(code, 200, "{head}");
        assert!(
            head.contains("content-type: application/vnd.apple.mpegurl"),
            "{head}"
        );
        assert!(head.contains("cache-control: no-cache"), "{head}");
        let text = String::from_utf8(body.to_vec()).unwrap();
        let p = parse_playlist(&text);
        for (i, (dur, uri, disc)) in p.entries.iter().enumerate() {
            let seq = p.media_sequence + i as u64;
            if got.iter().any(|(s, ..)| *s == seq) {
                continue;
            }
            // `N.ts`, with the HLS session id (players are sessions: see hls_clients.rs).
            let (file, query) = uri.split_once('?').unwrap_or((uri, ""));
            assert_eq!(file, format!("{seq}.ts"));
            assert!(query.starts_with("session="), "{uri}");
            let (code, head, data) = http_get(relay.http, &format!("/{key}/{uri}")).await;
            assert_eq!(code, 200, "segment {uri}: {head}");
            assert!(head.contains("content-type: video/mp2t"), "{head}");
            assert!(head.contains("max-age"), "{head}");
            let path = dir.join(&format!("seg{seq}.ts"));
            std::fs::write(&path, &data).unwrap();
            got.push((seq, *dur, path, *disc));
            assert!(
                *dur <= p.target as f64 + 0.001,
                "EXTINF {dur} over TARGETDURATION {}",
                p.target
            );
        }
        playlists.push(text);
        if p.ended {
            return (got, playlists);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("playlist never ended");
}

fn check_segments(segs: &[(u64, f64, std::path::PathBuf, bool)], streams: &str) {
    let last = segs.len() - 1;
    for (i, (seq, dur, path, _)) in segs.iter().enumerate() {
        let types = weir_testutil::ffprobe([
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
            path.to_str().unwrap(),
        ]);
        // TS probes list each stream again under its program: dedupe.
        let mut types: Vec<&str> = types
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.join(","), streams, "segment {seq} streams");
        if streams.contains("video") {
            let first = weir_testutil::ffprobe([
                "-select_streams",
                "v:0",
                "-show_entries",
                "packet=flags",
                "-of",
                "csv=p=0",
                "-read_intervals",
                "%+#1",
                path.to_str().unwrap(),
            ]);
            assert!(
                first.trim_start().starts_with('K'),
                "segment {seq} starts with a keyframe: {first}"
            );
        }
        // The last segment's duration is an estimate of its final frame; check the others.
        if i != last {
            let actual = probe_duration(path);
            assert!(
                (actual - dur).abs() <= dur * 0.10 + 0.05,
                "segment {seq}: EXTINF {dur} vs {actual}"
            );
        }
    }
}

fn concat(segs: &[(u64, f64, std::path::PathBuf, bool)], out: &Path) {
    let mut all = Vec::new();
    for (_, _, p, _) in segs {
        all.extend(std::fs::read(p).unwrap());
    }
    std::fs::write(out, all).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_segments_decode_standalone_and_carry_the_source() {
    interop_or_skip!();
    let dir = TempDir::new("hls");
    let src = make_source(&dir, "src.flv", 7, &[]);
    let mut config = test_config();
    config.hls.target_duration = Duration::from_secs(1);
    let relay = TestRelay::start(config).await;
    let key = "live/hls";
    let publisher = push(&src, &relay.rtmp_url(key));
    let (segs, _) = collect(&relay, key, &dir).await;
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    assert!(segs.len() >= 4, "{} segments", segs.len());
    check_segments(&segs, "audio,video");
    // Together the segments decode to the source pictures from a keyframe on.
    let all = dir.join("all.ts");
    concat(&segs, &all);
    let want = weir_testutil::decoded_video_md5(&src, &[]);
    let got = weir_testutil::decoded_video_md5(&all, &[]);
    let start = want
        .iter()
        .position(|m| *m == got[0])
        .expect("first picture is in the source");
    assert!(
        keyframe_indices(&src).contains(&start),
        "starts at a keyframe (source #{start})"
    );
    assert_eq!(
        got,
        want[start..].to_vec(),
        "pictures from source #{start} on"
    );
    let audio = packets(&all, "0:a");
    assert!(audio.len() > 200, "audio present: {} packets", audio.len());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_audio_only_and_discontinuity_on_republish() {
    interop_or_skip!();
    let dir = TempDir::new("hls-audio");
    let src = make_source(&dir, "src.flv", 3, &[]);
    let mut config = test_config();
    config.hls.target_duration = Duration::from_secs(1);
    config.publisher_grace = Duration::from_secs(3);
    let relay = TestRelay::start(config).await;
    let key = "live/radio";
    let audio_only = |src: &Path, url: String| {
        ffmpeg_child(&[
            "-re".into(),
            "-i".into(),
            src.display().to_string(),
            "-vn".into(),
            "-c".into(),
            "copy".into(),
            "-f".into(),
            "flv".into(),
            url,
        ])
    };
    let first = audio_only(&src, relay.rtmp_url(key));
    wait_ok(first, "first publisher", Duration::from_secs(20)).await;
    let second = audio_only(&src, relay.rtmp_url(key));
    let (segs, playlists) = collect(&relay, key, &dir).await;
    wait_ok(second, "second publisher", Duration::from_secs(20)).await;
    check_segments(&segs, "audio");
    let last = playlists.last().unwrap();
    assert!(
        last.contains("#EXT-X-DISCONTINUITY"),
        "publisher restart marked:\n{last}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn hls_unknown_stream_is_404() {
    let mut config = test_config();
    config.play_wait = Duration::from_millis(100);
    config.hls.target_duration = Duration::from_millis(100);
    let relay = TestRelay::start(config).await;
    let (code, _, _) = http_get(relay.http, "/live/none/index.m3u8").await;
    assert_eq!(code, 404);
    let (code, _, _) = http_get(relay.http, "/live/none/3.ts").await;
    assert_eq!(code, 404);
    relay.stop().await;
}

/// A track that appears after segments were served (audio starting late, as from OBS or
/// a camera) re-creates the segmenter: its segments continue the numbering (never reusing
/// a name a player may have fetched already) and the first one is a discontinuity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_late_track_continues_the_segment_numbering() {
    use bytes::{Bytes, BytesMut};
    use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
    const SPS: &[u8] = &[
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ];
    const PPS: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];
    let mut config = test_config();
    config.hls.target_duration = Duration::from_secs(1);
    config.hls.window = 10;
    config.publisher_grace = Duration::ZERO;
    let relay = TestRelay::start(config).await;
    let key = "live/late";
    let p = relay.hub.publish(key, "test").unwrap();
    let avcc = weir_h264::AvcConfig::from_parameter_sets(
        &[Bytes::from_static(SPS)],
        &[Bytes::from_static(PPS)],
    )
    .unwrap()
    .to_bytes();
    p.track(TrackInfo::new(TrackId(0), Codec::H264, 90_000).with_config(avcc));
    let video = |i: i64| {
        let mut d = BytesMut::new();
        let nal: &[u8] = if i % 25 == 0 {
            &[0x65, 0x88, 0x84]
        } else {
            &[0x41, 0x9a, 0x02]
        };
        d.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        d.extend_from_slice(nal);
        let t = Timestamp::new(i * 3600, Timebase::MPEG);
        Frame::new(TrackId(0), t, t, d.freeze()).with_keyframe(i % 25 == 0)
    };
    for i in 0..50 {
        p.frame(video(i));
    }
    // A player asks: the segmenter starts (from the cached GOP) and answers once the
    // first segment is cut.
    let http = relay.http;
    let first = tokio::spawn(async move { http_get(http, &format!("/{key}/index.m3u8")).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while relay.hub.streams().iter().all(|s| s.players == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the segmenter never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The player's session is listed before the segmenter subscribes: publish these two
    // seconds in real time while the first request waits, so that a segmenter starting late
    // on a loaded machine still sees a keyframe after its first segment's target.
    for i in 50..100 {
        p.frame(video(i));
        if !first.is_finished() {
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }
    let (code, _, _) = first.await.unwrap();
    assert_eq!(code, 200);
    // Audio starts late.
    p.track(
        TrackInfo::new(TrackId(1), Codec::Aac, 90_000)
            .with_config(Bytes::from_static(&[0x12, 0x08]))
            .with_audio(AudioParams {
                sample_rate: 44_100,
                channels: 1,
            }),
    );
    for i in 100..200i64 {
        p.frame(video(i));
        let t = Timestamp::new(i * 3600, Timebase::MPEG);
        p.frame(
            Frame::new(TrackId(1), t, t, Bytes::from_static(&[0x21, 0x10, 0x04]))
                .with_keyframe(true),
        );
    }
    drop(p);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let playlist = loop {
        let (_, _, body) = http_get(relay.http, &format!("/{key}/index.m3u8")).await;
        let pl = parse_playlist(&String::from_utf8_lossy(&body));
        if pl.ended {
            break pl;
        }
        assert!(std::time::Instant::now() < deadline, "stream never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let seqs: Vec<u64> = playlist
        .entries
        .iter()
        .map(|(_, uri, _)| uri.split(".ts").next().unwrap().parse().unwrap())
        .collect();
    assert!(seqs.len() >= 5, "{seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "unique, increasing: {seqs:?}"
    );
    let discontinuities = playlist.entries.iter().filter(|(_, _, d)| *d).count();
    assert_eq!(
        discontinuities, 1,
        "the re-created segmenter's first segment is marked"
    );
    relay.stop().await;
}
