//! Protocol-level configuration with python-engineio's defaults.
//!
//! HTTP-level options (CORS, cookies, static files, paths) belong to the
//! server driver; only what the state machines need lives here.

use std::time::Duration;

use crate::handshake::TransportKind;

/// Configuration of the server side of a session.
///
/// Defaults are python-engineio's (`ping_interval` 25 s, `ping_timeout` 20 s,
/// `max_http_buffer_size` 1,000,000 bytes, upgrades allowed, both
/// transports). HTTP-level options (compression, CORS, cookies) are the
/// server driver's.
///
/// ```
/// use std::time::Duration;
/// use engineio_proto::ServerConfig;
/// let mut config = ServerConfig::default();
/// config.ping_interval = Duration::from_millis(300);
/// assert_eq!(config.advertised_ping_interval_ms(), 300);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// How often the server pings the client. Default 25 s.
    pub ping_interval: Duration,
    /// Extra time added to the *advertised* ping interval so clients wait a
    /// little longer than the server's real schedule (python-engineio's
    /// `ping_interval=(interval, grace)`). Default 0.
    pub ping_interval_grace: Duration,
    /// How long the server waits for a pong after a ping. Default 20 s.
    pub ping_timeout: Duration,
    /// Largest polling POST body or WebSocket message, in bytes; advertised
    /// as `maxPayload`. Default 1,000,000.
    pub max_http_buffer_size: usize,
    /// Whether polling sessions may upgrade to WebSocket. Default true.
    pub allow_upgrades: bool,
    /// Transports accepted for new sessions. Default both.
    pub transports: Vec<TransportKind>,
    /// How long an upgrade may take from the WebSocket opening to the `5`
    /// packet before it is abandoned. Default 10 s (engine.io's
    /// `upgradeTimeout`).
    pub upgrade_timeout: Duration,
    /// How long a server-closed polling session waits for a GET to carry the
    /// `close` packet before it is dropped anyway. Default 30 s (engine.io's
    /// `closeTimeout`).
    pub close_timeout: Duration,
    /// Most packets a session may have queued for the client; once exceeded
    /// the session is closed (a client that never reads must not grow memory
    /// without bound). Default 10,000.
    pub max_queued_packets: usize,
    /// Most pieces one polling POST body or one WebSocket frame may arrive
    /// in; past it the POST is answered `413` and the session ends, or the
    /// WebSocket is closed with 1008. It bounds the bookkeeping of a peer
    /// that trickles a body a few bytes at a time. Default 10,000
    /// (engine.io 6.6.13's `maxBufferedChunks`).
    pub max_buffered_chunks: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ping_interval: Duration::from_secs(25),
            ping_interval_grace: Duration::ZERO,
            ping_timeout: Duration::from_secs(20),
            max_http_buffer_size: 1_000_000,
            allow_upgrades: true,
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            upgrade_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(30),
            max_queued_packets: 10_000,
            max_buffered_chunks: 10_000,
        }
    }
}

impl ServerConfig {
    /// The `pingInterval` sent in the handshake: interval plus grace, in
    /// whole milliseconds (fractions of a second are kept, not truncated).
    pub fn advertised_ping_interval_ms(&self) -> u64 {
        (self.ping_interval + self.ping_interval_grace).as_millis() as u64
    }

    /// The `pingTimeout` sent in the handshake, in milliseconds.
    pub fn advertised_ping_timeout_ms(&self) -> u64 {
        self.ping_timeout.as_millis() as u64
    }

    /// Whether `t` is accepted for new sessions.
    pub fn allows(&self, t: TransportKind) -> bool {
        self.transports.contains(&t)
    }
}

/// Configuration of the client side of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Whether to probe the upgrades the server offers. Default true.
    pub upgrade: bool,
    /// How long an upgrade probe may take before the client stays on
    /// polling. Default 10 s.
    pub upgrade_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            upgrade: true,
            upgrade_timeout: Duration::from_secs(10),
        }
    }
}
