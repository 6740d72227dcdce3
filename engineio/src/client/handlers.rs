//! Event handlers, the event stream's hub, and the task that calls them.
//!
//! One task per connection receives the driver's events in order and, for
//! each, awaits its handler, then hands the event to the stream subscribers.
//! Handlers therefore see messages in order (python-engineio runs each in its
//! own task), and a slow handler never delays the driver's timers: events
//! queue up between the two tasks, each holding its charge to the
//! connection's [`Budget`](super::budget::Budget) until its handler returned
//! and every stream yielded it. A full budget stops the driver reading.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};

use futures_util::FutureExt as _;
use tokio::sync::oneshot;

use super::budget::Charge;
use super::done::DoneGuard;
use super::error::BoxError;
use super::queue;
use super::{Client, ClientEvent, Inner};
use crate::lock;
use crate::proto::{Data, DisconnectReason};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type ConnectFn = Arc<dyn Fn(Client) -> BoxFuture<Result<(), BoxError>> + Send + Sync>;
pub(crate) type MessageFn = Arc<dyn Fn(Client, Data) -> BoxFuture<()> + Send + Sync>;
pub(crate) type DisconnectFn = Arc<dyn Fn(DisconnectReason) -> BoxFuture<()> + Send + Sync>;

/// An event from the driver with the budget charge of its data.
pub(crate) type Charged = (ClientEvent, Option<Charge>);
/// An event in a stream: the charge is shared by every stream's copy and
/// released when the last one is taken.
pub(crate) type Tracked = (ClientEvent, Option<Arc<Charge>>);

/// The handlers registered on a builder.
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    pub(crate) connect: Option<ConnectFn>,
    pub(crate) message: Option<MessageFn>,
    pub(crate) disconnect: Option<DisconnectFn>,
}

impl Handlers {
    fn any(&self) -> bool {
        self.connect.is_some() || self.message.is_some() || self.disconnect.is_some()
    }
}

/// What a connect handler returns: `()`, or a `Result` whose error makes
/// `connect` fail with [`ClientError::ConnectHandler`](super::ClientError::ConnectHandler).
pub trait ConnectOutcome {
    /// The outcome as a `Result`.
    fn into_result(self) -> Result<(), BoxError>;
}

impl ConnectOutcome for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> ConnectOutcome for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// Fan-out of events to [`Events`](super::Events) streams.
#[derive(Debug)]
pub(crate) struct Hub {
    subscribers: Vec<queue::Sender<Tracked>>,
    /// Events kept for the first subscriber: only when no handler is
    /// registered, so a handler-only client never accumulates events.
    backlog: Option<VecDeque<Tracked>>,
    closed: bool,
}

impl Hub {
    pub(crate) fn new(keep_backlog: bool, subscribers: Vec<queue::Sender<Tracked>>) -> Self {
        Hub {
            // Streams taken from the builder get everything from the start:
            // no backlog is needed for a later one.
            backlog: (keep_backlog && subscribers.is_empty()).then(VecDeque::new),
            subscribers,
            closed: false,
        }
    }

    fn deliver(&mut self, ev: ClientEvent, charge: Option<Charge>) {
        if let Some(b) = &mut self.backlog {
            b.push_back((ev, charge.map(Arc::new)));
        } else if !self.subscribers.is_empty() {
            let charge = charge.map(Arc::new);
            self.subscribers
                .retain(|s| s.send((ev.clone(), charge.clone())).is_ok());
        }
    }

    fn close(&mut self) {
        self.closed = true;
        self.subscribers.clear();
    }

    pub(crate) fn subscribe(&mut self) -> queue::Receiver<Tracked> {
        let (tx, rx) = queue::queue();
        for ev in self.backlog.take().into_iter().flatten() {
            let _ = tx.send(ev);
        }
        if !self.closed {
            self.subscribers.push(tx);
        }
        rx
    }
}

tokio::task_local! {
    static IN_HANDLER: ();
}

/// Whether the caller runs inside a handler (then `disconnect` and `wait`
/// must not wait for the handlers to finish: that would wait for itself).
pub(crate) fn in_handler() -> bool {
    IN_HANDLER.try_with(|_| ()).is_ok()
}

/// Awaits a handler call; a panic (in the call or the future) becomes an
/// error. Handlers are called inside the future so that a synchronous
/// handler's panic is caught too.
async fn guarded<T>(fut: impl Future<Output = T> + Send) -> Result<T, BoxError> {
    AssertUnwindSafe(fut).catch_unwind().await.map_err(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "handler panicked".to_owned());
        format!("handler panicked: {msg}").into()
    })
}

/// Everything the handler task needs.
pub(crate) struct Runner {
    pub(crate) events: queue::Receiver<Charged>,
    pub(crate) start: oneshot::Receiver<Weak<Inner>>,
    pub(crate) handlers: Handlers,
    pub(crate) hub: Arc<Mutex<Hub>>,
    pub(crate) connected: oneshot::Sender<Result<(), BoxError>>,
    pub(crate) done: DoneGuard,
}

impl Runner {
    pub(crate) fn keeps_backlog(handlers: &Handlers) -> bool {
        !handlers.any()
    }

    pub(crate) async fn run(self) {
        IN_HANDLER.scope((), self.run_inner()).await;
    }

    async fn run_inner(self) {
        let Runner {
            mut events,
            start,
            handlers,
            hub,
            connected,
            done,
        } = self;
        let Ok(weak) = start.await else { return };
        let client = || weak.upgrade().map(|inner| Client { inner });
        let mut connected = Some(connected);
        // After a failed connect handler the application never got a
        // client: it sees no further events.
        let mut failed = false;
        let reason = loop {
            // A channel that ends without a disconnect means the driver died:
            // still report the disconnect.
            let (ev, charge) = events.recv().await.unwrap_or((
                ClientEvent::Disconnect(DisconnectReason::TransportError),
                None,
            ));
            let mut reason = None;
            match &ev {
                ClientEvent::Connect => {
                    let r = match (&handlers.connect, client()) {
                        (Some(h), Some(c)) => {
                            guarded(async move { h(c).await }).await.and_then(|r| r)
                        }
                        (_, None) => return,
                        (None, Some(_)) => Ok(()),
                    };
                    failed = r.is_err();
                    if let Some(tx) = connected.take() {
                        let _ = tx.send(r);
                    }
                }
                ClientEvent::Message(data) if !failed => {
                    if let Some(h) = &handlers.message {
                        let Some(c) = client() else { return };
                        if let Err(e) = guarded(async move { h(c, data.clone()).await }).await {
                            tracing::error!("engine.io message handler: {e}");
                        }
                    }
                }
                ClientEvent::Disconnect(r) => {
                    reason = Some(*r);
                    if let (Some(h), false) = (&handlers.disconnect, failed) {
                        if let Err(e) = guarded(async move { h(*r).await }).await {
                            tracing::error!("engine.io disconnect handler: {e}");
                        }
                    }
                }
                _ => {}
            }
            if !failed {
                lock(&hub).deliver(ev, charge);
            }
            if let Some(r) = reason {
                break r;
            }
        };
        lock(&hub).close();
        done.set(reason);
    }
}
