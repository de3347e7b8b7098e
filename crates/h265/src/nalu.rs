//! The two-byte H.265 NAL unit header (7.3.1.2) and NAL unit types (Table 7-1).

use std::fmt;

/// `nal_unit_type` (H.265 Table 7-1), a 6-bit value. Named constants cover every type the
/// specification assigns; the rest are reserved or unspecified.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NalType(pub u8);

impl NalType {
    /// 0: trailing picture, sub-layer non-reference.
    pub const TRAIL_N: NalType = NalType(0);
    /// 1: trailing picture, sub-layer reference.
    pub const TRAIL_R: NalType = NalType(1);
    /// 2: temporal sub-layer access, non-reference.
    pub const TSA_N: NalType = NalType(2);
    /// 3: temporal sub-layer access, reference.
    pub const TSA_R: NalType = NalType(3);
    /// 4: step-wise temporal sub-layer access, non-reference.
    pub const STSA_N: NalType = NalType(4);
    /// 5: step-wise temporal sub-layer access, reference.
    pub const STSA_R: NalType = NalType(5);
    /// 6: random access decodable leading, non-reference.
    pub const RADL_N: NalType = NalType(6);
    /// 7: random access decodable leading, reference.
    pub const RADL_R: NalType = NalType(7);
    /// 8: random access skipped leading, non-reference.
    pub const RASL_N: NalType = NalType(8);
    /// 9: random access skipped leading, reference.
    pub const RASL_R: NalType = NalType(9);
    /// 16: broken link access with leading pictures.
    pub const BLA_W_LP: NalType = NalType(16);
    /// 17: broken link access with RADL pictures.
    pub const BLA_W_RADL: NalType = NalType(17);
    /// 18: broken link access without leading pictures.
    pub const BLA_N_LP: NalType = NalType(18);
    /// 19: IDR with RADL pictures.
    pub const IDR_W_RADL: NalType = NalType(19);
    /// 20: IDR without leading pictures.
    pub const IDR_N_LP: NalType = NalType(20);
    /// 21: clean random access.
    pub const CRA_NUT: NalType = NalType(21);
    /// 32: video parameter set.
    pub const VPS: NalType = NalType(32);
    /// 33: sequence parameter set.
    pub const SPS: NalType = NalType(33);
    /// 34: picture parameter set.
    pub const PPS: NalType = NalType(34);
    /// 35: access unit delimiter.
    pub const AUD: NalType = NalType(35);
    /// 36: end of sequence.
    pub const EOS: NalType = NalType(36);
    /// 37: end of bitstream.
    pub const EOB: NalType = NalType(37);
    /// 38: filler data.
    pub const FD: NalType = NalType(38);
    /// 39: prefix SEI.
    pub const PREFIX_SEI: NalType = NalType(39);
    /// 40: suffix SEI.
    pub const SUFFIX_SEI: NalType = NalType(40);
    /// 48: unspecified; RFC 7798 aggregation packet.
    pub const UNSPEC48_AP: NalType = NalType(48);
    /// 49: unspecified; RFC 7798 fragmentation unit.
    pub const UNSPEC49_FU: NalType = NalType(49);
    /// 50: unspecified; RFC 7798 PACI packet.
    pub const UNSPEC50_PACI: NalType = NalType(50);

    /// The type in bits 1..=6 of the first NAL header byte.
    #[inline]
    pub fn from_header(first_byte: u8) -> NalType {
        NalType((first_byte >> 1) & 0x3f)
    }

    /// The numeric type.
    #[inline]
    pub fn as_u8(self) -> u8 {
        self.0
    }

    /// A VCL NAL unit (types 0–31: coded slice segments and reserved VCL types).
    #[inline]
    pub fn is_vcl(self) -> bool {
        self.0 < 32
    }

    /// An intra random access point picture (BLA, IDR, CRA and reserved IRAP types 16–23):
    /// decoding can start here.
    #[inline]
    pub fn is_irap(self) -> bool {
        (16..=23).contains(&self.0)
    }

    /// An IDR picture (19, 20).
    #[inline]
    pub fn is_idr(self) -> bool {
        matches!(self.0, 19 | 20)
    }

    /// VPS, SPS or PPS.
    #[inline]
    pub fn is_parameter_set(self) -> bool {
        matches!(self.0, 32..=34)
    }

