//! AMF0 decoding and encoding (Adobe "Action Message Format -- AMF 0", 2006).
//!
//! ```
//! use bytes::BytesMut;
//! use weir_amf::{amf0, Amf0Value};
//!
//! let v = Amf0Value::object([("app", "live".into()), ("fpad", false.into())]);
//! let mut buf = BytesMut::new();
//! amf0::encode(&v, &mut buf).unwrap();
//! let back = amf0::decode(&mut &buf[..]).unwrap();
//! assert_eq!(back.get_str("app"), Some("live"));
//! ```

use bytes::{BufMut, BytesMut};

use crate::reader::Reader;
use crate::{amf3, Amf0Value, DecodeLimits, Error, Result};

/// AMF0 type markers (section 2.1).
pub mod marker {
    /// Number.
    pub const NUMBER: u8 = 0x00;
    /// Boolean.
    pub const BOOLEAN: u8 = 0x01;
    /// String (16-bit length).
    pub const STRING: u8 = 0x02;
    /// Anonymous object.
    pub const OBJECT: u8 = 0x03;
    /// MovieClip (reserved, not supported by the spec).
    pub const MOVIECLIP: u8 = 0x04;
    /// Null.
    pub const NULL: u8 = 0x05;
    /// Undefined.
    pub const UNDEFINED: u8 = 0x06;
    /// Reference.
    pub const REFERENCE: u8 = 0x07;
    /// ECMA array.
    pub const ECMA_ARRAY: u8 = 0x08;
    /// Object end (after an empty key).
    pub const OBJECT_END: u8 = 0x09;
    /// Strict array.
    pub const STRICT_ARRAY: u8 = 0x0A;
    /// Date.
    pub const DATE: u8 = 0x0B;
    /// Long string (32-bit length).
    pub const LONG_STRING: u8 = 0x0C;
    /// Unsupported.
    pub const UNSUPPORTED: u8 = 0x0D;
    /// RecordSet (reserved, not supported by the spec).
    pub const RECORDSET: u8 = 0x0E;
    /// XML document.
    pub const XML_DOCUMENT: u8 = 0x0F;
    /// Typed object.
    pub const TYPED_OBJECT: u8 = 0x10;
    /// Switch to AMF3 ("avmplus object").
    pub const AVMPLUS: u8 = 0x11;
}

/// Decodes one value from the front of `input` with [`DecodeLimits::default`], advancing
/// `input` past it.
pub fn decode(input: &mut &[u8]) -> Result<Amf0Value> {
    decode_with(input, DecodeLimits::default())
}

/// Decodes one value from the front of `input` with explicit limits, advancing `input`
/// past it. On error `input` is left unchanged.
pub fn decode_with(input: &mut &[u8], limits: DecodeLimits) -> Result<Amf0Value> {
    let mut r = Reader::new(input, limits);
    let v = read_value(&mut r)?;
    *input = r.rest();
    Ok(v)
}

/// Decodes every value in `input` (for example a whole command or data message body).
pub fn decode_all(input: &[u8]) -> Result<Vec<Amf0Value>> {
    decode_all_with(input, DecodeLimits::default())
}

/// [`decode_all`] with explicit limits; `max_elements` and `max_string_bytes` apply to
/// the whole buffer.
pub fn decode_all_with(input: &[u8], limits: DecodeLimits) -> Result<Vec<Amf0Value>> {
    let mut r = Reader::new(input, limits);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        out.push(read_value(&mut r)?);
    }
    Ok(out)
}

pub(crate) fn read_value(r: &mut Reader<'_>) -> Result<Amf0Value> {
    let offset = r.pos;
    r.charge_elements(1)?;
    let m = r.u8("type marker")?;
    Ok(match m {
        marker::NUMBER => Amf0Value::Number(r.f64("number")?),
        marker::BOOLEAN => Amf0Value::Boolean(r.u8("boolean")? != 0),
        marker::STRING => {
            let len = usize::from(r.u16("string length")?);
            Amf0Value::String(r.string(len, "string")?)
        }
        marker::OBJECT => Amf0Value::Object(read_properties(r, None)?),
        marker::NULL => Amf0Value::Null,
        marker::UNDEFINED => Amf0Value::Undefined,
        marker::REFERENCE => Amf0Value::Reference(r.u16("reference")?),
        marker::ECMA_ARRAY => {
            let count = r.u32("ECMA array count")?;
            Amf0Value::EcmaArray(read_properties(r, Some(count))?)
        }
        marker::STRICT_ARRAY => {
            let count = r.u32("strict array count")? as usize;
            r.enter()?;
            // Each element takes at least one byte, so a hostile count fails on
            // truncation long before memory matters; the hint is capped anyway.
            let mut items = Vec::with_capacity(r.capacity_hint(count, 1));
            for _ in 0..count {
                items.push(read_value(r)?);
            }
            r.leave();
            Amf0Value::StrictArray(items)
        }
        marker::DATE => {
            let millis = r.f64("date")?;
            let tz = r.u16("date time zone")? as i16;
            Amf0Value::Date { millis, tz }
        }
        marker::LONG_STRING => {
            let len = r.u32("long string length")? as usize;
            Amf0Value::LongString(r.string(len, "long string")?)
        }
        marker::UNSUPPORTED => Amf0Value::Unsupported,
        marker::XML_DOCUMENT => {
            let len = r.u32("XML document length")? as usize;
            Amf0Value::XmlDocument(r.string(len, "XML document")?)
        }
        marker::TYPED_OBJECT => {
            let len = usize::from(r.u16("class name length")?);
            let class_name = r.string(len, "class name")?;
            let properties = read_properties(r, None)?;
            Amf0Value::TypedObject {
                class_name,
                properties,
            }
        }
        marker::AVMPLUS => Amf0Value::Amf3(amf3::read_switched(r)?),
        marker::OBJECT_END => return Err(Error::UnexpectedObjectEnd { offset }),
        other => {
            return Err(Error::UnknownMarker {
                version: 0,
                marker: other,
                offset,
            })
        }
    })
}

