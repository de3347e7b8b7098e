//! weir-mp4's demuxer on files ffmpeg writes (moov at the end, faststart, fragmented,
//! CMAF): every packet equal to what ffmpeg's own demuxer lists (size, pts, dts, key flag,
//! payload MD5); seeking lands on the keyframe at or before the time.

mod common;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use weir_media::Codec;
use weir_mp4::{DemuxConfig, Demuxer, MemoryDemuxer};
use weir_testutil::{interop_or_skip, TempDir};

/// Encodes H.264 (B-frames) + AAC once, then remuxes it with each set of movflags.
fn ffmpeg_files(dir: &TempDir, video: &str) -> Vec<(String, std::path::PathBuf)> {
    let src = dir.join("source.mkv");
    ffmpeg(&format!(
        "-f lavfi -i testsrc2=size=192x108:rate=25 -f lavfi -i sine=frequency=500:sample_rate=44100 \
         -t 4 {video} -pix_fmt yuv420p -c:a aac -ac 2 {}",
        src.display()
    ));
    let mut out = Vec::new();
    for (name, flags) in [
        ("moov_at_end", ""),
        ("faststart", "-movflags +faststart"),
        (
            "frag_keyframe_empty_moov",
            "-movflags frag_keyframe+empty_moov",
        ),
        ("frag_keyframe", "-movflags frag_keyframe"),
        (
            "cmaf",
            "-movflags frag_keyframe+empty_moov+default_base_moof+cmaf",
        ),
        (
            "dash_sidx",
            "-movflags frag_keyframe+empty_moov+dash+global_sidx -frag_duration 500000",
        ),
    ] {
        let path = dir.join(&format!("{name}.mp4"));
        ffmpeg(&format!(
            "-i {} -c copy {flags} {}",
            src.display(),
            path.display()
        ));
        out.push((name.to_string(), path));
    }
    out
}

fn compare_with_ffmpeg(name: &str, path: &Path) {
    let data = std::fs::read(path).unwrap();
    let (tracks, frames) = demux_mp4(data);
    assert_eq!(tracks.len(), 2, "{name}");
    for (i, t) in tracks.iter().enumerate() {
        let want = ffmpeg_packets(path, i);
        let got = packets_of(&frames_of(&frames, t.id));
        assert_eq!(got.len(), want.len(), "{name}: packets of stream {i}");
        for (n, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{name}: stream {i} ({}) packet {n}", t.codec);
        }
    }
    // Decode order across tracks: DTS never goes back more than one frame's worth.
    let mut last = None;
    for f in &frames {
        let secs = f.dts.as_secs_f64();
        if let Some(l) = last {
            assert!(secs >= l - 0.05, "{name}: interleaving {l} → {secs}");
        }
        last = Some(secs);
    }
}

#[test]
fn demux_ffmpeg_h264_aac_layouts() {
    interop_or_skip!();
    let dir = TempDir::new("mp4-demux-h264");
    for (name, path) in ffmpeg_files(&dir, "-c:v libx264 -bf 2 -g 30") {
        compare_with_ffmpeg(&name, &path);
    }
}

#[test]
fn demux_ffmpeg_h265_aac_layouts() {
    interop_or_skip!();
    let dir = TempDir::new("mp4-demux-h265");
    for (name, path) in ffmpeg_files(
        &dir,
        "-c:v libx265 -tag:v hvc1 -x265-params log-level=error:bframes=2:keyint=30",
    ) {
        compare_with_ffmpeg(&name, &path);
    }
}

/// Drives the sans-IO demuxer by hand over a file, answering each read from the file:
/// reads of a fragmented or faststart file go back at most across the interleaving
/// window (one fragment, or one chunk of the other track), never to the start.
#[test]
fn sans_io_reads_stay_in_a_window_on_fragmented_and_faststart() {
    interop_or_skip!();
    let dir = TempDir::new("mp4-demux-forward");
    for (name, path) in ffmpeg_files(&dir, "-c:v libx264 -bf 2 -g 30") {
        let data = std::fs::read(&path).unwrap();
        let mut d = Demuxer::new(DemuxConfig::default());
        let mut furthest = 0u64;
        let mut backwards = 0u64;
        let mut frames = 0;
        loop {
            if d.poll_frame().is_some() {
                frames += 1;
                continue;
            }
            let Some(req) = d.poll_read() else { break };
            backwards = backwards.max(furthest.saturating_sub(req.offset));
            let end = (req.offset as usize + req.len).min(data.len());
            let start = (req.offset as usize).min(end);
            furthest = furthest.max(end as u64);
            d.handle_data(req.offset, Bytes::copy_from_slice(&data[start..end]))
                .unwrap();
        }
        assert!(d.is_finished());
        assert!(frames > 100, "{name}");
        if name != "moov_at_end" && name != "frag_keyframe" {
            assert!(
                backwards < 256 << 10,
                "{name}: a read went back {backwards} bytes"
            );
        }
    }
}

#[test]
fn seek_lands_on_keyframe_at_or_before() {
    interop_or_skip!();
    let dir = TempDir::new("mp4-demux-seek");
    for (name, path) in ffmpeg_files(&dir, "-c:v libx264 -bf 2 -g 30") {
        let data = Bytes::from(std::fs::read(&path).unwrap());
        let (tracks, frames) = demux_mp4(data.to_vec());
        let video = tracks.iter().find(|t| t.codec == Codec::H264).unwrap().id;
        let keys: Vec<f64> = frames
            .iter()
            .filter(|f| f.track == video && f.keyframe)
            .map(|f| f.pts.as_secs_f64())
            .collect();
        assert!(keys.len() >= 3, "{name}: {keys:?}");
        for target in [0.0, 1.3, 2.5, 3.99, 10.0] {
            let mut d = MemoryDemuxer::new(data.clone(), DemuxConfig::default()).unwrap();
            // Read a little first so a seek may go backwards too.
            for _ in 0..20 {
                d.next_frame().unwrap();
            }
            let pos = d.seek(Duration::from_secs_f64(target)).unwrap().unwrap();
            let want = keys
                .iter()
                .copied()
                .rfind(|&k| k <= target + 1e-9)
                .unwrap_or(keys[0]);
            assert!(
                (pos.time.as_secs_f64() - want).abs() < 1e-6,
                "{name} seek {target}: {pos:?} want {want}"
            );
            let first_video = std::iter::from_fn(|| d.next_frame().unwrap())
                .find(|f| f.track == video)
                .unwrap();
            assert!(first_video.keyframe, "{name} seek {target}");
            assert_eq!(first_video.pts, pos.time, "{name} seek {target}");
        }
    }
}
