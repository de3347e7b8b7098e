//! Baseline JPEG over RTP (RFC 2435).
//!
//! RTP/JPEG sends only the entropy-coded scan plus an 8-byte header (type, Q, size), a
//! restart-marker header for types 64–127 and, for Q ≥ 128, the quantization tables. The
//! depacketizer rebuilds a complete JPEG (SOI, DQT, SOF0, DRI, DHT, SOS, scan, EOI): tables
//! for Q 1–99 come from the RFC's Appendix A scaling of the standard tables, the Huffman
//! tables are the standard ones (ITU-T T.81 K.3). The packetizer parses a baseline JPEG
//! (YUV 4:2:0 or 4:2:2 with standard Huffman tables — what the RFC can carry) and sends
//! its quantization tables as Q=255 in-band tables, or as Q 1–99 when they are exactly the
//! Appendix A tables for that Q.
//!
//! ```
//! use weir_rtp_rtcp::payload::jpeg::{parse_jpeg, quant_tables_for_q, JpegDepacketizer, JpegPacketizer};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, Packetizer, PacketizerConfig};
//! use weir_rtp_rtcp::RtpPacket;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//!
//! // A depacketized image re-packetizes to the same scan and the same Q.
//! let mut dp = JpegDepacketizer::new(DepacketizerConfig::new(90_000));
//! let mut payload = vec![0, 0, 0, 0, 1, 50, 40, 30]; // type 1 (4:2:0), Q 50, 320x240
//! payload.extend_from_slice(&[0x12, 0x34, 0x56]);  // "scan data"
//! dp.push_payload(0, 0, true, payload.into())?;
//! let frame = dp.pull().unwrap();
//! let info = parse_jpeg(&frame.data)?;
//! assert_eq!((info.width, info.height, info.jpeg_type), (320, 240, 1));
//! assert_eq!(info.luma_table(), &quant_tables_for_q(50).0[..]);
//!
//! let mut pk = JpegPacketizer::new(PacketizerConfig::new(90_000).with_payload_type(26));
//! let mut out = Vec::new();
//! pk.packetize(&frame, &mut out)?;
//! let p = RtpPacket::parse(out[0].clone())?;
//! assert_eq!(&p.payload()[..], &[0, 0, 0, 0, 1, 50, 40, 30, 0x12, 0x34, 0x56]);
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    invalid, limit_error, make_frame, truncated, Depacketizer, DepacketizerConfig, Emitter,
    FrameQueue, Packetizer, PacketizerConfig, SdpFormat, SeqCheck, SeqState,
};
use crate::Error;

/// ITU-T T.81 K.1 luminance quantization table, in zigzag order (RFC 2435 Appendix A).
const LUMA_Q: [u8; 64] = [
    16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40, 26, 24, 22, 22, 24, 49, 35, 37,
    29, 40, 58, 51, 61, 60, 57, 51, 56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81,
    87, 95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
];

/// ITU-T T.81 K.2 chrominance quantization table, in zigzag order.
const CHROMA_Q: [u8; 64] = [
    17, 18, 18, 24, 21, 24, 47, 26, 26, 47, 99, 66, 56, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

// Standard Huffman tables (ITU-T T.81 K.3): code counts per length 1..16, then values.
const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];
const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// The (luma, chroma) tables for Q 1–99 per RFC 2435 Appendix A, in zigzag order.
pub fn quant_tables_for_q(q: u8) -> ([u8; 64], [u8; 64]) {
    let factor = u32::from(q.clamp(1, 99));
    let scale = if factor < 50 {
        5000 / factor
    } else {
        200 - factor * 2
    };
    let make = |base: &[u8; 64]| {
        let mut t = [0u8; 64];
        for (o, &b) in t.iter_mut().zip(base.iter()) {
            *o = ((u32::from(b) * scale + 50) / 100).clamp(1, 255) as u8;
        }
        t
    };
    (make(&LUMA_Q), make(&CHROMA_Q))
}

fn marker_segment(out: &mut BytesMut, marker: u8, body_len: usize) {
    out.put_u8(0xff);
    out.put_u8(marker);
    out.put_u16((body_len + 2) as u16);
}

fn put_dht(out: &mut BytesMut, class_id: u8, bits: &[u8; 16], values: &[u8]) {
    marker_segment(out, 0xc4, 1 + 16 + values.len());
    out.put_u8(class_id);
    out.put_slice(bits);
    out.put_slice(values);
}

