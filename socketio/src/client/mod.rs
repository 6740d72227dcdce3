//! The async Socket.IO client, [`AsyncClient`] (python-socketio's
//! `AsyncClient`).
//!
//! ```text
//!  your code                      driver task (one per connect)                 server
//!  ─────────                      ─────────────────────────────                 ──────
//!  emit / call / disconnect ──▶ commands ──▶ ClientState ──▶ engineio::Client ◀──▶ Engine.IO
//!                                   │ (socketio-proto)   ▲                          │
//!                                   │                    └── Engine.IO messages ◀───┘
//!                                   └── reconnection loop (Backoff)
//!  handlers ◀── handler task ◀── dispatches (events, acks, connects, disconnects)
//! ```
//!
//! * [`AsyncClient::connect`] opens the Engine.IO connection, sends a
//!   CONNECT for every namespace and (with `wait`, the default) returns once
//!   all are connected; a refused namespace or one not connected within
//!   `wait_timeout` fails it.
//! * Handlers run on one task, in order; an event handler's return value is
//!   the acknowledgement when the server asked for one.
//! * When the Engine.IO connection drops unexpectedly (transport error or
//!   close, ping timeout), the client reconnects with python-socketio's
//!   backoff and connects every namespace again, evaluating the auth afresh.
//!   It does not after [`disconnect`](AsyncClient::disconnect), nor when the
//!   server disconnects the last namespace.

mod builder;
mod driver;
mod handlers;

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use engineio::proto::TransportKind;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

pub use self::builder::{Auth, ClientBuilder, ClientOptions, ConnectOptions};
pub use self::handlers::NamespaceHandler;

use self::driver::Command;
use self::handlers::Handlers;
use crate::proto::packet::normalize_nsp as normalize_namespace;
use crate::{to_args, Error, Result, Value};

/// An event from the server, as handlers receive it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The namespace it arrived on.
    pub namespace: String,
    /// The event name.
    pub name: String,
    /// Its arguments (binary values anywhere inside them are
    /// [`Value::Binary`]).
    pub args: Vec<Value>,
    /// The acknowledgement id, when the server asked for one. Handlers
    /// answer by returning a value; you need this only for bookkeeping.
    pub ack_id: Option<u64>,
}

impl Event {
    /// The arguments as a typed value, python-style: a tuple type takes
    /// them one by one, any other type takes the first.
    ///
    /// ```
    /// # use socketio::{Event, Value};
    /// # fn run(event: Event) -> Result<(), socketio::proto::ValueError> {
    /// let (text, n): (String, i64) = event.parse()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When the arguments do not match `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::proto::ValueError> {
        crate::from_args(self.args.clone())
    }
}

/// The state the handles read synchronously; the driver writes it.
#[derive(Default)]
pub(crate) struct State {
    /// Connected namespaces and their sids, in connect order.
    pub(crate) namespaces: Vec<(String, String)>,
    pub(crate) engine: Option<engineio::Client>,
    pub(crate) commands: Option<mpsc::UnboundedSender<Command>>,
    /// The phase of the current driver ([`driver::RUNNING`],
    /// [`driver::DRIVER_DONE`], [`driver::ALL_DONE`]).
    pub(crate) running: Option<watch::Receiver<u8>>,
}

pub(crate) struct Inner {
    pub(crate) options: ClientOptions,
    pub(crate) handlers: Arc<Handlers>,
    pub(crate) state: Mutex<State>,
}

impl Inner {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A Socket.IO client (async). Cheap to clone: clones share the client.
///
/// ```no_run
/// use socketio::AsyncClient;
///
/// # async fn run() -> socketio::Result<()> {
/// let client = AsyncClient::builder()
///     .on("reply", |_client, event| println!("{:?}", event.args))
///     .build();
/// client.connect("http://localhost:5000").await?;
/// client.emit("hello", ("two", "arguments"))?;
/// let answer = client.call("sum", (1, 2)).await?;
/// println!("the server says {answer:?}");
/// client.disconnect().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AsyncClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient")
            .field("namespaces", &self.namespaces())
            .finish_non_exhaustive()
    }
}

/// A handle that does not keep the client alive (held by its tasks).
#[derive(Clone)]
pub(crate) struct WeakClient(Weak<Inner>);

