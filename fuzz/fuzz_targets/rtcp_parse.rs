//! Fuzz RTCP compound parsing (strict and reduced-size), and check that whatever parses and
//! can be written back parses to the same packets.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_rtp_rtcp::rtcp::RtcpIter;
use weir_rtp_rtcp::{Compound, RtcpLimits, RtcpPacket};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let _ = Compound::parse(bytes.clone(), &RtcpLimits::default());
    let lax = RtcpLimits { max_packets: 64, allow_reduced_size: true };
    if let Ok(c) = Compound::parse(bytes.clone(), &lax) {
        let mut out = BytesMut::new();
        if c.write_reduced_size(&mut out).is_ok() {
            assert_eq!(out.len(), c.wire_len());
            let again = Compound::parse(out.freeze(), &lax).expect("written compound parses");
            assert_eq!(again, c);
        }
    }
    for p in RtcpIter::new(bytes.clone()).take(128) {
        let Ok(p) = p else { break };
        let _ = p.packet_type();
        let mut out = BytesMut::new();
        if p.write(&mut out).is_ok() {
            assert_eq!(RtcpPacket::parse(out.freeze()).expect("written packet parses"), p);
        }
    }
});
