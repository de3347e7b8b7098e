//! Reading HTTP responses: the whole response until the server closes the connection,
//! split into status, head and body. Only std and tokio, so that `tests/webrtc/client.rs`
//! (which `examples/webrtc_latency.rs` includes too) can include this file as well.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A whole HTTP response split: (status code, 0 when unreadable; lower-cased head; body).
pub fn split_http_response(all: &[u8]) -> (u16, String, Vec<u8>) {
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head")
        + 4;
    let head = String::from_utf8_lossy(&all[..split]).to_ascii_lowercase();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head, all[split..].to_vec())
}

/// Reads the response on `s` until the server closes the connection (panics after `limit`),
/// split as [`split_http_response`].
pub async fn read_http_response(s: &mut TcpStream, limit: Duration) -> (u16, String, Vec<u8>) {
    let mut all = Vec::new();
    tokio::time::timeout(limit, s.read_to_end(&mut all))
        .await
        .expect("http timeout")
        .unwrap();
    split_http_response(&all)
}
