//! MSB-first bit reading and writing, with the Exp-Golomb codes of H.264/H.265 (9.1) and
//! the fixed-width fields of AAC.
//!
//! ```
//! use weir_media::bits::{BitReader, BitWriter};
//! let mut w = BitWriter::new();
//! w.write_bits(0b101, 3);
//! w.write_ue(7);
//! w.write_se(-2);
//! let bytes = w.finish();
//! let mut r = BitReader::new(&bytes);
//! assert_eq!(r.read_bits(3).unwrap(), 0b101);
//! assert_eq!(r.read_ue().unwrap(), 7);
//! assert_eq!(r.read_se().unwrap(), -2);
//! ```

use crate::Error;

/// Reads bits MSB-first from a byte slice. Reads past the end return
/// [`Error::BitsExhausted`]; the reader never panics.
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Bit position.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader { data, pos: 0 }
    }

    /// Bits consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bits not yet consumed.
    pub fn bits_left(&self) -> usize {
        (self.data.len() * 8).saturating_sub(self.pos)
    }

    /// True at a byte boundary.
    pub fn is_byte_aligned(&self) -> bool {
        self.pos % 8 == 0
    }

    /// Skips to the next byte boundary.
    pub fn byte_align(&mut self) {
        self.pos = self.pos.div_ceil(8) * 8;
    }

    /// The bytes from the current (byte-aligned or not, rounded up) position to the end.
    pub fn remaining_bytes(&self) -> &'a [u8] {
        self.data.get(self.pos.div_ceil(8)..).unwrap_or(&[])
    }

    fn need(&self, n: usize) -> Result<(), Error> {
        if n > self.bits_left() {
            Err(Error::BitsExhausted {
                position: self.pos,
                needed: n,
            })
        } else {
            Ok(())
        }
    }

    /// One bit.
    pub fn read_bit(&mut self) -> Result<bool, Error> {
        self.need(1)?;
        let byte = self.data[self.pos / 8];
        let bit = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// One bit as a flag (`u(1)`); alias of [`BitReader::read_bit`].
    pub fn read_flag(&mut self) -> Result<bool, Error> {
        self.read_bit()
    }

    /// `n` bits (0 to 64) as an unsigned number.
    pub fn read_bits(&mut self, n: u32) -> Result<u64, Error> {
        if n > 64 {
            return Err(Error::TooManyBits { requested: n });
        }
        self.need(n as usize)?;
        let mut value: u64 = 0;
        let mut left = n;
        while left > 0 {
            let byte = self.data[self.pos / 8];
            let offset = (self.pos % 8) as u32;
            let avail = 8 - offset;
            let take = avail.min(left);
            let chunk = (u32::from(byte) >> (avail - take)) & ((1u32 << take) - 1);
            value = (value << take) | u64::from(chunk);
            self.pos += take as usize;
            left -= take;
        }
        Ok(value)
    }

    /// `n` bits (0 to 32) as a `u32`.
    pub fn read_u32(&mut self, n: u32) -> Result<u32, Error> {
        if n > 32 {
            return Err(Error::TooManyBits { requested: n });
        }
        Ok(self.read_bits(n)? as u32)
    }

    /// 8 bits.
    pub fn read_u8(&mut self) -> Result<u8, Error> {
        Ok(self.read_bits(8)? as u8)
    }

    /// Skips `n` bits.
    pub fn skip_bits(&mut self, n: usize) -> Result<(), Error> {
        self.need(n)?;
        self.pos += n;
        Ok(())
    }

    /// An unsigned Exp-Golomb code `ue(v)` (H.264 9.1). Codes longer than 32 bits of
    /// prefix (values above `u32::MAX`) are rejected.
    pub fn read_ue(&mut self) -> Result<u32, Error> {
        let start = self.pos;
        let mut zeros = 0u32;
        while !self.read_bit()? {
            zeros += 1;
            if zeros > 31 {
                return Err(Error::ExpGolombTooLong { position: start });
            }
        }
        let rest = self.read_bits(zeros)?;
        // (1 << zeros) - 1 + rest ≤ 2^32 - 2 for zeros ≤ 31.
        Ok(((1u64 << zeros) - 1 + rest) as u32)
    }

    /// A signed Exp-Golomb code `se(v)` (H.264 9.1.1).
    pub fn read_se(&mut self) -> Result<i32, Error> {
        let k = i64::from(self.read_ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }

    /// `more_rbsp_data()` (H.264 7.2): true if anything other than the RBSP stop bit and
    /// trailing zero bits remains.
    pub fn more_rbsp_data(&self) -> bool {
        let Some(last_one) = self.data.iter().rposition(|&b| b != 0) else {
            return false;
        };
        let last = self.data[last_one];
        // Bit index of the stop bit (the last 1 bit).
        let stop = last_one * 8 + 7 - last.trailing_zeros() as usize;
        self.pos < stop
    }
}

/// Writes bits MSB-first into a growing byte vector.
#[derive(Clone, Debug, Default)]
pub struct BitWriter {
    out: Vec<u8>,
    /// Bits used in the last byte (0 = byte aligned).
    used: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> BitWriter {
        BitWriter::default()
    }

    /// Bits written so far.
    pub fn bit_len(&self) -> usize {
        self.out.len() * 8
            - if self.used == 0 {
                0
            } else {
                8 - self.used as usize
            }
    }

    /// Writes one bit.
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Writes the low `n` bits (`n` clamped to 64) of `value`.
    pub fn write_bits(&mut self, value: u64, n: u32) {
        let n = n.min(64);
        let mut left = n;
        while left > 0 {
            if self.used == 0 {
                self.out.push(0);
            }
            let room = 8 - self.used;
            let take = room.min(left);
            let chunk = ((value >> (left - take)) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.out.last_mut() {
                *last |= chunk << (room - take);
            }
            self.used = (self.used + take) % 8;
            left -= take;
        }
    }

    /// Writes `ue(v)`.
    pub fn write_ue(&mut self, value: u32) {
        let v = u64::from(value) + 1;
        let len = 64 - v.leading_zeros(); // bits in v
        self.write_bits(0, len - 1);
        self.write_bits(v, len);
    }

    /// Writes `se(v)`.
    pub fn write_se(&mut self, value: i32) {
        let v = i64::from(value);
        let k = if v > 0 { 2 * v - 1 } else { -2 * v };
        self.write_ue(k as u32);
    }

    /// Pads with zero bits to a byte boundary.
    pub fn byte_align_zero(&mut self) {
        self.used = 0;
    }

    /// Writes `rbsp_trailing_bits()`: a one bit, then zeros to a byte boundary.
    pub fn write_rbsp_trailing_bits(&mut self) {
        self.write_bit(true);
        self.byte_align_zero();
    }

    /// The bytes written (a partial last byte padded with zeros).
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// An error from [`SyntaxReader`]: which structure and syntax element failed, and how.
/// Codec crates convert it into their own error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// The bit-level read failed (truncation, an over-long Exp-Golomb code).
    Bits {
        /// The structure being parsed (`"SPS"`, `"PPS"`, …).
        structure: &'static str,
        /// The syntax element.
        field: &'static str,
        /// The bit-level error.
        source: Error,
    },
    /// A value outside its allowed range.
    OutOfRange {
        /// The structure being parsed.
        structure: &'static str,
        /// The syntax element.
        field: &'static str,
        /// The value read.
        value: i64,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
}

/// A [`BitReader`] that names the structure and syntax element on every error, for
/// parameter-set and header parsers (H.264/H.265 SPS, PPS, VPS, slice headers, SEI).
///
/// ```
/// use weir_media::bits::{SyntaxError, SyntaxReader};
/// let mut r = SyntaxReader::new(&[0b1000_0000], "SPS");
/// assert_eq!(r.ue("seq_parameter_set_id").unwrap(), 0);
/// assert!(matches!(r.ue_max("log2_max_frame_num_minus4", 12), Err(SyntaxError::Bits { field: "log2_max_frame_num_minus4", .. })));
/// ```
#[derive(Clone, Debug)]
pub struct SyntaxReader<'a> {
    /// The underlying bit reader.
    pub bits: BitReader<'a>,
    /// The structure being parsed, reported in errors.
    pub structure: &'static str,
}

impl<'a> SyntaxReader<'a> {
    /// A reader over `data` (an RBSP: emulation prevention already removed).
    pub fn new(data: &'a [u8], structure: &'static str) -> SyntaxReader<'a> {
        SyntaxReader {
            bits: BitReader::new(data),
            structure,
        }
    }

    fn wrap(&self, field: &'static str) -> impl FnOnce(Error) -> SyntaxError {
        let structure = self.structure;
        move |source| SyntaxError::Bits {
            structure,
            field,
            source,
        }
    }

    /// `u(n)`, n ≤ 32.
    pub fn u(&mut self, n: u32, field: &'static str) -> Result<u32, SyntaxError> {
        let w = self.wrap(field);
        self.bits.read_u32(n).map_err(w)
    }

    /// `u(8)`.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, SyntaxError> {
        Ok(self.u(8, field)? as u8)
    }

    /// `u(1)` as a flag.
    pub fn flag(&mut self, field: &'static str) -> Result<bool, SyntaxError> {
        let w = self.wrap(field);
        self.bits.read_bit().map_err(w)
    }

    /// Skips `n` bits.
    pub fn skip(&mut self, n: usize, field: &'static str) -> Result<(), SyntaxError> {
        let w = self.wrap(field);
        self.bits.skip_bits(n).map_err(w)
    }

    /// `ue(v)`.
    pub fn ue(&mut self, field: &'static str) -> Result<u32, SyntaxError> {
        let w = self.wrap(field);
        self.bits.read_ue().map_err(w)
    }

    /// `ue(v)` with an inclusive upper bound.
    pub fn ue_max(&mut self, field: &'static str, max: u32) -> Result<u32, SyntaxError> {
        let v = self.ue(field)?;
        if v > max {
            return Err(self.range(field, i64::from(v), 0, i64::from(max)));
        }
        Ok(v)
    }

    /// `se(v)`.
    pub fn se(&mut self, field: &'static str) -> Result<i32, SyntaxError> {
        let w = self.wrap(field);
        self.bits.read_se().map_err(w)
    }

    /// `se(v)` with inclusive bounds.
    pub fn se_range(
        &mut self,
        field: &'static str,
        min: i32,
        max: i32,
    ) -> Result<i32, SyntaxError> {
        let v = self.se(field)?;
        if v < min || v > max {
            return Err(self.range(field, i64::from(v), i64::from(min), i64::from(max)));
        }
        Ok(v)
    }

    /// An [`SyntaxError::OutOfRange`] for `field` of this structure.
    pub fn range(&self, field: &'static str, value: i64, min: i64, max: i64) -> SyntaxError {
        SyntaxError::OutOfRange {
            structure: self.structure,
            field,
            value,
            min,
            max,
        }
    }

    /// `more_rbsp_data()`.
    pub fn more_rbsp_data(&self) -> bool {
        self.bits.more_rbsp_data()
    }
}
