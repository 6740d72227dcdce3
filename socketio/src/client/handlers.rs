//! Handlers, their resolution order, and the task that calls them.
//!
//! One task per connection ([`run`]) receives what the driver dispatches,
//! in order, and awaits each handler before the next: handlers see events
//! in the order the server sent them, and a slow handler never delays the
//! Engine.IO heartbeat (the driver keeps reading; dispatches queue up).
//! A handler's return value becomes the acknowledgement when the server
//! asked for one.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt as _;
use tokio::sync::mpsc;

use super::{AsyncClient, Event};
use crate::{DisconnectReason, Value};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
/// An event handler: returns the acknowledgement's arguments.
pub(crate) type EventFn = Arc<dyn Fn(AsyncClient, Event) -> BoxFuture<Vec<Value>> + Send + Sync>;
pub(crate) type ConnectFn = Arc<dyn Fn(AsyncClient, String) -> BoxFuture<()> + Send + Sync>;
pub(crate) type DisconnectFn =
    Arc<dyn Fn(AsyncClient, String, DisconnectReason) -> BoxFuture<()> + Send + Sync>;
pub(crate) type ConnectErrorFn =
    Arc<dyn Fn(AsyncClient, String, Value) -> BoxFuture<()> + Send + Sync>;
pub(crate) type AttemptFn = Arc<dyn Fn(AsyncClient, u32) -> BoxFuture<()> + Send + Sync>;
/// An acknowledgement callback (`emit_with_ack`).
pub(crate) type AckFn = Box<dyn FnOnce(Vec<Value>) + Send>;

/// Where an acknowledgement goes.
pub(crate) enum Ack {
    /// A user callback: run on the handler task, in order with the events.
    Callback(AckFn),
    /// A waiting `call`: answered by the driver at once, so that a handler
    /// may `call` (the handler task is busy with that very handler).
    Reply(tokio::sync::oneshot::Sender<Vec<Value>>),
}

/// A namespace handler object (python-socketio's `ClientNamespace`):
/// every callback of one namespace in one place. Register it with
/// [`ClientBuilder::register_namespace`](super::ClientBuilder::register_namespace).
///
/// Each method has a default that does nothing, so implement only what you
/// need. `on_event` returns the acknowledgement's arguments (see
/// [`to_args`](crate::to_args)); return an empty `Vec` when there is
/// nothing to say.
///
/// ```
/// use socketio::{AsyncClient, Event, NamespaceHandler, Value};
///
/// struct Chat;
///
/// impl NamespaceHandler for Chat {
///     async fn on_connect(&self, client: AsyncClient, namespace: String) {
///         let _ = client.of(&namespace).emit("hello", "from a namespace handler");
///     }
///     async fn on_event(&self, _client: AsyncClient, event: Event) -> Vec<Value> {
///         println!("{} said {:?}", event.name, event.args);
///         vec![Value::from("thanks")]
///     }
/// }
/// let _builder = AsyncClient::builder().register_namespace("/chat", Chat);
/// ```
pub trait NamespaceHandler: Send + Sync + 'static {
    /// The namespace connected.
    fn on_connect(
        &self,
        client: AsyncClient,
        namespace: String,
    ) -> impl Future<Output = ()> + Send {
        let _ = (client, namespace);
        async {}
    }

    /// The namespace disconnected, with the reason.
    fn on_disconnect(
        &self,
        client: AsyncClient,
        namespace: String,
        reason: DisconnectReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (client, namespace, reason);
        async {}
    }

    /// The server refused the namespace (CONNECT_ERROR), or a connection
    /// attempt failed; `data` is the server's payload or the error text.
    fn on_connect_error(
        &self,
        client: AsyncClient,
        namespace: String,
        data: Value,
    ) -> impl Future<Output = ()> + Send {
        let _ = (client, namespace, data);
        async {}
    }

    /// An event of this namespace; the return value is the acknowledgement
    /// (sent only when the server asked for one).
    fn on_event(
        &self,
        client: AsyncClient,
        event: Event,
    ) -> impl Future<Output = Vec<Value>> + Send {
        let _ = (client, event);
        async { Vec::new() }
    }
}

/// A namespace handler, type-erased.
pub(crate) struct NsObject {
    pub(crate) connect: ConnectFn,
    pub(crate) disconnect: DisconnectFn,
    pub(crate) connect_error: ConnectErrorFn,
    pub(crate) event: EventFn,
}

impl NsObject {
    pub(crate) fn new<N: NamespaceHandler>(n: N) -> Self {
        let n = Arc::new(n);
        let (a, b, c, d) = (n.clone(), n.clone(), n.clone(), n);
        NsObject {
            connect: Arc::new(move |cl, ns| {
                let n = a.clone();
                Box::pin(async move { n.on_connect(cl, ns).await })
            }),
            disconnect: Arc::new(move |cl, ns, r| {
                let n = b.clone();
                Box::pin(async move { n.on_disconnect(cl, ns, r).await })
            }),
            connect_error: Arc::new(move |cl, ns, v| {
                let n = c.clone();
                Box::pin(async move { n.on_connect_error(cl, ns, v).await })
            }),
            event: Arc::new(move |cl, ev| {
                let n = d.clone();
                Box::pin(async move { n.on_event(cl, ev).await })
            }),
        }
    }
}

