//! Incremental FLV reader for files and HTTP-FLV streams.

use bytes::{Buf, Bytes, BytesMut};

use crate::header::{FlvHeader, HEADER_LEN};
use crate::tag::{Tag, TagHeader, MAX_BODY_LEN, PREVIOUS_TAG_SIZE_LEN, TAG_HEADER_LEN};
use crate::{Error, Result};

/// What the reader does when a PreviousTagSize field disagrees with the tag before it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PreviousTagSizeCheck {
    /// Fail with [`Error::PreviousTagSizeMismatch`] (or resynchronise, when enabled).
    Strict,
    /// Log at `debug`, count it in [`ReaderStats::previous_tag_size_mismatches`], continue.
    /// Some encoders write sizes without the 11 header bytes or zero; players ignore them.
    #[default]
    Lenient,
    /// Do not look at the field at all.
    Ignore,
}

/// Limits and policies of a [`FlvReader`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ReaderConfig {
    /// The input starts with the 9-byte FLV header and `PreviousTagSize0` (files, HTTP-FLV).
    /// When false the input starts directly at a tag header.
    pub expect_header: bool,
    /// Largest tag body accepted; larger tags are an [`Error::TagTooLarge`] (or trigger a
    /// resync). At most 2^24-1, the format's own maximum.
    pub max_tag_size: u32,
    /// Largest header `DataOffset` accepted (bytes after the 9-byte header are skipped).
    pub max_data_offset: u32,
    /// PreviousTagSize policy.
    pub previous_tag_size: PreviousTagSizeCheck,
    /// On a framing error (unknown tag type, Filter bit, oversized tag, strict PreviousTagSize
    /// mismatch) scan forward for the next plausible tag instead of failing. A candidate is
    /// accepted only when its whole body and a matching PreviousTagSize are buffered, so
    /// the result never depends on how the input was split into chunks.
    pub resync: bool,
    /// Bytes a resync may skip before it gives up with [`Error::ResyncFailed`].
    pub max_resync_bytes: usize,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            expect_header: true,
            max_tag_size: MAX_BODY_LEN as u32,
            max_data_offset: 4096,
            previous_tag_size: PreviousTagSizeCheck::default(),
            resync: false,
            max_resync_bytes: 1 << 20,
        }
    }
}

impl ReaderConfig {
    /// Sets [`ReaderConfig::expect_header`].
    pub fn expect_header(mut self, v: bool) -> Self {
        self.expect_header = v;
        self
    }
    /// Sets [`ReaderConfig::max_tag_size`] (clamped to 2^24-1).
    pub fn max_tag_size(mut self, v: u32) -> Self {
        self.max_tag_size = v.min(MAX_BODY_LEN as u32);
        self
    }
    /// Sets [`ReaderConfig::max_data_offset`].
    pub fn max_data_offset(mut self, v: u32) -> Self {
        self.max_data_offset = v;
        self
    }
    /// Sets [`ReaderConfig::previous_tag_size`].
    pub fn previous_tag_size(mut self, v: PreviousTagSizeCheck) -> Self {
        self.previous_tag_size = v;
        self
    }
    /// Enables or disables [`ReaderConfig::resync`].
    pub fn resync(mut self, v: bool) -> Self {
        self.resync = v;
        self
    }
    /// Sets [`ReaderConfig::max_resync_bytes`].
    pub fn max_resync_bytes(mut self, v: usize) -> Self {
        self.max_resync_bytes = v;
        self
    }
}

/// Counters kept by a [`FlvReader`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ReaderStats {
    /// Tags returned.
    pub tags: u64,
    /// PreviousTagSize fields that did not match (in lenient mode).
    pub previous_tag_size_mismatches: u64,
    /// Times the reader had to resynchronise.
    pub resyncs: u64,
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    Header,
    SkipHeaderExtra(u32),
    PreviousTagSize(u32),
    TagHeader,
    Resync {
        from: u64,
        skipped: usize,
        start: usize,
    },
}

/// A growable input the reader can take zero-copy slices from.
trait Input {
    fn bytes(&self) -> &[u8];
    fn skip(&mut self, n: usize);
    fn take(&mut self, n: usize) -> Bytes;
}

impl Input for BytesMut {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn skip(&mut self, n: usize) {
        self.advance(n.min(self.len()));
    }
    fn take(&mut self, n: usize) -> Bytes {
        self.split_to(n.min(self.len())).freeze()
    }
}

