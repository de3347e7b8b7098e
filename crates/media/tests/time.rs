//! Property and unit tests for timestamps and wrap extension.

use proptest::prelude::*;
use std::cmp::Ordering;
use std::time::Duration;
use weir_media::{rescale, Timebase, Timestamp, WrapExtender};

fn timebase() -> impl Strategy<Value = Timebase> {
    prop_oneof![
        Just(Timebase::MILLIS),
        Just(Timebase::MPEG),
        Just(Timebase::hz(48_000).unwrap()),
        Just(Timebase::hz(44_100).unwrap()),
        Just(Timebase::new(1001, 30_000).unwrap()),
        (1u32..=u32::MAX, 1u32..=u32::MAX).prop_map(|(n, d)| Timebase::new(n, d).unwrap()),
    ]
}

proptest! {
    #[test]
    fn rescale_never_panics_and_is_nearest(ticks in any::<i64>(), from in timebase(), to in timebase()) {
        let out = rescale(ticks, from, to);
        // Compare with exact rational arithmetic: |out - exact| <= 1/2 unless saturated.
        let n = i128::from(ticks) * i128::from(from.num()) * i128::from(to.den());
        let d = i128::from(from.den()) * i128::from(to.num());
        if out != i64::MAX && out != i64::MIN {
            let err = (i128::from(out) * d - n).abs();
            prop_assert!(2 * err <= d, "out {} err {}/{}", out, err, d);
        }
    }

    #[test]
    fn fine_to_coarse_to_fine_is_identity(ms in -(1i64 << 50)..(1i64 << 50)) {
        // ms -> 90 kHz -> ms loses nothing (90 kHz is an integer multiple of 1 kHz).
        let t = Timestamp::new(ms, Timebase::MILLIS);
        prop_assert_eq!(t.rescale(Timebase::MPEG).rescale(Timebase::MILLIS), t);
        // 48 kHz samples -> ns -> 48 kHz too.
        // (bounded so the nanosecond value stays inside i64)
        let s = Timestamp::new(ms >> 10, Timebase::hz(48_000).unwrap());
        prop_assert_eq!(s.rescale(Timebase::NANOS).rescale(s.timebase()), s);
    }

    #[test]
    fn absolute_conversion_does_not_drift(start in 0i64..1_000_000, frames in 1i64..100_000) {
        // 29.97 fps frames in 1001/30000 ticks converted to 90 kHz: exact multiple of 3003.
        let tb = Timebase::new(1001, 30_000).unwrap();
        let t = Timestamp::new(start + frames, tb).rescale(Timebase::MPEG);
        prop_assert_eq!(t.ticks(), (start + frames) * 3003);
    }

    #[test]
    fn cmp_instant_agrees_with_float(a in -(1i64 << 40)..(1i64 << 40), b in -(1i64 << 40)..(1i64 << 40), ta in timebase(), tb in timebase()) {
        let x = Timestamp::new(a, ta);
        let y = Timestamp::new(b, tb);
        prop_assert_eq!(x.cmp_instant(y), y.cmp_instant(x).reverse());
        let (fx, fy) = (x.as_secs_f64(), y.as_secs_f64());
        if (fx - fy).abs() > 1e-6 * fx.abs().max(fy.abs()).max(1.0) {
            prop_assert_eq!(x.cmp_instant(y), fx.partial_cmp(&fy).unwrap());
        }
    }

    #[test]
    fn wrap_extender_tracks_bounded_steps(bits in prop::sample::select(vec![16u32, 32, 33]), start in any::<u32>(), steps in prop::collection::vec(-30_000i64..30_000, 1..300)) {
        let period = 1i64 << bits;
        let mut truth = i64::from(start) & (period - 1);
        let mut ext = WrapExtender::new(bits);
        prop_assert_eq!(ext.extend(truth as u64), truth);
        for s in steps {
            let step = s * (period / 65_536).max(1) / 2;
            truth += step;
            let raw = truth.rem_euclid(period) as u64;
            prop_assert_eq!(ext.peek_delta(raw), Some(step));
            prop_assert_eq!(ext.extend(raw), truth);
        }
    }
}

#[test]
fn rtmp_extended_timestamp_boundary() {
    // A clock started just below the 24-bit extended-timestamp threshold and run past the
    // 32-bit wrap keeps counting up.
    let mut ext = WrapExtender::new(32);
    let mut t: i64 = 0xFF_FFF0;
    assert_eq!(ext.extend(t as u64), t);
    for _ in 0..10 {
        t += 0x3FFF_FFFF; // about 12 days of milliseconds per step
        assert_eq!(ext.extend((t as u64) & 0xFFFF_FFFF), t);
    }
    assert!(t > 1 << 32);
}

#[test]
fn mpeg_33_bit_wrap() {
    let mut ext = WrapExtender::new(33);
    let max = (1u64 << 33) - 1;
    assert_eq!(ext.extend(max - 3000), (max - 3000) as i64);
    assert_eq!(ext.extend(600), (1i64 << 33) + 600);
}

#[test]
fn durations_and_display() {
    let a = Timestamp::new(90_000, Timebase::MPEG);
    let b = Timestamp::new(500, Timebase::MILLIS);
    assert_eq!(a.duration_since(b), Some(Duration::from_millis(500)));
    assert_eq!(b.duration_since(a), None);
    assert_eq!(a.cmp_instant(b), Ordering::Greater);
    assert_eq!(a.to_string(), "90000@1/90000");
    assert_eq!(Timebase::new(0, 1), None);
    assert_eq!(Timebase::hz(0), None);
    assert_eq!(
        Timestamp::new(i64::MAX, Timebase::MILLIS)
            .rescale(Timebase::NANOS)
            .ticks(),
        i64::MAX
    );
    assert_eq!(
        Timestamp::new(-1, Timebase::MPEG)
            .rescale(Timebase::MILLIS)
            .ticks(),
        0
    );
    assert_eq!(
        Timestamp::new(-45, Timebase::MPEG)
            .rescale(Timebase::MILLIS)
            .ticks(),
        -1
    );
}
