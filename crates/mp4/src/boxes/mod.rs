//! The box layer (ISO/IEC 14496-12 §4.2): box headers, a bounds-checked reader and the
//! writer the muxers build boxes with.
//!
//! The parser never allocates: [`BoxHeader::parse`] reads a header from a slice and
//! [`Children`] walks the boxes inside a container's payload, each child a sub-slice.
//!
//! ```
//! use weir_mp4::boxes::{BoxHeader, Children, FourCc};
//! // A `moov` holding an empty `udta`.
//! let data = [0, 0, 0, 16, b'm', b'o', b'o', b'v', 0, 0, 0, 8, b'u', b'd', b't', b'a'];
//! let h = BoxHeader::parse(&data, 0)?.expect("a whole header");
//! assert_eq!((h.fourcc, h.header_len, h.size), (FourCc(*b"moov"), 8, Some(16)));
//! let kids: Vec<_> = Children::new(&data[8..], 8).collect::<Result<_, _>>()?;
//! assert_eq!(kids[0].fourcc, FourCc(*b"udta"));
//! assert!(kids[0].body.is_empty());
//! # Ok::<(), weir_mp4::Error>(())
//! ```

mod reader;
mod writer;

use core::fmt;

pub(crate) use reader::Cursor;
pub use reader::{BoxHeader, Child, Children};
pub(crate) use writer::BoxWriter;

/// A four-character code: a box type, a brand or a sample-entry format.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourCc(pub [u8; 4]);

impl FourCc {
    /// The code as a big-endian integer.
    pub const fn as_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
}

impl fmt::Display for FourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            if b.is_ascii_graphic() || b == b' ' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for FourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FourCc(\"{self}\")")
    }
}

/// Box types this crate reads or writes.
#[allow(missing_docs)]
pub mod kind {
    use super::FourCc;
    macro_rules! fourccs {
        ($($name:ident = $s:literal),* $(,)?) => { $(pub const $name: FourCc = FourCc(*$s);)* };
    }
    fourccs! {
        FTYP = b"ftyp", STYP = b"styp", MOOV = b"moov", MVHD = b"mvhd", TRAK = b"trak",
        TKHD = b"tkhd", EDTS = b"edts", ELST = b"elst", MDIA = b"mdia", MDHD = b"mdhd",
        HDLR = b"hdlr", MINF = b"minf", VMHD = b"vmhd", SMHD = b"smhd", DINF = b"dinf",
        DREF = b"dref", URL = b"url ", STBL = b"stbl", STSD = b"stsd", STTS = b"stts",
        CTTS = b"ctts", STSS = b"stss", STSZ = b"stsz", STZ2 = b"stz2", STSC = b"stsc",
        STCO = b"stco", CO64 = b"co64", MVEX = b"mvex", MEHD = b"mehd", TREX = b"trex",
        MOOF = b"moof", MFHD = b"mfhd", TRAF = b"traf", TFHD = b"tfhd", TFDT = b"tfdt",
        TRUN = b"trun", MDAT = b"mdat", SIDX = b"sidx", FREE = b"free", SKIP = b"skip",
        MFRA = b"mfra", UUID = b"uuid", META = b"meta", UDTA = b"udta",
        AVC1 = b"avc1", AVC3 = b"avc3", AVCC = b"avcC", HVC1 = b"hvc1", HEV1 = b"hev1",
        HVCC = b"hvcC", MP4A = b"mp4a", ESDS = b"esds", OPUS = b"Opus", DOPS = b"dOps",
        ALAW = b"alaw", ULAW = b"ulaw", MP4V = b"mp4v", JPEG = b"jpeg", BTRT = b"btrt",
        PASP = b"pasp", WAVE = b"wave", VIDE = b"vide", SOUN = b"soun",
    }
}
