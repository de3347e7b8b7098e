//! The one-byte H.264 NAL unit header (7.3.1) and NAL unit types (Table 7-1).

/// `nal_unit_type` (H.264 Table 7-1). Every 5-bit value has a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum NalType {
    /// 0: unspecified.
    Unspecified0 = 0,
    /// 1: coded slice of a non-IDR picture.
    SliceNonIdr = 1,
    /// 2: coded slice data partition A.
    SliceDataA = 2,
    /// 3: coded slice data partition B.
    SliceDataB = 3,
    /// 4: coded slice data partition C.
    SliceDataC = 4,
    /// 5: coded slice of an IDR picture.
    SliceIdr = 5,
    /// 6: supplemental enhancement information.
    Sei = 6,
    /// 7: sequence parameter set.
    Sps = 7,
    /// 8: picture parameter set.
    Pps = 8,
    /// 9: access unit delimiter.
    Aud = 9,
    /// 10: end of sequence.
    EndOfSequence = 10,
    /// 11: end of stream.
    EndOfStream = 11,
    /// 12: filler data.
    FillerData = 12,
    /// 13: sequence parameter set extension.
    SpsExtension = 13,
    /// 14: prefix NAL unit (SVC/MVC).
    Prefix = 14,
    /// 15: subset sequence parameter set.
    SubsetSps = 15,
    /// 16: depth parameter set (3D-AVC).
    DepthParameterSet = 16,
    /// 17: reserved.
    Reserved17 = 17,
    /// 18: reserved.
    Reserved18 = 18,
    /// 19: coded slice of an auxiliary coded picture without partitioning.
    AuxiliarySlice = 19,
    /// 20: coded slice extension (SVC/MVC).
    SliceExtension = 20,
    /// 21: coded slice extension for a depth view component (3D-AVC).
    SliceExtensionDepth = 21,
    /// 22: reserved.
    Reserved22 = 22,
    /// 23: reserved.
    Reserved23 = 23,
    /// 24: unspecified (RFC 6184 STAP-A).
    Unspecified24 = 24,
    /// 25: unspecified (RFC 6184 STAP-B).
    Unspecified25 = 25,
    /// 26: unspecified (RFC 6184 MTAP16).
    Unspecified26 = 26,
    /// 27: unspecified (RFC 6184 MTAP24).
    Unspecified27 = 27,
    /// 28: unspecified (RFC 6184 FU-A).
    Unspecified28 = 28,
    /// 29: unspecified (RFC 6184 FU-B).
    Unspecified29 = 29,
    /// 30: unspecified.
    Unspecified30 = 30,
    /// 31: unspecified.
    Unspecified31 = 31,
}

const ALL: [NalType; 32] = [
    NalType::Unspecified0,
    NalType::SliceNonIdr,
    NalType::SliceDataA,
    NalType::SliceDataB,
    NalType::SliceDataC,
    NalType::SliceIdr,
    NalType::Sei,
    NalType::Sps,
    NalType::Pps,
    NalType::Aud,
    NalType::EndOfSequence,
    NalType::EndOfStream,
    NalType::FillerData,
    NalType::SpsExtension,
    NalType::Prefix,
    NalType::SubsetSps,
    NalType::DepthParameterSet,
    NalType::Reserved17,
    NalType::Reserved18,
    NalType::AuxiliarySlice,
    NalType::SliceExtension,
    NalType::SliceExtensionDepth,
    NalType::Reserved22,
    NalType::Reserved23,
    NalType::Unspecified24,
    NalType::Unspecified25,
    NalType::Unspecified26,
    NalType::Unspecified27,
    NalType::Unspecified28,
    NalType::Unspecified29,
    NalType::Unspecified30,
    NalType::Unspecified31,
];

impl NalType {
    /// The type in the low five bits of a NAL header byte (the other bits are ignored).
    #[inline]
    pub fn from_header(header: u8) -> NalType {
        ALL[usize::from(header & 0x1f)]
    }

    /// The numeric `nal_unit_type`.
    #[inline]
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// A VCL NAL unit of the base specification: slice or slice data partition (types 1–5).
    #[inline]
    pub fn is_vcl(self) -> bool {
        matches!(self as u8, 1..=5)
    }

    /// A coded slice of a primary picture that starts or continues a picture (types 1, 2, 5;
    /// partitions B and C only continue one).
    #[inline]
    pub fn is_slice_start(self) -> bool {
        matches!(
            self,
            NalType::SliceNonIdr | NalType::SliceDataA | NalType::SliceIdr
        )
    }

