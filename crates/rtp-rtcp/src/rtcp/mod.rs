//! RTCP packets (RFC 3550 6), feedback messages (RFC 4585 6.2.1, RFC 5104 4.3.1) and
//! compound packets (RFC 3550 6.1, A.2).
//!
//! Every packet type parses from and writes to the wire format; variable parts
//! (SDES text, BYE reason, APP data, feedback FCI, profile extensions) are zero-copy
//! `Bytes` slices of the input.
//!
//! ```
//! use bytes::BytesMut;
//! use weir_rtp_rtcp::rtcp::{self, Compound, ReceiverReport, ReportBlock, RtcpPacket, SourceDescription};
//! let rr = ReceiverReport {
//!     ssrc: 0x1111_1111,
//!     reports: vec![ReportBlock { ssrc: 0x2222_2222, fraction_lost: 64, cumulative_lost: 3,
//!         extended_highest_seq: 70_000, jitter: 12, last_sr: 0xabcd_0000, delay_since_last_sr: 655 }],
//!     profile_extension: Default::default(),
//! };
//! let sdes = SourceDescription::cname(0x1111_1111, "weir@example");
//! let compound = Compound::new(vec![RtcpPacket::ReceiverReport(rr.clone()), RtcpPacket::SourceDescription(sdes)]);
//! let mut out = BytesMut::new();
//! compound.write(&mut out)?;
//! let parsed = Compound::parse(out.freeze(), &rtcp::RtcpLimits::default())?;
//! assert_eq!(parsed, compound);
//! assert_eq!(parsed.packets[0], RtcpPacket::ReceiverReport(rr));
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

mod cursor;
mod feedback;
mod packets;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use cursor::Cursor;

pub use feedback::{
    Feedback, FirEntry, FullIntraRequest, GenericNack, NackPair, PictureLossIndication,
};
pub use packets::{
    App, Goodbye, ReceiverReport, ReportBlock, SdesChunk, SdesItem, SdesItemType, SenderReport,
    SourceDescription, UnknownPacket, CUMULATIVE_LOST_MAX, CUMULATIVE_LOST_MIN, REPORT_BLOCK_LEN,
};

/// RTCP packet type numbers.
pub mod packet_type {
    /// Sender report (RFC 3550 6.4.1).
    pub const SR: u8 = 200;
    /// Receiver report (RFC 3550 6.4.2).
    pub const RR: u8 = 201;
    /// Source description (RFC 3550 6.5).
    pub const SDES: u8 = 202;
    /// Goodbye (RFC 3550 6.6).
    pub const BYE: u8 = 203;
    /// Application-defined (RFC 3550 6.7).
    pub const APP: u8 = 204;
    /// Transport-layer feedback (RFC 4585 6.2).
    pub const RTPFB: u8 = 205;
    /// Payload-specific feedback (RFC 4585 6.3).
    pub const PSFB: u8 = 206;
}

/// Length of the common RTCP header.
pub const HEADER_LEN: usize = 4;
/// Largest RTCP packet: the length field counts 32-bit words minus one in 16 bits.
pub const MAX_PACKET_LEN: usize = (0xFFFF + 1) * 4;
/// Largest value of the 5-bit count field (report blocks, SDES chunks, BYE sources).
pub const MAX_COUNT: usize = 31;

/// Whether a datagram multiplexed with RTP on one port is RTCP (RFC 5761 4): version 2 and
/// a second byte (RTCP packet type, or RTP marker + payload type) in 192..=223. RTP payload
/// types 64..=95 are not used when multiplexing, so the ranges do not overlap.
///
/// ```
/// assert!(weir_rtp_rtcp::rtcp::is_rtcp(&[0x80, 200, 0, 6]));
/// assert!(!weir_rtp_rtcp::rtcp::is_rtcp(&[0x80, 0x60, 0, 1]));
/// ```
pub fn is_rtcp(data: &[u8]) -> bool {
    matches!(data, [b0, b1, ..] if b0 >> 6 == 2 && (192..=223).contains(b1))
}

