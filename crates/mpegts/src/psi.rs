//! Program-specific information (ISO/IEC 13818-1 §2.4.4): section framing with CRC_32,
//! reassembly of sections across packets, and the PAT and PMT tables.

use bytes::{BufMut, Bytes, BytesMut};

use crate::crc::crc32_mpeg2;
use crate::Error;

/// table_id of the program association table.
pub const TABLE_PAT: u8 = 0x00;
/// table_id of the TS program map table.
pub const TABLE_PMT: u8 = 0x02;
/// Largest section the 12-bit `section_length` allows (3 + 4093 bytes for private
/// sections; PAT/PMT are limited to 1024 bytes by §2.4.4.4).
pub const MAX_SECTION: usize = 3 + 4093;

/// One PSI section, borrowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section<'a> {
    /// table_id.
    pub table_id: u8,
    /// section_syntax_indicator: the long form with version/number fields and CRC_32.
    pub long_form: bool,
    /// transport_stream_id (PAT) or program_number (PMT); 0 for short sections.
    pub table_id_extension: u16,
    /// version_number (0–31).
    pub version: u8,
    /// current_next_indicator.
    pub current: bool,
    /// section_number.
    pub section_number: u8,
    /// last_section_number.
    pub last_section_number: u8,
    /// The table body: after the long-form header, before the CRC.
    pub body: &'a [u8],
}

/// Parses one section starting at `data[0]` (the table_id), checking the CRC_32 of long
/// sections. Returns the section and its total length in bytes.
///
/// # Errors
/// [`Error::SectionTruncated`], [`Error::SectionTooLong`] or [`Error::SectionCrc`].
pub fn parse_section(data: &[u8]) -> Result<(Section<'_>, usize), Error> {
    let head = data.get(..3).ok_or(Error::SectionTruncated {
        needed: 3,
        available: data.len(),
    })?;
    let table_id = head[0];
    let long_form = head[1] & 0x80 != 0;
    let section_length = (usize::from(head[1] & 0x0F) << 8) | usize::from(head[2]);
    let total = 3 + section_length;
    if total > MAX_SECTION {
        return Err(Error::SectionTooLong {
            length: total,
            limit: MAX_SECTION,
        });
    }
    let sec = data.get(..total).ok_or(Error::SectionTruncated {
        needed: total,
        available: data.len(),
    })?;
    if !long_form {
        return Ok((
            Section {
                table_id,
                long_form,
                table_id_extension: 0,
                version: 0,
                current: true,
                section_number: 0,
                last_section_number: 0,
                body: &sec[3..],
            },
            total,
        ));
    }
    // 5 bytes of long header + 4 bytes of CRC.
    if section_length < 9 {
        return Err(Error::SectionTruncated {
            needed: 12,
            available: total,
        });
    }
    let computed = crc32_mpeg2(&sec[..total - 4]);
    let stored = u32::from_be_bytes([
        sec[total - 4],
        sec[total - 3],
        sec[total - 2],
        sec[total - 1],
    ]);
    if computed != stored {
        return Err(Error::SectionCrc {
            table_id,
            stored,
            computed,
        });
    }
    Ok((
        Section {
            table_id,
            long_form,
            table_id_extension: u16::from_be_bytes([sec[3], sec[4]]),
            version: (sec[5] >> 1) & 0x1F,
            current: sec[5] & 1 != 0,
            section_number: sec[6],
            last_section_number: sec[7],
            body: &sec[8..total - 4],
        },
        total,
    ))
}

/// Reassembles sections of one PID from packet payloads (§2.4.4.1–2.4.4.2: `pointer_field`,
/// sections spanning packets, several sections per packet, 0xFF stuffing).
#[derive(Debug, Default)]
pub struct SectionAssembler {
    buf: Vec<u8>,
    /// Total length of the section being assembled, once its header is in.
    need: Option<usize>,
    active: bool,
}

impl SectionAssembler {
    /// A fresh assembler.
    pub fn new() -> SectionAssembler {
        SectionAssembler::default()
    }

