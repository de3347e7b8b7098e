//! RTP packets (RFC 3550 section 5.1) and header extensions (RFC 3550 5.3.1, RFC 8285).
//!
//! [`RtpPacket`] is a validated, zero-copy view over a [`Bytes`] buffer: parsing reads the
//! fixed header once and records offsets; the payload, the extension data and the packet
//! itself are handed out as `Bytes` slices of the original buffer (a reference-count bump,
//! never a copy). [`RtpHeader`] writes a header (and optionally payload and padding) into a
//! caller's [`BytesMut`].

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};

mod extension;
pub use extension::{ExtensionElement, ExtensionElements, ExtensionForm, HeaderExtension};

/// Length of the fixed RTP header (RFC 3550 5.1).
pub const FIXED_HEADER_LEN: usize = 12;
/// Most CSRCs a packet can carry (the CC field has 4 bits).
pub const MAX_CSRCS: usize = 15;
/// Largest header-extension body in bytes (the length field counts 32-bit words in 16 bits).
pub const MAX_EXTENSION_LEN: usize = 0xFFFF * 4;
/// Profile value of the RFC 8285 one-byte header extension form.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// Profile value of the RFC 8285 two-byte header extension form, with the 4 `appbits` zero.
/// Any profile with `profile & 0xFFF0 == 0x1000` is the two-byte form.
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

const VERSION: u8 = 2;

/// What parsing learns about a packet: the fixed-header fields and the offsets of the
/// extension, payload and padding. 20 bytes, `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Layout {
    b0: u8,
    b1: u8,
    sequence_number: u16,
    ext_profile: u16,
    padding_len: u8,
    timestamp: u32,
    ssrc: u32,
    /// Offset of the payload (end of CSRCs and extension); at most 12 + 60 + 4 + 262140.
    payload_start: u32,
}

impl Layout {
    /// Validates an RTP packet (RFC 3550 5.1): version 2, CSRC list, header extension and
    /// padding within the buffer.
    #[inline]
    fn parse(data: &[u8]) -> Result<Layout> {
        let len = data.len();
        let Some(fixed) = data.first_chunk::<FIXED_HEADER_LEN>() else {
            return Err(truncated("RTP header", 0, FIXED_HEADER_LEN, len));
        };
        let b0 = fixed[0];
        if b0 >> 6 != VERSION {
            return Err(Error::BadVersion {
                what: "RTP",
                version: b0 >> 6,
            });
        }
        let cc = usize::from(b0 & 0x0f);
        let mut offset = FIXED_HEADER_LEN + cc * 4;
        if offset > len {
            return Err(truncated(
                "RTP CSRC list",
                FIXED_HEADER_LEN,
                cc * 4,
                len - FIXED_HEADER_LEN,
            ));
        }
        let mut ext_profile = 0;
        if b0 & 0x10 != 0 {
            let Some(hdr) = data.get(offset..).and_then(|d| d.first_chunk::<4>()) else {
                return Err(truncated("RTP header extension", offset, 4, len - offset));
            };
            ext_profile = u16::from_be_bytes([hdr[0], hdr[1]]);
            let ext_len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]])) * 4;
            let ext_start = offset + 4;
            if ext_start + ext_len > len {
                return Err(truncated(
                    "RTP header extension body",
                    ext_start,
                    ext_len,
                    len - ext_start,
                ));
            }
            offset = ext_start + ext_len;
        }
        let mut padding_len = 0u8;
        if b0 & 0x20 != 0 {
            // RFC 3550 5.1: the last octet counts the padding octets, itself included.
            let count = data.last().copied().unwrap_or(0);
            let available = len - offset;
            if count == 0 || usize::from(count) > available {
                return Err(Error::BadPadding {
                    what: "RTP",
                    count: usize::from(count),
                    available,
                });
            }
            padding_len = count;
        }
        Ok(Layout {
            b0,
            b1: fixed[1],
            sequence_number: u16::from_be_bytes([fixed[2], fixed[3]]),
            ext_profile,
            padding_len,
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
            // At most 12 + 60 + 4 + 262140 bytes: always fits.
            payload_start: offset as u32,
        })
    }

    #[inline]
    fn ext_range(&self) -> std::ops::Range<usize> {
        let start = FIXED_HEADER_LEN + usize::from(self.b0 & 0x0f) * 4 + 4;
        start..(self.payload_start as usize).max(start)
    }
}

