//! The SDP parser: nom line grammars and the section-ordering state machine (RFC 8866 §5).

use nom::{
    bytes::complete::take_while1,
    character::complete::{char, digit1, space1},
    combinator::{all_consuming, map_res, opt},
    sequence::preceded,
    IResult,
};

use super::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, ParseOptions, RawLine, Repeat,
    SessionDescription, TimeZone, Timing,
};
use crate::error::{Error, Result};

// ---------------------------------------------------------------------------------------------
// Line grammars (nom).

fn is_token(c: char) -> bool {
    // RFC 8866 §9 token-char: any visible ASCII except a few separators.
    c.is_ascii_graphic()
        && !matches!(
            c,
            '"' | '('
                | ')'
                | ','
                | '/'
                | ':'
                | ';'
                | '<'
                | '='
                | '>'
                | '?'
                | '@'
                | '['
                | '\\'
                | ']'
                | '{'
                | '}'
        )
}

fn non_ws(c: char) -> bool {
    !c.is_ascii_whitespace()
}

fn field(i: &str) -> IResult<&str, &str> {
    take_while1(non_ws)(i)
}

fn number<T: std::str::FromStr>(i: &str) -> IResult<&str, T> {
    map_res(digit1, |d: &str| d.parse::<T>())(i)
}

fn origin_line(i: &str) -> IResult<&str, Origin> {
    let (i, username) = field(i)?;
    let (i, session_id) = preceded(space1, field)(i)?;
    let (i, session_version) = preceded(space1, field)(i)?;
    let (i, net_type) = preceded(space1, field)(i)?;
    let (i, addr_type) = preceded(space1, field)(i)?;
    let (i, unicast_address) = preceded(space1, field)(i)?;
    Ok((
        i,
        Origin {
            username: username.into(),
            session_id: session_id.into(),
            session_version: session_version.into(),
            net_type: net_type.into(),
            addr_type: addr_type.into(),
            unicast_address: unicast_address.into(),
        },
    ))
}

fn connection_line(i: &str) -> IResult<&str, (String, String, String)> {
    let (i, net_type) = field(i)?;
    let (i, addr_type) = preceded(space1, field)(i)?;
    let (i, addr) = preceded(space1, field)(i)?;
    Ok((i, (net_type.into(), addr_type.into(), addr.into())))
}

fn parse_connection(v: &str) -> Option<Connection> {
    let (_, (net_type, addr_type, addr)) = all_consuming(connection_line)(v).ok()?;
    let mut parts = addr.split('/');
    let address = parts.next()?.to_string();
    if address.is_empty() {
        return None;
    }
    let a: Option<&str> = parts.next();
    let b: Option<&str> = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (ttl, num_addresses) = if addr_type.eq_ignore_ascii_case("IP6") {
        if b.is_some() {
            return None;
        }
        (
            None,
            match a {
                Some(n) => Some(n.parse::<u32>().ok()?),
                None => None,
            },
        )
    } else {
        (
            match a {
                Some(t) => Some(t.parse::<u8>().ok()?),
                None => None,
            },
            match b {
                Some(n) => Some(n.parse::<u32>().ok()?),
                None => None,
            },
        )
    };
    Ok::<_, ()>(Connection {
        net_type,
        addr_type,
        address,
        ttl,
        num_addresses,
    })
    .ok()
}

type MediaLine = (String, u16, Option<u16>, String, Vec<String>);

fn media_line(i: &str) -> IResult<&str, MediaLine> {
    let (i, media) = field(i)?;
    let (i, port) = preceded(space1, number::<u16>)(i)?;
    let (i, num_ports) = opt(preceded(char('/'), number::<u16>))(i)?;
    let (i, proto) = preceded(space1, field)(i)?;
    let mut formats = Vec::new();
    let mut rest = i;
    while let Ok((r, f)) = preceded(space1, field)(rest) {
        formats.push(f.to_string());
        rest = r;
    }
    Ok((rest, (media.into(), port, num_ports, proto.into(), formats)))
}

/// Typed time (`d`, `h`, `m`, `s` suffixes) in seconds.
fn typed_time(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mult = match s.as_bytes().last()? {
        b'd' => 86_400,
        b'h' => 3_600,
        b'm' => 60,
        b's' => 1,
        _ => 0,
    };
    let (digits, mult) = if mult == 0 {
        (s, 1)
    } else {
        (s.get(..s.len() - 1)?, mult)
    };
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    let v = v.checked_mul(mult)?;
    Some(if neg { -v } else { v })
}

