//! The RTMP client driver: runs a sans-IO [`ClientSession`] over a TCP connection, for
//! pushers, pullers and relays. Two levels:
//!
//! * **media** — the same shape as [`RtspClient`](super::RtspClient): play yields
//!   [`RtmpEvent::Track`]s and [`RtmpEvent::Frame`]s ([`RtmpClient::next_media`], through
//!   [`weir_flv::FlvDemuxer`]); publish takes [`TrackInfo`]s and [`Frame`]s
//!   ([`RtmpClient::send_tracks`], [`RtmpClient::send_frame`], through
//!   [`weir_flv::FlvMuxer`]: sequence headers, enhanced RTMP for HEVC/AV1/Opus);
//! * **messages** — FLV tag bodies as RTMP carries them ([`RtmpClient::send_video`],
//!   [`RtmpClient::next_event`]), for relays that pass them through untouched.
//!
//! Play, printing what arrives:
//!
//! ```no_run
//! # async fn demo() -> Result<(), weir_tokio::client::ClientError> {
//! use weir_tokio::client::{RtmpClient, RtmpEvent, RtmpUrl};
//! let url = RtmpUrl::parse("rtmp://127.0.0.1:1935/live/cam1")?;
//! let mut player = RtmpClient::connect(&url).await?.play(&url.stream).await?;
//! while let Some(event) = player.next_media().await? {
//!     match event {
//!         RtmpEvent::Track(t) => println!("track {} {:?}", t.id.0, t.codec),
//!         RtmpEvent::Frame(f) => println!("track {} dts {:?} {} bytes", f.track.0, f.dts, f.data.len()),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Publish frames (from an [`RtspClient`](super::RtspClient), a file, an encoder):
//!
//! ```no_run
//! # async fn demo(tracks: Vec<weir_media::TrackInfo>, frames: Vec<weir_media::Frame>) -> Result<(), weir_tokio::client::ClientError> {
//! use weir_tokio::client::{RtmpClient, RtmpUrl};
//! let url = RtmpUrl::parse("rtmp://127.0.0.1:1935/live/cam1")?;
//! let mut pusher = RtmpClient::connect(&url).await?.publish(&url.stream).await?;
//! pusher.send_tracks(&tracks).await?; // onMetaData and the sequence headers
//! for f in &frames {
//!     pusher.send_frame(f).await?;
//! }
//! pusher.close().await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use weir_amf::Amf0Value;
use weir_flv::{FlvDemuxer, FlvEvent, FlvMuxer, MuxConfig, TagType};
use weir_media::{Frame, TrackId, TrackInfo};
use weir_rtmp_chunk::{ClientConfig, ClientEvent, ClientSession};

use crate::net::write_all_bufs;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Socket error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Protocol error from the session.
    #[error("rtmp: {0}")]
    Rtmp(#[from] weir_rtmp_chunk::Error),
    /// The server refused (`connect`, `publish` or `play`).
    #[error("{what} rejected: {code} ({description})")]
    Rejected {
        /// What was refused.
        what: &'static str,
        /// The status code, e.g. `NetStream.Publish.BadName`.
        code: String,
        /// The server's description.
        description: String,
    },
    /// The connection closed before the answer arrived.
    #[error("connection closed")]
    Closed,
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The URL is not `rtmp://host[:port]/app/stream`.
    #[error("bad RTMP URL: {0}")]
    BadUrl(String),
    /// A frame or track could not be converted to or from FLV.
    #[error("flv: {0}")]
    Flv(#[from] weir_flv::Error),
    /// The call does not fit the connection (a frame of a track not sent with
    /// [`RtmpClient::send_tracks`]…).
    #[error("{0}")]
    Usage(String),
}

/// What [`RtmpClient::next_media`] yields while playing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RtmpEvent {
    /// A track appeared (its sequence header arrived) or its configuration changed.
    Track(TrackInfo),
    /// An access unit; timestamps in milliseconds (the FLV clock), wraps extended; video in
    /// the canonical layout (4-byte length-prefixed NAL units for H.264/H.265).
    Frame(Frame),
    /// `onMetaData`.
    Metadata(weir_flv::Metadata),
    /// The server ended the stream (`StreamEOF`).
    End,
}

