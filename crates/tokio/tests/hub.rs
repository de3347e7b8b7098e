//! The hub on its own: ordering, GOP cache, lag handling, lifecycle, limits.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_tokio::{Hub, HubConfig, HubError, Publisher, TryNext, Unit, UnitKind};

// Video and audio tracks; the last byte of a configuration or frame identifies it
// (configurations: 0xff video, 0x10 audio; frames: the id).
const V: TrackId = TrackId(0);
const A: TrackId = TrackId(1);

enum Item {
    VideoConfig,
    AudioConfig,
    Key(u8),
    Inter(u8),
    Aac(u8),
}
use Item::*;

fn avc_config() -> Item {
    VideoConfig
}
fn aac_config() -> Item {
    AudioConfig
}
fn key(id: u8) -> Item {
    Key(id)
}
fn inter(id: u8) -> Item {
    Inter(id)
}
fn aac(id: u8) -> Item {
    Aac(id)
}

/// Publishes like the old FLV-body API did: one call per unit, millisecond timestamps.
trait Push {
    fn video(&self, ms: u32, item: Item);
    fn audio(&self, ms: u32, item: Item);
}

fn frame(track: TrackId, ms: u32, data: Vec<u8>, key: bool) -> Frame {
    let t = Timestamp::new(i64::from(ms), Timebase::MILLIS);
    Frame::new(track, t, t, Bytes::from(data)).with_keyframe(key)
}

impl Push for Publisher {
    fn video(&self, ms: u32, item: Item) {
        match item {
            VideoConfig => self.track(
                TrackInfo::new(V, Codec::H264, 1000)
                    .with_config(Bytes::from_static(&[1, 0x64, 0, 0x1f, 0xff])),
            ),
            Key(id) => self.frame(frame(V, ms, vec![0, 0, 0, 2, 0x65, id], true)),
            Inter(id) => self.frame(frame(V, ms, vec![0, 0, 0, 2, 0x41, id], false)),
            _ => unreachable!(),
        }
    }
    fn audio(&self, ms: u32, item: Item) {
        match item {
            AudioConfig => self.track(
                TrackInfo::new(A, Codec::Aac, 1000).with_config(Bytes::from_static(&[0x12, 0x10])),
            ),
            Aac(id) => self.frame(frame(A, ms, vec![0x21, id], true)),
            _ => unreachable!(),
        }
    }
}

/// The identifying last byte of a unit.
fn last(u: &Unit) -> u8 {
    match u.frame_data() {
        Some(f) => *f.data.last().unwrap(),
        None => *u.track().unwrap().config.last().unwrap(),
    }
}

fn ms(u: &Unit) -> u32 {
    u.time().rescale(Timebase::MILLIS).ticks() as u32
}

fn config() -> HubConfig {
    let mut c = HubConfig::default();
    c.play_wait = Duration::from_millis(200);
    c.publisher_grace = Duration::ZERO;
    c.track_wait = Duration::from_millis(50);
    c
}

async fn drain(sub: &mut weir_tokio::Subscription) -> Vec<Arc<Unit>> {
    let mut v = Vec::new();
    loop {
        match sub.try_next() {
            TryNext::Unit(u) => v.push(u),
            TryNext::Empty | TryNext::Ended => return v,
        }
    }
}

#[tokio::test]
async fn late_joiner_gets_configs_then_the_gop_from_its_keyframe() {
    let hub = Hub::new(config());
    let p = hub.publish("live/a", "test").unwrap();
    p.video(0, avc_config());
    p.audio(0, aac_config());
    p.video(0, key(1));
    p.audio(10, aac(1));
    p.video(40, inter(2));
    p.video(80, key(3)); // new GOP
    p.audio(90, aac(2));
    p.video(120, inter(4));
    let mut s = hub.subscribe("live/a", "test").await.unwrap();
    let got: Vec<(UnitKind, u8)> = drain(&mut s)
        .await
        .iter()
        .map(|u| (u.kind(), last(u)))
        .collect();
    assert_eq!(
        got,
        [
            (UnitKind::Video, 0xff), // AVC config first
            (UnitKind::Audio, 0x10), // AAC config
            (UnitKind::Video, 3),    // the cached GOP starts at the last keyframe
            (UnitKind::Audio, 2),
            (UnitKind::Video, 4),
        ]
    );
}

