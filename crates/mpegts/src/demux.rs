//! The transport stream demuxer.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
use tracing::{debug, trace};
use weir_media::{AudioParams, Codec, Frame, TrackId, TrackInfo, WrapExtender};

use crate::es::{EsFramer, EsFraming, EsOptions, EsOutput};
use crate::packet::{parse_packet, NULL_PID, PACKET_SIZE, PAT_PID, SDT_PID, SYNC_BYTE};
use crate::pes::{parse_pes_header, PesHeader, TIMESTAMP_MASK};
use crate::psi::{parse_section, Pat, Pmt, PmtStream, SectionAssembler, TABLE_PAT, TABLE_PMT};
use crate::{infer_codec, stream_type, Error};

/// Demuxer limits and options.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DemuxConfig {
    /// Largest PES packet reassembled (bytes); larger ones are dropped with
    /// [`Error::PesTooLarge`].
    pub max_pes_size: usize,
    /// Most elementary streams tracked at once.
    pub max_streams: usize,
    /// Report every PCR as [`Event::Pcr`] (for pacing a TS re-sent over UDP/SRT).
    pub report_pcr: bool,
    /// Elementary-stream framing options.
    pub es: EsOptions,
}

impl Default for DemuxConfig {
    fn default() -> DemuxConfig {
        DemuxConfig {
            max_pes_size: 16 << 20,
            max_streams: 64,
            report_pcr: false,
            es: EsOptions::default(),
        }
    }
}

/// A PES payload of a stream weir does not frame (private data, unknown stream types).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PesData {
    /// The PID.
    pub pid: u16,
    /// stream_type from the PMT.
    pub stream_type: u8,
    /// stream_id from the PES header.
    pub stream_id: u8,
    /// PTS in 90 kHz ticks, extended past the 33-bit wrap.
    pub pts: Option<i64>,
    /// DTS, likewise.
    pub dts: Option<i64>,
    /// The PES payload.
    pub data: Bytes,
}