fn parse_repeat(v: &str) -> Option<Repeat> {
    let mut it = v.split_ascii_whitespace();
    let interval = u64::try_from(typed_time(it.next()?)?).ok()?;
    let duration = u64::try_from(typed_time(it.next()?)?).ok()?;
    let mut offsets = Vec::new();
    for o in it {
        offsets.push(u64::try_from(typed_time(o)?).ok()?);
    }
    Some(Repeat {
        interval,
        duration,
        offsets,
    })
}

fn parse_zones(v: &str) -> Option<Vec<TimeZone>> {
    let parts: Vec<&str> = v.split_ascii_whitespace().collect();
    if parts.is_empty() || parts.len() % 2 != 0 {
        return None;
    }
    let mut out = Vec::new();
    for pair in parts.chunks(2) {
        let adjustment = pair.first()?.parse::<u64>().ok()?;
        let offset = typed_time(pair.get(1)?)?;
        out.push(TimeZone { adjustment, offset });
    }
    Some(out)
}

fn parse_timing(v: &str) -> Option<Timing> {
    let mut it = v.split_ascii_whitespace();
    let start = it.next()?.parse().ok()?;
    let stop = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some(Timing {
        start,
        stop,
        repeats: Vec::new(),
    })
}

fn parse_bandwidth(v: &str) -> Option<Bandwidth> {
    let (t, n) = v.split_once(':')?;
    if t.is_empty() || !t.chars().all(is_token) {
        return None;
    }
    Some(Bandwidth {
        bw_type: t.to_string(),
        bandwidth: n.trim().parse().ok()?,
    })
}

fn parse_attribute(v: &str) -> Option<Attribute> {
    let (name, value) = match v.split_once(':') {
        Some((n, val)) => (n, Some(val.to_string())),
        None => (v, None),
    };
    if name.is_empty() || !name.chars().all(is_token) {
        return None;
    }
    Some(Attribute {
        name: name.to_string(),
        value,
    })
}

