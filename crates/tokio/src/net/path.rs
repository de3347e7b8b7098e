//! Stream paths in URLs: `app/stream` keys and `/{app}/{stream}/{file}` paths, checked the
//! same way by every HTTP route (media, HLS, LL-HLS, WHEP/WHIP). Plain string code with no
//! dependencies, so the WebRTC fuzz target includes it by path.

/// `/{app}/{stream}/{file}` → (`app/stream`, `file`), the key checked as by [`valid_key`].
pub(crate) fn key_and_file(path: &str) -> Option<(&str, &str)> {
    let (key, file) = path.strip_prefix('/')?.rsplit_once('/')?;
    valid_key(key).then_some((key, file))
}

/// Whether `key` is `app/stream` with each part non-empty and no empty, `.` or `..`
/// segments.
pub(crate) fn valid_key(key: &str) -> bool {
    let ok =
        |s: &str| !s.is_empty() && !s.split('/').any(|p| p.is_empty() || p == "." || p == "..");
    key.rsplit_once('/')
        .is_some_and(|(app, stream)| ok(app) && ok(stream))
}
