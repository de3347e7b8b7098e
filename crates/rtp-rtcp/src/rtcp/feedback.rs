//! RTCP feedback messages: generic NACK (RFC 4585 6.2.1), PLI (RFC 4585 6.3.1), FIR
//! (RFC 5104 4.3.1), and a raw form for the other FMTs.

use bytes::{BufMut, Bytes, BytesMut};

use super::cursor::Cursor;
use super::{packet_type, RtcpHeader, RtcpPacket};
use crate::error::{Error, Result};

pub(super) const FMT_NACK: u8 = 1;
pub(super) const FMT_PLI: u8 = 1;
pub(super) const FMT_FIR: u8 = 4;

pub(super) fn parse_body(c: &mut Cursor<'_>, h: RtcpHeader) -> Result<RtcpPacket> {
    c.set_what("RTCP feedback header");
    let sender_ssrc = c.u32()?;
    let media_ssrc = c.u32()?;
    let fci_start = c.pos();
    match (h.packet_type, h.count) {
        (packet_type::RTPFB, FMT_NACK) => {
            c.set_what("RTCP NACK FCI");
            let n = c.remaining() / 4;
            if c.remaining() % 4 != 0 {
                return Err(Error::InvalidField {
                    field: "NACK FCI length",
                    value: c.remaining() as u64,
                    reason: "must be a multiple of 4",
                });
            }
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                pairs.push(NackPair {
                    pid: c.u16()?,
                    blp: c.u16()?,
                });
            }
            Ok(RtcpPacket::Nack(GenericNack {
                sender_ssrc,
                media_ssrc,
                pairs,
            }))
        }
        (packet_type::PSFB, FMT_PLI) => {
            // RFC 4585 6.3.1: PLI has no FCI. Extra bytes are ignored (tolerant).
            c.rest();
            Ok(RtcpPacket::Pli(PictureLossIndication {
                sender_ssrc,
                media_ssrc,
            }))
        }
        (packet_type::PSFB, FMT_FIR) => {
            c.set_what("RTCP FIR FCI");
            if c.remaining() % 8 != 0 {
                return Err(Error::InvalidField {
                    field: "FIR FCI length",
                    value: (c.pos() - fci_start + c.remaining()) as u64,
                    reason: "must be a multiple of 8",
                });
            }
            let n = c.remaining() / 8;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let ssrc = c.u32()?;
                let seq_nr = c.u8()?;
                c.skip(3)?;
                entries.push(FirEntry { ssrc, seq_nr });
            }
            Ok(RtcpPacket::Fir(FullIntraRequest {
                sender_ssrc,
                media_ssrc,
                entries,
            }))
        }
        _ => Ok(RtcpPacket::Feedback(Feedback {
            packet_type: h.packet_type,
            fmt: h.count,
            sender_ssrc,
            media_ssrc,
            fci: c.rest(),
        })),
    }
}

/// One NACK FCI entry: a lost packet ID and a bitmask of the 16 following ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NackPair {
    /// Packet ID: a lost sequence number.
    pub pid: u16,
    /// Bitmask of following lost packets: bit i (LSB = 0) means `pid + i + 1` is lost.
    pub blp: u16,
}

impl NackPair {
    /// The lost sequence numbers this entry names, in order.
    pub fn lost(self) -> impl Iterator<Item = u16> {
        std::iter::once(self.pid).chain(
            (0..16u16)
                .filter(move |i| self.blp & (1 << i) != 0)
                .map(move |i| self.pid.wrapping_add(i + 1)),
        )
    }
}

/// Generic NACK (RTPFB, FMT 1; RFC 4585 6.2.1).
///
/// ```
/// use weir_rtp_rtcp::rtcp::GenericNack;
/// let nack = GenericNack::from_lost(1, 2, [65534u16, 65535, 3, 40]);
/// assert_eq!(nack.pairs.len(), 2);
/// assert_eq!(nack.lost().collect::<Vec<_>>(), vec![65534, 65535, 3, 40]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenericNack {
    /// The SSRC of the packet sender (the receiver asking).
    pub sender_ssrc: u32,
    /// The media source the NACK is about.
    pub media_ssrc: u32,
    /// The FCI entries.
    pub pairs: Vec<NackPair>,
}

