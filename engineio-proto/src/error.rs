//! Error types of the core, one per failure domain.

use thiserror::Error;

/// Why bytes could not be decoded into packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input (or one payload segment) was empty.
    #[error("empty packet")]
    Empty,
    /// The first byte is not a packet type digit `0`..`6`.
    #[error("unknown packet type {0:#04x}")]
    UnknownPacketType(u8),
    /// Text data that is not valid UTF-8.
    #[error("invalid UTF-8 in text packet")]
    InvalidUtf8,
    /// A `b...` payload segment whose base64 is invalid.
    #[error("invalid base64 in binary packet")]
    InvalidBase64,
    /// The input is longer than the allowed maximum.
    #[error("payload of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// Bytes received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The `open` packet's JSON is not a valid handshake.
    #[error("invalid handshake data")]
    InvalidHandshake,
    /// A string that is not a valid session id.
    #[error("invalid session id")]
    InvalidSid,
}

impl DecodeError {
    /// The WebSocket close code for a message that does not decode into a
    /// packet: 1007 (invalid data) for text that is not UTF-8, 1002
    /// (protocol error) otherwise. The session then ends as a transport
    /// error, as on polling.
    ///
    /// ```
    /// use engineio_proto::DecodeError;
    /// assert_eq!(DecodeError::InvalidUtf8.ws_close_code(), 1007);
    /// assert_eq!(DecodeError::Empty.ws_close_code(), 1002);
    /// ```
    pub const fn ws_close_code(self) -> u16 {
        match self {
            DecodeError::InvalidUtf8 => 1007,
            _ => 1002,
        }
    }
}
