//! Child processes that cannot outlive their test, and waits on conditions with deadlines.
//!
//! Rules these helpers enforce (see the project's test rules):
//!
//! * every child a test starts is a [`ChildGuard`]: when the guard drops — the test passed,
//!   failed an assertion or panicked anywhere — a child that is still running is killed
//!   (SIGKILL via [`Child::kill`]) and reaped, so no `ffmpeg -listen …` is left behind;
//! * a test never sleeps for a fixed time hoping something has happened: it waits for the
//!   condition itself with a deadline ([`wait_until`], [`wait_for`],
//!   [`ChildGuard::wait_tcp_listening`], [`ChildGuard::wait_udp_bound`],
//!   [`ChildGuard::wait_timeout`]). The deadline only matters when the test is failing, so
//!   make it generous: a loaded 2-core machine must never hit it.
//!
//! Only the guarded child is ever signalled, by its PID, and only while it has not been
//! reaped (so the PID cannot have been reused).
//!
//! Socket readiness is read from Linux's `/proc/net/{tcp,tcp6,udp,udp6}` and matched against
//! the child's own file descriptors (`/proc/PID/fd`), so a port that someone else grabbed is
//! never mistaken for the child's.
//!
//! ```no_run
//! use std::process::{Command, Stdio};
//! use std::time::Duration;
//! use weir_testutil::ChildGuard;
//!
//! let port = weir_testutil::free_tcp_port();
//! let mut ffmpeg = ChildGuard::spawn(
//!     Command::new("ffmpeg")
//!         .args(["-nostdin", "-listen", "1", "-i"])
//!         .arg(format!("rtmp://127.0.0.1:{port}/live/x"))
//!         .args(["-c", "copy", "-f", "flv", "out.flv"])
//!         .stderr(Stdio::piped()),
//! );
//! // Returns once ffmpeg itself listens on the port (panics with its stderr if it exits).
//! ffmpeg.wait_tcp_listening(port, Duration::from_secs(60)).unwrap();
//! let sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
//! // ... drive the session; any panic from here on still kills ffmpeg ...
//! drop(sock);
//! let done = ffmpeg.finish(Duration::from_secs(60));
//! assert!(done.success(), "{}", done.stderr);
//! ```

use std::collections::HashSet;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Output};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Polls `cond` until it returns true or `deadline` passes; returns whether it held.
///
/// The condition is checked at once, then with a back-off from 1 ms to 20 ms, and a last
/// time at the deadline. Use it for sync tests instead of `sleep` + assert:
///
/// ```
/// use std::time::{Duration, Instant};
/// let t0 = Instant::now();
/// assert!(weir_testutil::wait_until(t0 + Duration::from_secs(5), || t0.elapsed() >= Duration::from_millis(3)));
/// ```
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    wait_for(deadline, || cond().then_some(())).is_some()
}

/// Polls `f` until it returns `Some` or `deadline` passes (same polling as [`wait_until`]).
pub fn wait_for<T>(deadline: Instant, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let mut step = Duration::from_millis(1);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(step.min(deadline - now));
        step = (step * 2).min(Duration::from_millis(20));
    }
}

/// A free TCP port on 127.0.0.1, for a child that must be told its port on the command line
/// (ffmpeg cannot listen on port 0). The port is released before this returns, so another
/// process may take it first: wait with [`ChildGuard::wait_tcp_listening`] (which tells the
/// child's own socket from anyone else's) or use [`spawn_tcp_listener`], which retries.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:0: {e}"))
}

/// Why a child did not get to the state a test waited for.
#[derive(Debug)]
pub enum NotReady {
    /// The child exited first.
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// What it wrote to stderr (when stderr was piped).
        stderr: String,
    },
    /// The deadline passed; the child is still running (the guard kills it on drop).
    TimedOut {
        /// What it wrote to stderr so far.
        stderr: String,
    },
    /// `/proc` cannot be read (not Linux): the state cannot be observed.
    Unsupported,
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::Exited { status, stderr } => write!(f, "exited ({status}): {stderr}"),
            NotReady::TimedOut { stderr } => write!(f, "timed out; stderr so far: {stderr}"),
            NotReady::Unsupported => write!(f, "cannot read /proc on this system"),
        }
    }
}

