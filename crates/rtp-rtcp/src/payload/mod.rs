//! RTP payload formats: depacketizers (RTP → [`weir_media::Frame`]) and packetizers
//! ([`weir_media::Frame`] → RTP within an MTU).
//!
//! | format | module | RFC |
//! |---|---|---|
//! | H.264 (single NAL, STAP-A, FU-A; packetization-mode 0/1) | [`h264`] | RFC 6184 |
//! | H.265 (single NAL, AP, FU; no DONL) | [`h265`] | RFC 7798 |
//! | AAC `mpeg4-generic` AAC-hbr | [`aac`] | RFC 3640 |
//! | AAC `MP4A-LATM` (cpresent=0) | [`latm`] | RFC 6416 |
//! | Opus | [`opus`] | RFC 7587 |
//! | G.711 PCMA/PCMU | [`g711`] | RFC 3551 |
//! | JPEG | [`jpeg`] | RFC 2435 |
//! | MPEG-2 TS | [`mp2t`] | RFC 2250 |
//! | MPEG-PS (GB28181) | [`ps`] | GB/T 28181 |
//!
//! Every depacketizer implements [`Depacketizer`]: feed packets in sequence order (from a
//! jitter buffer: reordered, duplicates dropped, but possibly with gaps) with
//! [`Depacketizer::push`], take finished frames with [`Depacketizer::pull`]. A sequence
//! gap never glues unrelated data together: partially received units are dropped and the
//! frame they belonged to is flagged [`Frame::incomplete`](weir_media::Frame::incomplete)
//! (or dropped entirely, see [`DepacketizerConfig::emit_incomplete`]).
//!
//! Every packetizer implements [`Packetizer`]: one call turns a frame into complete RTP
//! packets (header included) that are [`Bytes`] slices of one buffer, with the marker bit
//! on the last packet of the frame.
//!
//! RTP carries presentation time only, so depacketized frames have `dts == pts` (for
//! H.264/H.265 with B-frames a decoder or muxer must derive decoding order itself);
//! timestamps are the RTP timestamps extended to 64 bits, in `1/clock_rate` units.
//!
//! [`packetizer_for_track`] and [`depacketizer_for`] pick the format from a
//! [`TrackInfo`](weir_media::TrackInfo) or from an SDP `rtpmap`/`fmtp` pair:
//!
//! ```
//! use weir_media::{Codec, TrackId, TrackInfo};
//! use weir_rtp_rtcp::payload::{depacketizer_for, packetizer_for_track, DepacketizerConfig, PacketizerConfig};
//!
//! let track = TrackInfo::new(TrackId(1), Codec::G711A, 8000);
//! let (_packetizer, sdp) = packetizer_for_track(&track, PacketizerConfig::new(8000).with_payload_type(8))?;
//! assert_eq!(sdp.attribute_lines(), "a=rtpmap:8 PCMA/8000\r\n");
//!
//! let (_depacketizer, codec) = depacketizer_for("H264/90000", Some("packetization-mode=1"),
//!                                                DepacketizerConfig::new(90_000))?;
//! assert_eq!(codec, Some(Codec::H264));
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use weir_media::{Timebase, Timestamp, TrackId, WrapExtender};

use crate::{Error, RtpPacket};

pub mod aac;
pub mod g711;
pub mod h264;
pub mod h265;
pub mod jpeg;
pub mod latm;
pub mod mp2t;
mod nal;
pub mod opus;
pub mod ps;
mod track;
pub use track::track_for;

/// Turns RTP packets of one stream into [`weir_media::Frame`]s.
pub trait Depacketizer {
    /// Feeds one RTP packet. Packets must come in sequence-number order; gaps are allowed
    /// (they mark frames incomplete), older or duplicate packets are ignored.
    ///
    /// # Errors
    /// A malformed payload. The depacketizer stays usable: the unit being assembled is
    /// dropped and its frame flagged incomplete.
    fn push(&mut self, packet: &RtpPacket) -> Result<(), Error> {
        self.push_payload(
            packet.sequence_number(),
            packet.timestamp(),
            packet.marker(),
            packet.payload(),
        )
    }

