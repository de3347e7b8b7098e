//! Elementary-stream framing shared by the TS and PS demuxers: turns PES payloads into
//! [`Frame`]s in the canonical layout and learns each track's codec configuration.
//!
//! * H.264 / H.265: an Annex B access unit becomes 4-byte length-prefixed NAL units; the
//!   parameter sets it carries become the avcC / hvcC record and picture size.
//! * AAC in ADTS: each ADTS frame (each raw data block) becomes one raw access unit; the
//!   header becomes the AudioSpecificConfig.
//! * MPEG audio: split at frame headers, one frame per [`Frame`].
//! * Opus (TS mapping): `opus_control_header`s are stripped, one packet per [`Frame`].
//! * Anything else (G.711, …): one PES payload per [`Frame`].
//!
//! Audio PES packets often hold several frames; the PTS applies to the first one that
//! starts in the packet and later ones are timed by their sample counts.

use bytes::{Buf, Bytes, BytesMut};
use tracing::debug;
use weir_media::{
    nal, AudioParams, Codec, Frame, MediaKind, Timebase, Timestamp, TrackInfo, VideoParams,
};

use crate::audio::{opus_packet_samples, parse_opus_control};

/// Audio PES packets during which a clock jump seen on the video stream is expected to
/// show up on the audio stream too.
const JUMP_HINT_PES: u32 = 50;

/// How close (90 kHz ticks) consecutive bogus-PTS offsets must be to count as one clock jump.
const BOGUS_CONSISTENCY: i64 = 450;

/// How the bytes of an elementary stream are framed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EsFraming {
    /// H.264/H.265 Annex B byte stream.
    AnnexB,
    /// AAC in ADTS frames.
    Adts,
    /// AAC in LATM/LOAS (`AudioSyncStream`).
    Latm,
    /// MPEG-1/2 audio frames.
    MpegAudio,
    /// Opus with the TS `opus_control_header`.
    OpusTs,
    /// Opus packets with nothing around them (one per PES).
    Raw,
}

impl EsFraming {
    /// The framing a codec normally has inside PES packets.
    pub fn for_codec(codec: Codec) -> EsFraming {
        match codec {
            Codec::H264 | Codec::H265 => EsFraming::AnnexB,
            Codec::Aac => EsFraming::Adts,
            Codec::MpegAudio => EsFraming::MpegAudio,
            Codec::Opus => EsFraming::OpusTs,
            _ => EsFraming::Raw,
        }
    }
}

/// Tunables of an [`EsFramer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EsOptions {
    /// Audio only: a PES PTS further than this many 90 kHz ticks from where the previous
    /// frames say the next frame belongs is treated as bogus and replaced by the
    /// extrapolated time (GB28181 devices send audio PES with zero, repeated or unrelated
    /// PTS). `None` trusts every PTS.
    pub audio_pts_tolerance: Option<i64>,
    /// After this many consecutive bogus audio PTS that agree with each other (the same
    /// offset from the audio clock within 5 ms), they are believed (a real discontinuity)
    /// and the clock re-anchors on them.
    pub audio_pts_resync_after: u32,
    /// Largest frame accepted (bytes), bounding reassembly buffers.
    pub max_frame_size: usize,
}

impl Default for EsOptions {
    fn default() -> EsOptions {
        EsOptions {
            audio_pts_tolerance: None,
            audio_pts_resync_after: 25,
            max_frame_size: 16 << 20,
        }
    }
}

/// What an [`EsFramer`] produces.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EsOutput {
    /// The track's description changed (config or picture/sound parameters learned).
    Updated(TrackInfo),
    /// One access unit.
    Frame(Frame),
}

