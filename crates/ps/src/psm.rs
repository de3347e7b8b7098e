//! Program stream map (ISO/IEC 13818-1 §2.5.4) and the pack / system headers
//! (§2.5.3.3–2.5.3.6).

use bytes::{BufMut, Bytes, BytesMut};
use weir_mpegts::crc32_mpeg2;

use crate::Error;

/// One elementary stream entry of a PSM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PsmEntry {
    /// stream_type (Table 2-34; GB/T 28181 adds 0x80 SVAC, 0x90 G.711A, 0x91 G.711U, …).
    pub stream_type: u8,
    /// elementary_stream_id (the PES stream_id).
    pub stream_id: u8,
    /// Raw elementary stream descriptors.
    pub descriptors: Bytes,
}

/// A program stream map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Psm {
    /// program_stream_map_version (0–31).
    pub version: u8,
    /// current_next_indicator.
    pub current: bool,
    /// Raw program stream descriptors.
    pub info: Bytes,
    /// The elementary streams.
    pub streams: Vec<PsmEntry>,
    /// Whether the CRC_32 matched (many GB28181 devices write zero or garbage there, so a
    /// mismatch is tolerated and only recorded).
    pub crc_ok: bool,
}

impl Psm {
    /// Parses a complete PSM packet starting with `00 00 01 BC`.
    ///
    /// # Errors
    /// [`Error::Psm`] when a length field runs past the packet.
    pub fn parse(p: &[u8]) -> Result<Psm, Error> {
        let bad = |what| Error::Psm { what };
        let h = p.get(..10).ok_or(bad("shorter than 10 bytes"))?;
        if h[..4] != [0, 0, 1, 0xBC] {
            return Err(bad("no 00 00 01 BC start code"));
        }
        let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
        let pkt = p
            .get(..6 + len)
            .ok_or(bad("program_stream_map_length past end"))?;
        let current = h[6] & 0x80 != 0;
        let version = h[6] & 0x1F;
        let info_len = usize::from(u16::from_be_bytes([h[8], h[9]]));
        let info = pkt
            .get(10..10 + info_len)
            .ok_or(bad("program_stream_info_length past end"))?;
        let at = 10 + info_len;
        let ml = pkt
            .get(at..at + 2)
            .ok_or(bad("elementary_stream_map_length missing"))?;
        let map_len = usize::from(u16::from_be_bytes([ml[0], ml[1]]));
        let mut rest = pkt
            .get(at + 2..at + 2 + map_len)
            .ok_or(bad("elementary_stream_map_length past end"))?;
        let mut streams = Vec::new();
        while rest.len() >= 4 {
            let es_len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            let desc = rest
                .get(4..4 + es_len)
                .ok_or(bad("elementary_stream_info_length past end"))?;
            streams.push(PsmEntry {
                stream_type: rest[0],
                stream_id: rest[1],
                descriptors: Bytes::copy_from_slice(desc),
            });
            rest = &rest[4 + es_len..];
        }
        let crc_ok = pkt.len() >= 4 && crc32_mpeg2(pkt) == 0;
        Ok(Psm {
            version,
            current,
            info: Bytes::copy_from_slice(info),
            streams,
            crc_ok,
        })
    }

    /// Appends the PSM packet (with a correct CRC_32).
    pub fn write(&self, out: &mut BytesMut) {
        let start = out.len();
        let map_len: usize = self.streams.iter().map(|s| 4 + s.descriptors.len()).sum();
        let len = 2 + 2 + self.info.len() + 2 + map_len + 4;
        out.put_slice(&[0, 0, 1, 0xBC]);
        out.put_u16(len as u16);
        out.put_u8(0x80 | 0x60 | (self.version & 0x1F));
        out.put_u8(0xFF); // reserved + marker
        out.put_u16(self.info.len() as u16);
        out.put_slice(&self.info);
        out.put_u16(map_len as u16);
        for s in &self.streams {
            out.put_u8(s.stream_type);
            out.put_u8(s.stream_id);
            out.put_u16(s.descriptors.len() as u16);
            out.put_slice(&s.descriptors);
        }
        let crc = crc32_mpeg2(&out[start..]);
        out.put_u32(crc);
    }
}