impl GenericNack {
    /// Packs lost sequence numbers (in increasing order, modulo 2^16) into PID+BLP entries.
    pub fn from_lost(
        sender_ssrc: u32,
        media_ssrc: u32,
        lost: impl IntoIterator<Item = u16>,
    ) -> GenericNack {
        let mut pairs: Vec<NackPair> = Vec::new();
        for seq in lost {
            if let Some(last) = pairs.last_mut() {
                let d = seq.wrapping_sub(last.pid);
                if (1..=16).contains(&d) {
                    last.blp |= 1 << (d - 1);
                    continue;
                }
                if d == 0 {
                    continue;
                }
            }
            pairs.push(NackPair { pid: seq, blp: 0 });
        }
        GenericNack {
            sender_ssrc,
            media_ssrc,
            pairs,
        }
    }

    /// All lost sequence numbers named, in entry order.
    pub fn lost(&self) -> impl Iterator<Item = u16> + '_ {
        self.pairs.iter().flat_map(|p| p.lost())
    }

    pub(super) fn body_len(&self) -> usize {
        8 + 4 * self.pairs.len()
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        for p in &self.pairs {
            out.put_u16(p.pid);
            out.put_u16(p.blp);
        }
    }
}

/// Picture loss indication (PSFB, FMT 1; RFC 4585 6.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PictureLossIndication {
    /// The SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// The media source whose picture was lost.
    pub media_ssrc: u32,
}

impl PictureLossIndication {
    pub(super) fn body_len(&self) -> usize {
        8
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
    }
}

/// One FIR FCI entry (RFC 5104 4.3.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FirEntry {
    /// The media sender asked for a decoder refresh.
    pub ssrc: u32,
    /// Command sequence number (incremented per new request).
    pub seq_nr: u8,
}

/// Full intra request (PSFB, FMT 4; RFC 5104 4.3.1). The media SSRC field is 0 on the wire
/// by the RFC; it is kept as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FullIntraRequest {
    /// The SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// The media source field of the common feedback header (0 per RFC 5104).
    pub media_ssrc: u32,
    /// The requests.
    pub entries: Vec<FirEntry>,
}

impl FullIntraRequest {
    pub(super) fn body_len(&self) -> usize {
        8 + 8 * self.entries.len()
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        for e in &self.entries {
            out.put_u32(e.ssrc);
            out.put_u8(e.seq_nr);
            out.put_bytes(0, 3);
        }
    }
}

/// Any other feedback message, kept raw (e.g. TMMBR, REMB, transport-wide CC).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Feedback {
    /// [`packet_type::RTPFB`] or [`packet_type::PSFB`].
    pub packet_type: u8,
    /// The FMT field (0..=31).
    pub fmt: u8,
    /// The SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// The media source.
    pub media_ssrc: u32,
    /// The feedback control information (length a multiple of 4).
    pub fci: Bytes,
}

impl Feedback {
    pub(super) fn body_len(&self) -> usize {
        8 + self.fci.len()
    }
    pub(super) fn validate(&self) -> Result<u8> {
        if self.packet_type != packet_type::RTPFB && self.packet_type != packet_type::PSFB {
            return Err(Error::InvalidField {
                field: "feedback packet type",
                value: u64::from(self.packet_type),
                reason: "must be 205 (RTPFB) or 206 (PSFB)",
            });
        }
        if self.fmt > 31 {
            return Err(Error::InvalidField {
                field: "feedback FMT",
                value: u64::from(self.fmt),
                reason: "must be 0..=31",
            });
        }
        if self.fci.len() % 4 != 0 {
            return Err(Error::InvalidField {
                field: "feedback FCI length",
                value: self.fci.len() as u64,
                reason: "must be a multiple of 4",
            });
        }
        Ok(self.fmt)
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u32(self.sender_ssrc);
        out.put_u32(self.media_ssrc);
        out.put_slice(&self.fci);
    }
}
