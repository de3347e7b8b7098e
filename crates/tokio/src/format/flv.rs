//! Units as FLV: the tag body, the whole tag and the RTMP message, each built once per
//! unit and shared by every FLV/RTMP player; metadata to and from `onMetaData`.
//!
//! RTMP ingest seeds the body with the publisher's own bytes ([`seed_body`]), so an FLV
//! player gets exactly what an RTMP publisher sent; units from other ingests are muxed with
//! enhanced RTMP for HEVC/AV1/VP9/Opus (what current OBS, ffmpeg 6.1+ and flv.js read).

use bytes::{BufMut, Bytes, BytesMut};
#[cfg(feature = "rtmp")]
use std::borrow::Cow;
use weir_amf::Amf0Value;
#[cfg(feature = "http")]
use weir_flv::FlvHeader;
use weir_flv::{FlvMuxer, Metadata, MuxConfig, TagType};
use weir_media::{MediaKind, Timebase};
#[cfg(feature = "rtmp")]
use weir_rtmp_chunk::message::{csid, type_id};

#[cfg(feature = "rtmp")]
use weir_rtmp_chunk::PreparedMessage;

#[cfg(feature = "http")]
use crate::core::StreamShape;
use crate::core::{EncodingKey, MetaValue, StreamMetadata, Unit, UnitKind};

static BODY: EncodingKey<Bytes> = EncodingKey::new();
static TAG: EncodingKey<Bytes> = EncodingKey::new();
#[cfg(feature = "rtmp")]
static RTMP: EncodingKey<Option<PreparedMessage>> = EncodingKey::new();
#[cfg(feature = "rtmp")]
static RTMP_HEADER_1: EncodingKey<Bytes> = EncodingKey::new();

fn mux() -> FlvMuxer {
    FlvMuxer::new(MuxConfig::default())
}

/// Seeds a unit's FLV body with the bytes the publisher sent (RTMP ingest).
pub(crate) fn seed_body(unit: &Unit, body: Bytes) {
    unit.seed(&BODY, body);
}

/// The FLV tag type of a unit (`None` for the end marker).
pub(crate) fn tag_type(unit: &Unit) -> Option<TagType> {
    match unit.kind() {
        UnitKind::Video => Some(TagType::Video),
        UnitKind::Audio => Some(TagType::Audio),
        UnitKind::Metadata => Some(TagType::Script),
        _ => None,
    }
}

/// The FLV/RTMP timestamp of a unit: its stream time in milliseconds, modulo 2^32 (the
/// wire clock wraps there); metadata is stamped 0 (see [`crate::core`]).
pub fn timestamp(unit: &Unit) -> u32 {
    if unit.kind() == UnitKind::Metadata {
        return 0;
    }
    unit.time()
        .rescale(Timebase::MILLIS)
        .ticks()
        .rem_euclid(1 << 32) as u32
}

/// The FLV tag body of a unit (empty when the unit has no FLV form: a codec FLV cannot
/// carry, the end marker).
pub fn body(unit: &Unit) -> &Bytes {
    unit.encoding(&BODY, build_body)
}

fn build_body(unit: &Unit) -> Bytes {
    if let Some(md) = unit.stream_metadata() {
        return metadata_body(md);
    }
    let Some(track) = unit.track() else {
        return Bytes::new();
    };
    let built = if unit.is_config() {
        mux()
            .sequence_header(track, timestamp(unit))
            .map(|t| t.map(|t| t.body))
    } else {
        match unit.frame_data() {
            Some(f) => mux().frame_parts(track, f).map(|parts| {
                let mut b = BytesMut::with_capacity(parts.body_len());
                parts.write_body(&mut b);
                Some(b.freeze())
            }),
            None => Ok(None),
        }
    };
    match built {
        Ok(Some(b)) => b,
        Ok(None) => Bytes::new(),
        Err(e) => {
            tracing::debug!(codec = %track.codec, error = %e, "no FLV form for this unit");
            Bytes::new()
        }
    }
}

/// The complete FLV tag of a unit (11-byte header, body, PreviousTagSize), built once;
/// empty when the unit has no FLV form.
pub fn tag(unit: &Unit) -> &Bytes {
    unit.encoding(&TAG, |u| {
        let Some(tag_type) = tag_type(u) else {
            return Bytes::new();
        };
        let body = body(u);
        if body.is_empty() {
            return Bytes::new();
        }
        let Ok(header) = weir_flv::tag_header(tag_type, body.len(), timestamp(u)) else {
            return Bytes::new();
        };
        let mut out = BytesMut::with_capacity(header.len() + body.len() + 4);
        out.put_slice(&header);
        out.put_slice(body);
        out.put_slice(&weir_flv::previous_tag_size(body.len()));
        out.freeze()
    })
}

#[cfg(feature = "rtmp")]
/// The unit as an RTMP message pre-split into chunks of `chunk_size`, built once per unit
/// for the first chunk size asked for (the relay uses one chunk size for every player;
/// another size is built uncached). `None` when the unit has no FLV form.
pub(crate) fn rtmp_message(unit: &Unit, chunk_size: u32) -> Option<Cow<'_, PreparedMessage>> {
    let build = |u: &Unit| {
        let (csid, type_id) = match u.kind() {
            UnitKind::Video => (csid::VIDEO, type_id::VIDEO),
            UnitKind::Audio => (csid::AUDIO, type_id::AUDIO),
            UnitKind::Metadata => (csid::DATA, type_id::DATA_AMF0),
            _ => return None,
        };
        let body = body(u);
        if body.is_empty() {
            return None;
        }
        PreparedMessage::new(csid, chunk_size, type_id, timestamp(u), body).ok()
    };
    match unit.encoding(&RTMP, build) {
        Some(m) if m.chunk_size() == chunk_size => Some(Cow::Borrowed(m)),
        Some(_) => build(unit).map(Cow::Owned),
        None => None,
    }
}