/// The accessors shared by [`RtpPacket`] and [`RtpPacketRef`] (both have `data` and `l`).
macro_rules! rtp_accessors {
    () => {
        /// The version field (always 2 for a parsed packet).
        #[inline]
        pub fn version(&self) -> u8 {
            self.l.b0 >> 6
        }
        /// The padding (P) bit.
        #[inline]
        pub fn padding(&self) -> bool {
            self.l.b0 & 0x20 != 0
        }
        /// The extension (X) bit.
        #[inline]
        pub fn has_extension(&self) -> bool {
            self.l.b0 & 0x10 != 0
        }
        /// The CSRC count (CC) field.
        #[inline]
        pub fn csrc_count(&self) -> u8 {
            self.l.b0 & 0x0f
        }
        /// The marker (M) bit.
        #[inline]
        pub fn marker(&self) -> bool {
            self.l.b1 & 0x80 != 0
        }
        /// The payload type (PT), 0..=127.
        #[inline]
        pub fn payload_type(&self) -> u8 {
            self.l.b1 & 0x7f
        }
        /// The sequence number.
        #[inline]
        pub fn sequence_number(&self) -> u16 {
            self.l.sequence_number
        }
        /// The RTP timestamp.
        #[inline]
        pub fn timestamp(&self) -> u32 {
            self.l.timestamp
        }
        /// The synchronization source.
        #[inline]
        pub fn ssrc(&self) -> u32 {
            self.l.ssrc
        }
        /// The contributing sources.
        pub fn csrcs(&self) -> Csrcs<'_> {
            let end = FIXED_HEADER_LEN + usize::from(self.csrc_count()) * 4;
            Csrcs {
                rest: self.data.get(FIXED_HEADER_LEN..end).unwrap_or(&[]),
            }
        }
        /// The header extension's profile (the "defined by profile" field), if present.
        pub fn extension_profile(&self) -> Option<u16> {
            self.has_extension().then_some(self.l.ext_profile)
        }
        /// The header extension body as a borrowed slice.
        pub fn extension_data(&self) -> Option<&[u8]> {
            if !self.has_extension() {
                return None;
            }
            self.data.get(self.l.ext_range())
        }
        /// The payload as a borrowed slice (padding removed).
        #[inline]
        pub fn payload_bytes(&self) -> &[u8] {
            self.data.get(self.payload_range()).unwrap_or(&[])
        }
        /// Length of the payload (padding excluded).
        #[inline]
        pub fn payload_len(&self) -> usize {
            self.payload_range().len()
        }
        /// Offset of the payload: fixed header, CSRCs and header extension.
        #[inline]
        pub fn header_len(&self) -> usize {
            self.l.payload_start as usize
        }
        /// Number of padding bytes at the end (0 without the P bit).
        #[inline]
        pub fn padding_len(&self) -> usize {
            usize::from(self.l.padding_len)
        }
        #[inline]
        fn payload_range(&self) -> std::ops::Range<usize> {
            let start = self.l.payload_start as usize;
            // Parsing checked start + padding <= len.
            start
                ..self
                    .data
                    .len()
                    .saturating_sub(self.padding_len())
                    .max(start)
        }
        /// The header as an owned [`RtpHeader`] (copies the CSRC list and the extension
        /// body reference), with `padding` set to this packet's padding length.
        pub fn header(&self) -> RtpHeader {
            RtpHeader {
                marker: self.marker(),
                payload_type: self.payload_type(),
                sequence_number: self.l.sequence_number,
                timestamp: self.l.timestamp,
                ssrc: self.l.ssrc,
                csrcs: self.csrcs().collect(),
                extension: self.extension(),
                padding: self.l.padding_len,
            }
        }
    };
}

/// A parsed RTP packet: a zero-copy view over the packet's bytes.
///
/// ```
/// use bytes::Bytes;
/// use weir_rtp_rtcp::RtpPacket;
/// let pkt = RtpPacket::parse(Bytes::from_static(&[
///     0x80, 0xe0, 0x12, 0x34, 0, 0, 0x03, 0xe8, 0xde, 0xad, 0xbe, 0xef, 0xaa, 0xbb,
/// ]))?;
/// assert!(pkt.marker());
/// assert_eq!(pkt.payload_type(), 96);
/// assert_eq!(pkt.sequence_number(), 0x1234);
/// assert_eq!(pkt.timestamp(), 1000);
/// assert_eq!(pkt.ssrc(), 0xdead_beef);
/// assert_eq!(&pkt.payload()[..], &[0xaa, 0xbb]);
/// # Ok::<(), weir_rtp_rtcp::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RtpPacket {
    data: Bytes,
    l: Layout,
}

impl RtpPacket {
    /// Parses and validates an RTP packet (RFC 3550 5.1): version 2, CSRC list, header
    /// extension and padding within the buffer. The buffer is kept, not copied.
    #[inline]
    pub fn parse(data: Bytes) -> Result<RtpPacket> {
        let l = Layout::parse(&data)?;
        Ok(RtpPacket { data, l })
    }

    rtp_accessors!();

