//! Glue to the codec crates: configuration records from in-band parameter sets, access
//! unit boundaries in an unaligned Annex B stream, and codec inference from ES bytes.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};
use weir_media::{nal, Codec, VideoParams};

use crate::es::EsFraming;
use crate::Error;

/// avcC and picture size from H.264 SPS/PPS NAL units.
pub(crate) fn h264_config(sets: &[Bytes]) -> Option<(Bytes, Option<VideoParams>)> {
    let sps: Vec<Bytes> = sets
        .iter()
        .filter(|n| n.first().map(|h| h & 0x1F) == Some(7))
        .cloned()
        .collect();
    let pps: Vec<Bytes> = sets
        .iter()
        .filter(|n| n.first().map(|h| h & 0x1F) == Some(8))
        .cloned()
        .collect();
    let cfg = weir_h264::AvcConfig::from_parameter_sets(&sps, &pps).ok()?;
    let video = cfg.parsed_sps().ok().map(|s| VideoParams {
        width: s.width(),
        height: s.height(),
    });
    Some((cfg.to_bytes(), video))
}

/// hvcC and picture size from H.265 VPS/SPS/PPS NAL units.
pub(crate) fn h265_config(sets: &[Bytes]) -> Option<(Bytes, Option<VideoParams>)> {
    let of = |t: u8| -> Vec<Bytes> {
        sets.iter()
            .filter(|n| n.first().map(|h| (h >> 1) & 0x3F) == Some(t))
            .cloned()
            .collect()
    };
    let cfg = weir_h265::HevcConfig::from_parameter_sets(&of(32), &of(33), &of(34)).ok()?;
    let video = cfg.parsed_sps().ok().map(|s| VideoParams {
        width: s.width(),
        height: s.height(),
    });
    Some((cfg.to_bytes(), video))
}

/// Guesses the codec of a stream without a PSM/PMT entry from the first bytes of its
/// first PES payload (GB28181 devices that omit the PSM; ffmpeg's PS muxer, which never
/// writes one). `video` says whether the stream id is in the video range.
pub fn infer_codec(video: bool, data: &[u8]) -> Option<(Codec, EsFraming)> {
    if video {
        let sc = nal::find_start_code(data, 0)?;
        let h0 = *data.get(sc + 3)?;
        let h1 = data.get(sc + 4).copied();
        if h0 & 0x80 != 0 {
            return None;
        }
        // H.265 headers are two bytes, the second usually 0x01 (layer 0, temporal id 0).
        let t265 = (h0 >> 1) & 0x3F;
        if h1 == Some(0x01) && matches!(t265, 0..=9 | 16..=21 | 32..=35 | 39 | 40) {
            return Some((Codec::H265, EsFraming::AnnexB));
        }
        if matches!(h0 & 0x1F, 1..=9) {
            return Some((Codec::H264, EsFraming::AnnexB));
        }
        return None;
    }
    let b0 = *data.first()?;
    let b1 = *data.get(1)?;
    if b0 == 0xFF && b1 & 0xF6 == 0xF0 {
        return Some((Codec::Aac, EsFraming::Adts));
    }
    if crate::audio::parse_mpa_header(data).is_some() {
        return Some((Codec::MpegAudio, EsFraming::MpegAudio));
    }
    None
}

/// One access unit cut from an unaligned stream, in the canonical layout, with the
/// timestamps of the PES packet it started in (none when that packet's timestamps went to an
/// earlier unit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitAu {
    /// The access unit: 4-byte length-prefixed NAL units.
    pub data: Bytes,
    /// PTS (90 kHz, extended), if the PES it started in carried one for it.
    pub pts: Option<i64>,
    /// DTS, likewise.
    pub dts: Option<i64>,
    /// Some bytes of the unit were lost.
    pub incomplete: bool,
}

