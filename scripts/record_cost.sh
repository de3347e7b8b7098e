#!/bin/bash
# Server CPU and memory with a 2.5 Mbit/s publisher: alone, with one RTMP player, with a
# recording (fmp4, mp4). Usage: scripts/record_cost.sh [SERVER_BIN] (after
# `cargo build --release --example server`); prints CPU-seconds and RSS per 30 s window.
set -u
mkdir -p "${TMPDIR:-/tmp}/weir-record-cost"
BIN=${1:-target/release/examples/server}
D=${TMPDIR:-/tmp}/weir-record-cost
SRC=$D/src.flv
[ -f $SRC ] || ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 -t 40 \
  -c:v libx264 -preset veryfast -b:v 2400k -maxrate 2400k -bufsize 4800k -g 50 -pix_fmt yuv420p -c:a aac -b:a 96k -f flv $SRC
tick=$(getconf CLK_TCK)
cpu() { awk -v t=$tick '{print ($14+$15)/t}' /proc/$1/stat; }
rss() { awk '/VmRSS/{print $2}' /proc/$1/status; }
for scenario in none player fmp4 mp4; do
  rm -rf $D/rec; mkdir -p $D/rec
  port=$((20000 + RANDOM % 20000))
  fmt=fmp4; streams='[]'
  case $scenario in fmp4|mp4) fmt=$scenario; streams='["live/*"]';; esac
  printf '[rtmp]\nlisten = "127.0.0.1:%s"\n[http]\nlisten = "off"\n[rtsp]\nlisten = "off"\n[gb28181]\nlisten = "off"\n[record]\ndir = "%s/rec"\nformat = "%s"\nstreams = %s\n' $port $D $fmt "$streams" > $D/cfg.toml
  $BIN --config $D/cfg.toml --log-level warn & spid=$!
  sleep 1
  ffmpeg -hide_banner -loglevel error -re -i $SRC -c copy -f flv rtmp://127.0.0.1:$port/live/a & ppid=$!
  sleep 2
  if [ $scenario = player ]; then ffmpeg -hide_banner -loglevel error -i rtmp://127.0.0.1:$port/live/a -c copy -f null - & plpid=$!; fi
  sleep 3
  c0=$(cpu $spid); r0=$(rss $spid)
  sleep 30
  c1=$(cpu $spid); r1=$(rss $spid)
  echo "$scenario: server CPU over 30 s: $(echo "$c1 - $c0" | bc) s; RSS ${r0} -> ${r1} KiB; recorded $(du -sk $D/rec | cut -f1) KiB"
  kill $ppid 2>/dev/null; [ $scenario = player ] && kill $plpid 2>/dev/null
  sleep 1; kill $spid; wait $spid 2>/dev/null
done
