//! The SDP serializer: CRLF-terminated text in RFC 8866 §5 line order.

use std::fmt::{self, Write as _};

use super::{Attribute, Bandwidth, Connection, MediaDescription, Origin, SessionDescription};

// ---------------------------------------------------------------------------------------------
// Serializer.

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.net_type,
            self.addr_type,
            self.unicast_address
        )
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)?;
        if let Some(t) = self.ttl {
            write!(f, "/{t}")?;
        }
        if let Some(n) = self.num_addresses {
            write!(f, "/{n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}:{}", self.name, v),
            None => f.write_str(&self.name),
        }
    }
}

fn write_common(
    out: &mut String,
    connections: &[Connection],
    bandwidths: &[Bandwidth],
) -> fmt::Result {
    for c in connections {
        write!(out, "c={c}\r\n")?;
    }
    for b in bandwidths {
        write!(out, "b={}:{}\r\n", b.bw_type, b.bandwidth)?;
    }
    Ok(())
}

impl MediaDescription {
    fn write(&self, out: &mut String) -> fmt::Result {
        write!(out, "m={} {}", self.media, self.port)?;
        if let Some(n) = self.num_ports {
            write!(out, "/{n}")?;
        }
        write!(out, " {}", self.proto)?;
        for f in &self.formats {
            write!(out, " {f}")?;
        }
        out.push_str("\r\n");
        if let Some(t) = &self.title {
            write!(out, "i={t}\r\n")?;
        }
        write_common(out, &self.connections, &self.bandwidths)?;
        if let Some(k) = &self.key {
            write!(out, "k={k}\r\n")?;
        }
        for a in &self.attributes {
            write!(out, "a={a}\r\n")?;
        }
        for r in &self.raw_lines {
            write!(out, "{}={}\r\n", r.kind, r.value)?;
        }
        Ok(())
    }
}

impl SessionDescription {
    fn write(&self, out: &mut String) -> fmt::Result {
        write!(out, "v={}\r\n", self.version)?;
        if let Some(o) = &self.origin {
            write!(out, "o={o}\r\n")?;
        }
        write!(out, "s={}\r\n", self.session_name.as_deref().unwrap_or("-"))?;
        if let Some(i) = &self.information {
            write!(out, "i={i}\r\n")?;
        }
        if let Some(u) = &self.uri {
            write!(out, "u={u}\r\n")?;
        }
        for e in &self.emails {
            write!(out, "e={e}\r\n")?;
        }
        for p in &self.phones {
            write!(out, "p={p}\r\n")?;
        }
        write_common(out, &self.connections, &self.bandwidths)?;
        if self.timings.is_empty() {
            out.push_str("t=0 0\r\n");
        }
        for t in &self.timings {
            write!(out, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                write!(out, "r={} {}", r.interval, r.duration)?;
                for o in &r.offsets {
                    write!(out, " {o}")?;
                }
                out.push_str("\r\n");
            }
        }
        if !self.time_zones.is_empty() {
            out.push_str("z=");
            for (n, z) in self.time_zones.iter().enumerate() {
                if n > 0 {
                    out.push(' ');
                }
                write!(out, "{} {}", z.adjustment, z.offset)?;
            }
            out.push_str("\r\n");
        }
        if let Some(k) = &self.key {
            write!(out, "k={k}\r\n")?;
        }
        for a in &self.attributes {
            write!(out, "a={a}\r\n")?;
        }
        for r in &self.raw_lines {
            write!(out, "{}={}\r\n", r.kind, r.value)?;
        }
        for m in &self.media {
            m.write(out)?;
        }
        Ok(())
    }

    /// Serializes to CRLF-terminated SDP text.
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from(self.to_string())
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(512);
        self.write(&mut s)?;
        f.write_str(&s)
    }
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(256);
        self.write(&mut s)?;
        f.write_str(&s)
    }
}
