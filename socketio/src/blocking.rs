//! The blocking Socket.IO client, [`Client`] (python-socketio's `Client`):
//! the async [`AsyncClient`] on a private runtime thread, for programs
//! without an async runtime.
//!
//! # The model
//!
//! ```text
//!  your threads            sio-client thread (current-thread runtime)          server
//!  ────────────            ──────────────────────────────────────────          ──────
//!  connect ──── task ────▶ AsyncClient::connect_with ──▶ driver task ◀──▶ Engine.IO
//!  emit / send ── command (a channel send, never blocks) ──▶ │
//!  call ◀── oneshot ◀── ack callback ◀──┐                     │ dispatches
//!  disconnect / wait ◀── driver phase ──┼─────────────────────┤
//!                                  handler task ◀─────────────┘
//!                                       │ one Job per call (std channel, in order)
//!                                       ▼             ▲ the return value (oneshot),
//!  sio-handlers thread: your handlers ────────────────┘ when the server wants an ack
//! ```
//!
//! * The first [`connect`](Client::connect) starts two threads: `sio-client`,
//!   a current-thread tokio runtime hosting the [`AsyncClient`] (its driver
//!   and handler tasks), and `sio-handlers`, which calls your handlers.
//!   Later connections (and reconnections) reuse them.
//! * Blocking calls park the calling thread until the runtime answers;
//!   `emit` and `send` never block.
//! * Handlers are plain closures (or a [`NamespaceHandler`]) taking a
//!   `&Client`. They run one at a time, in the order the server sent things,
//!   so they may block: a `sleep` in a handler delays the next events, never
//!   the Engine.IO heartbeat. An event handler's return value is the
//!   acknowledgement when the server asked for one; for those events (only)
//!   the async handler task waits for the blocking handler. As in the async
//!   client, `connect` returns once the namespaces are connected, maybe
//!   before the connect handlers have run.
//! * From a handler you may call any method: `emit`, `call`, `connect`, and
//!   also [`disconnect`](Client::disconnect) and [`wait`](Client::wait),
//!   which then do not wait for the handlers (that would wait for
//!   themselves). The answer a [`call`](Client::call) waits for goes
//!   straight from the driver to the caller, never through the handlers, so
//!   a handler may `call` even while the server waits for its own
//!   acknowledgement.
//! * [`Client`] is cheap to clone. Dropping the last clone disconnects
//!   (waiting at most the request timeout), stops the runtime thread and
//!   joins it; the handler thread ends by itself once the current handler
//!   returns. Handlers receive the client as an argument: a handler closure
//!   that owns a clone keeps the client alive forever.
//!
//! Do not call these methods from inside an async runtime's task: they block
//! the thread (use [`AsyncClient`] there).
//!
//! ```no_run
//! use socketio::blocking::Client;
//!
//! # fn run() -> socketio::Result<()> {
//! let client = Client::builder()
//!     .on_connect("/", |_client, _ns| println!("connection established"))
//!     .on("my message", |client, event| {
//!         println!("message received with {:?}", event.args);
//!         let _ = client.emit("my response", serde_json::json!({"response": "my response"}));
//!     })
//!     .on_disconnect("/", |_client, _ns, reason| println!("disconnected: {reason:?}"))
//!     .build();
//! client.connect("http://localhost:5000")?;
//! client.wait();
//! # Ok(()) }
//! ```

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use crate::client::DEFAULT_CALL_TIMEOUT;
use crate::proto::Serializer;
use crate::{
    to_args, Args, AsyncClient, ClientOptions, ConnectOptions, DisconnectReason, Error, Event,
    Result, TransportKind, Value,
};

// ---------------------------------------------------------------------------
// Parking on futures

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this thread, parking between wake-ups, until it completes
/// or `deadline` passes. Only for futures that need no runtime context
/// (channels, the driver's `watch`).
fn block_on_until<F: Future>(fut: F, deadline: Option<Instant>) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        match deadline {
            None => thread::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return None;
                }
                thread::park_timeout(d - now);
            }
        }
    }
}

fn block_on<F: Future>(fut: F) -> F::Output {
    match block_on_until(fut, None) {
        Some(v) => v,
        None => unreachable!("no deadline"),
    }
}

/// Waits until the current driver (if any) has stopped, without waiting for
/// the handlers: what `wait` does from inside a handler.
async fn driver_done(client: &AsyncClient) {
    client.wait_inner(true).await;
}

// ---------------------------------------------------------------------------
// The runtime thread

