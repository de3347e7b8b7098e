//! MPEG audio frame headers: build → parse identity over every field, the derived values
//! against an independent model of the 11172-3 / 13818-3 tables, arbitrary input never
//! panics, and (interop) every frame of ffmpeg-made MP2 and MP3 streams (this ffmpeg has no
//! Layer I encoder; Layer I is covered by the table model).

use proptest::prelude::*;
use weir_aac::mpa::{find_header, ChannelMode, Layer, MpaHeader, MpegVersion, HEADER_LEN};
use weir_aac::Error;

fn version() -> impl Strategy<Value = MpegVersion> {
    prop_oneof![
        Just(MpegVersion::Mpeg1),
        Just(MpegVersion::Mpeg2),
        Just(MpegVersion::Mpeg25)
    ]
}

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![Just(Layer::I), Just(Layer::II), Just(Layer::III)]
}

fn mode() -> impl Strategy<Value = ChannelMode> {
    prop_oneof![
        Just(ChannelMode::Stereo),
        Just(ChannelMode::JointStereo),
        Just(ChannelMode::DualChannel),
        Just(ChannelMode::Mono)
    ]
}

prop_compose! {
    fn header()(
        (version, layer, crc_protected) in (version(), layer(), any::<bool>()),
        (bitrate_index, sampling_frequency_index) in (0u8..15, 0u8..3),
        (padding, private_bit, channel_mode) in (any::<bool>(), any::<bool>(), mode()),
        (mode_extension, copyright, original, emphasis) in (0u8..4, any::<bool>(), any::<bool>(), 0u8..4),
    ) -> MpaHeader {
        MpaHeader {
            version, layer, crc_protected, bitrate_index, sampling_frequency_index, padding,
            private_bit, channel_mode, mode_extension, copyright, original, emphasis,
        }
    }
}

