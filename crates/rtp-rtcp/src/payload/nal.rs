//! The machinery H.264 (RFC 6184) and H.265 (RFC 7798) share: both carry NAL units as
//! single-unit packets, aggregation packets and fragmentation units; they differ in the
//! NAL header size and in the type numbers.

use bytes::{BufMut, Bytes, BytesMut};
use weir_media::nal::{length_prefixed_nalus, CANONICAL_LENGTH_SIZE};

use super::{
    invalid, limit_error, make_frame, truncated, DepacketizerConfig, Emitter, FrameQueue,
    PacketizerConfig, SeqCheck, SeqState,
};
use crate::Error;

/// Which NAL syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NalCodec {
    H264,
    H265,
}

/// Largest picture-less access unit carried into the next one (see `finish_au`).
const MAX_CARRY: usize = 64 * 1024;

/// Parameter-set bits kept per access unit.
const HAS_VPS: u8 = 1;
const HAS_SPS: u8 = 2;
const HAS_PPS: u8 = 4;

impl NalCodec {
    pub(crate) fn header_len(self) -> usize {
        match self {
            NalCodec::H264 => 1,
            NalCodec::H265 => 2,
        }
    }

    pub(crate) fn nal_type(self, nal: &[u8]) -> u8 {
        let b = nal.first().copied().unwrap_or(0);
        match self {
            NalCodec::H264 => b & 0x1f,
            NalCodec::H265 => (b >> 1) & 0x3f,
        }
    }

    /// Whether a NAL unit of this type makes its access unit a random access point
    /// (H.264 IDR; H.265 IRAP, types 16 to 21).
    pub(crate) fn is_key(self, t: u8) -> bool {
        match self {
            NalCodec::H264 => t == 5,
            NalCodec::H265 => (16..=21).contains(&t),
        }
    }

    /// Whether a NAL unit of this type carries picture data (H.264 1–5, H.265 0–31).
    pub(crate) fn is_vcl(self, t: u8) -> bool {
        match self {
            NalCodec::H264 => (1..=5).contains(&t),
            NalCodec::H265 => t <= 31,
        }
    }

    pub(crate) fn param_bit(self, t: u8) -> u8 {
        match (self, t) {
            (NalCodec::H264, 7) | (NalCodec::H265, 33) => HAS_SPS,
            (NalCodec::H264, 8) | (NalCodec::H265, 34) => HAS_PPS,
            (NalCodec::H265, 32) => HAS_VPS,
            _ => 0,
        }
    }

    fn aggregation_type(self) -> u8 {
        match self {
            NalCodec::H264 => 24,
            NalCodec::H265 => 48,
        }
    }

    fn fu_type(self) -> u8 {
        match self {
            NalCodec::H264 => 28,
            NalCodec::H265 => 49,
        }
    }

    /// Bytes before the fragment data in a fragmentation unit.
    fn fu_overhead(self) -> usize {
        self.header_len() + 1
    }
}

/// An FU being reassembled: where its length prefix sits in the AU buffer.
#[derive(Debug, Clone, Copy)]
struct FuState {
    prefix_at: usize,
}

/// Depacketizer core.
#[derive(Debug)]
pub(crate) struct NalDepacketizer {
    codec: NalCodec,
    cfg: DepacketizerConfig,
    seq: SeqState,
    au: BytesMut,
    au_ts: Option<u32>,
    au_lost: bool,
    au_key: bool,
    au_params: u8,
    /// The access unit holds a picture (a VCL NAL unit).
    au_vcl: bool,
    fu: Option<FuState>,
    /// Out-of-band parameter sets (sprop-*), in decoding order.
    params: Vec<Bytes>,
    params_delivered: bool,
    /// The latest VPS, SPS and PPS seen (out of band or in band), for decoder configs.
    latest: [Option<Bytes>; 3],
    queue: FrameQueue,
}

impl NalDepacketizer {
    pub(crate) fn new(codec: NalCodec, cfg: DepacketizerConfig, params: Vec<Bytes>) -> Self {
        NalDepacketizer {
            codec,
            cfg,
            seq: SeqState::new(),
            au: BytesMut::new(),
            au_ts: None,
            au_lost: false,
            au_key: false,
            au_params: 0,
            au_vcl: false,
            fu: None,
            latest: Self::latest_from(codec, &params),
            params,
            params_delivered: false,
            queue: FrameQueue::new(),
        }
    }

