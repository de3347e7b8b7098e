//! Reading boxes: headers, children, fields. Every read is bounds-checked and every error
//! names the box and the file offset.

use super::FourCc;
use crate::error::{Error, Result};

/// A parsed box header (ISO/IEC 14496-12 §4.2: `size`, `type`, optional `largesize`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BoxHeader {
    /// The box type.
    pub fourcc: FourCc,
    /// Header bytes: 8, or 16 with a 64-bit `largesize`.
    pub header_len: u8,
    /// Total size including the header; `None` for `size == 0`: the box extends to the end
    /// of its container (for a top-level box, the end of the file).
    pub size: Option<u64>,
}

impl BoxHeader {
    /// Parses the header at the start of `data`; `offset` is its file offset (for errors).
    /// `Ok(None)` when `data` is too short to hold the whole header.
    ///
    /// # Errors
    /// [`Error::BadBoxSize`] when the size is smaller than the header.
    pub fn parse(data: &[u8], offset: u64) -> Result<Option<BoxHeader>> {
        let (Some(size), Some(fourcc)) = (data.get(..4), data.get(4..8)) else {
            return Ok(None);
        };
        let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
        let fourcc = FourCc([fourcc[0], fourcc[1], fourcc[2], fourcc[3]]);
        let (header_len, size) = match size {
            0 => (8u8, None),
            1 => {
                let Some(large) = data.get(8..16) else {
                    return Ok(None);
                };
                let mut b = [0u8; 8];
                b.copy_from_slice(large);
                (16, Some(u64::from_be_bytes(b)))
            }
            n => (8, Some(u64::from(n))),
        };
        if let Some(s) = size {
            if s < u64::from(header_len) {
                return Err(Error::BadBoxSize {
                    fourcc,
                    offset,
                    size: s,
                });
            }
        }
        Ok(Some(BoxHeader {
            fourcc,
            header_len,
            size,
        }))
    }

    /// Payload bytes (size minus header), when the size is known.
    pub fn payload_len(&self) -> Option<u64> {
        self.size
            .map(|s| s.saturating_sub(u64::from(self.header_len)))
    }
}

/// One box inside a container, as yielded by [`Children`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Child<'a> {
    /// The box type.
    pub fourcc: FourCc,
    /// File offset of the box (its header).
    pub offset: u64,
    /// File offset of the payload.
    pub body_offset: u64,
    /// The payload (the box minus its header).
    pub body: &'a [u8],
}

/// Iterates over the boxes packed in a container's payload. A box whose size runs past the
/// payload ends the iteration with [`Error::Truncated`]; trailing bytes too few for a box
/// header (some muxers pad containers with up to 7 zero bytes) are ignored.
#[derive(Clone, Debug)]
pub struct Children<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    done: bool,
}