#[tokio::test]
async fn waiting_player_gets_everything_exactly_once() {
    let hub = Hub::new(config());
    let waiter = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut s = hub
                .subscribe_within("live/w", "test", Duration::from_secs(5))
                .await
                .unwrap();
            let mut got = Vec::new();
            while let Some(u) = s.next().await {
                got.push(last(&u));
            }
            got
        })
    };
    while hub.waiting_players("live/w") == 0 {
        tokio::task::yield_now().await;
    }
    {
        let p = hub.publish("live/w", "test").unwrap();
        p.video(0, avc_config());
        p.audio(0, aac_config());
        for i in 0..100u8 {
            let t = u32::from(i) * 40;
            p.video(t, if i % 25 == 0 { key(i) } else { inter(i) });
            p.audio(t, aac(i));
        }
    } // unpublish with zero grace: the stream ends
    let got = waiter.await.unwrap();
    let mut want = vec![0xff, 0x10];
    for i in 0..100u8 {
        want.push(i);
        want.push(i);
    }
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_lagging_player_skips_to_the_next_keyframe_and_counts() {
    let mut c = config();
    c.queue_units = 16;
    let hub = Hub::new(c);
    let p = hub.publish("live/lag", "test").unwrap();
    p.video(0, avc_config());
    p.video(0, key(0));
    let mut s = hub.subscribe("live/lag", "test").await.unwrap();
    assert!(drain(&mut s).await.len() == 2);
    // 40 inter frames overflow the 16-unit ring, then a keyframe and one more.
    for i in 1..=40u8 {
        p.video(u32::from(i) * 40, inter(i));
    }
    p.video(41 * 40, key(41));
    p.video(42 * 40, inter(42));
    let got: Vec<u8> = drain(&mut s).await.iter().map(|u| last(u)).collect();
    assert_eq!(got, [41, 42], "resumes at the keyframe");
    assert!(s.dropped() >= 24, "dropped {}", s.dropped());
}

#[tokio::test]
async fn gop_cache_limit_and_audio_only_tail() {
    let mut c = config();
    c.gop_cache_max_bytes = 64;
    let hub = Hub::new(c.clone());
    let p = hub.publish("live/big", "test").unwrap();
    p.video(0, avc_config());
    p.video(0, key(0));
    for i in 1..30u8 {
        p.video(u32::from(i) * 40, inter(i));
    }
    // The GOP outgrew 64 bytes: a late joiner gets the config and waits for a keyframe.
    let mut s = hub.subscribe("live/big", "test").await.unwrap();
    let got = drain(&mut s).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].is_config());
    p.video(2000, inter(50));
    p.video(2040, key(51));
    let got: Vec<u8> = drain(&mut s).await.iter().map(|u| last(u)).collect();
    assert_eq!(got, [51]);

    let hub = Hub::new(config());
    let p = hub.publish("live/radio", "test").unwrap();
    p.audio(0, aac_config());
    for i in 0..200u8 {
        p.audio(u32::from(i) * 23, aac(i));
    }
    let mut s = hub.subscribe("live/radio", "test").await.unwrap();
    let got = drain(&mut s).await;
    assert!(got[0].is_config());
    assert_eq!(got.len(), 1 + 64, "audio-only streams keep a short tail");
    assert_eq!(last(got.last().unwrap()), 199);
}

#[tokio::test]
async fn one_publisher_per_name_and_not_found() {
    let hub = Hub::new(config());
    let p = hub.publish("live/x", "test").unwrap();
    assert_eq!(
        hub.publish("live/x", "test").unwrap_err(),
        HubError::Busy("live/x".into())
    );
    drop(p);
    // Zero grace: the name is free again at once.
    let _p2 = hub.publish("live/x", "test").unwrap();
    assert_eq!(
        hub.subscribe("live/none", "test").await.unwrap_err(),
        HubError::NotFound("live/none".into())
    );
    assert_eq!(hub.waiting_players("live/none"), 0);
    hub.shutdown();
    assert_eq!(
        hub.publish("live/y", "test").unwrap_err(),
        HubError::ShuttingDown
    );
}

