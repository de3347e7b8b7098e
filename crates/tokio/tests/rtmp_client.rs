//! `RtmpClient` at the media level (tracks and frames) against ffmpeg as an RTMP server
//! (`-listen 1`): playing what ffmpeg serves and publishing to ffmpeg, bit-exact both ways
//! (decoded pictures and AAC packets from ffmpeg's framemd5).

#[path = "common/gst.rs"]
mod gst_server;
#[allow(dead_code)]
#[path = "rtsp_client/gst.rs"]
mod media;

use std::time::Duration;

use bytes::BytesMut;
use weir_media::{Codec, Frame, TrackInfo};
use weir_testutil::{ffmpeg_command, free_tcp_port, ChildGuard, TempDir};
use weir_tokio::client::{RtmpClient, RtmpEvent, RtmpUrl};

/// Tracks and frames of an FLV file, read with weir-flv.
fn read_flv(path: &std::path::Path) -> (Vec<TrackInfo>, Vec<Frame>) {
    let mut buf = BytesMut::from(&std::fs::read(path).unwrap()[..]);
    let mut reader = weir_flv::FlvReader::new();
    let mut demux = weir_flv::FlvDemuxer::new();
    let (mut tracks, mut frames) = (Vec::new(), Vec::new());
    while let Some(tag) = reader.decode(&mut buf).unwrap() {
        demux.push_tag(&tag).unwrap();
        while let Some(ev) = demux.poll_event() {
            match ev {
                weir_flv::FlvEvent::Track(t) => tracks.push(t),
                weir_flv::FlvEvent::Frame(f) => frames.push(f),
                _ => {}
            }
        }
    }
    (tracks, frames)
}

/// Plays from `ffmpeg -re -i SRC -c copy -f flv -listen 1 rtmp://…`: the tracks are
/// announced, the pictures decode to the source's, the AAC frames are its packets.
#[tokio::test]
async fn rtmp_client_plays_from_ffmpeg_listen_bit_exact() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("rtmp-client-play");
    let src = gst_server::source(&dir, false, true);
    let want_pictures = weir_testutil::decoded_video_md5(&src, &[]);
    let want_audio = media::audio_packet_md5s(&src);
    let port = free_tcp_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/src");
    let mut server = ChildGuard::spawn(&mut ffmpeg_command([
        "-re",
        "-i",
        &src.display().to_string(),
        "-c",
        "copy",
        "-f",
        "flv",
        "-listen",
        "1",
        &url,
    ]));
    server
        .wait_tcp_listening(port, Duration::from_secs(30))
        .unwrap();
    let u = RtmpUrl::parse(&url).unwrap();
    let mut player = RtmpClient::connect(&u)
        .await
        .unwrap()
        .play(&u.stream)
        .await
        .unwrap();
    let (mut tracks, mut frames) = (Vec::new(), Vec::new());
    let run = async {
        while let Some(ev) = player.next_media().await.unwrap() {
            match ev {
                RtmpEvent::Track(t) => tracks.push(t),
                RtmpEvent::Frame(f) => frames.push(f),
                RtmpEvent::End => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the clip arrives within 60 s");
    let video_track: TrackInfo = tracks
        .iter()
        .find(|t| t.codec == Codec::H264)
        .unwrap()
        .clone();
    let audio_track: TrackInfo = tracks
        .iter()
        .find(|t| t.codec == Codec::Aac)
        .unwrap()
        .clone();
    let video: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.track == video_track.id)
        .collect();
    let audio: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.track == audio_track.id)
        .collect();
    let ours = dir.join("ours.h264");
    media::write_annexb(&ours, &video_track, &video);
    assert_eq!(
        weir_testutil::decoded_video_md5(&ours, &[]),
        want_pictures,
        "pictures bit-exact"
    );
    let got_audio: Vec<String> = audio.iter().map(|f| media::frame_md5(f)).collect();
    assert_eq!(got_audio, want_audio, "AAC frames bit-exact");
    // Typed timestamps: milliseconds, decode order monotonic under B-frames.
    assert!(video
        .iter()
        .all(|f| f.dts.timebase() == weir_media::Timebase::MILLIS));
    assert!(video
        .windows(2)
        .all(|w| w[0].dts.ticks() < w[1].dts.ticks()));
}

/// Publishes tracks and frames (read from an FLV of the clip) to
/// `ffmpeg -listen 1 -i rtmp://… -c copy out.flv`: what ffmpeg records is, packet for
/// packet, what was sent.
#[tokio::test]
async fn rtmp_client_publishes_to_ffmpeg_listen_bit_exact() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("rtmp-client-publish");
    let src = gst_server::source(&dir, false, true);
    let flv = dir.join("src.flv");
    weir_testutil::ffmpeg([
        "-i".as_ref(),
        src.as_os_str(),
        "-c".as_ref(),
        "copy".as_ref(),
        flv.as_os_str(),
    ] as [&std::ffi::OsStr; 5]);
    let (tracks, frames) = read_flv(&flv);
    assert_eq!(tracks.len(), 2);
    let port = free_tcp_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/in");
    let out = dir.join("out.flv");
    let mut server = ChildGuard::spawn(&mut ffmpeg_command([
        "-listen",
        "1",
        "-i",
        &url,
        "-c",
        "copy",
        &out.display().to_string(),
    ]));
    server
        .wait_tcp_listening(port, Duration::from_secs(30))
        .unwrap();
    let u = RtmpUrl::parse(&url).unwrap();
    let mut pusher = RtmpClient::connect(&u)
        .await
        .unwrap()
        .publish(&u.stream)
        .await
        .unwrap();
    pusher.send_tracks(&tracks).await.unwrap();
    for f in &frames {
        pusher.send_frame(f).await.unwrap();
    }
    pusher.close().await.unwrap();
    drop(pusher);
    let done = tokio::task::spawn_blocking(move || server.finish(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(done.success(), "ffmpeg: {done:?}");
    assert_eq!(
        weir_testutil::framemd5(&out, "0:v", &[]),
        weir_testutil::framemd5(&flv, "0:v", &[]),
        "video packets"
    );
    assert_eq!(
        media::audio_packet_md5s(&out),
        media::audio_packet_md5s(&flv),
        "audio packets"
    );
}
