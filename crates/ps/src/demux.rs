//! The program stream demuxer.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
use tracing::{debug, trace};
use weir_media::{nal, Codec, Frame, TrackId, TrackInfo, WrapExtender};
use weir_mpegts::es::{EsFramer, EsFraming, EsOptions, EsOutput};
use weir_mpegts::pes::{parse_pes_header, TIMESTAMP_MASK};
use weir_mpegts::{infer_codec, stream_type, AuSplitter};

use crate::psm::{parse_pack_header, Psm};
use crate::Error;

/// Demuxer limits and quirk handling.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PsDemuxConfig {
    /// Largest PES packet (bounded or not) reassembled, in bytes.
    pub max_pes_size: usize,
    /// Most elementary streams tracked.
    pub max_streams: usize,
    /// Framing options; by default audio PTS more than one second away from the audio
    /// clock are treated as bogus (a GB28181 device quirk).
    pub es: EsOptions,
}

impl Default for PsDemuxConfig {
    fn default() -> PsDemuxConfig {
        let mut es = EsOptions::default();
        es.audio_pts_tolerance = Some(90_000);
        PsDemuxConfig {
            max_pes_size: 4 << 20,
            max_streams: 16,
            es,
        }
    }
}

/// A PES payload of a stream weir does not frame (SVAC, MPEG-2 video, unknown types).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PesData {
    /// stream_id.
    pub stream_id: u8,
    /// stream_type from the PSM, when one was seen.
    pub stream_type: Option<u8>,
    /// PTS in 90 kHz ticks, extended past the 33-bit wrap.
    pub pts: Option<i64>,
    /// DTS, likewise.
    pub dts: Option<i64>,
    /// The payload.
    pub data: Bytes,
}

/// What the demuxer reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A program stream map (new version).
    Psm(Psm),
    /// A new elementary stream weir can frame. Its id is the PES stream_id; frames use a
    /// 90 kHz clock.
    TrackAdded(TrackInfo),
    /// A track's configuration or parameters were learned or changed.
    TrackUpdated(TrackInfo),
    /// One access unit in canonical layout.
    Frame(Frame),
    /// A PES payload passed through unframed.
    Data(PesData),
    /// Damaged or unexpected data was skipped; demuxing continues.
    Corrupt(Error),
}

#[derive(Debug)]
struct Stream {
    stream_id: u8,
    stream_type: Option<u8>,
    framer: Option<EsFramer>,
    splitter: Option<AuSplitter>,
    /// Codec decided (from the PSM or the ES); until then payloads go out as data.
    decided: bool,
    /// Last PES PTS (video), to notice the program's clock jumping.
    last_pts: Option<i64>,
}

/// Sans-IO MPEG program stream demuxer: push bytes in any pieces (a whole RTP payload,
/// part of a frame, several frames), poll [`Event`]s.
///
/// H.264/H.265 access units are found from the NAL units, not from PES boundaries, so PES
/// packets that split or merge frames (ffmpeg, many cameras), PES length 0 and streams
/// without AUDs all work; a frame is emitted when the next one starts (or on
/// [`PsDemuxer::flush`]).
///
/// ```
/// use weir_ps::{Event, PsDemuxer};
/// let mut d = PsDemuxer::new();
/// d.push(&[0, 0, 1, 0xBA]); // a pack header, cut short
/// assert!(d.poll_event().is_none());
/// ```
#[derive(Debug)]
pub struct PsDemuxer {
    cfg: PsDemuxConfig,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// Where to resume scanning for the end of an unbounded PES (relative to buf).
    unbounded_scan: usize,
    streams: Vec<Stream>,
    psm: Option<Psm>,
    ext: WrapExtender,
    events: VecDeque<Event>,
    garbage_from: Option<u64>,
}

impl Default for PsDemuxer {
    fn default() -> PsDemuxer {
        PsDemuxer::new()
    }
}

impl PsDemuxer {
    /// A demuxer with default limits.
    pub fn new() -> PsDemuxer {
        PsDemuxer::with_config(PsDemuxConfig::default())
    }

