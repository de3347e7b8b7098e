//! The value types.

use crate::amf3::Amf3Value;

/// One AMF0 value (AMF0 specification, section 2).
///
/// Object-like values keep their properties as ordered `(key, value)` pairs, because
/// RTMP peers care about order (for example `onMetaData` as written by encoders) and
/// keys may repeat in the wild.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0Value {
    /// Marker 0x00: an IEEE-754 double.
    Number(f64),
    /// Marker 0x01.
    Boolean(bool),
    /// Marker 0x02: a UTF-8 string of at most 65535 bytes. Longer strings are encoded
    /// with the long-string marker automatically.
    String(String),
    /// Marker 0x03: an anonymous object.
    Object(Vec<(String, Amf0Value)>),
    /// Marker 0x05.
    Null,
    /// Marker 0x06.
    Undefined,
    /// Marker 0x07: a reference to an earlier complex value (by index; not resolved).
    Reference(u16),
    /// Marker 0x08: an associative array. The count field on the wire is only a hint
    /// (real encoders write 0); decoding reads until the object-end marker.
    EcmaArray(Vec<(String, Amf0Value)>),
    /// Marker 0x0A: a dense array.
    StrictArray(Vec<Amf0Value>),
    /// Marker 0x0B: milliseconds since the Unix epoch and a time-zone field that the
    /// specification says should be 0 (kept as sent).
    Date {
        /// Milliseconds since 1970-01-01T00:00:00Z.
        millis: f64,
        /// Time-zone offset in minutes (reserved; normally 0).
        tz: i16,
    },
    /// Marker 0x0C: a string with a 32-bit length.
    LongString(String),
    /// Marker 0x0D: the "unsupported" marker.
    Unsupported,
    /// Marker 0x0F: an XML document as a long string.
    XmlDocument(String),
    /// Marker 0x10: an object with a registered class name.
    TypedObject {
        /// The class alias.
        class_name: String,
        /// Properties in wire order.
        properties: Vec<(String, Amf0Value)>,
    },
    /// Marker 0x11 ("avmplus object"): the following value is AMF3-encoded.
    Amf3(Amf3Value),
}

impl Amf0Value {
    /// The string content of `String`, `LongString` or `XmlDocument` values (and of an
    /// AMF3 string behind the switch marker).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Amf0Value::String(s) | Amf0Value::LongString(s) | Amf0Value::XmlDocument(s) => Some(s),
            Amf0Value::Amf3(v) => v.as_str(),
            _ => None,
        }
    }

    /// The number of a `Number` value (also AMF3 integers/doubles behind the switch marker).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Amf0Value::Number(n) => Some(*n),
            Amf0Value::Amf3(v) => v.as_f64(),
            _ => None,
        }
    }

    /// The value of a `Boolean`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Amf0Value::Boolean(b) => Some(*b),
            Amf0Value::Amf3(Amf3Value::Boolean(b)) => Some(*b),
            _ => None,
        }
    }

    /// The properties of an `Object`, `EcmaArray` or `TypedObject`.
    pub fn properties(&self) -> Option<&[(String, Amf0Value)]> {
        match self {
            Amf0Value::Object(p) | Amf0Value::EcmaArray(p) => Some(p),
            Amf0Value::TypedObject { properties, .. } => Some(properties),
            _ => None,
        }
    }

    /// Mutable access to the properties of an `Object`, `EcmaArray` or `TypedObject`.
    pub fn properties_mut(&mut self) -> Option<&mut Vec<(String, Amf0Value)>> {
        match self {
            Amf0Value::Object(p) | Amf0Value::EcmaArray(p) => Some(p),
            Amf0Value::TypedObject { properties, .. } => Some(properties),
            _ => None,
        }
    }

    /// The first property named `key` of an object-like value.
    pub fn get(&self, key: &str) -> Option<&Amf0Value> {
        self.properties()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Shorthand for `get(key)?.as_str()`.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// Shorthand for `get(key)?.as_f64()`.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_f64()
    }

    /// True for `Null` and `Undefined`.
    pub fn is_null(&self) -> bool {
        matches!(self, Amf0Value::Null | Amf0Value::Undefined)
    }

    /// Builds an `Object` from `(key, value)` pairs.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Amf0Value)>) -> Amf0Value {
        Amf0Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Builds an `EcmaArray` from `(key, value)` pairs.
    pub fn ecma_array<K: Into<String>>(
        pairs: impl IntoIterator<Item = (K, Amf0Value)>,
    ) -> Amf0Value {
        Amf0Value::EcmaArray(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl From<f64> for Amf0Value {
    fn from(v: f64) -> Self {
        Amf0Value::Number(v)
    }
}
impl From<u32> for Amf0Value {
    fn from(v: u32) -> Self {
        Amf0Value::Number(f64::from(v))
    }
}
impl From<i32> for Amf0Value {
    fn from(v: i32) -> Self {
        Amf0Value::Number(f64::from(v))
    }
}
impl From<bool> for Amf0Value {
    fn from(v: bool) -> Self {
        Amf0Value::Boolean(v)
    }
}
impl From<&str> for Amf0Value {
    fn from(v: &str) -> Self {
        Amf0Value::String(v.to_owned())
    }
}
impl From<String> for Amf0Value {
    fn from(v: String) -> Self {
        Amf0Value::String(v)
    }
}

/// Bounds applied while decoding untrusted input. A limit hit is an [`Error`](crate::Error),
/// never a large allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Maximum nesting of objects/arrays (default 32).
    pub max_depth: usize,
    /// Maximum number of values decoded by one call, counting every nested value and
    /// every value copied by an AMF3 reference (default 65536).
    pub max_elements: usize,
    /// Maximum total bytes of decoded strings, counting every copy made by an AMF3
    /// string/object reference (default 16 MiB).
    pub max_string_bytes: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_depth: 32,
            max_elements: 65536,
            max_string_bytes: 16 << 20,
        }
    }
}
