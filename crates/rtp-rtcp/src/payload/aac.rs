//! AAC over RTP as `mpeg4-generic` (RFC 3640), mode `AAC-hbr`: an AU-headers section
//! (by default 13-bit sizes and 3-bit indexes), then the access units; several AUs share a
//! packet, an AU too large for one packet is fragmented.
//!
//! Frames hold one raw AAC access unit; the clock is the sample rate.
//!
//! ```
//! use bytes::Bytes;
//! use weir_media::{Frame, Timebase, Timestamp, TrackId};
//! use weir_rtp_rtcp::payload::{Depacketizer, DepacketizerConfig, PacketizerConfig};
//! use weir_rtp_rtcp::payload::aac::{AacDepacketizer, AacPacketizer};
//! use weir_rtp_rtcp::RtpPacket;
//!
//! let asc = [0x11, 0x90]; // AAC-LC, 48 kHz, stereo
//! let tb = Timebase::hz(48_000).unwrap();
//! let frames: Vec<Frame> = (0..3)
//!     .map(|i| {
//!         let ts = Timestamp::new(i * 1024, tb);
//!         Frame::new(TrackId(0), ts, ts, Bytes::from(vec![i as u8; 200])).with_keyframe(true)
//!     })
//!     .collect();
//! let mut pk = AacPacketizer::new(PacketizerConfig::new(48_000), &asc)?;
//! let mut packets = Vec::new();
//! pk.packetize_many(&frames, &mut packets)?;
//! assert_eq!(packets.len(), 1); // three AUs in one packet
//!
//! let fmtp = pk.sdp().fmtp.unwrap();
//! let mut dp = AacDepacketizer::from_fmtp(DepacketizerConfig::new(48_000), &fmtp)?;
//! dp.push(&RtpPacket::parse(packets[0].clone())?)?;
//! for f in &frames {
//!     let got = dp.pull().unwrap();
//!     assert_eq!((got.pts, &got.data), (f.pts, &f.data));
//! }
//! # Ok::<(), weir_rtp_rtcp::Error>(())
//! ```

use bytes::{Bytes, BytesMut};
use weir_aac::AudioSpecificConfig;
use weir_media::bits::BitReader;

use super::{
    fmtp_pairs, invalid, limit_error, make_frame, parse_hex, to_hex, truncated, Depacketizer,
    DepacketizerConfig, Emitter, FrameQueue, Packetizer, PacketizerConfig, SdpFormat, SeqCheck,
    SeqState,
};
use crate::Error;

/// Parses a byte-aligned AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) with `weir-aac`, the
/// workspace's one parser for it.
pub(crate) fn parse_asc(asc: &[u8]) -> Result<AudioSpecificConfig, Error> {
    Ok(AudioSpecificConfig::parse(asc)?)
}

/// The AU-header layout of an `mpeg4-generic` stream (RFC 3640 3.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuHeaderLayout {
    /// `sizeLength` in bits (13 for AAC-hbr).
    pub size_length: u8,
    /// `indexLength` (3 for AAC-hbr).
    pub index_length: u8,
    /// `indexDeltaLength` (3 for AAC-hbr).
    pub index_delta_length: u8,
    /// `CTSDeltaLength` (0 for AAC-hbr).
    pub cts_delta_length: u8,
    /// `DTSDeltaLength` (0 for AAC-hbr).
    pub dts_delta_length: u8,
    /// `randomAccessIndication`.
    pub random_access_indication: bool,
    /// `streamStateIndication` in bits.
    pub stream_state_indication: u8,
}

impl AuHeaderLayout {
    /// AAC-hbr: 13/3/3.
    pub const AAC_HBR: AuHeaderLayout = AuHeaderLayout {
        size_length: 13,
        index_length: 3,
        index_delta_length: 3,
        cts_delta_length: 0,
        dts_delta_length: 0,
        random_access_indication: false,
        stream_state_indication: 0,
    };

