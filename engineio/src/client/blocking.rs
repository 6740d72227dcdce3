//! The blocking client: the async [`Client`](super::Client) on a private
//! runtime thread, for programs without an async runtime (python-engineio's
//! `engineio.Client`).
//!
//! All blocking clients of a process share one thread, named `eio-client`,
//! running a current-thread tokio runtime that hosts their drivers; it
//! starts with the first client and is joined when the last one is
//! dropped. Blocking calls park the calling thread until the runtime
//! answers. Handlers are plain closures, called in order for each
//! connection on a thread of the runtime's blocking pool (`eio-handlers`,
//! started on demand and ended after a few idle seconds), so they may block:
//! a `sleep` in a handler delays that connection's next events, never the
//! heartbeat and never another connection's handlers. An idle connection
//! holds no thread. Besides the connection's
//! [`max_buffered_bytes`](super::ClientOptions::max_buffered_bytes), at most
//! two messages are held for its handlers (the one running, and one
//! waiting): a slow handler holds the reading back as in the async client.
//! Dropping the last handle of a connection aborts it.
//!
//! Do not call these methods from inside an async runtime's task: they block
//! the thread (use the async client there).
//!
//! ```no_run
//! use engineio::client::blocking::Client;
//!
//! # fn run() -> Result<(), engineio::client::ClientError> {
//! let client = Client::builder()
//!     .on_connect(|client: &Client| client.send("Hello from client"))
//!     .on_message(|_client, data| println!("server says: {data:?}"))
//!     .connect("http://localhost:5000")?;
//! client.wait();
//! # Ok(()) }
//! ```

use std::cell::Cell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, Weak};

/// What [`Events::recv_timeout`] fails with: `Timeout` when no event came
/// in time, `Disconnected` once the last event (the disconnect) was read.
/// It is std's type, shown here as a re-export rather than with std's text
/// about channels.
#[doc(no_inline)]
pub use std::sync::mpsc::RecvTimeoutError;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::{mpsc, oneshot};

use super::error::{BoxError, ClientError, Result};
use super::handlers::ConnectOutcome;
use super::{ClientEvent, ClientOptions, WeakClient};
use crate::proto::{ClientSid, Data, DisconnectReason, OpenData, TransportKind};

type Job = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Handler threads the shared runtime may run at once. A handler that
/// blocks holds one; past this many, further handlers wait for a free one.
const MAX_HANDLER_THREADS: usize = 4096;

/// The runtime every blocking client of the process shares: a
/// current-thread tokio runtime on the `eio-client` thread, whose blocking
/// pool (`eio-handlers` threads, started on demand) calls the handlers.
struct Runtime {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// The shared runtime while a blocking client holds it.
static SHARED: Mutex<Weak<Runtime>> = Mutex::new(Weak::new());

impl Runtime {
    /// The shared runtime, started if no blocking client holds it.
    fn shared() -> std::io::Result<Arc<Runtime>> {
        let mut shared = crate::lock(&SHARED);
        if let Some(rt) = shared.upgrade() {
            return Ok(rt);
        }
        let rt = Self::start()?;
        *shared = Arc::downgrade(&rt);
        Ok(rt)
    }

    fn start() -> std::io::Result<Arc<Runtime>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("eio-handlers")
            .max_blocking_threads(MAX_HANDLER_THREADS)
            .build()?;
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        let thread = thread::Builder::new()
            .name("eio-client".into())
            .spawn(move || {
                rt.block_on(async move {
                    while let Some(job) = rx.recv().await {
                        tokio::spawn(job);
                    }
                });
                // Cancels the driver tasks, and does not wait for a handler
                // still running: the last client may be dropped by one.
                rt.shutdown_background();
            })?;
        Ok(Arc::new(Runtime {
            jobs: Some(jobs),
            thread: Some(thread),
        }))
    }

