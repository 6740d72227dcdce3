//! [`ClientBuilder`]: the client's options and handlers, and
//! [`ConnectOptions`]: the arguments of one `connect`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use engineio::proto::TransportKind;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use super::handlers::{Handlers, NamespaceHandler, NsObject};
use super::{AsyncClient, Event};
use crate::proto::packet::normalize_nsp as normalize_namespace;
use crate::proto::{DecoderLimits, ReconnectConfig, Serializer};
use crate::{to_args, DisconnectReason, Value};

/// The options of a client (python-socketio's `Client(...)` arguments).
///
/// ```
/// use std::time::Duration;
/// use socketio::ClientOptions;
///
/// let mut options = ClientOptions::default();
/// options.reconnection_attempts = 3;
/// options.reconnection_delay = Duration::from_millis(500);
/// assert_eq!(options.reconnection_delay_max, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Whether to reconnect after the connection drops unexpectedly.
    /// Default `true` (python: `reconnection`).
    pub reconnection: bool,
    /// How many attempts before giving up; 0 is infinite. Default 0
    /// (python: `reconnection_attempts`).
    pub reconnection_attempts: u32,
    /// The delay before the first attempt; it doubles at each attempt.
    /// Default 1 s (python: `reconnection_delay`).
    pub reconnection_delay: Duration,
    /// The cap of the doubling delay. Default 5 s (python:
    /// `reconnection_delay_max`).
    pub reconnection_delay_max: Duration,
    /// Each delay is moved by up to ± this many *seconds* (python's
    /// formula). Default 0.5 (python: `randomization_factor`).
    pub randomization_factor: f64,
    /// The packet serializer; must match the server's. Default
    /// [`Serializer::Default`] (python: `serializer`).
    pub serializer: Serializer,
    /// Bounds on binary attachments from the server.
    pub limits: DecoderLimits,
    /// The Engine.IO options (python: `request_timeout`, `http_session`,
    /// `ssl_verify`, `websocket_extra_options`, `handle_sigint`). Their
    /// `headers`, `transports` and `engineio_path` are set by each
    /// [`ConnectOptions`].
    pub engineio: engineio::ClientOptions,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let r = ReconnectConfig::default();
        ClientOptions {
            reconnection: true,
            reconnection_attempts: r.attempts,
            reconnection_delay: r.delay,
            reconnection_delay_max: r.delay_max,
            randomization_factor: r.randomization_factor,
            serializer: Serializer::Default,
            limits: DecoderLimits::default(),
            engineio: engineio::ClientOptions::default(),
        }
    }
}

impl ClientOptions {
    pub(crate) fn reconnect_config(&self) -> ReconnectConfig {
        let mut r = ReconnectConfig::default();
        r.attempts = self.reconnection_attempts;
        r.delay = self.reconnection_delay;
        r.delay_max = self.reconnection_delay_max;
        r.randomization_factor = self.randomization_factor;
        r
    }
}

/// Options and handlers of a client; [`build`](Self::build) makes the
/// [`AsyncClient`], which then connects (and reconnects) with them.
///
/// ```no_run
/// use socketio::AsyncClient;
///
/// # async fn run() -> socketio::Result<()> {
/// let client = AsyncClient::builder()
///     .on_connect("/", |client, _ns| {
///         let _ = client.emit("hello", "world");
///     })
///     .on("news", |_client, event| println!("news: {:?}", event.args))
///     .build();
/// client.connect("http://localhost:5000").await?;
/// client.wait().await;
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Clone, Default)]
pub struct ClientBuilder {
    pub(crate) options: ClientOptions,
    pub(crate) handlers: Handlers,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("options", &self.options)
            .field("namespaces", &self.handlers.namespaces())
            .finish_non_exhaustive()
    }
}

/// Wraps a handler's return value as acknowledgement arguments.
fn ack_args<R: Serialize>(r: &R) -> Vec<Value> {
    to_args(r).unwrap_or_else(|e| {
        tracing::error!("socket.io handler: cannot serialise its return value: {e}");
        Vec::new()
    })
}

