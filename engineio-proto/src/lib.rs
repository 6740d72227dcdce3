//! The sans-IO core of Engine.IO v4.
//!
//! **This crate never does IO and never reads the clock.** Every
//! time-dependent call takes `now: Instant`; bytes go in through `handle_*`
//! methods and come out of `poll_*` methods. The server, the async client and
//! the blocking client in the `engineio` crate are thin drivers around it.
//!
//! ```text
//!            bytes / packets in                 events, packets, deadlines out
//!  driver ─── handle_packet(now, p) ──▶ ┌───────────────┐ ──▶ poll_event()     ─── app
//!  (HTTP,     handle_timeout(now)  ──▶ │ ServerSession │ ──▶ poll_transmit()  ─── socket
//!   WS,       send(data) / close() ──▶ │ ClientSession │ ──▶ poll_timeout()   ─── one timer
//!   timer)                             └───────────────┘
//! ```
//!
//! | module | owns |
//! |---|---|
//! | [`packet`] | the packet types and their text / WebSocket encodings |
//! | [`payload`] | v4 polling payloads (`\x1e`-separated, binary as `b`+base64) |
//! | [`handshake`] | the `open` JSON, session ids, query parameters |
//! | [`config`] | protocol options with python-engineio's defaults |
//! | [`server`] | the server session state machine |
//! | [`client`] | the client session state machine |
//! | [`verify`] | request verification: the route of a request or the reference's error code |
//! | [`fifo`] | the queue of the client's session and channels: no buffer while it holds one item |
//! | [`ws`] | WebSocket framing (RFC 6455) for the server side, with no buffers of its own |

pub mod client;
pub mod config;
mod error;
pub mod fifo;
pub mod handshake;
pub mod packet;
pub mod payload;
pub mod server;
mod timer;
pub mod verify;
pub mod ws;

pub use client::{ClientSession, ClientSessionEvent};
pub use config::{ClientConfig, ServerConfig};
pub use error::DecodeError;
pub use handshake::{ClientSid, OpenData, Sid, TransportKind};
pub use packet::{Data, Packet, PacketType, Text};
pub use server::{ServerEvent, ServerSession};

/// Why a session ended. The strings are python-engineio's reason values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server ended the session: on a server, its application called
    /// `disconnect()`; on a client, the server sent a `close` packet or
    /// closed the WebSocket with a close frame.
    ServerDisconnect,
    /// The client ended the session: on a server, a `close` packet came
    /// from the client; on a client, its application called `disconnect()`
    /// or `abort()`.
    ClientDisconnect,
    /// No heartbeat within the allowed time.
    PingTimeout,
    /// The transport was closed by the peer or the network.
    TransportClose,
    /// The transport failed or the peer broke the protocol.
    TransportError,
}

impl DisconnectReason {
    /// python-engineio's string for the reason, e.g. `"ping timeout"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ServerDisconnect => "server disconnect",
            DisconnectReason::ClientDisconnect => "client disconnect",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
