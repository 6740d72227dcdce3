//! Server options (python-engineio's names and defaults) and the builder.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use engineio_proto::{ServerConfig, TransportKind};

use crate::http::{CookieConfig, CorsOrigins, CorsPolicy};

use super::error::{Result, ServerError};
use super::Server;

/// Options of a [`Server`], named and defaulted as python-engineio's
/// `Server(...)` arguments.
///
/// | option | default | python-engineio |
/// |---|---|---|
/// | `ping_interval` | 25 s | `ping_interval` |
/// | `ping_interval_grace` | 0 | second item of `ping_interval=(interval, grace)` |
/// | `ping_timeout` | 20 s | `ping_timeout` |
/// | `max_http_buffer_size` | 1,000,000 bytes | `max_http_buffer_size` |
/// | `allow_upgrades` | true | `allow_upgrades` |
/// | `transports` | polling, websocket | `transports` |
/// | `http_compression` | true | `http_compression` |
/// | `compression_threshold` | 1024 bytes | `compression_threshold` |
/// | `cookie` | none | `cookie` |
/// | `cors_allowed_origins` | same origin | `cors_allowed_origins` |
/// | `cors_credentials` | true | `cors_credentials` |
/// | `path` | `/engine.io/` | `engineio_path` of `WSGIApp`/`ASGIApp` |
/// | `async_handlers` | **false** | `async_handlers` (python: true) |
/// | `upgrade_timeout` | 10 s | engine.io's `upgradeTimeout` |
/// | `close_timeout` | 30 s | engine.io's `closeTimeout` |
/// | `max_queued_packets` | 10,000 | (none: python's queues are unbounded) |
/// | `http_request_timeout` | 30 s | (none; engine.io's `httpRequestBodyTimeout`) |
/// | `max_buffered_chunks` | 10,000 | (none; engine.io's `maxBufferedChunks`) |
/// | `sid_prefix` | empty | overriding `generate_id()` (engine.io's `generateId`) |
///
/// The protocol options are flat fields, as python's keyword arguments are,
/// rather than a nested [`ServerConfig`](engineio_proto::ServerConfig);
/// their defaults are read from `ServerConfig::default()`, so each default
/// is defined once, in the core.
///
/// `async_handlers` defaults to false so that the messages of one session
/// reach the message handler one at a time, in order; set it to run each
/// message handler as its own task (python's default, which loses ordering).
///
/// ```
/// use std::time::Duration;
/// use engineio::server::ServerOptions;
/// let mut options = ServerOptions::default();
/// options.ping_interval = Duration::from_millis(300);
/// options.ping_timeout = Duration::from_millis(200);
/// assert_eq!(options.path, "/engine.io/");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerOptions {
    /// How often the server pings each client. Default 25 s.
    pub ping_interval: Duration,
    /// Added to the *advertised* ping interval only, so clients wait a
    /// little longer than the server's schedule. Default 0.
    pub ping_interval_grace: Duration,
    /// How long the server waits for a pong. Default 20 s.
    pub ping_timeout: Duration,
    /// Largest polling POST body or WebSocket message, in bytes (advertised
    /// as `maxPayload`); a POST body counts raw bytes. A POST over it is
    /// answered `413` with `Connection: close` and the session ends (as
    /// engine.io 6.6.13); a WebSocket message over it closes the socket with
    /// code 1009. Default 1,000,000.
    pub max_http_buffer_size: usize,
    /// Whether polling sessions may upgrade to WebSocket. Default true.
    pub allow_upgrades: bool,
    /// Transports accepted for new sessions. Default both.
    pub transports: Vec<TransportKind>,
    /// Whether polling responses are compressed (gzip or deflate, as the
    /// client's `Accept-Encoding` allows). Default true.
    pub http_compression: bool,
    /// Smallest polling response, in bytes, that is compressed. Default 1024.
    pub compression_threshold: usize,
    /// The session cookie set on polling handshakes
    /// (`io=<sid>; path=/; SameSite=Lax` with [`CookieConfig::default`]).
    /// Default none.
    pub cookie: Option<CookieConfig>,
    /// Accepted `Origin`s. Default [`CorsOrigins::SameOrigin`]: a request
    /// whose `Origin` is not the server's own scheme and host (or the
    /// `X-Forwarded-Proto`/`X-Forwarded-Host` ones) is refused with `400`;
    /// requests without `Origin` always pass. [`CorsOrigins::Disabled`]
    /// turns CORS handling off (python's `[]`). The server's own scheme is
    /// `https` for HTTP/2 requests with an `https` URI, or when the accept
    /// loop (one terminating TLS itself) inserts
    /// [`http::uri::Scheme::HTTPS`] as a request extension; else `http`.
    pub cors_allowed_origins: CorsOrigins,
    /// Whether to send `Access-Control-Allow-Credentials: true`. Default
    /// true. Never sent with [`CorsOrigins::Any`], whose answers carry
    /// `Access-Control-Allow-Origin: *` (see [`CorsOrigins`]).
    pub cors_credentials: bool,
    /// The Engine.IO path; requests whose path starts with it are Engine.IO
    /// requests. A leading and a trailing `/` are added if missing.
    /// Default `/engine.io/`.
    #[doc(alias = "engineio_path")]
    pub path: String,
    /// Whether message handlers of one session may run concurrently, each
    /// as its own task. Default false: one at a time, in order.
    pub async_handlers: bool,
    /// How long a polling → WebSocket upgrade may take. Default 10 s.
    pub upgrade_timeout: Duration,
    /// How long a server-closed polling session waits for a GET to collect
    /// its `close` packet. Default 30 s.
    pub close_timeout: Duration,
    /// Most packets queued for one client before the session is closed as
    /// not reading. Also the most received messages waiting for the
    /// message handler: beyond it the server stops reading from that
    /// client (WebSocket) or holds its POST answer until the handler
    /// catches up. Default 10,000.
    pub max_queued_packets: usize,
    /// How long a client may take to send a polling POST body, from the
    /// moment its headers are read; past it the POST is answered
    /// `408 Request Timeout` with `Connection: close` and the session ends
    /// (engine.io 6.6.13's `httpRequestBodyTimeout`). Under
    /// [`Server::serve`] it is also
    /// hyper's HTTP/1 `header_read_timeout`: a connection whose next request
    /// headers do not arrive in time is closed (so is a keep-alive
    /// connection idle that long; Node closes them after 5 s). This bounds
    /// slow ("slowloris")
    /// clients; long-poll GETs are not affected (they are held by the
    /// server, not the client). Default 30 s.
    pub http_request_timeout: Duration,
    /// Most pieces (reads) one polling POST body or one WebSocket frame may
    /// arrive in. Past it the POST is answered `413` and the session ends,
    /// or the WebSocket is closed with code 1008, as engine.io 6.6.13
    /// (`maxBufferedChunks`) does. Default 10,000.
    pub max_buffered_chunks: usize,
    /// The first characters of every session id this server makes: a node
    /// name, so that a load balancer in front of several processes can send
    /// each request to the process that owns its session by looking at the
    /// `sid` query parameter (see `deploy/` and the README's "Many
    /// processes"). At most [`Sid::MAX_PREFIX_LEN`] URL-safe base64
    /// characters; sids keep their 20 characters, the rest random. Default
    /// empty (all 20 random).
    ///
    /// [`Sid::MAX_PREFIX_LEN`]: engineio_proto::Sid::MAX_PREFIX_LEN
    pub sid_prefix: String,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let c = ServerConfig::default();
        ServerOptions {
            ping_interval: c.ping_interval,
            ping_interval_grace: c.ping_interval_grace,
            ping_timeout: c.ping_timeout,
            max_http_buffer_size: c.max_http_buffer_size,
            allow_upgrades: c.allow_upgrades,
            transports: c.transports,
            http_compression: true,
            compression_threshold: 1024,
            cookie: None,
            cors_allowed_origins: CorsOrigins::SameOrigin,
            cors_credentials: true,
            path: "/engine.io/".to_owned(),
            async_handlers: false,
            upgrade_timeout: c.upgrade_timeout,
            close_timeout: c.close_timeout,
            max_queued_packets: c.max_queued_packets,
            http_request_timeout: Duration::from_secs(30),
            max_buffered_chunks: c.max_buffered_chunks,
            sid_prefix: String::new(),
        }
    }
}

