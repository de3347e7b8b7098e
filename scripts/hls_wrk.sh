#!/bin/bash
# HLS request rate: the example server with one live stream, wrk with N connections against
# the playlist and against one segment; prints requests/s and the server's CPU per 1,000
# requests (wrk shares the machine: its own CPU is printed too).
#   cargo build --release --example server
#   scripts/hls_wrk.sh [SERVER_BIN] [CONNECTIONS...]     (default: 1000 10000)
# wrk and the server each need an fd per connection: raise the hard `ulimit -n` above
# the largest count first.
set -euo pipefail
BIN=${1:-target/release/examples/server}; shift || true
CONNS=${*:-1000 10000}
ulimit -n "$(ulimit -Hn)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RTMP=$(port); HTTP=$(port)
"$BIN" --rtmp-listen 127.0.0.1:$RTMP --http-listen 127.0.0.1:$HTTP --rtsp-listen off --gb28181-listen off --log-level warn --hls-target-duration-ms 2000 &
SERVER=$!
ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -c:v libx264 -preset ultrafast -tune zerolatency -g 50 -b:v 1000k -c:a aac -b:a 64k -f flv rtmp://127.0.0.1:$RTMP/live/hls &
FF=$!
trap 'kill $FF $SERVER 2>/dev/null; wait 2>/dev/null' EXIT
URL=http://127.0.0.1:$HTTP/live/hls
for _ in $(seq 1 100); do
  if curl -sf "$URL/index.m3u8" | grep -q '\.ts'; then break; fi
  sleep 0.2
done
# The newest segment, taken again before each segment run: it stays in the 6-segment
# window (12 s) for longer than one 10 s run, where the oldest would leave it mid-run.
newest() { curl -sf "$URL/index.m3u8" | grep '\.ts' | tail -1; }
SEG=$(newest)
echo "segment: $SEG ($(curl -sf "$URL/$SEG" | wc -c) bytes)"
echo "| connections | URL | requests/s | server CPU | server CPU-ms per request | errors |"
echo "|---|---|---|---|---|---|"
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
for c in $CONNS; do
  for what in "index.m3u8" segment; do
    if [ "$what" = segment ]; then what=$(newest); fi
    s0=$(cpu $SERVER)
    out=$(wrk -t 2 -c "$c" -d 10s "$URL/$what" 2>&1)
    s1=$(cpu $SERVER)
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    errs=$(echo "$out" | awk '/Socket errors|Non-2xx/ {print}' | tr '\n' ' ')
    awk -v c="$c" -v w="$what" -v r="$rps" -v t=$((s1 - s0)) -v e="$errs" 'BEGIN {
      printf "| %s | %s | %.0f | %.1f %% | %.4f | %s |\n", c, w, r, t / 10, (r > 0 ? t / r : 0), e }'
  done
done
