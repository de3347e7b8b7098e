//! Units as `multipart/x-mixed-replace` parts (HTTP-MJPEG): each Motion JPEG frame is a
//! whole JPEG; its part header (boundary, Content-Type, Content-Length) is built once per
//! unit and the image bytes are the frame's own, shared by every player.

use bytes::Bytes;
use weir_media::Codec;

use crate::core::{EncodingKey, Unit};

/// The multipart boundary.
pub(crate) const BOUNDARY: &str = "weirmjpegframe";

static PART_HEAD: EncodingKey<Bytes> = EncodingKey::new();

/// The part of an MJPEG frame unit: header and image (none for other units).
pub(crate) fn part(unit: &Unit) -> Option<(&Bytes, &Bytes)> {
    let track = unit.track()?;
    let frame = unit.frame_data()?;
    if track.codec != Codec::Mjpeg || frame.data.is_empty() {
        return None;
    }
    let head = unit.encoding(&PART_HEAD, |u| {
        let len = u.frame_data().map_or(0, |f| f.data.len());
        Bytes::from(format!(
            "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len}\r\n\r\n"
        ))
    });
    Some((head, &frame.data))
}
