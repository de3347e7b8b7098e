//! Fragmented MP4 / CMAF (ISO/IEC 14496-12 §8.8, ISO/IEC 23000-19): an init segment
//! (`ftyp` + `moov` with `mvex`) and fragments (`moof` + `mdat`), optionally preceded by
//! `styp` and `sidx`.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use weir_media::{Frame, Timestamp};

use super::moov::{empty_tables, file_type, write_moov, TrakSpec};
use super::{movie_timescale, sample_flags, setup_tracks, track_index, TrackState};
use crate::boxes::{kind, BoxWriter};
use crate::entry::ParameterSets;
use crate::error::{Error, Result};

/// Settings of a [`FragmentedMuxer`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FragmentConfig {
    /// `avc1`/`hvc1` (default) or `avc3`/`hev1` sample entries.
    pub parameter_sets: ParameterSets,
    /// Start each fragment with an `styp` box, making it a CMAF/DASH media segment
    /// (brands `msdh`, `msix`, `cmfs`). Off by default: recordings and LL-HLS parts do not
    /// need it; a caller that wants `styp` on some fragments only can prepend
    /// [`FragmentedMuxer::styp`] itself.
    pub styp: bool,
    /// Put a `sidx` (§8.16.3) before each `moof`, indexing that one fragment.
    pub sidx: bool,
    /// `mvhd` timescale; `None` = the tracks' common timescale, or 1000.
    pub movie_timescale: Option<u32>,
    /// Most samples held across all tracks between flushes; a push beyond it is an error.
    pub max_buffered_samples: usize,
}

impl Default for FragmentConfig {
    fn default() -> FragmentConfig {
        FragmentConfig {
            parameter_sets: ParameterSets::OutOfBand,
            styp: false,
            sidx: false,
            movie_timescale: None,
            max_buffered_samples: 100_000,
        }
    }
}

/// When [`FragmentedMuxer::push_and_cut`] ends a fragment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cut {
    /// A fragment spans at least this much decode time of the primary track.
    pub min_duration: Duration,
    /// Cut only before keyframes of the primary track (one fragment per GOP or per group of
    /// GOPs; recordings, HTTP-fMP4). `false` cuts before any frame once `min_duration` is
    /// reached (LL-HLS parts; a part starting with a keyframe is flagged
    /// [`Fragment::independent`]).
    pub keyframes_only: bool,
}

impl Cut {
    /// Cut before the first primary-track keyframe at least `min_duration` after the
    /// fragment's start.
    pub fn at_keyframes(min_duration: Duration) -> Cut {
        Cut {
            min_duration,
            keyframes_only: true,
        }
    }

    /// Cut before the first primary-track frame at least `min_duration` after the start.
    pub fn every(min_duration: Duration) -> Cut {
        Cut {
            min_duration,
            keyframes_only: false,
        }
    }
}

#[derive(Clone, Debug)]
struct Pending {
    dts: i64,
    cto: i64,
    key: bool,
    data: Bytes,
}

/// One `moof` + `mdat` (with `styp`/`sidx` when configured), ready to send or append.
///
/// The bytes are [`header`](Fragment::header) followed by every
/// [`payload`](Fragment::payloads) in order: the frame payloads are shared, not copied.
#[derive(Clone, Debug)]
pub struct Fragment {
    /// `mfhd` sequence number (1 for the first fragment).
    pub sequence: u32,
    /// The fragment starts with a keyframe of the primary track (or has no video): a player
    /// can start decoding here. LL-HLS marks such parts `INDEPENDENT=YES`.
    pub independent: bool,
    /// Decode time of the fragment's first primary-track sample (the first track with
    /// samples when the primary track has none).
    pub start: Timestamp,
    /// `start` plus the durations of that track's samples in the fragment.
    pub end: Timestamp,
    /// Samples in the fragment, all tracks.
    pub samples: usize,
    header: Bytes,
    payloads: Vec<Bytes>,
}

