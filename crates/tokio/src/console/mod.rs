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
//! version is never hidden behind a cached file. Built-in text files go out gzip-compressed
//! to clients that accept it (compressed once, on first request, then kept): the players are
//! 0.9 MB as they are, a third of that compressed.
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

/// Built-in text files at least this big are offered gzip-compressed.
const GZIP_MIN: usize = 1024;

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
    let Some(found) = lookup(config, name).await else {
        return Some(crate::net::http::status(
            StatusCode::NOT_FOUND,
            "not found\n",
        ));
    };
    let varies = found.builtin.is_some_and(|i| compressible(name, i));
    let gzipped = match found.builtin {
        Some(i) if varies && accepts_gzip(headers) => gzipped(i).await,
        _ => None,
    };
    let (body, etag, encoding) = match gzipped {
        Some((body, etag)) => (body, etag, Some("gzip")),
        None => (found.body, found.etag, None),
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
    if varies {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Some(e) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
    }
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

/// A file to serve: its bytes, its tag, and its index in [`ASSETS`] when built in.
struct Found {
    body: Bytes,
    etag: String,
    builtin: Option<usize>,
}

/// `name` from `console_dir` when it has the file, else built in.
async fn lookup(config: &HttpConfig, name: &str) -> Option<Found> {
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
            let etag = etag_of(&bytes);
            return Some(Found {
                body: Bytes::from(bytes),
                etag,
                builtin: None,
            });
        }
    }
    let i = ASSETS.iter().position(|a| a.name == name)?;
    Some(Found {
        body: Bytes::from_static(ASSETS.get(i)?.body),
        etag: builtin_etags().get(i)?.clone(),
        builtin: Some(i),
    })
}

/// Whether built-in file `i` (called `name`) is worth compressing: text, not tiny.
fn compressible(name: &str, i: usize) -> bool {
    let ty = content_type(name);
    let text = ty.starts_with("text/") || ty == "application/json" || ty == "image/svg+xml";
    text && ASSETS.get(i).is_some_and(|a| a.body.len() >= GZIP_MIN)
}

/// Whether the request's `Accept-Encoding` takes gzip (listed, and not with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let items = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    items.into_iter().any(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            let q = p.trim().strip_prefix("q=").map(str::trim);
            q.and_then(|q| q.parse::<f32>().ok()) == Some(0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// Built-in file `i` gzip-compressed, with its own tag; compressed once (off the runtime's
/// threads), then kept.
async fn gzipped(i: usize) -> Option<(Bytes, String)> {
    static CACHE: OnceLock<Vec<OnceLock<(Bytes, String)>>> = OnceLock::new();
    let slot = CACHE
        .get_or_init(|| ASSETS.iter().map(|_| OnceLock::new()).collect())
        .get(i)?;
    if let Some(done) = slot.get() {
        return Some(done.clone());
    }
    let body = ASSETS.get(i)?.body;
    let tag = builtin_etags().get(i)?;
    let packed = tokio::task::spawn_blocking(move || gzip(body)).await.ok()?;
    // A representation of its own needs a tag of its own.
    let etag = format!("{}-gz\"", tag.strip_suffix('"').unwrap_or(tag));
    Some(slot.get_or_init(|| (Bytes::from(packed), etag)).clone())
}

/// `data` as a gzip member (RFC 1952): header, DEFLATE stream, CRC-32, length.
fn gzip(data: &[u8]) -> Vec<u8> {
    let deflated = miniz_oxide::deflate::compress_to_vec(data, 6);
    let mut out = Vec::with_capacity(deflated.len() + 18);
    // ID1 ID2, CM = deflate, no flags, no mtime, XFL 0, OS unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    // ISIZE is the length modulo 2^32.
    out.extend_from_slice(&((data.len() & 0xffff_ffff) as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE 802.3, reflected, as gzip uses).
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc = !0u32;
    for b in data {
        crc = TABLE[((crc ^ u32::from(*b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
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

    #[test]
    fn gzip_member() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        let data = b"weir console ".repeat(200);
        let gz = gzip(&data);
        assert_eq!(gz.get(..3), Some(&[0x1f, 0x8b, 8][..]));
        let body = gz.get(10..gz.len() - 8).expect("deflate stream");
        let back = miniz_oxide::inflate::decompress_to_vec(body).expect("inflates");
        assert_eq!(back, data);
        assert!(gz.len() < data.len() / 10);
    }

    #[test]
    fn accept_encoding() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
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
        // Compressed for a client that takes gzip, with a tag of its own.
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let r = handle(&c, &get, "/console/app.js", &h)
            .await
            .expect("app.js");
        assert_eq!(
            r.headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.as_bytes()),
            Some(&b"gzip"[..])
        );
        let gz_tag = r.headers().get(header::ETAG).expect("etag").clone();
        let r = handle(&c, &get, "/console/app.js", &HeaderMap::new())
            .await
            .expect("app.js");
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
        assert_ne!(r.headers().get(header::ETAG), Some(&gz_tag));
        c.console = false;
        assert!(handle(&c, &get, "/", &HeaderMap::new()).await.is_none());
    }
}
