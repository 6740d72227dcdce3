//! [`ClientBuilder`]: options and handlers, ending in `connect`; and the
//! handshake, which `connect` performs before it starts the driver.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::oneshot;

use super::budget::Budget;
use super::done::{DoneGuard, Task};
use super::driver::{Command, Driver, DriverParts};
use super::error::{body_json, ClientError, Result};
use super::handlers::{ConnectOutcome, Handlers, Hub, Runner, Tracked};
use super::options::{ClientOptions, HttpClient};
use super::queue;
use super::request::Requests;
use super::websocket::{self, WsSocket};
use super::{sigint, Client, Inner, Shared, State};
use crate::clock::now;
use crate::proto::{
    payload, ClientConfig, ClientSession, Data, DisconnectReason, Packet, TransportKind,
};

/// How much longer than `request_timeout` (the bound on delivering
/// `close`) Ctrl-C waits for a client's disconnect: the disconnect
/// handler's time.
const SIGINT_HANDLER_GRACE: Duration = Duration::from_secs(1);

/// Options and event handlers for a connection; [`connect`](Self::connect)
/// opens it.
///
/// python-engineio's `Client(...)` arguments, `on(...)` registrations and
/// `connect(...)` arguments all land here. Handlers come in a synchronous
/// form (`on_message`) and an `async` form (`on_message_async`); each event
/// has at most one handler (registering again replaces it). Handlers run one
/// at a time, in order, on a task of their own: a synchronous handler that
/// blocks delays the next events (not the heartbeat), so move long work to
/// `tokio::task::spawn_blocking` or use the `async` form.
///
/// ```no_run
/// use engineio::client::{Client, Data};
///
/// # async fn run() -> Result<(), engineio::client::ClientError> {
/// let client = Client::builder()
///     .header("Authorization", "Bearer token123")
///     .on_connect(|client: &Client| client.send("Hello from client"))
///     .on_message(|_client, data: Data| println!("server says: {data:?}"))
///     .on_disconnect(|reason| println!("disconnected: {reason}"))
///     .connect("http://localhost:5000")
///     .await?;
/// client.wait().await;
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Clone, Default)]
pub struct ClientBuilder {
    options: ClientOptions,
    handlers: Handlers,
    error: Option<String>,
    /// Streams taken with [`ClientBuilder::events`], fed from the start.
    subscribers: Vec<queue::Sender<Tracked>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("options", &self.options)
            .field("on_connect", &self.handlers.connect.is_some())
            .field("on_message", &self.handlers.message.is_some())
            .field("on_disconnect", &self.handlers.disconnect.is_some())
            .finish()
    }
}

fn header_pair<K, V>(name: K, value: V) -> Result<(HeaderName, HeaderValue), String>
where
    K: TryInto<HeaderName>,
    K::Error: std::fmt::Display,
    V: TryInto<HeaderValue>,
    V::Error: std::fmt::Display,
{
    let name = name.try_into().map_err(|e| e.to_string())?;
    let value = value.try_into().map_err(|e| format!("{name}: {e}"))?;
    Ok((name, value))
}

impl ClientBuilder {
    /// A builder with the default [`ClientOptions`] and no handlers.
    pub fn new() -> Self {
        ClientBuilder::default()
    }

    /// A stream of every event of the connection this builder makes, from
    /// [`ClientEvent::Connect`](super::ClientEvent::Connect) on, whatever
    /// handlers are registered (unlike [`Client::events`] taken after
    /// `connect`, which with a handler registered misses what came with the
    /// handshake). It ends at once if `connect` fails. A clone of the
    /// builder feeds the same stream.
    ///
    /// ```no_run
    /// use engineio::client::{Client, ClientEvent};
    /// # async fn run() -> Result<(), engineio::client::ClientError> {
    /// let mut builder = Client::builder().on_disconnect(|reason| println!("{reason}"));
    /// let mut events = builder.events();
    /// let client = builder.connect("http://localhost:5000").await?;
    /// assert!(matches!(events.recv().await, Some(ClientEvent::Connect)));
    /// # drop(client); Ok(()) }
    /// ```
    pub fn events(&mut self) -> super::Events {
        let (tx, rx) = queue::queue();
        self.subscribers.push(tx);
        super::Events { rx }
    }

