//! The Weir relay server.
//!
//! `cargo run --release --example server` serves with embedded defaults (no config file):
//! RTMP on 1935, RTSP on 8554, HTTP on 8080 (HTTP-FLV and WebSocket-FLV on
//! `/{app}/{stream}.flv`, HLS on `/{app}/{stream}/index.m3u8`, the API on `/api/v1/...`),
//! GB28181 media on 10000 (UDP and TCP); recordings (`[record]`, `--record-*`) and file
//! playback on `/vod/{root}/{path}` (`[vod.roots]`, `--vod-root`). `--help` lists every option; `--config FILE`
//! reads a TOML file (see `examples/weir.toml`: one section per protocol), and flags
//! override the file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;
use weir_tokio::config::{
    ApiConfig, Gb28181Config, HlsConfig, HooksConfig, PullBackoff, PullConfig, PushConfig,
    RecordConfig, RecordFormat, VodConfig, WebRtcConfig,
};
use weir_tokio::{HttpConfig, Relay, RelayConfig, RtmpConfig, RtspConfig};

/// Weir live-streaming relay: publish with RTMP, RTSP (ANNOUNCE/RECORD) or GB28181
/// (RTP/PS); play with RTMP, RTSP (TCP or UDP), HTTP-FLV, WebSocket-FLV or HLS. Any stream
/// published with any protocol plays on every one.
#[derive(Parser, Debug)]
#[command(name = "weir-server", version)]
struct Args {
    /// TOML configuration file (sections as in examples/weir.toml); flags override it.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// RTMP listen address, or `off` [default: 0.0.0.0:1935].
    #[arg(long, value_name = "ADDR|off", value_parser = parse_listen)]
    rtmp_listen: Option<Listen>,
    /// HTTP listen address (HTTP-FLV, WebSocket-FLV, HLS, API), or `off` [default: 0.0.0.0:8080].
    #[arg(long, value_name = "ADDR|off", value_parser = parse_listen)]
    http_listen: Option<Listen>,
    /// RTSP listen address, or `off` [default: 0.0.0.0:8554].
    #[arg(long, value_name = "ADDR|off", value_parser = parse_listen)]
    rtsp_listen: Option<Listen>,
    /// GB28181 media port (UDP and TCP), or `off` [default: 0.0.0.0:10000].
    #[arg(long, value_name = "ADDR|off", value_parser = parse_listen)]
    gb28181_listen: Option<Listen>,
    /// Keep the last GOP so new players start on a keyframe at once [default: true].
    #[arg(long, value_name = "BOOL")]
    gop_cache: Option<bool>,
    /// Largest GOP kept in the cache, bytes [default: 33554432].
    #[arg(long, value_name = "BYTES")]
    gop_cache_max_bytes: Option<usize>,
    /// Messages a player may fall behind before it skips to the next keyframe [default: 1024].
    #[arg(long, value_name = "N")]
    queue_units: Option<usize>,
    /// Threads sharing a hot stream's writes to caught-up RTMP players with its publishing
    /// task; 0 turns them off [default: one per core beyond the first, at most 7].
    #[arg(long, value_name = "N")]
    fanout_threads: Option<usize>,
    /// How far behind a player may fall before it skips to the next keyframe (the longest a
    /// stream's ring holds a unit), ms; 0: queue-units only [default: 10000].
    #[arg(long, value_name = "MS")]
    queue_ms: Option<u64>,
    /// Caught-up players of one stream from which the fan-out threads share its writes
    /// [default: 1000].
    #[arg(long, value_name = "N")]
    fanout_min_players: Option<usize>,
    /// Disconnect a player whose socket accepts nothing for this long, ms [default: 10000].
    #[arg(long, value_name = "MS")]
    player_stuck_timeout_ms: Option<u64>,
    /// How long a player waits for a stream that is not published yet, ms [default: 5000].
    #[arg(long, value_name = "MS")]
    play_wait_ms: Option<u64>,
    /// How long a stream outlives its publisher waiting for it to return, ms [default: 10000].
    #[arg(long, value_name = "MS")]
    publisher_grace_ms: Option<u64>,
    /// How long a new player waits for a track with no data yet, ms [default: 1000].
    #[arg(long, value_name = "MS")]
    track_wait_ms: Option<u64>,
    /// Stream time after which an announced track that never arrived is dropped, ms [default: 5000].
    #[arg(long, value_name = "MS")]
    track_timeout_ms: Option<u64>,
    /// Set TCP_NODELAY on connections [default: true].
    #[arg(long, value_name = "BOOL")]
    tcp_nodelay: Option<bool>,
    /// SO_SNDBUF for connections, bytes [default: OS default].
    #[arg(long, value_name = "BYTES")]
    send_buffer_bytes: Option<usize>,
    /// How long shutdown waits for connections to close, ms [default: 3000].
    #[arg(long, value_name = "MS")]
    shutdown_timeout_ms: Option<u64>,
    /// RTMP chunk size sent to peers [default: 4096].
    #[arg(long, value_name = "BYTES")]
    rtmp_chunk_size: Option<u32>,
    /// Largest RTMP message accepted, bytes [default: 8388608].
    #[arg(long, value_name = "BYTES")]
    max_message_bytes: Option<u32>,
    /// Largest HTTP request head, bytes [default: 16384].
    #[arg(long, value_name = "BYTES")]
    max_http_header_bytes: Option<usize>,
    /// Serve the web console at http://HOST:8080/ [default: true].
    #[arg(long, value_name = "BOOL")]
    console: Option<bool>,
    /// Serve the console's files from this directory (files missing there are the built-in ones) [default: built in].
    #[arg(long, value_name = "DIR")]
    console_dir: Option<PathBuf>,
    /// Lowest UDP port of RTSP server port pairs [default: 30000].
    #[arg(long, value_name = "PORT")]
    rtsp_udp_port_min: Option<u16>,
    /// Highest UDP port of RTSP server port pairs [default: 30999].
    #[arg(long, value_name = "PORT")]
    rtsp_udp_port_max: Option<u16>,
    /// RTSP session timeout, ms [default: 60000].
    #[arg(long, value_name = "MS")]
    rtsp_session_timeout_ms: Option<u64>,
    /// Reordering latency of the RTSP/UDP publish jitter buffer, ms [default: 150].
    #[arg(long, value_name = "MS")]
    rtsp_jitter_latency_ms: Option<u64>,
    /// A GB28181 stream that receives nothing for this long ends, ms [default: 10000].
    #[arg(long, value_name = "MS")]
    gb28181_idle_timeout_ms: Option<u64>,
    /// Reordering latency of the GB28181/UDP jitter buffer, ms [default: 150].
    #[arg(long, value_name = "MS")]
    gb28181_jitter_latency_ms: Option<u64>,
    /// Most GB28181 streams at once [default: 256].
    #[arg(long, value_name = "N")]
    gb28181_max_streams: Option<usize>,
    /// Most GB28181 streams from one source IP at once [default: 16].
    #[arg(long, value_name = "N")]
    gb28181_max_streams_per_source: Option<usize>,
    /// WebRTC media port (UDP ICE-lite, and ICE-TCP on the same port number), or `off`
    /// [default: 0.0.0.0:8000]. WHEP/WHIP are on the HTTP port: /{app}/{stream}/whep, …/whip.
    #[arg(long, value_name = "ADDR|off", value_parser = parse_listen)]
    webrtc_listen: Option<Listen>,
    /// An extra WebRTC host candidate for NAT/Docker: an IP (the media port is added) or
    /// IP:PORT; repeatable [default: the bound address, or the one clients reach HTTP at].
    #[arg(long, value_name = "IP[:PORT]")]
    webrtc_candidate: Vec<String>,
    /// ICE-TCP on the WebRTC port number [default: true].
    #[arg(long, value_name = "BOOL")]
    webrtc_tcp: Option<bool>,
    /// Most WebRTC sessions (WHEP and WHIP) at once [default: 256].
    #[arg(long, value_name = "N")]
    webrtc_max_sessions: Option<usize>,
    /// End a WebRTC session that has not connected by then (reason logged), ms [default: 10000].
    #[arg(long, value_name = "MS")]
    webrtc_connect_timeout_ms: Option<u64>,
    /// HLS segment target duration, ms [default: 2000].
    #[arg(long, value_name = "MS")]
    hls_target_duration_ms: Option<u64>,
    /// Segments listed in an HLS playlist [default: 6].
    #[arg(long, value_name = "N")]
    hls_window: Option<usize>,
    /// Stop producing HLS for a stream nobody requested for this long, ms [default: 30000].
    #[arg(long, value_name = "MS")]
    hls_idle_timeout_ms: Option<u64>,
    /// LL-HLS (ll.m3u8) part duration, ms; rounded to whole frames, at most 1000 [default: 200].
    #[arg(long, value_name = "MS")]
    hls_ll_part_ms: Option<u64>,
    /// LL-HLS segment duration: segments end at the first keyframe after it, ms; the
    /// playlist's target duration is it rounded up to whole seconds [default: 2000].
    #[arg(long, value_name = "MS")]
    hls_ll_segment_ms: Option<u64>,
    /// Complete segments listed in an LL-HLS playlist [default: 10].
    #[arg(long, value_name = "N")]
    hls_ll_window: Option<usize>,
    /// LL-HLS requests held at once (blocking reloads, hinted parts), relay-wide; more get
    /// 503 [default: 4096].
    #[arg(long, value_name = "N")]
    hls_ll_max_waiting: Option<usize>,
    /// API bearer token: with one, every /api/v1 request needs `Authorization: Bearer TOKEN`;
    /// without, reads are open and changes accepted from loopback only [default: none].
    #[arg(long, value_name = "TOKEN")]
    api_token: Option<String>,
    /// Webhook asked before a publish is accepted (POST, JSON) [default: none].
    #[arg(long, value_name = "URL")]
    hooks_on_publish: Option<String>,
    /// Webhook asked before a play is accepted [default: none].
    #[arg(long, value_name = "URL")]
    hooks_on_play: Option<String>,
    /// Webhook told when a publisher leaves [default: none].
    #[arg(long, value_name = "URL")]
    hooks_on_unpublish: Option<String>,
    /// Webhook told when a player leaves [default: none].
    #[arg(long, value_name = "URL")]
    hooks_on_play_stop: Option<String>,
    /// Webhook told when a stream has had no player for --hooks-none-reader-ms [default: none].
    #[arg(long, value_name = "URL")]
    hooks_on_stream_none_reader: Option<String>,
    /// Webhook told when a player asks for a stream that is not live [default: none].
    #[arg(long, value_name = "URL")]
    hooks_on_stream_not_found: Option<String>,
    /// Webhook told when a recording file is finished [default: none].
    #[arg(long, value_name = "URL")]
    hooks_on_record_done: Option<String>,
    /// How long a webhook may take, ms; a deciding hook that times out denies [default: 3000].
    #[arg(long, value_name = "MS")]
    hooks_timeout_ms: Option<u64>,
    /// Allow when a deciding webhook fails or times out [default: false].
    #[arg(long, value_name = "BOOL")]
    hooks_fail_open: Option<bool>,
    /// No-player time before on_stream_none_reader, ms [default: 10000].
    #[arg(long, value_name = "MS")]
    hooks_none_reader_ms: Option<u64>,
    /// Cache deciding webhook answers this long, ms (0: off) [default: 0].
    #[arg(long, value_name = "MS")]
    hooks_cache_ttl_ms: Option<u64>,
    /// Recording directory: files at DIR/{app}/{stream}/{UTC start}.mp4 [default: recordings].
    #[arg(long, value_name = "DIR")]
    record_dir: Option<PathBuf>,
    /// Recording container: fmp4, mp4, flv or ts [default: fmp4].
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    record_format: Option<RecordFormat>,
    /// A recording file is closed at the first keyframe after this much media, ms [default: 600000].
    #[arg(long, value_name = "MS")]
    record_segment_ms: Option<u64>,
    /// Streams recorded from their publish on, app/stream patterns (`live/*`); repeatable
    /// [default: none; the API starts more].
    #[arg(long, value_name = "PATTERN")]
    record_streams: Vec<String>,
    /// Delete recordings older than this many hours (0: keep) [default: 0].
    #[arg(long, value_name = "HOURS")]
    record_max_age_hours: Option<u64>,
    /// Delete the oldest recordings while all take more than this many bytes (0: no limit)
    /// [default: 0].
    #[arg(long, value_name = "BYTES")]
    record_max_bytes: Option<u64>,
    /// A VOD root: NAME=DIR serves DIR as /vod/NAME/... (HTTP, RTSP, RTMP); repeatable
    /// [default: rec = the recording directory].
    #[arg(long, value_name = "NAME=DIR", value_parser = parse_root)]
    vod_root: Vec<(String, PathBuf)>,
    /// This server's name in webhook bodies and the API [default: weir].
    #[arg(long, value_name = "NAME")]
    server_id: Option<String>,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive such as
    /// `weir_tokio=debug` [default: info; RUST_LOG also works].
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
    /// glibc heap arenas; 0 keeps glibc's default (eight per core). One arena keeps the
    /// frames' churn and the connections' small blocks in one heap: less memory per
    /// player at the same CPU [default: 1].
    #[arg(long, value_name = "N")]
    malloc_arenas: Option<usize>,
}