/// Every handler registered on a builder, keyed by namespace (`*` is the
/// catch-all namespace) and event (`*` is the catch-all event).
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    pub(crate) events: HashMap<(String, String), EventFn>,
    pub(crate) connect: HashMap<String, ConnectFn>,
    pub(crate) disconnect: HashMap<String, DisconnectFn>,
    pub(crate) connect_error: HashMap<String, ConnectErrorFn>,
    pub(crate) objects: HashMap<String, Arc<NsObject>>,
    pub(crate) reconnect_attempt: Option<AttemptFn>,
    pub(crate) reconnect_failed: Option<ConnectFn>,
}

impl Handlers {
    /// The namespaces with handlers (python connects those when `connect`
    /// names none), in a stable order, `*` left out.
    pub(crate) fn namespaces(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .events
            .keys()
            .map(|(ns, _)| ns.clone())
            .chain(self.connect.keys().cloned())
            .chain(self.disconnect.keys().cloned())
            .chain(self.connect_error.keys().cloned())
            .chain(self.objects.keys().cloned())
            .filter(|ns| ns != "*")
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// python-socketio's order: `[ns][event]`, `[ns]['*']`, the namespace
    /// object of `ns`, `['*'][event]`, `['*']['*']`, the `*` object.
    fn event(&self, ns: &str, name: &str) -> Option<&EventFn> {
        let key = |n: &str, e: &str| (n.to_owned(), e.to_owned());
        self.events
            .get(&key(ns, name))
            .or_else(|| self.events.get(&key(ns, "*")))
            .or_else(|| self.objects.get(ns).map(|o| &o.event))
            .or_else(|| self.events.get(&key("*", name)))
            .or_else(|| self.events.get(&key("*", "*")))
            .or_else(|| self.objects.get("*").map(|o| &o.event))
    }

    fn pick<'a, T>(
        &'a self,
        map: &'a HashMap<String, T>,
        ns: &str,
        obj: impl Fn(&'a NsObject) -> &'a T,
    ) -> Option<&'a T> {
        map.get(ns)
            .or_else(|| self.objects.get(ns).map(|o| obj(o)))
            .or_else(|| map.get("*"))
            .or_else(|| self.objects.get("*").map(|o| obj(o)))
    }
}

/// What the driver hands to the handler task.
pub(crate) enum Dispatch {
    Connect(String),
    ConnectError(String, Value),
    Disconnect(String, DisconnectReason),
    /// An event; `ack` is the id to answer with, if the server asked.
    Event(Event),
    /// The server acknowledged one of our emits.
    Ack(AckFn, Vec<Value>),
    ReconnectAttempt(u32),
    /// Every reconnection attempt failed; the client has stopped.
    ReconnectFailed,
}

/// Awaits a handler call; a panic becomes a logged error.
async fn guarded<T>(what: &str, fut: impl Future<Output = T> + Send) -> Option<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(v) => Some(v),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!("socket.io {what} handler panicked: {msg}");
            None
        }
    }
}

tokio::task_local! {
    static IN_HANDLER: ();
}

/// Whether the caller runs on the handler task.
pub(crate) fn in_handler() -> bool {
    IN_HANDLER.try_with(|_| ()).is_ok()
}

/// The handler task: runs until the driver drops its sender.
pub(crate) async fn run(
    handlers: Arc<Handlers>,
    client: super::WeakClient,
    rx: mpsc::UnboundedReceiver<Dispatch>,
) {
    IN_HANDLER.scope((), run_inner(handlers, client, rx)).await;
}

async fn run_inner(
    handlers: Arc<Handlers>,
    client: super::WeakClient,
    mut rx: mpsc::UnboundedReceiver<Dispatch>,
) {
    while let Some(d) = rx.recv().await {
        let Some(c) = client.upgrade() else { return };
        match d {
            Dispatch::Connect(ns) => {
                if let Some(h) = handlers.pick(&handlers.connect, &ns, |o| &o.connect) {
                    guarded("connect", h(c, ns)).await;
                }
            }
            Dispatch::ConnectError(ns, data) => {
                if let Some(h) = handlers.pick(&handlers.connect_error, &ns, |o| &o.connect_error) {
                    guarded("connect_error", h(c, ns, data)).await;
                }
            }
            Dispatch::Disconnect(ns, reason) => {
                if let Some(h) = handlers.pick(&handlers.disconnect, &ns, |o| &o.disconnect) {
                    guarded("disconnect", h(c, ns, reason)).await;
                }
            }
            Dispatch::Event(ev) => {
                let ack = ev.ack_id.map(|id| (ev.namespace.clone(), id));
                let reply = match handlers.event(&ev.namespace, &ev.name) {
                    Some(h) => guarded("event", h(c.clone(), ev)).await.unwrap_or_default(),
                    None => Vec::new(),
                };
                // python-socketio acknowledges even when no handler took the
                // event (with no arguments), so the server's callback runs.
                if let Some((ns, id)) = ack {
                    c.send_ack(&ns, id, reply);
                }
            }
            Dispatch::Ack(cb, args) => {
                guarded("ack", async move { cb(args) }).await;
            }
            Dispatch::ReconnectFailed => {
                if let Some(h) = &handlers.reconnect_failed {
                    guarded("reconnect_failed", h(c, String::new())).await;
                }
            }
            Dispatch::ReconnectAttempt(n) => {
                if let Some(h) = &handlers.reconnect_attempt {
                    guarded("reconnect_attempt", h(c, n)).await;
                }
            }
        }
    }
}
