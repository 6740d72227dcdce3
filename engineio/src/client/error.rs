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
    #[error("the server rejected the handshake: HTTP {status}{}", body_suffix(body.as_ref()))]
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
    ///
    /// Its message names the address and the cause in a few words ("could
    /// not connect to 127.0.0.1:9: connection refused"); reqwest's own
    /// message is its [`source`](std::error::Error::source), so that an
    /// error chain does not print it twice.
    #[error("{}", http_summary(.0))]
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

/// `": <body>"` for a rejection with a body (JSON as sent, text unquoted).
fn body_suffix(body: Option<&serde_json::Value>) -> String {
    match body {
        None => String::new(),
        Some(serde_json::Value::String(text)) => format!(": {text}"),
        Some(json) => format!(": {json}"),
    }
}

/// The top-level message of [`ClientError::Http`].
fn http_summary(e: &reqwest::Error) -> String {
    let target = e
        .url()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| "the server".to_owned());
    // The innermost IO error says what happened to the connection.
    let mut io_kind = None;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        cause = c.source();
    }
    let why = match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
        Some(std::io::ErrorKind::ConnectionReset) => "connection reset".to_owned(),
        Some(kind) => kind.to_string(),
        None if e.is_body() || e.is_decode() => "the answer could not be read".to_owned(),
        None => "the request failed".to_owned(),
    };
    if e.is_connect() {
        format!("could not connect to {target}: {why}")
    } else {
        format!("HTTP request to {target} failed: {why}")
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

    #[test]
    fn a_rejection_shows_its_body() {
        let e = ClientError::HandshakeRejected {
            status: reqwest::StatusCode::UNAUTHORIZED,
            body: body_json(br#"{"message":"rejected","code":42}"#),
        };
        assert_eq!(
            e.to_string(),
            r#"the server rejected the handshake: HTTP 401 Unauthorized: {"code":42,"message":"rejected"}"#
        );
        let e = ClientError::HandshakeRejected {
            status: reqwest::StatusCode::NOT_FOUND,
            body: body_json(b"Not Found"),
        };
        assert_eq!(
            e.to_string(),
            "the server rejected the handshake: HTTP 404 Not Found: Not Found"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_says_so_once() {
        // A port that nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("http://127.0.0.1:{port}/engine.io/"))
            .send()
            .await
            .unwrap_err();
        let e = ClientError::Http(err);
        let top = e.to_string();
        assert_eq!(
            top,
            format!("could not connect to 127.0.0.1:{port}: connection refused")
        );
        let source = std::error::Error::source(&e).unwrap().to_string();
        assert!(!top.contains(&source), "{top:?} repeats {source:?}");
    }
}
