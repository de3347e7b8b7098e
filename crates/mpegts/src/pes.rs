//! PES packet headers (ISO/IEC 13818-1 §2.4.3.6–2.4.3.7), shared by transport and program
//! streams, with 33-bit PTS/DTS.

use bytes::{BufMut, BytesMut};

use crate::Error;

/// PTS/DTS are 33-bit counters of a 90 kHz clock.
pub const TIMESTAMP_MASK: u64 = (1 << 33) - 1;

/// stream_id of the program stream map.
pub const STREAM_ID_PSM: u8 = 0xBC;
/// stream_id of private_stream_1.
pub const STREAM_ID_PRIVATE_1: u8 = 0xBD;
/// stream_id of padding.
pub const STREAM_ID_PADDING: u8 = 0xBE;
/// stream_id of private_stream_2.
pub const STREAM_ID_PRIVATE_2: u8 = 0xBF;
/// First stream_id of the MPEG audio range (0xC0–0xDF).
pub const STREAM_ID_AUDIO: u8 = 0xC0;
/// First stream_id of the MPEG video range (0xE0–0xEF).
pub const STREAM_ID_VIDEO: u8 = 0xE0;

/// True when PES packets of `stream_id` carry the optional header with PTS/DTS
/// (false for PSM, padding, private_stream_2, ECM, EMM, directory, DSM-CC and H.222.1
/// type E, Table 2-21).
pub fn has_optional_header(stream_id: u8) -> bool {
    !matches!(
        stream_id,
        0xBC | 0xBE | 0xBF | 0xF0 | 0xF1 | 0xFF | 0xF2 | 0xF8
    )
}

/// A parsed PES header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PesHeader {
    /// stream_id.
    pub stream_id: u8,
    /// PES_packet_length: bytes after this field; 0 = unbounded (video in TS, and real
    /// devices in PS).
    pub packet_length: u16,
    /// PTS (33 bits), when present.
    pub pts: Option<u64>,
    /// DTS (33 bits), when present.
    pub dts: Option<u64>,
    /// data_alignment_indicator.
    pub data_alignment: bool,
    /// Bytes from the start code to the first payload byte.
    pub header_len: usize,
}

impl PesHeader {
    /// Total packet size (header + payload) when the length field is non-zero.
    pub fn total_len(&self) -> Option<usize> {
        (self.packet_length != 0).then(|| 6 + usize::from(self.packet_length))
    }
}

/// Decodes a 5-byte PTS/DTS field (marker bits are not checked: real muxers get them wrong).
#[inline]
pub fn decode_timestamp(b: &[u8; 5]) -> u64 {
    (u64::from(b[0] >> 1) & 7) << 30
        | u64::from(b[1]) << 22
        | (u64::from(b[2]) >> 1) << 15
        | u64::from(b[3]) << 7
        | u64::from(b[4]) >> 1
}

/// Encodes a 33-bit timestamp (higher bits dropped) with the 4-bit `prefix`
/// (`0b0010` PTS only, `0b0011` PTS followed by DTS, `0b0001` DTS).
#[inline]
pub fn encode_timestamp(prefix: u8, ts: u64) -> [u8; 5] {
    let ts = ts & TIMESTAMP_MASK;
    [
        (prefix << 4) | (((ts >> 30) as u8 & 7) << 1) | 1,
        (ts >> 22) as u8,
        ((ts >> 14) as u8 & 0xFE) | 1,
        (ts >> 7) as u8,
        ((ts << 1) as u8) | 1,
    ]
}

fn bad(what: &'static str) -> Error {
    Error::PesHeader { what }
}

fn ts_at(data: &[u8], at: usize) -> Result<u64, Error> {
    let b: &[u8; 5] = data
        .get(at..at + 5)
        .and_then(|s| s.try_into().ok())
        .ok_or(bad("timestamp past end of header"))?;
    Ok(decode_timestamp(b))
}