#[cfg(feature = "rtmp")]
/// The type-0 chunk header of `msg` (the unit's RTMP message) on message stream 1 — the
/// id a server's first `createStream` answers, so the one nearly every player plays on —
/// built once per unit and shared: such players need no header of their own per message.
/// Empty if the header cannot be written.
pub(crate) fn rtmp_header_stream1<'u>(unit: &'u Unit, msg: &PreparedMessage) -> &'u Bytes {
    unit.encoding(&RTMP_HEADER_1, |u| {
        let mut b = BytesMut::with_capacity(18);
        match msg.write_type0_header(timestamp(u), 1, &mut b) {
            Ok(()) => b.freeze(),
            Err(_) => Bytes::new(),
        }
    })
}

/// FLV file header + PreviousTagSize0 for the tracks of `shape` (both flags set when the
/// stream's tracks are not known yet).
#[cfg(feature = "http")]
pub(crate) fn file_header(shape: StreamShape) -> Bytes {
    let (has_audio, has_video) = if !shape.has_audio && !shape.has_video {
        (true, true)
    } else {
        (shape.has_audio, shape.has_video)
    };
    let header = FlvHeader {
        version: 1,
        has_audio,
        has_video,
        data_offset: weir_flv::HEADER_LEN as u32,
    };
    let mut out = BytesMut::with_capacity(13);
    header.write_with_first_tag_size(&mut out);
    out.freeze()
}

/// `onMetaData` as stream metadata, with the kinds it announces (`videocodecid`,
/// `audiocodecid`). Nested values are not carried.
pub(crate) fn metadata_from_flv(md: &Metadata) -> (StreamMetadata, Vec<MediaKind>) {
    let properties = md
        .properties
        .iter()
        .filter_map(|(k, v)| {
            let v = match v {
                Amf0Value::Number(n) => MetaValue::Number(*n),
                Amf0Value::Boolean(b) => MetaValue::Bool(*b),
                Amf0Value::String(s) | Amf0Value::LongString(s) => MetaValue::Text(s.clone()),
                _ => return None,
            };
            Some((k.clone(), v))
        })
        .collect();
    let mut kinds = Vec::new();
    if md.get("videocodecid").is_some() {
        kinds.push(MediaKind::Video);
    }
    if md.get("audiocodecid").is_some() {
        kinds.push(MediaKind::Audio);
    }
    (StreamMetadata { properties }, kinds)
}

/// Stream metadata as an `onMetaData` script tag body.
fn metadata_body(md: &StreamMetadata) -> Bytes {
    let mut out = Metadata::default();
    for (k, v) in &md.properties {
        let v = match v {
            MetaValue::Number(n) => Amf0Value::Number(*n),
            MetaValue::Bool(b) => Amf0Value::Boolean(*b),
            MetaValue::Text(s) => Amf0Value::String(s.clone()),
        };
        out.properties.push((k.clone(), v));
    }
    out.to_script_body().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use weir_media::{Codec, Frame, Timestamp, TrackId, TrackInfo};

    #[test]
    fn tag_layout_and_wrapped_timestamp() {
        let track = Arc::new(TrackInfo::new(TrackId(1), Codec::G711A, 8000).with_audio(
            weir_media::AudioParams {
                sample_rate: 8000,
                channels: 1,
            },
        ));
        // 0x01020304 ms: the extended timestamp byte carries 0x01.
        let t = Timestamp::new(0x0102_0304, Timebase::MILLIS);
        let u = Unit::frame(
            track,
            Frame::new(TrackId(1), t, t, Bytes::from_static(&[9; 5])),
        );
        let tag = tag(&u);
        assert_eq!(tag.len(), 11 + 6 + 4);
        assert_eq!(&tag[4..8], &[0x02, 0x03, 0x04, 0x01]);
        assert_eq!(&tag[tag.len() - 4..], &[0, 0, 0, 17]);
        // Past 2^32 ms the wire clock wraps.
        let t = Timestamp::new((1 << 32) + 5, Timebase::MILLIS);
        let track = u.track().unwrap().clone();
        let u = Unit::frame(
            track,
            Frame::new(TrackId(1), t, t, Bytes::from_static(&[9])),
        );
        assert_eq!(timestamp(&u), 5);
    }

    #[test]
    fn seeded_body_is_kept() {
        let track = Arc::new(TrackInfo::new(TrackId(0), Codec::H264, 1000));
        let t = Timestamp::new(0, Timebase::MILLIS);
        let u = Unit::config(track, t);
        seed_body(&u, Bytes::from_static(&[0x17, 0, 0, 0, 0, 0xAA]));
        assert_eq!(&body(&u)[..], &[0x17, 0, 0, 0, 0, 0xAA]);
    }

    #[test]
    fn metadata_roundtrip() {
        let mut md = Metadata::default();
        md.set("width", 320.0.into());
        md.set("videocodecid", 7.0.into());
        md.set("encoder", Amf0Value::String("x".into()));
        let (neutral, kinds) = metadata_from_flv(&md);
        assert_eq!(kinds, [MediaKind::Video]);
        let body = metadata_body(&neutral);
        let back = weir_flv::ScriptData::parse(&body, Default::default())
            .unwrap()
            .metadata()
            .unwrap();
        assert_eq!(back.get_f64("width"), Some(320.0));
        assert_eq!(back.get_str("encoder"), Some("x"));
    }
}