/// A listen address or `off`.
#[derive(Clone, Copy, Debug)]
struct Listen(Option<SocketAddr>);

fn parse_listen(s: &str) -> Result<Listen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Listen(None));
    }
    s.parse()
        .map(|a| Listen(Some(a)))
        .map_err(|e| format!("{s}: {e}"))
}

fn parse_format(s: &str) -> Result<RecordFormat, String> {
    match s.to_ascii_lowercase().as_str() {
        "fmp4" => Ok(RecordFormat::Fmp4),
        "mp4" => Ok(RecordFormat::Mp4),
        "flv" => Ok(RecordFormat::Flv),
        "ts" => Ok(RecordFormat::Ts),
        _ => Err(format!("{s}: one of fmp4, mp4, flv, ts")),
    }
}

fn parse_root(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, dir)) if !name.is_empty() && !name.contains('/') && !dir.is_empty() => {
            Ok((name.to_string(), PathBuf::from(dir)))
        }
        _ => Err(format!("{s}: NAME=DIR")),
    }
}

/// The TOML file: the relay-wide settings in `[relay]`, then one section per protocol.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    log_level: Option<String>,
    malloc_arenas: Option<usize>,
    relay: Option<RelayConfig>,
    rtmp: Option<RtmpConfig>,
    http: Option<HttpConfig>,
    rtsp: Option<RtspConfig>,
    gb28181: Option<Gb28181Config>,
    hls: Option<HlsConfig>,
    api: Option<ApiConfig>,
    hooks: Option<HooksConfig>,
    pull: Vec<PullConfig>,
    push: Vec<PushConfig>,
    pull_retry: Option<PullBackoff>,
    record: Option<RecordConfig>,
    vod: Option<VodConfig>,
    webrtc: Option<WebRtcConfig>,
}