    /// Feeds one RTP packet given as its header fields and payload (for callers that parse
    /// RTP elsewhere). Same contract as [`Depacketizer::push`].
    ///
    /// # Errors
    /// As [`Depacketizer::push`].
    fn push_payload(
        &mut self,
        sequence_number: u16,
        timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error>;

    /// Takes the next finished frame.
    fn pull(&mut self) -> Option<weir_media::Frame>;

    /// End of stream: finishes whatever is pending (a frame whose last packet never came is
    /// flagged incomplete), so that [`Depacketizer::pull`] returns it.
    fn flush(&mut self);
}

/// Turns [`weir_media::Frame`]s into RTP packets.
pub trait Packetizer {
    /// Appends the RTP packets (12-byte header + payload, at most
    /// [`PacketizerConfig::mtu`] bytes each) for `frame` to `out`. All packets of one call
    /// share one buffer.
    ///
    /// # Errors
    /// A frame whose payload does not fit the format's rules (e.g. a NAL unit larger than
    /// the MTU in packetization-mode 0, a malformed JPEG), or an MTU too small to carry
    /// anything.
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error>;

    /// The sequence number the next packet will carry.
    fn next_sequence_number(&self) -> u16;
}

impl<D: Depacketizer + ?Sized> Depacketizer for Box<D> {
    fn push(&mut self, packet: &RtpPacket) -> Result<(), Error> {
        (**self).push(packet)
    }
    fn push_payload(
        &mut self,
        sequence_number: u16,
        timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        (**self).push_payload(sequence_number, timestamp, marker, payload)
    }
    fn pull(&mut self) -> Option<weir_media::Frame> {
        (**self).pull()
    }
    fn flush(&mut self) {
        (**self).flush()
    }
}

impl<P: Packetizer + ?Sized> Packetizer for Box<P> {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        (**self).packetize(frame, out)
    }
    fn next_sequence_number(&self) -> u16 {
        (**self).next_sequence_number()
    }
}

/// Settings shared by all depacketizers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DepacketizerConfig {
    /// Track id put on the frames.
    pub track: TrackId,
    /// RTP clock rate (the frames' timebase is `1/clock_rate`).
    pub clock_rate: u32,
    /// Largest frame (in its canonical layout) to assemble; a larger one is dropped with
    /// [`Error::LimitExceeded`]. Default 16 MiB.
    pub max_frame_size: usize,
    /// Deliver frames that lost data (flagged [`Frame::incomplete`](weir_media::Frame)).
    /// When false they are dropped. Default true.
    pub emit_incomplete: bool,
}

impl DepacketizerConfig {
    /// Defaults for `clock_rate` on track 0.
    pub fn new(clock_rate: u32) -> DepacketizerConfig {
        DepacketizerConfig {
            track: TrackId(0),
            clock_rate,
            max_frame_size: 16 << 20,
            emit_incomplete: true,
        }
    }

    /// Builder-style setter for the track id.
    pub fn with_track(mut self, track: TrackId) -> DepacketizerConfig {
        self.track = track;
        self
    }

    /// Builder-style setter for [`DepacketizerConfig::max_frame_size`].
    pub fn with_max_frame_size(mut self, max: usize) -> DepacketizerConfig {
        self.max_frame_size = max;
        self
    }

    /// Builder-style setter for [`DepacketizerConfig::emit_incomplete`].
    pub fn with_emit_incomplete(mut self, emit: bool) -> DepacketizerConfig {
        self.emit_incomplete = emit;
        self
    }

    pub(crate) fn timebase(&self) -> Timebase {
        Timebase::hz(self.clock_rate).unwrap_or(Timebase::MPEG)
    }
}

/// Settings shared by all packetizers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PacketizerConfig {
    /// Largest RTP packet (header included) to produce. Default 1400.
    pub mtu: usize,
    /// RTP payload type. Default 96.
    pub payload_type: u8,
    /// SSRC. Default 0; pick a random one per stream.
    pub ssrc: u32,
    /// Sequence number of the first packet.
    pub initial_sequence_number: u16,
    /// Added (wrapping) to every frame's RTP timestamp; RFC 3550 asks for a random value.
    pub timestamp_offset: u32,
    /// RTP clock rate the frames' timestamps are converted to.
    pub clock_rate: u32,
}