/// Limits and strictness for compound packet parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtcpLimits {
    /// Most packets accepted in one compound packet (a larger compound is an error).
    pub max_packets: usize,
    /// Accept compounds that do not start with SR/RR (reduced-size RTCP, RFC 5506). When
    /// false, RFC 3550 A.2's "first packet is SR or RR" rule is enforced.
    pub allow_reduced_size: bool,
}

impl Default for RtcpLimits {
    fn default() -> Self {
        RtcpLimits {
            max_packets: 32,
            allow_reduced_size: false,
        }
    }
}

/// One RTCP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// SR (200).
    SenderReport(SenderReport),
    /// RR (201).
    ReceiverReport(ReceiverReport),
    /// SDES (202).
    SourceDescription(SourceDescription),
    /// BYE (203).
    Goodbye(Goodbye),
    /// APP (204).
    App(App),
    /// RTPFB FMT 1: generic NACK (RFC 4585 6.2.1).
    Nack(GenericNack),
    /// PSFB FMT 1: picture loss indication (RFC 4585 6.3.1).
    Pli(PictureLossIndication),
    /// PSFB FMT 4: full intra request (RFC 5104 4.3.1).
    Fir(FullIntraRequest),
    /// Any other RTPFB/PSFB message (TMMBR, REMB, transport-cc …), kept raw.
    Feedback(Feedback),
    /// A packet type this crate does not interpret (XR, …), kept raw.
    Unknown(UnknownPacket),
}

/// The common header of an RTCP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcpHeader {
    /// The P bit.
    pub padding: bool,
    /// The 5-bit count / subtype / FMT field.
    pub count: u8,
    /// The packet type.
    pub packet_type: u8,
    /// Total length of the packet in bytes, header and padding included.
    pub length: usize,
}

impl RtcpHeader {
    /// Reads the 4-byte header at `offset` of `data` (version 2 enforced).
    pub fn parse(data: &[u8], offset: usize) -> Result<RtcpHeader> {
        let avail = data.len().saturating_sub(offset);
        let Some(h) = data
            .get(offset..)
            .and_then(|d| d.first_chunk::<HEADER_LEN>())
        else {
            return Err(Error::Truncated {
                what: "RTCP header",
                offset,
                needed: HEADER_LEN,
                available: avail,
            });
        };
        let version = h[0] >> 6;
        if version != 2 {
            return Err(Error::BadVersion {
                what: "RTCP",
                version,
            });
        }
        let words = usize::from(u16::from_be_bytes([h[2], h[3]]));
        Ok(RtcpHeader {
            padding: h[0] & 0x20 != 0,
            count: h[0] & 0x1f,
            packet_type: h[1],
            length: (words + 1) * 4,
        })
    }
}

impl RtcpPacket {
    /// Parses exactly one RTCP packet occupying all of `data` (padding allowed).
    pub fn parse(data: Bytes) -> Result<RtcpPacket> {
        let header = RtcpHeader::parse(&data, 0)?;
        if header.length != data.len() {
            return Err(Error::InvalidField {
                field: "RTCP length",
                value: header.length as u64,
                reason: "does not match the buffer length",
            });
        }
        parse_at(&data, 0, header)
    }

    /// The packet type byte this packet is written with.
    pub fn packet_type(&self) -> u8 {
        match self {
            RtcpPacket::SenderReport(_) => packet_type::SR,
            RtcpPacket::ReceiverReport(_) => packet_type::RR,
            RtcpPacket::SourceDescription(_) => packet_type::SDES,
            RtcpPacket::Goodbye(_) => packet_type::BYE,
            RtcpPacket::App(_) => packet_type::APP,
            RtcpPacket::Nack(_) => packet_type::RTPFB,
            RtcpPacket::Pli(_) | RtcpPacket::Fir(_) => packet_type::PSFB,
            RtcpPacket::Feedback(f) => f.packet_type,
            RtcpPacket::Unknown(u) => u.packet_type,
        }
    }

