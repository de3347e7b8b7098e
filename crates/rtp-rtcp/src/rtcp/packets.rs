//! SR, RR, SDES, BYE, APP and unknown RTCP packets (RFC 3550 6.4–6.7).

use bytes::{BufMut, Bytes, BytesMut};

use super::cursor::Cursor;
use super::{RtcpHeader, MAX_COUNT};
use crate::error::{Error, Result};
use crate::ntp::NtpTime;

/// Largest 24-bit signed cumulative-lost value.
pub const CUMULATIVE_LOST_MAX: i32 = 0x7F_FFFF;
/// Smallest 24-bit signed cumulative-lost value.
pub const CUMULATIVE_LOST_MIN: i32 = -0x80_0000;

/// A reception report block (RFC 3550 6.4.1), 24 bytes on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed; duplicates can make it negative). Values
    /// outside the 24-bit range are clamped when written.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR from this source (0: none).
    pub last_sr: u32,
    /// Delay since that SR was received, in 1/65536 s (0: no SR yet).
    pub delay_since_last_sr: u32,
}

/// Length of a report block.
pub const REPORT_BLOCK_LEN: usize = 24;

impl ReportBlock {
    fn parse(c: &mut Cursor<'_>) -> Result<ReportBlock> {
        c.set_what("RTCP report block");
        let ssrc = c.u32()?;
        let lost = c.u32()?;
        let fraction_lost = (lost >> 24) as u8;
        // Sign-extend the 24-bit two's complement value.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        Ok(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_seq: c.u32()?,
            jitter: c.u32()?,
            last_sr: c.u32()?,
            delay_since_last_sr: c.u32()?,
        })
    }

    fn write(&self, out: &mut BytesMut) {
        let lost = self
            .cumulative_lost
            .clamp(CUMULATIVE_LOST_MIN, CUMULATIVE_LOST_MAX) as u32
            & 0x00FF_FFFF;
        out.put_u32(self.ssrc);
        out.put_u32((u32::from(self.fraction_lost) << 24) | lost);
        out.put_u32(self.extended_highest_seq);
        out.put_u32(self.jitter);
        out.put_u32(self.last_sr);
        out.put_u32(self.delay_since_last_sr);
    }
}

fn parse_blocks(c: &mut Cursor<'_>, count: u8) -> Result<Vec<ReportBlock>> {
    let n = usize::from(count);
    if n * REPORT_BLOCK_LEN > c.remaining() {
        return Err(Error::Truncated {
            what: "RTCP report blocks",
            offset: c.pos(),
            needed: n * REPORT_BLOCK_LEN,
            available: c.remaining(),
        });
    }
    (0..n).map(|_| ReportBlock::parse(c)).collect()
}

fn check_count(what: &'static str, n: usize) -> Result<u8> {
    if n > MAX_COUNT {
        return Err(Error::LimitExceeded {
            what,
            limit: MAX_COUNT,
            actual: n,
        });
    }
    Ok(n as u8)
}

fn check_aligned(field: &'static str, len: usize) -> Result<()> {
    if len % 4 != 0 {
        return Err(Error::InvalidField {
            field,
            value: len as u64,
            reason: "length must be a multiple of 4",
        });
    }
    Ok(())
}

/// A sender report (RFC 3550 6.4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderReport {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// Wallclock time when the report was sent.
    pub ntp_time: NtpTime,
    /// The same instant in the RTP timestamp units of the sender's media.
    pub rtp_time: u32,
    /// Packets sent since the start of transmission.
    pub packet_count: u32,
    /// Payload octets sent since the start of transmission.
    pub octet_count: u32,
    /// Reception report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension after the blocks (length a multiple of 4).
    pub profile_extension: Bytes,
}

