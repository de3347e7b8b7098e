#!/usr/bin/env bash
# The whole Weir test suite: unit, property, golden, doc and interop tests.
# Installs what the interop tests drive when it is missing — ffmpeg/ffprobe, GStreamer with
# gst-rtsp-server (through python3-gi), nginx with the RTMP module, Debian's chromium with
# playwright-core (npm), schemathesis (PyPI) —
# and makes a skipped interop test a failure (WEIR_INTEROP=1). Extra arguments go to
# `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Debian packages: the command each provides, then the packages.
need_apt=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v gst-launch-1.0 >/dev/null 2>&1 || need_apt+=(gstreamer1.0-tools)
/usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' >/dev/null 2>&1 \
    || need_apt+=(python3-gi gir1.2-gst-rtsp-server-1.0)
gst-inspect-1.0 x264enc >/dev/null 2>&1 && gst-inspect-1.0 avdec_h264 >/dev/null 2>&1 \
    || need_apt+=(gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
                  gstreamer1.0-plugins-ugly gstreamer1.0-libav)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need_apt+=(nginx libnginx-mod-rtmp)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "scripts/test.sh: installing ${need_apt[*]} (apt-get)..."
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${need_apt[@]}" >/dev/null
fi

# PyPI tools.
if ! command -v schemathesis >/dev/null 2>&1; then
    echo "scripts/test.sh: installing schemathesis (pip)..."
    python3 -m pip install -q schemathesis
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
    hash -r
fi

# npm packages of the browser tests (playwright-core drives Debian's chromium; no browser
# is downloaded), at the versions package-lock.json pins.
browser=crates/tokio/tests/browser
if ! (cd "$browser" && npm ls --silent >/dev/null 2>&1); then
    echo "scripts/test.sh: installing the browser tests' npm packages (npm ci)..."
    (cd "$browser" && npm ci --no-audit --no-fund --silent)
fi

export WEIR_INTEROP="${WEIR_INTEROP:-1}"
cargo test --workspace "$@"
