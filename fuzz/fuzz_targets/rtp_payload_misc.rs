//! Arbitrary RTP packet sequences into the remaining depacketizers (Opus, G.711, MP2T, PS)
//! and `depacketizer_for` with arbitrary rtpmap/fmtp text. Input: one selector byte, then
//! records of [len: u8][flags: u8][payload: len bytes]; flags bit 7 = marker, bits 0-2 =
//! sequence step (0 = duplicate, >1 = loss), bit 3 = new timestamp.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_rtp_rtcp::payload::g711::G711Depacketizer;
use weir_rtp_rtcp::payload::mp2t::Mp2tDepacketizer;
use weir_rtp_rtcp::payload::opus::OpusDepacketizer;
use weir_rtp_rtcp::payload::ps::PsDepacketizer;
use weir_rtp_rtcp::payload::{depacketizer_for, Depacketizer, DepacketizerConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let cfg = DepacketizerConfig::new(90_000).with_max_frame_size(1 << 20);
    let mut d: Box<dyn Depacketizer> = match sel % 5 {
        0 => Box::new(OpusDepacketizer::new(cfg)),
        1 => Box::new(G711Depacketizer::new(cfg)),
        2 => Box::new(Mp2tDepacketizer::new(cfg)),
        3 => Box::new(PsDepacketizer::new(cfg)),
        _ => {
            // rtpmap and fmtp text from the input.
            let text = String::from_utf8_lossy(rest);
            let (rtpmap, fmtp) = text.split_once('\n').unwrap_or((&text, ""));
            if let Ok((mut d, _)) = depacketizer_for(rtpmap, Some(fmtp), cfg) {
                d.push_payload(0, 0, true, Bytes::copy_from_slice(rest))
                    .ok();
                d.flush();
                while d.pull().is_some() {}
            }
            return;
        }
    };
    let mut seq: u16 = 0;
    let mut ts: u32 = 0;
    let mut rest = rest;
    while let [len, flags, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let payload = Bytes::copy_from_slice(&tail[..n]);
        rest = &tail[n..];
        seq = seq.wrapping_add(u16::from(flags & 7));
        if flags & 8 != 0 {
            ts = ts.wrapping_add(3000);
        }
        let _ = d.push_payload(seq, ts, flags & 0x80 != 0, payload);
        while d.pull().is_some() {}
    }
    d.flush();
    while d.pull().is_some() {}
});
