#![no_main]
//! weir-tokio's WebRTC input parsing (the sans-IO modules, included by path so the fuzz
//! build needs neither tokio nor str0m): the media-port demultiplexer and ICE-TCP framing
//! over any bytes from any sources, SDP offer summaries and play plans, trickle-ICE
//! fragments, and WHEP/WHIP paths never panic, and the address table stays bounded.
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;

#[allow(dead_code)]
#[path = "../../crates/tokio/src/webrtc/mux.rs"]
mod mux;
#[allow(dead_code)]
#[path = "../../crates/tokio/src/webrtc/registry.rs"]
mod registry;
#[allow(dead_code)]
#[path = "../../crates/tokio/src/webrtc/sdp.rs"]
mod sdp;
#[allow(dead_code)]
#[path = "../../crates/tokio/src/net/path.rs"]
mod net_path;
/// The crate's `net::path` (stream keys), which `registry` uses.
mod net {
    pub(crate) use super::net_path as path;
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => {
            // Packets: [source port byte, length byte, bytes…]…, through the demux and the
            // TCP framing decoder.
            let mut d = mux::Demux::new(4, 64);
            d.add("ufrag1", 1u64);
            d.add("u2", 2u64);
            let mut framing = mux::TcpFraming;
            let mut buf = BytesMut::new();
            let mut at = rest;
            while at.len() >= 2 {
                let src = SocketAddr::from(([127, 0, 0, 1], u16::from(at[0])));
                let n = usize::from(at[1]).min(at.len() - 2);
                let pkt = &at[2..2 + n];
                let _ = d.route(src, pkt);
                let _ = d.by_stun(pkt);
                let _ = mux::stun_username(pkt);
                buf.extend_from_slice(pkt);
                while let Ok(Some(p)) = framing.decode(&mut buf) {
                    let _ = d.route(src, &p);
                }
                at = &at[2 + n..];
            }
            assert!(d.addresses() <= 64);
        }
        1 => {
            if let Ok(s) = sdp::summarize(rest) {
                for v in [None, Some(weir_media::Codec::H264), Some(weir_media::Codec::H265)] {
                    let _ = sdp::plan_play(&s, v, Some(weir_media::Codec::Aac));
                    let _ = sdp::plan_play(&s, v, Some(weir_media::Codec::Opus));
                }
                let _ = sdp::check_publish(&s);
            }
            let _ = sdp::parse_fragment(rest);
        }
        _ => {
            if let Ok(p) = std::str::from_utf8(rest) {
                let _ = registry::parse_path(p);
            }
        }
    }
});