    fn validate(&self) -> Result<(), Error> {
        for (field, v) in [
            ("sizelength", self.size_length),
            ("indexlength", self.index_length),
            ("indexdeltalength", self.index_delta_length),
            ("ctsdeltalength", self.cts_delta_length),
            ("dtsdeltalength", self.dts_delta_length),
            ("streamstateindication", self.stream_state_indication),
        ] {
            if v > 32 {
                return Err(invalid(field, u64::from(v), "more than 32 bits"));
            }
        }
        if self.size_length == 0 {
            return Err(invalid(
                "sizelength",
                0,
                "constant-size AUs are not supported",
            ));
        }
        Ok(())
    }
}

/// RTP (`mpeg4-generic`) → AAC access units.
///
/// At most [`AacDepacketizer::DEFAULT_MAX_AUS_PER_PACKET`] AU headers per packet are
/// accepted unless configured otherwise ([`Error::LimitExceeded`] beyond); interleaving
/// (non-zero AU-Index-delta) is refused.
#[derive(Debug)]
pub struct AacDepacketizer {
    cfg: DepacketizerConfig,
    layout: AuHeaderLayout,
    frame_len: u32,
    config: Bytes,
    seq: SeqState,
    /// A fragmented AU being reassembled: (RTP timestamp, declared size).
    frag: Option<(u32, usize)>,
    frag_buf: BytesMut,
    /// An AU was lost since the last delivered frame.
    lost: bool,
    max_aus: usize,
    /// AU sizes of the packet being read (reused).
    sizes: Vec<usize>,
    queue: FrameQueue,
}

impl AacDepacketizer {
    /// Default limit on AU headers in one packet.
    pub const DEFAULT_MAX_AUS_PER_PACKET: usize = 256;

    /// Builder-style setter for the AU-headers-per-packet limit.
    pub fn with_max_aus_per_packet(mut self, max: usize) -> AacDepacketizer {
        self.max_aus = max;
        self
    }

    /// A depacketizer for `layout`, with `frame_len` samples per AU (1024 or 960).
    pub fn new(cfg: DepacketizerConfig, layout: AuHeaderLayout, frame_len: u32) -> AacDepacketizer {
        AacDepacketizer {
            cfg,
            layout,
            frame_len,
            config: Bytes::new(),
            seq: SeqState::new(),
            frag: None,
            frag_buf: BytesMut::new(),
            lost: false,
            max_aus: Self::DEFAULT_MAX_AUS_PER_PACKET,
            sizes: Vec::new(),
            queue: FrameQueue::new(),
        }
    }

