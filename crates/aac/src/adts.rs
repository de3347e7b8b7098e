//! ADTS (Audio Data Transport Stream) headers and framing (ISO/IEC 14496-3 1.A.2,
//! ISO/IEC 13818-7 6.2).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use weir_media::bits::{BitReader, BitWriter};

use crate::asc::{sample_rate_from_index, AudioSpecificConfig, ProgramConfigElement};
use crate::error::{Error, Result};

/// Size of an ADTS header without CRC.
pub const ADTS_HEADER_LEN: usize = 7;
/// Largest `aac_frame_length` (13 bits).
pub const ADTS_MAX_FRAME_LEN: usize = 0x1FFF;
/// `adts_buffer_fullness` value meaning "variable bit rate".
pub const ADTS_VBR_FULLNESS: u16 = 0x7FF;

/// One ADTS header: adts_fixed_header, adts_variable_header and, when CRC protection is on,
/// adts_error_check / adts_header_error_check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AdtsHeader {
    /// `ID`: true for MPEG-2 AAC (13818-7), false for MPEG-4.
    pub mpeg2: bool,
    /// `layer` (always 0 in valid streams).
    pub layer: u8,
    /// `protection_absent`: true when there is no CRC.
    pub protection_absent: bool,
    /// `profile_ObjectType`: audio object type minus one (0 Main, 1 LC, 2 SSR, 3 LTP).
    pub profile: u8,
    /// `sampling_frequency_index` (0 to 12).
    pub sampling_frequency_index: u8,
    /// `private_bit`.
    pub private_bit: bool,
    /// `channel_configuration` (3 bits; 0 means a PCE in the raw data).
    pub channel_configuration: u8,
    /// `original_copy`.
    pub original_copy: bool,
    /// `home`.
    pub home: bool,
    /// `copyright_identification_bit`.
    pub copyright_identification_bit: bool,
    /// `copyright_identification_start`.
    pub copyright_identification_start: bool,
    /// `aac_frame_length`: the whole frame including this header (13 bits).
    pub frame_length: u16,
    /// `adts_buffer_fullness` (11 bits; 0x7FF = VBR).
    pub buffer_fullness: u16,
    /// `number_of_raw_data_blocks_in_frame`: raw data blocks minus one (0 to 3).
    pub number_of_raw_data_blocks: u8,
    /// `raw_data_block_position[1..=n]` (CRC present and more than one block only). As
    /// fdk-aac writes and reads them: byte offsets measured from the first byte after the
    /// header (the start of raw data block 0); block 0 itself starts at offset 0.
    pub raw_data_block_positions: [u16; 3],
    /// The header `crc_check`, when CRC protection is on. It is kept, not verified
    /// (the protected bits depend on the decoded channel elements).
    pub crc: Option<u16>,
}

impl AdtsHeader {
    /// Parses the header at the start of `data` (7 bytes, or more with CRC).
    #[inline]
    pub fn parse(data: &[u8]) -> Result<AdtsHeader> {
        let Some(&[b0, b1, b2, b3, b4, b5, b6]) = data.get(..ADTS_HEADER_LEN) else {
            return Err(header_error(data, 0));
        };
        // The 56 header bits, MSB-aligned at bit 55.
        let v = u64::from_be_bytes([0, b0, b1, b2, b3, b4, b5, b6]);
        let field = |shift: u32, bits: u32| ((v >> shift) & ((1u64 << bits) - 1)) as u16;
        // syncword(12) ID(1) layer(2) protection_absent(1) profile(2) sfi(4) private(1)
        // channel_configuration(3) original_copy(1) home(1) cib(1) cis(1) frame_length(13)
        // buffer_fullness(11) number_of_raw_data_blocks_in_frame(2).
        // Valid: sync all ones, layer 00, sampling_frequency_index <= 12.
        let layer = field(41, 2) as u8;
        let sfi = field(34, 4) as u8;
        if field(44, 12) != 0xFFF || layer != 0 || sfi > 12 {
            return Err(header_error(data, v));
        }
        let frame_length = field(13, 13);
        let mut h = AdtsHeader {
            mpeg2: field(43, 1) != 0,
            layer,
            protection_absent: field(40, 1) != 0,
            profile: field(38, 2) as u8,
            sampling_frequency_index: sfi,
            private_bit: field(33, 1) != 0,
            channel_configuration: field(30, 3) as u8,
            original_copy: field(29, 1) != 0,
            home: field(28, 1) != 0,
            copyright_identification_bit: field(27, 1) != 0,
            copyright_identification_start: field(26, 1) != 0,
            frame_length,
            buffer_fullness: field(2, 11),
            number_of_raw_data_blocks: field(0, 2) as u8,
            raw_data_block_positions: [0; 3],
            crc: None,
        };
        let hl = h.header_len();
        if !h.protection_absent {
            let mut rest = match data.get(ADTS_HEADER_LEN..hl) {
                Some(r) => r,
                None => {
                    return Err(Error::Truncated {
                        what: "ADTS header with CRC",
                        needed: hl,
                        available: data.len(),
                    })
                }
            };
            for i in 0..usize::from(h.number_of_raw_data_blocks) {
                if let Some(slot) = h.raw_data_block_positions.get_mut(i) {
                    *slot = rest.get_u16();
                }
            }
            h.crc = Some(rest.get_u16());
        }
        if usize::from(frame_length) < hl {
            return Err(Error::InvalidField {
                what: "ADTS header",
                field: "aac_frame_length",
                value: u64::from(frame_length),
            });
        }
        Ok(h)
    }

