#![allow(dead_code)]
//! Helpers for the interop tests: sample media, a minimal FLV reader/writer (tag
//! headers built by hand), and blocking socket pumps around the sans-IO sessions.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use weir_amf::{amf0, Amf0Value};

/// An FLV tag: type (8 audio, 9 video, 18 script), timestamp in ms, body.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub kind: u8,
    pub timestamp: u32,
    pub body: Bytes,
}

/// H.264 + AAC sample, 50 frames at 25 fps, deterministic.
pub fn make_source(dir: &Path) -> PathBuf {
    let out = dir.join("src.flv");
    weir_testutil::ffmpeg([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-frames:v",
        "50",
        "-t",
        "2",
        "-g",
        "25",
        "-bitexact",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "flv",
        out.to_str().unwrap(),
    ]);
    out
}

pub fn read_flv(path: &Path) -> Vec<Tag> {
    let data = std::fs::read(path).unwrap();
    assert_eq!(&data[..3], b"FLV");
    let mut pos = u32::from_be_bytes(data[5..9].try_into().unwrap()) as usize + 4;
    let mut tags = Vec::new();
    while pos + 11 <= data.len() {
        let kind = data[pos] & 0x1F;
        let size = u32::from_be_bytes([0, data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let ts = u32::from_be_bytes([data[pos + 7], data[pos + 4], data[pos + 5], data[pos + 6]]);
        let body = Bytes::copy_from_slice(&data[pos + 11..pos + 11 + size]);
        tags.push(Tag {
            kind,
            timestamp: ts,
            body,
        });
        pos += 11 + size + 4;
    }
    tags
}

pub fn write_flv(path: &Path, tags: &[Tag]) {
    let mut out = Vec::new();
    out.extend_from_slice(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00");
    for t in tags {
        let size = t.body.len() as u32;
        out.push(t.kind);
        out.extend_from_slice(&size.to_be_bytes()[1..]);
        out.extend_from_slice(&t.timestamp.to_be_bytes()[1..]);
        out.push((t.timestamp >> 24) as u8);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&t.body);
        out.extend_from_slice(&(11 + size).to_be_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// Script tag body for `onMetaData`.
pub fn metadata_tag(md: &Amf0Value) -> Tag {
    let mut b = BytesMut::new();
    amf0::encode(&"onMetaData".into(), &mut b).unwrap();
    amf0::encode(md, &mut b).unwrap();
    Tag {
        kind: 18,
        timestamp: 0,
        body: b.freeze(),
    }
}

/// Metadata object of a script tag body (`onMetaData`, value).
pub fn metadata_of_tag(t: &Tag) -> Amf0Value {
    let v = amf0::decode_all(&t.body).unwrap();
    v.into_iter().nth(1).unwrap()
}

/// Starts an ffmpeg that listens on a fresh 127.0.0.1 port (`args(port)`), and connects to it
/// once ffmpeg itself listens there — never to whoever else may have taken the port. A port
/// taken before ffmpeg bound it is replaced by a new one.
pub fn spawn_ffmpeg_listener(
    timeout: Duration,
    args: impl Fn(u16) -> Vec<String>,
) -> (Child, u16, TcpStream) {
    let (mut child, port) = weir_testutil::spawn_tcp_listener(timeout, |port| {
        weir_testutil::ffmpeg_command(args(port))
    });
    let sock = child.connect_when_listening(port, timeout);
    (Child(child), port, sock)
}

/// Accepts ffmpeg's connection; fails at once (with its stderr) if ffmpeg exits first.
pub fn accept_from(listener: &TcpListener, child: &mut Child, timeout: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + timeout;
    let sock = weir_testutil::wait_for(deadline, || match listener.accept() {
        Ok((s, _)) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            if let Some(st) = child.0.try_wait() {
                panic!(
                    "ffmpeg exited ({st}) before connecting: {}",
                    child.0.stderr_text()
                );
            }
            None
        }
        Err(e) => panic!("accept: {e}"),
    });
    let sock = sock.unwrap_or_else(|| {
        panic!(
            "ffmpeg never connected in {timeout:?}: {}",
            child.0.stderr_text()
        )
    });
    sock.set_nonblocking(false).unwrap();
    sock
}

/// Reads what is available (up to a short timeout). `None` on EOF.
pub fn read_some(sock: &mut TcpStream, buf: &mut BytesMut) -> Option<usize> {
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut tmp = [0u8; 65536];
    match sock.read(&mut tmp) {
        Ok(0) => None,
        Ok(n) => {
            buf.extend_from_slice(&tmp[..n]);
            Some(n)
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Some(0)
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
        Err(e) => panic!("read: {e}"),
    }
}

pub fn write_all(sock: &mut TcpStream, mut next: impl FnMut() -> Option<Bytes>) {
    while let Some(b) = next() {
        sock.write_all(&b).unwrap();
    }
}

/// An ffmpeg child, killed when it drops (pass or fail).
pub struct Child(pub weir_testutil::ChildGuard);

impl Child {
    pub fn spawn(args: &[&str]) -> Child {
        Child(weir_testutil::ChildGuard::spawn(
            &mut weir_testutil::ffmpeg_command(args),
        ))
    }

    /// Waits for exit (bounded); returns stderr text. Kills the child on timeout.
    pub fn wait(self, timeout: Duration) -> (bool, String) {
        let f = self.0.finish(timeout);
        match f.status {
            Some(st) => (st.success(), f.stderr),
            None => (false, format!("timeout after {timeout:?}\n{}", f.stderr)),
        }
    }
}

pub fn assert_same_packets(a: &Path, b: &Path) {
    for map in ["0:v", "0:a"] {
        let x = weir_testutil::framemd5(a, map, &[]);
        let y = weir_testutil::framemd5(b, map, &[]);
        assert!(!x.is_empty(), "no {map} packets in {}", a.display());
        assert_eq!(
            x,
            y,
            "framemd5 of {map} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}