/// Converts the PES payloads of one elementary stream into canonical frames.
/// Timestamps going in and coming out are 90 kHz ticks already extended past the 33-bit wrap.
#[derive(Debug)]
pub struct EsFramer {
    info: TrackInfo,
    framing: EsFraming,
    opts: EsOptions,
    /// Audio bytes of a frame cut by the end of a PES packet.
    carry: BytesMut,
    /// Audio clock: anchor PTS and samples counted since, at `rate`.
    anchor: Option<(i64, u64, u32)>,
    last_pts: Option<i64>,
    last_dts: Option<i64>,
    step: i64,
    bogus_run: u32,
    bogus_offset: i64,
    bogus_fixed: u64,
    /// A clock jump seen on another stream of the program (offset in ticks) and how many
    /// more audio PES may still show it: an audio PTS off by about that much is a real
    /// jump, not a bogus value.
    jump_hint: Option<(i64, u32)>,
    /// Last parameter sets seen (video), to notice changes cheaply.
    param_sets: Vec<Bytes>,
    /// Access-unit splitter for H.264/H.265 (see [`EsFramer::push_pes`]).
    splitter: Option<crate::AuSplitter>,
    /// A video PES started mid-unit: units end only when the next one starts.
    unaligned: bool,
    /// The fixed-header bits of the last ADTS frame, to rebuild the config only on change.
    adts_fixed: Option<[u8; 3]>,
    /// LATM/LOAS state (AAC with stream_type 0x11).
    loas: Option<(weir_aac::latm::LoasReader, weir_aac::latm::LatmDecoder)>,
}

impl EsFramer {
    /// A framer for `info`'s codec with the given framing. The framer reports every
    /// frame on `info.id`, in a 90 kHz timebase.
    pub fn new(info: TrackInfo, framing: EsFraming, opts: EsOptions) -> EsFramer {
        EsFramer {
            info,
            framing,
            opts,
            carry: BytesMut::new(),
            anchor: None,
            last_pts: None,
            last_dts: None,
            step: 0,
            bogus_run: 0,
            bogus_offset: 0,
            bogus_fixed: 0,
            jump_hint: None,
            param_sets: Vec::new(),
            adts_fixed: None,
            splitter: None,
            unaligned: false,
            loas: (framing == EsFraming::Latm).then(|| {
                (
                    weir_aac::latm::LoasReader::new(),
                    weir_aac::latm::LatmDecoder::new(),
                )
            }),
        }
    }

    /// The track as currently known.
    pub fn info(&self) -> &TrackInfo {
        &self.info
    }

    /// How many audio PTS values were judged bogus and replaced.
    pub fn bogus_pts_fixed(&self) -> u64 {
        self.bogus_fixed
    }

    /// Says the program's clock just jumped by `offset` ticks (seen on its video stream).
    /// An audio PTS that is off the audio clock by about as much within the next few PES
    /// packets is then believed at once instead of being replaced as bogus until
    /// [`EsOptions::audio_pts_resync_after`] of them agree: devices whose clock resets move
    /// every stream, and audio trailing the video by half a second would break A/V sync.
    pub fn expect_clock_jump(&mut self, offset: i64) {
        self.jump_hint = Some((offset, JUMP_HINT_PES));
    }

    /// Forgets partial data and clocks (after loss or a discontinuity).
    pub fn reset(&mut self) {
        if let Some(sp) = self.splitter.as_mut() {
            sp.reset();
        }
        self.carry.clear();
        self.anchor = None;
        self.bogus_run = 0;
    }

    /// Frames one complete PES payload.
    ///
    /// H.264/H.265 payloads are cut into access units from their NAL units. While PES
    /// packets start with a start code (aligned, as TS muxers write them) the end of a PES
    /// also ends its last access unit, so frames come out without waiting; a PES with several
    /// access units gives several frames (the later ones timed by the frame spacing). Once a
    /// PES starts mid-unit (fixed-size video PES in some broadcast streams) the stream is
    /// treated as unaligned and units end only when the next one starts.
    pub fn push_pes(
        &mut self,
        payload: Bytes,
        pts: Option<i64>,
        dts: Option<i64>,
        random_access: bool,
        incomplete: bool,
        out: &mut dyn FnMut(EsOutput),
    ) {
        match self.framing {
            EsFraming::AnnexB => {
                self.push_annexb_pes(payload, pts, dts, random_access, incomplete, out)
            }
            _ if self.info.codec.kind() == MediaKind::Audio => {
                self.push_audio(payload, pts, incomplete, out)
            }
            _ => {
                let (pts, dts) = self.video_times(pts, dts);
                self.emit(payload, pts, dts, random_access, incomplete, out);
            }
        }
    }