    fn latest_from(codec: NalCodec, params: &[Bytes]) -> [Option<Bytes>; 3] {
        let mut latest: [Option<Bytes>; 3] = [None, None, None];
        for p in params {
            if let Some(i) = Self::slot(codec.param_bit(codec.nal_type(p))) {
                latest[i] = Some(p.clone());
            }
        }
        latest
    }

    fn slot(bit: u8) -> Option<usize> {
        match bit {
            HAS_VPS => Some(0),
            HAS_SPS => Some(1),
            HAS_PPS => Some(2),
            _ => None,
        }
    }

    /// The latest (VPS,) SPS and PPS seen, in that order.
    pub(crate) fn parameter_sets(&self) -> [Option<Bytes>; 3] {
        self.latest.clone()
    }

    pub(crate) fn push_payload(
        &mut self,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), Error> {
        let check = self.seq.check(seq);
        if check == SeqCheck::Stale {
            tracing::trace!(seq, "stale RTP packet ignored");
            return Ok(());
        }
        let gap = check == SeqCheck::Gap;
        if gap {
            // Whatever was lost may belong to the access unit being built.
            self.drop_fu();
            self.au_lost = true;
        }
        if self.au_ts.is_some_and(|t| t != ts) {
            // A new timestamp ends the previous access unit even without a marker
            // (senders that never set it; a lost marker packet).
            self.finish_au();
        }
        if gap {
            // …or the beginning of this one.
            self.au_lost = true;
        }
        self.au_ts = Some(ts);
        let res = self.handle(&payload);
        if res.is_err() {
            self.drop_fu();
            self.au_lost = true;
        }
        if marker {
            self.finish_au();
        }
        res
    }

    pub(crate) fn pull(&mut self) -> Option<weir_media::Frame> {
        self.queue.pop()
    }

    pub(crate) fn flush(&mut self) {
        if self.au_ts.is_some() {
            // The access unit never got its marker: its end may be missing.
            self.au_lost = true;
        }
        self.finish_au();
    }

    fn handle(&mut self, p: &Bytes) -> Result<(), Error> {
        let hl = self.codec.header_len();
        if p.len() < hl {
            return Err(truncated("NAL payload header", 0, hl, p.len()));
        }
        let t = self.codec.nal_type(p);
        match (self.codec, t) {
            (NalCodec::H264, 1..=23) | (NalCodec::H265, 0..=47) => {
                self.end_unfinished_fu();
                self.append_nal(p)
            }
            (NalCodec::H264, 24) | (NalCodec::H265, 48) => {
                self.end_unfinished_fu();
                self.aggregation(p)
            }
            (NalCodec::H264, 28) | (NalCodec::H265, 49) => self.fragment(p),
            (NalCodec::H264, _) => Err(invalid(
                "H.264 NAL unit type",
                u64::from(t),
                "not allowed in packetization-mode 0 or 1 (STAP-B, MTAP, FU-B need interleaved mode)",
            )),
            (NalCodec::H265, _) => Err(invalid(
                "H.265 NAL unit type",
                u64::from(t),
                "PACI and undefined types are not supported",
            )),
        }
    }

    /// A single NAL unit packet arrived while an FU was open: its end was lost.
    fn end_unfinished_fu(&mut self) {
        if self.fu.is_some() {
            self.drop_fu();
            self.au_lost = true;
        }
    }

    fn drop_fu(&mut self) {
        if let Some(fu) = self.fu.take() {
            self.au.truncate(fu.prefix_at);
        }
    }

    fn check_room(&self, extra: usize) -> Result<(), Error> {
        let total = self.au.len().saturating_add(extra);
        if total > self.cfg.max_frame_size {
            return Err(limit_error(
                "access unit size",
                self.cfg.max_frame_size,
                total,
            ));
        }
        Ok(())
    }

    /// Keeps a copy of an in-band parameter set when it differs from the last one (so a
    /// stream repeating the same sets costs no allocation).
    fn remember_param(&mut self, t: u8, nal: &[u8]) {
        if let Some(i) = Self::slot(self.codec.param_bit(t)) {
            if self.latest[i].as_deref() != Some(nal) {
                self.latest[i] = Some(Bytes::copy_from_slice(nal));
            }
        }
    }

