//! Slow and hostile clients must never disturb a healthy player.

mod common;
mod wait;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_testutil::{interop_or_skip, TempDir};
use weir_tokio::HubEvent;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_player_neither_slows_a_healthy_one_nor_grows_memory() {
    interop_or_skip!();
    let dir = TempDir::new("relay-slow");
    // ~2.5 Mbit/s so a player that stops reading fills its socket buffers fast.
    let src = make_source(
        &dir,
        "src.flv",
        6,
        &[
            "-s", "640x480", "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "1M",
        ],
    );
    let mut config = test_config();
    config.player_stuck_timeout = Duration::from_millis(1500);
    config.send_buffer_bytes = Some(32 << 10);
    config.queue_units = 128;
    let relay = TestRelay::start(config).await;
    let mut events = relay.hub.events();
    let key = "live/slow";

    let healthy_out = dir.join("healthy.flv");
    let healthy = play_ffmpeg(&relay.http_url(key), &healthy_out);
    relay.wait_for_players(key, 1).await;
    let publisher = push(&src, &relay.rtmp_url(key));

    // The stalled player: plays (once the stream is live), then never reads again.
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;
    let stalled = rtmp_connect_small_rcvbuf(relay.rtmp, "live", 4096)
        .await
        .play("slow")
        .await
        .unwrap();
    let rss_before = rss_kib();

    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    wait_ok(healthy, "healthy player", Duration::from_secs(30)).await;
    let rss_after = rss_kib();

    // The healthy player got every frame, bit-exact.
    let src_v = packets(&src, "0:v");
    let start = assert_bit_exact_from_keyframe(
        &src_v,
        &keyframe_indices(&src),
        &packets(&healthy_out, "0:v"),
        "healthy",
    );
    assert_eq!(start, 0);

    // The stalled player was cut off while the stream was still live (stuck timeout),
    // having skipped units rather than buffering them.
    let mut order = Vec::new();
    while let Ok(ev) = events.try_recv() {
        match ev {
            HubEvent::PlayerLeft {
                protocol: "rtmp", ..
            } => order.push("stalled-left"),
            HubEvent::Unpublished { .. } => order.push("unpublished"),
            _ => {}
        }
    }
    assert_eq!(
        order,
        ["stalled-left", "unpublished"],
        "the stalled player is cut off while the stream is live"
    );
    // Memory: the stalled player costs a cursor, not a copy of the stream.
    let growth = rss_after.saturating_sub(rss_before);
    assert!(
        growth < 48 * 1024,
        "RSS grew by {growth} KiB while a player was stalled"
    );
    drop(stalled);
    relay.stop().await;
}

/// Completes the RTMP handshake and `connect` with the server, then hands back the socket.
async fn connected_socket(relay: &TestRelay) -> TcpStream {
    rtmp_connect(relay.rtmp, "live").await.into_parts().0
}

/// True if the server closes `sock` within `within`.
async fn closed_by_server(sock: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_do_not_disturb_a_healthy_player() {
    interop_or_skip!();
    let dir = TempDir::new("relay-hostile");
    let src = make_source(&dir, "src.flv", 6, &[]);
    let relay = TestRelay::start(test_config()).await;
    let key = "live/steady";
    let out = dir.join("out.flv");
    let player = play_ffmpeg(&relay.rtmp_url(key), &out);
    relay.wait_for_players(key, 1).await;
    let publisher = push(&src, &relay.rtmp_url(key));
    wait::stream_live(&relay.hub, key, Duration::ZERO).await;

    // 1. Garbage instead of a handshake (HTTP and RTMP ports).
    for i in 0..50u32 {
        for addr in [relay.rtmp, relay.http] {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let junk: Vec<u8> = (0..4096u32)
                .map(|j| (j.wrapping_mul(2654435761).wrapping_add(i) >> 7) as u8)
                .collect();
            let _ = s.write_all(&junk).await;
        }
    }
    // 2. Truncated handshakes: C0 + half a C1, then silence or close.
    let mut idle = Vec::new();
    for i in 0..20 {
        let mut s = TcpStream::connect(relay.rtmp).await.unwrap();
        let mut c0c1 = vec![3u8];
        c0c1.extend(std::iter::repeat_n(7u8, 700));
        s.write_all(&c0c1).await.unwrap();
        if i % 2 == 0 {
            idle.push(s);
        }
    }
    // 3. A message declaring 16 MB after a valid handshake and connect: refused by closing.
    let mut big = connected_socket(&relay).await;
    // fmt 0, csid 3 | timestamp 0 | length 0xFFFFFF | type 20 (AMF0 command) | stream 0
    let header = [0x03, 0, 0, 0, 0xFF, 0xFF, 0xFF, 20, 0, 0, 0, 0];
    big.write_all(&header).await.unwrap();
    let _ = big.write_all(&[0x02; 4096]).await;
    assert!(
        closed_by_server(&mut big, Duration::from_secs(3)).await,
        "16 MB message refused"
    );
    // 4. 1000 connect/disconnect cycles, some after a full handshake.
    for i in 0..1000 {
        if i % 100 == 0 {
            drop(connected_socket(&relay).await);
        } else {
            drop(TcpStream::connect(relay.rtmp).await.unwrap());
        }
    }

    wait_ok(publisher, "publisher", Duration::from_secs(30)).await;
    wait_ok(player, "player", Duration::from_secs(30)).await;
    let src_v = packets(&src, "0:v");
    let start = assert_bit_exact_from_keyframe(
        &src_v,
        &keyframe_indices(&src),
        &packets(&out, "0:v"),
        "healthy",
    );
    assert_eq!(start, 0);
    // The server still serves new players afterwards.
    let src2 = make_source(&dir, "src2.flv", 1, &[]);
    let out2 = dir.join("after.flv");
    let p2 = play_ffmpeg(&relay.http_url("live/after"), &out2);
    relay.wait_for_players("live/after", 1).await;
    wait_ok(
        push(&src2, &relay.rtmp_url("live/after")),
        "second publisher",
        Duration::from_secs(20),
    )
    .await;
    wait_ok(p2, "second player", Duration::from_secs(20)).await;
    assert_eq!(packets(&out2, "0:v").len(), 25);
    drop(idle);
    relay.stop().await;
}
