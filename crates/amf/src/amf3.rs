//! AMF3 decoding (Adobe "Action Message Format -- AMF 3", 2013) and a straightforward
//! encoder that writes every value inline.
//!
//! The decoder keeps the three reference tables the format defines (strings, objects,
//! traits). Object references are resolved by copying the earlier value; every copy is
//! charged to [`DecodeLimits`] so a small input cannot expand into a huge value. A
//! reference to an object that is still being decoded (a cycle) is returned as
//! [`Amf3Value::CyclicReference`].
//!
//! ```
//! use weir_amf::amf3::{self, Amf3Value};
//! // 0x06 string marker, U29 length 5<<1|1 = 0x0b, "hello"
//! let v = amf3::decode(&mut &b"\x06\x0bhello"[..]).unwrap();
//! assert_eq!(v, Amf3Value::String("hello".into()));
//! ```

use bytes::{BufMut, BytesMut};

use crate::reader::Reader;
use crate::{DecodeLimits, Error, Result};

/// AMF3 type markers (section 3.1).
pub mod marker {
    /// undefined
    pub const UNDEFINED: u8 = 0x00;
    /// null
    pub const NULL: u8 = 0x01;
    /// false
    pub const FALSE: u8 = 0x02;
    /// true
    pub const TRUE: u8 = 0x03;
    /// 29-bit integer
    pub const INTEGER: u8 = 0x04;
    /// double
    pub const DOUBLE: u8 = 0x05;
    /// string
    pub const STRING: u8 = 0x06;
    /// legacy XML document
    pub const XML_DOC: u8 = 0x07;
    /// date
    pub const DATE: u8 = 0x08;
    /// array
    pub const ARRAY: u8 = 0x09;
    /// object
    pub const OBJECT: u8 = 0x0A;
    /// E4X XML
    pub const XML: u8 = 0x0B;
    /// ByteArray
    pub const BYTE_ARRAY: u8 = 0x0C;
    /// `Vector.<int>`
    pub const VECTOR_INT: u8 = 0x0D;
    /// `Vector.<uint>`
    pub const VECTOR_UINT: u8 = 0x0E;
    /// `Vector.<Number>`
    pub const VECTOR_DOUBLE: u8 = 0x0F;
    /// `Vector.<Object>`
    pub const VECTOR_OBJECT: u8 = 0x10;
    /// Dictionary
    pub const DICTIONARY: u8 = 0x11;
}

/// One AMF3 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf3Value {
    /// `undefined`
    Undefined,
    /// `null`
    Null,
    /// `false` / `true` (two markers on the wire).
    Boolean(bool),
    /// A 29-bit signed integer.
    Integer(i32),
    /// A double.
    Double(f64),
    /// A UTF-8 string.
    String(String),
    /// A legacy `flash.xml.XMLDocument`.
    XmlDocument(String),
    /// Milliseconds since the Unix epoch (UTC).
    Date(f64),
    /// An array with an associative part (in wire order) and a dense part.
    Array {
        /// Named entries.
        assoc: Vec<(String, Amf3Value)>,
        /// Indexed entries.
        dense: Vec<Amf3Value>,
    },
    /// An object: sealed members (declared by its traits) and, for dynamic objects,
    /// dynamic members.
    Object {
        /// Class alias; empty for anonymous objects.
        class_name: String,
        /// Sealed members in trait order.
        sealed: Vec<(String, Amf3Value)>,
        /// Dynamic members (`None` when the traits are not dynamic).
        dynamic: Option<Vec<(String, Amf3Value)>>,
    },
    /// An externalizable object of a well-known Flex class whose payload is a single
    /// AMF3 value (`flex.messaging.io.ArrayCollection`, `flex.messaging.io.ObjectProxy`).
    Externalizable {
        /// The class alias.
        class_name: String,
        /// The wrapped value.
        value: Box<Amf3Value>,
    },
    /// An E4X `XML` value.
    Xml(String),
    /// Raw bytes.
    ByteArray(Vec<u8>),
    /// `Vector.<int>`
    VectorInt {
        /// Fixed-length flag.
        fixed: bool,
        /// Items.
        items: Vec<i32>,
    },
    /// `Vector.<uint>`
    VectorUint {
        /// Fixed-length flag.
        fixed: bool,
        /// Items.
        items: Vec<u32>,
    },
    /// `Vector.<Number>`
    VectorDouble {
        /// Fixed-length flag.
        fixed: bool,
        /// Items.
        items: Vec<f64>,
    },
    /// `Vector.<T>` for object types.
    VectorObject {
        /// Fixed-length flag.
        fixed: bool,
        /// Element type name (`"*"` for any).
        type_name: String,
        /// Items.
        items: Vec<Amf3Value>,
    },
    /// `flash.utils.Dictionary`.
    Dictionary {
        /// Weak-keys flag.
        weak_keys: bool,
        /// Entries in wire order.
        entries: Vec<(Amf3Value, Amf3Value)>,
    },
    /// A reference to an object that was still being decoded when referenced (a cycle),
    /// by object-table index.
    CyclicReference(u32),
}

