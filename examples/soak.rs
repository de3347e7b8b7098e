//! Soak test of the relay (run by hand, not in CI): players joining and leaving all the
//! time, publishers reconnecting every minute over RTMP, RTSP and GB28181, for as long as
//! asked; samples the server's RSS, open files and CPU, the players' added delay and any
//! stalled player into a CSV file.
//!
//! ```text
//! cargo build --release --examples
//! target/release/examples/soak --minutes 60 --csv target/soak.csv
//! ```
//!
//! A stalled player is one connected for more than `--stall-secs` that has received
//! nothing for that long. The summary at the end compares the samples from the tenth
//! minute on (RSS, open files, delay) — flat is the goal.

#[allow(dead_code)]
#[path = "fanout/load.rs"]
mod load;
#[allow(dead_code)]
#[path = "fanout/probe.rs"]
mod probe;
#[allow(dead_code)]
#[path = "fanout/target.rs"]
mod target;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use clap::Parser;
use load::{Endpoints, Protocol, Shared};
use weir_tokio::client::{
    Codec, Frame, RtmpUrl, RtspPublisher, Timebase, Timestamp, TrackId, TrackInfo,
};

/// Soak test: churning players, reconnecting publishers.
#[derive(Parser, Debug)]
struct Args {
    /// How long to run, minutes.
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// Players connected at any time.
    #[arg(long, default_value_t = 200)]
    players: usize,
    /// Players leaving (and as many joining) per second, on average.
    #[arg(long, default_value_t = 200)]
    churn: usize,
    /// Publishers (streams), split over RTMP, RTSP and GB28181/UDP.
    #[arg(long, default_value_t = 20)]
    publishers: usize,
    /// Each publisher disconnects and comes back after this long, seconds.
    #[arg(long, default_value_t = 60)]
    reconnect_secs: u64,
    /// Bitrate of each stream, kbit/s.
    #[arg(long, default_value_t = 500)]
    kbps: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10)]
    sample_secs: u64,
    /// A player silent this long (connected at least as long) is stalled, seconds.
    #[arg(long, default_value_t = 5)]
    stall_secs: u64,
    /// The Weir server binary (default: `server` next to this binary).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Publish over one protocol only (`rtmp`, `rtsp` or `gb28181`): publish-side capacity
    /// runs, e.g. `--publishers 500 --kbps 1000 --players 500 --churn 1 --only rtmp`.
    #[arg(long)]
    only: Option<String>,
    /// Where the samples go.
    #[arg(long, default_value = "target/soak.csv")]
    csv: PathBuf,
}

/// One stream of the soak.
struct Stream {
    path: String,
    shared: Arc<Shared>,
}

/// A small xorshift generator (the soak needs variety, not quality).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn video_track() -> TrackInfo {
    TrackInfo::new(TrackId(0), Codec::H264, 90_000).with_config(load::avc_record())
}

/// Frame `seq` of the synthetic stream in the canonical layout, at 90 kHz.
fn frame(seq: u64, kbps: u64) -> Frame {
    let (body, key) = load::video_frame(seq, kbps);
    let t = Timestamp::new(seq as i64 * 3600, Timebase::MPEG);
    Frame::new(TrackId(0), t, t, body.slice(5..)).with_keyframe(key)
}

/// Publishes over RTSP (TCP interleaved) until `until`.
async fn rtsp_publish(url: String, shared: &Shared, kbps: u64, until: Instant, seq: &mut u64) {
    let Ok(mut p) = RtspPublisher::connect(&url, &[video_track()]).await else {
        return;
    };
    let start = Instant::now();
    let first = *seq;
    while Instant::now() < until {
        let due = start + Duration::from_millis((*seq - first) * 40);
        tokio::time::sleep_until(due.into()).await;
        load::sending(shared, *seq);
        // (`send` queues; `flush` writes.)
        if p.send(&frame(*seq, kbps)).await.is_err() || p.flush().await.is_err() {
            return;
        }
        *seq += 1;
    }
    let _ = p.teardown().await;
}

/// Publishes as a GB28181 device over UDP (RTP carrying PS) until `until`.
async fn gb_publish(
    to: SocketAddr,
    ssrc: u32,
    shared: &Shared,
    kbps: u64,
    until: Instant,
    seq: &mut u64,
) {
    use weir_rtp_rtcp::payload::Packetizer;
    let Ok(sock) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else {
        return;
    };
    let Ok(mut mux) = weir_ps::PsMuxer::new(&[video_track()], weir_ps::PsMuxConfig::default())
    else {
        return;
    };
    let mut cfg = weir_rtp_rtcp::payload::PacketizerConfig::new(90_000);
    cfg.ssrc = ssrc;
    cfg.payload_type = 96;
    let mut pk = weir_rtp_rtcp::payload::ps::PsPacketizer::new(cfg);
    let start = Instant::now();
    let first = *seq;
    let mut packets: Vec<Bytes> = Vec::new();
    while Instant::now() < until {
        let due = start + Duration::from_millis((*seq - first) * 40);
        tokio::time::sleep_until(due.into()).await;
        let f = frame(*seq, kbps);
        let mut ps = BytesMut::new();
        if mux.write_frame(&f, &mut ps).is_err() {
            return;
        }
        let f = Frame::new(f.track, f.pts, f.dts, ps.freeze()).with_keyframe(f.keyframe);
        packets.clear();
        if pk.packetize(&f, &mut packets).is_err() {
            return;
        }
        load::sending(shared, *seq);
        for p in &packets {
            let _ = sock.send_to(p, to).await;
        }
        *seq += 1;
    }
}

