//! A bounds-checked big-endian reader over a `Bytes` range, reporting absolute offsets.

use bytes::Bytes;

use crate::error::{Error, Result};

pub(crate) struct Cursor<'a> {
    data: &'a Bytes,
    pos: usize,
    end: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    /// A cursor over `data[start..end]` (the caller guarantees `start <= end <= len`).
    pub(crate) fn new(data: &'a Bytes, start: usize, end: usize, what: &'static str) -> Self {
        let end = end.min(data.len());
        Cursor {
            data,
            pos: start.min(end),
            end,
            what,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub(crate) fn set_what(&mut self, what: &'static str) {
        self.what = what;
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let avail = self.remaining();
        if n > avail {
            return Err(Error::Truncated {
                what: self.what,
                offset: self.pos,
                needed: n,
                available: avail,
            });
        }
        let s = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or(Error::Truncated {
                what: self.what,
                offset: self.pos,
                needed: n,
                available: avail,
            })?;
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }

    /// `n` bytes as a zero-copy slice.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<Bytes> {
        let start = self.pos;
        self.take(n)?;
        Ok(self.data.slice(start..self.pos))
    }

    /// The rest as a zero-copy slice.
    pub(crate) fn rest(&mut self) -> Bytes {
        let s = self.data.slice(self.pos..self.end);
        self.pos = self.end;
        s
    }
}
