//! Arbitrary RTP packet sequences into the jpeg depacketizer (and its packetizer on
//! arbitrary frame data). Input: records of [len: u8][flags: u8][payload: len bytes];
//! flags bit 7 = marker, bits 0-2 = sequence step (0 = duplicate, >1 = loss), bit 3 =
//! new timestamp.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_media::{Frame, Timebase, Timestamp, TrackId};
use weir_rtp_rtcp::payload::jpeg::{parse_jpeg, JpegDepacketizer, JpegPacketizer};
use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};

fuzz_target!(|data: &[u8]| {
    let mut d = JpegDepacketizer::new(DepacketizerConfig::new(90_000).with_max_frame_size(1 << 20));
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
    // The packetizer parses arbitrary "JPEG" files.
    let _ = parse_jpeg(&Bytes::copy_from_slice(data));
    let mut p = JpegPacketizer::new(PacketizerConfig::new(90_000).with_mtu(300));
    let f = Frame::new(
        TrackId(0),
        Timestamp::new(0, Timebase::MPEG),
        Timestamp::new(0, Timebase::MPEG),
        Bytes::copy_from_slice(data),
    );
    let mut out = Vec::new();
    let _ = p.packetize(&f, &mut out);
});
