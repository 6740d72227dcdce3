//! Client options with python-engineio's names and defaults.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::proto::TransportKind;

/// Where the client's HTTP requests (and WebSocket handshakes) go through:
/// python-engineio's `http_session`.
///
/// Proxies, extra CA certificates, client certificates, cookie stores and
/// every other `reqwest` setting apply to **both** transports, because the
/// WebSocket handshake is an HTTP/1.1 upgrade made through the same client.
///
/// The WebSocket transport needs HTTP/1.1: a client that may negotiate
/// HTTP/2 with a TLS server (reqwest's default) fails the WebSocket upgrade
/// there, so build yours with [`reqwest::ClientBuilder::http1_only`] when you
/// use WebSocket over `https`.
#[derive(Clone)]
pub enum HttpClient {
    /// One client, shared by every connection made with these options.
    Client(reqwest::Client),
    /// Called once per `connect` for a fresh client (python-engineio 4.15's
    /// session factories).
    Factory(Arc<dyn Fn() -> reqwest::Client + Send + Sync>),
}

impl HttpClient {
    /// A factory called once per connection.
    pub fn factory(f: impl Fn() -> reqwest::Client + Send + Sync + 'static) -> Self {
        HttpClient::Factory(Arc::new(f))
    }

    pub(crate) fn get(&self) -> reqwest::Client {
        match self {
            HttpClient::Client(c) => c.clone(),
            HttpClient::Factory(f) => f(),
        }
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpClient::Client(c) => f.debug_tuple("Client").field(c).finish(),
            HttpClient::Factory(_) => f.write_str("Factory(..)"),
        }
    }
}

impl From<reqwest::Client> for HttpClient {
    fn from(c: reqwest::Client) -> Self {
        HttpClient::Client(c)
    }
}

/// Options of a client connection.
///
/// The names are python-engineio's (`Client(...)` and `connect(...)`
/// arguments). Set them on a [`ClientBuilder`](super::ClientBuilder), or fill
/// this struct and pass it to
/// [`ClientBuilder::options`](super::ClientBuilder::options).
///
/// ```
/// use std::time::Duration;
/// use engineio::client::ClientOptions;
/// use engineio::proto::TransportKind;
///
/// let mut options = ClientOptions::default();
/// options.transports = vec![TransportKind::WebSocket];
/// options.request_timeout = Duration::from_secs(10);
/// assert_eq!(options.engineio_path, "/engine.io/");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Headers sent with every request of the connection, WebSocket
    /// handshakes included (python: `connect(headers=...)`). Default none.
    pub headers: HeaderMap,
    /// The transports to use, in order: the first one opens the connection;
    /// with `Polling` first and `WebSocket` also listed, the client upgrades
    /// once connected. Default `[Polling, WebSocket]`; `[WebSocket]` connects
    /// directly (python: `connect(transports=...)`).
    pub transports: Vec<TransportKind>,
    /// The Engine.IO endpoint path; leading and trailing slashes are added.
    /// The path of the URL given to `connect` is ignored, as in
    /// python-engineio. Default `/engine.io/` (python: `engineio_path`).
    pub engineio_path: String,
    /// Timeout of the handshake, of each POST and of the WebSocket handshake;
    /// also bounds how long a graceful disconnect waits for the `close`
    /// packet to be delivered. Default 5 s (python: `request_timeout`).
    pub request_timeout: Duration,
    /// The HTTP client (python: `http_session`). Default: a client built for
    /// each connection with HTTP/1.1 only, `ssl_verify` applied, and a
    /// cookie store of its own (reqwest's `cookie::Jar`: `Domain`, `Path`,
    /// `Expires`, `Max-Age` honoured) whose cookies go with every later
    /// request of the connection, WebSocket handshake included (sticky load
    /// balancers). A client you supply keeps its own cookie settings.
    #[doc(alias = "http_session")]
    pub http_client: Option<HttpClient>,
    /// Whether to verify TLS certificates; `false` accepts any certificate.
    /// Applies to the default HTTP client only: a client you supply keeps its
    /// own settings. Default `true` (python: `ssl_verify`).
    pub ssl_verify: bool,
    /// Extra headers for the WebSocket handshake only (python:
    /// `websocket_extra_options`). Default none.
    #[doc(alias = "websocket_extra_options")]
    pub websocket_extra_headers: HeaderMap,
    /// Largest WebSocket message accepted from the server, in bytes, counted
    /// over all its fragments (at most 10,000 fragments per message). A
    /// larger one fails `connect` with [`ClientError::TooLarge`](super::ClientError::TooLarge)
    /// during the handshake, and later ends the connection with
    /// [`DisconnectReason::TransportError`](crate::proto::DisconnectReason::TransportError).
    /// Default 64 MiB (tungstenite's default).
    pub websocket_max_message_size: usize,
    /// Largest polling response body accepted from the server, in bytes
    /// (the handshake's and each long poll's), enforced while the body
    /// streams in, before it is decoded. A larger one is handled as
    /// [`websocket_max_message_size`](Self::websocket_max_message_size).
    /// Default 64 MiB.
    pub max_payload_size: usize,
    /// How many bytes of received messages may wait for the application
    /// (handlers not done yet, [`Events`](super::Events) streams not read),
    /// each event counted as its data plus 128 bytes. Past it the client
    /// stops reading from the server until the application catches up
    /// (backpressure), and may exceed it by one message. See
    /// [the module docs](super#limits-and-backpressure). Default 16 MiB.
    pub max_buffered_bytes: usize,
    /// Whether polling requests carry a `t` cache-busting parameter. Default
    /// `true` (python: `timestamp_requests`).
    pub timestamp_requests: bool,
    /// Whether Ctrl-C disconnects the client cleanly. Default `true` (python:
    /// `handle_sigint`). See [the module docs](super#ctrl-c) for what
    /// happens exactly; turn it off if your program handles Ctrl-C itself.
    pub handle_sigint: bool,
    /// How long the polling → WebSocket upgrade may take before the client
    /// gives up and stays on polling. Default 10 s.
    pub upgrade_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            headers: HeaderMap::new(),
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            engineio_path: "/engine.io/".to_owned(),
            request_timeout: Duration::from_secs(5),
            http_client: None,
            ssl_verify: true,
            websocket_extra_headers: HeaderMap::new(),
            websocket_max_message_size: 64 << 20,
            max_payload_size: 64 << 20,
            max_buffered_bytes: 16 << 20,
            timestamp_requests: true,
            handle_sigint: true,
            upgrade_timeout: Duration::from_secs(10),
        }
    }
}
