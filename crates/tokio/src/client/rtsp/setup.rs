//! Transport negotiation for SETUP: UDP socket pairs, TCP interleaved channels, the `auto`
//! fallback.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::info;
use weir_rtsp_proto::headers::TransportSpec;
use weir_rtsp_proto::{ClientEvent, Method};

use super::media::{Media, Path};
use super::{LowerTransport, RtspClient, RtspClientError};
use crate::net::random_u64;
use crate::net::rtp_transport::spawn_reader;

/// Binds an RTP/RTCP socket pair on `ip`, preferably on an even port and the next one
/// (RFC 3550 §11; some cameras assume it).
async fn bind_udp_pair(ip: IpAddr) -> std::io::Result<(UdpSocket, UdpSocket)> {
    for _ in 0..16 {
        let a = UdpSocket::bind((ip, 0)).await?;
        let p = a.local_addr()?.port();
        if p % 2 == 0 && p < u16::MAX {
            if let Ok(b) = UdpSocket::bind((ip, p + 1)).await {
                return Ok((a, b));
            }
        }
    }
    Ok((
        UdpSocket::bind((ip, 0)).await?,
        UdpSocket::bind((ip, 0)).await?,
    ))
}

impl RtspClient {
    pub(super) async fn setup_selected(&mut self) -> Result<(), RtspClientError> {
        let cname = format!("weir@{}", self.conn.local.ip());
        self.media = Some(Media::new(
            self.config.jitter_latency,
            self.config.rtcp_interval,
            self.config.repair_timestamps,
            cname,
            random_u64(),
        ));
        let (tx, rx) = mpsc::channel(1024);
        let mut uses_udp = false;
        let selected = self.selected.clone();
        for (k, &idx) in selected.iter().enumerate() {
            let Some(control) = self.tracks.get(idx).map(|t| t.control.clone()) else {
                continue;
            };
            loop {
                let udp = match self.policy.transport() {
                    LowerTransport::Udp => {
                        let ip = self.config.udp_bind.unwrap_or(self.conn.local.ip());
                        let err = self.io_err("bind UDP");
                        let (a, b) = bind_udp_pair(ip).await.map_err(err)?;
                        for s in [&a, &b] {
                            let _ = socket2::SockRef::from(s).set_recv_buffer_size(4 << 20);
                        }
                        Some((a, b))
                    }
                    LowerTransport::Tcp => None,
                };
                let spec = match &udp {
                    Some((a, b)) => {
                        let port = |s: &UdpSocket| s.local_addr().map(|a| a.port()).unwrap_or(0);
                        TransportSpec::udp_unicast(port(a), port(b))
                    }
                    None => {
                        let ch = u8::try_from(2 * k).unwrap_or(254);
                        TransportSpec::tcp_interleaved(ch, ch.saturating_add(1))
                    }
                };
                self.conn
                    .session
                    .setup(&control, &spec, Instant::now())
                    .map_err(|e| self.proto_err(e))?;
                match self.outcome(Method::Setup).await? {
                    ClientEvent::SetupDone { transport, .. } => {
                        let path = if transport.is_tcp() {
                            self.policy.on_setup_answer(LowerTransport::Tcp);
                            let ch = transport.interleaved.or(spec.interleaved);
                            let rtp = ch.map_or(u8::try_from(2 * k).unwrap_or(254), |c| c.rtp);
                            Path::Tcp {
                                rtp,
                                rtcp: ch.map_or(rtp.checked_add(1), |c| c.rtcp),
                            }
                        } else {
                            let Some((a, b)) = udp else {
                                return Err(self.usage("the server answered a TCP SETUP with UDP"));
                            };
                            uses_udp = true;
                            let server_ip = transport
                                .source
                                .as_deref()
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(self.conn.peer.ip());
                            let server_rtcp = transport.server_port.map(|p| {
                                SocketAddr::new(
                                    server_ip,
                                    p.rtcp.unwrap_or(p.rtp.saturating_add(1)),
                                )
                            });
                            let (a, b) = (Arc::new(a), Arc::new(b));
                            let n = self.media.as_ref().map_or(0, Media::len);
                            Path::Udp {
                                readers: [
                                    spawn_reader(a, n, false, tx.clone(), true),
                                    spawn_reader(b.clone(), n, true, tx.clone(), true),
                                ],
                                rtcp_sock: b,
                                server_rtcp,
                            }
                        };
                        let Some(decoder) = self.decoders.get_mut(idx).and_then(Option::take)
                        else {
                            return Err(self.usage(format!("track {idx} has no decoder")));
                        };
                        if let Some(m) = self.media.as_mut() {
                            m.add(decoder, path, Instant::now());
                        }
                        break;
                    }
                    ClientEvent::Failed { status, .. } if k == 0 && udp.is_some() => {
                        match self.policy.on_setup_failed(status) {
                            Some(fb) => {
                                info!(url = %self.conn.url, "rtsp client: {fb}; trying TCP");
                                continue;
                            }
                            None => {
                                let ev = self.outcomes_failed(status);
                                return Err(ev);
                            }
                        }
                    }
                    other => return Err(self.unexpected(other)),
                }
            }
        }
        if uses_udp {
            self.udp_rx = Some(rx);
        }
        Ok(())
    }

    fn outcomes_failed(&self, status: u16) -> RtspClientError {
        RtspClientError::Status {
            url: self.conn.url.clone(),
            method: Method::Setup,
            request_url: self.conn.url.clone(),
            cseq: 0,
            status,
            reason: weir_rtsp_proto::reason_phrase(status).to_string(),
        }
    }
}
