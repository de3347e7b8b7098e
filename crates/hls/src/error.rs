//! The crate's error type.

/// Everything that can go wrong while parsing a playlist or a request's delivery directives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text does not start with `#EXTM3U`.
    #[error("not a playlist: the first line is not #EXTM3U")]
    NotPlaylist,
    /// A tag or URI line is malformed.
    #[error("line {line}: {tag}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// The tag (`EXTINF`, `EXT-X-PART`…) or `URI` for a URI line.
        tag: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A tag that is required by another one, or by every media playlist, is missing.
    #[error("missing {tag}")]
    Missing {
        /// The missing tag.
        tag: &'static str,
    },
    /// The playlist is a multivariant (master) playlist; this parser reads media playlists.
    #[error("line {line}: multivariant playlist tag in what should be a media playlist")]
    Multivariant {
        /// 1-based line number of the first multivariant tag.
        line: usize,
    },
    /// A configured limit was hit.
    #[error("{what} over the limit of {limit}")]
    LimitExceeded {
        /// What was counted (`bytes`, `segments`, `parts`, `line bytes`).
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A delivery directive (`_HLS_msn`, `_HLS_part`, `_HLS_skip`) in a request's query is
    /// invalid (RFC 8216bis §6.2.5: a server answers such a request with 400).
    #[error("delivery directive {name}: {reason}")]
    Directive {
        /// The parameter name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