    /// Runs `fut` on the runtime and blocks until it completes; `None` if
    /// the runtime is gone.
    fn run<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::pin(async move {
            let _ = tx.send(fut.await);
        });
        self.jobs.as_ref()?.send(job).ok()?;
        block_on(rx).ok()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            if t.thread().id() != thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

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
/// (channel receivers).
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

thread_local! {
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

fn in_handler() -> bool {
    IN_HANDLER.with(Cell::get)
}

type ConnectFn = Arc<dyn Fn(&Client) -> std::result::Result<(), BoxError> + Send + Sync>;
type MessageFn = Arc<dyn Fn(&Client, Data) + Send + Sync>;
type DisconnectFn = Arc<dyn Fn(DisconnectReason) + Send + Sync>;

/// Work for a connection's handlers.
enum HandlerJob {
    Connect(
        WeakClient,
        oneshot::Sender<std::result::Result<(), BoxError>>,
    ),
    Message(WeakClient, Data),
    Disconnect(DisconnectReason, oneshot::Sender<()>),
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "handler panicked".to_owned())
}

/// One connection's handlers.
struct Handlers {
    on_connect: Option<ConnectFn>,
    on_message: Option<MessageFn>,
    on_disconnect: Option<DisconnectFn>,
    rt: Weak<Runtime>,
}

impl Handlers {
    fn wrap(&self, c: &WeakClient) -> Option<Client> {
        Some(Client {
            inner: Arc::new(BlockingInner {
                client: c.upgrade()?,
                _runtime: self.rt.upgrade()?,
            }),
        })
    }

    fn run(&self, job: HandlerJob) {
        let catch = |f: &mut dyn FnMut()| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .map_err(|p| panic_message(&*p))
        };
        match job {
            HandlerJob::Connect(c, reply) => {
                let mut r = Ok(());
                if let (Some(h), Some(client)) = (&self.on_connect, self.wrap(&c)) {
                    if let Err(p) = catch(&mut || r = h(&client)) {
                        r = Err(format!("handler panicked: {p}").into());
                    }
                }
                let _ = reply.send(r);
            }
            HandlerJob::Message(c, data) => {
                if let (Some(h), Some(client)) = (&self.on_message, self.wrap(&c)) {
                    let mut data = Some(data);
                    if let Err(p) = catch(&mut || {
                        if let Some(d) = data.take() {
                            h(&client, d);
                        }
                    }) {
                        tracing::error!("engine.io message handler panicked: {p}");
                    }
                }
            }
            HandlerJob::Disconnect(reason, reply) => {
                if let Some(h) = &self.on_disconnect {
                    if let Err(p) = catch(&mut || h(reason)) {
                        tracing::error!("engine.io disconnect handler panicked: {p}");
                    }
                }
                let _ = reply.send(());
            }
        }
    }
}

/// A connection's handler queue: one slot. The async side puts each job in
/// the slot (waiting while it is full) and, if no handler thread is
/// draining the queue, starts one on the blocking pool. That thread takes
/// the jobs in order until the slot is empty, then ends. So handlers run one
/// at a time and in order, a handler that blocks holds one pool thread and
/// never another connection's, one job waits while a thread runs another
/// (a slow handler holds the events, and their budget, back instead of
/// queueing them here), and an idle connection holds no thread at all.
///
/// A slot rather than a tokio channel of one: `mpsc::channel(1)` allocates a
/// block of 32 slots up front, 2 KB per idle connection.
struct HandlerQueue {
    state: Mutex<SlotState>,
    handlers: Handlers,
}

#[derive(Default)]
struct SlotState {
    waiting: Option<HandlerJob>,
    /// A pool thread is draining (or about to).
    draining: bool,
    /// The drain was dropped without finishing (the runtime shut down
    /// before running it): pushes fail, as on a closed channel.
    closed: bool,
    /// The async side, waiting for the slot.
    pusher: Option<Waker>,
}

impl HandlerQueue {
    fn new(handlers: Handlers) -> Arc<Self> {
        Arc::new(HandlerQueue {
            state: Mutex::default(),
            handlers,
        })
    }

    /// Queues `job` (waiting for the slot); false if the queue is gone.
    async fn push(self: &Arc<Self>, job: HandlerJob) -> bool {
        let mut job = Some(job);
        let queued = std::future::poll_fn(|cx| {
            let mut st = crate::lock(&self.state);
            if st.closed {
                return Poll::Ready(None);
            }
            if st.waiting.is_some() {
                st.pusher = Some(cx.waker().clone());
                return Poll::Pending;
            }
            st.waiting = job.take();
            let start = !std::mem::replace(&mut st.draining, true);
            Poll::Ready(Some(start))
        })
        .await;
        match queued {
            None => false,
            Some(start) => {
                if start {
                    let drainer = Drainer {
                        queue: self.clone(),
                        done: false,
                    };
                    drop(tokio::task::spawn_blocking(move || drainer.drain()));
                }
                true
            }
        }
    }
}

