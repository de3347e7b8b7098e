//! `RtspClient` against
//!
//! * **scripted cameras**: a TCP server in the test replays request/response transcripts
//!   written from public descriptions of real devices' behaviour (retina's and other clients'
//!   issue trackers), then sends H.264 over RTP with the device's quirk; the client must get
//!   every frame out, byte for byte. No external tools.
//! * **real servers** started by the test: GStreamer's gst-rtsp-server (python3-gi) with
//!   H.264+AAC and H.265, over UDP and TCP, with Digest auth; the pictures the client gets
//!   decode bit-exactly to the source's from the first keyframe (ffmpeg framemd5), and the
//!   AAC frames are the source's packets.

#[path = "rtsp_client/gst.rs"]
mod gst;
#[path = "common/gst.rs"]
mod gst_server;
#[path = "rtsp_client/transcript.rs"]
mod transcript;

use std::time::Duration;

use transcript::{avcc, h264_frames, Camera, MediaPlan};
use weir_media::{Codec, Frame, TrackId, TrackInfo};
use weir_rtsp_proto::auth::{AuthConfig, DigestAlgorithm};
use weir_rtsp_proto::Method;
use weir_tokio::client::{
    LowerTransport, RtspClient, RtspClientConfig, RtspClientError, RtspEvent, TransportPreference,
};

/// Everything a session yielded until its end.
#[derive(Debug, Default)]
struct Got {
    tracks: Vec<TrackInfo>,
    frames: Vec<Frame>,
    lost: usize,
}

impl Got {
    fn video(&self) -> Vec<&Frame> {
        self.frames
            .iter()
            .filter(|f| f.track == TrackId(0))
            .collect()
    }
}

