//! Servers under test: a Weir `server` binary (this build's, or another commit's) or
//! nginx-rtmp with a `live on` application, each started as a child on free loopback ports
//! and killed when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use weir_testutil::{free_tcp_port, ChildGuard, TempDir};

use crate::load::Endpoints;

/// Debian's nginx-rtmp module.
pub const NGINX_RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// What to start.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A Weir `server` binary.
    Weir(PathBuf),
    /// nginx with the RTMP module (one worker, no master: one process to measure).
    Nginx,
}

/// A named server under test.
#[derive(Clone, Debug)]
pub struct Target {
    /// Its column name.
    pub name: String,
    /// How to start it.
    pub kind: Kind,
}

impl Target {
    /// Parses `nginx`, `weir` (the `server` next to this binary) or `NAME=PATH` (a Weir
    /// binary).
    pub fn parse(s: &str, here: &Path) -> Result<Target, String> {
        match s {
            "nginx" => Ok(Target {
                name: "nginx-rtmp".into(),
                kind: Kind::Nginx,
            }),
            "weir" => Ok(Target {
                name: "weir".into(),
                kind: Kind::Weir(here.with_file_name("server")),
            }),
            _ => match s.split_once('=') {
                Some((name, path)) => Ok(Target {
                    name: name.into(),
                    kind: Kind::Weir(path.into()),
                }),
                None => Err(format!("target {s:?}: expected nginx, weir or NAME=PATH")),
            },
        }
    }

    /// Whether it can run here (nginx and its module installed, the binary present).
    pub fn available(&self) -> bool {
        match &self.kind {
            Kind::Weir(p) => p.exists(),
            Kind::Nginx => Path::new(NGINX_RTMP_MODULE).exists() && which("nginx").is_some(),
        }
    }

    /// Starts it; `extra` are more Weir flags.
    pub fn start(&self, extra: &[String]) -> Result<Running, String> {
        match &self.kind {
            Kind::Weir(bin) => start_weir(bin, extra),
            Kind::Nginx => start_nginx(),
        }
    }
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join(prog))
        .find(|p| p.exists())
}

/// A started server; killed on drop.
pub struct Running {
    guard: ChildGuard,
    /// Where it listens.
    pub ep: Endpoints,
    _dir: Option<TempDir>,
}

impl Running {
    /// The processes to measure.
    pub fn pids(&self) -> Vec<u32> {
        vec![self.guard.id()]
    }

    fn wait_ready(&mut self, ports: &[u16]) -> Result<(), String> {
        for p in ports {
            self.guard
                .wait_tcp_listening(*p, Duration::from_secs(10))
                .map_err(|e| format!("server not listening on {p}: {e:?}"))?;
        }
        Ok(())
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn start_weir(bin: &Path, extra: &[String]) -> Result<Running, String> {
    let (rtmp, http, rtsp) = (free_tcp_port(), free_tcp_port(), free_tcp_port());
    let mut cmd = Command::new(bin);
    cmd.args([
        "--rtmp-listen",
        &addr(rtmp).to_string(),
        "--http-listen",
        &addr(http).to_string(),
        "--rtsp-listen",
        &addr(rtsp).to_string(),
        "--log-level",
        "warn",
    ])
    .args(extra)
    .args(if extra.iter().any(|a| a.starts_with("--gb28181-listen")) {
        &[][..]
    } else {
        &["--gb28181-listen", "off"][..]
    })
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    let guard = ChildGuard::try_spawn(&mut cmd).map_err(|e| {
        format!(
            "cannot start {}: {e} (cargo build --release --examples)",
            bin.display()
        )
    })?;
    let mut r = Running {
        guard,
        ep: Endpoints {
            rtmp: addr(rtmp),
            http: Some(addr(http)),
            rtsp: Some(addr(rtsp)),
        },
        _dir: None,
    };
    r.wait_ready(&[rtmp, http, rtsp])?;
    Ok(r)
}

fn start_nginx() -> Result<Running, String> {
    let dir = TempDir::new("fanout-nginx");
    std::fs::create_dir_all(dir.join("logs")).map_err(|e| e.to_string())?;
    let port = free_tcp_port();
    let conf = format!(
        "load_module {NGINX_RTMP_MODULE};\n\
         daemon off;\nmaster_process off;\nworker_processes 1;\nworker_rlimit_nofile 65536;\n\
         error_log stderr warn;\npid nginx.pid;\n\
         events {{ worker_connections 30000; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; }} }} }}\n"
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let nginx = which("nginx").ok_or("nginx not installed")?;
    let mut cmd = Command::new(nginx);
    cmd.arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let guard = ChildGuard::try_spawn(&mut cmd).map_err(|e| format!("cannot start nginx: {e}"))?;
    let mut r = Running {
        guard,
        ep: Endpoints {
            rtmp: addr(port),
            http: None,
            rtsp: None,
        },
        _dir: Some(dir),
    };
    r.wait_ready(&[port])?;
    Ok(r)
}
