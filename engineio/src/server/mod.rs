//! The Engine.IO server: python-engineio's `AsyncServer` (and, behind the
//! `blocking` feature, its `Server`) on tokio, hyper and tower.
//!
//! # Model
//!
//! ```text
//!  HTTP/WS requests ──▶ EngineIoService<S> ──(other paths)──▶ S (your app)
//!                            │
//!            polling GET/POST, WebSocket frames (handle_* inputs)
//!                            ▼
//!       ┌──────── per session ─────────────────────────────────────┐
//!       │ Mutex<ServerSession> (engineio-proto, sans-IO)           │
//!       │   ├─ driver task: one timer at poll_timeout()            │
//!       │   ├─ pending GET (Notify) / WebSocket task (waker)       │
//!       │   └─ events ──queue──▶ handler task ──▶ on_message,      │
//!       │               (while events wait)        on_disconnect   │
//!       └──────────────────────────────────────────────────────────┘
//!  Server::send / disconnect / sessions: callable from any thread or task
//! ```
//!
//! A [`Server`] is a cheap handle (an `Arc`). Every handler gets the server
//! as its first argument (as client handlers get their client), so a handler
//! never needs a clone of its own; clone it into background tasks. The
//! sessions, their timers and WebSocket tasks hold only a weak reference:
//! once the last handle is gone (the application's clones, and the services
//! and [`Server::serve`] futures made from it), the server is dropped and
//! closes every session, as a [`Server::shutdown`] would but without waiting
//! and without calling the disconnect handler. The protocol itself (heartbeats, queues, the upgrade,
//! overlapping requests) is decided by [`engineio_proto::ServerSession`];
//! this module only moves bytes and runs timers and handlers. A handler
//! that waits (an async handler awaiting IO, a blocking handler on the
//! blocking pool) runs on the session's handler task, so it never delays a
//! ping; a sync message handler on a WebSocket runs right where the message
//! was read, so an echo costs no task switch.
//!
//! # Example
//!
//! ```no_run
//! use engineio::server::Server;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let eio = Server::new();
//! eio.on_connect(|_eio, sid, req| {
//!     println!("connect {sid} from {:?}", req.remote_addr());
//!     Ok(())
//! })
//! .on_message(|eio, sid, data| {
//!     let _ = eio.send(sid, data); // echo
//! })
//! .on_disconnect(|_eio, sid, reason| println!("disconnect {sid}: {reason}"));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//! eio.serve(listener).await?;
//! # Ok(()) }
//! ```
//!
//! Mounted in another tower/axum application, use [`Server::layer`]; every
//! request outside the Engine.IO path goes to the inner service.
//!
//! # From python-engineio
//!
//! | python-engineio | here |
//! |---|---|
//! | `engineio.AsyncServer(**options)` | [`Server::builder`], [`Server::with_options`] with [`ServerOptions`] (same names and defaults) |
//! | `engineio.Server()` (eventlet, gevent, threads) | [`blocking::Server`] |
//! | `@eio.on('connect')`, returning `False` or data | [`Server::on_connect`] / [`Server::on_connect_async`] returning `Err(`[`Reject`]`)` (401 + JSON body) |
//! | the `environ` of the connect handler | [`ConnectRequest`]: headers, query, cookies, extensions, the real remote address |
//! | `@eio.on('message')`, `@eio.on('disconnect')` | [`Server::on_message`], [`Server::on_disconnect`] (and `_async` forms); the reason is a [`DisconnectReason`] |
//! | `async_handlers=True` | [`ServerOptions::async_handlers`], default **false** (ordered) |
//! | `eio.send(sid, str / bytes)`, `eio.send(sid, dict)` | [`Server::send`] with `&str`/`String`/`Vec<u8>`/`Bytes`, [`Server::send_json`] |
//! | `eio.disconnect(sid)`, `eio.disconnect()` | [`Server::disconnect`], [`Server::disconnect_all`] |
//! | `eio.transport(sid)`, `eio.sockets` | [`Server::transport`], [`Server::sids`] |
//! | `for sid in eio.sockets: eio.send(sid, ...)` | [`Server::send_all`] |
//! | `get_session`, `save_session`, `with eio.session(sid)` | [`Server::get_session`], [`Server::save_session`], [`Server::with_session`] (typed) |
//! | `eio.shutdown()` | [`Server::shutdown`] (also closes the sessions, with a timeout) |
//! | `start_background_task`, `sleep`, `create_queue`, `create_event` | `tokio::spawn`, `tokio::time::sleep`, `tokio::sync::{mpsc, Notify}` (threads and `std::sync` with [`blocking::Server`]) |
//! | `ASGIApp(eio, other_app)`, `WSGIApp(eio, wsgi_app)` | [`Server::layer`] / [`EngineIoService`] around any tower service |
//! | `static_files={...}` | [`StaticFiles`] with [`StaticFilesLayer`] |
//! | `eio.attach(aiohttp_app)`, tornado/sanic handlers | `axum::Router::layer(eio.layer())` (any tower-based framework) |
//! | `uvicorn.run(app)`, `eventlet.wsgi.server(...)` | [`Server::serve`], [`blocking::Server::serve_blocking`] |
//! | `engineio_path` | [`ServerOptions::path`] |
//! | `cors_allowed_origins`, `cors_credentials`, `cookie` | the same options, with [`CorsOrigins`] and [`CookieConfig`] |
//! | `logger=True` | a `tracing` subscriber (e.g. `RUST_LOG=engineio=debug`) |
//! | `monitor_clients` | always on: each session has its own timer |
//! | `json=` | messages are [`Data`]; parse text with `serde_json`, send with [`Server::send_json`] |
//! | — (engine.io's `allowRequest`) | [`ServerBuilder::allow_request`] (403, code 4) |