    /// Drops a partly assembled section (after packet loss).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.need = None;
        self.active = false;
    }

    /// Feeds one packet payload; complete raw sections (header through CRC) are passed to
    /// `out`. Sections are not validated here: pass them to [`parse_section`].
    pub fn push(&mut self, unit_start: bool, payload: &[u8], mut out: impl FnMut(&[u8])) {
        if !unit_start {
            if self.active {
                self.append(payload, &mut out);
            }
            return;
        }
        let Some((&pointer, rest)) = payload.split_first() else {
            self.reset();
            return;
        };
        let pointer = usize::from(pointer);
        let Some(tail) = rest.get(..pointer) else {
            // The pointer points outside the packet: damaged.
            self.reset();
            return;
        };
        if self.active {
            self.append(tail, &mut out);
        }
        self.reset();
        let mut rest = &rest[pointer..];
        // New sections start here, back to back, until stuffing.
        while let Some(&first) = rest.first() {
            if first == 0xFF {
                break;
            }
            if rest.len() < 3 {
                self.buf.extend_from_slice(rest);
                self.active = true;
                return;
            }
            let total = 3 + ((usize::from(rest[1] & 0x0F) << 8) | usize::from(rest[2]));
            if rest.len() >= total {
                out(&rest[..total]);
                rest = &rest[total..];
            } else {
                self.buf.extend_from_slice(rest);
                self.need = Some(total);
                self.active = true;
                return;
            }
        }
    }

    fn append(&mut self, data: &[u8], out: &mut impl FnMut(&[u8])) {
        self.buf.extend_from_slice(data);
        if self.need.is_none() && self.buf.len() >= 3 {
            self.need =
                Some(3 + ((usize::from(self.buf[1] & 0x0F) << 8) | usize::from(self.buf[2])));
        }
        if let Some(need) = self.need {
            if self.buf.len() >= need {
                out(&self.buf[..need]);
                self.reset();
            } else if self.buf.len() > MAX_SECTION {
                self.reset();
            }
        }
    }
}

/// One program of a PAT.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PatEntry {
    /// program_number (0 = the network information PID).
    pub program_number: u16,
    /// PID of the program's PMT (or the NIT for program 0).
    pub pid: u16,
}

/// The program association table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pat {
    /// transport_stream_id.
    pub transport_stream_id: u16,
    /// Programs in table order.
    pub programs: Vec<PatEntry>,
}

impl Pat {
    /// Reads a PAT from a parsed section.
    ///
    /// # Errors
    /// [`Error::TableSyntax`] for the wrong table_id or a body that is not whole entries.
    pub fn from_section(s: &Section<'_>) -> Result<Pat, Error> {
        if s.table_id != TABLE_PAT || !s.long_form {
            return Err(Error::TableSyntax {
                table: "PAT",
                what: "table_id is not 0 or short section",
            });
        }
        if s.body.len() % 4 != 0 {
            return Err(Error::TableSyntax {
                table: "PAT",
                what: "body is not a whole number of 4-byte entries",
            });
        }
        let programs = s
            .body
            .chunks_exact(4)
            .map(|e| PatEntry {
                program_number: u16::from_be_bytes([e[0], e[1]]),
                pid: u16::from_be_bytes([e[2] & 0x1F, e[3]]),
            })
            .collect();
        Ok(Pat {
            transport_stream_id: s.table_id_extension,
            programs,
        })
    }

    /// Appends the PAT as one section (header through CRC_32).
    pub fn write_section(&self, version: u8, out: &mut BytesMut) {
        let start = out.len();
        let body_len = self.programs.len() * 4;
        write_long_header(out, TABLE_PAT, self.transport_stream_id, version, body_len);
        for p in &self.programs {
            out.put_u16(p.program_number);
            out.put_u16(0xE000 | (p.pid & 0x1FFF));
        }
        finish_crc(out, start);
    }
}

/// One elementary stream of a PMT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmtStream {
    /// stream_type (Table 2-34).
    pub stream_type: u8,
    /// elementary_PID.
    pub pid: u16,
    /// The ES_info descriptors, raw.
    pub descriptors: Bytes,
}

impl PmtStream {
    /// Iterates the stream's descriptors as `(tag, body)`; stops at the first malformed one.
    pub fn descriptors(&self) -> Descriptors<'_> {
        Descriptors(&self.descriptors)
    }
}

/// Iterator over `(tag, body)` descriptor pairs.
#[derive(Clone, Debug)]
pub struct Descriptors<'a>(&'a [u8]);

impl<'a> Iterator for Descriptors<'a> {
    type Item = (u8, &'a [u8]);
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let body = rest.get(..usize::from(len))?;
        self.0 = &rest[usize::from(len)..];
        Some((tag, body))
    }
}

/// The TS program map table of one program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pmt {
    /// program_number.
    pub program_number: u16,
    /// PID carrying the program's PCR.
    pub pcr_pid: u16,
    /// Program-level descriptors, raw.
    pub program_info: Bytes,
    /// Elementary streams in table order.
    pub streams: Vec<PmtStream>,
}

