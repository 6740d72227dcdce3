//! The Engine.IO clients: async ([`Client`]) and blocking
//! ([`blocking::Client`], feature `blocking`).
//!
//! Both drive the sans-IO [`ClientSession`](crate::proto::ClientSession); this
//! module only moves bytes and time. What a connection does reaches you as
//! [`ClientEvent`]s (the core's own [`ClientSessionEvent`](crate::proto::ClientSessionEvent)s
//! are the driver's business and never surface here).
//!
//! ```text
//!  your code                     driver task (one per connection)              server
//!  ─────────                     ────────────────────────────────              ──────
//!  Client::send/disconnect ──▶ commands ──▶ ClientSession ──▶ polling GET/POST ◀──▶ HTTP
//!                                              │   ▲       └─▶ WebSocket reader/writer ◀──▶ WS
//!                                              │   └── one timer (heartbeat, upgrade)
//!  handlers / Events ◀── handler task ◀── events
//! ```
//!
//! * `connect` performs the handshake, starts the driver and the handler
//!   task, runs the connect handler and returns; the upgrade from polling to
//!   WebSocket (the default) continues in the background.
//! * Every event reaches the handlers in order, then the [`Events`] streams.
//! * A connection never stays "connected" after its transport died: every
//!   end — [`disconnect`](Client::disconnect), the server closing, a failed
//!   request or socket, a missed heartbeat — produces exactly one
//!   [`ClientEvent::Disconnect`] with its [`DisconnectReason`].
//! * Dropping the last [`Client`] handle aborts the connection at once (no
//!   `close` packet): call [`disconnect`](Client::disconnect) first for a
//!   clean goodbye.
//!
//! # Example
//! ```no_run
//! use engineio::client::{Client, ClientEvent};
//! use futures_util::StreamExt;
//!
//! # async fn run() -> Result<(), engineio::client::ClientError> {
//! let client = Client::connect("http://localhost:5000").await?;
//! println!("my sid is {}", client.sid());
//! let mut events = client.events();
//! client.send("hello")?;
//! while let Some(event) = events.next().await {
//!     match event {
//!         ClientEvent::Message(data) => println!("received {data:?}"),
//!         ClientEvent::Disconnect(reason) => println!("disconnected: {reason}"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # From python-engineio
//!
//! | python-engineio | here |
//! |---|---|
//! | `engineio.AsyncClient()` / `engineio.Client()` | [`Client::builder()`] / [`blocking::Client::builder()`] |
//! | `Client(request_timeout=, http_session=, ssl_verify=, handle_sigint=, websocket_extra_options=, timestamp_requests=)` | [`ClientBuilder`] methods of the same names, or [`ClientOptions`]; `http_session` is a [`reqwest::Client`] or a factory ([`HttpClient`]); `websocket_extra_options` are [`websocket_extra_header`](ClientBuilder::websocket_extra_header) and [`websocket_max_message_size`](ClientBuilder::websocket_max_message_size) |
//! | `Client(logger=True)` | `tracing` events (install a subscriber) |
//! | `Client(json=ujson)` | [`Client::send_json`] with any `serde::Serialize` |
//! | `@eio.on('connect')`, `on('message')`, `on('disconnect')` | [`on_connect`](ClientBuilder::on_connect), [`on_message`](ClientBuilder::on_message), [`on_disconnect`](ClientBuilder::on_disconnect) (and `_async` forms); or the [`Events`] stream |
//! | `connect(url, headers=, transports=, engineio_path=)` | [`header`](ClientBuilder::header), [`transports`](ClientBuilder::transports), [`engineio_path`](ClientBuilder::engineio_path), then [`connect(url)`](ClientBuilder::connect) |
//! | `eio.sid`, `eio.transport()`, `eio.state` | [`Client::sid`] (a [`ClientSid`]), [`Client::transport`], [`Client::is_connected`] |
//! | `eio.upgrades`, `ping_interval`, `ping_timeout` | [`Client::handshake`] ([`OpenData::upgrades`], [`OpenData::ping_interval`], [`OpenData::ping_timeout`]) |
//! | `send(data)` | [`Client::send`] (text or bytes), [`Client::send_json`] |
//! | `disconnect()` / `disconnect(abort=True)` | [`Client::disconnect`] / [`Client::abort`] |
//! | `wait()` | [`Client::wait`] (returns the reason) |
//! | `Client.reason.*` | [`DisconnectReason`] |
//! | `SIGINT` handler (`handle_sigint=True`): disconnect, then the previous handler | the same, then SIGINT's default action (see [Ctrl-C](#ctrl-c)) |
//! | `ConnectionError` (a rejected handshake, with its body) / `SocketIsClosedError` / `ValueError` / `TimeoutError` | [`ClientError::HandshakeRejected`] and the other [`ClientError`] variants |
//! | `start_background_task`, `sleep`, `create_queue`, `create_event` | `tokio::spawn`, `tokio::time::sleep`, `tokio::sync::mpsc`, `tokio::sync::Notify` (blocking: `std::thread`, `std::sync`) |
//!
//! Differences worth knowing: handlers see messages one at a time and in
//! order (python runs each in its own task); handlers get the [`Client`] as
//! an argument, so they can answer; a failing connect handler fails
//! `connect` with [`ClientError::ConnectHandler`].
//!
//! # Transports and TLS
//! The WebSocket handshake is an HTTP/1.1 upgrade sent through the same
//! [`reqwest::Client`] as the polling requests, so proxy, CA, client
//! certificate and cookie settings apply to both transports (python's client
//! translates its `http_session` settings for the same purpose). The default
//! HTTP client keeps the cookies the server sets in a cookie store of the
//! connection's own (reqwest's, which follows `Domain`, `Path`, `Expires`
//! and `Max-Age`) and sends them with every later request of the
//! connection, the WebSocket handshake included: a sticky-session cookie
//! set on the polling handshake reaches the upgrade. A `Cookie` header you
//! set with [`header`](ClientBuilder::header) is sent too, ahead of them.
//! A client you supply keeps its own cookie settings, and must not
//! negotiate HTTP/2 with a server you reach by WebSocket over TLS: build it
//! with [`http1_only()`](reqwest::ClientBuilder::http1_only).
//!
//! # Limits and backpressure
//! The client does not trust its server any more than the server trusts its
//! clients (the repository's `SECURITY.md` lists every limit with its
//! test):
//!
//! * **Sizes.** A polling body is read up to
//!   [`max_payload_size`](ClientOptions::max_payload_size) (64 MiB), checked
//!   as it streams in; a WebSocket message up to
//!   [`websocket_max_message_size`](ClientOptions::websocket_max_message_size)
//!   (64 MiB) over all its fragments, and in at most 10,000 fragments. Past
//!   a limit, `connect` fails with [`ClientError::TooLarge`] (or
//!   [`ClientError::WebSocket`] for the fragment count); a connected client
//!   ends with [`DisconnectReason::TransportError`].
//! * **Time.** The handshake, every POST and the WebSocket handshake are
//!   bounded by [`request_timeout`](ClientOptions::request_timeout); a long
//!   poll, body included, by `pingInterval + pingTimeout + request_timeout`;
//!   a WebSocket by the heartbeat (no ping within `pingInterval +
//!   pingTimeout` ends it with [`DisconnectReason::PingTimeout`], which also
//!   ends a message that never finishes arriving).
//! * **Handshake values.** `pingInterval` and `pingTimeout` above 2³¹ − 1 ms
//!   (the longest a JavaScript timer waits, so no engine.io server uses
//!   more), negative or fractional numbers, missing fields and text that is
//!   not JSON fail `connect` with [`ClientError::Protocol`]. A
//!   `pingInterval` of 0 is read as 1 s: python-engineio rounds the interval
//!   down to whole seconds, so it advertises 0 for any interval under a
//!   second while its pings keep coming.
//! * **Backpressure.** Received messages wait for the application — a
//!   handler that has not returned, an [`Events`] stream not read, the
//!   events kept for the first stream when no handler is registered — up to
//!   [`max_buffered_bytes`](ClientOptions::max_buffered_bytes) (16 MiB, each
//!   event counted as its data plus 128 bytes). Past it the client stops
//!   reading from the server (no new long poll, the WebSocket left unread)
//!   and resumes as the application catches up: nothing is dropped and
//!   memory stays bounded. Commands (`send`, `disconnect`, `abort`) and the
//!   `Disconnect` event never wait for it. While reading is paused a missing
//!   ping proves nothing (it may wait unread), so the client's heartbeat
//!   check restarts when reading resumes; a healthy connection whose
//!   application is merely slow is not dropped by the client. The server,
//!   which gets no pong meanwhile, drops a connection whose application
//!   stops reading for longer than its heartbeat. The alternative, reading
//!   on and dropping or refusing messages, would lose data silently.
//! * **Pongs.** A ping flood from a server that does not read queues one
//!   pong, not one per ping (Engine.IO pongs and WebSocket pongs alike).
//!
//! What the application sends is its own: [`send`](Client::send) never
//! blocks or fails for a full queue, so pace large bursts with
//! [`flush`](Client::flush).
//!
//! # Ctrl-C
//! With [`handle_sigint`](ClientOptions::handle_sigint) (the default), as in
//! python-engineio, Ctrl-C first disconnects every connected client
//! gracefully — queued messages and `close` delivered, disconnect handlers
//! run; their `wait()` returns — and then takes SIGINT's default action: the
//! process ends, killed by SIGINT (a shell reports status 130), as it would
//! have without the handler. The library never calls `exit`: a thread of its
//! own restores SIGINT's default disposition and raises the signal again.
//! The disconnects may take up to the longest `request_timeout` among the
//! clients plus one second; a second Ctrl-C cuts that short. Code after
//! `wait()` may or may not run before the process ends, so a program with
//! work to do on Ctrl-C (or one that should survive it) turns the option off
//! and handles Ctrl-C itself (e.g. `tokio::signal::ctrl_c`, then
//! [`Client::disconnect`]). On platforms without Unix signals, the first
//! Ctrl-C disconnects the clients and the handler stops listening, so the
//! next Ctrl-C has the system's default effect.

