//! Egress settings (compiled whatever features are on, so configurations are portable).

use std::time::Duration;

/// HLS settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct HlsConfig {
    /// Segments are cut at the first keyframe after this duration (default 2 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "target_duration_ms", with = "crate::serde_util::millis")
    )]
    pub target_duration: Duration,
    /// Segments listed in the playlist (default 6).
    pub window: usize,
    /// Stop segmenting a stream nobody has requested for this long (default 30 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "idle_timeout_ms", with = "crate::serde_util::millis")
    )]
    pub idle_timeout: Duration,
    /// LL-HLS (`ll.m3u8`): the wanted part duration (default 200 ms; rounded to whole
    /// frames, at most 1 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "ll_part_ms", with = "crate::serde_util::millis")
    )]
    pub ll_part: Duration,
    /// LL-HLS: a segment ends at the first keyframe after this (default 2 s);
    /// `EXT-X-TARGETDURATION` is this rounded up to whole seconds.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "ll_segment_ms", with = "crate::serde_util::millis")
    )]
    pub ll_segment: Duration,
    /// LL-HLS: complete segments listed (default 10; more while they span under three
    /// target durations).
    pub ll_window: usize,
    /// LL-HLS: requests held at once, relay-wide (blocking playlist reloads and preload-hint
    /// parts; default 4096); more are answered 503 at once.
    pub ll_max_waiting: usize,
}

impl Default for HlsConfig {
    fn default() -> Self {
        HlsConfig {
            target_duration: Duration::from_secs(2),
            window: 6,
            idle_timeout: Duration::from_secs(30),
            ll_part: Duration::from_millis(200),
            ll_segment: Duration::from_secs(2),
            ll_window: 10,
            ll_max_waiting: 4096,
        }
    }
}

/// Container of recording files.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum RecordFormat {
    /// Fragmented MP4 (a fragment about every second: a killed recording plays up to its
    /// last fragment). The default.
    #[default]
    Fmp4,
    /// Progressive MP4 (`moov` written when the file is finished).
    Mp4,
    /// FLV.
    Flv,
    /// MPEG-TS.
    Ts,
}

impl RecordFormat {
    /// The file name extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            RecordFormat::Fmp4 | RecordFormat::Mp4 => "mp4",
            RecordFormat::Flv => "flv",
            RecordFormat::Ts => "ts",
        }
    }
}

/// Recording settings (`[record]`): which streams are written to files, how, and how long
/// they are kept.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RecordConfig {
    /// Files go to `{dir}/{app}/{stream}/{UTC start}.{ext}` (default `recordings`).
    pub dir: std::path::PathBuf,
    /// Container (default fragmented MP4).
    pub format: RecordFormat,
    /// A file is closed at the first keyframe after this much media time (default 10 min),
    /// and whenever a track's codec or configuration changes.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "segment_ms", with = "crate::serde_util::millis")
    )]
    pub segment: Duration,
    /// `app/stream` patterns recorded from their publish on (`*` matches within one path
    /// part: `live/*`); more can be started at run time through the API (default none).
    pub streams: Vec<String>,
    /// Files older than this many hours are deleted (default 0: kept forever).
    pub max_age_hours: u64,
    /// The oldest files are deleted while all recordings together take more than this
    /// many bytes (default 0: no limit). Files being written or served are never deleted.
    pub max_bytes: u64,
    /// Bytes waiting for the disk per recording before recording data is dropped (to the
    /// next keyframe, counted) rather than slowing the stream (default 64 MiB; not in the
    /// TOML file).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub queue_bytes: usize,
    /// Fragment length of fragmented MP4 files (default 1 s; not in the TOML file).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub fragment: Duration,
    /// How often retention runs (default 60 s; not in the TOML file).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub retention_interval: Duration,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            dir: std::path::PathBuf::from("recordings"),
            format: RecordFormat::Fmp4,
            segment: Duration::from_secs(600),
            streams: Vec::new(),
            max_age_hours: 0,
            max_bytes: 0,
            queue_bytes: 64 << 20,
            fragment: Duration::from_secs(1),
            retention_interval: Duration::from_secs(60),
        }
    }
}

/// Playback of files (`[vod]`): `/vod/{root}/{path}` over HTTP (with `Range`), RTSP, RTMP
/// and HTTP-FLV.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct VodConfig {
    /// URL root name → directory. `rec` is the recording directory unless set here.
    pub roots: std::collections::HashMap<String, std::path::PathBuf>,
}