    /// The name of Table 7-1 (`"IDR_W_RADL"`, `"SPS_NUT"`, …).
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 42] = [
            "TRAIL_N",
            "TRAIL_R",
            "TSA_N",
            "TSA_R",
            "STSA_N",
            "STSA_R",
            "RADL_N",
            "RADL_R",
            "RASL_N",
            "RASL_R",
            "RSV_VCL_N10",
            "RSV_VCL_R11",
            "RSV_VCL_N12",
            "RSV_VCL_R13",
            "RSV_VCL_N14",
            "RSV_VCL_R15",
            "BLA_W_LP",
            "BLA_W_RADL",
            "BLA_N_LP",
            "IDR_W_RADL",
            "IDR_N_LP",
            "CRA_NUT",
            "RSV_IRAP_VCL22",
            "RSV_IRAP_VCL23",
            "RSV_VCL24",
            "RSV_VCL25",
            "RSV_VCL26",
            "RSV_VCL27",
            "RSV_VCL28",
            "RSV_VCL29",
            "RSV_VCL30",
            "RSV_VCL31",
            "VPS_NUT",
            "SPS_NUT",
            "PPS_NUT",
            "AUD_NUT",
            "EOS_NUT",
            "EOB_NUT",
            "FD_NUT",
            "PREFIX_SEI_NUT",
            "SUFFIX_SEI_NUT",
            "RSV_NVCL41",
        ];
        match self.0 {
            n @ 0..=41 => NAMES[usize::from(n)],
            42..=47 => "RSV_NVCL",
            _ => "UNSPEC",
        }
    }
}

impl fmt::Debug for NalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl From<NalType> for u8 {
    fn from(t: NalType) -> u8 {
        t.0
    }
}

/// The decoded two-byte NAL unit header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NalHeader {
    /// `nal_unit_type`.
    pub nal_type: NalType,
    /// `nuh_layer_id` (0–63).
    pub layer_id: u8,
    /// `nuh_temporal_id_plus1 - 1` (the header's 0 value, invalid, reads as 0 here).
    pub temporal_id: u8,
}

impl NalHeader {
    /// Decodes the first two bytes of a NAL unit. `None` if fewer than two bytes.
    pub fn parse(nal: &[u8]) -> Option<NalHeader> {
        let (&a, &b) = (nal.first()?, nal.get(1)?);
        Some(NalHeader {
            nal_type: NalType::from_header(a),
            layer_id: ((a & 1) << 5) | (b >> 3),
            temporal_id: (b & 7).saturating_sub(1),
        })
    }

    /// Encodes the header (forbidden bit 0).
    pub fn to_bytes(self) -> [u8; 2] {
        [
            ((self.nal_type.0 & 0x3f) << 1) | ((self.layer_id >> 5) & 1),
            ((self.layer_id & 0x1f) << 3) | ((self.temporal_id + 1) & 7),
        ]
    }
}

/// The type of a NAL unit, or `None` for an empty slice.
#[inline]
pub fn nal_type(nal: &[u8]) -> Option<NalType> {
    nal.first().map(|&b| NalType::from_header(b))
}

/// An access unit delimiter NAL unit (type 35, layer 0, temporal id 0) with `pic_type` = 2
/// (I, P and B slices may follow) and the RBSP stop bit.
pub const AUD: [u8; 3] = [0x46, 0x01, 0x50];

/// True if a canonical frame (NAL units with 4-byte big-endian length prefixes) contains an
/// IRAP slice (IDR, CRA, BLA). Stops quietly at a malformed prefix; never allocates.
pub fn is_keyframe(canonical: &[u8]) -> bool {
    length_prefixed_types(canonical, 4).any(NalType::is_irap)
}

/// The NAL types of a length-prefixed buffer, without copying or validating the payloads.
/// Iteration ends at the first prefix that runs past the buffer; empty units are skipped;
/// `length_size` values other than 1–4 yield nothing.
pub fn length_prefixed_types(data: &[u8], length_size: u8) -> impl Iterator<Item = NalType> + '_ {
    let size = usize::from(length_size);
    let valid = (1..=4).contains(&size);
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if !valid {
            return None;
        }
        loop {
            let prefix = data.get(pos..pos.checked_add(size)?)?;
            let len = prefix
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            let start = pos + size;
            let end = start.checked_add(len)?;
            let unit = data.get(start..end)?;
            pos = end;
            if let Some(&h) = unit.first() {
                return Some(NalType::from_header(h));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip() {
        for t in 0..64u8 {
            for layer in [0u8, 1, 31, 32, 63] {
                for tid in 0..7u8 {
                    let h = NalHeader {
                        nal_type: NalType(t),
                        layer_id: layer,
                        temporal_id: tid,
                    };
                    assert_eq!(NalHeader::parse(&h.to_bytes()), Some(h));
                }
            }
        }
        assert_eq!(nal_type(&[0x40, 0x01]), Some(NalType::VPS));
        assert_eq!(nal_type(&AUD), Some(NalType::AUD));
        assert!(NalType::CRA_NUT.is_irap() && !NalType::RASL_N.is_irap());
        assert_eq!(format!("{:?}", NalType::IDR_W_RADL), "IDR_W_RADL(19)");
    }

    #[test]
    fn keyframes() {
        assert!(is_keyframe(&[
            0, 0, 0, 3, 0x46, 0x01, 0x50, 0, 0, 0, 2, 0x26, 0x01
        ]));
        assert!(is_keyframe(&[0, 0, 0, 2, 0x2a, 0x01])); // CRA
        assert!(!is_keyframe(&[0, 0, 0, 2, 0x02, 0x01])); // TRAIL_R
        assert!(!is_keyframe(&[0, 0, 0, 7, 0x26]));
    }
}