impl SenderReport {
    pub(super) fn parse_body(c: &mut Cursor<'_>, h: RtcpHeader) -> Result<SenderReport> {
        c.set_what("RTCP SR sender info");
        let ssrc = c.u32()?;
        let ntp_time = NtpTime(c.u64()?);
        let rtp_time = c.u32()?;
        let packet_count = c.u32()?;
        let octet_count = c.u32()?;
        let reports = parse_blocks(c, h.count)?;
        Ok(SenderReport {
            ssrc,
            ntp_time,
            rtp_time,
            packet_count,
            octet_count,
            reports,
            profile_extension: c.rest(),
        })
    }
    pub(super) fn body_len(&self) -> usize {
        24 + self.reports.len() * REPORT_BLOCK_LEN + self.profile_extension.len()
    }
    pub(super) fn validate(&self) -> Result<u8> {
        check_aligned("SR profile extension", self.profile_extension.len())?;
        check_count("SR report blocks", self.reports.len())
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u32(self.ssrc);
        out.put_u64(self.ntp_time.0);
        out.put_u32(self.rtp_time);
        out.put_u32(self.packet_count);
        out.put_u32(self.octet_count);
        for b in &self.reports {
            b.write(out);
        }
        out.put_slice(&self.profile_extension);
    }
}

/// A receiver report (RFC 3550 6.4.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverReport {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// Reception report blocks (at most 31; an empty RR is valid).
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension after the blocks (length a multiple of 4).
    pub profile_extension: Bytes,
}

impl ReceiverReport {
    pub(super) fn parse_body(c: &mut Cursor<'_>, h: RtcpHeader) -> Result<ReceiverReport> {
        c.set_what("RTCP RR");
        let ssrc = c.u32()?;
        let reports = parse_blocks(c, h.count)?;
        Ok(ReceiverReport {
            ssrc,
            reports,
            profile_extension: c.rest(),
        })
    }
    pub(super) fn body_len(&self) -> usize {
        4 + self.reports.len() * REPORT_BLOCK_LEN + self.profile_extension.len()
    }
    pub(super) fn validate(&self) -> Result<u8> {
        check_aligned("RR profile extension", self.profile_extension.len())?;
        check_count("RR report blocks", self.reports.len())
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u32(self.ssrc);
        for b in &self.reports {
            b.write(out);
        }
        out.put_slice(&self.profile_extension);
    }
}

/// SDES item types (RFC 3550 6.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdesItemType {
    /// 1: canonical end-point identifier.
    Cname,
    /// 2: user name.
    Name,
    /// 3: e-mail address.
    Email,
    /// 4: phone number.
    Phone,
    /// 5: geographic location.
    Loc,
    /// 6: application or tool name.
    Tool,
    /// 7: notice/status.
    Note,
    /// 8: private extension (value = prefix length, prefix, value).
    Priv,
    /// Any other non-zero type, kept as is.
    Other(u8),
}

impl SdesItemType {
    /// From the wire value (`0` is the chunk terminator, never an item).
    pub fn from_u8(v: u8) -> SdesItemType {
        match v {
            1 => SdesItemType::Cname,
            2 => SdesItemType::Name,
            3 => SdesItemType::Email,
            4 => SdesItemType::Phone,
            5 => SdesItemType::Loc,
            6 => SdesItemType::Tool,
            7 => SdesItemType::Note,
            8 => SdesItemType::Priv,
            other => SdesItemType::Other(other),
        }
    }
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            SdesItemType::Cname => 1,
            SdesItemType::Name => 2,
            SdesItemType::Email => 3,
            SdesItemType::Phone => 4,
            SdesItemType::Loc => 5,
            SdesItemType::Tool => 6,
            SdesItemType::Note => 7,
            SdesItemType::Priv => 8,
            SdesItemType::Other(v) => v,
        }
    }
}

/// One SDES item: a type and up to 255 bytes of (UTF-8 by convention) text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SdesItem {
    /// The item type.
    pub item_type: SdesItemType,
    /// The value as sent (for PRIV: prefix length, prefix, value).
    pub value: Bytes,
}

