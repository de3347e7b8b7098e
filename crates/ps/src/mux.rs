//! The program stream muxer.

use bytes::{BufMut, Bytes, BytesMut};
use weir_media::{Codec, Frame, MediaKind, Timebase, TrackId, TrackInfo};
use weir_mpegts::pes::{pes_header_len, write_pes_header, TIMESTAMP_MASK};
use weir_mpegts::stream_type;

use crate::psm::{write_pack_header, write_system_header, Psm, PsmEntry};
use crate::Error;

/// Muxer settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PsMuxConfig {
    /// program_mux_rate / rate_bound in units of 50 bytes/s (default 50 000 = 20 Mbit/s).
    pub mux_rate: u32,
    /// Largest PES_packet_length written (at most 65535, §2.4.3.7); frames that do not fit
    /// are split over several PES packets, only the first carrying PTS/DTS.
    pub max_pes_length: u16,
    /// Write the system header and PSM before every video keyframe (as GB28181 devices do),
    /// not only before the first frame.
    pub headers_on_keyframe: bool,
    /// Insert an access unit delimiter into H.264/H.265 frames that lack one.
    pub insert_aud: bool,
}

impl Default for PsMuxConfig {
    fn default() -> PsMuxConfig {
        PsMuxConfig {
            mux_rate: 50_000,
            max_pes_length: 65_535,
            headers_on_keyframe: true,
            insert_aud: false,
        }
    }
}

#[derive(Debug)]
struct PsTrack {
    info: TrackInfo,
    stream_id: u8,
    stream_type: u8,
    asc: Option<weir_aac::AudioSpecificConfig>,
}

/// Sans-IO MPEG program stream muxer.
///
/// Each [`PsMuxer::write_frame`] call appends exactly the bytes of one frame: a pack
/// header, on keyframes (and the first frame) a system header and the program stream map,
/// then the frame's PES packets. That is the unit GB/T 28181 carries over RTP: the
/// packetizer (`weir-rtp-rtcp`'s PS payload format) splits the bytes of one call into
/// packets of at most the MTU, all with the frame's PTS as the 90 kHz RTP timestamp, and
/// sets the marker bit on the last one.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
/// use weir_ps::{PsDemuxer, Event, PsMuxer};
/// let video = TrackInfo::new(TrackId(0), Codec::H264, 90_000);
/// let mut mux = PsMuxer::new(&[video], Default::default())?;
/// let mut out = BytesMut::new();
/// let t = Timestamp::new(3600, Timebase::MPEG);
/// let idr = Bytes::from_static(&[0, 0, 0, 3, 0x65, 0x88, 0x84]);
/// mux.write_frame(&Frame::new(TrackId(0), t, t, idr.clone()).with_keyframe(true), &mut out)?;
/// assert_eq!(&out[..4], &[0, 0, 1, 0xBA]);
///
/// let mut demux = PsDemuxer::new();
/// demux.push(&out);
/// demux.flush();
/// let frame = std::iter::from_fn(|| demux.poll_event())
///     .find_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
///     .unwrap();
/// assert_eq!(frame.data, idr);
/// assert_eq!(frame.pts.ticks(), 3600);
/// # Ok::<(), weir_ps::Error>(())
/// ```
#[derive(Debug)]
pub struct PsMuxer {
    cfg: PsMuxConfig,
    tracks: Vec<PsTrack>,
    scratch: BytesMut,
    psm_version: u8,
    first: bool,
    /// System header + PSM, built once.
    headers: Bytes,
}

const AUD_H264: &[u8] = &[0, 0, 0, 1, 0x09, 0xF0];
const AUD_H265: &[u8] = &[0, 0, 0, 1, 0x46, 0x01, 0x50];

impl PsMuxer {
    /// A muxer for `tracks`: video streams get stream ids from 0xE0, audio from 0xC0.
    ///
    /// # Errors
    /// [`Error::UnsupportedCodec`]; [`Error::TooManyStreams`] for none or more than 16.
    pub fn new(tracks: &[TrackInfo], cfg: PsMuxConfig) -> Result<PsMuxer, Error> {
        if tracks.is_empty() || tracks.len() > 16 {
            return Err(Error::TooManyStreams { limit: 16 });
        }
        let (mut v, mut a) = (0xE0u8, 0xC0u8);
        let mut out = Vec::new();
        for t in tracks {
            let st = type_of(t)?;
            let id = if t.codec.kind() == MediaKind::Video {
                v += 1;
                v - 1
            } else {
                a += 1;
                a - 1
            };
            out.push(PsTrack {
                info: t.clone(),
                stream_id: id,
                stream_type: st,
                asc: asc_of(t),
            });
        }
        let mut m = PsMuxer {
            cfg,
            tracks: out,
            scratch: BytesMut::new(),
            psm_version: 0,
            first: true,
            headers: Bytes::new(),
        };
        let ids: Vec<(u8, bool)> = m
            .tracks
            .iter()
            .map(|t| (t.stream_id, t.info.codec.kind() == MediaKind::Video))
            .collect();
        let mut headers = BytesMut::new();
        write_system_header(&mut headers, m.cfg.mux_rate, &ids);
        m.psm().write(&mut headers);
        m.headers = headers.freeze();
        Ok(m)
    }