/// A pack header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PackHeader {
    /// MPEG-1 (ISO/IEC 11172-1) form rather than MPEG-2.
    pub mpeg1: bool,
    /// system_clock_reference in 27 MHz ticks (MPEG-1: 90 kHz base × 300).
    pub scr: u64,
    /// program_mux_rate in units of 50 bytes/s.
    pub mux_rate: u32,
    /// Total header size including stuffing.
    pub len: usize,
}

/// Parses a pack header at the start of `p` (`00 00 01 BA`). `Ok(None)` when more bytes are
/// needed.
///
/// # Errors
/// [`Error::PackHeader`] (with offset 0) when it is neither form.
pub fn parse_pack_header(p: &[u8]) -> Result<Option<PackHeader>, Error> {
    let Some(&b4) = p.get(4) else { return Ok(None) };
    if b4 >> 6 == 0b01 {
        let Some(h) = p.get(..14) else {
            return Ok(None);
        };
        let stuffing = usize::from(h[13] & 7);
        if p.len() < 14 + stuffing {
            return Ok(None);
        }
        let base = (u64::from(h[4] & 0x38) << 27)
            | (u64::from(h[4] & 0x03) << 28)
            | (u64::from(h[5]) << 20)
            | (u64::from(h[6] & 0xF8) << 12)
            | (u64::from(h[6] & 0x03) << 13)
            | (u64::from(h[7]) << 5)
            | (u64::from(h[8]) >> 3);
        let ext = (u64::from(h[8] & 0x03) << 7) | (u64::from(h[9]) >> 1);
        let mux_rate = (u32::from(h[10]) << 14) | (u32::from(h[11]) << 6) | (u32::from(h[12]) >> 2);
        Ok(Some(PackHeader {
            mpeg1: false,
            scr: base * 300 + ext,
            mux_rate,
            len: 14 + stuffing,
        }))
    } else if b4 >> 4 == 0b0010 {
        let Some(h) = p.get(..12) else {
            return Ok(None);
        };
        let base = (u64::from(h[4] & 0x0E) << 29)
            | (u64::from(h[5]) << 22)
            | (u64::from(h[6] >> 1) << 15)
            | (u64::from(h[7]) << 7)
            | (u64::from(h[8]) >> 1);
        let mux_rate =
            (u32::from(h[9] & 0x7F) << 15) | (u32::from(h[10]) << 7) | (u32::from(h[11]) >> 1);
        Ok(Some(PackHeader {
            mpeg1: true,
            scr: base * 300,
            mux_rate,
            len: 12,
        }))
    } else {
        Err(Error::PackHeader {
            offset: 0,
            what: "neither the MPEG-2 '01' nor the MPEG-1 '0010' form",
        })
    }
}

/// Appends an MPEG-2 pack header (no stuffing) with SCR = `scr_90k` × 300.
pub fn write_pack_header(out: &mut BytesMut, scr_90k: u64, mux_rate: u32) {
    let b = scr_90k & ((1 << 33) - 1);
    out.put_slice(&[0, 0, 1, 0xBA]);
    out.put_u8(0x40 | (((b >> 30) as u8 & 7) << 3) | 0x04 | ((b >> 28) as u8 & 3));
    out.put_u8((b >> 20) as u8);
    out.put_u8((((b >> 15) as u8 & 0x1F) << 3) | 0x04 | ((b >> 13) as u8 & 3));
    out.put_u8((b >> 5) as u8);
    out.put_u8(((b as u8 & 0x1F) << 3) | 0x04); // SCR_ext high bits = 0
    out.put_u8(0x01); // SCR_ext low bits = 0, marker
    let r = mux_rate & 0x3F_FFFF;
    out.put_u8((r >> 14) as u8);
    out.put_u8((r >> 6) as u8);
    out.put_u8(((r as u8) << 2) | 0x03);
    out.put_u8(0xF8); // reserved, no stuffing
}