    /// A depacketizer configured from the SDP `a=fmtp` parameters (`mode`, `sizelength`,
    /// `indexlength`, `indexdeltalength`, `config`, …).
    ///
    /// # Errors
    /// A mode other than AAC-hbr/AAC-lbr/generic, bad numbers, or a bad `config`.
    pub fn from_fmtp(cfg: DepacketizerConfig, fmtp: &str) -> Result<AacDepacketizer, Error> {
        let mut layout = AuHeaderLayout {
            size_length: 0,
            index_length: 0,
            index_delta_length: 0,
            ..AuHeaderLayout::AAC_HBR
        };
        let mut config = Vec::new();
        let mut mode = String::new();
        let mut sizes_given = false;
        let num = |k: &'static str, v: &str| -> Result<u8, Error> {
            v.parse::<u8>()
                .map_err(|_| invalid(k, v.len() as u64, "not a small number"))
        };
        for (k, v) in fmtp_pairs(fmtp) {
            let k = k.to_ascii_lowercase();
            sizes_given |= matches!(
                k.as_str(),
                "sizelength" | "indexlength" | "indexdeltalength"
            );
            match k.as_str() {
                "sizelength" => layout.size_length = num("sizelength", v)?,
                "indexlength" => layout.index_length = num("indexlength", v)?,
                "indexdeltalength" => layout.index_delta_length = num("indexdeltalength", v)?,
                "ctsdeltalength" => layout.cts_delta_length = num("ctsdeltalength", v)?,
                "dtsdeltalength" => layout.dts_delta_length = num("dtsdeltalength", v)?,
                "randomaccessindication" => layout.random_access_indication = v == "1",
                "streamstateindication" => {
                    layout.stream_state_indication = num("streamstateindication", v)?
                }
                "config" => config = parse_hex(v)?,
                "mode"
                    if !matches!(
                        v.to_ascii_lowercase().as_str(),
                        "aac-hbr" | "aac-lbr" | "generic"
                    ) =>
                {
                    return Err(invalid("mode", 0, "only AAC-hbr/AAC-lbr are supported"));
                }
                "mode" => mode = v.to_ascii_lowercase(),
                _ => {}
            }
        }
        if !sizes_given {
            // Quirk: some senders name the mode but leave out the AU-header lengths the
            // mode fixes (RFC 3640 3.3.5/3.3.6).
            match mode.as_str() {
                "aac-hbr" => {
                    layout.size_length = 13;
                    layout.index_length = 3;
                    layout.index_delta_length = 3;
                }
                "aac-lbr" => {
                    layout.size_length = 6;
                    layout.index_length = 2;
                    layout.index_delta_length = 2;
                }
                _ => {}
            }
        }
        layout.validate()?;
        // One AU's duration on the RTP clock: 1024 (or 960, 512, 480) samples at the core
        // rate, doubled when the config signals SBR and the clock runs at the output rate.
        let frame_len = if config.is_empty() {
            1024
        } else {
            parse_asc(&config)?.frame_duration(cfg.clock_rate)
        };
        let mut d = AacDepacketizer::new(cfg, layout, frame_len);
        d.config = Bytes::from(config);
        Ok(d)
    }

    /// The AudioSpecificConfig from `config=` (empty if none was given).
    pub fn config(&self) -> &Bytes {
        &self.config
    }

    fn emit(&mut self, ts: u32, offset_aus: u32, data: Bytes) {
        let ticks = self
            .seq
            .extend_ts(ts.wrapping_add(offset_aus.wrapping_mul(self.frame_len)));
        let frame = make_frame(&self.cfg, ticks, data, true, self.lost);
        self.lost = false;
        self.queue.push(&self.cfg, frame);
    }

    fn drop_fragment(&mut self) {
        if self.frag.take().is_some() {
            self.frag_buf.clear();
            self.lost = true;
        }
    }

    fn handle(&mut self, ts: u32, marker: bool, p: &Bytes) -> Result<(), Error> {
        let hdr_bits = p
            .get(0..2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| truncated("AU-headers-length", 0, 2, p.len()))?;
        let hdr_bytes = hdr_bits.div_ceil(8);
        let headers = p
            .get(2..2 + hdr_bytes)
            .ok_or_else(|| truncated("AU headers", 2, hdr_bytes, p.len().saturating_sub(2)))?;
        let data_pos = 2 + hdr_bytes;
        let mut r = BitReader::new(headers);
        let mut sizes = std::mem::take(&mut self.sizes);
        sizes.clear();
        let res = self.read_aus(ts, marker, p, &mut r, hdr_bits, data_pos, &mut sizes);
        self.sizes = sizes;
        res
    }

    #[allow(clippy::too_many_arguments)]
    fn read_aus(
        &mut self,
        ts: u32,
        marker: bool,
        p: &Bytes,
        r: &mut BitReader<'_>,
        hdr_bits: usize,
        mut data_pos: usize,
        sizes: &mut Vec<usize>,
    ) -> Result<(), Error> {
        let l = self.layout;
        let mut n = 0usize;
        let mut index = 0u32;
        while r.position() < hdr_bits {
            let size = read_n(r, l.size_length)? as usize;
            let idx = if n == 0 {
                read_n(r, l.index_length)?
            } else {
                read_n(r, l.index_delta_length)?
            };
            if l.cts_delta_length > 0 && n > 0 && read_n(r, 1)? == 1 {
                read_n(r, l.cts_delta_length)?;
            }
            if l.dts_delta_length > 0 && read_n(r, 1)? == 1 {
                read_n(r, l.dts_delta_length)?;
            }
            if l.random_access_indication {
                read_n(r, 1)?;
            }
            read_n(r, l.stream_state_indication)?;
            if n > 0 && idx != 0 {
                return Err(invalid(
                    "AU-Index-delta",
                    u64::from(idx),
                    "interleaving is not supported",
                ));
            }
            index = index.max(idx);
            if n >= self.max_aus {
                return Err(limit_error("AU headers per packet", self.max_aus, n + 1));
            }
            sizes.push(size);
            n += 1;
        }
        if r.position() != hdr_bits {
            return Err(invalid(
                "AU-headers-length",
                hdr_bits as u64,
                "does not end on an AU header",
            ));
        }
        let avail = p.len() - data_pos;
        // One AU header whose size exceeds the data: a fragment (RFC 3640 3.2.3).
        if n == 1 && sizes[0] > avail {
            let size = sizes[0];
            if size > self.cfg.max_frame_size {
                return Err(limit_error("AAC AU size", self.cfg.max_frame_size, size));
            }
            match self.frag {
                Some((fts, fsize)) if fts == ts && fsize == size => {}
                Some(_) => {
                    self.drop_fragment();
                    self.start_fragment(ts, size);
                }
                None => self.start_fragment(ts, size),
            }
            let got = self.frag_buf.len() + avail;
            if got > size {
                self.drop_fragment();
                return Err(invalid(
                    "AU fragment",
                    got as u64,
                    "more data than the AU size",
                ));
            }
            self.frag_buf.extend_from_slice(&p[data_pos..]);
            if marker || got == size {
                if got == size {
                    self.frag = None;
                    let data = self.frag_buf.split().freeze();
                    self.emit(ts, 0, data);
                } else {
                    self.drop_fragment();
                }
            }
            return Ok(());
        }
        if self.frag.is_some() {
            // A fragmented AU whose last fragment never came.
            self.drop_fragment();
        }
        for (i, &size) in sizes.iter().take(n).enumerate() {
            let au = p
                .get(data_pos..data_pos + size)
                .ok_or_else(|| truncated("access unit", data_pos, size, p.len() - data_pos))?;
            let data = p.slice_ref(au);
            data_pos += size;
            self.emit(ts, i as u32, data);
        }
        Ok(())
    }

    fn start_fragment(&mut self, ts: u32, size: usize) {
        self.frag = Some((ts, size));
        self.frag_buf.clear();
        self.frag_buf.reserve(size);
    }
}

