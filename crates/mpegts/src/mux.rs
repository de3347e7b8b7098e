//! The transport stream muxer.

use bytes::{BufMut, Bytes, BytesMut};
use weir_media::{Codec, Frame, MediaKind, Timebase, TrackId, TrackInfo};

use crate::audio::put_opus_control;
use crate::packet::{encode_pcr, PacketHeader, PACKET_SIZE, PAT_PID};
use crate::pes::{write_pes_header, TIMESTAMP_MASK};
use crate::psi::{Pat, PatEntry, Pmt, PmtStream};
use crate::{stream_type, Error};

/// Muxer settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MuxConfig {
    /// transport_stream_id written in the PAT.
    pub transport_stream_id: u16,
    /// program_number of the single program.
    pub program_number: u16,
    /// PID of the PMT.
    pub pmt_pid: u16,
    /// PID of the first elementary stream; later tracks take the following PIDs.
    pub first_pid: u16,
    /// PAT and PMT are repeated when this many 90 kHz ticks have passed since the last
    /// copy (default 100 ms), and before every keyframe when `tables_on_keyframe` is set.
    pub table_interval: i64,
    /// Repeat PAT/PMT before each video keyframe (so a receiver joining there can start).
    pub tables_on_keyframe: bool,
    /// Longest gap between PCRs in 90 kHz ticks (default 40 ms = 3600). Every video frame
    /// carries one; PCR-only packets fill longer gaps.
    pub pcr_interval: i64,
    /// How far the PCR runs behind the DTS, in 90 kHz ticks (default 0).
    pub pcr_lead: i64,
    /// Insert an access unit delimiter into H.264/H.265 frames that lack one (HLS players
    /// and hardware decoders expect it).
    pub insert_aud: bool,
}

impl Default for MuxConfig {
    fn default() -> MuxConfig {
        MuxConfig {
            transport_stream_id: 1,
            program_number: 1,
            pmt_pid: 0x1000,
            first_pid: 0x100,
            table_interval: 9_000,
            tables_on_keyframe: true,
            pcr_interval: 3_600,
            pcr_lead: 0,
            insert_aud: true,
        }
    }
}

#[derive(Debug)]
struct MuxTrack {
    info: TrackInfo,
    pid: u16,
    stream_id: u8,
    asc: Option<weir_aac::AudioSpecificConfig>,
    /// H.264/H.265 parameter sets from the avcC/hvcC, in Annex B form, for keyframes that
    /// do not carry them in band (FLV/RTMP and MP4 sources keep them out of band).
    params: Vec<u8>,
    cc: u8,
}

