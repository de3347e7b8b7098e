//! VOD over HTTP: a file's bytes with `Range` (progressive download and seeking in
//! browsers and ffmpeg), a file remuxed to FLV (`/vod/{root}/{path}.flv`, `?start=S`
//! seeks), and a time span of a stream's recordings assembled into one fragmented MP4
//! (`/vod/rec/{app}/{stream}.mp4?start=RFC3339&duration=S`).

use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame as BodyFrame;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;
use tracing::debug;
use weir_flv::{FlvHeader, FlvMuxer};
use weir_media::{Frame, MediaKind, Timebase, Timestamp, TrackInfo};
use weir_mp4::{Cut, FragmentConfig, FragmentedMuxer};

use super::source::MediaFile;
use super::{AsyncMedia, Vod};
use crate::egress::record::catalog::{FileEntry, InUseGuard};
use crate::net::http::{empty, status, Body};

/// Bytes per body chunk of a file.
const CHUNK: usize = 64 << 10;

/// What a `Range` header asks for, given the file length.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeAsk {
    /// The whole file (no header, several ranges, or a unit other than bytes).
    Full,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Nothing of the file (416).
    Unsatisfiable,
}

/// Parses `Range: bytes=a-b | a- | -n` (RFC 9110 §14) against a file of `len` bytes.
pub(crate) fn parse_range(value: Option<&str>, len: u64) -> RangeAsk {
    let Some(v) = value else {
        return RangeAsk::Full;
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return RangeAsk::Full;
    };
    if spec.contains(',') {
        return RangeAsk::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAsk::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        (true, false) => match num(b) {
            None => RangeAsk::Full,
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if len == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Part(len.saturating_sub(n), len - 1),
        },
        (false, _) => {
            let Some(start) = num(a) else {
                return RangeAsk::Full;
            };
            let end = if b.is_empty() { Some(u64::MAX) } else { num(b) };
            match end {
                None => RangeAsk::Full,
                Some(e) if e < start => RangeAsk::Full,
                Some(_) if start >= len => RangeAsk::Unsatisfiable,
                Some(e) => RangeAsk::Part(start, e.min(len - 1)),
            }
        }
        (true, true) => RangeAsk::Full,
    }
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("mp4" | "m4v" | "m4a") => "video/mp4",
        Some("flv") => "video/x-flv",
        Some("ts") => "video/mp2t",
        _ => "application/octet-stream",
    }
}

fn channel_body(rx: mpsc::Receiver<Bytes>) -> Body {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(BodyFrame::data(b)), rx))
    });
    StreamBody::new(stream).boxed_unsync()
}

