//! The client's error type: everything `connect`, `emit`, `call` and friends
//! can fail with. Disconnections after a successful connect are not errors:
//! they reach the `disconnect` handlers with a
//! [`DisconnectReason`](crate::DisconnectReason).

use crate::Value;

/// Why a client operation failed.
///
/// python-socketio raises `ConnectionError`, `BadNamespaceError` and
/// `TimeoutError`; here each cause has its own variant.
///
/// ```
/// use socketio::Error;
/// # fn check(err: Error) {
/// match err {
///     Error::ConnectRefused { namespace, data } => {
///         eprintln!("{namespace} refused us: {data:?}");
///     }
///     Error::Timeout => eprintln!("no answer in time"),
///     other => eprintln!("{other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Engine.IO connection could not be made (python:
    /// `ConnectionError`): nothing listens there
    /// ([`is_connect`](engineio::ClientError::is_connect)), the server
    /// rejected the handshake with an HTTP error
    /// ([`HandshakeRejected`](engineio::ClientError::HandshakeRejected),
    /// with its status and body), TLS failed…
    #[error("cannot connect: {0}")]
    Engine(#[source] engineio::ClientError),
    /// The server refused a namespace with a CONNECT_ERROR (python:
    /// `ConnectionError`); `data` is its payload, e.g.
    /// `{"message":"not authorized","data":{"reason":"bad token"}}`.
    #[error("namespace {namespace} refused the connection: {}", data.to_json())]
    ConnectRefused {
        /// The namespace that was refused.
        namespace: String,
        /// The server's CONNECT_ERROR payload.
        data: Value,
    },
    /// A namespace did not connect within `wait_timeout` (python:
    /// `ConnectionError("One or more namespaces failed to connect")`).
    #[error("namespace {0} did not connect in time")]
    NamespaceTimeout(String),
    /// Every reconnection attempt of a first connection made with `retry`
    /// failed.
    #[error("cannot connect: every attempt failed")]
    AttemptsExhausted,
    /// The namespace is not connected (python: `BadNamespaceError`). Nothing
    /// is buffered while disconnected.
    #[error("namespace {0} is not connected")]
    BadNamespace(String),
    /// `connect` was called on a client that is already connected or
    /// connecting.
    #[error("the client is already connected")]
    AlreadyConnected,
    /// `call` got no acknowledgement within its timeout (python:
    /// `TimeoutError`).
    #[error("timed out")]
    Timeout,
    /// The arguments could not be turned into Socket.IO values.
    #[error("cannot serialise the arguments: {0}")]
    Value(#[from] crate::proto::ValueError),
    /// An option is invalid (a header, a transport list, a URL).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The blocking client could not start its runtime thread.
    #[error("cannot start the client runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
