//! Golden tests against ffmpeg-produced AAC (native `aac` encoder: AAC-LC only; ffmpeg here
//! has no libfdk_aac, so HE-AAC/SBR/PS is covered by the hand-built vectors in
//! `asc_vectors.rs`).

mod common;

use bytes::{Bytes, BytesMut};
use common::*;
use weir_aac::latm::{write_loas, LatmDecoder, LoasReader, StreamMuxConfig};
use weir_aac::{adts_frames, raw_to_adts, AdtsHeader, AdtsReader, AudioSpecificConfig};
use weir_testutil::{framemd5, probe_stream, TempDir};

fn check_adts_file(
    path: &std::path::Path,
    rate: u32,
    channels: u32,
) -> (AudioSpecificConfig, Vec<Bytes>) {
    let data = Bytes::from(std::fs::read(path).unwrap());
    let frames: Vec<(AdtsHeader, Bytes)> = adts_frames(&data).collect::<Result<_, _>>().unwrap();
    assert!(frames.len() > 3, "{path:?}: only {} frames", frames.len());
    let asc = frames[0].0.to_config();

    // Parsed values equal ffprobe's.
    let probe = probe_stream(path, "a:0", "sample_rate,channels,profile");
    assert_eq!(
        probe_value(&probe, "sample_rate"),
        asc.sample_rate().to_string()
    );
    assert_eq!(probe_value(&probe, "channels"), asc.channels().to_string());
    assert_eq!(probe_value(&probe, "profile"), asc.profile_name().unwrap());
    assert_eq!(asc.sample_rate(), rate);
    assert_eq!(u32::from(asc.channels()), channels);

    // ffmpeg's ADTS demuxer keeps the header in each packet: whole frames must match.
    let mut pos = 0;
    let whole: Vec<String> = frames
        .iter()
        .map(|(h, _)| {
            let f = &data[pos..pos + h.frame_len()];
            pos += h.frame_len();
            md5_hex(f)
        })
        .collect();
    assert_eq!(
        whole,
        md5_column(&framemd5(path, "0:a:0", &[])),
        "{path:?}: ADTS frames"
    );
    // Raw payloads are exactly the AUs ffmpeg's aac_adtstoasc produces.
    let ours: Vec<String> = frames.iter().map(|(_, p)| md5_hex(p)).collect();
    let (theirs, their_asc) = raw_au_md5s(path);
    assert_eq!(
        ours, theirs,
        "{path:?}: raw AU md5s differ from ffmpeg framemd5"
    );
    assert_eq!(
        md5_hex(&asc.to_bytes()),
        their_asc,
        "{path:?}: ASC differs from ffmpeg's extradata"
    );

    // ADTS -> raw + ASC (via serialized bytes) -> ADTS is a byte identity.
    let asc_bytes = asc.to_bytes();
    let asc2 = AudioSpecificConfig::parse(&asc_bytes).unwrap();
    let mut rebuilt = BytesMut::new();
    for (_, p) in &frames {
        raw_to_adts(&asc2, p, &mut rebuilt).unwrap();
    }
    assert!(rebuilt[..] == data[..], "{path:?}: rebuilt ADTS differs");

    // The incremental reader over odd-sized chunks finds the same frames.
    let mut reader = AdtsReader::new();
    let mut got = Vec::new();
    for chunk in data.chunks(97) {
        reader.push(chunk);
        while let Some((_, p)) = reader.pop() {
            got.push(p);
        }
    }
    assert_eq!(reader.skipped_bytes(), 0);
    let payloads: Vec<Bytes> = frames.into_iter().map(|(_, p)| p).collect();
    assert_eq!(got, payloads);
    (asc2, payloads)
}

macro_rules! rate_tests {
    ($($name:ident: $rate:expr,)*) => {$(
        /// AAC-LC stereo and mono at one sample rate.
        #[test]
        fn $name() {
            weir_testutil::interop_or_skip!();
            let dir = TempDir::new(stringify!($name));
            for ch in [2, 1] {
                let path = encode_adts(&dir, $rate, ch, "0.3");
                check_adts_file(&path, $rate, ch);
            }
        }
    )*};
}

rate_tests! {
    adts_8000: 8000,
    adts_11025: 11025,
    adts_16000: 16000,
    adts_22050: 22050,
    adts_32000: 32000,
    adts_44100: 44100,
    adts_48000: 48000,
    adts_88200: 88200,
    adts_96000: 96000,
    // The remaining table rates, for completeness.
    adts_7350: 7350,
    adts_12000: 12000,
    adts_24000: 24000,
    adts_64000: 64000,
}