/// Which protocol publisher `i` uses: 0 RTMP, 1 RTSP, 2 GB28181.
fn kind(i: usize, args: &Args) -> usize {
    match args.only.as_deref() {
        Some("rtmp") => 0,
        Some("rtsp") => 1,
        Some("gb28181") => 2,
        _ => i % 3,
    }
}

/// Publisher `i`: reconnects every `reconnect` for the whole soak.
async fn publisher(i: usize, ep: Endpoints, gb: SocketAddr, stream: Arc<Stream>, args: Arc<Args>) {
    let mut seq = 0u64;
    loop {
        let until = Instant::now() + Duration::from_secs(args.reconnect_secs);
        match kind(i, &args) {
            0 => {
                let Ok(url) = RtmpUrl::parse(&format!("rtmp://{}/{}", ep.rtmp, stream.path)) else {
                    return;
                };
                let _ = tokio::time::timeout_at(
                    until.into(),
                    load::publish(url, Some(stream.shared.clone()), args.kbps),
                )
                .await;
            }
            1 => {
                let Some(rtsp) = ep.rtsp else { return };
                let url = format!("rtsp://{rtsp}/{}", stream.path);
                rtsp_publish(url, &stream.shared, args.kbps, until, &mut seq).await;
            }
            _ => {
                let ssrc = 0x1000_0000 + i as u32;
                gb_publish(gb, ssrc, &stream.shared, args.kbps, until, &mut seq).await;
            }
        }
        // Gone for a moment, then back (within the relay's grace period).
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Per player slot: when its current player started (ms since the soak's epoch; 0: none)
/// and which stream it plays.
struct SlotState {
    started_ms: AtomicU64,
    stream: AtomicUsize,
}

/// Player slot `slot`: one player after another, each for a random time.
async fn player_slot(
    slot: usize,
    ep: Endpoints,
    streams: Arc<Vec<Arc<Stream>>>,
    state: Arc<Vec<SlotState>>,
    epoch: Instant,
    args: Arc<Args>,
) {
    const PROTOCOLS: [Protocol; 5] = [
        Protocol::Rtmp,
        Protocol::HttpFlv,
        Protocol::RtspTcp,
        Protocol::WsFlv,
        Protocol::RtspUdp,
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((slot as u64 + 1) * 0x1234_5678_9abc));
    // Mean lifetime players/churn seconds: `churn` players leave per second.
    let mean_ms = (args.players as u64 * 1000 / args.churn.max(1) as u64).max(200);
    loop {
        let s = rng.next() as usize % streams.len();
        let protocol = PROTOCOLS[rng.next() as usize % PROTOCOLS.len()];
        let life = Duration::from_millis(mean_ms / 2 + rng.next() % mean_ms.max(1));
        let st = &state[slot];
        st.stream.store(s, Ordering::Relaxed);
        st.started_ms
            .store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        if let Some(seen) = streams[s].shared.seen.get(slot) {
            seen.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
        let play = load::play(
            protocol,
            ep.clone(),
            streams[s].path.clone(),
            streams[s].shared.clone(),
            true,
            Some(slot),
        );
        let t0 = Instant::now();
        let _ = tokio::time::timeout(life, play).await;
        st.started_ms.store(0, Ordering::Relaxed);
        // A player refused at once (stream between publishers) tries again a bit later.
        if t0.elapsed() < Duration::from_millis(100) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Arc::new(Args::parse());
    probe::raise_fd_limit();
    let here = std::env::current_exe().unwrap_or_default();
    let bin = args
        .server
        .clone()
        .unwrap_or_else(|| here.with_file_name("server"));
    let gb_port = weir_testutil::free_tcp_port();
    let gb = SocketAddr::from(([127, 0, 0, 1], gb_port));
    let t = target::Target {
        name: "weir".into(),
        kind: target::Kind::Weir(bin),
    };
    let server = match t.start(&[
        format!("--gb28181-listen={gb}"),
        "--rtsp-session-timeout-ms=600000".into(),
        "--gb28181-max-streams=100000".into(),
        "--gb28181-max-streams-per-source=100000".into(),
    ]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let pid = server.pids()[0];
    let ep = server.ep.clone();
    let epoch = Instant::now();
    let streams: Arc<Vec<Arc<Stream>>> = Arc::new(
        (0..args.publishers)
            .map(|i| {
                let path = match kind(i, &args) {
                    2 => format!("rtp/{:08X}", 0x1000_0000 + i as u32),
                    _ => format!("live/soak{i}"),
                };
                let mut shared = Shared::with_slots(args.players);
                shared.epoch = epoch;
                Arc::new(Stream {
                    path,
                    shared: Arc::new(shared),
                })
            })
            .collect(),
    );
    for (i, s) in streams.iter().enumerate() {
        s.shared.measuring.store(true, Ordering::Relaxed);
        tokio::spawn(publisher(i, ep.clone(), gb, s.clone(), args.clone()));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state: Arc<Vec<SlotState>> = Arc::new(
        (0..args.players)
            .map(|_| SlotState {
                started_ms: AtomicU64::new(0),
                stream: AtomicUsize::new(0),
            })
            .collect(),
    );
    for slot in 0..args.players {
        tokio::spawn(player_slot(
            slot,
            ep.clone(),
            streams.clone(),
            state.clone(),
            epoch,
            args.clone(),
        ));
    }
    if let Some(dir) = args.csv.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut csv = std::fs::File::create(&args.csv).expect("csv");
    let _ = writeln!(csv, "minute,rss_kib,fds,server_cpu_pct,players_now,players_started,stalled,delay_p50_ms,delay_p99_ms,delay_max_ms,loadgen_cpu_pct");
    println!("| minute | RSS MiB | fds | server CPU % | players | started | stalled | delay p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let end = epoch + Duration::from_secs(args.minutes * 60);
    let mut last = probe::sample(pid);
    let mut last_gen = probe::sample(std::process::id());
    let mut last_t = Instant::now();
    let mut rows = Vec::new();
    let mut max_stalled = 0usize;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(args.sample_secs)).await;
        let now_ms = epoch.elapsed().as_millis() as u64;
        let stall_ms = args.stall_secs * 1000;
        let mut stalled = 0;
        let mut now_players = 0;
        for (slot, st) in state.iter().enumerate() {
            let started = st.started_ms.load(Ordering::Relaxed);
            if started == 0 {
                continue;
            }
            now_players += 1;
            let seen = streams[st.stream.load(Ordering::Relaxed)].shared.seen[slot]
                .load(Ordering::Relaxed);
            if now_ms.saturating_sub(started) > stall_ms && now_ms.saturating_sub(seen) > stall_ms {
                stalled += 1;
            }
        }
        max_stalled = max_stalled.max(stalled);
        let mut delays = Vec::new();
        let mut started = 0;
        for s in streams.iter() {
            if let Ok(mut d) = s.shared.delays.lock() {
                delays.append(&mut d);
            }
            started += s.shared.playing.swap(0, Ordering::Relaxed);
        }
        let cur = probe::sample(pid);
        let gen = probe::sample(std::process::id());
        let secs = last_t.elapsed().as_secs_f64();
        let cpu = cur.since(&last).cpu / secs * 100.0;
        let gen_cpu = gen.since(&last_gen).cpu / secs * 100.0;
        (last, last_gen, last_t) = (cur, gen, Instant::now());
        let fds = probe::fds(pid);
        let (p50, p99, max) = (
            probe::pct_ms(&mut delays, 0.5),
            probe::pct_ms(&mut delays, 0.99),
            probe::pct_ms(&mut delays, 1.0),
        );
        let minute = epoch.elapsed().as_secs_f64() / 60.0;
        let _ = writeln!(csv, "{minute:.2},{},{fds},{cpu:.2},{now_players},{started},{stalled},{p50:.3},{p99:.3},{max:.3},{gen_cpu:.2}", cur.rss_kib);
        let _ = csv.flush();
        println!("| {minute:.1} | {:.1} | {fds} | {cpu:.1} | {now_players} | {started} | {stalled} | {p50:.2} | {p99:.2} | {max:.1} |", cur.rss_kib as f64 / 1024.0);
        rows.push((minute, cur.rss_kib, fds, p99));
    }
    let late: Vec<&(f64, u64, usize, f64)> = rows.iter().filter(|r| r.0 >= 10.0).collect();
    if let (Some(a), Some(b)) = (late.first(), late.last()) {
        let rss: Vec<u64> = late.iter().map(|r| r.1).collect();
        let fds: Vec<usize> = late.iter().map(|r| r.2).collect();
        println!(
            "\nfrom minute 10: RSS {:.1} → {:.1} MiB (min {:.1}, max {:.1}), fds {} → {} (max {}), p99 delay {:.2} → {:.2} ms; most stalled players in a sample: {max_stalled}",
            a.1 as f64 / 1024.0,
            b.1 as f64 / 1024.0,
            *rss.iter().min().unwrap_or(&0) as f64 / 1024.0,
            *rss.iter().max().unwrap_or(&0) as f64 / 1024.0,
            a.2,
            b.2,
            fds.iter().max().unwrap_or(&0),
            a.3,
            b.3
        );
    } else {
        println!("\nmost stalled players in a sample: {max_stalled}");
    }
    drop(server);
}
