//! The sans-IO segmenter: a stream's units in, file operations out.
//!
//! A segment opens at a video keyframe (any frame for audio-only streams) and closes at
//! the first keyframe once it holds [`RecordConfig::segment`](super::RecordConfig) of
//! media, or at the first keyframe after a track's codec or configuration changed (or a
//! track appeared). Each file's timestamps start at 0: the segment's first frame is the
//! base (media time, never the wall clock); frames of other tracks decoded before it are
//! left out. No clock and no file system here: the caller passes the wall-clock time for
//! file names and carries out the [`Op`]s.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tracing::{debug, info};
use weir_flv::{FlvHeader, FlvMuxer};
use weir_media::{Codec, Frame, MediaKind, Timestamp, TrackId, TrackInfo};
use weir_mp4::{Cut, FragmentConfig, FragmentedMuxer, ProgressiveConfig, ProgressiveMuxer};
use weir_mpegts::{MuxConfig as TsConfig, TsMuxer};

use super::RecordFormat;
use crate::core::Unit;

/// What to do with the file system.
#[derive(Debug)]
pub(crate) enum Op {
    /// Start a new file for a segment whose first frame arrived at `start_ms` (Unix ms),
    /// beginning with `head`.
    Open { start_ms: i64, head: Bytes },
    /// Append to the open file.
    Append(Vec<Bytes>),
    /// Overwrite bytes already written at `offset`.
    Patch { offset: u64, bytes: Bytes },
    /// The file is complete.
    Close(Summary),
}

impl Op {
    /// Bytes the op puts on the disk (for the queue budget).
    pub(crate) fn len(&self) -> usize {
        match self {
            Op::Open { head, .. } => head.len(),
            Op::Append(v) => v.iter().map(Bytes::len).sum(),
            Op::Patch { bytes, .. } => bytes.len(),
            Op::Close(_) => 0,
        }
    }
}

/// A finished segment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Summary {
    /// Wall-clock time (Unix ms) of its first frame.
    pub(crate) start_ms: i64,
    /// Media duration.
    pub(crate) duration: Duration,
    /// Frames written.
    pub(crate) frames: u64,
    /// Codecs of its tracks.
    pub(crate) codecs: Vec<Codec>,
}

enum Mux {
    Fmp4(Box<FragmentedMuxer>),
    Mp4(Box<ProgressiveMuxer>),
    Flv(FlvMuxer),
    Ts(Box<TsMuxer>, BytesMut),
}

struct Current {
    mux: Mux,
    tracks: Vec<Arc<TrackInfo>>,
    primary: TrackId,
    base: Timestamp,
    start_ms: i64,
    last_primary: Timestamp,
    last_step: Duration,
    frames: u64,
}

/// Turns a stream's units into segment files.
pub(crate) struct Segmenter {
    format: RecordFormat,
    segment: Duration,
    fragment: Duration,
    known: Vec<Arc<TrackInfo>>,
    cur: Option<Current>,
    rotate: bool,
    /// Frames not written (before the first keyframe, decoded before a segment's base,
    /// unsupported codecs).
    pub(crate) skipped: u64,
}

/// Codecs every container here can hold.
fn recordable(t: &TrackInfo) -> bool {
    match t.codec {
        Codec::H264 | Codec::H265 => !t.config.is_empty(),
        Codec::Aac | Codec::Opus | Codec::G711A | Codec::G711U => true,
        Codec::Mjpeg => true,
        _ => false,
    }
}

fn same_track(a: &TrackInfo, b: &TrackInfo) -> bool {
    a.codec == b.codec && a.config == b.config && a.clock_rate == b.clock_rate
}

fn is_video(t: &TrackInfo) -> bool {
    t.codec.kind() == MediaKind::Video
}

/// `t - base`, in `t`'s timebase.
fn rebase(t: Timestamp, base: Timestamp) -> Timestamp {
    let b = base.rescale(t.timebase()).ticks();
    Timestamp::new(t.ticks().saturating_sub(b), t.timebase())
}

impl Segmenter {
    pub(crate) fn new(
        format: RecordFormat,
        segment: Duration,
        fragment: Duration,
        tracks: &[Arc<TrackInfo>],
    ) -> Segmenter {
        Segmenter {
            format,
            segment,
            fragment,
            known: tracks.to_vec(),
            cur: None,
            rotate: false,
            skipped: 0,
        }
    }

    /// Media time written to the open segment so far.
    pub(crate) fn open_duration(&self) -> Option<Duration> {
        let c = self.cur.as_ref()?;
        Some(c.last_primary.duration_since(c.base).unwrap_or_default())
    }

