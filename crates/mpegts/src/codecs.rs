//! Glue to the codec crates: configuration records from in-band parameter sets, access
//! unit boundaries in an unaligned Annex B stream, and codec inference from ES bytes.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
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
    if weir_aac::MpaHeader::parse(data).is_ok_and(|h| h.frame_len().is_some()) {
        return Some((Codec::MpegAudio, EsFraming::MpegAudio));
    }
    None
}

/// One access unit cut from an unaligned stream, in the canonical layout, with the
/// timestamps of the PES packet it started in (none when that packet's timestamps went to an
/// earlier unit).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitAu {
    /// The access unit: 4-byte length-prefixed NAL units.
    pub data: Bytes,
    /// PTS (90 kHz, extended), if the PES it started in carried one for it.
    pub pts: Option<i64>,
    /// DTS, likewise.
    pub dts: Option<i64>,
    /// A random access point as the codec crate's assembler judges it (H.264: IDR or a
    /// recovery point SEI; H.265: IRAP).
    pub keyframe: bool,
    /// Some bytes of the unit were lost.
    pub incomplete: bool,
}

/// The codec crates' access-unit assemblers (NAL units in, canonical units out).
#[derive(Debug)]
enum Assembler {
    H264(weir_h264::AccessUnitAssembler),
    H265(weir_h265::AccessUnitAssembler),
}

impl Assembler {
    fn new(codec: Codec, max_au: usize) -> Assembler {
        match codec {
            Codec::H265 => Assembler::H265(weir_h265::AccessUnitAssembler::with_limits(
                weir_h265::AssemblerLimits::new(max_au, 4096),
            )),
            _ => Assembler::H264(weir_h264::AccessUnitAssembler::with_limits(
                weir_h264::AssemblerLimits::new(max_au, 4096),
            )),
        }
    }

    /// Pushes one NAL unit; returns the previous unit when this one starts a new one.
    fn push(&mut self, nal: &[u8]) -> Result<Option<(Bytes, bool)>, &'static str> {
        match self {
            Assembler::H264(a) => a
                .push(nal)
                .map(|o| o.map(|u| (u.data, u.keyframe)))
                .map_err(|_| "access unit exceeds the assembler limits"),
            Assembler::H265(a) => a
                .push(nal)
                .map(|o| o.map(|u| (u.data, u.keyframe)))
                .map_err(|_| "access unit exceeds the assembler limits"),
        }
    }

    fn flush(&mut self) -> Option<(Bytes, bool)> {
        match self {
            Assembler::H264(a) => a.flush().map(|u| (u.data, u.keyframe)),
            Assembler::H265(a) => a.flush().map(|u| (u.data, u.keyframe)),
        }
    }
}

/// Cuts an H.264/H.265 Annex B stream whose PES packets need not be aligned to access units
/// (ffmpeg's PS muxer, many cameras) into access units. NAL units are found here (start
/// codes may straddle PES packets); the access-unit rules of H.264 §7.4.1.2.3–7.4.1.2.4 and
/// H.265 §7.4.2.4.4 are applied by `weir-h264` / `weir-h265`'s `AccessUnitAssembler`, so it
/// works without AUDs. A unit is emitted when the next one starts, or by
/// [`AuSplitter::flush`].
///
/// Timestamps follow §2.4.3.7: a PES packet's PTS belongs to the first access unit that
/// starts in it.
#[derive(Debug)]
pub struct AuSplitter {
    codec: Codec,
    asm: Assembler,
    /// Bytes of the NAL unit being read (from its start code on) and anything after it.
    buf: BytesMut,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    scan: usize,
    /// A NAL unit has started at `buf[0]` (its start code).
    in_nal: bool,
    /// The assembler holds part of an access unit.
    au_open: bool,
    /// PES packets: (absolute offset of payload start, pts, dts, used).
    times: VecDeque<(u64, Option<i64>, Option<i64>, bool)>,
    cur: (Option<i64>, Option<i64>),
    incomplete: bool,
    max_au: usize,
    /// A unit completed together with another one at the end of the stream.
    pending: Option<SplitAu>,
}

