//! Helpers shared by the weir-mp4 integration tests.
#![allow(dead_code)]

use std::path::Path;

use bytes::Bytes;
use md5::{Digest, Md5};
use weir_media::{Frame, TrackId, TrackInfo};
use weir_mp4::{
    Cut, DemuxConfig, FragmentConfig, FragmentedMuxer, MemoryDemuxer, ProgressiveConfig,
    ProgressiveMuxer,
};
use weir_mpegts::{Event, TsDemuxer};

pub fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs ffmpeg with whitespace-separated arguments.
pub fn ffmpeg(args: &str) {
    weir_testutil::ffmpeg(args.split_whitespace());
}

/// Tracks (latest info per id, in order of first appearance) and frames of a TS file,
/// demuxed by weir-mpegts.
pub fn demux_ts(path: &Path) -> (Vec<TrackInfo>, Vec<Frame>) {
    let data = std::fs::read(path).unwrap();
    let mut d = TsDemuxer::new();
    d.push(&data);
    d.flush();
    let mut tracks: Vec<TrackInfo> = Vec::new();
    let mut frames = Vec::new();
    while let Some(e) = d.poll_event() {
        match e {
            Event::TrackAdded(t) | Event::TrackUpdated(t) => {
                match tracks.iter_mut().find(|x| x.id == t.id) {
                    Some(x) => *x = t,
                    None => tracks.push(t),
                }
            }
            Event::Frame(f) => frames.push(f),
            _ => {}
        }
    }
    (tracks, frames)
}

/// fMP4: init segment, then a fragment per GOP of at least `cut_ms`.
pub fn mux_fragmented(
    tracks: &[TrackInfo],
    frames: &[Frame],
    config: FragmentConfig,
    cut_ms: u64,
) -> Vec<u8> {
    let mut mux = FragmentedMuxer::new(tracks, config).unwrap();
    let mut out = mux.init_segment().to_vec();
    let cut = Cut::at_keyframes(std::time::Duration::from_millis(cut_ms));
    for f in frames {
        if let Some(frag) = mux.push_and_cut(f.clone(), cut).unwrap() {
            out.extend_from_slice(&frag.to_bytes());
        }
    }
    if let Some(frag) = mux.finish().unwrap() {
        out.extend_from_slice(&frag.to_bytes());
    }
    out
}

/// Progressive MP4 with moov at the end (`faststart` false) or in front.
pub fn mux_progressive(
    tracks: &[TrackInfo],
    frames: &[Frame],
    config: ProgressiveConfig,
    faststart: bool,
) -> Vec<u8> {
    let mut mux = ProgressiveMuxer::new(tracks, config).unwrap();
    let mut out = mux.header().to_vec();
    for f in frames {
        out.extend_from_slice(&mux.write_frame(f.clone()).unwrap());
    }
    assert_eq!(out.len() as u64, mux.position());
    if faststart {
        let fs = mux.finish_faststart().unwrap();
        let mut file = fs.head.to_vec();
        file.extend_from_slice(&out[fs.copy_from as usize..(fs.copy_from + fs.copy_len) as usize]);
        file
    } else {
        let fin = mux.finish().unwrap();
        assert_eq!(fin.moov_offset, out.len() as u64);
        for p in &fin.patches {
            let at = p.offset as usize;
            out[at..at + p.bytes.len()].copy_from_slice(&p.bytes);
        }
        out.extend_from_slice(&fin.moov);
        out
    }
}

/// All frames of an MP4 file through weir's demuxer.
pub fn demux_mp4(data: Vec<u8>) -> (Vec<TrackInfo>, Vec<Frame>) {
    let mut d = MemoryDemuxer::new(Bytes::from(data), DemuxConfig::default()).unwrap();
    let tracks = d.tracks().to_vec();
    let mut frames = Vec::new();
    while let Some(f) = d.next_frame().unwrap() {
        frames.push(f);
    }
    (tracks, frames)
}

pub fn frames_of(frames: &[Frame], id: TrackId) -> Vec<Frame> {
    frames.iter().filter(|f| f.track == id).cloned().collect()
}

/// One packet as ffprobe lists it (stream timebase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub pts: i64,
    pub dts: i64,
    pub size: usize,
    pub key: bool,
    pub md5: String,
}

/// ffmpeg's packets of stream `index`: timestamps, size and flags from ffprobe, payload
/// MD5s from `-f framemd5` (stream copy, same order).
pub fn ffmpeg_packets(path: &Path, index: usize) -> Vec<Packet> {
    let text = weir_testutil::ffprobe([
        "-select_streams",
        &index.to_string(),
        "-show_entries",
        "packet=pts,dts,size,flags",
        "-of",
        "csv=p=0",
        &path.display().to_string(),
    ]);
    let md5s = weir_testutil::framemd5(path, &format!("0:{index}"), &[]);
    let mut out = Vec::new();
    for (line, m) in text.lines().filter(|l| !l.trim().is_empty()).zip(md5s) {
        let f: Vec<&str> = line.split(',').collect();
        out.push(Packet {
            pts: f[0].parse().unwrap_or(i64::MIN),
            dts: f[1].parse().unwrap_or(i64::MIN),
            size: f[2].parse().unwrap(),
            key: f[3].starts_with('K'),
            md5: m.rsplit(',').next().unwrap().trim().to_string(),
        });
    }
    out
}

pub fn packets_of(frames: &[Frame]) -> Vec<Packet> {
    frames
        .iter()
        .map(|f| Packet {
            pts: f.pts.ticks(),
            dts: f.dts.ticks(),
            size: f.data.len(),
            key: f.keyframe,
            md5: md5_hex(&f.data),
        })
        .collect()
}

/// `ffprobe -show_entries stream=KEYS` of one stream as a map.
pub fn stream(path: &Path, index: usize, keys: &str) -> std::collections::HashMap<String, String> {
    weir_testutil::probe_stream(path, &index.to_string(), keys)
        .into_iter()
        .collect()
}

/// Packets ffprobe counts in stream `index`.
pub fn packet_count(path: &Path, index: usize) -> usize {
    stream(path, index, "nb_read_packets")
        .get("nb_read_packets")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            let out = weir_testutil::ffprobe([
                "-count_packets",
                "-select_streams",
                &index.to_string(),
                "-show_entries",
                "stream=nb_read_packets",
                "-of",
                "default=nw=1:nk=1",
                &path.display().to_string(),
            ]);
            out.trim().parse().unwrap()
        })
}

/// `ffmpeg -v error -i file -f null -` prints nothing (run under a guard, bounded by
/// `weir_testutil::TOOL_TIMEOUT`; a failure panics with ffmpeg's stderr).
pub fn decodes_clean(path: &Path) {
    let out = weir_testutil::ffmpeg([
        "-i".as_ref(),
        path.as_os_str(),
        "-f".as_ref(),
        "null".as_ref(),
        "-".as_ref(),
    ] as [&std::ffi::OsStr; 5]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.trim().is_empty(),
        "ffmpeg complained about {}:\n{err}",
        path.display()
    );
}

/// MD5 of the decoded first audio stream.
pub fn decoded_audio_md5(path: &Path) -> String {
    let out = weir_testutil::ffmpeg([
        "-i".as_ref(),
        path.as_os_str(),
        "-map".as_ref(),
        "0:a:0".as_ref(),
        "-f".as_ref(),
        "md5".as_ref(),
        "-".as_ref(),
    ] as [&std::ffi::OsStr; 7]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
