//! The 9-byte FLV file header (FLV spec v10.1, annex E.2).

use bytes::{BufMut, BytesMut};

use crate::{Error, Result};

/// Size of the FLV header as written by every muxer (`DataOffset` = 9).
pub const HEADER_LEN: usize = 9;

/// The FLV file header: signature `FLV`, version, stream flags and data offset.
///
/// ```
/// use weir_flv::FlvHeader;
/// let h = FlvHeader::new(true, true);
/// let bytes = h.to_bytes();
/// assert_eq!(&bytes[..4], b"FLV\x01");
/// assert_eq!(FlvHeader::parse(&bytes).unwrap(), h);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlvHeader {
    /// Version byte (1 for every FLV in existence).
    pub version: u8,
    /// `TypeFlagsAudio`: audio tags are present.
    pub has_audio: bool,
    /// `TypeFlagsVideo`: video tags are present.
    pub has_video: bool,
    /// Offset of the first PreviousTagSize field from the start of the file (9 in practice).
    pub data_offset: u32,
}

impl FlvHeader {
    /// A version-1 header with `DataOffset` 9.
    pub const fn new(has_audio: bool, has_video: bool) -> FlvHeader {
        FlvHeader {
            version: 1,
            has_audio,
            has_video,
            data_offset: HEADER_LEN as u32,
        }
    }

    /// Parses the first 9 bytes of `data`. The version byte is not checked (some encoders
    /// write 0), nor are the reserved flag bits; the signature and a `DataOffset` of at least
    /// 9 are.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadSignature`], [`Error::BadDataOffset`].
    pub fn parse(data: &[u8]) -> Result<FlvHeader> {
        let h: &[u8; HEADER_LEN] = data
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::Truncated {
                what: "FLV header",
                needed: HEADER_LEN,
                available: data.len(),
            })?;
        if &h[..3] != b"FLV" {
            return Err(Error::BadSignature {
                found: [h[0], h[1], h[2]],
            });
        }
        let data_offset = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
        if data_offset < HEADER_LEN as u32 {
            return Err(Error::BadDataOffset {
                offset: data_offset,
                limit: u32::MAX,
            });
        }
        Ok(FlvHeader {
            version: h[3],
            has_audio: h[4] & 0x04 != 0,
            has_video: h[4] & 0x01 != 0,
            data_offset,
        })
    }

    /// The 9 header bytes (with `DataOffset` as stored; write any extra header bytes yourself
    /// if it is above 9).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let o = self.data_offset.to_be_bytes();
        let flags = (u8::from(self.has_audio) << 2) | u8::from(self.has_video);
        [
            b'F',
            b'L',
            b'V',
            self.version,
            flags,
            o[0],
            o[1],
            o[2],
            o[3],
        ]
    }

    /// Appends the header followed by `PreviousTagSize0` (four zero bytes): everything that
    /// precedes the first tag of a file or an HTTP-FLV response. `DataOffset` is written as 9.
    pub fn write_with_first_tag_size(&self, out: &mut BytesMut) {
        let mut h = *self;
        h.data_offset = HEADER_LEN as u32;
        out.reserve(HEADER_LEN + 4);
        out.put_slice(&h.to_bytes());
        out.put_u32(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let h = FlvHeader::parse(b"FLV\x01\x05\x00\x00\x00\x09").unwrap();
        assert!(h.has_audio && h.has_video);
        let h = FlvHeader::parse(b"FLV\x01\x01\x00\x00\x00\x09").unwrap();
        assert!(!h.has_audio && h.has_video);
        assert_eq!(h.to_bytes(), *b"FLV\x01\x01\x00\x00\x00\x09");
    }

    #[test]
    fn errors() {
        assert!(matches!(
            FlvHeader::parse(b"FLX\x01\x05\x00\x00\x00\x09"),
            Err(Error::BadSignature { .. })
        ));
        assert!(matches!(
            FlvHeader::parse(b"FLV\x01\x05\x00\x00\x00\x08"),
            Err(Error::BadDataOffset { offset: 8, .. })
        ));
        assert!(matches!(
            FlvHeader::parse(b"FLV\x01"),
            Err(Error::Truncated {
                needed: 9,
                available: 4,
                ..
            })
        ));
    }

    #[test]
    fn write_with_pts0() {
        let mut out = BytesMut::new();
        FlvHeader::new(true, false).write_with_first_tag_size(&mut out);
        assert_eq!(&out[..], b"FLV\x01\x04\x00\x00\x00\x09\x00\x00\x00\x00");
    }
}