impl Fragment {
    /// `styp`/`sidx` when configured, `moof`, and the `mdat` header.
    pub fn header(&self) -> &Bytes {
        &self.header
    }

    /// The `mdat` payload: the frames' data in file order.
    pub fn payloads(&self) -> &[Bytes] {
        &self.payloads
    }

    /// Total size in bytes.
    pub fn len(&self) -> u64 {
        self.header.len() as u64 + self.payloads.iter().map(|p| p.len() as u64).sum::<u64>()
    }

    /// Never true: a fragment holds at least one sample.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The fragment as one buffer (copies the payloads).
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        b.extend_from_slice(&self.header);
        for p in &self.payloads {
            b.extend_from_slice(p);
        }
        b.freeze()
    }

    /// The duration between [`start`](Fragment::start) and [`end`](Fragment::end).
    pub fn duration(&self) -> Duration {
        self.end.duration_since(self.start).unwrap_or_default()
    }
}

/// Fragmented MP4 muxer: an init segment, then fragments cut when the caller decides.
///
/// Push frames in decode order per track (tracks interleaved by time), then call
/// [`flush_fragment`](Self::flush_fragment) whenever a fragment should end — or let
/// [`push_and_cut`](Self::push_and_cut) decide by duration.
///
/// **Sample durations.** MP4 gives every sample a duration; a sample's is the distance to
/// the next sample's DTS. So the muxer keeps the newest frame of the primary track back:
/// `flush_fragment` writes every primary-track frame pushed so far except the newest,
/// which opens the next fragment, and the other tracks' frames decoded before that one.
/// Pushing the frame that should start the next fragment and then flushing therefore cuts
/// right before it, and fragments stay in decode order across tracks. A frame written
/// before its successor arrived (the last audio frame before the cut, or every track's
/// last frame in [`finish`](Self::finish)) gets the codec's frame length (AAC, Opus,
/// G.711), else the previous DTS step, else the SPS frame rate, else 1/25 s; the next
/// fragment's `tfdt` carries the true decode time either way.
///
/// Decode times are written as `tfdt` version 1 (64 bits); they must not be negative.
/// Composition offsets use `trun` version 1 (signed) when any is negative.
#[derive(Debug)]
pub struct FragmentedMuxer {
    tracks: Vec<TrackState>,
    pending: Vec<VecDeque<Pending>>,
    primary: usize,
    config: FragmentConfig,
    init: Bytes,
    sequence: u32,
    buffered: usize,
}

impl FragmentedMuxer {
    /// A muxer for `tracks` (at least one; distinct ids; codecs H.264, H.265, AAC, Opus,
    /// G.711, MJPEG). The primary track — the one whose keyframes and times decide cuts —
    /// is the first video track, else the first track.
    ///
    /// # Errors
    /// [`Error::BadTracks`], [`Error::UnsupportedCodec`], [`Error::BadConfig`] (H.264/H.265
    /// need their avcC/hvcC in `config`).
    pub fn new(
        tracks: &[weir_media::TrackInfo],
        config: FragmentConfig,
    ) -> Result<FragmentedMuxer> {
        let tracks = setup_tracks(tracks, config.parameter_sets)?;
        let primary = tracks.iter().position(TrackState::is_video).unwrap_or(0);
        let mut buf = BytesMut::with_capacity(1024);
        let mut w = BoxWriter::new(&mut buf);
        file_type(&mut w, kind::FTYP, b"iso6", &[b"iso6", b"cmfc", b"mp41"]);
        let specs: Vec<TrakSpec<'_>> = tracks
            .iter()
            .map(|t| TrakSpec {
                track: &t.mux,
                track_id: t.track_id,
                media_duration: 0,
                movie_duration: 0,
                edits: Vec::new(),
                tables: &empty_tables,
            })
            .collect();
        write_moov(
            &mut w,
            movie_timescale(&tracks, config.movie_timescale),
            0,
            &specs,
            true,
        );
        drop(specs);
        Ok(FragmentedMuxer {
            pending: vec![VecDeque::new(); tracks.len()],
            tracks,
            primary,
            config,
            init: buf.freeze(),
            sequence: 0,
            buffered: 0,
        })
    }