/// A pipe drained into memory by a background thread, so the child never blocks on a full
/// pipe and the text is available while it runs.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    fn start<R: Read + Send + 'static>(mut r: R) -> Capture {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let thread = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = r.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Ok(mut b) = sink.lock() {
                    b.extend_from_slice(&chunk[..n]);
                }
            }
        });
        Capture {
            buf,
            thread: Some(thread),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.buf.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// Waits (bounded) for the pipe's end of file, i.e. everything the child wrote.
    fn drain(&mut self, deadline: Instant) {
        if let Some(t) = self.thread.take() {
            if wait_until(deadline, || t.is_finished()) {
                let _ = t.join();
            }
        }
    }
}

/// How a child ended, from [`ChildGuard::finish`].
#[derive(Debug)]
pub struct Finished {
    /// The exit status; `None` when the child was still running at the deadline and was
    /// killed.
    pub status: Option<ExitStatus>,
    /// Captured stdout (see [`ChildGuard::capture_stdout`]), lossy UTF-8.
    pub stdout: String,
    /// Captured stderr (when it was piped), lossy UTF-8.
    pub stderr: String,
}

impl Finished {
    /// True when the child exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// A spawned child that is killed (SIGKILL) and reaped when the guard drops, unless it has
/// already exited. See the [module docs](self).
///
/// Only the child itself is killed, not processes it starts: run programs directly, not
/// through a shell (or `exec` them from it).
///
/// A piped stderr is drained into memory from the start ([`ChildGuard::stderr_text`]); a
/// piped stdout is left to the test ([`ChildGuard::take_stdout`]) unless
/// [`ChildGuard::capture_stdout`] is called.
pub struct ChildGuard {
    child: Child,
    label: String,
    status: Option<ExitStatus>,
    stdout: Option<Capture>,
    stderr: Option<Capture>,
}

impl ChildGuard {
    /// Spawns `cmd`; panics (naming the command) when it cannot start.
    pub fn spawn(cmd: &mut Command) -> ChildGuard {
        ChildGuard::try_spawn(cmd).unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"))
    }

    /// Spawns `cmd`, returning the error when it cannot start (e.g. the program is missing).
    pub fn try_spawn(cmd: &mut Command) -> std::io::Result<ChildGuard> {
        let label = format!("{cmd:?}");
        let mut child = cmd.spawn()?;
        let stderr = child.stderr.take().map(Capture::start);
        Ok(ChildGuard {
            child,
            label,
            status: None,
            stdout: None,
            stderr,
        })
    }

    /// The child's PID.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The command line, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The underlying child, e.g. for its stdin. Waiting or killing through it is fine: the
    /// guard sees the result.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Takes the child's piped stdin.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Takes the child's piped stdout, to read it as it comes.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Drains a piped stdout into memory from now on ([`ChildGuard::stdout_text`]).
    pub fn capture_stdout(&mut self) {
        if let Some(out) = self.child.stdout.take() {
            self.stdout = Some(Capture::start(out));
        }
    }

    /// What the child has written to stdout so far (after [`ChildGuard::capture_stdout`]).
    pub fn stdout_text(&self) -> String {
        let b = self.stdout.as_ref().map(Capture::bytes).unwrap_or_default();
        String::from_utf8_lossy(&b).into_owned()
    }

    /// What the child has written to stderr so far (when it was piped).
    pub fn stderr_text(&self) -> String {
        let b = self.stderr.as_ref().map(Capture::bytes).unwrap_or_default();
        String::from_utf8_lossy(&b).into_owned()
    }

    /// The exit status if the child has exited (it is reaped then), without blocking.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `limit` for the child to exit. `None`: still running (it is not killed
    /// here; the guard kills it when dropped).
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        wait_for(deadline, || self.try_wait())
    }