    fn note_type(&mut self, t: u8) {
        self.au_vcl |= self.codec.is_vcl(t);
        self.au_key |= self.codec.is_key(t);
        self.au_params |= self.codec.param_bit(t);
    }

    fn append_nal(&mut self, nal: &[u8]) -> Result<(), Error> {
        if nal.is_empty() {
            return Ok(());
        }
        let len = u32::try_from(nal.len())
            .map_err(|_| limit_error("NAL unit size", u32::MAX as usize, nal.len()))?;
        self.check_room(nal.len() + 4)?;
        let t = self.codec.nal_type(nal);
        self.note_type(t);
        self.remember_param(t, nal);
        self.au.put_u32(len);
        self.au.extend_from_slice(nal);
        Ok(())
    }

    /// STAP-A (RFC 6184 5.7.1) / AP (RFC 7798 4.4.2, DONL absent): 16-bit size + NAL unit,
    /// repeated.
    fn aggregation(&mut self, p: &Bytes) -> Result<(), Error> {
        let mut pos = self.codec.header_len();
        while pos < p.len() {
            let size_bytes = p
                .get(pos..pos + 2)
                .ok_or_else(|| truncated("aggregation unit size", pos, 2, p.len() - pos))?;
            let size = usize::from(u16::from_be_bytes([size_bytes[0], size_bytes[1]]));
            pos += 2;
            let nal = p
                .get(pos..pos + size)
                .ok_or_else(|| truncated("aggregated NAL unit", pos, size, p.len() - pos))?;
            self.append_nal(nal)?;
            pos += size;
        }
        Ok(())
    }

    /// FU-A (RFC 6184 5.8) / FU (RFC 7798 4.4.3).
    fn fragment(&mut self, p: &Bytes) -> Result<(), Error> {
        let hl = self.codec.header_len();
        let fu_header = *p.get(hl).ok_or_else(|| truncated("FU header", hl, 1, 0))?;
        let start = fu_header & 0x80 != 0;
        let end = fu_header & 0x40 != 0;
        let data = p.get(hl + 1..).unwrap_or(&[]);
        if start {
            if self.fu.is_some() {
                // A new start before the previous end: the end was lost.
                self.end_unfinished_fu();
            }
            self.check_room(4 + hl + data.len())?;
            let prefix_at = self.au.len();
            self.au.put_u32(0);
            match self.codec {
                NalCodec::H264 => {
                    let t = fu_header & 0x1f;
                    self.au.put_u8((p[0] & 0xe0) | t);
                    self.note_type(t);
                }
                NalCodec::H265 => {
                    let t = fu_header & 0x3f;
                    self.au.put_u8((p[0] & 0x81) | (t << 1));
                    self.au.put_u8(p[1]);
                    self.note_type(t);
                }
            }
            self.fu = Some(FuState { prefix_at });
        } else if self.fu.is_none() {
            // A middle or end fragment whose start was lost: nothing to attach it to.
            self.au_lost = true;
            tracing::trace!("FU fragment without its start dropped");
            return Ok(());
        } else {
            self.check_room(data.len())?;
        }
        self.au.extend_from_slice(data);
        if end {
            if let Some(fu) = self.fu.take() {
                let len = self.au.len() - fu.prefix_at - 4;
                let len = u32::try_from(len)
                    .map_err(|_| limit_error("NAL unit size", u32::MAX as usize, len))?;
                self.au[fu.prefix_at..fu.prefix_at + 4].copy_from_slice(&len.to_be_bytes());
                let start = fu.prefix_at + 4;
                let t = self.codec.nal_type(&self.au[start..]);
                if self.codec.param_bit(t) != 0 {
                    let nal = Bytes::copy_from_slice(&self.au[start..]);
                    self.remember_param(t, &nal);
                }
            }
        }
        Ok(())
    }