    /// The PES stream_id a track is carried on (the demuxer reports it as the track id).
    pub fn stream_id_of(&self, track: TrackId) -> Option<u8> {
        self.tracks
            .iter()
            .find(|t| t.info.id == track)
            .map(|t| t.stream_id)
    }

    /// The program stream map this muxer writes.
    pub fn psm(&self) -> Psm {
        Psm {
            version: self.psm_version,
            current: true,
            info: Bytes::new(),
            streams: self
                .tracks
                .iter()
                .map(|t| PsmEntry {
                    stream_type: t.stream_type,
                    stream_id: t.stream_id,
                    descriptors: Bytes::new(),
                })
                .collect(),
            crc_ok: true,
        }
    }

    /// Appends one frame (see the type docs for the layout).
    ///
    /// # Errors
    /// [`Error::UnknownTrack`]; [`Error::InvalidFrame`] for an H.264/H.265 payload that is
    /// not length-prefixed NAL units or an AAC frame that cannot get an ADTS header.
    pub fn write_frame(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), Error> {
        let idx = self
            .tracks
            .iter()
            .position(|t| t.info.id == frame.track)
            .ok_or(Error::UnknownTrack { track: frame.track })?;
        self.scratch.clear();
        self.build_es(idx, frame)?;
        let t = &self.tracks[idx];
        let is_video = t.info.codec.kind() == MediaKind::Video;
        let pts = frame.pts.rescale(Timebase::MPEG).ticks() as u64 & TIMESTAMP_MASK;
        let dts = frame.dts.rescale(Timebase::MPEG).ticks() as u64 & TIMESTAMP_MASK;
        out.reserve(self.scratch.len() + 64 + self.scratch.len() / 65_000 * 16);
        write_pack_header(out, dts, self.cfg.mux_rate);
        if self.first || (self.cfg.headers_on_keyframe && is_video && frame.keyframe) {
            out.put_slice(&self.headers);
            self.first = false;
        }
        let stream_id = t.stream_id;
        let max_len = usize::from(self.cfg.max_pes_length.max(64));
        let es = &self.scratch[..];
        let mut pos = 0;
        let mut first = true;
        loop {
            let (p, d) = if first {
                (Some(pts), (is_video && dts != pts).then_some(dts))
            } else {
                (None, None)
            };
            let hlen = pes_header_len(p, d);
            let room = max_len - (hlen - 6);
            let take = (es.len() - pos).min(room);
            write_pes_header(out, stream_id, p, d, take);
            out.put_slice(&es[pos..pos + take]);
            pos += take;
            first = false;
            if pos >= es.len() {
                return Ok(());
            }
        }
    }

    fn build_es(&mut self, idx: usize, frame: &Frame) -> Result<(), Error> {
        let t = &self.tracks[idx];
        let codec = t.info.codec;
        let data = &frame.data;
        let invalid = |what| Error::InvalidFrame {
            track: frame.track,
            codec,
            what,
        };
        match codec {
            Codec::H264 | Codec::H265 => {
                let first = data.get(4).map(|&h| {
                    if codec == Codec::H264 {
                        h & 0x1F
                    } else {
                        (h >> 1) & 0x3F
                    }
                });
                let has_aud = matches!(
                    (codec, first),
                    (Codec::H264, Some(9)) | (Codec::H265, Some(35))
                );
                if self.cfg.insert_aud && !has_aud {
                    self.scratch.put_slice(if codec == Codec::H264 {
                        AUD_H264
                    } else {
                        AUD_H265
                    });
                }
                self.scratch.reserve(data.len());
                let mut pos = 0usize;
                while pos < data.len() {
                    let pre = data
                        .get(pos..pos + 4)
                        .ok_or(invalid("truncated NAL length prefix"))?;
                    let n = u32::from_be_bytes([pre[0], pre[1], pre[2], pre[3]]) as usize;
                    let end = (pos + 4)
                        .checked_add(n)
                        .filter(|&e| e <= data.len())
                        .ok_or(invalid("NAL unit runs past the end"))?;
                    self.scratch.put_slice(&[0, 0, 0, 1]);
                    self.scratch.put_slice(&data[pos + 4..end]);
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
                h.write(&mut self.scratch);
                self.scratch.put_slice(data);
            }
            _ => self.scratch.put_slice(data),
        }
        Ok(())
    }
}

fn asc_of(t: &TrackInfo) -> Option<weir_aac::AudioSpecificConfig> {
    if t.codec != Codec::Aac {
        return None;
    }
    if let Ok(a) = weir_aac::AudioSpecificConfig::parse(&t.config) {
        return Some(a);
    }
    let a = t.audio?;
    weir_aac::AudioSpecificConfig::lc(a.sample_rate, a.channels).ok()
}

fn type_of(t: &TrackInfo) -> Result<u8, Error> {
    Ok(match t.codec {
        Codec::H264 => stream_type::H264,
        Codec::H265 => stream_type::H265,
        Codec::Aac => stream_type::AAC_ADTS,
        Codec::G711A => stream_type::G711A,
        Codec::G711U => stream_type::G711U,
        Codec::MpegAudio => match t.audio {
            Some(a) if a.sample_rate < 32_000 => stream_type::MPEG2_AUDIO,
            _ => stream_type::MPEG1_AUDIO,
        },
        codec => return Err(Error::UnsupportedCodec { codec }),
    })
}