impl SdesItem {
    /// An item with a text value.
    pub fn new(item_type: SdesItemType, value: impl Into<Bytes>) -> SdesItem {
        SdesItem {
            item_type,
            value: value.into(),
        }
    }
    /// A PRIV item from its prefix and value (RFC 3550 6.5.8).
    pub fn private(prefix: &[u8], value: &[u8]) -> Result<SdesItem> {
        let plen = u8::try_from(prefix.len()).map_err(|_| Error::InvalidField {
            field: "SDES PRIV prefix length",
            value: prefix.len() as u64,
            reason: "must be at most 254 bytes",
        })?;
        let mut v = BytesMut::with_capacity(1 + prefix.len() + value.len());
        v.put_u8(plen);
        v.put_slice(prefix);
        v.put_slice(value);
        Ok(SdesItem::new(SdesItemType::Priv, v.freeze()))
    }
    /// For a PRIV item, its `(prefix, value)`; `None` for other types or a bad prefix length.
    pub fn private_parts(&self) -> Option<(Bytes, Bytes)> {
        if self.item_type != SdesItemType::Priv {
            return None;
        }
        let plen = usize::from(*self.value.first()?);
        if 1 + plen > self.value.len() {
            return None;
        }
        Some((self.value.slice(1..1 + plen), self.value.slice(1 + plen..)))
    }
    /// The value as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

/// One SDES chunk: a source and its items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SdesChunk {
    /// The source described.
    pub ssrc: u32,
    /// Its items.
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    fn wire_len(&self) -> usize {
        let items: usize = self.items.iter().map(|i| 2 + i.value.len()).sum();
        // SSRC, items, then a null octet padded up to the next 32-bit boundary.
        (4 + items + 1).div_ceil(4) * 4
    }
}

/// A source description packet (RFC 3550 6.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceDescription {
    /// The chunks (at most 31).
    pub chunks: Vec<SdesChunk>,
}

impl SourceDescription {
    /// An SDES with one chunk holding a CNAME.
    pub fn cname(ssrc: u32, cname: &str) -> SourceDescription {
        SourceDescription {
            chunks: vec![SdesChunk {
                ssrc,
                items: vec![SdesItem::new(
                    SdesItemType::Cname,
                    Bytes::copy_from_slice(cname.as_bytes()),
                )],
            }],
        }
    }

    /// The CNAME of `ssrc`, if described.
    pub fn cname_of(&self, ssrc: u32) -> Option<&SdesItem> {
        self.chunks
            .iter()
            .filter(|c| c.ssrc == ssrc)
            .flat_map(|c| c.items.iter())
            .find(|i| i.item_type == SdesItemType::Cname)
    }

    pub(super) fn parse_body(
        c: &mut Cursor<'_>,
        h: RtcpHeader,
        packet_offset: usize,
    ) -> Result<SourceDescription> {
        let mut chunks = Vec::with_capacity(usize::from(h.count));
        for _ in 0..h.count {
            c.set_what("RTCP SDES chunk");
            let ssrc = c.u32()?;
            let mut items = Vec::new();
            loop {
                if c.remaining() == 0 {
                    // Quirk tolerated: a last chunk whose item list runs to the end of the
                    // packet without the null terminator.
                    break;
                }
                c.set_what("RTCP SDES item");
                let t = c.u8()?;
                if t == 0 {
                    // End of items: skip to the next 32-bit boundary of the packet.
                    let rel = c.pos() - packet_offset;
                    let pad = (4 - rel % 4) % 4;
                    c.skip(pad.min(c.remaining()))?;
                    break;
                }
                let len = usize::from(c.u8()?);
                let value = c.bytes(len)?;
                items.push(SdesItem {
                    item_type: SdesItemType::from_u8(t),
                    value,
                });
            }
            chunks.push(SdesChunk { ssrc, items });
        }
        Ok(SourceDescription { chunks })
    }
    pub(super) fn body_len(&self) -> usize {
        self.chunks.iter().map(SdesChunk::wire_len).sum()
    }
    pub(super) fn validate(&self) -> Result<u8> {
        for chunk in &self.chunks {
            for item in &chunk.items {
                if item.item_type.to_u8() == 0 {
                    return Err(Error::InvalidField {
                        field: "SDES item type",
                        value: 0,
                        reason: "0 is the end-of-list marker",
                    });
                }
                if item.value.len() > 255 {
                    return Err(Error::LimitExceeded {
                        what: "SDES item bytes",
                        limit: 255,
                        actual: item.value.len(),
                    });
                }
            }
        }
        check_count("SDES chunks", self.chunks.len())
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        for chunk in &self.chunks {
            let start = out.len();
            out.put_u32(chunk.ssrc);
            for item in &chunk.items {
                out.put_u8(item.item_type.to_u8());
                out.put_u8(item.value.len() as u8);
                out.put_slice(&item.value);
            }
            let written = out.len() - start;
            out.put_bytes(0, chunk.wire_len() - written);
        }
    }
}

