//! RTP parse and build allocate nothing per packet (a counting global allocator checks it).

use bytes::{Bytes, BytesMut};
use weir_rtp_rtcp::{HeaderExtension, RtpHeader, RtpPacket, RtpPacketRef, SequenceUnwrapper};

#[global_allocator]
static GLOBAL: weir_testutil::alloc::Counting = weir_testutil::alloc::Counting;

#[test]
fn parse_and_build_do_not_allocate() {
    let ext = HeaderExtension::one_byte([(1u8, &[1u8, 2, 3][..])]).unwrap();
    let mut hdr = RtpHeader {
        csrcs: vec![7, 8],
        extension: Some(ext),
        padding: 3,
        ..RtpHeader::new(96, 0, 0, 0xABCD)
    };
    let payload = vec![0x11u8; 1000];
    let mut out = BytesMut::with_capacity(64 * 1024);
    // Build 40 packets into one pre-reserved buffer, split each off as `Bytes`.
    let mut packets: Vec<Bytes> = Vec::with_capacity(40);
    let mut seqs = SequenceUnwrapper::new();
    // The first split turns the buffer into a shared one (one allocation per buffer, not
    // per packet): do it before counting.
    hdr.write_with_payload(&payload, &mut out).unwrap();
    drop(out.split().freeze());
    let before = weir_testutil::alloc::count();
    let mut total = 0usize;
    for i in 0..40u16 {
        hdr.sequence_number = i;
        hdr.timestamp = u32::from(i) * 3000;
        hdr.write_with_payload(&payload, &mut out).unwrap();
        let pkt = out.split().freeze();
        // Parse owned and borrowed views, touch payload, CSRCs and extension elements.
        let view = RtpPacketRef::parse(&pkt).unwrap();
        total += view.payload_bytes().len();
        let owned = RtpPacket::parse(pkt).unwrap();
        total += owned.payload().len() + owned.csrcs().count();
        for e in owned.extension().unwrap().elements() {
            total += e.unwrap().data.len();
        }
        total += seqs.unwrap(owned.sequence_number()) as usize;
        packets.push(owned.into_bytes());
    }
    let after = weir_testutil::alloc::count();
    assert_eq!(after - before, 0, "allocations during 40 builds + parses");
    // The counter counts (an allocation on this thread is seen).
    let probe = std::hint::black_box(Vec::<u8>::with_capacity(16));
    assert!(weir_testutil::alloc::count() > after);
    drop(probe);
    assert!(total > 40_000);
    assert_eq!(packets.len(), 40);
}
