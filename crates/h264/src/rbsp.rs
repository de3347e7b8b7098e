//! Named syntax-element reading, shared with the other codec crate through
//! `weir_media::bits::SyntaxReader`.

use std::borrow::Cow;

use weir_media::nal::remove_emulation_prevention;

pub(crate) use weir_media::bits::SyntaxReader as Rbsp;

/// Strips the emulation-prevention bytes of a NAL payload (after its header).
pub(crate) fn payload(nal: &[u8], header_len: usize) -> Cow<'_, [u8]> {
    remove_emulation_prevention(nal.get(header_len..).unwrap_or(&[]))
}