    /// The init segment: `ftyp` + `moov` (with `mvex`/`trex`, no samples).
    pub fn init_segment(&self) -> Bytes {
        self.init.clone()
    }

    /// The tracks as written (H.264/H.265 configs rewritten to 4-byte NAL lengths if they
    /// were not, AAC/Opus configs filled in from the audio parameters if empty).
    pub fn tracks(&self) -> Vec<weir_media::TrackInfo> {
        self.tracks.iter().map(|t| t.mux.info.clone()).collect()
    }

    /// An `styp` box for a CMAF/DASH segment (§8.16.2).
    pub fn styp() -> Bytes {
        let mut buf = BytesMut::with_capacity(28);
        file_type(
            &mut BoxWriter::new(&mut buf),
            kind::STYP,
            b"msdh",
            &[b"msdh", b"msix", b"cmfs"],
        );
        buf.freeze()
    }

    /// Queues a frame (decode order within its track).
    ///
    /// # Errors
    /// [`Error::UnknownTrack`], [`Error::NonMonotonicDts`], [`Error::NegativeDecodeTime`],
    /// [`Error::Overflow`] (payload over 4 GiB, composition offset over 32 bits),
    /// [`Error::LimitExceeded`] past [`FragmentConfig::max_buffered_samples`].
    pub fn push(&mut self, frame: Frame) -> Result<()> {
        let i = track_index(&self.tracks, &frame)?;
        if self.buffered >= self.config.max_buffered_samples {
            return Err(Error::LimitExceeded {
                what: "buffered samples",
                value: self.buffered as u64 + 1,
                limit: self.config.max_buffered_samples as u64,
            });
        }
        let t = &mut self.tracks[i];
        if u32::try_from(frame.data.len()).is_err() {
            return Err(Error::Overflow {
                track: frame.track,
                field: "sample size",
                value: frame.data.len() as i128,
            });
        }
        let timing = t.timing(&frame, false)?;
        let key = frame.keyframe || !t.is_video();
        self.pending[i].push_back(Pending {
            dts: timing.dts,
            cto: timing.cto,
            key,
            data: frame.data,
        });
        self.buffered += 1;
        Ok(())
    }

    /// Decode time buffered on the primary track: from its first queued frame to its newest.
    pub fn buffered_duration(&self) -> Duration {
        let q = &self.pending[self.primary];
        match (q.front(), q.back()) {
            (Some(a), Some(b)) => {
                let ts = u64::from(self.tracks[self.primary].mux.timescale);
                let d = u64::try_from(b.dts - a.dts).unwrap_or(0);
                Duration::from_nanos(
                    u64::try_from(u128::from(d) * 1_000_000_000 / u128::from(ts))
                        .unwrap_or(u64::MAX),
                )
            }
            _ => Duration::ZERO,
        }
    }

    /// Pushes `frame`, then, if it is on the primary track, qualifies under `cut` and the
    /// buffered frames before it span at least `cut.min_duration`, returns the fragment of
    /// everything before it (the frame opens the next fragment).
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn push_and_cut(&mut self, frame: Frame, cut: Cut) -> Result<Option<Fragment>> {
        let on_primary = frame.track == self.tracks[self.primary].mux.info.id;
        let key = frame.keyframe;
        self.push(frame)?;
        if !on_primary || (cut.keyframes_only && !key) || self.pending[self.primary].len() < 2 {
            return Ok(None);
        }
        if self.buffered_duration() < cut.min_duration {
            return Ok(None);
        }
        self.flush_fragment()
    }