    fn push_annexb_pes(
        &mut self,
        payload: Bytes,
        pts: Option<i64>,
        dts: Option<i64>,
        random_access: bool,
        incomplete: bool,
        out: &mut dyn FnMut(EsOutput),
    ) {
        let aligned = payload.starts_with(&[0, 0, 1]) || payload.starts_with(&[0, 0, 0, 1]);
        if !aligned && !self.unaligned && !payload.is_empty() {
            debug!(track = ?self.info.id, "video PES not aligned to access units");
            self.unaligned = true;
        }
        let codec = self.info.codec;
        let max = self.opts.max_frame_size;
        let mut sp = self
            .splitter
            .take()
            .unwrap_or_else(|| crate::AuSplitter::new(codec, max));
        if incomplete {
            sp.mark_loss();
        }
        sp.push(&payload, pts, dts);
        let mut ra = random_access;
        while let Ok(Some(au)) = sp.next_au() {
            self.push_canonical_au(
                au.data,
                au.pts,
                au.dts,
                std::mem::take(&mut ra),
                au.incomplete,
                out,
            );
        }
        if !self.unaligned {
            for au in sp.flush() {
                self.push_canonical_au(
                    au.data,
                    au.pts,
                    au.dts,
                    std::mem::take(&mut ra),
                    au.incomplete,
                    out,
                );
            }
        }
        self.splitter = Some(sp);
    }

    fn video_times(&mut self, pts: Option<i64>, dts: Option<i64>) -> (i64, i64) {
        let (pts, dts) = match (pts, dts) {
            (Some(p), Some(d)) => (p, d),
            (Some(p), None) => (p, p),
            _ => {
                // No timestamps: continue at the last step.
                let d = self.last_dts.map_or(0, |d| d.saturating_add(self.step));
                let p = self.last_pts.map_or(d, |p| p.saturating_add(self.step));
                (p, d)
            }
        };
        if let Some(last) = self.last_dts {
            let s = dts.saturating_sub(last);
            if s > 0 {
                self.step = s;
            }
        }
        self.last_pts = Some(pts);
        self.last_dts = Some(dts);
        (pts, dts)
    }

    /// Frames one complete H.264/H.265 access unit in Annex B form.
    pub fn push_video_au(
        &mut self,
        annexb: Bytes,
        pts: Option<i64>,
        dts: Option<i64>,
        random_access: bool,
        incomplete: bool,
        out: &mut dyn FnMut(EsOutput),
    ) {
        let mut data = BytesMut::with_capacity(annexb.len() + 16);
        // Cannot fail: 4-byte prefixes hold any NAL size a PES can carry.
        if nal::annexb_to_length_prefixed(&annexb, nal::CANONICAL_LENGTH_SIZE, &mut data).is_err() {
            return;
        }
        self.push_canonical_au(data.freeze(), pts, dts, random_access, incomplete, out);
    }

    /// Frames one complete H.264/H.265 access unit already in canonical layout (as
    /// [`AuSplitter`](crate::AuSplitter) produces). `random_access` marks it a keyframe even
    /// without an IDR/IRAP picture (the assembler's recovery-point judgement).
    pub fn push_canonical_au(
        &mut self,
        data: Bytes,
        pts: Option<i64>,
        dts: Option<i64>,
        random_access: bool,
        incomplete: bool,
        out: &mut dyn FnMut(EsOutput),
    ) {
        let (pts, dts) = self.video_times(pts, dts);
        let keyframe = random_access
            || match self.info.codec {
                Codec::H264 => weir_h264::is_keyframe(&data),
                Codec::H265 => weir_h265::is_keyframe(&data),
                _ => false,
            };
        if keyframe || self.info.config.is_empty() {
            self.learn_parameter_sets(&data, out);
        }
        let mut f = Frame::new(
            self.info.id,
            Timestamp::new(pts, Timebase::MPEG),
            Timestamp::new(dts, Timebase::MPEG),
            data,
        )
        .with_keyframe(keyframe);
        f.incomplete = incomplete;
        out(EsOutput::Frame(f));
    }

