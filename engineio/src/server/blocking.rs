//! The blocking server: python-engineio's `Server` next to `AsyncServer`.
//!
//! [`Server`] is the async [`crate::server::Server`] on a private runtime
//! thread (reqwest's blocking shape): a named thread runs a current-thread
//! tokio runtime, and is stopped and joined when the last clone of the
//! server is dropped. Handlers are plain closures that may block: each call
//! runs on tokio's blocking pool, so a slow handler never stalls the
//! sockets or the heartbeats (and the messages of one session still arrive
//! in order unless `async_handlers` is set). `send`, `disconnect` and the
//! session-data methods never need a runtime and may be called from any
//! thread. Every handler gets the server as its first argument, so it
//! needs no clone of its own: the last clone dropped stops the runtime
//! thread and ends every session (without calling the disconnect handler).
//!
//! ```no_run
//! use engineio::server::blocking::Server;
//!
//! # fn main() -> Result<(), engineio::server::ServerError> {
//! let eio = Server::new()?;
//! eio.on_message(|eio, sid, data| {
//!     std::thread::sleep(std::time::Duration::from_millis(10)); // blocking is fine
//!     let _ = eio.send(sid, data);
//! });
//! eio.serve_blocking("127.0.0.1:5000")?; // returns after `shutdown`
//! # Ok(()) }
//! ```

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use engineio_proto::{Data, DisconnectReason, Sid, TransportKind};
use tokio::sync::oneshot;

use super::connect::ConnectRequest;
use super::error::{Result, ServerError};
use super::handlers;
use super::session::lock;
use super::{Reject, ServerOptions};

/// The runtime thread; stopped and joined on drop.
struct Runtime {
    handle: tokio::runtime::Handle,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: ThreadId,
}

impl Runtime {
    fn start() -> Result<Runtime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("engineio-server-runtime".into())
            .spawn(move || {
                let _ = rt.block_on(stop_rx);
                // Never wait for blocking-pool handlers here: one of them
                // may be what dropped the last server handle.
                rt.shutdown_background();
            })?;
        let thread_id = thread.thread().id();
        Ok(Runtime {
            handle,
            stop: Mutex::new(Some(stop_tx)),
            thread: Mutex::new(Some(thread)),
            thread_id,
        })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(stop) = lock(&self.stop).take() {
            let _ = stop.send(());
        }
        let thread = lock(&self.thread).take();
        // Joining from the runtime thread itself would deadlock.
        if std::thread::current().id() != self.thread_id {
            if let Some(t) = thread {
                let _ = t.join();
            }
        }
    }
}

/// A blocking Engine.IO server (python-engineio's `Server`). Cheap to
/// clone; see the [module docs](self).
#[derive(Clone)]
pub struct Server {
    inner: super::Server,
    rt: Arc<Runtime>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Server")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with the default options, and its runtime thread.
    ///
    /// ```
    /// let eio = engineio::server::blocking::Server::new().unwrap();
    /// assert!(eio.sids().is_empty());
    /// ```
    pub fn new() -> Result<Server> {
        Server::from_async(super::Server::new())
    }

    /// A server with these options.
    pub fn with_options(options: ServerOptions) -> Result<Server> {
        Server::from_async(super::Server::with_options(options)?)
    }

    /// Runs an async server built with [`super::Server::builder`] (for the
    /// hooks) on a private runtime thread. Register handlers afterwards,
    /// through this type, to get blocking-safe handlers.
    ///
    /// ```
    /// use engineio::server::{blocking, Server};
    /// let eio = blocking::Server::from_async(
    ///     Server::builder().max_http_buffer_size(1 << 16).build().unwrap(),
    /// )
    /// .unwrap();
    /// # drop(eio);
    /// ```
    pub fn from_async(inner: super::Server) -> Result<Server> {
        Ok(Server {
            inner,
            rt: Arc::new(Runtime::start()?),
        })
    }

    /// The async server inside, e.g. to mount it with
    /// [`super::Server::layer`] in an application on another runtime.
    pub fn as_async(&self) -> &super::Server {
        &self.inner
    }

