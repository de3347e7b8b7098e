//! Minimal private parsers for the audio framings no other Weir crate covers: the
//! Opus-in-TS control header (the Opus mapping for MPEG-TS, `opus_control_header`) plus the
//! Opus TOC duration (RFC 6716 §3.1). MPEG-1/2 audio frame headers are `weir_aac::mpa`'s.

/// The `opus_control_header` that precedes each Opus packet in a TS PES payload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpusControl {
    /// Bytes of the control header.
    pub header_len: usize,
    /// Size of the Opus packet that follows.
    pub au_size: usize,
}

/// Parses an `opus_control_header` (11-bit prefix 0x3FF, trim and extension flags,
/// `au_size` as a run of 0xFF bytes plus a final byte, optional trims and extension).
pub(crate) fn parse_opus_control(d: &[u8]) -> Option<OpusControl> {
    let b0 = *d.first()?;
    let b1 = *d.get(1)?;
    if b0 != 0x7F || b1 & 0xE0 != 0xE0 {
        return None;
    }
    let start_trim = b1 & 0x10 != 0;
    let end_trim = b1 & 0x08 != 0;
    let ext = b1 & 0x04 != 0;
    let mut i = 2;
    let mut au_size = 0usize;
    loop {
        let b = *d.get(i)?;
        i += 1;
        au_size = au_size.checked_add(usize::from(b))?;
        if b != 0xFF {
            break;
        }
    }
    if start_trim {
        i += 2;
    }
    if end_trim {
        i += 2;
    }
    if ext {
        let n = *d.get(i)?;
        i += 1 + usize::from(n);
    }
    if i > d.len() {
        return None;
    }
    Some(OpusControl {
        header_len: i,
        au_size,
    })
}

/// Appends an `opus_control_header` for a packet of `au_size` bytes.
pub(crate) fn put_opus_control(out: &mut bytes::BytesMut, au_size: usize) {
    out.extend_from_slice(&[0x7F, 0xE0]);
    let mut n = au_size;
    while n >= 255 {
        out.extend_from_slice(&[0xFF]);
        n -= 255;
    }
    out.extend_from_slice(&[n as u8]);
}

/// Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 §3.1).
pub(crate) fn opus_packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let count = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3F),
    };
    Some(frame * count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_control_roundtrip() {
        for size in [0usize, 1, 254, 255, 256, 1000] {
            let mut out = bytes::BytesMut::new();
            put_opus_control(&mut out, size);
            assert_eq!(out.len(), 3 + size / 255);
            let c = parse_opus_control(&out).unwrap();
            assert_eq!((c.header_len, c.au_size), (out.len(), size));
        }
    }

    #[test]
    fn opus_durations() {
        assert_eq!(opus_packet_samples(&[0xFC]), Some(960)); // CELT 20 ms, code 0
        assert_eq!(opus_packet_samples(&[0x79]), Some(1920)); // hybrid 20 ms, code 1: 2 frames
        assert_eq!(opus_packet_samples(&[0x0B, 0x03]), Some(3 * 960)); // SILK 20 ms, code 3: 3 frames
    }
}