#[derive(Copy, Clone, Debug)]
enum Piece {
    Frame(usize, usize),
    Scratch(usize, usize),
    Static(&'static [u8]),
}

const START_CODE: &[u8] = &[0, 0, 0, 1];
const AUD_H264: &[u8] = &[0, 0, 0, 1, 0x09, 0xF0];
const AUD_H265: &[u8] = &[0, 0, 0, 1, 0x46, 0x01, 0x50];

/// Sans-IO MPEG-TS muxer: one program, the given tracks, packets written into a caller's
/// `BytesMut`.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
/// use weir_mpegts::TsMuxer;
/// let video = TrackInfo::new(TrackId(0), Codec::H264, 90_000);
/// let mut mux = TsMuxer::new(&[video], Default::default())?;
/// let t = Timestamp::new(0, Timebase::MPEG);
/// let idr = Bytes::from_static(&[0, 0, 0, 2, 0x65, 0x88]);
/// let mut out = BytesMut::new();
/// mux.write_frame(&Frame::new(TrackId(0), t, t, idr).with_keyframe(true), &mut out)?;
/// assert_eq!(out.len() % 188, 0);
/// assert_eq!(out.len() / 188, 3); // PAT, PMT, one video packet
/// # Ok::<(), weir_mpegts::Error>(())
/// ```
#[derive(Debug)]
pub struct TsMuxer {
    cfg: MuxConfig,
    tracks: Vec<MuxTrack>,
    pcr_track: usize,
    pat_cc: u8,
    pmt_cc: u8,
    version: u8,
    last_tables: Option<i64>,
    last_pcr: Option<i64>,
    pieces: Vec<Piece>,
    scratch: BytesMut,
    /// PAT and PMT sections, built once per version.
    sections: Option<(Bytes, Bytes)>,
}

impl TsMuxer {
    /// A muxer for `tracks` (PIDs assigned in order from `cfg.first_pid`). The PCR goes
    /// on the first video track, or the first track.
    ///
    /// # Errors
    /// [`Error::UnsupportedCodec`] for codecs TS cannot carry here (AV1, VP8/9, MJPEG),
    /// [`Error::TooManyStreams`] for no tracks or more than 64.
    pub fn new(tracks: &[TrackInfo], cfg: MuxConfig) -> Result<TsMuxer, Error> {
        if tracks.is_empty() || tracks.len() > 64 {
            return Err(Error::TooManyStreams { limit: 64 });
        }
        let mut out = Vec::with_capacity(tracks.len());
        let (mut video_id, mut audio_id) = (0xE0u8, 0xC0u8);
        for (i, t) in tracks.iter().enumerate() {
            stream_type_of(t)?;
            let stream_id = match t.codec {
                Codec::Opus => 0xBD,
                _ if t.codec.kind() == MediaKind::Video => {
                    video_id = video_id.saturating_add(1);
                    video_id - 1
                }
                _ => {
                    audio_id = audio_id.saturating_add(1);
                    audio_id - 1
                }
            };
            out.push(MuxTrack {
                info: t.clone(),
                pid: cfg.first_pid.saturating_add(i as u16) & 0x1FFF,
                stream_id,
                asc: parse_asc(t),
                params: parameter_sets(t),
                cc: 0,
            });
        }
        let pcr_track = out
            .iter()
            .position(|t| t.info.codec.kind() == MediaKind::Video)
            .unwrap_or(0);
        Ok(TsMuxer {
            cfg,
            tracks: out,
            pcr_track,
            pat_cc: 0,
            pmt_cc: 0,
            version: 0,
            last_tables: None,
            last_pcr: None,
            pieces: Vec::with_capacity(64),
            scratch: BytesMut::with_capacity(64),
            sections: None,
        })
    }

    /// The PID a track is carried on.
    pub fn pid_of(&self, track: TrackId) -> Option<u16> {
        self.tracks
            .iter()
            .find(|t| t.info.id == track)
            .map(|t| t.pid)
    }

    /// Replaces a track's description (for example an AAC AudioSpecificConfig learned
    /// late). When the PMT changes (stream type, descriptors) its version is bumped and the
    /// tables are repeated before the next frame.
    ///
    /// # Errors
    /// [`Error::UnknownTrack`], [`Error::UnsupportedCodec`].
    pub fn update_track(&mut self, info: TrackInfo) -> Result<(), Error> {
        stream_type_of(&info)?;
        let before = self.pmt();
        let t = self
            .tracks
            .iter_mut()
            .find(|t| t.info.id == info.id)
            .ok_or(Error::UnknownTrack { track: info.id })?;
        t.asc = parse_asc(&info);
        t.params = parameter_sets(&info);
        t.info = info;
        if self.pmt() != before {
            self.version = (self.version + 1) & 0x1F;
            self.last_tables = None;
            self.sections = None;
        }
        Ok(())
    }

    /// The PMT this muxer writes.
    pub fn pmt(&self) -> Pmt {
        Pmt {
            program_number: self.cfg.program_number,
            pcr_pid: self.tracks.get(self.pcr_track).map_or(0x1FFF, |t| t.pid),
            program_info: Bytes::new(),
            streams: self
                .tracks
                .iter()
                .map(|t| PmtStream {
                    stream_type: stream_type_of(&t.info).unwrap_or(stream_type::PRIVATE_PES),
                    pid: t.pid,
                    descriptors: descriptors_of(&t.info),
                })
                .collect(),
        }
    }