/// The pool thread's hold on a queue while it drains it.
struct Drainer {
    queue: Arc<HandlerQueue>,
    /// The slot was found empty and the drain ended.
    done: bool,
}

impl Drainer {
    /// Runs the queued jobs in order, until the slot is empty.
    fn drain(mut self) {
        let _in_handler = InHandler::enter();
        loop {
            let (job, pusher) = {
                let mut st = crate::lock(&self.queue.state);
                let Some(job) = st.waiting.take() else {
                    st.draining = false;
                    self.done = true;
                    return;
                };
                (job, st.pusher.take())
            };
            if let Some(w) = pusher {
                w.wake();
            }
            self.queue.handlers.run(job);
        }
    }
}

impl Drop for Drainer {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped before it ran (the runtime shut down) or by a panic: the
        // waiting job goes, its reply channel with it, and so does every
        // later one.
        let mut st = crate::lock(&self.queue.state);
        st.closed = true;
        st.draining = false;
        st.waiting = None;
        if let Some(w) = st.pusher.take() {
            w.wake();
        }
    }
}

/// Marks this thread as running handlers while it lives.
struct InHandler;

impl InHandler {
    fn enter() -> Self {
        IN_HANDLER.with(|h| h.set(true));
        InHandler
    }
}

impl Drop for InHandler {
    fn drop(&mut self) {
        // Pool threads also run the runtime's other blocking work.
        IN_HANDLER.with(|h| h.set(false));
    }
}

/// Options and handlers for a blocking connection; the same as
/// [`super::ClientBuilder`] with handlers as plain closures.
///
/// ```no_run
/// use std::time::Duration;
/// use engineio::client::blocking::Client;
/// use engineio::proto::TransportKind;
///
/// # fn run() -> Result<(), engineio::client::ClientError> {
/// let client = Client::builder()
///     .transports([TransportKind::WebSocket])
///     .request_timeout(Duration::from_secs(10))
///     .on_disconnect(|reason| println!("disconnected: {reason}"))
///     .connect("ws://localhost:5000")?;
/// client.send("hi")?;
/// client.disconnect();
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Clone, Default)]
pub struct ClientBuilder {
    inner: super::ClientBuilder,
    on_connect: Option<ConnectFn>,
    on_message: Option<MessageFn>,
    on_disconnect: Option<DisconnectFn>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("options", self.inner.options_ref())
            .field("on_connect", &self.on_connect.is_some())
            .field("on_message", &self.on_message.is_some())
            .field("on_disconnect", &self.on_disconnect.is_some())
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
    /// A builder with the default options and no handlers.
    pub fn new() -> Self {
        ClientBuilder::default()
    }

    forward!(
        /// Replaces all options at once.
        options(options: ClientOptions)
    );
    forward!(
        /// Adds headers sent with every request.
        headers(headers: HeaderMap)
    );
    forward!(
        /// Timeout of handshakes and POSTs, default 5 s.
        request_timeout(timeout: Duration)
    );
    forward!(
        /// Sends every request through this client (python: `http_session`).
        http_client(client: reqwest::Client)
    );
    forward!(
        /// `false` accepts any TLS certificate (default HTTP client only).
        ssl_verify(verify: bool)
    );
    forward!(
        /// Largest WebSocket message accepted, default 64 MiB.
        websocket_max_message_size(bytes: usize)
    );
    forward!(
        /// Largest polling response body accepted, default 64 MiB.
        max_payload_size(bytes: usize)
    );
    forward!(
        /// How many bytes of received messages may wait for the handlers or
        /// an [`Events`] iterator before the client stops reading, default
        /// 16 MiB; see [`ClientOptions::max_buffered_bytes`].
        max_buffered_bytes(bytes: usize)
    );
    forward!(
        /// Whether polling requests carry the `t` cache-buster, default `true`.
        timestamp_requests(on: bool)
    );
    forward!(
        /// Whether Ctrl-C disconnects the client, default `true`; see
        /// [the async client's docs](super#ctrl-c).
        handle_sigint(on: bool)
    );
    forward!(
        /// How long the upgrade to WebSocket may take, default 10 s.
        upgrade_timeout(timeout: Duration)
    );

