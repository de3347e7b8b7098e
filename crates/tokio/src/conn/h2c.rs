//! HTTP/2 over cleartext by upgrade (RFC 7540 §3.2, `Upgrade: h2c`), next to the prior
//! knowledge form hyper-util's auto builder detects by the connection preface.
//!
//! An HTTP/1.1 request with `Upgrade: h2c`, one `HTTP2-Settings` header and no body is
//! answered `101 Switching Protocols`; the connection then speaks HTTP/2 and the request is
//! answered on stream 1. hyper's HTTP/2 server has no way to take a request that did not
//! come as a HEADERS frame, so this module writes one: the upgraded connection's reader
//! passes the client's preface and first SETTINGS frame through, then the original request
//! as a HEADERS frame on stream 1 (HPACK literals without indexing, so the client's header
//! table is untouched), then the rest of what the client sends. (RFC 9113 deprecates this
//! upgrade; curl's `--http2` still uses it.)

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::http::{empty, Body};

/// The HTTP/2 connection preface a client sends first.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn has_token(v: Option<&HeaderValue>, token: &str) -> bool {
    v.and_then(|v| v.to_str().ok())
        .is_some_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// True for an upgradable request: HTTP/1.1 GET/HEAD without a body, `Upgrade: h2c`,
/// `Connection: Upgrade, HTTP2-Settings`, exactly one `HTTP2-Settings`.
pub(crate) fn is_upgrade<B>(req: &Request<B>) -> bool {
    let h = req.headers();
    let no_body = h.get(header::TRANSFER_ENCODING).is_none()
        && h.get(header::CONTENT_LENGTH).is_none_or(|v| v == "0");
    req.version() == Version::HTTP_11
        && (req.method() == Method::GET || req.method() == Method::HEAD)
        && no_body
        && has_token(h.get(header::UPGRADE), "h2c")
        && has_token(h.get(header::CONNECTION), "upgrade")
        && has_token(h.get(header::CONNECTION), "http2-settings")
        && h.get_all("http2-settings").iter().count() == 1
}

/// HPACK integer with an `n`-bit prefix whose high bits are `first`.
fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