    /// Header length in bytes: 7 without CRC, 9 with CRC and one raw data block,
    /// 7 + 2·n + 2 with CRC and n+1 blocks.
    #[inline]
    pub fn header_len(&self) -> usize {
        if self.protection_absent {
            ADTS_HEADER_LEN
        } else {
            ADTS_HEADER_LEN + 2 * usize::from(self.number_of_raw_data_blocks & 3) + 2
        }
    }

    /// The whole frame length (header + payload), `aac_frame_length`.
    #[inline]
    pub fn frame_len(&self) -> usize {
        usize::from(self.frame_length)
    }

    /// Payload bytes after the header.
    pub fn payload_len(&self) -> usize {
        self.frame_len().saturating_sub(self.header_len())
    }

    /// Number of raw data blocks (access units) in the frame: 1 to 4.
    pub fn raw_blocks(&self) -> usize {
        usize::from(self.number_of_raw_data_blocks & 3) + 1
    }

    /// The sample rate of `sampling_frequency_index` (core rate: implicit SBR doubles it).
    pub fn sample_rate(&self) -> u32 {
        sample_rate_from_index(self.sampling_frequency_index).unwrap_or(0)
    }

    /// Writes the header (with CRC fields when `protection_absent` is false).
    pub fn write(&self, out: &mut BytesMut) {
        let fl = self.frame_length & 0x1FFF;
        let bf = self.buffer_fullness & 0x7FF;
        let mut b = [0u8; 7];
        b[0] = 0xFF;
        b[1] = 0xF0
            | (u8::from(self.mpeg2) << 3)
            | ((self.layer & 3) << 1)
            | u8::from(self.protection_absent);
        b[2] = ((self.profile & 3) << 6)
            | ((self.sampling_frequency_index & 0xF) << 2)
            | (u8::from(self.private_bit) << 1)
            | ((self.channel_configuration >> 2) & 1);
        b[3] = ((self.channel_configuration & 3) << 6)
            | (u8::from(self.original_copy) << 5)
            | (u8::from(self.home) << 4)
            | (u8::from(self.copyright_identification_bit) << 3)
            | (u8::from(self.copyright_identification_start) << 2)
            | (fl >> 11) as u8;
        b[4] = (fl >> 3) as u8;
        b[5] = ((fl as u8 & 7) << 5) | (bf >> 6) as u8;
        b[6] = ((bf as u8 & 0x3F) << 2) | (self.number_of_raw_data_blocks & 3);
        out.put_slice(&b);
        if !self.protection_absent {
            for &p in self
                .raw_data_block_positions
                .iter()
                .take(usize::from(self.number_of_raw_data_blocks & 3))
            {
                out.put_u16(p);
            }
            out.put_u16(self.crc.unwrap_or(0));
        }
    }

