//! End-to-end tests of the relay with real clients: ffmpeg publishes, ffmpeg and a
//! WebSocket client play, and what every player received is compared bit for bit
//! (`framemd5`) with the source.

mod common;
mod wait;

use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use weir_rtmp_chunk::ClientEvent;
use weir_testutil::{interop_or_skip, TempDir};
use weir_tokio::HubEvent;

/// Writes every binary WebSocket message of `url` into `out` until the server closes.
async fn ws_record(url: String, out: std::path::PathBuf) -> usize {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connect");
    let mut file = tokio::fs::File::create(&out).await.unwrap();
    let mut messages = 0;
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(tokio_tungstenite::tungstenite::Message::Binary(b)) => {
                file.write_all(&b).await.unwrap();
                messages += 1;
            }
            Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    file.flush().await.unwrap();
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_http_flv_and_ws_flv_players_receive_the_source_bit_exact() {
    interop_or_skip!();
    let dir = TempDir::new("relay-all");
    let src = make_source(&dir, "src.flv", 4, &[]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/cam1";

    // Players connect first and wait for the publisher.
    let rtmp_out = dir.join("rtmp.flv");
    let http_out = dir.join("http.flv");
    let ws_out = dir.join("ws.flv");
    let rtmp_player = play_ffmpeg(&relay.rtmp_url(key), &rtmp_out);
    let http_player = play_ffmpeg(&relay.http_url(key), &http_out);
    let ws_player = tokio::spawn(ws_record(relay.ws_url(key), ws_out.clone()));
    relay.wait_for_players(key, 3).await;

    let publisher = push(&src, &format!("{}?token=abc", relay.rtmp_url(key)));
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    wait_ok(rtmp_player, "rtmp player", Duration::from_secs(30)).await;
    wait_ok(http_player, "http-flv player", Duration::from_secs(30)).await;
    let ws_messages = tokio::time::timeout(Duration::from_secs(30), ws_player)
        .await
        .unwrap()
        .unwrap();
    assert!(ws_messages > 100, "ws-flv: {ws_messages} messages");

    let src_v = packets(&src, "0:v");
    let src_a = packets(&src, "0:a");
    let keys = keyframe_indices(&src);
    assert_eq!(src_v.len(), 100);
    for (what, file) in [
        ("rtmp", &rtmp_out),
        ("http-flv", &http_out),
        ("ws-flv", &ws_out),
    ] {
        let start = assert_bit_exact_from_keyframe(&src_v, &keys, &packets(file, "0:v"), what);
        assert_eq!(
            start, 0,
            "{what}: a player waiting before the publish gets everything"
        );
        let audio = packets(file, "0:a");
        let audio_md5: Vec<&str> = audio.iter().map(|p| p.md5.as_str()).collect();
        let src_md5: Vec<&str> = src_a.iter().map(|p| p.md5.as_str()).collect();
        assert_eq!(audio_md5, src_md5, "{what}: audio");
    }
    relay.stop().await;
}

/// With the fan-out threads splitting from two players, the players whose slots fall to
/// the helper thread receive the same bytes, in order, as those the publishing task serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_players_served_by_the_fanout_threads_receive_the_source_bit_exact() {
    interop_or_skip!();
    let dir = TempDir::new("relay-fanout");
    let src = make_source(&dir, "src.flv", 4, &[]);
    let mut cfg = test_config();
    cfg.fanout_threads = 1;
    cfg.fanout_min_players = 2;
    let relay = TestRelay::start(cfg).await;
    let key = "live/fan";
    let outs: Vec<_> = (0..3).map(|i| dir.join(&format!("p{i}.flv"))).collect();
    let players: Vec<_> = outs
        .iter()
        .map(|o| play_ffmpeg(&relay.rtmp_url(key), o))
        .collect();
    relay.wait_for_players(key, outs.len()).await;
    let publisher = push(&src, &relay.rtmp_url(key));
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    for p in players {
        wait_ok(p, "rtmp player", Duration::from_secs(30)).await;
    }
    let src_v = packets(&src, "0:v");
    let src_a: Vec<String> = packets(&src, "0:a").into_iter().map(|p| p.md5).collect();
    let keys = keyframe_indices(&src);
    for (i, out) in outs.iter().enumerate() {
        let what = format!("player {i}");
        let start = assert_bit_exact_from_keyframe(&src_v, &keys, &packets(out, "0:v"), &what);
        assert_eq!(
            start, 0,
            "{what}: waited before the publish, gets everything"
        );
        let audio: Vec<String> = packets(out, "0:a").into_iter().map(|p| p.md5).collect();
        assert_eq!(audio, src_a, "{what}: audio");
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_joiner_starts_on_a_keyframe_within_500ms() {
    interop_or_skip!();
    let dir = TempDir::new("relay-late");
    let src = make_source(&dir, "src.flv", 5, &[]);
    let relay = TestRelay::start(test_config()).await;
    let publisher = push(&src, &relay.rtmp_url("live/late"));
    // Join mid-GOP, well after the first keyframe: 2 s into the live stream.
    wait::stream_live(&relay.hub, "live/late", Duration::from_secs(2)).await;
    let t0 = Instant::now();
    let mut player = rtmp_connect(relay.rtmp, "live")
        .await
        .play("late")
        .await
        .unwrap();
    let mut saw_config = false;
    let first_frame = loop {
        match next_event(&mut player, Duration::from_secs(5)).await {
            Some(ClientEvent::Video { data, .. }) if is_video_sequence_header(&data) => {
                saw_config = true
            }
            Some(ClientEvent::Video { data, .. }) => break data,
            Some(_) => {}
            None => panic!("no video"),
        }
    };
    let elapsed = t0.elapsed();
    assert!(saw_config, "AVC sequence header precedes the first frame");
    assert!(
        is_video_keyframe(&first_frame),
        "first video frame is a keyframe"
    );
    assert!(
        elapsed < Duration::from_millis(500),
        "first keyframe after {elapsed:?}"
    );
    drop(player);
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_publisher_is_refused_with_bad_name() {
    interop_or_skip!();
    let dir = TempDir::new("relay-busy");
    let src = make_source(&dir, "src.flv", 4, &[]);
    let relay = TestRelay::start(test_config()).await;
    let first = push(&src, &relay.rtmp_url("live/busy"));
    wait::stream_live(&relay.hub, "live/busy", Duration::ZERO).await;
    let code = match rtmp_connect(relay.rtmp, "live").await.publish("busy").await {
        Err(ClientError::Rejected { code, .. }) => code,
        other => panic!("second publisher not refused: {other:?}"),
    };
    assert_eq!(code, "NetStream.Publish.BadName");
    wait_ok(first, "first publisher", Duration::from_secs(30)).await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_stream_is_refused_after_the_wait() {
    let mut config = test_config();
    config.play_wait = Duration::from_millis(300);
    let relay = TestRelay::start(config).await;
    // RTMP: NetStream.Play.StreamNotFound.
    let code = match rtmp_connect(relay.rtmp, "live").await.play("nothing").await {
        Err(ClientError::Rejected { code, .. }) => code,
        other => panic!("play of a missing stream not refused: {other:?}"),
    };
    assert_eq!(code, "NetStream.Play.StreamNotFound");
    // HTTP: 404, with CORS.
    let mut sock = tokio::net::TcpStream::connect(relay.http).await.unwrap();
    sock.write_all(b"GET /live/nothing.flv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut sock, &mut resp)
        .await
        .unwrap();
    assert!(resp.starts_with("HTTP/1.1 404"), "{resp}");
    assert!(
        resp.to_ascii_lowercase()
            .contains("access-control-allow-origin: *"),
        "{resp}"
    );
    // The waiting player left no stream behind.
    assert!(relay.hub.streams().is_empty());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_reconnecting_within_grace_keeps_its_players() {
    interop_or_skip!();
    let dir = TempDir::new("relay-grace");
    let src = make_source(&dir, "src.flv", 2, &[]);
    let mut config = test_config();
    config.publisher_grace = Duration::from_secs(3);
    let relay = TestRelay::start(config).await;
    let mut events = relay.hub.events();
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url("live/re"), &out);
    relay.wait_for_players("live/re", 1).await;
    wait_ok(
        push(&src, &relay.rtmp_url("live/re")),
        "first session",
        Duration::from_secs(20),
    )
    .await;
    // Reconnect once the relay has seen the first session leave (within the 3 s grace).
    wait::publisher_gone(&relay.hub, "live/re").await;
    wait_ok(
        push(&src, &relay.rtmp_url("live/re")),
        "second session",
        Duration::from_secs(20),
    )
    .await;
    wait_ok(player, "player", Duration::from_secs(20)).await;
    // The player saw both sessions: twice the source's frames, timestamps monotonic.
    let got = packets(&out, "0:v");
    let src_v = packets(&src, "0:v");
    assert_eq!(
        got.len(),
        2 * src_v.len(),
        "frames from both publisher sessions"
    );
    let got_md5: Vec<&str> = got.iter().map(|p| p.md5.as_str()).collect();
    let want: Vec<&str> = src_v
        .iter()
        .chain(src_v.iter())
        .map(|p| p.md5.as_str())
        .collect();
    assert_eq!(got_md5, want);
    assert!(
        got.windows(2).all(|w| w[1].dts > w[0].dts),
        "dts monotonic across the republish"
    );
    let mut kinds = Vec::new();
    while let Ok(ev) = events.try_recv() {
        kinds.push(match ev {
            HubEvent::Published { .. } => "published",
            HubEvent::Unpublished { .. } => "unpublished",
            HubEvent::Ended { .. } => "ended",
            HubEvent::PlayerJoined { .. } => "joined",
            HubEvent::PlayerLeft { .. } => "left",
            // The player waited for the stream before the publisher came.
            HubEvent::StreamNotFound { .. } => "not-found",
            _ => "other",
        });
    }
    let stream_events: Vec<_> = kinds
        .iter()
        .filter(|k| **k != "joined" && **k != "left" && **k != "not-found")
        .copied()
        .collect();
    assert_eq!(
        stream_events,
        [
            "published",
            "unpublished",
            "published",
            "unpublished",
            "ended"
        ]
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_players_and_publishers_promptly() {
    interop_or_skip!();
    let dir = TempDir::new("relay-shutdown");
    let src = make_source(&dir, "src.flv", 20, &[]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/bye";
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.http_url(key), &out);
    relay.wait_for_players(key, 1).await;
    let mut publisher = push(&src, &relay.rtmp_url(key));
    // Shut down mid-stream, once the player has been sent media.
    wait::stream_live(&relay.hub, key, Duration::from_secs(1)).await;
    wait::until("player got media", || {
        relay.hub.sessions().iter().any(|s| {
            s.key == key && s.role == weir_tokio::core::Role::Player && s.bytes_out > 50_000
        })
    })
    .await;
    let t0 = Instant::now();
    relay.stop().await;
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "shutdown took {:?}",
        t0.elapsed()
    );
    // The player saw a clean end of stream (ffmpeg exits successfully with what it got).
    wait_ok(player, "player", Duration::from_secs(10)).await;
    assert!(!packets(&out, "0:v").is_empty());
    // The publisher was disconnected: its 20 s push ends within seconds of the shutdown.
    let ended = tokio::time::timeout(Duration::from_secs(10), publisher.wait()).await;
    assert!(
        ended.is_ok(),
        "publisher still connected 10 s after shutdown"
    );
}

/// ffmpeg quirk: its FLV demuxer turns every data message it does not know (such as
/// `onStatus(NetStream.Data.Start)`, which some servers send after `play`) into a data
/// stream that never advances, and then `-t` never ends the recording. Our players get no
/// such message, so a bounded recording ends on time and holds only audio and video.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_player_with_duration_limit_stops_on_time() {
    interop_or_skip!();
    let dir = TempDir::new("relay-t");
    let src = make_source(&dir, "src.flv", 8, &[]);
    let relay = TestRelay::start(test_config()).await;
    let publisher = push(&src, &relay.rtmp_url("live/t"));
    wait::stream_live(&relay.hub, "live/t", Duration::ZERO).await;
    let out = dir.join("out.flv");
    let player = ffmpeg_child(&[
        "-i".into(),
        relay.rtmp_url("live/t"),
        "-map".into(),
        "0".into(),
        "-t".into(),
        "2".into(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "flv".into(),
        out.display().to_string(),
    ]);
    let t0 = Instant::now();
    wait_ok(player, "player with -t 2", Duration::from_secs(6)).await;
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t0.elapsed()
    );
    let streams = weir_testutil::ffprobe([
        "-show_entries",
        "stream=codec_type",
        "-of",
        "csv=p=0",
        out.to_str().unwrap(),
    ]);
    let mut kinds: Vec<&str> = streams.lines().collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["audio", "video"], "no data or subtitle stream");
    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    relay.stop().await;
}

/// weir-tokio's RTSP publisher writes once 256 KiB are queued even when the caller never
/// calls `flush` (before, every frame of a send-only loop stayed queued in the client until
/// it hung up: the soak tool's RTSP publishers delivered a minute of media at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_publisher_writes_without_flush_once_its_queue_is_full() {
    use weir_tokio::client::{
        Codec, Frame, RtspPublisher, Timebase, Timestamp, TrackId, TrackInfo,
    };
    let relay = TestRelay::start(test_config()).await;
    let track = TrackInfo::new(TrackId(0), Codec::Aac, 48_000)
        .with_config(bytes::Bytes::from_static(&[0x11, 0x90]));
    let mut p = RtspPublisher::connect(&relay.rtsp_url("live/noflush"), &[track])
        .await
        .expect("RTSP publish");
    // 400 frames of 1 KB (8.5 s of AAC): more than the queue limit, never flushed.
    for i in 0..400i64 {
        let t = Timestamp::new(i * 1024, Timebase::new(1, 48_000).unwrap());
        let f = Frame::new(TrackId(0), t, t, bytes::Bytes::from(vec![0x21; 1000]));
        p.send(&f).await.expect("send");
    }
    wait::until("units reach the relay without a flush", || {
        relay.hub.stream("live/noflush").map_or(0, |s| s.units) > 0
    })
    .await;
    drop(p);
    relay.stop().await;
}
