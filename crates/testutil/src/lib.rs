//! Test helpers shared by the Weir crates. Not published.
//!
//! Interop tests call [`require_tools`] (or the [`interop_or_skip!`] macro) first:
//!
//! * ffmpeg and ffprobe on `PATH` → the test runs;
//! * missing and `WEIR_INTEROP` unset → the test prints a loud `SKIPPED` line and returns;
//! * missing and `WEIR_INTEROP` set (as `.ci/run` and `scripts/test.sh` do) → the test fails.
//!
//! Tests that start processes or wait for something use [`process`]: every child is a
//! [`ChildGuard`] (killed and reaped when the test ends, pass or fail), and waits are on the
//! condition itself with a deadline ([`wait_until`], [`wait_for`],
//! [`ChildGuard::wait_tcp_listening`], …), never a fixed sleep. [`ffmpeg`] and [`ffprobe`]
//! run their child under a guard too, bounded by [`TOOL_TIMEOUT`].

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub mod alloc;
pub mod process;
pub use process::{
    free_tcp_port, pid_binds_udp, pid_listens_tcp, spawn_tcp_listener, udp_rx_queue, wait_for,
    wait_until, ChildGuard, Finished, NotReady,
};

/// How long [`ffmpeg`] and [`ffprobe`] may run before they are killed and the test fails: a
/// bound against a hung tool, far above what any test's command takes on a loaded machine.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(600);

/// `ffmpeg -hide_banner -loglevel error -nostdin -y ARGS` with stdin and stdout null and stderr
/// piped (a [`ChildGuard`] drains it), ready for [`ChildGuard::spawn`].
pub fn ffmpeg_command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Returns true when ffmpeg and ffprobe can run. Panics when they cannot and
/// `WEIR_INTEROP` is set; prints a loud skip notice otherwise.
pub fn require_tools(test: &str) -> bool {
    let ok = tool_works("ffmpeg") && tool_works("ffprobe");
    if ok {
        return true;
    }
    let required = std::env::var("WEIR_INTEROP")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false);
    if required {
        panic!("{test}: WEIR_INTEROP is set but ffmpeg/ffprobe are not runnable; install ffmpeg (scripts/test.sh does)");
    }
    eprintln!("\n!!! SKIPPED interop test `{test}`: ffmpeg/ffprobe not found. Run `bash scripts/test.sh` (installs ffmpeg) or set WEIR_INTEROP=1 to make this a failure. !!!\n");
    false
}

/// Returns early from the calling test when ffmpeg is unavailable and interop is not required.
#[macro_export]
macro_rules! interop_or_skip {
    () => {
        if !$crate::require_tools(module_path!()) {
            return;
        }
    };
}

fn tool_works(name: &str) -> bool {
    let mut cmd = Command::new(name);
    cmd.arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    ChildGuard::try_spawn(&mut cmd)
        .ok()
        .and_then(|mut c| c.wait_timeout(Duration::from_secs(60)))
        .is_some_and(|s| s.success())
}

/// Runs ffmpeg with `-hide_banner -loglevel error -nostdin -y` prepended; panics with its
/// stderr if it fails or runs longer than [`TOOL_TIMEOUT`] (it is killed then).
pub fn ffmpeg<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run_checked(
        "ffmpeg",
        &["-hide_banner", "-loglevel", "error", "-nostdin", "-y"],
        args,
    )
}

/// Runs ffprobe with `-v error` prepended; panics with its stderr if it fails or runs longer
/// than [`TOOL_TIMEOUT`]. Returns stdout.
pub fn ffprobe<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = run_checked("ffprobe", &["-v", "error"], args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_checked<I, S>(tool: &str, pre: &[&str], args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(tool);
    cmd.args(pre)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    ChildGuard::spawn(&mut cmd).output_checked(TOOL_TIMEOUT)
}

/// `ffprobe -show_entries stream=KEYS -of default=nw=1` for one stream, as `(key, value)` pairs.
pub fn probe_stream(path: &Path, stream: &str, keys: &str) -> Vec<(String, String)> {
    let text = ffprobe([
        "-select_streams".as_ref(),
        stream.as_ref(),
        "-show_entries".as_ref(),
        format!("stream={keys}").as_ref(),
        "-of".as_ref(),
        "default=nw=1".as_ref(),
        path.as_os_str(),
    ] as [&std::ffi::OsStr; 7]);
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Per-packet MD5s of one stream of `input` (`ffmpeg -f framemd5`, stream copy), without the
/// header comments: one `(dts, pts, size, md5)` tuple per packet, as strings.
pub fn framemd5(input: &Path, map: &str, extra_input_args: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = extra_input_args.iter().map(|s| s.to_string()).collect();
    args.extend([
        "-i".into(),
        input.display().to_string(),
        "-map".into(),
        map.into(),
    ]);
    args.extend([
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "framemd5".into(),
        "-".into(),
    ]);
    let out = ffmpeg(&args);
    md5_lines(&out.stdout)
}

/// Per-frame MD5s of the *decoded* pictures of `input`'s first video stream.
pub fn decoded_video_md5(input: &Path, extra_input_args: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = extra_input_args.iter().map(|s| s.to_string()).collect();
    args.extend([
        "-i".into(),
        input.display().to_string(),
        "-map".into(),
        "0:v:0".into(),
    ]);
    args.extend(["-f".into(), "framemd5".into(), "-".into()]);
    let out = ffmpeg(&args);
    md5_lines(&out.stdout)
        .into_iter()
        .map(|l| l.rsplit(',').next().unwrap_or("").trim().to_string())
        .collect()
}

fn md5_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .skip(1)
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory under the system temp dir.
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("weir-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        TempDir(dir)
    }
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
pub mod video;