impl Input for Bytes {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn skip(&mut self, n: usize) {
        self.advance(n.min(self.len()));
    }
    fn take(&mut self, n: usize) -> Bytes {
        self.split_to(n.min(self.len()))
    }
}

/// Sans-IO FLV tag reader: feed bytes as they arrive (file reads, HTTP-FLV body chunks), get
/// whole [`Tag`]s out. Follows the tokio-util `Decoder` contract: `Ok(None)` until a whole
/// tag is buffered; consumes exactly what it used. Tag bodies are zero-copy slices of the
/// input buffer.
///
/// ```
/// use bytes::BytesMut;
/// use weir_flv::{FlvHeader, FlvReader, Tag, TagType};
///
/// let mut file = BytesMut::new();
/// FlvHeader::new(true, false).write_with_first_tag_size(&mut file);
/// Tag::new(TagType::Audio, 40, bytes::Bytes::from_static(&[0x2F, 0xFF, 0xFB])).write(&mut file)?;
///
/// let mut reader = FlvReader::new();
/// let mut input = BytesMut::new();
/// let mut tags = Vec::new();
/// for chunk in file.chunks(5) {           // arrives in pieces
///     input.extend_from_slice(chunk);
///     while let Some(tag) = reader.decode(&mut input)? {
///         tags.push(tag);
///     }
/// }
/// assert_eq!(tags.len(), 1);
/// assert_eq!(tags[0].timestamp, 40);
/// assert!(reader.header().unwrap().has_audio);
/// # Ok::<(), weir_flv::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct FlvReader {
    config: ReaderConfig,
    state: State,
    header: Option<FlvHeader>,
    offset: u64,
    stats: ReaderStats,
}

impl Default for FlvReader {
    fn default() -> Self {
        FlvReader::new()
    }
}

impl FlvReader {
    /// A reader with [`ReaderConfig::default`] (expects the FLV header, lenient
    /// PreviousTagSize, no resync).
    pub fn new() -> FlvReader {
        FlvReader::with_config(ReaderConfig::default())
    }