/// Keys the `[relay]` section had before the per-protocol sections: (old key, section,
/// new key). Files written for earlier versions keep working (with a warning).
const LEGACY_KEYS: &[(&str, &str, &str)] = &[
    ("rtmp_listen", "rtmp", "listen"),
    ("rtmp_chunk_size", "rtmp", "chunk_size"),
    ("max_message_bytes", "rtmp", "max_message_bytes"),
    ("http_listen", "http", "listen"),
    ("max_http_header_bytes", "http", "max_header_bytes"),
    ("rtsp_listen", "rtsp", "listen"),
    ("rtsp_udp_port_min", "rtsp", "udp_port_min"),
    ("rtsp_udp_port_max", "rtsp", "udp_port_max"),
    ("rtsp_session_timeout_ms", "rtsp", "session_timeout_ms"),
    ("rtsp_jitter_latency_ms", "rtsp", "jitter_latency_ms"),
    ("rtsp_auth", "rtsp", "auth"),
    ("gb28181_listen", "gb28181", "listen"),
    ("gb28181_idle_timeout_ms", "gb28181", "idle_timeout_ms"),
    ("gb28181_jitter_latency_ms", "gb28181", "jitter_latency_ms"),
    ("hls_target_duration_ms", "hls", "target_duration_ms"),
    ("hls_window", "hls", "window"),
    ("hls_idle_timeout_ms", "hls", "idle_timeout_ms"),
];

