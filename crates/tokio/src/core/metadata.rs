//! Stream metadata in a protocol-neutral form (what RTMP calls `onMetaData`).

/// One metadata value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MetaValue {
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Text(String),
}

/// Descriptive properties a publisher attached to its stream (encoder, width, frame
/// rate…), in order. Nested values of the source protocol are not carried.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamMetadata {
    /// Properties in the order the publisher sent them.
    pub properties: Vec<(String, MetaValue)>,
}

impl StreamMetadata {
    /// A property by name.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// A numeric property.
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(MetaValue::Number(n)) => Some(*n),
            _ => None,
        }
    }
}
