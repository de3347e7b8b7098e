//! The web console: a static page at `/` (and `/console/`) with its scripts and styles under
//! `/console/…`, built into the binary (plain HTML, CSS and ES modules; no build step) and
//! optionally served from a directory instead (`http.console_dir`).
//!
//! The page is public: it holds no data. What it lists comes from the API in the browser
//! (so `api.token` applies: the page asks for the token), and its players fetch media through
//! the same routes and authorization hook as any other player. Third-party players (hls.js,
//! mpegts.js) are vendored from their pinned npm packages (`console/vendor/README.md`), so
//! the page works with no network beyond this server.
//!
//! Responses carry an `ETag` (a hash of the bytes) with `Cache-Control: no-cache`: a browser
//! revalidates each load and gets `304 Not Modified` while nothing changed, and a new server
//! version is never hidden behind a cached file.
//!
//! **May import**: [`crate::config`], [`crate::net`].

use std::path::{Component, Path};
use std::sync::OnceLock;

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

use crate::config::HttpConfig;
use crate::net::http::{empty, full, Body};

/// Largest file served from `http.console_dir` (the built-in ones are all far smaller).
const MAX_DIR_FILE: u64 = 16 << 20;

/// One built-in file: its name under `/console/` and its bytes.
struct Asset {
    name: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($name:literal),* $(,)?) => {
        &[$(Asset { name: $name, body: include_bytes!(concat!("../../console/", $name)) }),*]
    };
}

/// The built-in files.
static ASSETS: &[Asset] = assets![
    "index.html",
    "style.css",
    "app.js",
    "players.js",
    "whep.js",
    "favicon.svg",
    "vendor/README.md",
    "vendor/hls.min.js",
    "vendor/hls.js.LICENSE",
    "vendor/mpegts.js",
    "vendor/mpegts.js.LICENSE",
    "vendor/mpegts.js.LICENSE.txt",
];

/// The file the page itself is.
const INDEX: &str = "index.html";

/// The entity tag of `body`: FNV-1a over the bytes, quoted.
fn etag_of(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}-{:x}\"", body.len())
}

/// The built-in files' tags, computed once.
fn builtin_etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| ASSETS.iter().map(|a| etag_of(a.body)).collect())
}

/// `Content-Type` from a file name's extension.
fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}

/// The file name under `/console/` that `path` asks for, or `None` when the path is not the
/// console's.
fn asset_name(path: &str) -> Option<&str> {
    if path == "/" || path == "/console" || path == "/console/" || path == "/console/index.html" {
        return Some(INDEX);
    }
    let name = path.strip_prefix("/console/")?;
    // Plain relative names only: nothing that could leave the directory.
    let safe = !name.is_empty()
        && !name.contains('\\')
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    safe.then_some(name)
}

/// Answers a console request, or `None` when `path` is not the console's (or the console is
/// turned off), so the caller routes it on.
pub(crate) async fn handle(
    config: &HttpConfig,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    if !config.console || (method != Method::GET && method != Method::HEAD) {
        return None;
    }
    let name = asset_name(path)?;
    let (body, etag) = match lookup(config, name).await {
        Some(found) => found,
        None => {
            return Some(crate::net::http::status(
                StatusCode::NOT_FOUND,
                "not found\n",
            ))
        }
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if fresh {
        empty(StatusCode::NOT_MODIFIED)
    } else {
        full(StatusCode::OK, content_type(name), body)
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if name == INDEX {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; \
                 img-src 'self' data: blob:; media-src 'self' blob:; worker-src 'self' blob:; \
                 connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    Some(r)
}

/// The bytes and tag of `name`: from `console_dir` when it has the file, else built in.
async fn lookup(config: &HttpConfig, name: &str) -> Option<(Bytes, String)> {
    if let Some(dir) = &config.console_dir {
        let file = dir.join(name);
        let read = tokio::task::spawn_blocking(move || -> Option<Vec<u8>> {
            let meta = std::fs::metadata(&file).ok()?;
            if !meta.is_file() || meta.len() > MAX_DIR_FILE {
                return None;
            }
            std::fs::read(&file).ok()
        });
        if let Ok(Some(bytes)) = read.await {
            let tag = etag_of(&bytes);
            return Some((Bytes::from(bytes), tag));
        }
    }
    let i = ASSETS.iter().position(|a| a.name == name)?;
    let tag = builtin_etags().get(i)?.clone();
    Some((Bytes::from_static(ASSETS.get(i)?.body), tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (path, want) in [
            ("/", Some("index.html")),
            ("/console", Some("index.html")),
            ("/console/", Some("index.html")),
            ("/console/app.js", Some("app.js")),
            ("/console/vendor/hls.min.js", Some("vendor/hls.min.js")),
            ("/console/../Cargo.toml", None),
            ("/console/./app.js", None),
            ("/console//etc/passwd", None),
            ("/console/a\\..\\b", None),
            ("/live/x.flv", None),
            ("/consolex", None),
        ] {
            assert_eq!(asset_name(path), want, "{path}");
        }
    }

    #[test]
    fn types_and_tags() {
        assert_eq!(
            content_type("vendor/hls.min.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("vendor/hls.js.LICENSE"),
            "text/plain; charset=utf-8"
        );
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
        assert_eq!(builtin_etags().len(), ASSETS.len());
    }

    #[tokio::test]
    async fn serves_conditional_and_off() {
        let mut c = HttpConfig::default();
        let get = Method::GET;
        let r = handle(&c, &get, "/", &HeaderMap::new())
            .await
            .expect("index");
        assert_eq!(r.status(), StatusCode::OK);
        let tag = r.headers().get(header::ETAG).expect("etag").clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, tag);
        let r = handle(&c, &get, "/console/", &h).await.expect("index");
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        let r = handle(&c, &get, "/console/nope.js", &HeaderMap::new()).await;
        assert_eq!(r.map(|r| r.status()), Some(StatusCode::NOT_FOUND));
        assert!(handle(&c, &Method::POST, "/", &HeaderMap::new())
            .await
            .is_none());
        c.console = false;
        assert!(handle(&c, &get, "/", &HeaderMap::new()).await.is_none());
    }
}
