//! gst-rtsp-server (GStreamer's RTSP server library, driven from Python through
//! python3-gi) as a real third-party server started by the test: a small script written to
//! a temporary directory serves an MP4 made by ffmpeg; the client's frames are written out
//! and compared with the source by ffmpeg (decoded pictures, AAC packets).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncBufReadExt, BufReader};
use weir_media::{Codec, Frame, MediaKind, TrackInfo};
use weir_testutil::TempDir;

/// The server script: `srv.py LAUNCH PROTOCOLS USER PASSWORD` prints its port, then serves
/// `/test` until killed.
const SERVER_PY: &str = r#"
import sys
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtsp, GstRtspServer, GLib

Gst.init(None)
launch, protocols, user, password = sys.argv[1:5]
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service('0')
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
    sys.exit('attach failed')
print(server.get_bound_port(), flush=True)
GLib.MainLoop().run()
"#;

const GI_CHECK: &str = "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer";

/// A Python with gi and GstRtspServer (Debian's, not a pyenv one without the bindings).
/// `None` (after a loud notice) when there is none and interop is not required; panics when
/// `WEIR_INTEROP` is set.
pub fn python_with_gst_rtsp_server(test: &str) -> Option<&'static str> {
    let found = ["/usr/bin/python3", "python3"].into_iter().find(|py| {
        std::process::Command::new(py)
            .args(["-c", GI_CHECK])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
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
    _child: tokio::process::Child,
    pub port: u16,
    log: PathBuf,
}

impl GstServer {
    /// Serves `launch` on `/test`; `protocols` is `any`, `tcp` or `udp`.
    pub async fn start(
        python: &str,
        dir: &TempDir,
        launch: &str,
        protocols: &str,
        auth: Option<(&str, &str)>,
    ) -> GstServer {
        let script = dir.join("srv.py");
        std::fs::write(&script, SERVER_PY).unwrap();
        let log = dir.join("gst-rtsp-server.log");
        let (user, pass) = auth.unwrap_or(("", ""));
        let mut child = tokio::process::Command::new(python)
            .arg(&script)
            .args([launch, protocols, user, pass])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("start python3");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .ok()
            .and_then(|l| l.ok().flatten())
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "gst-rtsp-server did not report its port: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        GstServer {
            _child: child,
            port,
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
}

/// A 2 s 320×240 25 fps clip with B-frames (GOP 25) and, with `aac`, 48 kHz AAC, as MP4.
pub fn source(dir: &TempDir, hevc: bool, aac: bool) -> PathBuf {
    let out = dir.join(if hevc { "src265.mp4" } else { "src264.mp4" });
    let mut args: Vec<String> = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]
        .map(String::from)
        .to_vec();
    if aac {
        args.extend(
            ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"].map(String::from),
        );
    }
    args.extend(["-t", "2", "-pix_fmt", "yuv420p"].map(String::from));
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

/// Writes the video frames as an Annex B elementary stream (parameter sets of the track's
/// configuration first), the way a decoder reads them.
pub fn write_annexb(path: &Path, track: &TrackInfo, frames: &[&Frame]) {
    let mut out = BytesMut::new();
    let params = match track.codec {
        Codec::H264 => weir_h264::AvcConfig::parse(&track.config)
            .unwrap()
            .to_annexb(),
        Codec::H265 => weir_h265::HevcConfig::parse(&track.config)
            .unwrap()
            .to_annexb(),
        c => panic!("{c:?}"),
    };
    out.extend_from_slice(&params);
    for f in frames {
        weir_media::nal::length_prefixed_to_annexb(&f.data, 4, &mut out).unwrap();
    }
    std::fs::write(path, &out).unwrap();
}

/// `size,md5` of each audio packet of `path` (`ffmpeg -f framemd5`, stream copy) —
/// timestamps left out, since they depend on the container.
pub fn audio_packet_md5s(path: &Path) -> Vec<String> {
    weir_testutil::framemd5(path, "0:a", &[])
        .into_iter()
        .map(|l| {
            // dts, pts, duration, size, md5[, side data]
            let parts: Vec<&str> = l.split(',').map(str::trim).collect();
            parts[3..5].join(",")
        })
        .collect()
}

/// The same `size,md5` of a frame's payload.
pub fn frame_md5(f: &Frame) -> String {
    let md5 = weir_rtsp_proto::auth::DigestAlgorithm::Md5.hash_hex(&f.data);
    format!("{},{md5}", f.data.len())
}

/// The kind of a track.
pub fn kind(t: &TrackInfo) -> MediaKind {
    t.codec.kind()
}