    /// Writes a fragment of every queued frame except the newest of each track (see the
    /// type docs). `None` when that leaves nothing.
    pub fn flush_fragment(&mut self) -> Result<Option<Fragment>> {
        self.fragment(true)
    }

    /// Writes a fragment of every queued frame, the last ones with estimated durations.
    /// `None` when nothing is queued. The muxer stays usable: later frames continue the
    /// same timeline.
    pub fn finish(&mut self) -> Result<Option<Fragment>> {
        self.fragment(false)
    }

    fn fragment(&mut self, hold_back: bool) -> Result<Option<Fragment>> {
        // The cut: the primary track's newest frame, whose duration is not known yet, opens
        // the next fragment; other tracks contribute the frames decoded before it, so the
        // file stays in decode order across fragments.
        let cut = self.pending[self.primary].back().map(|p| {
            let t = &self.tracks[self.primary];
            Timestamp::new(p.dts, t.mux.info.timebase())
        });
        let mut runs: Vec<(usize, Vec<(Pending, u32)>)> = Vec::new();
        for (i, q) in self.pending.iter_mut().enumerate() {
            let tb = self.tracks[i].mux.info.timebase();
            let n = match (hold_back, cut) {
                (false, _) => q.len(),
                (true, Some(cut)) if i != self.primary => q
                    .iter()
                    .take_while(|p| Timestamp::new(p.dts, tb).cmp_instant(cut).is_lt())
                    .count(),
                (true, _) => q.len().saturating_sub(1),
            };
            if n == 0 {
                continue;
            }
            let mut run = Vec::with_capacity(n);
            for _ in 0..n {
                let Some(s) = q.pop_front() else { break };
                let dur = match q.front() {
                    Some(next) => u32::try_from(next.dts - s.dts).map_err(|_| Error::Overflow {
                        track: self.tracks[i].mux.info.id,
                        field: "sample duration",
                        value: i128::from(next.dts) - i128::from(s.dts),
                    })?,
                    None => self.tracks[i].fallback_duration(&s.data),
                };
                run.push((s, dur));
            }
            self.buffered -= run.len();
            runs.push((i, run));
        }
        if runs.is_empty() {
            return Ok(None);
        }
        self.sequence = self.sequence.wrapping_add(1);
        Ok(self.write(runs))
    }