    /// Kills (SIGKILL) and reaps the child unless it has already exited.
    pub fn kill(&mut self) {
        if self.try_wait().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// Sends SIGTERM (via `kill -TERM PID`) unless the child has already exited and been
    /// reaped. Follow it with [`ChildGuard::wait_timeout`] or [`ChildGuard::finish`].
    pub fn terminate(&mut self) {
        if self.try_wait().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.id().to_string()])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }

    /// Waits up to `limit` for the child to exit, killing it at the deadline, then collects
    /// the rest of its captured output (bounded too).
    pub fn finish(mut self, limit: Duration) -> Finished {
        let (status, stdout, stderr) = self.finish_bytes(limit);
        Finished {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Like [`ChildGuard::finish`], as a [`std::process::Output`] (stdout captured as raw
    /// bytes); panics naming the command when the child fails or is still running after
    /// `limit` (it is killed then).
    pub fn output_checked(mut self, limit: Duration) -> Output {
        self.capture_stdout();
        let (status, stdout, stderr) = self.finish_bytes(limit);
        let err = String::from_utf8_lossy(&stderr);
        match status {
            Some(status) if status.success() => Output {
                status,
                stdout,
                stderr,
            },
            Some(status) => panic!("{} failed ({status}):\n{err}", self.label),
            None => panic!(
                "{} still running after {limit:?}; killed:\n{err}",
                self.label
            ),
        }
    }

    fn finish_bytes(&mut self, limit: Duration) -> (Option<ExitStatus>, Vec<u8>, Vec<u8>) {
        let status = self.wait_timeout(limit);
        if status.is_none() {
            self.kill();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for c in [self.stdout.as_mut(), self.stderr.as_mut()]
            .into_iter()
            .flatten()
        {
            c.drain(deadline);
        }
        let bytes = |c: &Option<Capture>| c.as_ref().map(Capture::bytes).unwrap_or_default();
        (status, bytes(&self.stdout), bytes(&self.stderr))
    }

    /// Waits until this child listens on TCP `port` (any local address) — its own socket,
    /// not someone else's on the same port. Fails as soon as the child exits.
    pub fn wait_tcp_listening(&mut self, port: u16, limit: Duration) -> Result<(), NotReady> {
        self.wait_socket(limit, |inodes| {
            Some(
                proc_sockets(&["tcp", "tcp6"], port)?
                    .iter()
                    .any(|s| s.state == "0A" && inodes.contains(&s.inode)),
            )
        })
    }

    /// Waits until this child listens on TCP `port` or has already accepted a connection
    /// there (its own established socket on that local port). For one-shot servers such as
    /// ffmpeg's `-listen 1`, which close their listener on the first client: a client that
    /// retries quickly (a relay pulling from it) can connect between two looks at `/proc`,
    /// and the listener is never seen. Fails as soon as the child exits.
    pub fn wait_tcp_serving(&mut self, port: u16, limit: Duration) -> Result<(), NotReady> {
        self.wait_socket(limit, |inodes| {
            Some(
                proc_sockets(&["tcp", "tcp6"], port)?
                    .iter()
                    .any(|s| (s.state == "0A" || s.state == "01") && inodes.contains(&s.inode)),
            )
        })
    }

    /// Waits until this child has bound UDP `port` (its own socket). Fails as soon as the
    /// child exits.
    pub fn wait_udp_bound(&mut self, port: u16, limit: Duration) -> Result<(), NotReady> {
        self.wait_socket(limit, |inodes| {
            Some(
                proc_sockets(&["udp", "udp6"], port)?
                    .iter()
                    .any(|s| inodes.contains(&s.inode)),
            )
        })
    }

    /// Connects to 127.0.0.1:`port` once this child listens there (see
    /// [`ChildGuard::wait_tcp_listening`]). Where `/proc` is missing, retries the connection
    /// until `limit` instead. Panics with the child's stderr on failure.
    pub fn connect_when_listening(&mut self, port: u16, limit: Duration) -> TcpStream {
        let deadline = Instant::now() + limit;
        match self.wait_tcp_listening(port, limit) {
            Ok(()) => TcpStream::connect(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("connect 127.0.0.1:{port}: {e}")),
            Err(NotReady::Unsupported) => {
                let sock = wait_for(deadline, || {
                    if self.try_wait().is_some() {
                        return Some(None);
                    }
                    let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
                    // A connection to itself (TCP simultaneous open) is not the child.
                    (s.local_addr().ok() != s.peer_addr().ok()).then_some(Some(s))
                });
                match sock.flatten() {
                    Some(s) => s,
                    None => panic!(
                        "{} never accepted on port {port}: {}",
                        self.label,
                        self.stderr_text()
                    ),
                }
            }
            Err(e) => panic!("{} never listened on port {port}: {e}", self.label),
        }
    }

    fn wait_socket(
        &mut self,
        limit: Duration,
        mut found: impl FnMut(&HashSet<u64>) -> Option<bool>,
    ) -> Result<(), NotReady> {
        let deadline = Instant::now() + limit;
        let pid = self.id();
        let r = wait_for(deadline, || {
            if let Some(status) = self.try_wait() {
                return Some(Err(NotReady::Exited {
                    status,
                    stderr: String::new(),
                }));
            }
            let Some(inodes) = socket_inodes(pid) else {
                // The child just exited (seen on the next turn), or there is no /proc.
                return (!std::path::Path::new("/proc/self/fd").exists())
                    .then_some(Err(NotReady::Unsupported));
            };
            match found(&inodes) {
                None => Some(Err(NotReady::Unsupported)),
                Some(true) => Some(Ok(())),
                Some(false) => None,
            }
        });
        match r {
            Some(Ok(())) => Ok(()),
            Some(Err(NotReady::Exited { status, .. })) => {
                let end = Instant::now() + Duration::from_secs(5);
                if let Some(c) = self.stderr.as_mut() {
                    c.drain(end);
                }
                Err(NotReady::Exited {
                    status,
                    stderr: self.stderr_text(),
                })
            }
            Some(Err(e)) => Err(e),
            None => Err(NotReady::TimedOut {
                stderr: self.stderr_text(),
            }),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Kill and reap; never join the capture threads here (a grandchild could hold the
        // pipe open): they end on their own at end of file.
        self.kill();
    }
}

impl std::fmt::Debug for ChildGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildGuard")
            .field("pid", &self.child.id())
            .field("command", &self.label)
            .field("status", &self.status)
            .finish()
    }
}

/// Spawns a child that listens on a TCP port of 127.0.0.1 it is told on its command line
/// (`make(port)` builds the command), and returns once the child itself listens there.
///
/// Ports come from [`free_tcp_port`]; when another process takes the port before the child
/// binds it (the child exits with "Address already in use"), a new port is tried, up to five
/// times. Panics with the child's stderr on any other failure.
pub fn spawn_tcp_listener(
    limit: Duration,
    mut make: impl FnMut(u16) -> Command,
) -> (ChildGuard, u16) {
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_tcp_port();
        let mut child = ChildGuard::spawn(&mut make(port));
        match child.wait_tcp_listening(port, limit) {
            Ok(()) | Err(NotReady::Unsupported) => return (child, port),
            Err(NotReady::Exited { stderr, .. }) if stderr.contains("Address already in use") => {
                last = stderr;
            }
            Err(e) => panic!("{} never listened on port {port}: {e}", child.label()),
        }
    }
    panic!("no free port after 5 tries: {last}");
}

/// Whether process `pid` itself has a socket listening on TCP `port` (any local address),
/// from `/proc`; `None` when that cannot be read (not Linux, or the process is gone). For
/// children a [`ChildGuard`] does not hold, e.g. tokio's `Child::id()` (with `kill_on_drop`).
pub fn pid_listens_tcp(pid: u32, port: u16) -> Option<bool> {
    let inodes = socket_inodes(pid)?;
    Some(
        proc_sockets(&["tcp", "tcp6"], port)?
            .iter()
            .any(|s| s.state == "0A" && inodes.contains(&s.inode)),
    )
}

/// Whether process `pid` itself has bound UDP `port`, from `/proc` (see [`pid_listens_tcp`]).
pub fn pid_binds_udp(pid: u32, port: u16) -> Option<bool> {
    let inodes = socket_inodes(pid)?;
    Some(
        proc_sockets(&["udp", "udp6"], port)?
            .iter()
            .any(|s| inodes.contains(&s.inode)),
    )
}

/// Socket inodes of `pid`'s open file descriptors; `None` when `/proc` cannot be read.
fn socket_inodes(pid: u32) -> Option<HashSet<u64>> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter_map(|l| {
                l.to_str()?
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()
            })
            .collect(),
    )
}

