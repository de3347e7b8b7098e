//! Sans-IO checks of what WHEP/WHIP clients send before str0m sees it: a summary of an SDP
//! offer (which codecs each media section offers), the plan of which stream tracks a player
//! gets, and trickle-ICE SDP fragments (RFC 8840) from `PATCH`.
//!
//! str0m parses and answers the offer itself; this module only reads enough to refuse
//! unusable offers with a clear message, and is bounded (lines, media sections, line
//! length) so hostile input costs little.

use weir_media::Codec;

/// Media sections in one offer at most.
pub(crate) const MAX_MEDIA: usize = 16;
/// Lines in one offer or fragment at most.
pub(crate) const MAX_LINES: usize = 4096;

/// What one offer proposes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct OfferSummary {
    /// Some `video` section offers H.264 with packetization-mode=1.
    pub(crate) h264: bool,
    /// Some `video` section offers H.265.
    pub(crate) h265: bool,
    /// Some `audio` section offers Opus.
    pub(crate) opus: bool,
    /// `video` sections.
    pub(crate) video_sections: usize,
    /// `audio` sections.
    pub(crate) audio_sections: usize,
    /// The offer's ICE ufrag (session or first media level).
    pub(crate) ufrag: Option<String>,
}

/// Why an offer or fragment is refused (the message goes to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SdpError {
    /// Not an SDP document we can read (400).
    Malformed(String),
    /// Readable, but nothing in it can be used (406).
    NotAcceptable(String),
}

impl std::fmt::Display for SdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SdpError::Malformed(m) | SdpError::NotAcceptable(m) => f.write_str(m),
        }
    }
}

fn lines(text: &str) -> Result<impl Iterator<Item = &str>, SdpError> {
    if text.lines().nth(MAX_LINES).is_some() {
        return Err(SdpError::Malformed(format!("more than {MAX_LINES} lines")));
    }
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()))
}

/// Reads an offer.
pub(crate) fn summarize(offer: &[u8]) -> Result<OfferSummary, SdpError> {
    let text = std::str::from_utf8(offer)
        .map_err(|_| SdpError::Malformed("the SDP offer is not UTF-8".into()))?;
    if !text.trim_start().starts_with("v=0") {
        return Err(SdpError::Malformed(
            "not an SDP offer (it must start with v=0)".into(),
        ));
    }
    let mut s = OfferSummary::default();
    // Per media section: its kind, (payload type, encoding) and (payload type, fmtp).
    let mut kind = String::new();
    let mut rtpmaps: Vec<(String, String)> = Vec::new();
    let mut fmtps: Vec<(String, String)> = Vec::new();
    let mut sections = 0usize;
    let finish = |s: &mut OfferSummary,
                  kind: &str,
                  rtpmaps: &[(String, String)],
                  fmtps: &[(String, String)]| {
        for (pt, enc) in rtpmaps {
            let name = enc.split('/').next().unwrap_or("").to_ascii_uppercase();
            match (kind, name.as_str()) {
                ("video", "H264") => {
                    let pm1 = fmtps.iter().any(|(p, f)| {
                        p == pt
                            && f.split(';')
                                .any(|kv| kv.trim().eq_ignore_ascii_case("packetization-mode=1"))
                    });
                    s.h264 |= pm1;
                }
                ("video", "H265") => s.h265 = true,
                ("audio", "OPUS") => s.opus = true,
                _ => {}
            }
        }
    };
    for line in lines(text)? {
        if let Some(m) = line.strip_prefix("m=") {
            finish(&mut s, &kind, &rtpmaps, &fmtps);
            rtpmaps.clear();
            fmtps.clear();
            sections += 1;
            if sections > MAX_MEDIA {
                return Err(SdpError::Malformed(format!(
                    "more than {MAX_MEDIA} media sections"
                )));
            }
            kind = m.split(' ').next().unwrap_or("").to_string();
            match kind.as_str() {
                "video" => s.video_sections += 1,
                "audio" => s.audio_sections += 1,
                _ => {}
            }
        } else if let Some(v) = line.strip_prefix("a=rtpmap:") {
            if let Some((pt, enc)) = v.split_once(' ') {
                rtpmaps.push((pt.to_string(), enc.trim().to_string()));
            }
        } else if let Some(v) = line.strip_prefix("a=fmtp:") {
            if let Some((pt, f)) = v.split_once(' ') {
                fmtps.push((pt.to_string(), f.trim().to_string()));
            }
        } else if let Some(u) = line.strip_prefix("a=ice-ufrag:") {
            if s.ufrag.is_none() {
                s.ufrag = Some(u.to_string());
            }
        }
    }
    finish(&mut s, &kind, &rtpmaps, &fmtps);
    if sections == 0 {
        return Err(SdpError::Malformed(
            "the SDP offer has no media section".into(),
        ));
    }
    Ok(s)
}

