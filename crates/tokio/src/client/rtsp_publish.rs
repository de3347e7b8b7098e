//! RTSP publishing (ANNOUNCE/SETUP/RECORD over TCP interleaved): sends frames to an RTSP
//! server — how the relay forwards a stream to another server.
//!
//! ```no_run
//! # async fn demo(track: weir_media::TrackInfo, frames: Vec<weir_media::Frame>) -> Result<(), weir_tokio::client::RtspPublishError> {
//! use weir_tokio::client::RtspPublisher;
//! let mut p = RtspPublisher::connect("rtsp://127.0.0.1:8554/live/copy", &[track]).await?;
//! for f in &frames {
//!     p.send(f).await?;
//! }
//! p.flush().await?;
//! p.teardown().await
//! # }
//! ```

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use weir_media::{Frame, TrackId, TrackInfo};
use weir_rtp_rtcp::payload::{packetizer_for_track, Packetizer, PacketizerConfig};
use weir_rtsp_proto::headers::{TransportMode, TransportSpec};
use weir_rtsp_proto::{ClientConfig, ClientEvent, ClientSession, RtspUrl};

use crate::format::rtp::with_rtp_clock;
use crate::net::random_u64;

/// Queued interleaved bytes at which [`RtspPublisher::send`] writes without waiting for a
/// flush.
const SEND_QUEUE_BYTES: usize = 256 * 1024;

/// How long a request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtspPublishError {
    /// Socket error.
    #[error("{url}: {source}")]
    Io {
        /// The URL.
        url: String,
        /// The error.
        source: std::io::Error,
    },
    /// The RTSP session refused input or a request.
    #[error("{url}: {source}")]
    Rtsp {
        /// The URL.
        url: String,
        /// The error.
        source: weir_rtsp_proto::Error,
    },
    /// The server answered a request with an error status.
    #[error("{url}: {request} answered {status} {reason}")]
    Refused {
        /// The URL.
        url: String,
        /// The request (`ANNOUNCE`, `SETUP`, `RECORD`).
        request: String,
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// No answer in time, or the connection closed.
    #[error("{url}: {what}")]
    Gone {
        /// The URL.
        url: String,
        /// What happened.
        what: String,
    },
    /// None of the tracks has an RTP payload format.
    #[error("{url}: no track can be sent over RTP")]
    NoTracks {
        /// The URL.
        url: String,
    },
}

struct OutTrack {
    id: TrackId,
    packetizer: Box<dyn Packetizer + Send>,
    channel: u8,
    ssrc: u32,
    clock_rate: u32,
    /// RTP timestamp of the last packet sent and when (for sender reports).
    last: Option<(u32, Instant)>,
    packets: u32,
    octets: u32,
    next_report: Option<Instant>,
}

/// Interval between RTCP sender reports (receivers — ffmpeg's RTSP demuxer among them —
/// time the streams by them).
const SR_INTERVAL: Duration = Duration::from_secs(3);

impl OutTrack {
    /// A sender report for `now`, mapping the wallclock to this track's RTP clock.
    fn sender_report(&self, now: Instant) -> Option<Bytes> {
        use weir_rtp_rtcp::rtcp::{SenderReport, SourceDescription};
        use weir_rtp_rtcp::{Compound, NtpTime, RtcpPacket};
        let (rtp, at) = self.last?;
        let adv =
            (now.saturating_duration_since(at).as_secs_f64() * f64::from(self.clock_rate)) as u32;
        let sr = SenderReport {
            ssrc: self.ssrc,
            ntp_time: NtpTime::from_system_time(std::time::SystemTime::now()),
            rtp_time: rtp.wrapping_add(adv),
            packet_count: self.packets,
            octet_count: self.octets,
            ..SenderReport::default()
        };
        Compound::new(vec![
            RtcpPacket::SenderReport(sr),
            RtcpPacket::SourceDescription(SourceDescription::cname(self.ssrc, "weir")),
        ])
        .to_bytes()
        .ok()
    }
}

/// A publishing RTSP client session.
pub struct RtspPublisher {
    url: String,
    sock: TcpStream,
    buf: BytesMut,
    session: ClientSession,
    tracks: Vec<OutTrack>,
    packets: Vec<Bytes>,
    /// Bytes queued by [`RtspPublisher::send`] since the last write.
    queued: usize,
}