/// The private runtime thread: a current-thread runtime that runs the tasks
/// spawned on its handle until `stop` is dropped.
struct Runtime {
    handle: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Runtime {
    fn start() -> std::io::Result<Runtime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("sio-client".into())
            .spawn(move || {
                ON_RUNTIME.with(|r| r.set(true));
                rt.block_on(async move {
                    let _ = stopped.await;
                });
                // Dropping `rt` here cancels the driver and handler tasks.
            })?;
        Ok(Runtime {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn is_current(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|t| t.thread().id() == thread::current().id())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            if t.thread().id() != thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// Runs `fut` on the runtime and parks until it completes; `None` if the
/// runtime has stopped.
fn run_on<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    fut: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    drop(handle.spawn(async move {
        let _ = tx.send(fut.await);
    }));
    block_on(rx).ok()
}

// ---------------------------------------------------------------------------
// The handler thread

thread_local! {
    /// The id of the client whose handler thread this is (0: none).
    static IN_HANDLER: Cell<u64> = const { Cell::new(0) };
    /// Whether this is a client's runtime thread.
    static ON_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Work for the handler thread.
enum Job {
    /// A handler call; skipped once the client is gone.
    Handler(&'static str, Box<dyn FnOnce(&Client) + Send>),
    /// Runs whatever happens: acknowledgement callbacks (and their drops),
    /// barriers.
    Task(&'static str, Box<dyn FnOnce() + Send>),
}

/// The sending end of the handler thread's queue, with a count of the jobs
/// not yet run (so `wait` sees an idle handler thread without a round trip).
#[derive(Clone)]
struct JobTx {
    tx: std_mpsc::Sender<Job>,
    pending: Arc<AtomicUsize>,
}

impl JobTx {
    fn send(&self, job: Job) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        // Fails only once the handler thread is gone (the client is going
        // away).
        if self.tx.send(job).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn idle(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Counts a job as run when dropped (also when it was skipped or panicked).
struct Done<'a>(&'a AtomicUsize);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn run_handlers(
    id: u64,
    jobs: std_mpsc::Receiver<Job>,
    pending: Arc<AtomicUsize>,
    shared: Weak<Shared>,
) {
    IN_HANDLER.with(|h| h.set(id));
    for job in jobs {
        let _done = Done(&pending);
        let (what, outcome) = match job {
            Job::Handler(what, f) => {
                let Some(inner) = shared.upgrade() else {
                    continue;
                };
                let client = Client { inner };
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| f(&client)));
                // When the user dropped every other handle meanwhile, this
                // drop shuts the client down, here, as a handler would.
                drop(client);
                (what, outcome)
            }
            Job::Task(what, f) => (what, std::panic::catch_unwind(AssertUnwindSafe(f))),
        };
        if let Err(p) = outcome {
            tracing::error!("socket.io {what} handler panicked: {}", panic_message(&*p));
        }
    }
}

/// Queues an event for its handler. When the server asked for an
/// acknowledgement the returned future waits for the handler's return
/// value (the async client sends it as the ack); otherwise it completes at
/// once, so the async handler task never waits for a blocking handler it
/// need not wait for.
fn forward_event<F>(jobs: &JobTx, handler: F, event: Event) -> impl Future<Output = Vec<Value>>
where
    F: FnOnce(&Client, Event) -> Vec<Value> + Send + 'static,
{
    let reply = if event.ack_id.is_some() {
        let (tx, rx) = oneshot::channel();
        let job = move |c: &Client| {
            let _ = tx.send(handler(c, event));
        };
        jobs.send(Job::Handler("event", Box::new(job)));
        Some(rx)
    } else {
        let job = move |c: &Client| {
            let _ = handler(c, event);
        };
        jobs.send(Job::Handler("event", Box::new(job)));
        None
    };
    async move {
        match reply {
            // A panic (or a client gone) drops the sender: an empty ack, as
            // the async client answers for a panicking handler.
            Some(rx) => rx.await.unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

/// An acknowledgement callback moved to the handler thread: called there,
/// or dropped there when no answer can come.
struct ForwardedAck {
    jobs: JobTx,
    callback: Option<AckFn>,
}

type AckFn = Box<dyn FnOnce(Vec<Value>) + Send>;

impl ForwardedAck {
    fn call(mut self, args: Vec<Value>) {
        if let Some(cb) = self.callback.take() {
            self.jobs.send(Job::Task("ack", Box::new(move || cb(args))));
        }
    }
}

impl Drop for ForwardedAck {
    fn drop(&mut self) {
        // What the callback owns (maybe a `Client`) must not be dropped on
        // the runtime thread (the driver drops it when the connection ends);
        // anywhere else (a refused emit) it is dropped in place.
        if let Some(cb) = self.callback.take() {
            if ON_RUNTIME.with(Cell::get) {
                self.jobs.send(Job::Task("ack", Box::new(move || drop(cb))));
            }
        }
    }
}

/// Wraps a handler's return value as acknowledgement arguments.
fn ack_args<R: Serialize>(r: &R) -> Vec<Value> {
    to_args(r).unwrap_or_else(|e| {
        tracing::error!("socket.io handler: cannot serialise its return value: {e}");
        Vec::new()
    })
}

// ---------------------------------------------------------------------------
// Namespace handlers

/// A namespace handler object (python-socketio's `ClientNamespace`), the
/// blocking form of [`crate::NamespaceHandler`]: every callback of one
/// namespace in one place, called on the handler thread. Register it with
/// [`ClientBuilder::register_namespace`].
///
/// Each method has a default that does nothing, so implement only what you
/// need. `on_event` returns the acknowledgement's arguments (see
/// [`to_args`]); return an empty `Vec` when there is
/// nothing to say.
///
/// ```no_run
/// use socketio::blocking::{Client, NamespaceHandler};
/// use socketio::{Event, Value};
///
/// struct Chat;
///
/// impl NamespaceHandler for Chat {
///     fn on_connect(&self, client: &Client, namespace: &str) {
///         let _ = client.of(namespace).emit("hello", "from a namespace handler");
///     }
///     fn on_event(&self, _client: &Client, event: Event) -> Vec<Value> {
///         println!("{} said {:?}", event.name, event.args);
///         vec![Value::from("thanks")]
///     }
/// }
///
/// # fn run() -> socketio::Result<()> {
/// let client = Client::builder().register_namespace("/chat", Chat).build();
/// client.connect("http://localhost:5000")?; // connects /chat
/// client.wait();
/// # Ok(()) }
/// ```
pub trait NamespaceHandler: Send + Sync + 'static {
    /// The namespace connected.
    fn on_connect(&self, client: &Client, namespace: &str) {
        let _ = (client, namespace);
    }

    /// The namespace disconnected, with the reason.
    fn on_disconnect(&self, client: &Client, namespace: &str, reason: DisconnectReason) {
        let _ = (client, namespace, reason);
    }

    /// The server refused the namespace (CONNECT_ERROR), or a connection
    /// attempt failed; `data` is the server's payload or the error text.
    fn on_connect_error(&self, client: &Client, namespace: &str, data: &Value) {
        let _ = (client, namespace, data);
    }

    /// An event of this namespace; the return value is the acknowledgement
    /// (sent only when the server asked for one).
    fn on_event(&self, client: &Client, event: Event) -> Vec<Value> {
        let _ = (client, event);
        Vec::new()
    }
}

/// A blocking namespace handler seen from the async client: each call
/// becomes a job for the handler thread.
struct NsForward {
    handler: Arc<dyn NamespaceHandler>,
    jobs: JobTx,
}

impl crate::NamespaceHandler for NsForward {
    fn on_connect(
        &self,
        _client: AsyncClient,
        namespace: String,
    ) -> impl Future<Output = ()> + Send {
        let h = self.handler.clone();
        let job = move |c: &Client| h.on_connect(c, &namespace);
        self.jobs.send(Job::Handler("connect", Box::new(job)));
        std::future::ready(())
    }

    fn on_disconnect(
        &self,
        _client: AsyncClient,
        namespace: String,
        reason: DisconnectReason,
    ) -> impl Future<Output = ()> + Send {
        let h = self.handler.clone();
        let job = move |c: &Client| h.on_disconnect(c, &namespace, reason);
        self.jobs.send(Job::Handler("disconnect", Box::new(job)));
        std::future::ready(())
    }

    fn on_connect_error(
        &self,
        _client: AsyncClient,
        namespace: String,
        data: Value,
    ) -> impl Future<Output = ()> + Send {
        let h = self.handler.clone();
        let job = move |c: &Client| h.on_connect_error(c, &namespace, &data);
        self.jobs.send(Job::Handler("connect_error", Box::new(job)));
        std::future::ready(())
    }

    fn on_event(
        &self,
        _client: AsyncClient,
        event: Event,
    ) -> impl Future<Output = Vec<Value>> + Send {
        let h = self.handler.clone();
        forward_event(&self.jobs, move |c, ev| h.on_event(c, ev), event)
    }
}

// ---------------------------------------------------------------------------
// The builder

type EventFn = Arc<dyn Fn(&Client, Event) -> Vec<Value> + Send + Sync>;
type NsFn = Arc<dyn Fn(&Client, &str) + Send + Sync>;
type DisconnectFn = Arc<dyn Fn(&Client, &str, DisconnectReason) + Send + Sync>;
type ConnectErrorFn = Arc<dyn Fn(&Client, &str, &Value) + Send + Sync>;
type AttemptFn = Arc<dyn Fn(&Client, u32) + Send + Sync>;
type FailedFn = Arc<dyn Fn(&Client) + Send + Sync>;

/// A handler registered on the builder, installed on the async builder (as
/// a forwarder to the handler thread) by [`ClientBuilder::build`].
#[derive(Clone)]
enum Registration {
    Event(String, String, EventFn),
    Connect(String, NsFn),
    Disconnect(String, DisconnectFn),
    ConnectError(String, ConnectErrorFn),
    ReconnectAttempt(AttemptFn),
    ReconnectFailed(FailedFn),
    Namespace(String, Arc<dyn NamespaceHandler>),
}

impl Registration {
    fn install(self, b: crate::ClientBuilder, jobs: &JobTx) -> crate::ClientBuilder {
        let jobs = jobs.clone();
        match self {
            Registration::Event(ns, event, h) => {
                b.on_ns_async(&ns, &event, move |_c: AsyncClient, ev: Event| {
                    let h = h.clone();
                    let reply = forward_event(&jobs, move |c, ev| h(c, ev), ev);
                    async move { Args(reply.await) }
                })
            }
            Registration::Connect(ns, h) => b.on_connect(&ns, move |_c, ns: &str| {
                let (h, ns) = (h.clone(), ns.to_owned());
                let job = move |c: &Client| h(c, &ns);
                jobs.send(Job::Handler("connect", Box::new(job)));
            }),
            Registration::Disconnect(ns, h) => b.on_disconnect(&ns, move |_c, ns: &str, r| {
                let (h, ns) = (h.clone(), ns.to_owned());
                let job = move |c: &Client| h(c, &ns, r);
                jobs.send(Job::Handler("disconnect", Box::new(job)));
            }),
            Registration::ConnectError(ns, h) => {
                b.on_connect_error(&ns, move |_c, ns: &str, data: &Value| {
                    let (h, ns, data) = (h.clone(), ns.to_owned(), data.clone());
                    let job = move |c: &Client| h(c, &ns, &data);
                    jobs.send(Job::Handler("connect_error", Box::new(job)));
                })
            }
            Registration::ReconnectAttempt(h) => b.on_reconnect_attempt(move |_c, n| {
                let h = h.clone();
                let job = move |c: &Client| h(c, n);
                jobs.send(Job::Handler("reconnect_attempt", Box::new(job)));
            }),
            Registration::ReconnectFailed(h) => b.on_reconnect_failed(move |_c| {
                let h = h.clone();
                let job = move |c: &Client| h(c);
                jobs.send(Job::Handler("reconnect_failed", Box::new(job)));
            }),
            Registration::Namespace(ns, handler) => {
                b.register_namespace(&ns, NsForward { handler, jobs })
            }
        }
    }
}

/// Options and handlers of a blocking client; [`build`](Self::build) makes
/// the [`Client`]. The same options as [`crate::ClientBuilder`]; handlers
/// are plain closures taking the blocking [`Client`], called on the handler
/// thread.
///
/// ```no_run
/// use std::time::Duration;
/// use socketio::blocking::Client;
///
/// # fn run() -> socketio::Result<()> {
/// let client = Client::builder()
///     .reconnection_attempts(5)
///     .reconnection_delay(Duration::from_millis(500))
///     .on_connect("/", |client, _ns| {
///         let _ = client.emit("hello", "world");
///     })
///     .on("news", |_client, event| println!("news: {:?}", event.args))
///     .build();
/// client.connect("http://localhost:5000")?;
/// client.wait();
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Clone, Default)]
pub struct ClientBuilder {
    inner: crate::ClientBuilder,
    handlers: Vec<Registration>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::ClientBuilder")
            .field("inner", &self.inner)
            .field("handlers", &self.handlers.len())
            .finish()
    }
}

macro_rules! forward {
    ($(#[$m:meta])* $name:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$m])*
        pub fn $name(self, $($arg: $ty),*) -> Self {
            ClientBuilder { inner: self.inner.$name($($arg),*), ..self }
        }
    };
}

impl ClientBuilder {
    /// A builder with the default [`ClientOptions`] and no handlers.
    pub fn new() -> Self {
        ClientBuilder::default()
    }

    forward!(
        /// Replaces every option.
        options(options: ClientOptions)
    );
    forward!(
        /// Whether to reconnect after an unexpected drop (default `true`).
        reconnection(on: bool)
    );
    forward!(
        /// Attempts before giving up, 0 for infinite (default 0).
        reconnection_attempts(attempts: u32)
    );
    forward!(
        /// The first reconnection delay (default 1 s).
        reconnection_delay(delay: Duration)
    );
    forward!(
        /// The largest reconnection delay (default 5 s).
        reconnection_delay_max(delay: Duration)
    );
    forward!(
        /// The jitter, in seconds either way (default 0.5).
        randomization_factor(factor: f64)
    );
    forward!(
        /// The serializer (default [`Serializer::Default`]); must match the
        /// server's.
        serializer(serializer: Serializer)
    );
    forward!(
        /// Whether Ctrl-C disconnects the client (default `true`).
        handle_sigint(on: bool)
    );
    forward!(
        /// The Engine.IO request timeout (default 5 s); also how long
        /// dropping the last [`Client`] waits for the disconnect.
        request_timeout(timeout: Duration)
    );
    forward!(
        /// Whether to verify TLS certificates (default `true`).
        ssl_verify(verify: bool)
    );
    forward!(
        /// The HTTP client to use (python: `http_session`).
        http_client(client: reqwest::Client)
    );

    /// Changes the Engine.IO options in place; see
    /// [`crate::ClientBuilder::engineio`].
    ///
    /// ```
    /// let builder = socketio::blocking::Client::builder()
    ///     .engineio(|o| o.websocket_max_message_size = 1 << 20);
    /// ```
    pub fn engineio(self, f: impl FnOnce(&mut engineio::ClientOptions)) -> Self {
        ClientBuilder {
            inner: self.inner.engineio(f),
            ..self
        }
    }

    /// Handles `event` in the default namespace `/`; see
    /// [`on_ns`](Self::on_ns).
    pub fn on<F, R>(self, event: &str, handler: F) -> Self
    where
        F: Fn(&Client, Event) -> R + Send + Sync + 'static,
        R: Serialize,
    {
        self.on_ns("/", event, handler)
    }

    /// Handles `event` in `namespace`, on the handler thread. `event` may be
    /// `*` (every event without a handler of its own) and `namespace` may be
    /// `*` (every namespace); [`Event`] carries both names. The return value
    /// is the acknowledgement when the server asked for one: `()` for none,
    /// a tuple for several arguments.
    ///
    /// ```
    /// let builder = socketio::blocking::Client::builder()
    ///     .on_ns("/chat", "message", |_client, event| {
    ///         println!("{:?}", event.args);
    ///         ("received", 1) // the ack: two arguments
    ///     });
    /// ```
    pub fn on_ns<F, R>(mut self, namespace: &str, event: &str, handler: F) -> Self
    where
        F: Fn(&Client, Event) -> R + Send + Sync + 'static,
        R: Serialize,
    {
        self.handlers.push(Registration::Event(
            namespace.to_owned(),
            event.to_owned(),
            Arc::new(move |c, ev| ack_args(&handler(c, ev))),
        ));
        self
    }

    /// Called when `namespace` (or any, with `*`) connects, with its name.
    pub fn on_connect<F>(mut self, namespace: &str, handler: F) -> Self
    where
        F: Fn(&Client, &str) + Send + Sync + 'static,
    {
        self.handlers.push(Registration::Connect(
            namespace.to_owned(),
            Arc::new(handler),
        ));
        self
    }

    /// Called when `namespace` (or any, with `*`) disconnects, with the
    /// reason.
    pub fn on_disconnect<F>(mut self, namespace: &str, handler: F) -> Self
    where
        F: Fn(&Client, &str, DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers.push(Registration::Disconnect(
            namespace.to_owned(),
            Arc::new(handler),
        ));
        self
    }

    /// Called when the server refuses `namespace` (or any, with `*`) with a
    /// CONNECT_ERROR (its payload), or when a connection attempt fails (the
    /// error's text as a string).
    pub fn on_connect_error<F>(mut self, namespace: &str, handler: F) -> Self
    where
        F: Fn(&Client, &str, &Value) + Send + Sync + 'static,
    {
        self.handlers.push(Registration::ConnectError(
            namespace.to_owned(),
            Arc::new(handler),
        ));
        self
    }

    /// Called before each reconnection attempt, with its number (from 1).
    pub fn on_reconnect_attempt<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Client, u32) + Send + Sync + 'static,
    {
        self.handlers
            .push(Registration::ReconnectAttempt(Arc::new(handler)));
        self
    }

    /// Called once when every reconnection attempt has failed; the client
    /// has stopped.
    pub fn on_reconnect_failed<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Client) + Send + Sync + 'static,
    {
        self.handlers
            .push(Registration::ReconnectFailed(Arc::new(handler)));
        self
    }

    /// Registers a namespace handler object (python: `register_namespace`).
    /// Function handlers of the same namespace take precedence.
    pub fn register_namespace<N: NamespaceHandler>(mut self, namespace: &str, handler: N) -> Self {
        self.handlers.push(Registration::Namespace(
            namespace.to_owned(),
            Arc::new(handler),
        ));
        self
    }

    /// Makes the client; it is not connected yet, and its threads start at
    /// the first [`connect`](Client::connect).
    pub fn build(self) -> Client {
        let (tx, rx) = std_mpsc::channel();
        let jobs = JobTx {
            tx,
            pending: Arc::new(AtomicUsize::new(0)),
        };
        let mut inner = self.inner;
        for r in self.handlers {
            inner = r.install(inner, &jobs);
        }
        Client {
            inner: Arc::new(Shared {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                client: inner.build(),
                jobs,
                threads: Mutex::new(Threads {
                    runtime: None,
                    handler_jobs: Some(rx),
                }),
            }),
        }
    }
}

// ---------------------------------------------------------------------------
// The client

/// The threads of a client, started by the first `connect`.
struct Threads {
    runtime: Option<Runtime>,
    /// The handler thread's end of the job channel, until it starts.
    handler_jobs: Option<std_mpsc::Receiver<Job>>,
}

struct Shared {
    /// Tells this client's handler thread apart.
    id: u64,
    client: AsyncClient,
    jobs: JobTx,
    threads: Mutex<Threads>,
}

impl Shared {
    fn threads(&self) -> MutexGuard<'_, Threads> {
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.threads().runtime.as_ref().map(|r| r.handle.clone())
    }

    fn handlers_started(&self) -> bool {
        self.threads().handler_jobs.is_none()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let threads = self
            .threads
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(rt) = threads.runtime.take() else {
            return;
        };
        // On the runtime thread (something the driver dropped held the last
        // handle) nothing may block: stopping the runtime aborts the
        // connection.
        if !rt.is_current() {
            let client = self.client.clone();
            drop(rt.handle.spawn(async move { client.disconnect().await }));
            // The driver stops once the DISCONNECT packets are out (or its
            // own timeouts pass); its handler task is not waited for: it may
            // wait for a handler that is dropping us.
            let limit = self.client.inner.options.engineio.request_timeout;
            block_on_until(driver_done(&self.client), Some(Instant::now() + limit));
        }
        drop(rt);
    }
}

/// A blocking Socket.IO client (python-socketio's `Client`). Cheap to clone:
/// clones share the client; dropping the last one disconnects and stops
/// its runtime thread. See [the module docs](self) for the threads.
///
/// ```no_run
/// use socketio::blocking::Client;
///
/// # fn run() -> socketio::Result<()> {
/// let client = Client::builder()
///     .on("reply", |_client, event| println!("{:?}", event.args))
///     .build();
/// client.connect("http://localhost:5000")?;
/// client.emit("hello", ("two", "arguments"))?;
/// let answer = client.call("sum", (1, 2))?;
/// println!("the server says {answer:?}");
/// client.disconnect();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Client")
            .field("namespaces", &self.namespaces())
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// A builder for options and handlers.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client with the default options and no handlers.
    ///
    /// ```no_run
    /// # fn run() -> socketio::Result<()> {
    /// let client = socketio::blocking::Client::new();
    /// client.connect("http://localhost:5000")?;
    /// client.send("hello")?;
    /// # Ok(()) }
    /// ```
    pub fn new() -> Client {
        ClientBuilder::new().build()
    }

    fn in_handler(&self) -> bool {
        IN_HANDLER.with(Cell::get) == self.inner.id
    }

    /// The runtime handle, starting the runtime and handler threads if
    /// need be.
    fn start(&self) -> Result<tokio::runtime::Handle> {
        let mut threads = self.inner.threads();
        if threads.runtime.is_none() {
            threads.runtime = Some(Runtime::start().map_err(Error::Runtime)?);
        }
        if let Some(rx) = threads.handler_jobs.take() {
            // Kept reachable so that a failed spawn gives it back.
            let slot = Arc::new(Mutex::new(Some(rx)));
            let (id, weak, theirs) = (self.inner.id, Arc::downgrade(&self.inner), slot.clone());
            let pending = self.inner.jobs.pending.clone();
            // Not joined: it ends by itself once the client and its
            // handlers are dropped and the current handler returns.
            let spawned = thread::Builder::new()
                .name("sio-handlers".into())
                .spawn(move || {
                    let rx = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
                    if let Some(rx) = rx {
                        run_handlers(id, rx, pending, weak);
                    }
                });
            if let Err(e) = spawned {
                threads.handler_jobs = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                return Err(Error::Runtime(e));
            }
        }
        match &threads.runtime {
            Some(rt) => Ok(rt.handle.clone()),
            None => unreachable!("started above"),
        }
    }

    /// Connects to `url` with [`ConnectOptions`]' defaults; see
    /// [`connect_with`](Self::connect_with).
    ///
    /// ```no_run
    /// # fn run() -> socketio::Result<()> {
    /// let client = socketio::blocking::Client::new();
    /// client.connect("http://localhost:5000")?;
    /// println!("my sid is {:?}", client.get_sid("/"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`connect_with`](Self::connect_with).
    pub fn connect(&self, url: impl Into<String>) -> Result<()> {
        self.connect_with(ConnectOptions::new(url))
    }

    /// Connects: opens the Engine.IO connection, then every namespace.
    /// With `wait` (the default) it returns once all are connected; see
    /// [`AsyncClient::connect_with`].
    ///
    /// ```no_run
    /// use socketio::blocking::Client;
    /// use socketio::ConnectOptions;
    ///
    /// # fn run() -> socketio::Result<()> {
    /// let client = Client::new();
    /// client.connect_with(
    ///     ConnectOptions::new("http://localhost:5000")
    ///         .auth(serde_json::json!({"token": "secret"}))
    ///         .namespaces(["/", "/admin"]),
    /// )?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`AsyncClient::connect_with`] ([`Error::Engine`],
    /// [`Error::ConnectRefused`], [`Error::NamespaceTimeout`],
    /// [`Error::AlreadyConnected`], …), plus [`Error::Runtime`] when the
    /// client's threads cannot start.
    pub fn connect_with(&self, options: ConnectOptions) -> Result<()> {
        let handle = self.start()?;
        let client = self.inner.client.clone();
        run_on(&handle, async move { client.connect_with(options).await }).unwrap_or_else(|| {
            Err(Error::Runtime(std::io::Error::other(
                "the runtime thread has stopped",
            )))
        })
    }

    /// The handle of one namespace, for its emits, calls and disconnect.
    ///
    /// ```no_run
    /// # fn run(client: socketio::blocking::Client) -> socketio::Result<()> {
    /// let admin = client.of("/admin");
    /// admin.emit("stats", ())?;
    /// admin.disconnect();
    /// # Ok(()) }
    /// ```
    pub fn of(&self, namespace: &str) -> Socket {
        Socket {
            client: self.clone(),
            socket: self.inner.client.of(namespace),
        }
    }

    /// Emits `event` to the default namespace; `data` is one argument, or
    /// several as a tuple (python's rule); `()` sends none. Does not block.
    ///
    /// ```no_run
    /// # fn run(client: socketio::blocking::Client) -> socketio::Result<()> {
    /// client.emit("my event", serde_json::json!({"data": "foo"}))?;
    /// client.emit("two args", ("a", 1))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::BadNamespace`] when `/` is not connected;
    /// [`Error::Value`] when `data` cannot be serialised.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<()> {
        self.inner.client.emit(event, data)
    }

