//! The 188-byte transport packet layer (ISO/IEC 13818-1 §2.4.3.2–2.4.3.5).

use crate::Error;

/// Size of a transport packet.
pub const PACKET_SIZE: usize = 188;
/// The sync byte every packet starts with.
pub const SYNC_BYTE: u8 = 0x47;
/// PID of the program association table.
pub const PAT_PID: u16 = 0x0000;
/// PID of the service description table (DVB), tolerated and ignored.
pub const SDT_PID: u16 = 0x0011;
/// PID of null (stuffing) packets.
pub const NULL_PID: u16 = 0x1FFF;

/// The PCR clock: 27 MHz, a 33-bit base of 90 kHz ticks times 300 plus a 9-bit extension.
pub const PCR_HZ: u64 = 27_000_000;

/// The fixed 4-byte header of a transport packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PacketHeader {
    /// transport_error_indicator: the packet is known to be damaged.
    pub transport_error: bool,
    /// payload_unit_start_indicator: a PES packet or PSI section starts here.
    pub payload_unit_start: bool,
    /// transport_priority.
    pub priority: bool,
    /// The 13-bit packet identifier.
    pub pid: u16,
    /// transport_scrambling_control (0 = not scrambled).
    pub scrambling: u8,
    /// An adaptation field follows the header.
    pub has_adaptation_field: bool,
    /// A payload follows (the header / adaptation field).
    pub has_payload: bool,
    /// The 4-bit continuity counter.
    pub continuity_counter: u8,
}

impl PacketHeader {
    /// Parses the four header bytes (the sync byte is not checked here).
    #[inline]
    pub fn parse(h: [u8; 4]) -> PacketHeader {
        let afc = (h[3] >> 4) & 3;
        PacketHeader {
            transport_error: h[1] & 0x80 != 0,
            payload_unit_start: h[1] & 0x40 != 0,
            priority: h[1] & 0x20 != 0,
            pid: (u16::from(h[1] & 0x1F) << 8) | u16::from(h[2]),
            scrambling: h[3] >> 6,
            has_adaptation_field: afc & 2 != 0,
            has_payload: afc & 1 != 0,
            continuity_counter: h[3] & 0x0F,
        }
    }

    /// The four header bytes, sync byte included.
    pub fn to_bytes(&self) -> [u8; 4] {
        let afc = (u8::from(self.has_adaptation_field) << 1) | u8::from(self.has_payload);
        [
            SYNC_BYTE,
            (u8::from(self.transport_error) << 7)
                | (u8::from(self.payload_unit_start) << 6)
                | (u8::from(self.priority) << 5)
                | ((self.pid >> 8) as u8 & 0x1F),
            self.pid as u8,
            ((self.scrambling & 3) << 6) | (afc << 4) | (self.continuity_counter & 0x0F),
        ]
    }
}

/// The parts of an adaptation field a demuxer acts on.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AdaptationField {
    /// discontinuity_indicator: continuity counter and/or time base discontinuity.
    pub discontinuity: bool,
    /// random_access_indicator: the next PES starting on this PID begins a random access point.
    pub random_access: bool,
    /// The PCR in 27 MHz ticks (base × 300 + extension), when present.
    pub pcr: Option<u64>,
}

/// One parsed transport packet borrowing its bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The header.
    pub header: PacketHeader,
    /// The adaptation field, when the packet has a non-empty one.
    pub adaptation: Option<AdaptationField>,
    /// The payload bytes (empty when the packet has none).
    pub payload: &'a [u8],
}

/// Decodes a 6-byte PCR field into 27 MHz ticks.
#[inline]
pub fn decode_pcr(b: [u8; 6]) -> u64 {
    let base = (u64::from(b[0]) << 25)
        | (u64::from(b[1]) << 17)
        | (u64::from(b[2]) << 9)
        | (u64::from(b[3]) << 1)
        | (u64::from(b[4]) >> 7);
    let ext = (u64::from(b[4] & 1) << 8) | u64::from(b[5]);
    base * 300 + ext
}

/// Encodes 27 MHz ticks (taken modulo 2^33 × 300) as a 6-byte PCR field.
#[inline]
pub fn encode_pcr(pcr: u64) -> [u8; 6] {
    let base = (pcr / 300) & ((1 << 33) - 1);
    let ext = pcr % 300;
    [
        (base >> 25) as u8,
        (base >> 17) as u8,
        (base >> 9) as u8,
        (base >> 1) as u8,
        (((base & 1) as u8) << 7) | 0x7E | ((ext >> 8) as u8 & 1),
        ext as u8,
    ]
}

/// Parses one transport packet. `data` must hold at least 188 bytes; only the first 188
/// are read.
///
/// ```
/// use weir_mpegts::packet::{parse_packet, PacketHeader};
/// let mut pkt = [0xFFu8; 188];
/// let h = PacketHeader { transport_error: false, payload_unit_start: true, priority: false,
///     pid: 0x100, scrambling: 0, has_adaptation_field: false, has_payload: true,
///     continuity_counter: 5 };
/// pkt[..4].copy_from_slice(&h.to_bytes());
/// let p = parse_packet(&pkt).unwrap();
/// assert_eq!(p.header, h);
/// assert_eq!(p.payload.len(), 184);
/// ```
///
/// # Errors
/// [`Error::PacketTooShort`], [`Error::BadSync`] (with offset 0) or
/// [`Error::AdaptationFieldLength`].
#[inline]
pub fn parse_packet(data: &[u8]) -> Result<Packet<'_>, Error> {
    let pkt: &[u8; PACKET_SIZE] = data
        .get(..PACKET_SIZE)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::PacketTooShort { len: data.len() })?;
    if pkt[0] != SYNC_BYTE {
        return Err(Error::BadSync {
            offset: 0,
            found: pkt[0],
        });
    }
    let header = PacketHeader::parse([pkt[0], pkt[1], pkt[2], pkt[3]]);
    let mut start = 4;
    let mut adaptation = None;
    if header.has_adaptation_field {
        let len = usize::from(pkt[4]);
        // §2.4.3.5: at most 183 bytes with a payload, exactly 183 without; we accept any
        // length that fits.
        if len > PACKET_SIZE - 5 {
            return Err(Error::AdaptationFieldLength {
                pid: header.pid,
                length: len,
                available: PACKET_SIZE - 5,
            });
        }
        if len > 0 {
            let af = &pkt[5..5 + len];
            let flags = af[0];
            let pcr = if flags & 0x10 != 0 && len >= 7 {
                Some(decode_pcr([af[1], af[2], af[3], af[4], af[5], af[6]]))
            } else {
                None
            };
            adaptation = Some(AdaptationField {
                discontinuity: flags & 0x80 != 0,
                random_access: flags & 0x40 != 0,
                pcr,
            });
        }
        start = 5 + len;
    }
    let payload = if header.has_payload {
        &pkt[start..]
    } else {
        &[]
    };
    Ok(Packet {
        header,
        adaptation,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcr_roundtrip() {
        for pcr in [0u64, 1, 299, 300, 27_000_000, (1 << 33) * 300 - 1] {
            assert_eq!(decode_pcr(encode_pcr(pcr)), pcr);
        }
    }

    #[test]
    fn adaptation_field_too_long() {
        let mut pkt = [0u8; 188];
        pkt[0] = 0x47;
        pkt[3] = 0x30;
        pkt[4] = 184;
        assert!(matches!(
            parse_packet(&pkt),
            Err(Error::AdaptationFieldLength { length: 184, .. })
        ));
        pkt[4] = 183;
        let p = parse_packet(&pkt).unwrap();
        assert!(p.payload.is_empty());
    }
}
