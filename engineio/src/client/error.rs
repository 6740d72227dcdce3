//! The client's error type: everything `connect`, `send` and friends can
//! fail with. Disconnections after a successful connect are not errors; they
//! are [`ClientEvent::Disconnect`](super::ClientEvent::Disconnect) events
//! carrying a [`DisconnectReason`](crate::proto::DisconnectReason).

/// A boxed error from user code (a failing connect handler) or a transport
/// library.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a client operation failed.
///
/// python-engineio raises `ConnectionError`, `SocketIsClosedError`,
/// `ValueError` and `TimeoutError`; here each cause has its own variant.
///
/// A server that answers but says no (HTTP 401, 403, …) is
/// [`HandshakeRejected`](ClientError::HandshakeRejected); an address where
/// nothing answers at all (`ECONNREFUSED`, DNS, unreachable) is an
/// [`Http`](ClientError::Http) error for which
/// [`is_connect`](ClientError::is_connect) is true.
///
/// ```
/// use engineio::client::ClientError;
/// # fn check(err: ClientError) {
/// match err {
///     ClientError::HandshakeRejected { status, body } => {
///         eprintln!("server said {status}: {body:?}");
///     }
///     e if e.is_connect() => eprintln!("nothing listens there: {e}"),
///     other => eprintln!("{other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL could not be parsed or its scheme is not `http`, `https`,
    /// `ws` or `wss` (python: `ValueError`).
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The transport list is empty (python: `ValueError`).
    #[error("invalid transports: {0}")]
    InvalidTransports(String),
    /// A header name or value given to the builder is not valid HTTP.
    #[error("invalid header: {0}")]
    InvalidHeader(String),
    /// The server answered the handshake, with a status other than `200`
    /// (polling) or `101` (WebSocket): a rejecting connect handler
    /// (python-engineio: `401`), `allowRequest` (engine.io: `403`), an
    /// unknown path (`404`)… (python-engineio raises `ConnectionError` with
    /// the body). Not the TCP connection being refused: that is
    /// [`Http`](Self::Http), see [`is_connect`](Self::is_connect).
    #[error("the server rejected the handshake: HTTP {status}")]
    HandshakeRejected {
        /// The HTTP status of the answer.
        status: reqwest::StatusCode,
        /// The answer's body: its JSON if it parses (e.g.
        /// `{"message":"rejected","code":42}`), otherwise its text as a JSON
        /// string; `None` when empty.
        body: Option<serde_json::Value>,
    },
    /// An HTTP request could not be made or completed: nothing listens at the
    /// address (`ECONNREFUSED`), DNS or TLS failed (e.g. an untrusted
    /// certificate), the connection broke. [`ClientError::is_connect`] (or
    /// [`reqwest::Error::is_connect`]) tells a connection that could not be
    /// made apart.
    #[error("HTTP request failed: {0}")]
    Http(#[source] reqwest::Error),
    /// The WebSocket handshake or connection failed after the HTTP exchange
    /// (bad `Sec-WebSocket-Accept`, a broken frame, the server answered over
    /// HTTP/2, …).
    #[error("WebSocket error: {0}")]
    WebSocket(#[source] BoxError),
    /// The server does not speak Engine.IO v4: the handshake answer is not an
    /// `open` packet with valid JSON.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server sent more than the client accepts: a handshake answer over
    /// [`max_payload_size`](super::ClientOptions::max_payload_size) or a
    /// WebSocket message over
    /// [`websocket_max_message_size`](super::ClientOptions::websocket_max_message_size).
    /// After `connect`, the same ends the connection with a transport error
    /// instead.
    #[error("the server sent more than {limit} bytes in one {what}")]
    TooLarge {
        /// `"polling body"` or `"WebSocket message"`.
        what: &'static str,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The handshake took longer than `request_timeout`.
    #[error("timed out")]
    Timeout,
    /// The connect handler failed (returned an error or panicked); the
    /// connection was closed again (python-engineio 4.14+ raises
    /// `ConnectionError` in this case).
    #[error("the connect handler failed: {0}")]
    ConnectHandler(#[source] BoxError),
    /// The connection is closed or closing: nothing can be sent (python:
    /// `SocketIsClosedError`).
    #[error("the connection is closed")]
    Closed,
    /// The blocking client could not start its runtime thread.
    #[error("cannot start the client runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A value given to [`send_json`](super::Client::send_json) could not be
    /// serialised.
    #[error("cannot serialise the message: {0}")]
    Json(#[from] serde_json::Error),
}

impl ClientError {
    /// Whether the error means the server could not be reached at all
    /// (TCP connection refused, DNS failure, unreachable host), as opposed
    /// to a server that answered and rejected the handshake
    /// ([`HandshakeRejected`](Self::HandshakeRejected)).
    pub fn is_connect(&self) -> bool {
        matches!(self, ClientError::Http(e) if e.is_connect())
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            ClientError::Timeout
        } else {
            ClientError::Http(e)
        }
    }
}

/// `Result` with [`ClientError`] as the default error.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Turns an HTTP error body into the JSON carried by
/// [`ClientError::HandshakeRejected`].
pub(crate) fn body_json(body: &[u8]) -> Option<serde_json::Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice(body).ok().or_else(|| {
        Some(serde_json::Value::String(
            String::from_utf8_lossy(body).into_owned(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_json_parses_json_then_text() {
        assert_eq!(
            body_json(br#"{"message":"rejected","code":42}"#),
            Some(serde_json::json!({"message":"rejected","code":42}))
        );
        assert_eq!(
            body_json(b"Forbidden"),
            Some(serde_json::Value::String("Forbidden".into()))
        );
        assert_eq!(body_json(b""), None);
        assert_eq!(body_json(b" \n"), None);
    }
}
