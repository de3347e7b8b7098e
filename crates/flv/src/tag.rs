//! FLV tags: the 11-byte tag header, the tag body and the PreviousTagSize trailer
//! (FLV spec v10.1, annex E.4.1).

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Error, Result};

/// Size of a tag header.
pub const TAG_HEADER_LEN: usize = 11;
/// Size of the PreviousTagSize field that follows every tag.
pub const PREVIOUS_TAG_SIZE_LEN: usize = 4;
/// The largest body the 24-bit DataSize field can describe.
pub const MAX_BODY_LEN: usize = 0xFF_FFFF;

/// What a tag carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TagType {
    /// Audio (8).
    Audio,
    /// Video (9).
    Video,
    /// Script data, e.g. `onMetaData` (18).
    Script,
}

impl TagType {
    /// The 5-bit wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            TagType::Audio => 8,
            TagType::Video => 9,
            TagType::Script => 18,
        }
    }

    /// Maps a wire value; `None` for anything but 8, 9 and 18.
    pub const fn from_u8(v: u8) -> Option<TagType> {
        match v {
            8 => Some(TagType::Audio),
            9 => Some(TagType::Video),
            18 => Some(TagType::Script),
            _ => None,
        }
    }
}

/// A parsed tag header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagHeader {
    /// The tag type.
    pub tag_type: TagType,
    /// Size of the body that follows the header.
    pub data_size: u32,
    /// Decoding timestamp in milliseconds (`Timestamp` | `TimestampExtended << 24`).
    pub timestamp: u32,
    /// StreamID (always 0 in files written to spec; not checked by [`TagHeader::parse`]).
    pub stream_id: u32,
}

impl TagHeader {
    /// Parses an 11-byte tag header. `offset` is only used in errors.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::EncryptedTag`] (Filter bit set),
    /// [`Error::UnknownTagType`].
    pub fn parse(data: &[u8], offset: u64) -> Result<TagHeader> {
        let h: &[u8; TAG_HEADER_LEN] = data
            .get(..TAG_HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::Truncated {
            what: "FLV tag header",
            needed: TAG_HEADER_LEN,
            available: data.len(),
        })?;
        // Byte 0: Reserved(2) Filter(1) TagType(5). Reserved bits are ignored, as ffmpeg does.
        if h[0] & 0x20 != 0 {
            return Err(Error::EncryptedTag { offset });
        }
        let raw_type = h[0] & 0x1F;
        let tag_type = TagType::from_u8(raw_type).ok_or(Error::UnknownTagType {
            tag_type: raw_type,
            offset,
        })?;
        Ok(TagHeader {
            tag_type,
            data_size: u32::from_be_bytes([0, h[1], h[2], h[3]]),
            timestamp: u32::from_be_bytes([h[7], h[4], h[5], h[6]]),
            stream_id: u32::from_be_bytes([0, h[8], h[9], h[10]]),
        })
    }

    /// The 11 header bytes. The body size must already be known to fit 24 bits; use
    /// [`tag_header`] for a checked constructor.
    pub fn to_bytes(&self) -> [u8; TAG_HEADER_LEN] {
        let s = self.data_size.to_be_bytes();
        let t = self.timestamp.to_be_bytes();
        let id = self.stream_id.to_be_bytes();
        [
            self.tag_type.to_u8(),
            s[1],
            s[2],
            s[3],
            t[1],
            t[2],
            t[3],
            t[0],
            id[1],
            id[2],
            id[3],
        ]
    }
}

/// Builds a tag header for a body of `body_len` bytes (stream id 0).
///
/// This is the per-subscriber part of write-once fan-out: build the body once, then give each
/// HTTP-FLV subscriber `tag_header(..)` with its own (rebased) timestamp, the shared body and
/// [`previous_tag_size`] in one vectored write.
///
/// # Errors
/// [`Error::BodyTooLarge`] if `body_len` exceeds 24 bits.
pub fn tag_header(
    tag_type: TagType,
    body_len: usize,
    timestamp: u32,
) -> Result<[u8; TAG_HEADER_LEN]> {
    if body_len > MAX_BODY_LEN {
        return Err(Error::BodyTooLarge { size: body_len });
    }
    Ok(TagHeader {
        tag_type,
        data_size: body_len as u32,
        timestamp,
        stream_id: 0,
    }
    .to_bytes())
}