/// Streams bytes `start..start+len` of `path` (the guard keeps it in use until sent).
fn file_body(path: PathBuf, start: u64, len: u64, guard: InUseGuard) -> Body {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    tokio::task::spawn_blocking(move || {
        let _guard = guard;
        let Ok(mut f) = std::fs::File::open(&path) else {
            return;
        };
        if f.seek(SeekFrom::Start(start)).is_err() {
            return;
        }
        let mut left = len;
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
            let mut buf = BytesMut::zeroed(n);
            match f.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(got) => {
                    buf.truncate(got);
                    left -= got as u64;
                    if tx.blocking_send(buf.freeze()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    channel_body(rx)
}

/// A file's bytes, honouring `Range` (206, 416) and HEAD.
pub(crate) async fn file_response(
    vod: &Arc<Vod>,
    path: PathBuf,
    head: bool,
    range: Option<&str>,
) -> Response<Body> {
    let guard = vod.in_use.guard(&path);
    let p = path.clone();
    let len = match tokio::task::spawn_blocking(move || std::fs::metadata(&p)).await {
        Ok(Ok(md)) => md.len(),
        _ => return status(StatusCode::NOT_FOUND, "not found\n"),
    };
    let ask = parse_range(range, len);
    let (code, start, n) = match ask {
        RangeAsk::Full => (StatusCode::OK, 0, len),
        RangeAsk::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        RangeAsk::Unsatisfiable => {
            let mut r = status(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let mut r = if head || n == 0 {
        empty(code)
    } else {
        let mut r = Response::new(file_body(path.clone(), start, n, guard));
        *r.status_mut() = code;
        r
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    if code == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + n - 1)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    r
}

/// One frame as a whole FLV tag.
fn flv_frame_tag(mux: &FlvMuxer, track: &TrackInfo, f: &Frame, out: &mut BytesMut) -> bool {
    let Ok(tag) = mux.frame_parts(track, f) else {
        return false;
    };
    let ms = f.dts.rescale(Timebase::MILLIS).ticks().max(0);
    let Ok((prefix, len)) = tag.wire_prefix(u32::try_from(ms).unwrap_or(u32::MAX)) else {
        return false;
    };
    out.extend_from_slice(prefix.get(..len).unwrap_or_default());
    out.extend_from_slice(&tag.payload);
    out.extend_from_slice(&weir_flv::previous_tag_size(tag.body_len()));
    true
}

/// A media file remuxed to FLV from the keyframe at or before `start` (sent as fast as
/// the client reads).
pub(crate) fn flv_response(mut media: AsyncMedia, start: Duration, head: bool) -> Response<Body> {
    let tracks = media.tracks().to_vec();
    let mux = FlvMuxer::new(weir_flv::MuxConfig::default());
    let mut first = BytesMut::new();
    FlvHeader {
        version: 1,
        has_audio: tracks.iter().any(|t| t.codec.kind() != MediaKind::Video),
        has_video: tracks.iter().any(|t| t.codec.kind() == MediaKind::Video),
        data_offset: weir_flv::HEADER_LEN as u32,
    }
    .write_with_first_tag_size(&mut first);
    for t in &tracks {
        if let Ok(Some(tag)) = mux.sequence_header(t, 0) {
            let _ = tag.write(&mut first);
        }
    }
    let mut r = if head {
        empty(StatusCode::OK)
    } else {
        let (tx, rx) = mpsc::channel::<Bytes>(8);
        tokio::spawn(async move {
            if tx.send(first.freeze()).await.is_err() {
                return;
            }
            let shift = super::lead_in(&mut media).await;
            if !start.is_zero() && media.seek(start).await.is_err() {
                return;
            }
            let mut out = BytesMut::new();
            loop {
                let f = match media.next().await {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => {
                        debug!(error = %e, "vod flv: read failed");
                        break;
                    }
                };
                if let Some(t) = tracks.iter().find(|t| t.id == f.track) {
                    flv_frame_tag(&mux, t, &super::shifted(f, shift), &mut out);
                }
                if out.len() >= CHUNK && tx.send(out.split().freeze()).await.is_err() {
                    return;
                }
            }
            if !out.is_empty() {
                let _ = tx.send(out.freeze()).await;
            }
        });
        Response::new(channel_body(rx))
    };
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("video/x-flv"),
    );
    r
}

/// One file of a time span: where it starts (Unix ms) and how long it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpanFile {
    pub(crate) path: PathBuf,
    pub(crate) start_ms: i64,
    pub(crate) duration_ms: i64,
}

/// The files overlapping `[from_ms, from_ms + len_ms)`, in order (pure).
pub(crate) fn span_files(files: &[SpanFile], from_ms: i64, len_ms: i64) -> Vec<SpanFile> {
    let to = from_ms.saturating_add(len_ms);
    files
        .iter()
        .filter(|f| f.start_ms < to && f.start_ms.saturating_add(f.duration_ms) > from_ms)
        .cloned()
        .collect()
}

/// Where file `i`'s media time 0 lands in the output, given where the previous file's
/// media ended in the output (`prev_end_out`) and the wall-clock gap from the previous
/// file's end to this file's start: files that follow each other (within 2 s) are joined
/// end to end; a longer gap is kept.
pub(crate) fn join_offset(prev_end_out: Duration, gap_ms: i64) -> Duration {
    if gap_ms.abs() <= 2000 {
        prev_end_out
    } else {
        prev_end_out + Duration::from_millis(u64::try_from(gap_ms).unwrap_or(0))
    }
}

fn shift(t: Timestamp, by: Duration, minus: Duration) -> Timestamp {
    let ns = t.rescale(Timebase::NANOS).ticks();
    let by = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
    let minus = i64::try_from(minus.as_nanos()).unwrap_or(i64::MAX);
    Timestamp::new(ns.saturating_add(by).saturating_sub(minus), Timebase::NANOS)
        .rescale(t.timebase())
}

/// Reads the span on the blocking pool, sending fMP4 bytes (init segment, then fragments).
fn assemble(
    files: Vec<SpanFile>,
    from_ms: i64,
    len_ms: i64,
    tx: mpsc::Sender<Bytes>,
    guards: Vec<InUseGuard>,
) {
    let _guards = guards;
    let to_ms = from_ms.saturating_add(len_ms);
    let mut mux: Option<FragmentedMuxer> = None;
    let mut tracks: Vec<TrackInfo> = Vec::new();
    // Where the output's primary track ends (last DTS plus one frame step).
    let mut out_end = Duration::ZERO;
    let mut step = Duration::ZERO;
    let mut last_dts: Vec<(weir_media::TrackId, Timestamp)> = Vec::new();
    let mut prev_end_wall: Option<i64> = None;
    let send = |b: Bytes| tx.blocking_send(b).is_ok();
    for sf in files {
        let Ok(mut m) = MediaFile::open(&sf.path) else {
            continue;
        };
        let same = tracks.is_empty()
            || (m.tracks().len() == tracks.len()
                && m.tracks()
                    .iter()
                    .zip(&tracks)
                    .all(|(a, b)| a.id == b.id && a.codec == b.codec && a.config == b.config));
        if !same {
            debug!(file = %sf.path.display(), "vod span: tracks change; the span ends here");
            break;
        }
        // The file's media time 0 (less `base` in the first file) is the output's `offset`.
        let offset = match prev_end_wall {
            None => {
                let into = Duration::from_millis(u64::try_from(from_ms - sf.start_ms).unwrap_or(0));
                if m.seek(into).is_err() {
                    continue;
                }
                Duration::ZERO
            }
            Some(end) => join_offset(out_end, sf.start_ms - end),
        };
        if mux.is_none() {
            tracks = m.tracks().to_vec();
            match FragmentedMuxer::new(&tracks, FragmentConfig::default()) {
                Ok(x) => {
                    if !send(x.init_segment()) {
                        return;
                    }
                    mux = Some(x);
                }
                Err(e) => {
                    debug!(error = %e, "vod span: cannot mux these tracks");
                    return;
                }
            }
        }
        let Some(mx) = mux.as_mut() else { return };
        let primary = tracks.first().map(|t| t.id);
        let mut base: Option<Duration> = None;
        while let Ok(Some(f)) = m.next_frame() {
            let t = super::pace::media_time(f.dts);
            // The output starts at the first frame read (the keyframe the seek found).
            let b = *base.get_or_insert(if prev_end_wall.is_none() {
                t
            } else {
                Duration::ZERO
            });
            let wall = sf.start_ms
                + i64::try_from(super::pace::media_time(f.pts).as_millis()).unwrap_or(0);
            if Some(f.track) == primary && wall >= to_ms {
                break;
            }
            let mut g = f.clone();
            g.dts = shift(f.dts, offset, b);
            g.pts = shift(f.pts, offset, b);
            if let Some((_, last)) = last_dts.iter().find(|(id, _)| *id == g.track) {
                if g.dts.cmp_instant(*last).is_le() {
                    continue;
                }
            }
            match last_dts.iter_mut().find(|(id, _)| *id == g.track) {
                Some(e) => e.1 = g.dts,
                None => last_dts.push((g.track, g.dts)),
            }
            if Some(g.track) == primary {
                let at = super::pace::media_time(g.dts);
                let prev = out_end.saturating_sub(step);
                if at > prev && prev > Duration::ZERO {
                    step = at - prev;
                }
                out_end = out_end.max(at + step);
            }
            match mx.push_and_cut(g, Cut::at_keyframes(Duration::from_secs(1))) {
                Ok(Some(frag)) => {
                    if !send(frag.to_bytes()) {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => debug!(error = %e, "vod span: frame left out"),
            }
        }
        prev_end_wall = Some(sf.start_ms + sf.duration_ms);
    }
    if let Some(Ok(Some(frag))) = mux.as_mut().map(FragmentedMuxer::finish) {
        let _ = send(frag.to_bytes());
    }
}

/// The recordings of one stream from `from_ms` for `len_ms` as one fragmented MP4.
pub(crate) fn span_response(
    vod: &Arc<Vod>,
    files: Vec<SpanFile>,
    from_ms: i64,
    len_ms: i64,
) -> Response<Body> {
    let files = span_files(&files, from_ms, len_ms);
    if files.is_empty() {
        return status(StatusCode::NOT_FOUND, "no recording in this time span\n");
    }
    let guards = files.iter().map(|f| vod.in_use.guard(&f.path)).collect();
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    tokio::task::spawn_blocking(move || assemble(files, from_ms, len_ms, tx, guards));
    let mut r = Response::new(channel_body(rx));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    r
}

/// The span files of one stream's recordings (blocking: probes durations).
pub(crate) fn span_candidates(
    files: &[FileEntry],
    probe: impl Fn(&FileEntry) -> Option<Duration>,
) -> Vec<SpanFile> {
    files
        .iter()
        .filter(|f| f.name.ends_with(".mp4") || f.name.ends_with(".flv"))
        .filter_map(|f| {
            let d = probe(f)?;
            Some(SpanFile {
                path: f.path.clone(),
                start_ms: f.start_secs.saturating_mul(1000),
                duration_ms: i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            })
        })
        .collect()
}

/// What `GET /vod/...` needs from the relay.
pub(crate) struct VodRequest<'a> {
    /// The path after `/vod/` (still percent-encoded).
    pub(crate) path: &'a str,
    pub(crate) query: Option<String>,
    pub(crate) head: bool,
    pub(crate) range: Option<&'a str>,
    pub(crate) peer: std::net::SocketAddr,
    /// The id the session would have (told to the authorization hook).
    pub(crate) session: u64,
}

fn bad_request(text: &'static str) -> Response<Body> {
    status(StatusCode::BAD_REQUEST, text)
}

/// Answers `GET|HEAD /vod/{root}/{path}` (see the module docs). A response with media
/// (200, 206) is a session (`vod-http`, listed by the API, counted, ended by a kick)
/// until its body has been sent or the client goes.
pub(crate) async fn handle(
    vod: &Arc<Vod>,
    recorders: &Arc<crate::egress::record::Recorders>,
    auth: &crate::auth::AuthHook,
    req: VodRequest<'_>,
) -> Response<Body> {
    let (peer, id, query, head) = (req.peer, req.session, req.query.clone(), req.head);
    let key = percent_decode_key(req.path);
    let r = respond(vod, recorders, auth, req).await;
    let media = matches!(r.status(), StatusCode::OK | StatusCode::PARTIAL_CONTENT);
    if head || !media {
        return r;
    }
    let link = crate::core::Link::new();
    let who = crate::core::Peer::new(peer, link)
        .with_id(id)
        .with_query(query);
    let session = vod
        .hub
        .register_session("vod-http", crate::core::Role::Player, &key, who);
    r.map(|body| session_body(body, session))
}

/// `vod/{path}` as the session key (the path decoded when it can be).
fn percent_decode_key(path: &str) -> String {
    let rel = crate::egress::record::naming::percent_decode(path);
    format!("vod/{}", rel.as_deref().unwrap_or(path))
}

/// `body`, counted on the session's link and ended when the session is kicked; the
/// session is listed until the body is done or dropped.
fn session_body(body: Body, session: crate::core::SessionHandle) -> Body {
    let stream = futures_util::stream::unfold((body, session), |(mut body, session)| async move {
        let frame = tokio::select! {
            f = body.frame() => f?,
            () = session.link().kicked() => return None,
        };
        if let Ok(f) = &frame {
            if let Some(d) = f.data_ref() {
                session.link().add_out(d.len());
            }
        }
        Some((frame, (body, session)))
    });
    StreamBody::new(stream).boxed_unsync()
}

async fn respond(
    vod: &Arc<Vod>,
    recorders: &Arc<crate::egress::record::Recorders>,
    auth: &crate::auth::AuthHook,
    req: VodRequest<'_>,
) -> Response<Body> {
    use crate::egress::record::naming::{parse_rfc3339_ms, percent_decode, query_param};
    let Some(rel) = percent_decode(req.path) else {
        return status(StatusCode::NOT_FOUND, "not found\n");
    };
    let key = format!("vod/{rel}");
    let check = crate::auth::AuthRequest::new(
        "vod-http",
        crate::auth::Access::Play,
        key,
        req.query.clone(),
        req.peer,
    )
    .with_session(req.session);
    if !auth.check(check).await {
        return status(StatusCode::FORBIDDEN, "forbidden\n");
    }
    let q = req.query.as_deref();
    let start = query_param(q, "start");
    // A time span of a stream's recordings: /vod/rec/{app}/{stream}.mp4?start=…&duration=…
    if let (Some(start), Some(stream)) = (
        start.as_deref(),
        rel.strip_prefix("rec/")
            .and_then(|s| s.strip_suffix(".mp4")),
    ) {
        let Some(from_ms) = parse_rfc3339_ms(start) else {
            return bad_request("start: an RFC 3339 time, e.g. 2026-12-07T10:00:00Z\n");
        };
        let len_ms = match query_param(q, "duration").map(|d| d.parse::<f64>()) {
            Some(Ok(d)) if d > 0.0 && d.is_finite() => (d * 1000.0) as i64,
            _ => return bad_request("duration: seconds, more than 0\n"),
        };
        if crate::egress::record::naming::safe_relative(stream).is_none() {
            return status(StatusCode::NOT_FOUND, "not found\n");
        }
        let r = recorders.clone();
        let key = stream.to_string();
        let files = tokio::task::spawn_blocking(move || {
            let files: Vec<FileEntry> = r.files().into_iter().filter(|f| f.key == key).collect();
            span_candidates(&files, |f| {
                r.probes.get(f, super::source::probe).and_then(|(d, _)| d)
            })
        })
        .await
        .unwrap_or_default();
        if req.head {
            let mut r = empty(StatusCode::OK);
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
            return r;
        }
        return span_response(vod, files, from_ms, len_ms);
    }
    let v = vod.clone();
    let rel2 = rel.clone();
    let found = tokio::task::spawn_blocking(move || match v.resolve(&rel2) {
        Err(super::VodError::NotFound) => match rel2.strip_suffix(".flv") {
            // `/vod/{root}/{path}.flv`: the file at {path} remuxed to FLV.
            Some(media) => v.resolve(media).map(|p| (p, true)),
            None => Err(super::VodError::NotFound),
        },
        r => r.map(|p| (p, false)),
    })
    .await;
    let start_s = start
        .as_deref()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    match found {
        Ok(Ok((path, remux))) => {
            if remux || (start_s.is_some() && super::source::is_flv(&path)) {
                match AsyncMedia::open(vod, path).await {
                    Ok(m) => flv_response(m, start_s.unwrap_or_default(), req.head),
                    Err(_) => status(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "not a playable media file\n",
                    ),
                }
            } else {
                file_response(vod, path, req.head, req.range).await
            }
        }
        Ok(Err(super::VodError::Forbidden)) => status(StatusCode::FORBIDDEN, "forbidden\n"),
        _ => status(StatusCode::NOT_FOUND, "not found\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), RangeAsk::Part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), RangeAsk::Part(90, 99));
        assert_eq!(
            parse_range(Some("bytes=90-1000"), 100),
            RangeAsk::Part(90, 99)
        );
        assert_eq!(parse_range(Some("bytes=-10"), 100), RangeAsk::Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-1000"), 100), RangeAsk::Part(0, 99));
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeAsk::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeAsk::Unsatisfiable);
    }

    #[test]
    fn spans_pick_overlapping_files_and_join_them() {
        let f = |s: i64, d: i64| SpanFile {
            path: PathBuf::from(format!("{s}")),
            start_ms: s,
            duration_ms: d,
        };
        let files = vec![f(0, 10_000), f(10_000, 10_000), f(30_000, 10_000)];
        let names = |v: Vec<SpanFile>| v.into_iter().map(|f| f.start_ms).collect::<Vec<_>>();
        assert_eq!(names(span_files(&files, 5_000, 10_000)), [0, 10_000]);
        assert_eq!(names(span_files(&files, 20_000, 5_000)), Vec::<i64>::new());
        assert_eq!(names(span_files(&files, 19_000, 12_000)), [10_000, 30_000]);
        let s = Duration::from_secs;
        assert_eq!(join_offset(s(10), 500), s(10));
        assert_eq!(join_offset(s(10), -1500), s(10));
        assert_eq!(join_offset(s(10), 10_000), s(20));
    }
}