    /// The header extension, if the X bit is set: profile and body as a slice of the packet.
    pub fn extension(&self) -> Option<HeaderExtension> {
        if !self.has_extension() {
            return None;
        }
        Some(HeaderExtension {
            profile: self.l.ext_profile,
            data: self.data.slice(self.l.ext_range()),
        })
    }
    /// The payload, padding removed, as a slice of the packet's buffer (no copy).
    #[inline]
    pub fn payload(&self) -> Bytes {
        self.data.slice(self.payload_range())
    }
    /// The whole packet as received.
    #[inline]
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }
    /// Gives the packet's buffer back.
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        self.data
    }
    /// A borrowed view of this packet.
    #[inline]
    pub fn view(&self) -> RtpPacketRef<'_> {
        RtpPacketRef {
            data: &self.data,
            l: self.l,
        }
    }
}

/// A parsed RTP packet borrowing its bytes: the same validation and accessors as
/// [`RtpPacket`] for callers holding a plain slice (e.g. a receive buffer). Use
/// [`RtpPacketRef::to_owned_packet`] to keep it, or parse a `Bytes` with [`RtpPacket::parse`]
/// to keep the payload without copying.
///
/// ```
/// use weir_rtp_rtcp::RtpPacketRef;
/// let buf = [0x80, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9, 0xff, 0xfe];
/// let pkt = RtpPacketRef::parse(&buf)?;
/// assert_eq!((pkt.sequence_number(), pkt.payload_bytes()), (1, &[0xff, 0xfe][..]));
/// # Ok::<(), weir_rtp_rtcp::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RtpPacketRef<'a> {
    data: &'a [u8],
    l: Layout,
}

impl<'a> RtpPacketRef<'a> {
    /// Parses and validates an RTP packet in `data` (see [`RtpPacket::parse`]).
    #[inline]
    pub fn parse(data: &'a [u8]) -> Result<RtpPacketRef<'a>> {
        let l = Layout::parse(data)?;
        Ok(RtpPacketRef { data, l })
    }

    rtp_accessors!();

    /// The header extension, if the X bit is set (the body is copied into a `Bytes`).
    pub fn extension(&self) -> Option<HeaderExtension> {
        Some(HeaderExtension {
            profile: self.extension_profile()?,
            data: Bytes::copy_from_slice(self.extension_data()?),
        })
    }
    /// The whole packet.
    #[inline]
    pub fn as_slice(&self) -> &'a [u8] {
        self.data
    }
    /// Copies the packet into an owned [`RtpPacket`].
    pub fn to_owned_packet(&self) -> RtpPacket {
        RtpPacket {
            data: Bytes::copy_from_slice(self.data),
            l: self.l,
        }
    }
}

impl std::fmt::Debug for RtpPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.view().fmt(f)
    }
}

impl std::fmt::Debug for RtpPacketRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpPacket")
            .field("marker", &self.marker())
            .field("payload_type", &self.payload_type())
            .field("sequence_number", &self.l.sequence_number)
            .field("timestamp", &self.l.timestamp)
            .field("ssrc", &format_args!("{:#010x}", self.l.ssrc))
            .field("csrc_count", &self.csrc_count())
            .field("extension_profile", &self.extension_profile())
            .field(
                "extension_len",
                &self.extension_data().map_or(0, <[u8]>::len),
            )
            .field("payload_len", &self.payload_len())
            .field("padding_len", &self.padding_len())
            .finish()
    }
}

/// Iterator over a packet's CSRC list.
#[derive(Clone, Debug)]
pub struct Csrcs<'a> {
    rest: &'a [u8],
}

impl Iterator for Csrcs<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let (head, tail) = self.rest.split_first_chunk::<4>()?;
        self.rest = tail;
        Some(u32::from_be_bytes(*head))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Csrcs<'_> {}

/// An RTP header to write: the fields a sender chooses. The version is always 2; the P, X
/// and CC bits follow from `padding`, `extension` and `csrcs`.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use weir_rtp_rtcp::{RtpHeader, RtpPacket};
/// let hdr = RtpHeader { marker: true, ..RtpHeader::new(0, 7, 160, 0x1234_5678) };
/// let mut out = BytesMut::new();
/// hdr.write_with_payload(&[0xff; 160], &mut out)?;
/// let pkt = RtpPacket::parse(out.freeze())?;
/// assert_eq!(pkt.sequence_number(), 7);
/// assert_eq!(pkt.payload_len(), 160);
/// assert_eq!(pkt.header(), hdr);
/// # Ok::<(), weir_rtp_rtcp::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    /// The marker bit.
    pub marker: bool,
    /// The payload type, 0..=127.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// Contributing sources, at most 15. (An empty `Vec` does not allocate.)
    pub csrcs: Vec<u32>,
    /// The header extension, if any.
    pub extension: Option<HeaderExtension>,
    /// Padding bytes to append after the payload (0 = none; the last one holds the count).
    /// [`RtpHeader::write`] only sets the P bit: write the payload, then call
    /// [`RtpHeader::write_padding`]. [`RtpHeader::write_with_payload`] does all three.
    pub padding: u8,
}