impl ServerOptions {
    pub(crate) fn validate(&mut self) -> Result<()> {
        if self.transports.is_empty() {
            return Err(ServerError::InvalidOptions(
                "at least one transport must be enabled".into(),
            ));
        }
        if self.ping_interval.is_zero() || self.ping_timeout.is_zero() {
            return Err(ServerError::InvalidOptions(
                "ping_interval and ping_timeout must be positive".into(),
            ));
        }
        if self.http_request_timeout.is_zero() {
            return Err(ServerError::InvalidOptions(
                "http_request_timeout must be positive".into(),
            ));
        }
        if self.max_buffered_chunks == 0 {
            return Err(ServerError::InvalidOptions(
                "max_buffered_chunks must be positive".into(),
            ));
        }
        if self.max_http_buffer_size == 0 {
            return Err(ServerError::InvalidOptions(
                "max_http_buffer_size must be positive".into(),
            ));
        }
        if !engineio_proto::Sid::is_valid_prefix(&self.sid_prefix) {
            return Err(ServerError::InvalidOptions(format!(
                "sid_prefix must be at most {} characters of A-Z a-z 0-9 - _",
                engineio_proto::Sid::MAX_PREFIX_LEN
            )));
        }
        let trimmed = self.path.trim_matches('/');
        self.path = if trimmed.is_empty() {
            "/".to_owned()
        } else {
            format!("/{trimmed}/")
        };
        Ok(())
    }