impl AuSplitter {
    /// A splitter for `codec` (H.264 or H.265) refusing units over `max_au` bytes.
    pub fn new(codec: Codec, max_au: usize) -> AuSplitter {
        AuSplitter {
            codec,
            asm: Assembler::new(codec, max_au),
            buf: BytesMut::new(),
            base: 0,
            scan: 0,
            in_nal: false,
            au_open: false,
            times: VecDeque::new(),
            cur: (None, None),
            incomplete: false,
            max_au,
            pending: None,
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
        self.in_nal = false;
        self.au_open = false;
        let _ = self.asm.flush();
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
    /// [`Error::EsSyntax`] when a unit grows past the limit; it is dropped.
    pub fn next_au(&mut self) -> Result<Option<SplitAu>, Error> {
        self.step(false)
    }

    fn unit(&mut self, (data, keyframe): (Bytes, bool)) -> SplitAu {
        let (pts, dts) = self.cur;
        SplitAu {
            data,
            pts,
            dts,
            keyframe,
            incomplete: std::mem::take(&mut self.incomplete),
        }
    }

    fn step(&mut self, eof: bool) -> Result<Option<SplitAu>, Error> {
        let codec = self.codec;
        let err = |what| Error::EsSyntax { codec, what };
        loop {
            let from = if self.in_nal {
                self.scan.max(3)
            } else {
                self.scan
            };
            let next = nal::find_start_code(&self.buf, from);
            let end = match next {
                Some(sc) => sc,
                None if eof && self.in_nal => self.buf.len(),
                None => {
                    self.scan = self.buf.len().saturating_sub(2).max(self.scan);
                    if self.buf.len() > self.max_au.saturating_add(8) {
                        self.reset();
                        return Err(err("access unit exceeds the size limit"));
                    }
                    if eof {
                        self.buf.clear();
                        self.scan = 0;
                    }
                    return Ok(None);
                }
            };
            if !self.in_nal {
                // Bytes before the first start code are garbage.
                self.buf.advance(end);
                self.base += end as u64;
                self.scan = 3;
                self.in_nal = true;
                continue;
            }
            let nal_abs = self.base;
            let mut e = end.min(self.buf.len());
            while e > 3 && self.buf[e - 1] == 0 {
                e -= 1;
            }
            let result = match self.buf.get(3..e) {
                Some(nal) if !nal.is_empty() => self.asm.push(nal),
                _ => Ok(None),
            };
            let nal_started = e > 3;
            self.buf.advance(end);
            self.base += end as u64;
            self.scan = 3;
            self.in_nal = next.is_some();
            let mut out = None;
            match result {
                Ok(Some(prev)) => {
                    out = Some(self.unit(prev));
                    self.cur = self.take_times(nal_abs);
                }
                Ok(None) if nal_started && !self.au_open => {
                    self.au_open = true;
                    self.cur = self.take_times(nal_abs);
                }
                Ok(None) => {}
                Err(what) => {
                    self.au_open = false;
                    self.incomplete = false;
                    return Err(err(what));
                }
            }
            if next.is_none() {
                // End of stream: the last unit is complete too.
                self.au_open = false;
                if let Some(last) = self.asm.flush() {
                    let last = self.unit(last);
                    return Ok(Some(match out {
                        Some(o) => {
                            self.pending = Some(last);
                            o
                        }
                        None => last,
                    }));
                }
            }
            if out.is_some() {
                return Ok(out);
            }
        }
    }

    /// Ends the stream: returns the units still buffered (the last one has no successor to
    /// end it).
    pub fn flush(&mut self) -> Vec<SplitAu> {
        let mut out = Vec::new();
        loop {
            match self.step(true) {
                Ok(Some(au)) => out.push(au),
                Ok(None) => break,
                Err(_) => continue,
            }
            out.extend(self.pending.take());
        }
        out.extend(self.pending.take());
        if let Some(last) = self.asm.flush() {
            let last = self.unit(last);
            out.push(last);
        }
        self.au_open = false;
        self.in_nal = false;
        self.scan = 0;
        self.buf.clear();
        out
    }
}
