//! The Weir relay server.
//!
//! The relay (RTMP / RTSP / GB28181 in; RTMP / RTSP / HTTP-FLV / WS-FLV / HLS out) is
//! composed in `weir-tokio`, which is not built yet. Until then this example says so and
//! exits with a non-zero status instead of pretending to serve anything.

fn main() {
    eprintln!("weir: the relay server is not built yet.");
    eprintln!("Library crates available so far:");
    for krate in [
        "weir-media      shared Codec / TrackInfo / Frame / Timestamp types, NAL layer",
        "weir-h264       H.264 NAL units, SPS/PPS, avcC",
        "weir-h265       H.265 NAL units, VPS/SPS/PPS, hvcC",
        "weir-aac        ADTS, AudioSpecificConfig, LATM",
    ] {
        eprintln!("  {krate}");
    }
    eprintln!("See README.md for the crate map and the test command.");
    std::process::exit(2);
}