/// One socket of a `/proc/net/{tcp,tcp6,udp,udp6}` table.
struct ProcSocket {
    /// TCP state (`0A` = LISTEN, include/net/tcp_states.h); `07` for bound UDP sockets.
    state: String,
    /// Bytes in the receive queue.
    rx_queue: u64,
    inode: u64,
}

/// The sockets in `/proc/net/<table>` (for each of `tables`) whose local port is `port`, on
/// any local address. `None` when no table can be read.
fn proc_sockets(tables: &[&str], port: u16) -> Option<Vec<ProcSocket>> {
    let mut any = false;
    let mut out = Vec::new();
    for t in tables {
        let Ok(text) = std::fs::read_to_string(format!("/proc/net/{t}")) else {
            continue;
        };
        any = true;
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        out.extend(text.lines().skip(1).filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (_, p) = f.get(1)?.rsplit_once(':')?;
            if u16::from_str_radix(p, 16).ok()? != port {
                return None;
            }
            let (_, rx) = f.get(4)?.split_once(':')?;
            Some(ProcSocket {
                state: f.get(3)?.to_string(),
                rx_queue: u64::from_str_radix(rx, 16).ok()?,
                inode: f.get(9)?.parse().ok()?,
            })
        }));
    }
    any.then_some(out)
}