    fn learn_parameter_sets(&mut self, canonical: &Bytes, out: &mut dyn FnMut(EsOutput)) {
        let Ok(iter) = nal::length_prefixed_nalus(canonical, nal::CANONICAL_LENGTH_SIZE) else {
            return;
        };
        let codec = self.info.codec;
        let is_ps = |n: &Bytes| match (codec, n.first()) {
            (Codec::H264, Some(&h)) => matches!(h & 0x1F, 7 | 8),
            (Codec::H265, Some(&h)) => matches!((h >> 1) & 0x3F, 32..=34),
            _ => false,
        };
        let sets: Vec<Bytes> = iter.filter_map(Result::ok).filter(is_ps).collect();
        if sets.is_empty() || sets == self.param_sets {
            return;
        }
        let learned = match codec {
            Codec::H264 => crate::codecs::h264_config(&sets),
            Codec::H265 => crate::codecs::h265_config(&sets),
            _ => None,
        };
        self.param_sets = sets;
        if let Some((config, video)) = learned {
            if config != self.info.config || video != self.info.video {
                self.info.config = config;
                self.info.video = video;
                out(EsOutput::Updated(self.info.clone()));
            }
        }
    }

    fn emit(
        &mut self,
        data: Bytes,
        pts: i64,
        dts: i64,
        keyframe: bool,
        incomplete: bool,
        out: &mut dyn FnMut(EsOutput),
    ) {
        let mut f = Frame::new(
            self.info.id,
            Timestamp::new(pts, Timebase::MPEG),
            Timestamp::new(dts, Timebase::MPEG),
            data,
        )
        .with_keyframe(keyframe);
        f.incomplete = incomplete;
        out(EsOutput::Frame(f));
    }

    /// The audio clock's prediction for the next frame.
    fn expected_pts(&self) -> Option<i64> {
        let (t, samples, rate) = self.anchor?;
        let ticks = weir_media::rescale(
            i64::try_from(samples).ok()?,
            Timebase::hz(rate)?,
            Timebase::MPEG,
        );
        t.checked_add(ticks)
    }

    /// Applies the bogus-PTS policy; returns the PTS to anchor on, if any.
    fn checked_audio_pts(&mut self, pts: Option<i64>) -> Option<i64> {
        let pts = pts?;
        let (Some(tol), Some(expected)) = (self.opts.audio_pts_tolerance, self.expected_pts())
        else {
            return Some(pts);
        };
        let off = pts.saturating_sub(expected);
        let hint = self.jump_hint.take();
        if off.abs() <= tol {
            self.bogus_run = 0;
            self.jump_hint = hint.and_then(|(o, n)| n.checked_sub(1).map(|n| (o, n)));
            return Some(pts);
        }
        if let Some((jump, _)) = hint {
            if off.saturating_sub(jump).abs() <= tol {
                debug!(track = ?self.info.id, pts, expected, "audio PTS follows the program's clock jump, re-anchoring");
                self.bogus_run = 0;
                return Some(pts);
            }
            self.jump_hint = hint.and_then(|(o, n)| n.checked_sub(1).map(|n| (o, n)));
        }
        // A real clock jump keeps a constant offset from the audio clock; a stuck or random
        // PTS does not (a stuck one drifts by a frame duration per packet).
        if self.bogus_run > 0 && off.saturating_sub(self.bogus_offset).abs() <= BOGUS_CONSISTENCY {
            self.bogus_run += 1;
        } else {
            self.bogus_run = 1;
        }
        self.bogus_offset = off;
        if self.bogus_run >= self.opts.audio_pts_resync_after.max(1) {
            debug!(track = ?self.info.id, pts, expected, "audio PTS jump confirmed, re-anchoring");
            self.bogus_run = 0;
            return Some(pts);
        }
        debug!(track = ?self.info.id, pts, expected, "bogus audio PTS replaced");
        self.bogus_fixed += 1;
        None
    }

