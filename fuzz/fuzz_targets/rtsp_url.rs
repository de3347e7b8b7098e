#![no_main]
//! RTSP URLs and the `Content-Base` / `Location` values servers send: parsing and resolving
//! never panic; a resolved base parses as an RTSP URL whenever the request URL does.
use libfuzzer_sys::fuzz_target;
use weir_rtsp_proto::url::{resolve_base, resolve_reference};
use weir_rtsp_proto::RtspUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (request, value) = s.split_once('\n').unwrap_or((s, ""));
    if let Ok(u) = RtspUrl::parse(request) {
        let plain = u.without_credentials();
        assert_eq!(RtspUrl::parse(&plain).map(|p| p.without_credentials()).ok(), Some(plain.clone()));
        let base = resolve_base(&plain, Some(value));
        assert!(RtspUrl::parse(&base).is_ok(), "{base}");
        let _ = resolve_reference(&plain, value);
        let _ = u.same_origin(&u);
    }
    let _ = resolve_base(request, None);
    let _ = resolve_reference(request, value);
});