/// Bytes waiting in the receive queue of the UDP socket bound to local `port` (any address,
/// IPv4 or IPv6), from `/proc/net/udp{,6}`: e.g. zero once a child has read everything sent
/// to it. `None` when no such socket exists or `/proc` cannot be read.
pub fn udp_rx_queue(port: u16) -> Option<u64> {
    proc_sockets(&["udp", "udp6"], port)?
        .first()
        .map(|s| s.rx_queue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn alive(pid: u32) -> bool {
        // A reaped child has no /proc entry; a zombie would show state Z.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    }

    #[test]
    fn drop_kills_and_reaps_a_running_child() {
        let g = ChildGuard::spawn(&mut sh("exec sleep 600"));
        let pid = g.id();
        assert!(alive(pid));
        drop(g);
        assert!(!alive(pid), "child {pid} survived its guard");
    }

    #[test]
    fn a_panicking_test_still_kills_its_child() {
        let pid = Arc::new(Mutex::new(0));
        let p = Arc::clone(&pid);
        let r = std::thread::spawn(move || {
            let g = ChildGuard::spawn(&mut sh("exec sleep 600"));
            *p.lock().unwrap() = g.id();
            panic!("test failure");
        })
        .join();
        assert!(r.is_err());
        let pid = *pid.lock().unwrap();
        assert!(pid != 0 && !alive(pid), "child {pid} survived a panic");
    }

    #[test]
    fn finish_collects_status_and_output() {
        let mut g = ChildGuard::spawn(&mut sh("echo out; echo err >&2; exit 3"));
        g.capture_stdout();
        let f = g.finish(Duration::from_secs(60));
        assert_eq!(f.status.and_then(|s| s.code()), Some(3));
        assert!(!f.success());
        assert_eq!((f.stdout.as_str(), f.stderr.as_str()), ("out\n", "err\n"));
    }

    #[test]
    fn finish_kills_at_the_deadline() {
        let g = ChildGuard::spawn(&mut sh("exec sleep 600"));
        let t0 = Instant::now();
        let f = g.finish(Duration::from_millis(50));
        assert!(f.status.is_none());
        assert!(t0.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn stderr_is_drained_while_the_child_runs() {
        // 1 MiB to stderr: more than a pipe holds, so the child would block on an undrained
        // pipe and never exit.
        let mut g = ChildGuard::spawn(&mut sh("head -c 1048576 /dev/zero >&2"));
        assert!(g.wait_timeout(Duration::from_secs(60)).is_some());
        assert_eq!(g.finish(Duration::from_secs(60)).stderr.len(), 1 << 20);
    }

    #[test]
    fn terminate_sends_sigterm() {
        let mut g = ChildGuard::spawn(&mut sh(
            "trap 'exit 7' TERM; echo ready; while :; do sleep 0.01; done",
        ));
        g.capture_stdout();
        // Signal only once the trap is installed.
        assert!(wait_until(Instant::now() + Duration::from_secs(60), || {
            g.stdout_text().contains("ready")
        }));
        g.terminate();
        let st = g.wait_timeout(Duration::from_secs(60)).expect("exited");
        assert_eq!(st.code(), Some(7));
    }

    #[test]
    fn wait_tcp_listening_sees_the_childs_own_socket_only() {
        if !std::path::Path::new("/proc/net/tcp").exists() {
            return;
        }
        // Someone else's listener on a port: not the child's.
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = other.local_addr().unwrap().port();
        let mut g = ChildGuard::spawn(&mut sh("exec sleep 600"));
        assert!(matches!(
            g.wait_tcp_listening(taken, Duration::from_millis(100)),
            Err(NotReady::TimedOut { .. })
        ));
        // A child that listens is seen as soon as it does.
        if crate::require_tools("wait_tcp_listening") {
            let (mut ff, port) = spawn_tcp_listener(Duration::from_secs(60), |port| {
                let mut c = Command::new("ffmpeg");
                c.args([
                    "-nostdin",
                    "-loglevel",
                    "error",
                    "-rtsp_flags",
                    "listen",
                    "-i",
                ])
                .arg(format!("rtsp://127.0.0.1:{port}/x"))
                .args(["-f", "null", "-"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
                c
            });
            let pid = ff.id();
            let sock = ff.connect_when_listening(port, Duration::from_secs(60));
            assert_eq!(sock.peer_addr().unwrap().port(), port);
            // Once it has accepted (listener closed or not), it is serving on the port.
            assert!(ff.wait_tcp_serving(port, Duration::from_secs(60)).is_ok());
            drop(ff);
            assert!(!alive(pid));
        }
        // A child that exits is reported at once, with its stderr.
        let mut g = ChildGuard::spawn(&mut sh("echo boom >&2; exit 1"));
        match g.wait_tcp_listening(taken, Duration::from_secs(60)) {
            Err(NotReady::Exited { stderr, .. }) => assert_eq!(stderr, "boom\n"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pid_socket_lookups_see_only_that_process() {
        if !std::path::Path::new("/proc/net/tcp").exists() {
            return;
        }
        let me = std::process::id();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(pid_listens_tcp(me, port), Some(true));
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let uport = u.local_addr().unwrap().port();
        assert_eq!(pid_binds_udp(me, uport), Some(true));
        // Another process does not own them.
        let g = ChildGuard::spawn(&mut sh("exec sleep 600"));
        assert_eq!(pid_listens_tcp(g.id(), port), Some(false));
        assert_eq!(pid_binds_udp(g.id(), uport), Some(false));
        drop(l);
        assert_eq!(pid_listens_tcp(me, port), Some(false));
    }

    #[test]
    fn wait_for_checks_once_more_at_the_deadline() {
        let t0 = Instant::now();
        assert_eq!(wait_for(t0, || Some(1)), Some(1));
        let mut n = 0;
        assert!(!wait_until(t0 + Duration::from_millis(30), || {
            n += 1;
            false
        }));
        assert!(n >= 2);
    }
}
