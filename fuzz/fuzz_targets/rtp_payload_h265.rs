//! Arbitrary RTP packet sequences into the h265 depacketizer (and its packetizer on
//! arbitrary frame data). Input: records of [len: u8][flags: u8][payload: len bytes];
//! flags bit 7 = marker, bits 0-2 = sequence step (0 = duplicate, >1 = loss), bit 3 =
//! new timestamp.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_media::{Frame, Timebase, Timestamp, TrackId};
use weir_rtp_rtcp::payload::h265::{H265Depacketizer, H265Packetizer};
use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};

fuzz_target!(|data: &[u8]| {
    let mut d = H265Depacketizer::new(DepacketizerConfig::new(90_000).with_max_frame_size(1 << 20));
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
        let _ = d.push_payload(seq, ts, marker, payload);
        while d.pull().is_some() {}
    }
    d.flush();
    while d.pull().is_some() {}
    let mut p = H265Packetizer::with_parameter_sets(
        PacketizerConfig::new(90_000).with_mtu(200),
        Vec::new(),
    );
    let f = Frame::new(
        TrackId(0),
        Timestamp::new(0, Timebase::MPEG),
        Timestamp::new(0, Timebase::MPEG),
        Bytes::copy_from_slice(data),
    )
    .with_keyframe(true);
    let mut out = Vec::new();
    let _ = p.packetize(&f, &mut out);
});
