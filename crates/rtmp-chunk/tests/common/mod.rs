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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn connect_retry(port: u16, timeout: Duration) -> TcpStream {
    let deadline = Instant::now() + timeout;
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => return s,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "cannot connect to ffmpeg on {port}: {e}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

pub fn accept_timeout(listener: &TcpListener, timeout: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "ffmpeg never connected");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
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

pub struct Child(pub std::process::Child);

impl Child {
    pub fn spawn(args: &[&str]) -> Child {
        let c = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        Child(c)
    }

    /// Waits for exit (bounded); returns stderr text. Kills the child on timeout.
    pub fn wait(mut self, timeout: Duration) -> (bool, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = self.0.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return (status.success(), err);
            }
            if Instant::now() > deadline {
                let _ = self.0.kill();
                let _ = self.0.wait();
                return (false, "timeout".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
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