    /// Writes PAT and PMT now (one packet each).
    pub fn write_tables(&mut self, out: &mut BytesMut) {
        if self.sections.is_none() {
            let mut pat = BytesMut::new();
            Pat {
                transport_stream_id: self.cfg.transport_stream_id,
                programs: vec![PatEntry {
                    program_number: self.cfg.program_number,
                    pid: self.cfg.pmt_pid,
                }],
            }
            .write_section(self.version, &mut pat);
            let mut pmt = BytesMut::new();
            self.pmt().write_section(self.version, &mut pmt);
            self.sections = Some((pat.freeze(), pmt.freeze()));
        }
        if let Some((pat, pmt)) = &self.sections {
            self.pat_cc = write_section_packets(out, PAT_PID, self.pat_cc, pat);
            self.pmt_cc = write_section_packets(out, self.cfg.pmt_pid, self.pmt_cc, pmt);
        }
    }

    /// Forces PAT/PMT before the next frame (the segmenter calls this at segment starts).
    pub fn request_tables(&mut self) {
        self.last_tables = None;
    }

    /// Muxes one frame into `out` (a whole number of 188-byte packets, preceded by PAT/PMT
    /// and/or a PCR packet when due).
    ///
    /// # Errors
    /// [`Error::UnknownTrack`]; [`Error::InvalidFrame`] when an H.264/H.265 payload is not
    /// length-prefixed NAL units, or an AAC frame cannot get an ADTS header (no usable
    /// AudioSpecificConfig, over 8184 bytes).
    pub fn write_frame(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), Error> {
        let idx = self
            .tracks
            .iter()
            .position(|t| t.info.id == frame.track)
            .ok_or(Error::UnknownTrack { track: frame.track })?;
        let dts = frame.dts.rescale(Timebase::MPEG).ticks();
        let pts = frame.pts.rescale(Timebase::MPEG).ticks();
        let is_video = self.tracks[idx].info.codec.kind() == MediaKind::Video;

        // Build the PES payload as pieces before writing anything, so errors leave `out` alone.
        self.pieces.clear();
        self.scratch.clear();
        let es_len = self.build_pieces(idx, frame)?;

        let tables_due = match self.last_tables {
            None => true,
            Some(t) => {
                dts.wrapping_sub(t) >= self.cfg.table_interval
                    || dts < t
                    || (self.cfg.tables_on_keyframe && is_video && frame.keyframe)
            }
        };
        if tables_due {
            self.write_tables(out);
            self.last_tables = Some(dts);
        }
        let pcr_due = match self.last_pcr {
            None => true,
            Some(t) => dts.wrapping_sub(t) >= self.cfg.pcr_interval || dts < t,
        };
        let pcr = dts.wrapping_sub(self.cfg.pcr_lead);
        let mut pcr_in_frame = None;
        if idx == self.pcr_track {
            if is_video || pcr_due {
                pcr_in_frame = Some(pcr);
                self.last_pcr = Some(dts);
            }
        } else if pcr_due {
            let t = &self.tracks[self.pcr_track];
            write_pcr_only(out, t.pid, t.cc, pcr);
            self.last_pcr = Some(dts);
        }

        // PES header into scratch, in front of the pieces.
        let t = &self.tracks[idx];
        let hstart = self.scratch.len();
        let pts_opt = Some(pts as u64 & TIMESTAMP_MASK);
        let dts_opt = (is_video && pts != dts).then_some(dts as u64 & TIMESTAMP_MASK);
        let hlen = write_pes_header(&mut self.scratch, t.stream_id, pts_opt, dts_opt, es_len);
        let head = [Piece::Scratch(hstart, hstart + hlen)];
        let total = hlen + es_len;

        let pid = t.pid;
        let mut cc = t.cc;
        let packets = total / 170 + 2;
        out.reserve(packets * PACKET_SIZE);
        let mut cursor = Cursor::default();
        let mut remaining = total;
        let mut first = true;
        let (pieces, scratch) = (&self.pieces, &self.scratch);
        let chain = ChainRef {
            head: &head,
            rest: pieces,
            scratch,
            frame: &frame.data,
        };
        while remaining > 0 {
            let pcr_here = if first { pcr_in_frame } else { None };
            let ra = first && frame.keyframe;
            // Adaptation field content before stuffing: flags (+ PCR).
            let mut af_needed = if pcr_here.is_some() || ra {
                2 + if pcr_here.is_some() { 6 } else { 0 }
            } else {
                0
            };
            let mut room = 184 - af_needed;
            if remaining < room {
                // Stuff the adaptation field so the payload ends the packet.
                af_needed = 184 - remaining;
                room = remaining;
            }
            let header = PacketHeader {
                transport_error: false,
                payload_unit_start: first,
                priority: false,
                pid,
                scrambling: 0,
                has_adaptation_field: af_needed > 0,
                has_payload: true,
                continuity_counter: cc,
            };
            out.put_slice(&header.to_bytes());
            if af_needed > 0 {
                put_adaptation_field(out, af_needed, ra, pcr_here);
            }
            chain.copy(&mut cursor, room, out);
            remaining -= room;
            cc = (cc + 1) & 0x0F;
            first = false;
        }
        self.tracks[idx].cc = cc;
        Ok(())
    }

