//! Mux → demux identity and robustness properties.

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use weir_media::{Codec, Frame, Timebase, Timestamp, TrackId, TrackInfo};
use weir_ps::{Event, PsDemuxConfig, PsDemuxer, PsMuxer};

fn tracks() -> Vec<TrackInfo> {
    vec![
        TrackInfo::new(TrackId(0), Codec::H264, 90_000),
        TrackInfo::new(TrackId(1), Codec::G711A, 8_000),
    ]
}

fn payload(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| ((i as u32).wrapping_mul(7).wrapping_add(u32::from(seed)) % 255 + 1) as u8)
        .collect()
}

/// A P-frame access unit: one slice whose header starts first_mb_in_slice = 0,
/// slice_type = 0, pic_parameter_set_id = 0 (bits `111`), no start-code emulation.
fn video(size: usize, seed: u8) -> Bytes {
    let mut n = payload(size.max(2), seed);
    n[0] = 0x41;
    n[1] |= 0xE0;
    let mut out = BytesMut::new();
    out.put_u32(n.len() as u32);
    out.put_slice(&n);
    out.freeze()
}

fn demux(data: &[u8], chunk: usize, cfg: PsDemuxConfig) -> Vec<Event> {
    let mut d = PsDemuxer::with_config(cfg);
    let mut ev = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        d.push(c);
        ev.extend(std::iter::from_fn(|| d.poll_event()));
    }
    d.flush();
    ev.extend(std::iter::from_fn(|| d.poll_event()));
    ev
}

fn frames(ev: &[Event]) -> Vec<Frame> {
    ev.iter()
        .filter_map(|e| {
            if let Event::Frame(f) = e {
                Some(f.clone())
            } else {
                None
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24), .. ProptestConfig::default() })]

    /// Random H.264 (0..2 MB, several PES each) and G.711 frames with random PTS/DTS that
    /// cross the 33-bit wrap come back unchanged, for any RTP-like chunking.
    #[test]
    fn mux_demux_identity(
        specs in proptest::collection::vec((any::<bool>(), prop_oneof![0usize..2000, 0usize..(2 << 20)], 1i64..9000, 0i64..20_000, any::<u8>()), 1..10),
        start in (1i64 << 33) - 100_000..(1i64 << 33),
        chunk in 1usize..3000,
    ) {
        let mut mux = PsMuxer::new(&tracks(), Default::default()).unwrap();
        let mut out = BytesMut::new();
        let tb = Timebase::MPEG;
        let mut dts = [start; 2];
        let mut sent: Vec<Frame> = Vec::new();
        for (is_video, size, step, cto, seed) in specs {
            let t = usize::from(!is_video);
            dts[t] += step;
            let f = if is_video {
                Frame::new(TrackId(0), Timestamp::new(dts[t] + cto, tb), Timestamp::new(dts[t], tb), video(size, seed))
            } else {
                Frame::new(TrackId(1), Timestamp::new(dts[t], tb), Timestamp::new(dts[t], tb), Bytes::from(payload(size % 4000, seed))).with_keyframe(true)
            };
            mux.write_frame(&f, &mut out).unwrap();
            sent.push(f);
        }
        let mut cfg = PsDemuxConfig::default();
        cfg.es.audio_pts_tolerance = None;
        let got = frames(&demux(&out, chunk, cfg));
        prop_assert_eq!(got.len(), sent.len());
        for id in [0xE0u32, 0xC0] {
            let g: Vec<&Frame> = got.iter().filter(|f| f.track.0 == id).collect();
            let s: Vec<&Frame> = sent.iter().filter(|f| (f.track.0 == 0) == (id == 0xE0)).collect();
            prop_assert_eq!(g.len(), s.len());
            let shift = g.first().map_or(0, |f| f.dts.ticks() - s[0].dts.ticks());
            prop_assert_eq!(shift.rem_euclid(1 << 33), 0);
            for (a, b) in g.iter().zip(&s) {
                prop_assert_eq!(&a.data, &b.data);
                prop_assert_eq!(a.pts.ticks(), b.pts.ticks() + shift);
                prop_assert_eq!(a.dts.ticks(), b.dts.ticks() + shift);
            }
        }
    }

    /// Cutting bytes out of the stream or flipping them never panics; a cut inside a packet
    /// is reported, and the frames after the damage still come out.
    #[test]
    fn demux_survives_loss_and_corruption(cut_at in 200usize..60_000, cut_len in 1usize..3000, flips in proptest::collection::vec((0usize..80_000, 1u8..=255), 0..10), chunk in 1usize..2000) {
        let mut mux = PsMuxer::new(&tracks(), Default::default()).unwrap();
        let mut out = BytesMut::new();
        let mut bounds = vec![0];
        let tb = Timebase::MPEG;
        for i in 0..30i64 {
            let t = Timestamp::new(i * 3600, tb);
            mux.write_frame(&Frame::new(TrackId(0), t, t, video(1000 + (i as usize * 331) % 5000, i as u8)), &mut out).unwrap();
            bounds.push(out.len());
            mux.write_frame(&Frame::new(TrackId(1), t, t, Bytes::from(vec![0xD5; 320])), &mut out).unwrap();
            bounds.push(out.len());
        }
        let cut_at = cut_at % out.len();
        let end = (cut_at + cut_len).min(out.len());
        let mut damaged = out[..cut_at].to_vec();
        damaged.extend_from_slice(&out[end..]);
        let ev = demux(&damaged, chunk, PsDemuxConfig::default());
        let on_boundary = bounds.contains(&cut_at) && bounds.contains(&end);
        if !on_boundary {
            prop_assert!(ev.iter().any(|e| matches!(e, Event::Corrupt(_))), "cut {cut_at}..{end} not reported");
        }
        // Frames after the damaged region keep coming.
        let last = frames(&ev).iter().filter(|f| f.track.0 == 0xE0).map(|f| f.pts.ticks()).max();
        if end < bounds[bounds.len() - 4] {
            prop_assert_eq!(last, Some(29 * 3600));
        }
        for (pos, b) in flips {
            if let Some(x) = damaged.get_mut(pos) { *x ^= b; }
        }
        let _ = demux(&damaged, chunk, PsDemuxConfig::default());
    }
}
