//! Recording in the relay, checked with ffprobe/ffmpeg: every file the relay writes
//! (fragmented and progressive MP4; H.264 with B-frames, H.265, AAC, Opus) has the
//! source's stream parameters, frame counts and decoded pictures and sound; rotation at the
//! next keyframe after `segment_ms` and on codec change; a publisher that reconnects twice
//! gives one continuous file; retention by age and size never deletes a file being served;
//! the recordings API and the `on_record_done` hook; a relay killed with SIGKILL
//! mid-segment leaves a readable file.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_media::Codec;
use weir_testutil::{interop_or_skip, TempDir};
use weir_tokio::config::{RecordConfig, RecordFormat};
use weir_tokio::RelayConfig;

fn record_config(dir: &Path, format: RecordFormat) -> RelayConfig {
    let mut c = test_config();
    let mut r = RecordConfig::default();
    r.dir = dir.to_path_buf();
    r.format = format;
    r.streams = vec!["live/*".into()];
    c.record = r;
    c
}

/// The finished files of `key` once its recorder has stopped (waits up to 30 s).
async fn finished_files(relay: &TestRelay, key: &str) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, _, body) =
            http_request(relay.http, "GET", &format!("/api/v1/recordings/{key}"), "").await;
        if code == 200 {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let files = v["files"].as_array().cloned().unwrap_or_default();
            let writing = files.iter().any(|f| f["in_progress"] == true);
            if v["recording"] == false && !files.is_empty() && !writing {
                return files;
            }
        }
        assert!(Instant::now() < deadline, "{key}: recording never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn file_of(dir: &Path, key: &str, f: &serde_json::Value) -> PathBuf {
    dir.join(key).join(f["name"].as_str().unwrap())
}

fn count_packets(file: &Path, stream: &str) -> usize {
    let out = weir_testutil::ffprobe([
        "-count_packets",
        "-select_streams",
        stream,
        "-show_entries",
        "stream=nb_read_packets",
        "-of",
        "csv=p=0",
        &file.display().to_string(),
    ]);
    // MPEG-TS: the stream is listed once more under its program (same count).
    out.lines().find_map(|l| l.trim().parse().ok()).unwrap_or(0)
}

fn params(file: &Path, stream: &str) -> Vec<(String, String)> {
    let mut all =
        weir_testutil::probe_stream(file, stream, "codec_name,width,height,sample_rate,channels");
    // MPEG-TS: ffprobe lists the stream once more under its program.
    if let Some(again) = all.iter().skip(1).position(|(k, _)| *k == all[0].0) {
        all.truncate(again + 1);
    }
    all
}

