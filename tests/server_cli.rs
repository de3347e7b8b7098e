//! The example server as an operator runs it: `--help`, a TOML config file, serving, and
//! a clean exit on SIGTERM.
//!
//! Every server runs under a [`ChildGuard`] (killed if the test fails) and listens on port 0
//! of 127.0.0.1: the test learns the ports from the URLs the server logs once it is bound,
//! instead of reserving ports it then has to hope nobody takes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use weir_testutil::{wait_for, ChildGuard, Finished, TempDir};

/// Bound on waiting for the server; only a failing test gets near it.
const DEADLINE: Duration = Duration::from_secs(60);

/// `target/<profile>/examples/server`, built by `cargo test` alongside this test.
fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    profile_dir.join("examples").join("server")
}

/// The server with `args`; stdout (its log) and stderr captured.
fn server(args: &[&str]) -> ChildGuard {
    let mut g = ChildGuard::spawn(
        Command::new(server_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    g.capture_stdout();
    g
}

/// Runs the server with `args` to its end (it must end by itself).
fn run(args: &[&str]) -> Finished {
    let f = server(args).finish(DEADLINE);
    assert!(f.status.is_some(), "server {args:?} did not exit");
    f
}

/// Waits until the server has logged the URL line starting with `label` (e.g. "API:") and
/// returns the address in it, after `scheme` (e.g. "http://"). Panics if the server exits
/// first.
fn logged_addr(server: &mut ChildGuard, label: &str, scheme: &str) -> SocketAddr {
    let found = wait_for(Instant::now() + DEADLINE, || {
        if let Some(st) = server.try_wait() {
            panic!(
                "server exited ({st}) before logging {label}:\n{}{}",
                server.stdout_text(),
                server.stderr_text()
            );
        }
        let log = server.stdout_text();
        let line = log.lines().find(|l| l.contains(label))?;
        let rest = &line[line.find(scheme)? + scheme.len()..];
        rest[..rest.find('/')?].parse().ok()
    });
    found.unwrap_or_else(|| {
        panic!(
            "server never logged {label}:\n{}",
            server.stdout_text() + &server.stderr_text()
        )
    })
}

/// SIGTERM, then the exit status; the exit must be prompt (within 8 s).
fn terminate(mut server: ChildGuard) -> Finished {
    let t0 = Instant::now();
    server.terminate();
    let exited = server.wait_timeout(Duration::from_secs(8));
    assert!(exited.is_some(), "no exit {:?} after SIGTERM", t0.elapsed());
    server.finish(DEADLINE)
}

#[test]
fn help_documents_every_option() {
    let out = run(&["--help"]);
    assert!(out.success());
    let help = out.stdout;
    for opt in [
        "--config",
        "--rtsp-listen",
        "--gb28181-listen",
        "--rtmp-listen",
        "--http-listen",
        "--gop-cache",
        "--gop-cache-max-bytes",
        "--queue-units",
        "--player-stuck-timeout-ms",
        "--play-wait-ms",
        "--publisher-grace-ms",
        "--track-wait-ms",
        "--tcp-nodelay",
        "--send-buffer-bytes",
        "--rtmp-chunk-size",
        "--max-message-bytes",
        "--hls-target-duration-ms",
        "--hls-window",
        "--hls-idle-timeout-ms",
        "--hls-ll-part-ms",
        "--hls-ll-segment-ms",
        "--hls-ll-window",
        "--hls-ll-max-waiting",
        "--track-timeout-ms",
        "--shutdown-timeout-ms",
        "--max-http-header-bytes",
        "--console",
        "--console-dir",
        "--rtsp-udp-port-min",
        "--rtsp-udp-port-max",
        "--rtsp-session-timeout-ms",
        "--rtsp-jitter-latency-ms",
        "--gb28181-idle-timeout-ms",
        "--gb28181-jitter-latency-ms",
        "--gb28181-max-streams",
        "--gb28181-max-streams-per-source",
        "--log-level",
        "--malloc-arenas",
        "--fanout-threads",
        "--fanout-min-players",
        "--queue-ms",
        "--record-dir",
        "--record-format",
        "--record-segment-ms",
        "--record-streams",
        "--record-max-age-hours",
        "--record-max-bytes",
        "--vod-root",
        "--webrtc-listen",
        "--webrtc-candidate",
        "--webrtc-tcp",
        "--webrtc-max-sessions",
        "--webrtc-connect-timeout-ms",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}:\n{help}");
    }
}

#[test]
fn bad_config_is_a_clear_error() {
    let dir = TempDir::new("cli-bad");
    let cfg = dir.join("bad.toml");
    std::fs::write(
        &cfg,
        "[relay]\nrtmp_listen = \"127.0.0.1:1\"\nno_such_key = 3\n",
    )
    .unwrap();
    let out = run(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.and_then(|s| s.code()), Some(2));
    assert!(out.stderr.contains("no_such_key"), "{}", out.stderr);
}

#[test]
fn serves_from_a_config_file_and_exits_cleanly_on_sigterm() {
    let dir = TempDir::new("cli-ok");
    let cfg = dir.join("weir.toml");
    std::fs::write(
        &cfg,
        "log_level = \"info\"\n[relay]\nrtmp_listen = \"127.0.0.1:0\"\nhttp_listen = \"127.0.0.1:0\"\nrtsp_listen = \"127.0.0.1:0\"\ngb28181_listen = \"127.0.0.1:0\"\nplay_wait_ms = 100\n",
    )
    .unwrap();
    let mut srv = server(&["--config", cfg.to_str().unwrap()]);
    // The configured listeners (127.0.0.1, not the 0.0.0.0 defaults) are logged once bound.
    let http = logged_addr(&mut srv, "API:", "http://");
    let rtmp = logged_addr(&mut srv, "RTMP publish/play:", "rtmp://");
    for a in [http, rtmp] {
        assert!(a.ip().is_loopback() && a.port() != 0, "{a}");
    }
    // The API answers.
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s.write_all(b"GET /api/v1/streams HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.contains("{\"streams\":[]}"), "{body}");
    // The RTMP listener accepts connections.
    assert!(TcpStream::connect(rtmp).is_ok());
    // SIGTERM: a clean, prompt exit.
    let out = terminate(srv);
    assert!(out.success(), "exit status {:?}", out.status);
    let log = out.stdout + &out.stderr;
    assert!(
        log.contains(&format!("rtmp://{rtmp}/")),
        "logs the RTMP URL: {log}"
    );
    assert!(
        log.contains(&format!("http://{http}/")),
        "logs the HTTP-FLV URL: {log}"
    );
    assert!(log.contains("shutting down"), "{log}");
}

#[test]
fn the_sample_config_file_is_valid() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/weir.toml");
    let mut srv = server(&[
        "--config",
        sample.to_str().unwrap(),
        "--rtmp-listen",
        "127.0.0.1:0",
        "--http-listen",
        "127.0.0.1:0",
        "--rtsp-listen",
        "127.0.0.1:0",
        "--gb28181-listen",
        "off",
    ]);
    let http = logged_addr(&mut srv, "API:", "http://");
    assert!(TcpStream::connect(http).is_ok());
    let out = terminate(srv);
    assert!(
        out.success(),
        "exit status {:?}: {}",
        out.status,
        out.stderr
    );
}