mod budget;
mod builder;
mod done;
mod driver;
mod error;
mod handlers;
mod options;
mod queue;
mod request;
mod sigint;
mod websocket;
mod ws_direct;

#[cfg(feature = "blocking")]
pub mod blocking;

use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use done::{Done, Task};
use tokio::task::AbortHandle;

pub use self::builder::ClientBuilder;
pub use self::error::{BoxError, ClientError, Result};
pub use self::handlers::ConnectOutcome;
pub use self::options::{ClientOptions, HttpClient};
pub use crate::proto::{ClientSid, Data, DisconnectReason, OpenData, TransportKind};

use self::driver::Command;
use self::handlers::Hub;

/// What happens on a connection, as seen by [`Events`] streams (and, one
/// kind each, by the handlers of [`ClientBuilder`]).
///
/// This is the one event type of the Engine.IO client API. The sans-IO
/// core's [`ClientSessionEvent`](crate::proto::ClientSessionEvent) is what
/// the core tells this crate's driver; the driver turns it into these.
///
/// ```no_run
/// use engineio::{Client, ClientEvent};
///
/// # async fn run() -> engineio::client::Result<()> {
/// let client = Client::connect("http://localhost:5000").await?;
/// let mut events = client.events();
/// while let Some(event) = events.recv().await {
///     match event {
///         ClientEvent::Connect => println!("connected as {}", client.sid()),
///         ClientEvent::Message(data) => println!("{data:?}"),
///         ClientEvent::Upgrade => println!("now on {}", client.transport()),
///         ClientEvent::Disconnect(reason) => println!("gone: {reason}"),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake completed (always the first event).
    Connect,
    /// A message from the server.
    Message(Data),
    /// The connection moved from polling to WebSocket.
    Upgrade,
    /// The connection ended (always the last event).
    Disconnect(DisconnectReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    Connected = 0,
    Disconnecting = 1,
    Disconnected = 2,
}