impl Amf3Value {
    /// The content of a `String`, `XmlDocument` or `Xml` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Amf3Value::String(s) | Amf3Value::XmlDocument(s) | Amf3Value::Xml(s) => Some(s),
            _ => None,
        }
    }

    /// `Integer` or `Double` as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Amf3Value::Integer(i) => Some(f64::from(*i)),
            Amf3Value::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The first member (sealed, then dynamic) or associative entry named `key`.
    pub fn get(&self, key: &str) -> Option<&Amf3Value> {
        fn find<'v>(p: &'v [(String, Amf3Value)], key: &str) -> Option<&'v Amf3Value> {
            p.iter().find(|(k, _)| k == key).map(|(_, v)| v)
        }
        match self {
            Amf3Value::Object {
                sealed, dynamic, ..
            } => find(sealed, key).or_else(|| dynamic.as_deref().and_then(|d| find(d, key))),
            Amf3Value::Array { assoc, .. } => find(assoc, key),
            Amf3Value::Externalizable { value, .. } => value.get(key),
            _ => None,
        }
    }
}

/// Decodes one AMF3 value from the front of `input` (fresh reference tables), advancing it.
pub fn decode(input: &mut &[u8]) -> Result<Amf3Value> {
    decode_with(input, DecodeLimits::default())
}

/// [`decode`] with explicit limits. On error `input` is left unchanged.
pub fn decode_with(input: &mut &[u8], limits: DecodeLimits) -> Result<Amf3Value> {
    let mut r = Reader::new(input, limits);
    let v = read_switched(&mut r)?;
    *input = r.rest();
    Ok(v)
}

/// Decodes a sequence of AMF3 values sharing one set of reference tables.
pub fn decode_all(input: &[u8]) -> Result<Vec<Amf3Value>> {
    decode_all_with(input, DecodeLimits::default())
}

/// [`decode_all`] with explicit limits.
pub fn decode_all_with(input: &[u8], limits: DecodeLimits) -> Result<Vec<Amf3Value>> {
    let mut r = Reader::new(input, limits);
    let mut d = Amf3Decoder::default();
    let mut out = Vec::new();
    while r.remaining() > 0 {
        out.push(d.value(&mut r)?);
    }
    Ok(out)
}

/// Entry point after an AMF0 0x11 marker: each switch starts with empty tables.
pub(crate) fn read_switched(r: &mut Reader<'_>) -> Result<Amf3Value> {
    Amf3Decoder::default().value(r)
}

#[derive(Clone)]
struct Traits {
    class_name: String,
    dynamic: bool,
    externalizable: bool,
    members: Vec<String>,
}

struct ObjEntry {
    /// `None` while the object is being decoded.
    value: Option<Amf3Value>,
    elements: usize,
    string_bytes: usize,
}

#[derive(Default)]
struct Amf3Decoder {
    strings: Vec<String>,
    objects: Vec<ObjEntry>,
    traits: Vec<Traits>,
}

const U29_MAX: u32 = (1 << 29) - 1;

fn read_u29(r: &mut Reader<'_>) -> Result<u32> {
    let mut v: u32 = 0;
    for i in 0..4 {
        let b = r.u8("U29 integer")?;
        if i == 3 {
            return Ok((v << 8) | u32::from(b));
        }
        v = (v << 7) | u32::from(b & 0x7F);
        if b & 0x80 == 0 {
            break;
        }
    }
    Ok(v)
}

