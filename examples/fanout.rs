//! RTMP fan-out benchmark: one publisher, N players, on loopback.
//!
//! ```text
//! cargo build --release --examples
//! target/release/examples/fanout --players 20,100,300 --seconds 10
//! ```
//!
//! Starts `target/release/examples/server` (next to this binary) as a child process on
//! free loopback ports, publishes a synthetic 2.5 Mbit/s H.264-shaped stream (25 fps,
//! 2 s GOP, AAC-sized audio) with a sequence number in every video frame, and adds RTMP
//! players in steps. For each step it reports what the server did in the measurement
//! window: delivered bitrate, server CPU (from /proc), CPU-seconds per delivered Gbit,
//! resident memory, the delay players add to each frame (publisher send → player receive,
//! one clock), and connect → first keyframe. The load generator shares the machine with
//! the server, as it does for every peer measured the same way.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use clap::Parser;
use weir_rtmp_chunk::ClientEvent;
use weir_tokio::client::{RtmpClient, RtmpUrl};

/// RTMP fan-out benchmark against the Weir example server.
#[derive(Parser, Debug)]
struct Args {
    /// Player counts to step through (cumulative).
    #[arg(long, value_delimiter = ',', default_value = "20,100,300")]
    players: Vec<usize>,
    /// Measurement window per step, seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Publisher bitrate, kbit/s.
    #[arg(long, default_value_t = 2500)]
    kbps: u64,
    /// Server binary (default: `server` next to this binary).
    #[arg(long)]
    server: Option<std::path::PathBuf>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// (utime + stime) in seconds, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

struct Shared {
    /// Send time of each video frame, by sequence number.
    sent: Mutex<HashMap<u64, Instant>>,
    /// Delays (µs) recorded during the current window.
    delays: Mutex<Vec<u32>>,
    /// Connect → first keyframe (µs) of players added in the current step.
    first_key: Mutex<Vec<u32>>,
    bytes: AtomicU64,
    measuring: std::sync::atomic::AtomicBool,
}

fn video_body(seq: u64, key: bool, size: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(size + 9);
    b.put_slice(&[if key { 0x17 } else { 0x27 }, 1, 0, 0, 0]);
    let nal_len = size.saturating_sub(9).max(9);
    b.put_u32(nal_len as u32);
    b.put_u8(if key { 0x65 } else { 0x41 });
    b.put_u64(seq);
    b.resize(b.len() + nal_len - 9, 0xAB);
    b.freeze()
}

async fn publisher(url: RtmpUrl, shared: Arc<Shared>, kbps: u64) {
    let mut p = RtmpClient::connect(&url).await.expect("publisher connect");
    p = p.publish(&url.stream).await.expect("publish");
    p.send_video(
        0,
        Bytes::from_static(&[
            0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4,
            0x68, 0xee, 0x3c, 0x80,
        ]),
    )
    .await
    .expect("config");
    p.send_audio(0, Bytes::from_static(&[0xAF, 0, 0x12, 0x10]))
        .await
        .expect("aac config");
    let frame_bytes = (kbps * 1000 / 8 / 25) as usize;
    let audio_bytes = 160;
    let start = Instant::now();
    let mut audio_ms = 0u64;
    for seq in 0u64.. {
        let ts = seq * 40;
        let due = start + Duration::from_millis(ts);
        tokio::time::sleep_until(due.into()).await;
        let key = seq % 50 == 0;
        let size = if key {
            frame_bytes * 4
        } else {
            frame_bytes * 46 / 49
        };
        shared.sent.lock().unwrap().insert(seq, Instant::now());
        if p.send_video(ts as u32, video_body(seq, key, size))
            .await
            .is_err()
        {
            return;
        }
        while audio_ms <= ts {
            let mut a = vec![0xAF, 1];
            a.resize(audio_bytes, 0x21);
            if p.send_audio(audio_ms as u32, Bytes::from(a)).await.is_err() {
                return;
            }
            audio_ms += 23;
        }
        // Keep the send-time map small.
        if seq % 250 == 0 {
            let mut m = shared.sent.lock().unwrap();
            m.retain(|s, _| *s + 500 > seq);
        }
    }
}

async fn player(url: RtmpUrl, shared: Arc<Shared>) {
    let t0 = Instant::now();
    let Ok(c) = RtmpClient::connect(&url).await else {
        return;
    };
    let Ok(mut c) = c.play(&url.stream).await else {
        return;
    };
    let mut first = true;
    while let Ok(Some(ev)) = c.next_event().await {
        let data = match ev {
            ClientEvent::Video { data, .. } => data,
            ClientEvent::Audio { data, .. } => {
                if shared.measuring.load(Ordering::Relaxed) {
                    shared.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                continue;
            }
            _ => continue,
        };
        let now = Instant::now();
        if shared.measuring.load(Ordering::Relaxed) {
            shared.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        if data.len() < 18 || data[1] != 1 {
            continue;
        }
        if first && data[0] >> 4 == 1 {
            first = false;
            shared
                .first_key
                .lock()
                .unwrap()
                .push(t0.elapsed().as_micros() as u32);
        }
        let seq = u64::from_be_bytes(data[10..18].try_into().unwrap_or([0; 8]));
        if shared.measuring.load(Ordering::Relaxed) {
            if let Some(sent) = shared.sent.lock().unwrap().get(&seq).copied() {
                shared
                    .delays
                    .lock()
                    .unwrap()
                    .push(now.saturating_duration_since(sent).as_micros() as u32);
            }
        }
    }
}

fn pct(v: &mut [u32], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    f64::from(v[i.min(v.len() - 1)]) / 1000.0
}

struct ServerGuard(Child);
impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let server_bin = args.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("exe")
            .with_file_name("server")
    });
    let (rtmp_port, http_port) = (free_port(), free_port());
    let child = Command::new(&server_bin)
        .args([
            "--rtmp-listen",
            &format!("127.0.0.1:{rtmp_port}"),
            "--http-listen",
            &format!("127.0.0.1:{http_port}"),
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (cargo build --release --examples)",
                server_bin.display()
            )
        });
    let pid = child.id();
    let _guard = ServerGuard(child);
    let addr: SocketAddr = format!("127.0.0.1:{rtmp_port}").parse().expect("addr");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = RtmpUrl::parse(&format!("rtmp://{addr}/live/bench")).expect("url");
    let shared = Arc::new(Shared {
        sent: Mutex::new(HashMap::new()),
        delays: Mutex::new(Vec::new()),
        first_key: Mutex::new(Vec::new()),
        bytes: AtomicU64::new(0),
        measuring: std::sync::atomic::AtomicBool::new(false),
    });
    tokio::spawn(publisher(url.clone(), shared.clone(), args.kbps));
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Publisher only.
    let window = Duration::from_secs(args.seconds);
    let c0 = cpu_seconds(pid);
    tokio::time::sleep(window).await;
    let idle_cpu = (cpu_seconds(pid) - c0) / window.as_secs_f64() * 100.0;
    let base_rss = rss_kib(pid);
    println!(
        "publisher only: server CPU {idle_cpu:.2} %, RSS {} KiB",
        base_rss
    );
    println!();
    println!("| players | delivered Mbit/s | server CPU % | CPU-s per Gbit | RSS MiB | delay p50 ms | delay p99 ms | connect→keyframe p50 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    let mut connected = 0;
    for &n in &args.players {
        shared.first_key.lock().unwrap().clear();
        while connected < n {
            tokio::spawn(player(url.clone(), shared.clone()));
            connected += 1;
            if connected % 20 == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        shared.delays.lock().unwrap().clear();
        shared.bytes.store(0, Ordering::Relaxed);
        shared.measuring.store(true, Ordering::Relaxed);
        let c0 = cpu_seconds(pid);
        let t0 = Instant::now();
        tokio::time::sleep(window).await;
        shared.measuring.store(false, Ordering::Relaxed);
        let secs = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds(pid) - c0;
        let bits = shared.bytes.load(Ordering::Relaxed) as f64 * 8.0;
        let gbit = bits / 1e9;
        let rss = rss_kib(pid);
        let mut d = std::mem::take(&mut *shared.delays.lock().unwrap());
        let mut fk = shared.first_key.lock().unwrap().clone();
        let (p50, p99, fk50) = (pct(&mut d, 0.5), pct(&mut d, 0.99), pct(&mut fk, 0.5));
        println!(
            "| {n} | {:.1} | {:.1} | {:.3} | {:.1} | {p50:.2} | {p99:.2} | {fk50:.2} |",
            bits / secs / 1e6,
            cpu / secs * 100.0,
            if gbit > 0.0 { cpu / gbit } else { f64::NAN },
            rss as f64 / 1024.0,
        );
        rows.push((n, cpu, gbit, rss));
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        if last.0 > first.0 && last.2 > first.2 {
            println!();
            println!(
                "marginal: {:.3} server CPU-s per delivered Gbit, {:.1} KiB per added player",
                (last.1 - first.1) / (last.2 - first.2),
                (last.3 as f64 - first.3 as f64) / (last.0 - first.0) as f64
            );
        }
    }
}