/// Checks a recorded file against the source: stream parameters, frame counts, decoded
/// pictures and sound.
fn assert_same_media(src: &MediaSource, file: &Path, what: &str) {
    let afile = match src.audio.codec {
        Codec::Aac => src.mkv.with_file_name("src.aac"),
        _ => src.mkv.with_file_name("src.ogg"),
    };
    assert_eq!(
        params(file, "v:0"),
        params(&src.mkv, "v:0"),
        "{what}: video parameters"
    );
    assert_eq!(
        params(file, "a:0"),
        params(&src.mkv, "a:0"),
        "{what}: audio parameters"
    );
    assert_eq!(
        count_packets(file, "v:0"),
        src.video_times.len(),
        "{what}: pictures"
    );
    assert_eq!(
        count_packets(file, "a:0"),
        src.audio_units.len(),
        "{what}: audio frames"
    );
    assert!(
        decoded_md5(file, "0:v:0") == decoded_md5(&src.mkv, "0:v:0"),
        "{what}: decoded pictures differ"
    );
    let (mut got, mut want) = (decoded_md5(file, "0:a:0"), decoded_md5(&afile, "0:a:0"));
    if src.audio.codec == Codec::Opus {
        // Ogg trims the last packet's padding (its end granule position); MP4 has no edit
        // for it and plays the whole packet, so the last decoded frame is longer. The
        // packets themselves are the source's, byte for byte (the first and last ones'
        // framemd5 lines differ only by the skip-samples side data Ogg attaches):
        let md5s = |f: &Path| -> Vec<String> {
            let mut v: Vec<String> = weir_testutil::framemd5(f, "0:a:0", &[])
                .iter()
                .skip(1)
                // dts, pts, duration, size, md5[, side data (MPEG-TS adds some)]
                .map(|l| l.split(',').nth(4).unwrap_or("").trim().to_string())
                .collect();
            v.pop();
            v
        };
        assert_eq!(md5s(file), md5s(&afile), "{what}: sound packets");
        if file.extension().is_some_and(|e| e == "ts") {
            // MPEG-TS has no field for Opus's pre-skip (ffmpeg's demuxer assumes 0), so
            // its decoded sound starts with the samples Ogg and MP4 skip: the source's
            // sound is the rest of it, sample for sample.
            let (got, want) = (pcm(file), pcm(&afile));
            let skip = got
                .windows(4096)
                .position(|w| w == &want[..4096])
                .unwrap_or_else(|| panic!("{what}: the source's sound is not in the file"));
            assert!(
                skip <= 2 * 2 * 960,
                "{what}: {skip} bytes before the source's sound"
            );
            let n = want.len().min(got.len() - skip);
            assert!(n + 2 * 2 * 960 >= want.len(), "{what}: sound cut short");
            assert!(
                got[skip..skip + n] == want[..n],
                "{what}: decoded sound differs"
            );
            return;
        }
        got.pop();
        want.pop();
    }
    assert!(got == want, "{what}: decoded sound differs");
}

/// The first audio stream of `file` decoded to 16-bit PCM.
fn pcm(file: &Path) -> Vec<u8> {
    weir_testutil::ffmpeg([
        "-i",
        &file.display().to_string(),
        "-map",
        "0:a:0",
        "-f",
        "s16le",
        "-",
    ])
    .stdout
}

/// An H.265 FLV recording (enhanced FLV, which ffmpeg 5.1 cannot read) against the source,
/// read with weir-flv: codec, every picture decoded bit-exact (Annex B out of the tags),
/// decode and presentation times, and the audio payloads.
fn assert_same_flv_media(src: &MediaSource, file: &Path, what: &str) {
    let (_, tags) = flv_tags(Bytes::from(std::fs::read(file).unwrap()));
    let m = flv_media(&tags);
    assert_eq!(m.video_codec, Some(src.video.codec), "{what}: video codec");
    assert_eq!(m.video_times, src.video_times, "{what}: picture times");
    assert_eq!(m.audio, src.audio_units, "{what}: audio frames");
    let es = file.with_extension("annexb");
    std::fs::write(&es, &m.annexb).unwrap();
    let start = assert_pictures(&src.es, &es, &["-f", "hevc"], 25, what);
    assert_eq!(start, 0, "{what}: from the first picture");
}

/// Every file the relay writes — fragmented and progressive MP4, FLV and MPEG-TS; H.264
/// with B-frames, H.265, AAC, Opus — holds the source's media exactly: stream parameters,
/// frame counts, decoded pictures and sound (ffprobe/ffmpeg; weir-flv for H.265 in FLV).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_files_equal_the_source() {
    interop_or_skip!();
    let formats = [
        RecordFormat::Fmp4,
        RecordFormat::Mp4,
        RecordFormat::Flv,
        RecordFormat::Ts,
    ];
    for (vc, ac, bf) in [
        (Codec::H264, Codec::Aac, true),
        (Codec::H265, Codec::Aac, false),
        (Codec::H264, Codec::Opus, false),
    ] {
        let dir = TempDir::new("rec-src");
        let src = media_source(&dir, vc, ac, bf, 3);
        // Opus has no FLV codec id ffmpeg or FLV players read: that combination is left out.
        let formats: Vec<RecordFormat> = formats
            .into_iter()
            .filter(|f| !(*f == RecordFormat::Flv && ac == Codec::Opus))
            .collect();
        let dirs: Vec<TempDir> = formats
            .iter()
            .map(|f| TempDir::new(&format!("rec-{}", f.extension())))
            .collect();
        let mut relays = Vec::new();
        for (f, d) in formats.iter().zip(&dirs) {
            relays.push(TestRelay::start(record_config(d.path(), *f)).await);
        }
        futures_util::future::join_all(relays.iter().map(|r| rtmp_publish(r, "live/a", &src)))
            .await;
        for ((relay, d), format) in relays.iter().zip(&dirs).zip(&formats) {
            let files = finished_files(relay, "live/a").await;
            let kind = format.extension();
            assert_eq!(files.len(), 1, "{kind}: {files:?}");
            let f = file_of(d.path(), "live/a", &files[0]);
            let what = format!("{vc}+{ac} {format:?}");
            if *format == RecordFormat::Flv && vc == Codec::H265 {
                assert_same_flv_media(&src, &f, &what);
            } else {
                assert_same_media(&src, &f, &what);
            }
            if let Some(dur) = files[0]["duration_s"].as_f64() {
                // The video lasts 3 s; the sound may start and end a little later.
                assert!((2.95..3.25).contains(&dur), "{what}: duration {dur}");
            } else {
                panic!("{what}: no duration: {files:?}");
            }
            assert_eq!(
                files[0]["codecs"],
                serde_json::json!([vc.to_string(), ac.to_string()]),
                "{what}"
            );
        }
        for r in relays {
            r.stop().await;
        }
    }
}

