//! Pulls an RTSP stream (an IP camera) with `RtspClient` and publishes it to an RTMP server
//! with `RtmpClient` — tracks and frames in, tracks and frames out, no transcoding.
//!
//! ```text
//! cargo run --release --example rtsp_to_rtmp -- rtsp://user:pass@192.168.1.10/stream1 rtmp://127.0.0.1:1935/live/cam
//! ffplay rtmp://127.0.0.1:1935/live/cam      # or the relay's HTTP-FLV / HLS of live/cam
//! ```

use clap::Parser;
use weir_tokio::client::{
    Codec, RtmpClient, RtmpUrl, RtspClient, RtspClientConfig, RtspEvent, TrackInfo,
};

/// Forward an RTSP stream to an RTMP server.
#[derive(Parser, Debug)]
struct Args {
    /// The source: `rtsp://[user:pass@]host[:port]/path`.
    rtsp: String,
    /// The destination: `rtmp://host[:port]/app/stream`.
    rtmp: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let mut source = RtspClient::connect(&args.rtsp, RtspClientConfig::default()).await?;
    source.setup_all().await?;
    source.play().await?;
    let url = RtmpUrl::parse(&args.rtmp)?;
    let mut sink = RtmpClient::connect(&url)
        .await?
        .publish(&url.stream)
        .await?;
    println!("{} → {}", source.url(), args.rtmp);

    // Tracks become ready one by one (H.264 without parameter sets in the SDP waits for
    // its first keyframe); each time, the RTMP side gets metadata and sequence headers for
    // all of them.
    let mut tracks = Vec::new();
    let mut frames = 0u64;
    loop {
        tokio::select! {
            ev = source.next() => match ev? {
                Some(RtspEvent::Track(t)) => {
                    use Codec::*;
                    if !matches!(t.codec, H264 | H265 | Aac | G711A | G711U | Opus | MpegAudio) {
                        eprintln!("track {} ({:?}) cannot go over RTMP: left out", t.id.0, t.codec);
                        continue;
                    }
                    tracks.retain(|k: &TrackInfo| k.id != t.id);
                    tracks.push(t);
                    sink.send_tracks(&tracks).await?;
                }
                Some(RtspEvent::Frame(f)) => {
                    if tracks.iter().any(|t| t.id == f.track) {
                        sink.send_frame(&f).await?;
                        frames += 1;
                    }
                }
                Some(_) => {}
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("{frames} frames forwarded");
    sink.close().await?;
    source.teardown().await?;
    Ok(())
}