/// Cuts an H.264/H.265 Annex B stream whose PES packets are not aligned to access units
/// (ffmpeg's PS muxer, many cameras) into access units, by the rules of H.264 §7.4.1.2.3 and
/// H.265 §7.4.2.4.4: a unit starts at an AUD, parameter set, SEI prefix or at a slice whose
/// first_mb_in_slice is 0 / first_slice_segment_in_pic_flag is 1, once the current unit
/// has a slice. So it works without AUDs. A unit is emitted when the next one starts, or by
/// [`AuSplitter::flush`].
///
/// Timestamps follow §2.4.3.7: a PES packet's PTS belongs to the first access unit that
/// starts in it.
#[derive(Debug)]
pub struct AuSplitter {
    codec: Codec,
    buf: BytesMut,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    scan: usize,
    au_start: Option<usize>,
    /// Start-code positions (in `buf`) of the NAL units of the unit being assembled.
    nals: Vec<usize>,
    seen_vcl: bool,
    /// PES packets: (absolute offset of payload start, pts, dts, used).
    times: VecDeque<(u64, Option<i64>, Option<i64>, bool)>,
    cur: (Option<i64>, Option<i64>),
    incomplete: bool,
    max_au: usize,
}

impl AuSplitter {
    /// A splitter for `codec` (H.264 or H.265) refusing units over `max_au` bytes.
    pub fn new(codec: Codec, max_au: usize) -> AuSplitter {
        AuSplitter {
            codec,
            buf: BytesMut::new(),
            base: 0,
            scan: 0,
            au_start: None,
            nals: Vec::new(),
            seen_vcl: false,
            times: VecDeque::new(),
            cur: (None, None),
            incomplete: false,
            max_au,
        }
    }

    /// Appends one PES payload with its timestamps.
    pub fn push(&mut self, payload: &[u8], pts: Option<i64>, dts: Option<i64>) {
        let abs = self.base + self.buf.len() as u64;
        if self.times.len() >= 256 {
            self.times.pop_front();
        }
        self.times.push_back((abs, pts, dts, false));
        self.buf.extend_from_slice(payload);
    }

    /// Marks the unit being assembled as damaged (data was lost).
    pub fn mark_loss(&mut self) {
        self.incomplete = true;
    }

    /// Drops everything buffered.
    pub fn reset(&mut self) {
        self.base += self.buf.len() as u64;
        self.buf.clear();
        self.scan = 0;
        self.au_start = None;
        self.nals.clear();
        self.seen_vcl = false;
        self.times.clear();
        self.incomplete = false;
    }

    fn take_times(&mut self, abs: u64) -> (Option<i64>, Option<i64>) {
        // The latest PES that started at or before `abs`.
        let idx = self.times.iter().rposition(|t| t.0 <= abs);
        let Some(i) = idx else { return (None, None) };
        for _ in 0..i {
            self.times.pop_front();
        }
        match self.times.front_mut() {
            Some(t) if !t.3 => {
                t.3 = true;
                (t.1, t.2)
            }
            _ => (None, None),
        }
    }

    /// The next complete access unit.
    ///
    /// # Errors
    /// [`Error::EsSyntax`] when a unit grows past the limit; the buffer is dropped.
    pub fn next_au(&mut self) -> Result<Option<SplitAu>, Error> {
        self.step(false)
    }