mod connect;
mod error;
mod handlers;
mod options;
mod request;
mod response;
mod serve;
mod service;
mod session;
mod websocket;

#[cfg(feature = "blocking")]
pub mod blocking;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use engineio_proto::ServerConfig;
use rand::RngCore;
use tokio::sync::{watch, Notify};

pub use crate::http::{
    CookieConfig, CookieConfigBuilder, CookieError, CookieValueFn, CorsOrigins, OriginPredicate,
    StaticFiles,
};
pub use connect::ConnectRequest;
pub use engineio_proto::{Data, DisconnectReason, Sid, TransportKind};
pub use error::{Result, ServerError};
pub use handlers::Reject;
pub use options::{ServerBuilder, ServerOptions};
pub use service::{
    EngineIoLayer, EngineIoService, NotFound, ResponseBody, ResponseFuture, StaticFilesLayer,
    StaticFilesService,
};

use handlers::Handlers;
use options::{AllowRequestFn, RemoteAddrFn};
use session::{lock, SessionHandle};

/// The remote address of a connection, as a request extension.
///
/// [`Server::serve`] inserts it on every request; a custom accept loop can
/// insert it too, and the connect handler reads it through
/// [`ConnectRequest::remote_addr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemoteAddr(pub SocketAddr);

pub(crate) struct Shared {
    pub(crate) options: ServerOptions,
    pub(crate) config: ServerConfig,
    pub(crate) cors: crate::http::CorsPolicy,
    pub(crate) allow_request: Option<AllowRequestFn>,
    pub(crate) remote_addr: Option<RemoteAddrFn>,
    handlers: RwLock<Handlers>,
    sessions: RwLock<HashMap<Sid, Arc<SessionHandle>, SidHash>>,
    sessions_changed: Notify,
    /// `Some(deadline)` once a shutdown started.
    pub(crate) shutdown: watch::Sender<Option<std::time::Instant>>,
    /// True once the shutdown is done with the sessions: accept loops stop
    /// then (not before, so polling clients can still collect their close).
    pub(crate) stop_accepting: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn handlers(&self) -> Handlers {
        self.handlers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_handlers(&self, f: impl FnOnce(&mut Handlers)) {
        f(&mut self
            .handlers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    pub(crate) fn session(&self, sid: &Sid) -> Option<Arc<SessionHandle>> {
        self.sessions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(sid)
            .cloned()
    }

    /// Registers a new session under a fresh random sid.
    pub(crate) fn insert_new_session(
        self: &Arc<Self>,
        transport: TransportKind,
        jsonp: Option<Box<str>>,
    ) -> Option<Arc<SessionHandle>> {
        let mut sessions = self
            .sessions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut rng = rand::rng();
        for _ in 0..4 {
            // The thread's CSPRNG (ChaCha, seeded and reseeded from the
            // OS): no system call per session.
            let mut bytes = [0u8; Sid::RANDOM_BYTES];
            rng.fill_bytes(&mut bytes);
            // `sid_prefix` was validated when the server was built.
            let sid = Sid::with_prefix(&self.options.sid_prefix, bytes)
                .unwrap_or_else(|| Sid::from_random(bytes));
            if let std::collections::hash_map::Entry::Vacant(slot) = sessions.entry(sid) {
                let handle = SessionHandle::new(
                    sid,
                    transport,
                    jsonp.clone(),
                    &self.config,
                    Arc::downgrade(self),
                );
                slot.insert(handle.clone());
                return Some(handle);
            }
        }
        None
    }

    pub(crate) fn remove_session(&self, handle: &Arc<SessionHandle>) {
        let removed = {
            let mut sessions = self
                .sessions
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match sessions.get(&handle.sid) {
                Some(h) if Arc::ptr_eq(h, handle) => sessions.remove(&handle.sid),
                _ => None,
            }
        };
        if removed.is_some() {
            *lock(&handle.user) = None;
            self.sessions_changed.notify_waiters();
        }
    }

    fn session_count(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// The sessions other than `except`.
    fn sessions_except(&self, except: Option<Sid>) -> Vec<Arc<SessionHandle>> {
        let mut all = self.all_sessions();
        all.retain(|h| Some(h.sid) != except);
        all
    }

    /// Waits until no session other than `except` is left.
    async fn sessions_ended_except(&self, except: Option<Sid>) {
        loop {
            let notified = self.sessions_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.sessions_except(except).is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Ends the sessions that outlived the shutdown's deadline.
    fn drop_sessions(&self, handles: &[Arc<SessionHandle>]) {
        for handle in handles {
            handle.input(|inner, _| {
                inner
                    .core
                    .handle_transport_closed(DisconnectReason::ServerDisconnect)
            });
            self.remove_session(handle);
        }
    }

    /// The last step of a shutdown: the accept loops stop, and the handlers
    /// are unregistered (which frees handlers holding a clone of the server).
    fn finish_shutdown(&self) {
        self.stop_accepting.send_replace(true);
        self.set_handlers(|hs| *hs = Handlers::default());
    }

    fn all_sessions(&self) -> Vec<Arc<SessionHandle>> {
        self.sessions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.borrow().is_some()
    }
}

/// The last handle on the server is gone (no [`Server`], service or
/// [`Server::serve`] future is left): every session still open ends as on a
/// timed-out shutdown. Its WebSocket sends a close frame, a pending GET
/// would get a `close` packet, its timer task ends and its data is dropped.
/// No disconnect handler runs: the handlers go with the server.
impl Drop for Shared {
    fn drop(&mut self) {
        let left = self.all_sessions();
        self.drop_sessions(&left);
    }
}

/// Hashes sids for the session table: they are 120 random bits from a
/// CSPRNG, so a cheap mix of their bytes spreads them as well as SipHash
/// would. Peers only look sids up (they cannot choose the sids that are
/// inserted), so there is no collision attack to defend against.
#[derive(Clone, Copy, Default)]
pub(crate) struct SidHash;

impl std::hash::BuildHasher for SidHash {
    type Hasher = SidHasher;

    fn build_hasher(&self) -> SidHasher {
        SidHasher(0)
    }
}

pub(crate) struct SidHasher(u64);

impl std::hash::Hasher for SidHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(w))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, _len: usize) {
        // The length prefix of the sid's byte array: always the same.
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// An Engine.IO server: python-engineio's `AsyncServer`.
///
/// Cheap to clone (an `Arc` inside). Build it with [`Server::new`],
/// [`Server::builder`] or [`Server::with_options`]; register handlers with
/// the `on_*` methods; expose it with [`Server::serve`] or
/// [`Server::layer`]. `send`, `disconnect` and the session-data methods are
/// plain (non-async) methods, callable from any thread or task.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("options", &self.shared.options)
            .field("sessions", &self.shared.session_count())
            .finish()
    }
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// A server with the default options.
    ///
    /// ```
    /// let eio = engineio::server::Server::new();
    /// assert_eq!(eio.options().ping_interval, std::time::Duration::from_secs(25));
    /// ```
    pub fn new() -> Server {
        let mut options = ServerOptions::default();
        // The defaults are valid; `validate` only normalises the path.
        let _ = options.validate();
        Server::from_parts(options, None, None)
    }

    /// A builder for options and hooks.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// A server with these options; fails if they are inconsistent.
    ///
    /// ```
    /// use engineio::server::{Server, ServerOptions};
    /// let mut options = ServerOptions::default();
    /// options.transports.clear();
    /// assert!(Server::with_options(options).is_err());
    /// ```
    pub fn with_options(options: ServerOptions) -> Result<Server> {
        Server::builder().options(options).build()
    }

    pub(crate) fn from_parts(
        options: ServerOptions,
        allow_request: Option<AllowRequestFn>,
        remote_addr: Option<RemoteAddrFn>,
    ) -> Server {
        let config = options.core_config();
        let cors = options.cors_policy();
        Server {
            shared: Arc::new(Shared {
                options,
                config,
                cors,
                allow_request,
                remote_addr,
                handlers: RwLock::new(Handlers::default()),
                sessions: RwLock::new(HashMap::with_hasher(SidHash)),
                sessions_changed: Notify::new(),
                shutdown: watch::Sender::new(None),
                stop_accepting: watch::Sender::new(false),
            }),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The handle handed to a handler.
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Server {
        Server { shared }
    }

    /// The server's options (with the path normalised).
    pub fn options(&self) -> &ServerOptions {
        &self.shared.options
    }

    /// Sets the connect handler (python's `@eio.on('connect')`), a plain
    /// closure run on the runtime while the handshake waits; it must not
    /// block (use [`Server::on_connect_async`] for IO). It gets the server,
    /// the new session's id and the handshake request. `Err(Reject)`
    /// refuses the session with `401` and a JSON body; a panic refuses it
    /// with `"Unauthorized"`. The session exists while the handler runs (and
    /// is already in [`Server::sids`], as python adds it to `sockets`), so
    /// it may call [`Server::save_session`], [`Server::send`] or
    /// [`Server::send_all`].
    ///
    /// ```
    /// use engineio::server::{Reject, Server};
    /// let eio = Server::new();
    /// eio.on_connect(|eio, sid, req| match req.query_param("token").as_deref() {
    ///     Some("secret") => {
    ///         let _ = eio.send_all(format!("{sid} joined")); // the new one too
    ///         Ok(())
    ///     }
    ///     _ => Err(Reject::unauthorized()),
    /// });
    /// ```
    pub fn on_connect<F>(&self, f: F) -> &Self
    where
        F: Fn(&Server, Sid, &ConnectRequest) -> std::result::Result<(), Reject>
            + Send
            + Sync
            + 'static,
    {
        self.set_handler(|hs| {
            hs.connect = Some(handlers::sync_handler(
                move |s: &Server, sid, req: ConnectRequest| f(s, sid, &req),
            ))
        })
    }

    /// Sets an async connect handler (see [`Server::on_connect`]).
    ///
    /// ```
    /// use engineio::server::{Reject, Server};
    /// let eio = Server::new();
    /// eio.on_connect_async(|_eio, _sid, req| async move {
    ///     if req.cookie("session").is_some() { Ok(()) } else { Err(Reject::with_body("login first")) }
    /// });
    /// ```
    pub fn on_connect_async<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Server, Sid, ConnectRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), Reject>> + Send + 'static,
    {
        self.set_handler(|hs| hs.connect = Some(handlers::async_handler(f)))
    }

    /// Sets the message handler, a plain closure that gets the server, the
    /// session's id and the message. It runs on the task that
    /// read the message (a WebSocket) or on the session's handler task
    /// (polling), so it must not block the runtime: use
    /// [`Server::on_message_async`] for IO, or [`blocking::Server`] for
    /// blocking code. Messages of one session arrive in order, one at a
    /// time, unless [`ServerOptions::async_handlers`].
    ///
    /// ```
    /// use engineio::server::{Data, Server};
    /// let eio = Server::new();
    /// eio.on_message(|eio, sid, data| match data {
    ///     Data::Text(t) => { let _ = eio.send(sid, format!("you said {t}")); }
    ///     Data::Binary(b) => { let _ = eio.send(sid, b); }
    /// });
    /// ```
    pub fn on_message<F>(&self, f: F) -> &Self
    where
        F: Fn(&Server, Sid, Data) + Send + Sync + 'static,
    {
        self.set_handler(|hs| hs.message = Some(handlers::sync_handler(f)))
    }

    /// Sets an async message handler (see [`Server::on_message`]); it gets
    /// its own handle on the server, to keep across awaits.
    ///
    /// ```
    /// let eio = engineio::server::Server::new();
    /// eio.on_message_async(|eio, sid, data| async move {
    ///     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    ///     let _ = eio.send(sid, data);
    /// });
    /// ```
    pub fn on_message_async<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Server, Sid, Data) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_handler(|hs| hs.message = Some(handlers::async_handler(f)))
    }

    /// Sets the disconnect handler, called once per accepted session with
    /// the reason, after its last message. The session's data is still
    /// readable while it runs and is dropped right after.
    ///
    /// ```
    /// let eio = engineio::server::Server::new();
    /// eio.on_disconnect(|eio, sid, reason| {
    ///     println!("{sid} left: {reason}");
    ///     let _ = eio.send_all(format!("{sid} left"));
    /// });
    /// ```
    pub fn on_disconnect<F>(&self, f: F) -> &Self
    where
        F: Fn(&Server, Sid, DisconnectReason) + Send + Sync + 'static,
    {
        self.set_handler(|hs| hs.disconnect = Some(handlers::sync_handler(f)))
    }

    /// Sets an async disconnect handler (see [`Server::on_disconnect`]).
    ///
    /// ```
    /// let eio = engineio::server::Server::new();
    /// eio.on_disconnect_async(|_eio, sid, reason| async move { println!("{sid}: {reason}") });
    /// ```
    pub fn on_disconnect_async<F, Fut>(&self, f: F) -> &Self
    where
        F: Fn(Server, Sid, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.set_handler(|hs| hs.disconnect = Some(handlers::async_handler(f)))
    }

    /// Registers a handler: the body of every `on_*` method.
    fn set_handler(&self, f: impl FnOnce(&mut Handlers)) -> &Self {
        self.shared.set_handlers(f);
        self
    }

    #[cfg(feature = "blocking")]
    pub(crate) fn set_raw_handlers(&self, f: impl FnOnce(&mut Handlers)) {
        self.shared.set_handlers(f);
    }

    fn handle(&self, sid: Sid) -> Result<Arc<SessionHandle>> {
        self.shared
            .session(&sid)
            .ok_or(ServerError::UnknownSid(sid))
    }

    /// Queues a message for a client: text for `&str`/`String`, binary for
    /// `Vec<u8>`/`Bytes`/`&[u8]`. Never waits.
    ///
    /// ```
    /// # let eio = engineio::server::Server::new();
    /// # let sid = "AAAAAAAAAAAAAAAAAAAA".parse().unwrap();
    /// // No such session on a fresh server:
    /// assert!(eio.send(sid, "hello").is_err());
    /// ```
    pub fn send(&self, sid: Sid, data: impl Into<Data>) -> Result<()> {
        let handle = self.handle(sid)?;
        handle
            .input(|inner, _| inner.core.send(data.into()))
            .map_err(|_| ServerError::SessionClosed(sid))
    }

    /// Queues `value` serialised as JSON text (python's `send(sid, dict)`).
    ///
    /// ```
    /// # let eio = engineio::server::Server::new();
    /// # let sid = "AAAAAAAAAAAAAAAAAAAA".parse().unwrap();
    /// let r = eio.send_json(sid, &serde_json::json!({"foo": "bar"}));
    /// assert!(matches!(r, Err(engineio::server::ServerError::UnknownSid(_))));
    /// ```
    pub fn send_json<T: serde::Serialize + ?Sized>(&self, sid: Sid, value: &T) -> Result<()> {
        let text = serde_json::to_string(value)?;
        self.send(sid, text)
    }

    /// Closes a session from the server: what is queued is still
    /// delivered, then the `close` packet; the disconnect handler gets
    /// [`DisconnectReason::ServerDisconnect`].
    ///
    /// ```
    /// # let eio = engineio::server::Server::new();
    /// # let sid = "AAAAAAAAAAAAAAAAAAAA".parse().unwrap();
    /// assert!(eio.disconnect(sid).is_err()); // unknown sid
    /// ```
    pub fn disconnect(&self, sid: Sid) -> Result<()> {
        let handle = self.handle(sid)?;
        handle.input(|inner, now| inner.core.close(now));
        Ok(())
    }

    /// Closes every session (python's `disconnect()` with no sid).
    pub fn disconnect_all(&self) {
        for handle in self.shared.all_sessions() {
            handle.input(|inner, now| inner.core.close(now));
        }
    }

    /// The transport a session currently uses.
    pub fn transport(&self, sid: Sid) -> Result<TransportKind> {
        Ok(self.handle(sid)?.transport())
    }

    /// The ids of the open sessions (python's `sockets` keys), including a
    /// session whose connect handler is running (python adds a socket to
    /// `sockets` before it calls `connect`), in no particular order.
    pub fn sids(&self) -> Vec<Sid> {
        self.open_sessions().map(|h| h.sid).collect()
    }

    /// The open sessions, as [`Server::sids`] lists them.
    fn open_sessions(&self) -> impl Iterator<Item = Arc<SessionHandle>> {
        self.shared
            .all_sessions()
            .into_iter()
            .filter(|h| !h.is_closed())
    }

    /// Queues a message for every open session (those of [`Server::sids`],
    /// so also a session whose connect handler is running); returns how many
    /// sessions it was queued for. Never waits. The message's bytes are
    /// shared between the sessions, not copied.
    ///
    /// ```
    /// let eio = engineio::server::Server::new();
    /// assert_eq!(eio.send_all("tick"), 0); // no session yet
    /// ```
    pub fn send_all(&self, data: impl Into<Data>) -> usize {
        let data = data.into();
        self.open_sessions()
            .filter(|h| h.input(|inner, _| inner.core.send(data.clone())).is_ok())
            .count()
    }

    /// A copy of the session's user data (python's `get_session`), `None`
    /// if nothing was saved. Fails if another type was saved.
    ///
    /// To read one field without cloning the whole value, or with a default
    /// in place of `None` (python's `get_session` returns `{}` then), use
    /// [`with_session`](Self::with_session), which has one `Result` and no
    /// `Option`: `eio.with_session(sid, |p: &mut Profile| p.name.clone())?`.
    ///
    /// ```
    /// # let eio = engineio::server::Server::new();
    /// # let sid = "AAAAAAAAAAAAAAAAAAAA".parse().unwrap();
    /// let name: engineio::server::Result<Option<String>> = eio.get_session(sid);
    /// assert!(name.is_err()); // unknown sid
    /// ```
    pub fn get_session<T: Clone + Send + 'static>(&self, sid: Sid) -> Result<Option<T>> {
        let handle = self.handle(sid)?;
        let slot = lock(&handle.user);
        match slot.as_ref() {
            None => Ok(None),
            Some(v) => v
                .downcast_ref::<T>()
                .cloned()
                .map(Some)
                .ok_or(ServerError::SessionType(sid)),
        }
    }

    /// Stores the session's user data (python's `save_session`), replacing
    /// what was there. It is dropped when the session ends.
    pub fn save_session<T: Send + 'static>(&self, sid: Sid, value: T) -> Result<()> {
        let handle = self.handle(sid)?;
        *lock(&handle.user) = Some(Box::new(value));
        Ok(())
    }

