//! Minimal private parsers for the audio framings no other Weir crate covers: MPEG-1/2
//! audio frame headers (ISO/IEC 11172-3 §2.4.2.3, 13818-3) and the Opus-in-TS control
//! header (the Opus mapping for MPEG-TS, `opus_control_header`) plus the Opus TOC
//! duration (RFC 6716 §3.1).

/// What an MPEG audio frame header says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct MpaHeader {
    /// Whole frame size in bytes (header included).
    pub frame_len: usize,
    /// PCM samples per frame.
    pub samples: u32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: u8,
}

const BITRATES_V1: [[u16; 15]; 3] = [
    // Layer I
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    // Layer II
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    // Layer III
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
const BITRATES_V2: [[u16; 15]; 2] = [
    // Layer I
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    // Layers II and III
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// Parses a 4-byte MPEG audio header. `None` for anything that is not a valid header
/// (no sync, reserved values, free-format bitrate).
pub(crate) fn parse_mpa_header(h: &[u8]) -> Option<MpaHeader> {
    let h: [u8; 4] = h.get(..4)?.try_into().ok()?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 0 = 2.5, 2 = 2, 3 = 1
    let layer = (h[1] >> 1) & 3; // 1 = III, 2 = II, 3 = I
    if version == 1 || layer == 0 {
        return None;
    }
    let br_index = usize::from(h[2] >> 4);
    let sr_index = usize::from((h[2] >> 2) & 3);
    if br_index == 0 || br_index == 15 || sr_index == 3 {
        return None;
    }
    let padding = u32::from((h[2] >> 1) & 1);
    let channels = if h[3] >> 6 == 3 { 1 } else { 2 };
    let layer_idx = usize::from(3 - layer); // 0 = I, 1 = II, 2 = III
    let kbps = u32::from(if version == 3 {
        BITRATES_V1[layer_idx][br_index]
    } else {
        BITRATES_V2[usize::from(layer_idx != 0)][br_index]
    });
    let base_rate = [44_100u32, 48_000, 32_000][sr_index];
    let sample_rate = match version {
        3 => base_rate,
        2 => base_rate / 2,
        _ => base_rate / 4,
    };
    let bitrate = kbps * 1000;
    let (frame_len, samples) = match layer_idx {
        0 => ((12 * bitrate / sample_rate + padding) * 4, 384),
        1 => (144 * bitrate / sample_rate + padding, 1152),
        _ if version == 3 => (144 * bitrate / sample_rate + padding, 1152),
        _ => (72 * bitrate / sample_rate + padding, 576),
    };
    if frame_len < 4 {
        return None;
    }
    Some(MpaHeader {
        frame_len: frame_len as usize,
        samples,
        sample_rate,
        channels,
    })
}

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
    fn mp2_header() {
        // MPEG-1 layer II, 128 kbit/s, 44.1 kHz, stereo.
        let h = parse_mpa_header(&[0xFF, 0xFD, 0x80, 0x00]).unwrap();
        assert_eq!(h.frame_len, 417);
        assert_eq!(h.samples, 1152);
        assert_eq!(h.sample_rate, 44_100);
        // Same at 48 kHz.
        let h = parse_mpa_header(&[0xFF, 0xFD, 0x84, 0x00]).unwrap();
        assert_eq!((h.frame_len, h.sample_rate), (384, 48_000));
        assert!(parse_mpa_header(&[0xFF, 0xFD, 0xF4, 0x00]).is_none());
    }

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
