//! Tables: one per run (per step), and the summary over rounds with ratios to the first
//! server.

use std::io::Write;
use std::path::Path;

use crate::load::Protocol;
use crate::probe::{Counted, Sample};

/// One measurement window.
#[derive(Clone, Debug)]
pub struct Step {
    /// Players connected.
    pub players: usize,
    /// Players that got a first keyframe.
    pub playing: usize,
    /// Window length, seconds.
    pub secs: f64,
    /// Payload bytes the players received.
    pub bytes: f64,
    /// The server's counters over the window.
    pub server: Sample,
    /// The load generator's CPU-seconds over the window.
    pub loadgen_cpu: f64,
    /// Added delay, ms.
    pub delay_p50: f64,
    /// Added delay, ms.
    pub delay_p99: f64,
    /// Added delay of non-key frames, ms.
    pub delay_p99_inter: f64,
    /// Connect → first keyframe of the players this step added, ms.
    pub first_key_p50: f64,
    /// Every system call and context switch of the server in the window (`perf stat`).
    pub counted: Option<Counted>,
}

impl Step {
    fn gbit(&self) -> f64 {
        self.bytes * 8.0 / 1e9
    }

    fn mb(&self) -> f64 {
        self.bytes / 1e6
    }

    /// System calls per delivered MB (`perf stat`; else write calls from /proc/PID/io).
    fn syscalls_per_mb(&self) -> f64 {
        self.per_mb(self.counted.map_or(self.server.syscw, |c| c.syscalls))
    }

    /// Context switches per delivered MB.
    fn switches_per_mb(&self) -> f64 {
        self.per_mb(
            self.counted
                .map_or(self.server.vcsw + self.server.ivcsw, |c| c.switches),
        )
    }

    fn per_mb(&self, n: u64) -> f64 {
        if self.bytes > 0.0 {
            n as f64 / self.mb()
        } else {
            f64::NAN
        }
    }
}

/// One server's pass through the steps.
#[derive(Clone, Debug)]
pub struct Run {
    /// Server CPU with the publisher alone, %.
    pub idle_cpu_pct: f64,
    /// RSS with the publisher alone, KiB.
    pub base_rss_kib: u64,
    /// The steps.
    pub steps: Vec<Step>,
}

impl Run {
    /// Server CPU-seconds per delivered Gbit between the first and last step.
    pub fn marginal_cpu_per_gbit(&self) -> f64 {
        match (self.steps.first(), self.steps.last()) {
            (Some(a), Some(b)) if b.gbit() > a.gbit() && self.steps.len() > 1 => {
                (b.server.cpu - a.server.cpu) / (b.gbit() - a.gbit())
            }
            (_, Some(b)) if b.gbit() > 0.0 => b.server.cpu / b.gbit(),
            _ => f64::NAN,
        }
    }

    /// KiB of server RSS per player added between the first and last step (from the
    /// publisher-only baseline with one step).
    pub fn kib_per_player(&self) -> f64 {
        match (self.steps.first(), self.steps.last()) {
            (Some(a), Some(b)) if b.players > a.players => {
                (b.server.rss_kib as f64 - a.server.rss_kib as f64) / (b.players - a.players) as f64
            }
            (_, Some(b)) if b.players > 0 => {
                (b.server.rss_kib as f64 - self.base_rss_kib as f64) / b.players as f64
            }
            _ => f64::NAN,
        }
    }

    /// The step closest to 100 players.
    fn near_100(&self) -> Option<&Step> {
        self.steps
            .iter()
            .min_by_key(|s| (s.players as i64 - 100).unsigned_abs())
    }

    /// p99 added delay at the step closest to 100 players, ms.
    pub fn delay_p99_100(&self) -> f64 {
        self.near_100().map_or(f64::NAN, |s| s.delay_p99)
    }

    /// p99 added delay of non-key frames at the step closest to 100 players, ms.
    pub fn delay_p99_inter_100(&self) -> f64 {
        self.near_100().map_or(f64::NAN, |s| s.delay_p99_inter)
    }

    /// Median over steps of connect → first keyframe p50, ms.
    pub fn first_key_p50(&self) -> f64 {
        let mut v: Vec<f64> = self
            .steps
            .iter()
            .map(|s| s.first_key_p50)
            .filter(|x| x.is_finite())
            .collect();
        median(&mut v)
    }

    fn last(&self) -> Option<&Step> {
        self.steps.last()
    }
}

