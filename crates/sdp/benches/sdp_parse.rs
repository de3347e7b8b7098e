//! SDP parse: weir-sdp vs webrtc-sdp (Mozilla's parser) on a typical camera DESCRIBE answer.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_sdp::SessionDescription;

const CAMERA_SDP: &str = "v=0\r\n\
o=- 1700000000000000 1 IN IP4 192.168.1.64\r\n\
s=Media Presentation\r\n\
b=AS:5100\r\n\
t=0 0\r\n\
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast\r\n\
m=video 0 RTP/AVP 96\r\n\
c=IN IP4 0.0.0.0\r\n\
b=AS:5000\r\n\
a=recvonly\r\n\
a=x-dimensions:1920,1080\r\n\
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast\r\n\
a=rtpmap:96 H264/90000\r\n\
a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z00AKp2oHgCJ+WbgICAoAAADAAgAAAMBlCA=,aO48gA==\r\n\
m=audio 0 RTP/AVP 97\r\n\
c=IN IP4 0.0.0.0\r\n\
b=AS:50\r\n\
a=recvonly\r\n\
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast\r\n\
a=rtpmap:97 MPEG4-GENERIC/16000/1\r\n\
a=fmtp:97 streamtype=5; profile-level-id=15; mode=AAC-hbr; config=1408; sizeLength=13; indexLength=3; indexDeltaLength=3; Profile=1;\r\n\
a=Media_header:MEDIAINFO=494D4B48010200000400000101200110803E0000007D000000000000000000000000000000000000;\r\n\
a=appversion:1.0\r\n";

fn bench(c: &mut Criterion) {
    assert!(SessionDescription::parse(CAMERA_SDP.as_bytes()).is_ok());
    if let Err(e) = webrtc_sdp::parse_sdp(CAMERA_SDP, false) {
        panic!("peer: {e:?}");
    }
    let mut g = c.benchmark_group("sdp_parse_camera");
    g.throughput(Throughput::Bytes(CAMERA_SDP.len() as u64));
    g.bench_function("weir-sdp", |b| {
        b.iter(|| SessionDescription::parse(black_box(CAMERA_SDP.as_bytes())).unwrap())
    });
    g.bench_function("webrtc-sdp", |b| {
        b.iter(|| webrtc_sdp::parse_sdp(black_box(CAMERA_SDP), false).unwrap())
    });
    g.finish();

    let sdp = SessionDescription::parse(CAMERA_SDP.as_bytes()).unwrap();
    let peer = webrtc_sdp::parse_sdp(CAMERA_SDP, false).unwrap();
    let mut g = c.benchmark_group("sdp_serialize_camera");
    g.bench_function("weir-sdp", |b| b.iter(|| black_box(&sdp).to_string()));
    g.bench_function("webrtc-sdp", |b| b.iter(|| black_box(&peer).to_string()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