    /// Bytes [`RtcpPacket::write`] produces.
    pub fn wire_len(&self) -> usize {
        HEADER_LEN
            + match self {
                RtcpPacket::SenderReport(p) => p.body_len(),
                RtcpPacket::ReceiverReport(p) => p.body_len(),
                RtcpPacket::SourceDescription(p) => p.body_len(),
                RtcpPacket::Goodbye(p) => p.body_len(),
                RtcpPacket::App(p) => p.body_len(),
                RtcpPacket::Nack(p) => p.body_len(),
                RtcpPacket::Pli(p) => p.body_len(),
                RtcpPacket::Fir(p) => p.body_len(),
                RtcpPacket::Feedback(p) => p.body_len(),
                RtcpPacket::Unknown(p) => p.body_len(),
            }
    }

    /// Appends the packet to `out`. Fails (writing nothing) when a count, length or field
    /// does not fit its wire width.
    pub fn write(&self, out: &mut BytesMut) -> Result<()> {
        let total = self.wire_len();
        if total > MAX_PACKET_LEN {
            return Err(Error::LimitExceeded {
                what: "RTCP packet bytes",
                limit: MAX_PACKET_LEN,
                actual: total,
            });
        }
        let count = match self {
            RtcpPacket::SenderReport(p) => p.validate()?,
            RtcpPacket::ReceiverReport(p) => p.validate()?,
            RtcpPacket::SourceDescription(p) => p.validate()?,
            RtcpPacket::Goodbye(p) => p.validate()?,
            RtcpPacket::App(p) => p.validate()?,
            RtcpPacket::Nack(_) => feedback::FMT_NACK,
            RtcpPacket::Pli(_) => feedback::FMT_PLI,
            RtcpPacket::Fir(_) => feedback::FMT_FIR,
            RtcpPacket::Feedback(p) => p.validate()?,
            RtcpPacket::Unknown(p) => p.validate()?,
        };
        out.reserve(total);
        out.put_u8(0x80 | count);
        out.put_u8(self.packet_type());
        out.put_u16((total / 4 - 1) as u16);
        match self {
            RtcpPacket::SenderReport(p) => p.write_body(out),
            RtcpPacket::ReceiverReport(p) => p.write_body(out),
            RtcpPacket::SourceDescription(p) => p.write_body(out),
            RtcpPacket::Goodbye(p) => p.write_body(out),
            RtcpPacket::App(p) => p.write_body(out),
            RtcpPacket::Nack(p) => p.write_body(out),
            RtcpPacket::Pli(p) => p.write_body(out),
            RtcpPacket::Fir(p) => p.write_body(out),
            RtcpPacket::Feedback(p) => p.write_body(out),
            RtcpPacket::Unknown(p) => p.write_body(out),
        }
        Ok(())
    }
}

/// Parses the packet at `offset` whose header has been read.
fn parse_at(data: &Bytes, offset: usize, header: RtcpHeader) -> Result<RtcpPacket> {
    let end = offset + header.length;
    if end > data.len() {
        return Err(Error::Truncated {
            what: "RTCP packet",
            offset,
            needed: header.length,
            available: data.len() - offset,
        });
    }
    let mut body_end = end;
    if header.padding {
        // RFC 3550 6.4.1: the last octet of a padded packet counts the padding octets.
        let count = usize::from(data.get(end - 1).copied().unwrap_or(0));
        let available = header.length - HEADER_LEN;
        if count == 0 || count > available {
            return Err(Error::BadPadding {
                what: "RTCP",
                count,
                available,
            });
        }
        body_end = end - count;
    }
    let mut c = Cursor::new(data, offset + HEADER_LEN, body_end, "RTCP packet");
    let pkt = match header.packet_type {
        packet_type::SR => RtcpPacket::SenderReport(SenderReport::parse_body(&mut c, header)?),
        packet_type::RR => RtcpPacket::ReceiverReport(ReceiverReport::parse_body(&mut c, header)?),
        packet_type::SDES => {
            RtcpPacket::SourceDescription(SourceDescription::parse_body(&mut c, header, offset)?)
        }
        packet_type::BYE => RtcpPacket::Goodbye(Goodbye::parse_body(&mut c, header)?),
        packet_type::APP => RtcpPacket::App(App::parse_body(&mut c, header)?),
        packet_type::RTPFB | packet_type::PSFB => feedback::parse_body(&mut c, header)?,
        _ => RtcpPacket::Unknown(UnknownPacket {
            packet_type: header.packet_type,
            count: header.count,
            body: c.rest(),
        }),
    };
    Ok(pkt)
}