/// Writes the JPEG headers RFC 2435 Appendix B describes (plus a JFIF APP0), up to and
/// including SOS.
/// `tables` holds 64-byte (8-bit) or 128-byte (16-bit, `precision` bit set) tables.
fn write_headers(
    out: &mut BytesMut,
    jpeg_type: u8,
    width: u16,
    height: u16,
    tables: &[u8],
    precision: u8,
    restart_interval: Option<u16>,
) {
    out.put_slice(&[0xff, 0xd8]);
    // APP0 "JFIF" 1.01, aspect ratio 1:1, no thumbnail.
    marker_segment(out, 0xe0, 14);
    out.put_slice(b"JFIF\0");
    out.put_slice(&[1, 1, 0, 0, 1, 0, 1, 0, 0]);
    // DQT: one segment per table.
    let mut pos = 0;
    let mut id = 0u8;
    while pos < tables.len() && id < 4 {
        let wide = precision & (1 << id) != 0;
        let n = if wide { 128 } else { 64 };
        let Some(t) = tables.get(pos..pos + n) else {
            break;
        };
        marker_segment(out, 0xdb, 1 + n);
        out.put_u8((u8::from(wide) << 4) | id);
        out.put_slice(t);
        pos += n;
        id += 1;
    }
    let chroma_table = u8::from(id > 1);
    // SOF0.
    marker_segment(out, 0xc0, 15);
    out.put_u8(8);
    out.put_u16(height);
    out.put_u16(width);
    out.put_u8(3);
    let y_sampling = if jpeg_type & 0x3f == 0 { 0x21 } else { 0x22 };
    out.put_slice(&[
        1,
        y_sampling,
        0,
        2,
        0x11,
        chroma_table,
        3,
        0x11,
        chroma_table,
    ]);
    if let Some(ri) = restart_interval {
        marker_segment(out, 0xdd, 2);
        out.put_u16(ri);
    }
    put_dht(out, 0x00, &DC_LUMA_BITS, &DC_VALUES);
    put_dht(out, 0x10, &AC_LUMA_BITS, &AC_LUMA_VALUES);
    put_dht(out, 0x01, &DC_CHROMA_BITS, &DC_VALUES);
    put_dht(out, 0x11, &AC_CHROMA_BITS, &AC_CHROMA_VALUES);
    // SOS: three components, Y with tables 0/0, Cb and Cr with 1/1, full spectral range.
    marker_segment(out, 0xda, 10);
    out.put_slice(&[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

/// The frame being reassembled.
#[derive(Debug)]
struct JpegAu {
    ts: u32,
    jpeg_type: u8,
    width: u16,
    height: u16,
    restart_interval: Option<u16>,
    tables: Bytes,
    precision: u8,
    /// Scan bytes received contiguously from offset 0.
    scan: BytesMut,
    /// Data after a gap is no longer appended.
    broken: bool,
    lost: bool,
}

/// RTP/JPEG → complete JPEG images.
#[derive(Debug)]
pub struct JpegDepacketizer {
    cfg: DepacketizerConfig,
    seq: SeqState,
    au: Option<JpegAu>,
    /// Tables last received in band for a Q in 128..=254 (they may be sent once).
    cached_tables: Option<(u8, u8, Bytes)>,
    queue: FrameQueue,
}

impl JpegDepacketizer {
    /// A depacketizer (90 kHz clock).
    pub fn new(cfg: DepacketizerConfig) -> JpegDepacketizer {
        JpegDepacketizer {
            cfg,
            seq: SeqState::new(),
            au: None,
            cached_tables: None,
            queue: FrameQueue::new(),
        }
    }

    fn finish(&mut self) {
        let Some(au) = self.au.take() else {
            return;
        };
        let ticks = self.seq.extend_ts(au.ts);
        if au.scan.is_empty() {
            tracing::debug!(ts = au.ts, "JPEG frame lost entirely");
            return;
        }
        let mut out = BytesMut::with_capacity(au.scan.len() + 700);
        let restart = au.restart_interval;
        write_headers(
            &mut out,
            au.jpeg_type,
            au.width,
            au.height,
            &au.tables,
            au.precision,
            restart,
        );
        out.extend_from_slice(&au.scan);
        if !au.scan.ends_with(&[0xff, 0xd9]) {
            out.put_slice(&[0xff, 0xd9]);
        }
        let frame = make_frame(&self.cfg, ticks, out.freeze(), true, au.lost || au.broken);
        self.queue.push(&self.cfg, frame);
    }

    fn handle(&mut self, ts: u32, p: &Bytes) -> Result<(), Error> {
        let h = p
            .get(0..8)
            .ok_or_else(|| truncated("RTP/JPEG main header", 0, 8, p.len()))?;
        let offset = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        let jpeg_type = h[4];
        let q = h[5];
        let width = u16::from(h[6]) * 8;
        let height = u16::from(h[7]) * 8;
        let mut pos = 8;
        if jpeg_type & 0x3f > 1 || jpeg_type >= 128 {
            return Err(invalid(
                "RTP/JPEG type",
                u64::from(jpeg_type),
                "only types 0, 1, 64, 65 (YUV 4:2:2 / 4:2:0) are defined",
            ));
        }
        if width == 0 || height == 0 {
            return Err(invalid(
                "RTP/JPEG size",
                0,
                "width and height must not be 0",
            ));
        }
        let mut restart_interval = None;
        if jpeg_type >= 64 {
            let r = p
                .get(pos..pos + 4)
                .ok_or_else(|| truncated("restart marker header", pos, 4, p.len() - pos))?;
            restart_interval = Some(u16::from_be_bytes([r[0], r[1]]));
            pos += 4;
        }
        let mut tables = Bytes::new();
        let mut precision = 0;
        if offset == 0 {
            if q >= 128 {
                let qh = p
                    .get(pos..pos + 4)
                    .ok_or_else(|| truncated("quantization table header", pos, 4, p.len() - pos))?;
                precision = qh[1];
                let len = usize::from(u16::from_be_bytes([qh[2], qh[3]]));
                pos += 4;
                if len == 0 {
                    match &self.cached_tables {
                        Some((cq, cp, t)) if *cq == q && q != 255 => {
                            precision = *cp;
                            tables = t.clone();
                        }
                        _ => {
                            return Err(invalid(
                                "quantization table length",
                                0,
                                "no tables received for this Q",
                            ))
                        }
                    }
                } else {
                    let t = p
                        .get(pos..pos + len)
                        .ok_or_else(|| truncated("quantization tables", pos, len, p.len() - pos))?;
                    tables = p.slice_ref(t);
                    pos += len;
                    if q != 255 {
                        self.cached_tables = Some((q, precision, tables.clone()));
                    }
                }
            } else if q == 0 {
                return Err(invalid("RTP/JPEG Q", 0, "Q 0 is reserved"));
            } else {
                let (l, c) = quant_tables_for_q(q);
                let mut t = BytesMut::with_capacity(128);
                t.put_slice(&l);
                t.put_slice(&c);
                tables = t.freeze();
            }
        }
        let data = &p[pos..];
        match &mut self.au {
            None if offset != 0 => {
                // The first fragment of this frame was lost.
                tracing::trace!(
                    ts,
                    offset,
                    "RTP/JPEG fragment without its frame start dropped"
                );
                self.au = Some(JpegAu {
                    ts,
                    jpeg_type,
                    width,
                    height,
                    restart_interval,
                    tables,
                    precision,
                    scan: BytesMut::new(),
                    broken: true,
                    lost: true,
                });
            }
            None => {
                if data.len() > self.cfg.max_frame_size {
                    return Err(limit_error(
                        "JPEG size",
                        self.cfg.max_frame_size,
                        data.len(),
                    ));
                }
                let mut scan = BytesMut::with_capacity(data.len() * 8);
                scan.extend_from_slice(data);
                self.au = Some(JpegAu {
                    ts,
                    jpeg_type,
                    width,
                    height,
                    restart_interval,
                    tables,
                    precision,
                    scan,
                    broken: false,
                    lost: false,
                });
            }
            Some(au) => {
                if au.broken {
                    return Ok(());
                }
                if offset != au.scan.len() {
                    au.broken = true;
                    au.lost = true;
                    return Ok(());
                }
                if au.scan.len() + data.len() > self.cfg.max_frame_size {
                    let n = au.scan.len() + data.len();
                    au.broken = true;
                    au.lost = true;
                    return Err(limit_error("JPEG size", self.cfg.max_frame_size, n));
                }
                au.scan.extend_from_slice(data);
            }
        }
        Ok(())
    }
}

impl Depacketizer for JpegDepacketizer {
    fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        let gap = match self.seq.check(seq) {
            SeqCheck::Stale => return Ok(()),
            SeqCheck::Gap => true,
            SeqCheck::Next => false,
        };
        if gap {
            if let Some(au) = &mut self.au {
                au.broken = true;
                au.lost = true;
            }
        }
        if self.au.as_ref().is_some_and(|a| a.ts != ts) {
            self.finish();
        }
        let res = self.handle(ts, &payload);
        if res.is_err() {
            if let Some(au) = &mut self.au {
                au.broken = true;
                au.lost = true;
            }
        }
        if marker {
            self.finish();
        }
        res
    }

    fn pull(&mut self) -> Option<weir_media::Frame> {
        self.queue.pop()
    }

    fn flush(&mut self) {
        if let Some(au) = &mut self.au {
            au.lost = true;
        }
        self.finish();
    }
}

/// What the packetizer needs from a baseline JPEG.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JpegInfo {
    /// RTP/JPEG type: 0 (4:2:2) or 1 (4:2:0); +64 when a restart interval is set.
    pub jpeg_type: u8,
    /// Picture width in pixels.
    pub width: u16,
    /// Picture height in pixels.
    pub height: u16,
    /// The restart interval (DRI), if any.
    pub restart_interval: Option<u16>,
    /// Quantization tables used by Y then Cb/Cr (8-bit, zigzag order), 64 bytes each.
    pub tables: Vec<u8>,
    /// The entropy-coded scan data (between SOS and EOI).
    pub scan: Bytes,
}

impl JpegInfo {
    /// The luma quantization table (empty if `tables` was cut short).
    pub fn luma_table(&self) -> &[u8] {
        self.tables.get(..64).unwrap_or(&[])
    }

    /// The Q value (1–99) whose Appendix A tables equal this image's, if any.
    pub fn matching_q(&self) -> Option<u8> {
        (1..=99u8).find(|&q| {
            let (l, c) = quant_tables_for_q(q);
            self.tables.get(..64) == Some(&l[..]) && self.tables.get(64..128) == Some(&c[..])
        })
    }
}

/// Parses a baseline JPEG into what RTP/JPEG carries.
///
/// # Errors
/// Not a JPEG, not baseline, not 3-component YUV 4:2:0/4:2:2, non-standard Huffman
/// tables, 16-bit quantization tables, or a size over 2040×2040.
pub fn parse_jpeg(data: &Bytes) -> Result<JpegInfo, Error> {
    if data.get(0..2) != Some(&[0xff, 0xd8][..]) {
        return Err(invalid("JPEG SOI", 0, "image does not start with FF D8"));
    }
    let mut pos = 2;
    let mut qt: [Option<[u8; 64]>; 4] = [None; 4];
    let mut sof: Option<(u16, u16, u8, [u8; 3])> = None;
    let mut restart_interval = None;
    loop {
        // Skip fill bytes before a marker.
        while data.get(pos) == Some(&0xff) && data.get(pos + 1) == Some(&0xff) {
            pos += 1;
        }
        let m = data
            .get(pos..pos + 2)
            .ok_or_else(|| truncated("JPEG marker", pos, 2, data.len().saturating_sub(pos)))?;
        if m[0] != 0xff {
            return Err(invalid("JPEG marker", pos as u64, "FF expected"));
        }
        let marker = m[1];
        if marker == 0xd9 {
            return Err(invalid("JPEG", pos as u64, "EOI before SOS"));
        }
        let len_b = data.get(pos + 2..pos + 4).ok_or_else(|| {
            truncated(
                "JPEG segment length",
                pos + 2,
                2,
                data.len().saturating_sub(pos + 2),
            )
        })?;
        let len = usize::from(u16::from_be_bytes([len_b[0], len_b[1]]));
        if len < 2 {
            return Err(invalid("JPEG segment length", len as u64, "below 2"));
        }
        let body = data.get(pos + 4..pos + 2 + len).ok_or_else(|| {
            truncated(
                "JPEG segment",
                pos + 4,
                len - 2,
                data.len().saturating_sub(pos + 4),
            )
        })?;
        match marker {
            0xdb => {
                let mut b = body;
                while let Some((&pq_tq, rest)) = b.split_first() {
                    if pq_tq >> 4 != 0 {
                        return Err(invalid(
                            "DQT precision",
                            u64::from(pq_tq >> 4),
                            "16-bit tables are not supported",
                        ));
                    }
                    let t: [u8; 64] = rest
                        .get(..64)
                        .and_then(|s| s.try_into().ok())
                        .ok_or_else(|| truncated("DQT table", pos, 65, b.len()))?;
                    qt[usize::from(pq_tq & 3)] = Some(t);
                    b = &rest[64..];
                }
            }
            0xc0 | 0xc1 => {
                if body.len() < 15 || body[5] != 3 {
                    return Err(invalid(
                        "SOF components",
                        u64::from(body.get(5).copied().unwrap_or(0)),
                        "RTP/JPEG needs 3 components",
                    ));
                }
                let height = u16::from_be_bytes([body[1], body[2]]);
                let width = u16::from_be_bytes([body[3], body[4]]);
                let comps = &body[6..15];
                let jpeg_type = match (comps[1], comps[4], comps[7]) {
                    (0x21, 0x11, 0x11) => 0,
                    (0x22, 0x11, 0x11) => 1,
                    (s, _, _) => {
                        return Err(invalid(
                            "SOF sampling factors",
                            u64::from(s),
                            "RTP/JPEG carries YUV 4:2:2 (21) or 4:2:0 (22) only",
                        ))
                    }
                };
                sof = Some((width, height, jpeg_type, [comps[2], comps[5], comps[8]]));
            }
            0xc2..=0xcf if marker != 0xc4 && marker != 0xc8 && marker != 0xcc => {
                return Err(invalid(
                    "JPEG SOF",
                    u64::from(marker),
                    "only baseline JPEG is supported",
                ));
            }
            0xc4 => check_standard_huffman(body)?,
            0xdd if body.len() >= 2 => {
                let ri = u16::from_be_bytes([body[0], body[1]]);
                restart_interval = (ri != 0).then_some(ri);
            }
            0xda => {
                let scan_start = pos + 2 + len;
                let mut end = data.len();
                // The scan ends at the EOI at the end of the image (trailing bytes allowed).
                while end >= scan_start + 2 && data[end - 2..end] != [0xff, 0xd9] {
                    end -= 1;
                }
                if end < scan_start + 2 {
                    end = data.len();
                } else {
                    end -= 2;
                }
                let (width, height, t, tq) =
                    sof.ok_or_else(|| invalid("JPEG", pos as u64, "SOS before SOF"))?;
                if width == 0 || height == 0 || width > 2040 || height > 2040 {
                    return Err(invalid(
                        "JPEG size",
                        u64::from(width.max(height)),
                        "RTP/JPEG carries 8..=2040 pixels per side",
                    ));
                }
                let mut tables = Vec::with_capacity(128);
                for id in [tq[0], tq[1]] {
                    let t = qt.get(usize::from(id)).copied().flatten().ok_or_else(|| {
                        invalid("DQT", u64::from(id), "table used but not defined")
                    })?;
                    tables.extend_from_slice(&t);
                }
                if tq[1] != tq[2] {
                    return Err(invalid(
                        "SOF",
                        u64::from(tq[2]),
                        "Cb and Cr must share a quantization table",
                    ));
                }
                return Ok(JpegInfo {
                    jpeg_type: t + if restart_interval.is_some() { 64 } else { 0 },
                    width,
                    height,
                    restart_interval,
                    tables,
                    scan: data.slice(scan_start..end),
                });
            }
            _ => {}
        }
        pos += 2 + len;
    }
}

fn check_standard_huffman(mut body: &[u8]) -> Result<(), Error> {
    while let Some((&tc_th, rest)) = body.split_first() {
        let bits = rest
            .get(..16)
            .ok_or_else(|| truncated("DHT", 1, 16, rest.len()))?;
        let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
        let values = rest
            .get(16..16 + n)
            .ok_or_else(|| truncated("DHT values", 17, n, rest.len().saturating_sub(16)))?;
        let (sb, sv): (&[u8], &[u8]) = match tc_th {
            0x00 => (&DC_LUMA_BITS, &DC_VALUES),
            0x01 => (&DC_CHROMA_BITS, &DC_VALUES),
            0x10 => (&AC_LUMA_BITS, &AC_LUMA_VALUES),
            0x11 => (&AC_CHROMA_BITS, &AC_CHROMA_VALUES),
            _ => (&[], &[]),
        };
        if bits != sb || values != sv {
            return Err(invalid(
                "DHT",
                u64::from(tc_th),
                "RTP/JPEG carries standard Huffman tables only (encode with default tables)",
            ));
        }
        body = &rest[16 + n..];
    }
    Ok(())
}

/// Baseline JPEG images → RTP/JPEG.
#[derive(Debug)]
pub struct JpegPacketizer {
    emitter: Emitter,
}

impl JpegPacketizer {
    /// A packetizer (static payload type 26, 90 kHz).
    pub fn new(cfg: PacketizerConfig) -> JpegPacketizer {
        JpegPacketizer {
            emitter: Emitter::new(cfg),
        }
    }

    /// `a=rtpmap` for this stream.
    pub fn sdp(&self) -> SdpFormat {
        SdpFormat {
            payload_type: self.emitter.cfg.payload_type,
            rtpmap: "JPEG/90000".to_string(),
            fmtp: None,
        }
    }
}

impl Packetizer for JpegPacketizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        let info = parse_jpeg(&frame.data)?;
        let q = info.matching_q();
        let restart = info.restart_interval.is_some();
        let first_extra = if q.is_none() {
            4 + info.tables.len()
        } else {
            0
        };
        let hdr = 8 + if restart { 4 } else { 0 };
        let max = self.emitter.max_payload(hdr + first_extra + 1)?;
        let scan = &info.scan;
        if scan.len() >= 1 << 24 {
            return Err(limit_error(
                "JPEG scan size (24-bit offset)",
                (1 << 24) - 1,
                scan.len(),
            ));
        }
        self.emitter.begin_frame(
            frame.pts,
            scan.len() + (scan.len() / max + 1) * (hdr + 12) + first_extra,
        );
        let mut offset = 0usize;
        loop {
            self.emitter.begin_packet();
            self.emitter.put_u8(0);
            self.emitter.put_u8((offset >> 16) as u8);
            self.emitter.put_u16(offset as u16);
            self.emitter.put_u8(info.jpeg_type);
            self.emitter.put_u8(q.unwrap_or(255));
            self.emitter.put_u8(info.width.div_ceil(8) as u8);
            self.emitter.put_u8(info.height.div_ceil(8) as u8);
            if let Some(ri) = info.restart_interval {
                // F = L = 1, count 0x3FFF: fragments need not align with restart intervals
                // (RFC 2435 3.1.7).
                self.emitter.put_u16(ri);
                self.emitter.put_u16(0xffff);
            }
            let mut room = max - hdr;
            if offset == 0 && q.is_none() {
                self.emitter.put_u8(0);
                self.emitter.put_u8(0);
                self.emitter.put_u16(info.tables.len() as u16);
                self.emitter.put_slice(&info.tables);
                room -= first_extra;
            }
            let end = (offset + room).min(scan.len());
            self.emitter.put_slice(&scan[offset..end]);
            offset = end;
            if offset >= scan.len() {
                break;
            }
        }
        self.emitter.set_marker();
        self.emitter.finish_frame(out);
        Ok(())
    }

    fn next_sequence_number(&self) -> u16 {
        self.emitter.next_seq()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q50_is_the_standard_table() {
        let (l, c) = quant_tables_for_q(50);
        assert_eq!(l, LUMA_Q);
        assert_eq!(c, CHROMA_Q);
        let (l, _) = quant_tables_for_q(100);
        assert_eq!(l, quant_tables_for_q(99).0);
        assert!(quant_tables_for_q(99).0.iter().all(|&v| v >= 1));
    }

    #[test]
    fn huffman_tables_have_their_counts() {
        assert_eq!(
            AC_LUMA_BITS.iter().map(|&b| usize::from(b)).sum::<usize>(),
            162
        );
        assert_eq!(
            AC_CHROMA_BITS
                .iter()
                .map(|&b| usize::from(b))
                .sum::<usize>(),
            162
        );
        assert_eq!(
            DC_LUMA_BITS.iter().map(|&b| usize::from(b)).sum::<usize>(),
            12
        );
        assert_eq!(
            DC_CHROMA_BITS
                .iter()
                .map(|&b| usize::from(b))
                .sum::<usize>(),
            12
        );
    }
}