/// What the demuxer reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A program map table (new or changed version).
    Program(Pmt),
    /// A new elementary stream weir can frame. Its id is the PID; frames use a 90 kHz clock.
    /// `config` is filled in later by [`Event::TrackUpdated`] once in-band parameters arrive.
    TrackAdded(TrackInfo),
    /// A track's configuration or parameters were learned or changed. Sent before the first
    /// frame that depends on them.
    TrackUpdated(TrackInfo),
    /// A stream left the PMT.
    TrackRemoved(TrackId),
    /// One access unit in canonical layout.
    Frame(Frame),
    /// One PES payload of a stream passed through unframed.
    Data(PesData),
    /// A continuity-counter gap: packets on `pid` were lost. The frame being assembled is
    /// delivered with `incomplete` set.
    Loss {
        /// The PID.
        pid: u16,
        /// The counter value expected.
        expected: u8,
        /// The counter value found.
        found: u8,
    },
    /// The adaptation field signalled a discontinuity (counter and/or time base).
    Discontinuity {
        /// The PID.
        pid: u16,
    },
    /// Damaged data was dropped (CRC failure, malformed header, transport error, limit).
    Corrupt {
        /// The PID, when known.
        pid: Option<u16>,
        /// What was wrong.
        error: Error,
    },
    /// A program clock reference (only with [`DemuxConfig::report_pcr`]).
    Pcr {
        /// The PID carrying it.
        pid: u16,
        /// 27 MHz ticks (33-bit base × 300 + extension), as on the wire.
        pcr: u64,
    },
    /// Packet sync was lost at `offset` (garbage or a cut); the demuxer searches for it.
    SyncLost {
        /// Stream offset where the expected sync byte was missing.
        offset: u64,
    },
    /// Packet sync was (re)acquired.
    Synced {
        /// Stream offset of the first packet.
        offset: u64,
        /// Bytes skipped before it.
        skipped: u64,
        /// Packet stride: 188, 192 (M2TS timecode prefix) or 204 (Reed-Solomon suffix).
        packet_size: usize,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Slot {
    None,
    Pat,
    Pmt(u16),
    Stream(u16),
}

#[derive(Debug)]
struct PmtState {
    pid: u16,
    asm: SectionAssembler,
    version: Option<u8>,
    program: u16,
}

#[derive(Debug)]
struct StreamState {
    pid: u16,
    program: u16,
    stream_type: u8,
    framer: Option<EsFramer>,
    buf: BytesMut,
    active: bool,
    header: Option<PesHeader>,
    incomplete: bool,
    random_access: bool,
    /// PES packets left in which to try inferring the codec of an unknown stream.
    probes_left: u8,
}

/// Sans-IO MPEG-TS demuxer: push bytes in any pieces, poll [`Event`]s.
///
/// ```
/// use weir_mpegts::{Event, TsDemuxer};
/// let mut d = TsDemuxer::new();
/// d.push(&[0x47, 0x1F, 0xFF, 0x10]); // part of a null packet: nothing yet
/// assert!(d.poll_event().is_none());
/// ```
#[derive(Debug)]
pub struct TsDemuxer {
    cfg: DemuxConfig,
    partial: BytesMut,
    packet_size: Option<usize>,
    /// Stream offset of the first byte not yet consumed.
    offset: u64,
    lost_at: Option<u64>,
    /// Bytes to drop from the next input (stride bytes beyond the last packet).
    skip: usize,
    slots: Vec<Slot>,
    cc: Vec<u8>,
    pat: SectionAssembler,
    pat_version: Option<u8>,
    pmts: Vec<PmtState>,
    streams: Vec<StreamState>,
    /// One extender for all streams so audio and video stay aligned across the wrap.
    ext: WrapExtender,
    events: VecDeque<Event>,
}

impl Default for TsDemuxer {
    fn default() -> TsDemuxer {
        TsDemuxer::new()
    }
}

const NO_CC: u8 = 0xFF;
const SIZES: [usize; 3] = [188, 192, 204];

impl TsDemuxer {
    /// A demuxer with default limits.
    pub fn new() -> TsDemuxer {
        TsDemuxer::with_config(DemuxConfig::default())
    }

    /// A demuxer with the given limits.
    pub fn with_config(cfg: DemuxConfig) -> TsDemuxer {
        let mut slots = vec![Slot::None; 8192];
        slots[usize::from(PAT_PID)] = Slot::Pat;
        TsDemuxer {
            cfg,
            partial: BytesMut::new(),
            packet_size: None,
            offset: 0,
            lost_at: Some(0),
            skip: 0,
            slots,
            cc: vec![NO_CC; 8192],
            pat: SectionAssembler::new(),
            pat_version: None,
            pmts: Vec::new(),
            streams: Vec::new(),
            ext: WrapExtender::new(33),
            events: VecDeque::new(),
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The packet stride in use once synchronised.
    pub fn packet_size(&self) -> Option<usize> {
        self.packet_size
    }

    /// Feeds stream bytes, in pieces of any size.
    pub fn push(&mut self, mut data: &[u8]) {
        self.apply_skip(&mut data);
        if !self.partial.is_empty() {
            let want = match self.packet_size {
                Some(_) => PACKET_SIZE.saturating_sub(self.partial.len()),
                None => data.len(),
            };
            let n = want.min(data.len());
            self.partial.extend_from_slice(&data[..n]);
            data = &data[n..];
            self.run_partial();
            self.apply_skip(&mut data);
            if !self.partial.is_empty() {
                if data.is_empty() {
                    return;
                }
                self.partial.extend_from_slice(data);
                self.run_partial();
                return;
            }
        }
        let used = self.process(data);
        if let Some(rest) = data.get(used..) {
            self.partial.extend_from_slice(rest);
        }
    }

    fn apply_skip(&mut self, data: &mut &[u8]) {
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            self.offset += n as u64;
            *data = &data[n..];
        }
    }

    fn run_partial(&mut self) {
        let buf = std::mem::take(&mut self.partial);
        let used = self.process(&buf);
        self.partial = buf;
        self.partial.advance(used.min(self.partial.len()));
    }

    /// Ends the stream: delivers PES packets still open (their end is only known from the
    /// next packet start).
    pub fn flush(&mut self) {
        for i in 0..self.streams.len() {
            self.finish_pes(i);
            let events = &mut self.events;
            if let Some(f) = self.streams[i].framer.as_mut() {
                f.flush(&mut |o| events.push_back(map_output(o)));
            }
        }
    }

    /// Processes whole packets of `buf`; returns the bytes consumed.
    fn process(&mut self, buf: &[u8]) -> usize {
        // `self.offset` is the stream offset of `buf[0]` until we return.
        let base = self.offset;
        let used = self.process_inner(buf, base);
        self.offset = base + used as u64;
        used
    }

    fn process_inner(&mut self, buf: &[u8], base: u64) -> usize {
        let mut pos: usize = 0;
        loop {
            match self.packet_size {
                Some(stride) => {
                    if pos + PACKET_SIZE > buf.len() {
                        return pos;
                    }
                    if buf[pos] != SYNC_BYTE {
                        let at = base + pos as u64;
                        debug!(offset = at, "TS sync lost");
                        self.events.push_back(Event::SyncLost { offset: at });
                        self.packet_size = None;
                        self.lost_at = Some(at);
                        continue;
                    }
                    self.packet(&buf[pos..pos + PACKET_SIZE]);
                    pos += stride;
                    if pos > buf.len() {
                        // The packet's trailer (or the next one's M2TS prefix) has not
                        // arrived yet: drop it from the next input.
                        self.skip = pos - buf.len();
                        return buf.len();
                    }
                }
                None => match find_sync(buf, pos) {
                    Sync::Found(p, size) => {
                        let at = base + p as u64;
                        let skipped = at.saturating_sub(self.lost_at.unwrap_or(at));
                        self.events.push_back(Event::Synced {
                            offset: at,
                            skipped,
                            packet_size: size,
                        });
                        self.lost_at = None;
                        self.packet_size = Some(size);
                        pos = p;
                    }
                    Sync::NeedMore(keep_from) => return keep_from,
                },
            }
        }
    }

    fn corrupt(&mut self, pid: Option<u16>, error: Error) {
        trace!(?pid, %error, "TS corrupt");
        self.events.push_back(Event::Corrupt { pid, error });
    }

    fn packet(&mut self, pkt: &[u8]) {
        let pid = (u16::from(pkt[1] & 0x1F) << 8) | u16::from(pkt[2]);
        let slot = self.slots[usize::from(pid)];
        if slot == Slot::None || pid == NULL_PID {
            return;
        }
        let p = match parse_packet(pkt) {
            Ok(p) => p,
            Err(e) => return self.corrupt(Some(pid), e),
        };
        let h = p.header;
        if h.transport_error {
            return self.corrupt(Some(pid), Error::TransportError { pid });
        }
        if self.cfg.report_pcr {
            if let Some(pcr) = p.adaptation.and_then(|a| a.pcr) {
                self.events.push_back(Event::Pcr { pid, pcr });
            }
        }
        let disc = p.adaptation.is_some_and(|a| a.discontinuity);
        if disc {
            self.events.push_back(Event::Discontinuity { pid });
        }
        let mut lost = false;
        if h.has_payload {
            let last = self.cc[usize::from(pid)];
            if last != NO_CC && !disc {
                let expected = (last + 1) & 0x0F;
                if h.continuity_counter == last {
                    // §2.4.3.3: a packet may be sent twice; the copy is discarded.
                    return;
                }
                if h.continuity_counter != expected {
                    lost = true;
                    self.events.push_back(Event::Loss {
                        pid,
                        expected,
                        found: h.continuity_counter,
                    });
                }
            }
            self.cc[usize::from(pid)] = h.continuity_counter;
        }
        if h.scrambling != 0 || p.payload.is_empty() {
            return;
        }
        match slot {
            Slot::None => {}
            Slot::Pat => {
                if lost {
                    self.pat.reset();
                }
                let mut sections = Vec::new();
                self.pat.push(h.payload_unit_start, p.payload, |s| {
                    sections.push(s.to_vec())
                });
                for s in sections {
                    self.on_pat(&s);
                }
            }
            Slot::Pmt(i) => {
                let Some(st) = self.pmts.get_mut(usize::from(i)) else {
                    return;
                };
                if lost {
                    st.asm.reset();
                }
                let mut sections = Vec::new();
                st.asm.push(h.payload_unit_start, p.payload, |s| {
                    sections.push(s.to_vec())
                });
                for s in sections {
                    self.on_pmt(usize::from(i), &s);
                }
            }
            Slot::Stream(i) => {
                let ra = p.adaptation.is_some_and(|a| a.random_access);
                self.on_pes_packet(usize::from(i), h.payload_unit_start, ra, lost, p.payload);
            }
        }
    }

    fn on_pat(&mut self, raw: &[u8]) {
        let pat = match parse_section(raw).and_then(|(s, _)| {
            if s.table_id != TABLE_PAT {
                return Ok(None);
            }
            if !s.current {
                return Ok(None);
            }
            Pat::from_section(&s).map(|p| Some((s.version, p)))
        }) {
            Ok(Some(p)) => p,
            Ok(None) => return,
            Err(e) => return self.corrupt(Some(PAT_PID), e),
        };
        let (version, pat) = pat;
        if self.pat_version == Some(version) {
            return;
        }
        self.pat_version = Some(version);
        for e in pat.programs.iter().filter(|e| e.program_number != 0) {
            let pid = usize::from(e.pid);
            if e.pid == PAT_PID || e.pid == NULL_PID || e.pid == SDT_PID {
                continue;
            }
            match self.slots[pid] {
                Slot::Pmt(_) => {}
                Slot::None => {
                    if self.pmts.len() >= self.cfg.max_streams {
                        return self.corrupt(
                            Some(PAT_PID),
                            Error::TooManyStreams {
                                limit: self.cfg.max_streams,
                            },
                        );
                    }
                    self.slots[pid] = Slot::Pmt(self.pmts.len() as u16);
                    self.pmts.push(PmtState {
                        pid: e.pid,
                        asm: SectionAssembler::new(),
                        version: None,
                        program: e.program_number,
                    });
                }
                _ => {}
            }
        }
    }

    fn on_pmt(&mut self, idx: usize, raw: &[u8]) {
        let Some(pmt_pid) = self.pmts.get(idx).map(|p| p.pid) else {
            return;
        };
        let parsed = match parse_section(raw) {
            Ok((s, _)) if s.table_id == TABLE_PMT && s.current => {
                Pmt::from_section(&s).map(|p| Some((s.version, p)))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(e),
        };
        let (version, pmt) = match parsed {
            Ok(Some(v)) => v,
            Ok(None) => return,
            Err(e) => return self.corrupt(Some(pmt_pid), e),
        };
        let st = &mut self.pmts[idx];
        if st.version == Some(version) || pmt.program_number != st.program {
            return;
        }
        st.version = Some(version);
        let program = st.program;
        debug!(pid = pmt_pid, version, streams = pmt.streams.len(), "PMT");
        // Streams of this program that left the table.
        let keep: Vec<u16> = pmt.streams.iter().map(|s| s.pid).collect();
        for (i, s) in self.streams.iter_mut().enumerate() {
            let slot = &mut self.slots[usize::from(s.pid)];
            if *slot == Slot::Stream(i as u16) && s.program == program && !keep.contains(&s.pid) {
                *slot = Slot::None;
                if s.framer.is_some() {
                    self.events
                        .push_back(Event::TrackRemoved(TrackId(u32::from(s.pid))));
                }
                s.active = false;
                s.buf.clear();
            }
        }
        for es in &pmt.streams {
            self.add_stream(es, program);
        }
        self.events.push_back(Event::Program(pmt));
    }

    fn add_stream(&mut self, es: &PmtStream, program: u16) {
        let pid = usize::from(es.pid);
        if es.pid == PAT_PID || es.pid == NULL_PID {
            return;
        }
        let existing = match self.slots[pid] {
            Slot::Stream(i) => Some(usize::from(i)),
            Slot::None => None,
            _ => return,
        };
        if let Some(i) = existing {
            if self.streams[i].stream_type == es.stream_type {
                // Same stream; descriptors may have changed what we know about it.
                let (_, _, audio) = classify_stream(es);
                if let (Some(f), Some(a)) = (self.streams[i].framer.as_mut(), audio) {
                    if f.info().audio != Some(a) {
                        f.set_audio(a);
                        self.events.push_back(Event::TrackUpdated(f.info().clone()));
                    }
                }
                return;
            }
        }
        let (codec, framing, audio) = classify_stream(es);
        let framer = codec.map(|c| {
            let mut info = TrackInfo::new(TrackId(u32::from(es.pid)), c, 90_000);
            if let Some(a) = audio {
                info = info.with_audio(a);
            }
            EsFramer::new(info, framing, self.cfg.es.clone())
        });
        if let Some(f) = &framer {
            self.events.push_back(Event::TrackAdded(f.info().clone()));
        }
        let framer_is_none = framer.is_none();
        let state = StreamState {
            pid: es.pid,
            program,
            stream_type: es.stream_type,
            framer,
            buf: BytesMut::new(),
            active: false,
            header: None,
            incomplete: false,
            random_access: false,
            probes_left: if framer_is_none { 8 } else { 0 },
        };
        match existing {
            Some(i) => self.streams[i] = state,
            None => {
                // Reuse the entry of a removed stream before growing.
                let slots = &self.slots;
                let free = self
                    .streams
                    .iter()
                    .enumerate()
                    .position(|(i, s)| slots[usize::from(s.pid)] != Slot::Stream(i as u16));
                let i = match free {
                    Some(i) => {
                        self.streams[i] = state;
                        i
                    }
                    None => {
                        if self.streams.len() >= self.cfg.max_streams {
                            return self.corrupt(
                                Some(es.pid),
                                Error::TooManyStreams {
                                    limit: self.cfg.max_streams,
                                },
                            );
                        }
                        self.streams.push(state);
                        self.streams.len() - 1
                    }
                };
                self.slots[pid] = Slot::Stream(i as u16);
                self.cc[pid] = NO_CC;
            }
        }
    }

    fn on_pes_packet(&mut self, i: usize, start: bool, ra: bool, lost: bool, payload: &[u8]) {
        let max = self.cfg.max_pes_size;
        {
            let Some(st) = self.streams.get_mut(i) else {
                return;
            };
            if lost && st.active {
                st.incomplete = true;
                if let Some(f) = st.framer.as_mut() {
                    f.reset();
                }
            }
        }
        if start {
            self.finish_pes(i);
            let st = &mut self.streams[i];
            st.buf.clear();
            st.header = None;
            st.active = true;
            st.incomplete = false;
            st.random_access = ra;
        }
        let st = &mut self.streams[i];
        if !st.active {
            return;
        }
        if st.buf.len().saturating_add(payload.len()) > max {
            st.active = false;
            st.buf.clear();
            let pid = st.pid;
            return self.corrupt(Some(pid), Error::PesTooLarge { pid, limit: max });
        }
        st.buf.extend_from_slice(payload);
        if st.header.is_none() {
            let ready = match st.buf.get(..9) {
                Some(b) if b[..3] == [0, 0, 1] => {
                    !crate::pes::has_optional_header(b[3]) || st.buf.len() >= 9 + usize::from(b[8])
                }
                Some(_) => true, // bad start code: let the parser say so
                None => false,
            };
            if ready {
                match parse_pes_header(&st.buf) {
                    Ok(h) => {
                        st.header = Some(h);
                        if let Some(t) = h.total_len() {
                            st.buf.reserve(t.saturating_sub(st.buf.len()));
                        }
                    }
                    Err(e) => {
                        st.active = false;
                        st.buf.clear();
                        let pid = st.pid;
                        return self.corrupt(Some(pid), e);
                    }
                }
            }
        }
        if let Some(t) = st.header.and_then(|h| h.total_len()) {
            if st.buf.len() >= t {
                self.finish_pes(i);
            }
        }
    }

    fn finish_pes(&mut self, i: usize) {
        let Some(st) = self.streams.get_mut(i) else {
            return;
        };
        if !st.active {
            return;
        }
        st.active = false;
        let header = match st.header {
            Some(h) => h,
            None => match parse_pes_header(&st.buf) {
                Ok(h) => h,
                Err(e) => {
                    st.buf.clear();
                    let pid = st.pid;
                    return self.corrupt(Some(pid), e);
                }
            },
        };
        let mut incomplete = st.incomplete;
        let have = st.buf.len();
        let total = match header.total_len() {
            Some(t) if t > have => {
                incomplete = true;
                have
            }
            Some(t) => t,
            None => have,
        };
        let bytes = st.buf.split_to(total).freeze();
        st.buf.clear();
        let payload = bytes.slice(header.header_len.min(bytes.len())..);
        let (pts, dts) = extend_times(&mut self.ext, header.pts, header.dts);
        let events = &mut self.events;
        if st.framer.is_none() && st.probes_left > 0 && (0xC0..=0xEF).contains(&header.stream_id) {
            // Quirk: an MPEG audio/video stream_id under a private or unknown stream_type
            // (ffmpeg's M2TS mode writes AAC as stream_type 0x06 with no descriptor): infer
            // the codec from the elementary stream, as players do.
            st.probes_left -= 1;
            if let Some((codec, framing)) = infer_codec(header.stream_id >= 0xE0, &payload) {
                debug!(pid = st.pid, stream_type = st.stream_type, %codec, "codec inferred from the ES");
                let info = TrackInfo::new(TrackId(u32::from(st.pid)), codec, 90_000);
                events.push_back(Event::TrackAdded(info.clone()));
                st.framer = Some(EsFramer::new(info, framing, self.cfg.es.clone()));
            }
        }
        match st.framer.as_mut() {
            Some(f) => f.push_pes(payload, pts, dts, st.random_access, incomplete, &mut |o| {
                events.push_back(map_output(o))
            }),
            None => events.push_back(Event::Data(PesData {
                pid: st.pid,
                stream_type: st.stream_type,
                stream_id: header.stream_id,
                pts,
                dts,
                data: payload,
            })),
        }
    }
}

/// Extends 33-bit PTS/DTS: DTS through the wrap extender, PTS as DTS plus the signed
/// 33-bit difference.
pub(crate) fn extend_times(
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

fn map_output(o: EsOutput) -> Event {
    match o {
        EsOutput::Updated(t) => Event::TrackUpdated(t),
        EsOutput::Frame(f) => Event::Frame(f),
    }
}

fn classify_stream(es: &PmtStream) -> (Option<Codec>, EsFraming, Option<AudioParams>) {
    use stream_type as st;
    let codec = match es.stream_type {
        st::H264 => Some((Codec::H264, EsFraming::AnnexB)),
        st::H265 => Some((Codec::H265, EsFraming::AnnexB)),
        st::AAC_ADTS => Some((Codec::Aac, EsFraming::Adts)),
        st::AAC_LATM => Some((Codec::Aac, EsFraming::Latm)),
        st::MPEG1_AUDIO | st::MPEG2_AUDIO => Some((Codec::MpegAudio, EsFraming::MpegAudio)),
        st::G711A => Some((Codec::G711A, EsFraming::Raw)),
        st::G711U => Some((Codec::G711U, EsFraming::Raw)),
        st::PRIVATE_PES => {
            let opus = es
                .descriptors()
                .any(|(tag, body)| tag == 0x05 && body.get(..4) == Some(b"Opus"));
            opus.then_some((Codec::Opus, EsFraming::OpusTs))
        }
        _ => None,
    };
    let Some((codec, framing)) = codec else {
        return (None, EsFraming::Raw, None);
    };
    let audio = if codec == Codec::Opus {
        // Extension descriptor (0x7F) with tag 0x80: channel_config_code.
        es.descriptors()
            .find(|(tag, body)| *tag == 0x7F && body.first() == Some(&0x80))
            .and_then(|(_, b)| b.get(1).copied())
            .map(|code| AudioParams {
                sample_rate: 48_000,
                channels: if code <= 8 { code.max(1) } else { 2 },
            })
    } else {
        None
    };
    (Some(codec), framing, audio)
}

enum Sync {
    /// Sync at this position with this stride.
    Found(usize, usize),
    /// Not found: drop bytes before this position and wait for more.
    NeedMore(usize),
}

/// Looks for three sync bytes one stride apart.
fn find_sync(buf: &[u8], from: usize) -> Sync {
    let mut p = from;
    while let Some(off) = buf.get(p..).and_then(memchr_sync) {
        p += off;
        let mut need_more = false;
        for size in SIZES {
            match (buf.get(p + size), buf.get(p + 2 * size)) {
                (Some(&SYNC_BYTE), Some(&SYNC_BYTE)) => return Sync::Found(p, size),
                (Some(&SYNC_BYTE), None) | (None, _) => need_more = true,
                _ => {}
            }
        }
        if need_more {
            return Sync::NeedMore(p);
        }
        p += 1;
    }
    Sync::NeedMore(buf.len().max(from))
}

fn memchr_sync(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == SYNC_BYTE)
}