impl Amf3Decoder {
    fn string(&mut self, r: &mut Reader<'_>) -> Result<String> {
        let offset = r.pos;
        let h = read_u29(r)?;
        let n = (h >> 1) as usize;
        if h & 1 == 0 {
            let s = self.strings.get(n).ok_or(Error::BadReference {
                table: "string",
                index: n,
                len: self.strings.len(),
                offset,
            })?;
            r.charge_string(s.len(), offset)?;
            return Ok(s.clone());
        }
        let s = r.string(n, "AMF3 string")?;
        if !s.is_empty() {
            self.strings.push(s.clone());
        }
        Ok(s)
    }

    /// Reads a U29O-ref header. Returns `Ok(Err(value))` for a resolved reference, or
    /// `Ok(Ok(bits))` with the remaining header bits for an inline value.
    fn object_header(&mut self, r: &mut Reader<'_>) -> Result<Result<u32, Amf3Value>> {
        let offset = r.pos;
        let h = read_u29(r)?;
        if h & 1 == 1 {
            return Ok(Ok(h >> 1));
        }
        let idx = (h >> 1) as usize;
        let entry = self.objects.get(idx).ok_or(Error::BadReference {
            table: "object",
            index: idx,
            len: self.objects.len(),
            offset,
        })?;
        match &entry.value {
            None => Ok(Err(Amf3Value::CyclicReference(h >> 1))),
            Some(v) => {
                r.charge_elements(entry.elements)?;
                r.charge_string(entry.string_bytes, offset)?;
                Ok(Err(v.clone()))
            }
        }
    }

    fn begin_object(&mut self, r: &Reader<'_>) -> (usize, usize, usize) {
        self.objects.push(ObjEntry {
            value: None,
            elements: 0,
            string_bytes: 0,
        });
        (self.objects.len() - 1, r.elements(), r.string_bytes())
    }

    fn end_object(&mut self, r: &Reader<'_>, start: (usize, usize, usize), v: &Amf3Value) {
        if let Some(e) = self.objects.get_mut(start.0) {
            e.value = Some(v.clone());
            e.elements = r.elements().saturating_sub(start.1).max(1);
            e.string_bytes = r.string_bytes().saturating_sub(start.2);
        }
    }