    fn write(&self, runs: Vec<(usize, Vec<(Pending, u32)>)>) -> Option<Fragment> {
        let lead = runs
            .iter()
            .find(|(i, _)| *i == self.primary)
            .or_else(|| runs.first())
            .map(|(i, r)| (*i, r))?;
        let lead_track = &self.tracks[lead.0];
        let tb = lead_track.mux.info.timebase();
        let first = &lead.1.first()?.0;
        let lead_duration: u64 = lead.1.iter().map(|(_, d)| u64::from(*d)).sum();
        let start = Timestamp::new(first.dts, tb);
        let end = Timestamp::new(first.dts.saturating_add(lead_duration as i64), tb);
        let has_video = self.tracks[self.primary].is_video();
        let independent = !has_video || (lead.0 == self.primary && first.key);
        let earliest_pts = lead
            .1
            .iter()
            .map(|(s, _)| s.dts.saturating_add(s.cto))
            .min()
            .unwrap_or(0);

        let mut moof_buf =
            BytesMut::with_capacity(256 + runs.iter().map(|r| r.1.len() * 16).sum::<usize>());
        let mut w = BoxWriter::new(&mut moof_buf);
        let moof = w.open(kind::MOOF);
        let m = w.open_full(kind::MFHD, 0, 0);
        w.u32(self.sequence);
        w.close(m);
        let mut offset_fields = Vec::with_capacity(runs.len());
        for (i, run) in &runs {
            let t = &self.tracks[*i];
            let traf = w.open(kind::TRAF);
            // tfhd: default-base-is-moof (0x020000): data offsets count from the moof.
            let m = w.open_full(kind::TFHD, 0, 0x02_0000);
            w.u32(t.track_id);
            w.close(m);
            let m = w.open_full(kind::TFDT, 1, 0);
            w.u64(
                run.first()
                    .map_or(0, |s| u64::try_from(s.0.dts).unwrap_or(0)),
            );
            w.close(m);
            let any_cto = run.iter().any(|(s, _)| s.cto != 0);
            let negative = run.iter().any(|(s, _)| s.cto < 0);
            // data-offset, sample duration, size, flags, [composition offset] present.
            let flags = 0x0001 | 0x0100 | 0x0200 | 0x0400 | if any_cto { 0x0800 } else { 0 };
            let m = w.open_full(kind::TRUN, u8::from(negative), flags);
            w.u32(run.len() as u32);
            offset_fields.push(w.pos());
            w.u32(0); // data_offset, patched below
            let entry = if any_cto { 16 } else { 12 };
            for (s, dur) in run {
                let mut e = [0u8; 16];
                e[..4].copy_from_slice(&dur.to_be_bytes());
                e[4..8].copy_from_slice(&(s.data.len() as u32).to_be_bytes());
                e[8..12].copy_from_slice(&sample_flags(s.key).to_be_bytes());
                e[12..].copy_from_slice(&(s.cto as i32).to_be_bytes()); // range checked on push
                w.bytes(&e[..entry]);
            }
            w.close(m);
            w.close(traf);
        }
        w.close(moof);
        let moof_len = moof_buf.len() as u64;
        let data_len: u64 = runs
            .iter()
            .flat_map(|r| r.1.iter())
            .map(|(s, _)| s.data.len() as u64)
            .sum();
        let mdat_header_len: u64 = if data_len + 8 > u64::from(u32::MAX) {
            16
        } else {
            8
        };
        let mut at = moof_len + mdat_header_len;
        for ((_, run), field) in runs.iter().zip(&offset_fields) {
            let mut w = BoxWriter::new(&mut moof_buf);
            w.patch_u32(*field, u32::try_from(at).unwrap_or(u32::MAX));
            at += run.iter().map(|(s, _)| s.data.len() as u64).sum::<u64>();
        }
        let total = moof_len + mdat_header_len + data_len;

        let mut header = BytesMut::with_capacity(moof_buf.len() + 100);
        let mut w = BoxWriter::new(&mut header);
        if self.config.styp {
            w.bytes(&Self::styp());
        }
        if self.config.sidx {
            let m = w.open_full(kind::SIDX, 1, 0);
            w.u32(lead_track.track_id);
            w.u32(lead_track.mux.timescale);
            w.u64(u64::try_from(earliest_pts).unwrap_or(0));
            w.u64(0); // first_offset: the moof follows
            w.u16(0);
            w.u16(1); // reference_count
            w.u32(u32::try_from(total).unwrap_or(u32::MAX) & 0x7FFF_FFFF);
            w.u32(u32::try_from(lead_duration).unwrap_or(u32::MAX));
            // starts_with_SAP, SAP_type 1 (closed GOP / IDR start)
            w.u32(if independent { 0x9000_0000 } else { 0 });
            w.close(m);
        }
        w.bytes(&moof_buf);
        if mdat_header_len == 16 {
            w.u32(1);
            w.bytes(b"mdat");
            w.u64(data_len + 16);
        } else {
            w.u32((data_len + 8) as u32);
            w.bytes(b"mdat");
        }
        let samples = runs.iter().map(|r| r.1.len()).sum();
        let payloads = runs
            .into_iter()
            .flat_map(|r| r.1)
            .map(|(s, _)| s.data)
            .collect();
        Some(Fragment {
            sequence: self.sequence,
            independent,
            start,
            end,
            samples,
            header: header.freeze(),
            payloads,
        })
    }
}
