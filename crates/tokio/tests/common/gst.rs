//! gst-rtsp-server (GStreamer's RTSP server library, driven from Python through python3-gi)
//! as a real third-party RTSP server started by a test: a small script written to a
//! temporary directory serves a file made by ffmpeg on `/test`, over UDP and/or TCP, with
//! Digest authentication when asked. Used by `rtsp_client.rs` (the client library) and
//! `pull_rtsp.rs` (the relay pulling).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use weir_testutil::TempDir;

/// The server script: `srv.py LAUNCH PROTOCOLS USER PASSWORD PORT` prints its port, then
/// serves `/test` until killed. `PORT` 0 lets the system choose.
const SERVER_PY: &str = r#"
import sys
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtsp, GstRtspServer, GLib

Gst.init(None)
launch, protocols, user, password, port = sys.argv[1:6]
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(launch)
factory.set_shared(False)
if protocols == 'tcp':
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
elif protocols == 'udp':
    factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)
if user:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string('media.factory.role', 'viewer')
    auth.add_digest(user, password, token)
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    server.set_auth(auth)
    perms = GstRtspServer.RTSPPermissions()
    perms.add_permission_for_role('viewer', 'media.factory.access', True)
    perms.add_permission_for_role('viewer', 'media.factory.construct', True)
    factory.set_permissions(perms)
server.get_mount_points().add_factory('/test', factory)
if server.attach(None) == 0:
    sys.exit('attach failed: port %s' % port)
print(server.get_bound_port(), flush=True)
GLib.MainLoop().run()
"#;

const GI_CHECK: &str = "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer";

/// A Python with gi and GstRtspServer (Debian's, not a pyenv one without the bindings).
/// `None` (after a loud notice) when there is none and interop is not required; panics when
/// `WEIR_INTEROP` is set.
pub fn python_with_gst_rtsp_server(test: &str) -> Option<&'static str> {
    let found = ["/usr/bin/python3", "python3"].into_iter().find(|py| {
        let mut cmd = std::process::Command::new(py);
        cmd.args(["-c", GI_CHECK])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        weir_testutil::ChildGuard::try_spawn(&mut cmd)
            .ok()
            .and_then(|mut c| c.wait_timeout(Duration::from_secs(60)))
            .is_some_and(|s| s.success())
    });
    if found.is_none() {
        let required = std::env::var("WEIR_INTEROP").is_ok_and(|v| !v.is_empty() && v != "0");
        if required {
            panic!("{test}: WEIR_INTEROP is set but python3-gi with gir1.2-gst-rtsp-server-1.0 is not installed (scripts/test.sh installs it)");
        }
        eprintln!("\n!!! SKIPPED interop test `{test}`: python3-gi / gir1.2-gst-rtsp-server-1.0 not found. Run `bash scripts/test.sh` or set WEIR_INTEROP=1 to make this a failure. !!!\n");
    }
    found
}

/// A gst-rtsp-server process (killed on drop).
pub struct GstServer {
    child: tokio::process::Child,
    /// Its RTSP port on 127.0.0.1.
    pub port: u16,
    log: PathBuf,
}

impl GstServer {
    /// Serves `launch` on `/test` of a port the system chooses; `protocols` is `any`, `tcp`
    /// or `udp`.
    pub async fn start(
        python: &str,
        dir: &TempDir,
        launch: &str,
        protocols: &str,
        auth: Option<(&str, &str)>,
    ) -> GstServer {
        GstServer::start_on(python, dir, launch, protocols, auth, 0).await
    }

    /// The same on `port` (0: any), e.g. a server restarted where its clients knew it.
    /// Returns once the server listens (it prints its port after binding).
    pub async fn start_on(
        python: &str,
        dir: &TempDir,
        launch: &str,
        protocols: &str,
        auth: Option<(&str, &str)>,
        port: u16,
    ) -> GstServer {
        let script = dir.join("srv.py");
        std::fs::write(&script, SERVER_PY).unwrap();
        let log = dir.join(&format!("gst-rtsp-server-{port}.log"));
        let (user, pass) = auth.unwrap_or(("", ""));
        let mut child = tokio::process::Command::new(python)
            .arg(&script)
            .args([launch, protocols, user, pass, &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("start python3");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let bound: Option<u16> = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .ok()
            .and_then(|l| l.ok().flatten())
            .and_then(|l| l.trim().parse().ok());
        let Some(bound) = bound else {
            panic!(
                "gst-rtsp-server did not report its port: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        };
        // The port it printed is its own socket's (`get_bound_port`), so no one else's
        // listener can stand in for it; check with /proc where there is one anyway.
        if let Some(pid) = child.id() {
            assert_ne!(
                weir_testutil::pid_listens_tcp(pid, bound),
                Some(false),
                "gst-rtsp-server does not listen on the port it printed"
            );
        }
        GstServer {
            child,
            port: bound,
            log,
        }
    }

    /// `rtsp://[user:pass@]127.0.0.1:PORT/test`.
    pub fn url(&self, auth: Option<(&str, &str)>) -> String {
        match auth {
            Some((u, p)) => format!("rtsp://{u}:{p}@127.0.0.1:{}/test", self.port),
            None => format!("rtsp://127.0.0.1:{}/test", self.port),
        }
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server (SIGKILL, by its own PID) and reaps it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A 320×240 25 fps clip of `seconds` with B-frames (GOP 25) and, with `aac`, 48 kHz AAC, as
/// MP4: H.264 or (with `hevc`) H.265.
pub fn source_of(dir: &TempDir, hevc: bool, aac: bool, seconds: u32) -> PathBuf {
    let out = dir.join(&format!(
        "src{}-{}{seconds}s.mp4",
        if hevc { "265" } else { "264" },
        if aac { "aac-" } else { "" }
    ));
    let mut args: Vec<String> = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]
        .map(String::from)
        .to_vec();
    if aac {
        args.extend(
            ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"].map(String::from),
        );
    }
    args.extend(["-t".to_string(), seconds.to_string()]);
    args.extend(["-pix_fmt", "yuv420p"].map(String::from));
    if hevc {
        args.extend(
            [
                "-c:v",
                "libx265",
                "-x265-params",
                "keyint=25:min-keyint=25:bframes=2:log-level=error",
                "-tag:v",
                "hvc1",
            ]
            .map(String::from),
        );
    } else {
        args.extend(["-c:v", "libx264", "-g", "25", "-bf", "2"].map(String::from));
    }
    if aac {
        args.extend(["-c:a", "aac", "-b:a", "64k"].map(String::from));
    }
    args.push(out.display().to_string());
    weir_testutil::ffmpeg(&args);
    out
}

/// [`source_of`] 2 s long.
pub fn source(dir: &TempDir, hevc: bool, aac: bool) -> PathBuf {
    source_of(dir, hevc, aac, 2)
}

/// The gst-launch description serving `src` (video on pay0, AAC on pay1).
pub fn launch(src: &Path, hevc: bool, aac: bool) -> String {
    let (parse, pay) = if hevc {
        ("h265parse", "rtph265pay")
    } else {
        ("h264parse", "rtph264pay")
    };
    let mut l = format!(
        "( filesrc location={} ! qtdemux name=d d.video_0 ! queue ! {parse} ! {pay} name=pay0 pt=96",
        src.display()
    );
    if aac {
        l.push_str(" d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97");
    }
    l.push_str(" )");
    l
}