/// What the driver publishes for the handles' synchronous getters, and the
/// ends of the driver and handler tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    state: AtomicU8,
    transport: AtomicU8,
    driver_done: Done,
    handlers_done: Done,
}

impl Shared {
    fn new(transport: TransportKind) -> Self {
        let s = Shared {
            state: AtomicU8::new(State::Connected as u8),
            transport: AtomicU8::new(0),
            driver_done: Done::default(),
            handlers_done: Done::default(),
        };
        s.set_transport(transport);
        s
    }

    pub(crate) fn set_state(&self, state: State) {
        // Never go back from Disconnected.
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur != State::Disconnected as u8).then_some(state as u8)
            });
    }

    fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Connected,
            1 => State::Disconnecting,
            _ => State::Disconnected,
        }
    }

    pub(crate) fn set_transport(&self, t: TransportKind) {
        let v = match t {
            TransportKind::Polling => 0,
            TransportKind::WebSocket => 1,
        };
        self.transport.store(v, Ordering::Release);
    }

    fn transport(&self) -> TransportKind {
        match self.transport.load(Ordering::Acquire) {
            0 => TransportKind::Polling,
            _ => TransportKind::WebSocket,
        }
    }

    /// Where `task` reports its end.
    pub(crate) fn done(&self, task: Task) -> &Done {
        match task {
            Task::Driver => &self.driver_done,
            Task::Handlers => &self.handlers_done,
        }
    }
}