impl Pmt {
    /// Reads a PMT from a parsed section.
    ///
    /// # Errors
    /// [`Error::TableSyntax`] when a length field runs past the body.
    pub fn from_section(s: &Section<'_>) -> Result<Pmt, Error> {
        let bad = |what| Error::TableSyntax { table: "PMT", what };
        if s.table_id != TABLE_PMT || !s.long_form {
            return Err(bad("table_id is not 2 or short section"));
        }
        let b = s.body;
        let head = b.get(..4).ok_or(bad("body shorter than 4 bytes"))?;
        let pcr_pid = u16::from_be_bytes([head[0] & 0x1F, head[1]]);
        let info_len = usize::from(u16::from_be_bytes([head[2] & 0x0F, head[3]]));
        let program_info = b
            .get(4..4 + info_len)
            .ok_or(bad("program_info_length past end"))?;
        let mut rest = &b[4 + info_len..];
        let mut streams = Vec::new();
        while !rest.is_empty() {
            let e = rest.get(..5).ok_or(bad("truncated stream entry"))?;
            let es_len = usize::from(u16::from_be_bytes([e[3] & 0x0F, e[4]]));
            let desc = rest
                .get(5..5 + es_len)
                .ok_or(bad("ES_info_length past end"))?;
            streams.push(PmtStream {
                stream_type: e[0],
                pid: u16::from_be_bytes([e[1] & 0x1F, e[2]]),
                descriptors: Bytes::copy_from_slice(desc),
            });
            rest = &rest[5 + es_len..];
        }
        Ok(Pmt {
            program_number: s.table_id_extension,
            pcr_pid,
            program_info: Bytes::copy_from_slice(program_info),
            streams,
        })
    }

    /// Appends the PMT as one section (header through CRC_32).
    pub fn write_section(&self, version: u8, out: &mut BytesMut) {
        let start = out.len();
        let body_len = 4
            + self.program_info.len()
            + self
                .streams
                .iter()
                .map(|s| 5 + s.descriptors.len())
                .sum::<usize>();
        write_long_header(out, TABLE_PMT, self.program_number, version, body_len);
        out.put_u16(0xE000 | (self.pcr_pid & 0x1FFF));
        out.put_u16(0xF000 | (self.program_info.len() as u16 & 0x0FFF));
        out.extend_from_slice(&self.program_info);
        for s in &self.streams {
            out.put_u8(s.stream_type);
            out.put_u16(0xE000 | (s.pid & 0x1FFF));
            out.put_u16(0xF000 | (s.descriptors.len() as u16 & 0x0FFF));
            out.extend_from_slice(&s.descriptors);
        }
        finish_crc(out, start);
    }
}

fn write_long_header(out: &mut BytesMut, table_id: u8, ext: u16, version: u8, body_len: usize) {
    // section_length counts from after itself: 5 header bytes + body + 4 CRC bytes.
    let section_length = (5 + body_len + 4) as u16;
    out.put_u8(table_id);
    out.put_u16(0xB000 | (section_length & 0x0FFF));
    out.put_u16(ext);
    out.put_u8(0xC0 | ((version & 0x1F) << 1) | 1);
    out.put_u8(0); // section_number
    out.put_u8(0); // last_section_number
}

fn finish_crc(out: &mut BytesMut, start: usize) {
    let crc = crc32_mpeg2(&out[start..]);
    out.put_u32(crc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pat_roundtrip_and_crc() {
        let pat = Pat {
            transport_stream_id: 1,
            programs: vec![PatEntry {
                program_number: 1,
                pid: 0x1000,
            }],
        };
        let mut out = BytesMut::new();
        pat.write_section(3, &mut out);
        assert_eq!(crc32_mpeg2(&out), 0);
        let (s, n) = parse_section(&out).unwrap();
        assert_eq!(n, out.len());
        assert_eq!(s.version, 3);
        assert_eq!(Pat::from_section(&s).unwrap(), pat);
        out[9] ^= 1;
        assert!(matches!(parse_section(&out), Err(Error::SectionCrc { .. })));
    }

    #[test]
    fn pmt_roundtrip() {
        let pmt = Pmt {
            program_number: 1,
            pcr_pid: 0x100,
            program_info: Bytes::new(),
            streams: vec![
                PmtStream {
                    stream_type: 0x1B,
                    pid: 0x100,
                    descriptors: Bytes::new(),
                },
                PmtStream {
                    stream_type: 0x06,
                    pid: 0x101,
                    descriptors: Bytes::from_static(&[0x05, 4, b'O', b'p', b'u', b's']),
                },
            ],
        };
        let mut out = BytesMut::new();
        pmt.write_section(0, &mut out);
        let (s, _) = parse_section(&out).unwrap();
        let back = Pmt::from_section(&s).unwrap();
        assert_eq!(back, pmt);
        assert_eq!(
            back.streams[1].descriptors().next(),
            Some((0x05, &b"Opus"[..]))
        );
    }

    #[test]
    fn assembler_spans_packets_and_pointer_field() {
        let mut sec = BytesMut::new();
        Pat {
            transport_stream_id: 7,
            programs: (0..60)
                .map(|i| PatEntry {
                    program_number: i + 1,
                    pid: 0x100 + i,
                })
                .collect(),
        }
        .write_section(0, &mut sec);
        assert!(sec.len() > 184);
        let mut a = SectionAssembler::new();
        let mut got = Vec::new();
        let mut first = vec![0u8];
        first.extend_from_slice(&sec[..150]);
        a.push(true, &first, |s| got.push(s.to_vec()));
        assert!(got.is_empty());
        a.push(false, &sec[150..], |s| got.push(s.to_vec()));
        assert_eq!(got, vec![sec.to_vec()]);
    }
}
