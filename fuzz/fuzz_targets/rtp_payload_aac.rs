//! Arbitrary RTP packet sequences into the aac depacketizer (and the LATM one, and the
//! config parsers). Input: records of [len: u8][flags: u8][payload: len bytes];
//! flags bit 7 = marker, bits 0-2 = sequence step (0 = duplicate, >1 = loss), bit 3 =
//! new timestamp.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_rtp_rtcp::payload::aac::{AacDepacketizer, AuHeaderLayout};
use weir_rtp_rtcp::payload::latm::{LatmDepacketizer, StreamMuxConfig};
use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig};

fuzz_target!(|data: &[u8]| {
    let mut d = AacDepacketizer::new(
        DepacketizerConfig::new(48_000).with_max_frame_size(1 << 16),
        AuHeaderLayout::AAC_HBR,
        1024,
    );
    let mut l = LatmDepacketizer::new(
        DepacketizerConfig::new(48_000).with_max_frame_size(1 << 16),
        StreamMuxConfig::parse(&[0x40, 0x00, 0x23, 0x20, 0x3f, 0xc0]).expect("valid config"),
    );
    let mut seq: u16 = 0;
    let mut ts: u32 = 0;
    let mut rest = data;
    while let [len, flags, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let payload = Bytes::copy_from_slice(&tail[..n]);
        rest = &tail[n..];
        seq = seq.wrapping_add(u16::from(flags & 7));
        if flags & 8 != 0 {
            ts = ts.wrapping_add(3000);
        }
        let marker = flags & 0x80 != 0;
        let _ = d.push_payload(seq, ts, marker, payload.clone());
        let _ = l.push_payload(seq, ts, marker, payload);
        while d.pull().is_some() {}
        while l.pull().is_some() {}
    }
    d.flush();
    l.flush();
    while d.pull().is_some() {}
    while l.pull().is_some() {}
    // Config parsers on arbitrary bytes.
    let _ = StreamMuxConfig::parse(data);
    let _ = weir_rtp_rtcp::payload::aac::AacDepacketizer::from_fmtp(
        DepacketizerConfig::new(48_000),
        &String::from_utf8_lossy(data),
    );
});