#[tokio::test]
async fn timestamps_are_repaired_on_the_way_in() {
    let hub = Hub::new(config());
    let p = hub.publish("live/ts", "test").unwrap();
    p.video(0, avc_config());
    let mut s = hub
        .subscribe_within("live/ts", "test", Duration::from_millis(10))
        .await
        .unwrap();
    // A clock that jumps back to 0 mid-stream (encoder restart) and a wrap past 2^32.
    for (i, t) in [1000u32, 1040, 1080, 0, 40, 80].into_iter().enumerate() {
        p.video(t, if i == 0 { key(i as u8) } else { inter(i as u8) });
    }
    let ts: Vec<u32> = drain(&mut s)
        .await
        .iter()
        .filter(|u| !u.is_config())
        .map(|u| ms(u))
        .collect();
    assert_eq!(ts, [1000, 1040, 1080, 1120, 1160, 1200]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random interleavings of publishing and (re)subscribing: every subscriber sees its
    /// units in publish order, without duplicates, starting on a keyframe.
    #[test]
    fn subscribers_see_ordered_unique_units(ops in prop::collection::vec(0u8..10, 1..300)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let hub = Hub::new(config());
            let p = hub.publish("live/p", "test").unwrap();
            p.video(0, avc_config());
            let mut subs = Vec::new();
            let mut n = 0u32;
            for op in ops {
                match op {
                    0 => subs.push((hub.subscribe_within("live/p", "test", Duration::from_millis(1)).await.unwrap(), Vec::<u32>::new())),
                    1 if !subs.is_empty() => { subs.remove(0); }
                    _ => {
                        n += 1;
                        let body = if n % 7 == 1 { key(0) } else { inter(0) };
                        p.video(n * 40, body);
                    }
                }
                for (s, seen) in subs.iter_mut() {
                    for u in drain(s).await {
                        if !u.is_config() {
                            if seen.is_empty() {
                                assert!(u.is_keyframe(), "first frame of a subscriber is a keyframe");
                            }
                            seen.push(ms(&u));
                        }
                    }
                }
            }
            for (_, seen) in subs {
                assert!(seen.windows(2).all(|w| w[1] > w[0]), "ordered and unique: {seen:?}");
            }
        });
    }
}

/// A stream with three tracks (video and two audio languages): a player is told all three
/// with their configurations and gets every frame of each, in publish order.
#[tokio::test]
async fn a_hub_with_three_tracks() {
    let hub = Hub::new(config());
    let p = hub.publish("live/three", "test").unwrap();
    p.video(0, avc_config());
    p.audio(0, aac_config());
    p.track(
        TrackInfo::new(TrackId(7), Codec::Opus, 48_000)
            .with_config(Bytes::from_static(b"OpusHead")),
    );
    for i in 0..10u8 {
        let t = u32::from(i) * 40;
        p.video(t, if i == 0 { key(i) } else { inter(i) });
        p.audio(t, aac(i));
        let ts = Timestamp::new(i64::from(t) * 48, Timebase::hz(48_000).unwrap());
        p.frame(Frame::new(TrackId(7), ts, ts, Bytes::from(vec![0xFC, i])).with_keyframe(true));
    }
    let mut s = hub.subscribe("live/three", "test").await.unwrap();
    let tracks: Vec<(TrackId, Codec)> = s.tracks().iter().map(|t| (t.id, t.codec)).collect();
    assert_eq!(
        tracks,
        [(V, Codec::H264), (A, Codec::Aac), (TrackId(7), Codec::Opus)]
    );
    let units = drain(&mut s).await;
    let configs = units.iter().filter(|u| u.is_config()).count();
    assert_eq!(configs, 3);
    for id in [V, A, TrackId(7)] {
        let ids: Vec<u8> = units
            .iter()
            .filter(|u| u.is_frame() && u.track().unwrap().id == id)
            .map(|u| last(u))
            .collect();
        assert_eq!(ids, (0..10).collect::<Vec<u8>>(), "track {id:?}");
    }
    assert_eq!(hub.streams()[0].tracks.len(), 3);
}