pub(crate) struct Inner {
    sid: ClientSid,
    open: OpenData,
    shared: Arc<Shared>,
    commands: queue::Sender<Command>,
    hub: Arc<Mutex<Hub>>,
    tasks: [AbortHandle; 2],
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A connected Engine.IO client (async). Cheap to clone: all clones share
/// the connection, which is aborted when the last one is dropped.
///
/// Made by [`Client::connect`] or [`ClientBuilder::connect`].
///
/// ```no_run
/// use engineio::client::Client;
///
/// # async fn run() -> Result<(), engineio::client::ClientError> {
/// let client = Client::connect("http://localhost:5000").await?;
/// client.send("hello")?;
/// client.send(vec![1u8, 2, 3])?;
/// client.send_json(&serde_json::json!({"foo": "bar"}))?;
/// client.disconnect().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("sid", &self.inner.sid)
            .field("transport", &self.transport())
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl Client {
    /// A builder for options and handlers.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Connects with the default options and no handlers; see
    /// [`ClientBuilder::connect`]. Read what arrives with
    /// [`events`](Self::events): without handlers, events are kept for the
    /// first stream taken, so take one (or drop the client) rather than let
    /// them pile up.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), engineio::client::ClientError> {
    /// let client = engineio::client::Client::connect("ws://localhost:5000/?token=abc").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: impl AsRef<str>) -> Result<Client> {
        ClientBuilder::new().connect(url).await
    }

    /// The session id the server assigned, as it sent it (any server's form:
    /// see [`ClientSid`]). Prints with `{}`, compares with a `&str` or a
    /// server's [`Sid`](crate::proto::Sid).
    ///
    /// ```no_run
    /// # async fn run() -> engineio::client::Result<()> {
    /// let client = engineio::Client::connect("http://localhost:5000").await?;
    /// println!("my sid is {}", client.sid());
    /// let sid: &str = client.sid().as_str();
    /// # let _ = sid;
    /// # Ok(()) }
    /// ```
    pub fn sid(&self) -> &ClientSid {
        &self.inner.sid
    }

    /// The handshake data: `upgrades`, `ping_interval()`, `ping_timeout()`
    /// (durations; `ping_interval_ms`, `ping_timeout_ms` as sent),
    /// `max_payload`.
    pub fn handshake(&self) -> &OpenData {
        &self.inner.open
    }

    /// The transport in use now: `Polling` until the upgrade completes.
    pub fn transport(&self) -> TransportKind {
        self.inner.shared.transport()
    }

    /// Whether the connection is up and not closing.
    pub fn is_connected(&self) -> bool {
        self.inner.shared.state() == State::Connected
    }

    /// Queues a message: text (`&str`, `String`) or binary (`Vec<u8>`,
    /// `Bytes`, `&[u8]`). Messages leave in the order they are queued. It
    /// does not wait, so handlers (sync ones too) can call it.
    ///
    /// ```no_run
    /// # async fn run(client: engineio::client::Client) -> engineio::client::Result<()> {
    /// client.send("text")?;
    /// client.send(vec![0xde, 0xad])?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ClientError::Closed`] once the connection is closing or closed.
    pub fn send(&self, data: impl Into<Data>) -> Result<()> {
        if !self.is_connected() {
            return Err(ClientError::Closed);
        }
        self.inner
            .commands
            .send(Command::Send(data.into()))
            .map_err(|_| ClientError::Closed)
    }

