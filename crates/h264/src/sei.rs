//! SEI messages (H.264 7.3.2.3) and the recovery point SEI (D.1.8 / D.2.8).

use crate::error::Result;
use crate::nalu::NalType;
use crate::rbsp::{payload, Rbsp};

/// One `sei_message()`: its `payloadType` and payload bytes (RBSP, emulation prevention
/// already removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeiMessage<'a> {
    /// `payloadType` (e.g. 5 user data unregistered, 6 recovery point).
    pub payload_type: u32,
    /// The `payloadSize` bytes of the message.
    pub payload: &'a [u8],
}

/// Iterates the messages of an SEI RBSP (no NAL header, no emulation prevention bytes).
/// Stops at the RBSP trailing bits or at the first message that runs past the end.
pub fn sei_messages(rbsp: &[u8]) -> SeiMessages<'_> {
    SeiMessages { data: rbsp, pos: 0 }
}

/// Iterator returned by [`sei_messages`].
#[derive(Clone, Debug)]
pub struct SeiMessages<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> SeiMessages<'a> {
    /// `ff_byte`-extended value (7.3.2.3.1): 255s summed, then the last byte.
    fn read_value(&mut self) -> Option<u32> {
        let mut v: u32 = 0;
        loop {
            let b = *self.data.get(self.pos)?;
            self.pos += 1;
            v = v.checked_add(u32::from(b))?;
            if b != 0xff {
                return Some(v);
            }
        }
    }
}

impl<'a> Iterator for SeiMessages<'a> {
    type Item = SeiMessage<'a>;

    fn next(&mut self) -> Option<SeiMessage<'a>> {
        // more_rbsp_data(): only the stop bit byte 0x80 (and zero padding) may remain.
        let rest = self.data.get(self.pos..)?;
        if rest.iter().all(|&b| b == 0)
            || rest.first() == Some(&0x80) && rest[1..].iter().all(|&b| b == 0)
        {
            return None;
        }
        let payload_type = self.read_value()?;
        let size = self.read_value()? as usize;
        let end = self.pos.checked_add(size)?;
        let payload = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(SeiMessage {
            payload_type,
            payload,
        })
    }
}

/// The recovery point SEI message (payload type 6): decoding that starts at this access
/// unit produces correct output after `recovery_frame_cnt` frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryPoint {
    /// `recovery_frame_cnt`.
    pub recovery_frame_cnt: u32,
    /// `exact_match_flag`.
    pub exact_match: bool,
    /// `broken_link_flag`.
    pub broken_link: bool,
    /// `changing_slice_group_idc`.
    pub changing_slice_group_idc: u8,
}

impl RecoveryPoint {
    /// Payload type of the recovery point SEI.
    pub const PAYLOAD_TYPE: u32 = 6;

    /// Parses the payload of a recovery point SEI message.
    ///
    /// # Errors
    /// [`crate::Error::Syntax`] when truncated, [`crate::Error::OutOfRange`] for a count
    /// above 65535.
    pub fn parse(payload: &[u8]) -> Result<RecoveryPoint> {
        let mut r = Rbsp::new(payload, "recovery point SEI");
        Ok(RecoveryPoint {
            recovery_frame_cnt: r.ue_max("recovery_frame_cnt", 65535)?,
            exact_match: r.flag("exact_match_flag")?,
            broken_link: r.flag("broken_link_flag")?,
            changing_slice_group_idc: r.u(2, "changing_slice_group_idc")? as u8,
        })
    }

    /// The recovery point of an SEI NAL unit (header included), if it carries one.
    pub fn find(sei_nal: &[u8]) -> Option<RecoveryPoint> {
        if NalType::from_header(*sei_nal.first()?) != NalType::Sei {
            return None;
        }
        let rbsp = payload(sei_nal, 1);
        let msg = sei_messages(&rbsp).find(|m| m.payload_type == Self::PAYLOAD_TYPE)?;
        RecoveryPoint::parse(msg.payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_recovery_point() {
        // user data (type 5, 3 bytes), then recovery point cnt 0, exact 1, broken 0.
        let nal = [0x06, 0x05, 0x03, 0xaa, 0xbb, 0xcc, 0x06, 0x01, 0xc0, 0x80];
        let rbsp = &nal[1..];
        let msgs: Vec<_> = sei_messages(rbsp).collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].payload_type, 5);
        assert_eq!(msgs[0].payload, &[0xaa, 0xbb, 0xcc]);
        let rp = RecoveryPoint::find(&nal).unwrap();
        assert_eq!(rp.recovery_frame_cnt, 0);
        assert!(rp.exact_match && !rp.broken_link);
        // Type ≥ 255 uses ff bytes; truncated payloads end iteration.
        let long = [0xff, 0x01, 0x01, 0x00, 0x80];
        assert_eq!(sei_messages(&long).next().unwrap().payload_type, 256);
        assert_eq!(sei_messages(&[0x05, 0x09, 0x01]).count(), 0);
        assert!(RecoveryPoint::find(&[0x65, 0x06, 0x01, 0xc0]).is_none());
    }
}
