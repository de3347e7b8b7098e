//! Choosing the lower transport of a play session: UDP, TCP interleaved, or `auto` (UDP
//! first, TCP when UDP does not work). Sans-IO: status codes, packet arrivals and time go
//! in, decisions come out.

use std::time::{Duration, Instant};

use crate::headers::LowerTransport;

/// What the application asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportPreference {
    /// RTP interleaved on the RTSP connection.
    Tcp,
    /// RTP over UDP.
    Udp,
    /// UDP first; TCP when the server refuses UDP (`461 Unsupported Transport`) or no media
    /// packet arrives within the policy's UDP timeout after PLAY (a firewall or NAT in the
    /// way).
    #[default]
    Auto,
}

/// Why a play session moves from UDP to TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// SETUP over UDP was answered with this status (461, or 400/403/406/415/501 from
    /// servers that answer a transport they do not support with a generic error): SETUP
    /// again over TCP on the same connection.
    UdpRefused {
        /// The status of the refused SETUP.
        status: u16,
    },
    /// PLAY was accepted but no RTP or RTCP packet arrived over UDP within this time:
    /// tear the session down and start again over TCP (a new connection).
    NoUdpMedia {
        /// How long the policy waited.
        waited: Duration,
    },
}

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallback::UdpRefused { status } => write!(f, "SETUP over UDP refused ({status})"),
            Fallback::NoUdpMedia { waited } => {
                write!(
                    f,
                    "no packet over UDP within {} ms of PLAY",
                    waited.as_millis()
                )
            }
        }
    }
}

/// The transport decision of one play session (across reconnections).
///
/// ```
/// use std::time::{Duration, Instant};
/// use weir_rtsp_proto::client::{Fallback, TransportPolicy, TransportPreference};
/// use weir_rtsp_proto::headers::LowerTransport;
///
/// let t0 = Instant::now();
/// let mut p = TransportPolicy::new(TransportPreference::Auto, Duration::from_secs(3));
/// assert_eq!(p.transport(), LowerTransport::Udp);
/// p.on_playing(t0);
/// assert_eq!(p.poll_timeout(), Some(t0 + Duration::from_secs(3)));
/// // Nothing arrived: switch to TCP (the caller reconnects).
/// let fb = p.handle_timeout(t0 + Duration::from_secs(3));
/// assert_eq!(fb, Some(Fallback::NoUdpMedia { waited: Duration::from_secs(3) }));
/// assert_eq!(p.transport(), LowerTransport::Tcp);
/// ```
#[derive(Debug, Clone)]
pub struct TransportPolicy {
    preference: TransportPreference,
    udp_timeout: Duration,
    current: LowerTransport,
    /// UDP PLAY acknowledged at, and nothing received since.
    waiting_since: Option<Instant>,
    fallback: Option<Fallback>,
}

impl TransportPolicy {
    /// A policy; `udp_timeout` is how long `auto` waits for the first UDP packet after PLAY.
    pub fn new(preference: TransportPreference, udp_timeout: Duration) -> TransportPolicy {
        TransportPolicy {
            preference,
            udp_timeout,
            current: match preference {
                TransportPreference::Tcp => LowerTransport::Tcp,
                TransportPreference::Udp | TransportPreference::Auto => LowerTransport::Udp,
            },
            waiting_since: None,
            fallback: None,
        }
    }

    /// What was asked for.
    pub fn preference(&self) -> TransportPreference {
        self.preference
    }

    /// The transport to SETUP with now.
    pub fn transport(&self) -> LowerTransport {
        self.current
    }

    /// The fallback taken, if any.
    pub fn fallback(&self) -> Option<Fallback> {
        self.fallback
    }

    fn fall_back(&mut self, why: Fallback) -> Option<Fallback> {
        if self.preference != TransportPreference::Auto || self.current != LowerTransport::Udp {
            return None;
        }
        self.current = LowerTransport::Tcp;
        self.waiting_since = None;
        self.fallback = Some(why);
        Some(why)
    }

    /// A SETUP failed with `status`. `Some` when `auto` moves to TCP: SETUP again (same
    /// connection); `None`: the failure stands.
    pub fn on_setup_failed(&mut self, status: u16) -> Option<Fallback> {
        if matches!(status, 400 | 403 | 406 | 415 | 461 | 501) {
            self.fall_back(Fallback::UdpRefused { status })
        } else {
            None
        }
    }

    /// The server answered a SETUP with `answered` (servers may pick TCP when asked for UDP):
    /// the answer is what is in force.
    pub fn on_setup_answer(&mut self, answered: LowerTransport) {
        self.current = answered;
    }

    /// PLAY was accepted at `now`: with UDP under `auto`, the wait for the first packet
    /// starts.
    pub fn on_playing(&mut self, now: Instant) {
        if self.preference == TransportPreference::Auto && self.current == LowerTransport::Udp {
            self.waiting_since = Some(now);
        }
    }

    /// A media packet (RTP or RTCP) arrived.
    pub fn on_media(&mut self) {
        self.waiting_since = None;
    }

    /// When [`TransportPolicy::handle_timeout`] wants to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.waiting_since
            .and_then(|t| t.checked_add(self.udp_timeout))
    }

    /// `Some` when `auto` gave up on UDP: tear down, reconnect and SETUP over TCP.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Fallback> {
        let due = self.poll_timeout()?;
        if now < due {
            return None;
        }
        self.fall_back(Fallback::NoUdpMedia {
            waited: self.udp_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_falls_back_once_fixed_preferences_never() {
        let t0 = Instant::now();
        let mut p = TransportPolicy::new(TransportPreference::Auto, Duration::from_secs(2));
        assert_eq!(p.on_setup_failed(404), None);
        assert_eq!(p.transport(), LowerTransport::Udp);
        assert_eq!(
            p.on_setup_failed(461),
            Some(Fallback::UdpRefused { status: 461 })
        );
        assert_eq!(p.transport(), LowerTransport::Tcp);
        // Already on TCP: nothing more to fall back to.
        assert_eq!(p.on_setup_failed(461), None);
        p.on_playing(t0);
        assert_eq!(p.poll_timeout(), None, "TCP needs no UDP watchdog");

        for pref in [TransportPreference::Udp, TransportPreference::Tcp] {
            let mut p = TransportPolicy::new(pref, Duration::from_secs(2));
            assert_eq!(p.on_setup_failed(461), None);
            p.on_playing(t0);
            assert_eq!(p.poll_timeout(), None);
            assert_eq!(p.handle_timeout(t0 + Duration::from_secs(60)), None);
        }
    }

    #[test]
    fn udp_media_in_time_keeps_udp() {
        let t0 = Instant::now();
        let mut p = TransportPolicy::new(TransportPreference::Auto, Duration::from_secs(2));
        p.on_playing(t0);
        assert_eq!(p.handle_timeout(t0 + Duration::from_secs(1)), None);
        p.on_media();
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(p.handle_timeout(t0 + Duration::from_secs(9)), None);
        assert_eq!(p.transport(), LowerTransport::Udp);
        assert_eq!(p.fallback(), None);
        // A server that answers a UDP SETUP with TCP.
        p.on_setup_answer(LowerTransport::Tcp);
        assert_eq!(p.transport(), LowerTransport::Tcp);
    }
}
