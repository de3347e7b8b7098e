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
}

impl Default for HlsConfig {
    fn default() -> Self {
        HlsConfig {
            target_duration: Duration::from_secs(2),
            window: 6,
            idle_timeout: Duration::from_secs(30),
        }
    }
}