/// The tables as the standards print them, indexed by the raw header fields.
fn model(b: [u8; 4]) -> Option<(u32, u32, u32, Option<u32>)> {
    let id = (b[1] >> 3) & 3;
    let layer = (b[1] >> 1) & 3;
    let bri = usize::from(b[2] >> 4);
    let sfi = usize::from((b[2] >> 2) & 3);
    let pad = u32::from((b[2] >> 1) & 1);
    let rate = [
        [11_025, 12_000, 8_000],
        [0, 0, 0],
        [22_050, 24_000, 16_000],
        [44_100, 48_000, 32_000],
    ][usize::from(id)][sfi];
    let kbps: [u32; 16] = match (id, layer) {
        (3, 3) => [
            0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0,
        ],
        (3, 2) => [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0,
        ],
        (3, 1) => [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
        ],
        (_, 3) => [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0,
        ],
        _ => [
            0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
        ],
    };
    let samples = match (layer, id) {
        (3, _) => 384,
        (2, _) | (1, 3) => 1152,
        _ => 576,
    };
    let br = kbps[bri] * 1000;
    let len = (br != 0).then(|| match layer {
        3 => (12 * br / rate + pad) * 4,
        1 if id != 3 => 72 * br / rate + pad,
        _ => 144 * br / rate + pad,
    });
    Some((br, rate, samples, len))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn build_parse_identity(h in header()) {
        let bytes = h.to_bytes();
        let back = MpaHeader::parse(&bytes).unwrap();
        prop_assert_eq!(back, h);
        prop_assert_eq!(back.to_bytes(), bytes);
        let (br, rate, samples, len) = model(bytes).unwrap();
        prop_assert_eq!(h.bitrate().unwrap_or(0), br);
        prop_assert_eq!(h.sample_rate(), rate);
        prop_assert_eq!(h.samples_per_frame(), samples);
        prop_assert_eq!(h.frame_len().map(|l| l as u32), len);
        prop_assert_eq!(h.channels(), if h.channel_mode == ChannelMode::Mono { 1 } else { 2 });
        prop_assert_eq!(h.header_len(), if h.crc_protected { 6 } else { 4 });
    }

    #[test]
    fn builder_agrees_with_parse(v in version(), l in layer(), m in mode(), bri in 1u8..15, sfi in 0u8..3) {
        let h = MpaHeader {
            version: v, layer: l, crc_protected: false, bitrate_index: bri,
            sampling_frequency_index: sfi, padding: false, private_bit: false, channel_mode: m,
            mode_extension: 0, copyright: false, original: false, emphasis: 0,
        };
        let built = MpaHeader::new(v, l, h.bitrate().unwrap(), h.sample_rate(), m).unwrap();
        prop_assert_eq!(built, h);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..64)) {
        match MpaHeader::parse(&data) {
            Ok(h) => {
                prop_assert_eq!(&h.to_bytes()[..], &data[..HEADER_LEN]);
                let (br, rate, _, len) = model(h.to_bytes()).unwrap();
                prop_assert!(br != 0 || h.bitrate().is_none());
                prop_assert_eq!(h.sample_rate(), rate);
                prop_assert_eq!(h.frame_len().map(|l| l as u32), len);
                // Every valid header's frame can hold its own header.
                prop_assert!(h.frame_len().is_none_or(|l| l >= HEADER_LEN));
            }
            Err(Error::Truncated { .. } | Error::NoMpegAudioSync { .. } | Error::InvalidField { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
        if let Some((at, h)) = find_header(&data) {
            prop_assert_eq!(MpaHeader::parse(&data[at..]).ok(), Some(h));
            for i in 0..at {
                prop_assert!(MpaHeader::parse(&data[i..]).is_err());
            }
        }
    }
}

mod interop {
    use std::path::Path;

    use weir_aac::mpa::{Layer, MpaHeader, MpegVersion};
    use weir_testutil::{ffmpeg, ffprobe, interop_or_skip, TempDir};

    /// Splits a raw MPEG audio elementary stream with our header lengths.
    fn split(data: &[u8]) -> Vec<(MpaHeader, &[u8])> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Ok(h) = MpaHeader::parse(&data[pos..]) {
            let len = h.frame_len().expect("not free format");
            let Some(frame) = data.get(pos..pos + len) else {
                break;
            };
            out.push((h, frame));
            pos += len;
        }
        assert_eq!(pos, data.len(), "frames do not tile the stream");
        out
    }

    /// ffprobe's view of the stream: sample rate, channels, packet count, and each packet's
    /// size (ffprobe's mp3/mp2 demuxers cut packets at frame boundaries).
    fn probe(path: &Path) -> (u32, u8, Vec<usize>) {
        let p = path.to_str().unwrap();
        let stream = ffprobe([
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=sample_rate,channels",
            "-of",
            "csv=p=0",
            p,
        ]);
        let mut it = stream.trim().split(',');
        let rate = it.next().unwrap().parse().unwrap();
        let channels = it.next().unwrap().parse().unwrap();
        let sizes = ffprobe([
            "-select_streams",
            "a:0",
            "-show_entries",
            "packet=size",
            "-of",
            "csv=p=0",
            p,
        ]);
        (
            rate,
            channels,
            sizes.lines().map(|l| l.trim().parse().unwrap()).collect(),
        )
    }

    #[test]
    fn ffmpeg_mp2_mp3_streams() {
        interop_or_skip!();
        let dir = TempDir::new("mpa-interop");
        // (encoder, extension, sample rate, channels, bitrate, version, layer)
        let cases: [(&str, &str, u32, u8, &str, MpegVersion, Layer); 6] = [
            (
                "mp2",
                "mp2",
                48_000,
                2,
                "192k",
                MpegVersion::Mpeg1,
                Layer::II,
            ),
            (
                "mp2",
                "mp2",
                22_050,
                1,
                "64k",
                MpegVersion::Mpeg2,
                Layer::II,
            ),
            (
                "libmp3lame",
                "mp3",
                44_100,
                2,
                "128k",
                MpegVersion::Mpeg1,
                Layer::III,
            ),
            (
                "libmp3lame",
                "mp3",
                24_000,
                1,
                "32k",
                MpegVersion::Mpeg2,
                Layer::III,
            ),
            (
                "libmp3lame",
                "mp3",
                11_025,
                1,
                "16k",
                MpegVersion::Mpeg25,
                Layer::III,
            ),
            (
                "libmp3lame",
                "mp3",
                32_000,
                2,
                "96k",
                MpegVersion::Mpeg1,
                Layer::III,
            ),
        ];
        for (enc, ext, rate, ch, br, version, layer) in cases {
            let out = dir.join(&format!("a_{rate}_{ch}.{ext}"));
            let source = format!("sine=frequency=440:sample_rate={rate}:duration=1");
            let channels = ch.to_string();
            let mut args = vec![
                "-f", "lavfi", "-i", &source, "-ac", &channels, "-c:a", enc, "-b:a", br,
            ];
            if ext == "mp3" {
                // No Xing/ID3 header: the file is bare frames.
                args.extend(["-write_xing", "0", "-id3v2_version", "0"]);
            }
            args.push(out.to_str().unwrap());
            ffmpeg(&args);
            let data = std::fs::read(&out).unwrap();
            let frames = split(&data);
            let (probe_rate, probe_ch, sizes) = probe(&out);
            assert_eq!((probe_rate, probe_ch), (rate, ch), "{enc} {rate}");
            let ours: Vec<usize> = frames.iter().map(|(_, f)| f.len()).collect();
            assert_eq!(
                ours, sizes,
                "{enc} {rate}: frame sizes differ from ffprobe's packets"
            );
            for (h, _) in &frames {
                assert_eq!((h.version, h.layer), (version, layer));
                assert_eq!((h.sample_rate(), h.channels()), (rate, ch));
            }
        }
    }
}