    /// A CRC-less, single-block, VBR header for a raw access unit of `payload_len` bytes
    /// described by `asc` (MPEG-4 ID, as ffmpeg's ADTS muxer writes). The core object type
    /// and core rate are used: SBR/PS stay implicit in ADTS.
    pub fn for_payload(asc: &AudioSpecificConfig, payload_len: usize) -> Result<AdtsHeader> {
        if !(1..=4).contains(&asc.object_type) {
            return Err(Error::NotAdtsCompatible {
                reason: "object type must be AAC Main, LC, SSR or LTP (1-4)",
            });
        }
        if asc.sampling_frequency_index > 12 {
            return Err(Error::NotAdtsCompatible {
                reason: "sampling frequency needs an index from the table (no explicit frequency)",
            });
        }
        if asc.channel_configuration > 7 {
            return Err(Error::NotAdtsCompatible {
                reason: "channel configuration must be 0-7",
            });
        }
        if asc.channel_configuration == 0 && asc.program_config.is_none() {
            return Err(Error::NotAdtsCompatible {
                reason: "channel configuration 0 needs a program config element",
            });
        }
        let frame_len = payload_len.saturating_add(ADTS_HEADER_LEN);
        if frame_len > ADTS_MAX_FRAME_LEN {
            return Err(Error::TooLong {
                what: "ADTS frame",
                len: frame_len,
                max: ADTS_MAX_FRAME_LEN,
            });
        }
        Ok(AdtsHeader {
            mpeg2: false,
            layer: 0,
            protection_absent: true,
            profile: asc.object_type - 1,
            sampling_frequency_index: asc.sampling_frequency_index,
            private_bit: false,
            channel_configuration: asc.channel_configuration,
            original_copy: false,
            home: false,
            copyright_identification_bit: false,
            copyright_identification_start: false,
            frame_length: frame_len as u16,
            buffer_fullness: ADTS_VBR_FULLNESS,
            number_of_raw_data_blocks: 0,
            raw_data_block_positions: [0; 3],
            crc: None,
        })
    }

    /// The AudioSpecificConfig this header implies (object type = profile + 1, no SBR
    /// signalling). With channel configuration 0 the PCE lives in the first raw data block;
    /// the returned config then has `program_config: None`.
    pub fn to_config(&self) -> AudioSpecificConfig {
        AudioSpecificConfig {
            object_type: self.profile + 1,
            sampling_frequency_index: self.sampling_frequency_index,
            sampling_frequency: self.sample_rate(),
            channel_configuration: self.channel_configuration,
            ..AudioSpecificConfig::empty()
        }
    }

    /// The config and the raw access unit of a frame. With channel configuration 0 the
    /// frame's payload must start with a PCE element (as the first frame of an ffmpeg ADTS
    /// stream does): it goes into the config and is cut from the access unit (zero-copy).
    /// Other frames: `to_config()` and the payload unchanged.
    pub fn config_and_payload(&self, payload: &Bytes) -> Result<(AudioSpecificConfig, Bytes)> {
        let mut asc = self.to_config();
        if self.channel_configuration != 0 {
            return Ok((asc, payload.clone()));
        }
        match split_pce(payload)? {
            Some((pce, rest)) => {
                asc.program_config = Some(pce);
                Ok((asc, rest))
            }
            None => Err(Error::InvalidField {
                what: "ADTS frame with channel_configuration 0",
                field: "first syntax element (expected a PCE)",
                value: u64::from(payload.first().copied().unwrap_or(0) >> 5),
            }),
        }
    }

    /// Splits a frame's payload (the bytes after the header, `payload_len()` of them) into
    /// its raw data blocks, zero-copy. One block: the whole payload. Several blocks with CRC:
    /// split at `raw_data_block_positions`, dropping each block's trailing 16-bit CRC.
    /// Several blocks without CRC: [`Error::UnsplittableRawBlocks`] (their boundaries are only
    /// found by decoding the spectral data; use the whole payload as one unit in that case).
    pub fn split_raw_blocks(&self, payload: &Bytes) -> Result<RawBlocks> {
        let n = self.raw_blocks();
        let mut out = RawBlocks {
            blocks: Default::default(),
            len: 0,
            next: 0,
        };
        if n == 1 {
            out.blocks[0] = payload.clone();
            out.len = 1;
            return Ok(out);
        }
        if self.protection_absent {
            return Err(Error::UnsplittableRawBlocks { blocks: n });
        }
        // Block i starts at starts[i]; the payload end closes the last one.
        let mut starts = [payload.len(); 5];
        starts[0] = 0;
        for (slot, &p) in starts[1..n]
            .iter_mut()
            .zip(self.raw_data_block_positions.iter())
        {
            *slot = usize::from(p);
        }
        for (i, (slot, w)) in out
            .blocks
            .iter_mut()
            .zip(starts[..=n].windows(2))
            .enumerate()
        {
            let (s, e) = (w[0], w[1]);
            // Each block is followed by its adts_raw_data_block_error_check CRC (2 bytes).
            let end = e
                .checked_sub(2)
                .filter(|&end| end >= s && e <= payload.len())
                .ok_or(Error::InvalidField {
                    what: "ADTS header",
                    field: if i + 1 == n {
                        "aac_frame_length"
                    } else {
                        "raw_data_block_position"
                    },
                    value: e as u64,
                })?;
            *slot = payload.slice(s..end);
        }
        out.len = n;
        Ok(out)
    }
}

