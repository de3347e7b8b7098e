//! Real-time pacing of a file: when each frame is due, with pause and seek. Pure: the
//! caller passes the clock.

use std::time::Duration;

use tokio::time::Instant;
use weir_media::Timestamp;

/// Maps media time to the wall clock: media time `anchor` plays at `at`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacer {
    anchor: Option<(Duration, Instant)>,
    /// How far ahead of real time frames may be sent.
    lead: Duration,
    paused_at: Option<Duration>,
}

/// Media time of a timestamp as a duration since 0 (0 before it).
pub(crate) fn media_time(t: Timestamp) -> Duration {
    let ns = t.rescale(weir_media::Timebase::NANOS).ticks();
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

impl Pacer {
    pub(crate) fn new(lead: Duration) -> Pacer {
        Pacer {
            anchor: None,
            lead,
            paused_at: None,
        }
    }

    /// When a frame at media time `t` is due; the first frame after [`Pacer::reset`]
    /// anchors the clock at `now`.
    pub(crate) fn due(&mut self, t: Duration, now: Instant) -> Instant {
        let (m, at) = *self.anchor.get_or_insert((t, now));
        let wait = t.saturating_sub(m).saturating_sub(self.lead);
        if t < m {
            return at;
        }
        at + wait
    }

    /// The next frame anchors the clock again (after a seek).
    pub(crate) fn reset(&mut self) {
        self.anchor = None;
        self.paused_at = None;
    }

    /// Pauses at `now`: remembers the media time playing then.
    pub(crate) fn pause(&mut self, now: Instant) {
        if let Some((m, at)) = self.anchor {
            self.paused_at = Some(m + now.saturating_duration_since(at));
        }
    }

    /// The media time playing at `now` (once anchored).
    pub(crate) fn media_at(&self, now: Instant) -> Option<Duration> {
        if let Some(p) = self.paused_at {
            return Some(p);
        }
        self.anchor
            .map(|(m, at)| m + now.saturating_duration_since(at))
    }

    /// Resumes at `now` where it was paused: no frame is skipped and none is hurried.
    pub(crate) fn resume(&mut self, now: Instant) {
        if let Some(p) = self.paused_at.take() {
            self.anchor = Some((p, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_pauses_and_resumes_without_a_gap() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut p = Pacer::new(ms(0));
        assert_eq!(p.due(ms(1000), t0), t0, "the first frame anchors");
        assert_eq!(p.due(ms(1040), t0), t0 + ms(40));
        assert_eq!(p.due(ms(2000), t0), t0 + ms(1000));
        // Paused 300 ms into playback for 5 s: the frame at 1.3 s media time plays right
        // on resume, the rest follow at their pace.
        p.pause(t0 + ms(300));
        let r = t0 + ms(5300);
        p.resume(r);
        assert_eq!(p.due(ms(1300), r), r);
        assert_eq!(p.due(ms(1340), r), r + ms(40));
        // A seek re-anchors.
        p.reset();
        assert_eq!(p.due(ms(9000), r + ms(1)), r + ms(1));
        // With a lead, frames go out early.
        let mut p = Pacer::new(ms(200));
        assert_eq!(p.due(ms(0), t0), t0);
        assert_eq!(p.due(ms(500), t0), t0 + ms(300));
        assert_eq!(p.due(ms(100), t0), t0);
    }
}
