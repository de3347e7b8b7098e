//! A WHEP/WHIP test client on str0m: posts an offer over plain HTTP/1.1, takes the answer,
//! and runs the str0m instance over a UDP socket on 127.0.0.1.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

// The webrtc test binary loads this file as `common::http` too; examples/webrtc_latency.rs,
// which includes this client, has no `common`.
#[allow(clippy::duplicate_mod)]
#[path = "../common/http.rs"]
mod http_response;
use http_response::read_http_response;

/// An HTTP response: status, lower-cased head, body.
pub struct HttpReply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<String> {
        let name = format!("{}:", name.to_ascii_lowercase());
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&name).map(|v| v.trim().to_string()))
    }
}

/// One HTTP/1.1 request (Connection: close).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpReply {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let (status, head, mut body) = read_http_response(&mut s, Duration::from_secs(30)).await;
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    HttpReply { status, head, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16)
            .unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + n]);
        data = &data[eol + 4 + n..];
    }
}

/// A str0m peer talking to the relay.
pub struct Client {
    pub rtc: Rtc,
    sock: UdpSocket,
    local: SocketAddr,
    /// The session resource (`Location`).
    pub location: String,
    pub video: Option<Mid>,
    pub audio: Option<Mid>,
    pub connected: bool,
    buf: Vec<u8>,
}

impl Client {
    /// Negotiates with `POST {path}` (`/{key}/whep` or `/{key}/whip`): media of `kinds` in
    /// `dir` (RecvOnly to play, SendOnly to publish). Err: the HTTP refusal.
    pub async fn connect(
        http_addr: SocketAddr,
        path: &str,
        dir: Direction,
        kinds: &[MediaKind],
        headers: &[(&str, &str)],
    ) -> Result<Client, HttpReply> {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = sock.local_addr().unwrap();
        let mut rtc = Rtc::builder().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let mut mids = Vec::new();
        for k in kinds {
            mids.push((*k, api.add_media(*k, dir, None, None, None)));
        }
        let (offer, pending) = api.apply().unwrap();
        let mut h = vec![("Content-Type", "application/sdp")];
        h.extend_from_slice(headers);
        let reply = http(
            http_addr,
            "POST",
            path,
            &h,
            offer.to_sdp_string().as_bytes(),
        )
        .await;
        if reply.status != 201 {
            return Err(reply);
        }
        let answer = SdpAnswer::from_sdp_string(std::str::from_utf8(&reply.body).unwrap())
            .expect("answer parses");
        rtc.sdp_api().accept_answer(pending, answer).unwrap();
        let location = reply.header("location").expect("Location");
        let find = |k| mids.iter().find(|(x, _)| *x == k).map(|(_, m)| *m);
        Ok(Client {
            video: find(MediaKind::Video),
            audio: find(MediaKind::Audio),
            rtc,
            sock,
            local,
            location,
            connected: false,
            buf: vec![0; 2048],
        })
    }

    /// Negotiates video and audio of `key`: WHEP when `dir` is RecvOnly (to play), WHIP
    /// when SendOnly (to publish); panics with the HTTP refusal.
    pub async fn open_av(http_addr: SocketAddr, key: &str, dir: Direction) -> Client {
        let what = match dir {
            Direction::RecvOnly => "WHEP",
            Direction::SendOnly => "WHIP",
            other => panic!("WHEP plays and WHIP publishes, not {other:?}"),
        };
        let path = format!("/{key}/{}", what.to_ascii_lowercase());
        let kinds = [MediaKind::Video, MediaKind::Audio];
        Client::connect(http_addr, &path, dir, &kinds, &[])
            .await
            .unwrap_or_else(|r| {
                panic!(
                    "{what} refused: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                )
            })
    }

    /// Ends the session: `DELETE` of its resource (`what`: WHEP or WHIP), answered 200.
    pub async fn delete(&self, http_addr: SocketAddr, what: &str) {
        let r = http(http_addr, "DELETE", &self.location, &[], b"").await;
        assert_eq!(r.status, 200, "DELETE of the {what} resource");
    }

    /// Drains str0m, then waits for one packet or `until` (whichever is first); returns
    /// the events produced.
    pub async fn step(&mut self, until: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        let timeout = loop {
            match self.rtc.poll_output().expect("poll_output") {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    let _ = self.sock.send_to(&t.contents, t.destination).await;
                }
                Output::Event(e) => {
                    if matches!(e, Event::Connected) {
                        self.connected = true;
                    }
                    events.push(e);
                }
            }
        };
        let wake = timeout.min(until);
        let wait = wake.saturating_duration_since(Instant::now());
        let input = match tokio::time::timeout(wait, self.sock.recv_from(&mut self.buf)).await {
            Ok(Ok((n, source))) => {
                match Receive::new(Protocol::Udp, source, self.local, &self.buf[..n]) {
                    Ok(r) => Some(Input::Receive(Instant::now(), r)),
                    Err(_) => None,
                }
            }
            _ => Some(Input::Timeout(Instant::now())),
        };
        if let Some(i) = input {
            let _ = self.rtc.handle_input(i);
        }
        events
    }

    /// Runs until `end`; returns the events produced.
    pub async fn run_until(&mut self, end: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        while Instant::now() < end {
            events.extend(self.step(end).await);
        }
        events
    }

    /// Runs until connected (panics after `limit`).
    pub async fn wait_connected(&mut self, limit: Duration) -> Vec<Event> {
        let end = Instant::now() + limit;
        let mut events = Vec::new();
        while !self.connected {
            assert!(
                Instant::now() < end,
                "WebRTC did not connect within {limit:?}"
            );
            events.extend(self.step(end).await);
        }
        events
    }
}
