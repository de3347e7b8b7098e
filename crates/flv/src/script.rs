//! Script data tags: `onMetaData` and friends (FLV spec v10.1, E.4.4), via weir-amf.

use bytes::{Bytes, BytesMut};
use weir_amf::{amf0, Amf0Value, DecodeLimits};
use weir_media::{Codec, TrackInfo};

use crate::mux::{audio_codec_id_for_metadata, video_codec_id_for_metadata, MuxConfig};
use crate::{Error, Result};

/// The name RTMP publishers put before `onMetaData` in a data message; FLV files do not
/// carry it.
pub const SET_DATA_FRAME: &str = "@setDataFrame";
/// The metadata handler name.
pub const ON_META_DATA: &str = "onMetaData";

/// A script data tag body: a handler name and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptData {
    /// Handler name (`onMetaData`, `onTextData`, `onCuePoint`, …), with any leading
    /// `@setDataFrame` removed.
    pub name: String,
    /// The values after the name (usually one ECMA array or object).
    pub values: Vec<Amf0Value>,
}

impl ScriptData {
    /// Parses a script tag body or an RTMP data message body (AMF0). A leading
    /// `@setDataFrame` is dropped, so RTMP `@setDataFrame onMetaData {…}` and FLV
    /// `onMetaData {…}` give the same result.
    ///
    /// # Errors
    /// [`Error::Amf`] for malformed AMF0 or a limit hit, [`Error::BadScript`] if the first
    /// value is not a string.
    pub fn parse(body: &[u8], limits: DecodeLimits) -> Result<ScriptData> {
        // Quirk: some encoders leave junk after the metadata (a stray object-end marker,
        // padding). Values that decode are kept; trailing bytes that do not are logged
        // and dropped, as players do. A body whose first two values fail is an error.
        let mut input = body;
        let mut decoded = Vec::new();
        while !input.is_empty() {
            match amf0::decode_with(&mut input, limits) {
                Ok(v) => decoded.push(v),
                Err(e) if decoded.len() >= 2 => {
                    tracing::debug!(error = %e, trailing = input.len(), "ignoring undecodable bytes after script data");
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut values = decoded.into_iter();
        let mut name = match values.next() {
            Some(Amf0Value::String(s)) | Some(Amf0Value::LongString(s)) => s,
            Some(other) => {
                return Err(Error::BadScript {
                    reason: format!("handler name is {other:?}, not a string"),
                })
            }
            None => {
                return Err(Error::BadScript {
                    reason: "empty script data".into(),
                })
            }
        };
        let mut rest: Vec<Amf0Value> = values.collect();
        if name == SET_DATA_FRAME {
            if rest.is_empty() {
                return Err(Error::BadScript {
                    reason: "@setDataFrame without a handler name".into(),
                });
            }
            match rest.remove(0) {
                Amf0Value::String(s) | Amf0Value::LongString(s) => name = s,
                other => {
                    return Err(Error::BadScript {
                        reason: format!("@setDataFrame handler name is {other:?}"),
                    })
                }
            }
        }
        Ok(ScriptData { name, values: rest })
    }

    /// Encodes as an FLV script tag body (name, then values).
    ///
    /// # Errors
    /// [`Error::Amf`] if a value cannot be encoded.
    pub fn to_bytes(&self) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(256);
        amf0::encode(&Amf0Value::String(self.name.clone()), &mut out)?;
        for v in &self.values {
            amf0::encode(v, &mut out)?;
        }
        Ok(out.freeze())
    }

    /// The metadata, when this is `onMetaData` with an object or ECMA array.
    pub fn metadata(&self) -> Option<Metadata> {
        if self.name != ON_META_DATA {
            return None;
        }
        self.values.first().and_then(Metadata::from_amf)
    }
}

/// Typed view of the common `onMetaData` properties. Every property, typed or not, is also
/// kept in [`Metadata::properties`] in its original order, so a parse → encode roundtrip
/// loses nothing.
///
/// ```
/// use weir_flv::Metadata;
/// let mut m = Metadata::default();
/// m.set("width", 1280.0.into());
/// m.set("encoder", "weir".into());
/// let body = m.to_script_body()?;
/// let back = weir_flv::ScriptData::parse(&body, Default::default())?.metadata().unwrap();
/// assert_eq!(back.width(), Some(1280.0));
/// assert_eq!(back.get_str("encoder"), Some("weir"));
/// # Ok::<(), weir_flv::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Metadata {
    /// All properties in order.
    pub properties: Vec<(String, Amf0Value)>,
}

macro_rules! number_getters {
    ($($(#[$doc:meta])* $name:ident => $key:literal;)*) => {
        $( $(#[$doc])* pub fn $name(&self) -> Option<f64> { self.get_f64($key) } )*
    };
}

impl Metadata {
    /// From an `onMetaData` object or ECMA array; `None` for other value types.
    pub fn from_amf(value: &Amf0Value) -> Option<Metadata> {
        match value {
            Amf0Value::EcmaArray(p) | Amf0Value::Object(p) => Some(Metadata {
                properties: p.clone(),
            }),
            _ => None,
        }
    }

    /// The ECMA array `onMetaData` carries.
    pub fn to_amf(&self) -> Amf0Value {
        Amf0Value::EcmaArray(self.properties.clone())
    }

    /// A complete script tag body: `onMetaData` + ECMA array.
    ///
    /// # Errors
    /// [`Error::Amf`].
    pub fn to_script_body(&self) -> Result<Bytes> {
        ScriptData {
            name: ON_META_DATA.into(),
            values: vec![self.to_amf()],
        }
        .to_bytes()
    }

    /// A property by name.
    pub fn get(&self, key: &str) -> Option<&Amf0Value> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// A numeric property.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Amf0Value::as_f64)
    }

    /// A string property.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Amf0Value::as_str)
    }

    /// Sets a property, replacing an existing one in place or appending.
    pub fn set(&mut self, key: &str, value: Amf0Value) {
        match self.properties.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.properties.push((key.to_owned(), value)),
        }
    }

    number_getters! {
        /// `duration` in seconds (0 for live streams).
        duration => "duration";
        /// `width` in pixels.
        width => "width";
        /// `height` in pixels.
        height => "height";
        /// `framerate` in frames per second.
        framerate => "framerate";
        /// `videodatarate` in kbit/s.
        video_data_rate => "videodatarate";
        /// `videocodecid`: a legacy CodecID, or for enhanced RTMP the FourCC as a number.
        video_codec_id => "videocodecid";
        /// `audiodatarate` in kbit/s.
        audio_data_rate => "audiodatarate";
        /// `audiosamplerate` in Hz.
        audio_sample_rate => "audiosamplerate";
        /// `audiosamplesize` in bits.
        audio_sample_size => "audiosamplesize";
        /// `audiocodecid`: a legacy SoundFormat, or for enhanced RTMP the FourCC as a number.
        audio_codec_id => "audiocodecid";
        /// `filesize` in bytes.
        file_size => "filesize";
    }

    /// `stereo`.
    pub fn stereo(&self) -> Option<bool> {
        self.get("stereo").and_then(Amf0Value::as_bool)
    }

    /// Metadata describing `tracks` as a live stream (duration 0) the way ffmpeg's muxer
    /// lays it out: `duration`, `width`, `height`, `videocodecid`, `audiosamplerate`,
    /// `audiosamplesize`, `stereo`, `audiocodecid`, `encoder`.
    pub fn from_tracks<'a>(
        tracks: impl IntoIterator<Item = &'a TrackInfo>,
        config: &MuxConfig,
        encoder: &str,
    ) -> Metadata {
        let mut m = Metadata::default();
        m.set("duration", 0.0.into());
        for t in tracks {
            match t.codec.kind() {
                weir_media::MediaKind::Video => {
                    if let Some(v) = t.video {
                        m.set("width", f64::from(v.width).into());
                        m.set("height", f64::from(v.height).into());
                    }
                    if let Some(id) = video_codec_id_for_metadata(t.codec, config) {
                        m.set("videocodecid", id.into());
                    }
                }
                _ => {
                    let rate = match t.codec {
                        Codec::G711A | Codec::G711U => Some(8000),
                        Codec::Opus => Some(48000),
                        _ => t.audio.map(|a| a.sample_rate),
                    };
                    if let Some(rate) = rate {
                        m.set("audiosamplerate", f64::from(rate).into());
                    }
                    m.set("audiosamplesize", 16.0.into());
                    if let Some(a) = t.audio {
                        m.set("stereo", (a.channels > 1).into());
                    }
                    if let Some(id) = audio_codec_id_for_metadata(t.codec) {
                        m.set("audiocodecid", id.into());
                    }
                }
            }
        }
        if !encoder.is_empty() {
            m.set("encoder", encoder.into());
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_data_frame_is_dropped() {
        let mut body = BytesMut::new();
        for v in [
            Amf0Value::from(SET_DATA_FRAME),
            Amf0Value::from(ON_META_DATA),
            Amf0Value::ecma_array([("width", Amf0Value::from(640.0))]),
        ] {
            amf0::encode(&v, &mut body).unwrap();
        }
        let s = ScriptData::parse(&body, DecodeLimits::default()).unwrap();
        assert_eq!(s.name, ON_META_DATA);
        assert_eq!(s.metadata().unwrap().width(), Some(640.0));
        // Re-encoding as an FLV body drops @setDataFrame.
        let flv = s.to_bytes().unwrap();
        assert_eq!(&flv[..], &body[16..]);
    }

    #[test]
    fn trailing_junk_is_tolerated() {
        let m = Metadata {
            properties: vec![("width".into(), 320.0.into())],
        };
        let mut body = BytesMut::from(&m.to_script_body().unwrap()[..]);
        body.extend_from_slice(&[0x00, 0x00, 0x09, 0xFF]);
        let s = ScriptData::parse(&body, DecodeLimits::default()).unwrap();
        assert_eq!(s.metadata().unwrap().width(), Some(320.0));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            ScriptData::parse(&[0x00, 0, 0, 0, 0, 0, 0, 0, 0], DecodeLimits::default()),
            Err(Error::BadScript { .. })
        ));
        assert!(matches!(
            ScriptData::parse(&[], DecodeLimits::default()),
            Err(Error::BadScript { .. })
        ));
        assert!(matches!(
            ScriptData::parse(&[0x02, 0, 9, b'o'], DecodeLimits::default()),
            Err(Error::Amf(_))
        ));
    }
}