/// Prints a run's steps.
pub fn print_run(run: &Run) {
    println!(
        "publisher only: server CPU {:.2} %, RSS {} KiB",
        run.idle_cpu_pct, run.base_rss_kib
    );
    println!("| players | playing | delivered Mbit/s | server CPU % | CPU-s per Gbit | RSS MiB | syscalls per MB | ctx switches per MB | delay p50 ms | delay p99 ms | p99 non-key ms | connect→keyframe p50 ms | load-gen CPU % |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for s in &run.steps {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.3} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            s.players,
            s.playing,
            s.bytes * 8.0 / s.secs / 1e6,
            s.server.cpu / s.secs * 100.0,
            if s.gbit() > 0.0 { s.server.cpu / s.gbit() } else { f64::NAN },
            s.server.rss_kib as f64 / 1024.0,
            s.syscalls_per_mb(),
            s.switches_per_mb(),
            s.delay_p50,
            s.delay_p99,
            s.delay_p99_inter,
            s.first_key_p50,
            s.loadgen_cpu / s.secs * 100.0,
        );
    }
    println!(
        "marginal: {:.3} server CPU-s per delivered Gbit, {:.1} KiB per added player",
        run.marginal_cpu_per_gbit(),
        run.kib_per_player()
    );
}

/// Appends the run's steps to a CSV file (header when the file is new).
pub fn append_csv(path: &Path, round: usize, target: &str, protocol: Protocol, run: &Run) {
    let new = !path.exists();
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        eprintln!("cannot write {}", path.display());
        return;
    };
    if new {
        let _ = writeln!(f, "round,target,protocol,players,playing,seconds,bytes,server_cpu_s,rss_kib,syscalls,switches,delay_p50_ms,delay_p99_ms,delay_p99_inter_ms,first_key_p50_ms,loadgen_cpu_s");
    }
    for s in &run.steps {
        let _ = writeln!(
            f,
            "{round},{target},{},{},{},{:.3},{},{:.3},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3}",
            protocol.name(),
            s.players,
            s.playing,
            s.secs,
            s.bytes,
            s.server.cpu,
            s.server.rss_kib,
            s.counted.map_or(s.server.syscw, |c| c.syscalls),
            s.counted
                .map_or(s.server.vcsw + s.server.ivcsw, |c| c.switches),
            s.delay_p50,
            s.delay_p99,
            s.delay_p99_inter,
            s.first_key_p50,
            s.loadgen_cpu
        );
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Median and spread of `f` over a server's runs.
fn stat(runs: &[&Run], f: impl Fn(&Run) -> f64) -> (f64, f64, f64) {
    let mut v: Vec<f64> = runs
        .iter()
        .map(|r| f(r))
        .filter(|x| x.is_finite())
        .collect();
    let m = median(&mut v);
    let lo = v.first().copied().unwrap_or(f64::NAN);
    let hi = v.last().copied().unwrap_or(f64::NAN);
    (m, lo, hi)
}

type Figure = (&'static str, &'static str, fn(&Run) -> f64);

/// The figures of the summary: name, unit, value of a run.
const FIGURES: [Figure; 9] = [
    (
        "server CPU-s per delivered Gbit (marginal)",
        "",
        Run::marginal_cpu_per_gbit,
    ),
    ("memory per added player", "KiB", Run::kib_per_player),
    (
        "added delay p99, step nearest 100 players",
        "ms",
        Run::delay_p99_100,
    ),
    (
        "added delay p99 of non-key frames, step nearest 100 players",
        "ms",
        Run::delay_p99_inter_100,
    ),
    ("connect → first keyframe p50", "ms", Run::first_key_p50),
    ("CPU with a publisher and no players", "%", |r| {
        r.idle_cpu_pct
    }),
    ("system calls per delivered MB (last step)", "", |r| {
        r.last().map_or(f64::NAN, Step::syscalls_per_mb)
    }),
    ("context switches per delivered MB (last step)", "", |r| {
        r.last().map_or(f64::NAN, Step::switches_per_mb)
    }),
    ("load generator CPU % (last step)", "%", |r| {
        r.last()
            .map_or(f64::NAN, |s| s.loadgen_cpu / s.secs * 100.0)
    }),
];

/// The summary: per figure, each server's median [min–max] over rounds and its ratio to
/// the first server's median.
pub fn print_summary(names: &[&str], runs: &[(usize, Run)]) {
    println!(
        "\n## summary (median [min–max] over rounds; ratio = median / {}'s median)\n",
        names.first().copied().unwrap_or("?")
    );
    let mut head = String::from("| figure |");
    let mut rule = String::from("|---|");
    for (i, n) in names.iter().enumerate() {
        head.push_str(&format!(" {n} |"));
        rule.push_str("---|");
        if i > 0 {
            head.push_str(&format!(" {n} / {} |", names[0]));
            rule.push_str("---|");
        }
    }
    println!("{head}\n{rule}");
    for (name, unit, f) in FIGURES {
        let mut line = format!(
            "| {name}{} |",
            if unit.is_empty() {
                String::new()
            } else {
                format!(" ({unit})")
            }
        );
        let mut base = f64::NAN;
        for i in 0..names.len() {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|(t, _)| *t == i)
                .map(|(_, r)| r)
                .collect();
            let (m, lo, hi) = stat(&mine, f);
            if mine.len() > 1 {
                line.push_str(&format!(" {m:.3} [{lo:.3}–{hi:.3}] |"));
            } else {
                line.push_str(&format!(" {m:.3} |"));
            }
            if i == 0 {
                base = m;
            } else {
                line.push_str(&format!(" {:.2} × |", m / base));
            }
        }
        println!("{line}");
    }
}
