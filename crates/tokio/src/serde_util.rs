//! Deserialization helpers for the TOML configuration (the `serde` feature).
//!
//! **May import**: nothing else of this crate.

/// Durations as integer milliseconds in the TOML file.
pub(crate) mod millis {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Listen addresses in the TOML file: an address, or `"off"`.
pub(crate) mod listen {
    use serde::{de::Error, Deserialize, Deserializer};
    use std::net::SocketAddr;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        let s = String::deserialize(d)?;
        if s.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        s.parse().map(Some).map_err(D::Error::custom)
    }
}