    fn value(&mut self, r: &mut Reader<'_>) -> Result<Amf3Value> {
        let offset = r.pos;
        r.charge_elements(1)?;
        let m = r.u8("AMF3 type marker")?;
        match m {
            marker::UNDEFINED => Ok(Amf3Value::Undefined),
            marker::NULL => Ok(Amf3Value::Null),
            marker::FALSE => Ok(Amf3Value::Boolean(false)),
            marker::TRUE => Ok(Amf3Value::Boolean(true)),
            marker::INTEGER => {
                let v = read_u29(r)?;
                // Sign-extend from 29 bits.
                Ok(Amf3Value::Integer(((v << 3) as i32) >> 3))
            }
            marker::DOUBLE => Ok(Amf3Value::Double(r.f64("AMF3 double")?)),
            marker::STRING => Ok(Amf3Value::String(self.string(r)?)),
            marker::XML_DOC | marker::XML | marker::BYTE_ARRAY => {
                let len = match self.object_header(r)? {
                    Ok(len) => len as usize,
                    Err(v) => return Ok(v),
                };
                let start = self.begin_object(r);
                let v = match m {
                    marker::BYTE_ARRAY => {
                        let b = r.take(len, "AMF3 byte array")?;
                        r.charge_string(len, offset)?;
                        Amf3Value::ByteArray(b.to_vec())
                    }
                    marker::XML => Amf3Value::Xml(r.string(len, "AMF3 XML")?),
                    _ => Amf3Value::XmlDocument(r.string(len, "AMF3 XML document")?),
                };
                self.end_object(r, start, &v);
                Ok(v)
            }
            marker::DATE => {
                if let Err(v) = self.object_header(r)? {
                    return Ok(v);
                }
                let start = self.begin_object(r);
                let v = Amf3Value::Date(r.f64("AMF3 date")?);
                self.end_object(r, start, &v);
                Ok(v)
            }
            marker::ARRAY => {
                let dense_len = match self.object_header(r)? {
                    Ok(n) => n as usize,
                    Err(v) => return Ok(v),
                };
                let start = self.begin_object(r);
                r.enter()?;
                let mut assoc = Vec::new();
                loop {
                    let key = self.string(r)?;
                    if key.is_empty() {
                        break;
                    }
                    let v = self.value(r)?;
                    assoc.push((key, v));
                }
                let mut dense = Vec::with_capacity(r.capacity_hint(dense_len, 1));
                for _ in 0..dense_len {
                    dense.push(self.value(r)?);
                }
                r.leave();
                let v = Amf3Value::Array { assoc, dense };
                self.end_object(r, start, &v);
                Ok(v)
            }
            marker::OBJECT => self.object(r, offset),
            marker::VECTOR_INT
            | marker::VECTOR_UINT
            | marker::VECTOR_DOUBLE
            | marker::VECTOR_OBJECT => {
                let count = match self.object_header(r)? {
                    Ok(n) => n as usize,
                    Err(v) => return Ok(v),
                };
                let fixed = r.u8("vector fixed flag")? != 0;
                let start = self.begin_object(r);
                let v = match m {
                    marker::VECTOR_INT => {
                        let bytes = r.take(count.saturating_mul(4), "Vector.<int>")?;
                        r.charge_elements(count)?;
                        let items = bytes
                            .chunks_exact(4)
                            .filter_map(|c| c.try_into().ok().map(i32::from_be_bytes))
                            .collect();
                        Amf3Value::VectorInt { fixed, items }
                    }
                    marker::VECTOR_UINT => {
                        let bytes = r.take(count.saturating_mul(4), "Vector.<uint>")?;
                        r.charge_elements(count)?;
                        let items = bytes
                            .chunks_exact(4)
                            .filter_map(|c| c.try_into().ok().map(u32::from_be_bytes))
                            .collect();
                        Amf3Value::VectorUint { fixed, items }
                    }
                    marker::VECTOR_DOUBLE => {
                        let bytes = r.take(count.saturating_mul(8), "Vector.<Number>")?;
                        r.charge_elements(count)?;
                        let items = bytes
                            .chunks_exact(8)
                            .filter_map(|c| c.try_into().ok().map(f64::from_be_bytes))
                            .collect();
                        Amf3Value::VectorDouble { fixed, items }
                    }
                    _ => {
                        let type_name = self.string(r)?;
                        r.enter()?;
                        let mut items = Vec::with_capacity(r.capacity_hint(count, 1));
                        for _ in 0..count {
                            items.push(self.value(r)?);
                        }
                        r.leave();
                        Amf3Value::VectorObject {
                            fixed,
                            type_name,
                            items,
                        }
                    }
                };
                self.end_object(r, start, &v);
                Ok(v)
            }
            marker::DICTIONARY => {
                let count = match self.object_header(r)? {
                    Ok(n) => n as usize,
                    Err(v) => return Ok(v),
                };
                let weak_keys = r.u8("dictionary weak-keys flag")? != 0;
                let start = self.begin_object(r);
                r.enter()?;
                let mut entries = Vec::with_capacity(r.capacity_hint(count, 2));
                for _ in 0..count {
                    let k = self.value(r)?;
                    let v = self.value(r)?;
                    entries.push((k, v));
                }
                r.leave();
                let v = Amf3Value::Dictionary { weak_keys, entries };
                self.end_object(r, start, &v);
                Ok(v)
            }
            other => Err(Error::UnknownMarker {
                version: 3,
                marker: other,
                offset,
            }),
        }
    }