impl RtpHeader {
    /// A header with the four always-present fields; no marker, CSRCs, extension or padding.
    pub fn new(payload_type: u8, sequence_number: u16, timestamp: u32, ssrc: u32) -> RtpHeader {
        RtpHeader {
            payload_type,
            sequence_number,
            timestamp,
            ssrc,
            ..RtpHeader::default()
        }
    }

    /// Bytes [`RtpHeader::write`] produces: 12 + 4·CSRCs + extension (4 + padded body).
    pub fn header_len(&self) -> usize {
        FIXED_HEADER_LEN
            + self.csrcs.len() * 4
            + self.extension.as_ref().map_or(0, |e| 4 + e.wire_len())
    }

    /// Checks the fields fit their wire widths.
    pub fn validate(&self) -> Result<()> {
        if self.payload_type > 127 {
            return Err(Error::InvalidField {
                field: "RTP payload type",
                value: u64::from(self.payload_type),
                reason: "must be 0..=127",
            });
        }
        if self.csrcs.len() > MAX_CSRCS {
            return Err(Error::LimitExceeded {
                what: "RTP CSRC count",
                limit: MAX_CSRCS,
                actual: self.csrcs.len(),
            });
        }
        if let Some(ext) = &self.extension {
            if ext.wire_len() > MAX_EXTENSION_LEN {
                return Err(Error::LimitExceeded {
                    what: "RTP header extension bytes",
                    limit: MAX_EXTENSION_LEN,
                    actual: ext.wire_len(),
                });
            }
        }
        Ok(())
    }

    /// Appends the header (fixed part, CSRCs, extension) to `out`. With `padding > 0` the
    /// P bit is set and the caller appends the payload and then [`RtpHeader::write_padding`].
    pub fn write(&self, out: &mut BytesMut) -> Result<()> {
        self.validate()?;
        out.reserve(self.header_len());
        self.write_validated(out);
        Ok(())
    }

    /// Writes the header; `validate` has passed and `out` has room.
    #[inline]
    fn write_validated(&self, out: &mut BytesMut) {
        let mut b0 = VERSION << 6 | self.csrcs.len() as u8;
        if self.padding > 0 {
            b0 |= 0x20;
        }
        if self.extension.is_some() {
            b0 |= 0x10;
        }
        let b1 = (u8::from(self.marker) << 7) | self.payload_type;
        let mut fixed = [0u8; FIXED_HEADER_LEN];
        fixed[0] = b0;
        fixed[1] = b1;
        fixed[2..4].copy_from_slice(&self.sequence_number.to_be_bytes());
        fixed[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        fixed[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        // The inherent `extend_from_slice` inlines, so constant-size copies become plain
        // stores (the `BufMut` methods go through an out-of-line memcpy).
        out.extend_from_slice(&fixed);
        for csrc in &self.csrcs {
            out.extend_from_slice(&csrc.to_be_bytes());
        }
        if let Some(ext) = &self.extension {
            let wire = ext.wire_len();
            let mut ext_hdr = [0u8; 4];
            ext_hdr[..2].copy_from_slice(&ext.profile.to_be_bytes());
            ext_hdr[2..].copy_from_slice(&((wire / 4) as u16).to_be_bytes());
            out.extend_from_slice(&ext_hdr);
            out.extend_from_slice(&ext.data);
            out.put_bytes(0, wire - ext.data.len());
        }
    }

    /// Appends the `padding` trailer (zeros, then the count), if `padding > 0`.
    pub fn write_padding(&self, out: &mut BytesMut) {
        if self.padding > 0 {
            out.put_bytes(0, usize::from(self.padding) - 1);
            out.put_u8(self.padding);
        }
    }

    /// Appends a whole packet: header, `payload`, padding.
    pub fn write_with_payload(&self, payload: &[u8], out: &mut BytesMut) -> Result<()> {
        self.validate()?;
        out.reserve(self.header_len() + payload.len() + usize::from(self.padding));
        self.write_validated(out);
        out.extend_from_slice(payload);
        self.write_padding(out);
        Ok(())
    }

    /// Builds a whole packet as one `Bytes` (one allocation).
    pub fn to_packet(&self, payload: &[u8]) -> Result<Bytes> {
        let mut out = BytesMut::new();
        self.write_with_payload(payload, &mut out)?;
        Ok(out.freeze())
    }
}

fn truncated(what: &'static str, offset: usize, needed: usize, available: usize) -> Error {
    Error::Truncated {
        what,
        offset,
        needed,
        available,
    }
}

#[cfg(test)]
mod tests;