/// Iterates the packets of a compound RTCP packet without the compound validity rules
/// (each packet is still fully validated). Stops after the first error.
#[derive(Clone, Debug)]
pub struct RtcpIter {
    data: Bytes,
    offset: usize,
    failed: bool,
}

impl RtcpIter {
    /// Iterates the packets in `data`.
    pub fn new(data: Bytes) -> RtcpIter {
        RtcpIter {
            data,
            offset: 0,
            failed: false,
        }
    }

    /// Offset of the next packet.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Reads the next packet along with its header.
    fn next_with_header(&mut self) -> Option<Result<(RtcpHeader, RtcpPacket)>> {
        if self.failed || self.offset >= self.data.len() {
            return None;
        }
        let r = RtcpHeader::parse(&self.data, self.offset).and_then(|h| {
            let p = parse_at(&self.data, self.offset, h)?;
            Ok((h, p))
        });
        match &r {
            Ok((h, _)) => self.offset += h.length,
            Err(_) => self.failed = true,
        }
        Some(r)
    }
}

impl Iterator for RtcpIter {
    type Item = Result<RtcpPacket>;
    fn next(&mut self) -> Option<Result<RtcpPacket>> {
        self.next_with_header().map(|r| r.map(|(_, p)| p))
    }
}

/// A compound RTCP packet: the packets of one UDP datagram / interleaved frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compound {
    /// The packets, in wire order.
    pub packets: Vec<RtcpPacket>,
}

impl Compound {
    /// A compound of `packets`.
    pub fn new(packets: Vec<RtcpPacket>) -> Compound {
        Compound { packets }
    }

    /// Parses a compound packet and applies the validity checks of RFC 3550 A.2: every
    /// packet version 2, the first one an SR or RR (unless
    /// [`RtcpLimits::allow_reduced_size`]), padding only on the last packet, and the
    /// lengths adding up to the datagram's length. At most [`RtcpLimits::max_packets`].
    pub fn parse(data: Bytes, limits: &RtcpLimits) -> Result<Compound> {
        if data.is_empty() {
            return Err(Error::Truncated {
                what: "RTCP compound packet",
                offset: 0,
                needed: HEADER_LEN,
                available: 0,
            });
        }
        let total = data.len();
        let mut iter = RtcpIter::new(data);
        let mut packets = Vec::new();
        loop {
            let offset = iter.offset();
            let Some(item) = iter.next_with_header() else {
                break;
            };
            let (header, packet) = item?;
            if packets.len() >= limits.max_packets {
                return Err(Error::LimitExceeded {
                    what: "packets in an RTCP compound",
                    limit: limits.max_packets,
                    actual: packets.len() + 1,
                });
            }
            if packets.is_empty()
                && !limits.allow_reduced_size
                && header.packet_type != packet_type::SR
                && header.packet_type != packet_type::RR
            {
                return Err(Error::BadCompound {
                    offset,
                    reason: "first packet is neither SR nor RR",
                });
            }
            if header.padding && offset + header.length != total {
                return Err(Error::BadCompound {
                    offset,
                    reason: "padding bit set on a packet that is not the last",
                });
            }
            packets.push(packet);
        }
        Ok(Compound { packets })
    }

    /// Bytes [`Compound::write`] produces.
    pub fn wire_len(&self) -> usize {
        self.packets.iter().map(RtcpPacket::wire_len).sum()
    }