    /// Takes one unit; `wall_ms` is the wall clock now (names a segment opened by it).
    pub(crate) fn push(&mut self, unit: &Unit, wall_ms: i64, ops: &mut Vec<Op>) {
        if let (true, Some(track)) = (unit.is_config(), unit.track()) {
            self.track(track);
            return;
        }
        let (Some(frame), Some(track)) = (unit.frame_data(), unit.track()) else {
            return;
        };
        if !self.known.iter().any(|t| t.id == track.id) {
            self.track(track);
        }
        self.frame(track, frame, wall_ms, ops);
    }

    /// A track was announced or changed.
    fn track(&mut self, track: &Arc<TrackInfo>) {
        match self.known.iter_mut().find(|t| t.id == track.id) {
            Some(t) => *t = track.clone(),
            None => self.known.push(track.clone()),
        }
        if let Some(c) = &self.cur {
            let changed = match c.tracks.iter().find(|t| t.id == track.id) {
                Some(t) => !same_track(t, track),
                None => recordable(track),
            };
            if changed && !self.rotate {
                info!(codec = %track.codec, "recording: track changed; new file at the next keyframe");
                self.rotate = true;
            }
        }
    }

    pub(crate) fn has_video(&self) -> bool {
        self.known.iter().any(|t| is_video(t) && recordable(t))
    }

    fn frame(&mut self, track: &Arc<TrackInfo>, frame: &Frame, wall_ms: i64, ops: &mut Vec<Op>) {
        let video = self.has_video();
        // Where a segment may start: a video keyframe, or any frame without video.
        let cut_point = if video {
            is_video(track) && frame.keyframe && recordable(track)
        } else {
            recordable(track)
        };
        if let Some(c) = &self.cur {
            // A rotation for a changed track cuts at any cut point; a full segment at one
            // of its primary track.
            let full = frame
                .dts
                .duration_since(c.base)
                .is_some_and(|d| d >= self.segment);
            let cut = self.rotate || (full && track.id == c.primary);
            if cut_point && cut {
                self.close(ops);
            }
        }
        if self.cur.is_none() {
            if !cut_point {
                self.skipped += 1;
                return;
            }
            self.open(track, frame, wall_ms, ops);
        }
        self.write(track, frame, ops);
    }

    fn open(&mut self, track: &Arc<TrackInfo>, frame: &Frame, wall_ms: i64, ops: &mut Vec<Op>) {
        self.rotate = false;
        let mut tracks: Vec<Arc<TrackInfo>> = self
            .known
            .iter()
            .filter(|t| recordable(t))
            .cloned()
            .collect();
        // Video first (the muxers' primary track is the first video track).
        tracks.sort_by_key(|t| !is_video(t));
        let infos: Vec<TrackInfo> = tracks.iter().map(|t| (**t).clone()).collect();
        let made = match self.format {
            RecordFormat::Fmp4 => FragmentedMuxer::new(&infos, FragmentConfig::default())
                .map(|m| (m.init_segment(), Mux::Fmp4(Box::new(m))))
                .map_err(|e| e.to_string()),
            RecordFormat::Mp4 => ProgressiveMuxer::new(&infos, ProgressiveConfig::default())
                .map(|m| (m.header(), Mux::Mp4(Box::new(m))))
                .map_err(|e| e.to_string()),
            RecordFormat::Flv => Ok(flv_head(&infos)),
            RecordFormat::Ts => TsMuxer::new(&infos, TsConfig::default())
                .map(|mut m| {
                    let mut head = BytesMut::new();
                    m.write_tables(&mut head);
                    (head.freeze(), Mux::Ts(Box::new(m), BytesMut::new()))
                })
                .map_err(|e| e.to_string()),
        };
        let (head, mux) = match made {
            Ok(v) => v,
            Err(e) => {
                debug!(error = %e, "recording: cannot start a file for these tracks");
                self.skipped += 1;
                return;
            }
        };
        let primary = tracks.first().map_or(track.id, |t| t.id);
        ops.push(Op::Open {
            start_ms: wall_ms,
            head,
        });
        self.cur = Some(Current {
            mux,
            tracks,
            primary,
            base: frame.dts,
            start_ms: wall_ms,
            last_primary: frame.dts,
            last_step: Duration::ZERO,
            frames: 0,
        });
    }