/// Which of a stream's tracks a WHEP player gets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PlayPlan {
    /// The video codec sent, if any.
    pub(crate) video: Option<Codec>,
    /// The audio codec sent, if any.
    pub(crate) audio: Option<Codec>,
    /// Why a track of the stream is left out (for the log and the API), e.g.
    /// `unsupported codec aac`.
    pub(crate) audio_note: Option<String>,
    /// Why the video track is left out.
    pub(crate) video_note: Option<String>,
}

/// The audio note for a stream whose audio codec is `codec` (None when WebRTC carries it).
pub(crate) fn audio_note(codec: Codec) -> Option<String> {
    (codec != Codec::Opus).then(|| {
        format!(
            "unsupported codec {}",
            codec.to_string().to_ascii_lowercase()
        )
    })
}

/// The plan for a player whose offer is `offer`, of a stream with `video` and `audio`
/// tracks (their codecs). Refused (406) when the player would get nothing.
pub(crate) fn plan_play(
    offer: &OfferSummary,
    video: Option<Codec>,
    audio: Option<Codec>,
) -> Result<PlayPlan, SdpError> {
    let mut plan = PlayPlan::default();
    match video {
        Some(Codec::H264) if offer.h264 => plan.video = Some(Codec::H264),
        Some(Codec::H265) if offer.h265 => plan.video = Some(Codec::H265),
        Some(Codec::H264) => {
            plan.video_note = Some("the offer has no H.264 with packetization-mode=1".into())
        }
        Some(Codec::H265) => plan.video_note = Some("the offer has no H.265".into()),
        Some(c) => plan.video_note = Some(format!("unsupported codec {c}")),
        None => {}
    }
    match audio {
        Some(Codec::Opus) if offer.opus => plan.audio = Some(Codec::Opus),
        Some(Codec::Opus) => plan.audio_note = Some("the offer has no Opus".into()),
        Some(c) => plan.audio_note = audio_note(c),
        None => {}
    }
    if plan.video.is_none() && plan.audio.is_none() {
        let why = [plan.video_note.as_deref(), plan.audio_note.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
        let why = if why.is_empty() {
            "the stream has no track".to_string()
        } else {
            why
        };
        return Err(SdpError::NotAcceptable(format!(
            "nothing of this stream can be sent over WebRTC: {why}"
        )));
    }
    Ok(plan)
}

/// Checks that a WHIP offer has something the relay can take: H.264 (packetization-mode
/// 1), H.265, or Opus.
pub(crate) fn check_publish(offer: &OfferSummary) -> Result<(), SdpError> {
    if offer.h264 || offer.h265 || offer.opus {
        return Ok(());
    }
    Err(SdpError::NotAcceptable(
        "the offer has no usable codec: WHIP takes H.264 (packetization-mode=1), H.265 and Opus"
            .into(),
    ))
}

/// A trickle-ICE SDP fragment (`application/trickle-ice-sdpfrag`, RFC 8840).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Fragment {
    /// `a=ice-ufrag` (an ICE restart when it differs from the session's).
    pub(crate) ufrag: Option<String>,
    /// `a=candidate:` lines (without the `a=`).
    pub(crate) candidates: Vec<String>,
    /// `a=end-of-candidates` was present.
    pub(crate) end: bool,
}

/// Candidates per fragment at most.
pub(crate) const MAX_FRAGMENT_CANDIDATES: usize = 64;