impl WeakClient {
    pub(crate) fn upgrade(&self) -> Option<AsyncClient> {
        self.0.upgrade().map(|inner| AsyncClient { inner })
    }
}

/// The default `call` timeout (python's 60 s).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

impl AsyncClient {
    /// A builder for options and handlers.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client with the default options and no handlers.
    pub fn new() -> AsyncClient {
        ClientBuilder::new().build()
    }

    pub(crate) fn from_builder(b: ClientBuilder) -> AsyncClient {
        AsyncClient {
            inner: Arc::new(Inner {
                options: b.options,
                handlers: Arc::new(b.handlers),
                state: Mutex::new(State::default()),
            }),
        }
    }

    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.inner))
    }

    /// Connects to `url` with [`ConnectOptions`]' defaults; see
    /// [`connect_with`](Self::connect_with).
    ///
    /// # Errors
    /// As [`connect_with`](Self::connect_with).
    pub async fn connect(&self, url: impl Into<String>) -> Result<()> {
        self.connect_with(ConnectOptions::new(url)).await
    }

    /// Connects: opens the Engine.IO connection, then every namespace.
    /// With `wait` (the default) it returns once all are connected.
    ///
    /// ```no_run
    /// use socketio::{AsyncClient, ConnectOptions};
    /// # async fn run() -> socketio::Result<()> {
    /// let client = AsyncClient::new();
    /// client
    ///     .connect_with(
    ///         ConnectOptions::new("http://localhost:5000")
    ///             .auth(serde_json::json!({"token": "secret"}))
    ///             .namespaces(["/", "/admin"]),
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Engine`] when the Engine.IO connection fails (unless
    /// `retry`; then [`Error::AttemptsExhausted`] once every attempt has
    /// failed); [`Error::ConnectRefused`] when the server refuses a
    /// namespace and [`Error::NamespaceTimeout`] when one does not connect
    /// in time (the client then disconnects); [`Error::AlreadyConnected`];
    /// [`Error::InvalidOption`].
    pub async fn connect_with(&self, options: ConnectOptions) -> Result<()> {
        if let Some(e) = &options.error {
            return Err(Error::InvalidOption(e.clone()));
        }
        let namespaces = options.namespaces.clone().unwrap_or_else(|| {
            let ns = self.inner.handlers.namespaces();
            if ns.is_empty() {
                vec!["/".to_owned()]
            } else {
                ns
            }
        });
        let (wait, wait_timeout) = (options.wait, options.wait_timeout);
        let mut progress = {
            let mut st = self.inner.lock();
            if st
                .running
                .as_ref()
                .is_some_and(|r| *r.borrow() == driver::RUNNING)
            {
                return Err(Error::AlreadyConnected);
            }
            let (tx, rx) = mpsc::unbounded_channel();
            let (progress_tx, progress) = mpsc::unbounded_channel();
            let (running_tx, running) = watch::channel(driver::RUNNING);
            st.commands = Some(tx);
            st.running = Some(running);
            st.namespaces.clear();
            let d = driver::Driver::new(
                self.clone(),
                options,
                namespaces.clone(),
                rx,
                progress_tx,
                running_tx,
            );
            tokio::spawn(d.run());
            progress
        };
        // The Engine.IO connection first.
        match progress.recv().await {
            Some(driver::Progress::EngineUp) => {}
            Some(driver::Progress::Failed(e)) => return Err(e),
            Some(driver::Progress::Namespace(..)) | None => return Err(Error::AttemptsExhausted),
        }
        if !wait {
            return Ok(());
        }
        let mut pending: Vec<String> = namespaces;
        while !pending.is_empty() {
            match tokio::time::timeout(wait_timeout, progress.recv()).await {
                Ok(Some(driver::Progress::Namespace(ns, Ok(())))) => pending.retain(|n| *n != ns),
                Ok(Some(driver::Progress::Namespace(ns, Err(data)))) => {
                    self.disconnect().await;
                    return Err(Error::ConnectRefused {
                        namespace: ns,
                        data,
                    });
                }
                Ok(Some(driver::Progress::Failed(e))) => {
                    self.disconnect().await;
                    return Err(e);
                }
                Ok(Some(driver::Progress::EngineUp)) => {}
                Ok(None) | Err(_) => {
                    self.disconnect().await;
                    return Err(Error::NamespaceTimeout(pending.swap_remove(0)));
                }
            }
        }
        Ok(())
    }

    fn command(&self, cmd: Command) {
        if let Some(tx) = &self.inner.lock().commands {
            let _ = tx.send(cmd);
        }
    }

    fn check_connected(&self, ns: &str) -> Result<()> {
        if self.inner.lock().namespaces.iter().any(|(n, _)| n == ns) {
            Ok(())
        } else {
            Err(Error::BadNamespace(ns.to_owned()))
        }
    }

    /// The handle of one namespace, for its emits, calls and disconnect.
    ///
    /// ```no_run
    /// # async fn run(client: socketio::AsyncClient) -> socketio::Result<()> {
    /// let admin = client.of("/admin");
    /// admin.emit("stats", ())?;
    /// admin.disconnect().await;
    /// # Ok(()) }
    /// ```
    pub fn of(&self, namespace: &str) -> Socket {
        Socket {
            client: self.clone(),
            namespace: normalize_namespace(namespace),
        }
    }

    /// Emits `event` to the default namespace; `data` is one argument, or
    /// several as a tuple (python's rule); `()` sends none.
    ///
    /// # Errors
    /// [`Error::BadNamespace`] when `/` is not connected;
    /// [`Error::Value`] when `data` cannot be serialised.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<()> {
        self.of("/").emit(event, data)
    }

    /// Emits with an acknowledgement callback, called (on the handler task)
    /// with the server's answer.
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
        callback: impl FnOnce(Vec<Value>) + Send + 'static,
    ) -> Result<()> {
        self.of("/").emit_with_ack(event, data, callback)
    }

    /// Emits and waits up to 60 s for the acknowledgement's arguments.
    ///
    /// # Errors
    /// [`Error::Timeout`] when none comes in time (even if the connection
    /// dropped meanwhile, as in python); else as [`emit`](Self::emit).
    pub async fn call(&self, event: &str, data: impl Serialize) -> Result<Vec<Value>> {
        self.of("/").call(event, data).await
    }

    /// [`call`](Self::call) with a timeout of your choice.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_timeout(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<Vec<Value>> {
        self.of("/").call_timeout(event, data, timeout).await
    }

    /// Emits a `message` event (python's `send`).
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn send(&self, data: impl Serialize) -> Result<()> {
        self.emit("message", data)
    }

    pub(crate) fn send_ack(&self, ns: &str, id: u64, args: Vec<Value>) {
        self.command(Command::Ack {
            namespace: ns.to_owned(),
            id,
            args,
        });
    }

    /// The namespace's sid (not the Engine.IO sid), if connected.
    pub fn get_sid(&self, namespace: &str) -> Option<String> {
        let ns = normalize_namespace(namespace);
        self.inner
            .lock()
            .namespaces
            .iter()
            .find(|(n, _)| *n == ns)
            .map(|(_, s)| s.clone())
    }

    /// The connected namespaces, in the order they connected.
    pub fn namespaces(&self) -> Vec<String> {
        self.inner
            .lock()
            .namespaces
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Whether any namespace is connected.
    pub fn connected(&self) -> bool {
        !self.inner.lock().namespaces.is_empty()
    }

    /// The Engine.IO transport in use, if connected.
    pub fn transport(&self) -> Option<TransportKind> {
        self.inner
            .lock()
            .engine
            .as_ref()
            .filter(|e| e.is_connected())
            .map(engineio::Client::transport)
    }

    /// The Engine.IO connection, if one is up (its sid, handshake, …).
    pub fn engine(&self) -> Option<engineio::Client> {
        self.inner.lock().engine.clone()
    }

    /// Disconnects: a DISCONNECT for every connected namespace, delivered
    /// before the Engine.IO connection closes; stops any reconnection loop.
    /// Returns once the client has stopped.
    ///
    /// Called from a handler it returns once the driver has stopped, without
    /// waiting for the handlers (that would wait for itself).
    pub async fn disconnect(&self) {
        self.disconnect_inner(handlers::in_handler()).await;
    }

    pub(crate) async fn disconnect_inner(&self, in_handler: bool) {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Disconnect(tx));
        // The driver answers once its handler task has ended: a handler
        // must not wait for that.
        if !in_handler {
            let _ = rx.await;
        }
        self.wait_inner(in_handler).await;
    }

    /// Stops the client: disconnects if connected, stops a reconnection
    /// loop, else does nothing (python's `shutdown`).
    pub async fn shutdown(&self) {
        self.disconnect().await;
    }

    /// Waits until the client has stopped: disconnected, with no
    /// reconnection under way (python's `wait`).
    ///
    /// Called from a handler it does not wait for the handlers (that would
    /// wait for itself).
    pub async fn wait(&self) {
        self.wait_inner(handlers::in_handler()).await;
    }

    /// [`wait`](Self::wait); with `in_handler`, only for the driver.
    pub(crate) async fn wait_inner(&self, in_handler: bool) {
        let phase = if in_handler {
            driver::DRIVER_DONE
        } else {
            driver::ALL_DONE
        };
        let running = self.inner.lock().running.clone();
        if let Some(mut r) = running {
            let _ = r.wait_for(|p| *p >= phase).await;
        }
    }
}

