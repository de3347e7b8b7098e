//! Pieces shared by the audio and video tag headers: the small inline header buffer and the
//! enhanced-RTMP v2 ModEx extension.

use core::ops::Deref;

use crate::{Error, Result};

/// Largest header a tag body can start with (video: byte 0, ModEx with a nanosecond offset,
/// FourCC, composition time).
pub const MAX_CODEC_HEADER_LEN: usize = 16;

/// An audio or video tag header serialised into a small inline buffer, so building a tag
/// needs no allocation besides the body itself.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct HeaderBytes {
    buf: [u8; MAX_CODEC_HEADER_LEN],
    len: u8,
}

impl HeaderBytes {
    pub(crate) const fn new() -> HeaderBytes {
        HeaderBytes {
            buf: [0; MAX_CODEC_HEADER_LEN],
            len: 0,
        }
    }

    /// Appends bytes; headers are built by this crate only and never exceed the buffer, but
    /// the check keeps that a logic error rather than a panic.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let start = self.len as usize;
        if let Some(dst) = self.buf.get_mut(start..start + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len() as u8;
        } else {
            debug_assert!(false, "codec header overflow");
        }
    }
}

impl Deref for HeaderBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.get(..self.len as usize).unwrap_or(&[])
    }
}

impl AsRef<[u8]> for HeaderBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl core::fmt::Debug for HeaderBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "HeaderBytes({:02x?})", &**self)
    }
}

/// A bounds-checked cursor over a tag body.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Cursor<'a> {
        Cursor { data, pos: 0, what }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = self.data.get(self.pos..end).unwrap_or(&[]);
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::Truncated {
                what: self.what,
                needed: self.pos.saturating_add(n),
                available: self.data.len(),
            }),
        }
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }
    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u24(&mut self) -> Result<u32> {
        let b = self.take(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
    pub(crate) fn si24(&mut self) -> Result<i32> {
        let v = self.u24()?;
        // Sign-extend from 24 bits.
        Ok(((v << 8) as i32) >> 8)
    }
    pub(crate) fn fourcc(&mut self) -> Result<[u8; 4]> {
        let b = self.take(4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }
}

/// ModEx packet type value in both the audio and the video packet-type nibble (E-RTMP v2).
pub(crate) const MOD_EX: u8 = 7;
/// ModEx type carrying a nanosecond timestamp offset (UI24).
const MOD_EX_TIMESTAMP_OFFSET_NANO: u8 = 0;
/// Largest nanosecond offset E-RTMP allows (below one millisecond).
pub(crate) const MAX_NANO_OFFSET: u32 = 999_999;

/// Reads the ModEx chain that follows a packet type of 7 and returns the real packet type and
/// the nanosecond timestamp offset (0 when absent). Unknown ModEx types are skipped, as the
/// spec asks.
pub(crate) fn read_mod_ex(c: &mut Cursor<'_>) -> Result<(u8, u32)> {
    let mut nanos = 0;
    // Each round consumes at least two bytes, so the loop ends with the body.
    loop {
        let mut size = usize::from(c.u8()?) + 1;
        if size == 256 {
            size = usize::from(c.u16()?) + 1;
        }
        let data = c.take(size)?;
        let b = c.u8()?;
        let (mod_ex_type, packet_type) = (b >> 4, b & 0x0F);
        if mod_ex_type == MOD_EX_TIMESTAMP_OFFSET_NANO {
            if let Some(d) = data.get(..3) {
                nanos = u32::from_be_bytes([0, d[0], d[1], d[2]]).min(MAX_NANO_OFFSET);
            }
        }
        if packet_type != MOD_EX {
            return Ok((packet_type, nanos));
        }
    }
}

/// Writes `first_byte_high | 7`, then a ModEx timestamp-offset entry ending in
/// `packet_type`.
pub(crate) fn write_mod_ex(h: &mut HeaderBytes, high_nibble: u8, packet_type: u8, nanos: u32) {
    let n = nanos.min(MAX_NANO_OFFSET).to_be_bytes();
    h.push(&[
        high_nibble | MOD_EX,
        2, // size - 1: three bytes of data
        n[1],
        n[2],
        n[3],
        (MOD_EX_TIMESTAMP_OFFSET_NANO << 4) | (packet_type & 0x0F),
    ]);
}

/// `AvMultitrackType` of E-RTMP v2 multitrack audio/video messages.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultitrackType {
    /// One track (with a track id) in the message.
    OneTrack,
    /// Several tracks of one codec, each with a UI24 size.
    ManyTracks,
    /// Several tracks, each with its own FourCC and a UI24 size.
    ManyTracksManyCodecs,
}

impl MultitrackType {
    pub(crate) fn from_u8(value: u8) -> Result<MultitrackType> {
        Ok(match value {
            0 => MultitrackType::OneTrack,
            1 => MultitrackType::ManyTracks,
            2 => MultitrackType::ManyTracksManyCodecs,
            value => {
                return Err(Error::UnknownPacketType {
                    what: "multitrack",
                    value,
                })
            }
        })
    }
}

/// Where the next track of a multitrack body is, shared by the audio and video iterators.
#[derive(Copy, Clone, Debug)]
pub(crate) struct MultitrackCursor {
    pub(crate) kind: MultitrackType,
    /// FourCC shared by all tracks (absent for `ManyTracksManyCodecs`).
    pub(crate) fourcc: Option<[u8; 4]>,
    pub(crate) pos: usize,
}

impl MultitrackCursor {
    /// Reads the per-track prefix (FourCC when every track has its own, track id, size) and
    /// returns `(fourcc, track_id, start, end)` of the track's data.
    pub(crate) fn next_track(
        &mut self,
        body: &[u8],
        what: &'static str,
    ) -> Result<([u8; 4], u8, usize, usize)> {
        let rest = body.get(self.pos..).unwrap_or(&[]);
        let mut c = Cursor::new(rest, what);
        let fourcc = match self.fourcc {
            Some(f) => f,
            None => c.fourcc()?,
        };
        let track_id = c.u8()?;
        let len = if self.kind == MultitrackType::OneTrack {
            rest.len() - c.pos()
        } else {
            c.u24()? as usize
        };
        let start = self.pos + c.pos();
        let end = start
            .checked_add(len)
            .filter(|&e| e <= body.len())
            .ok_or(Error::Truncated {
                what,
                needed: start.saturating_add(len),
                available: body.len(),
            })?;
        self.pos = end;
        Ok((fourcc, track_id, start, end))
    }
}