/// Appends a system header (§2.5.3.5) listing `streams` as (stream_id, is_video).
pub fn write_system_header(out: &mut BytesMut, rate_bound: u32, streams: &[(u8, bool)]) {
    let audio = streams.iter().filter(|s| !s.1).count().min(32) as u8;
    let video = streams.iter().filter(|s| s.1).count().min(16) as u8;
    out.put_slice(&[0, 0, 1, 0xBB]);
    out.put_u16((6 + 3 * streams.len()) as u16);
    let r = rate_bound & 0x3F_FFFF;
    out.put_u8(0x80 | (r >> 15) as u8);
    out.put_u8((r >> 7) as u8);
    out.put_u8(((r as u8) << 1) | 1);
    out.put_u8(audio << 2); // fixed_flag 0, CSPS_flag 0
    out.put_u8(0xC0 | 0x20 | (video & 0x1F)); // audio/video lock, marker
    out.put_u8(0x7F); // packet_rate_restriction 0, reserved
    for &(id, is_video) in streams {
        out.put_u8(id);
        // P-STD buffer: video 1024 × 1 KiB units, audio 32 × 128-byte units.
        if is_video {
            out.put_u16(0xE000 | 1024);
        } else {
            out.put_u16(0xC000 | 32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_header_roundtrip() {
        let mut out = BytesMut::new();
        write_pack_header(&mut out, 0x1_2345_6789, 12345);
        let h = parse_pack_header(&out).unwrap().unwrap();
        assert_eq!(h.scr, 0x1_2345_6789 * 300);
        assert_eq!(h.mux_rate, 12345);
        assert_eq!(h.len, 14);
        assert_eq!(parse_pack_header(&out[..10]).unwrap(), None);
    }

    #[test]
    fn pack_header_stuffing_and_mpeg1() {
        let mut out = BytesMut::new();
        write_pack_header(&mut out, 90_000, 100);
        out[13] = 0xF8 | 3;
        out.extend_from_slice(&[0xFF; 3]);
        let h = parse_pack_header(&out).unwrap().unwrap();
        assert_eq!((h.len, h.scr, h.mpeg1), (17, 90_000 * 300, false));
        assert_eq!(parse_pack_header(&out[..15]).unwrap(), None);
        // MPEG-1: '0010' SCR[32..30] 1, SCR 90000 = 0x15F90.
        let scr: u64 = 90_000;
        let m1 = [
            0,
            0,
            1,
            0xBA,
            0x21 | (((scr >> 30) as u8 & 7) << 1),
            (scr >> 22) as u8,
            ((scr >> 14) as u8) | 1,
            (scr >> 7) as u8,
            ((scr << 1) as u8) | 1,
            0x80,
            0x01,
            0x01,
        ];
        let h = parse_pack_header(&m1).unwrap().unwrap();
        assert_eq!((h.len, h.scr, h.mpeg1), (12, scr * 300, true));
        assert!(parse_pack_header(&[0, 0, 1, 0xBA, 0x00]).is_err());
    }

    #[test]
    fn psm_roundtrip() {
        let psm = Psm {
            version: 3,
            current: true,
            info: Bytes::new(),
            streams: vec![
                PsmEntry {
                    stream_type: 0x24,
                    stream_id: 0xE0,
                    descriptors: Bytes::new(),
                },
                PsmEntry {
                    stream_type: 0x0F,
                    stream_id: 0xC0,
                    descriptors: Bytes::from_static(&[1, 2]),
                },
            ],
            crc_ok: true,
        };
        let mut out = BytesMut::new();
        psm.write(&mut out);
        assert_eq!(Psm::parse(&out).unwrap(), psm);
        let n = out.len();
        out[n - 1] ^= 1;
        assert!(!Psm::parse(&out).unwrap().crc_ok);
    }
}