/// Per-protocol sections, a listener turned off in the file, and a section key unknown.
#[test]
fn per_protocol_sections_and_listeners_off() {
    let dir = TempDir::new("cli-sections");
    let cfg = dir.join("weir.toml");
    std::fs::write(
        &cfg,
        "[rtmp]\nlisten = \"off\"\n[http]\nlisten = \"127.0.0.1:0\"\n[rtsp]\nlisten = \"127.0.0.1:0\"\nsession_timeout_ms = 5000\n[gb28181]\nlisten = \"off\"\n[hls]\nwindow = 3\n",
    )
    .unwrap();
    let mut srv = server(&["--config", cfg.to_str().unwrap()]);
    let http = logged_addr(&mut srv, "API:", "http://");
    let rtsp = logged_addr(&mut srv, "RTSP publish/play:", "rtsp://");
    for a in [http, rtsp] {
        assert!(a.ip().is_loopback() && a.port() != 0, "{a}");
        assert!(TcpStream::connect(a).is_ok(), "{a} accepts");
    }
    let out = terminate(srv);
    assert!(out.success(), "exit status {:?}", out.status);
    let log = out.stdout;
    assert!(log.contains(&format!("rtsp://{rtsp}/")), "{log}");
    assert!(!log.contains("rtmp://"), "RTMP is off: {log}");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[rtsp]\nno_such_rtsp_key = 1\n").unwrap();
    let out = run(&["--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.and_then(|s| s.code()), Some(2));
    assert!(out.stderr.contains("no_such_rtsp_key"), "{}", out.stderr);
}