/// A webhook receiver: every POSTed JSON body.
async fn hook_server() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut b).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&b[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    if let Ok(v) = serde_json::from_slice(&buf[end + 4..end + 4 + len]) {
                        let _ = tx.send(v);
                    }
                    buf.drain(..end + 4 + len);
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await;
                }
            });
        }
    });
    (url, rx)
}

/// Publishes `frames` (canonical, sorted by decode time) into the hub in real time.
async fn hub_publish(p: &weir_tokio::Publisher, frames: &[weir_media::Frame], from: Duration) {
    let start = tokio::time::Instant::now();
    for f in frames {
        let at =
            Duration::from_nanos(f.dts.rescale(weir_media::Timebase::NANOS).ticks().max(0) as u64);
        tokio::time::sleep_until(start + at.saturating_sub(from)).await;
        p.frame(f.clone());
    }
}

fn moved(frames: &[weir_media::Frame], by_90k: i64) -> Vec<weir_media::Frame> {
    frames
        .iter()
        .map(|f| {
            let mut g = f.clone();
            g.dts = weir_media::Timestamp::new(f.dts.ticks() + by_90k, f.dts.timebase());
            g.pts = weir_media::Timestamp::new(f.pts.ticks() + by_90k, f.pts.timebase());
            g
        })
        .collect()
}