/// The raw data blocks of one ADTS frame (at most four), yielded as zero-copy `Bytes`.
#[derive(Clone, Debug)]
pub struct RawBlocks {
    blocks: [Bytes; 4],
    len: usize,
    next: usize,
}

impl RawBlocks {
    /// Number of blocks.
    pub fn count(&self) -> usize {
        self.len
    }
}

impl Iterator for RawBlocks {
    type Item = Bytes;
    fn next(&mut self) -> Option<Bytes> {
        if self.next >= self.len {
            return None;
        }
        let b = self.blocks.get_mut(self.next).map(std::mem::take);
        self.next += 1;
        b
    }
}

/// Iterates the ADTS frames of a complete buffer, zero-copy: each item is the header and
/// the payload after it (a slice of `data`). Stops after the first error (bad sync or a
/// truncated last frame), which it yields.
pub fn adts_frames(data: &Bytes) -> AdtsFrames<'_> {
    AdtsFrames {
        data,
        pos: 0,
        failed: false,
    }
}

/// Iterator returned by [`adts_frames`].
#[derive(Debug)]
pub struct AdtsFrames<'a> {
    data: &'a Bytes,
    pos: usize,
    failed: bool,
}

impl AdtsFrames<'_> {
    /// Byte offset of the next frame.
    pub fn offset(&self) -> usize {
        self.pos
    }
}

/// Builds the error for a header that failed the fast checks (kept out of line).
#[cold]
#[inline(never)]
fn header_error(data: &[u8], v: u64) -> Error {
    if data.len() < ADTS_HEADER_LEN {
        return Error::Truncated {
            what: "ADTS header",
            needed: ADTS_HEADER_LEN,
            available: data.len(),
        };
    }
    if (v >> 44) & 0xFFF != 0xFFF {
        return Error::NoAdtsSync { offset: 0 };
    }
    let layer = (v >> 41) & 3;
    if layer != 0 {
        return Error::InvalidField {
            what: "ADTS header",
            field: "layer",
            value: layer,
        };
    }
    Error::InvalidField {
        what: "ADTS header",
        field: "sampling_frequency_index",
        value: (v >> 34) & 0xF,
    }
}

/// Parses the frame at `pos`: its header and the payload's byte range.
#[inline]
fn frame_at(data: &[u8], pos: usize) -> Result<(AdtsHeader, core::ops::Range<usize>)> {
    let rest = data.get(pos..).unwrap_or(&[]);
    let h = AdtsHeader::parse(rest).map_err(|e| match e {
        Error::NoAdtsSync { .. } => Error::NoAdtsSync { offset: pos },
        e => e,
    })?;
    let fl = h.frame_len();
    if fl > rest.len() {
        return Err(Error::Truncated {
            what: "ADTS frame",
            needed: fl,
            available: rest.len(),
        });
    }
    Ok((h, pos + h.header_len()..pos + fl))
}