fn read_n(r: &mut BitReader<'_>, n: u8) -> Result<u32, Error> {
    if n == 0 {
        return Ok(0);
    }
    r.read_u32(u32::from(n))
        .map_err(|_| truncated("AU header", r.position() / 8, usize::from(n).div_ceil(8), 0))
}

impl Depacketizer for AacDepacketizer {
    fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        match self.seq.check(seq) {
            SeqCheck::Stale => return Ok(()),
            SeqCheck::Gap => {
                // Whole packets of AUs, or fragments, are gone.
                self.drop_fragment();
                self.lost = true;
            }
            SeqCheck::Next => {}
        }
        let res = self.handle(ts, marker, &payload);
        if res.is_err() {
            self.drop_fragment();
            self.lost = true;
        }
        res
    }

    fn pull(&mut self) -> Option<weir_media::Frame> {
        self.queue.pop()
    }

    fn flush(&mut self) {
        self.drop_fragment();
    }
}

/// AAC access units → RTP (`mpeg4-generic`, AAC-hbr).
#[derive(Debug)]
pub struct AacPacketizer {
    emitter: Emitter,
    config: Bytes,
    channels: u8,
}

impl AacPacketizer {
    /// A packetizer for the stream described by `asc` (AudioSpecificConfig).
    ///
    /// # Errors
    /// An AudioSpecificConfig that does not parse.
    pub fn new(cfg: PacketizerConfig, asc: &[u8]) -> Result<AacPacketizer, Error> {
        let parsed = parse_asc(asc)?;
        Ok(AacPacketizer {
            emitter: Emitter::new(cfg),
            config: Bytes::copy_from_slice(asc),
            channels: parsed.channels(),
        })
    }