/// Recording started through the API before the publish: files rotate at the first
/// keyframe after `segment_ms` and when the codec changes (H.264 → H.265 mid-stream); the
/// pictures of all files together are the source's; `on_record_done` tells each file;
/// `DELETE` stops recording.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotates_at_keyframes_and_on_codec_change() {
    interop_or_skip!();
    let dir = TempDir::new("rec-rot-src");
    let dir2 = TempDir::new("rec-rot-src2");
    let h264 = media_source(&dir, Codec::H264, Codec::Aac, false, 3);
    let h265 = media_source(&dir2, Codec::H265, Codec::Aac, false, 2);
    let rec = TempDir::new("rec-rot");
    let (hook, mut done) = hook_server().await;
    let mut c = record_config(rec.path(), RecordFormat::Fmp4);
    c.record.streams.clear();
    c.record.segment = Duration::from_millis(1000);
    c.hooks.on_record_done = Some(hook);
    let relay = TestRelay::start(c).await;
    let (code, _, body) = http_request(relay.http, "POST", "/api/v1/recordings/cams/r", "").await;
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
    let p = relay.hub.publish("cams/r", "test").unwrap();
    p.track(h264.video.clone());
    p.track(h264.audio.clone());
    hub_publish(&p, &h264.frames, Duration::ZERO).await;
    // The codec changes on the same track (the audio goes on).
    p.track(h265.video.clone());
    hub_publish(&p, &moved(&h265.frames, 3 * 90_000), Duration::from_secs(3)).await;
    // A stop records what the stream delivered before it: no wait for the recorder here.
    let (code, _, _) = http_request(relay.http, "DELETE", "/api/v1/recordings/cams/r", "").await;
    assert_eq!(code, 204);
    let files = finished_files(&relay, "cams/r").await;
    let codecs: Vec<String> = files
        .iter()
        .map(|f| f["codecs"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        codecs,
        ["h264", "h264", "h264", "h265", "h265"],
        "{files:?}"
    );
    let mut pictures = Vec::new();
    for f in &files {
        let path = file_of(rec.path(), "cams/r", f);
        assert_eq!(
            count_packets(&path, "v:0"),
            25,
            "{}: one GOP",
            path.display()
        );
        let d = f["duration_s"].as_f64().unwrap();
        assert!((0.95..1.1).contains(&d), "{}: duration {d}", path.display());
        pictures.extend(decoded_md5(&path, "0:v:0"));
    }
    let mut want = decoded_md5(&h264.mkv, "0:v:0");
    want.extend(decoded_md5(&h265.mkv, "0:v:0"));
    assert!(
        pictures == want,
        "the files' pictures together are the source's"
    );
    // One on_record_done per file, with its fields.
    let mut told = Vec::new();
    while told.len() < files.len() {
        let v = tokio::time::timeout(Duration::from_secs(10), done.recv())
            .await
            .expect("on_record_done")
            .unwrap();
        assert_eq!(v["event"], "on_record_done");
        assert_eq!(
            (v["app"].as_str(), v["stream"].as_str()),
            (Some("cams"), Some("r"))
        );
        told.push(v["url"].as_str().unwrap().to_string());
        assert!(v["duration_s"].as_f64().unwrap() > 0.9 && v["bytes"].as_u64().unwrap() > 0);
    }
    let urls: Vec<String> = files
        .iter()
        .map(|f| f["url"].as_str().unwrap().to_string())
        .collect();
    told.sort();
    let mut sorted = urls.clone();
    sorted.sort();
    assert_eq!(told, sorted);
    drop(p);
    relay.stop().await;
}

/// A publisher that comes back within the grace period — twice — leaves one file with one
/// timeline: every picture of the three publishes, timestamps without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_publisher_gives_one_recording() {
    interop_or_skip!();
    let dir = TempDir::new("rec-reconn-src");
    let src = media_source(&dir, Codec::H264, Codec::Aac, true, 2);
    let rec = TempDir::new("rec-reconn");
    let mut c = record_config(rec.path(), RecordFormat::Mp4);
    c.publisher_grace = Duration::from_secs(3);
    let relay = TestRelay::start(c).await;
    for _ in 0..3 {
        rtmp_publish(&relay, "live/re", &src).await;
    }
    let files = finished_files(&relay, "live/re").await;
    assert_eq!(files.len(), 1, "{files:?}");
    let f = file_of(rec.path(), "live/re", &files[0]);
    assert_eq!(count_packets(&f, "v:0"), 3 * src.video_times.len());
    assert_eq!(count_packets(&f, "a:0"), 3 * src.audio_units.len());
    let once = decoded_md5(&src.mkv, "0:v:0");
    let want: Vec<String> = once.iter().chain(&once).chain(&once).cloned().collect();
    assert!(
        decoded_md5(&f, "0:v:0") == want,
        "three publishes' pictures, in order"
    );
    // One timeline: decode times rise by a frame, never jump (where the publisher came
    // back, the hub's timestamp repair joins the sessions within a few frames).
    let dts: Vec<i64> = packets(&f, "0:v:0").iter().map(|p| p.dts).collect();
    let mut joins = 0;
    for w in dts.windows(2) {
        let step = w[1] - w[0];
        assert!(step > 0 && step <= 200, "a step of {step} ms in {dts:?}");
        joins += usize::from(step != 40);
    }
    assert!(joins <= 2, "{joins} joins in {dts:?}");
    relay.stop().await;
}

fn touch_hours_ago(path: &Path, hours: u32) {
    let out = std::process::Command::new("touch")
        .args(["-d", &format!("{hours} hours ago")])
        .arg(path)
        .output()
        .expect("touch");
    assert!(out.status.success());
}