    /// The transports, in order; see [`super::ClientBuilder::transports`].
    pub fn transports(self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        ClientBuilder {
            inner: self.inner.transports(transports),
            ..self
        }
    }

    /// The Engine.IO path, default `/engine.io/`.
    pub fn engineio_path(self, path: impl Into<String>) -> Self {
        ClientBuilder {
            inner: self.inner.engineio_path(path),
            ..self
        }
    }

    /// Adds a header sent with every request; see
    /// [`super::ClientBuilder::header`].
    pub fn header<K, V>(self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        ClientBuilder {
            inner: self.inner.header(name, value),
            ..self
        }
    }

    /// Adds a header sent with the WebSocket handshake only.
    pub fn websocket_extra_header<K, V>(self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        ClientBuilder {
            inner: self.inner.websocket_extra_header(name, value),
            ..self
        }
    }

    /// Calls `factory` for a fresh HTTP client on each `connect`.
    pub fn http_client_factory(
        self,
        factory: impl Fn() -> reqwest::Client + Send + Sync + 'static,
    ) -> Self {
        ClientBuilder {
            inner: self.inner.http_client_factory(factory),
            ..self
        }
    }

    /// Called once connected, before `connect` returns; an error or a panic
    /// makes `connect` fail with [`ClientError::ConnectHandler`].
    pub fn on_connect<F, R>(mut self, handler: F) -> Self
    where
        F: Fn(&Client) -> R + Send + Sync + 'static,
        R: ConnectOutcome,
    {
        self.on_connect = Some(Arc::new(move |c: &Client| handler(c).into_result()));
        self
    }

    /// Called for every message from the server, in order.
    pub fn on_message<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Client, Data) + Send + Sync + 'static,
    {
        self.on_message = Some(Arc::new(handler));
        self
    }

    /// Called once when the connection ends, with the reason.
    pub fn on_disconnect<F>(mut self, handler: F) -> Self
    where
        F: Fn(DisconnectReason) + Send + Sync + 'static,
    {
        self.on_disconnect = Some(Arc::new(handler));
        self
    }

    /// Connects; see [`super::ClientBuilder::connect`]. Blocks until the
    /// handshake and the connect handler are done.
    ///
    /// # Errors
    /// As the async [`connect`](super::ClientBuilder::connect), plus
    /// [`ClientError::Runtime`] if the shared runtime thread cannot start.
    pub fn connect(self, url: impl AsRef<str>) -> Result<Client> {
        let ClientBuilder {
            mut inner,
            on_connect,
            on_message,
            on_disconnect,
        } = self;
        let rt = Runtime::shared().map_err(ClientError::Runtime)?;
        if on_connect.is_some() || on_message.is_some() || on_disconnect.is_some() {
            // The async side forwards each event to the handler queue; the
            // connect and disconnect events wait for their handler, so
            // `connect` and `wait` return after them.
            let queue = HandlerQueue::new(Handlers {
                on_connect,
                on_message,
                on_disconnect,
                rt: Arc::downgrade(&rt),
            });
            if queue.handlers.on_connect.is_some() {
                let queue = queue.clone();
                inner = inner.on_connect_async(move |c: super::Client| {
                    let queue = queue.clone();
                    async move {
                        let (tx, rx) = oneshot::channel();
                        if queue.push(HandlerJob::Connect(c.downgrade(), tx)).await {
                            rx.await.unwrap_or(Ok(()))
                        } else {
                            Ok(())
                        }
                    }
                });
            }
            if queue.handlers.on_message.is_some() {
                let queue = queue.clone();
                inner = inner.on_message_async(move |c: super::Client, d: Data| {
                    let queue = queue.clone();
                    async move {
                        queue.push(HandlerJob::Message(c.downgrade(), d)).await;
                    }
                });
            }
            if queue.handlers.on_disconnect.is_some() {
                inner = inner.on_disconnect_async(move |r| {
                    let queue = queue.clone();
                    async move {
                        let (tx, rx) = oneshot::channel();
                        if queue.push(HandlerJob::Disconnect(r, tx)).await {
                            let _ = rx.await;
                        }
                    }
                });
            }
        }
        let url = url.as_ref().to_owned();
        let client = rt
            .run(async move { inner.connect(url).await })
            .ok_or(ClientError::Closed)??;
        Ok(Client {
            inner: Arc::new(BlockingInner {
                client,
                _runtime: rt,
            }),
        })
    }
}