/// Reads a fragment.
pub(crate) fn parse_fragment(body: &[u8]) -> Result<Fragment, SdpError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| SdpError::Malformed("the SDP fragment is not UTF-8".into()))?;
    let mut f = Fragment::default();
    for line in lines(text)? {
        if let Some(u) = line.strip_prefix("a=ice-ufrag:") {
            f.ufrag = Some(u.to_string());
        } else if let Some(c) = line.strip_prefix("a=") {
            if c.starts_with("candidate:") {
                if f.candidates.len() >= MAX_FRAGMENT_CANDIDATES {
                    return Err(SdpError::Malformed(format!(
                        "more than {MAX_FRAGMENT_CANDIDATES} candidates"
                    )));
                }
                f.candidates.push(c.to_string());
            } else if c == "end-of-candidates" {
                f.end = true;
            }
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const CHROME_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0 1\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n\
a=mid:0\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 102 103\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n\
a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n\
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n\
a=rtpmap:103 H264/90000\r\na=fmtp:103 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n";

    #[test]
    fn summarizes_a_browser_offer() {
        let s = summarize(CHROME_OFFER.as_bytes()).unwrap();
        assert!(s.h264 && s.opus && !s.h265);
        assert_eq!((s.audio_sections, s.video_sections), (1, 1));
        assert_eq!(s.ufrag.as_deref(), Some("abcd"));
    }

    #[test]
    fn h264_needs_packetization_mode_1() {
        let offer = CHROME_OFFER.replace("packetization-mode=1", "packetization-mode=0");
        let s = summarize(offer.as_bytes()).unwrap();
        assert!(!s.h264);
        let e = plan_play(&s, Some(Codec::H264), Some(Codec::Aac)).unwrap_err();
        assert!(matches!(e, SdpError::NotAcceptable(_)), "{e:?}");
        assert!(e.to_string().contains("packetization-mode=1"), "{e}");
        assert!(e.to_string().contains("unsupported codec aac"), "{e}");
    }

    #[test]
    fn plans_aac_sources_video_only() {
        let s = summarize(CHROME_OFFER.as_bytes()).unwrap();
        let p = plan_play(&s, Some(Codec::H264), Some(Codec::Aac)).unwrap();
        assert_eq!(p.video, Some(Codec::H264));
        assert_eq!(p.audio, None);
        assert_eq!(p.audio_note.as_deref(), Some("unsupported codec aac"));
        let p = plan_play(&s, Some(Codec::H264), Some(Codec::Opus)).unwrap();
        assert_eq!(p.audio, Some(Codec::Opus));
        // H.265 only when offered.
        let p = plan_play(&s, Some(Codec::H265), Some(Codec::Opus)).unwrap();
        assert_eq!((p.video, p.audio), (None, Some(Codec::Opus)));
        assert!(plan_play(&s, None, None).is_err());
    }

    #[test]
    fn refuses_junk() {
        for bad in [&b"hello"[..], b"\xff\xfe", b"v=0\r\ns=-\r\n", b""] {
            assert!(
                matches!(summarize(bad), Err(SdpError::Malformed(_))),
                "{bad:?}"
            );
        }
        let many = format!("v=0\r\n{}", "m=audio 9 RTP/AVP 0\r\n".repeat(MAX_MEDIA + 1));
        assert!(summarize(many.as_bytes()).is_err());
        let lines = format!("v=0\r\n{}", "a=x\r\n".repeat(MAX_LINES + 1));
        assert!(summarize(lines.as_bytes()).is_err());
        let s = summarize(b"v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n").unwrap();
        assert!(check_publish(&s).is_err());
    }

    #[test]
    fn trickle_fragments() {
        let f = parse_fragment(
            b"a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n\
a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\na=end-of-candidates\r\n",
        )
        .unwrap();
        assert_eq!(f.ufrag.as_deref(), Some("EsAw"));
        assert_eq!(f.candidates.len(), 1);
        assert!(f.candidates[0].starts_with("candidate:1387637174"));
        assert!(f.end);
        let many = "a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n".repeat(100);
        assert!(parse_fragment(many.as_bytes()).is_err());
    }
}
