//! Helpers for codec interop tests: encoding with ffmpeg, MP4 boxes, packet lists and md5s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::{ffmpeg, ffprobe, probe_stream, TempDir};
use md5::{Digest, Md5};

/// Encodes `frames` frames of testsrc2 at `size`/`rate` with the given encoder arguments
/// into a raw elementary stream `name` (format from `fmt`, e.g. "h264" or "hevc").
pub fn encode(
    dir: &TempDir,
    name: &str,
    size: &str,
    rate: &str,
    frames: u32,
    args: &[&str],
    fmt: &str,
) -> PathBuf {
    let out = dir.join(name);
    let mut a: Vec<String> = vec![
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!("testsrc2=size={size}:rate={rate}"),
        "-frames:v".into(),
        frames.to_string(),
    ];
    a.extend(args.iter().map(|s| s.to_string()));
    a.extend([
        "-bitexact".into(),
        "-f".into(),
        fmt.into(),
        out.display().to_string(),
    ]);
    ffmpeg(&a);
    out
}

/// Remuxes `input` (raw stream) to MP4 with stream copy.
pub fn to_mp4(dir: &TempDir, input: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    ffmpeg([
        "-i",
        &input.display().to_string(),
        "-c",
        "copy",
        "-f",
        "mp4",
        &out.display().to_string(),
    ]);
    out
}

/// The payload of the first box of type `fourcc` found anywhere in `data` (a byte search,
/// good enough for ffmpeg's small MP4 files).
pub fn box_payload<'a>(data: &'a [u8], fourcc: &[u8; 4]) -> Option<&'a [u8]> {
    let pos = data.windows(4).position(|w| w == fourcc)?;
    let size_at = pos.checked_sub(4)?;
    let size = u32::from_be_bytes(data[size_at..pos].try_into().ok()?) as usize;
    data.get(pos + 4..size_at + size)
}

/// `ffprobe -show_streams` values of the first video stream.
pub fn probe(path: &Path) -> HashMap<String, String> {
    probe_stream(
        path,
        "v:0",
        "width,height,profile,level,r_frame_rate,pix_fmt,has_b_frames,bits_per_raw_sample,field_order",
    )
    .into_iter()
    .collect()
}

/// ffprobe's packets of the first video stream: (size, keyframe).
pub fn packets(path: &Path) -> Vec<(usize, bool)> {
    let text = ffprobe([
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=size,flags",
        "-of",
        "csv=p=0",
        &path.display().to_string(),
    ]);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split(',');
            let size = it.next().unwrap_or("0").trim().parse().unwrap_or(0);
            let flags = it.next().unwrap_or("");
            (size, flags.contains('K'))
        })
        .collect()
}

/// Per-packet `size,md5` of the first video stream of an MP4 `path` (`-c copy -f
/// framemd5`, edit list ignored so packets before the first presented one are kept).
pub fn packet_md5s(path: &Path) -> Vec<String> {
    crate::framemd5(path, "0:v:0", &["-ignore_editlist", "1"])
        .into_iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            format!("{},{}", f[f.len() - 2], f[f.len() - 1])
        })
        .collect()
}

/// `size,md5` of a buffer in the form of [`packet_md5s`].
pub fn size_md5(data: &[u8]) -> String {
    let digest = Md5::digest(data);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{},{}", data.len(), hex)
}

/// Splits `data` into pseudo-random chunk sizes (deterministic) — to exercise incremental
/// parsers with boundaries everywhere.
pub fn chunks(data: &[u8], seed: u64) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut x = seed | 1;
    let mut pos = 0;
    while pos < data.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 1 + (x % 3000) as usize;
        let end = (pos + n).min(data.len());
        out.push(&data[pos..end]);
        pos = end;
    }
    out
}

/// Parses "30000/1001" as f64.
pub fn rate(s: &str) -> f64 {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap()
}