    fn push_audio(
        &mut self,
        payload: Bytes,
        pts: Option<i64>,
        incomplete: bool,
        out: &mut dyn FnMut(EsOutput),
    ) {
        let pts = self.checked_audio_pts(pts);
        let carried = !self.carry.is_empty();
        let data = if carried {
            self.carry.extend_from_slice(&payload);
            self.carry.split().freeze()
        } else {
            payload
        };
        // The PES PTS belongs to the first frame that starts in this packet; a carried
        // partial frame is timed by the clock instead. Re-anchor when no frame was carried.
        if let Some(p) = pts {
            if !carried || self.anchor.is_none() {
                let rate = self.anchor.map_or(90_000, |a| a.2);
                self.anchor = Some((p, 0, rate));
            }
        }
        if self.anchor.is_none() {
            self.anchor = Some((0, 0, 90_000));
        }
        match self.framing {
            EsFraming::Adts => self.split_adts(data, incomplete, out),
            EsFraming::MpegAudio => self.split_mpa(data, incomplete, out),
            EsFraming::OpusTs => self.split_opus(data, incomplete, out),
            EsFraming::Latm => self.split_latm(&data, incomplete, out),
            _ => {
                let samples = match self.info.codec {
                    Codec::G711A | Codec::G711U => Some((data.len() as u32, 8_000)),
                    Codec::Opus => opus_packet_samples(&data).map(|s| (s, 48_000)),
                    _ => None,
                };
                self.audio_frame(data, samples, incomplete, out);
            }
        }
    }

    /// Emits one audio frame at the clock's time and advances the clock.
    fn audio_frame(
        &mut self,
        data: Bytes,
        samples: Option<(u32, u32)>,
        incomplete: bool,
        out: &mut dyn FnMut(EsOutput),
    ) {
        let pts = self.expected_pts().unwrap_or(0);
        if let (Some((n, rate)), Some(anchor)) = (samples, self.anchor.as_mut()) {
            if anchor.2 != rate && rate != 0 {
                // Re-express the anchor at the new rate.
                *anchor = (pts, 0, rate);
            }
            anchor.1 = anchor.1.saturating_add(u64::from(n));
        }
        self.last_pts = Some(pts);
        self.emit(data, pts, pts, true, incomplete, out);
    }

    fn update_audio_info(
        &mut self,
        config: Bytes,
        params: AudioParams,
        out: &mut dyn FnMut(EsOutput),
    ) {
        if self.info.config != config || self.info.audio != Some(params) {
            self.info.config = config;
            self.info.audio = Some(params);
            out(EsOutput::Updated(self.info.clone()));
        }
    }

    fn keep_tail(&mut self, data: &Bytes, from: usize) {
        if let Some(rest) = data.get(from..) {
            if rest.len() <= self.opts.max_frame_size {
                self.carry.extend_from_slice(rest);
            }
        }
    }