impl Default for AsyncClient {
    fn default() -> Self {
        AsyncClient::new()
    }
}

/// One namespace of an [`AsyncClient`] (socket.io-client's `Socket`).
/// Made by [`AsyncClient::of`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct Socket {
    client: AsyncClient,
    namespace: String,
}

impl Socket {
    /// The namespace's name.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Its sid, if connected.
    pub fn sid(&self) -> Option<String> {
        self.client.get_sid(&self.namespace)
    }

    /// Whether it is connected.
    pub fn connected(&self) -> bool {
        self.sid().is_some()
    }

    fn emit_inner(
        &self,
        event: &str,
        data: impl Serialize,
        ack: Option<handlers::Ack>,
    ) -> Result<()> {
        let args = to_args(&data)?;
        self.client.check_connected(&self.namespace)?;
        self.client.command(Command::Emit {
            namespace: self.namespace.clone(),
            event: event.to_owned(),
            args,
            ack,
        });
        Ok(())
    }

    /// Emits `event`; see [`AsyncClient::emit`].
    ///
    /// # Errors
    /// [`Error::BadNamespace`] when not connected; [`Error::Value`].
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<()> {
        self.emit_inner(event, data, None)
    }

    /// Emits with an acknowledgement callback; see
    /// [`AsyncClient::emit_with_ack`].
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
        callback: impl FnOnce(Vec<Value>) + Send + 'static,
    ) -> Result<()> {
        self.emit_inner(
            event,
            data,
            Some(handlers::Ack::Callback(Box::new(callback))),
        )
    }

    /// Emits and waits up to 60 s for the acknowledgement.
    ///
    /// # Errors
    /// As [`AsyncClient::call`].
    pub async fn call(&self, event: &str, data: impl Serialize) -> Result<Vec<Value>> {
        self.call_timeout(event, data, DEFAULT_CALL_TIMEOUT).await
    }

    /// Emits and waits up to `timeout` for the acknowledgement.
    ///
    /// # Errors
    /// As [`AsyncClient::call`].
    pub async fn call_timeout(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let rx = self.emit_reply(event, data)?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(args)) => Ok(args),
            // The reply was dropped (the connection ended, so no answer
            // can come): python still waits out the timeout.
            Ok(Err(_)) => {
                tokio::time::sleep_until(deadline).await;
                Err(Error::Timeout)
            }
            Err(_) => Err(Error::Timeout),
        }
    }

    /// Emits with an acknowledgement that the driver answers directly (not
    /// through the handler task): `call` from a handler works.
    pub(crate) fn emit_reply(
        &self,
        event: &str,
        data: impl Serialize,
    ) -> Result<oneshot::Receiver<Vec<Value>>> {
        let (tx, rx) = oneshot::channel();
        self.emit_inner(event, data, Some(handlers::Ack::Reply(tx)))?;
        Ok(rx)
    }

    /// Emits a `message` event.
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn send(&self, data: impl Serialize) -> Result<()> {
        self.emit("message", data)
    }

    /// Disconnects this namespace only (socket.io-client can; python
    /// cannot); the others stay. When it was the last one, the client
    /// disconnects altogether. It is not connected again on reconnection.
    pub async fn disconnect(&self) {
        let (tx, rx) = oneshot::channel();
        self.client
            .command(Command::DisconnectNamespace(self.namespace.clone(), tx));
        let _ = rx.await;
    }
}