impl Iterator for AdtsFrames<'_> {
    type Item = Result<(AdtsHeader, Bytes)>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        match frame_at(self.data, self.pos) {
            Ok((h, range)) => {
                self.pos = range.end;
                Some(Ok((h, self.data.slice(range))))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Like [`adts_frames`] but over a borrowed slice, yielding borrowed payloads: no reference
/// counting at all, for callers that do not need to keep the payloads.
pub fn adts_frames_ref(data: &[u8]) -> AdtsFramesRef<'_> {
    AdtsFramesRef {
        data,
        pos: 0,
        failed: false,
    }
}

/// Iterator returned by [`adts_frames_ref`].
#[derive(Debug)]
pub struct AdtsFramesRef<'a> {
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Iterator for AdtsFramesRef<'a> {
    type Item = Result<(AdtsHeader, &'a [u8])>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        match frame_at(self.data, self.pos) {
            Ok((h, range)) => {
                self.pos = range.end;
                Some(Ok((h, self.data.get(range).unwrap_or(&[]))))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// `id_syn_ele` of a program config element in a raw_data_block (14496-3 Table 4.85).
const ID_PCE: u64 = 5;

/// Encodes `pce` as a raw_data_block syntax element (`id_syn_ele` = ID_PCE, then the PCE).
/// The element ends byte-aligned (its byte_alignment() is relative to the block start), so
/// it can be put in front of a raw access unit as is. This is how channel configuration 0
/// travels in ADTS.
pub fn pce_element(pce: &ProgramConfigElement) -> Result<Bytes> {
    let mut w = BitWriter::new();
    w.write_bits(ID_PCE, 3);
    pce.write(&mut w, 0)?;
    w.byte_align_zero();
    Ok(Bytes::from(w.finish()))
}

/// If the raw data block `payload` starts with a program config element, parses it and
/// returns it with the rest of the block (a zero-copy slice). `Ok(None)` when the first
/// element is something else. ffmpeg's ADTS muxer puts the PCE at the start of the first
/// frame when the channel configuration is 0, and its `aac_adtstoasc` strips it the same way.
pub fn split_pce(payload: &Bytes) -> Result<Option<(ProgramConfigElement, Bytes)>> {
    let mut r = BitReader::new(payload);
    let id = r.read_bits(3).map_err(Error::bits("raw_data_block"))?;
    if id != ID_PCE {
        return Ok(None);
    }
    let pce = ProgramConfigElement::read(&mut r, 0)?;
    // The PCE ends with whole comment bytes after a byte alignment: we are aligned.
    let used = r.position().div_ceil(8);
    Ok(Some((pce, payload.slice(used.min(payload.len())..))))
}

/// Wraps one raw access unit in a CRC-less ADTS header and appends it to `out`. With channel
/// configuration 0 the config's PCE is put in front of the access unit in every frame (see
/// [`AdtsWriter`] to write it in the first frame only, as ffmpeg does).
pub fn raw_to_adts(asc: &AudioSpecificConfig, raw: &[u8], out: &mut BytesMut) -> Result<()> {
    let pce = match (&asc.program_config, asc.channel_configuration) {
        (Some(p), 0) => Some(pce_element(p)?),
        _ => None,
    };
    write_frame(asc, pce.as_deref(), raw, out)
}

fn write_frame(
    asc: &AudioSpecificConfig,
    prefix: Option<&[u8]>,
    raw: &[u8],
    out: &mut BytesMut,
) -> Result<()> {
    let pre = prefix.unwrap_or(&[]);
    let h = AdtsHeader::for_payload(asc, pre.len().saturating_add(raw.len()))?;
    out.reserve(h.frame_len());
    h.write(out);
    out.put_slice(pre);
    out.put_slice(raw);
    Ok(())
}

/// Stateful raw → ADTS writer: like [`raw_to_adts`], but with channel configuration 0 it
/// puts the PCE only in the first frame (ffmpeg's ADTS muxer does the same; decoders keep
/// the layout).
#[derive(Clone, Debug)]
pub struct AdtsWriter {
    asc: AudioSpecificConfig,
    pce: Option<Bytes>,
}

impl AdtsWriter {
    /// A writer for access units described by `asc`.
    pub fn new(asc: AudioSpecificConfig) -> Result<AdtsWriter> {
        AdtsHeader::for_payload(&asc, 0)?;
        let pce = match (&asc.program_config, asc.channel_configuration) {
            (Some(p), 0) => Some(pce_element(p)?),
            _ => None,
        };
        Ok(AdtsWriter { asc, pce })
    }

    /// Appends one ADTS frame carrying `raw`.
    pub fn write(&mut self, raw: &[u8], out: &mut BytesMut) -> Result<()> {
        let pce = self.pce.take();
        write_frame(&self.asc, pce.as_deref(), raw, out)
    }
}

/// Incremental ADTS reader: push bytes as they arrive, pop whole frames. Garbage between
/// frames (or a corrupt header) is skipped by scanning for the next plausible header; the
/// number of bytes skipped is counted. A buffered partial frame never exceeds 8191 bytes.
///
/// [`push_bytes`](AdtsReader::push_bytes) hands over an owned buffer: frames inside it are
/// returned as zero-copy slices and only a frame split across two pushes is copied.
#[derive(Debug, Default)]
pub struct AdtsReader {
    /// Copied input (partial frames, `push` data). Invariant: when `input` is non-empty,
    /// `buf` is empty.
    buf: BytesMut,
    /// Owned input not yet consumed (zero-copy path).
    input: Bytes,
    skipped: u64,
    frames: u64,
}

/// What the scanner found at the start of a buffer.
enum Scan {
    /// Discard this many bytes (garbage or a false sync).
    Skip(usize),
    /// A whole frame of this header is present at offset 0.
    Frame(AdtsHeader),
    /// Keep everything and wait for more input.
    NeedMore,
}

fn scan(data: &[u8]) -> Scan {
    // A candidate syncword: 0xFFF followed by layer 00.
    let Some(start) = data
        .windows(2)
        .position(|w| w[0] == 0xFF && w[1] & 0xF6 == 0xF0)
    else {
        // Keep a trailing 0xFF: it may be the first half of a syncword.
        let keep = usize::from(data.last() == Some(&0xFF));
        let drop = data.len() - keep;
        return if drop > 0 {
            Scan::Skip(drop)
        } else {
            Scan::NeedMore
        };
    };
    if start > 0 {
        return Scan::Skip(start);
    }
    match AdtsHeader::parse(data) {
        Ok(h) if data.len() >= h.frame_len() => Scan::Frame(h),
        Ok(_) | Err(Error::Truncated { .. }) => Scan::NeedMore,
        Err(_) => Scan::Skip(1),
    }
}

impl AdtsReader {
    /// An empty reader.
    pub fn new() -> AdtsReader {
        AdtsReader::default()
    }

    /// Appends input bytes (copied).
    pub fn push(&mut self, data: &[u8]) {
        self.spill_input();
        self.buf.extend_from_slice(data);
    }

    /// Appends an owned buffer without copying it (when nothing partial is pending).
    pub fn push_bytes(&mut self, data: Bytes) {
        if self.buf.is_empty() && self.input.is_empty() {
            self.input = data;
        } else {
            self.spill_input();
            self.buf.extend_from_slice(&data);
        }
    }

    fn spill_input(&mut self) {
        if !self.input.is_empty() {
            self.buf.extend_from_slice(&self.input);
            self.input = Bytes::new();
        }
    }

    /// Bytes discarded while resynchronising so far.
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// Frames returned so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes buffered but not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.input.len()
    }

    fn skip(&mut self, n: usize) {
        self.skipped += n as u64;
        tracing::debug!(skipped = n, "ADTS resync");
    }

    /// The next complete frame: its header and its payload (zero-copy). `None` until a
    /// whole frame is buffered.
    pub fn pop(&mut self) -> Option<(AdtsHeader, Bytes)> {
        // Zero-copy path over owned input.
        while !self.input.is_empty() {
            match scan(&self.input) {
                Scan::Skip(n) => {
                    self.skip(n);
                    self.input.advance(n);
                }
                Scan::Frame(h) => {
                    // One reference-count increment per frame: slice, then advance.
                    let payload = self.input.slice(h.header_len()..h.frame_len());
                    self.input.advance(h.frame_len());
                    self.frames += 1;
                    return Some((h, payload));
                }
                Scan::NeedMore => {
                    // Only the partial tail is copied.
                    self.spill_input();
                    return None;
                }
            }
        }
        loop {
            match scan(&self.buf) {
                Scan::Skip(n) => {
                    self.skip(n);
                    self.buf.advance(n);
                }
                Scan::Frame(h) => {
                    let mut payload = self.buf.split_to(h.frame_len()).freeze();
                    payload.advance(h.header_len());
                    self.frames += 1;
                    return Some((h, payload));
                }
                Scan::NeedMore => return None,
            }
        }
    }
}