fn ns_key(ns: &str) -> String {
    if ns == "*" {
        ns.to_owned()
    } else {
        normalize_namespace(ns)
    }
}

impl ClientBuilder {
    /// A builder with the default [`ClientOptions`] and no handlers.
    pub fn new() -> Self {
        ClientBuilder::default()
    }

    /// Replaces every option.
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// Whether to reconnect after an unexpected drop (default `true`).
    pub fn reconnection(mut self, on: bool) -> Self {
        self.options.reconnection = on;
        self
    }

    /// Attempts before giving up, 0 for infinite (default 0).
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.options.reconnection_attempts = attempts;
        self
    }

    /// The first reconnection delay (default 1 s).
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.options.reconnection_delay = delay;
        self
    }

    /// The largest reconnection delay (default 5 s).
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.options.reconnection_delay_max = delay;
        self
    }

    /// The jitter, in seconds either way (default 0.5).
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.options.randomization_factor = factor;
        self
    }

    /// The serializer (default [`Serializer::Default`]; `MsgPack` talks to
    /// servers using `socket.io-msgpack-parser` or python's
    /// `serializer='msgpack'`).
    pub fn serializer(mut self, serializer: Serializer) -> Self {
        self.options.serializer = serializer;
        self
    }

    /// Whether Ctrl-C disconnects the client (default `true`; see
    /// `engineio::client`'s docs).
    pub fn handle_sigint(mut self, on: bool) -> Self {
        self.options.engineio.handle_sigint = on;
        self
    }

    /// The Engine.IO request timeout (default 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.options.engineio.request_timeout = timeout;
        self
    }

    /// Whether to verify TLS certificates (default `true`).
    pub fn ssl_verify(mut self, verify: bool) -> Self {
        self.options.engineio.ssl_verify = verify;
        self
    }

    /// The HTTP client to use (python: `http_session`).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.options.engineio.http_client = Some(engineio::client::HttpClient::Client(client));
        self
    }

    /// Changes the Engine.IO options in place (WebSocket headers and message
    /// size, upgrade timeout, …).
    ///
    /// ```
    /// let builder = socketio::AsyncClient::builder()
    ///     .engineio(|o| o.websocket_max_message_size = 1 << 20);
    /// ```
    pub fn engineio(mut self, f: impl FnOnce(&mut engineio::ClientOptions)) -> Self {
        f(&mut self.options.engineio);
        self
    }

    /// Handles `event` in the default namespace `/`; see
    /// [`on_ns`](Self::on_ns).
    pub fn on<F, R>(self, event: &str, handler: F) -> Self
    where
        F: Fn(&AsyncClient, Event) -> R + Send + Sync + 'static,
        R: Serialize,
    {
        self.on_ns("/", event, handler)
    }

    /// Handles `event` in `namespace`. `event` may be `*` (every event
    /// without a handler of its own) and `namespace` may be `*` (every
    /// namespace); [`Event`] carries both names. The return value is the
    /// acknowledgement when the server asked for one: `()` for none, a
    /// tuple for several arguments. Handlers run one at a time, in order.
    ///
    /// ```
    /// let builder = socketio::AsyncClient::builder()
    ///     .on_ns("/chat", "message", |_client, event| {
    ///         println!("{:?}", event.args);
    ///         ("received", 1) // the ack: two arguments
    ///     });
    /// ```
    pub fn on_ns<F, R>(mut self, namespace: &str, event: &str, handler: F) -> Self
    where
        F: Fn(&AsyncClient, Event) -> R + Send + Sync + 'static,
        R: Serialize,
    {
        self.handlers.events.insert(
            (ns_key(namespace), event.to_owned()),
            Arc::new(move |c, ev| {
                let r = ack_args(&handler(&c, ev));
                Box::pin(std::future::ready(r))
            }),
        );
        self
    }

    /// The `async` form of [`on`](Self::on).
    pub fn on_async<F, Fut, R>(self, event: &str, handler: F) -> Self
    where
        F: Fn(AsyncClient, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Serialize,
    {
        self.on_ns_async("/", event, handler)
    }

    /// The `async` form of [`on_ns`](Self::on_ns); the next event waits
    /// until the returned future completes.
    pub fn on_ns_async<F, Fut, R>(mut self, namespace: &str, event: &str, handler: F) -> Self
    where
        F: Fn(AsyncClient, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Serialize,
    {
        self.handlers.events.insert(
            (ns_key(namespace), event.to_owned()),
            Arc::new(move |c, ev| {
                let fut = handler(c, ev);
                Box::pin(async move { ack_args(&fut.await) })
            }),
        );
        self
    }

    /// Called when `namespace` (or any, with `*`) connects, with its name.
    pub fn on_connect<F>(mut self, namespace: &str, handler: F) -> Self
    where
        F: Fn(&AsyncClient, &str) + Send + Sync + 'static,
    {
        self.handlers.connect.insert(
            ns_key(namespace),
            Arc::new(move |c, ns| {
                handler(&c, &ns);
                Box::pin(std::future::ready(()))
            }),
        );
        self
    }

    /// Called when `namespace` (or any, with `*`) disconnects, with the
    /// reason.
    pub fn on_disconnect<F>(mut self, namespace: &str, handler: F) -> Self
    where
        F: Fn(&AsyncClient, &str, DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers.disconnect.insert(
            ns_key(namespace),
            Arc::new(move |c, ns, r| {
                handler(&c, &ns, r);
                Box::pin(std::future::ready(()))
            }),
        );
        self
    }

    /// Called when the server refuses `namespace` (or any, with `*`) with a
    /// CONNECT_ERROR (its payload), or when a connection attempt fails (the
    /// error's text as a string).
    pub fn on_connect_error<F>(mut self, namespace: &str, handler: F) -> Self
    where
        F: Fn(&AsyncClient, &str, &Value) + Send + Sync + 'static,
    {
        self.handlers.connect_error.insert(
            ns_key(namespace),
            Arc::new(move |c, ns, v| {
                handler(&c, &ns, &v);
                Box::pin(std::future::ready(()))
            }),
        );
        self
    }

    /// Called before each reconnection attempt, with its number (from 1).
    /// socket.io-client's `reconnect_attempt`; python-socketio has no such
    /// event.
    pub fn on_reconnect_attempt<F>(mut self, handler: F) -> Self
    where
        F: Fn(&AsyncClient, u32) + Send + Sync + 'static,
    {
        self.handlers.reconnect_attempt = Some(Arc::new(move |c, n| {
            handler(&c, n);
            Box::pin(std::future::ready(()))
        }));
        self
    }

    /// Called once when every reconnection attempt has failed
    /// (`reconnection_attempts` reached); the client has stopped.
    /// socket.io-client's `reconnect_failed`.
    pub fn on_reconnect_failed<F>(mut self, handler: F) -> Self
    where
        F: Fn(&AsyncClient) + Send + Sync + 'static,
    {
        self.handlers.reconnect_failed = Some(Arc::new(move |c, _| {
            handler(&c);
            Box::pin(std::future::ready(()))
        }));
        self
    }

    /// Registers a namespace handler object (python: `register_namespace`).
    /// Function handlers of the same namespace take precedence.
    pub fn register_namespace<N: NamespaceHandler>(mut self, namespace: &str, handler: N) -> Self {
        self.handlers
            .objects
            .insert(ns_key(namespace), Arc::new(NsObject::new(handler)));
        self
    }

    /// Makes the client; it is not connected yet.
    pub fn build(self) -> AsyncClient {
        AsyncClient::from_builder(self)
    }
}

/// Authentication data: a value, or a function evaluated at each connection
/// attempt (python: `connect(auth=...)`).
#[derive(Clone)]
pub enum Auth {
    /// The same data every time.
    Value(Value),
    /// Evaluated at each attempt (fresh tokens after a reconnection).
    Fn(Arc<dyn Fn() -> Value + Send + Sync>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Value(v) => f.debug_tuple("Value").field(v).finish(),
            Auth::Fn(_) => f.write_str("Fn(..)"),
        }
    }
}