    fn object(&mut self, r: &mut Reader<'_>, offset: usize) -> Result<Amf3Value> {
        let bits = match self.object_header(r)? {
            Ok(b) => b,
            Err(v) => return Ok(v),
        };
        // `bits` is the U29O header shifted right by one (the inline-object flag).
        let traits = if bits & 1 == 0 {
            let idx = (bits >> 1) as usize;
            self.traits.get(idx).cloned().ok_or(Error::BadReference {
                table: "trait",
                index: idx,
                len: self.traits.len(),
                offset,
            })?
        } else if bits & 2 != 0 {
            // U29O-traits-ext: externalizable, class name follows.
            let class_name = self.string(r)?;
            let t = Traits {
                class_name,
                dynamic: false,
                externalizable: true,
                members: Vec::new(),
            };
            self.traits.push(t.clone());
            t
        } else {
            let dynamic = bits & 4 != 0;
            let count = (bits >> 3) as usize;
            let class_name = self.string(r)?;
            let mut members = Vec::with_capacity(r.capacity_hint(count, 1));
            for _ in 0..count {
                r.charge_elements(1)?;
                members.push(self.string(r)?);
            }
            let t = Traits {
                class_name,
                dynamic,
                externalizable: false,
                members,
            };
            self.traits.push(t.clone());
            t
        };
        let start = self.begin_object(r);
        r.enter()?;
        let v = if traits.externalizable {
            match traits.class_name.as_str() {
                "flex.messaging.io.ArrayCollection" | "flex.messaging.io.ObjectProxy" => {
                    let inner = self.value(r)?;
                    Amf3Value::Externalizable {
                        class_name: traits.class_name,
                        value: Box::new(inner),
                    }
                }
                _ => {
                    return Err(Error::Externalizable {
                        class_name: traits.class_name,
                        offset,
                    })
                }
            }
        } else {
            let mut sealed = Vec::with_capacity(traits.members.len());
            for name in traits.members {
                r.charge_string(name.len(), r.pos)?;
                let v = self.value(r)?;
                sealed.push((name, v));
            }
            let dynamic = if traits.dynamic {
                let mut d = Vec::new();
                loop {
                    let key = self.string(r)?;
                    if key.is_empty() {
                        break;
                    }
                    let v = self.value(r)?;
                    d.push((key, v));
                }
                Some(d)
            } else {
                None
            };
            Amf3Value::Object {
                class_name: traits.class_name,
                sealed,
                dynamic,
            }
        };
        r.leave();
        self.end_object(r, start, &v);
        Ok(v)
    }
}

fn put_u29(v: u32, what: &'static str, out: &mut BytesMut) -> Result<()> {
    if v > U29_MAX {
        return Err(Error::TooLong {
            what,
            len: v as usize,
            max: U29_MAX as usize,
        });
    }
    if v < 0x80 {
        out.put_u8(v as u8);
    } else if v < 0x4000 {
        out.put_u8(((v >> 7) | 0x80) as u8);
        out.put_u8((v & 0x7F) as u8);
    } else if v < 0x20_0000 {
        out.put_u8(((v >> 14) | 0x80) as u8);
        out.put_u8(((v >> 7) | 0x80) as u8);
        out.put_u8((v & 0x7F) as u8);
    } else {
        out.put_u8(((v >> 22) | 0x80) as u8);
        out.put_u8(((v >> 15) | 0x80) as u8);
        out.put_u8(((v >> 8) | 0x80) as u8);
        out.put_u8((v & 0xFF) as u8);
    }
    Ok(())
}

/// A length or count shifted left by `shift` with low flag bits `flags`, as a U29.
fn put_header(
    len: usize,
    shift: u32,
    flags: u32,
    what: &'static str,
    out: &mut BytesMut,
) -> Result<()> {
    let max = (U29_MAX >> shift) as usize;
    let n = u32::try_from(len)
        .ok()
        .filter(|n| *n as usize <= max)
        .ok_or(Error::TooLong { what, len, max })?;
    put_u29((n << shift) | flags, what, out)
}

fn put_str(s: &str, out: &mut BytesMut) -> Result<()> {
    put_header(s.len(), 1, 1, "AMF3 string", out)?;
    out.put_slice(s.as_bytes());
    Ok(())
}

