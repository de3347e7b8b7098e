//! The authorization hook sees every connect/publish/play with its `?key=value` query and
//! its decision is enforced with each protocol's proper refusal.

mod common;
mod wait;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use weir_testutil::{interop_or_skip, TempDir};
use weir_tokio::{Access, AuthRequest, Relay};

/// (protocol, access, key, query) of one authorization request.
type Seen = (&'static str, Access, String, Option<String>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_tokens_reach_the_hook_and_refusals_are_clean() {
    interop_or_skip!();
    let dir = TempDir::new("auth");
    let src = make_source(&dir, "src.flv", 2, &[]);
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let mut config = test_config();
    config.play_wait = Duration::from_millis(500);
    let relay = Relay::new(config)
        .with_auth(move |r: &AuthRequest| {
            log.lock()
                .unwrap()
                .push((r.protocol, r.access, r.key.clone(), r.query.clone()));
            match r.access {
                Access::Publish => r.query.as_deref() == Some("token=good"),
                Access::Play => r.query.as_deref() != Some("token=banned"),
                _ => true,
            }
        })
        .bind()
        .await
        .unwrap();
    let (rtmp, http) = (
        relay.rtmp_addr().expect("rtmp"),
        relay.http_addr().expect("http"),
    );
    let hub = relay.hub().clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(relay.run(async {
        let _ = stop_rx.await;
    }));

    // A publisher with the wrong token is refused with a status, not a dropped socket.
    match rtmp_connect(rtmp, "live")
        .await
        .publish("cam?token=bad")
        .await
    {
        Err(ClientError::Rejected { code, .. }) => {
            assert_eq!(code, "NetStream.Publish.Unauthorized")
        }
        other => panic!("bad token accepted: {other:?}"),
    }
    // The right token publishes (ffmpeg, real time).
    let publisher = push(&src, &format!("rtmp://{rtmp}/live/cam?token=good"));
    wait::stream_live(&hub, "live/cam", Duration::ZERO).await;
    // A banned player is refused on RTMP and on HTTP-FLV; others play.
    match rtmp_connect(rtmp, "live")
        .await
        .play("cam?token=banned")
        .await
    {
        Err(ClientError::Rejected { code, .. }) => assert_eq!(code, "NetStream.Play.Failed"),
        other => panic!("banned RTMP player accepted: {other:?}"),
    }
    let (code, _, _) = http_get(http, "/live/cam.flv?token=banned").await;
    assert_eq!(code, 403);
    let ok = rtmp_connect(rtmp, "live")
        .await
        .play("cam?token=fine")
        .await;
    assert!(ok.is_ok(), "a permitted player plays");
    drop(ok);
    wait_ok(publisher, "publisher", Duration::from_secs(20)).await;
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;

    let seen = seen.lock().unwrap();
    let has = |proto: &str, access: Access, query: &str| {
        seen.iter().any(|(p, a, k, q)| {
            *p == proto && *a == access && k == "live/cam" && q.as_deref() == Some(query)
        })
    };
    assert!(has("rtmp", Access::Publish, "token=bad"));
    assert!(has("rtmp", Access::Publish, "token=good"));
    assert!(has("rtmp", Access::Play, "token=banned"));
    assert!(has("http-flv", Access::Play, "token=banned"));
    assert!(seen
        .iter()
        .any(|(p, a, k, _)| *p == "rtmp" && *a == Access::Connect && k == "live"));
}