#[test]
fn adts_5_1() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("aac-51");
    for rate in [8000, 44100, 96000] {
        let path = encode_adts(&dir, rate, 6, "0.3");
        let (asc, _) = check_adts_file(&path, rate, 6);
        assert_eq!(asc.channel_configuration, 6);
    }
}
#[test]
fn adts_7_1() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("aac-71");
    let path = encode_adts(&dir, 48000, 8, "0.3");
    let (asc, _) = check_adts_file(&path, 48000, 8);
    assert_eq!(asc.channel_configuration, 7);
}

/// The ASC we derive from ADTS equals the one ffmpeg's `aac_adtstoasc` writes into MP4.
#[test]
fn asc_matches_mp4_extradata() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("aac-mp4");
    for (rate, ch) in [(44100, 2), (8000, 1), (96000, 6), (48000, 8)] {
        let adts = encode_adts(&dir, rate, ch, "0.2");
        let data = Bytes::from(std::fs::read(&adts).unwrap());
        let (h, _) = adts_frames(&data).next().unwrap().unwrap();
        let mp4 = dir.join(&format!("a_{rate}_{ch}.mp4"));
        remux(&adts, &mp4, "mp4");
        let text = weir_testutil::ffprobe([
            "-show_streams".as_ref(),
            "-show_data".as_ref(),
            mp4.as_os_str(),
        ] as [&std::ffi::OsStr; 3]);
        let hex = extradata_hex(&text);
        assert_eq!(
            hex,
            md5_free_hex(&h.to_config().to_bytes()),
            "rate {rate} ch {ch}"
        );
        let parsed = AudioSpecificConfig::parse(&from_hex(&hex)).unwrap();
        assert_eq!(parsed.sample_rate(), rate);
        assert_eq!(u32::from(parsed.channels()), ch);
    }
}

fn md5_free_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Pulls the hex bytes of the `extradata=` dump out of `ffprobe -show_data` output.
fn extradata_hex(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("extradata=") {
            inside = true;
            continue;
        }
        if inside {
            // "00000000: 1210 56e5 00                               ..V.."
            let Some((off, rest)) = line.split_once(": ") else {
                break;
            };
            if off.len() != 8 || !off.chars().all(|c| c.is_ascii_hexdigit()) {
                break;
            }
            let hexpart = rest.get(..40).unwrap_or(rest);
            out.extend(hexpart.chars().filter(|c| c.is_ascii_hexdigit()));
        }
    }
    assert!(!out.is_empty(), "no extradata in ffprobe output:\n{text}");
    out
}

/// ffmpeg `-f latm` (LOAS with in-band StreamMuxConfig, bit-unaligned payloads): our LOAS
/// frames equal ffmpeg's demuxed packets, and the AUs inside equal the ADTS source's.
#[test]
fn loas_latm_from_ffmpeg() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("aac-latm");
    for (rate, ch) in [(44100, 2), (48000, 6), (8000, 1), (96000, 2)] {
        let adts = encode_adts(&dir, rate, ch, "0.5");
        let latm = dir.join(&format!("s_{rate}_{ch}.latm"));
        remux(&adts, &latm, "latm");
        let probe = probe_stream(&latm, "a:0", "sample_rate,channels,profile");

        let adts_data = Bytes::from(std::fs::read(&adts).unwrap());
        let source: Vec<Bytes> = adts_frames(&adts_data).map(|f| f.unwrap().1).collect();
        let src_asc = adts_frames(&adts_data)
            .next()
            .unwrap()
            .unwrap()
            .0
            .to_config();

        let data = std::fs::read(&latm).unwrap();
        let mut reader = LoasReader::new();
        let mut dec = LatmDecoder::new();
        let mut loas_md5 = Vec::new();
        let mut aus = Vec::new();
        let mut configs = 0;
        for chunk in data.chunks(61) {
            reader.push(chunk);
            while let Some(el) = reader.pop() {
                let mut framed = BytesMut::new();
                write_loas(&el, &mut framed).unwrap();
                loas_md5.push(md5_hex(&framed));
                let parsed = dec.decode(&el, true).unwrap();
                configs += usize::from(parsed.stream_mux_config.is_some());
                aus.extend(parsed.payloads.into_iter().map(|p| p.data));
            }
        }
        assert_eq!(reader.skipped_bytes(), 0);
        // Quirk: ffmpeg's LATM muxer repeats the StreamMuxConfig every 20 elements.
        assert_eq!(configs, aus.len().div_ceil(20), "{} elements", aus.len());
        let asc = dec.config().unwrap().first_config().unwrap().clone();
        assert_eq!(asc, src_asc);
        assert_eq!(
            probe_value(&probe, "sample_rate"),
            asc.sample_rate().to_string()
        );
        assert_eq!(probe_value(&probe, "channels"), asc.channels().to_string());
        assert_eq!(probe_value(&probe, "profile"), asc.profile_name().unwrap());
        assert_eq!(loas_md5, md5_column(&framemd5(&latm, "0:a:0", &[])));
        assert_eq!(aus, source, "LATM AUs differ from the ADTS source");
    }
}