    /// Emits with an acknowledgement callback, called on the handler thread
    /// (in order with the handlers) with the server's answer.
    ///
    /// ```no_run
    /// # fn run(client: socketio::blocking::Client) -> socketio::Result<()> {
    /// client.emit_with_ack("sum", (1, 2), |answer| println!("{answer:?}"))?;
    /// # Ok(()) }
    /// ```
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
    /// ```no_run
    /// # fn run(client: socketio::blocking::Client) -> socketio::Result<()> {
    /// let answer = client.call("sum", (1, 2))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Timeout`] when none comes in time (even if the connection
    /// dropped meanwhile, as in python); else as [`emit`](Self::emit).
    pub fn call(&self, event: &str, data: impl Serialize) -> Result<Vec<Value>> {
        self.of("/").call(event, data)
    }

    /// [`call`](Self::call) with a timeout of your choice.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn run(client: socketio::blocking::Client) -> socketio::Result<()> {
    /// match client.call_timeout("slow", (), Duration::from_secs(2)) {
    ///     Err(socketio::Error::Timeout) => println!("no answer"),
    ///     other => println!("{:?}", other?),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_timeout(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<Vec<Value>> {
        self.of("/").call_timeout(event, data, timeout)
    }

    /// Emits a `message` event (python's `send`).
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn send(&self, data: impl Serialize) -> Result<()> {
        self.emit("message", data)
    }

    /// The namespace's sid (not the Engine.IO sid), if connected.
    pub fn get_sid(&self, namespace: &str) -> Option<String> {
        self.inner.client.get_sid(namespace)
    }

    /// The connected namespaces, in the order they connected.
    pub fn namespaces(&self) -> Vec<String> {
        self.inner.client.namespaces()
    }

    /// Whether any namespace is connected.
    pub fn connected(&self) -> bool {
        self.inner.client.connected()
    }

    /// The Engine.IO transport in use, if connected.
    pub fn transport(&self) -> Option<TransportKind> {
        self.inner.client.transport()
    }

    /// Disconnects: a DISCONNECT for every connected namespace, delivered
    /// before the Engine.IO connection closes; stops any reconnection loop.
    /// Returns once the client has stopped and (unless called from a
    /// handler) every handler, the disconnect handlers included, has run.
    ///
    /// ```no_run
    /// # fn run() -> socketio::Result<()> {
    /// let client = socketio::blocking::Client::builder()
    ///     .on("bye", |client, _event| client.disconnect()) // from a handler: fine
    ///     .build();
    /// client.connect("http://localhost:5000")?;
    /// client.wait();
    /// # Ok(()) }
    /// ```
    pub fn disconnect(&self) {
        let client = &self.inner.client;
        if self.in_handler() {
            // The async `disconnect` answers only once its handler task
            // ends, which may be waiting for this very handler: send the
            // command from the runtime and wait for the driver only.
            if let Some(handle) = self.inner.handle() {
                let c = client.clone();
                drop(handle.spawn(async move { c.disconnect_inner(true).await }));
                block_on(driver_done(client));
            }
        } else {
            block_on(client.disconnect());
            self.drain_handlers(None);
        }
    }

    /// Stops the client: disconnects if connected, stops a reconnection
    /// loop, else does nothing (python's `shutdown`).
    pub fn shutdown(&self) {
        self.disconnect();
    }

    /// Blocks until the client has stopped: disconnected, with no
    /// reconnection under way, and (unless called from a handler) every
    /// handler run (python's `wait`). Returns at once if it never
    /// connected.
    ///
    /// ```no_run
    /// # fn run() -> socketio::Result<()> {
    /// let client = socketio::blocking::Client::new();
    /// client.connect("http://localhost:5000")?;
    /// client.wait(); // until the server or Ctrl-C disconnects us
    /// # Ok(()) }
    /// ```
    pub fn wait(&self) {
        if self.in_handler() {
            block_on(driver_done(&self.inner.client));
        } else {
            block_on(self.inner.client.wait());
            self.drain_handlers(None);
        }
    }

    /// [`wait`](Self::wait) for at most `timeout`; `true` if the client has
    /// stopped.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn run(client: socketio::blocking::Client) {
    /// while !client.wait_timeout(Duration::from_secs(1)) {
    ///     println!("still connected: {:?}", client.namespaces());
    /// }
    /// # }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Some(Instant::now() + timeout);
        if self.in_handler() {
            block_on_until(driver_done(&self.inner.client), deadline).is_some()
        } else {
            block_on_until(self.inner.client.wait(), deadline).is_some()
                && self.drain_handlers(deadline)
        }
    }

    /// Waits until the handler thread has run every job queued so far;
    /// `false` if `deadline` passed first.
    fn drain_handlers(&self, deadline: Option<Instant>) -> bool {
        if !self.inner.handlers_started() || self.inner.jobs.idle() {
            return true;
        }
        let (tx, rx) = oneshot::channel::<()>();
        let barrier = move || {
            let _ = tx.send(());
        };
        self.inner
            .jobs
            .send(Job::Task("barrier", Box::new(barrier)));
        // An error means the handler thread is gone: nothing left to wait for.
        block_on_until(rx, deadline).is_some()
    }

    fn forward_ack(&self, callback: impl FnOnce(Vec<Value>) + Send + 'static) -> ForwardedAck {
        ForwardedAck {
            jobs: self.inner.jobs.clone(),
            callback: Some(Box::new(callback)),
        }
    }
}