    /// Runs `f` on the session's user data, created with `T::default()` if
    /// none was saved (python's `with eio.session(sid) as s:`). Changes are
    /// kept. `f` runs under the session-data lock: it must not call the
    /// session-data methods for the same sid.
    ///
    /// ```
    /// # let eio = engineio::server::Server::new();
    /// # let sid = "AAAAAAAAAAAAAAAAAAAA".parse().unwrap();
    /// let r = eio.with_session(sid, |names: &mut Vec<String>| names.push("ann".into()));
    /// assert!(r.is_err()); // unknown sid
    /// ```
    pub fn with_session<T, R>(&self, sid: Sid, f: impl FnOnce(&mut T) -> R) -> Result<R>
    where
        T: Default + Send + 'static,
    {
        let handle = self.handle(sid)?;
        let mut slot = lock(&handle.user);
        let value = slot.get_or_insert_with(|| Box::new(T::default()));
        match value.downcast_mut::<T>() {
            Some(v) => Ok(f(v)),
            None => Err(ServerError::SessionType(sid)),
        }
    }

    /// Shuts the server down gracefully: refuses new handshakes (`503`),
    /// closes every session (flushing what is queued, so a polling client
    /// collects its `close` packet with its next GET), and returns once
    /// every session has ended and its disconnect handler has run — or at
    /// `timeout`, dropping what is left ([`ServerError::ShutdownTimedOut`]).
    /// Then [`Server::serve`] stops accepting connections and drains them.
    /// Handlers are unregistered at the end, which also frees handlers that
    /// hold a clone of the server.
    ///
    /// It may be called from a handler (connect, message or disconnect). That
    /// handler's session is closed too, but its disconnect handler can only
    /// run once the calling handler has returned (a session's handlers run
    /// in order), so `shutdown` does not wait for it: it returns once every
    /// other session has ended, and the rest (that session's end, then
    /// stopping the accept loops and unregistering the handlers) follows
    /// when the calling handler returns, by `timeout` at the latest. This
    /// holds for the handler's own task; a task it spawns is not the handler.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let eio = engineio::server::Server::new();
    /// eio.shutdown(std::time::Duration::from_secs(1)).await.unwrap();
    /// # }
    /// ```
    pub async fn shutdown(&self, timeout: Duration) -> Result<()> {
        self.shutdown_from(handlers::calling_session(), timeout)
            .await
    }