    /// Serialises `value` to JSON and sends it as a text message (python's
    /// `send(dict)`).
    ///
    /// ```no_run
    /// # async fn run(client: engineio::client::Client) -> engineio::client::Result<()> {
    /// #[derive(serde::Serialize)]
    /// struct Hello<'a> { name: &'a str }
    /// client.send_json(&Hello { name: "ferris" })?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ClientError::Json`] if serialisation fails, else as
    /// [`send`](Self::send).
    pub fn send_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.send(serde_json::to_string(value)?)
    }

    /// Disconnects gracefully: messages already queued are sent, then the
    /// `close` packet; returns once that is done (at most about
    /// `request_timeout`) and the disconnect handler has run. Called from a
    /// handler, it does not wait for the handlers. Does nothing more if
    /// already disconnected.
    ///
    /// ```no_run
    /// # async fn run(client: engineio::client::Client) {
    /// client.disconnect().await;
    /// assert!(!client.is_connected());
    /// # }
    /// ```
    pub async fn disconnect(&self) {
        self.request_disconnect();
        self.wait().await;
    }

    /// Waits until every message queued before this call has left: on
    /// polling, the POST that carried it was answered; on WebSocket, it was
    /// handed to the socket, ahead of anything sent later. Returns at once
    /// when the connection is closed. A layer on top uses it to make sure
    /// its goodbye messages reach the server before the `close` packet
    /// (which a polling server may handle first when both share a payload).
    ///
    /// ```no_run
    /// # async fn run(client: engineio::client::Client) -> engineio::client::Result<()> {
    /// client.send("bye")?;
    /// client.flush().await;
    /// client.disconnect().await;
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.inner.commands.send(Command::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    pub(crate) fn request_disconnect(&self) {
        self.inner.shared.set_state(State::Disconnecting);
        let _ = self.inner.commands.send(Command::Disconnect);
    }

    #[cfg(feature = "blocking")]
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.inner))
    }

    /// Stops the connection now, without sending `close` (python:
    /// `disconnect(abort=True)`). The disconnect event still follows, with
    /// [`DisconnectReason::ClientDisconnect`].
    pub fn abort(&self) {
        self.inner.shared.set_state(State::Disconnecting);
        let _ = self.inner.commands.send(Command::Abort);
    }

    /// Waits until the connection has ended and its background work (and,
    /// unless called from a handler, the disconnect handler) is done;
    /// returns why it ended. (A handler must not await a task that waits:
    /// that task would wait for the handler.)
    ///
    /// ```no_run
    /// use engineio::client::{Client, DisconnectReason};
    /// # async fn run() -> engineio::client::Result<()> {
    /// let client = Client::connect("http://localhost:5000").await?;
    /// match client.wait().await {
    ///     DisconnectReason::ServerDisconnect => println!("the server closed the session"),
    ///     other => println!("ended: {other}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) -> DisconnectReason {
        self.wait_inner(handlers::in_handler()).await
    }

    pub(crate) async fn wait_inner(&self, in_handler: bool) -> DisconnectReason {
        let shared = &self.inner.shared;
        let reason = shared.done(Task::Driver).wait().await;
        if in_handler {
            return reason;
        }
        shared.done(Task::Handlers).wait().await;
        reason
    }

    /// A stream of the connection's events, in order, ending after
    /// [`ClientEvent::Disconnect`].
    ///
    /// If no handler was registered (and no stream was taken from the
    /// builder), the first stream taken also gets every event from the start
    /// (beginning with [`ClientEvent::Connect`]); otherwise a stream gets the
    /// events that happen after it is taken. For every event whatever the
    /// handlers, take the stream before connecting, with
    /// [`ClientBuilder::events`].
    /// Events wait in the stream until read, so read it (or drop it): a
    /// stream held but not read fills the connection's
    /// [`max_buffered_bytes`](ClientOptions::max_buffered_bytes), and then
    /// the client stops reading from the server (see [the module
    /// docs](self#limits-and-backpressure)).
    ///
    /// ```no_run
    /// use engineio::client::{Client, ClientEvent};
    /// use futures_util::StreamExt;
    /// # async fn run(client: Client) {
    /// let mut events = client.events();
    /// while let Some(event) = events.next().await {
    ///     if let ClientEvent::Message(data) = event {
    ///         println!("{data:?}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> Events {
        Events {
            rx: crate::lock(&self.inner.hub).subscribe(),
        }
    }
}

/// A handle that does not keep the connection alive (for the blocking
/// client's handler thread).
#[cfg(feature = "blocking")]
#[derive(Clone)]
pub(crate) struct WeakClient(std::sync::Weak<Inner>);

#[cfg(feature = "blocking")]
impl WeakClient {
    pub(crate) fn upgrade(&self) -> Option<Client> {
        self.0.upgrade().map(|inner| Client { inner })
    }
}

/// The events of one connection: a [`Stream`](futures_util::Stream), also
/// readable with [`recv`](Events::recv). Made by [`Client::events`].
#[derive(Debug)]
pub struct Events {
    // Each event's budget charge is released as the event is yielded.
    rx: queue::Receiver<handlers::Tracked>,
}

impl Events {
    /// The next event; `None` after the last one.
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        self.rx.recv().await.map(|(ev, _charge)| ev)
    }
}

impl futures_util::Stream for Events {
    type Item = ClientEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientEvent>> {
        self.rx.poll_recv(cx).map(|ev| ev.map(|(ev, _charge)| ev))
    }
}