/// Reads `key value` pairs up to the `00 00 09` terminator.
///
/// Quirk: some encoders end an ECMA array (typically `onMetaData` in FLV files) at the
/// end of the buffer without the terminator. When the declared count has been reached
/// and the input is exhausted, the array is accepted as complete.
fn read_properties(
    r: &mut Reader<'_>,
    ecma_count: Option<u32>,
) -> Result<Vec<(String, Amf0Value)>> {
    r.enter()?;
    let hint = ecma_count.map_or(8, |c| r.capacity_hint(c as usize, 3));
    let mut props = Vec::with_capacity(hint);
    loop {
        if r.remaining() == 0 {
            if let Some(count) = ecma_count {
                if props.len() >= count as usize {
                    break;
                }
            }
        }
        let len = usize::from(r.u16("property name length")?);
        if len == 0 && r.peek() == Some(marker::OBJECT_END) {
            r.pos += 1;
            break;
        }
        let key = r.string(len, "property name")?;
        let value = read_value(r)?;
        props.push((key, value));
    }
    r.leave();
    Ok(props)
}

/// Appends the AMF0 encoding of `value` to `out`.
///
/// Strings longer than 65535 bytes are written with the long-string marker. Fails only
/// for values AMF0 cannot represent (a property name over 65535 bytes, a string or array
/// over 2^32-1) or for AMF3 values behind the switch marker that the AMF3 encoder
/// cannot write.
pub fn encode(value: &Amf0Value, out: &mut BytesMut) -> Result<()> {
    match value {
        Amf0Value::Number(n) => {
            out.put_u8(marker::NUMBER);
            out.put_f64(*n);
        }
        Amf0Value::Boolean(b) => {
            out.put_u8(marker::BOOLEAN);
            out.put_u8(u8::from(*b));
        }
        Amf0Value::String(s) => {
            if let Ok(len) = u16::try_from(s.len()) {
                out.put_u8(marker::STRING);
                out.put_u16(len);
                out.put_slice(s.as_bytes());
            } else {
                put_long(marker::LONG_STRING, s, "long string", out)?;
            }
        }
        Amf0Value::Object(props) => {
            out.put_u8(marker::OBJECT);
            put_properties(props, out)?;
        }
        Amf0Value::Null => out.put_u8(marker::NULL),
        Amf0Value::Undefined => out.put_u8(marker::UNDEFINED),
        Amf0Value::Reference(i) => {
            out.put_u8(marker::REFERENCE);
            out.put_u16(*i);
        }
        Amf0Value::EcmaArray(props) => {
            out.put_u8(marker::ECMA_ARRAY);
            out.put_u32(len32(props.len(), "ECMA array")?);
            put_properties(props, out)?;
        }
        Amf0Value::StrictArray(items) => {
            out.put_u8(marker::STRICT_ARRAY);
            out.put_u32(len32(items.len(), "strict array")?);
            for v in items {
                encode(v, out)?;
            }
        }
        Amf0Value::Date { millis, tz } => {
            out.put_u8(marker::DATE);
            out.put_f64(*millis);
            out.put_i16(*tz);
        }
        Amf0Value::LongString(s) => put_long(marker::LONG_STRING, s, "long string", out)?,
        Amf0Value::Unsupported => out.put_u8(marker::UNSUPPORTED),
        Amf0Value::XmlDocument(s) => put_long(marker::XML_DOCUMENT, s, "XML document", out)?,
        Amf0Value::TypedObject {
            class_name,
            properties,
        } => {
            out.put_u8(marker::TYPED_OBJECT);
            put_short_str(class_name, "class name", out)?;
            put_properties(properties, out)?;
        }
        Amf0Value::Amf3(v) => {
            out.put_u8(marker::AVMPLUS);
            amf3::encode(v, out)?;
        }
    }
    Ok(())
}

/// Encodes each value in turn.
pub fn encode_all<'a>(
    values: impl IntoIterator<Item = &'a Amf0Value>,
    out: &mut BytesMut,
) -> Result<()> {
    for v in values {
        encode(v, out)?;
    }
    Ok(())
}

/// Encodes `value` into a new buffer.
pub fn to_bytes(value: &Amf0Value) -> Result<bytes::Bytes> {
    let mut out = BytesMut::new();
    encode(value, &mut out)?;
    Ok(out.freeze())
}

fn len32(len: usize, what: &'static str) -> Result<u32> {
    u32::try_from(len).map_err(|_| Error::TooLong {
        what,
        len,
        max: u32::MAX as usize,
    })
}

fn put_long(m: u8, s: &str, what: &'static str, out: &mut BytesMut) -> Result<()> {
    let len = len32(s.len(), what)?;
    out.put_u8(m);
    out.put_u32(len);
    out.put_slice(s.as_bytes());
    Ok(())
}

fn put_short_str(s: &str, what: &'static str, out: &mut BytesMut) -> Result<()> {
    let len = u16::try_from(s.len()).map_err(|_| Error::TooLong {
        what,
        len: s.len(),
        max: 0xFFFF,
    })?;
    out.put_u16(len);
    out.put_slice(s.as_bytes());
    Ok(())
}

fn put_properties(props: &[(String, Amf0Value)], out: &mut BytesMut) -> Result<()> {
    for (k, v) in props {
        put_short_str(k, "property name", out)?;
        encode(v, out)?;
    }
    out.put_slice(&[0, 0, marker::OBJECT_END]);
    Ok(())
}