/// Attributes that may appear once per section; strict mode rejects repeats.
fn single_valued(a: &Attribute) -> Option<String> {
    let n = a.name.to_ascii_lowercase();
    match n.as_str() {
        "control" | "range" | "framerate" | "sendrecv" | "sendonly" | "recvonly" | "inactive"
        | "ptime" | "maxptime" | "tool" | "type" | "charset" => Some(n),
        "rtpmap" | "fmtp" => {
            let pt = a
                .value
                .as_deref()
                .unwrap_or("")
                .split_ascii_whitespace()
                .next()
                .unwrap_or("");
            Some(format!("{n}:{pt}"))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Parser.

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Session,
    Media,
}

fn rank(section: Section, kind: char) -> Option<u8> {
    Some(match (section, kind) {
        (Section::Session, 'v') => 0,
        (Section::Session, 'o') => 1,
        (Section::Session, 's') => 2,
        (Section::Session, 'i') => 3,
        (Section::Session, 'u') => 4,
        (Section::Session, 'e') => 5,
        (Section::Session, 'p') => 6,
        (Section::Session, 'c') => 7,
        (Section::Session, 'b') => 8,
        (Section::Session, 't' | 'r') => 9,
        (Section::Session, 'z') => 10,
        (Section::Session, 'k') => 11,
        (Section::Session, 'a') => 12,
        (Section::Media, 'i') => 1,
        (Section::Media, 'c') => 2,
        (Section::Media, 'b') => 3,
        (Section::Media, 'k') => 4,
        (Section::Media, 'a') => 5,
        _ => return None,
    })
}

fn repeatable(section: Section, kind: char) -> bool {
    // RFC 8866 §5: one session-level `c=`, several per media section.
    matches!(kind, 'e' | 'p' | 'b' | 't' | 'r' | 'a') || (kind == 'c' && section == Section::Media)
}

impl SessionDescription {
    /// Parses with the default, tolerant [`ParseOptions`].
    pub fn parse(input: &[u8]) -> Result<SessionDescription> {
        Self::parse_with(input, &ParseOptions::default())
    }

    /// Parses with RFC 8866 strictness ([`ParseOptions::strict`]).
    pub fn parse_strict(input: &[u8]) -> Result<SessionDescription> {
        Self::parse_with(input, &ParseOptions::strict())
    }

    /// Parses with explicit options.
    pub fn parse_with(input: &[u8], opts: &ParseOptions) -> Result<SessionDescription> {
        if input.len() > opts.max_bytes {
            return Err(Error::LimitExceeded {
                what: "sdp bytes",
                limit: opts.max_bytes,
            });
        }
        let strict = opts.strict;
        let mut sdp = SessionDescription::default();
        let mut seen_v = false;
        let mut section = Section::Session;
        let mut last_rank: u8 = 0;
        let mut seen_single: Vec<char> = Vec::new();
        let mut single_attrs: Vec<String> = Vec::new();
        let mut line_no = 0usize;
        let mut rest = input;
        while !rest.is_empty() {
            line_no += 1;
            if line_no > opts.max_lines {
                return Err(Error::LimitExceeded {
                    what: "sdp lines",
                    limit: opts.max_lines,
                });
            }
            let (raw, had_lf) = match memchr_nl(rest) {
                Some(pos) => {
                    let (l, r) = rest.split_at(pos);
                    rest = r.get(1..).unwrap_or(&[]);
                    (l, true)
                }
                None => {
                    let l = rest;
                    rest = &[];
                    (l, false)
                }
            };
            let (line, had_cr) = match raw.strip_suffix(b"\r") {
                Some(l) => (l, true),
                None => (raw, false),
            };
            if strict && !(had_lf && had_cr) {
                return Err(Error::Strictness {
                    line: line_no,
                    reason: "line does not end with CRLF",
                });
            }
            let line = std::str::from_utf8(line).map_err(|_| Error::NotUtf8 { line: line_no })?;
            let line = if strict {
                if line.ends_with([' ', '\t', '\r']) && !line.starts_with("s=") {
                    return Err(Error::Strictness {
                        line: line_no,
                        reason: "trailing white space",
                    });
                }
                line
            } else {
                line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r')
            };
            if line.is_empty() {
                if strict {
                    return Err(Error::Strictness {
                        line: line_no,
                        reason: "empty line",
                    });
                }
                continue;
            }
            let mut chars = line.chars();
            let kind = chars.next().unwrap_or(' ');
            let value = match chars.as_str().strip_prefix('=') {
                Some(v) => v,
                None => {
                    if strict {
                        return Err(Error::Malformed { line: line_no });
                    }
                    tracing::debug!(line = line_no, "sdp: skipping line without `=`");
                    continue;
                }
            };
            let value = if strict {
                value
            } else {
                value.trim_start_matches([' ', '\t'])
            };
            let bad = |reason| Error::InvalidLine {
                line: line_no,
                kind,
                reason,
            };

            if kind == 'm' {
                if sdp.media.len() >= opts.max_media {
                    return Err(Error::LimitExceeded {
                        what: "sdp media sections",
                        limit: opts.max_media,
                    });
                }
                let parsed = all_consuming(media_line)(value).ok().map(|(_, m)| m);
                let (media, port, num_ports, proto, formats) = match parsed {
                    Some(m) => m,
                    None => return Err(bad("expected `<media> <port>[/<n>] <proto> <fmt>...`")),
                };
                if strict && formats.is_empty() {
                    return Err(bad("no formats"));
                }
                if strict && sdp.timings.is_empty() {
                    return Err(Error::Missing { kind: 't' });
                }
                sdp.media.push(MediaDescription {
                    media,
                    port,
                    num_ports,
                    proto,
                    formats,
                    title: None,
                    connections: Vec::new(),
                    bandwidths: Vec::new(),
                    key: None,
                    attributes: Vec::new(),
                    raw_lines: Vec::new(),
                });
                section = Section::Media;
                last_rank = 0;
                seen_single.clear();
                single_attrs.clear();
                continue;
            }

            if strict {
                if !seen_v && kind != 'v' {
                    return Err(Error::Missing { kind: 'v' });
                }
                let r = rank(section, kind).ok_or(Error::UnknownLine {
                    line: line_no,
                    kind,
                })?;
                if r < last_rank || (!repeatable(section, kind) && seen_single.contains(&kind)) {
                    return Err(Error::OutOfOrder {
                        line: line_no,
                        kind,
                    });
                }
                if kind == 'r' && sdp.timings.is_empty() {
                    return Err(Error::OutOfOrder {
                        line: line_no,
                        kind,
                    });
                }
                if section == Section::Session && r > 9 && sdp.timings.is_empty() {
                    return Err(Error::Missing { kind: 't' });
                }
                last_rank = r;
                seen_single.push(kind);
            }

            // Tolerant mode: session-only kinds that appear after m= still belong to the session.
            let target_media =
                section == Section::Media && matches!(kind, 'i' | 'c' | 'b' | 'k' | 'a');
            // Failure of a typed value: strict → error, tolerant → keep verbatim.
            let keep_raw = |sdp: &mut SessionDescription, reason: &'static str| -> Result<()> {
                if strict {
                    return Err(bad(reason));
                }
                tracing::debug!(line = line_no, kind = %kind, reason, "sdp: keeping unparsable line verbatim");
                let raw = RawLine {
                    kind,
                    value: value.to_string(),
                };
                match (target_media, sdp.media.last_mut()) {
                    (true, Some(m)) => m.raw_lines.push(raw),
                    _ => sdp.raw_lines.push(raw),
                }
                Ok(())
            };

            match kind {
                'v' => {
                    seen_v = true;
                    match value.trim().parse::<u32>() {
                        Ok(v) if v == 0 || !strict => sdp.version = v,
                        _ => keep_raw(&mut sdp, "version must be 0")?,
                    }
                }
                'o' => match all_consuming(origin_line)(value) {
                    Ok((_, o)) => sdp.origin = Some(o),
                    Err(_) => keep_raw(&mut sdp, "expected 6 fields")?,
                },
                's' => {
                    if strict && value.is_empty() {
                        return Err(bad("empty session name"));
                    }
                    sdp.session_name = Some(value.to_string())
                }
                'i' => {
                    if target_media {
                        if let Some(m) = sdp.media.last_mut() {
                            m.title = Some(value.to_string());
                        }
                    } else {
                        sdp.information = Some(value.to_string());
                    }
                }
                'u' => sdp.uri = Some(value.to_string()),
                'e' => sdp.emails.push(value.to_string()),
                'p' => sdp.phones.push(value.to_string()),
                'c' => match parse_connection(value) {
                    Some(c) => match (target_media, sdp.media.last_mut()) {
                        (true, Some(m)) => m.connections.push(c),
                        _ => sdp.connections.push(c),
                    },
                    None => keep_raw(
                        &mut sdp,
                        "expected `<nettype> <addrtype> <address>[/ttl][/n]`",
                    )?,
                },
                'b' => match parse_bandwidth(value) {
                    Some(b) => match (target_media, sdp.media.last_mut()) {
                        (true, Some(m)) => m.bandwidths.push(b),
                        _ => sdp.bandwidths.push(b),
                    },
                    None => keep_raw(&mut sdp, "expected `<type>:<number>`")?,
                },
                't' => match parse_timing(value) {
                    Some(t) => sdp.timings.push(t),
                    None => keep_raw(&mut sdp, "expected `<start> <stop>`")?,
                },
                'r' => match (parse_repeat(value), sdp.timings.last_mut()) {
                    (Some(r), Some(t)) => t.repeats.push(r),
                    _ => keep_raw(
                        &mut sdp,
                        "expected `<interval> <duration> <offsets>` after a t= line",
                    )?,
                },
                'z' => match parse_zones(value) {
                    Some(z) => sdp.time_zones.extend(z),
                    None => keep_raw(&mut sdp, "expected `<time> <offset>` pairs")?,
                },
                'k' => match (target_media, sdp.media.last_mut()) {
                    (true, Some(m)) => m.key = Some(value.to_string()),
                    _ => sdp.key = Some(value.to_string()),
                },
                'a' => match parse_attribute(value) {
                    Some(a) => {
                        if strict {
                            if let Some(key) = single_valued(&a) {
                                if single_attrs.contains(&key) {
                                    return Err(Error::DuplicateAttribute {
                                        line: line_no,
                                        name: key,
                                    });
                                }
                                single_attrs.push(key);
                            }
                        }
                        let list = match (target_media, sdp.media.last_mut()) {
                            (true, Some(m)) => &mut m.attributes,
                            _ => &mut sdp.attributes,
                        };
                        if list.len() >= opts.max_attributes {
                            return Err(Error::LimitExceeded {
                                what: "sdp attributes per section",
                                limit: opts.max_attributes,
                            });
                        }
                        list.push(a);
                    }
                    None => keep_raw(&mut sdp, "bad attribute name")?,
                },
                _ => {
                    if strict {
                        return Err(Error::UnknownLine {
                            line: line_no,
                            kind,
                        });
                    }
                    keep_raw(&mut sdp, "unknown line type")?;
                }
            }
        }
        if strict {
            if !seen_v {
                return Err(Error::Missing { kind: 'v' });
            }
            if sdp.origin.is_none() {
                return Err(Error::Missing { kind: 'o' });
            }
            if sdp.session_name.is_none() {
                return Err(Error::Missing { kind: 's' });
            }
            if sdp.timings.is_empty() {
                return Err(Error::Missing { kind: 't' });
            }
        }
        Ok(sdp)
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}
