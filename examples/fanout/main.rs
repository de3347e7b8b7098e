//! Fan-out benchmark runner: one publisher, N players, on loopback, against one or more
//! servers run interleaved in one session (A B A B …), with the results as ratios to the
//! first server.
//!
//! ```text
//! cargo build --release --examples
//! # Weir against nginx-rtmp (when installed), RTMP, three rounds:
//! target/release/examples/fanout --target nginx --target weir --rounds 3
//! # HTTP-FLV / RTSP against another Weir build (e.g. the previous commit's):
//! target/release/examples/fanout --protocol http-flv --target old=../old/server --target weir
//! # 10,000 players at 64 kbit/s, delay probed on every 20th:
//! target/release/examples/fanout --target weir --players 1000,10000 --kbps 64 --probe-every 20
//! ```
//!
//! Each server is started as a child on free loopback ports (nginx-rtmp with a temporary
//! prefix, one process, an `application live { live on; }` block). A synthetic stream
//! (25 fps, 2 s GOP, AAC-sized audio every 23 ms) carries a sequence number in every video
//! frame; players are added in steps, and for each step the runner reports what the
//! server did in the measurement window: delivered bitrate, server CPU (all of its
//! threads, from /proc), CPU-seconds per delivered Gbit, resident memory, write system
//! calls and context switches per delivered MB (independent of other load on the
//! machine), the delay players add to each frame (publisher send → player receive, one
//! clock), connect → first keyframe, and the load generator's own CPU. The summary gives
//! per server the median over rounds (with the spread) of the marginal CPU per delivered
//! Gbit (first → last step), memory per added player, p99 added delay at the step closest
//! to 100 players and connect → keyframe p50, and their ratios to the first server.

#[allow(dead_code)] // (shared with the soak tool)
mod load;
#[allow(dead_code)]
mod probe;
mod report;
mod target;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use load::{Endpoints, Protocol, Shared};
use report::{Run, Step};
use target::Target;
use tokio::task::JoinSet;
use weir_tokio::client::RtmpUrl;

/// Fan-out benchmark: Weir against nginx-rtmp or another Weir build, interleaved.
#[derive(Parser, Debug)]
pub struct Args {
    /// Servers, in column order (the first is the baseline of the ratios): `nginx`, `weir`
    /// (the `server` next to this binary) or `NAME=PATH` of a Weir binary. Default: `nginx`
    /// (RTMP, when installed) and `weir`.
    #[arg(long = "target")]
    targets: Vec<String>,
    /// A Weir binary to run alone (the old runner's flag; same as `--target weir=PATH`).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The players' protocol.
    #[arg(long, value_enum, default_value = "rtmp")]
    protocol: Protocol,
    /// Player counts to step through (cumulative).
    #[arg(long, value_delimiter = ',', default_value = "20,100,300")]
    players: Vec<usize>,
    /// Measurement window per step, seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Publisher-only window (idle CPU), seconds.
    #[arg(long, default_value_t = 5)]
    idle_seconds: u64,
    /// Publisher bitrate, kbit/s.
    #[arg(long, default_value_t = 2500)]
    kbps: u64,
    /// Rounds; every round runs every server once, in order.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Seconds to let a step settle after its players got their first keyframe.
    #[arg(long, default_value_t = 2)]
    settle: u64,
    /// Measure delay on every Nth player only (all count bytes); for large runs.
    #[arg(long, default_value_t = 1)]
    probe_every: usize,
    /// Extra flags for Weir servers (repeat; e.g. `--weir-arg=--merge-write-ms=0`).
    #[arg(long = "weir-arg", allow_hyphen_values = true)]
    weir_args: Vec<String>,
    /// Count every system call and context switch of the server in each window with
    /// `perf stat` (tracepoints; adds a little load).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    syscalls: bool,
    /// Appends one line per step to this CSV file.
    #[arg(long)]
    csv: Option<PathBuf>,
}

