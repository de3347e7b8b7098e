//! One RTSP connection: the socket and its sans-IO session.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;
use tracing::debug;
use weir_rtsp_proto::{ClientConfig, ClientSession, RtspUrl};

use super::{RtspClientConfig, RtspClientError};
use crate::net::random_u64;

/// One RTSP connection: the socket and its sans-IO session.
pub(super) struct Conn {
    pub(super) sock: TcpStream,
    pub(super) session: ClientSession,
    pub(super) buf: BytesMut,
    /// Bytes to write; written ones are removed as they go, so a cancelled write loses
    /// nothing and repeats nothing.
    pub(super) out: VecDeque<Bytes>,
    /// The URL without credentials.
    pub(super) url: String,
    pub(super) local: SocketAddr,
    pub(super) peer: SocketAddr,
}

impl Conn {
    pub(super) async fn open(
        url: &str,
        config: &RtspClientConfig,
        credentials: Option<(String, String)>,
    ) -> Result<Conn, RtspClientError> {
        let parsed = RtspUrl::parse(url).map_err(|source| RtspClientError::BadUrl {
            url: url.to_string(),
            source,
        })?;
        let plain = parsed.without_credentials();
        if parsed.scheme != "rtsp" {
            return Err(RtspClientError::Usage {
                url: plain,
                reason: format!("{}:// is not supported (rtsp:// only)", parsed.scheme),
            });
        }
        let io = |what: &'static str| {
            let plain = plain.clone();
            move |source| RtspClientError::Io {
                url: plain,
                what,
                source,
            }
        };
        let host = parsed.host.trim_start_matches('[').trim_end_matches(']');
        let connect = TcpStream::connect((host, parsed.port_or_default()));
        let sock = match tokio::time::timeout(config.connect_timeout, connect).await {
            Ok(r) => r.map_err(io("connect"))?,
            Err(_) => {
                return Err(io("connect")(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                )))
            }
        };
        let _ = sock.set_nodelay(true);
        let local = sock.local_addr().map_err(io("local address"))?;
        let peer = sock.peer_addr().map_err(io("peer address"))?;
        let mut cc = ClientConfig::new(url);
        cc.credentials = credentials;
        cc.user_agent = config.user_agent.clone();
        cc.request_timeout = config.request_timeout;
        cc.keepalive_interval = config.keepalive_interval;
        cc.max_redirects = config.max_redirects;
        let session =
            ClientSession::new(cc, Box::new(random_u64), Instant::now()).map_err(|source| {
                RtspClientError::BadUrl {
                    url: plain.clone(),
                    source,
                }
            })?;
        debug!(url = %plain, %local, %peer, "rtsp client: connected");
        Ok(Conn {
            sock,
            session,
            buf: BytesMut::with_capacity(64 << 10),
            out: VecDeque::new(),
            url: plain,
            local,
            peer,
        })
    }
}