/// Our LOAS output (StreamMuxConfig in every element) is read back by ffmpeg: the AUs it
/// demuxes and decodes from our stream match the source's decoded audio.
#[test]
fn loas_written_by_us_decodes_in_ffmpeg() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("aac-latm-out");
    let adts = encode_adts(&dir, 48000, 2, "0.5");
    let adts_data = Bytes::from(std::fs::read(&adts).unwrap());
    let asc = adts_frames(&adts_data)
        .next()
        .unwrap()
        .unwrap()
        .0
        .to_config();
    let smc = StreamMuxConfig::single(asc);
    let mut out = BytesMut::new();
    for (i, f) in adts_frames(&adts_data).enumerate() {
        let (_, p) = f.unwrap();
        let mut el = BytesMut::new();
        weir_aac::latm::write_audio_mux_element(&smc, true, i % 5 == 0, &[&p], &mut el).unwrap();
        write_loas(&el, &mut out).unwrap();
    }
    let ours = dir.join("ours.latm");
    std::fs::write(&ours, &out).unwrap();
    let decoded = |p: &std::path::Path| {
        let o = weir_testutil::ffmpeg([
            "-i".as_ref(),
            p.as_os_str(),
            "-f".as_ref(),
            "s16le".as_ref(),
            "-".as_ref(),
        ] as [&std::ffi::OsStr; 5]);
        md5_hex(&o.stdout)
    };
    assert_eq!(decoded(&ours), decoded(&adts));
}

/// RFC 6416 MP4A-LATM with `cpresent=0`, as ffmpeg's RTP muxer sends it: the SDP `config=`
/// is a StreamMuxConfig we parse, and each RTP payload is an AudioMuxElement(0) whose AU
/// equals the ADTS source's; our own `StreamMuxConfig::single` produces the same `config=`.
#[test]
fn rtp_mp4a_latm_from_ffmpeg() {
    weir_testutil::interop_or_skip!();
    use std::net::UdpSocket;
    use std::time::{Duration, Instant};
    let dir = TempDir::new("aac-rtp-latm");
    let adts = encode_adts(&dir, 44100, 2, "0.4");
    let adts_data = Bytes::from(std::fs::read(&adts).unwrap());
    let source: Vec<Bytes> = adts_frames(&adts_data).map(|f| f.unwrap().1).collect();
    let asc = adts_frames(&adts_data)
        .next()
        .unwrap()
        .unwrap()
        .0
        .to_config();

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let sdp_path = dir.join("latm.sdp");
    weir_testutil::ffmpeg([
        "-re".to_string(),
        "-i".into(),
        adts.display().to_string(),
        "-c".into(),
        "copy".into(),
        "-f".into(),
        "rtp".into(),
        "-rtpflags".into(),
        "latm".into(),
        "-sdp_file".into(),
        sdp_path.display().to_string(),
        format!("rtp://127.0.0.1:{port}"),
    ]);
    let mut packets = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buf = [0u8; 2048];
    while packets.len() < source.len() && Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            packets.push(Bytes::copy_from_slice(&buf[..n]));
        }
    }
    let sdp = std::fs::read_to_string(&sdp_path).unwrap();
    let config_hex = sdp
        .split([';', '\n', '\r'])
        .find_map(|p| p.trim().strip_prefix("config="))
        .expect("config= in SDP");
    assert!(sdp.contains("cpresent=0"));
    let smc = StreamMuxConfig::parse(&from_hex(config_hex)).unwrap();
    assert_eq!(smc.first_config(), Some(&asc));
    assert_eq!(
        md5_free_hex(&StreamMuxConfig::single(asc).to_bytes()),
        config_hex
    );
    let mut dec = LatmDecoder::with_config(smc);
    let mut aus = Vec::new();
    for p in &packets {
        // Fixed 12-byte RTP header (ffmpeg sends no CSRCs or extensions).
        let el = p.slice(12..);
        let parsed = dec.decode(&el, false).unwrap();
        aus.extend(parsed.payloads.into_iter().map(|p| p.data));
    }
    assert_eq!(aus, source, "RTP LATM AUs differ from the ADTS source");
}

