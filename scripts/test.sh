#!/usr/bin/env bash
# The whole Weir test suite: unit, property, golden, doc and interop tests.
# Installs ffmpeg when it is missing (interop tests drive real ffmpeg/ffprobe) and makes a
# skipped interop test a failure (WEIR_INTEROP=1). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
    echo "scripts/test.sh: ffmpeg not found, installing it (apt-get)..."
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
fi

export WEIR_INTEROP="${WEIR_INTEROP:-1}"
cargo test --workspace "$@"
