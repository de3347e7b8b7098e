//! Recording in the relay, checked with ffprobe/ffmpeg: every file the relay writes
//! (fragmented and progressive MP4; H.264 with B-frames, H.265, AAC, Opus) has the
//! source's stream parameters, frame counts and decoded pictures and sound; rotation at the
//! next keyframe after `segment_ms` and on codec change; a publisher that reconnects twice
//! gives one continuous file; retention by age and size never deletes a file being served;
//! the recordings API and the `on_record_done` hook; a relay killed with SIGKILL
//! mid-segment leaves a readable file.

mod common;

use std::net::SocketAddr;
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

/// An HTTP/1.0 request: (status, lower-cased head, body).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
) -> (u16, String, Bytes) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("{method} {path} HTTP/1.0\r\nHost: x\r\n{headers}\r\n").as_bytes())
        .await
        .unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut all))
        .await
        .expect("http timeout")
        .unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let head = String::from_utf8_lossy(&all[..split]).to_ascii_lowercase();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head, Bytes::from(all[split..].to_vec()))
}

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
            http(relay.http, "GET", &format!("/api/v1/recordings/{key}"), "").await;
        if code == 200 {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let files = v["files"].as_array().cloned().unwrap_or_default();
            if v["recording"] == false && !files.is_empty() {
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
    out.trim().parse().unwrap_or(0)
}

/// MD5 of every decoded frame of one stream.
fn decoded_md5(file: &Path, map: &str) -> Vec<String> {
    let out = weir_testutil::ffmpeg([
        "-i",
        &file.display().to_string(),
        "-map",
        map,
        "-f",
        "framemd5",
        "-",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect()
}

fn params(file: &Path, stream: &str) -> Vec<(String, String)> {
    weir_testutil::probe_stream(file, stream, "codec_name,width,height,sample_rate,channels")
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
                .map(|l| l.rsplit(',').next().unwrap_or("").trim().to_string())
                .collect();
            v.pop();
            v
        };
        assert_eq!(md5s(file), md5s(&afile), "{what}: sound packets");
        got.pop();
        want.pop();
    }
    assert!(got == want, "{what}: decoded sound differs");
}

/// Every file the relay writes — fragmented and progressive, H.264 with B-frames, H.265,
/// AAC, Opus — holds the source's media exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_files_equal_the_source() {
    interop_or_skip!();
    for (vc, ac, bf) in [
        (Codec::H264, Codec::Aac, true),
        (Codec::H265, Codec::Aac, false),
        (Codec::H264, Codec::Opus, false),
    ] {
        let dir = TempDir::new("rec-src");
        let src = media_source(&dir, vc, ac, bf, 3);
        let (fdir, pdir) = (TempDir::new("rec-fmp4"), TempDir::new("rec-mp4"));
        let fr = TestRelay::start(record_config(fdir.path(), RecordFormat::Fmp4)).await;
        let pr = TestRelay::start(record_config(pdir.path(), RecordFormat::Mp4)).await;
        tokio::join!(
            rtmp_publish(&fr, "live/a", &src),
            rtmp_publish(&pr, "live/a", &src)
        );
        for (relay, d, kind) in [(&fr, &fdir, "fmp4"), (&pr, &pdir, "mp4")] {
            let files = finished_files(relay, "live/a").await;
            assert_eq!(files.len(), 1, "{kind}: {files:?}");
            let f = file_of(d.path(), "live/a", &files[0]);
            let what = format!("{vc}+{ac} {kind}");
            assert_same_media(&src, &f, &what);
            let dur = files[0]["duration_s"].as_f64().unwrap();
            // The video lasts 3 s; the sound may start and end a little later.
            assert!((2.95..3.25).contains(&dur), "{what}: duration {dur}");
            assert_eq!(
                files[0]["codecs"],
                serde_json::json!([vc.to_string(), ac.to_string()])
            );
        }
        fr.stop().await;
        pr.stop().await;
    }
}
