//! Delivery directives (RFC 8216bis §6.2.5): the `_HLS_msn`, `_HLS_part` and `_HLS_skip`
//! query parameters of a playlist request.

use crate::attr::decimal_integer;
use crate::error::{Error, Result};

/// `_HLS_skip`: which delta update the client asks for (§6.2.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipRequest {
    /// `YES`: skip old segments.
    Yes,
    /// `v2`: skip old segments and old date ranges.
    V2,
}

/// The delivery directives of a playlist request.
///
/// ```
/// use weir_hls::{DeliveryDirectives, SkipRequest};
/// let d = DeliveryDirectives::parse("token=abc&_HLS_msn=12&_HLS_part=3&_HLS_skip=YES")?;
/// assert_eq!((d.msn, d.part, d.skip), (Some(12), Some(3), Some(SkipRequest::Yes)));
/// // §6.2.5.2: `_HLS_part` without `_HLS_msn` is a bad request.
/// assert!(DeliveryDirectives::parse("_HLS_part=1").is_err());
/// # Ok::<(), weir_hls::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub struct DeliveryDirectives {
    /// `_HLS_msn`: block until the playlist holds this Media Sequence Number.
    pub msn: Option<u64>,
    /// `_HLS_part`: with `msn`, block until it holds this Part Index of that segment.
    pub part: Option<u64>,
    /// `_HLS_skip`: a delta update.
    pub skip: Option<SkipRequest>,
}

impl DeliveryDirectives {
    /// Reads the directives from a URI query (without the `?`). Other parameters are
    /// ignored, and so are `_HLS_` parameters this version does not define.
    ///
    /// # Errors
    /// [`Error::Directive`] — a value that is not a decimal-integer (negative, over 2^64-1,
    /// empty, signed), a repeated directive, an `_HLS_skip` other than `YES`/`v2`, or
    /// `_HLS_part` without `_HLS_msn` (§6.2.5.2: the server MUST answer 400).
    pub fn parse(query: &str) -> Result<DeliveryDirectives> {
        let mut d = DeliveryDirectives::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "_HLS_msn" => set(&mut d.msn, "_HLS_msn", int("_HLS_msn", v)?)?,
                "_HLS_part" => set(&mut d.part, "_HLS_part", int("_HLS_part", v)?)?,
                "_HLS_skip" => {
                    let s = match v {
                        "YES" => SkipRequest::Yes,
                        "v2" => SkipRequest::V2,
                        _ => {
                            return Err(Error::Directive {
                                name: "_HLS_skip",
                                reason: "must be YES or v2",
                            })
                        }
                    };
                    set(&mut d.skip, "_HLS_skip", s)?;
                }
                _ => {}
            }
        }
        if d.part.is_some() && d.msn.is_none() {
            return Err(Error::Directive {
                name: "_HLS_part",
                reason: "given without _HLS_msn",
            });
        }
        Ok(d)
    }

    /// True when the request blocks (`_HLS_msn` given).
    pub fn is_blocking(&self) -> bool {
        self.msn.is_some()
    }
}

fn int(name: &'static str, v: &str) -> Result<u64> {
    decimal_integer(v).ok_or(Error::Directive {
        name,
        reason: "not a decimal-integer (0 to 2^64-1)",
    })
}

fn set<T>(slot: &mut Option<T>, name: &'static str, v: T) -> Result<()> {
    if slot.is_some() {
        return Err(Error::Directive {
            name,
            reason: "given more than once",
        });
    }
    *slot = Some(v);
    Ok(())
}

/// The query without its `_HLS_` parameters (what a server keeps for the URIs it writes
/// into the playlist, so tokens survive), `None` when nothing is left.
///
/// ```
/// assert_eq!(
///     weir_hls::strip_directives("a=1&_HLS_msn=4&_HLS_part=0&b=2").as_deref(),
///     Some("a=1&b=2")
/// );
/// assert_eq!(weir_hls::strip_directives("_HLS_skip=YES"), None);
/// ```
pub fn strip_directives(query: &str) -> Option<String> {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("_HLS_"))
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values() {
        for bad in [
            "_HLS_msn=-1",
            "_HLS_msn=",
            "_HLS_msn",
            "_HLS_msn=99999999999999999999999",
            "_HLS_msn=1&_HLS_msn=2",
            "_HLS_msn=+1",
            "_HLS_msn=1.0",
            "_HLS_msn=0x10",
            "_HLS_msn=1&_HLS_part=-3",
            "_HLS_skip=yes",
            "_HLS_skip=",
            "_HLS_part=2",
        ] {
            assert!(DeliveryDirectives::parse(bad).is_err(), "{bad}");
        }
        let d = DeliveryDirectives::parse("_HLS_msn=18446744073709551615").unwrap();
        assert_eq!(d.msn, Some(u64::MAX));
        let d = DeliveryDirectives::parse("_HLS_future=x&&x").unwrap();
        assert_eq!(d, DeliveryDirectives::default());
    }
}
