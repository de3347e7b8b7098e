//! The hub's settings.

use std::time::Duration;

use super::fanout::DEFAULT_MIN_SPLIT;

/// Hub settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubConfig {
    /// Keep the last GOP for late joiners (default true).
    pub gop_cache: bool,
    /// Largest GOP cached, in payload bytes (default 32 MiB); a longer GOP is not cached
    /// and late joiners wait for the next keyframe.
    pub gop_cache_max_bytes: usize,
    /// Units each stream's broadcast ring holds (default 1024): how far a player may fall
    /// behind before it skips to the next keyframe.
    pub queue_units: usize,
    /// How long each ring holds a unit at most, by arrival (default 10 s, as SRS's
    /// `queue_length`; `Duration::ZERO`: units only): bounds a stream's memory whatever its
    /// shape — 1024 units are 40 s of a video-only stream — and how far behind a player may
    /// fall.
    pub queue_duration: Duration,
    /// How long a player waits for a stream that is not published yet (default 5 s).
    pub play_wait: Duration,
    /// How long a stream outlives its publisher, waiting for it to come back (default 10 s).
    pub publisher_grace: Duration,
    /// How long a new player waits for tracks that have not delivered data yet (default
    /// 1 s); after [`HubConfig::track_timeout`] of stream time an announced track that never
    /// delivered is dropped from the stream's description, with a log line.
    pub track_wait: Duration,
    /// See [`HubConfig::track_wait`] (default 5 s).
    pub track_timeout: Duration,
    /// Threads that share the direct writes of a stream with many players with its
    /// publishing task (default: one per core beyond the first, at most 7; 0: the
    /// publishing task writes to every caught-up player itself).
    pub fanout_threads: usize,
    /// Caught-up players of one stream from which its batches are shared with the
    /// fan-out threads (default 1000): below it the publishing task alone costs less CPU
    /// per delivered bit, above it one core stops keeping up.
    pub fanout_min_players: usize,
}

/// The default [`HubConfig::fanout_threads`]: one per core beyond the first, at most 7.
pub fn default_fanout_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .min(7)
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            gop_cache: true,
            gop_cache_max_bytes: 32 << 20,
            queue_units: 1024,
            queue_duration: Duration::from_secs(10),
            play_wait: Duration::from_secs(5),
            publisher_grace: Duration::from_secs(10),
            track_wait: Duration::from_secs(1),
            track_timeout: Duration::from_secs(5),
            fanout_threads: default_fanout_threads(),
            fanout_min_players: DEFAULT_MIN_SPLIT,
        }
    }
}