    /// `a=rtpmap`/`a=fmtp` for this stream (RFC 3640 4.1). The rtpmap channel count is the
    /// decoded one (`AudioSpecificConfig::channels`: 8 for configuration 7, the PCE's count
    /// for configuration 0, 2 for a mono HE-AAC v2 core), as ffmpeg announces it.
    pub fn sdp(&self) -> SdpFormat {
        let channels = self.channels.max(1);
        SdpFormat {
            payload_type: self.emitter.cfg.payload_type,
            rtpmap: format!(
                "MPEG4-GENERIC/{}/{}",
                self.emitter.cfg.clock_rate, channels
            ),
            fmtp: Some(format!(
                "profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config={}",
                to_hex(&self.config)
            )),
        }
    }

    /// Packetizes consecutive AUs, several per packet as far as they fit; each group's RTP
    /// timestamp is its first AU's. AUs too large for a packet are fragmented.
    ///
    /// # Errors
    /// An AU larger than 8191 bytes (the 13-bit size field), or an MTU too small.
    pub fn packetize_many(
        &mut self,
        frames: &[weir_media::Frame],
        out: &mut Vec<Bytes>,
    ) -> Result<(), Error> {
        let max = self.emitter.max_payload(5)?;
        let Some(first) = frames.first() else {
            return Ok(());
        };
        for f in frames {
            if f.data.len() > 8191 {
                return Err(limit_error(
                    "AAC AU size (13-bit sizelength)",
                    8191,
                    f.data.len(),
                ));
            }
        }
        let total: usize = frames.iter().map(|f| f.data.len() + 16).sum();
        self.emitter
            .begin_frame(first.pts, total + total / max.max(1) * 16);
        let mut i = 0;
        while i < frames.len() {
            let f = &frames[i];
            self.emitter.set_timestamp(f.pts);
            if 4 + f.data.len() > max {
                self.fragment(&f.data, max);
                i += 1;
                continue;
            }
            let mut j = i + 1;
            let mut size = 4 + f.data.len();
            while let Some(next) = frames.get(j) {
                if size + 2 + next.data.len() > max || j - i >= 64 {
                    break;
                }
                size += 2 + next.data.len();
                j += 1;
            }
            let group = &frames[i..j];
            self.emitter.begin_packet();
            self.emitter.put_u16((group.len() * 16) as u16);
            for g in group {
                // 13-bit size, 3-bit index (0) / index-delta (0: consecutive AUs).
                self.emitter.put_u16((g.data.len() as u16) << 3);
            }
            for g in group {
                self.emitter.put_slice(&g.data);
            }
            self.emitter.set_marker();
            i = j;
        }
        self.emitter.finish_frame(out);
        Ok(())
    }

    fn fragment(&mut self, au: &[u8], max: usize) {
        let chunk = max - 4;
        let mut pos = 0;
        while pos < au.len() {
            let end = (pos + chunk).min(au.len());
            self.emitter.begin_packet();
            self.emitter.put_u16(16);
            self.emitter.put_u16((au.len() as u16) << 3);
            self.emitter.put_slice(&au[pos..end]);
            if end == au.len() {
                // RFC 3640 3.2.3: the marker is set on the last fragment only.
                self.emitter.set_marker();
            }
            pos = end;
        }
    }
}