/// The PreviousTagSize trailer for a tag whose body is `body_len` bytes: `11 + body_len`.
pub fn previous_tag_size(body_len: usize) -> [u8; PREVIOUS_TAG_SIZE_LEN] {
    let v = u32::try_from(body_len.saturating_add(TAG_HEADER_LEN)).unwrap_or(u32::MAX);
    v.to_be_bytes()
}

/// One FLV tag: type, timestamp and body. The body is a zero-copy slice of the input when read,
/// and is what an RTMP audio/video/data message carries unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The tag type.
    pub tag_type: TagType,
    /// Decoding timestamp in milliseconds (32 bits as on the wire; it wraps after ~49.7 days).
    pub timestamp: u32,
    /// The tag body (audio/video tag header + payload, or AMF0 script data).
    pub body: Bytes,
}

impl Tag {
    /// A tag.
    pub fn new(tag_type: TagType, timestamp: u32, body: Bytes) -> Tag {
        Tag {
            tag_type,
            timestamp,
            body,
        }
    }

    /// Bytes this tag takes on the wire including header and PreviousTagSize.
    pub fn wire_len(&self) -> usize {
        TAG_HEADER_LEN + self.body.len() + PREVIOUS_TAG_SIZE_LEN
    }

    /// Appends header, body and PreviousTagSize to `out`.
    ///
    /// # Errors
    /// [`Error::BodyTooLarge`].
    pub fn write(&self, out: &mut BytesMut) -> Result<()> {
        let header = tag_header(self.tag_type, self.body.len(), self.timestamp)?;
        out.reserve(self.wire_len());
        out.put_slice(&header);
        out.put_slice(&self.body);
        out.put_slice(&previous_tag_size(self.body.len()));
        Ok(())
    }

    /// The whole tag (header, body, PreviousTagSize) as one shared buffer, built once and
    /// cloned cheaply to every HTTP-FLV subscriber that uses the stream's own timestamps.
    ///
    /// # Errors
    /// [`Error::BodyTooLarge`].
    pub fn to_wire(&self) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(self.wire_len());
        self.write(&mut out)?;
        Ok(out.freeze())
    }

    /// The three pieces of this tag for a vectored write without copying the body:
    /// header (with `timestamp` in place of the tag's own, for per-subscriber rebasing),
    /// body, trailer.
    ///
    /// # Errors
    /// [`Error::BodyTooLarge`].
    pub fn wire_parts(
        &self,
        timestamp: u32,
    ) -> Result<([u8; TAG_HEADER_LEN], Bytes, [u8; PREVIOUS_TAG_SIZE_LEN])> {
        Ok((
            tag_header(self.tag_type, self.body.len(), timestamp)?,
            self.body.clone(),
            previous_tag_size(self.body.len()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        // Video, 0x000102 bytes, timestamp 0x0A0B0C0D (extended byte 0x0A goes last).
        let h = TagHeader {
            tag_type: TagType::Video,
            data_size: 0x102,
            timestamp: 0x0A0B_0C0D,
            stream_id: 0,
        };
        let b = h.to_bytes();
        assert_eq!(b, [9, 0, 1, 2, 0x0B, 0x0C, 0x0D, 0x0A, 0, 0, 0]);
        assert_eq!(TagHeader::parse(&b, 0).unwrap(), h);
    }

    #[test]
    fn header_errors() {
        assert!(matches!(
            TagHeader::parse(&[7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 13),
            Err(Error::UnknownTagType {
                tag_type: 7,
                offset: 13
            })
        ));
        assert!(matches!(
            TagHeader::parse(&[0x29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0),
            Err(Error::EncryptedTag { .. })
        ));
        assert!(matches!(
            TagHeader::parse(&[9, 0], 0),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            tag_header(TagType::Audio, MAX_BODY_LEN + 1, 0),
            Err(Error::BodyTooLarge { .. })
        ));
    }

    #[test]
    fn wire() {
        let t = Tag::new(TagType::Audio, 5, Bytes::from_static(&[0xAF, 1, 0x21]));
        let w = t.to_wire().unwrap();
        assert_eq!(
            &w[..],
            &[8, 0, 0, 3, 0, 0, 5, 0, 0, 0, 0, 0xAF, 1, 0x21, 0, 0, 0, 14]
        );
        let (h, body, trailer) = t.wire_parts(1).unwrap();
        assert_eq!(h[6], 1);
        assert_eq!(body, t.body);
        assert_eq!(trailer, [0, 0, 0, 14]);
    }
}