    /// Appends the ES pieces for `frame`; returns their total length.
    fn build_pieces(&mut self, idx: usize, frame: &Frame) -> Result<usize, Error> {
        let t = &self.tracks[idx];
        let codec = t.info.codec;
        let data = &frame.data;
        let invalid = |what| Error::InvalidFrame {
            track: frame.track,
            codec,
            what,
        };
        let mut len = 0;
        match codec {
            Codec::H264 | Codec::H265 => {
                let first_type = data.get(4).map(|&h| match codec {
                    Codec::H264 => h & 0x1F,
                    _ => (h >> 1) & 0x3F,
                });
                let has_aud = matches!(
                    (codec, first_type),
                    (Codec::H264, Some(9)) | (Codec::H265, Some(35))
                );
                if self.cfg.insert_aud && !has_aud {
                    let aud = if codec == Codec::H264 {
                        AUD_H264
                    } else {
                        AUD_H265
                    };
                    self.pieces.push(Piece::Static(aud));
                    len += aud.len();
                }
                // Keyframes without in-band parameter sets get the track's, after any AUD,
                // so every segment that starts here decodes on its own.
                let mut params_due =
                    frame.keyframe && !t.params.is_empty() && !has_parameter_sets(codec, data);
                let mut pos = 0usize;
                while pos < data.len() {
                    let pre = data
                        .get(pos..pos + 4)
                        .ok_or(invalid("truncated NAL length prefix"))?;
                    let n = u32::from_be_bytes([pre[0], pre[1], pre[2], pre[3]]) as usize;
                    let start = pos + 4;
                    let end = start
                        .checked_add(n)
                        .filter(|&e| e <= data.len())
                        .ok_or(invalid("NAL unit runs past the end"))?;
                    let is_aud = data.get(start).is_some_and(|&h| match codec {
                        Codec::H264 => h & 0x1F == 9,
                        _ => (h >> 1) & 0x3F == 35,
                    });
                    if params_due && !is_aud {
                        let s = self.scratch.len();
                        self.scratch.extend_from_slice(&t.params);
                        let e = self.scratch.len();
                        self.pieces.push(Piece::Scratch(s, e));
                        len += e - s;
                        params_due = false;
                    }
                    self.pieces.push(Piece::Static(START_CODE));
                    self.pieces.push(Piece::Frame(start, end));
                    len += 4 + n;
                    pos = end;
                }
            }
            Codec::Aac => {
                let asc = t
                    .asc
                    .as_ref()
                    .ok_or(invalid("track has no AudioSpecificConfig"))?;
                let h = weir_aac::AdtsHeader::for_payload(asc, data.len())
                    .map_err(|_| invalid("cannot build an ADTS header (config or size)"))?;
                let s = self.scratch.len();
                h.write(&mut self.scratch);
                let e = self.scratch.len();
                self.pieces.push(Piece::Scratch(s, e));
                self.pieces.push(Piece::Frame(0, data.len()));
                len += e - s + data.len();
            }
            Codec::Opus => {
                let s = self.scratch.len();
                put_opus_control(&mut self.scratch, data.len());
                let e = self.scratch.len();
                self.pieces.push(Piece::Scratch(s, e));
                self.pieces.push(Piece::Frame(0, data.len()));
                len += e - s + data.len();
            }
            _ => {
                self.pieces.push(Piece::Frame(0, data.len()));
                len += data.len();
            }
        }
        Ok(len)
    }
}

#[derive(Default)]
struct Cursor {
    piece: usize,
    offset: usize,
}

struct ChainRef<'a> {
    head: &'a [Piece; 1],
    rest: &'a [Piece],
    scratch: &'a [u8],
    frame: &'a [u8],
}