fn targets(args: &Args) -> Vec<Target> {
    let here = std::env::current_exe().unwrap_or_default();
    let mut specs = args.targets.clone();
    if let Some(s) = &args.server {
        specs.push(format!("weir={}", s.display()));
    }
    if specs.is_empty() {
        if args.protocol == Protocol::Rtmp {
            specs.push("nginx".into());
        }
        specs.push("weir".into());
    }
    let mut out = Vec::new();
    for s in &specs {
        match Target::parse(s, &here) {
            Ok(t) if !t.available() => eprintln!("skipping {}: not available here", t.name),
            Ok(t) if matches!(t.kind, target::Kind::Nginx) && args.protocol != Protocol::Rtmp => {
                eprintln!(
                    "skipping nginx-rtmp: it has no {} egress",
                    args.protocol.name()
                );
            }
            Ok(t) => out.push(t),
            Err(e) => eprintln!("{e}"),
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let limit = probe::raise_fd_limit();
    let targets = targets(&args);
    if targets.is_empty() {
        eprintln!("nothing to run");
        std::process::exit(2);
    }
    println!(
        "# {} fan-out, {} kbit/s, players {:?}, {} s windows, {} round(s), open files {limit}, load {}",
        args.protocol.name(),
        args.kbps,
        args.players,
        args.seconds,
        args.rounds,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    let mut runs: Vec<(usize, Run)> = Vec::new();
    for round in 1..=args.rounds {
        for (i, t) in targets.iter().enumerate() {
            println!("\n## round {round}: {}", t.name);
            match run_one(&args, t).await {
                Ok(run) => {
                    report::print_run(&run);
                    if let Some(path) = &args.csv {
                        report::append_csv(path, round, &t.name, args.protocol, &run);
                    }
                    runs.push((i, run));
                }
                Err(e) => eprintln!("{}: {e}", t.name),
            }
        }
    }
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    report::print_summary(&names, &runs);
}

/// One server, one pass through the player steps.
async fn run_one(args: &Args, t: &Target) -> Result<Run, String> {
    // The RTSP/UDP port range only where it matters, so that builds older than the flag
    // (e.g. the pre-rebuild commit) run the other protocols.
    let mut extra = args.weir_args.clone();
    if args.protocol == load::Protocol::RtspUdp {
        extra.extend(
            [
                "--rtsp-udp-port-min",
                "20000",
                "--rtsp-udp-port-max",
                "29999",
            ]
            .map(String::from),
        );
    }
    let server = t.start(&extra)?;
    let pids = server.pids();
    let ep = server.ep.clone();
    let shared = Arc::new(Shared::default());
    let url =
        RtmpUrl::parse(&format!("rtmp://{}/live/bench", ep.rtmp)).map_err(|e| e.to_string())?;
    let publisher = tokio::spawn(load::publish(url, Some(shared.clone()), args.kbps));
    // Let the first GOP into the server's cache (the players' first keyframe is then the
    // cached one on servers that have a cache).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = Duration::from_secs(args.idle_seconds);
    let s0 = probe::sample_all(&pids);
    tokio::time::sleep(idle).await;
    let s1 = probe::sample_all(&pids);
    let mut run = Run {
        idle_cpu_pct: s1.since(&s0).cpu / idle.as_secs_f64() * 100.0,
        base_rss_kib: s1.rss_kib,
        steps: Vec::new(),
    };
    let mut players = JoinSet::new();
    for &n in &args.players {
        let step = add_players(args, &ep, &shared, &mut players, n).await;
        run.steps.push(measure(args, &pids, &shared, n, step).await);
    }
    players.abort_all();
    publisher.abort();
    drop(server);
    Ok(run)
}

/// Adds players up to `n`; returns connect → first keyframe (µs) of the new ones.
async fn add_players(
    args: &Args,
    ep: &Endpoints,
    shared: &Arc<Shared>,
    players: &mut JoinSet<()>,
    n: usize,
) -> Vec<u32> {
    if let Ok(mut v) = shared.first_key.lock() {
        v.clear();
    }
    let before = players.len();
    for i in before..n {
        let probe = i % args.probe_every.max(1) == 0;
        players.spawn(load::play(
            args.protocol,
            ep.clone(),
            "live/bench".into(),
            shared.clone(),
            probe,
            None,
        ));
        if (i + 1) % 20 == 0 {
            // Join in small bursts, as real audiences do.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // Until every player has its first keyframe (or gave up), bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let done = shared.playing.load(Ordering::Relaxed) + shared.ended.load(Ordering::Relaxed);
        if done >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    shared
        .first_key
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default()
}

/// One measurement window with `n` players.
async fn measure(
    args: &Args,
    pids: &[u32],
    shared: &Shared,
    n: usize,
    mut first_key: Vec<u32>,
) -> Step {
    for d in [&shared.delays, &shared.delays_inter] {
        if let Ok(mut d) = d.lock() {
            d.clear();
        }
    }
    shared.bytes.store(0, Ordering::Relaxed);
    shared.measuring.store(true, Ordering::Relaxed);
    let me = std::process::id();
    let (s0, g0, t0) = (probe::sample_all(pids), probe::sample(me), Instant::now());
    let perf = args
        .syscalls
        .then(|| probe::PerfStat::start(pids, args.seconds))
        .flatten();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let counted = match perf {
        Some(p) => tokio::task::spawn_blocking(move || p.finish())
            .await
            .ok()
            .flatten(),
        None => None,
    };
    shared.measuring.store(false, Ordering::Relaxed);
    let (s1, g1, secs) = (
        probe::sample_all(pids),
        probe::sample(me),
        t0.elapsed().as_secs_f64(),
    );
    let (s, g) = (s1.since(&s0), g1.since(&g0));
    let bytes = shared.bytes.load(Ordering::Relaxed) as f64;
    let take = |d: &std::sync::Mutex<Vec<u32>>| {
        d.lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    };
    let (mut d, mut inter) = (take(&shared.delays), take(&shared.delays_inter));
    Step {
        players: n,
        playing: shared.playing.load(Ordering::Relaxed),
        secs,
        bytes,
        server: s,
        loadgen_cpu: g.cpu,
        delay_p50: probe::pct_ms(&mut d, 0.5),
        delay_p99: probe::pct_ms(&mut d, 0.99),
        delay_p99_inter: probe::pct_ms(&mut inter, 0.99),
        first_key_p50: probe::pct_ms(&mut first_key, 0.5),
        counted,
    }
}