impl<'a> Children<'a> {
    /// Boxes in `data`, whose first byte is at file offset `base`.
    pub fn new(data: &'a [u8], base: u64) -> Children<'a> {
        Children {
            data,
            pos: 0,
            base,
            done: false,
        }
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Child<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.data.get(self.pos..)?;
        let offset = self.base.saturating_add(self.pos as u64);
        let header = match BoxHeader::parse(rest, offset) {
            Ok(Some(h)) => h,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let hl = usize::from(header.header_len);
        let size = match header.size {
            None => rest.len(),
            Some(s) => match usize::try_from(s).ok().filter(|&s| s <= rest.len()) {
                Some(s) => s,
                None => {
                    self.done = true;
                    return Some(Err(Error::Truncated {
                        fourcc: header.fourcc,
                        field: "box",
                        offset,
                        needed: s,
                        available: rest.len() as u64,
                    }));
                }
            },
        };
        let body = rest.get(hl..size).unwrap_or(&[]);
        self.pos = self.pos.saturating_add(size);
        Some(Ok(Child {
            fourcc: header.fourcc,
            offset,
            body_offset: offset.saturating_add(hl as u64),
            body,
        }))
    }
}

/// A bounds-checked big-endian field reader over one box's payload.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    fourcc: FourCc,
    base: u64,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], fourcc: FourCc, base: u64) -> Cursor<'a> {
        Cursor {
            data,
            pos: 0,
            fourcc,
            base,
        }
    }

    pub(crate) fn of(child: &Child<'a>) -> Cursor<'a> {
        Cursor::new(child.body, child.fourcc, child.body_offset)
    }

    pub(crate) fn fourcc(&self) -> FourCc {
        self.fourcc
    }

    /// File offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base.saturating_add(self.pos as u64)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        match self
            .pos
            .checked_add(n)
            .and_then(|end| self.data.get(self.pos..end))
        {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(Error::Truncated {
                fourcc: self.fourcc,
                field,
                offset: self.offset(),
                needed: n as u64,
                available: self.remaining() as u64,
            }),
        }
    }

    pub(crate) fn skip(&mut self, n: usize, field: &'static str) -> Result<()> {
        self.take(n, field).map(|_| ())
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// `version` (8 bits) and `flags` (24 bits) of a full box (§4.2).
    pub(crate) fn full_header(&mut self) -> Result<(u8, u32)> {
        let v = self.u32("version/flags")?;
        Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
    }

    /// A 32-bit value for version 0, 64-bit for version 1.
    pub(crate) fn u32_or_u64(&mut self, version: u8, field: &'static str) -> Result<u64> {
        if version == 1 {
            self.u64(field)
        } else {
            self.u32(field).map(u64::from)
        }
    }

    /// The error for a field whose value is unusable.
    pub(crate) fn invalid(&self, field: &'static str, value: u64) -> Error {
        Error::InvalidField {
            fourcc: self.fourcc,
            field,
            offset: self.base,
            value,
        }
    }

    /// Checks an entry count against the bytes left: `count * entry_size` must fit.
    /// Rejects counts that would make a caller allocate more than the box holds.
    pub(crate) fn check_count(
        &self,
        count: u64,
        entry_size: usize,
        field: &'static str,
    ) -> Result<usize> {
        let need = count.checked_mul(entry_size as u64);
        match need {
            Some(n) if n <= self.remaining() as u64 => Ok(count as usize),
            _ => Err(Error::Truncated {
                fourcc: self.fourcc,
                field,
                offset: self.offset(),
                needed: need.unwrap_or(u64::MAX),
                available: self.remaining() as u64,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(BoxHeader::parse(&[0, 0, 0, 8, b'f'], 0).unwrap(), None);
        let large = [0, 0, 0, 1, b'm', b'd', b'a', b't', 0, 0, 0, 1, 0, 0, 0, 0];
        let h = BoxHeader::parse(&large, 0).unwrap().unwrap();
        assert_eq!((h.header_len, h.size), (16, Some(1 << 32)));
        assert_eq!(BoxHeader::parse(&large[..12], 0).unwrap(), None);
        let to_end = [0, 0, 0, 0, b'm', b'd', b'a', b't'];
        assert_eq!(BoxHeader::parse(&to_end, 0).unwrap().unwrap().size, None);
        assert!(matches!(
            BoxHeader::parse(&[0, 0, 0, 7, b'f', b'r', b'e', b'e'], 40),
            Err(Error::BadBoxSize {
                offset: 40,
                size: 7,
                ..
            })
        ));
    }

    #[test]
    fn children_bounds() {
        let data = [
            0, 0, 0, 9, b'a', b'b', b'c', b'd', 1, 0, 0, 0, 20, b'e', b'f', b'g', b'h',
        ];
        let mut it = Children::new(&data, 100);
        let a = it.next().unwrap().unwrap();
        assert_eq!((a.offset, a.body_offset, a.body), (100, 108, &[1u8][..]));
        assert!(matches!(
            it.next(),
            Some(Err(Error::Truncated { offset: 109, .. }))
        ));
        assert!(it.next().is_none());
        // Padding shorter than a header is ignored.
        assert_eq!(Children::new(&[0, 0, 0], 0).count(), 0);
    }

    #[test]
    fn cursor_counts() {
        let c = Cursor::new(&[0; 16], FourCc(*b"stsz"), 0);
        assert_eq!(c.check_count(4, 4, "entries").unwrap(), 4);
        assert!(c.check_count(5, 4, "entries").is_err());
        assert!(c.check_count(u64::MAX, 8, "entries").is_err());
    }
}