impl PacketizerConfig {
    /// Defaults for `clock_rate`.
    pub fn new(clock_rate: u32) -> PacketizerConfig {
        PacketizerConfig {
            mtu: 1400,
            payload_type: 96,
            ssrc: 0,
            initial_sequence_number: 0,
            timestamp_offset: 0,
            clock_rate,
        }
    }

    /// Builder-style setter for [`PacketizerConfig::mtu`].
    pub fn with_mtu(mut self, mtu: usize) -> PacketizerConfig {
        self.mtu = mtu;
        self
    }

    /// Builder-style setter for [`PacketizerConfig::payload_type`].
    pub fn with_payload_type(mut self, pt: u8) -> PacketizerConfig {
        self.payload_type = pt;
        self
    }

    /// Builder-style setter for [`PacketizerConfig::ssrc`].
    pub fn with_ssrc(mut self, ssrc: u32) -> PacketizerConfig {
        self.ssrc = ssrc;
        self
    }

    /// Builder-style setter for [`PacketizerConfig::initial_sequence_number`].
    pub fn with_initial_sequence_number(mut self, seq: u16) -> PacketizerConfig {
        self.initial_sequence_number = seq;
        self
    }

    /// Builder-style setter for [`PacketizerConfig::timestamp_offset`].
    pub fn with_timestamp_offset(mut self, offset: u32) -> PacketizerConfig {
        self.timestamp_offset = offset;
        self
    }
}

/// Size of the RTP fixed header written by the packetizers (no CSRCs, no extension).
pub const RTP_HEADER_LEN: usize = 12;

/// Writes RTP packets for one frame back to back into one reusable buffer.
#[derive(Debug)]
pub(crate) struct Emitter {
    pub(crate) cfg: PacketizerConfig,
    seq: u16,
    buf: BytesMut,
    /// Start offsets of the packets written for the current frame.
    starts: Vec<usize>,
    ts: u32,
}

impl Emitter {
    pub(crate) fn new(cfg: PacketizerConfig) -> Emitter {
        Emitter {
            seq: cfg.initial_sequence_number,
            cfg,
            buf: BytesMut::new(),
            starts: Vec::new(),
            ts: 0,
        }
    }

    /// Payload bytes available per packet.
    pub(crate) fn max_payload(&self, min: usize) -> Result<usize, Error> {
        if self.cfg.payload_type > 127 {
            return Err(invalid(
                "RTP payload type",
                u64::from(self.cfg.payload_type),
                "must be 0..=127",
            ));
        }
        let max = self.cfg.mtu.saturating_sub(RTP_HEADER_LEN);
        if max < min.max(1) {
            return Err(Error::InvalidField {
                field: "mtu",
                value: self.cfg.mtu as u64,
                reason: "too small for an RTP header and the payload format's headers",
            });
        }
        Ok(max)
    }

    pub(crate) fn next_seq(&self) -> u16 {
        self.seq
    }

    /// Starts a frame whose packets carry `pts` (converted to the RTP clock).
    pub(crate) fn begin_frame(&mut self, pts: Timestamp, expected_bytes: usize) {
        self.set_timestamp(pts);
        self.starts.clear();
        self.buf.clear();
        self.buf.reserve(expected_bytes);
    }

    /// Sets the RTP timestamp of the packets that follow.
    pub(crate) fn set_timestamp(&mut self, pts: Timestamp) {
        let ticks = match Timebase::hz(self.cfg.clock_rate) {
            Some(tb) => pts.rescale(tb).ticks(),
            None => pts.ticks(),
        };
        // RTP timestamps are the low 32 bits (RFC 3550 5.1), so truncation is intended.
        self.ts = (ticks as u32).wrapping_add(self.cfg.timestamp_offset);
    }

