//! Fuzz the RTP packet view: parse, touch every accessor and extension element, and check
//! that rebuilding from the parsed header reproduces header and payload bytes.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weir_rtp_rtcp::{RtpPacket, SequenceUnwrapper};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let Ok(pkt) = RtpPacket::parse(bytes.clone()) else {
        return;
    };
    let _ = (pkt.marker(), pkt.payload_type(), pkt.timestamp(), pkt.ssrc(), pkt.csrcs().count());
    assert_eq!(pkt.header_len() + pkt.payload_len() + pkt.padding_len(), data.len());
    if let Some(ext) = pkt.extension() {
        for e in ext.elements().chain(ext.one_byte_elements()).chain(ext.two_byte_elements()) {
            let _ = e.map(|e| e.data.len());
        }
    }
    let hdr = pkt.header();
    let mut out = BytesMut::new();
    hdr.write_with_payload(&pkt.payload(), &mut out).expect("a parsed header is writable");
    let keep = data.len() - pkt.padding_len();
    assert_eq!(out.len(), data.len());
    assert_eq!(&out[..keep], &data[..keep]);
    let reparsed = RtpPacket::parse(out.freeze()).expect("rebuilt packet parses");
    assert_eq!(reparsed.header(), hdr);
    let mut u = SequenceUnwrapper::new();
    let _ = u.unwrap(pkt.sequence_number());
});
