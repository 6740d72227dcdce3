//! The server's error type.

use engineio_proto::Sid;

/// Why a server call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// No session has this id (it never existed, or it ended and its
    /// disconnect handler has run).
    #[error("unknown session id {0}")]
    UnknownSid(Sid),
    /// The session exists but is closing or closed; nothing more can be
    /// sent on it.
    #[error("session {0} is closed")]
    SessionClosed(Sid),
    /// The session's user data is of another type than the one asked for.
    #[error("the user session of {0} holds another type")]
    SessionType(Sid),
    /// A message could not be serialised to JSON.
    #[error("cannot serialise the message: {0}")]
    Json(#[from] serde_json::Error),
    /// The options are inconsistent (e.g. no transport enabled).
    #[error("invalid server options: {0}")]
    InvalidOptions(String),
    /// Binding or accepting on a socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// [`Server::shutdown`](crate::server::Server::shutdown) reached its
    /// timeout with sessions still open; they were dropped without waiting
    /// for their disconnect handlers.
    #[error("shutdown timed out with {remaining} session(s) still open")]
    ShutdownTimedOut {
        /// Sessions still registered at the timeout.
        remaining: usize,
    },
}

/// `Result` with [`ServerError`] as the default error.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;