/// Retention deletes files older than `max_age_hours`, then the oldest while all exceed
/// `max_bytes` — but never a file being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_age_and_size_spares_served_files() {
    for by_size in [false, true] {
        let rec = TempDir::new("rec-retain");
        let d = rec.join("live/old");
        std::fs::create_dir_all(&d).unwrap();
        let served = d.join("2020-01-01T00-00-00Z.mp4");
        let other = d.join("2020-01-01T01-00-00Z.mp4");
        let newest = d.join("2020-01-01T02-00-00Z.mp4");
        // Larger than the socket buffers hold, so that its player keeps it in use (sparse).
        std::fs::File::create(&served)
            .unwrap()
            .set_len(64 << 20)
            .unwrap();
        let mut c = record_config(rec.path(), RecordFormat::Fmp4);
        c.record.retention_interval = Duration::from_millis(50);
        if by_size {
            // 64 + 2 + 1 MiB: the served file stays, the next oldest goes.
            c.record.max_bytes = 65 << 20;
        } else {
            c.record.max_age_hours = 1;
        }
        let relay = TestRelay::start(c).await;
        // A player reads the oldest file slowly (only its head): it is in use meanwhile.
        let mut player = TcpStream::connect(relay.http).await.unwrap();
        player
            .write_all(b"GET /vod/rec/live/old/2020-01-01T00-00-00Z.mp4 HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0u8; 64];
        player.read_exact(&mut head).await.unwrap();
        assert!(head.starts_with(b"HTTP/1.0 200") || head.starts_with(b"HTTP/1.1 200"));
        std::fs::write(&other, vec![1u8; 2 << 20]).unwrap();
        std::fs::write(&newest, vec![2u8; 1 << 20]).unwrap();
        touch_hours_ago(&served, 3);
        touch_hours_ago(&other, 2);
        let deadline = Instant::now() + Duration::from_secs(20);
        while other.exists() {
            assert!(
                Instant::now() < deadline,
                "retention never deleted {}",
                other.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(served.exists(), "a file being served was deleted");
        assert!(newest.exists(), "the newest file is within the limits");
        drop(player);
        if by_size {
            // Within the limit now: nothing more goes.
            relay.stop().await;
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while served.exists() {
            assert!(
                Instant::now() < deadline,
                "the file was kept after its player left"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(newest.exists());
        relay.stop().await;
    }
}

/// `/vod/rec/{app}/{stream}.mp4?start=…&duration=…` assembles the recordings of a time
/// span into one MP4: the whole span gives every picture of the stream, in order, across
/// the files; a shorter one a run of them from a keyframe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_span_assembly_across_files() {
    interop_or_skip!();
    let dir = TempDir::new("rec-span-src");
    let src = media_source(&dir, Codec::H264, Codec::Aac, true, 4);
    let rec = TempDir::new("rec-span");
    let mut c = record_config(rec.path(), RecordFormat::Fmp4);
    c.record.segment = Duration::from_millis(1000);
    let relay = TestRelay::start(c).await;
    rtmp_publish(&relay, "live/span", &src).await;
    let files = finished_files(&relay, "live/span").await;
    assert!(files.len() >= 3, "{files:?}");
    let recorded: usize = files
        .iter()
        .map(|f| count_packets(&file_of(rec.path(), "live/span", f), "a:0"))
        .sum();
    eprintln!(
        "files {files:?} audio recorded {recorded} of {}",
        src.audio_units.len()
    );
    let first = files[0]["start"].as_str().unwrap().to_string();
    let get = |q: String| {
        let h = relay.http;
        async move { http_request(h, "GET", &format!("/vod/rec/live/span.mp4?{q}"), "").await }
    };
    let out = TempDir::new("rec-span-out");
    let (code, head, body) = get(format!("start={first}&duration=60")).await;
    assert_eq!(code, 200, "{head}");
    let whole = out.join("whole.mp4");
    std::fs::write(&whole, &body).unwrap();
    let want = decoded_md5(&src.mkv, "0:v:0");
    assert!(
        decoded_md5(&whole, "0:v:0") == want,
        "the whole span is the whole stream"
    );
    assert_eq!(count_packets(&whole, "a:0"), src.audio_units.len());
    // Two seconds from the second file's start, about a second in (file names, and so span
    // edges, are to the second; taken from the listing rather than computed from the first,
    // which broke when the recording started in the last second of a minute): a contiguous
    // run of the pictures, from a keyframe.
    let t0 = files[1]["start"].as_str().unwrap().to_string();
    let (code, _, body) = get(format!("start={t0}&duration=2")).await;
    assert_eq!(code, 200);
    let part = out.join("part.mp4");
    std::fs::write(&part, &body).unwrap();
    let got = decoded_md5(&part, "0:v:0");
    assert!((25..=100).contains(&got.len()), "{} pictures", got.len());
    let at = want
        .iter()
        .position(|m| *m == got[0])
        .expect("first picture is the source's");
    assert_eq!(at % 25, 0, "starts at a keyframe");
    assert!(want[at..at + got.len()] == got[..], "a contiguous run");
    // Bad parameters and empty spans.
    assert_eq!(get("start=yesterday&duration=2".into()).await.0, 400);
    assert_eq!(get(format!("start={first}&duration=-1")).await.0, 400);
    assert_eq!(
        get("start=2000-01-01T00:00:00Z&duration=5".into()).await.0,
        404
    );
    relay.stop().await;
}

/// The example server (`target/debug/examples/server`), built (or brought up to date)
/// first with `cargo build --example server`.
fn server_bin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug/examples/server");
    {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args(["build", "--example", "server", "--manifest-path"])
            .arg(root.join("Cargo.toml"))
            .output()
            .expect("cargo build --example server");
        assert!(
            out.status.success(),
            "building the example server: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    bin
}

/// The example server recording `live/*` as fragmented MP4 is killed with SIGKILL in the
/// middle of a file: the file is still readable, every picture up to its last whole
/// fragment the source's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_segment_leaves_a_readable_file() {
    interop_or_skip!();
    let src_dir = TempDir::new("rec-kill-src");
    let src = make_source(&src_dir, "src.flv", 20, &[]);
    let rec = TempDir::new("rec-kill");
    let bin = server_bin();
    let cfg = rec.join("weir.toml");
    let (mut server, rtmp_port) = weir_testutil::spawn_tcp_listener(
        Duration::from_secs(60),
        |port| {
            std::fs::write(
            &cfg,
            format!(
                "[rtmp]\nlisten = \"127.0.0.1:{port}\"\n[http]\nlisten = \"off\"\n[rtsp]\nlisten = \"off\"\n\
                 [gb28181]\nlisten = \"off\"\n[record]\ndir = \"{}\"\nformat = \"fmp4\"\nstreams = [\"live/*\"]\n",
                rec.join("files").display()
            ),
        )
        .unwrap();
            let mut c = std::process::Command::new(&bin);
            c.arg("--config")
                .arg(&cfg)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            c
        },
    );
    let _publisher = push(&src, &format!("rtmp://127.0.0.1:{rtmp_port}/live/k"));
    // Wait until the file holds at least 3 s of pictures (a fragment a second).
    let dir = rec.join("files/live/k");
    let deadline = Instant::now() + Duration::from_secs(60);
    let file = loop {
        let f = std::fs::read_dir(&dir)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path());
        if let Some(f) = f.filter(|f| count_packets(f, "v:0") >= 75) {
            break f;
        }
        assert!(
            Instant::now() < deadline,
            "the recording never grew: {}",
            server.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    server.kill();
    let n = count_packets(&file, "v:0");
    assert!(
        (75..500).contains(&n),
        "{n} pictures readable after SIGKILL"
    );
    let got = decoded_md5(&file, "0:v:0");
    let want = decoded_md5(&src, "0:v:0");
    assert!(got.len() >= 75);
    assert!(
        got[..] == want[..got.len()],
        "the killed file's pictures are the source's"
    );
    assert!(count_packets(&file, "a:0") > 0);
}
