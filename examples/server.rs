//! The Weir relay server.
//!
//! `cargo run --release --example server` serves with embedded defaults:
//! RTMP on 1935 (publish and play `rtmp://HOST:1935/{app}/{stream}`), HTTP on 8080
//! (HTTP-FLV and WebSocket-FLV on `/{app}/{stream}.flv`, HLS on
//! `/{app}/{stream}/index.m3u8`, the stream list on `/api/v1/streams`). `--help` lists every option; `--config FILE` reads a TOML file
//! (see `examples/weir.toml`), and flags override the file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use tracing::{error, info};
use tracing_subscriber::EnvFilter;
use weir_tokio::{Relay, RelayConfig};

/// Weir live-streaming relay: RTMP in; RTMP, HTTP-FLV, WebSocket-FLV and HLS out.
#[derive(Parser, Debug)]
#[command(name = "weir-server", version)]
struct Args {
    /// TOML configuration file (keys as in examples/weir.toml); flags override it.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// RTMP listen address [default: 0.0.0.0:1935].
    #[arg(long, value_name = "ADDR")]
    rtmp_listen: Option<SocketAddr>,
    /// HTTP listen address for HTTP-FLV, WebSocket-FLV and the API [default: 0.0.0.0:8080].
    #[arg(long, value_name = "ADDR")]
    http_listen: Option<SocketAddr>,
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
    /// Disconnect a player whose socket accepts nothing for this long, ms [default: 10000].
    #[arg(long, value_name = "MS")]
    player_stuck_timeout_ms: Option<u64>,
    /// How long a player waits for a stream that is not published yet, ms [default: 5000].
    #[arg(long, value_name = "MS")]
    play_wait_ms: Option<u64>,
    /// How long a stream outlives its publisher waiting for it to return, ms [default: 10000].
    #[arg(long, value_name = "MS")]
    publisher_grace_ms: Option<u64>,
    /// How long a new player waits for an announced track with no data yet, ms [default: 1000].
    #[arg(long, value_name = "MS")]
    track_wait_ms: Option<u64>,
    /// Set TCP_NODELAY on connections [default: true].
    #[arg(long, value_name = "BOOL")]
    tcp_nodelay: Option<bool>,
    /// SO_SNDBUF for connections, bytes [default: OS default].
    #[arg(long, value_name = "BYTES")]
    send_buffer_bytes: Option<usize>,
    /// RTMP chunk size sent to peers [default: 4096].
    #[arg(long, value_name = "BYTES")]
    rtmp_chunk_size: Option<u32>,
    /// Largest RTMP message accepted, bytes [default: 8388608].
    #[arg(long, value_name = "BYTES")]
    max_message_bytes: Option<u32>,
    /// HLS segment target duration, ms [default: 2000].
    #[arg(long, value_name = "MS")]
    hls_target_duration_ms: Option<u64>,
    /// Segments listed in an HLS playlist [default: 6].
    #[arg(long, value_name = "N")]
    hls_window: Option<usize>,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive such as
    /// `weir_tokio=debug` [default: info; RUST_LOG also works].
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
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

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    log_level: Option<String>,
    relay: Option<RelayConfig>,
}

fn load(args: &Args) -> Result<(RelayConfig, String), String> {
    let file = match &args.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            toml::from_str::<FileConfig>(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let mut c = file.relay.unwrap_or_default();
    let ms = Duration::from_millis;
    if let Some(v) = args.rtmp_listen {
        c.rtmp_listen = v;
    }
    if let Some(v) = args.http_listen {
        c.http_listen = v;
    }
    if let Some(Listen(v)) = args.rtsp_listen {
        c.rtsp_listen = v;
    }
    if let Some(Listen(v)) = args.gb28181_listen {
        c.gb28181_listen = v;
    }
    if let Some(v) = args.gop_cache {
        c.gop_cache = v;
    }
    if let Some(v) = args.gop_cache_max_bytes {
        c.gop_cache_max_bytes = v;
    }
    if let Some(v) = args.queue_units {
        c.queue_units = v;
    }
    if let Some(v) = args.player_stuck_timeout_ms {
        c.player_stuck_timeout = ms(v);
    }
    if let Some(v) = args.play_wait_ms {
        c.play_wait = ms(v);
    }
    if let Some(v) = args.publisher_grace_ms {
        c.publisher_grace = ms(v);
    }
    if let Some(v) = args.track_wait_ms {
        c.track_wait = ms(v);
    }
    if let Some(v) = args.tcp_nodelay {
        c.tcp_nodelay = v;
    }
    if args.send_buffer_bytes.is_some() {
        c.send_buffer_bytes = args.send_buffer_bytes;
    }
    if let Some(v) = args.rtmp_chunk_size {
        c.rtmp_chunk_size = v;
    }
    if let Some(v) = args.hls_target_duration_ms {
        c.hls_target_duration = ms(v);
    }
    if let Some(v) = args.hls_window {
        c.hls_window = v;
    }
    if let Some(v) = args.max_message_bytes {
        c.max_message_bytes = v;
    }
    let log = args
        .log_level
        .clone()
        .or(file.log_level)
        .unwrap_or_else(|| "info".into());
    Ok((c, log))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let (config, log) = match load(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("weir: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(&log));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let relay = match Relay::new(config).bind().await {
        Ok(r) => r,
        Err(e) => {
            error!("cannot listen: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    info!("weir {} listening", env!("CARGO_PKG_VERSION"));
    match relay.run(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            std::process::ExitCode::from(1)
        }
    }
}