fn hpack_str(out: &mut Vec<u8>, s: &[u8]) {
    hpack_int(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// The request as an HTTP/2 HEADERS frame on stream 1 (END_STREAM, END_HEADERS); `None`
/// when it would not fit one frame of the default size.
pub(crate) fn headers_frame<B>(req: &Request<B>) -> Option<Vec<u8>> {
    let mut block = Vec::with_capacity(256);
    match *req.method() {
        Method::GET => block.push(0x82),
        _ => {
            hpack_int(&mut block, 0, 4, 2);
            hpack_str(&mut block, req.method().as_str().as_bytes());
        }
    }
    block.push(0x86); // :scheme http
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    hpack_int(&mut block, 0, 4, 4);
    hpack_str(&mut block, path.as_bytes());
    if let Some(host) = req.headers().get(header::HOST) {
        hpack_int(&mut block, 0, 4, 1);
        hpack_str(&mut block, host.as_bytes());
    }
    const HOP: &[&str] = &[
        "connection",
        "upgrade",
        "http2-settings",
        "host",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
    ];
    for (name, value) in req.headers() {
        if HOP.contains(&name.as_str()) {
            continue;
        }
        block.push(0);
        hpack_str(&mut block, name.as_str().as_bytes());
        hpack_str(&mut block, value.as_bytes());
    }
    if block.len() > 16_384 {
        return None;
    }
    let n = block.len();
    let mut frame = vec![
        (n >> 16) as u8,
        (n >> 8) as u8,
        n as u8,
        0x1,
        0x5,
        0,
        0,
        0,
        1,
    ];
    frame.extend_from_slice(&block);
    Some(frame)
}

/// The `101` answer.
pub(crate) fn switching() -> Response<Body> {
    let mut r = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
    r
}

/// An upgraded connection whose reader inserts `frame` after the client's preface and first
/// SETTINGS frame.
pub(crate) struct Injected<T> {
    inner: T,
    /// What the client sent so far, while the insertion point is not reached.
    head: Vec<u8>,
    /// Bytes to hand out before reading on.
    out: Vec<u8>,
    out_at: usize,
    frame: Option<Vec<u8>>,
}

impl<T> Injected<T> {
    pub(crate) fn new(inner: T, frame: Vec<u8>) -> Injected<T> {
        Injected {
            inner,
            head: Vec::with_capacity(64),
            out: Vec::new(),
            out_at: 0,
            frame: Some(frame),
        }
    }

    /// Where the frame goes in `head`, once known (`None`: read more; the preface not being
    /// there passes everything through unchanged).
    fn insertion_point(&self) -> Option<usize> {
        let h = &self.head;
        if h.len() < PREFACE.len() {
            return (!PREFACE.starts_with(h)).then_some(h.len());
        }
        if !h.starts_with(PREFACE) {
            return Some(h.len());
        }
        let f = h.get(PREFACE.len()..PREFACE.len() + 9)?;
        let len = (usize::from(f[0]) << 16) | (usize::from(f[1]) << 8) | usize::from(f[2]);
        if f[3] != 0x4 || len > 16_384 {
            return Some(h.len());
        }
        let end = PREFACE.len() + 9 + len;
        (h.len() >= end).then_some(end)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Injected<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        loop {
            if me.out_at < me.out.len() {
                let n = (me.out.len() - me.out_at).min(buf.remaining());
                buf.put_slice(&me.out[me.out_at..me.out_at + n]);
                me.out_at += n;
                return Poll::Ready(Ok(()));
            }
            let Some(frame) = me.frame.take() else {
                return Pin::new(&mut me.inner).poll_read(cx, buf);
            };
            if let Some(at) = me.insertion_point() {
                let rest = me.head.split_off(at);
                me.out = std::mem::take(&mut me.head);
                me.out.extend_from_slice(&frame);
                me.out.extend_from_slice(&rest);
                me.out_at = 0;
                continue;
            }
            me.frame = Some(frame);
            let mut tmp = [0u8; 4096];
            let mut rb = ReadBuf::new(&mut tmp);
            match Pin::new(&mut me.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    // The client went away before its preface: nothing to insert into.
                    me.frame = None;
                    me.out = std::mem::take(&mut me.head);
                    me.out_at = 0;
                    if me.out.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Ready(Ok(())) => me.head.extend_from_slice(rb.filled()),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Injected<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn the_request_goes_after_the_first_settings_frame() {
        let settings = [0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100];
        let mut client = PREFACE.to_vec();
        client.extend_from_slice(&settings);
        client.extend_from_slice(b"NEXT");
        // Delivered a few bytes at a time.
        let reader = tokio_test_reader(client.clone());
        let req = Request::get("/live/a/ll.m3u8?_HLS_msn=3")
            .header("host", "x")
            .body(())
            .unwrap();
        let frame = headers_frame(&req).unwrap();
        assert_eq!(&frame[3..9], &[1, 5, 0, 0, 0, 1]);
        let mut io = Injected::new(reader, frame.clone());
        let mut got = Vec::new();
        io.read_to_end(&mut got).await.unwrap();
        let mut want = PREFACE.to_vec();
        want.extend_from_slice(&settings);
        want.extend_from_slice(&frame);
        want.extend_from_slice(b"NEXT");
        assert_eq!(got, want);
    }

    /// Hands out `data` seven bytes per read.
    struct Slow(Vec<u8>, usize);

    impl AsyncRead for Slow {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let at = self.1;
            let n = (self.0.len() - at).min(7).min(buf.remaining());
            buf.put_slice(&self.0[at..at + n]);
            self.1 += n;
            Poll::Ready(Ok(()))
        }
    }

    fn tokio_test_reader(data: Vec<u8>) -> Slow {
        Slow(data, 0)
    }

    /// Hands out `data` `step` bytes per read.
    struct Chunked(Vec<u8>, usize, usize);

    impl AsyncRead for Chunked {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let (at, step) = (self.1, self.2);
            let n = (self.0.len() - at).min(step).min(buf.remaining());
            buf.put_slice(&self.0[at..at + n]);
            self.1 += n;
            Poll::Ready(Ok(()))
        }
    }

    fn inject(client: Vec<u8>, step: usize, frame: &[u8]) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut io = Injected::new(Chunked(client, 0, step), frame.to_vec());
            let mut got = Vec::new();
            io.read_to_end(&mut got).await.unwrap();
            got
        })
    }

    proptest::proptest! {
        /// Whatever a client sends, in reads of any size: its bytes come through in order,
        /// the request frame at most once, and right after the SETTINGS frame when the
        /// client starts with the preface and one.
        #[test]
        fn any_client_bytes_pass_through_with_the_frame_once(
            settings_len in 0usize..40,
            garbage in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..64)),
            rest in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            step in 1usize..50,
        ) {
            let frame = b"\x00\x00\x01\x01\x05\x00\x00\x00\x01\xAA".to_vec();
            let client = match &garbage {
                Some(g) => g.clone(),
                None => {
                    let mut c = PREFACE.to_vec();
                    c.extend_from_slice(&[0, 0, settings_len as u8, 0x4, 0, 0, 0, 0, 0]);
                    c.extend(std::iter::repeat_n(7u8, settings_len));
                    c
                }
            };
            let mut all = client.clone();
            all.extend_from_slice(&rest);
            let got = inject(all.clone(), step, &frame);
            match got.windows(frame.len()).position(|w| w == frame.as_slice()) {
                Some(at) => {
                    let mut back = got[..at].to_vec();
                    back.extend_from_slice(&got[at + frame.len()..]);
                    proptest::prop_assert_eq!(&back, &all);
                    if garbage.is_none() {
                        proptest::prop_assert_eq!(at, client.len());
                    }
                }
                // No preface and nothing read: nothing to insert into.
                None => proptest::prop_assert!(all.is_empty() || got == all),
            }
        }
    }
}