    /// Starts a packet: writes the fixed header (marker clear).
    pub(crate) fn begin_packet(&mut self) {
        self.starts.push(self.buf.len());
        let header = crate::RtpHeader::new(self.cfg.payload_type, self.seq, self.ts, self.cfg.ssrc);
        // Cannot fail: the payload type was checked by `max_payload` and there are no
        // CSRCs or extensions.
        if let Err(e) = header.write(&mut self.buf) {
            tracing::warn!(error = %e, "RTP header not written");
        }
        self.seq = self.seq.wrapping_add(1);
    }

    pub(crate) fn put_slice(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn put_u8(&mut self, b: u8) {
        self.buf.put_u8(b);
    }

    pub(crate) fn put_u16(&mut self, v: u16) {
        self.buf.put_u16(v);
    }

    /// Sets the marker bit on the current packet.
    pub(crate) fn set_marker(&mut self) {
        if let Some(&s) = self.starts.last() {
            if let Some(b) = self.buf.get_mut(s + 1) {
                *b |= 0x80;
            }
        }
    }

    /// Drops the current frame's packets (after an error) and rewinds the sequence number.
    pub(crate) fn abort_frame(&mut self) {
        self.seq = self
            .seq
            .wrapping_sub(u16::try_from(self.starts.len()).unwrap_or(0));
        self.starts.clear();
        self.buf.clear();
    }

    /// Splits the frame's packets off the buffer as `Bytes` and appends them to `out`.
    pub(crate) fn finish_frame(&mut self, out: &mut Vec<Bytes>) {
        let all = self.buf.split().freeze();
        let n = self.starts.len();
        out.reserve(n);
        for i in 0..n {
            let start = self.starts[i];
            let end = self.starts.get(i + 1).copied().unwrap_or(all.len());
            out.push(all.slice(start..end));
        }
        self.starts.clear();
    }
}

/// Sequence-number and timestamp bookkeeping shared by the depacketizers.
#[derive(Debug, Clone)]
pub(crate) struct SeqState {
    last_seq: Option<u16>,
    ts: WrapExtender,
}

/// What a new packet's sequence number says about the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqCheck {
    /// The next packet (or the first one).
    Next,
    /// Packets were lost before this one.
    Gap,
    /// A duplicate or an old packet: ignore it.
    Stale,
}

impl SeqState {
    pub(crate) fn new() -> SeqState {
        SeqState {
            last_seq: None,
            ts: WrapExtender::new(32),
        }
    }

    pub(crate) fn check(&mut self, seq: u16) -> SeqCheck {
        let res = match self.last_seq {
            None => SeqCheck::Next,
            Some(last) => {
                let d = seq.wrapping_sub(last);
                if d == 1 {
                    SeqCheck::Next
                } else if d == 0 || d >= 0x8000 {
                    return SeqCheck::Stale;
                } else {
                    SeqCheck::Gap
                }
            }
        };
        self.last_seq = Some(seq);
        res
    }

    /// Extends an RTP timestamp to 64 bits.
    pub(crate) fn extend_ts(&mut self, ts: u32) -> i64 {
        self.ts.extend(u64::from(ts))
    }
}

/// A queue of finished frames, honouring `emit_incomplete`.
#[derive(Debug)]
pub(crate) struct FrameQueue {
    frames: std::collections::VecDeque<weir_media::Frame>,
}

impl FrameQueue {
    pub(crate) fn new() -> FrameQueue {
        FrameQueue {
            frames: std::collections::VecDeque::new(),
        }
    }

    pub(crate) fn push(&mut self, cfg: &DepacketizerConfig, frame: weir_media::Frame) {
        if frame.incomplete && !cfg.emit_incomplete {
            tracing::debug!(track = cfg.track.0, "dropping incomplete frame");
            return;
        }
        self.frames.push_back(frame);
    }

    pub(crate) fn pop(&mut self) -> Option<weir_media::Frame> {
        self.frames.pop_front()
    }
}

/// One frame per RTP packet (Opus, G.711, MP2T).
#[derive(Debug)]
pub(crate) struct SimpleDepacketizer {
    cfg: DepacketizerConfig,
    seq: SeqState,
    queue: FrameQueue,
}