/// Appends the AMF3 encoding of `value` to `out`. Every value is written inline (no
/// string, object or trait references), except [`Amf3Value::CyclicReference`].
/// Integers outside the 29-bit range are written as doubles.
pub fn encode(value: &Amf3Value, out: &mut BytesMut) -> Result<()> {
    match value {
        Amf3Value::Undefined => out.put_u8(marker::UNDEFINED),
        Amf3Value::Null => out.put_u8(marker::NULL),
        Amf3Value::Boolean(false) => out.put_u8(marker::FALSE),
        Amf3Value::Boolean(true) => out.put_u8(marker::TRUE),
        Amf3Value::Integer(i) => {
            if (-(1 << 28)..(1 << 28)).contains(i) {
                out.put_u8(marker::INTEGER);
                put_u29((*i as u32) & U29_MAX, "integer", out)?;
            } else {
                out.put_u8(marker::DOUBLE);
                out.put_f64(f64::from(*i));
            }
        }
        Amf3Value::Double(d) => {
            out.put_u8(marker::DOUBLE);
            out.put_f64(*d);
        }
        Amf3Value::String(s) => {
            out.put_u8(marker::STRING);
            put_str(s, out)?;
        }
        Amf3Value::XmlDocument(s) | Amf3Value::Xml(s) => {
            out.put_u8(if matches!(value, Amf3Value::Xml(_)) {
                marker::XML
            } else {
                marker::XML_DOC
            });
            put_header(s.len(), 1, 1, "AMF3 XML", out)?;
            out.put_slice(s.as_bytes());
        }
        Amf3Value::Date(ms) => {
            out.put_u8(marker::DATE);
            out.put_u8(1);
            out.put_f64(*ms);
        }
        Amf3Value::Array { assoc, dense } => {
            out.put_u8(marker::ARRAY);
            put_header(dense.len(), 1, 1, "AMF3 array", out)?;
            for (k, v) in assoc {
                put_str(k, out)?;
                encode(v, out)?;
            }
            out.put_u8(0x01);
            for v in dense {
                encode(v, out)?;
            }
        }
        Amf3Value::Object {
            class_name,
            sealed,
            dynamic,
        } => {
            out.put_u8(marker::OBJECT);
            let flags = 0b011 | if dynamic.is_some() { 0b1000 } else { 0 };
            put_header(sealed.len(), 4, flags, "AMF3 sealed member count", out)?;
            put_str(class_name, out)?;
            for (k, _) in sealed {
                put_str(k, out)?;
            }
            for (_, v) in sealed {
                encode(v, out)?;
            }
            if let Some(d) = dynamic {
                for (k, v) in d {
                    put_str(k, out)?;
                    encode(v, out)?;
                }
                out.put_u8(0x01);
            }
        }
        Amf3Value::Externalizable { class_name, value } => {
            out.put_u8(marker::OBJECT);
            out.put_u8(0b0111);
            put_str(class_name, out)?;
            encode(value, out)?;
        }
        Amf3Value::ByteArray(b) => {
            out.put_u8(marker::BYTE_ARRAY);
            put_header(b.len(), 1, 1, "AMF3 byte array", out)?;
            out.put_slice(b);
        }
        Amf3Value::VectorInt { fixed, items } => {
            out.put_u8(marker::VECTOR_INT);
            put_header(items.len(), 1, 1, "Vector.<int>", out)?;
            out.put_u8(u8::from(*fixed));
            items.iter().for_each(|i| out.put_i32(*i));
        }
        Amf3Value::VectorUint { fixed, items } => {
            out.put_u8(marker::VECTOR_UINT);
            put_header(items.len(), 1, 1, "Vector.<uint>", out)?;
            out.put_u8(u8::from(*fixed));
            items.iter().for_each(|i| out.put_u32(*i));
        }
        Amf3Value::VectorDouble { fixed, items } => {
            out.put_u8(marker::VECTOR_DOUBLE);
            put_header(items.len(), 1, 1, "Vector.<Number>", out)?;
            out.put_u8(u8::from(*fixed));
            items.iter().for_each(|i| out.put_f64(*i));
        }
        Amf3Value::VectorObject {
            fixed,
            type_name,
            items,
        } => {
            out.put_u8(marker::VECTOR_OBJECT);
            put_header(items.len(), 1, 1, "Vector.<Object>", out)?;
            out.put_u8(u8::from(*fixed));
            put_str(type_name, out)?;
            for v in items {
                encode(v, out)?;
            }
        }
        Amf3Value::Dictionary { weak_keys, entries } => {
            out.put_u8(marker::DICTIONARY);
            put_header(entries.len(), 1, 1, "Dictionary", out)?;
            out.put_u8(u8::from(*weak_keys));
            for (k, v) in entries {
                encode(k, out)?;
                encode(v, out)?;
            }
        }
        Amf3Value::CyclicReference(idx) => {
            out.put_u8(marker::OBJECT);
            put_header(*idx as usize, 1, 0, "AMF3 object reference", out)?;
        }
    }
    Ok(())
}
