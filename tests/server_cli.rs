//! The example server as an operator runs it: `--help`, a TOML config file, serving, and
//! a clean exit on SIGTERM.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/server`, built by `cargo test` alongside this test.
fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    profile_dir.join("examples").join("server")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn help_documents_every_option() {
    let out = Command::new(server_bin())
        .arg("--help")
        .output()
        .expect("run server --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
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
        "--track-timeout-ms",
        "--shutdown-timeout-ms",
        "--max-http-header-bytes",
        "--rtsp-udp-port-min",
        "--rtsp-udp-port-max",
        "--rtsp-session-timeout-ms",
        "--rtsp-jitter-latency-ms",
        "--gb28181-idle-timeout-ms",
        "--gb28181-jitter-latency-ms",
        "--gb28181-max-streams",
        "--gb28181-max-streams-per-source",
        "--log-level",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}:\n{help}");
    }
}

#[test]
fn bad_config_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("weir-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.toml");
    std::fs::write(
        &cfg,
        "[relay]\nrtmp_listen = \"127.0.0.1:1\"\nno_such_key = 3\n",
    )
    .unwrap();
    let out = Command::new(server_bin())
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no_such_key"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serves_from_a_config_file_and_exits_cleanly_on_sigterm() {
    let (rtmp, http) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("weir-cli-ok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("weir.toml");
    std::fs::write(
        &cfg,
        format!("log_level = \"info\"\n[relay]\nrtmp_listen = \"127.0.0.1:{rtmp}\"\nhttp_listen = \"127.0.0.1:{http}\"\nrtsp_listen = \"127.0.0.1:0\"\ngb28181_listen = \"127.0.0.1:0\"\nplay_wait_ms = 100\n"),
    )
    .unwrap();
    let mut child = Command::new(server_bin())
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The API answers once it is up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", http)) {
            use std::io::Write;
            s.write_all(b"GET /api/v1/streams HTTP/1.0\r\n\r\n")
                .unwrap();
            let mut r = String::new();
            s.read_to_string(&mut r).unwrap();
            break r;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(body.contains("{\"streams\":[]}"), "{body}");
    // The configured RTMP port accepts connections.
    assert!(std::net::TcpStream::connect(("127.0.0.1", rtmp)).is_ok());
    // SIGTERM: a clean, prompt exit.
    let t0 = Instant::now();
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(8),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains(&format!("rtmp://127.0.0.1:{rtmp}/")),
        "logs the RTMP URL: {log}"
    );
    assert!(
        log.contains(&format!("http://127.0.0.1:{http}/")),
        "logs the HTTP-FLV URL: {log}"
    );
    assert!(log.contains("shutting down"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until `port` on 127.0.0.1 accepts a connection (or panics after 10 s).
fn wait_listening(port: u16, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "server exited before listening"
        );
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_sample_config_file_is_valid() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/weir.toml");
    let http = free_port();
    let mut child = Command::new(server_bin())
        .arg("--config")
        .arg(&sample)
        .args([
            "--rtmp-listen",
            "127.0.0.1:0",
            "--http-listen",
            &format!("127.0.0.1:{http}"),
            "--rtsp-listen",
            "127.0.0.1:0",
            "--gb28181-listen",
            "off",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_listening(http, &mut child);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
}

/// Per-protocol sections, a listener turned off in the file, and a section key unknown.
#[test]
fn per_protocol_sections_and_listeners_off() {
    let dir = std::env::temp_dir().join(format!("weir-cli-sections-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (rtsp, http) = (free_port(), free_port());
    let cfg = dir.join("weir.toml");
    std::fs::write(
        &cfg,
        format!("[rtmp]\nlisten = \"off\"\n[http]\nlisten = \"127.0.0.1:{http}\"\n[rtsp]\nlisten = \"127.0.0.1:{rtsp}\"\nsession_timeout_ms = 5000\n[gb28181]\nlisten = \"off\"\n[hls]\nwindow = 3\n"),
    )
    .unwrap();
    let mut child = Command::new(server_bin())
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(http, &mut child);
    wait_listening(rtsp, &mut child);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let mut log = String::new();
    child.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains(&format!("rtsp://127.0.0.1:{rtsp}/")), "{log}");
    assert!(!log.contains("rtmp://"), "RTMP is off: {log}");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[rtsp]\nno_such_rtsp_key = 1\n").unwrap();
    let out = Command::new(server_bin()).arg("--config").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_rtsp_key"));
    let _ = std::fs::remove_dir_all(&dir);
}