impl Auth {
    pub(crate) fn eval(&self) -> Value {
        match self {
            Auth::Value(v) => v.clone(),
            Auth::Fn(f) => f(),
        }
    }
}

/// The arguments of [`AsyncClient::connect_with`], python's
/// `connect(url, headers, auth, transports, namespaces, socketio_path,
/// wait, wait_timeout, retry)`.
///
/// ```
/// use std::time::Duration;
/// use socketio::ConnectOptions;
///
/// let options = ConnectOptions::new("http://localhost:5000")
///     .auth(serde_json::json!({"token": "secret"}))
///     .namespaces(["/", "/admin"])
///     .wait_timeout(Duration::from_secs(5));
/// # let _ = options;
/// ```
#[must_use]
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub(crate) url: String,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: Option<Auth>,
    pub(crate) transports: Option<Vec<TransportKind>>,
    pub(crate) namespaces: Option<Vec<String>>,
    pub(crate) socketio_path: String,
    pub(crate) wait: bool,
    pub(crate) wait_timeout: Duration,
    pub(crate) retry: bool,
    pub(crate) error: Option<String>,
}

impl ConnectOptions {
    /// Connects to `url` with python's defaults: no headers or auth, polling
    /// then WebSocket, the namespaces with handlers (or `/`), path
    /// `socket.io`, `wait` for 1 s, no `retry`.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectOptions {
            url: url.into(),
            headers: HeaderMap::new(),
            auth: None,
            transports: None,
            namespaces: None,
            socketio_path: "socket.io".to_owned(),
            wait: true,
            wait_timeout: Duration::from_secs(1),
            retry: false,
            error: None,
        }
    }

    /// Adds a header to every request. An invalid name or value makes
    /// `connect` fail with [`Error::InvalidOption`](crate::Error::InvalidOption).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            (Err(e), _) => self.error = Some(format!("header name: {e}")),
            (_, Err(e)) => self.error = Some(format!("header value: {e}")),
        }
        self
    }

    /// The authentication data sent in every namespace's CONNECT (an object;
    /// anything `serde` can serialise).
    pub fn auth(mut self, auth: impl Serialize) -> Self {
        match crate::to_value(&auth) {
            Ok(v) => self.auth = Some(Auth::Value(v)),
            Err(e) => self.error = Some(format!("auth: {e}")),
        }
        self
    }

    /// Authentication data computed at each connection attempt.
    pub fn auth_fn(mut self, f: impl Fn() -> Value + Send + Sync + 'static) -> Self {
        self.auth = Some(Auth::Fn(Arc::new(f)));
        self
    }

    /// The transports, in order (default polling, then an upgrade to
    /// WebSocket).
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        self.transports = Some(transports.into_iter().collect());
        self
    }

    /// The namespaces to connect (default: those with handlers, else `/`).
    pub fn namespaces<S: AsRef<str>>(mut self, namespaces: impl IntoIterator<Item = S>) -> Self {
        self.namespaces = Some(
            namespaces
                .into_iter()
                .map(|s| normalize_namespace(s.as_ref()))
                .collect(),
        );
        self
    }

    /// The server's endpoint, with or without slashes (default
    /// `socket.io`).
    pub fn socketio_path(mut self, path: impl Into<String>) -> Self {
        self.socketio_path = path.into();
        self
    }

    /// Whether `connect` waits for every namespace (default `true`).
    pub fn wait(mut self, wait: bool) -> Self {
        self.wait = wait;
        self
    }

    /// How long `connect` waits for the next namespace (default 1 s; it
    /// restarts at each namespace that connects).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Whether a failed first connection goes into the reconnection loop
    /// instead of failing `connect` (default `false`).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }
}

impl From<&str> for ConnectOptions {
    fn from(url: &str) -> Self {
        ConnectOptions::new(url)
    }
}

impl From<String> for ConnectOptions {
    fn from(url: String) -> Self {
        ConnectOptions::new(url)
    }
}
