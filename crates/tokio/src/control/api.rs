//! `GET /api/v1/streams`: the live streams, their tracks and players.

use bytes::Bytes;
use hyper::{Response, StatusCode};

use crate::ctx::Ctx;
use crate::net::http::{full, json_str, Body};
use weir_media::MediaKind;

/// The stream list as JSON.
pub(crate) fn streams(ctx: &Ctx) -> Response<Body> {
    let mut out = String::from("{\"streams\":[");
    for (i, s) in ctx.hub.streams().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"key\":");
        json_str(&mut out, &s.key);
        out.push_str(&format!(
            ",\"live\":{},\"players\":{},\"video\":{},\"audio\":{},\"units\":{},\"bytes_in\":{}",
            s.live, s.players, s.shape.has_video, s.shape.has_audio, s.units, s.bytes_in
        ));
        out.push_str(",\"tracks\":[");
        for (j, t) in s.tracks.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let kind = if t.codec.kind() == MediaKind::Video {
                "video"
            } else {
                "audio"
            };
            out.push_str(&format!(
                "{{\"id\":{},\"type\":\"{kind}\",\"codec\":",
                t.id.0
            ));
            json_str(&mut out, &t.codec.to_string());
            out.push('}');
        }
        out.push(']');
        if let Some(hls) = ctx.hls.info(&s.key) {
            let dropped: Vec<String> = hls
                .dropped_tracks
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect();
            out.push_str(&format!(
                ",\"hls\":{{\"segments\":{},\"dropped_tracks\":[{}]}}",
                hls.segments,
                dropped.join(",")
            ));
        }
        out.push('}');
    }
    out.push_str("]}\n");
    full(StatusCode::OK, "application/json", Bytes::from(out))
}