/// Reads events until the stream ends (the camera says RTCP BYE), within a deadline.
async fn collect(client: &mut RtspClient) -> Got {
    let mut got = Got::default();
    let run = async {
        while let Some(ev) = client.next().await.expect("next") {
            match ev {
                RtspEvent::Track(t) => got.tracks.push(t),
                RtspEvent::Frame(f) => got.frames.push(f),
                RtspEvent::Lost(_) => got.lost += 1,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the stream ends within 30 s");
    got
}

fn tcp() -> RtspClientConfig {
    RtspClientConfig::default().with_transport(TransportPreference::Tcp)
}

/// The client got the camera's H.264 frames: the track with the in-band parameter sets,
/// then every frame from the first, payloads identical.
fn assert_h264_frames(got: &Got, sent: &[Frame]) {
    let video: Vec<&TrackInfo> = got.tracks.iter().filter(|t| t.id == TrackId(0)).collect();
    assert_eq!(video.len(), 1, "{:?}", got.tracks);
    assert_eq!((video[0].codec, &video[0].config), (Codec::H264, &avcc()));
    let frames = got.video();
    assert_eq!(frames.len(), sent.len(), "every frame");
    for (i, (g, s)) in frames.iter().zip(sent).enumerate() {
        assert_eq!(g.data, s.data, "frame {i}");
        assert_eq!(g.keyframe, s.keyframe, "frame {i}");
    }
    let dts: Vec<i64> = frames.iter().map(|f| f.dts.ticks()).collect();
    assert!(dts.windows(2).all(|w| w[0] < w[1]), "monotonic: {dts:?}");
}

/// SETUP of every track, PLAY, and every one of the camera's H.264 frames `sent` arrives
/// until the stream ends.
async fn assert_plays(c: &mut RtspClient, sent: &[Frame]) {
    c.setup_all().await.unwrap();
    c.play().await.unwrap();
    assert_h264_frames(&collect(c).await, sent);
}

/// The plain camera all quirk tests start from: H.264 with parameter sets in the SDP and in
/// band, TCP interleaved, `Content-Base` set.
const PLAIN: &str = r#"
C: OPTIONS
S: RTSP/1.0 200 OK
S: CSeq: {cseq}
S: Public: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, GET_PARAMETER
S:
C: DESCRIBE
S: RTSP/1.0 200 OK
S: CSeq: {cseq}
S: Content-Type: application/sdp
S: Content-Base: {url}/
S: Content-Length: {len}
S:
S: v=0
S: o=- 1 1 IN IP4 127.0.0.1
S: s=plain camera
S: t=0 0
S: a=control:*
S: m=video 0 RTP/AVP 96
S: a=rtpmap:96 H264/90000
S: a=fmtp:96 packetization-mode=1;profile-level-id=42c00d;sprop-parameter-sets={sprop}
S: a=control:trackID=1
C: SETUP
S: RTSP/1.0 200 OK
S: CSeq: {cseq}
S: Session: {session};timeout=60
S: Transport: {transport}
S:
C: PLAY
S: RTSP/1.0 200 OK
S: CSeq: {cseq}
S: Session: {session}
S: RTP-Info: url={url}/trackID=1;seq=0;rtptime=0
S:
C: TEARDOWN
S: RTSP/1.0 200 OK
S: CSeq: {cseq}
S:
"#;

#[tokio::test]
async fn plain_camera_tcp_frames_and_teardown() {
    let sent = h264_frames(30);
    let cam = Camera::start(PLAIN, MediaPlan::h264(&sent)).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    assert_eq!(c.tracks().len(), 1);
    let t = &c.tracks()[0];
    assert_eq!(t.control, cam.url("/cam/trackID=1"));
    assert_eq!(t.encoding.as_deref(), Some("H264/90000"));
    assert_eq!(t.info.as_ref().unwrap().config, avcc());
    c.setup_all().await.unwrap();
    assert_eq!(c.transport(), LowerTransport::Tcp);
    c.play().await.unwrap();
    let got = collect(&mut c).await;
    assert_h264_frames(&got, &sent);
    assert_eq!(got.lost, 0);
    let stats = c.stats();
    assert!(
        stats.rtp_packets > 30 && stats.sender_reports >= 1,
        "{stats:?}"
    );
    // The sender report put the first frame at 1 700 000 000 s (NTP, as Unix time); frame
    // k was captured k × 40 ms later.
    let video = got.video();
    for k in [0usize, 7, 29] {
        let wall = c.wallclock(video[k]).expect("after a sender report");
        let want = std::time::UNIX_EPOCH
            + Duration::from_secs(1_700_000_000)
            + Duration::from_millis(40 * k as u64);
        let off = wall.duration_since(want).unwrap_or_else(|e| e.duration());
        assert!(
            off < Duration::from_millis(1),
            "frame {k}: {wall:?} vs {want:?}"
        );
    }
    c.teardown().await.unwrap();
    let methods = cam.methods();
    assert_eq!(
        methods,
        ["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN"],
        "{methods:?}"
    );
    // Requests carry the session once it exists, and never the credentials-less URL's
    // user info.
    let reqs = cam.requests();
    assert!(reqs[3].headers.get("Session").is_some());
    assert!(reqs.iter().all(|r| !r.uri.contains('@')));
}

/// Quirk (VStarcam, retina #9 and #12): no session-level `a=control`, no `Content-Base`,
/// no `RTP-Info` in the PLAY answer. Controls resolve against the request URL; PLAY goes
/// to the request URL.
#[tokio::test]
async fn quirk_vstarcam_no_session_control_no_content_base_no_rtp_info() {
    let t = PLAIN
        .replace("S: Content-Base: {url}/\n", "")
        .replace("S: a=control:*\n", "")
        .replace("S: RTP-Info: url={url}/trackID=1;seq=0;rtptime=0\n", "")
        .replace("a=control:trackID=1", "a=control:track0");
    let sent = h264_frames(20);
    let cam = Camera::start(&t, MediaPlan::h264(&sent)).await;
    let mut c = RtspClient::connect(&cam.url("/tcp/av0_0"), tcp())
        .await
        .unwrap();
    assert_eq!(c.tracks()[0].control, cam.url("/tcp/av0_0/track0"));
    assert_plays(&mut c, &sent).await;
    let reqs = cam.requests();
    assert_eq!(reqs[2].uri, cam.url("/tcp/av0_0/track0"));
    assert_eq!(reqs[3].uri, cam.url("/tcp/av0_0"));
}

/// Quirk (mobile "IP camera" apps, retina #135; SV3C, moonfire-nvr #356): `Content-Base`
/// without a scheme. And (go2rtc #208): with a doubled scheme.
#[tokio::test]
async fn quirk_content_base_schemeless_and_doubled_scheme() {
    for base in [
        "{host}:{port}/stream0/",
        "rtsp://rtsp://{host}:{port}/stream0/",
    ] {
        let t = PLAIN.replace("Content-Base: {url}/", &format!("Content-Base: {base}"));
        let sent = h264_frames(10);
        let cam = Camera::start(&t, MediaPlan::h264(&sent)).await;
        let mut c = RtspClient::connect(&cam.url("/stream0"), tcp())
            .await
            .unwrap();
        assert_eq!(
            c.tracks()[0].control,
            cam.url("/stream0/trackID=1"),
            "{base}"
        );
        assert_plays(&mut c, &sent).await;
    }
}

/// Quirk: a relative `Content-Base` (`/live/main/`), resolved against the request URL.
#[tokio::test]
async fn quirk_content_base_relative() {
    let t = PLAIN.replace("Content-Base: {url}/", "Content-Base: /live/main/");
    let sent = h264_frames(10);
    let cam = Camera::start(&t, MediaPlan::h264(&sent)).await;
    let mut c = RtspClient::connect(&cam.url("/ch1"), tcp()).await.unwrap();
    assert_eq!(c.tracks()[0].control, cam.url("/live/main/trackID=1"));
    assert_plays(&mut c, &sent).await;
    assert_eq!(cam.requests()[3].uri, cam.url("/live/main/"));
}

/// Quirk: DESCRIBE answered `301` with a relative `Location` on the same server (followed
/// on the same connection), and `302` to another server (followed by reconnecting, with the
/// credentials of the original URL).
#[tokio::test]
async fn quirk_redirects_301_same_server_302_other_server() {
    let sent = h264_frames(10);
    let target = Camera::start(PLAIN, MediaPlan::h264(&sent)).await;
    let first = format!(
        r#"
C: OPTIONS
S: RTSP/1.0 200 OK
S: CSeq: {{cseq}}
S: Public: OPTIONS, DESCRIBE
S:
C: DESCRIBE
S: RTSP/1.0 301 Moved Permanently
S: CSeq: {{cseq}}
S: Location: /moved
S:
C: DESCRIBE
S: RTSP/1.0 302 Moved Temporarily
S: CSeq: {{cseq}}
S: Location: {}
S:
"#,
        target.url("/cam")
    );
    let cam = Camera::start(&first, MediaPlan::default()).await;
    let url = cam.url("/old").replace("rtsp://", "rtsp://admin:secret@");
    let mut c = RtspClient::connect(&url, tcp()).await.unwrap();
    assert_eq!(c.url(), target.url("/cam"));
    assert_eq!(cam.requests()[2].uri, cam.url("/moved"));
    assert_eq!(c.stats().redirects, 1);
    assert_plays(&mut c, &sent).await;
}

/// Redirect loops end with an error naming the limit.
#[tokio::test]
async fn redirect_loop_is_an_error() {
    let t = r#"
C: DESCRIBE
S: RTSP/1.0 302 Moved Temporarily
S: CSeq: {cseq}
S: Location: rtsp://localhost:{port}/again
S:
"#;
    let cam = Camera::start(t, MediaPlan::default()).await;
    let err = RtspClient::connect(&cam.url("/a"), tcp())
        .await
        .unwrap_err();
    // To another server (127.0.0.1 → localhost) by reconnecting, then on that server in
    // place until the session's limit.
    assert!(
        matches!(err, RtspClientError::Status { status: 302, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("/again"), "{err}");
}

/// Quirk: servers that refuse any request with a `Require` header (551, RFC 2326 §12.32)
/// must get a SETUP without one — the client never sends `Require`.
#[tokio::test]
async fn quirk_require_less_setup() {
    let sent = h264_frames(10);
    let cam = Camera::start(PLAIN, MediaPlan::h264(&sent))
        .await
        .refuse_require();
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    assert_plays(&mut c, &sent).await;
    assert!(cam
        .requests()
        .iter()
        .all(|r| r.headers.get("Require").is_none()));
}

/// Quirk (VStarcam, retina #42: "bad NAL header"; Hikvision, ffmpeg PR #181: PPS missing;
/// padding missing): `sprop-parameter-sets` that are not parameter sets or not base64. They
/// are ignored; the track is announced with the parameter sets found in band.
#[tokio::test]
async fn quirk_bad_sprop_parameter_sets() {
    for sprop in [
        "6UIAKuQJvAA=,aM48gA==",
        "Z0IAH5WoPASaEAAAcIAAFfkIQA==,",
        "Z0LA!!not-base64",
    ] {
        let t = PLAIN.replace("{sprop}", sprop);
        let sent = h264_frames(20);
        let cam = Camera::start(&t, MediaPlan::h264(&sent)).await;
        let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
        let info = c.tracks()[0].info.clone().expect("still an H.264 track");
        assert!(info.config.is_empty(), "{sprop}: {info:?}");
        assert_plays(&mut c, &sent).await;
    }
}

/// Quirk: no `sprop-parameter-sets` at all; SPS and PPS only in band.
#[tokio::test]
async fn quirk_sps_only_in_band() {
    let t = PLAIN.replace(";sprop-parameter-sets={sprop}", "");
    let sent = h264_frames(20);
    let cam = Camera::start(&t, MediaPlan::h264(&sent)).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    assert_plays(&mut c, &sent).await;
}

/// Quirk (retina #64 "Timestamp jumped"; cameras restarting their RTP clock): the RTP
/// timestamps jump forward by an hour, then back by ten minutes. With timestamp repair (the
/// default) the frames keep a monotonic clock without gaps; without it the jump shows.
#[tokio::test]
async fn quirk_timestamps_that_jump() {
    let sent = h264_frames(30);
    let hour = 90_000u32 * 3600;
    let jumps = move |i: usize| -> u32 {
        match i {
            0..=9 => 0,
            10..=19 => hour,
            _ => hour - 90_000 * 600,
        }
    };
    for repair in [true, false] {
        let cam = Camera::start(PLAIN, MediaPlan::h264(&sent).with_ts_jumps(jumps)).await;
        let cfg = tcp().with_repair_timestamps(repair);
        let mut c = RtspClient::connect(&cam.url("/cam"), cfg).await.unwrap();
        c.setup_all().await.unwrap();
        c.play().await.unwrap();
        let got = collect(&mut c).await;
        let frames = got.video();
        assert_eq!(frames.len(), 30);
        let steps: Vec<i64> = frames
            .windows(2)
            .map(|w| w[1].dts.ticks() - w[0].dts.ticks())
            .collect();
        if repair {
            assert!(
                steps.iter().all(|s| (1..=90_000).contains(s)),
                "monotonic, no step over 1 s: {steps:?}"
            );
        } else {
            assert!(steps.iter().any(|s| *s > 90_000 * 60), "{steps:?}");
        }
    }
}

/// Quirk: interleaved channels that do not start at 0 — the server answers with channels
/// of its own choosing (6-7) and sends on them.
#[tokio::test]
async fn quirk_interleaved_channels_not_from_zero() {
    let t = PLAIN.replace(
        "Transport: {transport}",
        "Transport: RTP/AVP/TCP;unicast;interleaved=6-7;ssrc=22345684",
    );
    let sent = h264_frames(20);
    let cam = Camera::start(&t, MediaPlan::h264(&sent)).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    assert_plays(&mut c, &sent).await;
    let setup = &cam.requests()[2];
    assert!(setup
        .headers
        .get("Transport")
        .unwrap()
        .contains("interleaved=0-1"));
    assert_eq!(cam.frames_on(), vec![6, 7]);
}

/// Quirk (live555 before 2017.06.04, e.g. older Reolink firmware, retina #17): RTP over TCP
/// with garbage between frames and a frame cut short. The client resynchronises on the next
/// frame, counts what it skipped, and the damaged frame is reported lost; every frame from
/// the next keyframe on arrives intact.
#[tokio::test]
async fn quirk_rtp_over_tcp_with_garbage_between_frames() {
    let sent = h264_frames(30);
    let plan = MediaPlan::h264(&sent).with_garbage(7);
    let cam = Camera::start(PLAIN, plan).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    c.setup_all().await.unwrap();
    c.play().await.unwrap();
    let got = collect(&mut c).await;
    assert!(c.stats().skipped_bytes > 100, "{:?}", c.stats());
    // Keyframes are frames 0, 10, 20; garbage goes in after every 7th packet and one
    // packet of frame 13 is cut short: frames 10..=12 and 20.. arrive whole.
    let video = got.video();
    let mut by_data = 0;
    for s in &sent[20..] {
        assert!(
            video.iter().any(|g| g.data == s.data),
            "a frame after the damage is missing"
        );
        by_data += 1;
    }
    assert_eq!(by_data, 10);
    assert!(got.lost > 0, "the damaged frame is reported");
}

/// Quirk: every response split across many reads (a few bytes per TCP segment).
#[tokio::test]
async fn quirk_responses_split_across_reads() {
    let sent = h264_frames(10);
    let cam = Camera::start(PLAIN, MediaPlan::h264(&sent).with_split_writes(3)).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    assert_plays(&mut c, &sent).await;
}

/// Quirk (v4l2rtspserver, retina PR #46): media before the PLAY answer.
#[tokio::test]
async fn quirk_media_before_play_answer() {
    let sent = h264_frames(10);
    let cam = Camera::start(PLAIN, MediaPlan::h264(&sent).before_play_answer()).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    assert_plays(&mut c, &sent).await;
}

/// Quirk: static payload types without `a=rtpmap` (`m=audio 0 RTP/AVP 0`, PCMU), next to
/// the video; and a SETUP answer without `Transport` (the requested one applies).
#[tokio::test]
async fn quirk_static_payload_type_and_setup_without_transport() {
    let t = PLAIN
        .replace(
            "S: a=control:trackID=1\n",
            "S: a=control:trackID=1\nS: m=audio 0 RTP/AVP 0\nS: a=control:trackID=2\n",
        )
        .replace("S: Transport: {transport}\n", "");
    let sent = h264_frames(10);
    let cam = Camera::start(&t, MediaPlan::h264(&sent).with_pcmu(25)).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    assert_eq!(c.tracks()[1].encoding.as_deref(), Some("PCMU/8000/1"));
    c.setup_all().await.unwrap();
    c.play().await.unwrap();
    let got = collect(&mut c).await;
    assert_h264_frames(&got, &sent);
    let audio: Vec<&Frame> = got
        .frames
        .iter()
        .filter(|f| f.track == TrackId(1))
        .collect();
    assert_eq!(audio.len(), 25);
    assert!(audio.iter().all(|f| f.data.len() == 160));
    assert!(got.tracks.iter().any(|t| t.codec == Codec::G711U));
}

/// Digest with SHA-256 only (RFC 7616): the client answers the challenge; a wrong password
/// is a 401 error naming the request.
#[tokio::test]
async fn digest_sha256_auth() {
    let mut auth = AuthConfig::digest("cam", "admin", "s3cret");
    auth.digest = vec![DigestAlgorithm::Sha256];
    let sent = h264_frames(10);
    let cam = Camera::start(PLAIN, MediaPlan::h264(&sent))
        .await
        .with_auth(auth);
    let url = cam.url("/cam").replace("rtsp://", "rtsp://admin:s3cret@");
    let mut c = RtspClient::connect(&url, tcp()).await.unwrap();
    assert_plays(&mut c, &sent).await;
    let authz = cam.requests()[3]
        .headers
        .get("Authorization")
        .unwrap()
        .to_string();
    assert!(
        authz.starts_with("Digest ") && authz.contains("algorithm=SHA-256"),
        "{authz}"
    );

    let bad = cam.url("/cam").replace("rtsp://", "rtsp://admin:wrong@");
    let err = RtspClient::connect(&bad, tcp()).await.unwrap_err();
    match &err {
        RtspClientError::Status {
            status: 401,
            method,
            ..
        } => {
            assert!(
                *method == Method::Options || *method == Method::Describe,
                "{err}"
            )
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains(&cam.url("/cam")), "{err}");
}

/// Keep-alive by the session timeout, with the method the server allows: OPTIONS when its
/// `Public` lacks GET_PARAMETER. RTCP receiver reports go out while playing.
#[tokio::test]
async fn keepalive_follows_public_and_receiver_reports_are_sent() {
    let t = PLAIN.replace(", GET_PARAMETER", "").replace(
        "Session: {session};timeout=60",
        "Session: {session};timeout=2",
    );
    let sent = h264_frames(200);
    let plan = MediaPlan::h264(&sent).live(Duration::from_millis(10));
    let cam = Camera::start(&t, plan).await;
    let cfg = tcp().with_rtcp_interval(Duration::from_millis(100));
    let mut c = RtspClient::connect(&cam.url("/cam"), cfg).await.unwrap();
    assert_eq!(c.keepalive_method(), Method::Options);
    c.setup_all().await.unwrap();
    c.play().await.unwrap();
    let until = async {
        loop {
            c.next().await.unwrap();
            if cam.methods().iter().filter(|m| *m == "OPTIONS").count() >= 2
                && cam.rtcp_from_client() >= 2
            {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), until)
        .await
        .expect("a keep-alive (after 1 s) and receiver reports");
    let ka = cam
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::Options)
        .nth(1)
        .unwrap();
    assert!(ka.headers.get("Session").is_some(), "{ka:?}");
    assert!(c.stats().receiver_reports >= 2);
}

/// Errors say where: a response that does not parse names the request it answered and the
/// byte offset of the failing message in the connection.
#[tokio::test]
async fn unparsable_response_names_request_and_offset() {
    let t = PLAIN.replace(
        "S: Content-Type: application/sdp\n",
        "S: Content-Type application/sdp\n",
    );
    let cam = Camera::start(&t, MediaPlan::default()).await;
    let err = RtspClient::connect(&cam.url("/cam"), tcp())
        .await
        .unwrap_err();
    let text = err.to_string();
    let options_len = cam.response_bytes()[0];
    assert!(
        text.contains(&format!(
            "response to DESCRIBE {} (CSeq 2)",
            cam.url("/cam")
        )) && text.contains(&format!("starting at byte {options_len} of the connection"))
            && text.contains("header line without `:`"),
        "{text}"
    );
}

/// `auto` transport: the server refuses UDP (461) — SETUP again over TCP on the same
/// connection.
#[tokio::test]
async fn auto_transport_udp_refused_falls_back_to_tcp() {
    let t = PLAIN.replace(
        "C: SETUP\n",
        "C: SETUP\nS: RTSP/1.0 461 Unsupported Transport\nS: CSeq: {cseq}\nS:\nC: SETUP\n",
    );
    let sent = h264_frames(10);
    let cam = Camera::start(&t, MediaPlan::h264(&sent)).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), RtspClientConfig::default())
        .await
        .unwrap();
    c.setup_all().await.unwrap();
    assert_eq!(c.transport(), LowerTransport::Tcp);
    assert!(matches!(
        c.fallback(),
        Some(weir_tokio::client::Fallback::UdpRefused { status: 461 })
    ));
    c.play().await.unwrap();
    assert_h264_frames(&collect(&mut c).await, &sent);
    assert_eq!(c.stats().connections, 1);
}

/// `auto` transport: UDP is accepted but no packet arrives (a firewall): after the UDP
/// timeout the client tears down and starts over on TCP, and the frames come.
#[tokio::test]
async fn auto_transport_no_udp_media_falls_back_to_tcp() {
    let sent = h264_frames(10);
    let cam = Camera::start(PLAIN, MediaPlan::h264(&sent)).await;
    let cfg = RtspClientConfig::default().with_udp_timeout(Duration::from_millis(300));
    let mut c = RtspClient::connect(&cam.url("/cam"), cfg).await.unwrap();
    c.setup_all().await.unwrap();
    assert_eq!(c.transport(), LowerTransport::Udp);
    c.play().await.unwrap();
    let got = collect(&mut c).await;
    assert_h264_frames(&got, &sent);
    assert_eq!(c.transport(), LowerTransport::Tcp);
    assert!(matches!(
        c.fallback(),
        Some(weir_tokio::client::Fallback::NoUdpMedia { .. })
    ));
    assert_eq!(c.stats().connections, 2);
    let m = cam.methods();
    assert_eq!(
        m,
        [
            "OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN", "OPTIONS", "DESCRIBE", "SETUP",
            "PLAY"
        ],
        "{m:?}"
    );
    let first_setup = cam.requests()[2]
        .headers
        .get("Transport")
        .unwrap()
        .to_string();
    assert!(first_setup.contains("client_port="), "{first_setup}");
}

/// API misuse is an error, not a panic.
#[tokio::test]
async fn usage_errors() {
    let cam = Camera::start(PLAIN, MediaPlan::default()).await;
    let mut c = RtspClient::connect(&cam.url("/cam"), tcp()).await.unwrap();
    assert!(matches!(c.play().await, Err(RtspClientError::Usage { .. })));
    assert!(matches!(c.next().await, Err(RtspClientError::Usage { .. })));
    assert!(matches!(
        c.setup(&[5]).await,
        Err(RtspClientError::Usage { .. })
    ));
    assert!(matches!(
        RtspClient::connect("http://x/", tcp()).await,
        Err(RtspClientError::BadUrl { .. })
    ));
    assert!(matches!(
        RtspClient::connect("rtsps://127.0.0.1:1/x", tcp()).await,
        Err(RtspClientError::Usage { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// gst-rtsp-server

/// What a pull from gst-rtsp-server must show.
struct GstCase {
    hevc: bool,
    aac: bool,
    /// What the client asks for.
    transport: TransportPreference,
    /// What the server allows (`any`, `tcp`, `udp`).
    protocols: &'static str,
    /// What ends up in use.
    expect: LowerTransport,
    auth: Option<(&'static str, &'static str)>,
}

impl GstCase {
    /// H.264 + AAC, H.264 alone, H.265 alone: each asked for over TCP from a server that
    /// allows any transport, without auth.
    fn h264_aac() -> GstCase {
        GstCase::clip(false, true)
    }

    fn h264() -> GstCase {
        GstCase::clip(false, false)
    }

    fn h265() -> GstCase {
        GstCase::clip(true, false)
    }

    fn clip(hevc: bool, aac: bool) -> GstCase {
        GstCase {
            hevc,
            aac,
            transport: TransportPreference::Tcp,
            protocols: "any",
            expect: LowerTransport::Tcp,
            auth: None,
        }
    }

    /// Asked for over `transport`; `expect` ends up in use.
    fn over(self, transport: TransportPreference, expect: LowerTransport) -> GstCase {
        GstCase {
            transport,
            expect,
            ..self
        }
    }

    /// The server allows only `protocols`.
    fn allowing(self, protocols: &'static str) -> GstCase {
        GstCase { protocols, ..self }
    }

    /// With Digest auth ([`DIGEST`]).
    fn digest(self) -> GstCase {
        GstCase {
            auth: DIGEST,
            ..self
        }
    }
}

/// Pulls the clip from gst-rtsp-server: the tracks are announced with their codecs; the
/// decoded pictures of the received video equal the source's, every one from the first
/// keyframe (ffmpeg framemd5 of both); the AAC frames are the source's packets; timestamps
/// are typed (90 kHz video with monotonic DTS under B-frames, 48 kHz audio in 1024 steps)
/// and the tracks start together.
async fn gst_pull(test: &str, case: GstCase) {
    weir_testutil::interop_or_skip!();
    let Some(py) = gst_server::python_with_gst_rtsp_server(test) else {
        return;
    };
    let dir = weir_testutil::TempDir::new("rtsp-client-gst");
    let src = gst_server::source(&dir, case.hevc, case.aac);
    let want_pictures = weir_testutil::decoded_video_md5(&src, &[]);
    let want_audio = if case.aac {
        gst::audio_packet_md5s(&src)
    } else {
        Vec::new()
    };
    assert!(want_pictures.len() >= 50, "{}", want_pictures.len());
    let launch = gst_server::launch(&src, case.hevc, case.aac);
    let server = gst_server::GstServer::start(py, &dir, &launch, case.protocols, case.auth).await;
    let cfg = RtspClientConfig::default()
        .with_transport(case.transport)
        .with_media_timeout(Duration::from_secs(10))
        .with_rtcp_interval(Duration::from_millis(200));
    let mut c = match RtspClient::connect(&server.url(case.auth), cfg).await {
        Ok(c) => c,
        Err(e) => panic!("{e}\n{}", server.log()),
    };
    let codecs: Vec<Option<Codec>> = c
        .tracks()
        .iter()
        .map(|t| t.info.as_ref().map(|i| i.codec))
        .collect();
    let video_codec = if case.hevc { Codec::H265 } else { Codec::H264 };
    if case.aac {
        assert_eq!(codecs, [Some(video_codec), Some(Codec::Aac)]);
    } else {
        assert_eq!(codecs, [Some(video_codec)]);
    }
    c.setup_all()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    assert_eq!(c.transport(), case.expect);
    c.play().await.unwrap();

    let mut tracks: Vec<TrackInfo> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let run = async {
        loop {
            let count = |k: weir_media::MediaKind| {
                frames
                    .iter()
                    .filter(|f| tracks.iter().any(|t| t.id == f.track && gst::kind(t) == k))
                    .count()
            };
            if count(weir_media::MediaKind::Video) >= want_pictures.len()
                && count(weir_media::MediaKind::Audio) + 2 >= want_audio.len()
            {
                break;
            }
            match c.next().await.unwrap_or_else(|e| panic!("{e}")) {
                Some(RtspEvent::Track(t)) => tracks.push(t),
                Some(RtspEvent::Frame(f)) => frames.push(f),
                Some(_) => {}
                None => break,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the clip arrives within 60 s");
    let stats = c.stats();
    // gst-rtsp-server's sender reports (when one came within the 2 s clip) carry the system
    // clock: frames map to about now.
    if stats.sender_reports > 0 {
        let wall = frames.iter().find_map(|f| c.wallclock(f)).unwrap();
        let age = std::time::SystemTime::now()
            .duration_since(wall)
            .unwrap_or_else(|e| e.duration());
        assert!(age < Duration::from_secs(30), "{wall:?}");
    }
    c.teardown().await.unwrap();
    assert_eq!(stats.lost_packets, 0, "{stats:?}");
    assert!(
        stats.receiver_reports >= 2,
        "receiver reports sent: {stats:?}"
    );

    let video_track = tracks
        .iter()
        .find(|t| t.codec == video_codec)
        .unwrap()
        .clone();
    let video: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.track == video_track.id)
        .collect();
    assert!(video[0].keyframe, "the first frame is a keyframe");
    let ours = dir.join(if case.hevc { "ours.h265" } else { "ours.h264" });
    gst::write_annexb(&ours, &video_track, &video);
    let got_pictures = weir_testutil::decoded_video_md5(&ours, &[]);
    assert_eq!(got_pictures.len(), want_pictures.len(), "every picture");
    assert_eq!(got_pictures, want_pictures, "pictures bit-exact");
    // Typed timestamps: the 90 kHz clock, decode order monotonic under B-frames,
    // presentation times one frame (3600) apart once sorted.
    assert!(video
        .iter()
        .all(|f| f.pts.timebase() == weir_media::Timebase::MPEG));
    assert!(video
        .windows(2)
        .all(|w| w[0].dts.ticks() < w[1].dts.ticks()));
    assert!(video.iter().all(|f| f.dts.ticks() <= f.pts.ticks()));
    let mut pts: Vec<i64> = video.iter().map(|f| f.pts.ticks()).collect();
    pts.sort_unstable();
    assert!(pts.windows(2).all(|w| w[1] - w[0] == 3600), "{pts:?}");

    if case.aac {
        let audio_track = tracks
            .iter()
            .find(|t| t.codec == Codec::Aac)
            .unwrap()
            .clone();
        assert_eq!(audio_track.clock_rate, 48_000);
        let audio: Vec<&Frame> = frames
            .iter()
            .filter(|f| f.track == audio_track.id)
            .collect();
        let got_audio: Vec<String> = audio.iter().map(|f| gst::frame_md5(f)).collect();
        // gst-rtsp-server plays what the MP4's edit list keeps: it starts after the
        // encoder's priming frame and may stop one frame short of the last packet; in
        // between every packet is the source's, in order.
        let skip = want_audio
            .iter()
            .position(|p| *p == got_audio[0])
            .expect("the first AAC frame is one of the source's");
        assert!(skip <= 1, "{skip}");
        assert!(
            got_audio.len() + skip + 1 >= want_audio.len(),
            "{} of {}",
            got_audio.len(),
            want_audio.len()
        );
        assert_eq!(
            got_audio,
            want_audio[skip..skip + got_audio.len()],
            "AAC frames bit-exact"
        );
        // 1024 samples per frame; gst-rtsp-server's RTP times come from nanosecond buffer
        // times, so single steps are off by one tick at most, never the sum.
        let steps: Vec<i64> = audio
            .windows(2)
            .map(|w| w[1].pts.ticks() - w[0].pts.ticks())
            .collect();
        assert!(steps.iter().all(|s| (1023..=1025).contains(s)), "{steps:?}");
        let span = audio[audio.len() - 1].pts.ticks() - audio[0].pts.ticks();
        assert!(
            (span - 1024 * (audio.len() as i64 - 1)).abs() <= 1,
            "{span}"
        );
        // A/V: both tracks start at the same instant of the source, on one clock.
        let ms = |f: &Frame| f.pts.rescale(weir_media::Timebase::MILLIS).ticks();
        let first_video = video.iter().map(|f| ms(f)).min().unwrap();
        let skew = (ms(audio[0]) - first_video).abs();
        assert!(
            skew <= 100,
            "audio {} ms, video {first_video} ms",
            ms(audio[0])
        );
    }
}

const DIGEST: Option<(&str, &str)> = Some(("weir", "s3cret pass"));

#[tokio::test]
async fn gst_rtsp_server_h264_aac_tcp_digest() {
    let case = GstCase::h264_aac().digest();
    gst_pull("gst_rtsp_server_h264_aac_tcp_digest", case).await;
}

#[tokio::test]
async fn gst_rtsp_server_h264_aac_udp_digest() {
    let case = GstCase::h264_aac().over(TransportPreference::Udp, LowerTransport::Udp);
    gst_pull("gst_rtsp_server_h264_aac_udp_digest", case.digest()).await;
}

#[tokio::test]
async fn gst_rtsp_server_h265_udp() {
    let case = GstCase::h265().over(TransportPreference::Udp, LowerTransport::Udp);
    gst_pull("gst_rtsp_server_h265_udp", case).await;
}

#[tokio::test]
async fn gst_rtsp_server_h265_tcp_digest() {
    let case = GstCase::h265().digest();
    gst_pull("gst_rtsp_server_h265_tcp_digest", case).await;
}

/// `auto` against a server that only allows TCP: gst-rtsp-server refuses the UDP SETUP
/// (461) and the client sets up over TCP instead.
#[tokio::test]
async fn gst_rtsp_server_auto_falls_back_to_tcp() {
    let case = GstCase::h264_aac().over(TransportPreference::Auto, LowerTransport::Tcp);
    gst_pull(
        "gst_rtsp_server_auto_falls_back_to_tcp",
        case.allowing("tcp"),
    )
    .await;
}

/// `auto` with UDP working: stays on UDP.
#[tokio::test]
async fn gst_rtsp_server_auto_uses_udp() {
    let case = GstCase::h264().over(TransportPreference::Auto, LowerTransport::Udp);
    gst_pull("gst_rtsp_server_auto_uses_udp", case).await;
}