    /// The server's options.
    pub fn options(&self) -> &ServerOptions {
        self.inner.options()
    }

    /// Wraps a blocking handler: each call runs on tokio's blocking pool
    /// and gets this server's blocking handle, made from the async server it
    /// was called with and this server's runtime. Handlers keep only a weak
    /// reference to the runtime, so registering one makes no cycle that
    /// would keep the runtime thread alive; once it is gone (or the handler
    /// panicked) the call's answer is `gone()`.
    fn blocking<A, R, F>(&self, f: F, gone: fn() -> R) -> handlers::HandlerFn<A, R>
    where
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(&Server, Sid, A) -> R + Send + Sync + 'static,
    {
        let (f, rt) = (Arc::new(f), Arc::downgrade(&self.rt));
        Arc::new(move |inner, sid, arg| {
            let (f, rt) = (f.clone(), rt.clone());
            Box::pin(async move {
                let task = tokio::task::spawn_blocking(move || {
                    let server = Server {
                        inner,
                        rt: rt.upgrade()?,
                    };
                    Some(handlers::blocking_handler_of(sid, || f(&server, sid, arg)))
                });
                handlers::join_blocking(task)
                    .await
                    .flatten()
                    .unwrap_or_else(gone)
            })
        })
    }

    /// Sets the connect handler; it may block. It gets this server, the
    /// new session's id and the handshake request. See
    /// [`super::Server::on_connect`].
    ///
    /// ```
    /// use engineio::server::{blocking::Server, Reject};
    /// let eio = Server::new().unwrap();
    /// eio.on_connect(|eio, sid, req| {
    ///     let name = req.query_param("name").ok_or_else(Reject::unauthorized)?;
    ///     let _ = eio.save_session(sid, name);
    ///     Ok(())
    /// });
    /// ```
    pub fn on_connect<F>(&self, f: F) -> &Self
    where
        F: Fn(&Server, Sid, &ConnectRequest) -> std::result::Result<(), Reject>
            + Send
            + Sync
            + 'static,
    {
        let h = self.blocking(
            move |server, sid, req: ConnectRequest| f(server, sid, &req),
            || Err(Reject::unauthorized()),
        );
        self.inner.set_raw_handlers(|hs| hs.connect = Some(h));
        self
    }

    /// Sets the message handler; it may block. It gets this server, the
    /// session's id and the message. See [`super::Server::on_message`].
    ///
    /// ```
    /// let eio = engineio::server::blocking::Server::new().unwrap();
    /// eio.on_message(|eio, sid, data| {
    ///     let _ = eio.send(sid, data); // echo
    /// });
    /// ```
    pub fn on_message<F>(&self, f: F) -> &Self
    where
        F: Fn(&Server, Sid, Data) + Send + Sync + 'static,
    {
        let h = self.blocking(f, || ());
        self.inner.set_raw_handlers(|hs| hs.message = Some(h));
        self
    }

    /// Sets the disconnect handler; it may block. See
    /// [`super::Server::on_disconnect`].
    ///
    /// ```
    /// let eio = engineio::server::blocking::Server::new().unwrap();
    /// eio.on_disconnect(|_eio, sid, reason| println!("{sid} left: {reason}"));
    /// ```
    pub fn on_disconnect<F>(&self, f: F) -> &Self
    where
        F: Fn(&Server, Sid, DisconnectReason) + Send + Sync + 'static,
    {
        let h = self.blocking(f, || ());
        self.inner.set_raw_handlers(|hs| hs.disconnect = Some(h));
        self
    }

    /// Queues a message for a client (see [`super::Server::send`]).
    pub fn send(&self, sid: Sid, data: impl Into<Data>) -> Result<()> {
        self.inner.send(sid, data)
    }

    /// Queues a JSON message (see [`super::Server::send_json`]).
    pub fn send_json<T: serde::Serialize + ?Sized>(&self, sid: Sid, value: &T) -> Result<()> {
        self.inner.send_json(sid, value)
    }

    /// Queues a message for every open session; returns how many (see
    /// [`super::Server::send_all`]).
    pub fn send_all(&self, data: impl Into<Data>) -> usize {
        self.inner.send_all(data)
    }

