//! Writing boxes into a `BytesMut`: open a box, write its fields and children, close it
//! (which patches the 32-bit size).

use bytes::{BufMut, BytesMut};

use super::FourCc;

/// The start of an open box, returned by [`BoxWriter::open`].
#[derive(Copy, Clone, Debug)]
#[must_use = "close the box with BoxWriter::close"]
pub(crate) struct Mark(usize);

/// Thin helpers over `BytesMut` for building boxes.
pub(crate) struct BoxWriter<'a> {
    pub(crate) buf: &'a mut BytesMut,
}

impl<'a> BoxWriter<'a> {
    pub(crate) fn new(buf: &'a mut BytesMut) -> BoxWriter<'a> {
        BoxWriter { buf }
    }

    /// Starts a box: a size placeholder and the type.
    pub(crate) fn open(&mut self, fourcc: FourCc) -> Mark {
        let m = Mark(self.buf.len());
        self.buf.put_u32(0);
        self.buf.put_slice(&fourcc.0);
        m
    }

    /// Starts a full box (§4.2): header, version, flags.
    pub(crate) fn open_full(&mut self, fourcc: FourCc, version: u8, flags: u32) -> Mark {
        let m = self.open(fourcc);
        self.buf
            .put_u32(u32::from(version) << 24 | (flags & 0x00FF_FFFF));
        m
    }

    /// Ends a box by writing its size. Boxes built in memory stay far below 4 GiB: the
    /// muxers bound the sample count (and so every table) by their configured limits.
    pub(crate) fn close(&mut self, mark: Mark) {
        let size = u32::try_from(self.buf.len() - mark.0).unwrap_or(u32::MAX);
        if let Some(dst) = self.buf.get_mut(mark.0..mark.0 + 4) {
            dst.copy_from_slice(&size.to_be_bytes());
        }
    }

    /// A whole box holding `payload`.
    pub(crate) fn leaf(&mut self, fourcc: FourCc, payload: &[u8]) {
        let m = self.open(fourcc);
        self.buf.put_slice(payload);
        self.close(m);
    }

    /// Current length of the buffer (absolute position of the next byte).
    pub(crate) fn pos(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.put_u8(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.put_u16(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.put_u32(v);
    }
    pub(crate) fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.put_u64(v);
    }
    pub(crate) fn zeros(&mut self, n: usize) {
        self.buf.put_bytes(0, n);
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.buf.put_slice(b);
    }

    /// The unity transformation matrix of `mvhd`/`tkhd` (§8.2.2.3).
    pub(crate) fn unity_matrix(&mut self) {
        for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            self.u32(v);
        }
    }

    /// Overwrites a big-endian `u32` at absolute position `at` (for offsets patched after
    /// the fact, such as `trun`'s `data_offset`).
    pub(crate) fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(dst) = self.buf.get_mut(at..at + 4) {
            dst.copy_from_slice(&v.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sizes() {
        let mut buf = BytesMut::new();
        let mut w = BoxWriter::new(&mut buf);
        let outer = w.open(FourCc(*b"moov"));
        let inner = w.open_full(FourCc(*b"mvhd"), 1, 0x000102);
        w.u8(7);
        w.close(inner);
        w.close(outer);
        assert_eq!(
            &buf[..],
            &[
                0, 0, 0, 21, b'm', b'o', b'o', b'v', 0, 0, 0, 13, b'm', b'v', b'h', b'd', 1, 0, 1,
                2, 7
            ]
        );
    }
}