    pub(crate) fn cors_policy(&self) -> CorsPolicy {
        CorsPolicy::new(self.cors_allowed_origins.clone()).with_credentials(self.cors_credentials)
    }

    pub(crate) fn core_config(&self) -> ServerConfig {
        let mut c = ServerConfig::default();
        c.ping_interval = self.ping_interval;
        c.ping_interval_grace = self.ping_interval_grace;
        c.ping_timeout = self.ping_timeout;
        c.max_http_buffer_size = self.max_http_buffer_size;
        c.allow_upgrades = self.allow_upgrades;
        c.transports = self.transports.clone();
        c.upgrade_timeout = self.upgrade_timeout;
        c.close_timeout = self.close_timeout;
        c.max_queued_packets = self.max_queued_packets;
        c.max_buffered_chunks = self.max_buffered_chunks;
        c
    }
}

pub(crate) type AllowRequestFn =
    Arc<dyn Fn(&http::request::Parts) -> std::result::Result<(), String> + Send + Sync>;
pub(crate) type RemoteAddrFn =
    Arc<dyn Fn(&http::request::Parts) -> Option<SocketAddr> + Send + Sync>;

/// Builds a [`Server`]: options plus the hooks that are not plain values.
///
/// ```
/// use std::time::Duration;
/// use engineio::server::Server;
/// let server = Server::builder()
///     .ping_interval(Duration::from_secs(10))
///     .max_http_buffer_size(64 * 1024)
///     .build()
///     .unwrap();
/// assert_eq!(server.options().max_http_buffer_size, 64 * 1024);
/// ```
#[must_use]
#[derive(Default)]
pub struct ServerBuilder {
    options: ServerOptions,
    allow_request: Option<AllowRequestFn>,
    remote_addr: Option<RemoteAddrFn>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.options.$name = value;
            self
        }
    };
}

impl ServerBuilder {
    /// Replaces all options at once.
    pub fn options(mut self, options: ServerOptions) -> Self {
        self.options = options;
        self
    }

    setter!(
        /// See [`ServerOptions::ping_interval`].
        ping_interval: Duration
    );
    setter!(
        /// See [`ServerOptions::ping_interval_grace`].
        ping_interval_grace: Duration
    );
    setter!(
        /// See [`ServerOptions::ping_timeout`].
        ping_timeout: Duration
    );
    setter!(
        /// See [`ServerOptions::max_http_buffer_size`].
        max_http_buffer_size: usize
    );
    setter!(
        /// See [`ServerOptions::allow_upgrades`].
        allow_upgrades: bool
    );
    setter!(
        /// See [`ServerOptions::transports`].
        transports: Vec<TransportKind>
    );
    setter!(
        /// See [`ServerOptions::http_compression`].
        http_compression: bool
    );
    setter!(
        /// See [`ServerOptions::compression_threshold`].
        compression_threshold: usize
    );
    setter!(
        /// See [`ServerOptions::async_handlers`].
        async_handlers: bool
    );
    setter!(
        /// See [`ServerOptions::upgrade_timeout`].
        upgrade_timeout: Duration
    );
    setter!(
        /// See [`ServerOptions::close_timeout`].
        close_timeout: Duration
    );
    setter!(
        /// See [`ServerOptions::max_queued_packets`].
        max_queued_packets: usize
    );
    setter!(
        /// See [`ServerOptions::http_request_timeout`].
        http_request_timeout: Duration
    );
    setter!(
        /// See [`ServerOptions::max_buffered_chunks`].
        max_buffered_chunks: usize
    );