impl std::fmt::Debug for RtspPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtspPublisher")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl RtspPublisher {
    /// Connects to `url` (credentials in it are used for Basic/Digest auth), ANNOUNCEs
    /// `tracks` (those with an RTP payload format), SETUPs each over TCP interleaved and
    /// RECORDs.
    ///
    /// # Errors
    /// Connection, refusal or timeout, or no track that RTP can carry.
    pub async fn connect(
        url: &str,
        tracks: &[TrackInfo],
    ) -> Result<RtspPublisher, RtspPublishError> {
        let parsed = RtspUrl::parse(url).map_err(|source| RtspPublishError::Rtsp {
            url: url.into(),
            source,
        })?;
        let clean = parsed.without_credentials();
        let io = |source| RtspPublishError::Io {
            url: clean.clone(),
            source,
        };
        let port = parsed.port.unwrap_or(554);
        let sock = TcpStream::connect((parsed.host.as_str(), port))
            .await
            .map_err(io)?;
        let _ = sock.set_nodelay(true);
        let session =
            ClientSession::new(ClientConfig::new(url), Box::new(random_u64), Instant::now())
                .map_err(|source| RtspPublishError::Rtsp {
                    url: clean.clone(),
                    source,
                })?;
        let mut p = RtspPublisher {
            url: clean.clone(),
            sock,
            buf: BytesMut::with_capacity(4096),
            session,
            tracks: Vec::new(),
            packets: Vec::new(),
            queued: 0,
        };
        let mut sdp = String::from(
            "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=weir\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n",
        );
        let mut controls = Vec::new();
        for (i, t) in tracks.iter().enumerate() {
            let info = with_rtp_clock(std::sync::Arc::new(t.clone()));
            let pt = 96 + u8::try_from(i).unwrap_or(0).min(31);
            let r = random_u64();
            let ssrc = r as u32;
            let cfg = PacketizerConfig::new(info.clock_rate)
                .with_payload_type(pt)
                .with_ssrc(ssrc)
                .with_initial_sequence_number((r >> 32) as u16);
            let Ok((packetizer, format)) = packetizer_for_track(&info, cfg) else {
                continue;
            };
            let media = if info.codec.kind() == weir_media::MediaKind::Video {
                "video"
            } else {
                "audio"
            };
            let control = format!("streamid={i}");
            sdp.push_str(&format!("m={media} 0 RTP/AVP {}\r\n", format.payload_type));
            sdp.push_str(&format.attribute_lines());
            sdp.push_str(&format!("a=control:{control}\r\n"));
            let channel = u8::try_from(2 * p.tracks.len()).unwrap_or(0);
            controls.push(control);
            p.tracks.push(OutTrack {
                id: t.id,
                packetizer,
                channel,
                ssrc,
                clock_rate: info.clock_rate,
                last: None,
                packets: 0,
                octets: 0,
                next_report: None,
            });
        }
        if p.tracks.is_empty() {
            return Err(RtspPublishError::NoTracks { url: clean });
        }
        p.session
            .announce(Bytes::from(sdp), Instant::now())
            .map_err(|source| RtspPublishError::Rtsp {
                url: clean.clone(),
                source,
            })?;
        p.until("ANNOUNCE", |e| matches!(e, ClientEvent::Announced))
            .await?;
        for (i, control) in controls.iter().enumerate() {
            let ch = p.tracks[i].channel;
            let mut spec = TransportSpec::tcp_interleaved(ch, ch.saturating_add(1));
            spec.mode = vec![TransportMode::Record];
            let setup_url = format!("{}/{control}", clean.trim_end_matches('/'));
            p.session
                .setup(&setup_url, &spec, Instant::now())
                .map_err(|source| RtspPublishError::Rtsp {
                    url: clean.clone(),
                    source,
                })?;
            let ev = p
                .until("SETUP", |e| matches!(e, ClientEvent::SetupDone { .. }))
                .await?;
            if let ClientEvent::SetupDone { transport, .. } = ev {
                if let Some(pair) = transport.interleaved {
                    p.tracks[i].channel = pair.rtp;
                }
            }
        }
        p.session
            .record(None, Instant::now())
            .map_err(|source| RtspPublishError::Rtsp {
                url: clean.clone(),
                source,
            })?;
        p.until("RECORD", |e| matches!(e, ClientEvent::Recording))
            .await?;
        Ok(p)
    }

    /// Writes what the session has to send, then reads until `want` accepts an event.
    async fn until(
        &mut self,
        request: &str,
        want: impl Fn(&ClientEvent) -> bool,
    ) -> Result<ClientEvent, RtspPublishError> {
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            self.write_session().await?;
            while let Some(ev) = self.session.poll_event() {
                if want(&ev) {
                    return Ok(ev);
                }
                match ev {
                    ClientEvent::Failed {
                        status, response, ..
                    } => {
                        return Err(RtspPublishError::Refused {
                            url: self.url.clone(),
                            request: request.into(),
                            status,
                            reason: response.reason.clone(),
                        })
                    }
                    ClientEvent::InvalidResponse { .. } | ClientEvent::TimedOut { .. } => {
                        return Err(self.gone(&format!("{request}: {ev:?}")))
                    }
                    _ => {}
                }
            }
            let n = tokio::time::timeout_at(
                deadline,
                tokio::io::AsyncReadExt::read_buf(&mut self.sock, &mut self.buf),
            )
            .await
            .map_err(|_| self.gone(&format!("no answer to {request} in {REQUEST_TIMEOUT:?}")))?
            .map_err(|source| RtspPublishError::Io {
                url: self.url.clone(),
                source,
            })?;
            if n == 0 {
                return Err(self.gone("connection closed"));
            }
            self.session
                .handle_input(&mut self.buf, Instant::now())
                .map_err(|source| RtspPublishError::Rtsp {
                    url: self.url.clone(),
                    source,
                })?;
        }
    }

    fn gone(&self, what: &str) -> RtspPublishError {
        RtspPublishError::Gone {
            url: self.url.clone(),
            what: what.into(),
        }
    }

    async fn write_session(&mut self) -> Result<(), RtspPublishError> {
        self.queued = 0;
        while let Some(b) = self.session.poll_transmit() {
            self.sock
                .write_all(&b)
                .await
                .map_err(|source| RtspPublishError::Io {
                    url: self.url.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Packetizes `frame` (of one of the announced tracks) and queues its packets;
    /// [`RtspPublisher::flush`] writes them (send a batch of frames, then flush once). The
    /// queue is written here too once it holds 256 KiB, so a caller that never flushes still
    /// streams (in bursts) rather than buffering without bound.
    ///
    /// # Errors
    /// A frame the payload format refuses, or the session refusing output.
    pub async fn send(&mut self, frame: &Frame) -> Result<(), RtspPublishError> {
        let Some(t) = self.tracks.iter_mut().find(|t| t.id == frame.track) else {
            return Ok(());
        };
        self.packets.clear();
        if let Err(e) = t.packetizer.packetize(frame, &mut self.packets) {
            tracing::debug!(error = %e, "RTSP publish: frame not packetized");
            return Ok(());
        }
        let channel = t.channel;
        let now = Instant::now();
        if let Some(first) = self
            .packets
            .first()
            .and_then(|p| weir_rtp_rtcp::RtpPacketRef::parse(p).ok())
        {
            t.last = Some((first.timestamp(), now));
        }
        // A report before the track's first packet, then every few seconds.
        let report = t.next_report.is_none_or(|d| now >= d);
        let sr = if report {
            t.next_report = Some(now + SR_INTERVAL);
            t.sender_report(now)
        } else {
            None
        };
        for p in &self.packets {
            t.packets = t.packets.wrapping_add(1);
            t.octets = t
                .octets
                .wrapping_add(u32::try_from(p.len().saturating_sub(12)).unwrap_or(0));
        }
        if let Some(sr) = sr {
            self.session
                .send_interleaved(channel.saturating_add(1), sr)
                .map_err(|source| RtspPublishError::Rtsp {
                    url: self.url.clone(),
                    source,
                })?;
        }
        for p in self.packets.drain(..) {
            self.queued += p.len() + 4;
            self.session
                .send_interleaved(channel, p)
                .map_err(|source| RtspPublishError::Rtsp {
                    url: self.url.clone(),
                    source,
                })?;
        }
        if self.queued >= SEND_QUEUE_BYTES {
            self.write_session().await?;
        }
        Ok(())
    }

    /// Writes what is queued; answers keep-alive timing and reads the server's responses
    /// without waiting.
    ///
    /// # Errors
    /// Socket errors, a closed connection, a response that does not parse.
    pub async fn flush(&mut self) -> Result<(), RtspPublishError> {
        let now = Instant::now();
        self.session.handle_timeout(now);
        loop {
            match self.sock.try_read_buf(&mut self.buf) {
                Ok(0) => return Err(self.gone("connection closed")),
                Ok(_) => self
                    .session
                    .handle_input(&mut self.buf, now)
                    .map_err(|source| RtspPublishError::Rtsp {
                        url: self.url.clone(),
                        source,
                    })?,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(source) => {
                    return Err(RtspPublishError::Io {
                        url: self.url.clone(),
                        source,
                    })
                }
            }
        }
        while let Some(ev) = self.session.poll_event() {
            if let ClientEvent::Failed { method, status, .. } = ev {
                tracing::debug!(%method, status, "RTSP publish: a request failed");
            }
        }
        self.write_session().await
    }

    /// Ends the session (TEARDOWN) and closes the connection.
    ///
    /// # Errors
    /// Socket or session errors while sending TEARDOWN.
    pub async fn teardown(mut self) -> Result<(), RtspPublishError> {
        self.session
            .teardown(Instant::now())
            .map_err(|source| RtspPublishError::Rtsp {
                url: self.url.clone(),
                source,
            })?;
        self.write_session().await?;
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            self.until("TEARDOWN", |e| matches!(e, ClientEvent::TornDown)),
        )
        .await;
        let _ = self.sock.shutdown().await;
        Ok(())
    }
}