impl SimpleDepacketizer {
    pub(crate) fn new(cfg: DepacketizerConfig) -> SimpleDepacketizer {
        SimpleDepacketizer {
            cfg,
            seq: SeqState::new(),
            queue: FrameQueue::new(),
        }
    }

    /// Queues `payload` as a frame. With `flag_gap`, a frame right after lost packets is
    /// flagged incomplete (for formats whose frames are pieces of a stream).
    pub(crate) fn packet(
        &mut self,
        seq: u16,
        ts: u32,
        payload: Bytes,
        keyframe: bool,
        flag_gap: bool,
    ) -> Result<(), Error> {
        let gap = match self.seq.check(seq) {
            SeqCheck::Stale => return Ok(()),
            SeqCheck::Gap => true,
            SeqCheck::Next => false,
        };
        if payload.len() > self.cfg.max_frame_size {
            return Err(limit_error(
                "frame size",
                self.cfg.max_frame_size,
                payload.len(),
            ));
        }
        let ticks = self.seq.extend_ts(ts);
        let frame = make_frame(&self.cfg, ticks, payload, keyframe, gap && flag_gap);
        self.queue.push(&self.cfg, frame);
        Ok(())
    }

    pub(crate) fn pull(&mut self) -> Option<weir_media::Frame> {
        self.queue.pop()
    }
}

/// Builds a frame with `pts = dts` at extended RTP time `ticks`.
pub(crate) fn make_frame(
    cfg: &DepacketizerConfig,
    ticks: i64,
    data: Bytes,
    keyframe: bool,
    incomplete: bool,
) -> weir_media::Frame {
    let ts = Timestamp::new(ticks, cfg.timebase());
    let mut f = weir_media::Frame::new(cfg.track, ts, ts, data).with_keyframe(keyframe);
    f.incomplete = incomplete;
    f
}

pub(crate) fn limit_error(what: &'static str, limit: usize, actual: usize) -> Error {
    Error::LimitExceeded {
        what,
        limit,
        actual,
    }
}

pub(crate) fn truncated(
    what: &'static str,
    offset: usize,
    needed: usize,
    available: usize,
) -> Error {
    Error::Truncated {
        what,
        offset,
        needed,
        available,
    }
}

pub(crate) fn invalid(field: &'static str, value: u64, reason: &'static str) -> Error {
    Error::InvalidField {
        field,
        value,
        reason,
    }
}

/// Parses a hex string (fmtp `config=`), ignoring nothing: every character must be a hex
/// digit and the count even.
///
/// # Errors
/// [`Error::InvalidField`] on a non-hex character or odd length.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, Error> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return Err(invalid(
            "config",
            s.len() as u64,
            "odd number of hex digits",
        ));
    }
    let digit = |c: u8| -> Result<u8, Error> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(invalid("config", u64::from(c), "not a hex digit")),
        }
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| match p {
            [h, l] => Ok(digit(*h)? << 4 | digit(*l)?),
            _ => Err(invalid("config", 0, "odd number of hex digits")),
        })
        .collect()
}

/// Formats bytes as lowercase hex (fmtp `config=`).
pub fn to_hex(data: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len() * 2);
    for &b in data {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

/// Splits an `a=fmtp` parameter string (`key=value;key=value`, payload type already
/// removed) into trimmed pairs. Keys compare case-insensitively per RFC 8866, so callers
/// should use `eq_ignore_ascii_case`.
pub fn fmtp_pairs(fmtp: &str) -> impl Iterator<Item = (&str, &str)> {
    fmtp.split(';').filter_map(|kv| {
        let kv = kv.trim();
        if kv.is_empty() {
            return None;
        }
        Some(match kv.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (kv, ""),
        })
    })
}