    setter!(
        /// See [`ServerOptions::cors_credentials`].
        cors_credentials: bool
    );

    /// Sets the session cookie (see [`ServerOptions::cookie`]).
    ///
    /// ```
    /// use engineio::server::{CookieConfig, Server};
    /// let cookie = CookieConfig::builder("io")
    ///     .attr("path", "/")
    ///     .flag("HttpOnly")
    ///     .attr("SameSite", "Strict")
    ///     .attr_fn("Max-Age", || "60".to_owned())
    ///     .build()
    ///     .unwrap();
    /// let server = Server::builder().cookie(cookie).build().unwrap();
    /// # drop(server);
    /// ```
    pub fn cookie(mut self, cookie: CookieConfig) -> Self {
        self.options.cookie = Some(cookie);
        self
    }

    /// Sets the accepted origins (see [`ServerOptions::cors_allowed_origins`]).
    ///
    /// ```
    /// use engineio::server::{CorsOrigins, Server};
    /// let any = Server::builder().cors_allowed_origins("*").build().unwrap();
    /// let list = Server::builder()
    ///     .cors_allowed_origins(CorsOrigins::list(["https://a.example", "https://b.example"]))
    ///     .build()
    ///     .unwrap();
    /// let off = Server::builder().cors_allowed_origins(CorsOrigins::Disabled).build().unwrap();
    /// # drop((any, list, off));
    /// ```
    pub fn cors_allowed_origins(mut self, origins: impl Into<CorsOrigins>) -> Self {
        self.options.cors_allowed_origins = origins.into();
        self
    }

    /// See [`ServerOptions::sid_prefix`].
    ///
    /// ```
    /// let server = engineio::server::Server::builder().sid_prefix("n1-").build().unwrap();
    /// assert_eq!(server.options().sid_prefix, "n1-");
    /// assert!(engineio::server::Server::builder().sid_prefix("n.1").build().is_err());
    /// ```
    pub fn sid_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.sid_prefix = prefix.into();
        self
    }

    /// See [`ServerOptions::path`].
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.options.path = path.into();
        self
    }

    /// A gate run on every handshake before the connect handler, like
    /// engine.io's `allowRequest`: `Err(message)` refuses it with
    /// `403 {"code":4,"message":<message>}` (a WebSocket handshake gets a
    /// plain `400` with the message). `"Forbidden"` is the reference
    /// server's message.
    ///
    /// ```
    /// let server = engineio::server::Server::builder()
    ///     .allow_request(|req| match req.uri.query() {
    ///         Some(q) if q.contains("deny") => Err("Forbidden".to_owned()),
    ///         _ => Ok(()),
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(server);
    /// ```
    pub fn allow_request<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> std::result::Result<(), String> + Send + Sync + 'static,
    {
        self.allow_request = Some(Arc::new(f));
        self
    }

    /// How to find a request's remote address when the server is mounted in
    /// another framework. By default the server reads the [`RemoteAddr`]
    /// extension (set by [`Server::serve`]) or a plain [`SocketAddr`]
    /// extension. With axum, read its `ConnectInfo`:
    ///
    /// ```no_run
    /// # use std::net::SocketAddr;
    /// # use engineio::server::Server;
    /// let eio = Server::builder()
    ///     .remote_addr(|parts| {
    ///         parts
    ///             .extensions
    ///             .get::<axum::extract::ConnectInfo<SocketAddr>>()
    ///             .map(|c| c.0)
    ///     })
    ///     .build()
    ///     .unwrap();
    /// ```
    ///
    /// [`RemoteAddr`]: super::RemoteAddr
    pub fn remote_addr<F>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Option<SocketAddr> + Send + Sync + 'static,
    {
        self.remote_addr = Some(Arc::new(f));
        self
    }

    /// Builds the server. Fails if the options are inconsistent (no
    /// transport, a zero ping interval, timeout, request timeout or buffer
    /// size).
    pub fn build(self) -> Result<Server> {
        let ServerBuilder {
            mut options,
            allow_request,
            remote_addr,
        } = self;
        options.validate()?;
        Ok(Server::from_parts(options, allow_request, remote_addr))
    }
}