/// Moves legacy `[relay]` keys into their sections; returns the keys moved.
fn migrate_legacy(doc: &mut toml::Table) -> Vec<&'static str> {
    let mut moved = Vec::new();
    for (old, section, new) in LEGACY_KEYS {
        let Some(v) = doc
            .get_mut("relay")
            .and_then(toml::Value::as_table_mut)
            .and_then(|r| r.remove(*old))
        else {
            continue;
        };
        let sec = doc
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(t) = sec.as_table_mut() {
            t.entry(new.to_string()).or_insert(v);
            moved.push(*old);
        }
    }
    moved
}

fn read_file(path: &PathBuf) -> Result<(FileConfig, Vec<&'static str>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let moved = migrate_legacy(&mut doc);
    let file = FileConfig::deserialize(toml::Value::Table(doc))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((file, moved))
}

/// Settings of the server process rather than the relay (top-level keys of the file).
struct Process {
    log: String,
    malloc_arenas: usize,
    /// Legacy `[relay]` keys the file used.
    moved: Vec<&'static str>,
}

fn load(args: &Args) -> Result<(RelayConfig, Process), String> {
    let (file, moved) = match &args.config {
        Some(path) => read_file(path)?,
        None => (FileConfig::default(), Vec::new()),
    };
    let mut c = file.relay.unwrap_or_default();
    c.rtmp = file.rtmp.unwrap_or(c.rtmp);
    c.http = file.http.unwrap_or(c.http);
    c.rtsp = file.rtsp.unwrap_or(c.rtsp);
    c.gb28181 = file.gb28181.unwrap_or(c.gb28181);
    c.hls = file.hls.unwrap_or(c.hls);
    c.api = file.api.unwrap_or(c.api);
    c.hooks = file.hooks.unwrap_or(c.hooks);
    c.record = file.record.unwrap_or(c.record);
    c.vod = file.vod.unwrap_or(c.vod);
    c.webrtc = file.webrtc.unwrap_or(c.webrtc);
    c.pulls = file.pull;
    c.pushes = file.push;
    c.pull_retry = file.pull_retry.unwrap_or(c.pull_retry);
    apply_flags(args, &mut c);
    let log = args
        .log_level
        .clone()
        .or(file.log_level)
        .unwrap_or_else(|| "info".into());
    let malloc_arenas = args.malloc_arenas.or(file.malloc_arenas).unwrap_or(1);
    Ok((
        c,
        Process {
            log,
            malloc_arenas,
            moved,
        },
    ))
}