    /// A reader with the given configuration.
    pub fn with_config(config: ReaderConfig) -> FlvReader {
        FlvReader {
            config,
            state: if config.expect_header {
                State::Header
            } else {
                State::TagHeader
            },
            header: None,
            offset: 0,
            stats: ReaderStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReaderConfig {
        &self.config
    }

    /// The FLV header, once read.
    pub fn header(&self) -> Option<&FlvHeader> {
        self.header.as_ref()
    }

    /// Stream offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Counters.
    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    /// Reads the next tag from a growable buffer, consuming what it uses.
    ///
    /// # Errors
    /// Header errors, [`Error::UnknownTagType`], [`Error::EncryptedTag`],
    /// [`Error::TagTooLarge`], [`Error::PreviousTagSizeMismatch`] (strict mode), or
    /// [`Error::ResyncFailed`]. After an error the reader does not advance; drop it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Tag>> {
        self.decode_from(buf)
    }

    /// As [`FlvReader::decode`], for input already in a [`Bytes`] (a whole file in memory):
    /// `buf` is advanced past what was used and tag bodies are slices of it.
    ///
    /// # Errors
    /// As [`FlvReader::decode`].
    pub fn decode_bytes(&mut self, buf: &mut Bytes) -> Result<Option<Tag>> {
        self.decode_from(buf)
    }

    /// Call at end of input with what is left in the buffer: `Ok` if the input ended on a
    /// tag boundary (the final PreviousTagSize may be missing).
    ///
    /// # Errors
    /// [`Error::Truncated`] naming what was cut off.
    pub fn finish(&self, rest: &[u8]) -> Result<()> {
        let what = match self.state {
            State::Header | State::SkipHeaderExtra(_) => "FLV header",
            State::PreviousTagSize(_) if rest.len() < PREVIOUS_TAG_SIZE_LEN => return Ok(()),
            State::TagHeader if rest.is_empty() => return Ok(()),
            State::Resync { .. } if rest.is_empty() => return Ok(()),
            _ => "FLV tag",
        };
        Err(Error::Truncated {
            what,
            needed: rest.len().saturating_add(1),
            available: rest.len(),
        })
    }

    fn consume<I: Input>(&mut self, buf: &mut I, n: usize) {
        buf.skip(n);
        self.offset = self.offset.saturating_add(n as u64);
    }

    fn decode_from<I: Input>(&mut self, buf: &mut I) -> Result<Option<Tag>> {
        loop {
            match self.state {
                State::Header => {
                    if buf.bytes().len() < HEADER_LEN {
                        return Ok(None);
                    }
                    let h = FlvHeader::parse(buf.bytes())?;
                    if h.data_offset > self.config.max_data_offset {
                        return Err(Error::BadDataOffset {
                            offset: h.data_offset,
                            limit: self.config.max_data_offset,
                        });
                    }
                    self.header = Some(h);
                    self.consume(buf, HEADER_LEN);
                    self.state = State::SkipHeaderExtra(h.data_offset - HEADER_LEN as u32);
                }
                State::SkipHeaderExtra(left) => {
                    let n = buf.bytes().len().min(left as usize);
                    self.consume(buf, n);
                    let left = left - n as u32;
                    if left > 0 {
                        self.state = State::SkipHeaderExtra(left);
                        return Ok(None);
                    }
                    self.state = State::PreviousTagSize(0);
                }
                State::PreviousTagSize(expected) => {
                    let Some(field) = buf.bytes().get(..PREVIOUS_TAG_SIZE_LEN) else {
                        return Ok(None);
                    };
                    let found = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
                    let at = self.offset;
                    self.consume(buf, PREVIOUS_TAG_SIZE_LEN);
                    self.state = State::TagHeader;
                    if found != expected {
                        match self.config.previous_tag_size {
                            PreviousTagSizeCheck::Ignore => {}
                            PreviousTagSizeCheck::Lenient => {
                                self.stats.previous_tag_size_mismatches += 1;
                                tracing::debug!(
                                    expected,
                                    found,
                                    offset = at,
                                    "FLV PreviousTagSize mismatch"
                                );
                            }
                            PreviousTagSizeCheck::Strict => {
                                let err = Error::PreviousTagSizeMismatch {
                                    expected,
                                    found,
                                    offset: at,
                                };
                                self.fail_or_resync(err, 0)?;
                            }
                        }
                    }
                }
                State::TagHeader => {
                    let data = buf.bytes();
                    if data.len() < TAG_HEADER_LEN {
                        return Ok(None);
                    }
                    let header = match self.checked_header(data, self.offset) {
                        Ok(h) => h,
                        Err(e) => {
                            self.fail_or_resync(e, 1)?;
                            continue;
                        }
                    };
                    let size = header.data_size as usize;
                    if data.len() < TAG_HEADER_LEN + size {
                        return Ok(None);
                    }
                    self.consume(buf, TAG_HEADER_LEN);
                    let body = buf.take(size);
                    self.offset = self.offset.saturating_add(size as u64);
                    self.state = State::PreviousTagSize(header.data_size + TAG_HEADER_LEN as u32);
                    self.stats.tags += 1;
                    return Ok(Some(Tag::new(header.tag_type, header.timestamp, body)));
                }
                State::Resync {
                    from,
                    skipped,
                    start,
                } => {
                    let (pos, found) = match self.scan(buf.bytes(), start) {
                        Scan::Found(pos) => (pos, true),
                        Scan::Pending(pos) => (pos, false),
                        Scan::Exhausted => (0, false),
                    };
                    // Every position before `pos` is proven not to start a tag.
                    self.consume(buf, pos);
                    self.stats.skipped_bytes += pos as u64;
                    let skipped = skipped.saturating_add(pos);
                    if skipped > self.config.max_resync_bytes {
                        return Err(Error::ResyncFailed {
                            offset: from,
                            limit: self.config.max_resync_bytes,
                        });
                    }
                    if found {
                        tracing::debug!(from, skipped, "FLV reader resynchronised");
                        self.state = State::TagHeader;
                    } else {
                        self.state = State::Resync {
                            from,
                            skipped,
                            start: if pos > 0 { 0 } else { start },
                        };
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn checked_header(&self, data: &[u8], offset: u64) -> Result<TagHeader> {
        let header = TagHeader::parse(data, offset)?;
        if header.data_size > self.config.max_tag_size {
            return Err(Error::TagTooLarge {
                size: header.data_size,
                limit: self.config.max_tag_size,
                offset,
            });
        }
        Ok(header)
    }

    /// Turns a framing error into a resync (state change) or returns it.
    fn fail_or_resync(&mut self, err: Error, start: usize) -> Result<()> {
        if !self.config.resync {
            return Err(err);
        }
        tracing::debug!(error = %err, offset = self.offset, "FLV framing error, resynchronising");
        self.stats.resyncs += 1;
        // `start` is 1 after a bad tag header (position 0 is that header) and 0 after a
        // PreviousTagSize mismatch (position 0 is the next tag header and may well be fine).
        self.state = State::Resync {
            from: self.offset,
            skipped: 0,
            start,
        };
        Ok(())
    }

    /// What a candidate at `data[pos..]` looks like.
    fn candidate(&self, data: &[u8], pos: usize) -> Candidate {
        let Some(h) = data.get(pos..pos.saturating_add(TAG_HEADER_LEN)) else {
            return Candidate::NeedMore;
        };
        let Ok(header) = self.checked_header(h, 0) else {
            return Candidate::No;
        };
        if header.stream_id != 0 || h[0] & 0xC0 != 0 {
            return Candidate::No;
        }
        let end = pos + TAG_HEADER_LEN + header.data_size as usize;
        match data.get(end..end + PREVIOUS_TAG_SIZE_LEN) {
            None => Candidate::NeedMore,
            Some(f) => {
                if u32::from_be_bytes([f[0], f[1], f[2], f[3]])
                    == header.data_size + TAG_HEADER_LEN as u32
                {
                    Candidate::Yes
                } else {
                    Candidate::No
                }
            }
        }
    }

    /// Finds the first accepted candidate at or after `start`. A position that needs more
    /// data stops the scan, so the outcome never depends on how the input was chunked.
    fn scan(&self, data: &[u8], start: usize) -> Scan {
        for pos in start..data.len() {
            match self.candidate(data, pos) {
                Candidate::Yes => return Scan::Found(pos),
                Candidate::NeedMore => return Scan::Pending(pos),
                Candidate::No => {}
            }
        }
        Scan::Exhausted
    }
}

enum Scan {
    Found(usize),
    Pending(usize),
    Exhausted,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Candidate {
    Yes,
    No,
    NeedMore,
}

/// Reads every tag of a complete FLV file held in memory (zero-copy bodies).
///
/// # Errors
/// As [`FlvReader::decode`], plus [`Error::Truncated`] if the file ends inside a tag.
pub fn read_all(data: Bytes, config: ReaderConfig) -> Result<(Option<FlvHeader>, Vec<Tag>)> {
    let mut reader = FlvReader::with_config(config);
    let mut buf = data;
    let mut tags = Vec::new();
    while let Some(tag) = reader.decode_bytes(&mut buf)? {
        tags.push(tag);
    }
    reader.finish(&buf)?;
    Ok((reader.header, tags))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::TagType;

    fn file(tags: &[Tag]) -> BytesMut {
        let mut out = BytesMut::new();
        FlvHeader::new(true, true).write_with_first_tag_size(&mut out);
        for t in tags {
            t.write(&mut out).unwrap();
        }
        out
    }

    fn sample_tags() -> Vec<Tag> {
        vec![
            Tag::new(
                TagType::Script,
                0,
                Bytes::from_static(b"\x02\x00\x0aonMetaData\x05"),
            ),
            Tag::new(
                TagType::Video,
                0,
                Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 2, 3]),
            ),
            Tag::new(TagType::Audio, 23, Bytes::from_static(&[0xAF, 1, 9, 9])),
            Tag::new(
                TagType::Video,
                0x0100_0000,
                Bytes::from_static(&[0x27, 1, 0, 0, 40, 7]),
            ),
        ]
    }

    #[test]
    fn reads_whole_and_byte_by_byte() {
        let tags = sample_tags();
        let data = file(&tags);
        let (h, got) = read_all(data.clone().freeze(), ReaderConfig::default()).unwrap();
        assert!(h.unwrap().has_video);
        assert_eq!(got, tags);

        let mut r = FlvReader::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in data.iter() {
            buf.extend_from_slice(&[*b]);
            while let Some(t) = r.decode(&mut buf).unwrap() {
                got.push(t);
            }
        }
        assert_eq!(got, tags);
        assert_eq!(r.stats().tags, 4);
        assert!(r.finish(&buf).is_ok());
        assert_eq!(r.offset(), data.len() as u64);
    }

    #[test]
    fn previous_tag_size_policies() {
        let tags = sample_tags();
        let mut data = file(&tags);
        // Corrupt the PreviousTagSize after the first tag (script body 14 bytes).
        let at = 13 + 11 + 14;
        data[at + 3] ^= 0x40;
        let (_, got) = read_all(data.clone().freeze(), ReaderConfig::default()).unwrap();
        assert_eq!(got, tags);
        let strict = ReaderConfig::default().previous_tag_size(PreviousTagSizeCheck::Strict);
        let err = read_all(data.clone().freeze(), strict).unwrap_err();
        assert_eq!(
            err,
            Error::PreviousTagSizeMismatch {
                expected: 25,
                found: 25 ^ 0x40,
                offset: at as u64
            }
        );
        // Strict + resync: the mismatch is skipped over and every tag still comes out.
        let (_, got) = read_all(data.freeze(), strict.resync(true)).unwrap();
        assert_eq!(got, tags);
    }

    #[test]
    fn resync_over_garbage() {
        let tags = sample_tags();
        let mut data = BytesMut::new();
        FlvHeader::new(true, true).write_with_first_tag_size(&mut data);
        tags[0].write(&mut data).unwrap();
        data.extend_from_slice(&[0x55; 37]); // garbage between tags
        for t in &tags[1..] {
            t.write(&mut data).unwrap();
        }
        assert!(matches!(
            read_all(data.clone().freeze(), ReaderConfig::default()),
            Err(Error::UnknownTagType { tag_type: 0x15, .. })
        ));
        let cfg = ReaderConfig::default().resync(true);
        let (_, got) = read_all(data.clone().freeze(), cfg).unwrap();
        assert_eq!(got, tags);
        // Same result byte by byte.
        let mut r = FlvReader::with_config(cfg);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in data.iter() {
            buf.extend_from_slice(&[*b]);
            while let Some(t) = r.decode(&mut buf).unwrap() {
                got.push(t);
            }
        }
        assert_eq!(got, tags);
        assert_eq!(r.stats().resyncs, 1);
        assert_eq!(r.stats().skipped_bytes, 37);
    }

    #[test]
    fn resync_gives_up() {
        let mut data = BytesMut::new();
        FlvHeader::new(true, true).write_with_first_tag_size(&mut data);
        data.extend_from_slice(&vec![0xEE; 5000]);
        let cfg = ReaderConfig::default().resync(true).max_resync_bytes(1000);
        assert!(matches!(
            read_all(data.freeze(), cfg),
            Err(Error::ResyncFailed {
                offset: 13,
                limit: 1000
            })
        ));
    }

    #[test]
    fn limits() {
        let tags = vec![Tag::new(TagType::Video, 0, Bytes::from(vec![0x17; 2000]))];
        let data = file(&tags).freeze();
        let cfg = ReaderConfig::default().max_tag_size(1000);
        assert_eq!(
            read_all(data, cfg).unwrap_err(),
            Error::TagTooLarge {
                size: 2000,
                limit: 1000,
                offset: 13
            }
        );
        let mut data = BytesMut::from(&b"FLV\x01\x05\x00\x01\x00\x00"[..]);
        assert!(matches!(
            FlvReader::new().decode(&mut data),
            Err(Error::BadDataOffset {
                offset: 65536,
                limit: 4096
            })
        ));
    }

    #[test]
    fn header_extension_skipped_and_truncation_reported() {
        let mut data = BytesMut::from(&b"FLV\x01\x05\x00\x00\x00\x0cXYZ\x00\x00\x00\x00"[..]);
        Tag::new(TagType::Audio, 1, Bytes::from_static(&[0x22, 1]))
            .write(&mut data)
            .unwrap();
        let (_, tags) = read_all(data.clone().freeze(), ReaderConfig::default()).unwrap();
        assert_eq!(tags.len(), 1);
        data.truncate(data.len() - 6);
        assert!(matches!(
            read_all(data.freeze(), ReaderConfig::default()),
            Err(Error::Truncated {
                what: "FLV tag",
                ..
            })
        ));
    }

    #[test]
    fn join_mid_stream_with_resync() {
        // A capture that starts in the middle of a tag body: resync finds the next tag.
        let tags = sample_tags();
        let data = file(&tags);
        let cut = 13 + 11 + 5; // inside the first tag's body
        let cfg = ReaderConfig::default().expect_header(false).resync(true);
        let (_, got) = read_all(Bytes::copy_from_slice(&data[cut..]), cfg).unwrap();
        assert_eq!(got, tags[1..]);
    }

    #[test]
    fn headerless_stream() {
        let mut data = BytesMut::new();
        for t in sample_tags() {
            t.write(&mut data).unwrap();
        }
        let (h, tags) =
            read_all(data.freeze(), ReaderConfig::default().expect_header(false)).unwrap();
        assert!(h.is_none());
        assert_eq!(tags, sample_tags());
    }
}