/// One namespace of a [`Client`] (socket.io-client's `Socket`), the
/// blocking form of [`crate::Socket`]. Made by [`Client::of`]; cheap to
/// clone; it keeps the client alive.
///
/// ```no_run
/// # fn run(client: socketio::blocking::Client) -> socketio::Result<()> {
/// let chat = client.of("/chat");
/// chat.emit("message", "hi")?;
/// let reply = chat.call("history", 10)?;
/// chat.disconnect();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Socket {
    client: Client,
    socket: crate::Socket,
}

impl Socket {
    /// The namespace's name.
    pub fn namespace(&self) -> &str {
        self.socket.namespace()
    }

    /// Its sid, if connected.
    pub fn sid(&self) -> Option<String> {
        self.socket.sid()
    }

    /// Whether it is connected.
    pub fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Emits `event`; see [`Client::emit`].
    ///
    /// # Errors
    /// [`Error::BadNamespace`] when not connected; [`Error::Value`].
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<()> {
        self.socket.emit(event, data)
    }

    /// Emits with an acknowledgement callback, called on the handler
    /// thread; see [`Client::emit_with_ack`].
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
        callback: impl FnOnce(Vec<Value>) + Send + 'static,
    ) -> Result<()> {
        let ack = self.client.forward_ack(callback);
        self.socket
            .emit_with_ack(event, data, move |args| ack.call(args))
    }

    /// Emits and waits up to 60 s for the acknowledgement.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn call(&self, event: &str, data: impl Serialize) -> Result<Vec<Value>> {
        self.call_timeout(event, data, DEFAULT_CALL_TIMEOUT)
    }

    /// Emits and waits up to `timeout` for the acknowledgement.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn call_timeout(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        // Answered straight by the driver, not through the handler thread
        // or the async handler task, so a handler may `call` too.
        let rx = self.socket.emit_reply(event, data)?;
        match block_on_until(rx, Some(deadline)) {
            Some(Ok(args)) => Ok(args),
            // The callback was dropped (the connection ended, so no answer
            // can come): python still waits out the timeout.
            Some(Err(_)) => {
                thread::sleep(deadline.saturating_duration_since(Instant::now()));
                Err(Error::Timeout)
            }
            None => Err(Error::Timeout),
        }
    }

    /// Emits a `message` event.
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn send(&self, data: impl Serialize) -> Result<()> {
        self.socket.send(data)
    }

    /// Disconnects this namespace only; the others stay. When it was the
    /// last one, the client disconnects altogether. Returns once the
    /// DISCONNECT is on its way (it does not wait for handlers, so a handler
    /// may call it).
    pub fn disconnect(&self) {
        block_on(self.socket.disconnect());
    }
}
