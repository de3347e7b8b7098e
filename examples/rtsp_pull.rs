//! Pulls an RTSP stream with Weir's `RtspClient` and prints its tracks, then every second
//! each track's frame rate and bitrate.
//!
//! ```text
//! cargo run --release --example rtsp_pull -- rtsp://user:pass@192.168.1.10/stream1
//! cargo run --release --example rtsp_pull -- --transport tcp --seconds 10 rtsp://127.0.0.1:8554/live/cam
//! ```
//!
//! `RUST_LOG=weir_tokio=debug` shows the protocol decisions (redirects, keep-alives, the
//! `auto` fallback to TCP).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use weir_tokio::client::{RtspClient, RtspClientConfig, RtspEvent, TransportPreference};

/// Print the tracks and frame rates of an RTSP stream.
#[derive(Parser, Debug)]
struct Args {
    /// `rtsp://[user:pass@]host[:port]/path`
    url: String,
    /// `auto` (UDP, then TCP when UDP does not get through), `udp` or `tcp`.
    #[arg(long, default_value = "auto")]
    transport: String,
    /// Stop after this many seconds (default: until the stream ends or Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
}

/// Frames and bytes of one track in the current second.
#[derive(Default)]
struct Meter {
    name: String,
    frames: u64,
    keyframes: u64,
    bytes: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let transport = match args.transport.as_str() {
        "tcp" => TransportPreference::Tcp,
        "udp" => TransportPreference::Udp,
        "auto" => TransportPreference::Auto,
        other => return Err(format!("--transport {other}: use auto, udp or tcp").into()),
    };
    let config = RtspClientConfig::default().with_transport(transport);
    let mut client = RtspClient::connect(&args.url, config).await?;
    println!("{}", client.url());
    for t in client.tracks() {
        let what = match &t.info {
            Some(i) => format!("{:?}, clock {} Hz", i.codec, i.clock_rate),
            None => "not supported".to_string(),
        };
        println!(
            "  track {}: {} {} ({what}) {}",
            t.index,
            t.media,
            t.encoding.as_deref().unwrap_or("?"),
            t.control
        );
    }
    client.setup_all().await?;
    client.play().await?;
    println!("playing over {:?}", client.transport());

    let mut meters: BTreeMap<u32, Meter> = BTreeMap::new();
    let end = args
        .seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tokio::select! {
            // `next` is cancel-safe: losing this race to the timer or Ctrl-C loses nothing.
            ev = client.next() => match ev? {
                Some(RtspEvent::Track(t)) => {
                    let dims = t.video.map(|v| format!(" {}x{}", v.width, v.height)).unwrap_or_default();
                    println!("track {} ready: {:?}{dims}", t.id.0, t.codec);
                    meters.entry(t.id.0).or_default().name = format!("{:?}", t.codec);
                }
                Some(RtspEvent::Frame(f)) => {
                    let m = meters.entry(f.track.0).or_default();
                    m.frames += 1;
                    m.keyframes += u64::from(f.keyframe);
                    m.bytes += f.data.len() as u64;
                }
                Some(RtspEvent::Lost(t)) => println!("track {}: packets lost", t.0),
                Some(_) => {}
                None => {
                    println!("end of stream");
                    break;
                }
            },
            _ = tick.tick() => {
                let line: Vec<String> = meters
                    .iter_mut()
                    .map(|(id, m)| {
                        let s = format!(
                            "track {id} {}: {} fps, {} key, {:.0} kbit/s",
                            m.name,
                            m.frames,
                            m.keyframes,
                            m.bytes as f64 * 8.0 / 1000.0
                        );
                        (m.frames, m.keyframes, m.bytes) = (0, 0, 0);
                        s
                    })
                    .collect();
                println!("{}", line.join(" | "));
                if end.is_some_and(|e| Instant::now() >= e) {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    let stats = client.stats();
    println!(
        "{} RTP packets, {} lost, {} sender reports, {} receiver reports sent",
        stats.rtp_packets, stats.lost_packets, stats.sender_reports, stats.receiver_reports
    );
    client.teardown().await?;
    Ok(())
}
