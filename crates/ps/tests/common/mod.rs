//! Helpers shared by the interop tests.
#![allow(dead_code)]

use std::path::Path;

use bytes::Bytes;
use md5::{Digest, Md5};
use weir_media::{nal, Codec, Frame, TrackInfo};
use weir_mpegts::AuSplitter;
use weir_ps::{Event, PsDemuxer};

pub fn md5_hex(data: &[u8]) -> String {
    let d = Md5::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// One row of `ffmpeg -f framemd5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub dts: i64,
    pub pts: i64,
    pub size: usize,
    pub md5: String,
}

pub fn rows(path: &Path, map: &str) -> Vec<Row> {
    weir_testutil::framemd5(path, map, &[])
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            Row {
                dts: f[0].parse().unwrap(),
                pts: f[1].parse().unwrap(),
                size: f[3].parse().unwrap(),
                md5: f[4].to_string(),
            }
        })
        .collect()
}

#[derive(Default, Debug)]
pub struct Demuxed {
    pub tracks: Vec<TrackInfo>,
    pub frames: Vec<Frame>,
    pub events: Vec<Event>,
}

impl Demuxed {
    pub fn track(&self, codec: Codec) -> TrackInfo {
        self.tracks
            .iter()
            .rev()
            .find(|t| t.codec == codec)
            .unwrap_or_else(|| panic!("no {codec} track in {:?}", self.tracks))
            .clone()
    }
    pub fn frames_of(&self, codec: Codec) -> Vec<Frame> {
        let id = self.track(codec).id;
        self.frames
            .iter()
            .filter(|f| f.track == id)
            .cloned()
            .collect()
    }
}

pub fn demux_ps(data: &[u8], chunks: &[usize]) -> Demuxed {
    let mut d = PsDemuxer::new();
    let mut out = Demuxed::default();
    let take = |d: &mut PsDemuxer, out: &mut Demuxed| {
        while let Some(e) = d.poll_event() {
            match &e {
                Event::TrackAdded(t) | Event::TrackUpdated(t) => out.tracks.push(t.clone()),
                Event::Frame(f) => out.frames.push(f.clone()),
                _ => {}
            }
            out.events.push(e);
        }
    };
    let mut pos = 0;
    let mut i = 0;
    while pos < data.len() {
        let n = chunks[i % chunks.len()].max(1).min(data.len() - pos);
        d.push(&data[pos..pos + n]);
        pos += n;
        i += 1;
        take(&mut d, &mut out);
    }
    d.flush();
    take(&mut d, &mut out);
    out
}

/// Splits an Annex B file into canonical access units.
pub fn split_annexb(codec: Codec, data: &[u8]) -> Vec<Bytes> {
    let mut s = AuSplitter::new(codec, 1 << 24);
    s.push(data, None, None);
    let mut aus = Vec::new();
    while let Some(au) = s.next_au().unwrap() {
        aus.push(au.data);
    }
    aus.extend(s.flush().into_iter().map(|a| a.data));
    aus
}

/// Raw AUs and the AudioSpecificConfig of an ADTS file.
pub fn split_adts(data: &Bytes) -> (Vec<Bytes>, Bytes, u32) {
    let mut aus = Vec::new();
    let mut asc = Bytes::new();
    let mut rate = 0;
    for f in weir_aac::adts_frames(data) {
        let (h, payload) = f.unwrap();
        asc = h.to_config().to_bytes();
        rate = h.sample_rate();
        aus.push(payload);
    }
    (aus, asc, rate)
}

/// Decoded-audio MD5 of the first audio stream.
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

pub fn ffmpeg_args(args: &str) {
    weir_testutil::ffmpeg(args.split_whitespace());
}

/// ffmpeg's packets of one stream, exactly as its demuxer outputs them (`-c copy`): the
/// framemd5 rows give their sizes and hashes, the `data` muxer their concatenated bytes.
pub fn ffmpeg_packets(path: &Path, map: &str, dir: &Path) -> Vec<(Row, Bytes)> {
    let r = rows(path, map);
    let raw = dir.join(format!("packets-{}.bin", map.replace(':', "_")));
    weir_testutil::ffmpeg([
        "-i".as_ref(),
        path.as_os_str(),
        "-map".as_ref(),
        map.as_ref(),
        "-c".as_ref(),
        "copy".as_ref(),
        "-f".as_ref(),
        "data".as_ref(),
        raw.as_os_str(),
    ] as [&std::ffi::OsStr; 9]);
    let all = Bytes::from(std::fs::read(&raw).unwrap());
    let mut pos = 0;
    let mut out = Vec::new();
    for row in r {
        let p = all.slice(pos..pos + row.size);
        assert_eq!(md5_hex(&p), row.md5, "packet split");
        pos += row.size;
        out.push((row, p));
    }
    assert_eq!(pos, all.len());
    out
}

/// NAL units of a canonical frame.
pub fn canonical_nals(data: &Bytes) -> Vec<Bytes> {
    nal::length_prefixed_nalus(data, 4)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}