    fn step(&mut self, eof: bool) -> Result<Option<SplitAu>, Error> {
        loop {
            let Some(sc) = nal::find_start_code(&self.buf, self.scan) else {
                self.scan = self.buf.len().saturating_sub(2).max(self.scan);
                let held =
                    self.buf.len() - self.au_start.unwrap_or(self.buf.len()).min(self.buf.len());
                if held > self.max_au || (self.au_start.is_none() && self.buf.len() > self.max_au) {
                    self.reset();
                    return Err(Error::EsSyntax {
                        codec: self.codec,
                        what: "access unit exceeds the size limit",
                    });
                }
                return Ok(None);
            };
            let mut hdr = [0u8; 3];
            match self.buf.get(sc + 3..sc + 6) {
                Some(h) => hdr.copy_from_slice(h),
                None if eof && sc + 3 < self.buf.len() => {
                    let h = &self.buf[sc + 3..];
                    hdr[..h.len()].copy_from_slice(h);
                }
                None => {
                    self.scan = sc;
                    return Ok(None);
                }
            }
            let (vcl, first_slice, delim) = classify(self.codec, &hdr);
            self.scan = sc + 3;
            if self.au_start.is_none() {
                // First NAL unit: bytes before it are garbage.
                let _ = self.buf.split_to(sc);
                self.base += sc as u64;
                self.scan -= sc;
                self.au_start = Some(0);
                self.nals.clear();
                self.nals.push(0);
                self.cur = self.take_times(self.base);
                self.seen_vcl = vcl;
                continue;
            }
            let new_au = self.seen_vcl && ((vcl && first_slice) || delim);
            if vcl {
                self.seen_vcl = true;
            }
            if !new_au {
                self.nals.push(sc);
                continue;
            }
            let data = to_canonical(&self.buf, &self.nals, sc);
            let _ = self.buf.split_to(sc);
            self.nals.clear();
            self.nals.push(0);
            self.base += sc as u64;
            self.scan -= sc;
            self.au_start = Some(0);
            self.seen_vcl = vcl;
            let (pts, dts) = self.cur;
            self.cur = self.take_times(self.base);
            let incomplete = std::mem::take(&mut self.incomplete);
            return Ok(Some(SplitAu {
                data,
                pts,
                dts,
                incomplete,
            }));
        }
    }

    /// Ends the stream: returns the units still buffered (the last one has no successor to
    /// end it; units whose last NAL unit is very short may also be waiting).
    pub fn flush(&mut self) -> Vec<SplitAu> {
        let mut out = Vec::new();
        while let Ok(Some(au)) = self.step(true) {
            out.push(au);
        }
        out.extend(self.take_last());
        out
    }

    fn take_last(&mut self) -> Option<SplitAu> {
        self.au_start?;
        let end = self.buf.len();
        let data = to_canonical(&self.buf, &self.nals, end);
        self.buf.clear();
        self.nals.clear();
        self.base += end as u64;
        self.scan = 0;
        self.au_start = None;
        self.seen_vcl = false;
        let (pts, dts) = std::mem::take(&mut self.cur);
        let incomplete = std::mem::take(&mut self.incomplete);
        (!data.is_empty()).then_some(SplitAu {
            data,
            pts,
            dts,
            incomplete,
        })
    }
}

/// Builds the canonical (4-byte length-prefixed) form of the NAL units whose start codes are
/// at `nals` in `buf`, the last one ending at `end`; trailing zero bytes (Annex B
/// trailing_zero_8bits) are not part of a unit.
fn to_canonical(buf: &[u8], nals: &[usize], end: usize) -> Bytes {
    let mut out = BytesMut::with_capacity(end + 2 * nals.len());
    for (i, &sc) in nals.iter().enumerate() {
        let s = sc + 3;
        let mut e = nals.get(i + 1).copied().unwrap_or(end).min(buf.len());
        while e > s && buf[e - 1] == 0 {
            e -= 1;
        }
        if e > s {
            out.put_u32((e - s) as u32);
            out.put_slice(&buf[s..e]);
        }
    }
    out.freeze()
}

/// (is VCL, starts a picture, is a non-VCL unit that starts an access unit).
fn classify(codec: Codec, hdr: &[u8]) -> (bool, bool, bool) {
    let (h0, h1, h2) = (
        hdr[0],
        hdr.get(1).copied().unwrap_or(0),
        hdr.get(2).copied().unwrap_or(0),
    );
    match codec {
        Codec::H265 => {
            let t = (h0 >> 1) & 0x3F;
            let vcl = t <= 31;
            (
                vcl,
                vcl && h2 & 0x80 != 0,
                matches!(t, 32..=35 | 39 | 41..=44 | 48..=55),
            )
        }
        _ => {
            let t = h0 & 0x1F;
            let vcl = matches!(t, 1..=5);
            // first_mb_in_slice is ue(v): 0 is coded as a single '1' bit.
            (vcl, vcl && h1 & 0x80 != 0, matches!(t, 6..=9 | 14..=18))
        }
    }
}