/// The value of `key` in an fmtp string, if present.
pub fn fmtp_value<'a>(fmtp: &'a str, key: &str) -> Option<&'a str> {
    fmtp_pairs(fmtp)
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A packetizer for `track` (H.264, H.265, AAC as `mpeg4-generic`, Opus, G.711, MJPEG) and
/// the SDP description of its stream. `cfg.clock_rate` is replaced by the track's.
///
/// # Errors
/// A codec without an RTP payload format here, or a track config that does not parse
/// (AAC needs its AudioSpecificConfig).
pub fn packetizer_for_track(
    track: &weir_media::TrackInfo,
    mut cfg: PacketizerConfig,
) -> Result<(Box<dyn Packetizer + Send>, SdpFormat), Error> {
    use weir_media::Codec;
    cfg.clock_rate = track.clock_rate;
    Ok(match track.codec {
        Codec::H264 => {
            let p = h264::H264Packetizer::new(
                cfg,
                &track.config,
                h264::PacketizationMode::NonInterleaved,
            );
            let sdp = p.sdp();
            (Box::new(p), sdp)
        }
        Codec::H265 => {
            let p = h265::H265Packetizer::new(cfg, &track.config);
            let sdp = p.sdp();
            (Box::new(p), sdp)
        }
        Codec::Aac => {
            let p = aac::AacPacketizer::new(cfg, &track.config)?;
            let sdp = p.sdp();
            (Box::new(p), sdp)
        }
        Codec::Opus => {
            let channels = track.audio.map_or(2, |a| a.channels);
            let p = opus::OpusPacketizer::new(cfg, channels);
            let sdp = p.sdp();
            (Box::new(p), sdp)
        }
        Codec::G711A | Codec::G711U => {
            let law = if track.codec == Codec::G711A {
                g711::G711Law::A
            } else {
                g711::G711Law::Mu
            };
            let p = g711::G711Packetizer::new(cfg, law);
            let sdp = p.sdp();
            (Box::new(p), sdp)
        }
        Codec::Mjpeg => {
            let p = jpeg::JpegPacketizer::new(cfg);
            let sdp = p.sdp();
            (Box::new(p), sdp)
        }
        _ => {
            return Err(invalid(
                "codec",
                0,
                "no RTP payload format for this codec in weir-rtp-rtcp",
            ))
        }
    })
}

/// A depacketizer for an SDP `a=rtpmap` encoding (`H264/90000`, `MPEG4-GENERIC/48000/2`, …)
/// and its `a=fmtp` parameters, with the codec its frames carry (`None` for MP2T and PS,
/// whose frames are container bytes). `cfg.clock_rate` is replaced by the rtpmap's.
///
/// # Errors
/// An unknown encoding, a bad clock rate, or fmtp parameters the format refuses.
pub fn depacketizer_for(
    rtpmap: &str,
    fmtp: Option<&str>,
    mut cfg: DepacketizerConfig,
) -> Result<(Box<dyn Depacketizer + Send>, Option<weir_media::Codec>), Error> {
    use weir_media::Codec;
    let mut parts = rtpmap.trim().split('/');
    let name = parts.next().unwrap_or("").to_ascii_uppercase();
    let clock: u32 = parts
        .next()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c| c > 0)
        .ok_or_else(|| invalid("rtpmap clock rate", 0, "missing or not a positive number"))?;
    cfg.clock_rate = clock;
    let fmtp = fmtp.unwrap_or("");
    Ok(match name.as_str() {
        "H264" => {
            if let Some(m) = fmtp_value(fmtp, "packetization-mode") {
                if m != "0" && m != "1" {
                    return Err(invalid(
                        "packetization-mode",
                        m.parse().unwrap_or(u64::MAX),
                        "interleaved mode (2) is not supported",
                    ));
                }
            }
            (
                Box::new(h264::H264Depacketizer::from_fmtp(cfg, fmtp)?),
                Some(Codec::H264),
            )
        }
        "H265" => (
            Box::new(h265::H265Depacketizer::from_fmtp(cfg, fmtp)?),
            Some(Codec::H265),
        ),
        "MPEG4-GENERIC" => (
            Box::new(aac::AacDepacketizer::from_fmtp(cfg, fmtp)?),
            Some(Codec::Aac),
        ),
        "MP4A-LATM" => (
            Box::new(latm::LatmDepacketizer::from_fmtp(cfg, fmtp)?),
            Some(Codec::Aac),
        ),
        "OPUS" => (
            Box::new(opus::OpusDepacketizer::new(cfg)),
            Some(Codec::Opus),
        ),
        "PCMA" => (
            Box::new(g711::G711Depacketizer::new(cfg)),
            Some(Codec::G711A),
        ),
        "PCMU" => (
            Box::new(g711::G711Depacketizer::new(cfg)),
            Some(Codec::G711U),
        ),
        "JPEG" => (
            Box::new(jpeg::JpegDepacketizer::new(cfg)),
            Some(Codec::Mjpeg),
        ),
        "MP2T" => (Box::new(mp2t::Mp2tDepacketizer::new(cfg)), None),
        "PS" | "MP2P" => (Box::new(ps::PsDepacketizer::new(cfg)), None),
        _ => {
            return Err(invalid(
                "rtpmap encoding",
                0,
                "no depacketizer for this encoding name",
            ))
        }
    })
}

