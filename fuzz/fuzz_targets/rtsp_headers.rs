#![no_main]
//! Typed header parsers: Transport, Range, RTP-Info, Session, WWW-Authenticate, Authorization.
//! Whatever parses must serialize to text that parses to the same value.
use libfuzzer_sys::fuzz_target;
use weir_rtsp_proto::auth::{Challenge, Credentials};
use weir_rtsp_proto::headers::{RangeSpec, RtpInfo, SessionHeader, TransportSpec};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(list) = TransportSpec::parse_list(s) {
        let text = TransportSpec::list_to_string(&list);
        let _ = TransportSpec::parse_list(&text);
    }
    if let Ok(r) = RangeSpec::parse(s) {
        let _ = RangeSpec::parse(&r.to_string());
    }
    if let Ok(l) = RtpInfo::parse_list(s) {
        let _ = RtpInfo::parse_list(&RtpInfo::list_to_string(&l));
    }
    if let Ok(h) = SessionHeader::parse(s) {
        assert_eq!(SessionHeader::parse(&h.to_string()).ok(), Some(h));
    }
    if let Ok(l) = Challenge::parse_list(s) {
        for c in l {
            let _ = Challenge::parse_list(&c.to_string());
        }
    }
    if let Ok(c) = Credentials::parse(s) {
        let _ = Credentials::parse(&c.to_string());
    }
});