    /// Sequence or picture parameter set (7, 8; also 13 and 15).
    #[inline]
    pub fn is_parameter_set(self) -> bool {
        matches!(
            self,
            NalType::Sps | NalType::Pps | NalType::SpsExtension | NalType::SubsetSps
        )
    }
}

impl From<NalType> for u8 {
    fn from(t: NalType) -> u8 {
        t as u8
    }
}

/// The type of a NAL unit (first byte = header), or `None` for an empty slice.
#[inline]
pub fn nal_type(nal: &[u8]) -> Option<NalType> {
    nal.first().map(|&h| NalType::from_header(h))
}

/// `nal_ref_idc` (0–3) of a NAL unit, or `None` for an empty slice.
#[inline]
pub fn nal_ref_idc(nal: &[u8]) -> Option<u8> {
    nal.first().map(|&h| (h >> 5) & 3)
}

/// An access unit delimiter NAL unit (header `09`, `primary_pic_type` = 7 "any slice
/// type", then the RBSP stop bit), as encoders put at the start of each access unit.
pub const AUD: [u8; 2] = [0x09, 0xf0];

/// True if a canonical frame (NAL units with 4-byte big-endian length prefixes) contains
/// an IDR slice. Stops quietly at a malformed prefix; never panics, never allocates.
pub fn is_keyframe(canonical: &[u8]) -> bool {
    length_prefixed_types(canonical, 4).any(|t| t == NalType::SliceIdr)
}

/// True if a canonical frame is a random access point the way ffmpeg flags packets: it
/// contains an IDR slice or a recovery point SEI (open-GOP I pictures, intra refresh).
/// This is what [`AccessUnit::keyframe`](crate::AccessUnit::keyframe) reports.
pub fn is_random_access(canonical: &[u8]) -> bool {
    length_prefixed_units(canonical, 4).any(|u| match u.first().map(|&h| NalType::from_header(h)) {
        Some(NalType::SliceIdr) => true,
        Some(NalType::Sei) => crate::sei::RecoveryPoint::find(u).is_some(),
        _ => false,
    })
}

/// The non-empty NAL units of a length-prefixed buffer as slices. Iteration ends at the
/// first prefix that runs past the buffer; `length_size` values other than 1–4 yield nothing.
/// (The shared [`weir_media::nal::length_prefixed_units`].)
pub fn length_prefixed_units(data: &[u8], length_size: u8) -> impl Iterator<Item = &[u8]> + '_ {
    weir_media::nal::length_prefixed_units(data, length_size)
}

/// The NAL types of a length-prefixed buffer, without copying or validating the payloads.
/// Iteration ends at the first prefix that runs past the buffer. `length_size` values other
/// than 1–4 yield nothing.
pub fn length_prefixed_types(data: &[u8], length_size: u8) -> impl Iterator<Item = NalType> + '_ {
    length_prefixed_units(data, length_size)
        .filter_map(|u| u.first().map(|&h| NalType::from_header(h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_roundtrips() {
        for v in 0u8..=255 {
            assert_eq!(NalType::from_header(v).as_u8(), v & 0x1f);
        }
        assert!(NalType::SliceIdr.is_vcl());
        assert!(!NalType::Sps.is_vcl());
        assert_eq!(nal_type(&[0x67]), Some(NalType::Sps));
        assert_eq!(nal_ref_idc(&[0x67]), Some(3));
        assert_eq!(nal_type(&[]), None);
    }

    #[test]
    fn keyframe_detection() {
        let idr = [0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 2, 0x65, 0x88];
        let p = [0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 2, 0x41, 0x9a];
        assert!(is_keyframe(&idr));
        assert!(!is_keyframe(&p));
        // A truncated prefix stops iteration without panicking.
        assert!(!is_keyframe(&[0, 0, 0, 9, 0x65]));
        assert!(!is_keyframe(&[0, 0]));
        // Zero-length units are skipped over.
        assert!(is_keyframe(&[0, 0, 0, 0, 0, 0, 0, 1, 0x65]));
        // A recovery point SEI makes a random access point, not an IDR.
        let rp = [0, 0, 0, 4, 0x06, 0x06, 0x01, 0xc4, 0, 0, 0, 2, 0x41, 0x9a];
        assert!(!is_keyframe(&rp) && is_random_access(&rp));
        assert!(!is_random_access(&p));
    }
}