impl Packetizer for AacPacketizer {
    fn packetize(&mut self, frame: &weir_media::Frame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        self.packetize_many(std::slice::from_ref(frame), out)
    }
    fn next_sequence_number(&self) -> u16 {
        self.emitter.next_seq()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asc_lc() {
        let i = parse_asc(&[0x11, 0x90]).unwrap();
        assert_eq!(
            (
                i.object_type,
                i.sample_rate(),
                i.channel_configuration,
                i.frame_duration(48_000)
            ),
            (2, 48_000, 2, 1024)
        );
        let i = parse_asc(&[0x12, 0x14]).unwrap(); // LC, index 4 = 44.1 kHz, stereo, 960-sample frames
        assert_eq!((i.sample_rate(), i.frame_duration(44_100)), (44_100, 960));
        assert!(parse_asc(&[0x11]).is_err());
    }

    #[test]
    fn he_aac_and_explicit_rate_configs() {
        // HE-AAC (hierarchical SBR, 22.05 kHz core, 44.1 kHz output), announced on the
        // output-rate clock as ffmpeg does: each AU lasts 2048 ticks.
        let he = AudioSpecificConfig::he_aac(44_100, 2, false)
            .unwrap()
            .to_bytes();
        let fmtp = format!(
            "mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config={}",
            to_hex(&he)
        );
        let mut d = AacDepacketizer::from_fmtp(DepacketizerConfig::new(44_100), &fmtp).unwrap();
        // Two AUs of one byte each in one packet.
        d.push_payload(
            1,
            1000,
            true,
            Bytes::from_static(&[0, 32, 0, 8, 0, 8, 1, 2]),
        )
        .unwrap();
        let (a, b) = (d.pull().unwrap(), d.pull().unwrap());
        assert_eq!(b.pts.ticks() - a.pts.ticks(), 2048);
        // Sample-rate index 15 (explicit 9600 Hz): the rate comes from the 24-bit field.
        let p = AacPacketizer::new(
            PacketizerConfig::new(9_600),
            &[0x17, 0x80, 0x12, 0xC0, 0x08],
        )
        .unwrap();
        assert_eq!(p.sdp().rtpmap, "MPEG4-GENERIC/9600/1");
        // Channel configuration 7 is 7.1: eight channels.
        let p = AacPacketizer::new(PacketizerConfig::new(48_000), &[0x11, 0xB8]).unwrap();
        assert_eq!(p.sdp().rtpmap, "MPEG4-GENERIC/48000/8");
    }
}

#[cfg(test)]
mod fmtp_tests {
    use super::*;

    #[test]
    fn mode_defaults_when_lengths_are_missing() {
        // AAC-lbr: 6-bit size, 2-bit index; two AUs of 3 and 1 bytes.
        let mut d =
            AacDepacketizer::from_fmtp(DepacketizerConfig::new(8_000), "mode=AAC-lbr;config=1588")
                .unwrap();
        d.push_payload(
            1,
            0,
            true,
            Bytes::from_static(&[0, 16, 0x0c, 0x04, 1, 2, 3, 4]),
        )
        .unwrap();
        assert_eq!(&d.pull().unwrap().data[..], &[1, 2, 3]);
        assert_eq!(&d.pull().unwrap().data[..], &[4]);
        // AAC-hbr without lengths behaves as 13/3/3.
        let mut d =
            AacDepacketizer::from_fmtp(DepacketizerConfig::new(48_000), "mode=AAC-hbr").unwrap();
        d.push_payload(1, 0, true, Bytes::from_static(&[0, 16, 0, 8, 7]))
            .unwrap();
        assert_eq!(&d.pull().unwrap().data[..], &[7]);
        // The AU-headers-per-packet limit is a clear error.
        let mut d = AacDepacketizer::new(
            DepacketizerConfig::new(48_000),
            AuHeaderLayout::AAC_HBR,
            1024,
        )
        .with_max_aus_per_packet(1);
        let two = Bytes::from_static(&[0, 32, 0, 8, 0, 8, 1, 2]);
        assert!(matches!(
            d.push_payload(1, 0, true, two),
            Err(Error::LimitExceeded { limit: 1, .. })
        ));
        // Neither mode nor lengths: refused.
        assert!(
            AacDepacketizer::from_fmtp(DepacketizerConfig::new(48_000), "config=1190").is_err()
        );
    }
}