    /// [`Server::shutdown`], called from a handler of session `caller`
    /// (if any), which it must not wait for.
    pub(crate) async fn shutdown_from(&self, caller: Option<Sid>, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.shared.shutdown.send_replace(Some(deadline.into_std()));
        self.disconnect_all();
        let drained = self.shared.sessions_ended_except(caller);
        let result = match tokio::time::timeout_at(deadline, drained).await {
            Ok(()) => Ok(()),
            Err(_) => {
                let left = self.shared.sessions_except(caller);
                self.shared.drop_sessions(&left);
                Err(ServerError::ShutdownTimedOut {
                    remaining: left.len(),
                })
            }
        };
        match caller {
            None => self.shared.finish_shutdown(),
            Some(sid) => {
                // The caller's session ends after the calling handler.
                let shared = self.shared.clone();
                tokio::spawn(async move {
                    let own = shared.sessions_ended_except(None);
                    if tokio::time::timeout_at(deadline, own).await.is_err() {
                        shared.drop_sessions(&shared.all_sessions());
                    }
                    tracing::debug!(%sid, "shutdown finished after the handler that called it");
                    shared.finish_shutdown();
                });
            }
        }
        result
    }

    /// A tower [`Layer`](tower_layer::Layer) that serves Engine.IO on
    /// [`ServerOptions::path`] and passes every other request to the
    /// wrapped service.
    ///
    /// With axum, apply it with `Router::layer` (or around the whole app),
    /// not `Router::nest_service("/engine.io", ...)`: axum strips the nested
    /// prefix from the URI, so the service would see `/?EIO=4…`, which is
    /// outside [`ServerOptions::path`], and answer `404`.
    ///
    /// ```
    /// let eio = engineio::server::Server::new();
    /// let app = tower::ServiceBuilder::new()
    ///     .layer(eio.layer())
    ///     .service(engineio::server::NotFound);
    /// # drop(app);
    /// ```
    pub fn layer(&self) -> EngineIoLayer {
        EngineIoLayer::new(self.clone())
    }

    /// Wraps `inner` directly (the layer applied to one service).
    pub fn service<S>(&self, inner: S) -> EngineIoService<S> {
        EngineIoService::new(self.clone(), inner)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn sid_hashes_spread_over_buckets_and_control_bytes() {
        let mut low = vec![0u32; 1 << 12];
        let mut top = [0u32; 128];
        let mut rng = rand::rng();
        let n = 200_000;
        for _ in 0..n {
            let mut b = [0u8; Sid::RANDOM_BYTES];
            rng.fill_bytes(&mut b);
            let h = SidHash.hash_one(Sid::from_random(b));
            low[(h & 0xFFF) as usize] += 1;
            top[(h >> 57) as usize] += 1;
        }
        // Uniform: about 49 per low bucket and 1,562 per top-7-bit value.
        let (lmin, lmax) = (low.iter().min().unwrap(), low.iter().max().unwrap());
        let (tmin, tmax) = (top.iter().min().unwrap(), top.iter().max().unwrap());
        assert!(*lmin > 15 && *lmax < 100, "low bits {lmin}..{lmax}");
        assert!(*tmin > 1_300 && *tmax < 1_850, "top bits {tmin}..{tmax}");
    }
}
