//! Helpers for the pull and push tests: upstream servers under [`ChildGuard`] (ffmpeg
//! `-listen 1`, nginx) that are only used once the test has seen *them* listen on their port
//! (owner-checked through `/proc`, never a reserved-then-released port taken on trust), the
//! pulls API, and the picture comparison.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_testutil::{spawn_tcp_listener, ChildGuard, Finished, TempDir};

/// How long an upstream may take to listen, and a child to finish, on a loaded machine.
pub const LIMIT: Duration = Duration::from_secs(60);

/// The ffmpeg arguments serving `src` in real time (`-re -c copy`) as `format` to the first
/// client of `url` (`-listen 1`).
fn server_args(src: &Path, format: &str, url: &str) -> Vec<String> {
    [
        "-re",
        "-i",
        &src.display().to_string(),
        "-c",
        "copy",
        "-f",
        format,
        "-listen",
        "1",
        url,
    ]
    .map(String::from)
    .to_vec()
}

/// ffmpeg serving `src` as `format` at `url(port)` on a free port; returns once ffmpeg itself
/// listens there (a new port is tried when someone else took it first).
pub fn ffmpeg_server(
    src: &Path,
    format: &str,
    url: impl Fn(u16) -> String,
) -> (ChildGuard, u16, String) {
    let (child, port) = tokio::task::block_in_place(|| {
        spawn_tcp_listener(LIMIT, |port| {
            weir_testutil::ffmpeg_command(server_args(src, format, &url(port)))
        })
    });
    (child, port, url(port))
}

/// ffmpeg serving `src` at `url` on a known `port` (a restarted upstream); returns once
/// ffmpeg itself listens there — or already serves the relay, whose pull retries every few
/// hundred milliseconds and may connect (closing the `-listen 1` listener) before the test
/// looks — and panics with its stderr if it cannot.
pub fn ffmpeg_server_on(src: &Path, format: &str, url: &str, port: u16) -> ChildGuard {
    let mut child = ChildGuard::spawn(&mut weir_testutil::ffmpeg_command(server_args(
        src, format, url,
    )));
    tokio::task::block_in_place(|| child.wait_tcp_serving(port, LIMIT))
        .unwrap_or_else(|e| panic!("upstream ffmpeg on {port}: {e}"));
    child
}

/// Waits (without blocking the runtime) for `child` to exit by itself within `limit`;
/// panics with its stderr unless it exited with status 0.
pub async fn finish_ok(child: ChildGuard, what: &str, limit: Duration) -> Finished {
    let done = tokio::task::spawn_blocking(move || child.finish(limit))
        .await
        .unwrap();
    assert!(
        done.success(),
        "{what} failed ({:?}): {}",
        done.status,
        done.stderr
    );
    done
}

/// One HTTP/1.1 request to the relay's API; the status and the JSON body (`Null` when none).
pub async fn api(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(LIMIT, s.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        code,
        serde_json::from_slice(&all[split..]).unwrap_or(Value::Null),
    )
}

/// Polls `GET /api/v1/pulls` until the first pull satisfies `check`; returns it.
pub async fn wait_pull(addr: SocketAddr, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let (_, v) = api(addr, "GET", "/api/v1/pulls", "").await;
        if let Some(p) = v["pulls"].as_array().and_then(|a| a.first()) {
            if check(p) {
                return p.clone();
            }
        }
        assert!(Instant::now() < deadline, "{what}: {v}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Pictures `out` decoded are a run of the source's from a keyframe. A player stopped with
/// `-t` cuts a B-frame stream mid-GOP: its last pictures may miss a reference and are not
/// compared (`cut`). Returns how many pictures were compared.
pub fn assert_run_of_source(src: &Path, out: &Path, what: &str, cut: usize) -> usize {
    let want = weir_testutil::decoded_video_md5(src, &[]);
    let mut got = weir_testutil::decoded_video_md5(out, &[]);
    got.truncate(got.len().saturating_sub(cut));
    assert!(got.len() >= 10, "{what}: {} pictures", got.len());
    let start = want
        .iter()
        .position(|m| *m == got[0])
        .unwrap_or_else(|| panic!("{what}: first picture not in the source"));
    assert!(
        start + got.len() <= want.len(),
        "{what}: {} pictures from source picture {start} of {}",
        got.len(),
        want.len()
    );
    assert_eq!(
        got[..],
        want[start..start + got.len()],
        "{what}: bit-exact run"
    );
    got.len()
}

/// An nginx run by the test (`daemon off`, `master_process off`: the guarded process is the
/// one that listens), with its prefix directory.
pub struct Nginx {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Its prefix directory (config, logs, certificates).
    pub dir: TempDir,
    child: ChildGuard,
}

impl Nginx {
    /// Starts nginx with the main-context `body(port)` (e.g. an `rtmp { … }` or `http { … }`
    /// block listening on `port`) on a free port; returns once nginx itself listens.
    pub fn start(dir: TempDir, modules: &[&str], body: impl Fn(u16) -> String) -> Nginx {
        let conf = dir.join("nginx.conf");
        let mut head = String::new();
        for m in modules {
            head.push_str(&format!("load_module {m};\n"));
        }
        let (child, port) = tokio::task::block_in_place(|| {
            spawn_tcp_listener(LIMIT, |port| {
                std::fs::write(
                    &conf,
                    format!(
                        "{head}daemon off;\nmaster_process off;\nworker_processes 1;\npid {pid};\nerror_log stderr warn;\nevents {{ worker_connections 256; }}\n{}\n",
                        body(port),
                        pid = dir.join("nginx.pid").display(),
                    ),
                )
                .unwrap();
                let mut cmd = Command::new("nginx");
                cmd.args([
                    "-c",
                    conf.to_str().unwrap(),
                    "-p",
                    dir.path().to_str().unwrap(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
                cmd
            })
        });
        Nginx { port, dir, child }
    }

    /// nginx with the RTMP module: `application live { live on; }`.
    pub fn rtmp() -> Nginx {
        let module = [
            "/usr/lib/nginx/modules/ngx_rtmp_module.so",
            "/usr/share/nginx/modules/ngx_rtmp_module.so",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx RTMP module (libnginx-mod-rtmp; scripts/test.sh installs it)");
        Nginx::start(TempDir::new("nginx"), &[module], |port| {
            format!("rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096; application live {{ live on; }} }} }}")
        })
    }

    /// What nginx logged so far.
    pub fn log(&self) -> String {
        self.child.stderr_text()
    }

    /// A path in its prefix directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}