impl ChainRef<'_> {
    fn piece(&self, i: usize) -> Option<&[u8]> {
        let p = if i == 0 {
            self.head[0]
        } else {
            *self.rest.get(i - 1)?
        };
        Some(match p {
            Piece::Frame(s, e) => self.frame.get(s..e).unwrap_or(&[]),
            Piece::Scratch(s, e) => self.scratch.get(s..e).unwrap_or(&[]),
            Piece::Static(b) => b,
        })
    }

    /// Copies `n` bytes from the cursor into `out`.
    fn copy(&self, c: &mut Cursor, mut n: usize, out: &mut BytesMut) {
        while n > 0 {
            let Some(p) = self.piece(c.piece) else { return };
            let avail = p.len() - c.offset.min(p.len());
            if avail == 0 {
                c.piece += 1;
                c.offset = 0;
                continue;
            }
            let take = avail.min(n);
            out.put_slice(&p[c.offset..c.offset + take]);
            c.offset += take;
            n -= take;
        }
    }
}

/// Writes an adaptation field of `total` bytes (length byte included).
fn put_adaptation_field(out: &mut BytesMut, total: usize, ra: bool, pcr: Option<i64>) {
    out.put_u8((total - 1) as u8);
    if total == 1 {
        return;
    }
    let mut flags = 0u8;
    if ra {
        flags |= 0x40;
    }
    if pcr.is_some() {
        flags |= 0x10;
    }
    out.put_u8(flags);
    let mut used = 2;
    if let Some(p) = pcr {
        out.put_slice(&encode_pcr(((p as u64) & TIMESTAMP_MASK) * 300));
        used += 6;
    }
    out.put_bytes(0xFF, total - used);
}

fn write_pcr_only(out: &mut BytesMut, pid: u16, cc: u8, pcr: i64) {
    let header = PacketHeader {
        transport_error: false,
        payload_unit_start: false,
        priority: false,
        pid,
        scrambling: 0,
        has_adaptation_field: true,
        has_payload: false,
        // Without a payload the counter does not advance (§2.4.3.3): repeat the last value.
        continuity_counter: cc.wrapping_sub(1) & 0x0F,
    };
    out.put_slice(&header.to_bytes());
    put_adaptation_field(out, 184, false, Some(pcr));
}

