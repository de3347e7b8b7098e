//! Measures the relay's added latency for WebRTC: an in-process relay on 127.0.0.1, an RTMP
//! publisher (weir's `RtmpClient`) sending an ffmpeg-made H.264 stream at real time, and a
//! str0m WHEP player. For every picture, latency = when the player's socket received its
//! last RTP packet (str0m's `network_time`) − when the publisher started writing it; both
//! loopback hops are included, so this bounds the relay's own packet-in → packet-out time
//! from above. Pictures are matched by their NAL unit bytes, not by timestamps.
//!
//! ```text
//! cargo run --release -p weir-tokio --example webrtc_latency -- [SECONDS] [PLAYERS]
//! ```
//! Needs ffmpeg (for the source).

#[path = "../tests/webrtc/client.rs"]
#[allow(dead_code)]
mod client;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use str0m::media::{Direction, MediaKind};
use str0m::Event;
use weir_tokio::client::{RtmpClient, RtmpUrl};
use weir_tokio::{Relay, RelayConfig};

/// The hash of an access unit's picture NAL units (parameter sets and delimiters aside).
fn picture_hash(nalus: impl Iterator<Item = Bytes>) -> u64 {
    let mut h = DefaultHasher::new();
    for n in nalus {
        if !matches!(n.first().map(|b| b & 0x1F), Some(7..=9)) {
            n.hash(&mut h);
        }
    }
    h.finish()
}

fn source(seconds: u32) -> (weir_media::TrackInfo, Vec<weir_media::Frame>) {
    let path = std::env::temp_dir().join(format!("weir-webrtc-latency-{}.mp4", std::process::id()));
    let st = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=size=1280x720:rate=25")
        .args([
            "-t",
            &seconds.to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .args([
            "-tune",
            "zerolatency",
            "-g",
            "50",
            "-b:v",
            "2500k",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&path)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
    let data = Bytes::from(std::fs::read(&path).unwrap());
    let _ = std::fs::remove_file(&path);
    let mut d = weir_mp4::MemoryDemuxer::new(data, weir_mp4::DemuxConfig::default()).unwrap();
    let track = d.tracks()[0].clone();
    let mut frames = vec![];
    while let Some(f) = d.next_frame().unwrap() {
        frames.push(f);
    }
    (track, frames)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let players: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let (track, frames) = source(seconds + 2);
    let mut cfg = RelayConfig::loopback_ephemeral();
    cfg.gb28181.listen = None;
    cfg.rtsp.listen = None;
    let relay = Relay::new(cfg).bind().await.unwrap();
    let (rtmp, http) = (relay.rtmp_addr().unwrap(), relay.http_addr().unwrap());
    tokio::spawn(relay.run(std::future::pending()));

    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let url = RtmpUrl::parse(&format!("rtmp://{rtmp}/live/lat")).unwrap();
    let mut publisher = RtmpClient::connect(&url)
        .await
        .unwrap()
        .publish("lat")
        .await
        .unwrap();
    publisher.send_tracks(&[track]).await.unwrap();
    // The stream is live: start the players.
    let mut tasks = Vec::new();
    let results: Arc<Mutex<Vec<f64>>> = Arc::default();
    let start_publish = Instant::now();
    let pub_sent = sent.clone();
    let publisher_task = tokio::spawn(async move {
        let t0 = frames[0].dts.rescale(weir_media::Timebase::MICROS).ticks();
        for f in frames {
            let at = Duration::from_micros(
                (f.dts.rescale(weir_media::Timebase::MICROS).ticks() - t0) as u64,
            );
            tokio::time::sleep_until((start_publish + at).into()).await;
            let h = picture_hash(
                weir_media::nal::length_prefixed_nalus(&f.data, 4)
                    .unwrap()
                    .flatten(),
            );
            pub_sent.lock().unwrap().insert(h, Instant::now());
            publisher.send_frame(&f).await.unwrap();
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..players {
        let sent = sent.clone();
        let results = results.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = client::Client::connect(
                http,
                "/live/lat/whep",
                Direction::RecvOnly,
                &[MediaKind::Video],
                &[],
            )
            .await
            .unwrap_or_else(|r| panic!("WHEP {}", r.status));
            c.wait_connected(Duration::from_secs(10)).await;
            // Skip the GOP replay of the join: measure live pictures only.
            let live_from = Instant::now() + Duration::from_secs(2);
            let end = Instant::now() + Duration::from_secs(u64::from(seconds));
            while Instant::now() < end {
                for e in c.step(end).await {
                    if let Event::MediaData(m) = e {
                        let data = Bytes::copy_from_slice(&m.data);
                        let h = picture_hash(weir_media::nal::annexb_nalus(&data));
                        if let Some(t) = sent.lock().unwrap().get(&h) {
                            if m.network_time > live_from {
                                let ms = m.network_time.saturating_duration_since(*t).as_secs_f64()
                                    * 1e3;
                                results.lock().unwrap().push(ms);
                            }
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    publisher_task.abort();
    let mut v = results.lock().unwrap().clone();
    v.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    println!(
        "WebRTC relay latency (RTMP publisher write → WHEP player socket), {} players, {} pictures at 2.5 Mbit/s 720p25: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        players,
        v.len(),
        p(0.5),
        p(0.9),
        p(0.99),
        v[v.len() - 1]
    );
}
