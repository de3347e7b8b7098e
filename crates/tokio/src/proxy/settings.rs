//! Pull and push settings (compiled whatever features are on).

use std::time::Duration;

/// One stream the relay pulls from another server (`[[pull]]` in the file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct PullConfig {
    /// The app it is published under.
    pub app: String,
    /// The stream name.
    pub stream: String,
    /// The source: `rtsp://…`, `rtmp://…`, `http://….flv` or `https://….flv`.
    pub url: String,
    /// RTSP transport: `tcp`, `udp` or `auto` (default: try UDP, fall back to TCP).
    pub transport: Option<String>,
    /// Connect only while someone plays it (default false: always).
    pub on_demand: bool,
    /// Record the pulled stream (as `record.streams` would; default false).
    pub record: bool,
    /// For `https://` sources: a PEM file of CA certificates trusted besides the built-in
    /// web roots (e.g. a private CA's, or a self-signed server's own certificate).
    pub tls_ca: Option<String>,
}

impl PullConfig {
    /// A pull of `url` into `app/stream`.
    pub fn new(
        app: impl Into<String>,
        stream: impl Into<String>,
        url: impl Into<String>,
    ) -> PullConfig {
        PullConfig {
            app: app.into(),
            stream: stream.into(),
            url: url.into(),
            transport: None,
            on_demand: false,
            record: false,
            tls_ca: None,
        }
    }

    /// On demand.
    pub fn on_demand(mut self, on: bool) -> PullConfig {
        self.on_demand = on;
        self
    }

    /// Recorded (from its first frame on, in `[record]`'s format and directory).
    pub fn record(mut self, on: bool) -> PullConfig {
        self.record = on;
        self
    }

    /// Trusting the CA certificates in PEM file `path` for an `https://` source (besides
    /// the built-in web roots).
    pub fn with_tls_ca(mut self, path: impl Into<String>) -> PullConfig {
        self.tls_ca = Some(path.into());
        self
    }

    /// With an RTSP transport (`tcp`, `udp`, `auto`).
    pub fn with_transport(mut self, t: impl Into<String>) -> PullConfig {
        self.transport = Some(t.into());
        self
    }

    /// `app/stream`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.app, self.stream)
    }
}

/// How pulls (and pushes) retry a source that failed (`[pull_retry]` in the file).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct PullBackoff {
    /// The first wait (default 1 s); doubled per failure.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "initial_ms", with = "crate::serde_util::millis")
    )]
    pub initial: Duration,
    /// The longest wait (default 30 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "max_ms", with = "crate::serde_util::millis")
    )]
    pub max: Duration,
    /// Media flowing this long resets the wait to `initial` (default 60 s).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "reset_after_ms", with = "crate::serde_util::millis")
    )]
    pub reset_after: Duration,
}

impl Default for PullBackoff {
    fn default() -> Self {
        PullBackoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            reset_after: Duration::from_secs(60),
        }
    }
}

/// A push rule: forward a stream (or every stream matching a pattern) to another server
/// (`[[push]]` in the file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct PushConfig {
    /// The app (`*` matches any).
    pub app: String,
    /// The stream, or a pattern (`*` matches any run of characters).
    pub stream: String,
    /// The destination: `rtmp://…` or `rtsp://…`; `{app}`, `{stream}` and `{key}` are
    /// replaced by the forwarded stream's.
    pub url: String,
}

impl PushConfig {
    /// Forward `app/stream` (patterns allowed) to `url`.
    pub fn new(
        app: impl Into<String>,
        stream: impl Into<String>,
        url: impl Into<String>,
    ) -> PushConfig {
        PushConfig {
            app: app.into(),
            stream: stream.into(),
            url: url.into(),
        }
    }

    /// `app/stream` as a pattern.
    pub fn pattern(&self) -> String {
        if self.app.is_empty() || self.stream.is_empty() {
            return String::new();
        }
        format!("{}/{}", self.app, self.stream)
    }
}
