//! Helpers for the weir-flv integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use weir_flv::{FlvDemuxer, FlvEvent, FlvReader, Metadata, Tag};
use weir_media::{Frame, TrackId, TrackInfo};

/// Lowercase hex MD5.
pub fn md5_hex(data: &[u8]) -> String {
    let d = Md5::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything the demuxer produced from one file.
#[derive(Default, Debug)]
pub struct Demuxed {
    pub tracks: Vec<TrackInfo>,
    pub frames: BTreeMap<TrackId, Vec<Frame>>,
    pub metadata: Option<Metadata>,
    pub tags: Vec<Tag>,
    pub end_of_sequence: usize,
}

/// Reads a whole FLV through the incremental reader in `chunk`-byte pieces and demuxes it.
pub fn demux_file(path: &Path, chunk: usize) -> Demuxed {
    let data = std::fs::read(path).unwrap();
    demux_bytes(&data, chunk)
}

pub fn demux_bytes(data: &[u8], chunk: usize) -> Demuxed {
    let mut reader = FlvReader::new();
    let mut demux = FlvDemuxer::new();
    let mut out = Demuxed::default();
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(tag) = reader.decode(&mut buf).unwrap() {
            demux.push_tag(&tag).unwrap();
            out.tags.push(tag);
            while let Some(ev) = demux.poll_event() {
                match ev {
                    FlvEvent::Track(t) => out.tracks.push(t),
                    FlvEvent::Frame(f) => out.frames.entry(f.track).or_default().push(f),
                    FlvEvent::Metadata(m) => out.metadata = Some(m),
                    FlvEvent::EndOfSequence(_) => out.end_of_sequence += 1,
                    _ => {}
                }
            }
        }
    }
    reader.finish(&buf).unwrap();
    assert_eq!(reader.stats().previous_tag_size_mismatches, 0);
    out
}

/// Our frames in `framemd5` form without the duration column: `dts,pts,size,md5` (ms).
pub fn frame_lines(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| {
            let ms = |t: weir_media::Timestamp| t.rescale(weir_media::Timebase::MILLIS).ticks();
            format!(
                "{},{},{},{}",
                ms(f.dts),
                ms(f.pts),
                f.data.len(),
                md5_hex(&f.data)
            )
        })
        .collect()
}

/// `size,md5` only.
pub fn frame_sizes_md5(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| format!("{},{}", f.data.len(), md5_hex(&f.data)))
        .collect()
}

/// ffmpeg's per-packet lines (`dts,pts,duration,size,md5`) → `dts,pts,size,md5`.
pub fn drop_duration(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{}", f[0], f[1], f[3], f[4])
        })
        .collect()
}

/// ffmpeg's per-packet lines → `size,md5`.
pub fn sizes_md5(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{}", f[3], f[4])
        })
        .collect()
}

/// `framemd5` of one stream with `-copyts`, so timestamps are the FLV tag timestamps.
pub fn framemd5_copyts(path: &Path, map: &str) -> Vec<String> {
    weir_testutil::framemd5(path, map, &["-copyts"])
}

/// The `#extradata` MD5 ffmpeg reports for a stream (stream copy).
pub fn extradata_md5(path: &Path, map: &str) -> Option<String> {
    let out = weir_testutil::ffmpeg([
        "-i",
        path.to_str().unwrap(),
        "-map",
        map,
        "-c",
        "copy",
        "-f",
        "framemd5",
        "-",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("#extradata"))
        .and_then(|l| l.rsplit(',').next())
        .map(|s| s.trim().to_string())
}

/// Writes `data` to `path`.
pub fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap();
}

pub fn bytes(path: &Path) -> Bytes {
    Bytes::from(std::fs::read(path).unwrap())
}

/// Frames of an IVF file (VP8/VP9/AV1): `(pts, data)` in the file's timebase, plus that
/// timebase as `(num, den)`.
pub fn ivf_frames(data: &Bytes) -> (Vec<(i64, Bytes)>, (u32, u32)) {
    assert_eq!(&data[..4], b"DKIF");
    let header_len = u16::from_le_bytes([data[6], data[7]]) as usize;
    let den = u32::from_le_bytes(data[16..20].try_into().unwrap());
    let num = u32::from_le_bytes(data[20..24].try_into().unwrap());
    let mut pos = header_len;
    let mut out = Vec::new();
    while pos + 12 <= data.len() {
        let size = u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        let pts = i64::from_le_bytes(data[pos + 4..pos + 12].try_into().unwrap());
        out.push((pts, data.slice(pos + 12..pos + 12 + size)));
        pos += 12 + size;
    }
    (out, (num, den))
}

/// Packets of the first logical stream of an Ogg file (RFC 3533 lacing).
pub fn ogg_packets(data: &[u8]) -> Vec<Bytes> {
    let mut packets = Vec::new();
    let mut current = Vec::new();
    let mut pos = 0;
    while pos + 27 <= data.len() {
        assert_eq!(&data[pos..pos + 4], b"OggS");
        let nsegs = data[pos + 26] as usize;
        let table = &data[pos + 27..pos + 27 + nsegs];
        let mut body = pos + 27 + nsegs;
        for &lace in table {
            current.extend_from_slice(&data[body..body + lace as usize]);
            body += lace as usize;
            if lace < 255 {
                packets.push(Bytes::from(std::mem::take(&mut current)));
            }
        }
        pos = body;
    }
    packets
}