/// A goodbye packet (RFC 3550 6.6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Goodbye {
    /// The sources leaving (at most 31).
    pub sources: Vec<u32>,
    /// Reason for leaving (at most 255 bytes).
    pub reason: Option<Bytes>,
}

impl Goodbye {
    pub(super) fn parse_body(c: &mut Cursor<'_>, h: RtcpHeader) -> Result<Goodbye> {
        c.set_what("RTCP BYE sources");
        let sources = (0..h.count).map(|_| c.u32()).collect::<Result<Vec<_>>>()?;
        let reason = if c.remaining() > 0 {
            c.set_what("RTCP BYE reason");
            let len = usize::from(c.u8()?);
            let r = c.bytes(len)?;
            // The rest is padding to the 32-bit boundary.
            c.rest();
            Some(r)
        } else {
            None
        };
        Ok(Goodbye { sources, reason })
    }
    pub(super) fn body_len(&self) -> usize {
        4 * self.sources.len()
            + self
                .reason
                .as_ref()
                .map_or(0, |r| (1 + r.len()).div_ceil(4) * 4)
    }
    pub(super) fn validate(&self) -> Result<u8> {
        if let Some(r) = &self.reason {
            if r.len() > 255 {
                return Err(Error::LimitExceeded {
                    what: "BYE reason bytes",
                    limit: 255,
                    actual: r.len(),
                });
            }
        }
        check_count("BYE sources", self.sources.len())
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        for s in &self.sources {
            out.put_u32(*s);
        }
        if let Some(r) = &self.reason {
            out.put_u8(r.len() as u8);
            out.put_slice(r);
            let written = 1 + r.len();
            out.put_bytes(0, written.div_ceil(4) * 4 - written);
        }
    }
}

/// An application-defined packet (RFC 3550 6.7).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct App {
    /// The 5-bit subtype.
    pub subtype: u8,
    /// The sender's SSRC.
    pub ssrc: u32,
    /// Four ASCII characters naming the application.
    pub name: [u8; 4],
    /// Application data (length a multiple of 4).
    pub data: Bytes,
}

impl App {
    pub(super) fn parse_body(c: &mut Cursor<'_>, h: RtcpHeader) -> Result<App> {
        c.set_what("RTCP APP");
        Ok(App {
            subtype: h.count,
            ssrc: c.u32()?,
            name: c.array()?,
            data: c.rest(),
        })
    }
    pub(super) fn body_len(&self) -> usize {
        8 + self.data.len()
    }
    pub(super) fn validate(&self) -> Result<u8> {
        check_aligned("APP data", self.data.len())?;
        if self.subtype > 31 {
            return Err(Error::InvalidField {
                field: "APP subtype",
                value: u64::from(self.subtype),
                reason: "must be 0..=31",
            });
        }
        Ok(self.subtype)
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u32(self.ssrc);
        out.put_slice(&self.name);
        out.put_slice(&self.data);
    }
}

/// A packet of a type this crate does not interpret, kept raw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnknownPacket {
    /// The packet type.
    pub packet_type: u8,
    /// The 5-bit count field.
    pub count: u8,
    /// The body after the common header, padding removed (length a multiple of 4 to write).
    pub body: Bytes,
}

impl UnknownPacket {
    pub(super) fn body_len(&self) -> usize {
        self.body.len()
    }
    pub(super) fn validate(&self) -> Result<u8> {
        check_aligned("RTCP packet body", self.body.len())?;
        if self.count > 31 {
            return Err(Error::InvalidField {
                field: "RTCP count",
                value: u64::from(self.count),
                reason: "must be 0..=31",
            });
        }
        Ok(self.count)
    }
    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_slice(&self.body);
    }
}
