//! What the runner reads about a process from `/proc`: CPU time, resident memory, system
//! calls that write or read, and context switches (summed over every thread).

use std::path::Path;

/// Counters of a set of processes at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// utime + stime, seconds.
    pub cpu: f64,
    /// Resident set, KiB.
    pub rss_kib: u64,
    /// Write-type system calls (`syscw` of `/proc/PID/io`: write, writev, sendmsg, …).
    pub syscw: u64,
    /// Read-type system calls (`syscr`).
    pub syscr: u64,
    /// Voluntary context switches (a thread went to sleep: a wait, a futex).
    pub vcsw: u64,
    /// Involuntary context switches (preempted).
    pub ivcsw: u64,
}

impl Sample {
    /// `self - earlier` for the counters (RSS is taken as it is now).
    pub fn since(&self, earlier: &Sample) -> Sample {
        Sample {
            cpu: self.cpu - earlier.cpu,
            rss_kib: self.rss_kib,
            syscw: self.syscw.saturating_sub(earlier.syscw),
            syscr: self.syscr.saturating_sub(earlier.syscr),
            vcsw: self.vcsw.saturating_sub(earlier.vcsw),
            ivcsw: self.ivcsw.saturating_sub(earlier.ivcsw),
        }
    }
}

/// Clock ticks per second of `/proc/PID/stat` (100 on every Linux this runs on).
const TICKS: f64 = 100.0;

fn field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / TICKS
}

/// Samples one process (all of its threads).
pub fn sample(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let mut s = Sample {
        cpu: cpu_seconds(pid),
        rss_kib: field(&status, "VmRSS:"),
        syscw: field(&io, "syscw:"),
        syscr: field(&io, "syscr:"),
        ..Sample::default()
    };
    let tasks = Path::new("/proc").join(pid.to_string()).join("task");
    if let Ok(dir) = std::fs::read_dir(tasks) {
        for t in dir.flatten() {
            let st = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            s.vcsw += field(&st, "voluntary_ctxt_switches:");
            s.ivcsw += field(&st, "nonvoluntary_ctxt_switches:");
        }
    }
    s
}

/// Samples several processes and adds them up (a server with worker processes).
pub fn sample_all(pids: &[u32]) -> Sample {
    pids.iter()
        .map(|p| sample(*p))
        .fold(Sample::default(), |a, b| Sample {
            cpu: a.cpu + b.cpu,
            rss_kib: a.rss_kib + b.rss_kib,
            syscw: a.syscw + b.syscw,
            syscr: a.syscr + b.syscr,
            vcsw: a.vcsw + b.vcsw,
            ivcsw: a.ivcsw + b.ivcsw,
        })
}

/// Open file descriptors of a process.
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Raises this process's open-file limit to its hard limit (children inherit it); returns
/// the limit now in force.
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0;
    };
    if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    }
}

/// The `p` quantile (0..=1) of `v` in milliseconds, from microseconds (sorts `v`).
pub fn pct_ms(v: &mut [u32], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    f64::from(v[i.min(v.len() - 1)]) / 1000.0
}

/// System calls and context switches of `pids` over a window, counted by `perf stat` on
/// the `raw_syscalls:sys_enter` tracepoint (every system call, whichever its name — send,
/// sendto, writev, sendmmsg … — unlike `/proc/PID/io`, which misses socket calls).
pub struct PerfStat(std::process::Child);

/// Syscalls and context switches counted by [`PerfStat`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Counted {
    /// System calls entered.
    pub syscalls: u64,
    /// Context switches.
    pub switches: u64,
}

impl PerfStat {
    /// Starts counting for `secs` seconds; `None` when `perf` cannot run.
    pub fn start(pids: &[u32], secs: u64) -> Option<PerfStat> {
        let list: Vec<String> = pids.iter().map(u32::to_string).collect();
        std::process::Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                "raw_syscalls:sys_enter,context-switches",
                "-p",
            ])
            .arg(list.join(","))
            .args(["--", "sleep", &secs.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()
            .map(PerfStat)
    }

    /// Waits for the count.
    pub fn finish(self) -> Option<Counted> {
        let out = self.0.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&out.stderr);
        let mut c = Counted::default();
        for l in text.lines() {
            let f: Vec<&str> = l.split(',').collect();
            let n: u64 = f.first()?.trim().parse().unwrap_or(0);
            match f.get(2).map(|s| s.trim()) {
                Some("raw_syscalls:sys_enter") => c.syscalls = n,
                Some("context-switches") => c.switches = n,
                _ => {}
            }
        }
        Some(c)
    }
}