    fn finish_au(&mut self) {
        self.end_unfinished_fu();
        let Some(ts) = self.au_ts.take() else {
            self.reset_au();
            return;
        };
        let ticks = self.seq.extend_ts(ts);
        if !self.au_vcl && !self.au_lost && !self.au.is_empty() && self.au.len() <= MAX_CARRY {
            // Camera quirk: parameter sets (or SEI/AUD) sent with a timestamp of their own
            // and a marker bit. A "frame" without a picture would confuse every consumer,
            // so carry these NAL units into the next access unit.
            tracing::trace!(
                ts,
                bytes = self.au.len(),
                "picture-less access unit carried forward"
            );
            self.fu = None;
            return;
        }
        if self.au.is_empty() {
            if self.au_lost {
                tracing::debug!(ts, "access unit lost entirely");
            }
            self.reset_au();
            return;
        }
        let needed = match self.codec {
            NalCodec::H264 => HAS_SPS | HAS_PPS,
            NalCodec::H265 => HAS_VPS | HAS_SPS | HAS_PPS,
        };
        let data = if self.au_key
            && !self.params_delivered
            && self.au_params & needed != needed
            && !self.params.is_empty()
        {
            // RFC 6184 8.4 / RFC 7798 7.2: sprop parameter sets come out of band; a decoder
            // fed only the RTP stream needs them before the first keyframe.
            let extra: usize = self.params.iter().map(|p| p.len() + 4).sum();
            let mut out = BytesMut::with_capacity(extra + self.au.len());
            for p in &self.params {
                let t = self.codec.nal_type(p);
                if self.au_params & self.codec.param_bit(t) == 0 {
                    out.put_u32(p.len() as u32);
                    out.extend_from_slice(p);
                }
            }
            out.extend_from_slice(&self.au);
            self.au.clear();
            self.params_delivered = true;
            out.freeze()
        } else {
            if self.au_params & HAS_SPS != 0 {
                self.params_delivered = true;
            }
            self.au.split().freeze()
        };
        let frame = make_frame(&self.cfg, ticks, data, self.au_key, self.au_lost);
        self.queue.push(&self.cfg, frame);
        self.reset_au();
    }

    fn reset_au(&mut self) {
        self.au.clear();
        self.au_lost = false;
        self.au_key = false;
        self.au_params = 0;
        self.au_vcl = false;
        self.fu = None;
    }
}

/// Packetizer core.
#[derive(Debug)]
pub(crate) struct NalPacketizer {
    codec: NalCodec,
    emitter: Emitter,
    /// H.264 packetization-mode 0: single NAL unit packets only.
    single_only: bool,
    /// Parameter sets from the track config, prepended to keyframes that lack them.
    params: Vec<Bytes>,
    inject_params: bool,
    nals: Vec<Bytes>,
}

impl NalPacketizer {
    pub(crate) fn new(
        codec: NalCodec,
        cfg: PacketizerConfig,
        single_only: bool,
        params: Vec<Bytes>,
    ) -> Self {
        NalPacketizer {
            codec,
            emitter: Emitter::new(cfg),
            single_only,
            params,
            inject_params: true,
            nals: Vec::new(),
        }
    }

    pub(crate) fn set_inject_params(&mut self, inject: bool) {
        self.inject_params = inject;
    }

    pub(crate) fn next_seq(&self) -> u16 {
        self.emitter.next_seq()
    }

    pub(crate) fn packetize(
        &mut self,
        frame: &weir_media::Frame,
        out: &mut Vec<Bytes>,
    ) -> Result<(), Error> {
        let max = self.emitter.max_payload(self.codec.fu_overhead() + 1)?;
        self.nals.clear();
        let mut present = 0u8;
        for nal in length_prefixed_nalus(&frame.data, CANONICAL_LENGTH_SIZE)
            .map_err(|_| invalid("NAL length size", 4, "invalid"))?
        {
            let nal = nal.map_err(|e| match e {
                weir_media::Error::NalTruncated {
                    offset,
                    declared,
                    available,
                } => truncated("length-prefixed NAL unit", offset, declared, available),
                _ => invalid("frame data", 0, "not length-prefixed NAL units"),
            })?;
            if nal.len() < self.codec.header_len() {
                continue;
            }
            present |= self.codec.param_bit(self.codec.nal_type(&nal));
            self.nals.push(nal);
        }
        if self.inject_params && frame.keyframe && present & HAS_SPS == 0 && !self.params.is_empty()
        {
            let missing: Vec<Bytes> = self
                .params
                .iter()
                .filter(|p| present & self.codec.param_bit(self.codec.nal_type(p)) == 0)
                .cloned()
                .collect();
            self.nals.splice(0..0, missing);
        }
        let total: usize = self.nals.iter().map(|n| n.len() + 16).sum();
        self.emitter.begin_frame(frame.pts, total);
        let res = self.emit_all(max);
        match res {
            Ok(()) => {
                self.emitter.set_marker();
                self.emitter.finish_frame(out);
                Ok(())
            }
            Err(e) => {
                self.emitter.abort_frame();
                Err(e)
            }
        }
    }

