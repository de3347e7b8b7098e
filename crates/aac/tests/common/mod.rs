#![allow(dead_code)]
//! Shared helpers for the weir-aac integration tests.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use weir_testutil::{ffmpeg, TempDir};

/// Encodes `secs` of a 440 Hz sine at `rate` Hz with `channels` channels to ADTS with
/// ffmpeg's native AAC-LC encoder (bit-exact, deterministic).
pub fn encode_adts(dir: &TempDir, rate: u32, channels: u32, secs: &str) -> PathBuf {
    let out = dir.join(&format!("sine_{rate}_{channels}.aac"));
    ffmpeg([
        "-f".to_string(),
        "lavfi".into(),
        "-i".into(),
        format!("sine=frequency=440:sample_rate={rate}"),
        "-ac".into(),
        channels.to_string(),
        "-t".into(),
        secs.into(),
        "-c:a".into(),
        "aac".into(),
        "-bitexact".into(),
        "-f".into(),
        "adts".into(),
        out.display().to_string(),
    ]);
    out
}

/// Remuxes to another container format with stream copy.
pub fn remux(input: &Path, out: &Path, format: &str) {
    ffmpeg([
        "-i".to_string(),
        input.display().to_string(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        format.into(),
        out.display().to_string(),
    ]);
}

/// Lower-case hex MD5.
pub fn md5_hex(data: &[u8]) -> String {
    let d = Md5::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The md5 column of `weir_testutil::framemd5` lines (`dts,pts,duration,size,md5[,side data]`).
pub fn md5_column(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.split(',').nth(4).unwrap_or("").trim().to_string())
        .collect()
}

/// Looks up `key` in ffprobe `(key, value)` pairs.
pub fn probe_value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("ffprobe did not report {key}: {pairs:?}"))
}

/// `ffmpeg -i INPUT -map 0:a:0 -c copy -bsf:a aac_adtstoasc -f framemd5 -`: the md5s of the
/// raw access units ffmpeg extracts from ADTS, and the md5 of the new-extradata side data
/// (the AudioSpecificConfig) attached to the first packet.
pub fn raw_au_md5s(input: &Path) -> (Vec<String>, String) {
    let out = ffmpeg([
        "-i".to_string(),
        input.display().to_string(),
        "-map".into(),
        "0:a:0".into(),
        "-c".into(),
        "copy".into(),
        "-bsf:a".into(),
        "aac_adtstoasc".into(),
        "-f".into(),
        "framemd5".into(),
        "-".into(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let md5s = lines
        .iter()
        .map(|l| l.split(',').nth(5).unwrap_or("").trim().to_string())
        .collect();
    let side = lines
        .first()
        .and_then(|l| l.split(',').nth(8))
        .unwrap_or("")
        .trim()
        .to_string();
    (md5s, side)
}
