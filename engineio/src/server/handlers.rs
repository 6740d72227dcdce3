//! Event handlers: the boxed forms the server stores, the adapters from
//! sync closures and async closures, and panic containment.
//!
//! Every handler is stored as a function returning a boxed future, so the
//! session tasks treat sync and async handlers alike. Sync closures run when
//! the future is first polled, inside the same `catch_unwind` as async ones:
//! a panicking handler is logged and the server keeps serving.
//!
//! While a handler runs, [`calling_session`] names its session (a task-local
//! for handlers on the runtime, a thread-local for blocking handlers on the
//! blocking pool), so that a `shutdown` called from a handler knows not to
//! wait for that handler.

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use engineio_proto::{Data, DisconnectReason, Sid};
use futures_util::FutureExt as _;

use super::connect::ConnectRequest;
use super::Server;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

// Each handler gets the server it was registered on, made from the session's
// weak reference when the handler is called: the stored closures never hold
// the server, so registering a handler makes no `Arc` cycle.
pub(crate) type HandlerFn<A, R> = Arc<dyn Fn(Server, Sid, A) -> BoxFuture<R> + Send + Sync>;
pub(crate) type ConnectFn = HandlerFn<ConnectRequest, Result<(), Reject>>;
pub(crate) type MessageFn = HandlerFn<Data, ()>;
pub(crate) type DisconnectFn = HandlerFn<DisconnectReason, ()>;

/// The handlers registered on a server.
#[derive(Default, Clone)]
pub(crate) struct Handlers {
    pub(crate) connect: Option<ConnectFn>,
    pub(crate) message: Option<MessageFn>,
    pub(crate) disconnect: Option<DisconnectFn>,
}

/// A refused connection: the handshake is answered `401 Unauthorized` with
/// a JSON body, as python-engineio does when a connect handler returns
/// `False` or data.
///
/// ```
/// use engineio::server::Reject;
/// let plain = Reject::unauthorized(); // body: "Unauthorized"
/// let custom = Reject::with_body(serde_json::json!({"message": "nope", "code": 42}));
/// assert_eq!(plain.body(), &serde_json::json!("Unauthorized"));
/// assert_eq!(custom.body()["code"], 42);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    body: serde_json::Value,
}

impl Reject {
    /// Rejects with the JSON body `"Unauthorized"`.
    pub fn unauthorized() -> Self {
        Reject {
            body: serde_json::Value::String("Unauthorized".to_owned()),
        }
    }

    /// Rejects with `body` as the JSON body of the 401 response.
    pub fn with_body(body: impl Into<serde_json::Value>) -> Self {
        Reject { body: body.into() }
    }

    /// The JSON body of the 401 response.
    pub fn body(&self) -> &serde_json::Value {
        &self.body
    }
}

impl Default for Reject {
    fn default() -> Self {
        Reject::unauthorized()
    }
}

/// A sync handler, run when its future is first polled (inside the same
/// panic containment as async ones).
pub(crate) fn sync_handler<A, R, F>(f: F) -> HandlerFn<A, R>
where
    A: Send + 'static,
    R: Send + 'static,
    F: Fn(&Server, Sid, A) -> R + Send + Sync + 'static,
{
    let f = Arc::new(f);
    Arc::new(move |server, sid, arg| {
        let f = f.clone();
        Box::pin(async move { f(&server, sid, arg) })
    })
}

/// An async handler.
pub(crate) fn async_handler<A, R, F, Fut>(f: F) -> HandlerFn<A, R>
where
    F: Fn(Server, Sid, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    Arc::new(move |server, sid, arg| Box::pin(f(server, sid, arg)))
}

tokio::task_local! {
    /// The session whose handler this task is running.
    static CALLER: Sid;
}

thread_local! {
    /// The session whose blocking handler this thread is running.
    static BLOCKING_CALLER: Cell<Option<Sid>> = const { Cell::new(None) };
}

/// The session whose handler is running on this task or thread, if any.
pub(crate) fn calling_session() -> Option<Sid> {
    CALLER
        .try_with(|sid| *sid)
        .ok()
        .or_else(|| BLOCKING_CALLER.with(Cell::get))
}

/// Runs `f` (one poll of a handler future) as session `sid`'s handler.
pub(crate) fn as_handler_of<R>(sid: Sid, f: impl FnOnce() -> R) -> R {
    CALLER.sync_scope(sid, f)
}

/// Runs a blocking handler for session `sid` on this (blocking-pool) thread.
#[cfg(feature = "blocking")]
pub(crate) fn blocking_handler_of<R>(sid: Sid, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Sid>);
    impl Drop for Reset {
        fn drop(&mut self) {
            BLOCKING_CALLER.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(BLOCKING_CALLER.with(|c| c.replace(Some(sid))));
    f()
}

/// Runs a handler future as session `sid`'s handler, turning a panic into
/// `None` (logged).
pub(crate) async fn guarded<T>(what: &'static str, sid: Sid, fut: BoxFuture<T>) -> Option<T> {
    match CALLER
        .scope(sid, AssertUnwindSafe(fut).catch_unwind())
        .await
    {
        Ok(v) => Some(v),
        Err(panic) => {
            log_panic(what, sid, &*panic);
            None
        }
    }
}

/// Logs the panic of handler `what`.
pub(crate) fn log_panic(what: &'static str, sid: Sid, panic: &(dyn std::any::Any + Send)) {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_owned());
    tracing::error!(%sid, handler = what, panic = %msg, "event handler panicked");
}

/// Awaits a `spawn_blocking` task, re-raising its panic so that
/// [`guarded`] logs it like any other handler panic.
#[cfg(feature = "blocking")]
pub(crate) async fn join_blocking<T: Send + 'static>(
    task: tokio::task::JoinHandle<T>,
) -> Option<T> {
    match task.await {
        Ok(v) => Some(v),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}
