//! A bounds-checked cursor shared by the AMF0 and AMF3 decoders.

use crate::{DecodeLimits, Error, Result};

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) limits: DecodeLimits,
    elements: usize,
    string_bytes: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], limits: DecodeLimits) -> Self {
        Reader {
            buf,
            pos: 0,
            limits,
            elements: 0,
            string_bytes: 0,
            depth: 0,
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(Error::Truncated {
                offset: self.pos,
                what,
                needed: n - self.remaining(),
            }),
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        let b = self.take(1, what)?;
        Ok(b.first().copied().unwrap_or(0))
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16> {
        let b = self.take(2, what)?;
        let mut a = [0u8; 2];
        a.copy_from_slice(b);
        Ok(u16::from_be_bytes(a))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32> {
        let b = self.take(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }

    pub(crate) fn f64(&mut self, what: &'static str) -> Result<f64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_be_bytes(a))
    }

    /// Reads `len` bytes as a string, charging them to the string budget.
    /// Invalid UTF-8 (seen from some legacy encoders in metadata) is replaced, not rejected.
    pub(crate) fn string(&mut self, len: usize, what: &'static str) -> Result<String> {
        let start = self.pos;
        let bytes = self.take(len, what)?;
        self.charge_string(len, start)?;
        Ok(match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        })
    }

    pub(crate) fn charge_string(&mut self, len: usize, offset: usize) -> Result<()> {
        self.string_bytes = self.string_bytes.saturating_add(len);
        if self.string_bytes > self.limits.max_string_bytes {
            return Err(Error::StringBytesLimit {
                limit: self.limits.max_string_bytes,
                offset,
            });
        }
        Ok(())
    }

    pub(crate) fn charge_elements(&mut self, n: usize) -> Result<()> {
        self.elements = self.elements.saturating_add(n);
        if self.elements > self.limits.max_elements {
            return Err(Error::ElementLimit {
                limit: self.limits.max_elements,
                offset: self.pos,
            });
        }
        Ok(())
    }

    pub(crate) fn elements(&self) -> usize {
        self.elements
    }

    pub(crate) fn string_bytes(&self) -> usize {
        self.string_bytes
    }

    pub(crate) fn enter(&mut self) -> Result<()> {
        if self.depth >= self.limits.max_depth {
            return Err(Error::DepthLimit {
                limit: self.limits.max_depth,
                offset: self.pos,
            });
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// A capacity hint for a declared element count that never exceeds what the
    /// remaining input could possibly hold.
    pub(crate) fn capacity_hint(&self, declared: usize, min_bytes_each: usize) -> usize {
        declared
            .min(self.remaining() / min_bytes_each.max(1))
            .min(1024)
    }
}