/// Limits glibc to `arenas` heap arenas (`mallopt(M_ARENA_MAX)`; 0 keeps the default).
/// Must run before any thread starts: a runtime worker picks its arena on its first
/// allocation.
///
/// glibc gives each thread that contends for the heap an arena of its own. The relay
/// allocates a stream's frames on whichever worker runs its publisher and frees them
/// wherever the last player lets go, so every arena keeps free space for the ring's
/// churn, and each new connection's long-lived blocks land between freed frames.
/// Measured with `examples/fanout` (1,000 RTMP players added at 2.5 Mbit/s, 2 cores, two
/// rounds): 5.7–7.0 KiB per added player with the default, 5.0 with one arena, CPU per
/// delivered bit unchanged (small blocks come from glibc's per-thread cache, which takes
/// no lock).
fn limit_malloc_arenas(arenas: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if arenas > 0 {
        let n = nix::libc::c_int::try_from(arenas).unwrap_or(nix::libc::c_int::MAX);
        // SAFETY: mallopt only records the limit; no allocation is in flight on another
        // thread (none has started).
        if unsafe { nix::libc::mallopt(nix::libc::M_ARENA_MAX, n) } != 1 {
            eprintln!("weir: glibc refused M_ARENA_MAX={n}");
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = arenas;
}

fn apply_flags(a: &Args, c: &mut RelayConfig) {
    let ms = Duration::from_millis;
    macro_rules! set {
        ($flag:expr, $field:expr) => {
            if let Some(v) = $flag {
                $field = v;
            }
        };
        ($flag:expr, $field:expr, $map:expr) => {
            if let Some(v) = $flag {
                $field = $map(v);
            }
        };
    }
    set!(a.rtmp_listen, c.rtmp.listen, |l: Listen| l.0);
    set!(a.http_listen, c.http.listen, |l: Listen| l.0);
    set!(a.rtsp_listen, c.rtsp.listen, |l: Listen| l.0);
    set!(a.gb28181_listen, c.gb28181.listen, |l: Listen| l.0);
    set!(a.gop_cache, c.gop_cache);
    set!(a.gop_cache_max_bytes, c.gop_cache_max_bytes);
    set!(a.queue_units, c.queue_units);
    set!(a.fanout_threads, c.fanout_threads);
    set!(a.queue_ms, c.queue_duration, ms);
    set!(a.fanout_min_players, c.fanout_min_players);
    set!(a.player_stuck_timeout_ms, c.player_stuck_timeout, ms);
    set!(a.play_wait_ms, c.play_wait, ms);
    set!(a.publisher_grace_ms, c.publisher_grace, ms);
    set!(a.track_wait_ms, c.track_wait, ms);
    set!(a.track_timeout_ms, c.track_timeout, ms);
    set!(a.tcp_nodelay, c.tcp_nodelay);
    set!(a.send_buffer_bytes, c.send_buffer_bytes, Some);
    set!(a.shutdown_timeout_ms, c.shutdown_timeout, ms);
    set!(a.rtmp_chunk_size, c.rtmp.chunk_size);
    set!(a.max_message_bytes, c.rtmp.max_message_bytes);
    set!(a.max_http_header_bytes, c.http.max_header_bytes);
    set!(a.console, c.http.console);
    set!(a.console_dir.clone(), c.http.console_dir, Some);
    set!(a.rtsp_udp_port_min, c.rtsp.udp_port_min);
    set!(a.rtsp_udp_port_max, c.rtsp.udp_port_max);
    set!(a.rtsp_session_timeout_ms, c.rtsp.session_timeout, ms);
    set!(a.rtsp_jitter_latency_ms, c.rtsp.jitter_latency, ms);
    set!(a.gb28181_idle_timeout_ms, c.gb28181.idle_timeout, ms);
    set!(a.gb28181_jitter_latency_ms, c.gb28181.jitter_latency, ms);
    set!(a.gb28181_max_streams, c.gb28181.max_streams);
    set!(
        a.gb28181_max_streams_per_source,
        c.gb28181.max_streams_per_source
    );
    set!(a.hls_target_duration_ms, c.hls.target_duration, ms);
    set!(a.hls_window, c.hls.window);
    set!(a.hls_idle_timeout_ms, c.hls.idle_timeout, ms);
    set!(a.hls_ll_part_ms, c.hls.ll_part, ms);
    set!(a.hls_ll_segment_ms, c.hls.ll_segment, ms);
    set!(a.hls_ll_window, c.hls.ll_window);
    set!(a.hls_ll_max_waiting, c.hls.ll_max_waiting);
    set!(a.webrtc_listen, c.webrtc.listen, |l: Listen| l.0);
    if !a.webrtc_candidate.is_empty() {
        c.webrtc.candidates = a.webrtc_candidate.clone();
    }
    set!(a.webrtc_tcp, c.webrtc.tcp);
    set!(a.webrtc_max_sessions, c.webrtc.max_sessions);
    set!(a.webrtc_connect_timeout_ms, c.webrtc.connect_timeout, ms);
    set!(a.api_token.clone(), c.api.token, Some);
    let h = &mut c.hooks;
    set!(a.hooks_on_publish.clone(), h.on_publish, Some);
    set!(a.hooks_on_play.clone(), h.on_play, Some);
    set!(a.hooks_on_unpublish.clone(), h.on_unpublish, Some);
    set!(a.hooks_on_play_stop.clone(), h.on_play_stop, Some);
    set!(
        a.hooks_on_stream_none_reader.clone(),
        h.on_stream_none_reader,
        Some
    );
    set!(
        a.hooks_on_stream_not_found.clone(),
        h.on_stream_not_found,
        Some
    );
    set!(a.hooks_on_record_done.clone(), h.on_record_done, Some);
    set!(a.hooks_timeout_ms, h.timeout, ms);
    set!(a.hooks_fail_open, h.fail_open);
    set!(a.hooks_none_reader_ms, h.none_reader, ms);
    set!(a.hooks_cache_ttl_ms, h.cache_ttl, ms);
    set!(a.server_id.clone(), h.server_id);
    let r = &mut c.record;
    set!(a.record_dir.clone(), r.dir);
    set!(a.record_format, r.format);
    set!(a.record_segment_ms, r.segment, ms);
    set!(a.record_max_age_hours, r.max_age_hours);
    set!(a.record_max_bytes, r.max_bytes);
    if !a.record_streams.is_empty() {
        r.streams = a.record_streams.clone();
    }
    for (name, dir) in &a.vod_root {
        c.vod.roots.insert(name.clone(), dir.clone());
    }
}

/// SIGINT/SIGTERM (Ctrl-C elsewhere). The handlers are installed when this is called, not
/// when the future is first polled: a signal that arrives while the relay is still starting
/// (after its URLs are logged) then ends it gracefully instead of killing the process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let (config, process) = match load(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("weir: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    limit_malloc_arenas(process.malloc_arenas);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weir: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    runtime.block_on(serve(config, process))
}

async fn serve(config: RelayConfig, process: Process) -> std::process::ExitCode {
    let (log, moved) = (process.log, process.moved);
    let shutdown = shutdown_signal();
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(&log));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    if !moved.is_empty() {
        warn!(keys = ?moved, "configuration: these [relay] keys moved to per-protocol sections ([rtmp], [http], [rtsp], [gb28181], [hls]); see examples/weir.toml");
    }
    let relay = match Relay::new(config).bind().await {
        Ok(r) => r,
        Err(e) => {
            error!("cannot listen: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    info!("weir {} listening", env!("CARGO_PKG_VERSION"));
    match relay.run(shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            std::process::ExitCode::from(1)
        }
    }
}
