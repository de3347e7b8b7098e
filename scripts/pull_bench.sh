#!/bin/bash
# Pulled-stream overhead (issue #13): one local Weir server (the source) with one 1 Mbit/s
# H.264 + AAC stream published by ffmpeg; a second Weir server pulls it N times
# (`[[pull]]` cam/s0 … cam/sN-1, over RTMP and over RTSP/TCP and RTSP/UDP). Prints the
# puller's CPU-seconds over a 30 s window and its RSS, for 0 pulls and for N, and the cost
# per pulled stream. Nothing plays the pulled streams: this is the cost of pulling alone.
#   cargo build --release --example server
#   scripts/pull_bench.sh [SERVER_BIN] [N]          (defaults: target/release/examples/server 50)
# PULLER_TOML adds lines to the puller's configuration (e.g. $'[relay]\nqueue_units = 256');
# SOURCES picks the source protocols (default "rtmp rtsp-tcp rtsp-udp").
set -euo pipefail
BIN=${1:-target/release/examples/server}
N=${2:-50}
WINDOW=30
D=$(mktemp -d "${TMPDIR:-/tmp}/weir-pull-bench.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tick=$(getconf CLK_TCK)
cpu() { awk -v t="$tick" '{print ($14+$15)/t}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
# Waits (at most 60 s) until `$2` pulls of the server on HTTP port $1 are playing.
wait_playing() {
    for _ in $(seq 1 300); do
        n=$(curl -sf "http://127.0.0.1:$1/api/v1/pulls" | grep -o '"state":"playing"' | wc -l || true)
        [ "$n" -ge "$2" ] && return 0
        sleep 0.2
    done
    echo "only $n of $2 pulls are playing" >&2
    return 1
}

SRC=$D/src.flv
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t 20 -c:v libx264 -preset veryfast \
    -b:v 1000k -maxrate 1000k -bufsize 2000k -g 50 -pix_fmt yuv420p -c:a aac -b:a 64k -f flv "$SRC"

# The source server.
SRTMP=$(port); SRTSP=$(port)
"$BIN" --rtmp-listen "127.0.0.1:$SRTMP" --rtsp-listen "127.0.0.1:$SRTSP" --http-listen off \
    --gb28181-listen off --webrtc-listen off --log-level warn &
PIDS+=($!)
ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i "$SRC" -c copy -f flv \
    "rtmp://127.0.0.1:$SRTMP/live/src" &
PIDS+=($!)

echo "| source | pulls | puller CPU over ${WINDOW}s | CPU per stream | RSS | RSS per stream |"
echo "|---|---|---|---|---|---|"
for source in ${SOURCES:-rtmp rtsp-tcp rtsp-udp}; do
    base_cpu=""; base_rss=""
    for n in 0 "$N"; do
        HTTP=$(port)
        cfg=$D/puller.toml
        printf '%s\n' "${PULLER_TOML:-}" > "$cfg"
        printf '[rtmp]\nlisten = "off"\n[rtsp]\nlisten = "off"\n[gb28181]\nlisten = "off"\n[webrtc]\nlisten = "off"\n[http]\nlisten = "127.0.0.1:%s"\n' "$HTTP" >> "$cfg"
        for i in $(seq 0 $((n - 1))); do
            case $source in
                rtmp) url="rtmp://127.0.0.1:$SRTMP/live/src"; tr=tcp ;;
                rtsp-tcp) url="rtsp://127.0.0.1:$SRTSP/live/src"; tr=tcp ;;
                rtsp-udp) url="rtsp://127.0.0.1:$SRTSP/live/src"; tr=udp ;;
            esac
            printf '[[pull]]\napp = "cam"\nstream = "s%d"\nurl = "%s"\ntransport = "%s"\n' "$i" "$url" "$tr" >> "$cfg"
        done
        "$BIN" --config "$cfg" --log-level warn &
        puller=$!
        PIDS+=($puller)
        for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HTTP/api/v1/server" >/dev/null && break; sleep 0.1; done
        wait_playing "$HTTP" "$n"
        sleep 3   # past the connection bursts
        c0=$(cpu $puller)
        sleep "$WINDOW"
        c1=$(cpu $puller); r=$(rss $puller)
        playing=$(curl -sf "http://127.0.0.1:$HTTP/api/v1/pulls" | grep -o '"state":"playing"' | wc -l || true)
        [ "$playing" -ge "$n" ] || echo "warning: $playing of $n pulls playing at the end" >&2
        c=$(echo "$c1 - $c0" | bc)
        if [ "$n" = 0 ]; then
            base_cpu=$c; base_rss=$r
            echo "| $source | 0 | ${c} s | | ${r} KiB | |"
        else
            per_cpu=$(echo "scale=4; ($c - $base_cpu) / $n" | bc)
            per_rss=$(echo "($r - $base_rss) / $n" | bc)
            echo "| $source | $n | ${c} s ($(echo "scale=1; $c * 100 / $WINDOW" | bc) % of a core) | ${per_cpu} s ($(echo "scale=2; $per_cpu * 100 / $WINDOW" | bc) % of a core) | ${r} KiB | ${per_rss} KiB |"
        fi
        kill "$puller"; wait "$puller" 2>/dev/null || true
    done
done