    fn emit_all(&mut self, max: usize) -> Result<(), Error> {
        let nals = std::mem::take(&mut self.nals);
        let mut res = Ok(());
        let mut i = 0;
        while i < nals.len() {
            let nal = &nals[i];
            if nal.len() > max {
                if self.single_only {
                    res = Err(limit_error(
                        "NAL unit size in packetization-mode 0",
                        max,
                        nal.len(),
                    ));
                    break;
                }
                self.fragment(nal, max);
                i += 1;
                continue;
            }
            // Greedy aggregation of the following NAL units that fit (mode 1 only).
            let mut j = i;
            if !self.single_only {
                let mut size = self.codec.header_len() + 2 + nal.len();
                while let Some(next) = nals.get(j + 1) {
                    let grown = size + 2 + next.len();
                    if grown > max {
                        break;
                    }
                    size = grown;
                    j += 1;
                }
            }
            if j == i {
                self.emitter.begin_packet();
                self.emitter.put_slice(nal);
            } else {
                self.aggregate(&nals[i..=j]);
            }
            i = j + 1;
        }
        self.nals = nals;
        res
    }

    fn aggregate(&mut self, group: &[Bytes]) {
        self.emitter.begin_packet();
        match self.codec {
            NalCodec::H264 => {
                // F is the OR, NRI the maximum of the aggregated units (RFC 6184 5.7).
                let f = group.iter().fold(0, |a, n| a | (n[0] & 0x80));
                let nri = group.iter().fold(0, |a, n| a.max(n[0] & 0x60));
                self.emitter.put_u8(f | nri | self.codec.aggregation_type());
            }
            NalCodec::H265 => {
                // F is the OR, LayerId and TID the minimum (RFC 7798 4.4.2).
                let f = group.iter().fold(0, |a, n| a | (n[0] & 0x80));
                let layer = group
                    .iter()
                    .map(|n| ((n[0] & 1) << 5) | (n[1] >> 3))
                    .min()
                    .unwrap_or(0);
                let tid = group.iter().map(|n| n[1] & 7).min().unwrap_or(1);
                self.emitter
                    .put_u8(f | (self.codec.aggregation_type() << 1) | (layer >> 5));
                self.emitter.put_u8(((layer & 0x1f) << 3) | tid);
            }
        }
        for n in group {
            self.emitter.put_u16(n.len() as u16);
            self.emitter.put_slice(n);
        }
    }

    fn fragment(&mut self, nal: &Bytes, max: usize) {
        let hl = self.codec.header_len();
        let chunk = max - self.codec.fu_overhead();
        let body = &nal[hl..];
        let t = self.codec.nal_type(nal);
        let mut pos = 0;
        while pos < body.len() {
            let end = (pos + chunk).min(body.len());
            self.emitter.begin_packet();
            match self.codec {
                NalCodec::H264 => {
                    self.emitter.put_u8((nal[0] & 0xe0) | self.codec.fu_type());
                }
                NalCodec::H265 => {
                    self.emitter
                        .put_u8((nal[0] & 0x81) | (self.codec.fu_type() << 1));
                    self.emitter.put_u8(nal[1]);
                }
            }
            let mut h = t;
            if pos == 0 {
                h |= 0x80;
            }
            if end == body.len() {
                h |= 0x40;
            }
            self.emitter.put_u8(h);
            self.emitter.put_slice(&body[pos..end]);
            pos = end;
        }
    }
}