    /// A demuxer with the given limits.
    pub fn with_config(cfg: PsDemuxConfig) -> PsDemuxer {
        PsDemuxer {
            cfg,
            buf: BytesMut::new(),
            offset: 0,
            unbounded_scan: 0,
            streams: Vec::new(),
            psm: None,
            ext: WrapExtender::new(33),
            events: VecDeque::new(),
            garbage_from: None,
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The last program stream map seen.
    pub fn psm(&self) -> Option<&Psm> {
        self.psm.as_ref()
    }

    /// Feeds stream bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.append(data);
        self.run(false);
    }

    /// Feeds stream bytes, taking `data` over without a copy when nothing is buffered and
    /// nothing else shares it (a packet read into its own buffer).
    pub fn push_bytes(&mut self, data: Bytes) {
        if self.buf.is_empty() {
            match data.try_into_mut() {
                Ok(own) => self.buf = own,
                Err(shared) => self.append(&shared),
            }
        } else {
            self.append(&data);
        }
        self.run(false);
    }

    /// Copies `data` in, into blocks of at least [`BLOCK`]: packets sliced from a shared
    /// receive buffer cost one allocation per block, not one per packet (the emitted
    /// packets keep slices of the block, so it is rarely reused in place).
    fn append(&mut self, data: &[u8]) {
        if self.buf.capacity() - self.buf.len() < data.len() {
            self.buf.reserve(data.len().max(BLOCK));
        }
        self.buf.extend_from_slice(data);
    }

    /// Drops buffered bytes and partial frames (after the transport lost data). Frames
    /// resume at the next access unit start.
    pub fn reset(&mut self) {
        self.offset += self.buf.len() as u64;
        self.buf.clear();
        self.unbounded_scan = 0;
        for s in &mut self.streams {
            if let Some(sp) = s.splitter.as_mut() {
                sp.reset();
            }
            if let Some(f) = s.framer.as_mut() {
                f.reset();
            }
        }
    }

    /// Ends the stream: delivers an unbounded PES still open and the last access unit of
    /// each video stream.
    pub fn flush(&mut self) {
        self.run(true);
        if !self.buf.is_empty() {
            let (offset, len) = (self.offset, self.buf.len());
            self.corrupt(Error::Truncated { offset, len });
            self.consume(len);
        }
        self.end_garbage();
        self.flush_video();
    }

    /// Says the bytes pushed so far end a frame — call it when an RTP packet with the
    /// marker bit has been pushed (GB/T 28181 sets it on the last packet of each frame).
    /// The video access unit being assembled is delivered now instead of when the next
    /// frame starts, saving one frame interval of latency. An unbounded PES still open is
    /// closed here.
    pub fn frame_end(&mut self) {
        self.run(true);
        self.flush_video();
    }

    fn flush_video(&mut self) {
        for i in 0..self.streams.len() {
            let s = &mut self.streams[i];
            let aus = s
                .splitter
                .as_mut()
                .map(AuSplitter::flush)
                .unwrap_or_default();
            if let Some(f) = s.framer.as_mut() {
                let events = &mut self.events;
                for au in aus {
                    f.push_canonical_au(
                        au.data,
                        au.pts,
                        au.dts,
                        au.keyframe,
                        au.incomplete,
                        &mut |o| events.push_back(map_output(o)),
                    );
                }
            }
        }
    }

    fn corrupt(&mut self, e: Error) {
        trace!(error = %e, "PS corrupt");
        self.events.push_back(Event::Corrupt(e));
    }

    fn skip(&mut self, n: usize) {
        if self.garbage_from.is_none() {
            self.garbage_from = Some(self.offset);
        }
        self.consume(n);
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.advance(n);
        self.offset += n as u64;
        self.unbounded_scan = 0;
    }

    fn end_garbage(&mut self) {
        if let Some(from) = self.garbage_from.take() {
            let skipped = self.offset - from;
            debug!(offset = from, skipped, "PS resync");
            self.corrupt(Error::Garbage {
                offset: from,
                skipped,
            });
        }
    }

    fn run(&mut self, eof: bool) {
        loop {
            // Sync on 00 00 01.
            if self.buf.get(..3) != Some(&[0, 0, 1][..]) {
                match nal::find_start_code(&self.buf, 0) {
                    Some(p) => self.skip(p),
                    None => {
                        let keep = self.buf.len().min(2);
                        let drop = self.buf.len() - keep;
                        if drop > 0 {
                            self.skip(drop);
                        }
                        return;
                    }
                }
            }
            let Some(&id) = self.buf.get(3) else { return };
            if id < 0xB9 {
                // A start code that is not a system start code (damaged or lost data).
                self.skip(1);
                continue;
            }
            match id {
                0xB9 => {
                    self.end_garbage();
                    self.consume(4);
                }
                0xBA => match parse_pack_header(&self.buf) {
                    Ok(Some(h)) => {
                        self.end_garbage();
                        self.consume(h.len);
                    }
                    Ok(None) => return,
                    Err(_) => {
                        let offset = self.offset;
                        self.corrupt(Error::PackHeader {
                            offset,
                            what: "neither the MPEG-2 nor the MPEG-1 form",
                        });
                        self.skip(4);
                    }
                },
                _ => {
                    let Some(len) = self
                        .buf
                        .get(4..6)
                        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                    else {
                        return;
                    };
                    if id == 0xBB || id == 0xBC || len != 0 {
                        if self.buf.len() < 6 + len {
                            return;
                        }
                        self.end_garbage();
                        let mut take = 6 + len;
                        if (0xC0..=0xEF).contains(&id) {
                            // Lost bytes make a PES length run over the next packs. Video
                            // ES never contains a system start code and audio almost never
                            // a whole pack header: cut the packet there and parse the rest.
                            if let Some(p) = find_embedded_start(&self.buf[..take], id >= 0xE0) {
                                let offset = self.offset;
                                self.corrupt(Error::PesOverrun {
                                    offset,
                                    declared: take,
                                    actual: p,
                                });
                                if let Some(i) = self.stream_index(id) {
                                    if let Some(sp) = self.streams[i].splitter.as_mut() {
                                        sp.mark_loss();
                                    }
                                }
                                take = p;
                            }
                        }
                        let pkt = self.buf.split_to(take).freeze();
                        self.offset += pkt.len() as u64;
                        self.unbounded_scan = 0;
                        self.packet(id, pkt);
                    } else {
                        // PES_packet_length 0: runs to the next system start code
                        // (video in TS; real GB28181 devices do it in PS too).
                        let from = self.unbounded_scan.max(6);
                        match find_system_start(&self.buf, from) {
                            Some(end) => {
                                self.end_garbage();
                                let pkt = self.buf.split_to(end).freeze();
                                self.offset += pkt.len() as u64;
                                self.unbounded_scan = 0;
                                self.packet(id, pkt);
                            }
                            None if eof => {
                                self.end_garbage();
                                let pkt = self.buf.split().freeze();
                                self.offset += pkt.len() as u64;
                                self.unbounded_scan = 0;
                                self.packet(id, pkt);
                                return;
                            }
                            None => {
                                if self.buf.len() > self.cfg.max_pes_size {
                                    let limit = self.cfg.max_pes_size;
                                    self.corrupt(Error::TooLarge {
                                        what: "unbounded PES packet",
                                        limit,
                                    });
                                    let n = self.buf.len();
                                    self.skip(n.saturating_sub(3));
                                    return;
                                }
                                self.unbounded_scan = self.buf.len().saturating_sub(3).max(6);
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    fn packet(&mut self, id: u8, pkt: Bytes) {
        match id {
            0xBB | 0xBE | 0xBF | 0xBD => {} // system header, padding, private streams: skipped
            0xBC => match Psm::parse(&pkt) {
                Ok(psm) => self.on_psm(psm),
                Err(e) => self.corrupt(e),
            },
            0xC0..=0xEF => self.pes(id, pkt),
            _ => {} // ECM/EMM/DSM-CC/…: not media
        }
    }

    fn on_psm(&mut self, psm: Psm) {
        if !psm.crc_ok {
            debug!("PSM CRC_32 mismatch tolerated");
        }
        if self
            .psm
            .as_ref()
            .is_some_and(|p| p.version == psm.version && p.streams == psm.streams)
        {
            return;
        }
        for e in &psm.streams {
            let idx = self.stream_index(e.stream_id);
            if let Some(i) = idx {
                let s = &mut self.streams[i];
                if s.stream_type == Some(e.stream_type) {
                    continue;
                }
                // Inferred before the PSM arrived, and the PSM agrees: keep the stream.
                let agrees = s.stream_type.is_none()
                    && codec_of_type(e.stream_type).map(|c| c.0)
                        == s.framer.as_ref().map(|f| f.info().codec);
                if agrees {
                    s.stream_type = Some(e.stream_type);
                    continue;
                }
                // The type changed: start the stream over.
                self.streams.remove(i);
            }
            self.add_stream(e.stream_id, Some(e.stream_type), None);
        }
        self.events.push_back(Event::Psm(psm.clone()));
        self.psm = Some(psm);
    }

    fn stream_index(&self, id: u8) -> Option<usize> {
        self.streams.iter().position(|s| s.stream_id == id)
    }

    /// Creates a stream; the codec comes from `stream_type` or, failing that, `first`.
    fn add_stream(
        &mut self,
        id: u8,
        stream_type: Option<u8>,
        first: Option<&[u8]>,
    ) -> Option<usize> {
        if self.streams.len() >= self.cfg.max_streams {
            let limit = self.cfg.max_streams;
            self.corrupt(Error::TooManyStreams { limit });
            return None;
        }
        let is_video = (0xE0..=0xEF).contains(&id);
        let decided_codec = match stream_type {
            Some(t) => codec_of_type(t),
            None => first.and_then(|d| infer_codec(is_video, d)),
        };
        let decided = stream_type.is_some() || decided_codec.is_some();
        let (framer, splitter) = match decided_codec {
            Some((codec, framing)) => {
                let info = TrackInfo::new(TrackId(u32::from(id)), codec, 90_000);
                self.events.push_back(Event::TrackAdded(info.clone()));
                let splitter = (framing == EsFraming::AnnexB)
                    .then(|| AuSplitter::new(codec, self.cfg.es.max_frame_size));
                (
                    Some(EsFramer::new(info, framing, self.cfg.es.clone())),
                    splitter,
                )
            }
            None => (None, None),
        };
        self.streams.push(Stream {
            stream_id: id,
            stream_type,
            framer,
            splitter,
            decided,
            last_pts: None,
        });
        Some(self.streams.len() - 1)
    }

    fn pes(&mut self, id: u8, pkt: Bytes) {
        let offset = self.offset - pkt.len() as u64;
        let header = match parse_pes_header(&pkt) {
            Ok(h) => h,
            Err(source) => return self.corrupt(Error::Pes { offset, source }),
        };
        let payload = pkt.slice(header.header_len.min(pkt.len())..);
        let (pts, dts) = extend(&mut self.ext, header.pts, header.dts);
        let i = match self.stream_index(id) {
            Some(i) => i,
            None => {
                if payload.is_empty() {
                    return;
                }
                match self.add_stream(id, None, Some(&payload)) {
                    Some(i) => i,
                    None => return,
                }
            }
        };
        if !self.streams[i].decided {
            // No PSM and the first payload did not tell: try again with this one.
            let is_video = (0xE0..=0xEF).contains(&id);
            if infer_codec(is_video, &payload).is_some() {
                self.streams.remove(i);
                let Some(j) = self.add_stream(id, None, Some(&payload)) else {
                    return;
                };
                return self.dispatch(j, payload, pts, dts);
            }
        }
        self.note_video_clock(i, pts);
        self.dispatch(i, payload, pts, dts);
    }

    /// A video PTS far from the previous one is the device's clock jumping (a reset or a
    /// step): the audio streams are told, so their PTS, which jump along, are not
    /// mistaken for bogus ones (see `EsOptions::audio_pts_tolerance`).
    fn note_video_clock(&mut self, i: usize, pts: Option<i64>) {
        let (Some(pts), Some(tol)) = (pts, self.cfg.es.audio_pts_tolerance) else {
            return;
        };
        let s = &mut self.streams[i];
        if !(0xE0..=0xEF).contains(&s.stream_id) {
            return;
        }
        let jump = s.last_pts.map_or(0, |last| pts.saturating_sub(last));
        s.last_pts = Some(pts);
        if jump.abs() <= tol {
            return;
        }
        debug!(jump, "PS clock jump on the video stream");
        for a in &mut self.streams {
            if (0xC0..=0xDF).contains(&a.stream_id) {
                if let Some(f) = a.framer.as_mut() {
                    f.expect_clock_jump(jump);
                }
            }
        }
    }

    fn dispatch(&mut self, i: usize, payload: Bytes, pts: Option<i64>, dts: Option<i64>) {
        let events = &mut self.events;
        let s = &mut self.streams[i];
        let Some(framer) = s.framer.as_mut() else {
            events.push_back(Event::Data(PesData {
                stream_id: s.stream_id,
                stream_type: s.stream_type,
                pts,
                dts,
                data: payload,
            }));
            return;
        };
        let mut emit = |o| events.push_back(map_output(o));
        match s.splitter.as_mut() {
            Some(sp) => {
                sp.push(&payload, pts, dts);
                loop {
                    match sp.next_au() {
                        Ok(Some(au)) => framer.push_canonical_au(
                            au.data,
                            au.pts,
                            au.dts,
                            au.keyframe,
                            au.incomplete,
                            &mut emit,
                        ),
                        Ok(None) => break,
                        Err(source) => {
                            let stream_id = s.stream_id;
                            events.push_back(Event::Corrupt(Error::Es { stream_id, source }));
                            break;
                        }
                    }
                }
            }
            None => framer.push_pes(payload, pts, dts, false, false, &mut emit),
        }
    }

    /// How many audio PTS values were replaced as bogus, per stream id.
    pub fn bogus_pts_fixed(&self, stream_id: u8) -> u64 {
        self.stream_index(stream_id)
            .and_then(|i| self.streams[i].framer.as_ref())
            .map_or(0, EsFramer::bogus_pts_fixed)
    }
}

fn map_output(o: EsOutput) -> Event {
    match o {
        EsOutput::Updated(t) => Event::TrackUpdated(t),
        EsOutput::Frame(f) => Event::Frame(f),
        _ => Event::Corrupt(Error::Psm {
            what: "unexpected framer output",
        }),
    }
}

/// The codec for a PSM stream_type (GB/T 28181 Annex registrations included).
fn codec_of_type(t: u8) -> Option<(Codec, EsFraming)> {
    Some(match t {
        stream_type::H264 => (Codec::H264, EsFraming::AnnexB),
        stream_type::H265 => (Codec::H265, EsFraming::AnnexB),
        stream_type::AAC_ADTS => (Codec::Aac, EsFraming::Adts),
        stream_type::MPEG1_AUDIO | stream_type::MPEG2_AUDIO => {
            (Codec::MpegAudio, EsFraming::MpegAudio)
        }
        stream_type::G711A => (Codec::G711A, EsFraming::Raw),
        stream_type::G711U => (Codec::G711U, EsFraming::Raw),
        _ => return None,
    })
}

/// Finds the next `00 00 01 xx` with `xx` ≥ 0xB9 (pack, system header or PES start) at or
/// after `from`. H.264/H.265 NAL headers are below 0x80, so ES start codes never match.
/// Smallest block the input is copied into (see [`PsDemuxer::append`]).
const BLOCK: usize = 16 << 10;

fn find_system_start(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let p = nal::find_start_code(buf, at)?;
        match buf.get(p + 3) {
            Some(&id) if id >= 0xB9 => return Some(p),
            Some(_) => at = p + 1,
            None => return None,
        }
    }
}

/// A start code inside a PES packet that shows the packet swallowed following data: for
/// video any system start code, for audio a pack header with valid marker bits.
fn find_embedded_start(pkt: &[u8], video: bool) -> Option<usize> {
    let mut at = 9;
    while let Some(p) = find_system_start(pkt, at) {
        if video {
            return Some(p);
        }
        if let Some(h) = pkt.get(p..p + 14) {
            let markers = h[3] == 0xBA
                && h[4] >> 6 == 1
                && h[4] & 4 != 0
                && h[6] & 4 != 0
                && h[8] & 4 != 0
                && h[9] & 1 != 0
                && h[12] & 3 == 3;
            if markers {
                return Some(p);
            }
        }
        at = p + 1;
    }
    None
}

fn extend(
    ext: &mut WrapExtender,
    pts: Option<u64>,
    dts: Option<u64>,
) -> (Option<i64>, Option<i64>) {
    let Some(d_raw) = dts.or(pts) else {
        return (None, None);
    };
    let d = ext.extend(d_raw);
    let p = pts.map(|p| {
        let mut delta = (p.wrapping_sub(d_raw) & TIMESTAMP_MASK) as i64;
        if delta > (1 << 32) {
            delta -= 1 << 33;
        }
        d.saturating_add(delta)
    });
    (p.or(Some(d)), Some(d))
}
