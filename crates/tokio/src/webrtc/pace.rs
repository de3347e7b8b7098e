//! Sans-IO pacing: how fast a player's frames go out (the GOP replay on join is a burst of
//! a whole GOP; spread it so the shared socket and the browser's receive buffer keep up),
//! and how often keyframe requests pass upstream.

use std::time::{Duration, Instant};

/// A token bucket over bytes: `rate` bytes per second, holding at most `burst` bytes.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    /// Bytes per second.
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    /// A full bucket at `now`: `kbps` kbit/s (0 = unlimited), holding `burst` bytes.
    pub(crate) fn new(kbps: u32, burst: usize, now: Instant) -> Pacer {
        let rate = f64::from(kbps) * 1000.0 / 8.0;
        Pacer {
            rate,
            burst: burst.max(1) as f64,
            tokens: burst.max(1) as f64,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
    }

    /// When `len` bytes may be sent (now or later); sending them is [`Pacer::take`].
    /// A frame larger than the bucket waits until the bucket is full, then goes.
    pub(crate) fn ready_at(&mut self, len: usize, now: Instant) -> Instant {
        if self.rate <= 0.0 {
            return now;
        }
        self.refill(now);
        let need = (len as f64).min(self.burst);
        if self.tokens >= need {
            return now;
        }
        now + Duration::from_secs_f64((need - self.tokens) / self.rate)
    }

    /// Spends `len` bytes (the bucket may go negative for a frame larger than it: the
    /// following frames then wait).
    pub(crate) fn take(&mut self, len: usize, now: Instant) {
        if self.rate <= 0.0 {
            return;
        }
        self.refill(now);
        self.tokens -= len as f64;
    }
}

/// Lets one keyframe request through per `interval`; the others are absorbed.
#[derive(Debug, Clone)]
pub(crate) struct KeyframeLimiter {
    interval: Duration,
    last: Option<Instant>,
    /// Requests absorbed so far.
    pub(crate) absorbed: u64,
}

impl KeyframeLimiter {
    /// A limiter passing at most one request per `interval`.
    pub(crate) fn new(interval: Duration) -> KeyframeLimiter {
        KeyframeLimiter {
            interval,
            last: None,
            absorbed: 0,
        }
    }

    /// Whether a request at `now` passes.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        match self.last {
            Some(t) if now.saturating_duration_since(t) < self.interval => {
                self.absorbed += 1;
                false
            }
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_spreads_a_burst() {
        let t0 = Instant::now();
        // 8000 kbit/s = 1 MB/s, bucket 100 kB.
        let mut p = Pacer::new(8000, 100_000, t0);
        let mut now = t0;
        let mut sent = 0usize;
        // 50 frames of 20 kB (1 MB) go out over about 0.9 s, never faster than the rate.
        for _ in 0..50 {
            let at = p.ready_at(20_000, now);
            assert!(at >= now);
            now = at;
            p.take(20_000, now);
            sent += 20_000;
        }
        let took = now - t0;
        assert!(took >= Duration::from_millis(880), "{took:?}");
        assert!(took <= Duration::from_millis(920), "{took:?}");
        assert_eq!(sent, 1_000_000);
        // Unlimited.
        let mut u = Pacer::new(0, 1, t0);
        assert_eq!(u.ready_at(1 << 20, t0), t0);
    }

    #[test]
    fn a_frame_larger_than_the_bucket_still_goes() {
        let t0 = Instant::now();
        let mut p = Pacer::new(800, 10_000, t0); // 100 kB/s
        assert_eq!(p.ready_at(50_000, t0), t0);
        p.take(50_000, t0);
        // The next frame waits until the debt (50 kB taken from a 10 kB bucket) is paid
        // and 1 kB is there: 41 kB at 100 kB/s.
        let wait = p.ready_at(1_000, t0) - t0;
        assert!(
            (Duration::from_millis(405)..=Duration::from_millis(415)).contains(&wait),
            "{wait:?}"
        );
    }

    #[test]
    fn keyframe_requests_are_limited() {
        let t0 = Instant::now();
        let mut l = KeyframeLimiter::new(Duration::from_secs(1));
        assert!(l.allow(t0));
        for i in 1..100 {
            assert!(!l.allow(t0 + Duration::from_millis(i * 5)));
        }
        assert!(l.allow(t0 + Duration::from_millis(1000)));
        assert_eq!(l.absorbed, 99);
    }
}