/// Writes a section into packets on `pid`; returns the next continuity counter.
fn write_section_packets(out: &mut BytesMut, pid: u16, mut cc: u8, sec: &[u8]) -> u8 {
    let mut rest = sec;
    let mut first = true;
    loop {
        let header = PacketHeader {
            transport_error: false,
            payload_unit_start: first,
            priority: false,
            pid,
            scrambling: 0,
            has_adaptation_field: false,
            has_payload: true,
            continuity_counter: cc,
        };
        out.put_slice(&header.to_bytes());
        let mut room = 184;
        if first {
            out.put_u8(0); // pointer_field
            room -= 1;
        }
        let take = rest.len().min(room);
        out.put_slice(&rest[..take]);
        out.put_bytes(0xFF, room - take);
        rest = &rest[take..];
        cc = (cc + 1) & 0x0F;
        first = false;
        if rest.is_empty() {
            return cc;
        }
    }
}

fn parse_asc(t: &TrackInfo) -> Option<weir_aac::AudioSpecificConfig> {
    if t.codec != Codec::Aac {
        return None;
    }
    if !t.config.is_empty() {
        if let Ok(a) = weir_aac::AudioSpecificConfig::parse(&t.config) {
            return Some(a);
        }
    }
    let a = t.audio?;
    weir_aac::AudioSpecificConfig::lc(a.sample_rate, a.channels).ok()
}

fn stream_type_of(t: &TrackInfo) -> Result<u8, Error> {
    Ok(match t.codec {
        Codec::H264 => stream_type::H264,
        Codec::H265 => stream_type::H265,
        Codec::Aac => stream_type::AAC_ADTS,
        Codec::MpegAudio => match t.audio {
            Some(a) if a.sample_rate < 32_000 => stream_type::MPEG2_AUDIO,
            _ => stream_type::MPEG1_AUDIO,
        },
        Codec::Opus => stream_type::PRIVATE_PES,
        Codec::G711A => stream_type::G711A,
        Codec::G711U => stream_type::G711U,
        codec => return Err(Error::UnsupportedCodec { codec }),
    })
}

fn descriptors_of(t: &TrackInfo) -> Bytes {
    match t.codec {
        Codec::Opus => {
            let ch = t.audio.map_or(2, |a| a.channels.clamp(1, 8));
            Bytes::from(vec![0x05, 4, b'O', b'p', b'u', b's', 0x7F, 2, 0x80, ch])
        }
        _ => Bytes::new(),
    }
}

/// The parameter sets of an H.264/H.265 track's configuration record, each behind a 4-byte
/// start code (VPS, SPS, PPS order for H.265). Empty for other codecs or a missing/bad record.
fn parameter_sets(t: &TrackInfo) -> Vec<u8> {
    let sets: Vec<bytes::Bytes> = match t.codec {
        Codec::H264 => match weir_h264::AvcConfig::parse(&t.config) {
            Ok(c) => c.sps.into_iter().chain(c.pps).collect(),
            Err(_) => return Vec::new(),
        },
        Codec::H265 => match weir_h265::HevcConfig::parse(&t.config) {
            Ok(c) => {
                let mut v = Vec::new();
                for wanted in [32u8, 33, 34] {
                    for a in &c.arrays {
                        for n in &a.nalus {
                            if n.first().map(|b| (b >> 1) & 0x3F) == Some(wanted) {
                                v.push(n.clone());
                            }
                        }
                    }
                }
                v
            }
            Err(_) => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for s in sets {
        out.extend_from_slice(START_CODE);
        out.extend_from_slice(&s);
    }
    out
}

/// True if a canonical (4-byte length-prefixed) access unit carries parameter sets.
fn has_parameter_sets(codec: Codec, data: &[u8]) -> bool {
    let mut pos = 0usize;
    while let Some(pre) = data.get(pos..pos + 4) {
        let n = u32::from_be_bytes([pre[0], pre[1], pre[2], pre[3]]) as usize;
        let Some(&h) = data.get(pos + 4) else {
            return false;
        };
        let found = match codec {
            Codec::H264 => matches!(h & 0x1F, 7 | 8),
            _ => matches!((h >> 1) & 0x3F, 32..=34),
        };
        if found {
            return true;
        }
        pos = pos.saturating_add(4).saturating_add(n);
    }
    false
}