/// Reads a 16-bit length + unit list as found in avcC/hvcC.
fn read_units(
    cfg: &Bytes,
    pos: &mut usize,
    count: usize,
    out: &mut Vec<Bytes>,
) -> Result<(), Error> {
    for _ in 0..count {
        let l = cfg.get(*pos..*pos + 2).ok_or_else(|| {
            truncated(
                "parameter set length",
                *pos,
                2,
                cfg.len().saturating_sub(*pos),
            )
        })?;
        let l = usize::from(u16::from_be_bytes([l[0], l[1]]));
        *pos += 2;
        if cfg.len() < *pos + l {
            return Err(truncated("parameter set", *pos, l, cfg.len() - *pos));
        }
        out.push(cfg.slice(*pos..*pos + l));
        *pos += l;
    }
    Ok(())
}

/// The SPS and PPS units of an `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 5.3.3.1).
pub(crate) fn avcc_parameter_sets(cfg: &Bytes) -> Result<Vec<Bytes>, Error> {
    if cfg.len() < 6 {
        return Err(truncated("avcC", 0, 6, cfg.len()));
    }
    if cfg[0] != 1 {
        return Err(invalid(
            "avcC configurationVersion",
            u64::from(cfg[0]),
            "must be 1",
        ));
    }
    let mut out = Vec::new();
    let mut pos = 6;
    read_units(cfg, &mut pos, usize::from(cfg[5] & 0x1f), &mut out)?;
    let n = *cfg
        .get(pos)
        .ok_or_else(|| truncated("avcC numOfPictureParameterSets", pos, 1, 0))?;
    pos += 1;
    read_units(cfg, &mut pos, usize::from(n), &mut out)?;
    Ok(out)
}