/// HE-AAC / HE-AACv2 signalling checked by ffprobe: ffmpeg here cannot encode SBR/PS, so we
/// carry LC core frames in LOAS under a hand-built StreamMuxConfig whose AudioSpecificConfig
/// signals SBR (and PS) hierarchically; ffprobe must report the rate, channels and profile
/// that our parser derives from the same config.
#[test]
fn he_aac_signalling_as_ffprobe_sees_it() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("aac-he");
    // (output rate, core channels, PS, channels ffprobe reports)
    for (output_rate, ch, ps, out_ch) in [
        (44100u32, 2u32, false, 2u8),
        (48000, 1, true, 2),
        (32000, 1, false, 2),
    ] {
        let core = encode_adts(&dir, output_rate / 2, ch, "0.5");
        let data = Bytes::from(std::fs::read(&core).unwrap());
        let asc = AudioSpecificConfig::he_aac(output_rate, ch as u8, ps).unwrap();
        let smc = StreamMuxConfig::single(asc.clone());
        let mut out = BytesMut::new();
        for f in adts_frames(&data) {
            let (_, p) = f.unwrap();
            let mut el = BytesMut::new();
            weir_aac::latm::write_audio_mux_element(&smc, true, true, &[&p], &mut el).unwrap();
            write_loas(&el, &mut out).unwrap();
        }
        let path = dir.join(&format!("he_{output_rate}_{ch}_{ps}.latm"));
        std::fs::write(&path, &out).unwrap();
        let probe = probe_stream(&path, "a:0", "sample_rate,channels,profile");
        let parsed = AudioSpecificConfig::parse(&asc.to_bytes()).unwrap();
        assert_eq!(
            probe_value(&probe, "sample_rate"),
            parsed.sample_rate().to_string(),
            "{probe:?}"
        );
        assert_eq!(
            probe_value(&probe, "channels"),
            parsed.channels().to_string(),
            "{probe:?}"
        );
        // Quirk: a mono SBR core without explicit PS signalling is reported as stereo
        // (implicit PS is possible), which `channels()` follows; `core_channels()` is 1.
        assert_eq!(parsed.channels(), out_ch);
        assert_eq!(u32::from(parsed.core_channels()), ch);
        // Quirk: ffmpeg sets `profile` to HE-AAC(v2) only when its decoder meets actual SBR
        // (PS) data in the payload, not from the config's signalling; our LC core frames carry
        // none, so it reports the core object type.
        assert_eq!(probe_value(&probe, "profile"), "LC", "{probe:?}");
        assert_eq!(
            parsed.profile_name(),
            Some(if ps { "HE-AACv2" } else { "HE-AAC" })
        );
    }
}

/// Channel configuration 0: ffmpeg encodes layouts without a standard configuration (2.1,
/// quad) with a PCE in the config and, in ADTS, a PCE element at the start of the first
/// frame only. We take the PCE out exactly as `aac_adtstoasc` does (same ASC, same AUs) and
/// rebuild the ADTS file byte for byte.
#[test]
fn pce_layouts_from_ffmpeg() {
    weir_testutil::interop_or_skip!();
    let dir = TempDir::new("aac-pce");
    for (layout, channels) in [("2.1", 3u8), ("quad", 4)] {
        let path = dir.join(&format!("pce_{layout}.aac"));
        weir_testutil::ffmpeg([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-af",
            &format!("aformat=channel_layouts={layout}"),
            "-t",
            "0.3",
            "-c:a",
            "aac",
            "-bitexact",
            "-f",
            "adts",
            path.to_str().unwrap(),
        ]);
        let data = Bytes::from(std::fs::read(&path).unwrap());
        let frames: Vec<(AdtsHeader, Bytes)> =
            adts_frames(&data).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            frames[0].0.channel_configuration, 0,
            "{layout}: expected a PCE layout"
        );
        let (asc, first_au) = frames[0].0.config_and_payload(&frames[0].1).unwrap();
        assert_eq!(asc.channels(), channels);
        let probe = probe_stream(&path, "a:0", "channels");
        assert_eq!(probe_value(&probe, "channels"), channels.to_string());
        let mut aus = vec![first_au];
        aus.extend(frames[1..].iter().map(|(_, p)| p.clone()));
        let ours: Vec<String> = aus.iter().map(|p| md5_hex(p)).collect();
        let (theirs, their_asc) = raw_au_md5s(&path);
        assert_eq!(ours, theirs, "{layout}: AUs differ from aac_adtstoasc");
        assert_eq!(
            md5_hex(&asc.to_bytes()),
            their_asc,
            "{layout}: ASC with PCE differs from ffmpeg's"
        );
        assert_eq!(AudioSpecificConfig::parse(&asc.to_bytes()).unwrap(), asc);
        let mut w = weir_aac::AdtsWriter::new(asc).unwrap();
        let mut out = BytesMut::new();
        for au in &aus {
            w.write(au, &mut out).unwrap();
        }
        assert!(out[..] == data[..], "{layout}: rebuilt ADTS differs");
    }
}