    /// Closes a session (see [`super::Server::disconnect`]).
    pub fn disconnect(&self, sid: Sid) -> Result<()> {
        self.inner.disconnect(sid)
    }

    /// Closes every session.
    pub fn disconnect_all(&self) {
        self.inner.disconnect_all()
    }

    /// The transport a session uses.
    pub fn transport(&self, sid: Sid) -> Result<TransportKind> {
        self.inner.transport(sid)
    }

    /// The ids of the open sessions.
    pub fn sids(&self) -> Vec<Sid> {
        self.inner.sids()
    }

    /// See [`super::Server::get_session`].
    pub fn get_session<T: Clone + Send + 'static>(&self, sid: Sid) -> Result<Option<T>> {
        self.inner.get_session(sid)
    }

    /// See [`super::Server::save_session`].
    pub fn save_session<T: Send + 'static>(&self, sid: Sid, value: T) -> Result<()> {
        self.inner.save_session(sid, value)
    }

    /// See [`super::Server::with_session`].
    pub fn with_session<T, R>(&self, sid: Sid, f: impl FnOnce(&mut T) -> R) -> Result<R>
    where
        T: Default + Send + 'static,
    {
        self.inner.with_session(sid, f)
    }

    /// Binds `addr` and serves in the background on the runtime thread;
    /// returns the bound address (useful with port 0).
    ///
    /// ```
    /// let eio = engineio::server::blocking::Server::new().unwrap();
    /// let addr = eio.start("127.0.0.1:0").unwrap();
    /// assert_ne!(addr.port(), 0);
    /// eio.shutdown(std::time::Duration::from_secs(1)).unwrap();
    /// ```
    pub fn start(&self, addr: impl ToSocketAddrs) -> Result<SocketAddr> {
        let listener = std::net::TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        drop(self.spawn_serve(listener)?);
        Ok(local)
    }

    fn spawn_serve(&self, listener: std::net::TcpListener) -> Result<mpsc::Receiver<Result<()>>> {
        listener.set_nonblocking(true)?;
        let (tx, rx) = mpsc::channel();
        let server = self.inner.clone();
        self.rt.handle.spawn(async move {
            let result = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => server.serve(l).await,
                Err(e) => Err(ServerError::Io(e)),
            };
            if let Err(e) = &result {
                tracing::error!(error = %e, "engine.io server stopped");
            }
            let _ = tx.send(result);
        });
        Ok(rx)
    }

    /// Serves on `addr`, blocking the calling thread until
    /// [`Server::shutdown`] is called (from a handler or another thread):
    /// the entry point for programs without a tokio runtime.
    pub fn serve_blocking(&self, addr: impl ToSocketAddrs) -> Result<()> {
        self.serve_listener(std::net::TcpListener::bind(addr)?)
    }

    /// Like [`Server::serve_blocking`], on a listener bound by the caller.
    ///
    /// ```no_run
    /// let eio = engineio::server::blocking::Server::new().unwrap();
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// println!("listening on {}", listener.local_addr().unwrap());
    /// eio.serve_listener(listener).unwrap();
    /// ```
    pub fn serve_listener(&self, listener: std::net::TcpListener) -> Result<()> {
        let done = self.spawn_serve(listener)?;
        done.recv()
            .unwrap_or_else(|_| Err(ServerError::Io(std::io::Error::other("runtime stopped"))))
    }

    /// Shuts down gracefully, blocking until done or `timeout` (see
    /// [`super::Server::shutdown`]). Called from a handler, it does not wait
    /// for that handler's session, whose disconnect handler runs after the
    /// calling handler returns.
    pub fn shutdown(&self, timeout: Duration) -> Result<()> {
        let (tx, rx) = mpsc::channel();
        let server = self.inner.clone();
        let caller = handlers::calling_session();
        self.rt.handle.spawn(async move {
            let _ = tx.send(server.shutdown_from(caller, timeout).await);
        });
        rx.recv().unwrap_or(Ok(()))
    }
}
