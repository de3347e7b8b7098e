//! A depacketizer together with the [`TrackInfo`] its frames belong to, from an SDP
//! media description's `rtpmap`/`fmtp` — what an RTSP client or an RTSP server receiving
//! ANNOUNCE needs to publish a track.

use weir_media::{AudioParams, Codec, MediaKind, TrackInfo};

use super::{aac, depacketizer_for, h264, h265, latm, Depacketizer, DepacketizerConfig};
use crate::Error;

/// A depacketizer for `rtpmap` (`H264/90000`, `MPEG4-GENERIC/48000/2`, `PCMA/8000`, …) and
/// its `fmtp` parameters, with the track its frames belong to: codec, RTP clock rate,
/// codec configuration from the fmtp (avcC/hvcC built from `sprop-*` parameter sets, the
/// AudioSpecificConfig from `config=`, or from a LATM StreamMuxConfig), and for audio the
/// sample rate and channels of the rtpmap. `cfg.track` becomes the track's id.
///
/// H.264/H.265 without parameter sets in the fmtp get an empty configuration: they arrive
/// in band.
///
/// # Errors
/// As [`depacketizer_for`]; container payloads (MP2T, PS) are refused here — their frames
/// are not one track's.
///
/// ```
/// use weir_rtp_rtcp::payload::{track_for, DepacketizerConfig};
/// use weir_media::{Codec, TrackId};
/// let cfg = DepacketizerConfig::new(90_000).with_track(TrackId(1));
/// let (_depack, track) = track_for("MPEG4-GENERIC/44100/2",
///     Some("streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1210"),
///     cfg)?;
/// assert_eq!((track.codec, track.clock_rate, &track.config[..]), (Codec::Aac, 44_100, &[0x12, 0x10][..]));
/// assert_eq!(track.audio.map(|a| (a.sample_rate, a.channels)), Some((44_100, 2)));
/// # Ok::<(), weir_rtp_rtcp::Error>(())
/// ```
pub fn track_for(
    rtpmap: &str,
    fmtp: Option<&str>,
    cfg: DepacketizerConfig,
) -> Result<(Box<dyn Depacketizer + Send>, TrackInfo), Error> {
    let mut parts = rtpmap.trim().split('/');
    let name = parts.next().unwrap_or("").to_ascii_uppercase();
    let clock: u32 = parts
        .next()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
    let channels: Option<u8> = parts.next().and_then(|c| c.trim().parse().ok());
    let id = cfg.track;
    let mut cfg = cfg;
    cfg.clock_rate = clock.max(1);
    let text = fmtp.unwrap_or("");
    let (depack, codec, config): (Box<dyn Depacketizer + Send>, Codec, bytes::Bytes) =
        match name.as_str() {
            "H264" if clock > 0 => {
                let d = h264::H264Depacketizer::from_fmtp(cfg, text)?;
                let c = d.decoder_config().ok().flatten().unwrap_or_default();
                (Box::new(d), Codec::H264, c)
            }
            "H265" if clock > 0 => {
                let d = h265::H265Depacketizer::from_fmtp(cfg, text)?;
                let c = d.decoder_config().ok().flatten().unwrap_or_default();
                (Box::new(d), Codec::H265, c)
            }
            "MPEG4-GENERIC" if clock > 0 => {
                let d = aac::AacDepacketizer::from_fmtp(cfg, text)?;
                let c = d.config().clone();
                (Box::new(d), Codec::Aac, c)
            }
            "MP4A-LATM" if clock > 0 => {
                let d = latm::LatmDepacketizer::from_fmtp(cfg, text)?;
                let c = d.config().clone();
                (Box::new(d), Codec::Aac, c)
            }
            _ => {
                let (d, codec) = depacketizer_for(rtpmap, fmtp, cfg)?;
                let codec = codec.ok_or(Error::InvalidField {
                    field: "rtpmap encoding",
                    value: 0,
                    reason: "a container payload (MP2T, PS) is not one track",
                })?;
                (d, codec, bytes::Bytes::new())
            }
        };
    let mut info = TrackInfo::new(id, codec, clock).with_config(config);
    if codec.kind() == MediaKind::Audio {
        info = info.with_audio(AudioParams {
            sample_rate: clock,
            channels: channels.unwrap_or(1),
        });
    }
    Ok((depack, info))
}