    /// Replaces all options at once.
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// The options as set so far.
    pub fn options_ref(&self) -> &ClientOptions {
        &self.options
    }

    /// Adds a header sent with every request (python: `connect(headers=)`).
    /// An invalid name or value makes `connect` fail with
    /// [`ClientError::InvalidHeader`].
    pub fn header<K, V>(self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        self.add_header(|o| &mut o.headers, name, value)
    }

    /// Appends a header to the map `pick` chooses, or keeps the first error
    /// for `connect`.
    fn add_header<K, V>(
        mut self,
        pick: fn(&mut ClientOptions) -> &mut HeaderMap,
        name: K,
        value: V,
    ) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        match header_pair(name, value) {
            Ok((k, v)) => pick(&mut self.options).append(k, v),
            Err(e) => {
                self.error = self.error.or(Some(e));
                false
            }
        };
        self
    }

    /// Adds headers sent with every request.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.options.headers.extend(headers);
        self
    }

    /// The transports, in order (python: `connect(transports=)`): the first
    /// opens the connection; `[Polling, WebSocket]` (the default) upgrades
    /// once connected; `[WebSocket]` connects directly; `[Polling]` never
    /// upgrades.
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        self.options.transports = transports.into_iter().collect();
        self
    }

    /// The Engine.IO path (python: `engineio_path`), default `/engine.io/`.
    pub fn engineio_path(mut self, path: impl Into<String>) -> Self {
        self.options.engineio_path = path.into();
        self
    }

    /// Timeout of handshakes and POSTs (python: `request_timeout`),
    /// default 5 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.options.request_timeout = timeout;
        self
    }

    /// Sends every request through this client (python: `http_session`):
    /// its proxy, CA, certificate and cookie settings apply to polling and
    /// to the WebSocket handshake. See [`HttpClient`] about HTTP/2.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.options.http_client = Some(HttpClient::Client(client));
        self
    }

    /// Calls `factory` for a fresh HTTP client on each `connect` (python:
    /// an `http_session` factory).
    pub fn http_client_factory(
        mut self,
        factory: impl Fn() -> reqwest::Client + Send + Sync + 'static,
    ) -> Self {
        self.options.http_client = Some(HttpClient::factory(factory));
        self
    }

    /// `false` accepts any TLS certificate (python: `ssl_verify`). Applies to
    /// the default HTTP client only.
    pub fn ssl_verify(mut self, verify: bool) -> Self {
        self.options.ssl_verify = verify;
        self
    }

    /// Adds a header sent with the WebSocket handshake only.
    pub fn websocket_extra_header<K, V>(self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        self.add_header(|o| &mut o.websocket_extra_headers, name, value)
    }

    /// Largest WebSocket message accepted, over all its fragments, default
    /// 64 MiB; see [`ClientOptions::websocket_max_message_size`].
    pub fn websocket_max_message_size(mut self, bytes: usize) -> Self {
        self.options.websocket_max_message_size = bytes;
        self
    }

    /// Largest polling response body accepted, default 64 MiB; see
    /// [`ClientOptions::max_payload_size`].
    pub fn max_payload_size(mut self, bytes: usize) -> Self {
        self.options.max_payload_size = bytes;
        self
    }

    /// How many bytes of received messages may wait for the application
    /// before the client stops reading, default 16 MiB; see
    /// [`ClientOptions::max_buffered_bytes`].
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.options.max_buffered_bytes = bytes;
        self
    }

    /// Whether polling requests carry the `t` cache-buster (python:
    /// `timestamp_requests`), default `true`.
    pub fn timestamp_requests(mut self, on: bool) -> Self {
        self.options.timestamp_requests = on;
        self
    }

    /// Whether Ctrl-C disconnects the client (python: `handle_sigint`),
    /// default `true`. See [the module docs](super#ctrl-c).
    pub fn handle_sigint(mut self, on: bool) -> Self {
        self.options.handle_sigint = on;
        self
    }

    /// How long the upgrade to WebSocket may take, default 10 s.
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.options.upgrade_timeout = timeout;
        self
    }

    /// Called once connected, before `connect` returns. Return `()` or a
    /// `Result`: an error (or a panic) closes the connection and makes
    /// `connect` fail with [`ClientError::ConnectHandler`].
    pub fn on_connect<F, R>(mut self, handler: F) -> Self
    where
        F: Fn(&Client) -> R + Send + Sync + 'static,
        R: ConnectOutcome,
    {
        self.handlers.connect = Some(Arc::new(move |c: Client| {
            let r = handler(&c).into_result();
            Box::pin(std::future::ready(r))
        }));
        self
    }

    /// The `async` form of [`on_connect`](Self::on_connect).
    pub fn on_connect_async<F, Fut, R>(mut self, handler: F) -> Self
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: ConnectOutcome,
    {
        self.handlers.connect = Some(Arc::new(move |c: Client| {
            let fut = handler(c);
            Box::pin(async move { fut.await.into_result() })
        }));
        self
    }

    /// Called for every message from the server, in order.
    pub fn on_message<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Client, Data) + Send + Sync + 'static,
    {
        self.handlers.message = Some(Arc::new(move |c: Client, d: Data| {
            handler(&c, d);
            Box::pin(std::future::ready(()))
        }));
        self
    }

    /// The `async` form of [`on_message`](Self::on_message); the next
    /// message waits until the returned future completes.
    pub fn on_message_async<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Client, Data) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers.message = Some(Arc::new(move |c: Client, d: Data| Box::pin(handler(c, d))));
        self
    }

    /// Called once when the connection ends, whoever ended it, with the
    /// reason. Not called when `connect` fails.
    pub fn on_disconnect<F>(mut self, handler: F) -> Self
    where
        F: Fn(DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers.disconnect = Some(Arc::new(move |r| {
            handler(r);
            Box::pin(std::future::ready(()))
        }));
        self
    }

    /// The `async` form of [`on_disconnect`](Self::on_disconnect).
    pub fn on_disconnect_async<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers.disconnect = Some(Arc::new(move |r| Box::pin(handler(r))));
        self
    }

    /// Connects: performs the handshake on the first transport, runs the
    /// connect handler, and returns. The upgrade to WebSocket, if any,
    /// continues in the background.
    ///
    /// Must be called within a tokio runtime (with the time and IO drivers
    /// enabled).
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`], [`InvalidTransports`](ClientError::InvalidTransports),
    /// [`InvalidHeader`](ClientError::InvalidHeader) before any request;
    /// [`HandshakeRejected`](ClientError::HandshakeRejected) when the server
    /// answers the handshake with an error status;
    /// [`Http`](ClientError::Http), [`WebSocket`](ClientError::WebSocket),
    /// [`Timeout`](ClientError::Timeout), [`TooLarge`](ClientError::TooLarge)
    /// or [`Protocol`](ClientError::Protocol) (an invalid or absurd `open`
    /// packet) when it cannot be completed;
    /// [`ConnectHandler`](ClientError::ConnectHandler) when the connect
    /// handler fails.
    pub async fn connect(self, url: impl AsRef<str>) -> Result<Client> {
        let ClientBuilder {
            options,
            handlers,
            error,
            subscribers,
        } = self;
        if let Some(e) = error {
            return Err(ClientError::InvalidHeader(e));
        }
        let Some(&first) = options.transports.first() else {
            return Err(ClientError::InvalidTransports(
                "at least one transport is needed".into(),
            ));
        };
        let mut config = ClientConfig::default();
        config.upgrade = first == TransportKind::Polling
            && options.transports.contains(&TransportKind::WebSocket);
        config.upgrade_timeout = options.upgrade_timeout;
        let req = Requests::new(url.as_ref(), &options)?;
        let (session, ws) = handshake(&req, first, config).await?;
        let (open, sid) = match (session.open_data(), session.sid()) {
            (Some(open), Some(sid)) => (open.clone(), sid.clone()),
            _ => return Err(ClientError::Protocol("no handshake data".into())),
        };
        tracing::debug!(%sid, transport = %first, "engine.io client connected");

        let hub = Arc::new(Mutex::new(Hub::new(
            Runner::keeps_backlog(&handlers),
            subscribers,
        )));
        let shared = Arc::new(Shared::new(first));
        // Commands are drained at once by the driver, and events are bounded
        // by the budget (see `budget`): neither channel grows on its own.
        let (cmd_tx, cmd_rx) = queue::queue();
        let (ev_tx, ev_rx) = queue::queue();
        let budget = Budget::new(options.max_buffered_bytes);
        let (start_tx, start_rx) = oneshot::channel();
        let (connected_tx, connected_rx) = oneshot::channel();
        let sigint = options.handle_sigint.then(|| {
            // What `Client::disconnect` does, for the Ctrl-C watcher.
            let (commands, shared) = (cmd_tx.clone(), shared.clone());
            let target: sigint::Target = Box::new(move || {
                shared.set_state(State::Disconnecting);
                let _ = commands.send(Command::Disconnect);
                Box::pin(async move {
                    shared.done(Task::Driver).wait().await;
                    shared.done(Task::Handlers).wait().await;
                })
            });
            sigint::register(options.request_timeout + SIGINT_HANDLER_GRACE, target)
        });

        let driver = Driver::new(DriverParts {
            session,
            ws,
            req,
            commands: cmd_rx,
            sigint,
            events: ev_tx,
            budget,
            shared: shared.clone(),
            done: DoneGuard::new(shared.clone(), Task::Driver),
        });
        let runner = Runner {
            events: ev_rx,
            start: start_rx,
            handlers,
            hub: hub.clone(),
            connected: connected_tx,
            done: DoneGuard::new(shared.clone(), Task::Handlers),
        };
        let driver_task = tokio::spawn(driver.run());
        let runner_task = tokio::spawn(runner.run());
        let client = Client {
            inner: Arc::new(Inner {
                sid,
                open,
                shared,
                commands: cmd_tx,
                hub,
                tasks: [driver_task.abort_handle(), runner_task.abort_handle()],
            }),
        };
        let _ = start_tx.send(Arc::downgrade(&client.inner));
        match connected_rx.await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(e)) => {
                client.disconnect().await;
                Err(ClientError::ConnectHandler(e))
            }
            // The handler task ended before the connect event: the driver
            // died at once.
            Err(_) => Err(ClientError::Closed),
        }
    }
}

/// Opens the connection on `first` and feeds the server's first packets to a
/// new session.
async fn handshake(
    req: &Requests,
    first: TransportKind,
    config: ClientConfig,
) -> Result<(ClientSession, Option<WsSocket>)> {
    let mut session = ClientSession::new(first, config);
    let ws = match first {
        TransportKind::Polling => {
            // Cookies it sets are in the jar already, whatever the status.
            let answer = req.get(None, req.request_timeout).await?;
            if answer.status != reqwest::StatusCode::OK {
                return Err(ClientError::HandshakeRejected {
                    status: answer.status,
                    body: body_json(&answer.body),
                });
            }
            // Within `max_payload_size` already.
            let packets = payload::decode(answer.body, usize::MAX)
                .map_err(|e| ClientError::Protocol(format!("handshake answer: {e}")))?;
            let now = now();
            if let Some(first) = packets.first() {
                check_open(first)?;
            }
            for p in packets {
                session.handle_packet(now, p);
            }
            None
        }
        TransportKind::WebSocket => {
            let url = req.websocket_url(None);
            let headers = req.websocket_headers(&url);
            let direct = req.websocket_direct(&url);
            let mut ws = websocket::open(
                req.http.clone(),
                url,
                headers,
                direct,
                req.ws_max_message_size,
                req.request_timeout,
            )
            .await?;
            let first = tokio::time::timeout(req.request_timeout, ws.read_packet())
                .await
                .map_err(|_| ClientError::Timeout)??
                .ok_or_else(|| {
                    ClientError::Protocol("the server closed the WebSocket before `open`".into())
                })?;
            check_open(&first)?;
            session.handle_packet(now(), first);
            Some(ws)
        }
    };
    if session.open_data().is_none() {
        return Err(ClientError::Protocol(
            "the server's first packet is not a valid `open` packet".into(),
        ));
    }
    Ok((session, ws))
}

/// Says what is wrong with the server's first packet, if it is an `open`
/// packet the session will refuse (the session alone would only say that it
/// is refused).
fn check_open(first: &Packet) -> Result<()> {
    match first {
        Packet::Open(text) => ClientSession::parse_open(text)
            .map(drop)
            .map_err(|e| ClientError::Protocol(format!("invalid `open` packet: {e}"))),
        _ => Ok(()),
    }
}