    fn write(&mut self, track: &Arc<TrackInfo>, frame: &Frame, ops: &mut Vec<Op>) {
        let fragment = self.fragment;
        let Some(c) = self.cur.as_mut() else { return };
        let Some(opened) = c.tracks.iter().find(|t| t.id == track.id) else {
            self.skipped += 1;
            return;
        };
        let dts = rebase(frame.dts, c.base);
        if dts.ticks() < 0 {
            self.skipped += 1;
            return;
        }
        let mut f = frame.clone();
        f.dts = dts;
        f.pts = rebase(frame.pts, c.base);
        let written = match &mut c.mux {
            Mux::Fmp4(m) => m
                .push_and_cut(f, Cut::every(fragment))
                .map(|frag| {
                    if let Some(frag) = frag {
                        let mut parts = Vec::with_capacity(frag.payloads().len() + 1);
                        parts.push(frag.header().clone());
                        parts.extend(frag.payloads().iter().cloned());
                        ops.push(Op::Append(parts));
                    }
                })
                .map_err(|e| e.to_string()),
            Mux::Mp4(m) => m
                .write_frame(f)
                .map(|data| ops.push(Op::Append(vec![data])))
                .map_err(|e| e.to_string()),
            Mux::Flv(m) => flv_tag(m, opened, &f).map(|parts| ops.push(Op::Append(parts))),
            Mux::Ts(m, buf) => m
                .write_frame(&f, buf)
                .map(|()| ops.push(Op::Append(vec![buf.split().freeze()])))
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = written {
            debug!(error = %e, "recording: frame not written");
            self.skipped += 1;
            return;
        }
        c.frames += 1;
        if track.id == c.primary {
            if let Some(step) = frame.dts.duration_since(c.last_primary) {
                if !step.is_zero() {
                    c.last_step = step;
                }
            }
            if frame.dts.cmp_instant(c.last_primary).is_gt() {
                c.last_primary = frame.dts;
            }
        }
    }

    /// Closes the open segment (stream end, rotation, stop).
    pub(crate) fn close(&mut self, ops: &mut Vec<Op>) {
        let Some(mut c) = self.cur.take() else { return };
        match &mut c.mux {
            Mux::Fmp4(m) => match m.finish() {
                Ok(Some(frag)) => {
                    let mut parts = vec![frag.header().clone()];
                    parts.extend(frag.payloads().iter().cloned());
                    ops.push(Op::Append(parts));
                }
                Ok(None) => {}
                Err(e) => debug!(error = %e, "recording: last fragment lost"),
            },
            Mux::Mp4(m) => match m.finish() {
                Ok(fin) => {
                    ops.push(Op::Append(vec![fin.moov]));
                    for p in fin.patches {
                        ops.push(Op::Patch {
                            offset: p.offset,
                            bytes: p.bytes,
                        });
                    }
                }
                Err(e) => debug!(error = %e, "recording: index not written"),
            },
            Mux::Flv(_) | Mux::Ts(..) => {}
        }
        let duration = c
            .last_primary
            .duration_since(c.base)
            .unwrap_or_default()
            .saturating_add(c.last_step);
        ops.push(Op::Close(Summary {
            start_ms: c.start_ms,
            duration,
            frames: c.frames,
            codecs: c.tracks.iter().map(|t| t.codec).collect(),
        }));
    }
}

fn flv_head(tracks: &[TrackInfo]) -> (Bytes, Mux) {
    let mux = FlvMuxer::new(weir_flv::MuxConfig::default());
    let header = FlvHeader {
        version: 1,
        has_audio: tracks.iter().any(|t| !is_video(t)),
        has_video: tracks.iter().any(is_video),
        data_offset: weir_flv::HEADER_LEN as u32,
    };
    let mut out = BytesMut::new();
    header.write_with_first_tag_size(&mut out);
    for t in tracks {
        if let Ok(Some(tag)) = mux.sequence_header(t, 0) {
            let _ = tag.write(&mut out);
        }
    }
    (out.freeze(), Mux::Flv(mux))
}

fn flv_tag(m: &FlvMuxer, track: &TrackInfo, f: &Frame) -> Result<Vec<Bytes>, String> {
    let tag = m.frame_parts(track, f).map_err(|e| e.to_string())?;
    let ms = f.dts.rescale(weir_media::Timebase::MILLIS).ticks();
    let (prefix, len) = tag
        .wire_prefix(u32::try_from(ms).unwrap_or(u32::MAX))
        .map_err(|e| e.to_string())?;
    let prefix = Bytes::copy_from_slice(prefix.get(..len).unwrap_or_default());
    Ok(vec![
        prefix,
        tag.payload.clone(),
        Bytes::copy_from_slice(&weir_flv::previous_tag_size(tag.body_len())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_media::Timebase;

    fn avc_track() -> Arc<TrackInfo> {
        let sps = Bytes::from_static(&[
            0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x04, 0x26, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04,
            0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x48, 0x99, 0x20,
        ]);
        let pps = Bytes::from_static(&[0x68, 0xcb, 0x83, 0xcb, 0x20]);
        let avcc = weir_h264::AvcConfig::from_parameter_sets(&[sps], &[pps])
            .unwrap()
            .to_bytes();
        Arc::new(TrackInfo::new(TrackId(0), Codec::H264, 1000).with_config(avcc))
    }

    fn g711() -> Arc<TrackInfo> {
        Arc::new(TrackInfo::new(TrackId(1), Codec::G711U, 8000))
    }

    fn video(t: &Arc<TrackInfo>, ms: i64, key: bool) -> Unit {
        let ts = Timestamp::new(ms, Timebase::MILLIS);
        let nal = Bytes::from(vec![0, 0, 0, 2, if key { 0x65 } else { 0x41 }, 0]);
        Unit::frame(t.clone(), Frame::new(t.id, ts, ts, nal).with_keyframe(key))
    }

    fn audio(t: &Arc<TrackInfo>, ms: i64) -> Unit {
        let ts = Timestamp::new(ms * 8, Timebase::hz(8000).unwrap());
        Unit::frame(
            t.clone(),
            Frame::new(t.id, ts, ts, Bytes::from(vec![0xFF; 160])),
        )
    }

    fn run(seg: &mut Segmenter, units: &[Unit]) -> Vec<Op> {
        let mut ops = Vec::new();
        for (i, u) in units.iter().enumerate() {
            seg.push(u, 1_000_000 + i as i64, &mut ops);
        }
        ops
    }

    fn summaries(ops: &[Op]) -> Vec<Summary> {
        ops.iter()
            .filter_map(|o| match o {
                Op::Close(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// Files open at a keyframe, rotate at the first keyframe past the segment length
    /// (not before), and each starts at media time 0 with the frames it holds.
    #[test]
    fn rotates_at_the_next_keyframe_after_the_segment_length() {
        let v = avc_track();
        let a = g711();
        let mut seg = Segmenter::new(
            RecordFormat::Mp4,
            Duration::from_millis(1000),
            Duration::from_secs(1),
            std::slice::from_ref(&v)
                .iter()
                .chain(std::slice::from_ref(&a))
                .cloned()
                .collect::<Vec<_>>()
                .as_slice(),
        );
        let mut units = vec![video(&v, 0, false)]; // before any keyframe: skipped
        for i in 0..60 {
            let ms = 100 + i * 40;
            // keyframes every 25 frames: at 100, 1100, 2100 ms
            units.push(video(&v, ms, i % 25 == 0));
            units.push(audio(&a, ms));
        }
        let mut ops = run(&mut seg, &units);
        seg.close(&mut ops);
        let opens = ops.iter().filter(|o| matches!(o, Op::Open { .. })).count();
        let s = summaries(&ops);
        assert_eq!(opens, 3);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].duration, Duration::from_millis(1000));
        assert_eq!(s[0].frames, 50);
        assert_eq!(s[2].frames, 20);
        assert_eq!(s[0].codecs, [Codec::H264, Codec::G711U]);
        assert_eq!(seg.skipped, 1);
    }

    /// A configuration change closes the file at the next keyframe, even mid-segment.
    #[test]
    fn rotates_on_codec_change() {
        let v = avc_track();
        let mut seg = Segmenter::new(
            RecordFormat::Fmp4,
            Duration::from_secs(600),
            Duration::from_secs(1),
            std::slice::from_ref(&v),
        );
        let mut units: Vec<Unit> = (0..10).map(|i| video(&v, i * 40, i == 0)).collect();
        let mut v2 = (*v).clone();
        v2.config = {
            let mut c = v.config.to_vec();
            c.push(0);
            Bytes::from(c)
        };
        let v2 = Arc::new(v2);
        units.push(Unit::config(
            v2.clone(),
            Timestamp::new(400, Timebase::MILLIS),
        ));
        units.push(video(&v2, 400, false));
        units.push(video(&v2, 440, true));
        let mut ops = run(&mut seg, &units);
        seg.close(&mut ops);
        let s = summaries(&ops);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].frames, 11);
        assert_eq!(s[1].frames, 1);
    }

    /// Audio-only streams cut at any frame; frames decoded before a file's base are left
    /// out.
    #[test]
    fn audio_only_and_early_frames() {
        let a = g711();
        let mut seg = Segmenter::new(
            RecordFormat::Flv,
            Duration::from_millis(100),
            Duration::from_secs(1),
            std::slice::from_ref(&a),
        );
        let units: Vec<Unit> = (0..10).map(|i| audio(&a, i * 20)).collect();
        let mut ops = run(&mut seg, &units);
        seg.close(&mut ops);
        let s = summaries(&ops);
        assert_eq!(s.iter().map(|s| s.frames).sum::<u64>(), 10);
        assert_eq!(s.len(), 2);
    }
}