    /// Appends the compound packet to `out`. An empty compound, or one whose first packet
    /// is not SR/RR, is refused (use [`Compound::write_reduced_size`] for RFC 5506).
    pub fn write(&self, out: &mut BytesMut) -> Result<()> {
        match self.packets.first() {
            None => Err(Error::BadCompound {
                offset: 0,
                reason: "empty compound packet",
            }),
            Some(RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_)) => {
                self.write_reduced_size(out)
            }
            Some(_) => Err(Error::BadCompound {
                offset: 0,
                reason: "first packet is neither SR nor RR",
            }),
        }
    }

    /// Appends the packets without the "starts with SR/RR" rule (reduced-size RTCP,
    /// RFC 5506, e.g. a lone NACK or PLI). On error, `out` is left as it was.
    pub fn write_reduced_size(&self, out: &mut BytesMut) -> Result<()> {
        let start = out.len();
        out.reserve(self.wire_len());
        for p in &self.packets {
            if let Err(e) = p.write(out) {
                out.truncate(start);
                return Err(e);
            }
        }
        Ok(())
    }

    /// The compound as one `Bytes`.
    pub fn to_bytes(&self) -> Result<Bytes> {
        let mut out = BytesMut::new();
        self.write(&mut out)?;
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntp::NtpTime;

    fn hex(s: &str) -> Bytes {
        let s: String = s.split_whitespace().collect();
        Bytes::from(
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect::<Vec<u8>>(),
        )
    }

    #[test]
    fn ffmpeg_sender_report_vector() {
        // An SR captured from `ffmpeg -f rtp` (libavformat 59): no report blocks, no SDES.
        let data = hex("80c80006 04ba3b4c eeabde08 c8b43958 92efd5de 00000000 00000000");
        let c = Compound::parse(data.clone(), &RtcpLimits::default()).unwrap();
        let RtcpPacket::SenderReport(sr) = &c.packets[0] else {
            panic!("{c:?}")
        };
        assert_eq!(sr.ssrc, 0x04ba_3b4c);
        assert_eq!(sr.ntp_time, NtpTime::new(0xeeab_de08, 0xc8b4_3958));
        assert_eq!(sr.rtp_time, 0x92ef_d5de);
        assert_eq!((sr.packet_count, sr.octet_count), (0, 0));
        assert!(sr.reports.is_empty());
        assert_eq!(c.to_bytes().unwrap(), data);
    }

    #[test]
    fn rfc3550_layouts() {
        // RR with one block (RFC 3550 6.4.2), cumulative lost -1 (duplicates), then SDES with
        // CNAME + TOOL + PRIV, BYE with reason, APP.
        let data = hex(concat!(
            "81c90007 11111111",
            "22222222 40ffffff 00010005 00000020 abcd1234 00008000",
            "82ca0008 11111111 01047765 69720603 61626308 05026162 78790000 33333333 00000000",
            "82cb0003 11111111 22222222 03627965",
            "85cc0003 11111111 54455354 01020304",
        ));
        let c = Compound::parse(data.clone(), &RtcpLimits::default()).unwrap();
        assert_eq!(c.packets.len(), 4);
        let RtcpPacket::ReceiverReport(rr) = &c.packets[0] else {
            panic!()
        };
        assert_eq!(rr.ssrc, 0x1111_1111);
        assert_eq!(
            rr.reports[0],
            crate::rtcp::ReportBlock {
                ssrc: 0x2222_2222,
                fraction_lost: 0x40,
                cumulative_lost: -1,
                extended_highest_seq: 0x0001_0005,
                jitter: 32,
                last_sr: 0xabcd_1234,
                delay_since_last_sr: 0x8000,
            }
        );
        let RtcpPacket::SourceDescription(sdes) = &c.packets[1] else {
            panic!()
        };
        assert_eq!(sdes.chunks.len(), 2);
        assert_eq!(sdes.cname_of(0x1111_1111).unwrap().as_str(), Some("weir"));
        let items = &sdes.chunks[0].items;
        assert_eq!(items[1].item_type, SdesItemType::Tool);
        assert_eq!(&items[1].value[..], b"abc");
        let (prefix, value) = items[2].private_parts().unwrap();
        assert_eq!((&prefix[..], &value[..]), (&b"ab"[..], &b"xy"[..]));
        assert_eq!(
            sdes.chunks[1],
            SdesChunk {
                ssrc: 0x3333_3333,
                items: vec![]
            }
        );
        let RtcpPacket::Goodbye(bye) = &c.packets[2] else {
            panic!()
        };
        assert_eq!(bye.sources, vec![0x1111_1111, 0x2222_2222]);
        assert_eq!(bye.reason.as_deref(), Some(&b"bye"[..]));
        let RtcpPacket::App(app) = &c.packets[3] else {
            panic!()
        };
        assert_eq!(
            (app.subtype, &app.name, &app.data[..]),
            (5, b"TEST", &[1u8, 2, 3, 4][..])
        );
        assert_eq!(c.to_bytes().unwrap(), data);
    }

    #[test]
    fn feedback_layouts() {
        // Generic NACK (RFC 4585 6.2.1): PID 100, BLP 0b101 → 100, 101, 103.
        let nack = hex("81cd0003 00000001 00000002 00640005");
        let RtcpPacket::Nack(n) = RtcpPacket::parse(nack.clone()).unwrap() else {
            panic!()
        };
        assert_eq!(n.lost().collect::<Vec<_>>(), vec![100, 101, 103]);
        assert_eq!(GenericNack::from_lost(1, 2, [100, 101, 103]), n);
        // PLI (RFC 4585 6.3.1) and FIR (RFC 5104 4.3.1).
        let pli = hex("81ce0002 00000001 00000002");
        assert_eq!(
            RtcpPacket::parse(pli).unwrap(),
            RtcpPacket::Pli(PictureLossIndication {
                sender_ssrc: 1,
                media_ssrc: 2
            })
        );
        let fir = hex("84ce0004 00000001 00000000 00000002 07000000");
        let p = RtcpPacket::parse(fir.clone()).unwrap();
        assert_eq!(
            p,
            RtcpPacket::Fir(FullIntraRequest {
                sender_ssrc: 1,
                media_ssrc: 0,
                entries: vec![FirEntry { ssrc: 2, seq_nr: 7 }],
            })
        );
        let mut out = BytesMut::new();
        p.write(&mut out).unwrap();
        assert_eq!(out.freeze(), fir);
        // REMB-style PSFB FMT 15 stays raw.
        let remb = hex("8fce0004 00000001 00000000 52454d42 01000000");
        let RtcpPacket::Feedback(f) = RtcpPacket::parse(remb).unwrap() else {
            panic!()
        };
        assert_eq!((f.packet_type, f.fmt, &f.fci[..4]), (206, 15, &b"REMB"[..]));
        // Reduced-size compound (RFC 5506) only when allowed.
        assert!(matches!(
            Compound::parse(nack.clone(), &RtcpLimits::default()),
            Err(Error::BadCompound { .. })
        ));
        let lax = RtcpLimits {
            allow_reduced_size: true,
            ..RtcpLimits::default()
        };
        assert_eq!(Compound::parse(nack, &lax).unwrap().packets.len(), 1);
    }

    #[test]
    fn compound_errors() {
        let rr = hex("80c90001 11111111");
        let limits = RtcpLimits {
            max_packets: 2,
            ..RtcpLimits::default()
        };
        let mut three = BytesMut::new();
        for _ in 0..3 {
            three.extend_from_slice(&rr);
        }
        assert!(matches!(
            Compound::parse(three.freeze(), &limits),
            Err(Error::LimitExceeded { limit: 2, .. })
        ));
        // Length running past the datagram.
        assert!(matches!(
            Compound::parse(hex("80c90002 11111111"), &limits),
            Err(Error::Truncated { .. })
        ));
        // Trailing bytes that are not a whole header.
        assert!(Compound::parse(hex("80c90001 11111111 8000"), &limits).is_err());
        // Version 1.
        assert!(matches!(
            Compound::parse(hex("40c90001 11111111"), &limits),
            Err(Error::BadVersion { version: 1, .. })
        ));
        // RC says two blocks, room for none.
        assert!(Compound::parse(hex("82c90001 11111111"), &limits).is_err());
        // Padding count larger than the packet.
        assert!(matches!(
            Compound::parse(hex("a0c90001 111111ff"), &limits),
            Err(Error::BadPadding { .. })
        ));
        // Writing: too many blocks, non-aligned APP data, empty compound.
        let too_many = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![ReportBlock::default(); 32],
            profile_extension: Bytes::new(),
        });
        let mut out = BytesMut::new();
        assert!(too_many.write(&mut out).is_err());
        let app = RtcpPacket::App(App {
            data: Bytes::from_static(b"abc"),
            ..App::default()
        });
        assert!(app.write(&mut out).is_err());
        assert!(Compound::default().write(&mut out).is_err());
        assert!(out.is_empty());
    }
}