/// An SDP media description fragment for a packetizer: the `a=rtpmap` value and, when the
/// format has parameters, the `a=fmtp` value (both without the `a=rtpmap:`/`a=fmtp:` prefix
/// and payload type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdpFormat {
    /// RTP payload type.
    pub payload_type: u8,
    /// `encoding/clock[/channels]`, e.g. `H264/90000`.
    pub rtpmap: String,
    /// Format parameters, e.g. `packetization-mode=1;profile-level-id=42e01f`.
    pub fmtp: Option<String>,
}

impl SdpFormat {
    /// The `a=rtpmap` (and `a=fmtp`) lines, each ending in CRLF.
    pub fn attribute_lines(&self) -> String {
        let mut s = format!("a=rtpmap:{} {}\r\n", self.payload_type, self.rtpmap);
        if let Some(f) = &self.fmtp {
            s.push_str(&format!("a=fmtp:{} {}\r\n", self.payload_type, f));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_state() {
        let mut s = SeqState::new();
        assert_eq!(s.check(65534), SeqCheck::Next);
        assert_eq!(s.check(65535), SeqCheck::Next);
        assert_eq!(s.check(0), SeqCheck::Next);
        assert_eq!(s.check(0), SeqCheck::Stale);
        assert_eq!(s.check(65535), SeqCheck::Stale);
        assert_eq!(s.check(3), SeqCheck::Gap);
        assert_eq!(s.check(4), SeqCheck::Next);
    }

    #[test]
    fn packetizer_rescales_frame_time_and_wraps() {
        use weir_media::{Frame, TrackId};
        // An RTMP-sourced frame in milliseconds goes out on the 90 kHz clock, offset and
        // wrapped to 32 bits; sequence numbers wrap too.
        let cfg = PacketizerConfig::new(90_000)
            .with_timestamp_offset(u32::MAX - 1000)
            .with_initial_sequence_number(u16::MAX);
        let mut p = opus::OpusPacketizer::new(cfg, 2);
        let ts = Timestamp::new(40, Timebase::MILLIS);
        let f = Frame::new(TrackId(0), ts, ts, Bytes::from_static(&[1, 2, 3]));
        let mut out = Vec::new();
        p.packetize(&f, &mut out).unwrap();
        p.packetize(&f, &mut out).unwrap();
        let a = RtpPacket::parse(out[0].clone()).unwrap();
        let b = RtpPacket::parse(out[1].clone()).unwrap();
        assert_eq!(a.timestamp(), 3600u32.wrapping_add(u32::MAX - 1000));
        assert_eq!((a.sequence_number(), b.sequence_number()), (u16::MAX, 0));
        assert_eq!(p.next_sequence_number(), 1);
        assert_eq!(a.payload_type(), 96);
        // A payload type over 127 is refused, without consuming a sequence number.
        let mut bad =
            opus::OpusPacketizer::new(PacketizerConfig::new(48_000).with_payload_type(200), 2);
        assert!(bad.packetize(&f, &mut out).is_err());
        assert_eq!(bad.next_sequence_number(), 0);
    }

    #[test]
    fn hex() {
        assert_eq!(parse_hex("1190").unwrap(), vec![0x11, 0x90]);
        assert_eq!(to_hex(&[0x11, 0x90, 0xAB]), "1190ab");
        assert!(parse_hex("119").is_err());
        assert!(parse_hex("11g0").is_err());
    }
}