struct BlockingInner {
    // Field order matters: the connection is aborted before the runtime
    // thread is joined (when this is the process's last blocking client).
    client: super::Client,
    _runtime: Arc<Runtime>,
}

/// A connected blocking Engine.IO client. Cheap to clone; the connection is
/// aborted when the last clone is dropped, and the shared runtime thread
/// joined when the process's last blocking client is.
///
/// ```no_run
/// use engineio::client::blocking::Client;
///
/// # fn run() -> Result<(), engineio::client::ClientError> {
/// let client = Client::connect("http://localhost:5000")?;
/// println!("my sid is {}", client.sid());
/// client.send_json(&serde_json::json!({"foo": "bar"}))?;
/// for event in client.events() {
///     println!("{event:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<BlockingInner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Client")
            .field(&self.inner.client)
            .finish()
    }
}

impl Client {
    /// A builder for options and handlers.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Connects with the default options and no handlers.
    ///
    /// # Errors
    /// See [`ClientBuilder::connect`].
    pub fn connect(url: impl AsRef<str>) -> Result<Client> {
        ClientBuilder::new().connect(url)
    }

    /// The session id the server assigned, as it sent it (see
    /// [`ClientSid`]).
    pub fn sid(&self) -> &ClientSid {
        self.inner.client.sid()
    }

    /// The handshake data.
    pub fn handshake(&self) -> &OpenData {
        self.inner.client.handshake()
    }

    /// The transport in use now.
    pub fn transport(&self) -> TransportKind {
        self.inner.client.transport()
    }

    /// Whether the connection is up and not closing.
    pub fn is_connected(&self) -> bool {
        self.inner.client.is_connected()
    }

    /// Queues a message (text or binary); does not block.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once the connection is closing or closed.
    pub fn send(&self, data: impl Into<Data>) -> Result<()> {
        self.inner.client.send(data)
    }

    /// Serialises `value` to JSON and sends it as a text message.
    ///
    /// # Errors
    /// [`ClientError::Json`], or as [`send`](Self::send).
    pub fn send_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.inner.client.send_json(value)
    }

    /// Disconnects gracefully and blocks until done (see
    /// [`super::Client::disconnect`]).
    pub fn disconnect(&self) {
        self.inner.client.request_disconnect();
        self.wait();
    }

    /// Stops the connection now, without sending `close`.
    pub fn abort(&self) {
        self.inner.client.abort();
    }

    /// Blocks until the connection has ended (and, unless called from a
    /// handler, the disconnect handler has run); returns why it ended.
    pub fn wait(&self) -> DisconnectReason {
        block_on(self.inner.client.wait_inner(in_handler()))
    }

    /// [`wait`](Self::wait) for at most `timeout`; `None` if the connection
    /// is still up.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<DisconnectReason> {
        block_on_until(
            self.inner.client.wait_inner(in_handler()),
            Some(Instant::now() + timeout),
        )
    }

    /// The connection's events as a blocking iterator; see
    /// [`super::Client::events`].
    pub fn events(&self) -> Events {
        Events {
            inner: self.inner.client.events(),
        }
    }
}

/// The events of one connection, as a blocking iterator that ends after
/// [`ClientEvent::Disconnect`].
#[derive(Debug)]
pub struct Events {
    inner: super::Events,
}

impl Events {
    /// The next event, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] if none came in time,
    /// [`RecvTimeoutError::Disconnected`] after the last event.
    pub fn recv_timeout(
        &mut self,
        timeout: Duration,
    ) -> std::result::Result<ClientEvent, RecvTimeoutError> {
        match block_on_until(self.inner.recv(), Some(Instant::now() + timeout)) {
            Some(Some(ev)) => Ok(ev),
            Some(None) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }
}

impl Iterator for Events {
    type Item = ClientEvent;

    fn next(&mut self) -> Option<ClientEvent> {
        block_on(self.inner.recv())
    }
}
