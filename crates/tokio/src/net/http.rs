//! HTTP response plumbing shared by the HTTP egresses and the API (hyper types).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::path::valid_key;

/// The response body type of every HTTP route.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Adds the CORS headers browser players need.
pub(crate) fn cors(r: Response<Body>) -> Response<Body> {
    // What browser players read from responses: lengths and ranges (progress, byte-range
    // parts), Age/Date (hls.js adjusts live playlist timing by them), the type.
    cors_with(
        r,
        "GET, HEAD, POST, DELETE, OPTIONS",
        "*",
        "Content-Length, Content-Range, Content-Type, Accept-Ranges, Age, Date, Location",
    )
}

/// Adds CORS headers: any origin, and the given allowed methods, allowed headers and
/// exposed headers.
pub(crate) fn cors_with(
    mut r: Response<Body>,
    methods: &'static str,
    allow_headers: &'static str,
    expose_headers: &'static str,
) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(allow_headers),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(expose_headers),
    );
    r
}

/// An empty response with `code`.
pub(crate) fn empty(code: StatusCode) -> Response<Body> {
    let mut r = Response::new(Empty::new().boxed_unsync());
    *r.status_mut() = code;
    r
}

/// A response with `body` and a content type.
pub(crate) fn full(
    code: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed_unsync());
    *r.status_mut() = code;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A plain-text response.
pub(crate) fn plain(code: StatusCode, text: impl Into<Bytes>) -> Response<Body> {
    full(code, "text/plain; charset=utf-8", text)
}

/// A plain-text status response.
pub(crate) fn status(code: StatusCode, text: &'static str) -> Response<Body> {
    plain(code, Bytes::from_static(text.as_bytes()))
}

/// A request's body, or `None` when it is over `max` bytes (or cannot be read).
pub(crate) async fn body_up_to(body: Incoming, max: usize) -> Option<Bytes> {
    Limited::new(body, max)
        .collect()
        .await
        .ok()
        .map(|b| b.to_bytes())
}

/// The headers of an FLV stream.
pub(crate) fn flv_headers(r: &mut Response<Body>) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("video/x-flv"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// `/{app}/{stream}{suffix}` → `app/stream` (each part non-empty, no `.`/`..` segments).
pub(crate) fn stream_key(path: &str, suffix: &str) -> Option<String> {
    let key = path.strip_prefix('/')?.strip_suffix(suffix)?;
    valid_key(key).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flv_paths() {
        assert_eq!(
            stream_key("/live/cam1.flv", ".flv").as_deref(),
            Some("live/cam1")
        );
        assert_eq!(stream_key("/a/b/c.flv", ".flv").as_deref(), Some("a/b/c"));
        for bad in [
            "/live.flv",
            "/live/.flv",
            "//x.flv",
            "/live/cam1",
            "/../x.flv",
            "/a/../b.flv",
        ] {
            assert_eq!(stream_key(bad, ".flv"), None, "{bad}");
        }
    }
}