/// `rtmp://host[:port]/app[/…]/stream[?query]`, split the way RTMP needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpUrl {
    /// `host:port` (port 1935 when absent).
    pub authority: String,
    /// The application (everything between the authority and the last `/`).
    pub app: String,
    /// The stream name, with any `?query` kept (servers read tokens from it).
    pub stream: String,
    /// `rtmp://authority/app`, sent as `tcUrl`.
    pub tc_url: String,
}

impl RtmpUrl {
    /// Parses an RTMP URL.
    ///
    /// # Errors
    /// [`ClientError::BadUrl`] when the scheme, app or stream is missing.
    ///
    /// ```
    /// use weir_tokio::client::RtmpUrl;
    /// let u = RtmpUrl::parse("rtmp://example.com/live/cam?token=1").unwrap();
    /// assert_eq!((u.authority.as_str(), u.app.as_str(), u.stream.as_str()), ("example.com:1935", "live", "cam?token=1"));
    /// ```
    pub fn parse(url: &str) -> Result<RtmpUrl, ClientError> {
        let bad = || ClientError::BadUrl(url.to_string());
        let rest = url.strip_prefix("rtmp://").ok_or_else(bad)?;
        let (authority, path) = rest.split_once('/').ok_or_else(bad)?;
        if authority.is_empty() {
            return Err(bad());
        }
        let authority = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_string()
        } else {
            format!("{authority}:1935")
        };
        // The stream is after the last '/' that precedes any '?'.
        let query_at = path.find('?').unwrap_or(path.len());
        let (app, stream) = match path[..query_at].rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => return Err(bad()),
        };
        if app.is_empty() || stream.is_empty() || stream.starts_with('?') {
            return Err(bad());
        }
        Ok(RtmpUrl {
            tc_url: format!("rtmp://{authority}/{app}"),
            authority,
            app: app.to_string(),
            stream: stream.to_string(),
        })
    }
}

/// An RTMP client connection: a [`ClientSession`] over a [`TcpStream`].
pub struct RtmpClient {
    sock: TcpStream,
    session: ClientSession,
    buf: BytesMut,
    out: Vec<Bytes>,
    timeout: Duration,
    /// Play: tags → tracks and frames.
    demux: FlvDemuxer,
    /// Publish: tracks and frames → tags.
    muxer: FlvMuxer,
    tracks: Vec<TrackInfo>,
}

impl std::fmt::Debug for RtmpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtmpClient")
            .field("peer", &self.sock.peer_addr().ok())
            .field("stream_id", &self.session.stream_id())
            .finish_non_exhaustive()
    }
}

impl RtmpClient {
    /// Connects to `url`'s server and completes the handshake and `connect`.
    ///
    /// # Errors
    /// Socket errors, [`ClientError::Rejected`], [`ClientError::Timeout`] (10 s).
    pub async fn connect(url: &RtmpUrl) -> Result<RtmpClient, ClientError> {
        let sock = TcpStream::connect(&url.authority).await?;
        RtmpClient::connect_stream(sock, ClientConfig::new(url.app.clone(), url.tc_url.clone()))
            .await
    }

    /// Runs the handshake and `connect` over an already connected socket.
    ///
    /// # Errors
    /// As [`RtmpClient::connect`].
    pub async fn connect_stream(
        sock: TcpStream,
        config: ClientConfig,
    ) -> Result<RtmpClient, ClientError> {
        let _ = sock.set_nodelay(true);
        let mut c = RtmpClient {
            sock,
            session: ClientSession::new(config),
            buf: BytesMut::with_capacity(64 << 10),
            out: Vec::new(),
            timeout: Duration::from_secs(10),
            demux: FlvDemuxer::new().with_track_ids(TrackId(0), TrackId(1)),
            muxer: FlvMuxer::new(MuxConfig::default()),
            tracks: Vec::new(),
        };
        c.wait_for(|ev| matches!(ev, ClientEvent::Connected { .. }))
            .await?;
        Ok(c)
    }