/// The VPS, SPS and PPS units of an `HEVCDecoderConfigurationRecord` (ISO/IEC 14496-15
/// 8.3.3.1), in that order.
pub(crate) fn hvcc_parameter_sets(cfg: &Bytes) -> Result<Vec<Bytes>, Error> {
    if cfg.len() < 23 {
        return Err(truncated("hvcC", 0, 23, cfg.len()));
    }
    let mut arrays = Vec::new();
    let mut pos = 23;
    for _ in 0..cfg[22] {
        let hdr = cfg
            .get(pos..pos + 3)
            .ok_or_else(|| truncated("hvcC array", pos, 3, cfg.len().saturating_sub(pos)))?;
        let t = hdr[0] & 0x3f;
        let n = usize::from(u16::from_be_bytes([hdr[1], hdr[2]]));
        pos += 3;
        let mut units = Vec::new();
        read_units(cfg, &mut pos, n, &mut units)?;
        if (32..=34).contains(&t) {
            arrays.push((t, units));
        }
    }
    arrays.sort_by_key(|(t, _)| *t);
    Ok(arrays.into_iter().flat_map(|(_, u)| u).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avcc() {
        let cfg = Bytes::from_static(&[
            1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 3, 0x67, 0x42, 0xc0, 1, 0, 2, 0x68, 0xce,
        ]);
        let p = avcc_parameter_sets(&cfg).unwrap();
        assert_eq!(
            p,
            vec![
                Bytes::from_static(&[0x67, 0x42, 0xc0]),
                Bytes::from_static(&[0x68, 0xce])
            ]
        );
        assert!(avcc_parameter_sets(&cfg.slice(..10)).is_err());
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;
    use crate::payload::{Depacketizer as _, Packetizer as _};
    use crate::RtpPacket;
    use weir_media::{Frame, Timebase, Timestamp, TrackId};

    fn frame(nals: &[&[u8]]) -> Frame {
        let mut d = BytesMut::new();
        for n in nals {
            d.put_u32(n.len() as u32);
            d.extend_from_slice(n);
        }
        let ts = Timestamp::new(90_000, Timebase::MPEG);
        Frame::new(TrackId(0), ts, ts, d.freeze())
    }

    #[test]
    fn fu_a_headers_per_rfc6184_5_8() {
        // IDR with NRI 3 (0x65), 10 body bytes, 4 body bytes per fragment at MTU 12+2+4.
        let body: Vec<u8> = (1..=10).collect();
        let mut nal = vec![0x65];
        nal.extend_from_slice(&body);
        let mut p = crate::payload::h264::H264Packetizer::with_parameter_sets(
            PacketizerConfig::new(90_000).with_mtu(18),
            Vec::new(),
            crate::payload::h264::PacketizationMode::NonInterleaved,
        );
        let mut out = Vec::new();
        p.packetize(&frame(&[&nal]), &mut out).unwrap();
        let payloads: Vec<Vec<u8>> = out
            .iter()
            .map(|b| RtpPacket::parse(b.clone()).unwrap().payload().to_vec())
            .collect();
        assert_eq!(
            payloads,
            vec![
                vec![0x7c, 0x85, 1, 2, 3, 4], // FU indicator: NRI 3, type 28; S=1, type 5
                vec![0x7c, 0x05, 5, 6, 7, 8],
                vec![0x7c, 0x45, 9, 10], // E=1
            ]
        );
        let markers: Vec<bool> = out
            .iter()
            .map(|b| RtpPacket::parse(b.clone()).unwrap().marker())
            .collect();
        assert_eq!(markers, vec![false, false, true]);
        // All packets of the frame carry 90 000 (1 s) on the 90 kHz clock.
        assert!(out
            .iter()
            .all(|b| RtpPacket::parse(b.clone()).unwrap().timestamp() == 90_000));
    }

    #[test]
    fn camera_quirk_parameter_sets_with_their_own_timestamp() {
        // Some IP cameras send SPS and PPS as separate packets with the marker bit set and
        // an older timestamp than the IDR that follows. They must not become a frame of
        // their own.
        let mut d = crate::payload::h264::H264Depacketizer::new(DepacketizerConfig::new(90_000));
        d.push_payload(10, 1000, true, Bytes::from_static(&[0x67, 0x42]))
            .unwrap();
        d.push_payload(11, 1000, true, Bytes::from_static(&[0x68, 0xce]))
            .unwrap();
        assert!(d.pull().is_none());
        d.push_payload(12, 4000, true, Bytes::from_static(&[0x65, 0x88]))
            .unwrap();
        let f = d.pull().unwrap();
        assert_eq!(
            &f.data[..],
            &[0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 2, 0x68, 0xce, 0, 0, 0, 2, 0x65, 0x88]
        );
        assert!(f.keyframe && !f.incomplete);
        assert_eq!(f.pts.ticks(), 4000);
        assert!(d.pull().is_none());
    }

    #[test]
    fn stap_a_and_h265_ap_fu_layout() {
        let mut d = crate::payload::h264::H264Depacketizer::new(DepacketizerConfig::new(90_000));
        // STAP-A (RFC 6184 5.7.1): F|NRI|24, then size/NAL pairs.
        let stap =
            Bytes::from_static(&[0x78, 0, 2, 0x67, 0xaa, 0, 2, 0x68, 0xbb, 0, 3, 0x65, 1, 2]);
        d.push_payload(1, 0, true, stap).unwrap();
        let f = d.pull().unwrap();
        assert_eq!(
            &f.data[..],
            &[0, 0, 0, 2, 0x67, 0xaa, 0, 0, 0, 2, 0x68, 0xbb, 0, 0, 0, 3, 0x65, 1, 2]
        );
        assert!(f.keyframe);
        // A truncated aggregation unit is an error, the frame is flagged.
        assert!(d
            .push_payload(2, 3000, false, Bytes::from_static(&[0x78, 0, 9, 0x41]))
            .is_err());
        d.push_payload(3, 3000, true, Bytes::from_static(&[0x41, 7]))
            .unwrap();
        let f = d.pull().unwrap();
        assert!(f.incomplete);
        assert_eq!(&f.data[..], &[0, 0, 0, 2, 0x41, 7]);

        // H.265 FU (RFC 7798 4.4.3): PayloadHdr type 49 keeps F/LayerId/TID, FU header
        // S|E|type.
        let mut d = crate::payload::h265::H265Depacketizer::new(DepacketizerConfig::new(90_000));
        d.push_payload(1, 0, false, Bytes::from_static(&[0x62, 0x01, 0x93, 0xaa]))
            .unwrap();
        d.push_payload(2, 0, true, Bytes::from_static(&[0x62, 0x01, 0x53, 0xbb]))
            .unwrap();
        let f = d.pull().unwrap();
        assert_eq!(&f.data[..], &[0, 0, 0, 4, 0x26, 0x01, 0xaa, 0xbb]); // IDR_W_RADL (19)
        assert!(f.keyframe);
    }
}
