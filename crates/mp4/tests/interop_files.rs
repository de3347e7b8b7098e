//! G.711 and Motion JPEG files, a > 4 GiB progressive file (sparse, `co64`), and a
//! fragmented recording cut mid-fragment: all read by ffprobe/ffmpeg and by weir.

mod common;

use std::io::{Seek, SeekFrom, Write};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use weir_media::{AudioParams, Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo, VideoParams};
use weir_mp4::{DemuxConfig, Demuxer, FragmentConfig, ProgressiveConfig, ProgressiveMuxer};
use weir_testutil::{decoded_video_md5, interop_or_skip, TempDir};

fn raw_md5(path: &std::path::Path, fmt: &str) -> String {
    let out = weir_testutil::ffmpeg([
        "-f",
        fmt,
        "-ar",
        "8000",
        "-ac",
        "1",
        "-i",
        &path.display().to_string(),
        "-f",
        "md5",
        "-",
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn g711_and_mjpeg() {
    interop_or_skip!();
    let dir = TempDir::new("mp4-g711-mjpeg");
    for (codec, fmt, name) in [
        (Codec::G711A, "alaw", "pcm_alaw"),
        (Codec::G711U, "mulaw", "pcm_mulaw"),
    ] {
        let raw = dir.join(&format!("sound.{fmt}"));
        ffmpeg(&format!(
            "-f lavfi -i sine=frequency=700:sample_rate=8000 -t 2 -c:a pcm_{fmt} -f {fmt} {}",
            raw.display()
        ));
        ffmpeg(&format!(
            "-f lavfi -i testsrc2=size=160x120:rate=10 -frames:v 20 -c:v mjpeg -q:v 5 {}/pic%03d.jpg",
            dir.path().display()
        ));
        let sound = Bytes::from(std::fs::read(&raw).unwrap());
        let audio = TrackInfo::new(TrackId(1), codec, 8000).with_audio(AudioParams {
            sample_rate: 8000,
            channels: 1,
        });
        let video = TrackInfo::new(TrackId(0), Codec::Mjpeg, 90_000).with_video(VideoParams {
            width: 160,
            height: 120,
        });
        let mut frames = Vec::new();
        for i in 0..20i64 {
            let jpeg = std::fs::read(dir.join(&format!("pic{:03}.jpg", i + 1))).unwrap();
            let t = Timestamp::new(i * 9000, Timebase::MPEG);
            frames.push(Frame::new(TrackId(0), t, t, Bytes::from(jpeg)).with_keyframe(true));
            // 100 ms of sound per picture, in two 50 ms frames.
            for h in 0..2i64 {
                let start = ((i * 2 + h) * 400) as usize;
                if start >= sound.len() {
                    break;
                }
                let end = (start + 400).min(sound.len());
                let t = Timestamp::new(start as i64, Timebase::hz(8000).unwrap());
                frames.push(
                    Frame::new(TrackId(1), t, t, sound.slice(start..end)).with_keyframe(true),
                );
            }
        }
        let tracks = [video, audio];
        let src_pictures = decoded_video_md5(&dir.join("pic%03d.jpg"), &["-framerate", "10"]);
        for (layout, data) in [
            (
                "fragmented",
                mux_fragmented(&tracks, &frames, FragmentConfig::default(), 0),
            ),
            (
                "progressive",
                mux_progressive(&tracks, &frames, ProgressiveConfig::default(), false),
            ),
        ] {
            let out = dir.join(&format!("{name}-{layout}.mp4"));
            std::fs::write(&out, &data).unwrap();
            decodes_clean(&out);
            assert_eq!(
                stream(&out, 0, "codec_name")["codec_name"],
                "mjpeg",
                "{layout}"
            );
            let a = stream(&out, 1, "codec_name,sample_rate,channels");
            assert_eq!(a["codec_name"], name, "{layout}");
            assert_eq!(a["sample_rate"], "8000");
            assert_eq!(a["channels"], "1");
            assert_eq!(packet_count(&out, 0), 20);
            assert_eq!(
                decoded_video_md5(&out, &[]),
                src_pictures,
                "{layout}: pictures"
            );
            assert_eq!(
                decoded_audio_md5(&out),
                raw_md5(&raw, fmt),
                "{layout}: sound"
            );
            let (back_tracks, back) = demux_mp4(data);
            assert_eq!(back_tracks[1].codec, codec);
            assert_eq!(back_tracks[0].codec, Codec::Mjpeg);
            assert_eq!(back, frames_sorted(&frames), "{layout}: frames back");
        }
    }
}

/// Frames in the order the demuxer interleaves them (decode time, then track order).
fn frames_sorted(frames: &[Frame]) -> Vec<Frame> {
    let mut v = frames.to_vec();
    v.sort_by(|a, b| a.dts.cmp_instant(b.dts).then(a.track.cmp(&b.track)));
    v
}

/// A progressive file past 4 GiB: the first half of the frames, a 4.5 GiB hole that no
/// sample references (a sparse file: nothing is written there), the second half, `moov`
/// at the end with `co64`. ffprobe/ffmpeg read every frame; so does weir's demuxer driven
/// over the file.
#[test]
fn progressive_over_4gib_uses_co64() {
    interop_or_skip!();
    let dir = TempDir::new("mp4-co64");
    let src = dir.join("source.ts");
    ffmpeg(&format!(
        "-f lavfi -i testsrc2=size=160x120:rate=25 -f lavfi -i sine=sample_rate=48000 -t 2 \
         -c:v libx264 -bf 2 -g 25 -pix_fmt yuv420p -c:a aac -f mpegts {}",
        src.display()
    ));
    let (tracks, frames) = demux_ts(&src);
    let path = dir.join("big.mp4");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut mux = ProgressiveMuxer::new(&tracks, ProgressiveConfig::default()).unwrap();
    file.write_all(&mux.header()).unwrap();
    let hole = 9u64 << 29; // 4.5 GiB
    for (i, f) in frames.iter().enumerate() {
        if i == frames.len() / 2 {
            mux.skip(hole).unwrap();
            file.seek(SeekFrom::Current(hole as i64)).unwrap();
        }
        file.write_all(&mux.write_frame(f.clone()).unwrap())
            .unwrap();
    }
    let fin = mux.finish().unwrap();
    assert!(fin.moov_offset > 1 << 32);
    assert!(fin.moov.windows(4).any(|w| w == b"co64"), "co64 expected");
    assert!(!fin.moov.windows(4).any(|w| w == b"stco"));
    file.seek(SeekFrom::Start(fin.moov_offset)).unwrap();
    file.write_all(&fin.moov).unwrap();
    for p in &fin.patches {
        file.seek(SeekFrom::Start(p.offset)).unwrap();
        file.write_all(&p.bytes).unwrap();
    }
    drop(file);
    assert!(std::fs::metadata(&path).unwrap().len() > 1 << 32);
    decodes_clean(&path);
    for (i, t) in tracks.iter().enumerate() {
        assert_eq!(
            packet_count(&path, i),
            frames.iter().filter(|f| f.track == t.id).count()
        );
    }
    assert_eq!(decoded_video_md5(&path, &[]), decoded_video_md5(&src, &[]));
    // weir's demuxer, reading the file by offset.
    let mut f = std::fs::File::open(&path).unwrap();
    let mut d = Demuxer::new(DemuxConfig::default());
    let mut back = Vec::new();
    loop {
        if let Some(fr) = d.poll_frame() {
            back.push(fr);
            continue;
        }
        let Some(req) = d.poll_read() else { break };
        let mut buf = vec![0u8; req.len];
        f.seek(SeekFrom::Start(req.offset)).unwrap();
        let mut n = 0;
        while n < buf.len() {
            let r = std::io::Read::read(&mut f, &mut buf[n..]).unwrap();
            if r == 0 {
                break;
            }
            n += r;
        }
        buf.truncate(n);
        d.handle_data(req.offset, Bytes::from(buf)).unwrap();
    }
    assert_eq!(back.len(), frames.len());
    let video = tracks[0].id;
    let want: Vec<Bytes> = frames
        .iter()
        .filter(|f| f.track == video)
        .map(|f| f.data.clone())
        .collect();
    let got: Vec<Bytes> = back
        .iter()
        .filter(|f| f.track == video)
        .map(|f| f.data.clone())
        .collect();
    assert_eq!(got, want);
}

/// A fragmented recording whose writer died mid-fragment: ffmpeg decodes every picture up
/// to the last whole fragment, and weir's demuxer returns those frames (and the cut
/// fragment's frames whose data is all there).
#[test]
fn fragmented_recording_cut_mid_fragment_plays_to_last_fragment() {
    interop_or_skip!();
    let dir = TempDir::new("mp4-killed");
    let src = dir.join("source.ts");
    ffmpeg(&format!(
        "-f lavfi -i testsrc2=size=160x120:rate=25 -t 4 -c:v libx264 -bf 2 -g 25 -pix_fmt yuv420p -f mpegts {}",
        src.display()
    ));
    let (tracks, frames) = demux_ts(&src);
    let mut mux = weir_mp4::FragmentedMuxer::new(&tracks, FragmentConfig::default()).unwrap();
    let mut file = mux.init_segment().to_vec();
    let mut complete = 0; // frames in whole fragments
    let mut cut_at = None;
    for f in &frames {
        if let Some(frag) = mux
            .push_and_cut(
                f.clone(),
                weir_mp4::Cut::at_keyframes(Duration::from_millis(900)),
            )
            .unwrap()
        {
            if complete >= 50 {
                // The writer dies half-way through this fragment.
                let bytes = frag.to_bytes();
                file.extend_from_slice(&bytes[..bytes.len() / 2]);
                cut_at = Some(file.len());
                break;
            }
            complete += frag.samples;
            file.extend_from_slice(&frag.to_bytes());
        }
    }
    assert!(cut_at.is_some() && complete >= 50);
    let out = dir.join("killed.mp4");
    std::fs::write(&out, &file).unwrap();
    let src_md5 = decoded_video_md5(&src, &[]);
    let got = decoded_video_md5(&out, &[]);
    assert!(
        got.len() >= complete,
        "ffmpeg decoded {} of {complete}",
        got.len()
    );
    assert_eq!(got[..complete], src_md5[..complete]);
    // weir also returns the frames of the cut fragment whose data made it to the file.
    let (_, back) = demux_mp4(file);
    assert!(
        back.len() >= complete && back.len() < frames.len(),
        "{} frames",
        back.len()
    );
    for (a, b) in back.iter().zip(&frames) {
        assert_eq!(a.data, b.data);
    }
}