    /// Sets how long [`publish`](Self::publish) and [`play`](Self::play) wait for an answer.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Starts publishing `name` (`live`); returns once the server accepted.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] (e.g. `NetStream.Publish.BadName`), socket errors, timeout.
    pub async fn publish(mut self, name: &str) -> Result<RtmpClient, ClientError> {
        self.session.publish(name, "live")?;
        self.wait_for(|ev| matches!(ev, ClientEvent::PublishStarted { .. }))
            .await?;
        Ok(self)
    }

    /// Starts playing `name`; returns once the server accepted.
    ///
    /// # Errors
    /// [`ClientError::Rejected`] (e.g. `NetStream.Play.StreamNotFound`), socket errors, timeout.
    pub async fn play(mut self, name: &str) -> Result<RtmpClient, ClientError> {
        self.session.play(name)?;
        self.wait_for(|ev| matches!(ev, ClientEvent::PlayStarted { .. }))
            .await?;
        Ok(self)
    }

    async fn wait_for(&mut self, done: impl Fn(&ClientEvent) -> bool) -> Result<(), ClientError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.next_event()).await {
                Err(_) => return Err(ClientError::Timeout),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(None)) => return Err(ClientError::Closed),
                Ok(Ok(Some(ev))) => {
                    if done(&ev) {
                        return Ok(());
                    }
                    match ev {
                        ClientEvent::Rejected {
                            what,
                            code,
                            description,
                        } => {
                            return Err(ClientError::Rejected {
                                what,
                                code,
                                description,
                            })
                        }
                        ClientEvent::Status {
                            code, description, ..
                        } if code.ends_with(".BadName")
                            || code.ends_with(".StreamNotFound")
                            || code.ends_with(".Failed")
                            || code.ends_with(".Unauthorized") =>
                        {
                            return Err(ClientError::Rejected {
                                what: "stream",
                                code,
                                description,
                            })
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// The session, for anything this driver does not wrap; call [`flush`](Self::flush) after
    /// queueing output on it.
    pub fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// Writes everything the session has queued.
    ///
    /// # Errors
    /// Socket errors.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        while let Some(b) = self.session.poll_transmit() {
            self.out.push(b);
        }
        if !self.out.is_empty() {
            write_all_bufs(&mut self.sock, &mut self.out).await?;
        }
        Ok(())
    }

    /// Sends a video message (an FLV video tag body) and flushes.
    ///
    /// # Errors
    /// Session or socket errors.
    pub async fn send_video(&mut self, timestamp: u32, body: Bytes) -> Result<(), ClientError> {
        self.session.send_video(timestamp, body)?;
        self.flush().await
    }

    /// Sends an audio message (an FLV audio tag body) and flushes.
    ///
    /// # Errors
    /// Session or socket errors.
    pub async fn send_audio(&mut self, timestamp: u32, body: Bytes) -> Result<(), ClientError> {
        self.session.send_audio(timestamp, body)?;
        self.flush().await
    }

    /// Sends `@setDataFrame("onMetaData", metadata)` and flushes.
    ///
    /// # Errors
    /// Session or socket errors.
    pub async fn send_metadata(&mut self, metadata: &Amf0Value) -> Result<(), ClientError> {
        self.session.send_metadata(metadata)?;
        self.flush().await
    }

    /// The next event, reading from the socket as needed; `Ok(None)` once the server has
    /// closed the connection.
    ///
    /// # Errors
    /// Socket or protocol errors.
    pub async fn next_event(&mut self) -> Result<Option<ClientEvent>, ClientError> {
        loop {
            if let Some(ev) = self.session.poll_event() {
                return Ok(Some(ev));
            }
            self.flush().await?;
            if self.sock.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
            self.session.handle_input(&mut self.buf)?;
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(64 << 10);
            }
        }
    }

    /// Publishing: announces `tracks` — `@setDataFrame onMetaData` and a sequence header per
    /// track (avcC, hvcC, AudioSpecificConfig…) — and flushes. Call it again when a track's
    /// configuration changes.
    ///
    /// # Errors
    /// Codecs FLV cannot carry, tracks without the configuration their codec needs, socket
    /// errors.
    pub async fn send_tracks(&mut self, tracks: &[TrackInfo]) -> Result<(), ClientError> {
        let md = self.muxer.metadata(tracks, "weir")?;
        let values = weir_flv::ScriptData::parse(&md.body, Default::default())
            .ok()
            .and_then(|sd| sd.values.into_iter().next());
        if let Some(v) = values {
            self.session.send_metadata(&v)?;
        }
        for t in tracks {
            if let Some(tag) = self.muxer.sequence_header(t, 0)? {
                self.send_tag(tag.tag_type, tag.timestamp, tag.body)?;
            }
        }
        self.tracks = tracks.to_vec();
        self.flush().await
    }

    fn send_tag(&mut self, t: TagType, timestamp: u32, body: Bytes) -> Result<(), ClientError> {
        match t {
            TagType::Video => self.session.send_video(timestamp, body)?,
            TagType::Audio => self.session.send_audio(timestamp, body)?,
            TagType::Script => {}
        }
        Ok(())
    }

    /// Publishing: sends one frame of a track announced with [`RtmpClient::send_tracks`] (its
    /// timestamps in any timebase; RTMP carries milliseconds) and flushes.
    ///
    /// # Errors
    /// A frame of an unknown track, conversion or socket errors.
    pub async fn send_frame(&mut self, frame: &Frame) -> Result<(), ClientError> {
        let Some(track) = self.tracks.iter().find(|t| t.id == frame.track) else {
            return Err(ClientError::Usage(format!(
                "frame of track {} which send_tracks did not announce",
                frame.track.0
            )));
        };
        let tag = self.muxer.frame(track, frame)?;
        self.send_tag(tag.tag_type, tag.timestamp, tag.body)?;
        self.flush().await
    }

    /// Playing: the next track, frame or metadata, reading as needed; `Ok(None)` once the
    /// server has closed the connection.
    ///
    /// # Errors
    /// Socket or protocol errors, tags that do not parse.
    pub async fn next_media(&mut self) -> Result<Option<RtmpEvent>, ClientError> {
        loop {
            if let Some(ev) = self.demux.poll_event() {
                match ev {
                    FlvEvent::Track(t) => return Ok(Some(RtmpEvent::Track(t))),
                    FlvEvent::Frame(f) => return Ok(Some(RtmpEvent::Frame(f))),
                    FlvEvent::Metadata(m) => return Ok(Some(RtmpEvent::Metadata(m))),
                    _ => continue,
                }
            }
            let Some(ev) = self.next_event().await? else {
                return Ok(None);
            };
            match ev {
                ClientEvent::Video { timestamp, data } => {
                    self.demux.push(TagType::Video, timestamp, &data)?
                }
                ClientEvent::Audio { timestamp, data } => {
                    self.demux.push(TagType::Audio, timestamp, &data)?
                }
                ClientEvent::Metadata { metadata, .. } => {
                    if let Some(m) = weir_flv::Metadata::from_amf(&metadata) {
                        return Ok(Some(RtmpEvent::Metadata(m)));
                    }
                }
                ClientEvent::StreamEof { .. } => return Ok(Some(RtmpEvent::End)),
                _ => {}
            }
        }
    }

    /// Ends the stream politely (`closeStream`) and flushes.
    ///
    /// # Errors
    /// Session or socket errors.
    pub async fn close(&mut self) -> Result<(), ClientError> {
        self.session.close_stream()?;
        self.flush().await
    }

    /// The socket and the session.
    pub fn into_parts(self) -> (TcpStream, ClientSession) {
        (self.sock, self.session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = RtmpUrl::parse("rtmp://h:1936/a/b/c?x=1").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.app.as_str(), u.stream.as_str()),
            ("h:1936", "a/b", "c?x=1")
        );
        assert_eq!(u.tc_url, "rtmp://h:1936/a/b");
        let u = RtmpUrl::parse("rtmp://h/live/s?p=a/b").unwrap();
        assert_eq!((u.app.as_str(), u.stream.as_str()), ("live", "s?p=a/b"));
        for bad in [
            "http://h/a/b",
            "rtmp://h/a",
            "rtmp:///a/b",
            "rtmp://h//b",
            "rtmp://h/a/",
            "rtmp://h/a/?q",
        ] {
            assert!(RtmpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