/// Parses a PES header at the start of `data` (which begins with `00 00 01`). Handles the
/// MPEG-2 syntax and the MPEG-1 syntax found in MPEG-1 program streams (§2.4.3.7 vs
/// ISO/IEC 11172-1 §2.4.3.3).
///
/// ```
/// use weir_mpegts::pes::{parse_pes_header, write_pes_header};
/// let mut out = bytes::BytesMut::new();
/// write_pes_header(&mut out, 0xE0, Some(8_589_934_591), Some(1), 100);
/// let h = parse_pes_header(&out).unwrap();
/// assert_eq!((h.pts, h.dts, h.header_len), (Some(8_589_934_591), Some(1), 19));
/// assert_eq!(h.total_len(), Some(19 + 100));
/// ```
///
/// # Errors
/// [`Error::PesHeader`] when the start code is wrong or the header is cut short.
pub fn parse_pes_header(data: &[u8]) -> Result<PesHeader, Error> {
    let h = data.get(..6).ok_or(bad("shorter than 6 bytes"))?;
    if h[..3] != [0, 0, 1] {
        return Err(bad("no 00 00 01 start code"));
    }
    let stream_id = h[3];
    let packet_length = u16::from_be_bytes([h[4], h[5]]);
    let mut out = PesHeader {
        stream_id,
        packet_length,
        pts: None,
        dts: None,
        data_alignment: false,
        header_len: 6,
    };
    if !has_optional_header(stream_id) {
        return Ok(out);
    }
    let b6 = *data.get(6).ok_or(bad("optional header missing"))?;
    if b6 & 0xC0 == 0x80 {
        // MPEG-2 syntax.
        let flags = *data.get(7).ok_or(bad("optional header missing"))?;
        let hdl = usize::from(*data.get(8).ok_or(bad("optional header missing"))?);
        out.header_len = 9 + hdl;
        out.data_alignment = b6 & 0x04 != 0;
        match flags >> 6 {
            0b10 if hdl >= 5 => out.pts = Some(ts_at(data, 9)?),
            0b11 if hdl >= 10 => {
                out.pts = Some(ts_at(data, 9)?);
                out.dts = Some(ts_at(data, 14)?);
            }
            0b10 | 0b11 => return Err(bad("PTS_DTS_flags set but header too short")),
            _ => {}
        }
    } else {
        // MPEG-1 syntax: up to 16 stuffing bytes, optional STD buffer, then timestamps.
        let mut i = 6;
        let mut stuffing = 0;
        while data.get(i) == Some(&0xFF) {
            i += 1;
            stuffing += 1;
            if stuffing > 16 {
                return Err(bad("more than 16 MPEG-1 stuffing bytes"));
            }
        }
        let mut b = *data.get(i).ok_or(bad("MPEG-1 header cut short"))?;
        if b & 0xC0 == 0x40 {
            i += 2;
            b = *data.get(i).ok_or(bad("MPEG-1 header cut short"))?;
        }
        match b >> 4 {
            0b0010 => {
                out.pts = Some(ts_at(data, i)?);
                i += 5;
            }
            0b0011 => {
                out.pts = Some(ts_at(data, i)?);
                out.dts = Some(ts_at(data, i + 5)?);
                i += 10;
            }
            _ if b == 0x0F => i += 1,
            _ => return Err(bad("bad MPEG-1 PES header byte")),
        }
        out.header_len = i;
    }
    if packet_length != 0 && out.header_len > 6 + usize::from(packet_length) {
        return Err(bad("header longer than PES_packet_length"));
    }
    Ok(out)
}

/// Size of the header [`write_pes_header`] writes.
pub fn pes_header_len(pts: Option<u64>, dts: Option<u64>) -> usize {
    9 + if pts.is_some() { 5 } else { 0 } + if pts.is_some() && dts.is_some() { 5 } else { 0 }
}

/// Appends an MPEG-2 PES header for a payload of `payload_len` bytes. A DTS is written
/// only with a PTS and only when it differs from it. PES_packet_length is 0 (unbounded)
/// when the packet would exceed 65535 bytes. Returns the header size.
pub fn write_pes_header(
    out: &mut BytesMut,
    stream_id: u8,
    pts: Option<u64>,
    dts: Option<u64>,
    payload_len: usize,
) -> usize {
    let dts = match (pts, dts) {
        (Some(p), Some(d)) if (p & TIMESTAMP_MASK) != (d & TIMESTAMP_MASK) => Some(d),
        _ => None,
    };
    let hlen = pes_header_len(pts, dts);
    let after_len = hlen - 6 + payload_len;
    let packet_length = u16::try_from(after_len).unwrap_or(0);
    out.put_slice(&[0, 0, 1, stream_id]);
    out.put_u16(packet_length);
    out.put_u8(0x84); // '10', not scrambled, data_alignment_indicator = 1
    let flags = match (pts, dts) {
        (Some(_), Some(_)) => 0xC0,
        (Some(_), None) => 0x80,
        _ => 0,
    };
    out.put_u8(flags);
    out.put_u8((hlen - 9) as u8);
    match (pts, dts) {
        (Some(p), Some(d)) => {
            out.put_slice(&encode_timestamp(0b0011, p));
            out.put_slice(&encode_timestamp(0b0001, d));
        }
        (Some(p), None) => out.put_slice(&encode_timestamp(0b0010, p)),
        _ => {}
    }
    hlen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_roundtrip() {
        for ts in [0, 1, 90_000, TIMESTAMP_MASK, 0x1_2345_6789 & TIMESTAMP_MASK] {
            assert_eq!(decode_timestamp(&encode_timestamp(2, ts)), ts);
        }
    }

    #[test]
    fn mpeg1_header() {
        // 00 00 01 C0 len, 2 stuffing, STD buffer, PTS.
        let mut d = vec![0, 0, 1, 0xC0, 0, 20, 0xFF, 0xFF, 0x40, 0x20];
        d.extend_from_slice(&encode_timestamp(2, 12345));
        let h = parse_pes_header(&d).unwrap();
        assert_eq!(h.pts, Some(12345));
        assert_eq!(h.header_len, 15);
    }

    #[test]
    fn truncated_headers_are_errors() {
        let mut out = BytesMut::new();
        write_pes_header(&mut out, 0xE0, Some(1), Some(0), 0);
        for n in 0..out.len() {
            assert!(parse_pes_header(&out[..n]).is_err(), "{n}");
        }
    }
}
