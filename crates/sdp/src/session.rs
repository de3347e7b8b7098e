//! The SDP data model, the parser and the serializer.

mod parse;
mod write;

/// `o=` origin line (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name, `-` when none.
    pub username: String,
    /// Session id (numeric per the RFC; kept as text because cameras send anything).
    pub session_id: String,
    /// Session version.
    pub session_version: String,
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Unicast address of the originator.
    pub unicast_address: String,
}

/// `c=` connection data (RFC 8866 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The base address.
    pub address: String,
    /// IPv4 multicast TTL (`/ttl`).
    pub ttl: Option<u8>,
    /// Number of consecutive addresses (`/ttl/n` for IP4, `/n` for IP6).
    pub num_addresses: Option<u32>,
}

/// `b=` bandwidth (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `CT`, `AS`, `TIAS`, …
    pub bw_type: String,
    /// Value (kbit/s for CT/AS).
    pub bandwidth: u64,
}

/// `r=` repeat times (RFC 8866 §5.10), normalised to seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    /// Repeat interval.
    pub interval: u64,
    /// Active duration.
    pub duration: u64,
    /// Offsets from the start time.
    pub offsets: Vec<u64>,
}

/// `t=` timing with its `r=` lines (RFC 8866 §5.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// Start (NTP seconds, 0 = unbounded).
    pub start: u64,
    /// Stop (NTP seconds, 0 = unbounded).
    pub stop: u64,
    /// Repeat lines.
    pub repeats: Vec<Repeat>,
}

/// One `z=` adjustment (RFC 8866 §5.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    /// Adjustment time (NTP seconds).
    pub adjustment: u64,
    /// Offset in seconds (may be negative).
    pub offset: i64,
}

/// `a=` attribute: `a=name` or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name.
    pub name: String,
    /// Value, `None` for a property attribute.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=name:value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }
    /// `a=name`.
    pub fn flag(name: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: None,
        }
    }
}

/// A line the tolerant parser kept verbatim because it could not interpret it (unknown type,
/// or a known type with a broken value). Serialized back at the end of its section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    /// The type letter.
    pub kind: char,
    /// The value after `=`.
    pub value: String,
}

/// `m=` media description with its lines (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`, …
    pub media: String,
    /// Transport port (0 in RTSP DESCRIBE answers).
    pub port: u16,
    /// Number of ports (`port/n`).
    pub num_ports: Option<u16>,
    /// `RTP/AVP`, `RTP/AVPF`, …
    pub proto: String,
    /// Formats: RTP payload types for RTP protocols.
    pub formats: Vec<String>,
    /// `i=` title.
    pub title: Option<String>,
    /// `c=` lines (several are allowed at media level).
    pub connections: Vec<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=` (obsolete).
    pub key: Option<String>,
    /// `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// Lines kept verbatim by the tolerant parser.
    pub raw_lines: Vec<RawLine>,
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionDescription {
    /// `v=`, always 0.
    pub version: u32,
    /// `o=`; `None` when a camera left it out (tolerant mode).
    pub origin: Option<Origin>,
    /// `s=`; `None` when a camera left it out (tolerant mode). Serialized as `s=-` then.
    pub session_name: Option<String>,
    /// `i=`.
    pub information: Option<String>,
    /// `u=`.
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// Session-level `c=` (RFC 8866 allows one; the tolerant parser keeps all).
    pub connections: Vec<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines with their `r=` lines. Serialized as `t=0 0` when empty.
    pub timings: Vec<Timing>,
    /// `z=` adjustments.
    pub time_zones: Vec<TimeZone>,
    /// `k=` (obsolete).
    pub key: Option<String>,
    /// Session-level `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// Media descriptions.
    pub media: Vec<MediaDescription>,
    /// Session-level lines kept verbatim by the tolerant parser.
    pub raw_lines: Vec<RawLine>,
}

/// Parser settings: strictness and limits.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Reject what RFC 8866 forbids instead of accepting common camera quirks:
    /// bare `\n`, trailing white space, empty lines, missing `v=`/`o=`/`s=`/`t=`, unknown or
    /// out-of-order lines, broken values, duplicated single-valued attributes.
    pub strict: bool,
    /// Maximum input size in bytes.
    pub max_bytes: usize,
    /// Maximum number of lines.
    pub max_lines: usize,
    /// Maximum number of `m=` sections.
    pub max_media: usize,
    /// Maximum number of `a=` lines per section.
    pub max_attributes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            strict: false,
            max_bytes: 64 * 1024,
            max_lines: 2048,
            max_media: 64,
            max_attributes: 512,
        }
    }
}

impl ParseOptions {
    /// Default limits, strict RFC 8866 grammar.
    pub fn strict() -> ParseOptions {
        ParseOptions {
            strict: true,
            ..ParseOptions::default()
        }
    }
}

impl Connection {
    /// Expands `/n` into the individual addresses (RFC 8866 §5.7: consecutive addresses,
    /// incrementing the last IPv4 octet or the last IPv6 group). At most `limit` are returned.
    pub fn addresses(&self, limit: usize) -> Vec<String> {
        let n = self.num_addresses.unwrap_or(1).max(1) as usize;
        let n = n.min(limit);
        if n <= 1 {
            return vec![self.address.clone()];
        }
        if let Ok(v4) = self.address.parse::<std::net::Ipv4Addr>() {
            let base = u32::from(v4);
            return (0..n as u32)
                .filter_map(|i| base.checked_add(i))
                .map(|a| std::net::Ipv4Addr::from(a).to_string())
                .collect();
        }
        if let Ok(v6) = self.address.parse::<std::net::Ipv6Addr>() {
            let base = u128::from(v6);
            return (0..n as u128)
                .filter_map(|i| base.checked_add(i))
                .map(|a| std::net::Ipv6Addr::from(a).to_string())
                .collect();
        }
        vec![self.address.clone()]
    }
}