    fn split_adts(&mut self, data: Bytes, incomplete: bool, out: &mut dyn FnMut(EsOutput)) {
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            let hdr = match weir_aac::AdtsHeader::parse(rest) {
                Ok(h) => h,
                Err(_) if rest.len() < 9 && rest.first() == Some(&0xFF) => {
                    self.keep_tail(&data, pos);
                    return;
                }
                Err(_) => {
                    // Resynchronise on the next 0xFFF syncword.
                    pos += 1;
                    while pos < data.len() && data[pos] != 0xFF {
                        pos += 1;
                    }
                    continue;
                }
            };
            let flen = hdr.frame_len();
            let hlen = hdr.header_len();
            if flen < hlen {
                pos += 1;
                continue;
            }
            if rest.len() < flen {
                self.keep_tail(&data, pos);
                return;
            }
            // ID, layer, protection, profile, sampling index, channel configuration.
            let fixed = match rest.get(1..4) {
                Some(b) => [b[0], b[1] & 0xFD, b[2] & 0xC0],
                None => [0; 3],
            };
            if self.adts_fixed != Some(fixed) {
                self.adts_fixed = Some(fixed);
                let asc = hdr.to_config();
                let params = AudioParams {
                    sample_rate: asc.sample_rate(),
                    channels: asc.channels(),
                };
                self.update_audio_info(asc.to_bytes(), params, out);
            }
            let payload = data.slice(pos + hlen..pos + flen);
            let rate = hdr.sample_rate();
            match hdr.split_raw_blocks(&payload) {
                Ok(blocks) => {
                    for b in blocks {
                        self.audio_frame(b, Some((1024, rate)), incomplete, out);
                    }
                }
                Err(_) => self.audio_frame(
                    payload,
                    Some((1024 * hdr.raw_blocks() as u32, rate)),
                    incomplete,
                    out,
                ),
            }
            pos += flen;
        }
    }

    fn split_latm(&mut self, data: &[u8], incomplete: bool, out: &mut dyn FnMut(EsOutput)) {
        let Some((mut reader, mut dec)) = self.loas.take() else {
            return;
        };
        reader.push(data);
        while let Some(element) = reader.pop() {
            let Ok(ame) = dec.decode(&element, true) else {
                continue;
            };
            let Some(asc) = dec.config().and_then(|c| c.first_config()).cloned() else {
                continue;
            };
            let params = AudioParams {
                sample_rate: asc.sample_rate(),
                channels: asc.channels(),
            };
            self.update_audio_info(asc.to_bytes(), params, out);
            for p in ame.payloads.into_iter().filter(|p| p.stream == 0) {
                self.audio_frame(
                    p.data,
                    Some((asc.samples_per_frame(), asc.sample_rate())),
                    incomplete,
                    out,
                );
            }
        }
        self.loas = Some((reader, dec));
    }

    fn split_mpa(&mut self, data: Bytes, incomplete: bool, out: &mut dyn FnMut(EsOutput)) {
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            // A free-format frame (no length in its header) is skipped like garbage.
            let header = weir_aac::MpaHeader::parse(rest)
                .ok()
                .and_then(|h| Some((h.frame_len()?, h)));
            let Some((frame_len, h)) = header else {
                if rest.len() < 4 && rest.first() == Some(&0xFF) {
                    self.keep_tail(&data, pos);
                    return;
                }
                pos += 1;
                while pos < data.len() && data[pos] != 0xFF {
                    pos += 1;
                }
                continue;
            };
            if rest.len() < frame_len {
                self.keep_tail(&data, pos);
                return;
            }
            let params = AudioParams {
                sample_rate: h.sample_rate(),
                channels: h.channels(),
            };
            self.update_audio_info(Bytes::new(), params, out);
            let frame = data.slice(pos..pos + frame_len);
            let timing = Some((h.samples_per_frame(), h.sample_rate()));
            self.audio_frame(frame, timing, incomplete, out);
            pos += frame_len;
        }
    }

    fn split_opus(&mut self, mut data: Bytes, incomplete: bool, out: &mut dyn FnMut(EsOutput)) {
        while !data.is_empty() {
            let Some(c) = parse_opus_control(&data) else {
                if data.len() < 2 + 255 && data.first() == Some(&0x7F) {
                    self.keep_tail(&data, 0);
                }
                return;
            };
            let Some(end) = c.header_len.checked_add(c.au_size) else {
                return;
            };
            if data.len() < end {
                if end <= self.opts.max_frame_size {
                    self.keep_tail(&data, 0);
                }
                return;
            }
            data.advance(c.header_len);
            let packet = data.split_to(c.au_size);
            let samples = opus_packet_samples(&packet).map(|s| (s, 48_000));
            self.audio_frame(packet, samples, incomplete, out);
        }
    }

    /// Ends the stream: delivers a video access unit still buffered and drops partial
    /// audio frames.
    pub fn flush(&mut self, out: &mut dyn FnMut(EsOutput)) {
        self.carry.clear();
        if let Some(mut sp) = self.splitter.take() {
            for au in sp.flush() {
                self.push_canonical_au(au.data, au.pts, au.dts, au.keyframe, au.incomplete, out);
            }
            self.splitter = Some(sp);
        }
    }

    /// Sets the sound parameters (for example from a PMT descriptor).
    pub fn set_audio(&mut self, audio: AudioParams) {
        self.info.audio = Some(audio);
    }

    /// Sets the picture parameters (for example from a PS descriptor).
    pub fn set_video(&mut self, video: VideoParams) {
        self.info.video = Some(video);
    }
}