/// A publisher that reconnects within the grace period with other track ids (an RTSP
/// camera numbering its media differently from the RTMP encoder before it): players keep
/// the stream's track ids, so their outputs continue.
#[tokio::test]
async fn track_ids_stay_stable_across_a_reconnect() {
    let mut c = config();
    c.publisher_grace = Duration::from_secs(5);
    let hub = Hub::new(c);
    let p = hub.publish("live/re", "test").unwrap();
    p.video(0, avc_config());
    p.video(0, key(1));
    let mut s = hub.subscribe("live/re", "test").await.unwrap();
    assert_eq!(drain(&mut s).await.len(), 2);
    drop(p);
    let p = hub.publish("live/re", "test").unwrap();
    p.track(
        TrackInfo::new(TrackId(42), Codec::H264, 90_000)
            .with_config(Bytes::from_static(&[1, 0x64, 0, 0x1f, 0xfe])),
    );
    let t = Timestamp::new(0, Timebase::MPEG);
    p.frame(
        Frame::new(
            TrackId(42),
            t,
            t,
            Bytes::from_static(&[0, 0, 0, 2, 0x65, 9]),
        )
        .with_keyframe(true),
    );
    let got = drain(&mut s).await;
    assert_eq!(got.len(), 2, "{got:?}");
    for u in &got {
        assert_eq!(
            u.track().unwrap().id,
            V,
            "the new session's track took over id 0"
        );
    }
    assert_eq!(last(&got[1]), 9);
}

/// A source whose clock starts far from zero (near a counter wrap) is rebased so players
/// start near zero; one that starts near zero keeps its timestamps.
#[tokio::test]
async fn streams_starting_near_a_wrap_are_rebased() {
    let hub = Hub::new(config());
    let p = hub.publish("live/far", "test").unwrap();
    p.video(0, avc_config());
    let start = u32::MAX - 2000;
    let mut s = hub
        .subscribe_within("live/far", "test", Duration::from_millis(10))
        .await
        .unwrap();
    for i in 0..5u32 {
        p.video(start + i * 40, if i == 0 { key(0) } else { inter(0) });
    }
    let ts: Vec<u32> = drain(&mut s)
        .await
        .iter()
        .filter(|u| u.is_frame())
        .map(|u| ms(u))
        .collect();
    assert_eq!(ts, [1000, 1040, 1080, 1120, 1160]);
}

/// Internal consumers (the HLS segmenter, the recorder) are not players: they start no
/// `on_play`/`on_play_stop` notifications and are not listed as sessions; a real player
/// in the same stream is.
#[tokio::test]
async fn internal_subscriptions_emit_no_player_events() {
    use weir_tokio::{HubEvent, SubscribeOptions};
    let hub = Hub::new(config());
    let mut events = hub.events();
    let p = hub.publish("live/internal", "test").unwrap();
    p.video(0, avc_config());
    p.video(0, key(0));
    let internal = hub
        .subscribe_with(
            "live/internal",
            "record",
            SubscribeOptions::new().internal(),
        )
        .await
        .unwrap();
    let player = hub.subscribe("live/internal", "rtmp").await.unwrap();
    assert_eq!(
        hub.sessions()
            .iter()
            .filter(|s| s.protocol == "record")
            .count(),
        0
    );
    assert_eq!(hub.stream("live/internal").unwrap().players, 1);
    drop(internal);
    drop(player);
    drop(p);
    let mut player_events = Vec::new();
    while let Ok(e) = events.try_recv() {
        match e {
            HubEvent::PlayerJoined { protocol, .. } => player_events.push(("joined", protocol)),
            HubEvent::PlayerLeft { protocol, .. } => player_events.push(("left", protocol)),
            _ => {}
        }
    }
    assert_eq!(player_events, [("joined", "rtmp"), ("left", "rtmp")]);
}
